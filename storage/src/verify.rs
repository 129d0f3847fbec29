//! The checks a store passes before it is served, run on a copy of its files (see [`crate::open`]).
//!
//! In order: every tree exists; the format is known; the environment is this node's; every value
//! decodes and agrees with its key ([`crate::whole::load`]); the invariants hold
//! ([`StoreState::check`]); the `heads` tree and `audit_seq` agree with the revisions and the audit
//! log; and sled's write count is the [watermark](crate::watermark) or one more. Each failure names
//! the tree, key or file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::OpenError;
use crate::key::EndpointKey;
use crate::layout::{ENVIRONMENT_KEY, FORMAT_KEY, IDENTITY_FILE, META, STORE_FORMAT, TREES, WRITES_KEY};
use crate::state::StoreState;
use crate::store::decode;
use crate::watermark::WATERMARK_FILE;
use crate::whole::load;

/// What the checks found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A store that passed every check.
    Healthy,
    /// sled files with nothing in them but what creation writes first: a creation interrupted
    /// before its identity file was written, to be completed.
    Unfinished,
}

pub(crate) fn damaged(dir: &Path, detail: String) -> OpenError {
    OpenError::Damaged { dir: dir.to_owned(), detail }
}

/// Checks the sled database `db`, a copy of the store in `dir` (which the messages name).
/// `watermark` is the watermark's count, `None` when there is no watermark file.
pub(crate) fn verify(
    dir: &Path,
    db: &sled::Db,
    environment: &str,
    has_identity: bool,
    watermark: Option<u64>,
) -> Result<Verdict, OpenError> {
    let sled_err = |e| crate::open::sled_error(dir, e);
    let names = db.tree_names();
    let has_tree = |t: &str| names.iter().any(|n| n.as_ref() == t.as_bytes());
    if !has_identity {
        if !has_tree(META) {
            return Err(OpenError::NotAStore {
                dir: dir.to_owned(),
                found: "a sled database of another program".into(),
            });
        }
        if holds_data(db).map_err(sled_err)? {
            return Err(damaged(
                dir,
                format!("the identity file `{IDENTITY_FILE}` is missing, yet the store holds data"),
            ));
        }
        return Ok(Verdict::Unfinished);
    }
    if let Some(missing) = TREES.iter().find(|t| !has_tree(t)) {
        return Err(damaged(dir, format!("tree `{missing}` is missing")));
    }
    let trees = crate::open::open_trees(db).map_err(sled_err)?;
    let format = match trees.meta.get(FORMAT_KEY).map_err(sled_err)?.as_deref().map(<[u8; 2]>::try_from) {
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
    let loaded = load(&trees, environment).map_err(|e| damaged(dir, e.to_string()))?;
    loaded.state.check().map_err(|e| damaged(dir, e))?;
    check_counters(&loaded.state, &loaded.heads, loaded.audit_seq).map_err(|e| damaged(dir, e))?;
    if let Some(acknowledged) = watermark {
        check_watermark(loaded.writes, acknowledged).map_err(|e| damaged(dir, e))?;
    }
    Ok(Verdict::Healthy)
}

/// The count of writes sled holds against the count acknowledged.
fn check_watermark(writes: u64, acknowledged: u64) -> Result<(), String> {
    if writes < acknowledged {
        return Err(format!(
            "sled holds {writes} writes but {acknowledged} were acknowledged: the end of its log was lost \
             (`db` truncated or damaged). If this directory was restored from an older copy on purpose, \
             delete `{WATERMARK_FILE}` to accept it as it is"
        ));
    }
    if writes > acknowledged.saturating_add(1) {
        return Err(format!(
            "sled holds {writes} writes but `{WATERMARK_FILE}` says {acknowledged}: the watermark is older \
             than the data. Delete it to accept the store as it is"
        ));
    }
    Ok(())
}

/// The `heads` tree and `audit_seq` must say what the revisions and the audit log say.
fn check_counters(state: &StoreState, heads: &BTreeMap<EndpointKey, u32>, audit_seq: u64) -> Result<(), String> {
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

/// Anything beyond what creation writes first (format, environment, a write count of 0)?
fn holds_data(db: &sled::Db) -> sled::Result<bool> {
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        for key in tree.iter().keys() {
            let key = key?;
            let created = [FORMAT_KEY, ENVIRONMENT_KEY, WRITES_KEY].contains(&key.as_ref());
            if name.as_ref() != META.as_bytes() || !created {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_may_trail_by_one_write() {
        assert_eq!(check_watermark(5, 5), Ok(()));
        assert_eq!(check_watermark(6, 5), Ok(()), "a crash between sled's fsync and the watermark's");
        assert!(check_watermark(4, 5).is_err_and(|e| e.contains("the end of its log was lost")));
        assert!(check_watermark(7, 5).is_err_and(|e| e.contains("the watermark is older than the data")));
    }
}
