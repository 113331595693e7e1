//! Help requests (`/posts`): ask the alumni for help, find requests (words, only the open ones
//! or only one's own), answer one with "I can help", which opens a conversation with its author
//! about it, and, for one's own, edit, close once helped, and reopen. While the page is open,
//! the requests shown follow their changes live, and new ones are announced.

use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_navigate;
use protocol::{Post, PostId, PostList, UpdatePost, UserId};

use super::pane::{alert, Pane};
use crate::live::Live;
use crate::posts::{
    help_requests, update_help_request, AskForHelp, CloseHelpRequest, OfferHelp, PostsShown,
};
use crate::session::{error_text, failure_in};

/// The first page of the requests `/posts` asks for, with what it asked (`None` elsewhere);
/// made by the page, read here.
pub type PostsResource = Resource<Result<Option<(PostsShown, PostList)>, ServerFnError>>;

/// "I can help" on a request: answers the conversation's id.
type Offer = ServerAction<OfferHelp>;

#[component]
pub fn HelpRequests(me: UserId, posts: PostsResource, live: Live) -> impl IntoView {
    live.watch_posts(true);
    on_cleanup(move || live.watch_posts(false));
    // Back after a lost connection: what changed meanwhile was not heard.
    Effect::watch(
        move || live.reconnects.get(),
        move |_, _, _| posts.refetch(),
        false,
    );
    let ask = ServerAction::<AskForHelp>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = ask.value().get() {
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            posts.refetch();
        }
    });
    let offer = ServerAction::<OfferHelp>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = offer.value().get() {
            navigate(&format!("/c/{id}"), Default::default());
        }
    });

    view! {
        <Pane title="Help requests" class="help-requests">
            <div class="pane-body">
                <ActionForm action=ask node_ref=form attr:class="ask">
                    <h2>"Ask for help"</h2>
                    <label for="post-title">"Title"</label>
                    <input id="post-title" name="title" required maxlength="200" />
                    <label for="post-body">"What do you need?"</label>
                    <textarea id="post-body" name="body" rows="3" required maxlength="10000"></textarea>
                    <button type="submit" disabled=move || ask.pending().get()>
                        "Post"
                    </button>
                    {move || alert(failure_in(ask.value()))}
                </ActionForm>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match posts.await {
                            Ok(Some((shown, first))) => {
                                view! { <Requests me shown first offer live posts /> }.into_any()
                            }
                            Ok(None) => ().into_any(),
                            Err(e) => alert(Some(error_text(&e))).into_any(),
                        }
                    })}
                </Transition>
                {move || alert(failure_in(offer.value()))}
            </div>
        </Pane>
    }
}

/// The search, the first page of what it found and the pages "More requests" adds.
#[component]
fn Requests(
    me: UserId,
    shown: PostsShown,
    first: PostList,
    offer: Offer,
    live: Live,
    /// Read again to show the new requests.
    #[prop(name = "posts")]
    reload: PostsResource,
) -> impl IntoView {
    let PostList { posts, next_cursor } = first;
    let found_none = posts.is_empty();
    // Requests asked since this page was read, that it would show: by others (one's own is
    // read again at once), newer than its newest, and matching its search.
    let newest = posts.first().map(|post| post.id);
    let wanted = shown.clone();
    let fresh = Memo::new(move |_| {
        live.posts.with(|heard| {
            heard
                .values()
                .filter(|post| {
                    post.author.id != me
                        && newest.is_none_or(|newest| post.id > newest)
                        && listed_by(&wanted, post)
                })
                .count()
        })
    });
    let later = RwSignal::new(Vec::<Post>::new());
    let cursor = RwSignal::new(next_cursor);
    let search = shown.clone();
    let more =
        Action::new(move |cursor: &String| help_requests(search.clone(), Some(cursor.clone())));
    Effect::new(move |_| {
        if let Some(Ok(page)) = more.value().get() {
            later.update(|later| later.extend(page.posts));
            cursor.set(page.next_cursor);
        }
    });
    let filtered = !shown.q.is_empty() || !shown.show.is_empty();
    let options = [("", "All"), ("open", "Open"), ("mine", "Mine")].map(|(value, label)| {
        let selected = shown.show == value;
        view! { <option value=value selected=selected>{label}</option> }
    });

    view! {
        <Form method="GET" action="/posts" attr:class="post-search" attr:role="search">
            <input type="search" name="q" value=shown.q.clone() aria-label="Search requests"
                placeholder="Search requests" maxlength="200" />
            <select name="show" aria-label="Show">
                {options}
            </select>
            <button type="submit">"Search"</button>
        </Form>
        {move || {
            let n = fresh.get();
            (n > 0).then(|| {
                let label = match n {
                    1 => "1 new request".to_owned(),
                    n => format!("{n} new requests"),
                };
                view! {
                    <button type="button" class="fresh" on:click=move |_| reload.refetch()>
                        {label}
                    </button>
                }
            })
        }}
        {found_none.then(|| {
            let text = if filtered { "No requests match." } else { "No help requests yet." };
            view! { <p class="empty">{text}</p> }
        })}
        <ul class="posts" aria-label="Requests">
            {posts.into_iter().map(|post| view! { <PostItem post me offer live /> }).collect_view()}
            <For each=move || later.get() key=|post| post.id let:post>
                <PostItem post me offer live />
            </For>
        </ul>
        {move || {
            cursor.get().map(|next| {
                view! {
                    <button type="button" class="ghost more" disabled=move || more.pending().get()
                        on:click=move |_| {
                            more.dispatch(next.clone());
                        }>
                        "More requests"
                    </button>
                }
            })
        }}
        {move || alert(failure_in(more.value()))}
    }
}

/// One request: its title, who asks, how many offered help, what they need, whether it is
/// closed; "I can help" on someone else's open request; Edit, Close and Reopen on one's own.
#[component]
fn PostItem(post: Post, me: UserId, offer: Offer, live: Live) -> impl IntoView {
    let id = post.id.0;
    let mine = post.author.id == me;
    let post = RwSignal::new(post);
    // News of it heard after it was drawn replaces it (news from before is older than it).
    let heard = Memo::new(move |_| live.posts.with(|heard| heard.get(&PostId(id)).cloned()));
    Effect::watch(
        move || heard.get(),
        move |heard, _, _| {
            if let Some(heard) = heard {
                post.set(heard.clone());
            }
        },
        false,
    );
    let editing = RwSignal::new(false);
    let update = Action::new(move |change: &UpdatePost| update_help_request(id, change.clone()));
    Effect::new(move |_| {
        if let Some(Ok(changed)) = update.value().get() {
            post.set(changed);
            editing.set(false);
        }
    });
    let close = ServerAction::<CloseHelpRequest>::new();
    Effect::new(move |_| {
        if let Some(Ok(changed)) = close.value().get() {
            post.set(changed);
        }
    });
    let closed = move || post.with(|post| post.closed_at.is_some());
    let actions = move || {
        if mine {
            view! {
                <span class="hint">"Your request"</span>
                <button type="button" class="ghost" on:click=move |_| editing.set(true)>
                    "Edit"
                </button>
                // A form: without JavaScript it posts, and the server sends the page back.
                <ActionForm action=close attr:class="close">
                    <input type="hidden" name="post_id" value=id />
                    <input type="hidden" name="closed" value=move || (!closed()).to_string() />
                    <button type="submit" class="ghost" disabled=move || close.pending().get()>
                        {move || if closed() { "Reopen" } else { "Close" }}
                    </button>
                </ActionForm>
            }
            .into_any()
        } else if closed() {
            ().into_any()
        } else {
            // A form: without JavaScript it posts, and the server answers with the conversation.
            view! {
                <ActionForm action=offer attr:class="offer">
                    <input type="hidden" name="post_id" value=id />
                    <button type="submit" disabled=move || offer.pending().get()>
                        "I can help"
                    </button>
                </ActionForm>
            }
            .into_any()
        }
    };
    view! {
        <li class="post" class:closed=closed>
            <h3>
                {move || post.with(|post| post.title.clone())}
                {move || closed().then(|| view! { <span class="badge-closed">"Closed"</span> })}
            </h3>
            <p class="hint">
                {move || post.with(|post| post.author.display_name.clone())}
                {move || post.with(|post| post.edited_at.is_some()).then_some(" · edited")}
                {move || post.with(|post| offered(post.offers))}
            </p>
            {move || {
                if editing.get() {
                    view! { <EditPost post=post.get_untracked() update editing /> }.into_any()
                } else {
                    view! {
                        <p class="post-body">{move || post.with(|post| post.body.clone())}</p>
                        <div class="post-actions">{actions}</div>
                    }
                    .into_any()
                }
            }}
            {move || alert(failure_in(update.value()).or_else(|| failure_in(close.value())))}
        </li>
    }
}

/// Whether a list read with `shown` would hold `post`, as the server searches: words in its
/// title or body (any case), open ones only, or one's own only (`me` is never asked here: one's
/// own are read again when asked).
fn listed_by(shown: &PostsShown, post: &Post) -> bool {
    let words = shown.q.trim().to_lowercase();
    let found = words.is_empty()
        || post.title.to_lowercase().contains(&words)
        || post.body.to_lowercase().contains(&words);
    let kind = match shown.show.as_str() {
        "open" => post.closed_at.is_none(),
        "mine" => false,
        _ => true,
    };
    found && kind
}

/// How many have offered help, if anyone has.
fn offered(offers: i64) -> Option<String> {
    match offers {
        ..=0 => None,
        1 => Some(" · 1 person offered help".to_owned()),
        n => Some(format!(" · {n} people offered help")),
    }
}

/// The author's edit of a request's title and body, saved or cancelled.
#[component]
fn EditPost(
    post: Post,
    update: Action<UpdatePost, Result<Post, ServerFnError>>,
    editing: RwSignal<bool>,
) -> impl IntoView {
    let title = RwSignal::new(post.title);
    let body = RwSignal::new(post.body);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        update.dispatch(UpdatePost {
            title: Some(title.get_untracked()),
            body: Some(body.get_untracked()),
            closed: None,
        });
    };
    view! {
        <form class="edit-post" on:submit=save>
            <input aria-label="Request title" required maxlength="200" bind:value=title />
            <textarea aria-label="Request details" rows="3" required maxlength="10000"
                bind:value=body></textarea>
            <div class="post-actions">
                <button type="submit" disabled=move || update.pending().get()>"Save"</button>
                <button type="button" class="ghost" on:click=move |_| editing.set(false)>
                    "Cancel"
                </button>
            </div>
        </form>
    }
}
