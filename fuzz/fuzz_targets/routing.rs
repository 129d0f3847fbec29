//! The routing JSON of `PUT /admin/v1/endpoints/{ns}/{name}/routing`: any bytes, parsed as the
//! admin API parses them and validated against an endpoint whose newest revision the first byte
//! gives. A routing that validates must route every bucket and user to a revision that exists,
//! name only its own variants, and validate again to itself (the rounding is idempotent).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_storage::{BUCKETS, CANARY, EndpointKey, Routing, pick, pick_bucket};

fuzz_target!(|data: &[u8]| {
    let Some((&first, json)) = data.split_first() else { return };
    let newest = u32::from(first % 8) + 1;
    let Ok(routing) = serde_json::from_slice::<Routing>(json) else { return };
    let Ok(valid) = routing.validated(newest) else { return };
    assert_eq!(valid.validated(newest).as_ref(), Ok(&valid), "validation is idempotent");
    let names: Vec<&str> = valid.variants.iter().map(|v| v.name.as_str()).collect();
    for bucket in (0..BUCKETS).step_by(97).chain([BUCKETS - 1]) {
        let chosen = pick_bucket(&valid, bucket);
        assert!((1..=newest).contains(&chosen.revision), "bucket {bucket} → revision {}", chosen.revision);
        if let Some(variant) = chosen.variant {
            assert!(variant == CANARY || names.contains(&variant), "unknown variant {variant}");
        }
    }
    let endpoint = EndpointKey::new("tv", "home");
    for user in ["", "7", "ada", "\u{0}"] {
        let chosen = pick(&valid, &endpoint, Some(user), 0);
        assert!((1..=newest).contains(&chosen.revision));
    }
});
