//! Rejections: the deterministic domain refusals of a command.
//!
//! A rejection depends only on the command and the state it meets, so every node of a cluster that
//! applies the same log refuses the same commands in the same way, and a refused command changes
//! nothing (no audit entry either). They are values, not I/O failures: [`crate::Store::apply`]
//! returns them inside `Ok`, and they travel back to the client through the Raft response, hence
//! serde. The server turns them into HTTP statuses (404 for an unknown endpoint, 422 for the rest).

use serde::{Deserialize, Serialize};

use crate::key::EndpointKey;

/// Why a command was refused. It changed nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// The endpoint does not exist (never published, or deleted).
    #[error("endpoint `{0}` does not exist")]
    UnknownEndpoint(EndpointKey),
    /// Routing names a revision the endpoint does not have.
    #[error("{role} names revision {revision}, which does not exist (the newest revision is {newest})")]
    UnknownRevision {
        /// Which part of the routing names it: `active`, `canary` or `variant `b``.
        role: String,
        /// The revision named.
        revision: u32,
        /// The endpoint's newest revision (revisions are 1 ..= newest).
        newest: u32,
    },
    /// A percentage that is not a finite number in [0, 100].
    #[error("the percent of {role} is {percent}; it must be a number from 0 to 100")]
    InvalidPercent {
        /// `canary` or `variant `b``.
        role: String,
        /// The value given.
        percent: f64,
    },
    /// Canary and variants together take more than all the traffic.
    #[error("canary and variants together take {total} %, more than 100 %")]
    OverHundredPercent {
        /// Their sum, as honoured (two decimals).
        total: f64,
    },
    /// A variant whose name is unusable.
    #[error("variant name `{name}` {problem}")]
    InvalidVariant {
        /// The name given.
        name: String,
        /// What is wrong with it.
        problem: VariantProblem,
    },
    /// More variants than [`crate::MAX_VARIANTS`].
    #[error("{count} variants; at most {max} are allowed")]
    TooManyVariants {
        /// Variants given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Rollback with no previously active revision to go back to.
    #[error("endpoint `{0}` has no previously active revision to roll back to")]
    NothingToRollBack(EndpointKey),
    /// The endpoint has used every revision number (2³² − 1 publishes).
    #[error("endpoint `{0}` has used every revision number")]
    RevisionsExhausted(EndpointKey),
    /// The audit log has used every sequence number (2⁶⁴ − 1 changes).
    #[error("the audit log has used every sequence number")]
    AuditExhausted,
}

/// What is wrong with a variant's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum VariantProblem {
    /// The name is empty.
    #[error("is empty")]
    Empty,
    /// Two variants have this name.
    #[error("is used by two variants")]
    Duplicate,
    /// `canary` names the canary share in a routing decision.
    #[error("is reserved for the canary")]
    Reserved,
    /// The name has characters outside the rule.
    #[error("must match [a-z0-9][a-z0-9_-]{{0,63}}")]
    Malformed,
}
