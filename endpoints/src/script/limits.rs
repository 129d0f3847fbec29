//! `[scripts]`: the sandbox limits every endpoint script runs under (design §5), with defaults.
//!
//! A script that crosses one is stopped and answers 500 with `limit` in the error; its runtime is
//! discarded, so nothing it did can reach the next request. The server may change them while it
//! runs ([`ScriptLimitsPatch`]): each request reads the limits in force when it starts, and the pool
//! applies the memory and stack limits to a runtime each time it hands one out.

use serde::{Deserialize, Serialize};
use switchyard_actors::ConfigError;

/// Limits of one script execution (one device request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptLimits {
    /// Heap of one QuickJS runtime (one request at a time uses it).
    pub memory_bytes: usize,
    /// JavaScript stack (deep recursion stops here). At most [`MAX_STACK_BYTES`]: the engine's stack
    /// is the worker thread's own (2 MiB), and a limit past it would let deep recursion abort the
    /// process instead of stopping the script.
    pub stack_bytes: usize,
    /// Longest stretch of JavaScript running without yielding to wait for a call; a busy loop is
    /// stopped after this long (the interrupt handler), so it stalls its worker no longer.
    pub cpu_slice_ms: u64,
    /// Whole request, waiting for dependencies included.
    pub deadline_ms: u64,
    /// `call`s one request may make (each subscription of a call Observable is one, collapsed
    /// and cached ones included: a TV home with per-title lookups makes ~300).
    pub max_calls: usize,
    /// Response body (a document, or all streamed items together).
    pub max_response_bytes: usize,
    /// Runtimes kept warm per worker thread (each with its frozen context, ~2 MB); more are created
    /// when needed and dropped after use, so it should cover the requests a worker runs at once.
    pub pool_per_worker: usize,
    /// A revision whose requests hit a limit at least half the time, over at least this many
    /// requests within 10 seconds, is suspended (the server answers 503 without running it);
    /// 0 never suspends.
    pub suspend_after: u64,
    /// How long a suspension lasts before one trial request runs the revision again.
    pub suspend_ms: u64,
}

impl Default for ScriptLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 32 * 1024 * 1024,
            stack_bytes: 256 * 1024,
            cpu_slice_ms: 200,
            deadline_ms: 5_000,
            max_calls: 500,
            max_response_bytes: 4 * 1024 * 1024,
            pool_per_worker: 32,
            suspend_after: 5,
            suspend_ms: 5_000,
        }
    }
}

/// The largest `stack_bytes`: half of a worker thread's 2 MiB stack, the rest left to the server.
pub const MAX_STACK_BYTES: usize = 1024 * 1024;

impl ScriptLimits {
    /// Checks every value, naming the key under `prefix` (`scripts.max_calls`).
    pub fn validate(&self, prefix: &str) -> Result<(), ConfigError> {
        let at_least = |field: &str, value: u64, min: u64| {
            if value < min {
                return Err(ConfigError::new(prefix, field, format!("must be at least {min}, got {value}")));
            }
            Ok(())
        };
        at_least("memory_bytes", self.memory_bytes as u64, 1024 * 1024)?;
        at_least("stack_bytes", self.stack_bytes as u64, 16 * 1024)?;
        if self.stack_bytes > MAX_STACK_BYTES {
            let msg = format!(
                "must be at most {MAX_STACK_BYTES} (a worker thread's stack is 2 MiB), got {}",
                self.stack_bytes
            );
            return Err(ConfigError::new(prefix, "stack_bytes", msg));
        }
        at_least("cpu_slice_ms", self.cpu_slice_ms, 1)?;
        at_least("deadline_ms", self.deadline_ms, 1)?;
        at_least("max_calls", self.max_calls as u64, 1)?;
        at_least("max_response_bytes", self.max_response_bytes as u64, 1)?;
        if self.cpu_slice_ms > self.deadline_ms {
            let msg = format!("must not exceed deadline_ms ({})", self.deadline_ms);
            return Err(ConfigError::new(prefix, "cpu_slice_ms", msg));
        }
        Ok(())
    }
}

/// A change of some limits: the fields present replace those of the limits in force.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptLimitsPatch {
    /// See [`ScriptLimits::memory_bytes`].
    pub memory_bytes: Option<usize>,
    /// See [`ScriptLimits::stack_bytes`].
    pub stack_bytes: Option<usize>,
    /// See [`ScriptLimits::cpu_slice_ms`].
    pub cpu_slice_ms: Option<u64>,
    /// See [`ScriptLimits::deadline_ms`].
    pub deadline_ms: Option<u64>,
    /// See [`ScriptLimits::max_calls`].
    pub max_calls: Option<usize>,
    /// See [`ScriptLimits::max_response_bytes`].
    pub max_response_bytes: Option<usize>,
    /// See [`ScriptLimits::pool_per_worker`].
    pub pool_per_worker: Option<usize>,
    /// See [`ScriptLimits::suspend_after`].
    pub suspend_after: Option<u64>,
    /// See [`ScriptLimits::suspend_ms`].
    pub suspend_ms: Option<u64>,
}

impl ScriptLimitsPatch {
    /// `limits` with this patch's fields, checked as a whole ([`ScriptLimits::validate`], keys named
    /// under `prefix`): an invalid result is refused and nothing changes.
    pub fn apply_to(&self, limits: &ScriptLimits, prefix: &str) -> Result<ScriptLimits, ConfigError> {
        fn set<T: Copy>(field: &mut T, value: Option<T>) {
            if let Some(value) = value {
                *field = value;
            }
        }
        let mut new = limits.clone();
        set(&mut new.memory_bytes, self.memory_bytes);
        set(&mut new.stack_bytes, self.stack_bytes);
        set(&mut new.cpu_slice_ms, self.cpu_slice_ms);
        set(&mut new.deadline_ms, self.deadline_ms);
        set(&mut new.max_calls, self.max_calls);
        set(&mut new.max_response_bytes, self.max_response_bytes);
        set(&mut new.pool_per_worker, self.pool_per_worker);
        set(&mut new.suspend_after, self.suspend_after);
        set(&mut new.suspend_ms, self.suspend_ms);
        new.validate(prefix)?;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key() {
        ScriptLimits::default().validate("scripts").unwrap();
        let bad = ScriptLimits { max_calls: 0, ..Default::default() };
        assert_eq!(bad.validate("scripts").unwrap_err().field, "scripts.max_calls");
        let bad = ScriptLimits { cpu_slice_ms: 10_000, ..Default::default() };
        assert_eq!(bad.validate("scripts").unwrap_err().field, "scripts.cpu_slice_ms");
        let bad = ScriptLimits { memory_bytes: 10, ..Default::default() };
        assert_eq!(bad.validate("scripts").unwrap_err().field, "scripts.memory_bytes");
        let bad = ScriptLimits { stack_bytes: 8 << 20, ..Default::default() };
        assert_eq!(bad.validate("scripts").unwrap_err().field, "scripts.stack_bytes");
        ScriptLimits { stack_bytes: MAX_STACK_BYTES, ..Default::default() }.validate("scripts").unwrap();
    }

    #[test]
    fn a_patch_changes_only_its_fields_and_is_checked_as_a_whole() {
        let limits = ScriptLimits::default();
        let patch = ScriptLimitsPatch { memory_bytes: Some(4 << 20), max_calls: Some(3), ..Default::default() };
        let changed = patch.apply_to(&limits, "").unwrap();
        assert_eq!(changed, ScriptLimits { memory_bytes: 4 << 20, max_calls: 3, ..limits.clone() });
        assert_eq!(ScriptLimitsPatch::default().apply_to(&limits, "").unwrap(), limits);
        let bad = ScriptLimitsPatch { stack_bytes: Some(1), ..Default::default() };
        assert_eq!(bad.apply_to(&limits, "").unwrap_err().field, "stack_bytes");
        // Valid alone, not against the limits in force: a slice longer than the deadline.
        let bad = ScriptLimitsPatch { cpu_slice_ms: Some(6_000), ..Default::default() };
        assert_eq!(bad.apply_to(&limits, "").unwrap_err().field, "cpu_slice_ms");
        let err = serde_json::from_str::<ScriptLimitsPatch>(r#"{"memory": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `memory`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<ScriptLimits>("max_call = 3").unwrap_err();
        assert!(err.to_string().contains("max_call"), "{err}");
    }
}
