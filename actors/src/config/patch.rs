//! Settings changed while a dependency serves (admin API `PUT /admin/v1/dependencies/{name}/settings`):
//! a patch of the fields that may change. Applying it (`SettingsPatch::apply_to`, beside the
//! policy it changes) works on a copy, validated before it replaces anything.

use serde::{Deserialize, Serialize};

use super::breaker::Force;

/// The settings that may change while the dependency serves (admin API
/// `PUT /admin/v1/dependencies/{name}/settings`). Absent fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsPatch {
    /// New call timeout.
    pub timeout_ms: Option<u64>,
    /// New execution limit.
    pub max_concurrent: Option<usize>,
    /// New queue length.
    pub queue: Option<usize>,
    /// New breaker settings (each field optional).
    pub breaker: Option<BreakerPatch>,
    /// New fallback concurrency limit.
    pub fallback_max_concurrent: Option<usize>,
}

/// Breaker fields of a [`SettingsPatch`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerPatch {
    /// New request volume threshold.
    pub request_volume: Option<u64>,
    /// New error threshold.
    pub error_percent: Option<u8>,
    /// New sleep window.
    pub sleep_window_ms: Option<u64>,
    /// New recent view (0 turns it off).
    pub recent_ms: Option<u64>,
    /// `Some(None)` clears a forced state; `Some(Some(f))` forces one.
    #[serde(with = "force_patch")]
    pub force: Option<Option<Force>>,
}

/// `force` in a patch: absent = unchanged, `null` or `"none"` = cleared, `"open"`/`"closed"` = forced.
mod force_patch {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Force;

    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Wire {
        None,
        Open,
        Closed,
    }

    pub fn serialize<S: Serializer>(v: &Option<Option<Force>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(None) => Wire::None.serialize(s),
            Some(Some(Force::Open)) => Wire::Open.serialize(s),
            Some(Some(Force::Closed)) => Wire::Closed.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Force>>, D::Error> {
        Ok(Some(match Option::<Wire>::deserialize(d)? {
            None | Some(Wire::None) => None,
            Some(Wire::Open) => Some(Force::Open),
            Some(Wire::Closed) => Some(Force::Closed),
        }))
    }
}
