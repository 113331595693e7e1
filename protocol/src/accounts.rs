use crate::{text, FieldError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A user's id: opaque to clients, a number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The contract's User resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub online: bool,
}

/// A sign-in name: 3–32 characters of `a–z A–Z 0–9 _ . -`, starting with a letter or digit.
/// Unique regardless of case; shown as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = text::clean("username", raw, Self::MIN, Self::MAX, false)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if !name.chars().all(allowed) {
            return Err(FieldError::new(
                "username",
                "may only contain letters a-z, digits, '_', '.' and '-'",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                "username",
                "must start with a letter or a digit",
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that uniqueness and sign-in compare.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// The name people see: 1–64 characters, any script, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        text::clean("display_name", raw, 1, Self::MAX, false).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed: 8–128 characters, kept exactly (no trimming: spaces are legitimate).
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let len = raw.chars().count();
        if len < Self::MIN {
            return Err(FieldError::new(
                "password",
                format!("must be at least {} characters", Self::MIN),
            ));
        }
        if len > Self::MAX {
            return Err(FieldError::new(
                "password",
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// `POST /api/auth/register`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    pub username: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub email: Option<String>,
}

/// `POST /api/auth/login`.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

/// Answer to register and login; the same token is also set as an HttpOnly cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthResponse {
    pub user: User,
    pub token: String,
}

/// `GET /api/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsersResponse {
    pub users: Vec<User>,
}

/// An optional e-mail address: at most 254 characters with one `@` between non-empty parts.
pub fn parse_email(raw: &str) -> Result<String, FieldError> {
    let email = text::clean("email", raw, 3, 254, false)?;
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(FieldError::new("email", "is not an e-mail address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice_01").is_ok());
        assert!(Username::parse("_alice").is_err());
        assert!(Username::parse("ali ce").is_err());
        assert!(Username::parse(&"a".repeat(33)).is_err());
        assert_eq!(Username::parse("  Bob  ").unwrap().as_str(), "Bob");
        assert_eq!(Username::parse("Bob").unwrap().key(), "bob");
    }

    #[test]
    fn password_is_kept_exactly() {
        assert_eq!(
            Password::parse(" spaced pass ").unwrap().expose(),
            " spaced pass "
        );
        assert!(Password::parse("").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-123").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn email_shape() {
        assert!(parse_email("a@b.c").is_ok());
        assert!(parse_email("ab.c").is_err());
        assert!(parse_email("a@b@c").is_err());
    }
}
