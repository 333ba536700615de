//! Reading a live source over HTTP: authentication from a token, 429 and
//! `Retry-After` honoured, bodies read with a size bound, errors that name
//! the URL. Jira and Confluence pulls share it.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};

use super::IngestError;

/// How a token is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Bearer(String),
    Basic { user: String, token: String },
}

impl Auth {
    /// `user:token` is basic auth (Atlassian Cloud API tokens); anything
    /// else a bearer token (Data Center personal access tokens).
    pub fn from_token(token: &str) -> Auth {
        match token.trim().split_once(':') {
            Some((user, token)) if !user.is_empty() && !user.contains(' ') => {
                Auth::Basic { user: user.to_string(), token: token.to_string() }
            }
            _ => Auth::Bearer(token.trim().to_string()),
        }
    }

    fn header(&self) -> String {
        match self {
            Auth::Bearer(t) => format!("Bearer {t}"),
            Auth::Basic { user, token } => {
                use base64::Engine;
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
                format!("Basic {encoded}")
            }
        }
    }
}

/// An HTTP client for one pull.
pub struct Remote {
    client: reqwest::Client,
    auth: Option<Auth>,
    max_body: u64,
    max_retries: u32,
    /// The longest `Retry-After` honoured; longer ones fail the pull.
    max_wait: Duration,
}

impl Remote {
    pub fn new(token: Option<&str>, max_body: u64) -> Result<Remote, IngestError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("ffo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IngestError::Remote { url: String::new(), message: e.to_string() })?;
        Ok(Remote {
            client,
            auth: token.filter(|t| !t.trim().is_empty()).map(Auth::from_token),
            max_body,
            max_retries: 5,
            max_wait: Duration::from_secs(120),
        })
    }

    /// GETs a URL and parses its JSON body, waiting out 429 and 503
    /// responses as long as the server's `Retry-After` asks (or a short
    /// backoff without one).
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, IngestError> {
        let bytes = self.get_bytes(url).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| IngestError::Remote { url: url.to_string(), message: format!("not JSON: {e}") })
    }

    /// GETs a URL and returns its body unparsed (for callers that measure
    /// or slice it before parsing), with the same retries and bound as
    /// [`Remote::get_json`].
    pub async fn get_bytes(&self, url: &str) -> Result<Vec<u8>, IngestError> {
        let err = |message: String| IngestError::Remote { url: url.to_string(), message };
        let mut attempt = 0;
        loop {
            let mut req = self.client.get(url).header("Accept", "application/json");
            if let Some(auth) = &self.auth {
                let value = HeaderValue::from_str(&auth.header())
                    .map_err(|_| err("the token has characters a header cannot carry".into()))?;
                req = req.header(AUTHORIZATION, value);
            }
            let mut resp = req.send().await.map_err(|e| err(e.to_string()))?;
            let status = resp.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                attempt += 1;
                let wait =
                    retry_after(resp.headers().get(RETRY_AFTER)).unwrap_or(Duration::from_secs(1 << attempt.min(5)));
                if attempt > self.max_retries || wait > self.max_wait {
                    return Err(err(format!("{status} after {attempt} attempts (Retry-After {wait:?})")));
                }
                tracing::info!(%url, ?wait, "rate limited; waiting as asked");
                tokio::time::sleep(wait).await;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(err(format!(
                    "{status}: check the token (FFO_JIRA_TOKEN / FFO_CONFLUENCE_TOKEN; user:token for basic auth)"
                )));
            }
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                let body: String = body.chars().take(300).collect();
                return Err(err(format!("{status}: {body}")));
            }
            if resp.content_length().is_some_and(|n| n > self.max_body) {
                return Err(err(format!("the response is over the {}-byte limit", self.max_body)));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| err(e.to_string()))? {
                bytes.extend_from_slice(&chunk);
                if bytes.len() as u64 > self.max_body {
                    return Err(err(format!("the response is over the {}-byte limit", self.max_body)));
                }
            }
            return Ok(bytes);
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(v: Option<&HeaderValue>) -> Option<Duration> {
    let v = v?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (at.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_choose_their_scheme() {
        assert_eq!(Auth::from_token("me@example.com:abc").header(), "Basic bWVAZXhhbXBsZS5jb206YWJj");
        assert_eq!(Auth::from_token("pat-123").header(), "Bearer pat-123");
        assert_eq!(retry_after(Some(&HeaderValue::from_static("3"))), Some(Duration::from_secs(3)));
    }
}
