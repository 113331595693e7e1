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

    /// The address to throttle by: the peer, or, when the deployment says a trusted proxy sets
    /// it, the last `X-Forwarded-For` hop: the one that proxy added. Earlier hops are whatever
    /// the client sent (a proxy appends to the header it got), so trusting the first would let
    /// anyone pick the address they are counted under.
    pub fn client_ip(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        if self.settings().trust_forwarded_for {
            if let Some(forwarded) = last_forwarded_hop(headers) {
                return Some(forwarded);
            }
        }
        peer.map(|p| p.ip())
    }
}

/// The last address of the last `X-Forwarded-For` line (lines of one header read as one list).
fn last_forwarded_hop(headers: &HeaderMap) -> Option<IpAddr> {
    let line = headers.get_all("x-forwarded-for").iter().next_back()?;
    line.to_str().ok()?.rsplit(',').next()?.trim().parse().ok()
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
    fn the_forwarded_address_is_the_last_hop() {
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(last_forwarded_hop(&h), "203.0.113.7".parse().ok());
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", " 2001:db8::1 "),
        ]);
        assert_eq!(last_forwarded_hop(&h), "2001:db8::1".parse().ok());
        let h = headers(&[("x-forwarded-for", "203.0.113.7, not an address")]);
        assert_eq!(last_forwarded_hop(&h), None);
        assert_eq!(last_forwarded_hop(&HeaderMap::new()), None);
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
