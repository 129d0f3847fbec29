//! Per-worker pools of QuickJS runtimes (design §5, execution model).
//!
//! A runtime is not `Send`, and actix-web runs each worker on its own thread, so each thread keeps
//! its own few runtimes, each with its warm context ([`super::warm`]) once a request needed it. A
//! request takes one (creating it when none is idle: ~8 µs), runs in its warm context (or a fresh
//! one), and gives it back unless the run left anything behind (an interrupt, a limit, jobs or calls
//! still pending, an out-of-memory error or a stack overflow even when the script caught it) — then
//! the runtime and its context are dropped instead, so nothing of one request can reach the next.
//!
//! The memory and stack limits are applied each time a runtime is taken, so limits changed at run
//! time (`PUT /admin/v1/scripts/limits`) reach the runtimes already pooled.
//!
//! A runtime refuses every module import, `import()` included ([`NoImports`]): the modules a warm
//! context holds — the prelude, and the factory of every revision it has served, whatever its
//! namespace — are not for a script to load, run or read the source of.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{AsyncRuntime, Ctx, Exception, Module};

use super::limits::ScriptLimits;
use super::meter::{Meter, MeterState};
use super::warm::WarmContext;

/// A runtime and, once a request needed it, its warm context.
pub(crate) struct Pooled {
    // Fields drop in order: the context before its runtime.
    /// The reused context, if one was set up.
    pub(crate) warm: Option<WarmContext>,
    /// The runtime.
    pub(crate) runtime: AsyncRuntime,
    /// Its allocator's limit and what it refused (the runtime holds the allocator itself).
    pub(crate) meter: Rc<MeterState>,
}

thread_local! {
    static IDLE: RefCell<Vec<Pooled>> = const { RefCell::new(Vec::new()) };
    static CREATED_HERE: Cell<u64> = const { Cell::new(0) };
}

/// A runtime of this thread with its limits as they are now, or a new one.
pub(crate) async fn take(limits: &ScriptLimits) -> rquickjs::Result<Pooled> {
    let pooled = match IDLE.with(|idle| idle.borrow_mut().pop()) {
        Some(pooled) => pooled,
        None => {
            let meter = MeterState::new(limits.memory_bytes);
            let runtime = AsyncRuntime::new_with_alloc(Meter(Rc::clone(&meter)))?;
            runtime.set_loader(NoImports, NoImports).await;
            CREATED_HERE.with(|created| created.set(created.get() + 1));
            Pooled { warm: None, runtime, meter }
        }
    };
    // Applied at every take, so limits changed at run time reach runtimes already pooled.
    pooled.meter.set_limit(limits.memory_bytes);
    pooled.runtime.set_max_stack_size(limits.stack_bytes).await;
    Ok(pooled)
}

/// The module resolver and loader of every pooled runtime: no name resolves, so a script's
/// `import(…)` rejects — also for a module the context has loaded already (the resolver is asked
/// before the loaded modules are looked at). Revisions cannot import statically (a publish refuses
/// it), and the runner loads the prelude and revisions from bytecode, which asks neither.
struct NoImports;

impl Resolver for NoImports {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        _base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<String> {
        Err(Exception::throw_reference(ctx, &format!("cannot import `{name}`: endpoint scripts import no modules")))
    }
}

impl Loader for NoImports {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> rquickjs::Result<Module<'js, Declared>> {
        Err(Exception::throw_reference(ctx, &format!("cannot import `{name}`: endpoint scripts import no modules")))
    }
}

/// Returns a clean runtime for the next request of this thread (beyond the pool size it is dropped).
pub(crate) async fn give_back(pooled: Pooled, limits: &ScriptLimits) {
    pooled.runtime.set_interrupt_handler(None).await;
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.len() < limits.pool_per_worker {
            idle.push(pooled);
        }
    });
}

/// Runtimes dropped after a request that left something behind (or hit a limit), since start.
pub(crate) static DISCARDED: AtomicU64 = AtomicU64::new(0);

/// How the pools of this process have fared since start (for `/metrics` and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Warm contexts set up (once per runtime, and again after a runtime was discarded).
    pub warm_contexts_created: u64,
    /// Runtimes discarded instead of pooled.
    pub runtimes_discarded: u64,
}

/// The counts now.
pub fn pool_stats() -> PoolStats {
    PoolStats {
        warm_contexts_created: super::warm::CREATED.load(Ordering::Relaxed),
        runtimes_discarded: DISCARDED.load(Ordering::Relaxed),
    }
}

/// Runtimes idle on this thread (for tests and the runtime-setup benchmark).
pub fn idle_runtimes() -> usize {
    IDLE.with(|idle| idle.borrow().len())
}

/// Runtimes this thread has created since it started: a test runs two requests and, when this did
/// not move between them, knows the second ran on the runtime the first gave back.
pub fn runtimes_created_here() -> u64 {
    CREATED_HERE.with(Cell::get)
}

/// Bytes each idle runtime of this thread holds (its allocator's count), for tests.
#[cfg(test)]
pub(crate) fn idle_memory() -> Vec<usize> {
    IDLE.with(|idle| idle.borrow().iter().map(|pooled| pooled.meter.used()).collect())
}
