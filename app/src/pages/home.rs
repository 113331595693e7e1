//! The signed-in shell: header with the user's name and sign-out, and the conversation list.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use protocol::User;

use crate::session::{current_user, SignOut};

#[component]
pub fn Home() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! { <Shell user /> }.into_any(),
                    Ok(None) => {
                        signed_out_status();
                        view! { <Redirect path="/signin" /> }.into_any()
                    }
                    Err(e) => {
                        view! {
                            <p class="error" role="alert">
                                {crate::session::error_text(&e)}
                            </p>
                        }
                            .into_any()
                    }
                }
            })}
        </Suspense>
    }
}

/// `<Redirect>` sets `Location` during server rendering but leaves the status at 200, which
/// browsers ignore; make it a real redirect.
fn signed_out_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FOUND);
    }
}

#[component]
fn Shell(user: User) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <div class="shell">
            <header class="topbar">
                <span class="brand">"Confab"</span>
                <span class="me" aria-label="Signed in as">
                    {user.display_name}
                </span>
                <ActionForm action=sign_out>
                    <button type="submit" class="ghost">
                        "Sign out"
                    </button>
                </ActionForm>
            </header>
            <div class="panes">
                <nav class="conversations" aria-label="Conversations">
                    <h2>"Conversations"</h2>
                    <p class="empty">"No conversations yet."</p>
                </nav>
                <main class="chat-pane">
                    <p class="placeholder">"Pick a conversation to start chatting."</p>
                </main>
            </div>
        </div>
    }
}
