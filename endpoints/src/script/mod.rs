//! Endpoint scripts: JavaScript on QuickJS-ng (design §5).
//!
//! A revision's source is compiled once into bytecode ([`compile`]); each device request then runs
//! it in a pooled runtime's warm context — built-ins, natives and prelude set up once and frozen,
//! the revision's top level evaluated afresh per request through its [`factory`] form ([`warm`]) —
//! or, for a source the factory rewrite does not understand, in a fresh context ([`run`]), with the script API of the prelude
//! (`call`, `Observable`, `response`, `log`) over four Rust natives, under the sandbox limits of
//! [`ScriptLimits`]. What the request produces comes back as [`ScriptEvent`]s, so documents and
//! progressive (NDJSON / SSE) responses travel the same way.

mod bytecode;
mod error;
mod events;
mod factory;
mod guard;
mod limits;
mod meter;
mod natives;
mod pool;
mod run;
mod warm;

use std::sync::OnceLock;

pub use bytecode::{Bytecode, compile_module};
pub use error::{JsException, ScriptError};
pub use events::{LimitKind, ScriptEvent, ScriptFailure, ScriptResponse};
pub use limits::{ScriptLimits, ScriptLimitsPatch};
pub use pool::{PoolStats, idle_runtimes, pool_stats, runtimes_created_here};
pub use run::{ScriptRequest, ScriptRun, run};

/// The script API, compiled once per process.
const PRELUDE_SOURCE: &str = include_str!("prelude.js");
const PRELUDE_NAME: &str = "switchyard:prelude";

fn prelude() -> &'static Bytecode {
    static PRELUDE: OnceLock<Bytecode> = OnceLock::new();
    PRELUDE.get_or_init(|| compile_module(PRELUDE_NAME, PRELUDE_SOURCE).expect("the embedded prelude compiles"))
}

/// A revision, compiled: the module (what a publish checks, and how it runs in a fresh context) and,
/// for nearly every script, its factory form (how it runs in a reused context, see [`factory`]).
/// Cloning shares both.
#[derive(Clone, Debug)]
pub struct CompiledScript {
    module: Bytecode,
    /// The factory form, and how far right it moves the first line's columns.
    pub(crate) factory: Option<(Bytecode, u32)>,
}

impl CompiledScript {
    /// The module name errors and stack traces show.
    pub fn name(&self) -> &str {
        self.module.name()
    }

    /// The module's bytecode.
    pub fn module(&self) -> &Bytecode {
        &self.module
    }

    /// Whether it runs in a reused context (its source could be rewritten as a factory).
    pub fn runs_warm(&self) -> bool {
        self.factory.is_some()
    }

    /// Whether `other` is this very compilation (not merely equal bytes): for cache tests.
    pub fn shares_bytes_with(&self, other: &CompiledScript) -> bool {
        self.module.shares_bytes_with(&other.module)
    }
}

/// Compiles an endpoint's source as the module `name` (`tv/home@3`): a syntax error or an import is
/// reported with line and column from the module as written; its factory form is compiled beside it
/// (a source the rewrite does not understand simply has none).
pub fn compile(name: &str, source: &str) -> Result<CompiledScript, ScriptError> {
    let module = compile_module(name, source)?;
    let factory = factory::factory_source(source).and_then(|(wrapped, shift)| match compile_module(name, &wrapped) {
        Ok(bytecode) => Some((bytecode, shift)),
        Err(e) => {
            tracing::debug!(
                module = name,
                "runs in a fresh context per request: its factory form does not compile: {e}"
            );
            None
        }
    });
    Ok(CompiledScript { module, factory })
}
