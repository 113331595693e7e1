//! The open conversation: its messages (older pages on request), who has read them, who is
//! typing, and the box to write in. What arrives over the socket reaches it through [`Live`].

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;
use protocol::{Conversation, ConversationId, ConversationKind, Message, Post, Role, User, UserId};

use super::group_details::GroupDetails;
use super::mute::MuteButton;
use super::pane::alert;

use crate::live::{Live, OpenChat};
use crate::messages::{delete_message, edit_message, merge, older_messages, Opened, SendMessage};
use crate::session::failure_in;

/// `on_open` hears, in the browser, that the conversation was opened (and so read).
#[component]
pub fn ChatWindow(
    me: User,
    opened: Opened,
    live: Live,
    on_open: Callback<ConversationId>,
) -> impl IntoView {
    let Opened {
        conversation,
        messages,
        has_more,
        request,
    } = opened;
    let id = conversation.id;
    // In a direct conversation, who wrote what is plain from the side it is on.
    let named = conversation.kind != ConversationKind::Direct;
    let group = conversation.kind == ConversationKind::Group;
    let reads: HashMap<UserId, i64> = conversation
        .participants
        .iter()
        .filter(|p| p.user.id != me.id)
        .map(|p| (p.user.id, p.last_read_seq))
        .collect();
    let chat = OpenChat {
        id,
        details: RwSignal::new(conversation.clone()),
        messages: RwSignal::new(messages),
        reads: RwSignal::new(reads),
        typing: RwSignal::new(Vec::new()),
        version: RwSignal::new(conversation.version),
    };
    live.show(chat);
    on_cleanup(move || live.hide(chat));
    Effect::new(move |_| on_open.run(id));

    let has_more = RwSignal::new(has_more);
    let older = Action::new(move |before: &i64| older_messages(id.0, *before));
    Effect::new(move |_| {
        if let Some(Ok((page, more))) = older.value().get() {
            chat.messages
                .update(|list| page.into_iter().for_each(|m| merge(list, m)));
            has_more.set(more);
        }
    });
    let load_older = move |_| {
        let first = chat.messages.with_untracked(|m| m.first().map(|m| m.seq));
        if let Some(before) = first {
            older.dispatch(before);
        }
    };

    // An edit or deletion made here, as the server answered it (its news on the socket may
    // come before or after; both say the same).
    let changed = Callback::new(move |message| {
        chat.messages.update(|list| merge(list, message));
    });

    // The title, who may moderate, and whether the caller is still in it follow the
    // conversation's news (a rename, a member added or removed).
    let title = Memo::new(move |_| chat.details.with(|c| c.title_for(me.id)));
    let my_role = Memo::new(move |_| {
        chat.details.with(|c| {
            c.participants
                .iter()
                .find(|p| p.user.id == me.id)
                .map(|p| p.role)
        })
    });
    // An owner or admin of a group may delete anyone's messages there; rows already drawn
    // follow a role given or taken.
    let moderates = Memo::new(move |_| group && my_role.get().is_some_and(Role::manages));
    // Everyone who has been in it while open: the messages of those who left keep their names.
    let name_of = RwSignal::new(names(&conversation));
    Effect::new(move |_| {
        let now = chat.details.with(names);
        name_of.update(|known| known.extend(now));
    });
    let member = Memo::new(move |_| my_role.with(Option::is_some));
    // How many of the others are connected now.
    let online_now = move || {
        chat.details.with(|c| {
            c.participants
                .iter()
                .filter(|p| p.user.id != me.id && live.online(p.user.id, p.user.online))
                .count()
        })
    };
    let members_shown = RwSignal::new(false);
    let typing_line = move || {
        let names = chat.typing.with(|typing| {
            typing
                .iter()
                .filter_map(|u| name_of.with(|n| n.get(u).cloned()))
                .collect::<Vec<_>>()
        });
        match names.as_slice() {
            [] => String::new(),
            [one] => format!("{one} is typing…"),
            [one, two] => format!("{one} and {two} are typing…"),
            _ => "Several people are typing…".to_owned(),
        }
    };
    // "Seen" under the caller's latest message once someone else has read it. A memo: every
    // message asks, and only a change of the answer should reach them.
    let seen_seq = Memo::new(move |_| {
        let mine = chat.messages.with(|list| {
            list.iter()
                .rev()
                .find(|m| m.sender_id == me.id)
                .map(|m| m.seq)
        })?;
        chat.reads
            .with(|reads| reads.values().any(|seq| *seq >= mine))
            .then_some(mine)
    });

    view! {
        <section class="chat" aria-label=move || format!("Conversation: {}", title.get())>
            <header class="chat-header">
                <a href="/" class="back" aria-label="Back to conversations">
                    "‹"
                </a>
                <h1>{move || title.get()}</h1>
                <span class="status" aria-live="polite">
                    {move || {
                        if !live.connected.get() {
                            return "Connecting…".to_owned();
                        }
                        match (named, online_now()) {
                            (_, 0) => String::new(),
                            (false, _) => "Online".to_owned(),
                            (true, n) => format!("{n} online"),
                        }
                    }}
                </span>
                {group
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="ghost"
                                aria-expanded=move || members_shown.get().to_string()
                                on:click=move |_| members_shown.update(|shown| *shown = !*shown)
                            >
                                "Members"
                            </button>
                        }
                    })}
                // Type-erased: the window's view type is otherwise too deep for the compiler's
                // layout queries.
                {view! { <MuteButton chat live /> }.into_any()}
            </header>
            {move || {
                members_shown
                    .get()
                    .then(|| view! { <GroupDetails me=me.id chat my_role /> }.into_any())
            }}
            {request.map(|post| view! { <Request post chat /> }.into_any())}
            // Laid out bottom up (CSS): the newest message shows first, and stays in view as
            // more come, with no scrolling by code.
            <div class="messages-scroll">
                <div>
                    <Show when=move || has_more.get()>
                        <button
                            class="ghost older"
                            on:click=load_older
                            disabled=move || older.pending().get()
                        >
                            "Show older messages"
                        </button>
                    </Show>
                    <ol class="messages" aria-label="Messages">
                        <For
                            each=move || chat.messages.get()
                            key=|m| (m.id, m.edited_at.clone(), m.deleted)
                            children=move |m: Message| {
                                let sender = named
                                    .then(|| name_of.with_untracked(|n| n.get(&m.sender_id).cloned()))
                                    .map(|name| name.unwrap_or_else(|| "Someone".to_owned()));
                                let mine = m.sender_id == me.id;
                                // Type-erased: the window's view type is otherwise too deep for
                                // the compiler's layout queries in a release build of the WASM.
                                view! {
                                    <MessageRow
                                        message=m
                                        mine
                                        sender
                                        seen=seen_seq
                                        may_delete=Signal::derive(move || mine || moderates.get())
                                        changed
                                    />
                                }
                                    .into_any()
                            }
                        />
                    </ol>
                    <Show when=move || chat.messages.with(Vec::is_empty)>
                        <p class="placeholder">"No messages yet. Say hello!"</p>
                    </Show>
                </div>
            </div>
            <p class="typing" aria-live="polite">
                {typing_line}
            </p>
            {move || match member.get() {
                true => view! { <Composer id live /> }.into_any(),
                false => {
                    view! { <p class="placeholder">"You are no longer in this conversation."</p> }
                        .into_any()
                }
            }}
        </section>
    }
}

/// Each participant's display name.
fn names(conversation: &Conversation) -> HashMap<UserId, String> {
    conversation
        .participants
        .iter()
        .map(|p| (p.user.id, p.user.display_name.clone()))
        .collect()
}

/// The help request a post-linked conversation is about: its title (as the conversation's news
/// keeps it), opened to show what was asked, and whether its author has closed it.
#[component]
fn Request(post: Post, chat: OpenChat) -> impl IntoView {
    let title = move || {
        chat.details
            .with(|c| c.post.as_ref().map(|p| p.title.clone()))
    };
    let closed = post.closed_at.is_some();
    view! {
        <details class="request">
            <summary>
                "Help request: " {title}
                {closed.then(|| view! { <span class="badge-closed">"Closed"</span> })}
            </summary>
            <p class="hint">{post.author.display_name}</p>
            <p class="post-body">{post.body}</p>
        </details>
    }
}

/// One message: who wrote it (`sender`, in a group), its body or that it was deleted, whether
/// it was edited, and "Seen" when it is the caller's latest one someone else has read. Tapped
/// or focused, it offers what the caller may do to it: edit their own, delete their own (or
/// anyone's in a group they run); `changed` takes the message as the server then holds it.
#[component]
fn MessageRow(
    message: Message,
    mine: bool,
    sender: Option<String>,
    seen: Memo<Option<i64>>,
    /// Whether the caller may delete it (the window's role of the caller can change).
    may_delete: Signal<bool>,
    changed: Callback<Message>,
) -> impl IntoView {
    let seq = message.seq;
    let id = message.id.0;
    let deleted = message.deleted;
    let may_edit = mine && !deleted;
    let may_delete = move || !deleted && may_delete.get();
    let mode = RwSignal::new(RowMode::Reading);
    let edit = Action::new(move |body: &String| edit_message(id, body.clone()));
    let delete = Action::new(move |(): &()| delete_message(id));
    Effect::new(move |_| {
        if let Some(Ok(message)) = edit.value().get() {
            changed.run(message);
        }
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(Some(message))) => changed.run(message),
        Some(Ok(None)) => mode.set(RowMode::Reading),
        Some(Err(_)) | None => {}
    });
    let failure = move || failure_in(edit.value()).or_else(|| failure_in(delete.value()));
    let body = if message.deleted {
        view! { <p class="body deleted">"Message deleted"</p> }.into_any()
    } else {
        let text = message.body.clone();
        view! {
            <Show
                when=move || mode.get() == RowMode::Editing
                fallback=move || view! { <p class="body">{text.clone()}</p> }
            >
                <EditBox original=message.body.clone() edit mode />
            </Show>
        }
        .into_any()
    };
    let edited = (message.edited_at.is_some() && !message.deleted)
        .then(|| view! { <span class="edited">"edited"</span> });
    let focusable = move || (may_edit || may_delete()).then_some("0");
    let actions = move || {
        (may_edit || may_delete()).then(|| {
            view! {
                <div class="message-actions">
                    <Show
                        when=move || mode.get() == RowMode::ConfirmingDelete
                        fallback=move || {
                            view! {
                                <Show when=move || may_edit && mode.get() == RowMode::Reading>
                                    <button
                                        type="button"
                                        on:click=move |_| mode.set(RowMode::Editing)
                                    >
                                        "Edit"
                                    </button>
                                </Show>
                                <Show when=move || may_delete() && mode.get() == RowMode::Reading>
                                    <button
                                        type="button"
                                        on:click=move |_| mode.set(RowMode::ConfirmingDelete)
                                    >
                                        "Delete"
                                    </button>
                                </Show>
                            }
                        }
                    >
                        <span>"Delete this message?"</span>
                        <button
                            type="button"
                            class="danger"
                            disabled=move || delete.pending().get()
                            on:click=move |_| {
                                delete.dispatch(());
                            }
                        >
                            "Delete"
                        </button>
                        <button type="button" on:click=move |_| mode.set(RowMode::Reading)>
                            "Cancel"
                        </button>
                    </Show>
                </div>
            }
        })
    };
    view! {
        <li
            class="message"
            class:mine=mine
            class:acting=move || mode.get() != RowMode::Reading
            tabindex=focusable
        >
            {sender.map(|name| view! { <span class="sender">{name}</span> })}
            {body}
            {edited}
            <Show when=move || seen.get() == Some(seq)>
                <span class="seen">"Seen"</span>
            </Show>
            {actions}
            {move || failure().map(|text| view! { <p class="row-error" role="alert">{text}</p> })}
        </li>
    }
}

/// What a message row is doing.
#[derive(Clone, Copy, PartialEq)]
enum RowMode {
    Reading,
    Editing,
    ConfirmingDelete,
}

/// A message's body being edited in place: Enter (or Save) saves, Shift+Enter starts a new
/// line, Escape (or Cancel) leaves it as it was.
#[component]
fn EditBox(
    original: String,
    edit: Action<String, Result<Message, ServerFnError>>,
    mode: RwSignal<RowMode>,
) -> impl IntoView {
    let draft = RwSignal::new(original);
    let field = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(field) = field.get() {
            let _ = field.focus();
        }
    });
    let save = move || {
        let body = draft.get_untracked();
        if !body.trim().is_empty() && !edit.pending().get_untracked() {
            edit.dispatch(body);
        }
    };
    view! {
        <form
            class="edit-box"
            on:submit=move |ev| {
                ev.prevent_default();
                save();
            }
        >
            <textarea
                node_ref=field
                aria-label="Edit message"
                rows="2"
                required
                maxlength=protocol::MessageBody::DEFAULT_MAX
                prop:value=draft
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        mode.set(RowMode::Reading);
                    } else if sends(&ev) {
                        ev.prevent_default();
                        save();
                    }
                }
            ></textarea>
            <div class="message-actions">
                <button type="submit" disabled=move || edit.pending().get()>
                    "Save"
                </button>
                <button type="button" on:click=move |_| mode.set(RowMode::Reading)>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}

/// The box to write in. A form that works before the WASM has loaded (the server function
/// answers a plain POST); once hydrated, it sends in place, with a `client_id` so that a retry
/// stores the message once, and tells the others that the user is typing.
#[component]
fn Composer(id: ConversationId, live: Live) -> impl IntoView {
    let send = ServerAction::<SendMessage>::new();
    let draft = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    Effect::new(move |_| client_id.set(new_client_id()));
    // A send that could not reach the server (offline) is sent again, with the same client_id
    // (stored once however often it is tried), after a growing wait and whenever the socket
    // comes back. A refusal (an empty or too long message) just keeps the draft.
    let resend_wait = StoredValue::new(RESEND_FIRST);
    let resend = move || {
        let body = draft.get_untracked();
        if !body.trim().is_empty() {
            send.dispatch(SendMessage {
                id: id.0,
                body,
                client_id: Some(client_id.get_untracked()),
            });
        }
    };
    let offline = move || {
        send.value()
            .with(|v| matches!(v, Some(Err(ServerFnError::Request(_)))))
    };
    Effect::new(move |_| match send.value().get() {
        Some(Ok(message)) => {
            resend_wait.set_value(RESEND_FIRST);
            live.arrived(message);
            draft.set(String::new());
            client_id.set(new_client_id());
        }
        Some(Err(ServerFnError::Request(_))) => {
            let wait = resend_wait.get_value();
            resend_wait.set_value((wait * 2).min(RESEND_LONGEST));
            set_timeout(
                move || {
                    // Nothing to do once the window is gone.
                    if resend_wait.try_get_value().is_some()
                        && offline()
                        && !send.pending().get_untracked()
                    {
                        resend();
                    }
                },
                wait,
            );
        }
        Some(Err(_)) | None => resend_wait.set_value(RESEND_FIRST),
    });
    Effect::new(move |previous: Option<u32>| {
        let now = live.reconnects.get();
        if previous.is_some_and(|p| p != now) && offline() && !send.pending().get_untracked() {
            resend();
        }
        now
    });
    let form = NodeRef::<leptos::html::Form>::new();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        if sends(&ev) {
            ev.prevent_default();
            if let Some(form) = form.get() {
                let _ = form.request_submit();
            }
        }
    };
    let failure = move || {
        if offline() {
            return Some("Not sent yet: waiting for the network…".to_owned());
        }
        failure_in(send.value())
    };
    view! {
        <ActionForm action=send node_ref=form attr:class="composer">
            <input type="hidden" name="id" value=id.0 />
            <input type="hidden" name="client_id" prop:value=client_id />
            <label for="message-body" class="visually-hidden">
                "Message"
            </label>
            <textarea
                id="message-body"
                name="body"
                rows="1"
                required
                maxlength=protocol::MessageBody::DEFAULT_MAX
                placeholder="Write a message"
                prop:value=draft
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    live.typing(id);
                }
                on:keydown=on_keydown
            ></textarea>
            <button type="submit" disabled=move || send.pending().get()>
                "Send"
            </button>
        </ActionForm>
        {move || alert(failure())}
    }
}

/// Enter sends (or saves), Shift+Enter starts a new line; not while an input method is
/// composing.
fn sends(ev: &leptos::ev::KeyboardEvent) -> bool {
    ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing()
}

/// The first wait before a send that found no network is tried again; it doubles each time.
const RESEND_FIRST: Duration = Duration::from_secs(1);
const RESEND_LONGEST: Duration = Duration::from_secs(30);

/// A fresh id for the next message (browser only; the server renders an empty one, which
/// means none).
fn new_client_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        format!(
            "web-{:x}-{:x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * f64::from(u32::MAX)) as u64
        )
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}
