//! What the store does when its disk fills up or fails under it.
//!
//! What sled 0.34.7 does on a full disk (measured on a small tmpfs, `storage/tests/full_disk.rs`):
//! the write that meets `ENOSPC` returns an I/O error, but sled has already applied it to its
//! in-memory trees, so reads on the same handle may show a change that is not on disk; every
//! later write fails with the same error even after space is freed (sled keeps a "global error"
//! until the database is opened again), reads of large values fail too, and a later flush may wait
//! forever. Opening the directory again recovers exactly what was flushed.
//!
//! So the store does two things. Before a new write it checks the free space of its file system
//! ([`Health::ensure_space`]) and refuses with [`StoreError::NoSpace`], having written nothing,
//! when the write would leave less than a reserve plus the store's own size (opening verifies a
//! copy of sled's files, so a store can only restart with that much free): sled never meets the
//! full disk, and writes go on as soon as space is freed. When sled fails all the same (another
//! process filled the disk, an I/O error, a flush that does not finish within [`FLUSH_LIMIT`]),
//! the store latches the first [`Failure`] and answers every later call, reads included, with
//! [`StoreError::Failed`] without touching sled again; only opening it again (restarting the node)
//! clears that, and what it acknowledged before is on disk.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::StoreError;

/// Free space kept beyond a write and the store's own size, unless changed with
/// [`crate::Store::set_space_reserve`]: room for sled's own housekeeping and the Raft log beside
/// the store.
pub const DEFAULT_SPACE_RESERVE: u64 = 16 << 20;

/// How long a flush (fsync) may take before the store counts it as failed: sled may wait forever
/// for a write that failed on another of its threads.
pub const FLUSH_LIMIT: Duration = Duration::from_secs(20);

/// Why a store stopped: the first I/O failure it met after opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The data directory.
    pub dir: PathBuf,
    /// What failed, as sled or the OS said it.
    pub cause: String,
    /// The failure was a full disk (`ENOSPC`, or a quota).
    pub no_space: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.no_space { "ran out of disk space" } else { "failed" };
        write!(
            f,
            "the store in {} {what} ({}) and takes no more reads or writes until it is opened again (restart the node{}); every change it acknowledged before is on disk",
            self.dir.display(),
            self.cause,
            if self.no_space { " once space is freed" } else { "" },
        )
    }
}

/// Whether an I/O error means the disk (or the user's quota) is full.
pub fn is_no_space(error: &std::io::Error) -> bool {
    matches!(error.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
        || matches!(error.raw_os_error(), Some(28 | 122))
}

/// No free-space check ([`Health::set_reserve`] with `None`).
const UNCHECKED: u64 = u64::MAX;

/// The store's failure latch and free-space reserve.
pub(crate) struct Health {
    failure: OnceLock<Failure>,
    /// [`UNCHECKED`], or the reserve.
    reserve: AtomicU64,
}

impl Health {
    pub(crate) fn new() -> Self {
        Self { failure: OnceLock::new(), reserve: AtomicU64::new(DEFAULT_SPACE_RESERVE) }
    }

    /// The latched failure, if any.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.failure.get()
    }

    /// `Failed` once a failure is latched.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match self.failure.get() {
            Some(failure) => Err(StoreError::Failed(failure.clone())),
            None => Ok(()),
        }
    }

    /// Latches `cause` (unless a failure already is) and answers `Failed` with the latched one.
    pub(crate) fn fail(&self, dir: &Path, cause: String, no_space: bool) -> StoreError {
        let failure = self.failure.get_or_init(|| {
            tracing::error!(dir = %dir.display(), cause, no_space, "the store failed; it takes nothing more until it is opened again");
            Failure { dir: dir.to_owned(), cause, no_space }
        });
        StoreError::Failed(failure.clone())
    }

    /// An error met while using sled: an I/O failure (sled's, or the watermark's) latches the
    /// store's failure; a value that does not decode stays what it is.
    pub(crate) fn record(&self, dir: &Path, error: StoreError) -> StoreError {
        match &error {
            StoreError::Sled(sled::Error::Io(io)) => self.fail(dir, format!("sled: {io}"), is_no_space(io)),
            StoreError::Sled(other) => self.fail(dir, format!("sled: {other}"), false),
            StoreError::Watermark(io) => self.fail(dir, format!("the watermark: {io}"), is_no_space(io)),
            _ => error,
        }
    }

    /// The reserve; `None` when free space is not checked.
    pub(crate) fn reserve(&self) -> Option<u64> {
        Some(self.reserve.load(Ordering::Relaxed)).filter(|r| *r != UNCHECKED)
    }

    pub(crate) fn set_reserve(&self, bytes: Option<u64>) {
        self.reserve.store(bytes.map_or(UNCHECKED, |b| b.min(UNCHECKED - 1)), Ordering::Relaxed);
    }

    /// Refuses a write of about `write` bytes that would leave less than the reserve plus `own`
    /// (the store's size on disk) free in `dir`'s file system. Twice the write: it goes to the
    /// Raft log and to the store. A file system that cannot say is not refused.
    pub(crate) fn ensure_space(&self, dir: &Path, own: u64, write: u64) -> Result<(), StoreError> {
        let Some(reserve) = self.reserve() else { return Ok(()) };
        let available = match fs2::available_space(dir) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "cannot read the free space of the store's file system: {e}");
                return Ok(());
            }
        };
        let needed = write.saturating_mul(2).saturating_add(own).saturating_add(reserve);
        if available < needed {
            return Err(StoreError::NoSpace { dir: dir.to_owned(), available, write, own, reserve });
        }
        Ok(())
    }
}

/// Flushes `db` (fsync), giving up after `limit`: the flush goes on, on its own thread.
pub(crate) fn flush_within(db: &sled::Db, limit: Duration) -> Result<(), FlushError> {
    let (done, outcome) = std::sync::mpsc::channel();
    let flushing = db.clone();
    let spawned = std::thread::Builder::new().name("store-flush".into()).spawn(move || {
        let _ = done.send(flushing.flush());
    });
    if spawned.is_err() {
        return db.flush().map(drop).map_err(FlushError::Sled);
    }
    match outcome.recv_timeout(limit) {
        Ok(flushed) => flushed.map(drop).map_err(FlushError::Sled),
        Err(_) => Err(FlushError::TooSlow(limit)),
    }
}

/// Why a flush did not complete.
pub(crate) enum FlushError {
    Sled(sled::Error),
    TooSlow(Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_quota_are_no_space() {
        assert!(is_no_space(&std::io::Error::from_raw_os_error(28)));
        assert!(is_no_space(&std::io::Error::from_raw_os_error(122)));
        assert!(is_no_space(&std::io::Error::new(std::io::ErrorKind::StorageFull, "custom")));
        assert!(!is_no_space(&std::io::Error::from_raw_os_error(5)));
    }

    #[test]
    fn the_first_failure_is_kept() {
        let health = Health::new();
        assert!(health.check().is_ok());
        let io = |code| StoreError::Sled(sled::Error::Io(std::io::Error::from_raw_os_error(code)));
        let first = health.record(Path::new("/d"), io(28));
        let second = health.record(Path::new("/d"), io(5));
        assert_eq!(first.to_string(), second.to_string());
        let Err(StoreError::Failed(failure)) = health.check() else { panic!("failed") };
        assert!(failure.no_space, "{failure}");
        assert!(failure.to_string().contains("ran out of disk space"), "{failure}");
        let decode = StoreError::Inconsistent("x".into());
        assert!(matches!(health.record(Path::new("/d"), decode), StoreError::Inconsistent(_)));
    }

    #[test]
    fn a_write_that_would_eat_the_reserve_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let health = Health::new();
        let available = fs2::available_space(dir.path()).expect("statvfs");
        health.set_reserve(Some(0));
        assert!(health.ensure_space(dir.path(), 0, 1).is_ok());
        let refused = health.ensure_space(dir.path(), available, 1).expect_err("refused");
        assert!(matches!(refused, StoreError::NoSpace { own, write: 1, reserve: 0, .. } if own == available));
        health.set_reserve(Some(u64::MAX));
        assert!(health.ensure_space(dir.path(), 0, 0).is_err(), "the reserve counts");
        health.set_reserve(None);
        assert!(health.ensure_space(dir.path(), u64::MAX, u64::MAX).is_ok(), "unchecked");
    }
}
