//! The store's behaviour through its public API, on disk: commands, reads, restart, snapshots,
//! markers, environments, one process per directory.

mod common;

use common::*;
use switchyard_storage::{AuditAction, Outcome, Rejection, Store, StoreError};

#[test]
fn publishes_are_numbered_with_sha256_and_only_the_first_activates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert!(store.was_created());
    for (n, source) in [(1, "one"), (2, "two"), (3, "three")] {
        let Outcome::Published { revision, sha256, activated } = must(&store, &publish(&home(), source, n)) else {
            panic!("not published");
        };
        assert_eq!((revision, activated), (n as u32, n == 1));
        assert_eq!(sha256, switchyard_storage::model::sha256_hex(source));
    }
    let record = store.endpoint(&home()).expect("reads").expect("exists");
    assert_eq!((record.routing.active, record.newest_revision, record.created_ms), (1, 3, 1));
    let two = store.revision(&home(), 2).expect("reads").expect("exists");
    assert_eq!(
        (two.source.as_str(), two.author.as_str(), two.at_ms, two.notes.as_str()),
        ("two", "author-2", 2, "notes 2")
    );
    let list = store.revisions(&home()).expect("reads");
    assert_eq!(list.iter().map(|r| r.number).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(list[2].source_bytes, 5);
    assert_eq!(store.revision(&home(), 4).expect("reads"), None);
}

#[test]
fn delete_keeps_revisions_and_republish_continues_numbering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    must(&store, &publish(&home(), "a", 1));
    must(&store, &publish(&home(), "b", 2));
    assert_eq!(must(&store, &delete(&home(), 3)), Outcome::Deleted);
    assert_eq!(store.endpoint(&home()).expect("reads"), None);
    assert!(store.endpoints().expect("reads").is_empty());
    assert_eq!(store.revisions(&home()).expect("reads").len(), 2, "revisions stay readable");
    assert!(matches!(must(&store, &publish(&home(), "c", 4)), Outcome::Published { revision: 3, activated: true, .. }));
    assert_eq!(store.endpoint(&home()).expect("reads").map(|r| r.routing.active), Some(3));
}

#[test]
fn rollback_pops_the_history_and_clears_the_canary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 1..=3 {
        must(&store, &publish(&home(), &format!("v{i}"), i));
    }
    must(&store, &set_routing(&home(), routing(2, None, &[]), 4));
    must(&store, &set_routing(&home(), routing(3, Some((1, 20.0)), &[("b", 2, 5.0)]), 5));
    assert_eq!(must(&store, &rollback(&home(), 6)), Outcome::RolledBack { from: 3, to: 2 });
    let routing_now = store.endpoint(&home()).expect("reads").expect("exists").routing;
    assert_eq!(routing_now, routing(2, None, &[("b", 2, 5.0)]));
    assert_eq!(must(&store, &rollback(&home(), 7)), Outcome::RolledBack { from: 2, to: 1 });
    assert_eq!(store.apply(&rollback(&home(), 8)).expect("applies"), Err(Rejection::NothingToRollBack(home())));
}

#[test]
fn every_rejection_changes_nothing_and_is_not_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    populate(&store);
    let before = store.state().expect("state");
    let rejected = [
        set_routing(&key("no", "such"), routing(1, None, &[]), 10),
        rollback(&key("no", "such"), 10),
        delete(&key("no", "such"), 10),
        set_routing(&home(), routing(9, None, &[]), 10),
        set_routing(&home(), routing(1, Some((2, 101.0)), &[]), 10),
        set_routing(&home(), routing(1, Some((2, 60.0)), &[("b", 1, 40.01)]), 10),
        set_routing(&home(), routing(1, None, &[("canary", 1, 1.0)]), 10),
        set_routing(&home(), routing(1, None, &[("b", 1, 1.0), ("b", 2, 1.0)]), 10),
        rollback(&key("ps3", "menu"), 10),
    ];
    for command in &rejected {
        assert!(store.apply(command).expect("applies").is_err(), "{command:?}");
        assert_eq!(store.state().expect("state"), before, "{command:?}");
    }
}

#[test]
fn the_audit_lists_every_change_in_order_with_its_author() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    populate(&store);
    must(&store, &rollback(&home(), 5));
    must(&store, &delete(&key("ps3", "menu"), 6));
    let audit = store.audit(None, 100).expect("reads");
    let summary: Vec<(u64, String, String)> =
        audit.iter().map(|e| (e.seq, e.author.clone(), e.endpoint.to_string())).collect();
    let expected: Vec<(u64, String, String)> =
        [(1, "tv/home"), (2, "tv/home"), (3, "ps3/menu"), (4, "tv/home"), (5, "tv/home"), (6, "ps3/menu")]
            .into_iter()
            .map(|(n, e)| (n, format!("author-{n}"), e.to_owned()))
            .collect();
    assert_eq!(summary, expected);
    assert_eq!(audit[4].action, AuditAction::RolledBack { from: 2, to: 1 });
    assert!(matches!(audit[5].action, AuditAction::Deleted { .. }));
    let page = store.audit(Some(2), 2).expect("reads");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4], "after a seq, bounded");
    assert!(store.audit(Some(u64::MAX), 10).expect("reads").is_empty());
}

#[test]
fn a_reopened_store_holds_the_same_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = {
        let store = open(dir.path());
        populate(&store);
        store.apply_marked(&rollback(&home(), 5), &[("raft/last_applied", b"7")]).expect("applies").expect("accepted");
        store.state().expect("state")
    };
    let store = open(dir.path());
    assert!(!store.was_created());
    assert_eq!(store.environment(), "dev");
    assert_eq!(store.state().expect("state"), before);
    assert_eq!(store.endpoints().expect("reads").len(), 2);
    assert_eq!(store.audit(None, 10).expect("reads").len(), 5);
    assert_eq!(store.marker("raft/last_applied").expect("reads").as_deref(), Some(&b"7"[..]));
}

#[test]
fn markers_are_written_with_commands_even_rejected_ones_and_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    assert_eq!(store.marker("m").expect("reads"), None);
    let rejected = store.apply_marked(&rollback(&home(), 1), &[("m", b"1")]).expect("applies");
    assert_eq!(rejected, Err(Rejection::UnknownEndpoint(home())));
    assert_eq!(store.marker("m").expect("reads").as_deref(), Some(&b"1"[..]));
    assert!(store.audit(None, 10).expect("reads").is_empty());
    store.set_markers(&[("m", b"2"), ("membership", b"{}")]).expect("writes");
    assert_eq!(store.marker("m").expect("reads").as_deref(), Some(&b"2"[..]));
    assert_eq!(store.state().expect("state").markers.len(), 2);
}

#[test]
fn a_snapshot_restored_into_another_store_gives_an_equal_state() {
    let (a, b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let source = open(a.path());
    populate(&source);
    source.set_markers(&[("raft/last_applied", b"4")]).expect("writes");
    let target = open(b.path());
    must(&target, &publish(&key("other", "thing"), "replaced", 1));
    target.set_markers(&[("stale", b"x")]).expect("writes");
    target.restore(&source.snapshot().expect("snapshot")).expect("restores");
    assert_eq!(target.state().expect("state"), source.state().expect("state"));
    drop(target);
    let reopened = open(b.path());
    assert_eq!(reopened.state().expect("state"), source.state().expect("state"), "restore is durable and consistent");
    assert!(matches!(must(&reopened, &publish(&home(), "next", 9)), Outcome::Published { revision: 3, .. }));
    assert_eq!(reopened.audit(None, 100).expect("reads").last().map(|e| e.seq), Some(5));
}

#[test]
fn a_bad_snapshot_is_refused_and_changes_nothing() {
    let (a, b) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let source = open(a.path());
    populate(&source);
    let snapshot = source.snapshot().expect("snapshot");
    let target = open(b.path());
    must(&target, &publish(&home(), "mine", 1));
    let before = target.state().expect("state");
    for bad in [&snapshot[..snapshot.len() - 3], &[][..], &b"garbage"[..]] {
        assert!(matches!(target.restore(bad), Err(StoreError::BadSnapshot(_))));
    }
    let c = tempfile::tempdir().expect("tempdir");
    let prod = Store::open(c.path(), "prod").expect("opens");
    let err = prod.restore(&snapshot).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("the snapshot belongs to environment `dev`, this store to `prod`"));
    assert_eq!(target.state().expect("state"), before);
}

#[test]
fn another_environment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path(), "prod").expect("creates"));
    let err = Store::open(dir.path(), "dev").err().map(|e| e.to_string());
    let expected = format!(
        "data directory {} belongs to environment `prod`, this node is configured for `dev`",
        dir.path().display()
    );
    assert_eq!(err, Some(expected));
    assert!(Store::open(dir.path(), "prod").is_ok(), "the refusal changed nothing");
}

#[test]
fn a_second_open_of_a_store_in_use_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = open(dir.path());
    let err = Store::open(dir.path(), "dev").err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("is in use by another process"), "{err}");
}

#[test]
fn a_missing_directory_is_created_and_seeding_is_signalled_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested").join("store");
    assert!(open(&path).was_created());
    assert!(!open(&path).was_created());
}

#[test]
fn a_store_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(open(dir.path()));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..10 {
                    must(&store, &publish(&key("tv", &format!("t{t}")), &format!("{i}"), i));
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().expect("joins");
    }
    let state = store.state().expect("state");
    assert_eq!(state.audit.len(), 40);
    assert!(state.revisions.values().all(|r| r.len() == 10));
    assert_eq!(state.check(), Ok(()));
}

#[test]
fn a_large_script_survives_a_reopen_and_a_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = format!("// {}\nexport default () => 1;\n", "z".repeat(300 * 1024));
    let snapshot = {
        let store = open(dir.path());
        must(&store, &publish(&home(), &big, 1));
        store.snapshot().expect("snapshot")
    };
    let store = open(dir.path());
    assert_eq!(store.revision(&home(), 1).expect("reads").map(|r| r.source), Some(big));
    let other = tempfile::tempdir().expect("tempdir");
    let copy = open(other.path());
    copy.restore(&snapshot).expect("restores");
    assert_eq!(copy.state().expect("state"), store.state().expect("state"));
}
