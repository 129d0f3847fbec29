//! The command line (design §10): the server (`serve`, `demo-backends`), the edit-run loop (`run`),
//! the admin commands against a running server (`push`, `list`, `show`, `routing`, `rollback`,
//! `delete`, `audit`, `deps`, `chaos`: [`admin`]) and `config --print-default`.
//!
//! A command prints its result on stdout; logs go to stderr, below `warn` only with `-v` or
//! `RUST_LOG`. Every failure is one sentence on stderr and a non-zero exit.

mod admin;
mod client;
mod cluster;
mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, DEFAULT_TOML, Overrides};
use crate::demo::{DemoServices, demo_backends_server};
use crate::local_run::{self, LocalRequest};
use crate::node::Node;
pub use admin::AdminCommand;
pub use client::Target;

/// Switchyard, an edge API server: device endpoints in JavaScript over fault-tolerant dependencies.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    /// More log lines on stderr: -v info, -vv debug, -vvv trace (`RUST_LOG` overrides).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default): demo dependencies in-process and the sample endpoints unless
    /// the config says otherwise.
    Serve(serve::ServeArgs),
    /// Serve the demo services over HTTP (for `kind = "http"` dependencies).
    DemoBackends {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
        /// Seed of the generated data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Run a script once against the configured dependencies; print its response and fan-out.
    Run {
        /// The script (`tv.home.js` runs as tv/home).
        file: PathBuf,
        /// Run as this user id.
        #[arg(long)]
        user: Option<String>,
        /// `req.device`.
        #[arg(long)]
        device: Option<String>,
        /// `req.query` entries, `key=value` (repeatable).
        #[arg(long = "query", value_parser = parse_pair)]
        query: Vec<(String, String)>,
        /// Configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Configuration helpers.
    Config {
        /// Print every key with its default and a comment.
        #[arg(long)]
        print_default: bool,
    },
    #[command(flatten)]
    Admin(AdminCommand),
    /// The cluster: status, or membership changes (design §7).
    Cluster {
        /// What to do.
        #[command(subcommand)]
        action: cluster::ClusterAction,
        /// Server and token.
        #[command(flatten)]
        target: Target,
        /// Print the server's JSON.
        #[arg(long, global = true)]
        json: bool,
    },
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{text}` is not key=value"))
}

/// Writes a command's result to stdout. A reader that went away (`switchyard … | head`) ends the
/// command quietly, as the pipe's other tools do (exit status 141, 128 + SIGPIPE), not with a panic.
pub(crate) fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: cannot write the result: {e}");
        std::process::exit(1);
    }
}

/// Runs the command line; the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(serve::ServeArgs::default()));
    // `serve` reads its config's `[log]` first; every other command logs with the defaults.
    if !matches!(command, Command::Serve(_)) {
        crate::logging::init(&crate::logging::LogConfig::default(), cli.verbose, false);
    }
    let result = match command {
        Command::Serve(args) => serve::serve(args, cli.verbose),
        Command::DemoBackends { listen, seed } => demo_backends(listen, seed),
        Command::Run { file, user, device, query, config } => run(file, LocalRequest { user, device, query }, config),
        Command::Config { print_default } => {
            if print_default {
                emit(DEFAULT_TOML);
                Ok(())
            } else {
                Err(anyhow::anyhow!("nothing to do: try `switchyard config --print-default`"))
            }
        }
        Command::Admin(command) => admin::run(command),
        Command::Cluster { action, target, json } => cluster::run(action, &target, json),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn demo_backends(listen: SocketAddr, seed: u64) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let listener =
            std::net::TcpListener::bind(listen).map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let bound = listener.local_addr()?;
        let server = demo_backends_server(listener, DemoServices::new(seed))?;
        emit(&format!("demo backends (seed {seed}) on http://{bound}  (try: curl -s http://{bound}/users/7)\n"));
        server.await?;
        Ok(())
    })
}

fn run(file: PathBuf, request: LocalRequest, config: Option<PathBuf>) -> anyhow::Result<()> {
    let source = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let config = Config::load(config.as_deref(), &Overrides::default())?;
    let file_name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    actix_web::rt::System::new().block_on(async move {
        let node = Node::start(config)?;
        let report = local_run::run_once(&node, &file_name, &source, &request).await?;
        emit(&local_run::render(&report));
        if report.status >= 500 {
            anyhow::bail!("the script answered {}", report.status);
        }
        Ok(())
    })
}
