//! Bearer JWTs from the team's identity provider (OAuth 2.0 / OIDC access
//! tokens): RS256 and ES256 only, checked against the provider's JWKS (a
//! file or a URL, refreshed on a schedule and refetched, at a bounded rate,
//! when a token names a key id it does not hold), with `exp`, `nbf`, `iss`
//! and `aud` checked, and the claims mapped to a [`Caller`]. Knows no face:
//! it is handed the token text and answers with a caller or a typed refusal.
//! No error and no log line here carries the token.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::{Caller, Scope};
use crate::model::{ClassificationError, ClassificationScale};

/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY: Duration = Duration::from_secs(30);
/// A token naming an unknown key id makes FFO refetch the JWKS at most this often.
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(10);
/// How often the JWKS is reread by default.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// The largest token looked at; anything longer is refused unread.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// RSA keys shorter than this are not used.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// Where the identity provider's public keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    /// `https://…` (or `http://…`, for a provider on the same host).
    Url(String),
}

impl std::fmt::Display for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "{}", path.display()),
            JwksSource::Url(url) => f.write_str(url),
        }
    }
}

/// The validated `[oidc]` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The `iss` every token must carry; also the authorization server named
    /// in the protected-resource metadata.
    pub issuer: String,
    /// A value `aud` must contain.
    pub audience: String,
    pub jwks: JwksSource,
    /// The claim holding scopes: a space-separated string (`scope`) or an
    /// array of strings (`scp`). Values other than read, write, admin are ignored.
    pub scopes_claim: String,
    /// The claim holding a level of the classification scale; absent means
    /// the lowest level, an unknown level refuses the token.
    pub clearance_claim: String,
    /// The claim naming the caller in the audit log.
    pub name_claim: String,
    /// The public URL of this FFO (no trailing slash), for the metadata
    /// document; `None`: derived from each request's Host.
    pub resource: Option<String>,
    /// How often the JWKS is reread.
    pub refresh: Duration,
}

impl OidcConfig {
    /// A configuration with the default claim names and refresh interval.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, jwks: JwksSource) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            jwks,
            scopes_claim: "scope".into(),
            clearance_claim: "clearance".into(),
            name_claim: "sub".into(),
            resource: None,
            refresh: DEFAULT_REFRESH,
        }
    }
}

/// Why a token was refused. Messages name the claim or key id at fault,
/// never the token.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("not a JWT: {0}")]
    Malformed(&'static str),
    #[error("algorithm {0:?} is refused; FFO accepts RS256 and ES256")]
    Algorithm(String),
    #[error("the token's header lists critical extensions FFO does not implement")]
    Critical,
    #[error("no key with id {0:?} in the identity provider's JWKS")]
    UnknownKey(String),
    #[error("the token names no key id (kid) and the JWKS has no single {0:?} key to use")]
    NoKeyId(Algorithm),
    #[error("the token says {token:?} but key {kid:?} is for {key:?}")]
    KeyMismatch { token: Algorithm, key: Algorithm, kid: String },
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the token has expired (exp)")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the issuer (iss) is not the configured one")]
    WrongIssuer,
    #[error("the audience (aud) does not include the configured one")]
    WrongAudience,
    #[error("the token has no {0:?} claim")]
    MissingClaim(String),
    #[error("claim {claim:?}: {message}")]
    BadClaim { claim: String, message: String },
    #[error("claim {claim:?}: {source}")]
    UnknownClearance {
        claim: String,
        #[source]
        source: ClassificationError,
    },
    #[error(transparent)]
    Jwks(#[from] JwksError),
}

impl JwtError {
    /// A short code for the audit log and logs, stable across versions.
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::Malformed(_) => "malformed_token",
            JwtError::Algorithm(_) => "unsupported_alg",
            JwtError::Critical => "unsupported_header",
            JwtError::UnknownKey(_) => "unknown_kid",
            JwtError::NoKeyId(_) => "missing_kid",
            JwtError::KeyMismatch { .. } => "alg_mismatch",
            JwtError::BadSignature => "bad_signature",
            JwtError::Expired => "expired",
            JwtError::NotYetValid => "not_yet_valid",
            JwtError::WrongIssuer => "wrong_issuer",
            JwtError::WrongAudience => "wrong_audience",
            JwtError::MissingClaim(_) => "missing_claim",
            JwtError::BadClaim { .. } => "bad_claim",
            JwtError::UnknownClearance { .. } => "unknown_clearance",
            JwtError::Jwks(_) => "jwks_unavailable",
        }
    }
}

/// The JWKS could not be read.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the JWKS file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("GET {url}: {message}")]
    Fetch { url: String, message: String },
    #[error(
        "{from}: not a JWKS ({message}); expected {{\"keys\": [{{\"kty\": \"RSA\", \"kid\": ..., \"n\": ..., \"e\": ...}}]}}"
    )]
    Parse { from: String, message: String },
    #[error("{from}: no usable signing key (RSA of 2048 bits or more for RS256, EC P-256 for ES256)")]
    NoKeys { from: String },
    #[error("no JWKS has been loaded yet")]
    NotLoaded,
}

/// Validates bearer JWTs. One per server; cheap to share behind an `Arc`.
pub struct Verifier {
    config: OidcConfig,
    scale: ClassificationScale,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// Held while the JWKS is being reread, so concurrent requests share one fetch.
    schedule: tokio::sync::Mutex<Schedule>,
}

struct Schedule {
    next_refresh: Instant,
    next_forced: Instant,
}

/// The usable keys of one JWKS.
#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Key>,
    /// Keys without a `kid`.
    anonymous: Vec<Key>,
}

#[derive(Clone)]
struct Key {
    alg: Algorithm,
    key: DecodingKey,
}

impl KeySet {
    /// The key a token names, or for a token without a key id the one key
    /// of its algorithm.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<(String, Key)> {
        match kid {
            Some(kid) => self.by_kid.get(kid).map(|k| (kid.to_string(), k.clone())),
            None => {
                let mut matching = self.by_kid.values().chain(&self.anonymous).filter(|k| k.alg == alg);
                match (matching.next(), matching.next()) {
                    (Some(k), None) => Some((String::new(), k.clone())),
                    _ => None,
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.anonymous.is_empty()
    }
}

impl Verifier {
    /// Reads the JWKS once. A JWKS file must load; a JWKS URL that cannot be
    /// fetched yet is logged and retried when tokens arrive (until then every
    /// token is refused).
    pub async fn start(config: OidcConfig, scale: ClassificationScale) -> Result<Verifier, JwksError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("ffo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| JwksError::Fetch { url: config.jwks.to_string(), message: e.to_string() })?;
        let now = Instant::now();
        let verifier = Verifier {
            config,
            scale,
            http,
            keys: RwLock::new(Arc::new(KeySet::default())),
            schedule: tokio::sync::Mutex::new(Schedule { next_refresh: now, next_forced: now }),
        };
        {
            let mut schedule = verifier.schedule.lock().await;
            match verifier.load().await {
                Ok(keys) => verifier.install(keys, &mut schedule),
                Err(e) if matches!(verifier.config.jwks, JwksSource::Url(_)) => {
                    tracing::warn!(error = %e, "the identity provider's JWKS is unavailable; bearer JWTs are refused until it can be fetched");
                    schedule.next_refresh = Instant::now() + REFETCH_AT_MOST_EVERY;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(verifier)
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Validates a token and maps its claims to a caller (whose face is
    /// still `cli`; the face sets its own).
    pub async fn verify(&self, token: &str) -> Result<Caller, JwtError> {
        let header = Header::parse(token)?;
        self.refresh_if_due().await;
        let mut keys = self.current();
        let mut found = keys.find(header.kid.as_deref(), header.alg);
        if found.is_none() {
            // A key we do not hold: the provider may have rotated its keys.
            self.refetch_for_unknown_key(&keys).await;
            keys = self.current();
            if keys.is_empty() {
                return Err(JwksError::NotLoaded.into());
            }
            found = keys.find(header.kid.as_deref(), header.alg);
        }
        let (kid, key) = found.ok_or_else(|| match &header.kid {
            Some(kid) => JwtError::UnknownKey(shorten(kid)),
            None => JwtError::NoKeyId(header.alg),
        })?;
        if key.alg != header.alg {
            return Err(JwtError::KeyMismatch { token: header.alg, key: key.alg, kid });
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(refusal)?;
        self.caller_from(&data.claims)
    }

    /// The claims of a valid token as a caller.
    fn caller_from(&self, claims: &Map<String, Value>) -> Result<Caller, JwtError> {
        let c = &self.config;
        let name = match claims.get(&c.name_claim) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            None | Some(Value::Null) => return Err(JwtError::MissingClaim(c.name_claim.clone())),
            Some(_) => return Err(bad_claim(&c.name_claim, "must be a non-empty string")),
        };
        let words: Vec<&str> = match claims.get(&c.scopes_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.split_whitespace().collect(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().ok_or_else(|| bad_claim(&c.scopes_claim, "an array must hold only strings")))
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(bad_claim(&c.scopes_claim, "must be a space-separated string or an array of strings"));
            }
        };
        // Other scopes (openid, profile, …) belong to other resources.
        let scopes = words.iter().filter_map(|w| w.parse::<Scope>().ok());
        let clearance = match claims.get(&c.clearance_claim) {
            None | Some(Value::Null) => self.scale.lowest().clone(),
            Some(Value::String(level)) => self
                .scale
                .parse(level)
                .map_err(|source| JwtError::UnknownClearance { claim: c.clearance_claim.clone(), source })?,
            Some(_) => return Err(bad_claim(&c.clearance_claim, "must be a level name such as IL4")),
        };
        Ok(Caller::new(name, scopes, clearance))
    }

    fn current(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install(&self, keys: KeySet, schedule: &mut Schedule) {
        let keys = Arc::new(keys);
        match self.keys.write() {
            Ok(mut slot) => *slot = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
        schedule.next_refresh = Instant::now() + self.config.refresh;
    }

    /// Rereads the JWKS when its time has come, unless another request is
    /// already doing it. On failure the keys held are kept.
    async fn refresh_if_due(&self) {
        let Ok(mut schedule) = self.schedule.try_lock() else {
            return;
        };
        if Instant::now() < schedule.next_refresh {
            return;
        }
        match self.load().await {
            Ok(keys) => self.install(keys, &mut schedule),
            Err(e) => {
                tracing::warn!(error = %e, "could not refresh the JWKS; keeping the keys held");
                schedule.next_refresh = Instant::now() + REFETCH_AT_MOST_EVERY;
            }
        }
    }

    /// Rereads the JWKS for a key id it does not hold, at most once every
    /// [`REFETCH_AT_MOST_EVERY`] (so tokens with made-up key ids cannot
    /// make FFO hammer the provider).
    async fn refetch_for_unknown_key(&self, seen: &Arc<KeySet>) {
        let mut schedule = self.schedule.lock().await;
        if !Arc::ptr_eq(seen, &self.current()) {
            return; // another request refetched while this one waited
        }
        let now = Instant::now();
        if now < schedule.next_forced {
            return;
        }
        schedule.next_forced = now + REFETCH_AT_MOST_EVERY;
        match self.load().await {
            Ok(keys) => self.install(keys, &mut schedule),
            Err(e) => tracing::warn!(error = %e, "could not refetch the JWKS for an unknown key id"),
        }
    }

    async fn load(&self) -> Result<KeySet, JwksError> {
        let from = self.config.jwks.to_string();
        let bytes = match &self.config.jwks {
            JwksSource::File(path) => {
                tokio::fs::read(path).await.map_err(|source| JwksError::Read { path: path.clone(), source })?
            }
            JwksSource::Url(url) => self.fetch(url).await?,
        };
        let keys = parse_jwks(&bytes, &from)?;
        tracing::info!(jwks = %from, keys = keys.by_kid.len() + keys.anonymous.len(), "loaded the JWKS");
        Ok(keys)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, JwksError> {
        let err = |message: String| JwksError::Fetch { url: url.to_string(), message };
        let mut resp = self
            .http
            .get(url)
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| err(with_causes(e.without_url())))?;
        if !resp.status().is_success() {
            return Err(err(resp.status().to_string()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| err(with_causes(e.without_url())))? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_JWKS_BYTES {
                return Err(err(format!("the JWKS is over {MAX_JWKS_BYTES} bytes")));
            }
        }
        Ok(bytes)
    }
}

/// The parts of a token's JOSE header FFO looks at, read before anything
/// else so that a refused algorithm is named as such.
struct Header {
    alg: Algorithm,
    kid: Option<String>,
}

impl Header {
    fn parse(token: &str) -> Result<Header, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed("longer than 16 KiB"));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(JwtError::Malformed("expected three base64url parts separated by dots"));
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| JwtError::Malformed("the header is not base64url"))?;
        let value: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed("the header is not a JSON object"))?;
        let alg = match value.get("alg") {
            Some(Value::String(s)) => match s.as_str() {
                "RS256" => Algorithm::RS256,
                "ES256" => Algorithm::ES256,
                other => return Err(JwtError::Algorithm(shorten(other))),
            },
            _ => return Err(JwtError::Malformed("the header has no alg")),
        };
        if value.contains_key("crit") {
            return Err(JwtError::Critical);
        }
        let kid = match value.get("kid") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(JwtError::Malformed("kid is not a string")),
        };
        Ok(Header { alg, kid })
    }
}

/// Reads a JWKS, keeping the keys FFO can use: RSA (2048 bits or more)
/// for RS256 and EC P-256 for ES256, meant for signatures. Other keys
/// (encryption keys, other curves, symmetric keys) are skipped.
fn parse_jwks(bytes: &[u8], from: &str) -> Result<KeySet, JwksError> {
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<Value>,
    }
    let doc: Doc = serde_json::from_slice(bytes)
        .map_err(|e| JwksError::Parse { from: from.to_string(), message: e.to_string() })?;
    let mut set = KeySet::default();
    for raw in doc.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
            continue;
        };
        if let Some((kid, key)) = usable(&jwk) {
            match kid {
                Some(kid) => {
                    set.by_kid.insert(kid, key);
                }
                None => set.anonymous.push(key),
            }
        }
    }
    if set.is_empty() {
        return Err(JwksError::NoKeys { from: from.to_string() });
    }
    Ok(set)
}

fn usable(jwk: &Jwk) -> Option<(Option<String>, Key)> {
    if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != PublicKeyUse::Signature) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(rsa.n.trim_end_matches('=')).ok()?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant < MIN_RSA_MODULUS_BYTES {
                return None;
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
        _ => return None,
    };
    if let Some(declared) = jwk.common.key_algorithm
        && declared != KeyAlgorithm::from(alg)
    {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some((jwk.common.key_id.clone(), Key { alg, key }))
}

/// jsonwebtoken's refusal as FFO's.
fn refusal(e: jsonwebtoken::errors::Error) -> JwtError {
    match e.into_kind() {
        // The algorithm was checked against the key before: a key that does
        // not fit, or a signature of the wrong shape, fails the same way.
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::MissingAlgorithm => JwtError::BadSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::ImmatureSignature => JwtError::NotYetValid,
        ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
        ErrorKind::InvalidAudience => JwtError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => JwtError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => bad_claim(&claim, "has the wrong type"),
        ErrorKind::Json(_) => JwtError::Malformed("the header or the claims are not valid JSON"),
        ErrorKind::Base64(_) | ErrorKind::Utf8(_) => JwtError::Malformed("a part is not base64url"),
        _ => JwtError::Malformed("unreadable"),
    }
}

fn bad_claim(claim: &str, message: &str) -> JwtError {
    JwtError::BadClaim { claim: claim.to_string(), message: message.to_string() }
}

/// An error and its causes, `outer: inner: …`.
fn with_causes(e: impl std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// A value from a token, cut short for messages.
fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn the_header_is_read_before_anything_else() {
        let token = |header: &str| format!("{}.{}.sig", b64(header), b64("{}"));
        assert!(matches!(Header::parse(&token(r#"{"alg":"none"}"#)), Err(JwtError::Algorithm(a)) if a == "none"));
        assert!(matches!(Header::parse(&token(r#"{"alg":"HS256"}"#)), Err(JwtError::Algorithm(_))));
        assert!(matches!(Header::parse(&token(r#"{"alg":"RS256","crit":["b64"]}"#)), Err(JwtError::Critical)));
        assert!(matches!(Header::parse("a.b"), Err(JwtError::Malformed(_))));
        assert!(matches!(Header::parse(&"x".repeat(MAX_TOKEN_BYTES + 1)), Err(JwtError::Malformed(_))));
        let h = Header::parse(&token(r#"{"alg":"ES256","kid":"k1"}"#)).unwrap();
        assert_eq!((h.alg, h.kid.as_deref()), (Algorithm::ES256, Some("k1")));
    }

    #[test]
    fn jwks_keeps_only_signing_keys_it_can_use() {
        let n = b64(&"\u{1}".repeat(256));
        let short_n = b64(&"\u{1}".repeat(128));
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "rsa", "n": n, "e": "AQAB", "use": "sig", "alg": "RS256"},
            {"kty": "RSA", "kid": "enc", "n": n, "e": "AQAB", "use": "enc"},
            {"kty": "RSA", "kid": "short", "n": short_n, "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "n": n, "e": "AQAB", "alg": "PS256"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
            {"kty": "weird"}
        ]});
        let set = parse_jwks(doc.to_string().as_bytes(), "test").unwrap();
        let mut kids: Vec<&str> = set.by_kid.keys().map(String::as_str).collect();
        kids.sort();
        assert_eq!(kids, ["rsa"]);
        assert!(matches!(parse_jwks(br#"{"keys": []}"#, "t"), Err(JwksError::NoKeys { .. })));
        assert!(matches!(parse_jwks(b"[]", "t"), Err(JwksError::Parse { .. })));
    }

    #[test]
    fn claims_map_to_a_caller_and_unknown_levels_fail_closed() {
        let verifier = Verifier {
            config: OidcConfig::new("https://idp", "ffo", JwksSource::File("unused".into())),
            scale: ClassificationScale::default(),
            http: reqwest::Client::new(),
            keys: RwLock::new(Arc::new(KeySet::default())),
            schedule: tokio::sync::Mutex::new(Schedule { next_refresh: Instant::now(), next_forced: Instant::now() }),
        };
        let claims = |v: Value| v.as_object().cloned().unwrap();
        let c = verifier
            .caller_from(&claims(serde_json::json!({"sub": "ana", "scope": "openid read write", "clearance": "il5"})))
            .unwrap();
        assert_eq!((c.name.as_str(), c.clearance.as_str()), ("ana", "IL5"));
        assert!(c.can(Scope::Write) && !c.can(Scope::Admin));
        let c = verifier.caller_from(&claims(serde_json::json!({"sub": "bo", "scope": ["read"]}))).unwrap();
        assert_eq!(c.clearance.as_str(), "IL2");
        assert!(c.can(Scope::Read) && !c.can(Scope::Write));
        let refused = |v: Value| verifier.caller_from(&claims(v)).unwrap_err().reason();
        assert_eq!(refused(serde_json::json!({"sub": "x", "clearance": "TOP"})), "unknown_clearance");
        assert_eq!(refused(serde_json::json!({"sub": "x", "clearance": 6})), "bad_claim");
        assert_eq!(refused(serde_json::json!({"sub": "x", "scope": 1})), "bad_claim");
        assert_eq!(refused(serde_json::json!({"scope": "read"})), "missing_claim");
    }
}
