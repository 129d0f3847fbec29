//! The sample device endpoints (`examples/endpoints/*.js`), embedded in the binary so that
//! `switchyard serve` works from any directory: they seed a store created at first start, and only
//! then (see [`crate::app`]).

/// `(namespace, name, source)` of every sample.
pub const SAMPLES: [(&str, &str, &str); 5] = [
    ("tv", "home", include_str!("../examples/endpoints/tv.home.js")),
    ("ps3", "home", include_str!("../examples/endpoints/ps3.home.js")),
    ("android", "home", include_str!("../examples/endpoints/android.home.js")),
    ("ios", "home", include_str!("../examples/endpoints/ios.home.js")),
    ("web", "home", include_str!("../examples/endpoints/web.home.js")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_compiles() {
        for (namespace, name, source) in SAMPLES {
            switchyard_endpoints::script::compile("sample.js", source)
                .unwrap_or_else(|e| panic!("{namespace}/{name}: {e}"));
        }
    }
}
