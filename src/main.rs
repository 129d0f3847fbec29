//! `switchyard`: the command line (design §10). Subcommands arrive with their issues; today the
//! fault-tolerance layer is shown by `cargo run --example resilience`.
#![forbid(unsafe_code)]

use clap::Parser;

/// Switchyard, an edge API server.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    println!(
        "switchyard {}: the server is not wired yet; try `cargo run --example resilience`",
        env!("CARGO_PKG_VERSION")
    );
}
