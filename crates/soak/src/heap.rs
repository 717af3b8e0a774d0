//! A counting global allocator: live heap bytes, exactly, whatever the machine is doing.
//!
//! Resident memory (VmRSS) depends on the allocator's arenas, page reuse and how busy the machine
//! is; the bytes the program has asked for and not yet given back do not. Comparing them at
//! moments when the runtime has drained (no task active, nothing pending) is an exact leak check.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

/// The system allocator, counting the bytes currently allocated through it.
pub(crate) struct CountingAllocator {
    /// Bytes allocated and not yet freed (requested sizes, not the allocator's chunk sizes).
    live: AtomicI64,
}

impl CountingAllocator {
    /// A counter at zero.
    pub(crate) const fn new() -> Self {
        Self {
            live: AtomicI64::new(0),
        }
    }

    /// Bytes allocated and not yet freed.
    pub(crate) fn live_bytes(&self) -> i64 {
        self.live.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: usize) {
        self.live
            .fetch_add(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.live
            .fetch_sub(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and only adds
// a relaxed counter update, so `System`'s guarantees carry over as they are.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            self.add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            self.add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        self.sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.sub(layout.size());
            self.add(new_size);
        }
        p
    }
}
