//! Endpoint scripts: JavaScript on QuickJS-ng (design §5).
//!
//! A revision's source is compiled once into bytecode ([`compile`]); each device request then runs
//! it in a fresh context of a pooled runtime ([`run`]), with the script API of the prelude
//! (`call`, `Observable`, `response`, `log`) over four Rust natives, under the sandbox limits of
//! [`ScriptLimits`]. What the request produces comes back as [`ScriptEvent`]s, so documents and
//! progressive (NDJSON / SSE) responses travel the same way.

mod bytecode;
mod error;
mod events;
mod guard;
mod limits;
mod natives;
mod pool;
mod run;

use std::sync::OnceLock;

pub use bytecode::{Bytecode, compile_module};
pub use error::{JsException, ScriptError};
pub use events::{LimitKind, ScriptEvent, ScriptFailure, ScriptResponse};
pub use limits::ScriptLimits;
pub use pool::idle_runtimes;
pub use run::{ScriptRequest, ScriptRun, run};

/// The script API, compiled once per process.
const PRELUDE_SOURCE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "switchyard:prelude";

fn prelude() -> &'static Bytecode {
    static PRELUDE: OnceLock<Bytecode> = OnceLock::new();
    PRELUDE.get_or_init(|| compile_module(PRELUDE_NAME, PRELUDE_SOURCE).expect("the embedded prelude compiles"))
}

/// A revision's compiled module, ready to run. Cloning shares it.
pub type CompiledScript = Bytecode;

/// Compiles an endpoint's source as the module `name` (`tv/home@3`).
pub fn compile(name: &str, source: &str) -> Result<CompiledScript, ScriptError> {
    compile_module(name, source)
}
