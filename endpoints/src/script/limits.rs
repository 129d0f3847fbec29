//! `[scripts]`: the sandbox limits every endpoint script runs under (design §5), with defaults.
//!
//! A script that crosses one is stopped and answers 500 with `limit` in the error; its runtime is
//! discarded, so nothing it did can reach the next request.

use serde::{Deserialize, Serialize};
use switchyard_actors::ConfigError;

/// Limits of one script execution (one device request).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScriptLimits {
    /// Heap of one QuickJS runtime (one request at a time uses it).
    pub memory_bytes: usize,
    /// JavaScript stack (deep recursion stops here).
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
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<ScriptLimits>("max_call = 3").unwrap_err();
        assert!(err.to_string().contains("max_call"), "{err}");
    }
}
