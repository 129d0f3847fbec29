//! The routing decision: which revision serves one request, sticky per user.
//!
//! Every node must send a given user to the same revision, whichever node the request reaches and
//! whichever Rust release built it, so the user's bucket comes from a fixed, documented hash and not
//! from std's `DefaultHasher`:
//!
//! > bucket = the first 8 bytes of SHA-256(namespace ‖ `/` ‖ name ‖ 0x00 ‖ user id), read as a
//! > big-endian u64, modulo 10,000.
//!
//! An anonymous request has no identity to stick to: the caller passes a random number and its
//! remainder modulo 10,000 is the bucket, so this module stays pure and testable.
//!
//! Buckets are laid out so that changing one share moves nobody else: the canary takes buckets from
//! the bottom, `[0, canary)`; the variants take theirs from the top down, in list order; the active
//! revision gets the middle. Growing a canary from 10 % to 20 % keeps the first 10 % in it, and
//! changing the canary never moves a variant's users.

use sha2::{Digest, Sha256};

use crate::key::EndpointKey;
use crate::routing::{BUCKETS, Routing, buckets};

/// The revision picked for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick<'a> {
    /// The revision to run.
    pub revision: u32,
    /// `Some("canary")` for the canary share, `Some(name)` for a variant, `None` for the active.
    pub variant: Option<&'a str>,
}

/// The name [`Pick::variant`] gives the canary share.
pub const CANARY: &str = "canary";

/// Picks the revision for one request to `endpoint`: by the user's bucket when there is a user, by
/// `anonymous_roll` (a random number from the caller) when there is none. Allocates nothing.
pub fn pick<'a>(routing: &'a Routing, endpoint: &EndpointKey, user: Option<&str>, anonymous_roll: u64) -> Pick<'a> {
    if routing.canary.is_none() && routing.variants.is_empty() {
        // Nothing to split: every bucket is the active revision's, so skip the hash.
        return Pick { revision: routing.active, variant: None };
    }
    let bucket = match user {
        Some(user) => user_bucket(endpoint, user),
        None => (anonymous_roll % u64::from(BUCKETS)) as u32,
    };
    pick_bucket(routing, bucket)
}

/// The sticky bucket, in `0 .. 10_000`, of `user` on `endpoint` (see the module doc for the hash).
pub fn user_bucket(endpoint: &EndpointKey, user: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(endpoint.namespace.as_bytes())
        .chain_update(b"/")
        .chain_update(endpoint.name.as_bytes())
        .chain_update([0u8])
        .chain_update(user.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(BUCKETS)) as u32
}

/// Which share `bucket` falls in. Defined for any routing, validated or not (shares that overlap
/// or overflow are cut, never a panic).
pub fn pick_bucket(routing: &Routing, bucket: u32) -> Pick<'_> {
    if let Some(canary) = &routing.canary
        && bucket < buckets(canary.percent)
    {
        return Pick { revision: canary.revision, variant: Some(CANARY) };
    }
    let mut top = BUCKETS;
    for variant in &routing.variants {
        let bottom = top.saturating_sub(buckets(variant.percent));
        if bucket >= bottom && bucket < top {
            return Pick { revision: variant.revision, variant: Some(&variant.name) };
        }
        top = bottom;
    }
    Pick { revision: routing.active, variant: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::{Canary, Variant};

    fn routing(canary: f64, variants: &[(&str, f64)]) -> Routing {
        Routing {
            active: 1,
            canary: Some(Canary { revision: 2, percent: canary }),
            variants: variants
                .iter()
                .enumerate()
                .map(|(i, (name, percent))| Variant { name: (*name).into(), revision: 3 + i as u32, percent: *percent })
                .collect(),
        }
    }

    #[test]
    fn the_hash_is_pinned() {
        // Nodes of a cluster must agree across releases: changing these numbers moves users. Checked
        // independently with Python: int.from_bytes(sha256(b"tv/home\0user-1").digest()[:8], "big") % 10000.
        let tv_home = EndpointKey::new("tv", "home");
        assert_eq!(user_bucket(&tv_home, "user-1"), 147);
        assert_eq!(user_bucket(&tv_home, ""), 6764);
        assert_eq!(user_bucket(&EndpointKey::new("ps3", "home"), "user-1"), 5251);
    }

    #[test]
    fn canary_takes_the_bottom_variants_the_top_active_the_middle() {
        let r = routing(10.0, &[("b", 5.0), ("c", 1.5)]);
        let at = |b| pick_bucket(&r, b);
        assert_eq!(at(0), Pick { revision: 2, variant: Some("canary") });
        assert_eq!(at(999), Pick { revision: 2, variant: Some("canary") });
        assert_eq!(at(1000), Pick { revision: 1, variant: None });
        assert_eq!(at(9349), Pick { revision: 1, variant: None });
        assert_eq!(at(9350), Pick { revision: 4, variant: Some("c") });
        assert_eq!(at(9499), Pick { revision: 4, variant: Some("c") });
        assert_eq!(at(9500), Pick { revision: 3, variant: Some("b") });
        assert_eq!(at(9999), Pick { revision: 3, variant: Some("b") });
    }

    #[test]
    fn anonymous_requests_use_the_roll() {
        let r = routing(10.0, &[]);
        let key = EndpointKey::new("tv", "home");
        assert_eq!(pick(&r, &key, None, 999).variant, Some("canary"));
        assert_eq!(pick(&r, &key, None, 1000).variant, None);
        assert_eq!(pick(&r, &key, None, 20_999).variant, Some("canary"));
        assert_eq!(pick(&r, &key, None, u64::MAX).revision, 1, "u64::MAX % 10000 = 1615");
    }

    #[test]
    fn unvalidated_routing_never_panics() {
        let r = routing(f64::NAN, &[("b", 1e30), ("c", -3.0), ("d", f64::INFINITY)]);
        for b in [0, 5000, 9999, 10_000, u32::MAX] {
            let _ = pick_bucket(&r, b);
        }
        assert_eq!(pick_bucket(&r, 0).variant, Some("b"), "b takes everything above a NaN canary");
    }
}
