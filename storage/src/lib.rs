//! The endpoint store: revisions, routing and audit in sled (design §6, §7).
//!
//! Every change is a [`Command`] applied by [`Store::apply`] in one sled transaction and flushed
//! before it returns; nothing changes the store any other way, and the decision is deterministic
//! (a pure function of the command and the state), so a Raft state machine can log the same
//! commands and apply them with the same function, recording its own position in the same
//! transaction ([`Store::apply_marked`]). A rejected command ([`Rejection`]) changes nothing. The
//! routing decision for a request, [`pick`], is a pure function of the routing, the endpoint and
//! the user. [`Store::open`] opens only a healthy store of its own environment and refuses anything
//! else with an [`OpenError`] naming what is wrong; a watermark outside sled notices writes that
//! sled lost. A full disk refuses a new command before anything is written
//! ([`StoreError::NoSpace`]); an I/O failure in sled stops the store until it is opened again
//! ([`StoreError::Failed`], [`health`]). The whole state travels as one value ([`StoreState`], [`Store::snapshot`],
//! [`Store::restore`]). It knows nothing of scripts or HTTP.
#![forbid(unsafe_code)]

mod apply;
mod codec;
pub mod command;
pub mod error;
pub mod health;
pub mod key;
mod layout;
pub mod model;
mod open;
pub mod pick;
pub mod raft;
pub mod rejection;
pub mod routing;
pub mod state;
mod store;
mod verify;
mod watermark;
mod whole;

pub use codec::{CodecError, VALUE_FORMAT, VALUE_LIMIT};
pub use command::{Command, Outcome};
pub use error::{OpenError, StoreError};
pub use health::{DEFAULT_SPACE_RESERVE, FLUSH_LIMIT, Failure};
pub use key::{EndpointKey, NAME_RULE, is_valid_name};
pub use layout::STORE_FORMAT;
pub use model::{AuditAction, AuditEntry, EndpointRecord, MAX_ACTIVE_HISTORY, RevisionMeta, RevisionRecord};
pub use pick::{CANARY, Pick, pick, pick_bucket, user_bucket};
pub use rejection::{Rejection, VariantProblem};
pub use routing::{BUCKETS, Canary, MAX_VARIANTS, Routing, Variant};
pub use state::StoreState;
pub use store::Store;
