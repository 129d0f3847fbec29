//! The script limits in force on this node (`[scripts]`): read by every request as it starts and
//! changed while the node runs (`PUT /admin/v1/scripts/limits`), like a dependency's settings —
//! node-local, not replicated, back to the configuration's at the next start. The memory and stack
//! limits reach runtimes already pooled too: the pool applies them each time it hands one out.

use std::sync::Arc;

use arc_swap::ArcSwap;
use parking_lot::Mutex;
use switchyard_actors::ConfigError;
use switchyard_endpoints::script::{ScriptLimits, ScriptLimitsPatch};

/// The limits in force, swapped whole on each change. Reads are lock-free.
pub struct LiveLimits {
    current: ArcSwap<ScriptLimits>,
    /// Serialises changes, so two at once do not lose one another's fields.
    changing: Mutex<()>,
}

impl LiveLimits {
    /// Starting from the configuration's `limits`.
    pub fn new(limits: ScriptLimits) -> Self {
        Self { current: ArcSwap::from_pointee(limits), changing: Mutex::new(()) }
    }

    /// The limits in force now.
    pub fn current(&self) -> Arc<ScriptLimits> {
        self.current.load_full()
    }

    /// Applies `patch` to the limits in force, checked as a whole (keys named as in the body:
    /// `memory_bytes`); an invalid result changes nothing.
    pub fn update(&self, patch: &ScriptLimitsPatch) -> Result<Arc<ScriptLimits>, ConfigError> {
        let _changing = self.changing.lock();
        let new = Arc::new(patch.apply_to(&self.current.load(), "")?);
        self.current.store(Arc::clone(&new));
        Ok(new)
    }
}

impl std::fmt::Debug for LiveLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LiveLimits").field(&self.current.load()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_the_other_limits_and_a_bad_one_changes_nothing() {
        let live = LiveLimits::new(ScriptLimits::default());
        let patch = ScriptLimitsPatch { max_calls: Some(7), ..Default::default() };
        assert_eq!(*live.update(&patch).unwrap(), ScriptLimits { max_calls: 7, ..Default::default() });
        let bad = ScriptLimitsPatch { memory_bytes: Some(1), deadline_ms: Some(100), ..Default::default() };
        assert_eq!(live.update(&bad).unwrap_err().field, "memory_bytes");
        assert_eq!(*live.current(), ScriptLimits { max_calls: 7, ..Default::default() }, "nothing of it applied");
    }
}
