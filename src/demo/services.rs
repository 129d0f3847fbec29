//! The eight demo services and their operations (design §9): arguments in, one JSON reply out.
//!
//! This is the pure part of a demo backend: no latency, no chaos, no I/O. Each operation reads its
//! arguments ([`Args`]), looks the data up, builds a typed reply and serializes it once. Collections
//! are JSON arrays (the script side emits each element). Batch operations answer in the order asked
//! and silently leave out unknown ids: that is how the collapser sees a missing item.

use std::fmt;

use serde::Serialize;
use serde_json::Value;
use switchyard_actors::{BackendError, Json};

use super::args::Args;
use super::catalog::{Audience, BOXART_SIZES, Title, boxart_url};
use super::data::DemoData;
use super::users::{USER_COUNT, User};

/// Most titles `recs.similar` returns.
pub const MAX_SIMILAR: usize = 100;
/// Titles `recs.similar` returns without a `limit`.
pub const DEFAULT_SIMILAR: usize = 10;

/// One of the demo services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// `get {id}` → user.
    Users,
    /// `status {user}` → plan, maturity, member since.
    Subscriber,
    /// `for_user {user, limit?}` → rows.
    Lists,
    /// `titles {ids}` → titles; `title {id}` → one title.
    Catalog,
    /// `predicted {user, ids}` → `{id, rating}`s.
    Ratings,
    /// `for_user {user}` → `{title_id, position_s}`s.
    Bookmarks,
    /// `boxart {ids, size}` → `{id, url}`s.
    Artwork,
    /// `similar {id, limit?}` → title ids.
    Recs,
}

impl Service {
    /// Every service, in the order of [`super::SERVICES`].
    pub const ALL: [Service; 8] = [
        Service::Users,
        Service::Subscriber,
        Service::Lists,
        Service::Catalog,
        Service::Ratings,
        Service::Bookmarks,
        Service::Artwork,
        Service::Recs,
    ];

    /// The service's name (also its dependency's name).
    pub fn name(self) -> &'static str {
        match self {
            Service::Users => "users",
            Service::Subscriber => "subscriber",
            Service::Lists => "lists",
            Service::Catalog => "catalog",
            Service::Ratings => "ratings",
            Service::Bookmarks => "bookmarks",
            Service::Artwork => "artwork",
            Service::Recs => "recs",
        }
    }

    /// The service called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The operations it answers.
    pub fn operations(self) -> &'static [&'static str] {
        match self {
            Service::Users => &["get"],
            Service::Subscriber => &["status"],
            Service::Lists | Service::Bookmarks => &["for_user"],
            Service::Catalog => &["titles", "title"],
            Service::Ratings => &["predicted"],
            Service::Artwork => &["boxart"],
            Service::Recs => &["similar"],
        }
    }

    /// Position in [`Service::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `subscriber.status`'s reply.
#[derive(Serialize)]
struct SubscriberStatus<'a> {
    user: u32,
    plan: &'a str,
    maturity: Audience,
    member_since: &'a str,
    status: &'a str,
}

/// One item of `ratings.predicted`.
#[derive(Serialize)]
struct Rating {
    id: u32,
    rating: f64,
}

/// One item of `artwork.boxart`.
#[derive(Serialize)]
struct Art {
    id: u32,
    url: String,
}

/// Answers one call of `service.operation`.
pub(crate) fn execute(data: &DemoData, service: Service, operation: &str, args: &Value) -> Result<Json, BackendError> {
    match (service, operation) {
        (Service::Users, "get") => {
            let a = Args::new("users", "get", args)?;
            reply(&user(data, &a, "id")?)
        }
        (Service::Subscriber, "status") => {
            let a = Args::new("subscriber", "status", args)?;
            let u = user(data, &a, "user")?;
            let status = SubscriberStatus {
                user: u.id,
                plan: u.plan,
                maturity: u.maturity,
                member_since: &u.member_since,
                status: "active",
            };
            reply(&status)
        }
        (Service::Lists, "for_user") => {
            let a = Args::new("lists", "for_user", args)?;
            let u = user(data, &a, "user")?;
            let limit = a.limit("limit", 1_000)?;
            let mut rows = data.rows(&u);
            rows.truncate(limit.unwrap_or(usize::MAX));
            reply(&rows)
        }
        (Service::Catalog, "titles") => {
            let a = Args::new("catalog", "titles", args)?;
            let titles: Vec<&Title> = a.ids("ids")?.into_iter().filter_map(|id| data.title(id)).collect();
            reply(&titles)
        }
        (Service::Catalog, "title") => {
            let a = Args::new("catalog", "title", args)?;
            let id = a.id("id")?;
            reply(data.title(id).ok_or_else(|| a.error(format!("no title {id}")))?)
        }
        (Service::Ratings, "predicted") => {
            let a = Args::new("ratings", "predicted", args)?;
            let u = user(data, &a, "user")?;
            let ratings: Vec<Rating> = (a.ids("ids")?.into_iter())
                .filter_map(|id| data.title(id))
                .map(|t| Rating { id: t.id, rating: data.rating(&u, t) })
                .collect();
            reply(&ratings)
        }
        (Service::Bookmarks, "for_user") => {
            let a = Args::new("bookmarks", "for_user", args)?;
            reply(&data.bookmarks(&user(data, &a, "user")?))
        }
        (Service::Artwork, "boxart") => {
            let a = Args::new("artwork", "boxart", args)?;
            let ids = a.ids("ids")?;
            let size = a.one_of("size", &BOXART_SIZES)?;
            let art: Vec<Art> = ids
                .into_iter()
                .filter_map(|id| data.title(id))
                .map(|t| Art { id: t.id, url: boxart_url(t.id, size) })
                .collect();
            reply(&art)
        }
        (Service::Recs, "similar") => {
            let a = Args::new("recs", "similar", args)?;
            let id = a.id("id")?;
            let limit = a.limit("limit", MAX_SIMILAR)?.unwrap_or(DEFAULT_SIMILAR);
            reply(&data.similar(id, limit).ok_or_else(|| a.error(format!("no title {id}")))?)
        }
        _ => Err(BackendError::bad_request(format!(
            "{service} has no operation `{operation}` (it has: {})",
            service.operations().join(", ")
        ))),
    }
}

/// The user named by argument `name`, which must exist.
fn user(data: &DemoData, args: &Args<'_>, name: &str) -> Result<User, BackendError> {
    let id = args.id(name)?;
    data.user(id).ok_or_else(|| args.error(format!("no user {id} (users are 1 to {USER_COUNT})")))
}

/// Serializes a reply once. Our types always serialize; should one not, the service failed.
fn reply<T: Serialize + ?Sized>(value: &T) -> Result<Json, BackendError> {
    Json::from_value(value).map_err(|e| BackendError::failure(format!("cannot serialize the reply: {e}")))
}
