//! Demo users and what belongs to each: profile, bookmarks and predicted ratings.
//!
//! Nothing here is stored. A user is generated on demand from its own stream `(seed, id)`, in a
//! microsecond, so there can be a hundred thousand of them without a startup cost; bookmarks have
//! their own stream, and a predicted rating is a hash of `(seed, user, title)`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::catalog::{Audience, Catalog};
use super::countries::{COUNTRIES, Country};
use super::rng::{Domain, hash3, rng_for};

/// Users are `1..=USER_COUNT`.
pub const USER_COUNT: u32 = 100_000;

/// Most bookmarks a user has.
pub const MAX_BOOKMARKS: usize = 20;

/// A demo user's profile, as the users service returns it.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    /// Id, `1..=USER_COUNT`.
    pub id: u32,
    /// Full name, in the style of the country.
    pub name: String,
    /// ISO 3166-1 alpha-2 code.
    pub country: &'static str,
    /// BCP 47 language tag.
    pub language: &'static str,
    /// `basic`, `standard` or `premium`.
    pub plan: &'static str,
    /// What the profile may watch.
    pub maturity: Audience,
    /// `YYYY-MM-DD`.
    pub member_since: String,
    /// Index into `COUNTRIES`, for "Top 10 in …".
    #[serde(skip)]
    pub(crate) country_index: usize,
}

impl User {
    /// The country's display name.
    pub fn country_name(&self) -> &'static str {
        COUNTRIES[self.country_index].name
    }
}

/// A bookmark: where the user stopped watching a title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Bookmark {
    /// The title.
    pub title_id: u32,
    /// Seconds into it.
    pub position_s: u32,
}

/// User `id`, or `None` outside `1..=USER_COUNT`.
pub fn user(seed: u64, id: u64) -> Option<User> {
    let id = u32::try_from(id).ok().filter(|id| (1..=USER_COUNT).contains(id))?;
    let mut rng = rng_for(seed, Domain::User, u64::from(id));
    let country_index = weighted_country(&mut rng);
    let country: &Country = &COUNTRIES[country_index];
    let first = country.names.first[rng.random_range(0..country.names.first.len())];
    let last = country.names.last[rng.random_range(0..country.names.last.len())];
    let plan = ["basic", "basic", "basic", "standard", "standard", "standard", "standard", "premium", "premium"]
        [rng.random_range(0..9)];
    let maturity = match rng.random_range(0..20) {
        0..2 => Audience::Kids,
        2..5 => Audience::Teen,
        _ => Audience::Adult,
    };
    // Members since 2011, more of them recent.
    let span = (LAST_DAY - FIRST_DAY) as f64;
    let day = LAST_DAY - (rng.random::<f64>().powf(1.6) * span) as i64;
    Some(User {
        id,
        name: format!("{first} {last}"),
        country: country.code,
        language: country.language,
        plan,
        maturity,
        member_since: format_date(day),
        country_index,
    })
}

fn weighted_country(rng: &mut ChaCha8Rng) -> usize {
    let total: u32 = COUNTRIES.iter().map(|c| c.weight).sum();
    let mut ticket = rng.random_range(0..total);
    for (i, country) in COUNTRIES.iter().enumerate() {
        if ticket < country.weight {
            return i;
        }
        ticket -= country.weight;
    }
    0
}

/// The user's bookmarks (0 to `MAX_BOOKMARKS`), most recent first: popular titles the user may see,
/// each at a position inside its running time.
pub fn bookmarks(seed: u64, catalog: &Catalog, user: &User) -> Vec<Bookmark> {
    let mut rng = rng_for(seed, Domain::Bookmarks, u64::from(user.id));
    let count = rng.random_range(0..=MAX_BOOKMARKS);
    let pool = catalog.eligible(user.maturity);
    let pool = &pool[..pool.len().min(1_500)];
    rand::seq::index::sample(&mut rng, pool.len(), count.min(pool.len()))
        .into_iter()
        .filter_map(|i| catalog.get(u64::from(pool[i])))
        .map(|title| {
            let length_s = u32::from(title.runtime_min) * 60;
            Bookmark { title_id: title.id, position_s: rng.random_range(60..length_s.saturating_sub(60).max(61)) }
        })
        .collect()
}

/// The rating (1.0 to 5.0, one decimal) the user is predicted to give the title: popular titles
/// rate higher, each user is a little more or less generous, and each pair has its own taste.
pub fn predicted_rating(seed: u64, user: u32, title_popularity: f64, title: u32) -> f64 {
    let generosity = hash3(seed, Domain::Rating, u64::from(user), 0) - 0.5;
    let taste = hash3(seed, Domain::Rating, u64::from(user), u64::from(title)) - 0.5;
    let raw = 2.8 + 1.6 * title_popularity + 0.8 * generosity + 2.2 * taste;
    (raw.clamp(1.0, 5.0) * 10.0).round() / 10.0
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const FIRST_DAY: i64 = days_from_civil(2011, 1, 1);
const LAST_DAY: i64 = days_from_civil(2025, 12, 31);

/// `YYYY-MM-DD` of a day count since 1970-01-01.
fn format_date(days: i64) -> String {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_day_counts() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(days_from_civil(2024, 2, 29)), "2024-02-29");
        assert_eq!(format_date(FIRST_DAY), "2011-01-01");
        assert_eq!(format_date(LAST_DAY), "2025-12-31");
    }

    #[test]
    fn users_exist_only_in_range_and_are_deterministic() {
        assert!(user(1, 0).is_none());
        assert!(user(1, u64::from(USER_COUNT) + 1).is_none());
        let (a, b) = (user(1, 77).expect("exists"), user(1, 77).expect("exists"));
        assert_eq!(
            (a.name.as_str(), a.country, a.member_since.as_str()),
            (b.name.as_str(), b.country, &*b.member_since)
        );
        let names: Vec<String> = (1..=50).map(|id| user(1, id).expect("exists").name).collect();
        let other: Vec<String> = (1..=50).map(|id| user(2, id).expect("exists").name).collect();
        assert_ne!(names, other);
    }

    #[test]
    fn countries_plans_and_maturity_follow_their_weights() {
        let users: Vec<User> = (1..=5_000).filter_map(|id| user(9, id)).collect();
        let share = |f: &dyn Fn(&User) -> bool| users.iter().filter(|u| f(u)).count() * 100 / users.len();
        let us = share(&|u| u.country == "US");
        assert!((22..=34).contains(&us), "US {us}%");
        assert!((5..=15).contains(&share(&|u| u.maturity == Audience::Kids)));
        assert!((15..=30).contains(&share(&|u| u.plan == "premium")));
        assert!(
            users.iter().all(|u| u.member_since.as_str() >= "2011-01-01" && u.member_since.as_str() <= "2025-12-31")
        );
    }

    #[test]
    fn ratings_stay_in_range_with_one_decimal() {
        for title in 1..500 {
            let r = predicted_rating(3, 42, f64::from(title % 10) / 10.0, title);
            assert!((1.0..=5.0).contains(&r), "{r}");
            assert_eq!((r * 10.0).round() / 10.0, r);
            assert_eq!(r, predicted_rating(3, 42, f64::from(title % 10) / 10.0, title));
        }
    }
}
