//! The access log: one line per device request (design §8: `request_id`, `method`, `path`,
//! `status`, `duration_ms`, `endpoint`, `revision`, `device`, `calls`; the time comes with the
//! event), through `tracing` under the target `switchyard::access`, so its level and format are the
//! subscriber's (`[log]`). The line is written by [`super::request_end::RequestEnd`] when the
//! answer is complete — for a stream, after its last item.

/// One request's access-log line.
pub struct AccessLine {
    /// The request id.
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The status sent (0 until known).
    pub status: u16,
    /// `namespace/name`, or `-` for no endpoint.
    pub endpoint: String,
    /// The revision that ran (0 for none).
    pub revision: u32,
    /// `req.device`.
    pub device: String,
    /// Dependency calls made.
    pub calls: usize,
}

impl AccessLine {
    /// A line for a request that arrived now.
    pub fn begin(request_id: &str, method: &str, path: &str) -> Self {
        Self {
            request_id: request_id.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            status: 0,
            endpoint: "-".to_owned(),
            revision: 0,
            device: String::new(),
            calls: 0,
        }
    }

    /// Writes the line for an answer that took `duration_ms`.
    pub fn write(&self, duration_ms: f64) {
        tracing::info!(
            target: "switchyard::access",
            request_id = %self.request_id,
            method = %self.method,
            path = %self.path,
            status = self.status,
            duration_ms = (duration_ms * 100.0).round() / 100.0,
            endpoint = %self.endpoint,
            revision = self.revision,
            device = %self.device,
            calls = self.calls,
            "request"
        );
    }
}
