//! Per-worker actors (`Placement::PerWorker`): a call from an arbiter runs on that arbiter's own
//! actor, on the caller's thread, while `max_concurrent`, the queue and the statistics stay the
//! dependency's — one count for all its actors. Real threads (arbiters), no timers: the backend
//! below is a gate the test opens, so nothing depends on the machine's speed.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::ThreadId;

use actix::Arbiter;
use common::args;
use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde_json::{Value, json};
use switchyard_actors::{
    Backend, BackendError, CallError, DependencyConfig, DependencyHandle, Json, Origin, Placement, Reply,
};
use tokio::sync::{Notify, Semaphore, oneshot};

/// A backend that notes the thread each call runs on and how many run at once, and answers only
/// when the test lets one through.
struct Gate {
    open: Arc<Semaphore>,
    entered: Arc<Notify>,
    running: Arc<AtomicUsize>,
    max_running: Arc<AtomicUsize>,
    threads: Arc<Mutex<Vec<ThreadId>>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            open: Arc::new(Semaphore::new(0)),
            entered: Arc::default(),
            running: Arc::default(),
            max_running: Arc::default(),
            threads: Arc::default(),
        }
    }
}

impl Backend for Gate {
    fn call(&self, _operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        self.threads.lock().push(std::thread::current().id());
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        self.entered.notify_one();
        let (open, running, args) = (Arc::clone(&self.open), Arc::clone(&self.running), args.clone());
        async move {
            open.acquire().await.expect("never closed").forget();
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(Json::from(json!({ "id": args["id"] })))
        }
        .boxed()
    }
}

fn start(gate: &Arc<Gate>, max_concurrent: usize, placement: Placement) -> DependencyHandle {
    start_queued(gate, max_concurrent, 4, placement)
}

fn start_queued(gate: &Arc<Gate>, max_concurrent: usize, queue: usize, placement: Placement) -> DependencyHandle {
    let config = DependencyConfig { max_concurrent, queue, timeout_ms: 60_000, ..DependencyConfig::default() };
    let backend: Arc<dyn Backend> = Arc::clone(gate) as Arc<dyn Backend>;
    DependencyHandle::builder("gated", config, backend).placement(placement).start().expect("valid config")
}

/// Waits for `condition`, made true by other threads; a test that never sees it fails (after 10 s
/// of real time: a bound on a broken test, not a measurement) instead of hanging.
async fn until(what: &str, condition: impl Fn() -> bool) {
    let waiting = async {
        while !condition() {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.unwrap_or_else(|_| panic!("never {what}"));
}

/// Calls `get {id}` from a task on `arbiter`; the answer and the calling thread come back.
fn call_on(
    arbiter: &Arbiter,
    dep: &DependencyHandle,
    id: u64,
) -> oneshot::Receiver<(Result<Reply, CallError>, ThreadId)> {
    let (tx, rx) = oneshot::channel();
    let dep = dep.clone();
    assert!(arbiter.spawn(async move {
        let answer = dep.call("get", &args(id)).await;
        let _ = tx.send((answer, std::thread::current().id()));
    }));
    rx
}

#[actix_rt::test]
async fn a_call_from_an_arbiter_runs_on_the_callers_own_thread() {
    let gate = Arc::new(Gate::default());
    gate.open.add_permits(2);
    let dep = start(&gate, 4, Placement::PerWorker);
    let worker = Arbiter::new();
    let (answer, caller) = call_on(&worker, &dep, 1).await.expect("answered");
    assert_eq!(answer.expect("succeeds").origin, Origin::Backend);
    assert_eq!(gate.threads.lock().as_slice(), [caller], "the backend ran on the caller's thread");

    // The dependency's own arbiter, for contrast: another thread.
    let own = start(&gate, 4, Placement::OwnArbiter);
    let (answer, caller) = call_on(&worker, &own, 2).await.expect("answered");
    assert!(answer.is_ok());
    assert_ne!(gate.threads.lock()[1], caller, "OwnArbiter runs it elsewhere");
    worker.stop();
}

#[actix_rt::test]
async fn max_concurrent_holds_for_the_whole_dependency_across_workers() {
    let gate = Arc::new(Gate::default());
    let dep = start(&gate, 1, Placement::PerWorker);
    let (first, second) = (Arbiter::new(), Arbiter::new());

    let one = call_on(&first, &dep, 1);
    gate.entered.notified().await;
    let two = call_on(&second, &dep, 2);
    // The second worker's actor has the call but no place: it waits, queued.
    until("1 queued", || dep.snapshot().queued >= 1).await;
    let snapshot = dep.snapshot();
    assert_eq!((snapshot.executing, snapshot.queued), (1, 1));
    assert_eq!(gate.running.load(Ordering::SeqCst), 1);

    // The first call ends on the first worker; the place it frees wakes the second worker's actor.
    gate.open.add_permits(1);
    let (answer, _) = one.await.expect("answered");
    assert_eq!(answer.expect("first succeeds").body.expect("body").to_value(), json!({"id": 1}));
    gate.entered.notified().await;
    gate.open.add_permits(1);
    let (answer, caller) = two.await.expect("answered");
    assert_eq!(answer.expect("second succeeds").body.expect("body").to_value(), json!({"id": 2}));

    assert_eq!(gate.max_running.load(Ordering::SeqCst), 1, "never two at once, whatever the worker");
    assert_eq!(gate.threads.lock()[1], caller, "the second ran on its own worker");
    let snapshot = dep.snapshot();
    assert_eq!((snapshot.executing, snapshot.queued), (0, 0));
    first.stop();
    second.stop();
}

#[actix_rt::test]
async fn a_queued_call_whose_caller_gave_up_does_not_take_the_freed_place() {
    let gate = Arc::new(Gate::default());
    let dep = start(&gate, 1, Placement::PerWorker);
    let (first, second, third) = (Arbiter::new(), Arbiter::new(), Arbiter::new());
    let one = call_on(&first, &dep, 1);
    gate.entered.notified().await;

    // A call queued on the second worker, whose caller goes away.
    let (abandon, abandoned) = oneshot::channel::<()>();
    let (gone, caller_gone) = oneshot::channel::<()>();
    let giving_up = dep.clone();
    second.spawn(async move {
        let two = args(2);
        tokio::select! {
            _ = giving_up.call("get", &two) => {},
            _ = abandoned => {},
        }
        let _ = gone.send(());
    });
    until("1 queued", || dep.snapshot().queued >= 1).await;
    abandon.send(()).expect("the caller is waiting");
    caller_gone.await.expect("the caller went away");
    // Its call stays queued (holding its place in the bulkhead) until its actor next drains.
    let three = call_on(&third, &dep, 3);
    until("2 queued", || dep.snapshot().queued >= 2).await;

    gate.open.add_permits(2);
    assert!(one.await.expect("answered").0.is_ok());
    let (answer, _) = three.await.expect("answered");
    assert_eq!(answer.expect("third succeeds").body.expect("body").to_value(), json!({"id": 3}));
    let ids: usize = gate.threads.lock().len();
    assert_eq!(ids, 2, "the abandoned call never reached the backend");
    for arbiter in [first, second, third] {
        arbiter.stop();
    }
}

#[actix_rt::test]
async fn a_workers_first_burst_fits_the_mailbox_of_its_new_actor() {
    // 30 places, more than actix's default mailbox of 16; the burst is sent before the new actor
    // on this thread has run at all.
    let gate = Arc::new(Gate::default());
    gate.open.add_permits(30);
    let dep = start_queued(&gate, 10, 20, Placement::PerWorker);
    let all_args: Vec<Value> = (0..30).map(args).collect();
    let calls = all_args.iter().map(|a| dep.call("get", a));
    let answers = futures::future::join_all(calls).await;
    let from_backend = answers.iter().filter(|a| matches!(a, Ok(reply) if reply.origin == Origin::Backend)).count();
    assert_eq!(from_backend, 30, "{answers:?}");
}
