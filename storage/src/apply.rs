//! What each command means: a pure decision from the state it meets to the changes to make.
//!
//! [`decide`] reads the state through [`View`] and returns either a [`Rejection`] or the
//! [`Changes`] and [`Outcome`] of the command; it writes nothing. The store runs it inside a sled
//! transaction over transactional trees and then writes the changes in the same transaction, so a
//! command is all-or-nothing; the unit tests below run it over an in-memory state. Everything it
//! depends on is in the command or the state (time and author come with the command; revision and
//! audit numbers follow from the state), so the same commands in the same order decide the same
//! way on every node.

use crate::command::{Command, Outcome};
use crate::key::EndpointKey;
use crate::model::{AuditAction, AuditEntry, EndpointRecord, MAX_ACTIVE_HISTORY, RevisionRecord, sha256_hex};
use crate::rejection::Rejection;
use crate::routing::Routing;

/// What a decision reads.
pub(crate) trait View {
    /// Failure to read (I/O, a value that does not decode).
    type Error;
    /// The live endpoint `key`, if any.
    fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, Self::Error>;
    /// The newest revision ever published for `key`, also if it was deleted since; 0 if none.
    fn newest_revision(&self, key: &EndpointKey) -> Result<u32, Self::Error>;
    /// The sequence number of the last audit entry; 0 if none.
    fn last_audit_seq(&self) -> Result<u64, Self::Error>;
}

/// What an accepted command writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Changes {
    /// The command's endpoint afterwards: stored as this record, or removed.
    pub endpoint: Option<EndpointRecord>,
    /// A new revision of the command's endpoint.
    pub revision: Option<RevisionRecord>,
    /// The audit entry that records the change.
    pub audit: AuditEntry,
}

/// A command's decision: the changes and outcome, or its rejection.
pub(crate) type Decision = Result<(Changes, Outcome), Rejection>;

/// An accepted command before its audit entry is numbered.
struct Step {
    endpoint: Option<EndpointRecord>,
    revision: Option<RevisionRecord>,
    action: AuditAction,
    outcome: Outcome,
}

/// Decides `command` against the state `view` shows.
pub(crate) fn decide<V: View>(view: &V, command: &Command) -> Result<Decision, V::Error> {
    let key = command.endpoint();
    let existing = view.endpoint(key)?;
    let step = match (command, existing) {
        (Command::Publish { source, notes, .. }, existing) => {
            publish(command, view.newest_revision(key)?, existing, source, notes)
        }
        (_, None) => Err(Rejection::UnknownEndpoint(key.clone())),
        (Command::SetRouting { routing, .. }, Some(record)) => set_routing(record, routing),
        (Command::Rollback { .. }, Some(record)) => rollback(record),
        (Command::Delete { .. }, Some(record)) => Ok(delete(record)),
    };
    let step = match step {
        Ok(step) => step,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let Some(seq) = view.last_audit_seq()?.checked_add(1) else {
        return Ok(Err(Rejection::AuditExhausted));
    };
    let audit = AuditEntry {
        seq,
        at_ms: command.at_ms(),
        author: command.author().to_owned(),
        endpoint: key.clone(),
        action: step.action,
    };
    Ok(Ok((Changes { endpoint: step.endpoint, revision: step.revision, audit }, step.outcome)))
}

/// The next revision; a new endpoint (or one re-created after a delete) is active on it.
fn publish(
    command: &Command,
    newest: u32,
    existing: Option<EndpointRecord>,
    source: &str,
    notes: &str,
) -> Result<Step, Rejection> {
    let key = command.endpoint();
    let Some(number) = newest.checked_add(1) else {
        return Err(Rejection::RevisionsExhausted(key.clone()));
    };
    let (record, activated) = match existing {
        Some(mut record) => {
            record.newest_revision = number;
            (record, false)
        }
        None => {
            let record = EndpointRecord {
                key: key.clone(),
                created_ms: command.at_ms(),
                newest_revision: number,
                routing: Routing::only(number),
                active_history: Vec::new(),
            };
            (record, true)
        }
    };
    let sha256 = sha256_hex(source);
    let revision = RevisionRecord {
        number,
        sha256: sha256.clone(),
        source: source.to_owned(),
        author: command.author().to_owned(),
        at_ms: command.at_ms(),
        notes: notes.to_owned(),
    };
    Ok(Step {
        endpoint: Some(record),
        revision: Some(revision),
        action: AuditAction::Published { revision: number },
        outcome: Outcome::Published { revision: number, sha256, activated },
    })
}

/// Validated routing; a change of active revision remembers the old one for rollback.
fn set_routing(mut record: EndpointRecord, routing: &Routing) -> Result<Step, Rejection> {
    let routing = routing.validated(record.newest_revision)?;
    if routing.active != record.routing.active {
        record.active_history.push(record.routing.active);
        if record.active_history.len() > MAX_ACTIVE_HISTORY {
            record.active_history.remove(0);
        }
    }
    record.routing = routing.clone();
    Ok(Step {
        endpoint: Some(record),
        revision: None,
        action: AuditAction::RoutingSet { routing: routing.clone() },
        outcome: Outcome::RoutingSet { routing },
    })
}

/// The previously active revision again, without a canary; variants stay.
fn rollback(mut record: EndpointRecord) -> Result<Step, Rejection> {
    let Some(to) = record.active_history.pop() else {
        return Err(Rejection::NothingToRollBack(record.key));
    };
    let from = record.routing.active;
    record.routing.active = to;
    record.routing.canary = None;
    Ok(Step {
        endpoint: Some(record),
        revision: None,
        action: AuditAction::RolledBack { from, to },
        outcome: Outcome::RolledBack { from, to },
    })
}

/// The endpoint goes; its revisions and their numbering stay.
fn delete(record: EndpointRecord) -> Step {
    Step {
        endpoint: None,
        revision: None,
        action: AuditAction::Deleted { routing: record.routing },
        outcome: Outcome::Deleted,
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;
    use crate::routing::{Canary, Variant};
    use crate::state::StoreState;

    impl View for StoreState {
        type Error = Infallible;
        fn endpoint(&self, key: &EndpointKey) -> Result<Option<EndpointRecord>, Infallible> {
            Ok(self.endpoints.get(key).cloned())
        }
        fn newest_revision(&self, key: &EndpointKey) -> Result<u32, Infallible> {
            Ok(self.revisions.get(key).map_or(0, |r| r.len() as u32))
        }
        fn last_audit_seq(&self) -> Result<u64, Infallible> {
            Ok(self.audit.last().map_or(0, |e| e.seq))
        }
    }

    /// Decides and applies in memory, as the store does in sled.
    fn run(state: &mut StoreState, command: &Command) -> Result<Outcome, Rejection> {
        let Ok(decision) = decide(&*state, command);
        let (changes, outcome) = decision?;
        let key = command.endpoint().clone();
        match changes.endpoint {
            Some(record) => state.endpoints.insert(key.clone(), record),
            None => state.endpoints.remove(&key),
        };
        if let Some(revision) = changes.revision {
            state.revisions.entry(key).or_default().push(revision);
        }
        state.audit.push(changes.audit);
        Ok(outcome)
    }

    fn home() -> EndpointKey {
        EndpointKey::new("tv", "home")
    }

    fn publish(source: &str, at_ms: u64) -> Command {
        Command::Publish { endpoint: home(), source: source.into(), author: "ann".into(), notes: "n".into(), at_ms }
    }

    fn set(routing: Routing) -> Command {
        Command::SetRouting { endpoint: home(), routing, author: "bob".into(), at_ms: 50 }
    }

    fn rollback() -> Command {
        Command::Rollback { endpoint: home(), author: "cy".into(), at_ms: 60 }
    }

    fn delete() -> Command {
        Command::Delete { endpoint: home(), author: "dee".into(), at_ms: 70 }
    }

    fn published(revision: u32, source: &str, activated: bool) -> Result<Outcome, Rejection> {
        Ok(Outcome::Published { revision, sha256: sha256_hex(source), activated })
    }

    #[test]
    fn publishes_number_1_2_3_and_only_the_first_activates() {
        let mut s = StoreState::default();
        assert_eq!(run(&mut s, &publish("a", 1)), published(1, "a", true));
        assert_eq!(run(&mut s, &publish("b", 2)), published(2, "b", false));
        assert_eq!(run(&mut s, &publish("c", 3)), published(3, "c", false));
        let record = &s.endpoints[&home()];
        assert_eq!((record.created_ms, record.newest_revision, &record.routing), (1, 3, &Routing::only(1)));
        assert_eq!(s.revisions[&home()][2].sha256, sha256_hex("c"));
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn a_deleted_endpoint_keeps_its_numbering_and_is_reactivated() {
        let mut s = StoreState::default();
        run(&mut s, &publish("a", 1)).ok();
        run(&mut s, &publish("b", 2)).ok();
        assert_eq!(run(&mut s, &delete()), Ok(Outcome::Deleted));
        assert!(s.endpoints.is_empty());
        assert_eq!(s.audit.last().map(|e| &e.action), Some(&AuditAction::Deleted { routing: Routing::only(1) }));
        assert_eq!(run(&mut s, &rollback()), Err(Rejection::UnknownEndpoint(home())));
        assert_eq!(run(&mut s, &publish("c", 80)), published(3, "c", true));
        let record = &s.endpoints[&home()];
        assert_eq!((record.created_ms, &record.routing, record.active_history.len()), (80, &Routing::only(3), 0));
    }

    #[test]
    fn a_new_active_is_remembered_and_rollback_pops_it_clearing_the_canary() {
        let mut s = StoreState::default();
        for i in 1..=3 {
            run(&mut s, &publish(&i.to_string(), i)).ok();
        }
        let variant = Variant { name: "b".into(), revision: 1, percent: 5.0 };
        run(&mut s, &set(Routing { active: 2, canary: None, variants: vec![] })).ok();
        let with_canary =
            Routing { active: 3, canary: Some(Canary { revision: 1, percent: 10.0 }), variants: vec![variant.clone()] };
        run(&mut s, &set(with_canary.clone())).ok();
        run(&mut s, &set(with_canary)).ok();
        assert_eq!(s.endpoints[&home()].active_history, vec![1, 2], "an unchanged active is not pushed");
        assert_eq!(run(&mut s, &rollback()), Ok(Outcome::RolledBack { from: 3, to: 2 }));
        let routing = &s.endpoints[&home()].routing;
        assert_eq!((routing.active, &routing.canary, &routing.variants), (2, &None, &vec![variant]));
        assert_eq!(run(&mut s, &rollback()), Ok(Outcome::RolledBack { from: 2, to: 1 }));
        assert_eq!(run(&mut s, &rollback()), Err(Rejection::NothingToRollBack(home())));
    }

    #[test]
    fn the_history_is_bounded() {
        let mut s = StoreState::default();
        run(&mut s, &publish("a", 1)).ok();
        run(&mut s, &publish("b", 2)).ok();
        for i in 0..MAX_ACTIVE_HISTORY + 10 {
            run(&mut s, &set(Routing::only(1 + (i % 2) as u32))).ok();
        }
        assert_eq!(s.endpoints[&home()].active_history.len(), MAX_ACTIVE_HISTORY);
        assert_eq!(s.check(), Ok(()));
    }

    #[test]
    fn rejections_change_nothing() {
        let mut s = StoreState::default();
        assert_eq!(run(&mut s, &set(Routing::only(1))), Err(Rejection::UnknownEndpoint(home())));
        assert_eq!(run(&mut s, &delete()), Err(Rejection::UnknownEndpoint(home())));
        run(&mut s, &publish("a", 1)).ok();
        let before = s.clone();
        let bad = [
            set(Routing::only(2)),
            set(Routing { active: 1, canary: Some(Canary { revision: 1, percent: f64::NAN }), variants: vec![] }),
            rollback(),
        ];
        for command in &bad {
            assert!(run(&mut s, command).is_err(), "{command:?}");
            assert_eq!(s, before);
        }
    }

    #[test]
    fn the_audit_entry_carries_seq_time_author_and_endpoint() {
        let mut s = StoreState::default();
        run(&mut s, &publish("a", 1)).ok();
        run(&mut s, &set(Routing::only(1))).ok();
        let last = s.audit.last().cloned();
        assert_eq!(
            last,
            Some(AuditEntry {
                seq: 2,
                at_ms: 50,
                author: "bob".into(),
                endpoint: home(),
                action: AuditAction::RoutingSet { routing: Routing::only(1) },
            })
        );
    }

    #[test]
    fn counters_that_would_overflow_reject() {
        struct Full;
        impl View for Full {
            type Error = Infallible;
            fn endpoint(&self, _: &EndpointKey) -> Result<Option<EndpointRecord>, Infallible> {
                Ok(None)
            }
            fn newest_revision(&self, _: &EndpointKey) -> Result<u32, Infallible> {
                Ok(u32::MAX)
            }
            fn last_audit_seq(&self) -> Result<u64, Infallible> {
                Ok(u64::MAX)
            }
        }
        let Ok(decision) = decide(&Full, &publish("a", 1));
        assert_eq!(decision.err(), Some(Rejection::RevisionsExhausted(home())));
    }
}
