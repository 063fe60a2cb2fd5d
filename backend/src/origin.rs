//! Which web pages may talk to this server: the `Host` and `Origin` checks
//! that stop DNS rebinding and cross-site WebSocket hijacking.
//!
//! A page on `http://evil.example` whose DNS name is re-pointed at
//! 127.0.0.1 (DNS rebinding) reaches a Parley bound to loopback with
//! `Host: evil.example` and `Origin: http://evil.example`: the two agree, so
//! comparing one with the other proves nothing. Parley therefore checks
//! the `Host` against names it serves (IP literals, `localhost`, the hosts
//! of `--public-url` and `--allowed-host`) on every request, and the
//! `Origin` of a WebSocket upgrade against the public origins
//! (`--public-url`, `--allowed-origin`) or, failing that, against the
//! request's own (already checked) host, scheme included. An Origin that
//! cannot be parsed, or more than one, is refused.
//!
//! A leaf module: plain functions over header values, unit-tested here.

use std::net::IpAddr;

use thiserror::Error;

/// Why a request's `Host` or `Origin` was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SiteError {
    /// No `Host` header, or one that is not a host name.
    #[error("the request has no valid Host header")]
    BadHost,
    /// A host name this server does not serve (DNS rebinding, or a
    /// missing `--public-url` / `--allowed-host`).
    #[error("this server does not answer for that host name")]
    HostNotServed,
    /// An `Origin` that is not `scheme://host[:port]` with http or https.
    #[error("the Origin header is not a web origin")]
    BadOrigin,
    /// More than one `Origin` header.
    #[error("the request has more than one Origin header")]
    SeveralOrigins,
    /// An origin that may not open a WebSocket here.
    #[error("this origin may not open a WebSocket here")]
    OriginNotAllowed,
}

/// A web origin: scheme, host and port (the scheme's default port filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `http://host[:port]` or `https://…` (lower-cased; a trailing
    /// slash is tolerated, a path is not).
    pub fn parse(text: &str) -> Option<Origin> {
        let text = text.trim().to_ascii_lowercase();
        let (scheme, rest) = text.split_once("://")?;
        let default_port = match scheme {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_host_port(authority)?;
        Some(Origin {
            scheme: scheme.to_owned(),
            host,
            port: port.unwrap_or(default_port),
        })
    }

    /// The origin as a browser writes it.
    pub fn to_header(&self) -> String {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("http", 80) | ("https", 443)
        );
        if default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// Splits `host[:port]` (IPv6 in brackets); `None` if it is not one.
fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        ip.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{ip}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let valid_name = host.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    (valid_name && !host.is_empty()).then_some((host.to_ascii_lowercase(), port))
}

/// Which hosts and origins this server answers.
#[derive(Debug, Clone, Default)]
pub struct SitePolicy {
    /// `*` among the allowed origins: any origin may open a WebSocket.
    any_origin: bool,
    /// `*` among the allowed hosts: any Host is answered.
    any_host: bool,
    /// Origins that may open a WebSocket.
    origins: Vec<Origin>,
    /// Host names answered besides IP literals and `localhost`.
    hosts: Vec<String>,
}

impl SitePolicy {
    /// A policy from `--public-url`s, `--allowed-origin`s and
    /// `--allowed-host`s; fails on one that cannot be parsed, naming it.
    pub fn new(
        public_urls: &[String],
        origins: &[String],
        hosts: &[String],
    ) -> Result<Self, String> {
        let mut policy = SitePolicy::default();
        for url in public_urls.iter().chain(origins) {
            if url.trim() == "*" {
                policy.any_origin = true;
                continue;
            }
            let origin = Origin::parse(url).ok_or_else(|| {
                format!("{url:?} is not an origin: write it as http://host[:port] or https://host[:port]")
            })?;
            if public_urls.contains(url) {
                policy.hosts.push(origin.host.clone());
            }
            policy.origins.push(origin);
        }
        for host in hosts {
            if host.trim() == "*" {
                policy.any_host = true;
                continue;
            }
            let (name, _) = split_host_port(&host.trim().to_ascii_lowercase())
                .ok_or_else(|| format!("{host:?} is not a host name"))?;
            policy.hosts.push(name);
        }
        Ok(policy)
    }

    /// Checks the `Host` of a request; returns its host and port.
    pub fn check_host(&self, host: Option<&str>) -> Result<(String, Option<u16>), SiteError> {
        let (name, port) = host
            .and_then(|h| split_host_port(h.trim()))
            .ok_or(SiteError::BadHost)?;
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        let served = self.any_host
            || bare.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.hosts.contains(&name);
        if served {
            Ok((name, port))
        } else {
            Err(SiteError::HostNotServed)
        }
    }

    /// Checks the `Origin` headers of a WebSocket upgrade whose `Host` is
    /// `host`. No Origin means no browser (a CLI, a bot): allowed.
    pub fn check_origin(&self, origins: &[&str], host: Option<&str>) -> Result<(), SiteError> {
        let origin = match origins {
            [] => return Ok(()),
            [one] => Origin::parse(one).ok_or(SiteError::BadOrigin)?,
            _ => return Err(SiteError::SeveralOrigins),
        };
        if self.any_origin || self.origins.contains(&origin) {
            return Ok(());
        }
        // The page this server served itself: same host and port, through a
        // Host that passed the check above. (http or https: behind a proxy
        // that ends TLS, the server cannot know which the browser used.)
        let (name, port) = self.check_host(host)?;
        let default_port = if origin.scheme == "https" { 443 } else { 80 };
        if origin.host == name && origin.port == port.unwrap_or(default_port) {
            Ok(())
        } else {
            Err(SiteError::OriginNotAllowed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SitePolicy {
        SitePolicy::new(
            &["https://chat.example.com".into()],
            &["http://127.0.0.1:8081/".into()],
            &[],
        )
        .unwrap()
    }

    #[test]
    fn origins_parse_with_their_default_ports() {
        let origin = Origin::parse("HTTP://LocalHost:8080/").unwrap();
        assert_eq!(origin.to_header(), "http://localhost:8080");
        assert_eq!(Origin::parse("https://a.example").unwrap().port, 443);
        assert_eq!(
            Origin::parse("http://[::1]:9").unwrap().to_header(),
            "http://[::1]:9"
        );
        for bad in [
            "null",
            "evil://127.0.0.1:8080",
            "http://",
            "http://a.example/path",
            "http://a b",
            "http://a:99999",
            "file:///etc",
            "http://u@a",
        ] {
            assert_eq!(Origin::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn hosts_are_ip_literals_localhost_or_listed() {
        let policy = policy();
        for good in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "10.0.0.5",
            "localhost:8080",
            "app.localhost",
            "chat.example.com",
            "CHAT.example.com:443",
            "my-box_1.localhost",
        ] {
            assert!(policy.check_host(Some(good)).is_ok(), "{good}");
        }
        assert_eq!(
            policy.check_host(Some("evil.example:8080")),
            Err(SiteError::HostNotServed)
        );
        assert_eq!(policy.check_host(None), Err(SiteError::BadHost));
        assert_eq!(policy.check_host(Some("")), Err(SiteError::BadHost));
        for bad in [
            "a/b",
            "a b",
            "u@localhost",
            "localhost?x",
            "[::1",
            "[::1]x",
            ":80",
            "[nonsense]",
        ] {
            assert_eq!(
                policy.check_host(Some(bad)),
                Err(SiteError::BadHost),
                "{bad}"
            );
        }
        let open = SitePolicy::new(&[], &[], &["*".into()]).unwrap();
        assert!(open.check_host(Some("anything.example")).is_ok());
    }

    #[test]
    fn dns_rebinding_does_not_pass_as_the_same_origin() {
        let policy = policy();
        let host = Some("evil.example:8080");
        assert_eq!(
            policy.check_origin(&["http://evil.example:8080"], host),
            Err(SiteError::HostNotServed)
        );
        // The page the server served itself, by IP or by localhost.
        assert!(policy
            .check_origin(&["http://127.0.0.1:8080"], Some("127.0.0.1:8080"))
            .is_ok());
        assert!(policy
            .check_origin(&["http://localhost:8080"], Some("localhost:8080"))
            .is_ok());
        // No port on either side: both mean the scheme's default.
        assert!(policy
            .check_origin(&["http://localhost"], Some("localhost"))
            .is_ok());
        assert_eq!(
            policy.check_origin(&["http://localhost"], Some("localhost:8080")),
            Err(SiteError::OriginNotAllowed)
        );
        // Behind a proxy that ends TLS the page is https on the same host.
        assert!(policy
            .check_origin(&["https://127.0.0.1:8080"], Some("127.0.0.1:8080"))
            .is_ok());
        // Same host, another port: another site.
        assert_eq!(
            policy.check_origin(&["http://127.0.0.1:9999"], Some("127.0.0.1:8080")),
            Err(SiteError::OriginNotAllowed)
        );
        assert_eq!(
            policy.check_origin(&["evil://127.0.0.1:8080"], Some("127.0.0.1:8080")),
            Err(SiteError::BadOrigin)
        );
        assert_eq!(
            policy.check_origin(&["null"], Some("127.0.0.1:8080")),
            Err(SiteError::BadOrigin)
        );
    }

    #[test]
    fn listed_origins_and_the_public_url_may_connect_from_anywhere() {
        let policy = policy();
        assert!(policy
            .check_origin(&["http://127.0.0.1:8081"], Some("127.0.0.1:8080"))
            .is_ok());
        assert!(policy
            .check_origin(&["https://chat.example.com"], Some("10.0.0.2:8080"))
            .is_ok());
        assert!(
            policy.check_origin(&[], Some("127.0.0.1:8080")).is_ok(),
            "no browser"
        );
        assert_eq!(
            policy.check_origin(
                &["http://127.0.0.1:8081", "https://evil.example"],
                Some("127.0.0.1:8080")
            ),
            Err(SiteError::SeveralOrigins)
        );
        let any = SitePolicy::new(&[], &["*".into()], &[]).unwrap();
        assert!(any
            .check_origin(&["https://evil.example"], Some("127.0.0.1:8080"))
            .is_ok());
    }

    #[test]
    fn a_malformed_setting_is_refused_naming_it() {
        let err = SitePolicy::new(&["chat.example.com".into()], &[], &[]).unwrap_err();
        assert!(err.contains("chat.example.com"), "{err}");
        assert!(SitePolicy::new(&[], &[], &["a b".into()]).is_err());
    }
}
