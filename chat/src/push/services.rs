//! Which push services the server posts to. A subscription's endpoint is a URL the browser
//! hands over, so without a list anyone could have the server post to any address it can
//! reach, its own network included.

use http::Uri;

/// The push services of the browsers in use: Chrome, Edge, Firefox, Safari (and those built on
/// them: Samsung Internet, Opera, Brave).
pub const KNOWN: &str =
    "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,notify.windows.com";

#[derive(Debug, Clone)]
pub struct Services {
    /// A host, and whether it is reached over plain `http` (written `http://host`: a push
    /// service of one's own on a private network, or a test's).
    hosts: Vec<(String, bool)>,
}

impl Services {
    /// A comma-separated list of hosts, each also allowing its subdomains; `http://host`
    /// allows plain HTTP to that host only.
    pub fn parse(list: &str) -> Self {
        let hosts = list
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.strip_prefix("http://") {
                Some(host) => (host.to_ascii_lowercase(), true),
                None => (entry.to_ascii_lowercase(), false),
            })
            .collect();
        Self { hosts }
    }

    /// Whether the server may post to `endpoint`: `https` (or `http` where listed so) to a
    /// listed host or one under it, on any port, without credentials in the URL.
    pub(crate) fn allow(&self, endpoint: &Uri) -> bool {
        let (Some(scheme), Some(authority)) = (endpoint.scheme_str(), endpoint.authority()) else {
            return false;
        };
        if authority.as_str().contains('@') {
            return false;
        }
        let host = authority.host().to_ascii_lowercase();
        self.hosts.iter().any(|(listed, plain)| {
            let under = host == *listed || host.ends_with(&format!(".{listed}"));
            under && (scheme == "https" || (scheme == "http" && *plain))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(services: &Services, url: &str) -> bool {
        services.allow(&url.parse().unwrap())
    }

    #[test]
    fn only_listed_services_over_https() {
        let known = Services::parse(KNOWN);
        assert!(allowed(&known, "https://fcm.googleapis.com/fcm/send/abc"));
        assert!(allowed(
            &known,
            "https://wns2-by3p.notify.windows.com/w/?token=x"
        ));
        assert!(allowed(&known, "https://web.push.apple.com/QG9"));
        assert!(!allowed(&known, "http://fcm.googleapis.com/fcm/send/abc"));
        assert!(!allowed(
            &known,
            "https://fcm.googleapis.com.evil.example/x"
        ));
        assert!(!allowed(&known, "https://evilnotify.windows.com/x"));
        assert!(!allowed(&known, "https://127.0.0.1/x"));
        assert!(!allowed(&known, "https://user@fcm.googleapis.com/x"));
        assert!(!allowed(&known, "/relative"));
    }

    #[test]
    fn plain_http_only_where_listed_so() {
        let local = Services::parse(" http://127.0.0.1 , push.example.org");
        assert!(allowed(&local, "http://127.0.0.1:9000/push/1"));
        assert!(allowed(&local, "https://127.0.0.1:9000/push/1"));
        assert!(!allowed(&local, "http://push.example.org/x"));
        assert!(allowed(&local, "https://push.example.org/x"));
        assert!(!allowed(&local, "http://localhost:9000/push/1"));
    }
}
