//! [`PerThread`]: one value per thread for a shared owner — a dependency's actor on each worker
//! thread, an HTTP dependency's client on each — made at the thread's first use and found again
//! without a lock.
//!
//! Each thread keeps a short list (a few dependencies) of the values made on it, by owner. The
//! owner's key is an `Arc` its entries hold weakly: while an entry exists its allocation cannot be
//! reused by another owner, and once the owner is gone its entries are dropped at that thread's
//! next new entry (dropping an actor's address stops the actor).

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

/// One value made on this thread, and its owner's key.
type Entry = (Weak<()>, Box<dyn Any>);

thread_local! {
    static VALUES: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

/// The values of one owner, one per thread.
pub(crate) struct PerThread<T> {
    owner: Arc<()>,
    _values: PhantomData<fn() -> T>,
}

impl<T: Clone + 'static> PerThread<T> {
    pub(crate) fn new() -> Self {
        Self { owner: Arc::new(()), _values: PhantomData }
    }

    /// This thread's value, made by `make` if the thread has none yet (`make` may decline: `None`,
    /// and it is asked again next time).
    pub(crate) fn get_or_make(&self, make: impl FnOnce() -> Option<T>) -> Option<T> {
        self.with(make, T::clone)
    }

    /// `use_it` on this thread's value itself (not a clone: an actor's address keeps per-sender
    /// state), made by `make` first if the thread has none yet; `None` when `make` declines.
    pub(crate) fn with<R>(&self, make: impl FnOnce() -> Option<T>, use_it: impl FnOnce(&T) -> R) -> Option<R> {
        VALUES.with(|values| {
            let key = Arc::as_ptr(&self.owner);
            let found = |values: &[Entry]| values.iter().position(|(owner, _)| owner.as_ptr() == key);
            let existing = found(&values.borrow());
            let at = match existing {
                Some(at) => at,
                None => {
                    // Made with no borrow held: making may use other owners' values.
                    let value = make()?;
                    let mut values = values.borrow_mut();
                    values.retain(|(owner, _)| owner.strong_count() > 0);
                    values.push((Arc::downgrade(&self.owner), Box::new(value)));
                    values.len() - 1
                }
            };
            let values = values.borrow();
            values[at].1.downcast_ref::<T>().map(use_it)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_thread_makes_its_own_value_once_and_a_gone_owner_is_forgotten() {
        let counter = PerThread::<u32>::new();
        assert_eq!(counter.get_or_make(|| None), None, "declined: nothing kept");
        assert_eq!(counter.get_or_make(|| Some(1)), Some(1));
        assert_eq!(counter.get_or_make(|| Some(2)), Some(1), "made once on this thread");
        let other = std::thread::scope(|s| s.spawn(|| counter.get_or_make(|| Some(3))).join().expect("thread"));
        assert_eq!(other, Some(3), "another thread makes its own");
        let second_owner = PerThread::<u32>::new();
        assert_eq!(second_owner.get_or_make(|| Some(4)), Some(4), "owners do not share values");
        drop(counter);
        let third_owner = PerThread::<u32>::new();
        assert_eq!(third_owner.get_or_make(|| Some(5)), Some(5));
        VALUES.with(|values| assert_eq!(values.borrow().len(), 2, "the gone owner's entry was dropped"));
    }
}
