//! Damaged data directories: each is refused with a message naming what is wrong, changes nothing,
//! and never panics or opens as an empty store. Damage that sled can absorb (a flipped byte in
//! unused space) may open, but only with exactly the state that was stored.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use switchyard_storage::{OpenError, Store, StoreState};

/// A populated, closed store in a temp dir, and its state.
fn stored() -> (tempfile::TempDir, StoreState) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    populate(&store);
    for i in 0..20 {
        must(&store, &publish(&key("tv", "rows"), &format!("// revision {i} {}", "x".repeat(2_000)), 10 + i));
    }
    let state = store.state().expect("state");
    drop(store);
    (dir, state)
}

/// Files with their sizes and a hash of their contents, to show that a refusal wrote nothing.
fn contents(dir: &Path) -> Vec<(PathBuf, usize, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("lists") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = fs::read(&path).expect("reads");
                let hash = bytes
                    .iter()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
                out.push((path.clone(), bytes.len(), hash));
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("lists") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copies");
        }
    }
}

/// Opening must fail; returns the message and checks nothing was written.
fn refused(dir: &Path) -> String {
    let before = contents(dir);
    let message = match Store::open(dir, "dev") {
        Ok(_) => panic!("{} opened", dir.display()),
        Err(e) => e.to_string(),
    };
    assert_eq!(contents(dir), before, "a refused open changed files: {message}");
    message
}

fn assert_damaged(dir: &Path, needle: &str) {
    assert_damaged_any(dir, &[needle]);
}

/// Damage whose exact symptom depends on where sled had its last snapshot.
fn assert_damaged_any(dir: &Path, needles: &[&str]) {
    let message = refused(dir);
    assert!(message.starts_with(&format!("data directory {} is damaged: ", dir.display())), "{message}");
    assert!(needles.iter().any(|n| message.contains(n)), "{message:?} should mention one of {needles:?}");
}

fn with_sled(dir: &Path, f: impl FnOnce(&sled::Db)) {
    // A sled just dropped may hold its lock a moment longer (its background jobs finish first).
    let mut attempt = 0;
    let db = loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(e) if attempt < 200 => {
                attempt += 1;
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => panic!("sled opens: {e}"),
        }
    };
    f(&db);
    db.flush().expect("flushes");
}

fn truncate(path: &Path, len: u64) {
    fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(len)).expect("truncates");
}

#[test]
fn a_truncated_db_file_is_refused() {
    let (dir, _) = stored();
    let len = fs::metadata(dir.path().join("db")).expect("stat").len();
    truncate(&dir.path().join("db"), len / 2);
    // sled takes the cut for a write torn by a crash and recovers the log up to it; the watermark
    // shows that acknowledged writes are missing.
    assert_damaged(dir.path(), "the end of its log was lost (`db` truncated or damaged)");
    truncate(&dir.path().join("db"), 0);
    // An empty `db` opens as an empty database, or fails against sled's snapshot.
    assert_damaged_any(dir.path(), &["tree `endpoints` is missing", "sled found corrupt data"]);
}

#[test]
fn a_flipped_byte_in_a_stored_script_is_refused() {
    let (dir, _) = stored();
    let db = dir.path().join("db");
    let mut bytes = fs::read(&db).expect("reads");
    let needle = b"// revision 7 ";
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("the script is in the log");
    bytes[at + 3] ^= 0x01;
    fs::write(&db, bytes).expect("writes");
    // The message fails its CRC; sled takes it for a torn write and stops the log there.
    assert_damaged(dir.path(), "were acknowledged: the end of its log was lost");
}

#[test]
fn garbage_in_place_of_sleds_files_is_refused() {
    let (dir, _) = stored();
    fs::write(dir.path().join("conf"), b"not a sled config").expect("writes");
    assert_damaged(dir.path(), "sled found corrupt data");
    let (dir, _) = stored();
    fs::write(dir.path().join("db"), vec![0x42; 100_000]).expect("writes");
    // sled opens this as an empty database.
    assert_damaged(dir.path(), "tree `endpoints` is missing");
}

#[test]
fn a_foreign_file_in_the_store_directory_is_refused_by_name() {
    let (dir, _) = stored();
    fs::write(dir.path().join("notes.txt"), b"hello").expect("writes");
    assert_damaged(dir.path(), "it holds `notes.txt`, which the store did not write");
}

#[test]
fn a_directory_of_other_files_is_not_a_store_and_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("garbage.bin"), b"\x00\x01garbage").expect("writes");
    let message = refused(dir.path());
    assert_eq!(
        message,
        format!(
            "{} is not a Switchyard store (it holds `garbage.bin`); point the store at an empty or new directory",
            dir.path().display()
        )
    );
    let sled_dir = tempfile::tempdir().expect("tempdir");
    with_sled(sled_dir.path(), |db| {
        db.insert(b"k", b"v").expect("inserts");
    });
    assert!(refused(sled_dir.path()).contains("a sled database of another program"));
}

#[test]
fn a_deleted_db_file_is_refused_before_sled_can_start_it_over() {
    let (dir, _) = stored();
    fs::remove_file(dir.path().join("db")).expect("removes");
    assert_damaged(dir.path(), "sled's data file `db` is missing");
}

#[test]
fn a_missing_identity_file_with_data_is_refused() {
    let (dir, _) = stored();
    fs::remove_file(dir.path().join("switchyard-store")).expect("removes");
    assert_damaged(dir.path(), "the identity file `switchyard-store` is missing, yet the store holds data");
}

#[test]
fn an_interrupted_creation_is_completed() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()));
    // As if the process died before writing the identity file: sled files and meta, no data.
    fs::remove_file(dir.path().join("switchyard-store")).expect("removes");
    let store = open(dir.path());
    assert!(store.was_created());
    drop(store);
    assert!(!open(dir.path()).was_created());
}

#[test]
fn an_older_copy_is_refused_until_its_watermark_is_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    must(&store, &publish(&home(), "one", 1));
    drop(store);
    copy_dir(dir.path(), old.path());
    let store = open(dir.path());
    must(&store, &publish(&home(), "two", 2));
    drop(store);
    // The old `db` and its sled files brought back over the newer store, the watermark kept.
    for name in ["db", "conf"] {
        fs::copy(old.path().join(name), dir.path().join(name)).expect("copies");
    }
    for entry in fs::read_dir(dir.path()).expect("lists") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("snap.")) {
            fs::remove_file(path).expect("removes");
        }
    }
    assert_damaged(dir.path(), "sled holds 1 writes but 2 were acknowledged");
    fs::remove_file(dir.path().join("switchyard-store.watermark")).expect("removes");
    let store = open(dir.path());
    assert_eq!(store.revisions(&home()).expect("reads").len(), 1, "accepted as it is");
}

#[test]
fn a_crash_between_the_two_fsyncs_is_accepted() {
    let (dir, state) = stored();
    // The watermark one write behind sled, as if the process died after sled's fsync.
    let path = dir.path().join("switchyard-store.watermark");
    let bytes = fs::read(&path).expect("reads");
    let store = open(dir.path());
    must(&store, &publish(&home(), "three", 99));
    drop(store);
    fs::write(&path, bytes).expect("writes");
    let store = open(dir.path());
    assert_eq!(store.revisions(&home()).expect("reads").len(), 3);
    assert_eq!(store.state().expect("state").revisions.len(), state.revisions.len());
}

#[test]
fn an_unreadable_watermark_is_refused() {
    let (dir, _) = stored();
    fs::write(dir.path().join("switchyard-store.watermark"), b"garbage").expect("writes");
    assert_damaged(dir.path(), "`switchyard-store.watermark` is unreadable");
}

#[test]
fn a_missing_meta_tree_is_refused() {
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        db.drop_tree("meta").expect("drops");
    });
    assert_damaged(dir.path(), "tree `meta` is missing");
}

#[test]
fn a_value_of_another_format_version_is_refused_naming_tree_and_key() {
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        let tree = db.open_tree("endpoints").expect("tree");
        let (k, v) = tree.iter().next().expect("an endpoint").expect("reads");
        let mut v = v.to_vec();
        v[0] = 9;
        tree.insert(k, v).expect("inserts");
    });
    assert_damaged(dir.path(), "tree `endpoints`, key ps3/menu: value of format version 9; this build reads version 1");
}

#[test]
fn a_value_that_does_not_decode_is_refused_naming_tree_and_key() {
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        let tree = db.open_tree("revisions").expect("tree");
        let (k, _) = tree.iter().next_back().expect("a revision").expect("reads");
        tree.insert(k, &[1, 0xFF, 0xFF][..]).expect("inserts");
    });
    assert_damaged(dir.path(), "tree `revisions`, key tv/rows revision 20: value does not decode");
}

#[test]
fn entries_that_contradict_each_other_are_refused() {
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        let tree = db.open_tree("revisions").expect("tree");
        let (k, _) = tree.iter().next_back().expect("a revision").expect("reads");
        tree.remove(k).expect("removes");
    });
    assert_damaged(dir.path(), "endpoint tv/rows says its newest revision is 20, but 19 revisions are stored");
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        db.open_tree("heads").expect("tree").clear().expect("clears");
    });
    assert_damaged(dir.path(), "tree `heads` does not give");
}

#[test]
fn a_newer_format_is_refused() {
    let (dir, _) = stored();
    with_sled(dir.path(), |db| {
        db.open_tree("meta").expect("tree").insert("format", &7u16.to_be_bytes()).expect("inserts");
    });
    let message = refused(dir.path());
    assert!(matches!(Store::open(dir.path(), "dev"), Err(OpenError::NewerFormat { found: 7, supported: 1, .. })));
    assert!(message.ends_with("has store format 7; this build reads format 1: run a newer release"), "{message}");
}

/// Truncations and flipped bytes all over the log of `stored`: each is refused, or (when sled can
/// absorb it, e.g. in unused space) opens with exactly the stored state. Never a panic, never less
/// data. Returns how often each kind of refusal was seen.
fn sweep(pristine: &Path, state: &StoreState, points: u64) -> BTreeMap<String, usize> {
    let len = fs::metadata(pristine.join("db")).expect("stat").len();
    let work = tempfile::tempdir().expect("tempdir");
    let mut seen = BTreeMap::new();
    for step in 1..points {
        let offset = len * step / points;
        for flip in [false, true] {
            let dir = work.path().join(format!("case-{step}-{flip}"));
            copy_dir(pristine, &dir);
            let db = dir.join("db");
            if flip {
                let mut bytes = fs::read(&db).expect("reads");
                bytes[offset as usize] ^= 0x5A;
                fs::write(&db, bytes).expect("writes");
            } else {
                truncate(&db, offset);
            }
            let kind = match Store::open(&dir, "dev") {
                Err(OpenError::Damaged { detail, .. }) => {
                    let digits = |c: char| if c.is_ascii_digit() { 'N' } else { c };
                    detail.split(':').next().unwrap_or("").chars().map(digits).collect()
                }
                Err(other) => panic!("offset {offset}, flip {flip}: {other}"),
                Ok(store) => {
                    assert_eq!(&store.state().expect("state"), state, "offset {offset}, flip {flip}");
                    "opened with everything".to_owned()
                }
            };
            *seen.entry(format!("{} → {kind}", if flip { "flipped byte" } else { "truncation" })).or_insert(0) += 1;
            fs::remove_dir_all(&dir).expect("cleans up");
        }
    }
    seen
}

#[test]
fn damage_anywhere_in_a_small_store_is_refused_or_harmless() {
    let (pristine, state) = stored();
    let seen = sweep(pristine.path(), &state, 40);
    eprintln!("{seen:#?}");
    assert!(seen.keys().any(|k| !k.ends_with("opened with everything")), "some damage must be detected");
}

#[test]
fn damage_anywhere_in_a_store_of_several_segments_is_refused_or_harmless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 0..200 {
        must(&store, &publish(&key("tv", &format!("e{}", i % 7)), &format!("// {i} {}", "y".repeat(10_000)), i));
    }
    let state = store.state().expect("state");
    drop(store);
    let seen = sweep(dir.path(), &state, 12);
    eprintln!("{seen:#?}");
}
