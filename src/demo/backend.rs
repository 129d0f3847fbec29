//! `ServiceBackend`: one demo service as a [`Backend`], answering from the shared data after its
//! sampled latency.
//!
//! The reply is computed when the call starts (it takes microseconds) and released after the
//! latency, slept on tokio's clock; dropping the future (a timeout) simply drops the reply. With no
//! latency the future is ready at its first poll, so a semaphore-isolated dependency needs no timer.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use switchyard_actors::{Backend, BackendError, Json};

use super::data::DemoData;
use super::latency::Latency;
use super::rng::{Dice, Domain};
use super::services::{Service, execute};

/// One demo service over the shared data.
pub struct ServiceBackend {
    service: Service,
    data: Arc<DemoData>,
    latency: Latency,
    /// Latency draws, seeded per service.
    dice: Dice,
}

impl ServiceBackend {
    /// `service` over `data`, answering with `latency`.
    pub fn new(service: Service, data: Arc<DemoData>, latency: Latency) -> Self {
        let dice = Dice::new(data.seed(), Domain::Latency, service.index() as u64);
        Self { service, data, latency, dice }
    }

    /// Which service this is.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Its latency distribution.
    pub fn latency(&self) -> Latency {
        self.latency
    }
}

impl Backend for ServiceBackend {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        let result = execute(&self.data, self.service, operation, args);
        if self.latency.is_none() {
            return futures::future::ready(result).boxed();
        }
        let delay = self.latency.sample(self.dice.next_f64(), self.dice.next_f64());
        async move {
            tokio::time::sleep(delay).await;
            result
        }
        .boxed()
    }
}
