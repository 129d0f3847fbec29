//! Operators on one Observable: transform, select, reduce, recover, time out.

use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream;

use super::{Items, Observable, ObservableError};

impl<T: 'static> Observable<T> {
    /// Each item through `f`.
    pub fn map<U: 'static>(&self, f: impl Fn(T) -> U + 'static) -> Observable<U> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::new(move || {
            let f = Rc::clone(&f);
            source.subscribe().map(move |item| item.map(|v| f(v))).boxed_local()
        })
    }

    /// The items for which `keep` is true.
    pub fn filter(&self, keep: impl Fn(&T) -> bool + 'static) -> Observable<T> {
        let (source, keep) = (self.clone(), Rc::new(keep));
        Observable::new(move || {
            let keep = Rc::clone(&keep);
            source
                .subscribe()
                .filter(move |item| futures::future::ready(item.as_ref().map_or(true, |v| keep(v))))
                .boxed_local()
        })
    }

    /// Calls `f` with each item as it passes.
    pub fn do_on_next(&self, f: impl Fn(&T) + 'static) -> Observable<T> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::new(move || {
            let f = Rc::clone(&f);
            source
                .subscribe()
                .inspect(move |item| {
                    if let Ok(v) = item {
                        f(v);
                    }
                })
                .boxed_local()
        })
    }

    /// Each item's Observable, all subscribed at once; items in arrival order.
    pub fn flat_map<U: 'static>(&self, f: impl Fn(T) -> Observable<U> + 'static) -> Observable<U> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::new(move || {
            let f = Rc::clone(&f);
            source.subscribe().map(move |item| inner(item, &*f)).flatten_unordered(None).boxed_local()
        })
    }

    /// Each item's Observable, one after another, in order.
    pub fn concat_map<U: 'static>(&self, f: impl Fn(T) -> Observable<U> + 'static) -> Observable<U> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::new(move || {
            let f = Rc::clone(&f);
            source.subscribe().map(move |item| inner(item, &*f)).flatten().boxed_local()
        })
    }

    /// The first `n` items.
    pub fn take(&self, n: usize) -> Observable<T> {
        let source = self.clone();
        Observable::new(move || source.subscribe().take(n).boxed_local())
    }

    /// All but the first `n` items.
    pub fn skip(&self, n: usize) -> Observable<T> {
        let source = self.clone();
        Observable::new(move || {
            let mut seen = 0;
            source
                .subscribe()
                .filter(move |item| {
                    let pass = item.is_err() || seen >= n;
                    seen += 1;
                    futures::future::ready(pass)
                })
                .boxed_local()
        })
    }

    /// The first item; [`ObservableError::Empty`] when there is none.
    pub fn first(&self) -> Observable<T> {
        let source = self.clone();
        Observable::new(move || {
            let mut items = source.subscribe();
            stream::once(async move { items.next().await.unwrap_or(Err(ObservableError::Empty)) }).boxed_local()
        })
    }

    /// All items as one list.
    pub fn to_list(&self) -> Observable<Vec<T>> {
        let source = self.clone();
        Observable::from_future(move || {
            let source = source.clone();
            async move { source.collect().await }
        })
    }

    /// Folds the items into one value, starting from `seed`.
    pub fn reduce<A: Clone + 'static>(&self, seed: A, f: impl Fn(A, T) -> A + 'static) -> Observable<A> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::from_future(move || {
            let (source, f, seed) = (source.clone(), Rc::clone(&f), seed.clone());
            async move {
                let mut acc = seed;
                let mut items = source.subscribe();
                while let Some(item) = items.next().await {
                    acc = f(acc, item?);
                }
                Ok(acc)
            }
        })
    }

    /// `value` when the stream ends without items.
    pub fn default_if_empty(&self, value: T) -> Observable<T>
    where
        T: Clone,
    {
        let source = self.clone();
        Observable::new(move || {
            let (mut items, value) = (source.subscribe(), value.clone());
            async_stream::stream! {
                let mut any = false;
                while let Some(item) = items.next().await {
                    any = true;
                    yield item;
                }
                if !any {
                    yield Ok(value);
                }
            }
            .boxed_local()
        })
    }

    /// An error becomes one last item, `f(error)`.
    pub fn on_error_return(&self, f: impl Fn(&ObservableError) -> T + 'static) -> Observable<T> {
        let f = Rc::new(f);
        self.on_error_resume(move |e| {
            let value = f(&e);
            let cell = std::cell::RefCell::new(Some(value));
            Observable::new(move || stream::iter(cell.borrow_mut().take().map(Ok)).boxed_local())
        })
    }

    /// An error is replaced by the items of `f(error)`.
    pub fn on_error_resume(&self, f: impl Fn(ObservableError) -> Observable<T> + 'static) -> Observable<T> {
        let (source, f) = (self.clone(), Rc::new(f));
        Observable::new(move || {
            let (mut items, f) = (source.subscribe(), Rc::clone(&f));
            async_stream::stream! {
                while let Some(item) = items.next().await {
                    match item {
                        Ok(v) => yield Ok(v),
                        Err(e) => {
                            let mut rest = f(e).subscribe();
                            while let Some(item) = rest.next().await {
                                yield item;
                            }
                            break;
                        }
                    }
                }
            }
            .boxed_local()
        })
    }

    /// Fails with [`ObservableError::Timeout`] when no item (or the end) comes within `limit` of
    /// subscribing or of the previous item.
    pub fn timeout(&self, limit: Duration) -> Observable<T> {
        let source = self.clone();
        Observable::new(move || {
            let mut items = source.subscribe();
            async_stream::stream! {
                loop {
                    match tokio::time::timeout(limit, items.next()).await {
                        Ok(Some(item)) => yield item,
                        Ok(None) => break,
                        Err(_) => {
                            yield Err(ObservableError::Timeout(limit));
                            break;
                        }
                    }
                }
            }
            .boxed_local()
        })
    }
}

/// The inner stream for one outer item (an outer error passes through as the inner's only item).
fn inner<T: 'static, U: 'static>(item: Result<T, ObservableError>, f: &dyn Fn(T) -> Observable<U>) -> Items<U> {
    match item {
        Ok(v) => f(v).subscribe(),
        Err(e) => stream::once(futures::future::ready(Err(e))).boxed_local(),
    }
}
