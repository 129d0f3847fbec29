//! Opening a data directory, and refusing it — unchanged — when it is not a healthy store of this
//! environment.
//!
//! A missing or empty directory becomes a new store. Anything else must first look like a store
//! (the identity file, sled's files, the store's own files and nothing more; `db` present, because
//! sled would silently start over without it). Then a copy of sled's files is opened and checked
//! through and through ([`crate::verify`]) and only if it passes are the real files opened: sled
//! 0.34 repairs what it takes for a torn tail of its log *in place* when it opens, so checking a
//! copy is what lets a refusal leave the directory exactly as it was, for the operator to inspect
//! or restore (and opening needs as much free space as sled's files take: on a full disk it is
//! refused with [`OpenError::NoSpace`], changing nothing). sled also panics on some corruptions instead of returning an error, so every sled
//! call here runs under `catch_unwind` and a panic is reported as damage.
//!
//! What sled 0.34.7 does with damage (tests/damage.rs sweeps truncations and flipped bytes over the
//! whole log): where the damage is in the last segment of `db` — in a small store that is
//! everywhere — sled takes it for a write torn by a crash and silently recovers the log before it,
//! losing the acknowledged writes after it (only the watermark notices); further back it may also
//! panic ("tried to serialize Uninitialized") or drop a page from the middle (the invariants notice:
//! "revision 12 found where 11 belongs"); an empty or garbage `db` opens as an empty database
//! (the missing trees notice); a garbage `conf` or snapshot file is `Corruption`; a deleted `conf`
//! or snapshot is rebuilt from the log; a flipped byte in unused space is harmless.

use std::fs::{self, File};
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::error::OpenError;
use crate::health::is_no_space;
use crate::layout::{
    self, CHECK_DIR, ENVIRONMENT_KEY, FORMAT_KEY, IDENTITY_CONTENT, IDENTITY_FILE, IDENTITY_TMP, META, STORE_FORMAT,
    WRITES_KEY, is_own_file, is_sled_file,
};
use crate::store::{Store, Trees, decode};
use crate::verify::{Verdict, damaged, verify};
use crate::watermark::Watermark;

impl Store {
    /// Opens the store in `dir` for `environment`, creating it if `dir` is missing or empty.
    ///
    /// Refuses, changing nothing, a directory that holds something else ([`OpenError::NotAStore`]),
    /// a damaged store ([`OpenError::Damaged`]), another environment's store, a newer format's, or
    /// one that another process has open ([`OpenError::InUse`]).
    pub fn open(dir: &Path, environment: &str) -> Result<Store, OpenError> {
        let io = |source| OpenError::Io { dir: dir.to_owned(), source };
        fs::create_dir_all(dir).map_err(io)?;
        let entries = entries(dir).map_err(io)?;
        if entries.is_empty() {
            return create(dir, environment);
        }
        let has_identity = entries.iter().any(|e| e == IDENTITY_FILE);
        if !has_identity {
            if !entries.iter().all(|e| is_sled_file(e) || is_own_file(e)) {
                return Err(OpenError::NotAStore { dir: dir.to_owned(), found: listing(&entries) });
            }
            if entries.iter().any(|e| e == "db") {
                wait_for_sled(dir)?;
            }
            remove_check_copy(dir).map_err(io)?;
            return match check_copy(dir, environment, false, None)? {
                Verdict::Unfinished => {
                    tracing::info!(dir = %dir.display(), "completing the creation of a store that was interrupted");
                    create(dir, environment)
                }
                Verdict::Healthy => Err(damaged(dir, format!("the identity file `{IDENTITY_FILE}` is missing"))),
            };
        }
        if fs::read(dir.join(IDENTITY_FILE)).map_err(io)? != IDENTITY_CONTENT.as_bytes() {
            return Err(damaged(dir, format!("the identity file `{IDENTITY_FILE}` has been changed")));
        }
        if let Some(other) = entries.iter().find(|e| !is_sled_file(e) && !is_own_file(e) && *e != IDENTITY_FILE) {
            return Err(damaged(dir, format!("it holds `{other}`, which the store did not write")));
        }
        if !entries.iter().any(|e| e == "db") {
            return Err(damaged(dir, "sled's data file `db` is missing".into()));
        }
        let lock = lock_identity(dir)?;
        wait_for_sled(dir)?;
        remove_check_copy(dir).map_err(io)?;
        let mut watermark = Watermark::open(dir).map_err(io)?;
        let acknowledged = match &mut watermark {
            None => None,
            Some(w) => match w.read().map_err(io)? {
                Some(count) => Some(count),
                None => {
                    let file = crate::watermark::WATERMARK_FILE;
                    return Err(damaged(
                        dir,
                        format!("`{file}` is unreadable; delete it to accept the store as it is"),
                    ));
                }
            },
        };
        check_copy(dir, environment, true, acknowledged)?;
        guarded(dir, || open_checked(dir, environment, watermark, lock))
    }
}

/// A new store: meta, then the watermark, then the identity file (last, durably).
fn create(dir: &Path, environment: &str) -> Result<Store, OpenError> {
    let io = |source| OpenError::Io { dir: dir.to_owned(), source };
    guarded(dir, || {
        let sled_err = |e| sled_error(dir, e);
        let db = sled::Config::new().path(dir).open().map_err(sled_err)?;
        let trees = open_trees(&db).map_err(sled_err)?;
        let env = crate::codec::encode(environment).map_err(|e| damaged(dir, e.to_string()))?;
        let writes = crate::codec::encode(&0u64).map_err(|e| damaged(dir, e.to_string()))?;
        trees.meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes()).map_err(sled_err)?;
        trees.meta.insert(ENVIRONMENT_KEY, env).map_err(sled_err)?;
        trees.meta.insert(WRITES_KEY, writes).map_err(sled_err)?;
        db.flush().map_err(sled_err)?;
        let watermark = Watermark::create(dir, 0).map_err(io)?;
        write_identity(dir).map_err(io)?;
        let lock = lock_identity(dir)?;
        tracing::info!(dir = %dir.display(), environment, "created a new store");
        Ok(Store::new(dir, environment, true, db, trees, watermark, lock))
    })
}

/// Opens the real files after their copy passed [`verify`], and brings the watermark up to date.
fn open_checked(dir: &Path, environment: &str, watermark: Option<Watermark>, lock: File) -> Result<Store, OpenError> {
    let io = |source| OpenError::Io { dir: dir.to_owned(), source };
    let sled_err = |e| sled_error(dir, e);
    let db = sled::Config::new().path(dir).open().map_err(sled_err)?;
    let trees = open_trees(&db).map_err(sled_err)?;
    let writes = match trees.meta.get(WRITES_KEY).map_err(sled_err)? {
        Some(v) => decode(META, WRITES_KEY, &v).map_err(|e| damaged(dir, e.to_string()))?,
        None => 0,
    };
    let watermark = match watermark {
        Some(mut w) => {
            w.write(writes).map_err(io)?;
            w
        }
        None => {
            tracing::warn!(dir = %dir.display(), writes, "no watermark file: accepting the store as it is");
            Watermark::create(dir, writes).map_err(io)?
        }
    };
    tracing::info!(dir = %dir.display(), environment, writes, "opened the store");
    Ok(Store::new(dir, environment, false, db, trees, watermark, lock))
}

/// Copies sled's files to [`CHECK_DIR`], opens and verifies the copy, removes it. A file system
/// too full for the copy is [`OpenError::NoSpace`], and the partial copy is removed.
fn check_copy(dir: &Path, environment: &str, has_identity: bool, watermark: Option<u64>) -> Result<Verdict, OpenError> {
    let io = |source| OpenError::Io { dir: dir.to_owned(), source };
    let copy = dir.join(CHECK_DIR);
    let verdict = fs::create_dir(&copy).and_then(|()| copy_sled_files(dir, &copy)).map_err(io).and_then(|()| {
        guarded(dir, || {
            let db = sled::Config::new().path(&copy).open().map_err(|e| sled_error(dir, e))?;
            verify(dir, &db, environment, has_identity, watermark)
        })
    });
    remove_check_copy(dir).map_err(io)?;
    verdict.map_err(|e| match e {
        OpenError::Io { source, .. } if is_no_space(&source) => {
            OpenError::NoSpace { dir: dir.to_owned(), needed: sled_files_size(dir) }
        }
        other => other,
    })
}

/// The bytes of sled's files in `dir`: what the check copy needs.
fn sled_files_size(dir: &Path) -> u64 {
    fn size(path: &Path) -> u64 {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                fs::read_dir(path).map_or(0, |entries| entries.flatten().map(|e| size(&e.path())).sum())
            }
            Ok(meta) => meta.len(),
            Err(_) => 0,
        }
    }
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    entries.flatten().filter(|e| is_sled_file(&e.file_name().to_string_lossy())).map(|e| size(&e.path())).sum()
}

fn remove_check_copy(dir: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(dir.join(CHECK_DIR)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn copy_sled_files(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if !is_sled_file(&name.to_string_lossy()) {
            continue;
        }
        copy_tree(&entry.path(), &to.join(&name))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.is_dir() {
        fs::create_dir_all(to)?;
        for entry in fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(drop)
    }
}

/// Waits, briefly, until no sled instance has `db` open. With the identity lock held, the only
/// holder can be this process's own store that was just dropped: sled 0.34 lets background jobs
/// finish after its `Db` is dropped, and they keep the file (and sled's lock on it) a moment longer.
/// Copying the files while one still writes would show a damage that is not there.
fn wait_for_sled(dir: &Path) -> Result<(), OpenError> {
    let file = File::open(dir.join("db")).map_err(|source| OpenError::Io { dir: dir.to_owned(), source })?;
    for _ in 0..200 {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(std::fs::TryLockError::Error(source)) => return Err(OpenError::Io { dir: dir.to_owned(), source }),
        }
    }
    Err(OpenError::InUse { dir: dir.to_owned() })
}

/// Locks the identity file for as long as the store is open: one process per directory.
fn lock_identity(dir: &Path) -> Result<File, OpenError> {
    let file = File::open(dir.join(IDENTITY_FILE)).map_err(|source| OpenError::Io { dir: dir.to_owned(), source })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::InUse { dir: dir.to_owned() }),
        Err(std::fs::TryLockError::Error(source)) => Err(OpenError::Io { dir: dir.to_owned(), source }),
    }
}

pub(crate) fn open_trees(db: &sled::Db) -> sled::Result<Trees> {
    Ok(Trees {
        endpoints: db.open_tree(layout::ENDPOINTS)?,
        revisions: db.open_tree(layout::REVISIONS)?,
        heads: db.open_tree(layout::HEADS)?,
        audit: db.open_tree(layout::AUDIT)?,
        meta: db.open_tree(META)?,
    })
}

/// Written last at creation, durably: temporary file, fsync, rename, fsync of the directory.
fn write_identity(dir: &Path) -> std::io::Result<()> {
    let tmp = dir.join(IDENTITY_TMP);
    let mut file = File::create(&tmp)?;
    file.write_all(IDENTITY_CONTENT.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(IDENTITY_FILE))?;
    File::open(dir)?.sync_all()
}

fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn listing(entries: &[String]) -> String {
    let shown: Vec<String> = entries.iter().take(5).map(|e| format!("`{e}`")).collect();
    let more = entries.len().saturating_sub(shown.len());
    if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
}

/// Runs `f`, turning a panic inside sled into [`OpenError::Damaged`].
fn guarded<T>(dir: &Path, f: impl FnOnce() -> Result<T, OpenError>) -> Result<T, OpenError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(damaged(dir, format!("sled panicked while reading it ({message})")))
    })
}

/// A sled error met while opening `dir`.
pub(crate) fn sled_error(dir: &Path, error: sled::Error) -> OpenError {
    match error {
        sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
            OpenError::InUse { dir: dir.to_owned() }
        }
        sled::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            damaged(dir, format!("a sled file ends early, as if truncated ({e})"))
        }
        sled::Error::Io(source) => OpenError::Io { dir: dir.to_owned(), source },
        sled::Error::Corruption { at, .. } => {
            let place = match at {
                Some(sled::DiskPtr::Inline(offset)) => format!(" in `db` at byte {offset}"),
                Some(sled::DiskPtr::Blob(offset, blob)) => {
                    format!(" in `blobs/{blob}` (referenced at byte {offset} of `db`)")
                }
                None => String::new(),
            };
            damaged(dir, format!("sled found corrupt data{place}"))
        }
        other => damaged(dir, format!("sled cannot read it: {other}")),
    }
}
