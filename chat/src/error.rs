use std::time::Duration;

use protocol::{ErrorCode, FieldError};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a domain operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("authentication required")]
    Unauthenticated,
    /// Same answer whether the user exists or not, so sign-in reveals nothing.
    #[error("invalid username or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Also for things that exist but the caller may not see: existence never leaks.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("too many requests, try again later")]
    RateLimited { retry_after: Duration },
    /// The user holds as many live connections (sockets and event streams) as one may.
    #[error("too many live connections for this account: close one first")]
    TooManyConnections,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the connection batches of sends are written on (`storage::Db::connect`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) => ErrorCode::InvalidInput,
            Self::Unauthenticated | Self::BadCredentials => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::RateLimited { .. } | Self::TooManyConnections => ErrorCode::RateLimited,
            Self::Database(_) | Self::Sqlite(_) | Self::Migrate(_) | Self::Internal(_) => {
                ErrorCode::Internal
            }
        }
    }

    /// What a client may read: the cause of internal errors stays in the logs.
    pub fn public_message(&self) -> String {
        match self.code() {
            ErrorCode::Internal => "internal error".to_owned(),
            _ => self.to_string(),
        }
    }

    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }
}
