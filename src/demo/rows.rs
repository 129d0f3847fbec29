//! Personalised rows: the home screen of one user, 10 to 40 rows of 10 to 75 titles each.
//!
//! Rows come from the user's own stream `(seed, user)` and only ever list titles the user's
//! audience may see. They agree with the other services: "Continue Watching" is the user's
//! bookmarks, "Because you watched X" is what the recs service says is similar to X, and
//! "Top 10 in {country}" is the same for everyone of that country and audience.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::catalog::{Audience, Catalog};
use super::names::GENRES;
use super::rng::{Domain, rng_for};
use super::users::{User, bookmarks};

/// Fewest and most rows a user gets.
pub const ROWS_PER_USER: std::ops::RangeInclusive<usize> = 10..=40;
/// Fewest and most titles in a row.
pub const TITLES_PER_ROW: std::ops::RangeInclusive<usize> = 10..=75;

/// One row of a user's home screen, as the lists service returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Unique among the user's rows (`trending-now`, `genre-comedy`, `because-you-watched-12`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Catalogue ids, distinct, in display order.
    pub title_ids: Vec<u32>,
}

/// Kinds of row that are drawn at random after the fixed first rows.
#[derive(Clone, Copy, Debug)]
enum Spec {
    Genre(usize),
    NewReleases,
    Series,
    Blockbusters,
    HiddenGems,
    BecauseYouWatched,
}

/// The rows of `user`, in display order.
pub fn rows_for(seed: u64, catalog: &Catalog, user: &User) -> Vec<Row> {
    let mut rng = rng_for(seed, Domain::Rows, u64::from(user.id));
    let count = rng.random_range(ROWS_PER_USER);
    let audience = user.maturity;
    let pool = catalog.eligible(audience);
    let mut rows = Vec::with_capacity(count);

    let marks = bookmarks(seed, catalog, user);
    if marks.len() >= *TITLES_PER_ROW.start() {
        let title_ids = marks.iter().map(|b| b.title_id).collect();
        rows.push(Row { id: "continue-watching".into(), name: "Continue Watching".into(), title_ids });
    }
    let trending = sample_sorted(&mut rng, &pool[..pool.len().min(300)], None);
    rows.push(Row { id: "trending-now".into(), name: "Trending Now".into(), title_ids: trending });
    rows.push(Row {
        id: format!("top-10-{}", user.country.to_ascii_lowercase()),
        name: format!("Top 10 in {}", user.country_name()),
        title_ids: top10(seed, catalog, user.country_index, audience),
    });

    let mut specs: Vec<Spec> = (0..GENRES.len()).map(Spec::Genre).collect();
    specs.extend([Spec::NewReleases, Spec::Series, Spec::Blockbusters, Spec::HiddenGems]);
    specs.extend(std::iter::repeat_n(Spec::BecauseYouWatched, 8));
    specs.shuffle(&mut rng);
    // Every spec may come up short (a genre a kids profile barely sees); more "Because you watched"
    // rows fill the gap, each about a different title.
    let mut watched: Vec<u32> = Vec::new();
    let extra = std::iter::repeat_n(Spec::BecauseYouWatched, 60);
    for spec in specs.into_iter().chain(extra) {
        if rows.len() >= count {
            break;
        }
        if let Some(row) = build(seed, &mut rng, catalog, audience, spec, &mut watched) {
            rows.push(row);
        }
    }
    rows
}

fn build(
    seed: u64,
    rng: &mut ChaCha8Rng,
    catalog: &Catalog,
    audience: Audience,
    spec: Spec,
    watched: &mut Vec<u32>,
) -> Option<Row> {
    let pool = catalog.eligible(audience);
    let (id, name, candidates): (String, String, Vec<u32>) = match spec {
        Spec::Genre(g) => {
            let (genre, names, _) = GENRES[g];
            let slug = genre.to_ascii_lowercase().replace(' ', "-");
            (format!("genre-{slug}"), names[rng.random_range(0..2)].into(), catalog.genre_pool(audience, g).to_vec())
        }
        Spec::NewReleases => ("new-releases".into(), "New Releases".into(), filter(catalog, pool, |t| t.year >= 2023)),
        Spec::Series => {
            ("binge-worthy".into(), "Binge-Worthy TV Shows".into(), filter(catalog, pool, |t| t.kind == "series"))
        }
        Spec::Blockbusters => {
            let movies = filter(catalog, pool, |t| t.kind == "movie");
            ("blockbusters".into(), "Blockbuster Movies".into(), movies[..movies.len().min(200)].to_vec())
        }
        Spec::HiddenGems => {
            let tail = &pool[pool.len() / 2..];
            ("hidden-gems".into(), "Hidden Gems".into(), tail.to_vec())
        }
        Spec::BecauseYouWatched => {
            let top = &pool[..pool.len().min(1_000)];
            let seen = top[rng.random_range(0..top.len())];
            if watched.contains(&seen) {
                return None;
            }
            watched.push(seen);
            let title = catalog.get(u64::from(seen))?;
            let limit = rng.random_range(TITLES_PER_ROW);
            let similar = catalog.similar(seed, u64::from(seen), limit, audience)?;
            if similar.len() < *TITLES_PER_ROW.start() {
                return None;
            }
            let id = format!("because-you-watched-{seen}");
            return Some(Row { id, name: format!("Because you watched {}", title.name), title_ids: similar });
        }
    };
    if candidates.len() < *TITLES_PER_ROW.start() {
        return None;
    }
    Some(Row { id, name, title_ids: sample_sorted(rng, &candidates, Some(catalog)) })
}

fn filter(catalog: &Catalog, pool: &[u32], keep: impl Fn(&super::catalog::Title) -> bool) -> Vec<u32> {
    pool.iter().copied().filter(|&id| catalog.get(u64::from(id)).is_some_and(&keep)).collect()
}

/// 10–75 distinct ids from `pool` (ordered by popularity), kept in pool order so the most popular
/// come first; with a catalogue, a little shuffled so rows do not all look alike.
fn sample_sorted(rng: &mut ChaCha8Rng, pool: &[u32], catalog: Option<&Catalog>) -> Vec<u32> {
    let count = rng.random_range(TITLES_PER_ROW).min(pool.len());
    let mut picked = rand::seq::index::sample(rng, pool.len(), count).into_vec();
    picked.sort_unstable();
    let mut ids: Vec<u32> = picked.into_iter().map(|i| pool[i]).collect();
    if catalog.is_some() {
        // Swap a few neighbours: a human-curated feel over a strict popularity order.
        for i in (1..ids.len()).step_by(3) {
            if rng.random_bool(0.5) {
                ids.swap(i - 1, i);
            }
        }
    }
    ids
}

/// The Top 10 of a country for an audience: the same for every user who shares both.
fn top10(seed: u64, catalog: &Catalog, country: usize, audience: Audience) -> Vec<u32> {
    let mut rng = rng_for(seed, Domain::Top10, (country as u64) << 8 | u64::from(audience.ceiling()));
    let pool = catalog.eligible(audience);
    let head = &pool[..pool.len().min(60)];
    let mut picked = rand::seq::index::sample(&mut rng, head.len(), head.len().min(10)).into_vec();
    picked.sort_unstable();
    picked.into_iter().map(|i| head[i]).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::demo::catalog::CATALOG_SIZE;
    use crate::demo::users::user;

    #[test]
    fn every_user_gets_valid_rows_within_the_ranges() {
        let catalog = Catalog::generate(42, CATALOG_SIZE);
        for id in (1..=100_000).step_by(997) {
            let user = user(42, id).expect("exists");
            let rows = rows_for(42, &catalog, &user);
            assert!(ROWS_PER_USER.contains(&rows.len()), "user {id}: {} rows", rows.len());
            let ids: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            assert_eq!(ids.len(), rows.len(), "row ids are unique");
            for row in &rows {
                assert!(TITLES_PER_ROW.contains(&row.title_ids.len()), "{}: {}", row.name, row.title_ids.len());
                let distinct: HashSet<u32> = row.title_ids.iter().copied().collect();
                assert_eq!(distinct.len(), row.title_ids.len(), "{} repeats a title", row.name);
                for &t in &row.title_ids {
                    let title = catalog.get(u64::from(t)).expect("a catalogue id");
                    assert!(
                        title.level <= user.maturity.ceiling(),
                        "{} shows {} to {:?}",
                        row.name,
                        title.maturity,
                        user.maturity
                    );
                }
            }
        }
    }

    #[test]
    fn rows_agree_with_bookmarks_and_country() {
        let catalog = Catalog::generate(42, CATALOG_SIZE);
        let mut continued = 0;
        for id in 1..=40 {
            let user = user(42, id).expect("exists");
            let rows = rows_for(42, &catalog, &user);
            let marks = bookmarks(42, &catalog, &user);
            if marks.len() >= 10 {
                continued += 1;
                assert_eq!(rows[0].name, "Continue Watching");
                assert_eq!(rows[0].title_ids, marks.iter().map(|b| b.title_id).collect::<Vec<_>>());
            }
            assert!(
                rows.iter().any(|r| r.name == format!("Top 10 in {}", user.country_name()) && r.title_ids.len() == 10)
            );
            assert!(rows.iter().any(|r| r.name == "Trending Now"));
        }
        assert!(continued > 0, "some users have a Continue Watching row");
    }
}
