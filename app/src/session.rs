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
    let client = server::client_ip(&chat).await;
    let (_, session) = chat
        .register(request, client)
        .await
        .map_err(server::error)?;
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

    /// What the user may read of a failure; internals stay in the server log. The answer gets
    /// the failure's status (401, 404, 429 …, as in the REST API), not a bare 500.
    pub fn error(e: chat::Error) -> ServerFnError {
        let code = e.code();
        if code == protocol::ErrorCode::Internal {
            tracing::error!(error = %e, "server function failed");
        }
        set_failure_status(&e, code);
        ServerFnError::ServerError(e.public_message())
    }

    /// Only for calls from the app's code: a form posted without JavaScript (or a page being
    /// rendered) asked for HTML, and is answered with a redirect back to its page or with the
    /// page, which a status set here would replace.
    fn set_failure_status(e: &chat::Error, code: protocol::ErrorCode) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
            return;
        };
        if wants_html() {
            return;
        }
        if let Ok(status) = http::StatusCode::from_u16(code.status()) {
            response.set_status(status);
        }
        if let chat::Error::RateLimited { retry_after } = e {
            let seconds = retry_after.as_secs().max(1);
            response.insert_header(http::header::RETRY_AFTER, seconds.into());
        }
    }

    /// A form posted without JavaScript (or a page being rendered) asked: the answer is a page
    /// or a redirect to one, not data for the app's code.
    pub fn wants_html() -> bool {
        use_context::<http::request::Parts>().is_none_or(|request| {
            request
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        })
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

/// The text to show for the failure an action's last answer was, if it was one.
pub fn failure_in<T>(
    answer: impl With<Value = Option<Result<T, ServerFnError>>>,
) -> Option<String> {
    answer.with(|v| v.as_ref()?.as_ref().err().map(error_text))
}

/// The text to show for a failed server function.
pub fn error_text(error: &ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message.clone(),
        other => format!("Something went wrong ({other}). Check your connection and try again."),
    }
}
