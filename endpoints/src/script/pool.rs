//! Per-worker pools of QuickJS runtimes (design §5, execution model).
//!
//! A runtime is not `Send`, and actix-web runs each worker on its own thread, so each thread keeps
//! its own few warm runtimes. A request takes one (creating it when none is idle: ~8 µs), runs in a
//! fresh context of it, and gives it back unless the run left anything behind (an interrupt, a
//! limit, jobs or calls still pending) — then the runtime is dropped instead, so nothing of one
//! request can reach the next.

use std::cell::RefCell;

use rquickjs::AsyncRuntime;

use super::limits::ScriptLimits;

thread_local! {
    static IDLE: RefCell<Vec<AsyncRuntime>> = const { RefCell::new(Vec::new()) };
}

/// A warm runtime of this thread, or a new one with `limits` applied.
pub(crate) async fn take(limits: &ScriptLimits) -> rquickjs::Result<AsyncRuntime> {
    if let Some(runtime) = IDLE.with(|idle| idle.borrow_mut().pop()) {
        return Ok(runtime);
    }
    let runtime = AsyncRuntime::new()?;
    runtime.set_memory_limit(limits.memory_bytes).await;
    runtime.set_max_stack_size(limits.stack_bytes).await;
    Ok(runtime)
}

/// Returns a clean runtime for the next request of this thread (beyond the pool size it is dropped).
pub(crate) async fn give_back(runtime: AsyncRuntime, limits: &ScriptLimits) {
    runtime.set_interrupt_handler(None).await;
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        if idle.len() < limits.pool_per_worker {
            idle.push(runtime);
        }
    });
}

/// Runtimes idle on this thread (for tests and the runtime-setup benchmark).
pub fn idle_runtimes() -> usize {
    IDLE.with(|idle| idle.borrow().len())
}
