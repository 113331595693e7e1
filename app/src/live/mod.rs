//! What the page hears over the socket, and where it goes: the open conversation's window and
//! the conversation list. The socket itself runs in the browser only ([`socket`]); on the
//! server, [`Live`] is inert and the page renders as it was when asked for.

#[cfg(feature = "hydrate")]
mod socket;

use std::collections::HashMap;

use leptos::prelude::*;
#[cfg(feature = "hydrate")]
use protocol::ServerEvent;
use protocol::{ClientEvent, ConversationId, Message, UserId};

use crate::messages::merge;

/// The open conversation's live state, as its window shows it.
#[derive(Clone, Copy, PartialEq)]
pub struct OpenChat {
    pub id: ConversationId,
    /// Oldest first.
    pub messages: RwSignal<Vec<Message>>,
    /// How far each other participant has read.
    pub reads: RwSignal<HashMap<UserId, i64>>,
    /// Who is typing here now, besides the caller.
    pub typing: RwSignal<Vec<UserId>>,
}

/// Typing news goes out at most this often while the user types (the server ends a typing
/// state by itself ~6 s after its last start).
#[cfg(feature = "hydrate")]
const TYPING_EVERY_MS: f64 = 3_000.0;

/// Reloads of the list asked for within this long are one: a busy group does not reload it
/// for every message.
#[cfg(feature = "hydrate")]
const LIST_RELOAD_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// The page's link to the socket. Copy: every part is a handle into the reactive arena.
#[derive(Clone, Copy)]
pub struct Live {
    /// The socket is up (false until the WASM has connected it).
    pub connected: RwSignal<bool>,
    open: RwSignal<Option<OpenChat>>,
    /// Reloads the conversation list (previews, order, unread counts).
    refresh_list: Callback<()>,
    #[cfg(feature = "hydrate")]
    me: UserId,
    /// Reloads the open conversation: after a reconnect, what happened while away.
    #[cfg(feature = "hydrate")]
    reopen: Callback<()>,
    #[cfg(feature = "hydrate")]
    socket: StoredValue<Option<socket::Socket>, LocalStorage>,
    #[cfg(feature = "hydrate")]
    typing_sent: StoredValue<(ConversationId, f64)>,
    /// A reload of the list is on its way.
    #[cfg(feature = "hydrate")]
    list_due: StoredValue<bool>,
}

impl Live {
    pub fn new(me: UserId, refresh_list: Callback<()>, reopen: Callback<()>) -> Self {
        #[cfg(not(feature = "hydrate"))]
        let _ = (me, reopen);
        Self {
            connected: RwSignal::new(false),
            open: RwSignal::new(None),
            refresh_list,
            #[cfg(feature = "hydrate")]
            me,
            #[cfg(feature = "hydrate")]
            reopen,
            #[cfg(feature = "hydrate")]
            socket: StoredValue::new_local(None),
            #[cfg(feature = "hydrate")]
            typing_sent: StoredValue::new((ConversationId(0), 0.0)),
            #[cfg(feature = "hydrate")]
            list_due: StoredValue::new(false),
        }
    }

    /// Connects once the page runs in the browser, until the page goes away.
    pub fn connect(self) {
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            let socket = socket::Socket::open(
                move |reconnected| self.opened(reconnected),
                move |event| self.heard(event),
                move || self.connected.set(false),
            );
            self.socket.set_value(Some(socket));
        });
        on_cleanup(move || {
            #[cfg(feature = "hydrate")]
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
    }

    /// The window showing `chat` closed. A window reloaded after a reconnect shows itself
    /// before the one it replaces is gone: that one must not take the new one's place.
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
    fn reload_list(self) {
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

    /// Connected (again): join the open conversation; after a reconnect, reload what may have
    /// changed meanwhile.
    #[cfg(feature = "hydrate")]
    fn opened(self, reconnected: bool) {
        self.connected.set(true);
        if let Some(chat) = self.open.get_untracked() {
            self.send(&ClientEvent::Join {
                conversation_id: chat.id,
            });
        }
        if reconnected {
            self.reload_list();
            self.reopen.run(());
        }
    }

    /// News from the server.
    #[cfg(feature = "hydrate")]
    fn heard(self, event: ServerEvent) {
        match event {
            ServerEvent::MessageNew { message, .. } => {
                if let Some(chat) = self.open_chat(message.conversation_id) {
                    let (sender, seq) = (message.sender_id, message.seq);
                    chat.typing.update(|typing| typing.retain(|u| *u != sender));
                    chat.messages.update(|list| merge(list, message));
                    // The window is open: the user sees it.
                    if sender != self.me {
                        self.send(&ClientEvent::Read {
                            conversation_id: chat.id,
                            seq,
                        });
                    }
                }
                self.reload_list();
            }
            ServerEvent::MessageEdited { message, .. }
            | ServerEvent::MessageDeleted { message, .. } => {
                if let Some(chat) = self.open_chat(message.conversation_id) {
                    chat.messages.update(|list| merge(list, message));
                }
                self.reload_list();
            }
            ServerEvent::MessageRead {
                conversation_id,
                user_id,
                seq,
                ..
            } => {
                if user_id == self.me {
                    self.reload_list();
                } else if let Some(chat) = self.open_chat(conversation_id) {
                    chat.reads.update(|reads| {
                        let read = reads.entry(user_id).or_default();
                        *read = (*read).max(seq);
                    });
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
            ServerEvent::ConversationUpdated { .. } => self.reload_list(),
            _ => {}
        }
    }
}
