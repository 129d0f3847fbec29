//! A warm context: one per pooled runtime, set up once — the sandbox's built-ins, the natives, the
//! prelude — and then frozen by the prelude's `lockdown()`, so request after request can run in it
//! and none can change what the next one sees. Each request gets module scope of its own by calling
//! its revision's *factory* ([`super::factory`]): the revision's top level runs afresh inside it;
//! the factory module's `import.meta`, which every call would share, is frozen too.
//!
//! What a request could still leave behind is checked by the runner as for a fresh context (a
//! pending job, a native future still running, a tripped limit: the runtime and this context are
//! dropped, not pooled); the natives reach the request through a slot emptied when it ends.
//!
//! Factory modules stay loaded in the context (QuickJS frees modules only with their context), so a
//! context is retired after [`MAX_FACTORIES`] distinct revisions and the next request builds a new
//! one.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use rquickjs::{AsyncContext, AsyncRuntime, Function, Module, Object, Persistent, Promise};

use super::bytecode::Bytecode;
use super::natives::{self, EnvSlot};
use super::prelude;
use super::run::SandboxIntrinsics;

/// Warm contexts set up by this process (each costs a lockdown: a handful of milliseconds).
pub(crate) static CREATED: AtomicU64 = AtomicU64::new(0);

/// Distinct revisions a warm context loads before it is retired (bounds the modules it keeps).
pub(crate) const MAX_FACTORIES: usize = 64;

/// A reused context and what it keeps ready.
pub(crate) struct WarmContext {
    // Fields drop in order: the JavaScript references go before the context they belong to.
    /// The prelude's `run(handle, req, streaming)`.
    run: Persistent<Function<'static>>,
    /// Factories by revision (the bytecode is kept so its address cannot be reused meanwhile).
    factories: Vec<(Bytecode, Persistent<Function<'static>>)>,
    /// Where the natives find the request running now.
    pub(crate) slot: EnvSlot,
    /// The context itself.
    pub(crate) context: AsyncContext,
}

impl WarmContext {
    /// Sets up a context in `runtime`: built-ins, natives, prelude, then `lockdown()`.
    pub(crate) async fn new(runtime: &AsyncRuntime) -> rquickjs::Result<Self> {
        let context = AsyncContext::custom::<SandboxIntrinsics>(runtime).await?;
        let slot: EnvSlot = Rc::new(RefCell::new(None));
        let natives_slot = Rc::clone(&slot);
        let run = context
            .async_with(async move |ctx| {
                natives::install(&ctx, &natives_slot)?;
                let (module, ready) = prelude().load(&ctx)?.eval()?;
                ready.into_future::<()>().await?;
                let lockdown: Function = module.get("lockdown")?;
                lockdown.call::<_, ()>(())?;
                let run: Function = module.get("run")?;
                Ok::<_, rquickjs::Error>(Persistent::save(&ctx, run))
            })
            .await?;
        CREATED.fetch_add(1, Ordering::Relaxed);
        Ok(Self { run, factories: Vec::new(), slot, context })
    }

    /// Whether this context has loaded as many revisions as it may.
    pub(crate) fn is_spent(&self) -> bool {
        self.factories.len() >= MAX_FACTORIES
    }

    /// The prelude's `run` and the factory of `revision` (loaded now if it is not ready).
    pub(crate) async fn prepare(
        &mut self,
        revision: &Bytecode,
    ) -> rquickjs::Result<(Persistent<Function<'static>>, Persistent<Function<'static>>)> {
        if let Some((_, factory)) = self.factories.iter().find(|(b, _)| b.shares_bytes_with(revision)) {
            return Ok((self.run.clone(), factory.clone()));
        }
        let bytecode = revision.clone();
        let factory = self
            .context
            .async_with(async move |ctx| {
                let (module, ready): (Module<'_, _>, Promise<'_>) = bytecode.load(&ctx)?.eval()?;
                ready.into_future::<()>().await?;
                // The module's `import.meta` is the one object every request of this revision would
                // share: frozen like the rest of the realm.
                let freeze: Function = ctx.globals().get::<_, Object>("Object")?.get("freeze")?;
                freeze.call::<_, ()>((module.meta()?,))?;
                let factory: Function = module.get("default")?;
                Ok::<_, rquickjs::Error>(Persistent::save(&ctx, factory))
            })
            .await?;
        self.factories.push((revision.clone(), factory.clone()));
        Ok((self.run.clone(), factory))
    }
}
