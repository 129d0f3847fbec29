//! Combining several Observables: `merge` (concurrent, arrival order), `concat` (one after
//! another) and `zip` (the n-th items together).

use futures::StreamExt;
use futures::stream;

use super::{Observable, ObservableError};

impl<T: 'static> Observable<T> {
    /// All subscribed at once; items in arrival order; ends when all have ended.
    pub fn merge(sources: Vec<Observable<T>>) -> Observable<T> {
        Observable::new(move || {
            stream::iter(sources.clone()).map(|o| o.subscribe()).flatten_unordered(None).boxed_local()
        })
    }

    /// One after another, in order.
    pub fn concat(sources: Vec<Observable<T>>) -> Observable<T> {
        Observable::new(move || stream::iter(sources.clone()).map(|o| o.subscribe()).flatten().boxed_local())
    }

    /// Lists of the n-th items of every source (all polled concurrently); ends with the shortest.
    pub fn zip(sources: Vec<Observable<T>>) -> Observable<Vec<T>> {
        Observable::new(move || {
            let mut streams: Vec<_> = sources.iter().map(Observable::subscribe).collect();
            async_stream::stream! {
                if streams.is_empty() {
                    return;
                }
                loop {
                    let round = futures::future::join_all(streams.iter_mut().map(|s| s.next())).await;
                    let mut row = Vec::with_capacity(round.len());
                    for item in round {
                        match item {
                            None => return,
                            Some(Err(e)) => {
                                yield Err::<Vec<T>, ObservableError>(e);
                                return;
                            }
                            Some(Ok(v)) => row.push(v),
                        }
                    }
                    yield Ok(row);
                }
            }
            .boxed_local()
        })
    }
}
