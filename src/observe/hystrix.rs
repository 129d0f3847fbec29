//! The Hystrix stream's frames (design §8): one JSON object per dependency (`HystrixCommand`),
//! per bulkhead (`HystrixThreadPool`), per collapser (`HystrixCollapser`), and our own
//! `SwitchyardEndpoint` per endpoint, built from snapshots.
//!
//! Field names and types are those of Hystrix 1.5's serializer (`SerialHystrixDashboardData`) plus
//! 1.3's, so the Hystrix Dashboard and Turbine read us unchanged: integers wherever Hystrix writes
//! integers (latencies in whole milliseconds). How our events map onto theirs:
//! a rejection counts as `ThreadPoolRejected` for actor isolation and `SemaphoreRejected` for
//! semaphore isolation; a call answers once, so `Emit` = successes and `FallbackEmit` = fallback
//! successes (as for a HystrixCommand); `ExceptionsThrown` = the calls whose error reached the
//! caller (bad requests, failed / missing / rejected fallbacks).

use serde_json::{Map, Value, json};
use switchyard_actors::collapser::{Collapser, CollapserSnapshot};
use switchyard_actors::latency::Percentiles;
use switchyard_actors::{DependencySnapshot, Event, Force, Isolation};

use super::endpoint_stats::{EndpointSnapshot, WINDOW};

/// One frame of the stream.
pub type Frame = Map<String, Value>;

fn object(value: Value) -> Frame {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("frames are built from object literals"),
    }
}

/// Whole milliseconds, as Hystrix reports latencies.
fn ms(value: f64) -> u64 {
    value.round() as u64
}

fn latencies(p: &Percentiles) -> Value {
    json!({
        "0": ms(p.p0), "25": ms(p.p25), "50": ms(p.p50), "75": ms(p.p75), "90": ms(p.p90),
        "95": ms(p.p95), "99": ms(p.p99), "99.5": ms(p.p99_5), "100": ms(p.p100),
    })
}

/// Calls that executed on the backend: what a Hystrix thread pool counts as executed.
fn executed(counts: &switchyard_actors::Counts) -> u64 {
    [Event::Success, Event::Failure, Event::Timeout, Event::BadRequest].iter().map(|&e| counts.get(e)).sum()
}

/// The `HystrixCommand` event of one dependency at `now_ms` (epoch milliseconds).
pub fn command(d: &DependencySnapshot, now_ms: u64) -> Frame {
    let r = &d.rolling;
    let rejected = r.get(Event::Rejected);
    let (thread_rejected, semaphore_rejected) = match d.isolation {
        Isolation::Actor => (rejected, 0),
        Isolation::Semaphore => (0, rejected),
    };
    let thrown = [Event::BadRequest, Event::FallbackFailure, Event::FallbackMissing, Event::FallbackRejection]
        .iter()
        .map(|&e| r.get(e))
        .sum::<u64>();
    let mut frame = object(json!({
        "type": "HystrixCommand",
        "name": d.name,
        "group": d.name,
        "currentTime": now_ms,
        "isCircuitBreakerOpen": d.circuit_open,
        "errorPercentage": r.error_percent(),
        "errorCount": r.errors(),
        "requestCount": r.calls(),
        "rollingCountBadRequests": r.get(Event::BadRequest),
        "rollingCountCollapsedRequests": r.get(Event::Collapsed),
        "rollingCountEmit": r.get(Event::Success),
        "rollingCountExceptionsThrown": thrown,
        "rollingCountFailure": r.get(Event::Failure),
        "rollingCountFallbackEmit": r.get(Event::FallbackSuccess),
        "rollingCountFallbackFailure": r.get(Event::FallbackFailure),
        "rollingCountFallbackMissing": r.get(Event::FallbackMissing),
        "rollingCountFallbackRejection": r.get(Event::FallbackRejection),
        "rollingCountFallbackSuccess": r.get(Event::FallbackSuccess),
        "rollingCountResponsesFromCache": r.get(Event::ResponsesFromCache),
        "rollingCountSemaphoreRejected": semaphore_rejected,
        "rollingCountShortCircuited": r.get(Event::ShortCircuited),
        "rollingCountSuccess": r.get(Event::Success),
        "rollingCountThreadPoolRejected": thread_rejected,
        "rollingCountTimeout": r.get(Event::Timeout),
        "currentConcurrentExecutionCount": d.executing,
        "rollingMaxConcurrentExecutionCount": d.peak_in_flight,
        "latencyExecute_mean": ms(d.latency_execution.mean),
        "latencyExecute": latencies(&d.latency_execution),
        "latencyTotal_mean": ms(d.latency_total.mean),
        "latencyTotal": latencies(&d.latency_total),
        "reportingHosts": 1,
        "threadPool": d.name,
    }));
    frame.extend(properties(d));
    frame
}

/// The settings a `HystrixCommand` event reports (`propertyValue_*`).
fn properties(d: &DependencySnapshot) -> Frame {
    let s = &d.settings;
    object(json!({
        "propertyValue_circuitBreakerRequestVolumeThreshold": s.breaker.request_volume,
        "propertyValue_circuitBreakerSleepWindowInMilliseconds": s.breaker.sleep_window_ms,
        "propertyValue_circuitBreakerErrorThresholdPercentage": s.breaker.error_percent,
        "propertyValue_circuitBreakerForceOpen": d.forced == Some(Force::Open),
        "propertyValue_circuitBreakerForceClosed": d.forced == Some(Force::Closed),
        "propertyValue_circuitBreakerEnabled": true,
        "propertyValue_executionIsolationStrategy": match d.isolation {
            Isolation::Actor => "THREAD",
            Isolation::Semaphore => "SEMAPHORE",
        },
        "propertyValue_executionIsolationThreadTimeoutInMilliseconds": s.timeout_ms,
        "propertyValue_executionTimeoutInMilliseconds": s.timeout_ms,
        "propertyValue_executionIsolationThreadInterruptOnTimeout": false,
        "propertyValue_executionIsolationThreadPoolKeyOverride": Value::Null,
        "propertyValue_executionIsolationSemaphoreMaxConcurrentRequests": s.max_concurrent,
        "propertyValue_fallbackIsolationSemaphoreMaxConcurrentRequests": s.fallback.max_concurrent,
        "propertyValue_metricsRollingStatisticalWindowInMilliseconds": s.breaker.window_ms,
        "propertyValue_requestCacheEnabled": true,
        "propertyValue_requestLogEnabled": true,
    }))
}

/// The `HystrixThreadPool` event of one dependency's bulkhead: its places are the pool's threads
/// (`max_concurrent`), its mailbox places beyond them the queue.
pub fn thread_pool(d: &DependencySnapshot, now_ms: u64) -> Frame {
    let s = &d.settings;
    let completed = executed(&d.cumulative);
    object(json!({
        "type": "HystrixThreadPool",
        "name": d.name,
        "currentTime": now_ms,
        "currentActiveCount": d.executing,
        "currentCompletedTaskCount": completed,
        "currentCorePoolSize": s.max_concurrent,
        "currentLargestPoolSize": s.max_concurrent,
        "currentMaximumPoolSize": s.max_concurrent,
        "currentPoolSize": s.max_concurrent,
        "currentQueueSize": d.queued,
        "currentTaskCount": completed + (d.executing + d.queued) as u64,
        "rollingCountThreadsExecuted": executed(&d.rolling),
        "rollingMaxActiveThreads": d.peak_in_flight.min(s.max_concurrent),
        "rollingCountCommandRejections": d.rolling.get(Event::Rejected),
        "propertyValue_queueSizeRejectionThreshold": s.queue,
        "propertyValue_metricsRollingStatisticalWindowInMilliseconds": s.breaker.window_ms,
        "reportingHosts": 1,
    }))
}

/// The `HystrixCollapser` event of one collapser, named `dependency.operation`.
pub fn collapser(dependency: &str, collapser: &Collapser, c: &CollapserSnapshot, now_ms: u64) -> Frame {
    object(json!({
        "type": "HystrixCollapser",
        "name": format!("{dependency}.{}", c.operation),
        "currentTime": now_ms,
        "rollingCountRequestsBatched": c.rolling_requests_batched,
        "rollingCountBatches": c.rolling_batches,
        "rollingCountResponsesFromCache": 0,
        "batchSize_mean": c.batch_size_mean.round() as u64,
        "batchSize": {
            "25": c.batch_size_p25, "50": c.batch_size_p50, "75": c.batch_size_p75, "90": c.batch_size_p90,
            "95": c.batch_size_p95, "99": c.batch_size_p99, "99.5": c.batch_size_p99_5, "100": c.batch_size_max,
        },
        "propertyValue_requestCacheEnabled": true,
        "propertyValue_maxRequestsInBatch": collapser.config().max_batch,
        "propertyValue_timerDelayInMilliseconds": collapser.config().window_ms,
        "reportingHosts": 1,
    }))
}

/// Our own `SwitchyardEndpoint` event (the Hystrix Dashboard ignores types it does not know).
pub fn endpoint(e: &EndpointSnapshot, now_ms: u64) -> Frame {
    let split: Vec<Value> = e
        .split
        .iter()
        .map(|s| json!({"revision": s.revision, "variant": s.variant, "requestCount": s.requests}))
        .collect();
    object(json!({
        "type": "SwitchyardEndpoint",
        "name": e.name,
        "currentTime": now_ms,
        "requestCount": e.rolling_requests,
        "errorCount": e.rolling_errors,
        "errorPercentage": e.error_percent(),
        "latency_mean": ms(e.latency.mean),
        "latency": {"50": ms(e.latency.p50), "90": ms(e.latency.p90), "99": ms(e.latency.p99), "100": ms(e.latency.p100)},
        "split": split,
        "propertyValue_metricsRollingStatisticalWindowInMilliseconds": WINDOW.as_millis() as u64,
        "reportingHosts": 1,
    }))
}
