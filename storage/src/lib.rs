//! The endpoint store: revisions, routing and audit in sled (design §6, §7).
#![forbid(unsafe_code)]

pub mod codec;
pub mod command;
pub mod key;
pub mod model;
pub mod pick;
pub mod rejection;
pub mod routing;

pub use command::{Command, Outcome};
pub use key::EndpointKey;
pub use model::{AuditAction, AuditEntry, EndpointRecord, MAX_ACTIVE_HISTORY, RevisionMeta, RevisionRecord};
pub use pick::{CANARY, Pick, pick, pick_bucket, user_bucket};
pub use rejection::{Rejection, VariantProblem};
pub use routing::{BUCKETS, Canary, MAX_VARIANTS, Routing, Variant};
