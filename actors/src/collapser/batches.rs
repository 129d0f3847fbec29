//! The collapser's decisions as a pure state machine: which batch a call joins, when a batch is
//! opened, full or expired, what the batch call asks for and which reply item goes to which caller.
//!
//! Time is an argument and waiters are a type parameter, so every decision is unit-tested without
//! actix, tokio tasks or channels (style: decisions pure, actors thin). The actor side in
//! [`super`] only spawns a send when [`Batches::add`] says `Full`, or arms a timer when it says
//! `Opened` and sends whatever [`Batches::expire`] hands back. Item keys stay JSON values and are
//! compared as values ([`ItemKey`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::time::Instant;

use super::items::ItemKey;
use crate::config::CollapserConfig;
use crate::json::{self, Json};

/// Which open batch a call belongs to: calls share a batch only if they hash to the same shard and
/// agree on every argument besides the key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BatchKey {
    /// Hash of the item key modulo `shards` (0 with one shard).
    shard: u32,
    /// The canonical JSON text of the other arguments.
    rest: String,
}

/// A call split for batching.
#[derive(Debug)]
pub(crate) struct Routed {
    /// The batch it may join.
    pub key: BatchKey,
    /// Its arguments without the key: shared by the whole batch.
    pub rest: Map<String, Value>,
    /// Its item key, as the caller gave it.
    pub item: Value,
}

/// Why a call cannot be batched (the caller's fault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    /// The arguments are not a JSON object.
    NotAnObject,
    /// The key argument is missing.
    MissingKey,
}

/// Splits a single call's arguments into its batch key, shared remainder and item key.
pub(crate) fn route(config: &CollapserConfig, args: &Value) -> Result<Routed, RouteError> {
    let object = args.as_object().ok_or(RouteError::NotAnObject)?;
    let item = object.get(&config.key_arg).ok_or(RouteError::MissingKey)?.clone();
    let mut rest = object.clone();
    rest.remove(&config.key_arg);
    let shard = if config.shards > 1 {
        let mut hasher = DefaultHasher::new();
        ItemKey::of(&item).hash(&mut hasher);
        (hasher.finish() % u64::from(config.shards)) as u32
    } else {
        0
    };
    let key = BatchKey { shard, rest: json::canonical(&Value::Object(rest.clone())) };
    Ok(Routed { key, rest, item })
}

/// An open batch: who waits for which item.
#[derive(Debug)]
pub(crate) struct Batch<W> {
    /// Distinguishes this batch from a later one under the same key (a timer may outlive it).
    pub id: u64,
    /// The arguments every call of the batch shares.
    rest: Map<String, Value>,
    /// Each caller's item key (as given) and the caller.
    waiters: Vec<(Value, W)>,
}

/// What adding a waiter did.
#[derive(Debug)]
pub(crate) enum Added<W> {
    /// A new batch: arm a timer for `deadline`, then [`Batches::expire`] it by `key` and `id`.
    Opened { key: BatchKey, id: u64, deadline: Instant },
    /// Joined an open batch; nothing to do.
    Joined,
    /// The batch reached `max_batch`: send it now (it is no longer open).
    Full(Batch<W>),
}

/// The open batches of one collapser.
#[derive(Debug)]
pub(crate) struct Batches<W> {
    /// The id of the last batch opened.
    last_id: u64,
    /// Open batches by key; a batch leaves when it fills up or its window ends.
    open: HashMap<BatchKey, Batch<W>>,
    /// How long a batch stays open.
    window: Duration,
    /// Most waiters in one batch.
    max_batch: usize,
}

impl<W> Batches<W> {
    /// No open batch, shaped by a validated `config`.
    pub fn new(config: &CollapserConfig) -> Self {
        Self {
            last_id: 0,
            open: HashMap::new(),
            window: Duration::from_millis(config.window_ms),
            max_batch: config.max_batch.max(1),
        }
    }

    /// Adds a waiter at `now`: opens a batch, joins one, or fills it.
    pub fn add(&mut self, routed: Routed, waiter: W, now: Instant) -> Added<W> {
        let Routed { key, rest, item } = routed;
        match self.open.entry(key) {
            Entry::Occupied(mut open) => {
                open.get_mut().waiters.push((item, waiter));
                if open.get().waiters.len() >= self.max_batch { Added::Full(open.remove()) } else { Added::Joined }
            }
            Entry::Vacant(slot) => {
                self.last_id += 1;
                let batch = Batch { id: self.last_id, rest, waiters: vec![(item, waiter)] };
                if self.max_batch == 1 {
                    return Added::Full(batch);
                }
                let key = slot.key().clone();
                slot.insert(batch);
                Added::Opened { key, id: self.last_id, deadline: now + self.window }
            }
        }
    }

    /// The window of batch `id` ended: the batch to send, or `None` if it already went out full.
    pub fn expire(&mut self, key: &BatchKey, id: u64) -> Option<Batch<W>> {
        match self.open.get(key) {
            Some(batch) if batch.id == id => self.open.remove(key),
            _ => None,
        }
    }
}

/// One waiter's share of a batch reply.
#[derive(Debug)]
pub(crate) struct Delivery<W> {
    /// The item key the caller asked for.
    pub key: Value,
    /// The caller.
    pub waiter: W,
    /// Its item, or `None` when the reply left it out.
    pub item: Option<Json>,
}

impl<W> Batch<W> {
    /// Waiters in the batch (duplicates included).
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// The batch call's arguments, the shared ones plus `batch_arg` = the distinct item keys in
    /// key order, and how many distinct items that is.
    pub fn args(&self, batch_arg: &str) -> (Value, usize) {
        let mut items: Vec<(ItemKey, &Value)> =
            self.waiters.iter().map(|(item, _)| (ItemKey::of(item), item)).collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.dedup_by(|a, b| a.0 == b.0);
        let distinct = items.len();
        let mut args = self.rest.clone();
        args.insert(batch_arg.to_owned(), Value::Array(items.into_iter().map(|(_, v)| v.clone()).collect()));
        (Value::Object(args), distinct)
    }

    /// Pairs each waiter with its item from `items` (by value, see [`ItemKey`]).
    pub fn deliver(self, items: &HashMap<ItemKey, Json>) -> Vec<Delivery<W>> {
        self.waiters
            .into_iter()
            .map(|(key, waiter)| {
                let item = items.get(&ItemKey::of(&key)).cloned();
                Delivery { key, waiter, item }
            })
            .collect()
    }

    /// The waiters, for when the batch call failed as a whole.
    pub fn into_waiters(self) -> impl Iterator<Item = W> {
        self.waiters.into_iter().map(|(_, waiter)| waiter)
    }

    /// Its waiters, to watch while the batch is in flight.
    pub fn waiters_mut(&mut self) -> impl Iterator<Item = &mut W> {
        self.waiters.iter_mut().map(|(_, waiter)| waiter)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::collapser::items::split;

    fn config(max_batch: usize) -> CollapserConfig {
        CollapserConfig { into: "titles".into(), max_batch, window_ms: 10, ..Default::default() }
    }

    fn routed(config: &CollapserConfig, args: Value) -> Routed {
        route(config, &args).unwrap()
    }

    /// Adds waiter `w` asking for `args`.
    fn add(b: &mut Batches<u32>, c: &CollapserConfig, args: Value, w: u32, now: Instant) -> Added<u32> {
        b.add(routed(c, args), w, now)
    }

    fn full(added: Added<u32>) -> Batch<u32> {
        match added {
            Added::Full(batch) => batch,
            other => panic!("expected Full, got {other:?}"),
        }
    }

    fn opened(added: Added<u32>) -> (BatchKey, u64, Instant) {
        match added {
            Added::Opened { key, id, deadline } => (key, id, deadline),
            other => panic!("expected Opened, got {other:?}"),
        }
    }

    fn reply(items: Value) -> HashMap<ItemKey, Json> {
        split(&items.to_string(), &config(10)).unwrap()
    }

    #[test]
    fn the_first_add_opens_a_batch_whose_window_ends_one_window_later() {
        let (c, t0) = (config(3), Instant::now());
        let mut b = Batches::new(&c);
        let (_, id, deadline) = opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        assert_eq!((id, deadline), (1, t0 + Duration::from_millis(10)));
    }

    #[test]
    fn adds_within_the_window_join_the_open_batch_and_expire_sends_them_together() {
        let (c, t0) = (config(3), Instant::now());
        let mut b = Batches::new(&c);
        let (key, id, _) = opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        assert!(matches!(add(&mut b, &c, json!({"id": 2}), 2, t0 + Duration::from_millis(5)), Added::Joined));
        let batch = b.expire(&key, id).unwrap();
        assert_eq!(batch.into_waiters().collect::<Vec<_>>(), [1, 2]);
        assert!(b.expire(&key, id).is_none(), "expired once");
    }

    #[test]
    fn the_max_batch_th_add_is_full_and_the_next_add_opens_a_new_batch() {
        let (c, t0) = (config(3), Instant::now());
        let mut b = Batches::new(&c);
        opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        add(&mut b, &c, json!({"id": 2}), 2, t0);
        let batch = full(add(&mut b, &c, json!({"id": 3}), 3, t0));
        assert_eq!((batch.id, batch.len()), (1, 3));
        let (_, id, _) = opened(add(&mut b, &c, json!({"id": 4}), 4, t0));
        assert_eq!(id, 2);
    }

    #[test]
    fn max_batch_one_is_full_at_once_and_leaves_nothing_open() {
        let (c, t0) = (config(1), Instant::now());
        let mut b = Batches::new(&c);
        let first = full(add(&mut b, &c, json!({"id": 1}), 1, t0));
        let second = full(add(&mut b, &c, json!({"id": 1}), 2, t0));
        assert_ne!(first.id, second.id);
        assert!(b.open.is_empty());
    }

    #[test]
    fn expire_after_the_batch_went_out_full_is_none() {
        let (c, t0) = (config(2), Instant::now());
        let mut b = Batches::new(&c);
        let (key, id, _) = opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        full(add(&mut b, &c, json!({"id": 2}), 2, t0));
        assert!(b.expire(&key, id).is_none());
    }

    #[test]
    fn expire_with_a_stale_id_after_a_reopen_leaves_the_new_batch_alone() {
        let (c, t0) = (config(2), Instant::now());
        let mut b = Batches::new(&c);
        let (key, old, _) = opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        full(add(&mut b, &c, json!({"id": 2}), 2, t0));
        let (same_key, new, _) = opened(add(&mut b, &c, json!({"id": 3}), 3, t0 + Duration::from_millis(1)));
        assert_eq!(key, same_key);
        assert!(b.expire(&key, old).is_none(), "the old timer must not send the new batch");
        let batch = b.expire(&key, new).unwrap();
        assert_eq!(batch.into_waiters().collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn different_other_arguments_open_different_batches() {
        let (c, t0) = (config(10), Instant::now());
        let mut b = Batches::new(&c);
        let (en, _, _) = opened(add(&mut b, &c, json!({"id": 1, "lang": "en"}), 1, t0));
        let (fr, _, _) = opened(add(&mut b, &c, json!({"id": 2, "lang": "fr"}), 2, t0));
        assert_ne!(en, fr);
        assert!(matches!(add(&mut b, &c, json!({"lang": "en", "id": 3}), 3, t0), Added::Joined));
    }

    #[test]
    fn shards_split_keys_by_hash_and_a_key_always_lands_in_the_same_shard() {
        let c = CollapserConfig { shards: 4, ..config(10) };
        let shard = |id: u64| routed(&c, json!({ "id": id })).key.shard;
        let shards: Vec<u32> = (0..40).map(shard).collect();
        assert!(shards.iter().all(|&s| s < 4));
        assert!(shards.iter().any(|&s| s != shards[0]), "{shards:?}");
        assert_eq!((0..40).map(shard).collect::<Vec<_>>(), shards);
        assert_eq!(routed(&c, json!({"id": 7.0})).key, routed(&c, json!({"id": 7})).key);
        assert_eq!(routed(&config(10), json!({"id": 7})).key.shard, 0);
    }

    #[test]
    fn duplicate_keys_are_asked_for_once_and_every_waiter_gets_the_item() {
        let (c, t0) = (config(10), Instant::now());
        let mut b = Batches::new(&c);
        let (key, id, _) = opened(add(&mut b, &c, json!({"id": 8, "lang": "en"}), 1, t0));
        for (id, w) in [(7, 2), (8, 3)] {
            add(&mut b, &c, json!({"id": id, "lang": "en"}), w, t0);
        }
        let batch = b.expire(&key, id).unwrap();
        assert_eq!(batch.args("ids"), (json!({"ids": [7, 8], "lang": "en"}), 2));
        let items = reply(json!([{"id": 7, "n": "a"}, {"id": 8, "n": "b"}]));
        let got: Vec<(u32, Option<Json>)> = batch.deliver(&items).into_iter().map(|d| (d.waiter, d.item)).collect();
        let b8 = Some(json!({"id": 8, "n": "b"}).into());
        assert_eq!(got, [(1, b8.clone()), (2, Some(json!({"id": 7, "n": "a"}).into())), (3, b8)]);
    }

    #[test]
    fn reply_items_reach_waiters_by_value_not_by_text() {
        let (c, t0) = (config(10), Instant::now());
        let mut b = Batches::new(&c);
        let (key, id, _) = opened(add(&mut b, &c, json!({"id": 1}), 1, t0));
        add(&mut b, &c, json!({"id": "é"}), 2, t0);
        let items = split(r#"[{"id": 1.0, "n": "one"}, {"id": "\u00e9", "n": "e"}]"#, &c).unwrap();
        let got: Vec<Option<String>> = b
            .expire(&key, id)
            .unwrap()
            .deliver(&items)
            .into_iter()
            .map(|d| d.item.map(|j| j.to_value()["n"].to_string()))
            .collect();
        assert_eq!(got, [Some("\"one\"".to_owned()), Some("\"e\"".to_owned())]);
    }

    #[test]
    fn a_missing_item_is_none_for_its_waiter_only() {
        let (c, t0) = (config(10), Instant::now());
        let mut b = Batches::new(&c);
        let (key, id, _) = opened(add(&mut b, &c, json!({"id": 12}), 1, t0));
        add(&mut b, &c, json!({"id": 13}), 2, t0);
        add(&mut b, &c, json!({"id": 14}), 3, t0);
        let items = reply(json!([{"id": 12}, {"id": 14}]));
        let got: Vec<(u32, Value, bool)> = b
            .expire(&key, id)
            .unwrap()
            .deliver(&items)
            .into_iter()
            .map(|d| (d.waiter, d.key, d.item.is_some()))
            .collect();
        assert_eq!(got, [(1, json!(12), true), (2, json!(13), false), (3, json!(14), true)]);
    }

    #[test]
    fn calls_without_an_object_or_without_the_key_cannot_be_routed() {
        let c = config(10);
        assert_eq!(route(&c, &json!(5)).unwrap_err(), RouteError::NotAnObject);
        assert_eq!(route(&c, &json!({"name": "x"})).unwrap_err(), RouteError::MissingKey);
        let r = routed(&c, json!({"id": 1, "lang": "en"}));
        assert_eq!((r.item, r.rest), (json!(1), json!({"lang": "en"}).as_object().unwrap().clone()));
    }
}
