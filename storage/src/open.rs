//! Opening a data directory, and refusing it when it is not a healthy store of this environment.
//!
//! A missing or empty directory becomes a new store. Anything else must prove it is a store —
//! the identity file, sled's files and nothing more, every tree, a known format, this environment —
//! and then every stored value is decoded and the invariants are checked ([`StoreState::check`]),
//! so damage is found at start-up, with a message naming the file, tree or key, and not on some
//! later request. A store is never replaced by an empty one: sled would silently start over in a
//! directory whose `db` file was deleted, so that is checked before sled sees the directory. sled
//! 0.34 panics on some corruptions instead of returning an error, so opening and the first read run
//! under `catch_unwind` and a panic is reported as damage.
//!
//! What sled 0.34.7 does with damage (tests/damage.rs): a `db` truncated anywhere, or replaced by
//! garbage or zeros, is `Corruption` or a panic; a flipped byte in a stored message fails its CRC
//! (`Corruption`), while one in unused space is ignored; a deleted `conf` or snapshot file is
//! rebuilt from the log. Reading the whole store at start is cheap at its size (KBs to a few MB).

use std::fs;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::error::OpenError;
use crate::layout::{
    self, ENVIRONMENT_KEY, FORMAT_KEY, IDENTITY_CONTENT, IDENTITY_FILE, IDENTITY_TMP, META, STORE_FORMAT, TREES,
    is_sled_file,
};
use crate::state::StoreState;
use crate::store::{Store, Trees, decode};

impl Store {
    /// Opens the store in `dir` for `environment`, creating it if `dir` is missing or empty.
    ///
    /// Refuses, changing nothing, a directory that holds something else ([`OpenError::NotAStore`]),
    /// a damaged store ([`OpenError::Damaged`]), another environment's store, a newer format's, or
    /// one that another process has open.
    pub fn open(dir: &Path, environment: &str) -> Result<Store, OpenError> {
        let io = |source| OpenError::Io { dir: dir.to_owned(), source };
        fs::create_dir_all(dir).map_err(io)?;
        let entries = entries(dir).map_err(io)?;
        let has_identity = entries.iter().any(|e| e == IDENTITY_FILE);
        if has_identity {
            let content = fs::read(dir.join(IDENTITY_FILE)).map_err(io)?;
            if content != IDENTITY_CONTENT.as_bytes() {
                return Err(damaged(dir, format!("the identity file `{IDENTITY_FILE}` has been changed")));
            }
            if let Some(other) = entries.iter().find(|e| !is_sled_file(e) && *e != IDENTITY_FILE && *e != IDENTITY_TMP)
            {
                return Err(damaged(dir, format!("it holds `{other}`, which the store did not write")));
            }
            if !entries.iter().any(|e| e == "db") {
                return Err(damaged(dir, "sled's data file `db` is missing".into()));
            }
        } else if !entries.iter().all(|e| is_sled_file(e) || e == IDENTITY_TMP) {
            return Err(OpenError::NotAStore { dir: dir.to_owned(), found: listing(&entries) });
        }
        let db = guarded(dir, || sled::Config::new().path(dir).open().map_err(|e| sled_error(dir, e)))?;
        guarded(
            dir,
            || {
                if has_identity { reopen(dir, environment, db) } else { create(dir, environment, db, &entries) }
            },
        )
    }
}

/// A new store, or the completion of one whose creation was interrupted (sled files, no identity
/// file, no data).
fn create(dir: &Path, environment: &str, db: sled::Db, entries: &[String]) -> Result<Store, OpenError> {
    let sled_err = |e| sled_error(dir, e);
    if !entries.is_empty() {
        let ours = db.tree_names().iter().any(|n| n.as_ref() == META.as_bytes());
        if !ours {
            return Err(OpenError::NotAStore {
                dir: dir.to_owned(),
                found: "a sled database of another program".into(),
            });
        }
        if holds_data(&db).map_err(sled_err)? {
            return Err(damaged(
                dir,
                format!("the identity file `{IDENTITY_FILE}` is missing, yet the store holds data"),
            ));
        }
        tracing::info!(dir = %dir.display(), "completing the creation of a store that was interrupted");
    }
    let trees = open_trees(&db).map_err(sled_err)?;
    let env = crate::codec::encode(environment).map_err(|e| damaged(dir, e.to_string()))?;
    trees.meta.insert(FORMAT_KEY, &STORE_FORMAT.to_be_bytes()).map_err(sled_err)?;
    trees.meta.insert(ENVIRONMENT_KEY, env).map_err(sled_err)?;
    db.flush().map_err(sled_err)?;
    write_identity(dir).map_err(|source| OpenError::Io { dir: dir.to_owned(), source })?;
    tracing::info!(dir = %dir.display(), environment, "created a new store");
    Ok(Store::new(dir, environment, true, db, trees))
}

/// An existing store, checked through and through.
fn reopen(dir: &Path, environment: &str, db: sled::Db) -> Result<Store, OpenError> {
    let sled_err = |e| sled_error(dir, e);
    let names = db.tree_names();
    if let Some(missing) = TREES.iter().find(|t| !names.iter().any(|n| n.as_ref() == t.as_bytes())) {
        return Err(damaged(dir, format!("tree `{missing}` is missing")));
    }
    let trees = open_trees(&db).map_err(sled_err)?;
    let format = trees.meta.get(FORMAT_KEY).map_err(sled_err)?;
    let format = match format.as_deref().map(<[u8; 2]>::try_from) {
        None => return Err(damaged(dir, "tree `meta` has no `format`".into())),
        Some(Err(_)) => return Err(damaged(dir, "tree `meta`, key `format`: not a format number".into())),
        Some(Ok(bytes)) => u16::from_be_bytes(bytes),
    };
    if format > STORE_FORMAT {
        return Err(OpenError::NewerFormat { dir: dir.to_owned(), found: format, supported: STORE_FORMAT });
    }
    if format != STORE_FORMAT {
        return Err(damaged(dir, format!("tree `meta`, key `format`: unknown store format {format}")));
    }
    let Some(found) = trees.meta.get(ENVIRONMENT_KEY).map_err(sled_err)? else {
        return Err(damaged(dir, "tree `meta` has no `environment`".into()));
    };
    let found: String = decode(META, ENVIRONMENT_KEY, &found).map_err(|e| damaged(dir, e.to_string()))?;
    if found != environment {
        return Err(OpenError::EnvironmentMismatch { dir: dir.to_owned(), found, expected: environment.to_owned() });
    }
    let store = Store::new(dir, environment, false, db, trees);
    let loaded = store.load().map_err(|e| damaged(dir, e.to_string()))?;
    loaded.state.check().map_err(|e| damaged(dir, e))?;
    check_counters(&loaded.state, &loaded.heads, loaded.audit_seq).map_err(|e| damaged(dir, e))?;
    tracing::info!(
        dir = %dir.display(),
        environment,
        endpoints = loaded.state.endpoints.len(),
        audit = loaded.state.audit.len(),
        "opened the store"
    );
    Ok(store)
}

/// The `heads` tree and `audit_seq` must say what the revisions and the audit log say.
fn check_counters(
    state: &StoreState,
    heads: &std::collections::BTreeMap<crate::EndpointKey, u32>,
    audit_seq: u64,
) -> Result<(), String> {
    let expected = state.heads();
    if let Some((key, newest)) = expected.iter().find(|(k, n)| heads.get(*k) != Some(*n)) {
        return Err(format!("tree `heads` does not give {newest} as the newest revision of {key}"));
    }
    if let Some(key) = heads.keys().find(|k| !expected.contains_key(*k)) {
        return Err(format!("tree `heads` names {key}, which has no revisions"));
    }
    let last = state.audit.last().map_or(0, |e| e.seq);
    if audit_seq != last {
        return Err(format!("tree `meta`: `audit_seq` is {audit_seq} but the last audit entry is {last}"));
    }
    Ok(())
}

fn open_trees(db: &sled::Db) -> sled::Result<Trees> {
    Ok(Trees {
        endpoints: db.open_tree(layout::ENDPOINTS)?,
        revisions: db.open_tree(layout::REVISIONS)?,
        heads: db.open_tree(layout::HEADS)?,
        audit: db.open_tree(layout::AUDIT)?,
        meta: db.open_tree(META)?,
    })
}

/// Anything beyond what creation writes first (format and environment)?
fn holds_data(db: &sled::Db) -> sled::Result<bool> {
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        for key in tree.iter().keys() {
            let key = key?;
            if name.as_ref() != META.as_bytes() || (key != FORMAT_KEY && key != ENVIRONMENT_KEY) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Written last at creation, durably: temporary file, fsync, rename, fsync of the directory.
fn write_identity(dir: &Path) -> std::io::Result<()> {
    let tmp = dir.join(IDENTITY_TMP);
    let mut file = fs::File::create(&tmp)?;
    file.write_all(IDENTITY_CONTENT.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(IDENTITY_FILE))?;
    fs::File::open(dir)?.sync_all()
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

fn damaged(dir: &Path, detail: String) -> OpenError {
    OpenError::Damaged { dir: dir.to_owned(), detail }
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

fn sled_error(dir: &Path, error: sled::Error) -> OpenError {
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
