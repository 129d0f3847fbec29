//! Deterministic randomness for the demo: every generated entity and every sampled latency comes
//! from the data seed, so the same seed always shows the same world.
//!
//! Entities get their own ChaCha stream keyed by `(seed, domain, id)` ([`rng_for`]), so user 77 or
//! the rows of user 77 are generated on demand without generating anyone else. Per-call draws
//! (latency, chaos) use [`Dice`], a lock-free SplitMix64 sequence: one atomic add per draw, cheap
//! enough for the call path, and still reproducible for a given order of calls.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What an RNG stream generates; part of its key, so two kinds of entity with the same id never
/// share a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum Domain {
    /// One catalogue title.
    Title = 1,
    /// One user's profile.
    User = 2,
    /// One user's personalised rows.
    Rows = 3,
    /// One user's bookmarks.
    Bookmarks = 4,
    /// A country's Top 10 (id: country index and maturity ceiling).
    Top10 = 5,
    /// Predicted ratings (hashed, see [`hash3`]).
    Rating = 6,
    /// Similarity scores between titles (hashed).
    Similar = 7,
    /// Per-service latency dice.
    Latency = 8,
    /// Per-service chaos dice.
    Chaos = 9,
}

/// The RNG of one entity: a ChaCha8 key made of the seed, the domain and the id.
pub(crate) fn rng_for(seed: u64, domain: Domain, id: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(domain as u64).to_le_bytes());
    key[16..24].copy_from_slice(&id.to_le_bytes());
    key[24..].copy_from_slice(b"swyddemo");
    ChaCha8Rng::from_seed(key)
}

/// SplitMix64's finaliser: a good 64-bit mix of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic hash of `(seed, domain, a, b)` in `[0, 1)`: for values of pairs (a user's rating
/// of a title) that need no stream of their own.
pub(crate) fn hash3(seed: u64, domain: Domain, a: u64, b: u64) -> f64 {
    let h = mix(mix(mix(seed ^ (domain as u64).rotate_left(56)) ^ a) ^ b.rotate_left(32));
    unit(h)
}

/// The top 53 bits of `x` as a float in `[0, 1)`.
fn unit(x: u64) -> f64 {
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A shared, lock-free sequence of uniform draws (SplitMix64 over an atomic counter).
#[derive(Debug)]
pub(crate) struct Dice(AtomicU64);

impl Dice {
    /// A sequence starting from `(seed, domain, stream)`.
    pub fn new(seed: u64, domain: Domain, stream: u64) -> Self {
        Self(AtomicU64::new(mix(seed ^ mix(domain as u64) ^ mix(stream.wrapping_add(1)))))
    }

    /// The next draw in `[0, 1)`.
    pub fn next_f64(&self) -> f64 {
        unit(mix(self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn entity_streams_depend_on_seed_domain_and_id() {
        let draw = |seed, domain, id| rng_for(seed, domain, id).random::<u64>();
        assert_eq!(draw(1, Domain::User, 7), draw(1, Domain::User, 7));
        assert_ne!(draw(1, Domain::User, 7), draw(2, Domain::User, 7));
        assert_ne!(draw(1, Domain::User, 7), draw(1, Domain::Rows, 7));
        assert_ne!(draw(1, Domain::User, 7), draw(1, Domain::User, 8));
    }

    #[test]
    fn dice_are_uniform_and_reproducible() {
        let (a, b) = (Dice::new(5, Domain::Latency, 0), Dice::new(5, Domain::Latency, 0));
        let draws: Vec<f64> = (0..10_000).map(|_| a.next_f64()).collect();
        assert!(draws.iter().all(|&d| (0.0..1.0).contains(&d)));
        assert!(draws.iter().all(|&d| d == b.next_f64()), "same seed, same sequence");
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert!((0.0..1.0).contains(&hash3(1, Domain::Rating, 2, 3)));
        assert_ne!(hash3(1, Domain::Rating, 2, 3), hash3(1, Domain::Rating, 3, 2));
    }
}
