//! The chaos switch (Netflix's latency monkey): per service, inject added latency, a share of
//! failures, or hangs, for a while or until cleared.
//!
//! A [`Chaos`] handle is shared (`Arc` inside, cheap to clone) between the backend that obeys it and
//! whoever flips it (the admin API, the demo HTTP server). The settings sit behind an `ArcSwap`, so
//! the call path reads them without a lock and pays nothing when chaos is off. Expiry is on tokio's
//! clock, so paused-clock tests can watch it end. [`ChaosBackend`] applies it in front of any
//! [`Backend`].

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchyard_actors::{Backend, BackendError, Json};
use tokio::time::Instant;

use super::rng::{Dice, Domain};

/// Longest latency chaos may add: ten minutes.
pub const MAX_CHAOS_LATENCY_MS: u64 = 600_000;

/// What to inject (`PUT …/chaos` bodies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChaosSettings {
    /// Added to every call's latency.
    pub latency_ms: u64,
    /// Share of calls, 0 to 100, that fail with `chaos: injected error`.
    pub error_percent: u8,
    /// Calls never answer.
    pub hang: bool,
    /// Seconds until the settings lapse by themselves; `None`: until cleared.
    pub duration_s: Option<u64>,
}

/// Settings that cannot be applied, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("chaos.{field}: {message}")]
pub struct ChaosError {
    /// The field at fault.
    pub field: &'static str,
    /// Why.
    pub message: String,
}

impl ChaosSettings {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), ChaosError> {
        let err = |field, message: String| Err(ChaosError { field, message });
        if self.error_percent > 100 {
            return err("error_percent", format!("must be from 0 to 100, got {}", self.error_percent));
        }
        if self.latency_ms > MAX_CHAOS_LATENCY_MS {
            return err("latency_ms", format!("must be at most {MAX_CHAOS_LATENCY_MS}, got {}", self.latency_ms));
        }
        if self.duration_s == Some(0) {
            return err("duration_s", "must be at least 1 (or absent: until cleared)".into());
        }
        Ok(())
    }
}

/// Settings in force and when they lapse.
#[derive(Debug)]
struct Active {
    settings: ChaosSettings,
    until: Option<Instant>,
}

/// What chaos does to one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Injection {
    /// Answer normally, after this added latency.
    Delay(Duration),
    /// Fail with an injected error after this latency.
    Fail(Duration),
    /// Never answer.
    Hang,
}

/// A shareable chaos switch.
#[derive(Clone, Debug)]
pub struct Chaos {
    state: Arc<ArcSwapOption<Active>>,
    /// Decides which calls fail; seeded, so a run is reproducible for a given order of calls.
    dice: Arc<Dice>,
}

impl Default for Chaos {
    fn default() -> Self {
        Self::seeded(0, 0)
    }
}

impl Chaos {
    /// A switch that is off.
    pub fn new() -> Self {
        Self::default()
    }

    /// A switch whose failure draws come from `(seed, stream)`.
    pub(crate) fn seeded(seed: u64, stream: u64) -> Self {
        Self { state: Arc::new(ArcSwapOption::empty()), dice: Arc::new(Dice::new(seed, Domain::Chaos, stream)) }
    }

    /// Applies `settings` from now on (replacing any); invalid settings change nothing.
    pub fn set(&self, settings: ChaosSettings) -> Result<(), ChaosError> {
        settings.validate()?;
        let until = settings.duration_s.map(|s| Instant::now() + Duration::from_secs(s));
        tracing::info!(?settings, "chaos set");
        self.state.store(Some(Arc::new(Active { settings, until })));
        Ok(())
    }

    /// Turns chaos off.
    pub fn clear(&self) {
        if self.state.swap(None).is_some() {
            tracing::info!("chaos cleared");
        }
    }

    /// The settings in force, if any (lapsed settings are gone).
    pub fn current(&self) -> Option<ChaosSettings> {
        self.active().map(|a| a.settings.clone())
    }

    /// How long the settings in force last, if they lapse at all.
    pub fn remaining(&self) -> Option<Duration> {
        self.active()?.until.map(|until| until.saturating_duration_since(Instant::now()))
    }

    fn active(&self) -> Option<Arc<Active>> {
        let guard = self.state.load();
        let active = guard.as_ref()?;
        if active.until.is_some_and(|until| Instant::now() >= until) {
            // Lapsed: remove it, unless someone has set new settings meanwhile.
            let _ = self.state.compare_and_swap(&*guard, None);
            return None;
        }
        Some(Arc::clone(active))
    }

    /// What chaos does to the next call; `None` when off (the common case, one atomic load).
    pub(crate) fn draw(&self) -> Option<Injection> {
        let active = self.active()?;
        let s = &active.settings;
        if s.hang {
            return Some(Injection::Hang);
        }
        let delay = Duration::from_millis(s.latency_ms);
        let fail = s.error_percent > 0 && self.dice.next_f64() * 100.0 < f64::from(s.error_percent);
        Some(if fail { Injection::Fail(delay) } else { Injection::Delay(delay) })
    }
}

/// A backend with a chaos switch in front: the demo services' own, and usable before any other.
pub struct ChaosBackend {
    inner: Arc<dyn Backend>,
    chaos: Chaos,
}

impl ChaosBackend {
    /// `inner`, obeying `chaos`.
    pub fn new(inner: Arc<dyn Backend>, chaos: Chaos) -> Self {
        Self { inner, chaos }
    }

    /// The switch.
    pub fn chaos(&self) -> &Chaos {
        &self.chaos
    }
}

impl Backend for ChaosBackend {
    fn call(&self, operation: &str, args: &Value) -> BoxFuture<'static, Result<Json, BackendError>> {
        match self.chaos.draw() {
            None => self.inner.call(operation, args),
            Some(Injection::Hang) => std::future::pending().boxed(),
            Some(Injection::Fail(delay)) => async move {
                tokio::time::sleep(delay).await;
                Err(BackendError::failure("chaos: injected error"))
            }
            .boxed(),
            Some(Injection::Delay(delay)) => {
                let answer = self.inner.call(operation, args);
                async move {
                    tokio::time::sleep(delay).await;
                    answer.await
                }
                .boxed()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_invalid_settings_and_unknown_fields() {
        let chaos = Chaos::new();
        let error = chaos.set(ChaosSettings { error_percent: 101, ..Default::default() }).unwrap_err();
        assert_eq!(error.field, "error_percent");
        assert_eq!(chaos.current(), None, "nothing changed");
        let too_slow = ChaosSettings { latency_ms: MAX_CHAOS_LATENCY_MS + 1, ..Default::default() };
        assert_eq!(too_slow.validate().unwrap_err().field, "latency_ms");
        assert_eq!(
            ChaosSettings { duration_s: Some(0), ..Default::default() }.validate().unwrap_err().field,
            "duration_s"
        );
        let unknown = serde_json::from_str::<ChaosSettings>(r#"{"latency": 5}"#).unwrap_err();
        assert!(unknown.to_string().contains("unknown field `latency`"), "{unknown}");
        let partial: ChaosSettings = serde_json::from_str(r#"{"error_percent": 50}"#).expect("defaults fill in");
        assert_eq!(partial, ChaosSettings { error_percent: 50, ..Default::default() });
    }

    #[test]
    fn error_percent_is_the_share_of_failed_calls() {
        let chaos = Chaos::seeded(3, 1);
        for (percent, low, high) in [(0u8, 0, 0), (30, 2_700, 3_300), (100, 10_000, 10_000)] {
            chaos.set(ChaosSettings { error_percent: percent, latency_ms: 5, ..Default::default() }).expect("valid");
            let failed = (0..10_000).filter(|_| matches!(chaos.draw(), Some(Injection::Fail(_)))).count();
            assert!((low..=high).contains(&failed), "{percent}%: {failed} failed");
        }
        chaos.set(ChaosSettings { hang: true, ..Default::default() }).expect("valid");
        assert_eq!(chaos.draw(), Some(Injection::Hang));
        chaos.clear();
        assert_eq!(chaos.draw(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn settings_lapse_after_their_duration_on_the_tokio_clock() {
        let chaos = Chaos::new();
        let settings = ChaosSettings { latency_ms: 100, duration_s: Some(30), ..Default::default() };
        chaos.set(settings.clone()).expect("valid");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(chaos.current(), Some(settings));
        assert_eq!(chaos.remaining(), Some(Duration::from_secs(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(chaos.current(), None);
        assert_eq!(chaos.draw(), None);
    }
}
