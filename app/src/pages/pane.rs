//! A screen of its own in the chat pane (starting a conversation, help requests): a title,
//! and on a phone the way back to the list; and how the panes show a failure.

use leptos::prelude::*;

#[component]
pub fn Pane(
    /// The heading, and the region's name.
    title: &'static str,
    /// Its own class, beside `chat`.
    class: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=format!("chat {class}") aria-label=title>
            <header class="chat-header">
                <a href="/" class="back" aria-label="Back to conversations">
                    "‹"
                </a>
                <h1>{title}</h1>
            </header>
            {children()}
        </section>
    }
}

/// A failure's text, announced to screen readers (`role="alert"`); nothing without one.
pub fn alert(text: Option<String>) -> Option<impl IntoView> {
    text.map(|text| view! { <p class="error" role="alert">{text}</p> })
}
