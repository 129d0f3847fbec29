//! Crash safety of replication: publishes run in a loop against a three-node cluster while a
//! random node is killed with SIGKILL and restarted, again and again. At the end every node holds
//! every acknowledged publish, all nodes hold the same changes in the same order, and a publish
//! that was not acknowledged is either whole everywhere or nowhere (never half there).
//!
//! `SWITCHYARD_CRASH_KILLS` sets the number of kills (default 5, so the suite stays quick; the
//! README records a run with 20), `SWITCHYARD_CRASH_SEED` the random seed (printed, to repeat a run).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::Value;
use support::cluster::{OPS, TestCluster};
use switchyard_storage::model::sha256_hex;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[actix_rt::test]
async fn acknowledged_publishes_survive_nodes_killed_at_random() {
    let kills = env_number("SWITCHYARD_CRASH_KILLS", 5);
    let seed = env_number("SWITCHYARD_CRASH_SEED", rand::random::<u32>().into());
    println!("crash run: {kills} kills, seed {seed} (SWITCHYARD_CRASH_SEED={seed} repeats it)");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut cluster = TestCluster::start(3, 0, "write_timeout_ms = 2000\nsnapshot_after = 20\nkeep_entries = 5\n");
    cluster.leader(&[0, 1, 2], Duration::from_secs(30)).await;

    // source → what the cluster answered (acknowledged or not).
    let mut sent: BTreeMap<String, bool> = BTreeMap::new();
    let mut sequence = 0u64;
    let mut down: Option<usize> = None;
    for kill in 0..kills {
        // A few publishes through random live nodes, then a crash, more publishes, a restart.
        for phase in 0..2 {
            for _ in 0..rng.random_range(3..8) {
                sequence += 1;
                let node = loop {
                    let i = rng.random_range(0..3);
                    if Some(i) != down {
                        break i;
                    }
                };
                let source = format!("// {sequence}\nexport default () => {sequence}");
                let (status, _) = cluster.publish(node, "tv/crash", &source).await;
                sent.insert(source, status == 201);
            }
            if phase == 0 {
                let victim = rng.random_range(0..3);
                cluster.kill(victim);
                down = Some(victim);
            } else if let Some(victim) = down.take() {
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
                cluster.spawn(victim);
            }
        }
        println!("kill {} of {kills} done, {} publishes sent", kill + 1, sent.len());
    }

    // Settle: everyone answers and agrees on the log.
    cluster.leader(&[0, 1, 2], Duration::from_secs(30)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let logs = loop {
        let logs: Vec<Option<Vec<Value>>> = futures::future::join_all((0..3).map(|i| cluster.audit(i))).await;
        if let [Some(a), Some(b), Some(c)] = &logs[..]
            && a == b
            && b == c
        {
            break a.clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "the nodes never agreed on the audit log");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let published = logs.iter().filter(|e| e["endpoint"]["name"] == "crash").count();

    let mut stored: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..3 {
        let url = format!("http://{}/admin/v1/endpoints/tv/crash", cluster.nodes[i].admin);
        let shown: Value =
            cluster.client.get(url).bearer_auth(OPS).send().await.expect("answers").json().await.expect("json");
        let count = shown["revision_list"].as_array().map_or(0, Vec::len);
        for n in 1..=count {
            let url = format!("http://{}/admin/v1/endpoints/tv/crash/revisions/{n}", cluster.nodes[i].admin);
            let revision: Value =
                cluster.client.get(url).bearer_auth(OPS).send().await.expect("answers").json().await.expect("json");
            let source = revision["source"].as_str().expect("source").to_owned();
            assert_eq!(revision["sha256"].as_str(), Some(sha256_hex(&source).as_str()), "a whole revision");
            assert!(sent.contains_key(&source), "node {} holds a revision nobody sent", i + 1);
            if i == 0 {
                stored.insert(source, revision["sha256"].as_str().unwrap_or_default().to_owned());
            } else {
                assert!(stored.contains_key(&source), "node {} holds a revision node 1 does not", i + 1);
            }
        }
        assert_eq!(count, stored.len(), "node {} holds as many revisions as node 1", i + 1);
    }
    let acknowledged = sent.values().filter(|a| **a).count();
    for (source, ok) in &sent {
        if *ok {
            assert!(stored.contains_key(source), "acknowledged publish lost: {source:?}");
        }
    }
    println!(
        "{} publishes sent, {acknowledged} acknowledged, {} stored on every node ({} audit entries for it), all in the same order",
        sent.len(),
        stored.len(),
        published
    );
}
