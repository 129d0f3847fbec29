//! The memory limit of a pooled runtime, kept by its allocator rather than by QuickJS, so that
//! running out of memory is *known*: a script may catch the engine's `InternalError: out of
//! memory` and answer normally, yet the refusal is recorded here, and the runner stops that request
//! (500 `limit` / `memory`) and discards the runtime (design §5: after an out-of-memory, discard
//! it). QuickJS's own limit is left off (it refuses before the allocator is asked, and says nothing).
//!
//! The limit is a cell the pool sets each time it hands the runtime out, so a limit changed at run
//! time reaches runtimes already pooled. The bytes are those the engine holds from the system: its
//! small-object arenas (4 KiB each) and large blocks.
//!
//! This is the crate's second `unsafe` spot: an [`Allocator`] implementation is an `unsafe` trait.
//! It adds bookkeeping only; every allocation, reallocation and release is rquickjs's own
//! [`RustAllocator`], called with exactly the pointers QuickJS handed over.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::rc::Rc;

use rquickjs::allocator::{Allocator, RustAllocator};

/// What one runtime's allocator knows: its limit, the bytes it holds, and whether it refused one.
#[derive(Debug)]
pub(crate) struct MeterState {
    limit: Cell<usize>,
    used: Cell<usize>,
    refused: Cell<bool>,
}

impl MeterState {
    /// A meter under `limit` bytes.
    pub(crate) fn new(limit: usize) -> Rc<Self> {
        Rc::new(Self { limit: Cell::new(limit), used: Cell::new(0), refused: Cell::new(false) })
    }

    /// The limit from now on (a lower one than what is held already refuses every new allocation).
    pub(crate) fn set_limit(&self, limit: usize) {
        self.limit.set(limit);
    }

    /// Whether an allocation was ever refused: the engine threw an out-of-memory error, caught or not.
    pub(crate) fn refused(&self) -> bool {
        self.refused.get()
    }

    /// Bytes held now.
    pub(crate) fn used(&self) -> usize {
        self.used.get()
    }

    /// Whether `more` bytes may be added to the `less` released; records a refusal when not.
    fn admit(&self, more: usize, less: usize) -> bool {
        let after = self.used.get().saturating_sub(less).saturating_add(more);
        if after > self.limit.get() {
            self.refused.set(true);
            return false;
        }
        true
    }

    fn add(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_add(bytes));
    }

    fn remove(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

/// The allocator of a pooled runtime: [`RustAllocator`] under a [`MeterState`].
pub(crate) struct Meter(pub(crate) Rc<MeterState>);

/// What [`RustAllocator`] rounds a request up to (it keeps the size in a header of its own).
fn rounded(size: usize) -> usize {
    size.div_ceil(8).saturating_mul(8)
}

// SAFETY: every method forwards to `RustAllocator` with the pointers QuickJS gave, so its
// guarantees (null or a usable, aligned region; `usable_size` of its own allocations) carry over;
// refusing returns null, which QuickJS handles as out of memory.
unsafe impl Allocator for Meter {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        if !self.0.admit(rounded(size), 0) {
            return std::ptr::null_mut();
        }
        let ptr = RustAllocator.alloc(size);
        if !ptr.is_null() {
            // SAFETY: `ptr` was just allocated by `RustAllocator`.
            self.0.add(unsafe { RustAllocator::usable_size(ptr) });
        }
        ptr
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        if !self.0.admit(rounded(count.saturating_mul(size)), 0) {
            return std::ptr::null_mut();
        }
        let ptr = RustAllocator.calloc(count, size);
        if !ptr.is_null() {
            // SAFETY: `ptr` was just allocated by `RustAllocator`.
            self.0.add(unsafe { RustAllocator::usable_size(ptr) });
        }
        ptr
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        // SAFETY: QuickJS frees only what this allocator gave it (the caller's contract).
        unsafe {
            self.0.remove(RustAllocator::usable_size(ptr));
            RustAllocator.dealloc(ptr);
        }
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        if ptr.is_null() {
            return self.alloc(new_size);
        }
        // SAFETY: `ptr` came from this allocator (the caller's contract).
        let old = unsafe { RustAllocator::usable_size(ptr) };
        if !self.0.admit(rounded(new_size), old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as above; on failure the old block is left as it was, and so is the count.
        let moved = unsafe { RustAllocator.realloc(ptr, new_size) };
        if !moved.is_null() {
            self.0.remove(old);
            // SAFETY: `moved` was just allocated by `RustAllocator`.
            self.0.add(unsafe { RustAllocator::usable_size(moved) });
        }
        moved
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        // SAFETY: the caller's contract, passed on.
        unsafe { RustAllocator::usable_size(ptr) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_past_the_limit_are_refused_and_remembered() {
        let state = MeterState::new(1024);
        let mut meter = Meter(Rc::clone(&state));
        let a = meter.alloc(600);
        assert!(!a.is_null());
        assert_eq!(state.used(), 600);
        assert!(!state.refused());
        assert!(meter.alloc(600).is_null(), "600 more would exceed 1024");
        assert!(state.refused(), "the refusal is remembered");
        // SAFETY: `a` came from `meter`.
        let grown = unsafe { meter.realloc(a, 1000) };
        assert!(!grown.is_null(), "growing in place of the old block fits");
        assert_eq!(state.used(), 1000);
        // SAFETY: `grown` came from `meter`.
        unsafe { meter.dealloc(grown) };
        assert_eq!(state.used(), 0);
        state.set_limit(8);
        assert!(meter.calloc(2, 8).is_null(), "a lowered limit applies to the next allocation");
    }

    #[test]
    fn a_runtime_under_a_meter_throws_out_of_memory_and_the_meter_knows() {
        let state = MeterState::new(4 * 1024 * 1024);
        let runtime = rquickjs::Runtime::new_with_alloc(Meter(Rc::clone(&state))).unwrap();
        let context = rquickjs::Context::full(&runtime).unwrap();
        let caught: String = context.with(|ctx| {
            ctx.eval(
                "let r; try { const a = []; for (;;) a.push(new Array(1e4).fill(1)); } catch (e) { r = String(e); } r",
            )
            .unwrap()
        });
        assert_eq!(caught, "InternalError: out of memory");
        assert!(state.refused());
        assert!(state.used() <= 4 * 1024 * 1024);
    }
}
