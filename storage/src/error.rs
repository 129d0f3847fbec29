//! Errors of the store itself, as opposed to [`crate::Rejection`]s of commands.
//!
//! [`OpenError`] says why a data directory was refused at start-up and names what is wrong and
//! where (directory, tree, key), because the operator must decide what to do with the directory: a
//! damaged store is never replaced by an empty one. [`StoreError`] is a failure after opening: I/O,
//! or a value that no longer decodes. Neither is retried here.

use std::path::PathBuf;

use crate::codec::CodecError;
use crate::health::Failure;

/// Why a data directory could not be opened as a store.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store was created for another environment (design §6: environments are separate stores).
    #[error("data directory {dir} belongs to environment `{found}`, this node is configured for `{expected}`")]
    EnvironmentMismatch {
        /// The data directory.
        dir: PathBuf,
        /// The environment recorded in it.
        found: String,
        /// The environment configured for this node.
        expected: String,
    },
    /// The directory is a store, but something in it is missing, unreadable or inconsistent.
    #[error(
        "data directory {dir} is damaged: {detail}; refusing to start (nothing was changed; restore it from a backup or a snapshot, or move it away to start empty)"
    )]
    Damaged {
        /// The data directory.
        dir: PathBuf,
        /// What is wrong, naming the file, tree or key.
        detail: String,
    },
    /// The directory holds files, but not a store: refusing to write into it.
    #[error("{dir} is not a Switchyard store (it holds {found}); point the store at an empty or new directory")]
    NotAStore {
        /// The directory.
        dir: PathBuf,
        /// Some of what it holds.
        found: String,
    },
    /// The store was written by a newer release.
    #[error("data directory {dir} has store format {found}; this build reads format {supported}: run a newer release")]
    NewerFormat {
        /// The data directory.
        dir: PathBuf,
        /// The format recorded in it.
        found: u16,
        /// The newest format this build reads.
        supported: u16,
    },
    /// Another process has the store open (sled allows one process per directory).
    #[error("data directory {dir} is in use by another process (only one process can open a store)")]
    InUse {
        /// The data directory.
        dir: PathBuf,
    },
    /// The file system is too full to check the store before opening it: opening verifies a copy
    /// of sled's files first.
    #[error(
        "data directory {dir}: not enough free space to open the store, which verifies a copy of its files ({needed} bytes) before opening them; free space on its file system and start again (nothing was changed)"
    )]
    NoSpace {
        /// The data directory.
        dir: PathBuf,
        /// The size of the copy.
        needed: u64,
    },
    /// The directory could not be read or created.
    #[error("data directory {dir}: {source}")]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
}

/// A failure of the store after it was opened. [`StoreError::NoSpace`] refused a write before
/// anything was written; [`StoreError::Failed`] says the store stopped (see [`crate::Failure`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed (I/O, or corruption it detected).
    #[error("store I/O failed: {0}")]
    Sled(#[from] sled::Error),
    /// Refused before anything was written: the write would leave less free space than the store
    /// keeps (its own size, to be checked at a restart, and a reserve). The store goes on; writes
    /// succeed again once space is freed.
    #[error(
        "no space for this write in {dir}: {available} bytes are free and the store keeps free twice the write ({write} bytes), its own size ({own} bytes, for the check at a restart) and a reserve of {reserve} bytes; nothing was written"
    )]
    NoSpace {
        /// The data directory.
        dir: PathBuf,
        /// Bytes free for this process on its file system.
        available: u64,
        /// The write's size (about).
        write: u64,
        /// The store's size on disk.
        own: u64,
        /// The reserve kept beyond that.
        reserve: u64,
    },
    /// The store met an I/O failure (a full disk, or worse) and answers nothing more until it is
    /// opened again: sled may hold a failed write in memory and would fail or hang on the next.
    #[error("{0}")]
    Failed(Failure),
    /// A stored value does not decode.
    #[error("tree `{tree}`, key {key}: {source}")]
    Corrupt {
        /// The tree.
        tree: &'static str,
        /// The key, readable.
        key: String,
        /// Why it does not decode.
        source: CodecError,
    },
    /// Stored entries contradict each other or their keys.
    #[error("{0}")]
    Inconsistent(String),
    /// The watermark could not be advanced after a write (the write itself is durable in sled).
    #[error("the write was stored, but its watermark could not be recorded: {0}")]
    Watermark(std::io::Error),
    /// A value could not be encoded (not expected for the store's types).
    #[error("{0}")]
    Encode(CodecError),
    /// Bytes given to [`crate::Store::restore`] are not a snapshot this build reads.
    #[error("not a valid snapshot: {0}")]
    BadSnapshot(String),
    /// A snapshot of another environment was given to [`crate::Store::restore`].
    #[error("the snapshot belongs to environment `{found}`, this store to `{expected}`")]
    SnapshotEnvironment {
        /// The snapshot's environment.
        found: String,
        /// This store's.
        expected: String,
    },
}
