//! A counting limit with RAII permits: the strict bound of a bulkhead or of running fallbacks.
//!
//! actix's mailbox bound is per sending handle (each `Addr` clone may push one message past it), so
//! it cannot be the strict limit; this counter is, shared by every caller of a dependency. The limit
//! is an argument of each acquire, so a runtime settings change takes effect on the next call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts permits in use.
#[derive(Debug, Default)]
pub struct Bulkhead {
    in_use: AtomicUsize,
}

/// One place in a [`Bulkhead`], given back when dropped (also when the call holding it is cancelled
/// or its actor restarts).
#[derive(Debug)]
pub struct Permit {
    bulkhead: Arc<Bulkhead>,
}

impl Bulkhead {
    /// An empty bulkhead.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Takes a place if fewer than `limit` are in use; `None` means full: reject at once.
    pub fn try_acquire(self: &Arc<Self>, limit: usize) -> Option<Permit> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < limit).then_some(n + 1))
            .ok()
            .map(|_| Permit { bulkhead: Arc::clone(self) })
    }

    /// Places in use now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Acquire)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.bulkhead.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_limit_and_frees_on_drop() {
        let b = Bulkhead::new();
        let p1 = b.try_acquire(2).unwrap();
        let _p2 = b.try_acquire(2).unwrap();
        assert!(b.try_acquire(2).is_none());
        assert_eq!(b.in_use(), 2);
        drop(p1);
        assert_eq!(b.in_use(), 1);
        assert!(b.try_acquire(2).is_some());
    }

    #[test]
    fn a_lowered_limit_applies_to_the_next_acquire() {
        let b = Bulkhead::new();
        let _p = b.try_acquire(5).unwrap();
        assert!(b.try_acquire(1).is_none());
        assert!(b.try_acquire(0).is_none());
        assert!(b.try_acquire(2).is_some());
    }
}
