//! What the HTTP host and the Leptos server functions share at the edge: reading the caller's
//! token, the session cookie, and the client address used for throttling.

use std::net::{IpAddr, SocketAddr};

use cookie::{Cookie, SameSite};
use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;

use crate::{Chat, Session};

/// The HttpOnly cookie that carries the session token for browsers.
pub const SESSION_COOKIE: &str = "confab_session";

/// The caller's token: `Authorization: Bearer` first, else the session cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
            .then(|| token.trim().to_owned());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == SESSION_COOKIE)
        .map(|c| c.value().to_owned())
}

impl Chat {
    /// `Set-Cookie` value that stores `session` in the browser.
    pub fn session_cookie(&self, session: &Session) -> String {
        let max_age = cookie::time::Duration::seconds(
            i64::try_from(self.accounts().token_ttl().as_secs()).unwrap_or(i64::MAX),
        );
        self.cookie(session.token.clone(), max_age)
    }

    /// `Set-Cookie` value that removes the session cookie.
    pub fn cleared_session_cookie(&self) -> String {
        self.cookie(String::new(), cookie::time::Duration::ZERO)
    }

    fn cookie(&self, value: String, max_age: cookie::time::Duration) -> String {
        Cookie::build((SESSION_COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(self.settings().cookie_secure)
            .max_age(max_age)
            .build()
            .to_string()
    }

    /// The address to throttle by: the peer, or the first `X-Forwarded-For` hop when the
    /// deployment says a trusted proxy sets it (otherwise anyone could forge it).
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if self.settings().trust_forwarded_for {
            let forwarded = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|ip| ip.trim().parse().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        peer.map(|p| p.ip())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_wins_over_cookie() {
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "confab_session=def"),
        ]);
        assert_eq!(token_from_headers(&h).as_deref(), Some("abc"));
    }

    #[test]
    fn cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; confab_session=tok; b=2")]);
        assert_eq!(token_from_headers(&h).as_deref(), Some("tok"));
    }

    #[test]
    fn other_schemes_are_not_tokens() {
        assert_eq!(
            token_from_headers(&headers(&[("authorization", "Basic xyz")])),
            None
        );
        assert_eq!(
            token_from_headers(&headers(&[("authorization", "Bearer ")])),
            None
        );
    }
}
