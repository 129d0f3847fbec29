//! `DemoData`: the demo's whole world, derived from one seed.
//!
//! Only the catalogue is generated up front (once, shared behind an `Arc` by every service);
//! users, their rows, bookmarks and ratings are derived on demand from `(seed, id)`, so the same
//! seed always shows the same world and a different seed a different one.

use super::catalog::{Audience, CATALOG_SIZE, Catalog, Title};
use super::rows::{Row, rows_for};
use super::users::{Bookmark, User, bookmarks, predicted_rating, user};

/// The generated world of the demo services.
pub struct DemoData {
    seed: u64,
    catalog: Catalog,
}

impl DemoData {
    /// Generates the catalogue for `seed` (the expensive part, tens of milliseconds in debug).
    pub fn new(seed: u64) -> Self {
        Self { seed, catalog: Catalog::generate(seed, CATALOG_SIZE) }
    }

    /// The seed everything derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The catalogue.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A title, if `id` is in the catalogue.
    pub fn title(&self, id: u64) -> Option<&Title> {
        self.catalog.get(id)
    }

    /// A user, if `id` is in `1..=USER_COUNT`.
    pub fn user(&self, id: u64) -> Option<User> {
        user(self.seed, id)
    }

    /// A user's personalised rows, in display order.
    pub fn rows(&self, user: &User) -> Vec<Row> {
        rows_for(self.seed, &self.catalog, user)
    }

    /// A user's bookmarks, most recent first.
    pub fn bookmarks(&self, user: &User) -> Vec<Bookmark> {
        bookmarks(self.seed, &self.catalog, user)
    }

    /// The rating a user is predicted to give a title.
    pub fn rating(&self, user: &User, title: &Title) -> f64 {
        predicted_rating(self.seed, user.id, title.popularity, title.id)
    }

    /// Up to `limit` titles like `id` (for everyone), or `None` if `id` is unknown.
    pub fn similar(&self, id: u64, limit: usize) -> Option<Vec<u32>> {
        self.catalog.similar(self.seed, id, limit, Audience::Adult)
    }
}
