//! Replication figures (design §12: a publish served by every node of a 3-node cluster within
//! 500 ms at p99): three release-built `switchyard serve` processes on 127.0.0.1 free ports.
//!
//! 1. 100 publishes, each through a follower, each a new endpoint (active at once): the time from
//!    sending the publish until all three nodes serve it, and until the publish is acknowledged.
//! 2. Five times: kill the leader with SIGKILL, publish through a survivor at once; the time until
//!    that publish is acknowledged (an election, then the write), then restart the node.
//!
//! `cargo bench --bench cluster` (the root package: it runs the server binary).
#![allow(missing_docs)]

#[path = "../tests/support/cluster.rs"]
#[allow(dead_code)]
mod cluster;

use std::time::Duration;

use cluster::TestCluster;
use tokio::time::Instant;

fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && !"cluster".contains(a.as_str())) {
        return;
    }
    actix_web::rt::System::new().block_on(run());
}

async fn run() {
    let mut cluster = TestCluster::start(3, 0, "");
    let leader = cluster.leader(&[0, 1, 2], Duration::from_secs(30)).await;
    let (mut acknowledged, mut everywhere) = (Vec::new(), Vec::new());
    for round in 0..100 {
        let follower = (leader + 1 + round % 2) % 3;
        let endpoint = format!("bench/p{round}");
        let source = format!("export default () => ({{round: {round}}})");
        let started = Instant::now();
        let (status, body) = cluster.publish(follower, &endpoint, &source).await;
        assert_eq!(status, 201, "{body}");
        acknowledged.push(started.elapsed());
        for i in 0..3 {
            cluster.until_served(i, &format!("/{endpoint}"), Duration::from_secs(5), |(s, _)| *s == 200).await;
        }
        everywhere.push(started.elapsed());
    }
    switchyard_bench::latencies::report("publish through a follower, acknowledged", &mut acknowledged);
    switchyard_bench::latencies::report("publish through a follower → served by all three nodes", &mut everywhere);

    let (mut failover, mut elected) = (Vec::new(), Vec::new());
    for round in 0..5 {
        let leader = cluster.leader(&[0, 1, 2], Duration::from_secs(30)).await;
        let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
        cluster.kill(leader);
        let started = Instant::now();
        let (status, body) =
            cluster.publish(survivors[0], "bench/failover", &format!("export default () => {round}")).await;
        assert_eq!(status, 201, "{body}");
        failover.push(started.elapsed());
        cluster.leader(&survivors, Duration::from_secs(30)).await;
        elected.push(started.elapsed());
        cluster.spawn(leader);
        // Let the restarted node catch up before the next round kills someone.
        cluster.until_served(leader, "/bench/failover", Duration::from_secs(30), |(s, _)| *s == 200).await;
    }
    switchyard_bench::latencies::report("leader killed → next publish acknowledged", &mut failover);
    switchyard_bench::latencies::report("leader killed → both survivors name the new leader", &mut elected);
}
