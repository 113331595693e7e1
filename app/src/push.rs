//! Web Push server functions: the key a browser subscribes with, and keeping its subscription.

use leptos::prelude::*;

/// The server's VAPID public key, or `None` when this server does not push.
#[server(prefix = "/rpc", endpoint = "push_key")]
pub async fn push_key() -> Result<Option<String>, ServerFnError> {
    let chat = expect_context::<chat::Chat>();
    Ok(chat.push_key().ok())
}

/// Pushes new messages to this browser (its subscription's fields, as `toJSON()` gives them)
/// until this session signs out.
#[server(prefix = "/rpc", endpoint = "save_push_subscription")]
pub async fn save_push_subscription(
    endpoint: String,
    p256dh: String,
    auth: String,
) -> Result<(), ServerFnError> {
    use crate::session::server;
    let chat = expect_context::<chat::Chat>();
    let viewer = server::viewer(&chat).await?;
    let subscription = protocol::PushSubscription {
        endpoint,
        keys: protocol::PushKeys { p256dh, auth },
    };
    chat.subscribe_push(&viewer, subscription)
        .await
        .map_err(server::error)
}
