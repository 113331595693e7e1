//! axum's own extractors answer bad input with plain text; these wrap them so every refusal is
//! the contract's JSON error, naming the field where serde can.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chat::Viewer;

use super::error::ApiError;
use crate::state::AppState;

/// A JSON body; rejections become `400 invalid_input` or `413 too_large`.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large();
    }
    let detail = rejection.body_text();
    let detail = detail
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .or_else(|| detail.strip_prefix("Failed to parse the request body as JSON: "))
        .unwrap_or(&detail);
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::invalid("expected a JSON body with Content-Type: application/json")
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::invalid(format!("request body is not valid JSON: {detail}"))
        }
        _ => ApiError::invalid(format!("invalid request body: {detail}")),
    }
}

/// A yes-or-no query parameter: `true` or `1`, `false`, `0` or empty (or absent).
pub fn parse_flag(name: &str, raw: Option<&str>) -> Result<bool, ApiError> {
    match raw {
        None | Some("" | "false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(_) => Err(ApiError::invalid(format!("{name}: must be true or false"))),
    }
}

/// Query parameters; rejections become `400 invalid_input` naming the parameter.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let detail = rejection.body_text();
                let detail = detail
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&detail);
                Err(ApiError::invalid(format!("invalid query: {detail}")))
            }
        }
    }
}

/// The signed-in caller (Bearer token or session cookie), else `401 unauthenticated`.
pub struct Auth(pub Viewer);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token =
            chat::web::token_from_headers(&parts.headers).ok_or(chat::Error::Unauthenticated)?;
        Ok(Self(state.chat.authenticate(&token).await?))
    }
}

/// Path parameters; a malformed id is `404 not_found` (no such resource), never plain text.
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}
