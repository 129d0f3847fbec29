//! The store's command decoder (what a Raft log entry or a snapshot's replay hands the state
//! machine): any bytes decode to a command or a `CodecError`, never a panic; a decoded command
//! encodes back to bytes that decode to the same command, and applying it to a live store either
//! changes it or is rejected — either way the store still passes its own consistency check.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use switchyard_storage::{Command, Store};

/// Applies before the store is opened afresh (it only grows).
const APPLIES_PER_STORE: usize = 2_000;

struct Live {
    _dir: tempfile::TempDir,
    store: Store,
    applied: usize,
}

fn open() -> Live {
    // tmpfs when there is one: every apply is flushed, and fsync on a disk would dominate the run.
    let dir =
        if std::path::Path::new("/dev/shm").is_dir() { tempfile::tempdir_in("/dev/shm") } else { tempfile::tempdir() }
            .expect("a temp dir");
    let store = Store::open(&dir.path().join("store"), "fuzz").expect("a new store opens");
    Live { _dir: dir, store, applied: 0 }
}

thread_local! {
    static LIVE: RefCell<Option<Live>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Ok(command) = Command::decode(data) else { return };
    let bytes = command.encode().expect("a decoded command encodes");
    assert_eq!(Command::decode(&bytes).expect("its own encoding decodes"), command);
    LIVE.with(|live| {
        let mut live = live.borrow_mut();
        if live.as_ref().is_none_or(|l| l.applied >= APPLIES_PER_STORE) {
            *live = None;
            *live = Some(open());
        }
        let live = live.as_mut().expect("opened above");
        live.applied += 1;
        live.store.apply(&command).expect("the store accepts or rejects, it does not fail");
        let state = live.store.state().expect("the state reads back");
        if let Err(problem) = state.check() {
            panic!("{command:?} left an inconsistent store: {problem}");
        }
    });
});
