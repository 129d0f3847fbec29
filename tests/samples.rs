//! The sample endpoints show the fast way: every call that does not need another call's answer is
//! in flight at the same time, so a sample answers in a few *rounds* of dependency latency, not in
//! one round per row or per title.
//!
//! On tokio's paused clock every demo service answers in exactly [`ROUND`], so the time a sample
//! takes, divided by [`ROUND`], is the number of rounds of calls it waited for one after another
//! (the collapser's 10 ms window adds a little to a round, never a whole one). A sample that waits
//! for its rows one by one (`concatMap` per row or per title) takes dozens of rounds and fails here,
//! whatever the speed of the machine.

use std::sync::Arc;
use std::time::Duration;

use switchyard::config::Config;
use switchyard::demo::{DemoData, DemoServices, Latency};
use switchyard::local_run::{LocalRequest, run_once};
use switchyard::node::Node;
use switchyard::samples::SAMPLES;
use switchyard_actors::Placement;

/// Every demo call's latency.
const ROUND: Duration = Duration::from_millis(100);

/// The rounds each sample needs: its longest chain of calls that each need the one before.
fn rounds_needed(endpoint: &str) -> u32 {
    match endpoint {
        // users, subscriber, lists, bookmarks → titles, art, ratings per row.
        "tv/home" | "ps3/home" | "android/home" => 2,
        // lists → recs of the hero → its titles (the sections ride in the second round).
        "ios/home" => 3,
        // bookmarks → recs of what is watched → its titles (the rows ride in the second round).
        "web/home" => 3,
        other => panic!("no expectation for {other}: add one"),
    }
}

#[actix_rt::test]
async fn every_sample_waits_only_for_its_chain_of_dependent_calls() {
    tokio::time::pause();
    let data = Arc::new(DemoData::new(42));
    let demo = DemoServices::with_latency(data, |_| Latency::fixed(ROUND));
    let mut config = Config::default();
    // A serialising sample must fail on its rounds below, not on the request deadline first.
    config.scripts.deadline_ms = 3_600_000;
    let node = Node::start_placed(config, demo, Placement::CurrentArbiter).expect("node starts");
    for (namespace, name, source) in SAMPLES {
        let endpoint = format!("{namespace}/{name}");
        let request = LocalRequest { user: Some("7".into()), ..Default::default() };
        let report = run_once(&node, &format!("{namespace}.{name}.js"), source, &request).await.expect("runs");
        assert_eq!(report.status, 200, "{endpoint}: {}", report.body);
        assert!(report.calls.len() > 5, "{endpoint} fans out: {} calls", report.calls.len());
        let rounds = (report.elapsed_ms / ROUND.as_secs_f64() / 1000.0).floor() as u32;
        assert!(
            rounds <= rounds_needed(&endpoint),
            "{endpoint} waited {rounds} rounds of dependency latency ({:.0} ms), it needs only {}: \
             some calls wait for others they do not depend on",
            report.elapsed_ms,
            rounds_needed(&endpoint)
        );
        assert!(rounds >= 1, "{endpoint} made its calls: {:.0} ms", report.elapsed_ms);
    }
}
