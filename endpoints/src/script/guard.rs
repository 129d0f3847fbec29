//! The limits of one running request, shared by the interrupt handler, the natives and the runner.
//!
//! The interrupt handler is the engine's only way to stop JavaScript that never yields; it asks
//! [`RunGuard::should_interrupt`] every few thousand instructions. A limit tripped elsewhere (too
//! many calls, a response too large) also wakes the runner through [`RunGuard::tripped`], because
//! a script waiting on a promise runs no JavaScript that could be interrupted. The engine's own
//! limits count too, even when the script caught their error: the runtime's allocator refusing
//! memory ([`super::meter`]) and a stack overflow seen by the stack-trace hook ([`super::natives`])
//! trip [`LimitKind::Memory`] and [`LimitKind::Stack`], so the script is stopped and its runtime
//! discarded.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::events::LimitKind;
use super::limits::ScriptLimits;
use super::meter::MeterState;

/// Limits and counters of one request.
pub(crate) struct RunGuard {
    deadline: Instant,
    cpu_slice: Duration,
    slice_start: Cell<Instant>,
    tripped: Cell<Option<LimitKind>>,
    notify: Notify,
    calls: Cell<usize>,
    max_calls: usize,
    response_bytes: Cell<usize>,
    max_response_bytes: usize,
    outstanding: Cell<usize>,
    /// The runtime's allocator, whose refusals are this request's out-of-memory.
    memory: Option<Rc<MeterState>>,
}

impl RunGuard {
    pub(crate) fn new(limits: &ScriptLimits) -> Self {
        let now = Instant::now();
        Self {
            deadline: now + Duration::from_millis(limits.deadline_ms),
            cpu_slice: Duration::from_millis(limits.cpu_slice_ms),
            slice_start: Cell::new(now),
            tripped: Cell::new(None),
            notify: Notify::new(),
            calls: Cell::new(0),
            max_calls: limits.max_calls,
            response_bytes: Cell::new(0),
            max_response_bytes: limits.max_response_bytes,
            outstanding: Cell::new(0),
            memory: None,
        }
    }

    /// As [`RunGuard::new`], for a request on the runtime whose allocator is `memory`.
    pub(crate) fn watching(limits: &ScriptLimits, memory: Rc<MeterState>) -> Self {
        Self { memory: Some(memory), ..Self::new(limits) }
    }

    /// Trips [`LimitKind::Memory`] once the runtime's allocator has refused an allocation.
    pub(crate) fn check_memory(&self) {
        if self.memory.as_ref().is_some_and(|m| m.refused()) {
            self.trip(LimitKind::Memory);
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// JavaScript is about to run (the runner polls the engine): the CPU slice starts now.
    pub(crate) fn slice_starts(&self) {
        self.slice_start.set(Instant::now());
    }

    /// The interrupt handler's question: stop the JavaScript running now?
    pub(crate) fn should_interrupt(&self) -> bool {
        self.check_memory();
        if self.tripped.get().is_some() {
            return true;
        }
        let now = Instant::now();
        if now >= self.deadline {
            self.trip(LimitKind::Deadline);
        } else if now.duration_since(self.slice_start.get()) >= self.cpu_slice {
            self.trip(LimitKind::Cpu);
        }
        self.tripped.get().is_some()
    }

    /// Records the first limit crossed and wakes the runner.
    pub(crate) fn trip(&self, limit: LimitKind) {
        if self.tripped.get().is_none() {
            self.tripped.set(Some(limit));
            self.notify.notify_one();
        }
    }

    pub(crate) fn tripped_limit(&self) -> Option<LimitKind> {
        self.check_memory();
        self.tripped.get()
    }

    /// Resolves once a limit has been tripped.
    pub(crate) async fn tripped(&self) {
        if self.tripped.get().is_some() {
            return;
        }
        self.notify.notified().await;
    }

    /// Counts one dependency call; false (and tripped) beyond `max_calls`.
    pub(crate) fn admit_call(&self) -> bool {
        let calls = self.calls.get() + 1;
        self.calls.set(calls);
        if calls > self.max_calls {
            self.trip(LimitKind::Calls);
            return false;
        }
        true
    }

    /// Counts response bytes; false (and tripped) beyond `max_response_bytes`.
    pub(crate) fn admit_bytes(&self, bytes: usize) -> bool {
        let total = self.response_bytes.get() + bytes;
        self.response_bytes.set(total);
        if total > self.max_response_bytes {
            self.trip(LimitKind::ResponseSize);
            return false;
        }
        true
    }

    pub(crate) fn max_calls(&self) -> usize {
        self.max_calls
    }

    pub(crate) fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }

    /// A native future (a call, a sleep) started; the returned token ends it when dropped.
    pub(crate) fn outstanding(self: &std::rc::Rc<Self>) -> Outstanding {
        self.outstanding.set(self.outstanding.get() + 1);
        Outstanding(std::rc::Rc::clone(self))
    }

    /// Native futures still running (a runtime with some is not reused).
    pub(crate) fn outstanding_count(&self) -> usize {
        self.outstanding.get()
    }
}

/// One running native future; see [`RunGuard::outstanding`].
pub(crate) struct Outstanding(std::rc::Rc<RunGuard>);

impl Drop for Outstanding {
    fn drop(&mut self) {
        self.0.outstanding.set(self.0.outstanding.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_deadline_and_the_cpu_slice_interrupt() {
        let limits = ScriptLimits { cpu_slice_ms: 50, deadline_ms: 120, ..Default::default() };
        let guard = RunGuard::new(&limits);
        assert!(!guard.should_interrupt());
        tokio::time::advance(Duration::from_millis(49)).await;
        assert!(!guard.should_interrupt());
        guard.slice_starts();
        tokio::time::advance(Duration::from_millis(49)).await;
        assert!(!guard.should_interrupt(), "a new slice started 49 ms ago");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(guard.should_interrupt());
        assert_eq!(guard.tripped_limit(), Some(LimitKind::Cpu));

        let guard = RunGuard::new(&limits);
        for _ in 0..3 {
            tokio::time::advance(Duration::from_millis(40)).await;
            guard.slice_starts();
        }
        assert!(guard.should_interrupt());
        assert_eq!(guard.tripped_limit(), Some(LimitKind::Deadline));
    }

    #[tokio::test]
    async fn calls_and_bytes_trip_past_their_limit_and_wake_the_runner() {
        let limits = ScriptLimits { max_calls: 2, max_response_bytes: 10, ..Default::default() };
        let guard = RunGuard::new(&limits);
        assert!(guard.admit_call() && guard.admit_call());
        assert!(guard.admit_bytes(10));
        assert_eq!(guard.tripped_limit(), None);
        assert!(!guard.admit_call());
        guard.tripped().await;
        assert_eq!(guard.tripped_limit(), Some(LimitKind::Calls));
        assert!(!guard.admit_bytes(1));
        assert_eq!(guard.tripped_limit(), Some(LimitKind::Calls), "the first limit crossed is the one reported");
    }
}
