//! Server functions for the session. They call the same `chat` services as the REST API and set
//! or clear the same HttpOnly cookie.

use leptos::prelude::*;
use protocol::User;

/// The signed-in user, or `None` for a visitor.
#[server(prefix = "/rpc", endpoint = "me")]
pub async fn current_user() -> Result<Option<User>, ServerFnError> {
    let chat = expect_context::<chat::Chat>();
    let headers: http::HeaderMap = leptos_axum::extract().await?;
    let Some(token) = chat::web::token_from_headers(&headers) else {
        return Ok(None);
    };
    match chat.authenticate(&token).await {
        Ok(viewer) => chat
            .user(viewer.user_id)
            .await
            .map(Some)
            .map_err(server::error),
        Err(chat::Error::Unauthenticated) => Ok(None),
        Err(e) => Err(server::error(e)),
    }
}

#[server(prefix = "/rpc", endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String) -> Result<(), ServerFnError> {
    let chat = expect_context::<chat::Chat>();
    let client = server::client_ip(&chat).await;
    let (_, session) = chat
        .login(protocol::LoginRequest { username, password }, client)
        .await
        .map_err(server::error)?;
    server::start_session(&chat, &session);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_up")]
pub async fn sign_up(
    username: String,
    display_name: String,
    password: String,
) -> Result<(), ServerFnError> {
    let chat = expect_context::<chat::Chat>();
    let request = protocol::RegisterRequest {
        username,
        display_name,
        password,
        email: None,
    };
    let (_, session) = chat.register(request).await.map_err(server::error)?;
    server::start_session(&chat, &session);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), ServerFnError> {
    let chat = expect_context::<chat::Chat>();
    let headers: http::HeaderMap = leptos_axum::extract().await?;
    if let Some(token) = chat::web::token_from_headers(&headers) {
        if let Ok(viewer) = chat.authenticate(&token).await {
            chat.logout(&viewer).await.map_err(server::error)?;
        }
    }
    server::set_cookie(&chat.cleared_session_cookie());
    leptos_axum::redirect("/signin");
    Ok(())
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use std::net::{IpAddr, SocketAddr};

    use axum::extract::ConnectInfo;
    use leptos::prelude::*;

    /// What the user may read of a failure; internals stay in the server log.
    pub fn error(e: chat::Error) -> ServerFnError {
        if e.code() == protocol::ErrorCode::Internal {
            tracing::error!(error = %e, "server function failed");
        }
        ServerFnError::ServerError(e.public_message())
    }

    pub async fn client_ip(chat: &chat::Chat) -> Option<IpAddr> {
        let headers: http::HeaderMap = leptos_axum::extract().await.ok()?;
        let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
            .await
            .ok()
            .map(|ConnectInfo(addr)| addr);
        chat.client_ip(&headers, peer)
    }

    /// The signed-in caller of a server function, else the contract's "authentication required".
    pub async fn viewer(chat: &chat::Chat) -> Result<chat::Viewer, ServerFnError> {
        let headers: http::HeaderMap = leptos_axum::extract().await?;
        let token = chat::web::token_from_headers(&headers)
            .ok_or_else(|| error(chat::Error::Unauthenticated))?;
        chat.authenticate(&token).await.map_err(error)
    }

    pub fn set_cookie(value: &str) {
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(value) = http::HeaderValue::from_str(value) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }

    pub fn start_session(chat: &chat::Chat, session: &chat::Session) {
        set_cookie(&chat.session_cookie(session));
        leptos_axum::redirect("/");
    }
}

/// The text to show for a failed server function.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => format!("Something went wrong ({other}). Check your connection and try again."),
    }
}
