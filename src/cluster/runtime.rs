//! Raft's own tokio runtime: two threads that run nothing but Raft (its core, replication to each
//! peer, the state machine worker, the network), so heartbeats are never late because a device
//! request or a test blocked some other thread, and an election is never caused by load.

use std::future::Future;

use tokio::runtime::{Handle, Runtime};

/// Owns the runtime; stops it without blocking when dropped (also from inside another runtime).
pub struct RaftRuntime {
    runtime: Option<Runtime>,
}

impl RaftRuntime {
    /// Starts the runtime's threads.
    pub fn start() -> std::io::Result<Self> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("raft").enable_all().build()?;
        Ok(Self { runtime: Some(runtime) })
    }

    /// A handle to spawn on it.
    pub fn handle(&self) -> Handle {
        self.runtime.as_ref().map(Runtime::handle).cloned().unwrap_or_else(Handle::current)
    }

    /// Runs `future` on the runtime and waits for it from synchronous code — also code that is
    /// itself inside another runtime (start-up is), by waiting on a thread of its own.
    pub fn block_on<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        let handle = self.handle();
        std::thread::scope(|scope| match scope.spawn(move || handle.block_on(future)).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        })
    }
}

impl Drop for RaftRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
