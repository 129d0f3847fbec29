//! The endpoint store: revisions, routing and audit in sled (design §6, §7).
//!
//! Every change is a [`Command`] applied by [`Store::apply`] in one sled transaction and flushed
//! before it returns; nothing changes the store any other way, and the decision is deterministic,
//! so a Raft state machine can log the same commands and apply them with the same function. A
//! rejected command ([`Rejection`]) changes nothing. The routing decision for a request,
//! [`pick`], is a pure function of the routing, the endpoint and the user. The store opens only a
//! healthy store of its own environment ([`OpenError`]). It knows nothing of scripts or HTTP.
#![forbid(unsafe_code)]

mod apply;
pub mod codec;
pub mod command;
pub mod error;
pub mod key;
mod layout;
pub mod model;
mod open;
pub mod pick;
pub mod rejection;
pub mod routing;
pub mod state;
mod store;
mod verify;
mod watermark;
mod whole;

pub use command::{Command, Outcome};
pub use error::{OpenError, StoreError};
pub use key::EndpointKey;
pub use layout::STORE_FORMAT;
pub use model::{AuditAction, AuditEntry, EndpointRecord, MAX_ACTIVE_HISTORY, RevisionMeta, RevisionRecord};
pub use pick::{CANARY, Pick, pick, pick_bucket, user_bucket};
pub use rejection::{Rejection, VariantProblem};
pub use routing::{BUCKETS, Canary, MAX_VARIANTS, Routing, Variant};
pub use state::StoreState;
pub use store::Store;
