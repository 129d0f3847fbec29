//! Property tests: the sled store against a plain in-memory model, and decoding hostile bytes.
//!
//! The model is written apart from the crate's own decision code (only routing validation, which
//! is a pure function with its own tests, is shared), so a wrong decision, a write that misses the
//! transaction, or a value that does not survive a reopen shows up as a difference in outcomes or
//! in the final state.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use switchyard_storage::model::sha256_hex;
use switchyard_storage::{
    AuditAction, AuditEntry, Canary, Command, EndpointKey, EndpointRecord, MAX_ACTIVE_HISTORY, Outcome, Rejection,
    RevisionRecord, Routing, Store, StoreState, Variant,
};

/// What the store should do, in the simplest terms.
#[derive(Default)]
struct Model {
    endpoints: BTreeMap<EndpointKey, EndpointRecord>,
    revisions: BTreeMap<EndpointKey, Vec<RevisionRecord>>,
    audit: Vec<AuditEntry>,
    markers: BTreeMap<String, Vec<u8>>,
}

impl Model {
    fn apply(&mut self, command: &Command) -> Result<Outcome, Rejection> {
        let key = command.endpoint().clone();
        let (action, outcome) = match command {
            Command::Publish { source, author, notes, at_ms, .. } => {
                let list = self.revisions.entry(key.clone()).or_default();
                let number = list.len() as u32 + 1;
                let sha256 = sha256_hex(source);
                list.push(RevisionRecord {
                    number,
                    sha256: sha256.clone(),
                    source: source.clone(),
                    author: author.clone(),
                    at_ms: *at_ms,
                    notes: notes.clone(),
                });
                let activated = !self.endpoints.contains_key(&key);
                let record = self.endpoints.entry(key.clone()).or_insert_with(|| EndpointRecord {
                    key: key.clone(),
                    created_ms: *at_ms,
                    newest_revision: 0,
                    routing: Routing::only(number),
                    active_history: vec![],
                });
                record.newest_revision = number;
                (
                    AuditAction::Published { revision: number },
                    Outcome::Published { revision: number, sha256, activated },
                )
            }
            Command::SetRouting { routing, .. } => {
                let record = self.endpoints.get_mut(&key).ok_or(Rejection::UnknownEndpoint(key.clone()))?;
                let routing = routing.validated(record.newest_revision)?;
                if routing.active != record.routing.active {
                    record.active_history.push(record.routing.active);
                    if record.active_history.len() > MAX_ACTIVE_HISTORY {
                        record.active_history.remove(0);
                    }
                }
                record.routing = routing.clone();
                (AuditAction::RoutingSet { routing: routing.clone() }, Outcome::RoutingSet { routing })
            }
            Command::Rollback { .. } => {
                let record = self.endpoints.get_mut(&key).ok_or(Rejection::UnknownEndpoint(key.clone()))?;
                let to = record.active_history.pop().ok_or(Rejection::NothingToRollBack(key.clone()))?;
                let from = std::mem::replace(&mut record.routing.active, to);
                record.routing.canary = None;
                (AuditAction::RolledBack { from, to }, Outcome::RolledBack { from, to })
            }
            Command::Delete { .. } => {
                let record = self.endpoints.remove(&key).ok_or(Rejection::UnknownEndpoint(key.clone()))?;
                (AuditAction::Deleted { routing: record.routing }, Outcome::Deleted)
            }
        };
        self.audit.push(AuditEntry {
            seq: self.audit.len() as u64 + 1,
            at_ms: command.at_ms(),
            author: command.author().to_owned(),
            endpoint: key,
            action,
        });
        Ok(outcome)
    }

    fn state(&self) -> StoreState {
        StoreState {
            environment: "dev".into(),
            endpoints: self.endpoints.clone(),
            revisions: self.revisions.clone(),
            audit: self.audit.clone(),
            markers: self.markers.clone(),
        }
    }
}

#[derive(Clone, Debug)]
enum Step {
    Apply(Command, Option<u8>),
    Reopen,
}

fn endpoint() -> impl Strategy<Value = EndpointKey> {
    prop_oneof![
        Just(EndpointKey::new("tv", "home")),
        Just(EndpointKey::new("tv", "row")),
        Just(EndpointKey::new("ps3", "home")),
        Just(EndpointKey::new("a\0", "/b")),
    ]
}

fn percent() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0..=60.0f64,
        1 => Just(100.0),
        1 => Just(100.01),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
    ]
}

fn routing() -> impl Strategy<Value = Routing> {
    let name = prop_oneof![Just("b"), Just("c"), Just("canary"), Just(""), Just("B!")];
    let variant =
        (name, 0..5u32, percent()).prop_map(|(n, revision, percent)| Variant { name: n.into(), revision, percent });
    let canary =
        proptest::option::of((0..5u32, percent()).prop_map(|(revision, percent)| Canary { revision, percent }));
    (0..5u32, canary, proptest::collection::vec(variant, 0..3)).prop_map(|(active, canary, variants)| Routing {
        active,
        canary,
        variants,
    })
}

fn command() -> impl Strategy<Value = Command> {
    let who = || prop_oneof![Just("ann".to_owned()), Just("bob".to_owned())];
    prop_oneof![
        3 => (endpoint(), "[a-c]{0,3}", who(), "[xy]{0,2}", any::<u64>()).prop_map(|(endpoint, source, author, notes, at_ms)| {
            Command::Publish { endpoint, source, author, notes, at_ms }
        }),
        3 => (endpoint(), routing(), who(), any::<u64>())
            .prop_map(|(endpoint, routing, author, at_ms)| Command::SetRouting { endpoint, routing, author, at_ms }),
        2 => (endpoint(), who(), any::<u64>()).prop_map(|(endpoint, author, at_ms)| Command::Rollback { endpoint, author, at_ms }),
        1 => (endpoint(), who(), any::<u64>()).prop_map(|(endpoint, author, at_ms)| Command::Delete { endpoint, author, at_ms }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => (command(), proptest::option::of(any::<u8>())).prop_map(|(c, m)| Step::Apply(c, m)),
        1 => Just(Step::Reopen),
    ]
}

/// Outcomes compared as text: a rejected NaN percent is not equal to itself as an f64.
fn text(result: &Result<Outcome, Rejection>) -> String {
    format!("{result:?}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_store_on_disk_agrees_with_the_model(steps in proptest::collection::vec(step(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = common::open(dir.path());
        let mut model = Model::default();
        for (i, step) in steps.iter().enumerate() {
            match step {
                Step::Reopen => {
                    drop(store);
                    store = common::open(dir.path());
                }
                Step::Apply(command, marker) => {
                    let value = marker.map(|m| vec![m, i as u8]);
                    let markers: Vec<(&str, &[u8])> = value.iter().map(|v| ("raft", v.as_slice())).collect();
                    let got = store.apply_marked(command, &markers).expect("no I/O error");
                    let expected = model.apply(command);
                    if let Some(v) = value {
                        model.markers.insert("raft".into(), v);
                    }
                    prop_assert_eq!(text(&got), text(&expected), "step {}: {:?}", i, command);
                }
            }
        }
        drop(store);
        let reopened = Store::open(dir.path(), "dev").expect("reopens");
        let state = reopened.state().expect("state");
        prop_assert_eq!(state.check(), Ok(()));
        prop_assert_eq!(state, model.state());
    }

    #[test]
    fn command_decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Command::decode(&bytes);
        let _ = StoreState::from_snapshot(&bytes);
    }

    #[test]
    fn command_decode_never_panics_on_damaged_commands(
        command in command(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = command.encode().expect("encodes");
        if flips.is_empty() {
            prop_assert_eq!(Command::decode(&bytes).map(|c| format!("{c:?}")), Ok(format!("{command:?}")));
        }
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        let _ = Command::decode(&bytes);
        let _ = Command::decode(&bytes[..cut.index(bytes.len() + 1)]);
    }
}
