//! `/api/auth/*`, `/api/me`, `/api/users`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use protocol::{AuthResponse, ErrorBody, LoginRequest, RegisterRequest, User, UsersResponse};
use serde::Deserialize;

use super::error::ApiError;
use super::extract::{Auth, Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/users", get(users))
}

#[utoipa::path(post, path = "/api/auth/register", tag = "accounts", request_body = RegisterRequest,
    responses((status = 201, description = "Signed up; the session cookie is set too", body = AuthResponse),
              (status = 400, description = "A field breaks a rule (named in the message)", body = ErrorBody),
              (status = 409, description = "The username is taken", body = ErrorBody),
              (status = 429, description = "Too many accounts created from this address; see Retry-After", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<RegisterRequest>,
) -> Result<Response, ApiError> {
    let client = state.chat.client_ip(&headers, Some(peer));
    let (user, session) = state.chat.register(req, client).await?;
    Ok(signed_in(&state, StatusCode::CREATED, user, session))
}

#[utoipa::path(post, path = "/api/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; the session cookie is set too", body = AuthResponse),
              (status = 401, description = "Wrong username or password (one message for both)", body = ErrorBody),
              (status = 429, description = "Too many failures; see Retry-After", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let client = state.chat.client_ip(&headers, Some(peer));
    let (user, session) = state.chat.login(req, client).await?;
    Ok(signed_in(&state, StatusCode::OK, user, session))
}

/// Revokes the presented token if it is valid, and always clears the cookie.
#[utoipa::path(post, path = "/api/auth/logout", tag = "accounts",
    responses((status = 204, description = "The token is revoked and the cookie cleared")))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(token) = chat::web::token_from_headers(&headers) {
        if let Ok(viewer) = state.chat.authenticate(&token).await {
            state.chat.logout(&viewer).await?;
        }
    }
    Ok(with_cookie(
        StatusCode::NO_CONTENT.into_response(),
        &state.chat.cleared_session_cookie(),
    ))
}

#[utoipa::path(get, path = "/api/me", tag = "accounts", security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
async fn me(
    State(state): State<AppState>,
    Auth(viewer): Auth,
) -> Result<axum::Json<User>, ApiError> {
    Ok(axum::Json(state.chat.user(viewer.user_id).await?))
}

#[derive(Deserialize)]
struct UsersQuery {
    #[serde(default)]
    q: String,
}

#[utoipa::path(get, path = "/api/users", tag = "accounts", security(("bearer" = []), ("cookie" = [])),
    params(("q" = Option<String>, Query, description = "Prefix of a username or display name, any case")),
    responses((status = 200, description = "At most 20 users, by username", body = UsersResponse), (status = 401, body = ErrorBody)))]
async fn users(
    State(state): State<AppState>,
    Auth(_): Auth,
    Query(query): Query<UsersQuery>,
) -> Result<axum::Json<UsersResponse>, ApiError> {
    let users = state.chat.search_users(&query.q).await?;
    Ok(axum::Json(UsersResponse { users }))
}

fn signed_in(state: &AppState, status: StatusCode, user: User, session: chat::Session) -> Response {
    let cookie = state.chat.session_cookie(&session);
    let body = AuthResponse {
        user,
        token: session.token,
    };
    with_cookie((status, axum::Json(body)).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
