//! Which requests may reach FFO at all: the `Host` they name and, for a
//! write, the web origin they come from.
//!
//! DNS rebinding: a page on `attacker.example` that rebinds its name to
//! 127.0.0.1 sends `Host: attacker.example`; only hosts FFO is known by are
//! answered (loopback names, IP literals, which no rebinding produces, and
//! the configured names). Cross-site requests: a browser marks a request
//! from another site with `Origin` (and `Sec-Fetch-Site`); a write carrying
//! a foreign origin is refused, so a page elsewhere cannot write into the
//! team's memory even where cookies or a loopback-only server would let it.
//! Clients that are not browsers send neither header and are unaffected.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The host names requests may name.
#[derive(Debug, Clone)]
pub struct Allowed {
    names: Vec<String>,
}

impl Allowed {
    pub fn new(configured: &[String]) -> Allowed {
        let mut names: Vec<String> = vec!["localhost".into()];
        names.extend(configured.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()));
        Allowed { names }
    }

    /// Whether `authority` (`host`, `host:port`, `[v6]:port`) names FFO.
    pub fn host(&self, authority: &str) -> bool {
        let host = host_of(authority);
        if host.is_empty() {
            return false;
        }
        host.parse::<IpAddr>().is_ok()
            || self
                .names
                .iter()
                .any(|n| *n == host || n.strip_prefix("*.").is_some_and(|d| host.ends_with(&format!(".{d}"))))
    }

    /// Why a request is refused, if it is.
    fn refuse(&self, method: &Method, headers: &HeaderMap) -> Option<&'static str> {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !self.host(host) {
            return Some(
                "the Host header names a host FFO is not known by; add it to allowed_hosts (FFO_ALLOWED_HOSTS) if it is one",
            );
        }
        let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        if reads {
            return None;
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let same = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .is_some_and(|(_, authority)| self.host(authority) && host_of(authority) == host_of(host));
            if !same {
                return Some("a write from another web origin is refused");
            }
        }
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("");
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Some("a write from another web site is refused");
        }
        None
    }
}

/// `host:port` → `host`, `[::1]:port` → `::1`, lower case.
fn host_of(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split_once(']').map(|(h, _)| h).unwrap_or(rest)
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
            _ => a,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// The middleware: refuses with 403 and says why.
pub async fn guard(State(allowed): State<Arc<Allowed>>, req: Request, next: Next) -> Response {
    match allowed.refuse(req.method(), req.headers()) {
        None => next.run(req).await,
        Some(why) => {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), why, "request refused");
            super::error_response(StatusCode::FORBIDDEN, "forbidden_origin", why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn rebinding_and_cross_site_writes_are_refused() {
        let a = Allowed::new(&["ffo.internal".into(), "*.ffo.example".into()]);
        for ok in [
            "127.0.0.1:7411",
            "localhost:7411",
            "[::1]:7411",
            "10.0.0.5",
            "ffo.internal",
            "FFO.internal:80",
            "a.ffo.example",
        ] {
            assert!(a.host(ok), "{ok}");
        }
        for bad in ["attacker.example", "attacker.example:7411", "", "localhost.attacker.example", "ffo.example"] {
            assert!(!a.host(bad), "{bad}");
        }
        let post = Method::POST;
        assert!(a.refuse(&post, &headers(&[("host", "127.0.0.1:7411")])).is_none(), "a client that is not a browser");
        assert!(
            a.refuse(&post, &headers(&[("host", "127.0.0.1:7411"), ("origin", "http://127.0.0.1:7411")])).is_none()
        );
        assert!(
            a.refuse(&post, &headers(&[("host", "127.0.0.1:7411"), ("origin", "http://attacker.example")])).is_some()
        );
        assert!(a.refuse(&post, &headers(&[("host", "attacker.example:7411")])).is_some());
        assert!(a.refuse(&post, &headers(&[("host", "127.0.0.1:7411"), ("sec-fetch-site", "cross-site")])).is_some());
        assert!(a.refuse(&post, &headers(&[("host", "127.0.0.1:7411"), ("origin", "null")])).is_some());
        assert!(
            a.refuse(&Method::GET, &headers(&[("host", "127.0.0.1:7411"), ("origin", "http://attacker.example")]))
                .is_none()
        );
    }
}
