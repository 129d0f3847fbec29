//! The routing decision over many users: shares, stickiness (also across a reopen), and the layout
//! that keeps users where they are when a share changes.

mod common;

use std::collections::BTreeMap;

use common::*;
use switchyard_storage::{BUCKETS, Routing, pick};

const USERS: usize = 10_000;

fn users() -> impl Iterator<Item = String> {
    (0..USERS).map(|i| format!("user-{i}"))
}

/// How many of the users each share serves.
fn split(routing: &Routing) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for user in users() {
        let p = pick(routing, &home(), Some(&user), 0);
        *counts.entry(p.variant.unwrap_or("active").to_owned()).or_insert(0) += 1;
    }
    counts
}

fn share(counts: &BTreeMap<String, usize>, name: &str) -> f64 {
    100.0 * *counts.get(name).unwrap_or(&0) as f64 / USERS as f64
}

#[test]
fn a_10_percent_canary_gets_10_percent_of_users() {
    let counts = split(&routing(1, Some((2, 10.0)), &[]));
    let canary = share(&counts, "canary");
    assert!((8.0..=12.0).contains(&canary), "{canary} %");
}

#[test]
fn variants_get_their_shares() {
    let counts = split(&routing(1, Some((2, 10.0)), &[("b", 3, 20.0), ("c", 1, 5.0)]));
    for (name, expected) in [("canary", 10.0), ("b", 20.0), ("c", 5.0), ("active", 65.0)] {
        let got = share(&counts, name);
        assert!((got - expected).abs() <= 2.0, "{name}: {got} % for {expected} %");
    }
}

#[test]
fn a_user_always_gets_the_same_revision_also_after_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    for i in 1..=3 {
        must(&store, &publish(&home(), &format!("v{i}"), i));
    }
    must(&store, &set_routing(&home(), routing(1, Some((2, 10.0)), &[("b", 3, 20.0)]), 4));
    let stored = store.endpoint(&home()).expect("reads").expect("exists").routing;
    let first: Vec<u32> = users().map(|u| pick(&stored, &home(), Some(&u), 0).revision).collect();
    let again: Vec<u32> = users().map(|u| pick(&stored, &home(), Some(&u), 7).revision).collect();
    assert_eq!(first, again, "the anonymous roll does not matter for a known user");
    drop(store);
    let reopened = open(dir.path()).endpoint(&home()).expect("reads").expect("exists").routing;
    let after: Vec<u32> = users().map(|u| pick(&reopened, &home(), Some(&u), 0).revision).collect();
    assert_eq!(first, after);
}

#[test]
fn growing_the_canary_keeps_its_users() {
    let small = routing(1, Some((2, 10.0)), &[("b", 3, 20.0)]);
    let large = routing(1, Some((2, 20.0)), &[("b", 3, 20.0)]);
    let (mut kept, mut before) = (0, 0);
    for user in users() {
        if pick(&small, &home(), Some(&user), 0).variant == Some("canary") {
            before += 1;
            assert_eq!(pick(&large, &home(), Some(&user), 0).variant, Some("canary"), "{user}");
            kept += 1;
        }
    }
    assert_eq!(kept, before);
    assert!(before > 0);
}

#[test]
fn changing_the_canary_never_moves_variant_users() {
    let variants = [("b", 3, 20.0), ("c", 1, 5.0)];
    let shapes = [None, Some((2, 0.0)), Some((2, 10.0)), Some((2, 50.5)), Some((2, 75.0))];
    let picks: Vec<Vec<Option<String>>> = shapes
        .iter()
        .map(|canary| {
            let r = routing(1, *canary, &variants);
            users()
                .map(|u| pick(&r, &home(), Some(&u), 0).variant.filter(|v| *v != "canary").map(str::to_owned))
                .filter(Option::is_some)
                .collect()
        })
        .collect();
    for other in &picks[1..] {
        assert_eq!(other, &picks[0]);
    }
}

#[test]
fn anonymous_requests_split_by_the_roll() {
    let r = routing(1, Some((2, 10.0)), &[("b", 3, 20.0)]);
    let mut counts = BTreeMap::new();
    for roll in 0..u64::from(BUCKETS) {
        *counts.entry(pick(&r, &home(), None, roll).variant).or_insert(0) += 1;
    }
    assert_eq!(counts.get(&Some("canary")), Some(&1_000), "exactly 10 % of the buckets");
    assert_eq!(counts.get(&Some("b")), Some(&2_000));
    assert_eq!(counts.get(&None), Some(&7_000));
}

#[test]
fn buckets_are_spread_evenly() {
    let mut deciles = [0usize; 10];
    for user in users() {
        deciles[switchyard_storage::user_bucket(&home(), &user) as usize / 1_000] += 1;
    }
    assert!(deciles.iter().all(|&n| (800..=1_200).contains(&n)), "{deciles:?}");
}
