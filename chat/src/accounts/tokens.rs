//! HS256 JWTs. The key comes only from configuration (no fallback exists); validation pins the
//! algorithm and requires `exp`, `nbf` and `sub`. Each token names a session row (`jti`) so a
//! sign-out revokes it before it expires.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use protocol::UserId;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Claims {
    /// The user id; a string, as RFC 7519 says `sub` is.
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// A freshly issued token and what it stands for.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub token: String,
    pub expires_at_ms: i64,
}

pub(super) struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Tokens {
    pub(super) fn new(secret: &SecretString, ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "nbf", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            ttl,
        }
    }

    pub(super) fn ttl(&self) -> Duration {
        self.ttl
    }

    pub(super) fn issue(&self, user: UserId) -> Result<Session> {
        let now = chrono::Utc::now().timestamp();
        let exp = now.saturating_add(i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX));
        let claims = Claims {
            sub: user.0.to_string(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            nbf: now,
            exp,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)?;
        Ok(Session {
            id: claims.jti,
            token,
            expires_at_ms: exp.saturating_mul(1000),
        })
    }

    /// The user and session a valid token names.
    pub(super) fn verify(&self, token: &str) -> Result<(UserId, Claims)> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated)?;
        let user = claims.sub.parse().map_err(|_| Error::Unauthenticated)?;
        Ok((UserId(user), claims))
    }
}
