//! Compiled revisions, cached by the SHA-256 of their source: the same source compiles once, on
//! whatever endpoint and under whatever revision number it is published (a republish, a rollback
//! through a new revision, two endpoints sharing a script). Bounded: least recently used
//! compilations beyond the capacity are dropped (the registry keeps the routed ones alive anyway).

use std::num::NonZeroUsize;

use lru::LruCache;
use parking_lot::Mutex;
use switchyard_endpoints::script::{self, CompiledScript, ScriptError};

/// Every revision compiles as this module: errors and stack frames then name a position in *the
/// revision's* source, and the same source compiles to the same bytecode on every endpoint.
pub const MODULE_NAME: &str = "endpoint.js";

/// Compilations by SHA-256 of the source.
pub struct CompiledCache {
    scripts: Mutex<LruCache<String, CompiledScript>>,
}

impl CompiledCache {
    /// Keeps at most `capacity` compilations.
    pub fn new(capacity: usize) -> Self {
        Self { scripts: Mutex::new(LruCache::new(NonZeroUsize::new(capacity.max(1)).unwrap_or(NonZeroUsize::MIN))) }
    }

    /// The compiled form of `source` (whose hash is `sha256`), compiling it if it is not cached.
    pub fn get_or_compile(&self, sha256: &str, source: &str) -> Result<CompiledScript, ScriptError> {
        if let Some(compiled) = self.scripts.lock().get(sha256) {
            return Ok(compiled.clone());
        }
        // Compiled outside the lock: a 100 KB script takes milliseconds.
        let compiled = script::compile(MODULE_NAME, source)?;
        self.scripts.lock().put(sha256.to_owned(), compiled.clone());
        Ok(compiled)
    }

    /// Compilations cached now.
    pub fn len(&self) -> usize {
        self.scripts.lock().len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use switchyard_storage::model::sha256_hex;

    use super::*;

    #[test]
    fn the_same_source_compiles_once_and_errors_are_not_cached() {
        let cache = CompiledCache::new(4);
        let source = "export default () => 1";
        let sha = sha256_hex(source);
        let first = cache.get_or_compile(&sha, source).unwrap();
        let again = cache.get_or_compile(&sha, source).unwrap();
        assert_eq!(cache.len(), 1);
        assert!(first.shares_bytes_with(&again), "the second lookup is the first compilation");
        let bad = "export default (";
        assert!(cache.get_or_compile(&sha256_hex(bad), bad).is_err());
        assert_eq!(cache.len(), 1);
    }
}
