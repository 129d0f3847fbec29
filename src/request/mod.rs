//! One device request through one revision, the same way for the public listener and for
//! `switchyard run`: the `req` object ([`context`]), a dispatcher of its own (request cache →
//! collapser → dependency actor), the script on this worker's runtime pool, and the first answer
//! read off its events ([`first_answer`]). The callers only differ in how they deliver the answer
//! (an HTTP response, a terminal report).

pub mod context;

use std::rc::Rc;
use std::sync::Arc;

use switchyard_endpoints::RequestDispatch;
use switchyard_endpoints::script::{
    self, CompiledScript, ScriptEvent, ScriptFailure, ScriptRequest, ScriptResponse, ScriptRun,
};

use crate::node::Node;
pub use context::{RequestContext, Route};

/// A script running for one request, and the dispatcher recording its calls.
pub struct Execution {
    /// The script's events.
    pub run: ScriptRun,
    /// The request's dispatcher: its trace lists every call.
    pub dispatch: RequestDispatch,
}

/// Starts `script` for `context` on this thread (an actix worker or system). With `streaming`, an
/// Observable's items arrive one by one ([`FirstAnswer::Stream`]).
pub fn start(node: &Node, script: &CompiledScript, context: &RequestContext, streaming: bool) -> Execution {
    let dispatch = RequestDispatch::new(Arc::clone(&node.dependencies));
    let request = ScriptRequest { req_json: context.to_json(), streaming };
    let run = script::run(script, request, Rc::new(dispatch.clone()), &node.script_limits.current());
    Execution { run, dispatch }
}

/// How a script began to answer.
#[derive(Debug)]
pub enum FirstAnswer {
    /// The whole answer at once.
    Document(ScriptResponse),
    /// A streamed Observable: its first item (`None` when it ended empty); the rest follow on
    /// the run.
    Stream(Option<String>),
    /// It failed before answering.
    Failed(ScriptFailure),
}

/// Reads events until the script answers, collecting its `log` lines into `logs`.
pub async fn first_answer(run: &mut ScriptRun, logs: &mut Vec<(String, String)>) -> FirstAnswer {
    loop {
        match run.next().await {
            Some(ScriptEvent::Log { level, message }) => logs.push((level, message)),
            Some(ScriptEvent::Document(response)) => return FirstAnswer::Document(response),
            Some(ScriptEvent::Item(item)) => return FirstAnswer::Stream(Some(item)),
            Some(ScriptEvent::End) => return FirstAnswer::Stream(None),
            Some(ScriptEvent::Failed(failure)) => return FirstAnswer::Failed(failure),
            None => return FirstAnswer::Failed(ScriptFailure::Invalid("the script stopped without answering".into())),
        }
    }
}
