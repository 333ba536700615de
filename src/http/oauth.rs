//! Signing in over HTTP: the `Authorization: Bearer` header (scheme in any
//! case, RFC 7235), the 401 answer with its `WWW-Authenticate` challenge,
//! the audit row of every refused sign-in, and the OAuth protected-resource
//! metadata document (RFC 9728) that lets MCP clients find the identity
//! provider. The token itself is never logged, audited or echoed.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{AppState, error_response};

/// The metadata document's path; the MCP endpoint's own is this plus `/mcp`.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The metadata routes, served without authentication.
pub fn routes() -> Router<AppState> {
    Router::new().route(METADATA_PATH, get(metadata_root)).route(&format!("{METADATA_PATH}/mcp"), get(metadata_mcp))
}

/// What the `Authorization` header holds.
pub enum Credentials<'a> {
    Missing,
    /// Another scheme (Basic, …) or an empty token.
    NotBearer,
    Bearer(&'a str),
}

/// Reads `Authorization: Bearer TOKEN`; the scheme is case-insensitive.
pub fn credentials(headers: &HeaderMap) -> Credentials<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Credentials::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Credentials::NotBearer;
    };
    match value.trim().split_once([' ', '\t']) {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Credentials::Bearer(token.trim())
        }
        _ => Credentials::NotBearer,
    }
}

/// A request whose caller could not be identified.
#[derive(Debug)]
pub struct Unauthorized {
    /// A short code for the audit log (`missing_token`, `expired`, …).
    pub reason: &'static str,
    /// Why, for the caller and the audit log; never the token.
    pub message: String,
    /// Whether a token was sent (the challenge then says `invalid_token`).
    pub token_sent: bool,
}

impl Unauthorized {
    pub fn new(reason: &'static str, message: impl Into<String>, token_sent: bool) -> Unauthorized {
        Unauthorized { reason, message: message.into(), token_sent }
    }
}

/// Audits a refused sign-in and answers 401 with the challenge an OAuth
/// client follows to the metadata document.
pub fn refuse(state: &AppState, req: &Request, refused: Unauthorized) -> Response {
    // The path only: a query string may carry a token (access_token=…).
    let path: String = req.uri().path().chars().take(200).collect();
    let method = req.method().as_str();
    tracing::info!(reason = refused.reason, %method, %path, "sign-in refused");
    state.service.record_sign_in_failure("http", refused.reason, format!("{method} {path}: {}", refused.message));
    let mut challenge = String::from("Bearer ");
    match base_url(state, req.headers()) {
        Some(base) if state.oidc.is_some() => {
            let own = if path == "/mcp" || path.starts_with("/mcp/") { "/mcp" } else { "" };
            challenge.push_str(&format!("resource_metadata=\"{base}{METADATA_PATH}{own}\""));
        }
        _ => challenge.push_str("realm=\"ffo\""),
    }
    if refused.token_sent {
        challenge.push_str(", error=\"invalid_token\"");
    }
    let message = format!("a valid bearer token is required (Authorization: Bearer TOKEN): {}", refused.message);
    let mut response = error_response(StatusCode::UNAUTHORIZED, "unauthorized", &message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// FFO's public URL: `[oidc] resource`, else `http://` and the request's
/// Host (when it is a plain host name or address).
fn base_url(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(resource) = state.oidc.as_ref().and_then(|o| o.config().resource.clone()) {
        return Some(resource);
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'));
    plain.then(|| format!("http://{host}"))
}

async fn metadata_root(State(state): State<AppState>, headers: HeaderMap) -> Response {
    metadata(&state, &headers, "")
}

async fn metadata_mcp(State(state): State<AppState>, headers: HeaderMap) -> Response {
    metadata(&state, &headers, "/mcp")
}

/// RFC 9728: the resource (`resource` is the URL the document was asked
/// for, minus the well-known part), who issues its tokens, its scopes.
fn metadata(state: &AppState, headers: &HeaderMap, suffix: &str) -> Response {
    let Some(oidc) = &state.oidc else {
        return error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "OAuth sign-in is not configured (add an [oidc] table to the config file)",
        );
    };
    let Some(base) = base_url(state, headers) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "cannot tell FFO's public URL from the Host header; set resource in [oidc]",
        );
    };
    Json(serde_json::json!({
        "resource": format!("{base}{suffix}"),
        "authorization_servers": [oidc.config().issuer],
        "scopes_supported": ["read", "write", "admin"],
        "bearer_methods_supported": ["header"],
        "resource_name": "FFO",
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        for v in ["Bearer t1", "bearer t1", "BEARER t1", "BeArEr   t1 "] {
            assert!(matches!(credentials(&with(v)), Credentials::Bearer("t1")), "{v}");
        }
        assert!(matches!(credentials(&with("Basic dTpw")), Credentials::NotBearer));
        assert!(matches!(credentials(&with("Bearer ")), Credentials::NotBearer));
        assert!(matches!(credentials(&with("Bearert1")), Credentials::NotBearer));
        assert!(matches!(credentials(&HeaderMap::new()), Credentials::Missing));
    }
}
