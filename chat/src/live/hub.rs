//! The in-process hub: which connections each user has, and delivery of frames to them. It only
//! carries news of what the database already holds; losing a frame (a slow consumer is cut
//! off) costs a client nothing but a resume.
//!
//! Every connection has a bounded queue. A frame that does not fit means the client is not
//! keeping up: it is disconnected rather than allowed to grow the server's memory.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use protocol::{ConversationId, ServerEvent, UserId};
use tokio::sync::oneshot;

/// Frames a connection may have waiting before it counts as too slow.
pub const QUEUE_FRAMES: usize = 256;

/// A connection's id in the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(u64);

/// Why the hub ends a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kick {
    /// Its queue overflowed.
    TooSlow,
    /// Its session was signed out.
    SignedOut,
}

/// One frame, serialised once and shared by every recipient.
#[derive(Debug, Clone)]
pub struct Frame {
    pub event: &'static str,
    pub json: Bytes,
}

impl Frame {
    pub fn new(event: &ServerEvent) -> Self {
        Self {
            event: event.name(),
            json: Bytes::from(event.to_json()),
        }
    }
}

/// A connection's queue of frames, as its transport task reads it.
pub type Frames = flume::Receiver<Arc<Frame>>;

/// What the transport task holds: its queue and the hub's way of ending it.
pub struct Registration {
    pub id: ConnId,
    pub frames: Frames,
    pub kicked: oneshot::Receiver<Kick>,
    /// True when this is the user's first connection (they just came online).
    pub first: bool,
}

struct Conn {
    user: UserId,
    session: String,
    /// `Arc`'d frames: a queue slot is one pointer. flume rather than tokio's mpsc: an empty
    /// flume queue allocates nothing, where tokio's takes ~800 bytes up front (cache-padded
    /// channel and a first block of 32 slots), on every idle socket (BENCHMARKS.md).
    tx: flume::Sender<Arc<Frame>>,
    kick: Option<oneshot::Sender<Kick>>,
    /// Conversations whose typing events this connection wants.
    joined: HashSet<ConversationId>,
    /// Server-Sent Events streams cannot join: they get every typing event of their
    /// conversations.
    all_typing: bool,
}

#[derive(Default)]
struct State {
    conns: HashMap<ConnId, Conn>,
    by_user: HashMap<UserId, Vec<ConnId>>,
}

#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    state: Mutex<State>,
}

impl Hub {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind, still consistent enough to
        // keep delivering: recover rather than take every connection down.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn register(&self, user: UserId, session: &str, all_typing: bool) -> Registration {
        let id = ConnId(self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, frames) = flume::bounded(QUEUE_FRAMES);
        let (kick, kicked) = oneshot::channel();
        let mut state = self.state();
        state.conns.insert(
            id,
            Conn {
                user,
                session: session.to_owned(),
                tx,
                kick: Some(kick),
                joined: HashSet::new(),
                all_typing,
            },
        );
        let devices = state.by_user.entry(user).or_default();
        devices.push(id);
        Registration {
            id,
            frames,
            kicked,
            first: devices.len() == 1,
        }
    }

    /// Forgets a connection; returns true when it was its user's last one.
    pub fn unregister(&self, id: ConnId) -> bool {
        let mut state = self.state();
        let Some(conn) = state.conns.remove(&id) else {
            return false;
        };
        match state.by_user.get_mut(&conn.user) {
            Some(devices) => {
                devices.retain(|d| *d != id);
                if devices.is_empty() {
                    state.by_user.remove(&conn.user);
                    true
                } else {
                    false
                }
            }
            None => true,
        }
    }

    pub fn is_online(&self, user: UserId) -> bool {
        self.state().by_user.contains_key(&user)
    }

    /// Of `users`, those with at least one connection.
    pub fn online_among(&self, users: &[UserId]) -> Vec<UserId> {
        let state = self.state();
        users
            .iter()
            .copied()
            .filter(|u| state.by_user.contains_key(u))
            .collect()
    }

    pub fn join(&self, id: ConnId, conversation: ConversationId) {
        if let Some(conn) = self.state().conns.get_mut(&id) {
            conn.joined.insert(conversation);
        }
    }

    pub fn leave(&self, id: ConnId, conversation: ConversationId) {
        if let Some(conn) = self.state().conns.get_mut(&id) {
            conn.joined.remove(&conversation);
        }
    }

    /// `user` is no longer in `conversation`: their connections stop wanting its typing.
    pub fn leave_all(&self, user: UserId, conversation: ConversationId) {
        let mut state = self.state();
        let ids = state.by_user.get(&user).cloned().unwrap_or_default();
        for id in ids {
            if let Some(conn) = state.conns.get_mut(&id) {
                conn.joined.remove(&conversation);
            }
        }
    }

    /// Delivers to every connection of every user in `users`.
    pub fn to_users(&self, users: &[UserId], event: &ServerEvent) {
        let frame = Arc::new(Frame::new(event));
        self.deliver(|state| devices(state, users).collect(), &frame);
    }

    /// Delivers a typing event: to the connections of `users` that joined `conversation`.
    pub fn to_joined(&self, users: &[UserId], conversation: ConversationId, event: &ServerEvent) {
        let frame = Arc::new(Frame::new(event));
        self.deliver(
            |state| {
                devices(state, users)
                    .filter(|id| {
                        state
                            .conns
                            .get(id)
                            .is_some_and(|c| c.all_typing || c.joined.contains(&conversation))
                    })
                    .collect()
            },
            &frame,
        );
    }

    /// Ends every connection of a signed-out session.
    pub fn end_session(&self, session: &str) {
        let mut state = self.state();
        let ids: Vec<ConnId> = state
            .conns
            .iter()
            .filter(|(_, c)| c.session == session)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            kick(&mut state, id, Kick::SignedOut);
        }
    }

    fn deliver(&self, targets: impl FnOnce(&State) -> Vec<ConnId>, frame: &Arc<Frame>) {
        let mut state = self.state();
        let ids = targets(&state);
        for id in ids {
            let Some(conn) = state.conns.get(&id) else {
                continue;
            };
            if conn.tx.try_send(frame.clone()).is_err() {
                tracing::warn!(user_id = %conn.user, "connection too slow: disconnecting it");
                kick(&mut state, id, Kick::TooSlow);
            }
        }
    }
}

/// Every connection of every user in `users`.
fn devices<'a>(state: &'a State, users: &'a [UserId]) -> impl Iterator<Item = ConnId> + 'a {
    users
        .iter()
        .filter_map(|u| state.by_user.get(u))
        .flatten()
        .copied()
}

/// Tells a connection's task to end; it unregisters itself on the way out.
fn kick(state: &mut State, id: ConnId, why: Kick) {
    if let Some(tx) = state.conns.get_mut(&id).and_then(|c| c.kick.take()) {
        let _ = tx.send(why);
    }
}

/// Unregisters its connection when the transport task ends, however it ends.
pub struct Guard {
    pub hub: Arc<Hub>,
    pub id: ConnId,
    pub on_last: Option<Box<dyn FnOnce() + Send>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.hub.unregister(self.id) {
            if let Some(f) = self.on_last.take() {
                f();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_kicks_the_slow_connection_only() {
        let hub = Hub::default();
        let mut slow = hub.register(UserId(1), "s1", false);
        let mut fast = hub.register(UserId(2), "s2", false);
        let event = ServerEvent::UserOnline { user_id: UserId(9) };
        for _ in 0..QUEUE_FRAMES {
            hub.to_users(&[UserId(1), UserId(2)], &event);
            fast.frames.try_recv().unwrap();
        }
        assert!(slow.kicked.try_recv().is_err(), "not kicked while it fits");
        hub.to_users(&[UserId(1), UserId(2)], &event);
        assert_eq!(slow.kicked.try_recv().unwrap(), Kick::TooSlow);
        assert!(fast.kicked.try_recv().is_err());
    }

    #[test]
    fn first_and_last_devices_are_reported() {
        let hub = Hub::default();
        let a = hub.register(UserId(1), "s", false);
        let b = hub.register(UserId(1), "s", false);
        assert!(a.first && !b.first);
        assert!(!hub.unregister(a.id));
        assert!(hub.is_online(UserId(1)));
        assert!(hub.unregister(b.id));
        assert!(!hub.is_online(UserId(1)));
    }
}
