//! Dynamic endpoints: the `Observable` stream type, the request context and request cache, the
//! JavaScript runtime and the endpoint registry with revision routing (design §4–§6).
//!
//! Empty until the endpoints issue lands; it depends on `switchyard-actors` only, never on HTTP.
