//! `Observable<T>` (design §4): a cold, lazily subscribed stream of `T` that may end with an error,
//! for in-process Rust endpoints; the script API's JavaScript `Observable` mirrors it.
//!
//! An Observable is a recipe: nothing runs until [`Observable::subscribe`] (or
//! [`Observable::collect`]), and every subscription runs it again. It is built on `futures`
//! streams and is not `Send`: endpoints run on one actix worker thread. An error ends the stream
//! (no item follows it) unless an `on_error_*` operator replaces it.

mod call;
mod combine;
mod operators;

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use futures::stream::{self, LocalBoxStream};
use futures::{Stream, StreamExt};
use switchyard_actors::CallError;

pub use call::call;

/// Why an Observable ended early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObservableError {
    /// A dependency call failed (its fallback, if any, failed too).
    #[error("{}: {}", .0.dependency, .0.message)]
    Call(CallError),
    /// `timeout`: no item within the duration.
    #[error("no item within {0:?}")]
    Timeout(Duration),
    /// `first` on an empty Observable.
    #[error("no elements in sequence")]
    Empty,
    /// Anything else an endpoint reports.
    #[error("{0}")]
    Message(String),
}

/// The items of one subscription.
pub type Items<T> = LocalBoxStream<'static, Result<T, ObservableError>>;

/// A cold stream of `T`; cloning shares the recipe.
pub struct Observable<T> {
    subscribe: Rc<dyn Fn() -> Items<T>>,
}

impl<T> Clone for Observable<T> {
    fn clone(&self) -> Self {
        Self { subscribe: Rc::clone(&self.subscribe) }
    }
}

impl<T: 'static> Observable<T> {
    /// From a function that starts one subscription's stream.
    pub fn new(subscribe: impl Fn() -> Items<T> + 'static) -> Self {
        Self { subscribe: Rc::new(subscribe) }
    }

    /// Starts a subscription. The stream ends after the first error.
    pub fn subscribe(&self) -> Items<T> {
        until_error((self.subscribe)())
    }

    /// Every item, or the error that ended the stream. The subscription starts when the
    /// returned future is first polled.
    pub fn collect(&self) -> impl Future<Output = Result<Vec<T>, ObservableError>> + 'static {
        let source = self.clone();
        async move {
            let mut items = Vec::new();
            let mut stream = source.subscribe();
            while let Some(item) = stream.next().await {
                items.push(item?);
            }
            Ok(items)
        }
    }

    /// One item.
    pub fn just(value: T) -> Self
    where
        T: Clone,
    {
        Self::new(move || stream::once(futures::future::ready(Ok(value.clone()))).boxed_local())
    }

    /// Each item of a collection, in order. (Named as in design §4; it is not `FromIterator`,
    /// which could not keep the collection for later subscriptions.)
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T> + Clone + 'static,
    {
        Self::new(move || stream::iter(items.clone().into_iter().map(Ok)).boxed_local())
    }

    /// No items.
    pub fn empty() -> Self {
        Self::new(|| stream::empty().boxed_local())
    }

    /// Ends with `error` at once.
    pub fn error(error: ObservableError) -> Self {
        Self::new(move || stream::once(futures::future::ready(Err(error.clone()))).boxed_local())
    }

    /// One item from a future, started anew by each subscription.
    pub fn from_future<F, Fut>(start: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Result<T, ObservableError>> + 'static,
    {
        Self::new(move || stream::once(start()).boxed_local())
    }

    /// The items of a stream, made anew by each subscription.
    pub fn from_stream<F, S>(start: F) -> Self
    where
        F: Fn() -> S + 'static,
        S: Stream<Item = Result<T, ObservableError>> + 'static,
    {
        Self::new(move || start().boxed_local())
    }
}

/// Ends a stream after its first error.
fn until_error<T: 'static>(items: Items<T>) -> Items<T> {
    items
        .scan(false, |failed, item| {
            let out = if *failed { None } else { Some(item) };
            if let Some(Err(_)) = &out {
                *failed = true;
            }
            futures::future::ready(out)
        })
        .boxed_local()
}
