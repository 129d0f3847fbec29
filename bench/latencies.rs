//! Latency figures of the benches that time whole operations (publish, replication, failover):
//! one line of p50, p99 and max per series, printed the same way by each.

use std::time::Duration;

/// The `q` quantile of sorted `samples` (nearest rank).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Prints `what: n=… p50 … ms, p99 … ms, max … ms`.
pub fn report(what: &str, samples: &mut [Duration]) {
    if samples.is_empty() {
        println!("{what}: no samples");
        return;
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        ms(quantile(samples, 0.50)),
        ms(quantile(samples, 0.99)),
        ms(samples[samples.len() - 1])
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&samples, 0.50), Duration::from_millis(50));
        assert_eq!(quantile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&samples[..1], 0.99), Duration::from_millis(1));
    }
}
