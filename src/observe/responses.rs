//! Every HTTP answer either listener gave, counted by listener and status
//! (`switchyard_http_responses_total` in `/metrics`): device requests that never reach an endpoint
//! (a request head over its limit, an unknown path) and every admin answer (a publish refused with
//! 507 on a full disk, a 401) are counted like the endpoints' own answers. Lock-free: one atomic per
//! status, bumped by the listeners' guard ([`crate::listener`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// Which listener answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// Device traffic.
    Public,
    /// The admin API, dashboard, streams and metrics.
    Admin,
}

impl Listener {
    /// The `listener` label.
    pub fn name(self) -> &'static str {
        match self {
            Listener::Public => "public",
            Listener::Admin => "admin",
        }
    }
}

/// Statuses 100–599, one counter each, per listener.
const STATUSES: usize = 500;

/// Answers by listener and status since start.
pub struct ResponseCounts {
    public: Box<[AtomicU64]>,
    admin: Box<[AtomicU64]>,
}

impl Default for ResponseCounts {
    fn default() -> Self {
        let zeros = || (0..STATUSES).map(|_| AtomicU64::new(0)).collect();
        Self { public: zeros(), admin: zeros() }
    }
}

impl ResponseCounts {
    fn of(&self, listener: Listener) -> &[AtomicU64] {
        match listener {
            Listener::Public => &self.public,
            Listener::Admin => &self.admin,
        }
    }

    /// Counts one answer; a status outside 100–599 cannot be sent and is not counted.
    pub fn record(&self, listener: Listener, status: u16) {
        if let Some(counter) = usize::from(status).checked_sub(100).and_then(|i| self.of(listener).get(i)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Answers with `status` so far.
    pub fn get(&self, listener: Listener, status: u16) -> u64 {
        usize::from(status)
            .checked_sub(100)
            .and_then(|i| self.of(listener).get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// Every (listener, status, count) with a count above zero.
    pub fn nonzero(&self) -> Vec<(Listener, u16, u64)> {
        [Listener::Public, Listener::Admin]
            .into_iter()
            .flat_map(|listener| {
                self.of(listener).iter().enumerate().filter_map(move |(i, c)| {
                    let n = c.load(Ordering::Relaxed);
                    (n > 0).then(|| (listener, i as u16 + 100, n))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_listener_and_status_and_ignores_impossible_statuses() {
        let counts = ResponseCounts::default();
        counts.record(Listener::Public, 431);
        counts.record(Listener::Public, 431);
        counts.record(Listener::Admin, 507);
        counts.record(Listener::Admin, 100);
        counts.record(Listener::Admin, 599);
        counts.record(Listener::Admin, 99);
        counts.record(Listener::Admin, 600);
        assert_eq!(counts.get(Listener::Public, 431), 2);
        assert_eq!(counts.get(Listener::Admin, 431), 0);
        assert_eq!(
            counts.nonzero(),
            vec![
                (Listener::Public, 431, 2),
                (Listener::Admin, 100, 1),
                (Listener::Admin, 507, 1),
                (Listener::Admin, 599, 1)
            ]
        );
    }
}
