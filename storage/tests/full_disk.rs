//! A full disk, for real: the store on a tmpfs of 8 MiB in a namespace of its own ([`tmpfs`]).
//!
//! Phase `fill`: with the free-space check, publishes until one is refused with `NoSpace` — the
//! store unchanged and still serving, writes going on once space is freed; then without the check,
//! until sled itself meets `ENOSPC` — the store stops (`Failed`, reads included, since sled may
//! hold the failed write in memory) and freeing space does not bring it back. Phase `restart` (a
//! new process): on the still-full disk the store refuses to open (`NoSpace`), changing nothing;
//! with space freed it opens with exactly the acknowledged commands — nothing lost, nothing
//! half-written — and takes writes again.

mod common;
mod tmpfs;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::*;
use switchyard_storage::{Command, OpenError, Store, StoreError, StoreState};
use tmpfs::Phase;

const TEST: &str = "a_full_disk_refuses_a_write_before_sled_meets_it_and_a_failure_stops_the_store_until_reopened";

#[test]
fn a_full_disk_refuses_a_write_before_sled_meets_it_and_a_failure_stops_the_store_until_reopened() {
    let Some(phase) = Phase::current() else {
        tmpfs::run_phases(TEST, 8192, &["fill", "restart"], Duration::from_secs(150));
        return;
    };
    match phase.name.as_str() {
        "fill" => fill(&phase),
        "restart" => restart(&phase),
        other => panic!("no phase {other}"),
    }
    phase.done();
}

fn script(i: u64) -> String {
    format!("export default () => {i}; // {}", "s".repeat(8_000 + (i as usize % 7) * 500))
}

/// Applies `command`, which must be accepted, and remembers it.
fn accept(store: &Store, acknowledged: &mut Vec<Command>, command: Command) {
    must(store, &command);
    acknowledged.push(command);
}

fn fill(phase: &Phase) {
    let dir = phase.dir.join("store");
    let store = open(&dir);
    store.set_space_reserve(Some(256 << 10));
    let mut acknowledged = Vec::new();
    for (i, key) in [home(), key("ps3", "menu")].iter().enumerate() {
        accept(&store, &mut acknowledged, publish(key, "export default () => 1", i as u64));
    }
    tmpfs::filler(&phase.dir.join("filler"), 4 << 20);
    tmpfs::filler(&phase.dir.join("small-filler"), 64 << 10);

    // 1. The free-space check refuses before sled sees the write.
    let big = key("tv", "big");
    let mut refused = None;
    for i in 0..1_000 {
        let before = store.state().expect("state");
        let command = publish(&big, &script(i), 100 + i);
        match store.apply(&command) {
            Ok(Ok(_)) => acknowledged.push(command),
            Err(e @ StoreError::NoSpace { .. }) => {
                assert_eq!(store.state().expect("still readable"), before, "a refused write changes nothing");
                refused = Some((i, e));
                break;
            }
            other => panic!("publish {i}: {other:?}"),
        }
    }
    let (n, refused) = refused.expect("the disk filled up within 1,000 publishes");
    println!("refused after {n} publishes: {refused}");
    assert!(refused.to_string().starts_with("no space for this write in "), "{refused}");
    assert!(store.failure().is_none(), "a refusal does not stop the store");
    assert!(store.revision(&big, 1).expect("reads").is_some(), "reads go on");
    let still = store.apply(&publish(&big, &script(5_000), 5_000));
    assert!(matches!(still, Err(StoreError::NoSpace { .. })), "{still:?}");

    // 2. Space freed: writes go on, without reopening.
    fs::remove_file(phase.dir.join("filler")).expect("frees space");
    accept(&store, &mut acknowledged, publish(&big, &script(6_000), 6_000));

    // 3. Without the check, sled meets the full disk itself: the store stops.
    store.set_space_reserve(None);
    tmpfs::fill_up(&phase.dir.join("filler-2"), 48 << 10);
    let mut failure = None;
    for i in 0..200 {
        let command = publish(&big, &script(7_000 + i), 7_000 + i);
        match store.apply(&command) {
            Ok(Ok(_)) => acknowledged.push(command),
            Err(StoreError::Failed(f)) => {
                failure = Some((i, f));
                break;
            }
            other => panic!("publish {i} on a full disk: {other:?}"),
        }
    }
    let (n, failure) = failure.expect("sled met the full disk within 200 publishes");
    println!("sled failed after {n} more publishes: {failure}");
    assert!(failure.no_space, "{failure}");
    assert!(failure.to_string().contains("ran out of disk space"), "{failure}");
    assert_eq!(store.failure().as_ref(), Some(&failure));
    // Every call answers the failure: sled may show the failed write in memory, and would fail
    // (or hang) on the next one.
    assert!(matches!(store.state(), Err(StoreError::Failed(_))));
    assert!(matches!(store.endpoint(&home()), Err(StoreError::Failed(_))));
    assert!(matches!(store.revision(&big, 1), Err(StoreError::Failed(_))));
    // Freeing some space does not bring it back; only opening it again does.
    fs::remove_file(phase.dir.join("small-filler")).expect("frees space");
    let after = store.apply(&publish(&home(), "export default () => 2", 9_000));
    assert!(matches!(&after, Err(StoreError::Failed(f)) if *f == failure), "{after:?}");
    drop(store); // never hangs: a failed store's sled is let go on a thread of its own

    let commands = serde_json::to_vec(&acknowledged).expect("encodes");
    fs::write(phase.shared.join("acknowledged.json"), commands).expect("hands on");
}

/// Files with their sizes and a hash of their contents, to show that a refusal wrote nothing.
fn contents(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("lists") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(contents(&path));
        } else {
            let hash = fs::read(&path)
                .expect("reads")
                .iter()
                .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
            out.push((path.display().to_string(), hash));
        }
    }
    out.sort();
    out
}

/// The state of a store that took exactly `commands`, on the ordinary disk.
fn replayed(commands: &[Command]) -> StoreState {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for command in commands {
        must(&store, command);
    }
    store.state().expect("state")
}

fn restart(phase: &Phase) {
    let acknowledged: Vec<Command> =
        serde_json::from_slice(&fs::read(phase.shared.join("acknowledged.json")).expect("handed on")).expect("decodes");
    let dir = phase.dir.join("store");

    // Still full: opening (which verifies a copy first) is refused, changing nothing.
    let before = contents(&dir);
    match Store::open(&dir, "dev") {
        Err(e @ OpenError::NoSpace { .. }) => {
            println!("refused to open on the full disk: {e}");
            assert!(e.to_string().contains("not enough free space to open the store"), "{e}");
        }
        other => panic!("opening on a full disk: {other:?}"),
    }
    assert_eq!(contents(&dir), before, "a refused open changed files");

    // Space freed: exactly what was acknowledged.
    fs::remove_file(phase.dir.join("filler-2")).expect("frees space");
    let store = open(&dir);
    store.set_space_reserve(Some(256 << 10));
    assert_eq!(store.failure(), None);
    let state = store.state().expect("state");
    assert_eq!(state, replayed(&acknowledged), "after the restart the store holds exactly the acknowledged commands");
    println!("reopened with the {} acknowledged commands", acknowledged.len());
    must(&store, &publish(&home(), "export default () => 'after the restart'", 10_000));
    let after = store.state().expect("state");
    assert_eq!(after.revisions[&home()].len(), state.revisions[&home()].len() + 1);
    drop(store);
    assert_eq!(open(&dir).state().expect("state"), after, "the write after the restart is durable");
}
