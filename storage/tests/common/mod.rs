//! Helpers shared by the black-box tests: commands with short names, and stores in temp dirs.
#![allow(dead_code)]

use std::path::Path;

use switchyard_storage::{Canary, Command, EndpointKey, Routing, Store, Variant};

pub fn key(ns: &str, name: &str) -> EndpointKey {
    EndpointKey::new(ns, name)
}

pub fn home() -> EndpointKey {
    key("tv", "home")
}

pub fn open(dir: &Path) -> Store {
    match Store::open(dir, "dev") {
        Ok(store) => store,
        Err(e) => panic!("open {}: {e}", dir.display()),
    }
}

pub fn publish(endpoint: &EndpointKey, source: &str, at_ms: u64) -> Command {
    Command::Publish {
        endpoint: endpoint.clone(),
        source: source.into(),
        author: format!("author-{at_ms}"),
        notes: format!("notes {at_ms}"),
        at_ms,
    }
}

pub fn set_routing(endpoint: &EndpointKey, routing: Routing, at_ms: u64) -> Command {
    Command::SetRouting { endpoint: endpoint.clone(), routing, author: format!("author-{at_ms}"), at_ms }
}

pub fn rollback(endpoint: &EndpointKey, at_ms: u64) -> Command {
    Command::Rollback { endpoint: endpoint.clone(), author: format!("author-{at_ms}"), at_ms }
}

pub fn delete(endpoint: &EndpointKey, at_ms: u64) -> Command {
    Command::Delete { endpoint: endpoint.clone(), author: format!("author-{at_ms}"), at_ms }
}

pub fn routing(active: u32, canary: Option<(u32, f64)>, variants: &[(&str, u32, f64)]) -> Routing {
    Routing {
        active,
        canary: canary.map(|(revision, percent)| Canary { revision, percent }),
        variants: variants
            .iter()
            .map(|(name, revision, percent)| Variant { name: (*name).into(), revision: *revision, percent: *percent })
            .collect(),
    }
}

/// Applies a command that must be accepted.
pub fn must(store: &Store, command: &Command) -> switchyard_storage::Outcome {
    match store.apply(command) {
        Ok(Ok(outcome)) => outcome,
        other => panic!("{command:?}: {other:?}"),
    }
}

/// A store with a few endpoints, revisions, a routing change and an audit trail.
pub fn populate(store: &Store) {
    let (a, b) = (home(), key("ps3", "menu"));
    must(store, &publish(&a, "export default () => 1", 1));
    must(store, &publish(&a, "export default () => 2", 2));
    must(store, &publish(&b, "export default () => 'menu'", 3));
    must(store, &set_routing(&a, routing(2, Some((1, 10.0)), &[("b", 1, 5.0)]), 4));
}
