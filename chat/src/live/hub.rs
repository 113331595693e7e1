//! The in-process hub: which connections each user has, and delivery of frames to them. It only
//! carries news of what the database already holds; losing a frame (a slow consumer is cut
//! off) costs a client nothing but a resume.
//!
//! Every connection has a bounded queue. A frame that does not fit means the client is not
//! keeping up: it is disconnected rather than allowed to grow the server's memory.
//!
//! Presence, typing and news of help requests are the exception: only each one's latest state
//! matters (is this contact online, is this person typing here, what does this request say), so
//! they wait beside the queue, one entry per contact, typist or request, and take one slot of
//! the queue however many there are. When a thousand members of a
//! group connect at once (a server restart, a network coming back), each of them is told of up
//! to 999 others; as frames, that overflowed the queue of any member whose phone read slower
//! than the burst came, and the member was cut off, reconnected and made the storm bigger; a
//! busy group's typing did the same on a smaller scale. This news keeps its order with the
//! frames around it: what comes after a frame was queued behind the waiting news waits in a
//! batch of its own, behind that frame (a contact's `user:online` never overtakes the
//! `conversation:updated` that made them one, nor a typist's `typing:start` their message).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use protocol::{ConversationId, PostId, ServerEvent, UserId};
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
    /// For presence and typing: what the news is about.
    about: Option<About>,
}

impl Frame {
    pub fn new(event: &ServerEvent) -> Self {
        Self {
            event: event.name(),
            json: Bytes::from(event.to_json()),
            about: None,
        }
    }

    fn about(event: &ServerEvent, about: About) -> Self {
        Self {
            about: Some(about),
            ..Self::new(event)
        }
    }
}

/// What a connection's queue holds.
#[derive(Debug, Clone)]
pub enum Queued {
    Frame(Arc<Frame>),
    /// A batch of presence and typing news is waiting: [`Hub::take_states`] has it.
    States,
}

/// What a piece of state news is about: news of the same replaces the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum About {
    Presence(UserId),
    Typing(ConversationId, UserId),
    /// A help request as it is now (`post:updated`).
    Post(PostId),
}

/// State news not yet taken, in batches: each has its slot in the queue, in order.
#[derive(Default)]
struct States {
    batches: VecDeque<Batch>,
    /// A frame was queued after the last batch's slot: news from now on goes in a new batch.
    sealed: bool,
}

/// One batch of state news, in arrival order. Older news of a subject is dropped now and then
/// rather than at every arrival: a slot is one pointer (a map would take about 50 bytes a
/// subject, and a storm fills one for every member at once), and the batch never holds more than
/// twice its subjects (or [`COMPACT_FROM`]).
#[derive(Default)]
struct Batch {
    frames: Vec<Arc<Frame>>,
    /// Length right after the last compaction.
    distinct: usize,
}

/// A batch shorter than this is never compacted on arrival.
const COMPACT_FROM: usize = 32;

impl Batch {
    fn push(&mut self, frame: Arc<Frame>) {
        self.frames.push(frame);
        if self.frames.len() > 2 * self.distinct.max(COMPACT_FROM) {
            self.compact();
        }
    }

    /// Keeps each subject's latest news only, in the order of those. Nothing to do when no news
    /// came since the last compaction, or when there is one: every delivery takes its batch, so
    /// that is the common case.
    fn compact(&mut self) {
        if self.frames.len() <= self.distinct.max(1) {
            return;
        }
        let mut seen = HashSet::with_capacity(self.frames.len());
        let mut latest: Vec<Arc<Frame>> = self
            .frames
            .drain(..)
            .rev()
            .filter(|frame| seen.insert(frame.about))
            .collect();
        latest.reverse();
        self.frames = latest;
        self.distinct = self.frames.len();
    }
}

/// A connection's queue, as its transport task reads it.
pub type Frames = flume::Receiver<Queued>;

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
    tx: flume::Sender<Queued>,
    kick: Option<oneshot::Sender<Kick>>,
    /// State news not yet taken; boxed, so a connection with none (nearly all of them) pays
    /// one pointer.
    states: Option<Box<States>>,
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
    /// Connections that want news of help requests (`posts:watch`): a set of their own, so
    /// the connections that do not (nearly all, nearly always) pay nothing for it.
    post_watchers: HashSet<ConnId>,
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

    /// Registers a connection of `user`, unless they already hold `most` (0: no bound).
    pub fn register(
        &self,
        user: UserId,
        session: &str,
        all_typing: bool,
        most: usize,
    ) -> Option<Registration> {
        let mut state = self.state();
        if most > 0 && state.by_user.get(&user).is_some_and(|d| d.len() >= most) {
            return None;
        }
        let id = ConnId(self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, frames) = flume::bounded(QUEUE_FRAMES);
        let (kick, kicked) = oneshot::channel();
        state.conns.insert(
            id,
            Conn {
                user,
                session: session.to_owned(),
                tx,
                kick: Some(kick),
                states: None,
                joined: HashSet::new(),
                all_typing,
            },
        );
        let devices = state.by_user.entry(user).or_default();
        devices.push(id);
        Some(Registration {
            id,
            frames,
            kicked,
            first: devices.len() == 1,
        })
    }

    /// Forgets a connection; returns true when it was its user's last one.
    pub fn unregister(&self, id: ConnId) -> bool {
        let mut state = self.state();
        let Some(conn) = state.conns.remove(&id) else {
            return false;
        };
        state.post_watchers.remove(&id);
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

    /// Starts or stops sending a connection news of help requests.
    pub fn watch_posts(&self, id: ConnId, on: bool) {
        let mut state = self.state();
        if !on {
            state.post_watchers.remove(&id);
        } else if state.conns.contains_key(&id) {
            state.post_watchers.insert(id);
        }
    }

    /// Delivers news of help request `post` to every connection watching them. Only its latest
    /// state matters, so it waits beside the queue like presence: a request edited over and
    /// over (by a script, at its author's write rate) reaches each watcher as its latest state
    /// at the pace of state news, not as a frame per edit.
    pub fn to_post_watchers(&self, post: PostId, event: &ServerEvent) {
        let frame = Arc::new(Frame::about(event, About::Post(post)));
        let mut state = self.state();
        let ids: Vec<ConnId> = state.post_watchers.iter().copied().collect();
        tell_state(&mut state, ids, &frame);
    }

    /// Delivers to every connection of every user in `users`.
    pub fn to_users(&self, users: &[UserId], event: &ServerEvent) {
        let frame = Arc::new(Frame::new(event));
        self.deliver(|state| devices(state, users).collect(), &frame);
    }

    /// Delivers `subject`'s presence to every connection of every user in `users`.
    pub fn presence_to_users(&self, users: &[UserId], subject: UserId, event: &ServerEvent) {
        let frame = Arc::new(Frame::about(event, About::Presence(subject)));
        let mut state = self.state();
        let ids: Vec<ConnId> = devices(&state, users).collect();
        tell_state(&mut state, ids, &frame);
    }

    /// Delivers `typist`'s typing in `conversation`: to the connections of `users` that joined
    /// it.
    pub fn typing_to_joined(
        &self,
        users: &[UserId],
        conversation: ConversationId,
        typist: UserId,
        event: &ServerEvent,
    ) {
        let frame = Arc::new(Frame::about(event, About::Typing(conversation, typist)));
        let mut state = self.state();
        let ids: Vec<ConnId> = devices(&state, users)
            .filter(|id| {
                state
                    .conns
                    .get(id)
                    .is_some_and(|c| c.all_typing || c.joined.contains(&conversation))
            })
            .collect();
        tell_state(&mut state, ids, &frame);
    }

    /// Up to `most` frames of the first batch of state news waiting for a connection, and
    /// whether that batch has more. News that comes meanwhile joins the rest of the batch.
    pub fn take_states(&self, id: ConnId, most: usize) -> (Vec<Arc<Frame>>, bool) {
        let mut state = self.state();
        let Some(conn) = state.conns.get_mut(&id) else {
            return (Vec::new(), false);
        };
        let Some(waiting) = conn.states.as_mut() else {
            return (Vec::new(), false);
        };
        let Some(batch) = waiting.batches.front_mut() else {
            return (Vec::new(), false);
        };
        batch.compact();
        let frames = batch.frames.drain(..most.min(batch.frames.len())).collect();
        batch.distinct = batch.frames.len();
        let more = !batch.frames.is_empty();
        if !more {
            waiting.batches.pop_front();
            if waiting.batches.is_empty() {
                conn.states = None;
            }
        }
        (frames, more)
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
            let Some(conn) = state.conns.get_mut(&id) else {
                continue;
            };
            if conn.tx.try_send(Queued::Frame(frame.clone())).is_err() {
                too_slow(&mut state, id);
            } else if let Some(waiting) = conn.states.as_mut() {
                waiting.sealed = true;
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

/// Tells `ids` a piece of state news (`frame` says what it is about): where the last batch still
/// waits with nothing queued behind it, the news joins it (and replaces news about the same
/// when the batch is compacted); otherwise it starts a batch, which takes a slot in the queue.
fn tell_state(state: &mut State, ids: Vec<ConnId>, frame: &Arc<Frame>) {
    for id in ids {
        let Some(conn) = state.conns.get_mut(&id) else {
            continue;
        };
        let waiting = conn.states.get_or_insert_with(Box::default);
        let new_batch = waiting.sealed || waiting.batches.is_empty();
        if new_batch {
            waiting.batches.push_back(Batch::default());
            waiting.sealed = false;
        }
        if let Some(batch) = waiting.batches.back_mut() {
            batch.push(frame.clone());
        }
        if new_batch && conn.tx.try_send(Queued::States).is_err() {
            too_slow(state, id);
        }
    }
}

/// A connection whose queue is full: the client is not keeping up.
fn too_slow(state: &mut State, id: ConnId) {
    if let Some(conn) = state.conns.get(&id) {
        tracing::warn!(user_id = %conn.user, "connection too slow: disconnecting it");
    }
    kick(state, id, Kick::TooSlow);
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
    pub on_last: Option<Box<dyn FnOnce() + Send + Sync>>,
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
        let mut slow = hub.register(UserId(1), "s1", false, 0).unwrap();
        let mut fast = hub.register(UserId(2), "s2", false, 0).unwrap();
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
    fn post_news_reaches_the_watching_connections_only() {
        let hub = Hub::default();
        let watcher = hub.register(UserId(1), "s1", false, 0).unwrap();
        let other_device = hub.register(UserId(1), "s2", false, 0).unwrap();
        let news = ServerEvent::UserOnline { user_id: UserId(9) };
        hub.watch_posts(watcher.id, true);
        // Edited three times before the watcher reads: the latest state, once.
        for _ in 0..3 {
            hub.to_post_watchers(PostId(5), &news);
        }
        hub.to_post_watchers(PostId(6), &news);
        assert!(matches!(watcher.frames.try_recv(), Ok(Queued::States)));
        assert!(watcher.frames.try_recv().is_err(), "one slot");
        assert_eq!(hub.take_states(watcher.id, 10).0.len(), 2, "one per post");
        assert!(other_device.frames.try_recv().is_err());
        hub.watch_posts(watcher.id, false);
        hub.to_post_watchers(PostId(5), &news);
        assert!(watcher.frames.try_recv().is_err());
        // A connection that is gone is forgotten, and one never registered is never added.
        hub.watch_posts(other_device.id, true);
        hub.unregister(other_device.id);
        hub.watch_posts(other_device.id, true);
        assert!(hub.state().post_watchers.is_empty());
    }

    #[test]
    fn presence_waits_beside_the_queue_latest_state_only() {
        let hub = Hub::default();
        let mut reader = hub.register(UserId(1), "s1", false, 0).unwrap();
        // A thousand contacts come and go, four times as many changes as the queue holds.
        for round in 0..2 {
            for contact in 2..1002 {
                let user_id = UserId(contact);
                let event = match round {
                    0 => ServerEvent::UserOnline { user_id },
                    _ => ServerEvent::UserOffline { user_id },
                };
                hub.presence_to_users(&[UserId(1)], user_id, &event);
                hub.presence_to_users(&[UserId(1)], user_id, &ServerEvent::UserOnline { user_id });
            }
        }
        assert!(
            reader.kicked.try_recv().is_err(),
            "presence alone never overflows"
        );
        assert!(matches!(reader.frames.try_recv(), Ok(Queued::States)));
        assert!(reader.frames.try_recv().is_err(), "one slot for all of it");
        // Taken a chunk at a time; news that comes meanwhile joins the batch under way.
        let (mut frames, more) = hub.take_states(reader.id, 600);
        assert!(more);
        let user_id = UserId(2000);
        hub.presence_to_users(&[UserId(1)], user_id, &ServerEvent::UserOnline { user_id });
        let (rest, more) = hub.take_states(reader.id, 600);
        assert!(!more);
        assert!(
            reader.frames.try_recv().is_err(),
            "no new slot while a batch is taken"
        );
        frames.extend(rest);
        frames.sort_by(|a, b| a.json.cmp(&b.json));
        let mut expected: Vec<_> = (2..1002)
            .chain([2000])
            .map(|c| ServerEvent::UserOnline { user_id: UserId(c) }.to_json())
            .collect();
        expected.sort();
        let got: Vec<_> = frames.iter().map(|f| f.json.to_vec()).collect();
        let expected: Vec<_> = expected.into_iter().map(String::into_bytes).collect();
        assert_eq!(got, expected);
        let (frames, more) = hub.take_states(reader.id, 600);
        assert!(frames.is_empty() && !more);

        // News after the take asks for a slot again.
        let user_id = UserId(5);
        hub.presence_to_users(&[UserId(1)], user_id, &ServerEvent::UserOffline { user_id });
        assert!(matches!(reader.frames.try_recv(), Ok(Queued::States)));
        let (frames, more) = hub.take_states(reader.id, 600);
        assert!(!more);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].event, "user:offline");
    }

    #[test]
    fn presence_after_a_queued_frame_waits_behind_it() {
        let hub = Hub::default();
        let mut reader = hub.register(UserId(1), "s1", false, 0).unwrap();
        let presence = |user: i64| {
            let user_id = UserId(user);
            hub.presence_to_users(&[UserId(1)], user_id, &ServerEvent::UserOnline { user_id });
        };
        presence(2);
        hub.to_users(
            &[UserId(1)],
            &ServerEvent::UserOffline {
                user_id: UserId(99),
            },
        );
        presence(3);
        presence(2);
        // Queue: first batch (2), the frame, second batch (3, then 2 again).
        let order: Vec<String> = reader
            .frames
            .try_iter()
            .map(|queued| match queued {
                Queued::States => {
                    let (frames, more) = hub.take_states(reader.id, 10);
                    assert!(!more);
                    let mut users: Vec<String> = frames
                        .iter()
                        .map(|f| String::from_utf8_lossy(&f.json).into_owned())
                        .collect();
                    users.sort();
                    users.join(" ")
                }
                Queued::Frame(frame) => frame.event.to_owned(),
            })
            .collect();
        let online = |u: i64| ServerEvent::UserOnline { user_id: UserId(u) }.to_json();
        assert_eq!(
            order,
            [
                online(2),
                "user:offline".to_owned(),
                format!("{} {}", online(2), online(3))
            ]
        );
        assert!(reader.kicked.try_recv().is_err());
        let (frames, more) = hub.take_states(reader.id, 10);
        assert!(frames.is_empty() && !more);
    }

    #[test]
    fn typing_collapses_to_the_latest_and_keeps_its_place_around_messages() {
        let hub = Hub::default();
        let mut reader = hub.register(UserId(1), "s1", false, 0).unwrap();
        let elsewhere = hub.register(UserId(1), "s2", false, 0).unwrap();
        let (here, typist) = (ConversationId(7), UserId(2));
        hub.join(reader.id, here);
        let start = ServerEvent::TypingStart {
            conversation_id: here,
            user_id: typist,
        };
        let stop = ServerEvent::TypingStop {
            conversation_id: here,
            user_id: typist,
        };
        for _ in 0..1000 {
            hub.typing_to_joined(&[UserId(1)], here, typist, &start);
            hub.typing_to_joined(&[UserId(1)], here, typist, &stop);
        }
        hub.to_users(
            &[UserId(1)],
            &ServerEvent::UserOffline {
                user_id: UserId(99),
            },
        );
        hub.typing_to_joined(&[UserId(1)], here, typist, &start);
        let events: Vec<&str> = reader
            .frames
            .try_iter()
            .flat_map(|queued| match queued {
                Queued::States => hub.take_states(reader.id, 10).0,
                Queued::Frame(frame) => vec![frame],
            })
            .map(|frame| frame.event)
            .collect();
        assert_eq!(events, ["typing:stop", "user:offline", "typing:start"]);
        assert!(reader.kicked.try_recv().is_err());
        // The connection that did not join hears none of it.
        assert_eq!(elsewhere.frames.len(), 1);
    }

    #[test]
    fn presence_behind_a_full_queue_kicks() {
        let hub = Hub::default();
        let mut slow = hub.register(UserId(1), "s1", false, 0).unwrap();
        let event = ServerEvent::UserOnline { user_id: UserId(9) };
        for _ in 0..QUEUE_FRAMES {
            hub.to_users(&[UserId(1)], &event);
        }
        assert!(slow.kicked.try_recv().is_err());
        hub.presence_to_users(&[UserId(1)], UserId(9), &event);
        assert_eq!(slow.kicked.try_recv().unwrap(), Kick::TooSlow);
    }

    #[test]
    fn first_and_last_devices_are_reported() {
        let hub = Hub::default();
        let a = hub.register(UserId(1), "s", false, 0).unwrap();
        let b = hub.register(UserId(1), "s", false, 0).unwrap();
        assert!(a.first && !b.first);
        assert!(!hub.unregister(a.id));
        assert!(hub.is_online(UserId(1)));
        assert!(hub.unregister(b.id));
        assert!(!hub.is_online(UserId(1)));
    }

    #[test]
    fn a_user_holds_at_most_their_bound() {
        let hub = Hub::default();
        let a = hub.register(UserId(1), "s", false, 2).unwrap();
        let _b = hub.register(UserId(1), "s", false, 2).unwrap();
        assert!(hub.register(UserId(1), "s", false, 2).is_none());
        assert!(hub.register(UserId(2), "s", false, 2).is_some(), "per user");
        hub.unregister(a.id);
        assert!(hub.register(UserId(1), "s", false, 2).is_some());
        assert!(
            hub.register(UserId(1), "s", false, 0).is_some(),
            "0: no bound"
        );
    }
}
