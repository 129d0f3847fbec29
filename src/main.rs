//! `switchyard`: the command line (design §10); see [`switchyard::cli`].
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(switchyard::cli::main());
}
