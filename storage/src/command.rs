//! Commands — the only way the store changes — and their outcomes.
//!
//! Every mutation is one [`Command`] value applied by one function in one sled transaction
//! ([`crate::Store::apply`]). The command carries everything that varies (time, author), and
//! revision and audit numbers are assigned from the state, so applying the same commands in the same
//! order gives the same state on every node: a Raft state machine can put exactly these values in
//! its log ([`Command::encode`], [`Command::decode`]) and apply them with the same function.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::key::EndpointKey;
use crate::routing::Routing;

/// One change to the store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Adds the next revision of an endpoint, creating the endpoint (active on this revision) if it
    /// does not exist. Later publishes leave routing alone. The server has compiled the source.
    Publish {
        /// Which endpoint.
        endpoint: EndpointKey,
        /// The script.
        source: String,
        /// Who publishes it.
        author: String,
        /// The publisher's notes.
        notes: String,
        /// When (ms since the epoch), decided by whoever proposed the command.
        at_ms: u64,
    },
    /// Replaces an endpoint's routing. A new active revision pushes the old one on the rollback
    /// history.
    SetRouting {
        /// Which endpoint.
        endpoint: EndpointKey,
        /// The new routing; validated against the endpoint's revisions.
        routing: Routing,
        /// Who.
        author: String,
        /// When (ms since the epoch).
        at_ms: u64,
    },
    /// Makes the previously active revision active again and clears the canary; variants stay.
    Rollback {
        /// Which endpoint.
        endpoint: EndpointKey,
        /// Who.
        author: String,
        /// When (ms since the epoch).
        at_ms: u64,
    },
    /// Removes the endpoint: it no longer serves. Its revisions are kept and stay readable, and a
    /// later publish re-creates it with the next revision number.
    Delete {
        /// Which endpoint.
        endpoint: EndpointKey,
        /// Who.
        author: String,
        /// When (ms since the epoch).
        at_ms: u64,
    },
}

/// What a command that was not rejected did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// A revision was stored.
    Published {
        /// Its number.
        revision: u32,
        /// SHA-256 of its source, lowercase hex.
        sha256: String,
        /// This publish created the endpoint, so the revision is now active.
        activated: bool,
    },
    /// The routing now in force (percents rounded as honoured).
    RoutingSet {
        /// The routing stored.
        routing: Routing,
    },
    /// The active revision went back.
    RolledBack {
        /// It was this.
        from: u32,
        /// It is now this.
        to: u32,
    },
    /// The endpoint was removed.
    Deleted,
}

impl Command {
    /// The endpoint the command is about.
    pub fn endpoint(&self) -> &EndpointKey {
        match self {
            Command::Publish { endpoint, .. }
            | Command::SetRouting { endpoint, .. }
            | Command::Rollback { endpoint, .. }
            | Command::Delete { endpoint, .. } => endpoint,
        }
    }

    /// Who issued it.
    pub fn author(&self) -> &str {
        match self {
            Command::Publish { author, .. }
            | Command::SetRouting { author, .. }
            | Command::Rollback { author, .. }
            | Command::Delete { author, .. } => author,
        }
    }

    /// When it was issued (ms since the epoch).
    pub fn at_ms(&self) -> u64 {
        match self {
            Command::Publish { at_ms, .. }
            | Command::SetRouting { at_ms, .. }
            | Command::Rollback { at_ms, .. }
            | Command::Delete { at_ms, .. } => *at_ms,
        }
    }

    /// The command's bytes for a log: a format version, then bincode.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self)
    }

    /// Reads bytes written by [`Command::encode`]. Any bytes at all give a command or an error,
    /// never a panic, and never allocate more than the codec's limit.
    pub fn decode(bytes: &[u8]) -> Result<Command, CodecError> {
        codec::decode(bytes)
    }
}
