//! The sample device endpoints (`examples/endpoints/*.js`), embedded in the binary so that
//! `switchyard serve` works from any directory. Until the store exists they are published into the
//! endpoint registry at startup; afterwards they seed an empty store.

use switchyard_endpoints::registry::{EndpointRegistry, PublishError};

/// `(namespace, name, source)` of every sample.
pub const SAMPLES: [(&str, &str, &str); 5] = [
    ("tv", "home", include_str!("../examples/endpoints/tv.home.js")),
    ("ps3", "home", include_str!("../examples/endpoints/ps3.home.js")),
    ("android", "home", include_str!("../examples/endpoints/android.home.js")),
    ("ios", "home", include_str!("../examples/endpoints/ios.home.js")),
    ("web", "home", include_str!("../examples/endpoints/web.home.js")),
];

/// Publishes every sample as revision 1 of its endpoint.
pub fn load(registry: &EndpointRegistry) -> Result<(), PublishError> {
    for (namespace, name, source) in SAMPLES {
        registry.publish(namespace, name, source, "switchyard", "sample endpoint")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_compiles() {
        let registry = EndpointRegistry::new();
        load(&registry).unwrap();
        assert_eq!(registry.list().len(), SAMPLES.len());
    }
}
