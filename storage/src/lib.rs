//! The endpoint store: sled trees of endpoints, revisions, routing and audit, replicated with Raft
//! (design §7).
//!
//! Empty until the store issue lands; it knows nothing of scripts or HTTP.
