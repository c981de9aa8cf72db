//! Allocator tuning that bounds memory under a login storm.
//!
//! Each argon2 run allocates one 19 MiB block. glibc's malloc raises its mmap threshold to the
//! size of the largest block freed (up to 32 MiB), so after the first hash these blocks come
//! from per-thread arenas and stay resident after they are freed: every blocking thread that
//! ever hashed keeps ~19 MiB. Under 4 waves of 150 logins that was 333 MiB even with hashing
//! bounded to one run at a time; with a fixed threshold the blocks are mapped and unmapped each
//! time and the peak was 49 MiB (BENCHMARKS.md, "Login storm").

/// Allocations from this size up always get their own mapping, returned to the system on free.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// Call once, before any thread starts.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
