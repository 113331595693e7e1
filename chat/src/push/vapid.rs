//! The server's VAPID identity (RFC 8292): push services take pushes signed with it only, and
//! browsers subscribed with its public key.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::Uri;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::storage::now_ms;
use crate::{Error, Result};

/// How long a signature holds; push services take at most 24 hours.
const VALID_FOR: Duration = Duration::from_secs(12 * 60 * 60);

pub(crate) struct Vapid {
    key: EncodingKey,
    /// The `applicationServerKey` browsers subscribe with, and the `k` of each push.
    public_key: String,
    /// Who the push service may contact about these pushes: `mailto:` or `https:`.
    subject: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: String,
    exp: i64,
    sub: &'a str,
}

impl Vapid {
    /// `private_key`: the P-256 private key as base64url of its 32 bytes, as
    /// `npx web-push generate-vapid-keys` prints it.
    pub(crate) fn new(private_key: &SecretString, subject: &str) -> Result<Self, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(private_key.expose_secret().trim().trim_end_matches('='))
            .map_err(|_| "VAPID_PRIVATE_KEY is not base64url".to_owned())?;
        let secret = p256::SecretKey::from_slice(&bytes)
            .map_err(|_| "VAPID_PRIVATE_KEY is not a P-256 private key (32 bytes)".to_owned())?;
        if !(subject.starts_with("mailto:") || subject.starts_with("https://")) {
            return Err("VAPID_SUBJECT must be a mailto: or https: address".to_owned());
        }
        let der = secret.to_pkcs8_der().map_err(|e| e.to_string())?;
        let point = secret.public_key().to_sec1_bytes();
        Ok(Self {
            key: EncodingKey::from_ec_der(der.as_bytes()),
            public_key: URL_SAFE_NO_PAD.encode(point),
            subject: subject.to_owned(),
        })
    }

    pub(crate) fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` header of a push to `endpoint`: `vapid t=<JWT>, k=<public key>`,
    /// the JWT's audience being the push service's origin.
    pub(crate) fn authorization(&self, endpoint: &Uri) -> Result<String> {
        let (Some(scheme), Some(authority)) = (endpoint.scheme_str(), endpoint.authority()) else {
            return Err(Error::internal("a push endpoint without an origin"));
        };
        let claims = Claims {
            aud: format!("{scheme}://{authority}"),
            exp: now_ms() / 1000 + VALID_FOR.as_secs() as i64,
            sub: &self.subject,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.key)
            .map_err(Error::internal)?;
        Ok(format!("vapid t={token}, k={}", self.public_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_signs_what_its_public_half_verifies() {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let raw = SecretString::from(URL_SAFE_NO_PAD.encode(secret.to_bytes()));
        let vapid = Vapid::new(&raw, "mailto:ops@example.org").unwrap();
        let point = secret.public_key().to_sec1_bytes();
        assert_eq!(vapid.public_key(), URL_SAFE_NO_PAD.encode(&point));

        let endpoint: Uri = "https://push.example.net:8443/send/abc".parse().unwrap();
        let header = vapid.authorization(&endpoint).unwrap();
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split(", k=").next())
            .unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_ec_components(
            &URL_SAFE_NO_PAD.encode(&point[1..33]),
            &URL_SAFE_NO_PAD.encode(&point[33..]),
        )
        .unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&["https://push.example.net:8443"]);
        let claims =
            jsonwebtoken::decode::<serde_json::Value>(token, &decoding, &validation).unwrap();
        assert_eq!(claims.claims["sub"], "mailto:ops@example.org");
    }

    #[test]
    fn bad_keys_and_subjects_are_refused() {
        let subject = "mailto:ops@example.org";
        assert!(Vapid::new(&SecretString::from("not base64!"), subject).is_err());
        assert!(Vapid::new(&SecretString::from("AAAA"), subject).is_err());
        let key = SecretString::from(URL_SAFE_NO_PAD.encode([7u8; 32]));
        assert!(Vapid::new(&key, subject).is_ok());
        assert!(Vapid::new(&key, "ops@example.org").is_err());
    }
}
