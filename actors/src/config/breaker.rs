//! `[dependencies.NAME.breaker]`: when the circuit opens, how long it stays open, and the
//! operator's override (design §3).

use serde::{Deserialize, Serialize};

/// Circuit breaker settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Length of the rolling statistics window.
    pub window_ms: u64,
    /// Buckets the window is divided into; old buckets roll off one at a time.
    pub buckets: u32,
    /// Calls in the window before the breaker may open at all.
    pub request_volume: u64,
    /// Opens when errors are at least this percentage of calls in the window.
    pub error_percent: u8,
    /// Time open before a single trial call is let through.
    pub sleep_window_ms: u64,
    /// Also open when the newest `recent_ms` of the window alone (whole buckets, the current one
    /// included) hold `request_volume` calls with `error_percent` errors: a sudden latency cliff
    /// then opens the breaker within about a second instead of waiting for the errors to
    /// outweigh a whole window of earlier successes. 0 (the default) keeps Hystrix's behaviour.
    pub recent_ms: u64,
    /// Operator override from the admin API.
    pub force: Option<Force>,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window_ms: 10_000,
            buckets: 10,
            request_volume: 20,
            error_percent: 50,
            sleep_window_ms: 5_000,
            recent_ms: 0,
            force: None,
        }
    }
}

/// A forced breaker state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Force {
    /// Every call is short-circuited.
    Open,
    /// Every call goes through, whatever the error rate (statistics are still kept).
    Closed,
}

impl BreakerConfig {
    /// How many of the newest buckets `recent_ms` covers (0: the recent view is off).
    pub fn recent_buckets(&self) -> usize {
        if self.recent_ms == 0 {
            return 0;
        }
        let width = (self.window_ms / u64::from(self.buckets.max(1))).max(1);
        self.recent_ms.div_ceil(width) as usize
    }
}
