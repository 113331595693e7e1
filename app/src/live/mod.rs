//! What the page hears over the socket, and where it goes: the open conversation's window and
//! the conversation list. The socket itself runs in the browser only ([`socket`]); on the
//! server, [`Live`] is inert and the page renders as it was when asked for.

#[cfg(feature = "hydrate")]
mod notify;
#[cfg(feature = "hydrate")]
mod socket;

use std::collections::HashMap;

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use protocol::ServerEvent;
use protocol::{ClientEvent, Conversation, ConversationId, Message, Post, PostId, UserId};

use crate::messages::merge;

/// The open conversation's live state, as its window shows it.
#[derive(Clone, Copy, PartialEq)]
pub struct OpenChat {
    pub id: ConversationId,
    /// Its title and participants as they are now.
    pub details: RwSignal<Conversation>,
    /// Oldest first.
    pub messages: RwSignal<Vec<Message>>,
    /// How far each other participant has read.
    pub reads: RwSignal<HashMap<UserId, i64>>,
    /// Who is typing here now, besides the caller.
    pub typing: RwSignal<Vec<UserId>>,
    /// The latest change of the conversation shown: events at or below it are already in.
    pub version: RwSignal<i64>,
}

/// Typing news goes out at most this often while the user types (the server ends a typing
/// state by itself ~6 s after its last start).
#[cfg(feature = "hydrate")]
const TYPING_EVERY_MS: f64 = 3_000.0;

/// Reloads of the list asked for within this long are one: a busy group does not reload it
/// for every message.
#[cfg(feature = "hydrate")]
const LIST_RELOAD_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// Goes to a path of the app, as a link would.
#[cfg(feature = "hydrate")]
type Go = std::rc::Rc<dyn Fn(String)>;

/// The page's link to the socket. Copy: every part is a handle into the reactive arena.
#[derive(Clone, Copy)]
pub struct Live {
    /// The socket is up (false until the WASM has connected it).
    pub connected: RwSignal<bool>,
    /// Counts reconnections: what failed for want of a network may try again.
    pub reconnects: RwSignal<u32>,
    open: RwSignal<Option<OpenChat>>,
    /// Who came online or went offline since the page was made (for the list and the window).
    presence: RwSignal<HashMap<UserId, bool>>,
    /// Reloads the conversation list (previews, order, unread counts).
    refresh_list: Callback<()>,
    /// The browser may show notifications once the user says so: offer to ask them.
    pub may_ask_to_notify: RwSignal<bool>,
    /// Help requests as last heard of (`post:updated`) while the user looks at them.
    pub posts: RwSignal<HashMap<PostId, Post>>,
    /// The help requests are on screen: the connection (and the next one) asks for their news.
    watching_posts: StoredValue<bool>,
    /// A conversation as the list holds it, if it does (a notification names it so).
    #[cfg(feature = "hydrate")]
    listed: Callback<ConversationId, Option<Conversation>>,
    /// Opens a conversation's page (the router's navigation, for a notification's click).
    #[cfg(feature = "hydrate")]
    go: StoredValue<Option<Go>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    me: UserId,
    #[cfg(feature = "hydrate")]
    socket: StoredValue<Option<socket::Socket>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    typing_sent: StoredValue<(ConversationId, f64)>,
    /// A reload of the list is on its way.
    #[cfg(feature = "hydrate")]
    list_due: StoredValue<bool>,
    /// Messages came into the open window while the page was hidden: they are read when the
    /// user comes back to it, not before.
    #[cfg(feature = "hydrate")]
    read_due: StoredValue<bool>,
}

impl Live {
    pub fn new(
        me: UserId,
        refresh_list: Callback<()>,
        listed: Callback<ConversationId, Option<Conversation>>,
    ) -> Self {
        #[cfg(not(feature = "hydrate"))]
        let _ = (me, listed);
        Self {
            connected: RwSignal::new(false),
            reconnects: RwSignal::new(0),
            open: RwSignal::new(None),
            presence: RwSignal::new(HashMap::new()),
            refresh_list,
            may_ask_to_notify: RwSignal::new(false),
            posts: RwSignal::new(HashMap::new()),
            watching_posts: StoredValue::new(false),
            #[cfg(feature = "hydrate")]
            listed,
            #[cfg(feature = "hydrate")]
            go: StoredValue::new_local(None),
            #[cfg(feature = "hydrate")]
            me,
            #[cfg(feature = "hydrate")]
            socket: StoredValue::new_local(None),
            #[cfg(feature = "hydrate")]
            typing_sent: StoredValue::new((ConversationId(0), 0.0)),
            #[cfg(feature = "hydrate")]
            list_due: StoredValue::new(false),
            #[cfg(feature = "hydrate")]
            read_due: StoredValue::new(false),
        }
    }

    /// Connects once the page runs in the browser, until the page goes away.
    pub fn connect(self) {
        #[cfg(feature = "hydrate")]
        {
            let navigate = leptos_router::hooks::use_navigate();
            self.go
                .set_value(Some(std::rc::Rc::new(move |path: String| {
                    navigate(&path, Default::default());
                })));
            notify::start_worker(move |path| self.open_path(path));
        }
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            self.may_ask_to_notify.set(notify::askable());
            let socket = socket::Socket::open(
                move |reconnected| self.opened(reconnected),
                move |event| self.heard(event),
                move || self.connected.set(false),
            );
            self.socket.set_value(Some(socket));
            let visibility =
                leptos::prelude::window_event_listener_untyped("visibilitychange", move |_| {
                    self.page_shown()
                });
            on_cleanup(move || visibility.remove());
        });
        #[cfg(feature = "hydrate")]
        on_cleanup(move || {
            if let Some(socket) = self.socket.try_update_value(Option::take).flatten() {
                socket.stop();
            }
        });
    }

    /// A conversation's window opened: its news goes there, and its typing is wanted.
    pub fn show(self, chat: OpenChat) {
        self.open.set(Some(chat));
        self.send(&ClientEvent::Join {
            conversation_id: chat.id,
        });
        #[cfg(feature = "hydrate")]
        self.fetch_changes(chat, chat.version.get_untracked());
    }

    /// The window showing `chat` closed. A window that replaces one of the same conversation
    /// shows itself before the old one is gone: the old one must not take the new one's place.
    pub fn hide(self, chat: OpenChat) {
        let closed = self
            .open
            .try_update(|open| {
                let ours = *open == Some(chat);
                if ours {
                    *open = None;
                }
                ours
            })
            .unwrap_or(false);
        if closed {
            self.send(&ClientEvent::Leave {
                conversation_id: chat.id,
            });
        }
    }

    /// The help requests came on screen (`true`) or went: their news is asked for, or no
    /// longer. What was heard before is forgotten: the page reads them afresh.
    pub fn watch_posts(self, on: bool) {
        // `Some`: the page is going away.
        if self.watching_posts.try_set_value(on).is_some() {
            return;
        }
        let _ = self.posts.try_update(HashMap::clear);
        self.send(&match on {
            true => ClientEvent::WatchPosts {},
            false => ClientEvent::UnwatchPosts {},
        });
    }

    /// Whether `user` is connected now; `then` is what the server said when the page (or the
    /// list) was made, which holds until the socket says otherwise.
    pub fn online(self, user: UserId, then: bool) -> bool {
        self.presence
            .with(|presence| presence.get(&user).copied())
            .unwrap_or(then)
    }

    /// Asks the user to allow notifications (from a click: browsers ask only then).
    pub fn ask_to_notify(self) {
        #[cfg(feature = "hydrate")]
        notify::ask(move |_| {
            let _ = self.may_ask_to_notify.try_set(false);
        });
    }

    /// A message the caller sent, as the server stored it.
    pub fn arrived(self, message: Message) {
        if let Some(chat) = self.open_chat(message.conversation_id) {
            chat.messages.update(|list| merge(list, message));
        }
        self.reload_list();
    }

    /// The user is typing in `id`: the others hear of it, at most every few seconds.
    pub fn typing(self, id: ConversationId) {
        #[cfg(feature = "hydrate")]
        {
            let now = js_sys::Date::now();
            let (last_id, last_at) = self.typing_sent.get_value();
            if last_id == id && now - last_at < TYPING_EVERY_MS {
                return;
            }
            self.typing_sent.set_value((id, now));
            self.send(&ClientEvent::TypingStart {
                conversation_id: id,
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }

    /// Reloads the list soon, once for all the news until then.
    pub fn reload_list(self) {
        #[cfg(feature = "hydrate")]
        {
            if self.list_due.try_get_value().unwrap_or(true) {
                return;
            }
            self.list_due.set_value(true);
            set_timeout(
                move || {
                    // Nothing to do once the page is gone.
                    if self.list_due.try_set_value(false).is_none() {
                        self.refresh_list.run(());
                    }
                },
                LIST_RELOAD_AFTER,
            );
        }
        #[cfg(not(feature = "hydrate"))]
        self.refresh_list.run(());
    }

    fn send(self, event: &ClientEvent) {
        // `try_`: a window closing as the page goes away may find the socket gone already.
        #[cfg(feature = "hydrate")]
        self.socket.try_with_value(|socket| {
            if let Some(socket) = socket {
                socket.send(event);
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = event;
    }

    fn open_chat(self, id: ConversationId) -> Option<OpenChat> {
        self.open.get_untracked().filter(|chat| chat.id == id)
    }

    /// Connected (again): join the open conversation and catch up on its changes since the page
    /// was made or the connection lost, from its change record; after a reconnect, reload the
    /// list too.
    #[cfg(feature = "hydrate")]
    fn opened(self, reconnected: bool) {
        self.connected.set(true);
        if let Some(chat) = self.open.get_untracked() {
            self.send(&ClientEvent::Join {
                conversation_id: chat.id,
            });
            // Also the first time: the page was made before the socket was up.
            self.fetch_changes(chat, chat.version.get_untracked());
        }
        if self.watching_posts.get_value() {
            self.send(&ClientEvent::WatchPosts {});
        }
        if reconnected {
            self.reconnects.update(|n| *n += 1);
            self.reload_list();
        }
    }

    /// Asks for the open conversation's changes after `after` (answered by `changes:page`).
    #[cfg(feature = "hydrate")]
    fn fetch_changes(self, chat: OpenChat, after: i64) {
        self.send(&ClientEvent::FetchChanges {
            conversation_id: chat.id,
            after,
            limit: 0,
            client_id: None,
        });
    }

    /// News from the server.
    #[cfg(feature = "hydrate")]
    fn heard(self, event: ServerEvent) {
        match event {
            ServerEvent::ChangesPage {
                conversation_id,
                page,
                ..
            } => {
                let Some(chat) = self.open_chat(conversation_id) else {
                    return;
                };
                let mut unread = None;
                let mut last = chat.version.get_untracked();
                for entry in page.changes {
                    last = last.max(entry.version);
                    if entry.version > chat.version.get_untracked() {
                        unread = unread.max(self.apply(chat, entry.frame));
                        chat.version.set(entry.version);
                    }
                }
                self.read_up_to(chat, unread);
                if page.has_more {
                    self.fetch_changes(chat, last);
                }
            }
            ServerEvent::TypingStart {
                conversation_id,
                user_id,
            } => {
                if let Some(chat) = self.open_chat(conversation_id) {
                    chat.typing.update(|typing| {
                        if user_id != self.me && !typing.contains(&user_id) {
                            typing.push(user_id);
                        }
                    });
                }
            }
            ServerEvent::TypingStop {
                conversation_id,
                user_id,
            } => {
                if let Some(chat) = self.open_chat(conversation_id) {
                    chat.typing
                        .update(|typing| typing.retain(|u| *u != user_id));
                }
            }
            ServerEvent::PostUpdated { post } => {
                self.posts.update(|posts| {
                    posts.insert(post.id, post);
                });
            }
            ServerEvent::ConversationMuted {
                conversation_id,
                muted,
                muted_until,
            } => {
                // Muted or unmuted on another device (or this one): the list shows it.
                self.reload_list();
                if let Some(chat) = self.open_chat(conversation_id) {
                    chat.details.update(|c| {
                        c.muted = muted;
                        c.muted_until = muted_until;
                    });
                }
            }
            ServerEvent::UserOnline { user_id } | ServerEvent::UserOffline { user_id } => {
                let online = matches!(event, ServerEvent::UserOnline { .. });
                self.presence.update(|presence| {
                    presence.insert(user_id, online);
                });
            }
            event => {
                let Some((conversation_id, version)) = numbered(&event) else {
                    return;
                };
                self.reload_list();
                if let ServerEvent::MessageNew { message, .. } = &event {
                    self.notify(message);
                }
                let Some(chat) = self.open_chat(conversation_id) else {
                    return;
                };
                let held = chat.version.get_untracked();
                if version > held + 1 {
                    // Something was lost on the way: the record has it, this one included.
                    self.fetch_changes(chat, held);
                } else if version == held + 1 {
                    let unread = self.apply(chat, event);
                    chat.version.set(version);
                    self.read_up_to(chat, unread);
                }
            }
        }
    }

    /// Tells the user of someone else's message they cannot see: in another conversation than
    /// the open one, or with the page hidden, unless they muted it. A click opens its
    /// conversation.
    #[cfg(feature = "hydrate")]
    fn notify(self, message: &Message) {
        let hidden = leptos::prelude::document().hidden();
        if message.sender_id == self.me
            || (!hidden && self.open_chat(message.conversation_id).is_some())
        {
            return;
        }
        let id = message.conversation_id;
        let (message, me) = (message.clone(), self.me);
        // Made as a push's is (`PushNotification::of`), so one replaces the other.
        let show = move |conversation: Option<Conversation>| {
            let note = match conversation {
                Some(conversation) if notify::muted(&conversation) => return,
                Some(conversation) => protocol::PushNotification::of(&conversation, &message, me),
                None => protocol::PushNotification::unnamed(&message),
            };
            let path = note.path.clone();
            notify::show(&note.title, &note.body, &note.tag, note.path, move || {
                self.open_path(path);
            });
        };
        match self.listed.run(id) {
            Some(conversation) => show(Some(conversation)),
            // Not in the loaded list (filtered out, further down, or new): asked of the server.
            None => leptos::task::spawn_local(async move {
                show(
                    crate::conversations::conversation_to_notify(id.0)
                        .await
                        .ok(),
                );
            }),
        }
    }

    /// Goes to a path of the app (a notification was clicked), unless the page is gone.
    #[cfg(feature = "hydrate")]
    fn open_path(self, path: String) {
        self.go.try_with_value(|go| {
            if let Some(go) = go {
                go(path);
            }
        });
    }

    /// Shows a change of the open conversation; answers the seq of a new message from someone
    /// else (the user sees it: it is read).
    #[cfg(feature = "hydrate")]
    fn apply(self, chat: OpenChat, event: ServerEvent) -> Option<i64> {
        match event {
            ServerEvent::MessageNew { message, .. } => {
                let (sender, seq) = (message.sender_id, message.seq);
                chat.typing.update(|typing| typing.retain(|u| *u != sender));
                chat.messages.update(|list| merge(list, message));
                (sender != self.me).then_some(seq)
            }
            ServerEvent::MessageEdited { message, .. }
            | ServerEvent::MessageDeleted { message, .. } => {
                chat.messages.update(|list| merge(list, message));
                None
            }
            ServerEvent::ConversationUpdated { conversation } => {
                chat.details.set(conversation);
                None
            }
            ServerEvent::MessageRead { user_id, seq, .. } => {
                if user_id != self.me {
                    chat.reads.update(|reads| {
                        let read = reads.entry(user_id).or_default();
                        *read = (*read).max(seq);
                    });
                }
                None
            }
            _ => None,
        }
    }

    /// Tells the server the user has read the open conversation up to `seq`, once they can
    /// see it: a message that arrives in a hidden tab (or a minimised window) stays unread, and
    /// its sender sees no "Seen", until the page is looked at again.
    #[cfg(feature = "hydrate")]
    fn read_up_to(self, chat: OpenChat, seq: Option<i64>) {
        let Some(seq) = seq else {
            return;
        };
        if leptos::prelude::document().hidden() {
            self.read_due.set_value(true);
            return;
        }
        self.send(&ClientEvent::Read {
            conversation_id: chat.id,
            seq,
        });
    }

    /// The page was hidden or shown: shown, what came into the open window meanwhile is read.
    #[cfg(feature = "hydrate")]
    fn page_shown(self) {
        if leptos::prelude::document().hidden() || !self.read_due.get_value() {
            return;
        }
        self.read_due.set_value(false);
        if let Some(chat) = self.open.get_untracked() {
            let last = chat
                .messages
                .with_untracked(|list| list.last().map(|m| m.seq));
            self.read_up_to(chat, last);
        }
    }
}

/// The conversation and change number of an event that is part of a conversation's record.
#[cfg(feature = "hydrate")]
fn numbered(event: &ServerEvent) -> Option<(ConversationId, i64)> {
    match event {
        ServerEvent::MessageNew { message, version }
        | ServerEvent::MessageEdited { message, version }
        | ServerEvent::MessageDeleted { message, version } => {
            Some((message.conversation_id, *version))
        }
        ServerEvent::MessageRead {
            conversation_id,
            version,
            ..
        } => Some((*conversation_id, *version)),
        ServerEvent::ConversationUpdated { conversation } => {
            Some((conversation.id, conversation.version))
        }
        _ => None,
    }
}
