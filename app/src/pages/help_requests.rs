//! Help requests (`/posts`): ask the alumni for help, and answer someone's request with "I can
//! help", which opens a conversation with its author about it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use protocol::{Post, UserId};

use super::pane::Pane;
use crate::posts::{offer_help, AskForHelp};
use crate::session::{error_text, failure_in};

/// The newest requests while `/posts` is shown (`None` elsewhere); made by the page, read here.
pub type PostsResource = Resource<Result<Option<Vec<Post>>, ServerFnError>>;

#[component]
pub fn HelpRequests(me: UserId, posts: PostsResource) -> impl IntoView {
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
    let offer = Action::new(|post: &i64| offer_help(*post));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = offer.value().get() {
            navigate(&format!("/c/{id}"), Default::default());
        }
    });
    let failure = move |action_error: Option<String>| {
        action_error.map(|text| view! { <p class="error" role="alert">{text}</p> })
    };

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
                    {move || failure(failure_in(ask.value()))}
                </ActionForm>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match posts.await {
                            Ok(Some(list)) if list.is_empty() => {
                                view! { <p class="empty">"No help requests yet."</p> }.into_any()
                            }
                            Ok(Some(list)) => {
                                view! {
                                    <ul class="posts" aria-label="Requests">
                                        {list
                                            .into_iter()
                                            .map(|post| view! { <PostItem post me offer /> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Ok(None) => ().into_any(),
                            Err(e) => failure(Some(error_text(&e))).into_any(),
                        }
                    })}
                </Transition>
                {move || failure(failure_in(offer.value()))}
            </div>
        </Pane>
    }
}

/// One request: its title, who asks, what they need, and "I can help" unless it is the
/// caller's own.
#[component]
fn PostItem(
    post: Post,
    me: UserId,
    offer: Action<i64, Result<i64, ServerFnError>>,
) -> impl IntoView {
    let id = post.id.0;
    let action = if post.author.id == me {
        view! { <span class="hint">"Your request"</span> }.into_any()
    } else {
        view! {
            <button
                type="button"
                disabled=move || offer.pending().get()
                on:click=move |_| {
                    offer.dispatch(id);
                }
            >
                "I can help"
            </button>
        }
        .into_any()
    };
    view! {
        <li class="post">
            <h3>{post.title}</h3>
            <p class="hint">{post.author.display_name}</p>
            <p class="post-body">{post.body}</p>
            {action}
        </li>
    }
}
