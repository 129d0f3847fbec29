//! The demo catalogue: thousands of titles generated once from the seed, with the indexes the
//! personalised rows and recommendations draw from.
//!
//! Each title has its own RNG stream (seed, id), so a title's content does not depend on the size of
//! the catalogue; only the de-duplication of names looks at earlier titles. The indexes keep title
//! ids by audience (what a kids, teen or adult profile may see) and genre, most popular first, so a
//! user's rows are a few slices and samples away.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::names::{
    ADJECTIVES, CITIES, DOC_OPENINGS, DOC_TOPICS, GENRES, GERUNDS, GOALS, KIDS_PROTAGONISTS, LANDMARKS, MATURE_GENRES,
    PEOPLE, PLACES, PROTAGONISTS, THINGS, TIMES, TITLE_NAMES, TWISTS,
};
use super::rng::{Domain, hash3, rng_for};

/// Titles in the catalogue; ids are `1..=CATALOG_SIZE`.
pub const CATALOG_SIZE: u32 = 5_000;

/// Box-art sizes.
pub const BOXART_SIZES: [&str; 3] = ["small", "medium", "large"];

/// The URL of a title's box art in one size.
pub fn boxart_url(id: u32, size: &str) -> String {
    format!("https://art.switchyard.example/boxart/{id}/{size}.jpg")
}

/// What a profile may watch: each audience sees titles up to a maturity level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// G, PG, TV-Y, TV-PG.
    Kids,
    /// Up to PG-13 and TV-14.
    Teen,
    /// Everything.
    Adult,
}

impl Audience {
    /// All audiences, in index order.
    pub const ALL: [Audience; 3] = [Audience::Kids, Audience::Teen, Audience::Adult];

    /// The highest maturity level (0 = G … 4 = NC-17) this audience sees.
    pub fn ceiling(self) -> u8 {
        match self {
            Audience::Kids => 1,
            Audience::Teen => 2,
            Audience::Adult => 4,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One catalogue title, as the catalog service returns it.
#[derive(Clone, Debug, Serialize)]
pub struct Title {
    /// Catalogue id, `1..=CATALOG_SIZE`.
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Release year.
    pub year: u16,
    /// Rating: G, PG, PG-13, R, NC-17 for movies; TV-Y, TV-PG, TV-14, TV-MA for series.
    pub maturity: &'static str,
    /// One to three genres.
    pub genres: Vec<&'static str>,
    /// One or two sentences.
    pub synopsis: String,
    /// Running time in minutes (of an episode, for series).
    pub runtime_min: u16,
    /// `movie` or `series`.
    pub kind: &'static str,
    /// Box-art URLs by size.
    pub boxart: BoxArt,
    /// Maturity level, 0 (G) to 4 (NC-17): what the audiences filter on.
    #[serde(skip)]
    pub(crate) level: u8,
    /// Hidden popularity in `[0, 1)`, for trending rows and predicted ratings.
    #[serde(skip)]
    pub(crate) popularity: f64,
    /// Indexes into `GENRES`.
    #[serde(skip)]
    genre_ids: Vec<u8>,
}

/// A title's box-art URLs.
#[derive(Clone, Debug, Serialize)]
pub struct BoxArt {
    /// Small (phones).
    pub small: String,
    /// Medium (consoles, web).
    pub medium: String,
    /// Large (TV heroes).
    pub large: String,
}

/// The generated catalogue and its indexes.
pub struct Catalog {
    titles: Vec<Title>,
    /// Title ids each audience may see, most popular first.
    eligible: [Vec<u32>; 3],
    /// The same, per genre (indexed like `GENRES`).
    by_genre: [Vec<Vec<u32>>; 3],
}

impl Catalog {
    /// Generates `size` titles from `seed`.
    pub fn generate(seed: u64, size: u32) -> Self {
        let mut seen = HashSet::with_capacity(size as usize);
        let titles: Vec<Title> = (1..=size).map(|id| generate_title(seed, id, &mut seen)).collect();
        let mut by_popularity: Vec<&Title> = titles.iter().collect();
        by_popularity.sort_by(|a, b| b.popularity.total_cmp(&a.popularity).then(a.id.cmp(&b.id)));
        let index = |audience: Audience| {
            let visible: Vec<&Title> =
                by_popularity.iter().copied().filter(|t| t.level <= audience.ceiling()).collect();
            let genres = (0..GENRES.len())
                .map(|g| visible.iter().filter(|t| t.genre_ids.contains(&(g as u8))).map(|t| t.id).collect())
                .collect();
            (visible.iter().map(|t| t.id).collect::<Vec<u32>>(), genres)
        };
        let [(k, kg), (t, tg), (a, ag)] = Audience::ALL.map(index);
        Self { titles, eligible: [k, t, a], by_genre: [kg, tg, ag] }
    }

    /// The title with this id.
    pub fn get(&self, id: u64) -> Option<&Title> {
        let index = usize::try_from(id.checked_sub(1)?).ok()?;
        self.titles.get(index)
    }

    /// Every title, by id.
    pub fn titles(&self) -> &[Title] {
        &self.titles
    }

    /// Ids of the titles `audience` may see, most popular first.
    pub fn eligible(&self, audience: Audience) -> &[u32] {
        &self.eligible[audience.index()]
    }

    /// Ids of the titles of genre `genre` (an index into the genre list) `audience` may see.
    pub(crate) fn genre_pool(&self, audience: Audience, genre: usize) -> &[u32] {
        &self.by_genre[audience.index()][genre]
    }

    /// Titles like `id` that `audience` may see, best first: sharing the most genres, then by a
    /// stable per-pair score that favours popular titles. `None` if `id` is unknown.
    pub fn similar(&self, seed: u64, id: u64, limit: usize, audience: Audience) -> Option<Vec<u32>> {
        let title = self.get(id)?;
        let mut candidates: Vec<u32> = Vec::new();
        for &g in &title.genre_ids {
            candidates.extend_from_slice(self.genre_pool(audience, g as usize));
        }
        candidates.sort_unstable();
        let mut scored: Vec<(f64, u32)> = Vec::new();
        for run in candidates.chunk_by(|a, b| a == b) {
            let other = run[0];
            if other == title.id {
                continue;
            }
            let popularity = self.get(u64::from(other)).map_or(0.0, |t| t.popularity);
            let affinity = hash3(seed, Domain::Similar, u64::from(title.id), u64::from(other));
            scored.push((run.len() as f64 + 0.6 * popularity + 0.4 * affinity, other));
        }
        let best_first = |a: &(f64, u32), b: &(f64, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if limit < scored.len() {
            scored.select_nth_unstable_by(limit, best_first);
            scored.truncate(limit);
        }
        scored.sort_by(best_first);
        Some(scored.into_iter().map(|(_, id)| id).collect())
    }
}

/// One title from its own stream; names already in `seen` are redrawn a few times.
fn generate_title(seed: u64, id: u32, seen: &mut HashSet<String>) -> Title {
    let mut rng = rng_for(seed, Domain::Title, u64::from(id));
    let series = rng.random_bool(0.3);
    let mut name = title_name(&mut rng);
    for _ in 0..4 {
        if !seen.contains(&name) {
            break;
        }
        name = title_name(&mut rng);
    }
    seen.insert(name.clone());
    let genre_count = [1, 1, 1, 2, 2, 2, 2, 3][rng.random_range(0..8)];
    // Reality is a television genre (the last one).
    let available = if series { GENRES.len() } else { GENRES.len() - 1 };
    let mut genre_ids: Vec<u8> =
        rand::seq::index::sample(&mut rng, available, genre_count).into_iter().map(|g| g as u8).collect();
    genre_ids.sort_unstable();
    let genres: Vec<&'static str> = genre_ids.iter().map(|&g| GENRES[g as usize].0).collect();
    let mature = genres.iter().any(|g| MATURE_GENRES.contains(g));
    let childrens = !mature && genres.iter().any(|g| matches!(*g, "Animation" | "Family"));
    let level = if childrens {
        rng.random_range(0..=1)
    } else if mature {
        [2, 2, 3, 3, 3, 3, 3, 4][rng.random_range(0..8)]
    } else {
        [1, 1, 1, 2, 2, 2, 2, 3, 3][rng.random_range(0..9)]
    };
    let maturity = if series {
        ["TV-Y", "TV-PG", "TV-14", "TV-MA", "TV-MA"][level as usize]
    } else {
        ["G", "PG", "PG-13", "R", "NC-17"][level as usize]
    };
    let age: f64 = rng.random::<f64>().powi(2) * 65.0;
    let year = 2025 - age as u16;
    let runtime_min = if series {
        *[22, 24, 28, 30, 42, 45, 50, 55, 60].choose(&mut rng).unwrap_or(&45)
    } else {
        80 + rng.random_range(0..=35) + rng.random_range(0..=35) + if rng.random_bool(0.1) { 30 } else { 0 }
    };
    let recency = f64::from(year - 1960) / 65.0;
    let popularity = rng.random::<f64>().powi(2) * (0.6 + 0.4 * recency);
    let synopsis = synopsis(&mut rng, childrens, genres.contains(&"Documentary"));
    let boxart =
        BoxArt { small: boxart_url(id, "small"), medium: boxart_url(id, "medium"), large: boxart_url(id, "large") };
    let kind = if series { "series" } else { "movie" };
    Title { id, name, year, maturity, genres, synopsis, runtime_min, kind, boxart, level, popularity, genre_ids }
}

fn pick<'a>(rng: &mut ChaCha8Rng, words: &[&'a str]) -> &'a str {
    words[rng.random_range(0..words.len())]
}

/// A believable title: one of a dozen patterns over the word lists, sometimes a sequel.
fn title_name(rng: &mut ChaCha8Rng) -> String {
    let name = match rng.random_range(0..13) {
        0 | 1 => format!("The {} {}", pick(rng, ADJECTIVES), pick(rng, THINGS)),
        2 => format!("The {} {}", pick(rng, ADJECTIVES), pick(rng, PEOPLE)),
        3 => format!("{} in {}", pick(rng, TIMES), pick(rng, CITIES)),
        4 | 5 => format!("{} {}", pick(rng, ADJECTIVES), pick(rng, THINGS)),
        6 => format!("The {} of {}", pick(rng, THINGS), pick(rng, CITIES)),
        7 => format!("{} of the {}", pick(rng, THINGS), pick(rng, PEOPLE)),
        8 => format!("{} {}", pick(rng, GERUNDS), pick(rng, TITLE_NAMES)),
        9 => {
            let words = if rng.random_bool(0.5) { PEOPLE } else { THINGS };
            format!("The {}'s {}", pick(rng, PEOPLE), pick(rng, words))
        }
        10 => format!("{} {}", pick(rng, CITIES), pick(rng, THINGS)),
        11 => format!("{} and the {} {}", pick(rng, TITLE_NAMES), pick(rng, ADJECTIVES), pick(rng, THINGS)),
        _ => format!("{} at the {}", pick(rng, TIMES), pick(rng, LANDMARKS)),
    };
    if rng.random_bool(0.03) {
        format!("{name} {}", ["2", "II", "III", "Returns"][rng.random_range(0..4)])
    } else {
        name
    }
}

/// One or two sentences: subject, goal, place, and sometimes a twist; documentaries have a topic.
fn synopsis(rng: &mut ChaCha8Rng, childrens: bool, documentary: bool) -> String {
    if documentary {
        return format!("{} {}.", pick(rng, DOC_OPENINGS), pick(rng, DOC_TOPICS));
    }
    let who = pick(rng, if childrens { KIDS_PROTAGONISTS } else { PROTAGONISTS });
    let place = pick(rng, PLACES).replace("{city}", pick(rng, CITIES));
    let first = format!("{who} {} {place}.", pick(rng, GOALS));
    if rng.random_bool(0.5) { format!("{first} {}", pick(rng, TWISTS)) } else { first }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_catalogue_different_seed_different() {
        let (a, b, c) = (Catalog::generate(7, 300), Catalog::generate(7, 300), Catalog::generate(8, 300));
        let names = |cat: &Catalog| cat.titles().iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.titles()[10].synopsis, b.titles()[10].synopsis);
        assert_ne!(names(&a), names(&c));
    }

    #[test]
    fn titles_have_believable_fields_and_mostly_unique_names() {
        let catalog = Catalog::generate(42, CATALOG_SIZE);
        assert_eq!(catalog.titles().len(), CATALOG_SIZE as usize);
        let unique: HashSet<&str> = catalog.titles().iter().map(|t| t.name.as_str()).collect();
        assert!(unique.len() * 100 >= CATALOG_SIZE as usize * 98, "{} unique names", unique.len());
        for (i, t) in catalog.titles().iter().enumerate() {
            assert_eq!(t.id as usize, i + 1);
            assert!((1..=3).contains(&t.genres.len()));
            assert!((1960..=2025).contains(&t.year));
            let ratings: &[&str] = if t.kind == "movie" {
                &["G", "PG", "PG-13", "R", "NC-17"]
            } else {
                &["TV-Y", "TV-PG", "TV-14", "TV-MA"]
            };
            assert!(ratings.contains(&t.maturity), "{} for a {}", t.maturity, t.kind);
            assert!((20..=180).contains(&t.runtime_min));
            assert!(t.synopsis.ends_with('.') && t.synopsis.len() > 30, "{}", t.synopsis);
            assert_eq!(t.boxart.small, format!("https://art.switchyard.example/boxart/{}/small.jpg", t.id));
        }
        let series = catalog.titles().iter().filter(|t| t.kind == "series").count();
        assert!((1000..2000).contains(&series), "{series} series");
    }

    #[test]
    fn audiences_only_see_titles_within_their_ceiling() {
        let catalog = Catalog::generate(42, 2_000);
        for audience in Audience::ALL {
            let pool = catalog.eligible(audience);
            assert!(pool.len() >= 300, "{audience:?}: {}", pool.len());
            assert!(pool.iter().all(|&id| catalog.get(u64::from(id)).is_some_and(|t| t.level <= audience.ceiling())));
        }
        assert_eq!(catalog.eligible(Audience::Adult).len(), 2_000);
    }

    #[test]
    fn similar_titles_share_a_genre_and_are_stable() {
        let catalog = Catalog::generate(42, 2_000);
        let similar = catalog.similar(42, 5, 10, Audience::Adult).expect("title 5 exists");
        assert_eq!(similar.len(), 10);
        assert!(!similar.contains(&5));
        let genres = &catalog.get(5).expect("exists").genres;
        for id in &similar {
            let other = catalog.get(u64::from(*id)).expect("valid id");
            assert!(other.genres.iter().any(|g| genres.contains(g)));
        }
        assert_eq!(catalog.similar(42, 5, 10, Audience::Adult), Some(similar));
        assert_eq!(catalog.similar(42, 0, 10, Audience::Adult), None);
    }
}
