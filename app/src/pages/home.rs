//! The signed-in shell: header with the user's name and sign-out, the conversation list, and
//! beside it (instead of it on a phone) the open conversation (`/c/{id}`), starting one (`/new`)
//! or help requests (`/posts`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::{use_location, use_query_map};
use protocol::{Conversation, ConversationId, ConversationKind, ConversationList, User, UserId};

use super::chat_window::ChatWindow;
use super::help_requests::{HelpRequests, PostsResource};
use super::mute::BellOff;
use super::new_conversation::NewConversation;
use crate::conversations::my_conversations;
use crate::live::Live;
use crate::messages::{open_conversation, Opened};
use crate::posts::{help_requests, PostsShown};
use crate::session::{current_user, SignOut};

/// Every resource of the page is made here, outside any `<Suspense>`, and only read inside:
/// a resource made by a view that a `Suspend` renders can leave the server's response
/// unfinished (leptos-rs/leptos#4851, #4866), and loading both at once saves a round trip.
#[component]
pub fn Home() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    let filter = ListFilter {
        query: RwSignal::new(String::new()),
        unread_only: RwSignal::new(false),
    };
    let list = Resource::new(
        move || (filter.query.get(), filter.unread_only.get()),
        |(q, unread)| my_conversations(q, unread),
    );
    let location = use_location();
    let open_id = Memo::new(move |_| conversation_in(&location.pathname.get()));
    let starting = Memo::new(move |_| location.pathname.with(|path| path == "/new"));
    let on_posts = Memo::new(move |_| location.pathname.with(|path| path == "/posts"));
    let query = use_query_map();
    let posts = Resource::new(
        move || {
            on_posts.get().then(|| {
                query.with(|query| PostsShown {
                    q: query.get("q").unwrap_or_default(),
                    show: query.get("show").unwrap_or_default(),
                })
            })
        },
        |shown| async move {
            match shown {
                Some(shown) => help_requests(shown.clone(), None)
                    .await
                    .map(|first| Some((shown, first))),
                None => Ok(None),
            }
        },
    );
    let open = Resource::new(
        move || open_id.get(),
        |id| async move {
            match id {
                Some(id) => open_conversation(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        // The child routes (`/`, `/c/{id}`, `/new`, `/posts`) draw nothing: the path is read
        // above. But the router completes a navigation (updates the address bar) only once the
        // child's outlet has drawn it, so the outlet must be here.
        <Outlet />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => {
                        view! { <Shell user filter list open_id starting on_posts posts open /> }
                            .into_any()
                    }
                    Ok(None) => {
                        signed_out_status();
                        view! { <Redirect path="/signin" /> }.into_any()
                    }
                    Err(e) => view! { <Failure error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The conversation a path opens: `/c/{id}`.
fn conversation_in(path: &str) -> Option<i64> {
    path.strip_prefix("/c/")?.parse().ok()
}

/// The open conversation, if the path names one.
type OpenResource = Resource<Result<Option<Opened>, ServerFnError>>;

/// `<Redirect>` sets `Location` during server rendering but leaves the status at 200, which
/// browsers ignore; make it a real redirect.
fn signed_out_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FOUND);
    }
}

/// What the conversation list is filtered by.
#[derive(Clone, Copy)]
struct ListFilter {
    query: RwSignal<String>,
    unread_only: RwSignal<bool>,
}

/// The list as the filter asks for it.
type ListResource = Resource<Result<ConversationList, ServerFnError>>;

/// What `read` says of conversation `id` as the list loaded last holds it, if it holds it
/// (untracked: for callbacks, not views).
fn listed<T>(
    list: ListResource,
    id: ConversationId,
    read: impl FnOnce(&Conversation) -> T,
) -> Option<T> {
    list.with_untracked(|page| {
        let page = page.as_ref()?.as_ref().ok()?;
        page.conversations.iter().find(|c| c.id == id).map(read)
    })
}

#[component]
fn Shell(
    user: User,
    filter: ListFilter,
    list: ListResource,
    open_id: Memo<Option<i64>>,
    /// At `/new`: the chat pane starts a conversation.
    starting: Memo<bool>,
    /// At `/posts`: the chat pane shows help requests.
    on_posts: Memo<bool>,
    posts: PostsResource,
    open: OpenResource,
) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let name = user.display_name.clone();
    let my_id = user.id;
    // A notification names a conversation as the list shows it.
    let listed_one = Callback::new(move |id: ConversationId| listed(list, id, Clone::clone));
    let live = Live::new(my_id, Callback::new(move |()| list.refetch()), listed_one);
    live.connect();
    // Opening a conversation read it: if the list still counts it unread, the list is stale.
    // (Told by the window, not read from `open` here: a resource read out here would belong
    // to the page's `<Suspense>`, which would then remake the page whenever it reloads.)
    let opened = Callback::new(move |id: ConversationId| {
        if listed(list, id, |conversation| conversation.unread_count > 0) == Some(true) {
            list.refetch();
        }
    });
    let me = user.clone();
    let side = move || starting.get() || on_posts.get();
    let unread = RwSignal::new(0);
    view! {
        // The tab says how many messages wait, for a page left in the background.
        <Title text=move || match unread.get() {
            0 => "Confab".to_owned(),
            n => format!("({n}) Confab"),
        } />
        <div class="shell">
            <header class="topbar">
                <span class="brand">"Confab"</span>
                <a href="/posts" class="nav-link">
                    "Help requests"
                </a>
                <span class="me" aria-label="Signed in as">
                    {name}
                </span>
                <ActionForm action=sign_out>
                    <button type="submit" class="ghost">
                        "Sign out"
                    </button>
                </ActionForm>
            </header>
            <div class="panes" class:has-active=move || open_id.get().is_some() || side()>
                // Type-erased, as the panes below: the shell's view type is otherwise too deep
                // for the compiler's layout queries.
                {view! { <ConversationNav me=user.id filter list open_id live unread /> }
                    .into_any()}
                <main class="chat-pane">
                    // Type-erased: the shell's view type is otherwise too deep for the compiler's
                    // layout queries in a release build of the WASM.
                    {move || starting.get().then(|| view! { <NewConversation /> }.into_any())}
                    {move || {
                        on_posts.get().then(|| view! { <HelpRequests me=my_id posts live /> }.into_any())
                    }}
                    <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                        {move || {
                            let me = me.clone();
                            let side_now = side();
                            Suspend::new(async move {
                                match open.await {
                                    Ok(Some(window)) => {
                                        view! { <ChatWindow me opened=window live on_open=opened /> }
                                            .into_any()
                                    }
                                    Ok(None) if side_now => ().into_any(),
                                    Ok(None) => {
                                        view! {
                                            <p class="placeholder">
                                                "Pick a conversation to start chatting."
                                            </p>
                                        }
                                            .into_any()
                                    }
                                    Err(e) => view! { <Failure error=e /> }.into_any(),
                                }
                            })
                        }}
                    </Transition>
                </main>
            </div>
        </div>
    }
}

/// The conversation list with search and an unread filter; one server call per change.
#[component]
fn ConversationNav(
    me: UserId,
    filter: ListFilter,
    list: ListResource,
    open_id: Memo<Option<i64>>,
    live: Live,
    /// Set to the unread messages of the list's first page whenever it is shown unfiltered, muted
    /// conversations left out.
    unread: RwSignal<i64>,
) -> impl IntoView {
    let ListFilter { query, unread_only } = filter;
    view! {
        <nav class="conversations" aria-label="Conversations">
            <div class="nav-head">
                <h2>"Conversations"</h2>
                <a href="/new" class="button">
                    "New"
                    <span class="visually-hidden">" conversation"</span>
                </a>
            </div>
            <div class="list-tools">
                <input
                    type="search"
                    aria-label="Search conversations"
                    placeholder="Search"
                    prop:value=query
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <label class="toggle">
                    <input
                        type="checkbox"
                        prop:checked=unread_only
                        on:change=move |ev| unread_only.set(event_target_checked(&ev))
                    />
                    "Unread only"
                </label>
            </div>
            <Show when=move || live.may_ask_to_notify.get()>
                <p class="notify-offer">
                    "Hear of new messages while Confab is in the background."
                    <button type="button" class="ghost" on:click=move |_| live.ask_to_notify()>
                        "Turn on notifications"
                    </button>
                </p>
            </Show>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let filtered = !query.get_untracked().trim().is_empty()
                        || unread_only.get_untracked();
                    let page = list.await;
                    if let (Ok(page), false) = (&page, filtered) {
                        // Muted conversations wait quietly: not counted in the tab's title.
                        unread.set(
                            page.conversations
                                .iter()
                                .filter(|c| !c.muted)
                                .map(|c| c.unread_count)
                                .sum(),
                        );
                    }
                    match page {
                        Ok(page) if page.conversations.is_empty() => {
                            let text = if filtered {
                                "No conversations match."
                            } else {
                                "No conversations yet."
                            };
                            view! { <p class="empty">{text}</p> }.into_any()
                        }
                        Ok(page) => {
                            view! {
                                <ul class="conversation-list">
                                    {page
                                        .conversations
                                        .into_iter()
                                        .map(|c| {
                                            view! { <ConversationItem conversation=c me open_id live /> }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <Failure error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </nav>
    }
}

#[component]
fn ConversationItem(
    conversation: Conversation,
    me: UserId,
    open_id: Memo<Option<i64>>,
    live: Live,
) -> impl IntoView {
    let title = conversation.title_for(me);
    // A one-to-one conversation shows whether the other person is online.
    let other = (conversation.kind != ConversationKind::Group)
        .then(|| conversation.participants.iter().find(|p| p.user.id != me))
        .flatten()
        .map(|p| (p.user.id, p.user.online));
    let online = move || other.is_some_and(|(user, then)| live.online(user, then));
    let preview = match &conversation.last_message {
        Some(m) if m.deleted => "Message deleted".to_owned(),
        Some(m) => m.body.lines().next().unwrap_or_default().to_owned(),
        None => "No messages yet".to_owned(),
    };
    let unread = conversation.unread_count;
    let muted = conversation.muted;
    let id = conversation.id.0;
    let open = move || open_id.get() == Some(id);
    view! {
        <li class="conversation-item" class:active=open>
            <a
                class="title"
                href=format!("/c/{id}")
                aria-current=move || open().then_some("page")
            >
                {title}
            </a>
            <Show when=online>
                <span class="presence" title="Online">
                    <span class="visually-hidden">"Online"</span>
                </span>
            </Show>
            <span class="preview">
                {muted
                    .then(|| {
                        view! {
                            <span class="muted-mark" role="img" aria-label="Muted" title="Muted">
                                <BellOff />
                            </span>
                        }
                    })}
                {preview}
            </span>
            {(unread > 0)
                .then(|| {
                    view! {
                        <span
                            class="badge"
                            class:quiet=muted
                            aria-label=format!("{unread} unread")
                        >
                            {unread}
                        </span>
                    }
                })}
        </li>
    }
}

/// A failed server call, said in words a person can act on.
#[component]
fn Failure(error: ServerFnError) -> impl IntoView {
    view! {
        <p class="error" role="alert">
            {crate::session::error_text(&error)}
        </p>
    }
}
