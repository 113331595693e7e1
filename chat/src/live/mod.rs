//! Live news for connected clients: what changed goes to the people it concerns, once the
//! change is committed. Presence (with a grace period so a reconnect does not flap) and typing
//! (which ends by itself) live here too; they are the only state that is not in the database.

pub mod hub;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use protocol::{Conversation, ConversationId, Message, ServerEvent, UserId};
use sqlx::Row;
use tokio::time::Instant;

use crate::conversations::Own;
use crate::storage::now_ms;
use crate::{Chat, Result, Viewer};
pub use hub::{ConnId, Frame, Frames, Guard, Hub, Kick, Queued, Registration};

/// Live state: the hub, who is typing where, and who is about to go offline.
#[derive(Default)]
pub struct Live {
    pub hub: Arc<Hub>,
    typing: Mutex<HashMap<(ConversationId, UserId), Instant>>,
    /// Users whose last device went; the value tells one disconnect from a later one.
    leaving: Mutex<HashMap<UserId, u64>>,
    leaving_seq: std::sync::atomic::AtomicU64,
    /// The queue of the push task, when the server pushes (`push`).
    pub(crate) pushes: std::sync::OnceLock<tokio::sync::mpsc::Sender<crate::push::PushJob>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Live {
    /// A sent message also ends its sender's typing there.
    fn stop_typing_quietly(&self, me: UserId, id: ConversationId) -> bool {
        lock(&self.typing).remove(&(id, me)).is_some()
    }

    /// News of a new, edited or deleted message, to every participant (`audience`, read in the
    /// transaction that made the change).
    pub(crate) fn publish_message(
        &self,
        event: ServerEvent,
        message: &Message,
        audience: &[UserId],
    ) {
        let id = message.conversation_id;
        if matches!(event, ServerEvent::MessageNew { .. })
            && self.stop_typing_quietly(message.sender_id, id)
        {
            let others: Vec<UserId> = audience
                .iter()
                .copied()
                .filter(|u| *u != message.sender_id)
                .collect();
            let stop = ServerEvent::TypingStop {
                conversation_id: id,
                user_id: message.sender_id,
            };
            self.hub
                .typing_to_joined(&others, id, message.sender_id, &stop);
        }
        self.hub.to_users(audience, &event);
        if let (ServerEvent::MessageNew { .. }, Some(pushes)) = (&event, self.pushes.get()) {
            self.queue_push(pushes, message, audience);
        }
    }

    /// Hands a new message to the push task, for everyone but its sender. A full queue drops
    /// the push, never the message.
    fn queue_push(
        &self,
        pushes: &tokio::sync::mpsc::Sender<crate::push::PushJob>,
        message: &Message,
        audience: &[UserId],
    ) {
        let recipients: Vec<UserId> = audience
            .iter()
            .copied()
            .filter(|u| *u != message.sender_id)
            .collect();
        if recipients.is_empty() {
            return;
        }
        let job = crate::push::PushJob {
            message: message.clone(),
            recipients,
        };
        if pushes.try_send(job).is_err() {
            tracing::warn!("the push queue is full: a message is not pushed");
        }
    }
}

/// A connected client, as its transport task holds it.
pub struct Connection {
    pub id: ConnId,
    pub frames: Frames,
    pub kicked: tokio::sync::oneshot::Receiver<Kick>,
    /// Unregisters (and maybe announces offline) when dropped.
    pub guard: Guard,
}

impl Connection {
    /// Up to `most` frames of the presence and typing news behind a [`Queued::States`] (each
    /// one's latest state), and whether more of it waits.
    pub fn take_states(&self, most: usize) -> (Vec<Arc<Frame>>, bool) {
        self.guard.hub.take_states(self.id, most)
    }
}

impl Chat {
    pub fn live(&self) -> &Live {
        &self.inner.live
    }

    /// Registers a connection for `viewer` and, if it is their first device, tells the people
    /// they share a conversation with that they are online. Refused when they hold
    /// [`Settings::max_live_per_user`](crate::Settings) connections already.
    pub async fn connect(&self, viewer: &Viewer, all_typing: bool) -> Result<Connection> {
        let user = viewer.user_id;
        let most = self.settings().max_live_per_user;
        let reg = self
            .live()
            .hub
            .register(user, &viewer.session_id, all_typing, most)
            .ok_or(crate::Error::TooManyConnections)?;
        let chat = self.clone();
        let on_last: Box<dyn FnOnce() + Send + Sync> =
            Box::new(move || chat.schedule_offline(user));
        // The guard exists before the first await: a handshake dropped while the news goes out
        // still unregisters.
        let conn = Connection {
            id: reg.id,
            frames: reg.frames,
            kicked: reg.kicked,
            guard: Guard {
                hub: self.live().hub.clone(),
                id: reg.id,
                on_last: Some(on_last),
            },
        };
        let was_leaving = lock(&self.live().leaving).remove(&user).is_some();
        if reg.first && !was_leaving {
            self.announce(user, ServerEvent::UserOnline { user_id: user })
                .await;
        }
        Ok(conn)
    }

    /// After the grace period, announces `user` offline unless a device came back meanwhile.
    fn schedule_offline(&self, user: UserId) {
        let ticket = self
            .live()
            .leaving_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        lock(&self.live().leaving).insert(user, ticket);
        let chat = self.clone();
        let grace = self.settings().presence_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let still_gone = {
                let mut leaving = lock(&chat.live().leaving);
                let ours = leaving.get(&user) == Some(&ticket);
                if ours {
                    leaving.remove(&user);
                }
                ours && !chat.live().hub.is_online(user)
            };
            if still_gone {
                chat.announce(user, ServerEvent::UserOffline { user_id: user })
                    .await;
                // A device that came back while the news went out saw no `leaving` entry and
                // may have announced itself before this offline: say online again last.
                if chat.live().hub.is_online(user) {
                    chat.announce(user, ServerEvent::UserOnline { user_id: user })
                        .await;
                }
            }
        });
    }

    /// Sends a presence event to the connected people who share a conversation with `user`.
    async fn announce(&self, user: UserId, event: ServerEvent) {
        match self.contacts(user).await {
            Ok(contacts) => {
                let online = self.live().hub.online_among(&contacts);
                self.live().hub.presence_to_users(&online, user, &event);
            }
            Err(e) => tracing::warn!(error = %e, user_id = %user, "presence not announced"),
        }
    }

    /// Everyone `user` shares a conversation with, as one row ([`participant_ids`]): a member of
    /// a big group has a thousand contacts, and as rows they cost a hop from SQLite's thread
    /// each (most of a connect storm's CPU, BENCHMARKS.md).
    async fn contacts(&self, user: UserId) -> Result<Vec<UserId>> {
        let ids: Option<String> = sqlx::query(
            "SELECT group_concat(DISTINCT p2.user_id) AS ids FROM participants p1 \
             JOIN participants p2 ON p2.conversation_id = p1.conversation_id \
             WHERE p1.user_id = ? AND p2.user_id <> ?",
        )
        .bind(user.0)
        .bind(user.0)
        .fetch_one(&mut *self.db().read.acquire().await?)
        .await?
        .try_get("ids")?;
        parse_ids(ids.as_deref())
    }

    /// The conversation `me` has open in this connection: its typing events come here.
    pub async fn join(&self, me: UserId, conn: ConnId, id: ConversationId) -> Result<()> {
        crate::conversations::membership(&mut *self.db().read.acquire().await?, id, me).await?;
        self.live().hub.join(conn, id);
        Ok(())
    }

    pub fn leave(&self, conn: ConnId, id: ConversationId) {
        self.live().hub.leave(conn, id);
    }

    /// `me` starts or stops typing in a conversation they take part in.
    pub async fn typing(&self, me: UserId, id: ConversationId, typing: bool) -> Result<()> {
        self.pace(me)?;
        let participants = self.participants(id).await?;
        if !participants.contains(&me) {
            return Err(crate::Error::NotFound("conversation"));
        }
        let changed = {
            let mut map = lock(&self.live().typing);
            if typing {
                map.insert((id, me), Instant::now() + self.settings().typing_ttl)
                    .is_none()
            } else {
                map.remove(&(id, me)).is_some()
            }
        };
        if changed {
            let others: Vec<UserId> = participants.into_iter().filter(|u| *u != me).collect();
            let event = if typing {
                ServerEvent::TypingStart {
                    conversation_id: id,
                    user_id: me,
                }
            } else {
                ServerEvent::TypingStop {
                    conversation_id: id,
                    user_id: me,
                }
            };
            self.live().hub.typing_to_joined(&others, id, me, &event);
        }
        Ok(())
    }

    /// Who takes part in `id` now.
    async fn participants(&self, id: ConversationId) -> Result<Vec<UserId>> {
        participant_ids(&mut *self.db().read.acquire().await?, id).await
    }

    /// Ends typing that nobody stopped; runs for the life of the server.
    pub(crate) async fn expire_typing(self) {
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            let now = Instant::now();
            let expired: Vec<(ConversationId, UserId)> = {
                let mut map = lock(&self.live().typing);
                let gone: Vec<_> = map
                    .iter()
                    .filter(|(_, deadline)| **deadline <= now)
                    .map(|(key, _)| *key)
                    .collect();
                for key in &gone {
                    map.remove(key);
                }
                gone
            };
            for (id, user) in expired {
                match self.participants(id).await {
                    Ok(participants) => {
                        let others: Vec<UserId> =
                            participants.into_iter().filter(|u| *u != user).collect();
                        let event = ServerEvent::TypingStop {
                            conversation_id: id,
                            user_id: user,
                        };
                        self.live().hub.typing_to_joined(&others, id, user, &event);
                    }
                    Err(e) => tracing::warn!(error = %e, "typing expiry not sent"),
                }
            }
        }
    }

    /// `conversation:updated` to every participant, each with their own unread count and mute,
    /// and to `removed` (who then sees themselves gone). One serialisation per distinct pair,
    /// not per person: a big group costs a handful.
    pub(crate) async fn publish_conversation(&self, id: ConversationId, removed: Option<UserId>) {
        if let Err(e) = self.try_publish_conversation(id, removed).await {
            tracing::warn!(error = %e, conversation_id = %id, "conversation news not sent");
        }
    }

    async fn try_publish_conversation(
        &self,
        id: ConversationId,
        removed: Option<UserId>,
    ) -> Result<()> {
        // A row per distinct unread count and mute, not per participant: each row is a hop
        // from SQLite's thread ([`participant_ids`]).
        let rows = sqlx::query(
            "SELECT unread, muted_until, group_concat(user_id) AS ids FROM (SELECT p.user_id, \
             p.muted_until, (SELECT count(*) FROM messages m \
             WHERE m.conversation_id = p.conversation_id AND m.seq > p.last_read_seq \
             AND m.deleted = 0 AND m.sender_id <> p.user_id) AS unread \
             FROM participants p WHERE p.conversation_id = ?) GROUP BY unread, muted_until",
        )
        .bind(id.0)
        .fetch_all(&mut *self.db().read.acquire().await?)
        .await?;
        self.db().settle_read().await?;
        let now = now_ms();
        let mut by_own: HashMap<Own, Vec<UserId>> = HashMap::new();
        for row in &rows {
            let ids: Option<String> = row.try_get("ids")?;
            let own = Own::new(row.try_get("unread")?, row.try_get("muted_until")?, now);
            by_own
                .entry(own)
                .or_default()
                .extend(parse_ids(ids.as_deref())?);
        }
        let Some(anyone) = by_own.values().flatten().next().copied() else {
            return Ok(());
        };
        let base = self.conversation(anyone, id).await?;
        let send = |users: &[UserId], own: &Own| {
            let conversation = Conversation {
                unread_count: own.unread_count,
                muted: own.muted,
                muted_until: own.muted_until.clone(),
                ..base.clone()
            };
            self.live()
                .hub
                .to_users(users, &ServerEvent::ConversationUpdated { conversation });
        };
        for (own, users) in &by_own {
            send(users, own);
        }
        if let Some(gone) = removed {
            self.live().hub.leave_all(gone, id);
            send(&[gone], &Own::default());
        }
        Ok(())
    }
}

/// Everyone in a conversation now, as one row (`group_concat`): a group of 1,000 fetched as
/// rows would cost a thousand hops from SQLite's worker thread, inside the send's transaction.
pub(crate) async fn participant_ids<'e, E>(executor: E, id: ConversationId) -> Result<Vec<UserId>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let ids: Option<String> = sqlx::query(
        "SELECT group_concat(user_id) AS ids FROM participants WHERE conversation_id = ?",
    )
    .bind(id.0)
    .fetch_one(executor)
    .await?
    .try_get("ids")?;
    parse_ids(ids.as_deref())
}

/// User ids from a `group_concat` ("3,17,42"; NULL for none).
pub(crate) fn parse_ids(ids: Option<&str>) -> Result<Vec<UserId>> {
    ids.unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map(UserId)
                .map_err(|_| crate::Error::internal("bad participant id"))
        })
        .collect()
}
