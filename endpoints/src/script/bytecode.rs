//! Compiling endpoint sources to QuickJS bytecode, and loading that bytecode into a context.
//!
//! A revision is compiled once, when it is published (a syntax error rejects it with line and
//! column); every request then loads the bytecode, several times cheaper than compiling the source
//! again. Loading bytecode is the one `unsafe` call of this crate: QuickJS trusts bytecode
//! completely, so the only bytes ever loaded are those [`compile_module`] wrote, in this process,
//! with this engine build — never bytes read from the store or the network.

use std::sync::Arc;

use rquickjs::context::intrinsic;
use rquickjs::module::{Declared, WriteOptions};
use rquickjs::{Context, Ctx, Module, Runtime};

use super::error::{ScriptError, exception_of};

/// Bytecode of one ES module, written by [`compile_module`]. Cloning shares it.
#[derive(Clone)]
pub struct Bytecode {
    name: Arc<str>,
    bytes: Arc<[u8]>,
}

impl std::fmt::Debug for Bytecode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bytecode").field("name", &self.name).field("bytes", &self.bytes.len()).finish()
    }
}

impl Bytecode {
    /// The module name errors and stack traces show.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of the compiled form.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true for a compiled module; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whether `other` is this very compilation (not merely equal bytes): for cache tests.
    pub fn shares_bytes_with(&self, other: &Bytecode) -> bool {
        Arc::ptr_eq(&self.bytes, &other.bytes)
    }

    /// Declares the module in `ctx` from this bytecode (not yet evaluated).
    #[allow(unsafe_code)]
    pub(crate) fn load<'js>(&self, ctx: &Ctx<'js>) -> rquickjs::Result<Module<'js, Declared>> {
        // SAFETY: `Bytecode` can only be built by `compile_module` below, which takes the bytes from
        // `Module::write` of this same engine build in this process; they are immutable behind an
        // `Arc<[u8]>` and never come from outside.
        unsafe { Module::load(ctx.clone(), &self.bytes) }
    }
}

/// Compiles `source` as the ES module `name`. Imports are refused (the sandbox provides
/// everything a script may use as globals), so a module that imports fails here, not per request.
pub fn compile_module(name: &str, source: &str) -> Result<Bytecode, ScriptError> {
    let runtime = Runtime::new().map_err(|e| ScriptError::engine(e.to_string()))?;
    let context = Context::custom::<intrinsic::All>(&runtime).map_err(|e| ScriptError::engine(e.to_string()))?;
    context.with(|ctx| {
        let module = Module::declare(ctx.clone(), name, source).map_err(|e| exception_of(&ctx, e, name))?;
        let bytes = module.write(WriteOptions::default()).map_err(|e| exception_of(&ctx, e, name))?;
        Ok(Bytecode { name: Arc::from(name), bytes: Arc::from(bytes) })
    })
}
