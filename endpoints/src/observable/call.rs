//! A dependency call as an Observable: lazy (the call starts when subscribed), one item per
//! element when the reply is a JSON array, else one item, none for an empty (silent) reply.

use std::rc::Rc;

use futures::StreamExt;
use futures::stream;
use serde_json::Value;

use super::{Observable, ObservableError};
use crate::dispatch::Dispatch;

/// `dependency.operation(args)` through `dispatch` (the request's cache, collapser and actor).
pub fn call(dispatch: Rc<dyn Dispatch>, dependency: &str, operation: &str, args: Value) -> Observable<Value> {
    let (dependency, operation) = (dependency.to_owned(), operation.to_owned());
    Observable::new(move || {
        let (dispatch, dependency, operation, args) =
            (Rc::clone(&dispatch), dependency.clone(), operation.clone(), args.clone());
        stream::once(async move { dispatch.call(&dependency, &operation, args).await })
            .flat_map(|result| {
                let items: Vec<Result<Value, ObservableError>> = match result {
                    Err(e) => vec![Err(ObservableError::Call(e))],
                    Ok(reply) => match reply.body.map(|b| b.to_value()) {
                        None => Vec::new(),
                        Some(Value::Array(items)) => items.into_iter().map(Ok).collect(),
                        Some(one) => vec![Ok(one)],
                    },
                };
                stream::iter(items)
            })
            .boxed_local()
    })
}
