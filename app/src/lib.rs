//! Confab's web app: Leptos components rendered on the server and hydrated in the browser, and
//! the server functions they call. With feature `ssr` the server functions run the `chat`
//! services; with `hydrate` they are HTTP calls from the WASM.
//!
//! Layout:
//! - [`session`]: who is signed in; sign-up, sign-in and sign-out server functions.
//! - [`conversations`]: the conversation list's server function.
//! - [`messages`]: the chat window's server functions.
//! - [`posts`]: help requests' server functions.
//! - [`push`]: Web Push's key and subscriptions.
//! - [`live`]: the socket, in the browser, and where its news goes.
//! - [`pages`]: one module per screen.

/// Conversation server functions and how conversations are named.
pub mod conversations;
/// The live connection and the state it updates.
mod live;
/// Chat window server functions.
pub mod messages;
/// Screens: sign-in, sign-up, the signed-in shell, not found.
mod pages;
/// Help-request posts' server functions.
pub mod posts;
/// Web Push server functions.
pub mod push;
/// The signed-in user and the server functions that change it.
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                // Installable on a phone's home screen (and a desktop), as an app of its own.
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/apple-touch-icon.png" />
                <meta name="theme-color" content="#4f46e5" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Inline scripts (hydration, streamed resources) carry this response's nonce; nothing else
/// inline may run, and the WASM may be compiled (`'wasm-unsafe-eval'`).
#[cfg(feature = "ssr")]
fn set_content_security_policy(options: &LeptosOptions) {
    use leptos::nonce::use_nonce;
    let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    // `cargo leptos watch` reloads the page over its own socket port in development.
    let reload = if options.env == leptos::config::Env::DEV {
        format!(
            " ws://127.0.0.1:{0} ws://localhost:{0}",
            options.reload_port
        )
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/confab.css" />
        <Title text="Confab" />
        <Router>
            <Routes fallback=pages::NotFound>
                // Async: the session is known before the headers go out, so a visitor gets a real 302.
                // One parent for the list, the open conversation, starting one and help requests:
                // moving between them keeps the page (its socket, its list) and changes only what
                // the path names.
                <ParentRoute path=path!("") view=pages::Home ssr=SsrMode::Async>
                    <Route path=path!("") view=|| () />
                    <Route path=path!("c/:id") view=|| () />
                    <Route path=path!("new") view=|| () />
                    <Route path=path!("posts") view=|| () />
                </ParentRoute>
                <Route path=path!("/signin") view=pages::SignIn />
                <Route path=path!("/signup") view=pages::SignUp />
            </Routes>
        </Router>
    }
}
