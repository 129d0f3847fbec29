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
//! context is retired — and the next request builds a new one — once it has loaded
//! [`MAX_FACTORIES`] distinct revisions, or once its runtime holds more than
//! [`MAX_IDLE_SHARE`] of the memory limit between requests (a few large revisions), so what a runtime
//! keeps for revisions is bounded in count and in bytes, and a request always has most of its memory
//! limit for itself.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use rquickjs::{AsyncContext, AsyncRuntime, Function, Module, Object, Persistent, Promise};

use super::bytecode::Bytecode;
use super::meter::MeterState;
use super::natives::{self, EnvSlot};
use super::prelude;
use super::run::SandboxIntrinsics;

/// Warm contexts set up by this process (each costs a lockdown: a handful of milliseconds).
pub(crate) static CREATED: AtomicU64 = AtomicU64::new(0);

/// Distinct revisions a warm context loads before it is retired (bounds the modules it keeps: each
/// costs its runtime ~8 KB for a small script, so ~256 KB per runtime for a full context).
pub(crate) const MAX_FACTORIES: usize = 32;

/// The share of the memory limit (1/`MAX_IDLE_SHARE`) a runtime may hold between requests before its
/// warm context is retired: what loaded revisions keep never takes more than a quarter of a request's
/// memory.
pub(crate) const MAX_IDLE_SHARE: usize = 4;

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

    /// Whether this context has loaded as many revisions as it may, or its runtime holds more than
    /// its share of `memory_limit` once garbage is collected (collected only when it looks over).
    pub(crate) async fn is_spent(&self, runtime: &AsyncRuntime, meter: &MeterState, memory_limit: usize) -> bool {
        if self.factories.len() >= MAX_FACTORIES {
            return true;
        }
        let share = memory_limit / MAX_IDLE_SHARE;
        if meter.used() <= share {
            return false;
        }
        runtime.run_gc().await;
        meter.used() > share
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

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use futures::future::LocalBoxFuture;
    use serde_json::Value;
    use switchyard_actors::{CallError, ErrorKind, Reply};

    use super::MAX_FACTORIES;
    use crate::dispatch::Dispatch;
    use crate::script::{ScriptEvent, ScriptLimits, ScriptRequest, compile, pool, run};

    struct NoDependencies;

    impl Dispatch for NoDependencies {
        fn call(&self, dependency: &str, _: &str, _: Value) -> LocalBoxFuture<'static, Result<Reply, CallError>> {
            let name: std::sync::Arc<str> = std::sync::Arc::from(dependency);
            Box::pin(async move { Err(CallError::new(&name, ErrorKind::BadRequest, "no dependencies here")) })
        }
    }

    /// Runs `MAX_FACTORIES` distinct revisions on this thread's one pooled runtime (a round fills
    /// its warm context; the next round's first request retires it) and returns the runtime's bytes.
    async fn round(number: usize, limits: &ScriptLimits) -> usize {
        for i in 0..MAX_FACTORIES {
            // Closures, a cycle and a promise chain, as real endpoints have.
            let source = format!(
                "const cache = {{ round: {number} }}; cache.self = cache;\n\
                 export default async (req) => {{ const f = () => cache; const g = {{ f }}; g.g = g;\n\
                 const x = await Promise.resolve({i}).then((v) => [v, f().round]); return {{ x, list: [1, 2, 3] }}; }};"
            );
            let script = compile("test/retire", &source).expect("compiles");
            let request = ScriptRequest { req_json: "{}".into(), streaming: false };
            let mut running = run(&script, request, Rc::new(NoDependencies), limits);
            let mut last = None;
            while let Some(event) = running.next().await {
                last = Some(event);
            }
            assert!(matches!(last, Some(ScriptEvent::Document(_))), "{last:?}");
        }
        let idle = pool::idle_memory();
        assert_eq!(idle.len(), 1, "one runtime, reused");
        idle[0]
    }

    #[test]
    fn a_retired_warm_context_gives_its_revisions_memory_back() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(tokio::task::LocalSet::new().run_until(async {
            let limits = ScriptLimits { pool_per_worker: 1, ..ScriptLimits::default() };
            let mut used = Vec::new();
            for number in 0..5 {
                used.push(round(number, &limits).await);
            }
            // Rounds 2..5 each retired a context full of revisions and filled a new one: what the
            // runtime holds stays where the first full context put it.
            let first_full = used[1];
            for (number, bytes) in used.iter().enumerate().skip(2) {
                assert!(
                    *bytes < first_full + first_full / 10,
                    "round {number} holds {bytes} bytes, the first full context {first_full}: {used:?}"
                );
            }
        }));
    }

    /// Revisions whose code holds ~150 KB each (a large constant): under a 4 MiB memory limit a
    /// context full of them (`MAX_FACTORIES` × 150 KB) would leave the next request no memory, so
    /// the context is retired once the runtime holds a quarter of the limit between requests (without
    /// that, the tenth revision or so runs out of memory).
    #[test]
    fn large_revisions_retire_the_context_before_they_take_a_requests_memory() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(tokio::task::LocalSet::new().run_until(async {
            let limits = ScriptLimits { pool_per_worker: 1, memory_bytes: 4 << 20, ..ScriptLimits::default() };
            let filler = "x".repeat(150 * 1024);
            for i in 0..MAX_FACTORIES {
                let source = format!(
                    "const big = '{filler}{i}';\nexport default () => ({{ length: big.length, text: big.slice(0, 40).repeat(1000) }});"
                );
                let script = compile("test/large", &source).expect("compiles");
                let request = ScriptRequest { req_json: "{}".into(), streaming: false };
                let mut running = run(&script, request, Rc::new(NoDependencies), &limits);
                let mut last = None;
                while let Some(event) = running.next().await {
                    last = Some(event);
                }
                assert!(matches!(last, Some(ScriptEvent::Document(_))), "revision {i}: {last:?}");
                let idle = pool::idle_memory();
                // Its share, plus the one revision loaded since the check and this request's garbage.
                assert!(idle[0] <= (4 << 20) / 2, "revision {i}: the runtime holds {idle:?} bytes");
            }
        }));
    }
}
