//! The Raft storage of the store: openraft's own storage suite (every log, vote, purge, truncate,
//! snapshot and membership rule a Raft storage must keep) run against the sled log and the store as
//! state machine, then what the suite cannot build itself: commands applied as log entries, a
//! snapshot carrying them to another store, a restart resuming from what was applied, and a log
//! damaged on disk refused at open.

use std::sync::{Arc, Mutex};

use openraft::storage::{RaftLogReader, RaftLogStorageExt, RaftSnapshotBuilder, RaftStateMachine};
use openraft::testing::{StoreBuilder, Suite};
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId, Membership, StorageError};
use switchyard_storage::raft::{Change, LogStore, NodeId, OnApplied, StateMachine, TypeConfig};
use switchyard_storage::{Command, EndpointKey, Outcome, Store};

struct Builder;

fn open(dir: &std::path::Path, on_applied: OnApplied) -> (LogStore, StateMachine, Arc<Store>) {
    let store = Arc::new(Store::open(&dir.join("store"), "test").expect("store"));
    let log = LogStore::open(&dir.join("raft")).expect("log");
    let machine = StateMachine::new(Arc::clone(&store), &log, on_applied).expect("state machine");
    (log, machine, store)
}

fn quiet() -> OnApplied {
    Arc::new(|_| {})
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError<NodeId>> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, machine, _) = open(dir.path(), quiet());
        Ok((dir, log, machine))
    }
}

#[test]
fn the_sled_log_and_the_store_pass_openrafts_storage_suite() {
    if let Err(e) = Suite::test_all(Builder) {
        panic!("openraft's storage suite failed: {e}");
    }
}

fn log_id(term: u64, index: u64) -> LogId<NodeId> {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

fn publish(name: &str, source: &str) -> Command {
    Command::Publish {
        endpoint: EndpointKey::new("tv", name),
        source: source.into(),
        author: "ops".into(),
        notes: String::new(),
        at_ms: 1,
    }
}

fn entries() -> Vec<Entry<TypeConfig>> {
    let members = Membership::new(vec![[1u64].into_iter().collect()], None);
    vec![
        Entry { log_id: log_id(1, 1), payload: EntryPayload::Membership(members) },
        Entry { log_id: log_id(1, 2), payload: EntryPayload::Normal(publish("a", "export default () => 1")) },
        Entry { log_id: log_id(1, 3), payload: EntryPayload::Blank },
        Entry {
            log_id: log_id(1, 4),
            payload: EntryPayload::Normal(Command::Rollback {
                endpoint: EndpointKey::new("tv", "a"),
                author: "ops".into(),
                at_ms: 2,
            }),
        },
        Entry { log_id: log_id(1, 5), payload: EntryPayload::Normal(publish("b", "export default () => 2")) },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_apply_as_log_entries_and_a_snapshot_carries_them_to_another_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&heard);
    let on_applied: OnApplied = Arc::new(move |change| {
        let what = match change {
            Change::Endpoint(key) => key.to_string(),
            Change::Everything => "everything".into(),
        };
        record.lock().expect("lock").push(what);
    });
    let (_log, mut machine, store) = open(dir.path(), on_applied);
    let replies = machine.apply(entries()).await.expect("applied");
    assert_eq!(replies.len(), 5, "one reply per entry");
    assert!(replies[0].is_none() && replies[2].is_none(), "membership and blank entries carry no command");
    assert!(matches!(replies[1], Some(Ok(Outcome::Published { revision: 1, activated: true, .. }))));
    assert!(matches!(replies[3], Some(Err(_))), "nothing to roll back to: rejected, and still applied");
    assert_eq!(*heard.lock().expect("lock"), vec!["tv/a".to_owned(), "tv/b".to_owned()], "rejections change nothing");
    let (applied, membership) = machine.applied_state().await.expect("state");
    assert_eq!(applied, Some(log_id(1, 5)));
    assert_eq!(membership.log_id(), &Some(log_id(1, 1)));

    let mut builder = machine.get_snapshot_builder().await;
    let snapshot = builder.build_snapshot().await.expect("built");
    assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, 5)));
    let current = machine.get_current_snapshot().await.expect("read").expect("recorded as current");
    assert_eq!(current.meta, snapshot.meta);

    let other = tempfile::tempdir().expect("temp dir");
    let (_, mut follower, follower_store) = open(other.path(), quiet());
    follower
        .apply(vec![Entry {
            log_id: log_id(1, 1),
            payload: EntryPayload::Normal(publish("stale", "export default () => 0")),
        }])
        .await
        .expect("applied");
    follower.install_snapshot(&snapshot.meta, snapshot.snapshot).await.expect("installed");
    assert_eq!(follower_store.state().expect("state"), store.state().expect("state"), "replaced, not merged");
    assert_eq!(follower.applied_state().await.expect("state").0, Some(log_id(1, 5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_what_was_applied_and_a_damaged_log_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (mut log, mut machine, _) = open(dir.path(), quiet());
        log.blocking_append(entries()).await.expect("appended");
        machine.apply(entries().into_iter().take(2)).await.expect("applied");
    }
    let (mut log, mut machine, store) = open(dir.path(), quiet());
    assert_eq!(machine.applied_state().await.expect("state").0, Some(log_id(1, 2)));
    assert_eq!(store.endpoints().expect("read").len(), 1);
    let all = log.try_get_log_entries(1..6).await.expect("read");
    assert_eq!(all.len(), 5, "the whole log survived");
    drop((log, machine, store));

    // Remove entry 3 behind sled's back: a hole.
    // The handles above are dropped; sled releases its lock a moment later.
    let raw = (0..300)
        .find_map(|_| {
            let opened = sled::open(dir.path().join("raft")).ok();
            if opened.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            opened
        })
        .expect("sled lets go of the log within 3 s");
    raw.open_tree("log").expect("tree").remove(3u64.to_be_bytes()).expect("removed");
    raw.flush().expect("flushed");
    drop(raw);
    let refused = LogStore::open(&dir.path().join("raft")).expect_err("a log with a hole is refused").to_string();
    assert!(refused.contains("entry 3 is missing"), "{refused}");
}
