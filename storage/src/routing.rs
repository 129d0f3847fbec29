//! An endpoint's routing — which revision serves its traffic — and its validation.
//!
//! The JSON shape is a contract (design §6): `{"active": N, "canary": {"revision": M, "percent": P}
//! | null, "variants": [{"name": "b", "revision": K, "percent": Q}]}`. Percentages honour two
//! decimals, because traffic is split in 10,000 buckets ([`crate::pick`]); validation rounds them so
//! the stored routing says exactly what is served. Validation is pure and deterministic: a routing
//! that fails it is a [`Rejection`] and is never stored.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::key::is_valid_name;
use crate::rejection::{Rejection, VariantProblem};

/// Traffic is split in this many buckets: one bucket is 0.01 %.
pub const BUCKETS: u32 = 10_000;

/// At most this many variants per endpoint.
pub const MAX_VARIANTS: usize = 32;

/// Which revisions serve an endpoint's traffic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Routing {
    /// Serves everything the canary and the variants do not take.
    pub active: u32,
    /// A new revision trying a small share of the traffic before it becomes active.
    #[serde(default)]
    pub canary: Option<Canary>,
    /// A/B variants, each a named share of the traffic.
    #[serde(default)]
    pub variants: Vec<Variant>,
}

/// The canary share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Canary {
    /// The revision on trial.
    pub revision: u32,
    /// Its share of the traffic, 0 to 100 (two decimals honoured).
    pub percent: f64,
}

/// One A/B variant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Variant {
    /// Reported with each request it serves; `[a-z0-9][a-z0-9_-]{0,63}`, not `canary`.
    pub name: String,
    /// The revision it runs.
    pub revision: u32,
    /// Its share of the traffic, 0 to 100 (two decimals honoured).
    pub percent: f64,
}

impl Routing {
    /// Everything to one revision: what the first publish of an endpoint sets.
    pub fn only(active: u32) -> Self {
        Self { active, canary: None, variants: Vec::new() }
    }

    /// Checks this routing against an endpoint whose revisions are `1 ..= newest` and returns it
    /// with every percent rounded to the two decimals that are honoured.
    ///
    /// Checks, in this order: the active revision; the canary's percent and revision; the number of
    /// variants; each variant's name, percent and revision; the total share.
    pub fn validated(&self, newest: u32) -> Result<Routing, Rejection> {
        check_revision("active", self.active, newest)?;
        let mut total = 0;
        let canary = match &self.canary {
            None => None,
            Some(c) => {
                let buckets = buckets_of("canary", c.percent)?;
                check_revision("canary", c.revision, newest)?;
                total += buckets;
                Some(Canary { revision: c.revision, percent: percent_of(buckets) })
            }
        };
        if self.variants.len() > MAX_VARIANTS {
            return Err(Rejection::TooManyVariants { count: self.variants.len(), max: MAX_VARIANTS });
        }
        let mut names = BTreeSet::new();
        let mut variants = Vec::with_capacity(self.variants.len());
        for v in &self.variants {
            let problem = if v.name.is_empty() {
                Some(VariantProblem::Empty)
            } else if v.name == "canary" {
                Some(VariantProblem::Reserved)
            } else if !is_valid_name(&v.name) {
                Some(VariantProblem::Malformed)
            } else if !names.insert(v.name.as_str()) {
                Some(VariantProblem::Duplicate)
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Rejection::InvalidVariant { name: v.name.clone(), problem });
            }
            let role = format!("variant `{}`", v.name);
            let buckets = buckets_of(&role, v.percent)?;
            check_revision(&role, v.revision, newest)?;
            total += buckets;
            variants.push(Variant { name: v.name.clone(), revision: v.revision, percent: percent_of(buckets) });
        }
        if total > BUCKETS {
            return Err(Rejection::OverHundredPercent { total: percent_of(total) });
        }
        Ok(Routing { active: self.active, canary, variants })
    }
}

/// The buckets a percent takes: `percent × 100`, rounded. Saturates (never panics) on values that
/// validation refuses, so a decision over an unvalidated routing is still defined.
pub(crate) fn buckets(percent: f64) -> u32 {
    // `as` saturates: NaN and negatives give 0, huge values u32::MAX.
    (percent * 100.0).round() as u32
}

fn buckets_of(role: &str, percent: f64) -> Result<u32, Rejection> {
    if percent.is_finite() && (0.0..=100.0).contains(&percent) {
        Ok(buckets(percent))
    } else {
        Err(Rejection::InvalidPercent { role: role.to_owned(), percent })
    }
}

fn percent_of(buckets: u32) -> f64 {
    f64::from(buckets) / 100.0
}

fn check_revision(role: &str, revision: u32, newest: u32) -> Result<(), Rejection> {
    if (1..=newest).contains(&revision) {
        Ok(())
    } else {
        Err(Rejection::UnknownRevision { role: role.to_owned(), revision, newest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canary(revision: u32, percent: f64) -> Option<Canary> {
        Some(Canary { revision, percent })
    }

    fn variant(name: &str, revision: u32, percent: f64) -> Variant {
        Variant { name: name.to_owned(), revision, percent }
    }

    fn routing(active: u32, canary: Option<Canary>, variants: Vec<Variant>) -> Routing {
        Routing { active, canary, variants }
    }

    #[test]
    fn a_valid_routing_is_returned_with_rounded_percents() {
        let r = routing(1, canary(2, 10.004), vec![variant("b", 3, 33.335), variant("c-2_x", 1, 0.0)]);
        let v = r.validated(3).expect("valid");
        assert_eq!(v.canary, canary(2, 10.0));
        assert_eq!(v.variants[0].percent, 33.34);
        assert_eq!(v.variants[1].percent, 0.0);
        assert_eq!(v.validated(3).as_ref(), Ok(&v), "validation is idempotent");
    }

    #[test]
    fn revisions_must_exist() {
        let unknown = |role: &str, revision| Err(Rejection::UnknownRevision { role: role.into(), revision, newest: 3 });
        assert_eq!(routing(4, None, vec![]).validated(3), unknown("active", 4));
        assert_eq!(routing(0, None, vec![]).validated(3), unknown("active", 0));
        assert_eq!(routing(1, canary(9, 5.0), vec![]).validated(3), unknown("canary", 9));
        assert_eq!(routing(1, None, vec![variant("b", 7, 5.0)]).validated(3), unknown("variant `b`", 7));
    }

    #[test]
    fn percents_must_be_finite_and_within_0_and_100() {
        for p in [f64::NAN, f64::INFINITY, -0.5, 100.01, 1e300] {
            let got = routing(1, canary(1, p), vec![]).validated(1);
            assert!(matches!(got, Err(Rejection::InvalidPercent { ref role, .. }) if role == "canary"), "{p}: {got:?}");
            let got = routing(1, None, vec![variant("b", 1, p)]).validated(1);
            assert!(matches!(got, Err(Rejection::InvalidPercent { ref role, .. }) if role == "variant `b`"), "{got:?}");
        }
        assert!(routing(1, canary(1, 100.0), vec![]).validated(1).is_ok());
    }

    #[test]
    fn the_total_is_at_most_100_percent_counted_in_buckets() {
        let ok = routing(1, canary(1, 33.33), vec![variant("a", 1, 33.33), variant("b", 1, 33.34)]);
        assert!(ok.validated(1).is_ok(), "sums in buckets, not floats");
        let over = routing(1, canary(1, 50.0), vec![variant("a", 1, 50.01)]);
        assert_eq!(over.validated(1), Err(Rejection::OverHundredPercent { total: 100.01 }));
    }

    #[test]
    fn variant_names_follow_the_rule() {
        let problem = |name: &str| match routing(1, None, vec![variant(name, 1, 1.0)]).validated(1) {
            Err(Rejection::InvalidVariant { problem, .. }) => Some(problem),
            _ => None,
        };
        assert_eq!(problem(""), Some(VariantProblem::Empty));
        assert_eq!(problem("canary"), Some(VariantProblem::Reserved));
        for bad in ["B", "-b", "_b", "b.c", "b c", "é", &"a".repeat(65)] {
            assert_eq!(problem(bad), Some(VariantProblem::Malformed), "{bad}");
        }
        for good in ["b", "0", "a-b_c", &"a".repeat(64)] {
            assert_eq!(problem(good), None, "{good}");
        }
        let dup = routing(1, None, vec![variant("b", 1, 1.0), variant("b", 1, 1.0)]).validated(1);
        assert_eq!(dup, Err(Rejection::InvalidVariant { name: "b".into(), problem: VariantProblem::Duplicate }));
    }

    #[test]
    fn variants_are_bounded() {
        let many = (0..=MAX_VARIANTS).map(|i| variant(&format!("v{i}"), 1, 0.0)).collect();
        assert_eq!(
            routing(1, None, many).validated(1),
            Err(Rejection::TooManyVariants { count: MAX_VARIANTS + 1, max: MAX_VARIANTS })
        );
    }

    #[test]
    fn json_shape_is_the_contract() {
        let r = routing(3, canary(4, 10.0), vec![variant("b", 2, 5.5)]);
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"active": 3, "canary": {"revision": 4, "percent": 10.0},
                "variants": [{"name": "b", "revision": 2, "percent": 5.5}]})
        );
        let minimal: Routing = serde_json::from_str(r#"{"active": 2}"#).expect("canary and variants default");
        assert_eq!(minimal, Routing::only(2));
        assert_eq!(
            serde_json::to_value(Routing::only(2)).ok(),
            Some(serde_json::json!({"active": 2, "canary": null, "variants": []}))
        );
        assert!(serde_json::from_str::<Routing>(r#"{"active": 2, "canery": null}"#).is_err(), "unknown fields refused");
    }
}
