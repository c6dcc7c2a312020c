//! Which connections the HTTP server holds: at most [`ServerOptions::max_connections`] in all
//! and [`ServerOptions::max_connections_per_client`] from one address, and at the total cap,
//! room made for a newcomer by closing the oldest connection that has not sent a whole request
//! head yet.
//!
//! Without that last rule, connections from a few dozen addresses that each send part of a
//! request head and stop fill the total cap, and every other client is refused until the
//! header timeout frees them; the attacker opens new ones as fast. A connection that has sent
//! a head (it is being served, streams events, or waits kept alive) is never closed for a
//! newcomer, and a newcomer is the last candidate itself: it is the newest, and a real client
//! sends its head at once.

use crate::ServerOptions;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What a connection's task and the admission share about it.
#[derive(Debug, Default)]
pub(crate) struct ConnectionState {
    head_seen: AtomicBool,
    evicted: Notify,
}

impl ConnectionState {
    /// The connection has sent a whole request head: it is never closed for a newcomer.
    pub(crate) fn head_seen(&self) {
        self.head_seen.store(true, Ordering::Relaxed);
    }

    /// Completes when the connection is to be closed to make room for a newcomer.
    pub(crate) async fn evicted(&self) {
        self.evicted.notified().await;
    }
}

/// The connections open now, oldest first, and how many each address has.
#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    connections: BTreeMap<u64, (IpAddr, Arc<ConnectionState>)>,
    by_client: HashMap<IpAddr, usize>,
}

impl Open {
    fn remove(&mut self, id: u64) -> Option<Arc<ConnectionState>> {
        let (client, state) = self.connections.remove(&id)?;
        if let Some(count) = self.by_client.get_mut(&client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.by_client.remove(&client);
            }
        }
        Some(state)
    }
}

/// See the [module documentation](self).
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    options: ServerOptions,
    open: Arc<Mutex<Open>>,
}

/// An admitted connection's place under the caps, given back when it is dropped.
pub(crate) struct Admitted {
    open: Arc<Mutex<Open>>,
    id: u64,
    /// Shared with the connection's service and task.
    pub(crate) state: Arc<ConnectionState>,
}

impl Admission {
    pub(crate) fn new(options: ServerOptions) -> Self {
        Self {
            options,
            open: Arc::default(),
        }
    }

    /// A place for a connection from `client`, or `None` when its address is at its cap, or
    /// the server is at its cap with every connection past its request head.
    pub(crate) fn admit(&self, client: IpAddr) -> Option<Admitted> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let from_client = open.by_client.get(&client).copied().unwrap_or(0);
        // All of a proxy's clients come from its address: only the total cap applies to it.
        let per_client_cap = self.options.trusted_proxy != Some(client);
        if per_client_cap && from_client >= self.options.max_connections_per_client {
            return None;
        }
        if open.connections.len() >= self.options.max_connections {
            let oldest_without_head = open
                .connections
                .iter()
                .find(|(_, (_, state))| !state.head_seen.load(Ordering::Relaxed))
                .map(|(id, _)| *id)?;
            if let Some(state) = open.remove(oldest_without_head) {
                state.evicted.notify_one();
            }
        }
        let id = open.next_id;
        open.next_id += 1;
        let state = Arc::new(ConnectionState::default());
        open.connections.insert(id, (client, state.clone()));
        *open.by_client.entry(client).or_default() += 1;
        Some(Admitted {
            open: self.open.clone(),
            id,
            state,
        })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Nothing if it was closed for a newcomer: its place went to that one already.
        open.remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn evicted(admitted: &Admitted) -> bool {
        // A notification waiting for it completes at once.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(std::time::Duration::ZERO, admitted.state.evicted())
                .await
                .is_ok()
        })
    }

    #[test]
    fn at_the_cap_the_oldest_connection_without_a_request_head_makes_room() {
        let admission = Admission::new(ServerOptions {
            max_connections: 3,
            max_connections_per_client: 2,
            ..ServerOptions::default()
        });
        let a = admission.admit(ip(1)).unwrap();
        let b = admission.admit(ip(1)).unwrap();
        assert!(admission.admit(ip(1)).is_none(), "its address's cap");
        let c = admission.admit(ip(2)).unwrap();
        b.state.head_seen();
        // The server is full: the oldest without a head (a) goes, not b, which is served.
        let d = admission.admit(ip(3)).unwrap();
        assert!(evicted(&a) && !evicted(&b) && !evicted(&c));
        drop(a);
        // Its place went to d: dropping it frees nothing more.
        let e = admission.admit(ip(4)).unwrap();
        assert!(evicted(&c), "the next oldest without a head");
        d.state.head_seen();
        e.state.head_seen();
        assert!(
            admission.admit(ip(5)).is_none(),
            "every connection is served"
        );
        drop(b);
        assert!(admission.admit(ip(5)).is_some());
    }
}
