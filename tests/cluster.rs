//! Replication end to end (design §7): real nodes — each a `switchyard serve` process with its own
//! data directory — on free ports of 127.0.0.1, crashed with SIGKILL. A publish taken by a follower
//! is served by every node; the cluster survives losing its leader and a restarted node catches up,
//! also from a snapshot after the log was compacted; without a majority a write answers 503 in
//! bounded time while devices are still served, and once the nodes are back no acknowledged publish
//! is missing anywhere; a learner receives everything and never votes; a peer message without the
//! cluster secret is refused; the cluster stream of any node sums every node's statistics.
//!
//! The tests here take turns (one cluster at a time), so a 2-core machine is not asked to run nine
//! debug-built nodes at once.
// Each test has a thread and a runtime of its own: the lock held across awaits only makes them take turns.
#![allow(clippy::await_holding_lock)]

mod support;

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;
use support::cluster::{SECRET, TestCluster};
use tokio::time::Instant;

static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

const STARTUP: Duration = Duration::from_secs(30);

fn script(n: u32) -> String {
    format!("export default (req) => ({{n: {n}, revision: req.revision}})")
}

/// Publishes revision `n` of `endpoint` through node `i` and makes it active.
async fn publish_active(cluster: &TestCluster, i: usize, endpoint: &str, n: u32) -> u64 {
    let (status, body) = cluster.publish(i, endpoint, &script(n)).await;
    assert_eq!(status, 201, "publish through node {}: {body}\n{}", cluster.nodes[i].id, cluster.log(i));
    let revision = body["revision"].as_u64().expect("revision");
    if revision > 1 {
        let url = format!("http://{}/admin/v1/endpoints/{endpoint}/routing", cluster.nodes[i].admin);
        let request =
            cluster.client.put(url).bearer_auth(support::cluster::OPS).json(&serde_json::json!({"active": revision}));
        let response = request.send().await.expect("routing");
        assert_eq!(response.status().as_u16(), 200, "routing through node {}", cluster.nodes[i].id);
    }
    revision
}

/// The first `/turbine.stream` frames of node `i` in which the `HystrixCommand` of `dependency` and
/// the `SwitchyardEndpoint` of `endpoint` are both summed over every node (bounded: 15 s).
async fn turbine(cluster: &TestCluster, i: usize, dependency: &str, endpoint: &str) -> (Value, Value) {
    let url = format!("http://{}/turbine.stream?delay=200&token={}", cluster.nodes[i].admin, support::cluster::OPS);
    let mut response = cluster.client.get(url).send().await.expect("the cluster stream answers");
    assert_eq!(response.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    let (mut text, mut found) = (String::new(), (Value::Null, Value::Null));
    while found.0["reportingHosts"] != cluster.nodes.len() || found.1["reportingHosts"] != cluster.nodes.len() {
        let chunk = tokio::time::timeout_at(deadline, response.chunk()).await;
        let bytes = chunk.expect("the sums within 15 s").expect("the stream goes on").expect("not ended");
        text.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            let Some(frame) = event.strip_prefix("data: ") else { continue };
            let frame: Value = serde_json::from_str(frame.trim()).expect("a frame is JSON");
            match (frame["type"].as_str(), frame["name"].as_str()) {
                (Some("HystrixCommand"), Some(name)) if name == dependency => found.0 = frame,
                (Some("SwitchyardEndpoint"), Some(name)) if name == endpoint => found.1 = frame,
                _ => {}
            }
        }
    }
    found
}

fn serves(n: u32) -> impl Fn(&(u16, Value)) -> bool {
    move |(status, body)| *status == 200 && body["n"] == n
}

#[actix_rt::test]
async fn a_publish_on_a_follower_is_served_everywhere_a_learner_never_votes_and_strangers_are_refused() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut cluster = TestCluster::start(3, 1, "");
    let leader = cluster.leader(&[0, 1, 2], STARTUP).await;
    let follower = (leader + 1) % 3;
    // The initialising node adds the configured learner once a leader is elected.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster.status(3).await.is_some_and(|s| ids(&s, "learners").contains(&4)) {
        assert!(Instant::now() < deadline, "the configured learner was never added\n{}", cluster.log(0));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let published_at = Instant::now();
    publish_active(&cluster, follower, "tv/replicated", 1).await;
    for i in 0..4 {
        let left = Duration::from_secs(1).saturating_sub(published_at.elapsed());
        cluster.until_served(i, "/tv/replicated", left, serves(1)).await;
    }
    // The samples were published once, through the log, by the node that initialised the cluster.
    for i in 0..4 {
        cluster.until_served(i, "/tv/home?user=7", Duration::from_secs(5), |(s, _)| *s == 200).await;
    }
    // Each node served the TV home at least once: the cluster stream of any node sums all four.
    let (users, home) = turbine(&cluster, 1, "users", "tv/home").await;
    assert_eq!((users["reportingHosts"].as_u64(), home["reportingHosts"].as_u64()), (Some(4), Some(4)));
    assert!(users["requestCount"].as_u64().unwrap() >= 4 && home["requestCount"].as_u64().unwrap() >= 4);

    let learner = cluster.status(3).await.expect("the learner answers");
    assert_eq!(learner["role"], "learner", "{learner}");
    assert!(learner["voters"].as_array().expect("voters").iter().all(|v| v["id"] != 4), "{learner}");
    assert_eq!(learner["learners"][0]["id"], 4, "{learner}");

    // Without the leader, the two other voters elect one of themselves; the learner never stands.
    cluster.kill(leader);
    let rest: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let new_leader = cluster.leader(&rest, Duration::from_secs(20)).await;
    assert_ne!(new_leader, 3);
    assert_eq!(cluster.status(3).await.expect("answers")["role"], "learner");
    publish_active(&cluster, 3, "tv/replicated", 2).await;
    cluster.until_served(3, "/tv/replicated", Duration::from_secs(5), serves(2)).await;

    // Peer messages need the cluster secret.
    let append = format!("http://{}/cluster/v1/append", cluster.nodes[new_leader].admin);
    let refused = cluster.client.post(&append).body(vec![1u8, 0]).send().await.expect("answers");
    assert_eq!(refused.status().as_u16(), 401);
    let wrong =
        cluster.client.post(&append).header("x-switchyard-cluster-secret", "not-the-secret-at-all").body(vec![1u8]);
    assert_eq!(wrong.send().await.expect("answers").status().as_u16(), 401);
    let garbage = cluster.client.post(&append).header("x-switchyard-cluster-secret", SECRET).body(vec![9u8, 9, 9]);
    let garbage = garbage.send().await.expect("answers");
    assert_eq!(garbage.status().as_u16(), 400, "another format version is refused, not misread");
    assert!(garbage.text().await.expect("body").contains("version"));
}

#[actix_rt::test]
async fn losing_the_leader_elects_another_and_a_restarted_node_catches_up_from_a_snapshot() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Snapshots every 5 entries, 2 kept behind: a node away for 20 publishes needs the snapshot.
    let mut cluster = TestCluster::start(3, 0, "snapshot_after = 5\nkeep_entries = 2\n");
    let leader = cluster.leader(&[0, 1, 2], STARTUP).await;
    publish_active(&cluster, leader, "tv/kept", 1).await;

    cluster.kill(leader);
    let rest: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let new_leader = cluster.leader(&rest, Duration::from_secs(20)).await;
    let mut n = 1;
    for round in 0..10 {
        for &i in &rest {
            n += 1;
            assert!(publish_active(&cluster, i, "tv/kept", n).await >= 2, "round {round}");
        }
    }
    let purged = cluster.status(new_leader).await.expect("answers")["purged_index"].as_u64();
    assert!(purged.is_some(), "the leader compacted its log");

    cluster.spawn(leader);
    cluster.until_served(leader, "/tv/kept", Duration::from_secs(30), serves(n)).await;
    let caught_up = cluster.status(leader).await.expect("answers");
    assert!(caught_up["snapshot_index"].as_u64().is_some(), "it caught up from a snapshot: {caught_up}");
    assert_eq!(caught_up["leader"].as_u64(), Some(cluster.nodes[new_leader].id));
    let logs: Vec<Vec<Value>> = futures::future::join_all((0..3).map(|i| cluster.audit(i)))
        .await
        .into_iter()
        .map(|a| a.expect("answers"))
        .collect();
    assert_eq!(logs[0], logs[1], "the same changes in the same order");
    assert_eq!(logs[1], logs[2], "the same changes in the same order");
}

#[actix_rt::test]
async fn without_a_majority_writes_answer_503_in_bounded_time_and_nothing_acknowledged_is_lost() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut cluster = TestCluster::start(3, 0, "write_timeout_ms = 2000\n");
    let leader = cluster.leader(&[0, 1, 2], STARTUP).await;
    let mut acknowledged = Vec::new();
    for n in 1..=3 {
        acknowledged.push(publish_active(&cluster, leader, "tv/majority", n).await);
    }
    let survivor = (leader + 1) % 3;
    for i in (0..3).filter(|&i| i != survivor) {
        cluster.kill(i);
    }
    let started = Instant::now();
    let (status, body) = cluster.publish(survivor, "tv/majority", &script(99)).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded: {:?}", started.elapsed());
    cluster.until_served(survivor, "/tv/majority", Duration::from_secs(1), serves(3)).await;
    cluster.until_served(survivor, "/tv/home?user=7", Duration::from_secs(1), |(s, _)| *s == 200).await;

    for i in (0..3).filter(|&i| i != survivor) {
        cluster.spawn(i);
    }
    let leader = cluster.leader(&[0, 1, 2], STARTUP).await;
    // Let the new leader commit what it has (its first entry of the term) before the next write.
    let deadline = Instant::now() + STARTUP;
    while !cluster.status(leader).await.is_some_and(|s| s["last_applied_index"] == s["last_log_index"]) {
        assert!(Instant::now() < deadline, "the leader never caught up with its own log");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    acknowledged.push(publish_active(&cluster, leader, "tv/majority", 4).await);
    for i in 0..3 {
        cluster.until_served(i, "/tv/majority", Duration::from_secs(10), serves(4)).await;
        let url = format!("http://{}/admin/v1/endpoints/tv/majority", cluster.nodes[i].admin);
        let shown: Value = cluster
            .client
            .get(url)
            .bearer_auth(support::cluster::OPS)
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        let sources: Vec<u64> =
            shown["revision_list"].as_array().expect("revisions").iter().filter_map(|r| r["number"].as_u64()).collect();
        for revision in &acknowledged {
            assert!(
                sources.contains(revision),
                "node {} lost acknowledged revision {revision}: {shown}",
                cluster.nodes[i].id
            );
        }
    }
}

/// `switchyard cluster …` against node `i`.
async fn cli(cluster: &TestCluster, i: usize, args: &[&str]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"));
    command.arg("cluster").args(args).args([
        "--server",
        &format!("http://{}", cluster.nodes[i].admin),
        "--token",
        support::cluster::OPS,
    ]);
    command.env_remove("SWITCHYARD_SERVER").env_remove("SWITCHYARD_ADMIN_TOKEN");
    let out = actix_web::rt::task::spawn_blocking(move || command.output().expect("runs")).await.expect("joined");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn ids(status: &Value, list: &str) -> Vec<u64> {
    status[list].as_array().into_iter().flatten().filter_map(|m| m["id"].as_u64()).collect()
}

#[actix_rt::test]
async fn the_membership_changes_through_the_cli_on_any_node() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let cluster = TestCluster::start(3, 1, "");
    let leader = cluster.leader(&[0, 1, 2], STARTUP).await;
    let follower = (leader + 1) % 3;
    // The initialising node adds the configured learner right after the voters.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ids(&cluster.status(follower).await.unwrap_or_default(), "learners").is_empty() {
        assert!(Instant::now() < deadline, "the configured learner was never added");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (ok, text) = cli(&cluster, follower, &["status"]).await;
    assert!(ok && text.contains("follower") && text.contains("learners  4 ("), "{text}");

    let (ok, text) = cli(&cluster, follower, &["remove", "4"]).await;
    assert!(ok && text.contains("node 4 removed"), "{text}");
    assert!(ids(&cluster.status(leader).await.expect("answers"), "learners").is_empty());

    let address = cluster.nodes[3].admin.clone();
    let (ok, text) = cli(&cluster, follower, &["add-learner", "4", &address]).await;
    assert!(ok && text.contains("node 4 added as a learner"), "{text}");
    publish_active(&cluster, leader, "tv/members", 1).await;
    cluster.until_served(3, "/tv/members", Duration::from_secs(10), serves(1)).await;

    let (ok, text) = cli(&cluster, follower, &["promote", "4"]).await;
    assert!(ok && text.contains("node 4 is a voter"), "{text}");
    let status = cluster.status(3).await.expect("answers");
    assert_eq!(ids(&status, "voters"), vec![1, 2, 3, 4], "{status}");
    assert_ne!(status["role"], "learner");

    let (ok, text) = cli(&cluster, follower, &["promote", "9"]).await;
    assert!(!ok && text.contains("409"), "an unknown node cannot be promoted: {text}");
    let (ok, text) = cli(&cluster, follower, &["init"]).await;
    assert!(!ok && text.contains("initialised already"), "{text}");
}
