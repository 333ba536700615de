//! FFO's configuration: one [`Config`] built from a file, the environment
//! and flags (flags win, then the environment, then the file), validated
//! once and passed explicitly. Every environment variable is listed here.
//!
//! | variable | meaning | default |
//! | --- | --- | --- |
//! | `FFO_DATA` | data directory (ledger, graph, index) | `./ffo-data` |
//! | `FFO_CONFIG` | config file (TOML) | `$FFO_DATA/ffo.toml` if present |
//! | `FFO_LEDGER_URL` | `postgres://…` for a shared ledger | SQLite in the data directory |
//! | `FFO_LISTEN` | address `ffo serve` listens on | `127.0.0.1:7411` |
//! | `FFO_MAPPINGS` | folder of `ingest/*.toml` overrides | built-in mappings |
//! | `FFO_MAX_BODY_BYTES` | largest HTTP request body | 1 MiB |
//! | `FFO_MAX_DOCUMENT_BYTES` | largest single ingested document | 16 MiB |
//! | `FFO_MAX_EXPORT_BYTES` | largest export file (many documents) read | 256 MiB |
//! | `FFO_ALLOWED_HOSTS` | extra Host names every route accepts (comma-separated) | loopback names and IP literals |
//! | `FFO_REQUEST_TIMEOUT_SECS` | a question still running after this is stopped | 30 |
//! | `FFO_CHANGE_LOOKBACK_DAYS` | how far before an alert changes are suspects | 7 |
//! | `FFO_CONFLUENCE_TOKEN` | Confluence token (`user:token` for basic auth) | none |
//! | `FFO_JIRA_TOKEN` | Jira token (`user:token` for basic auth) | none |
//!
//! The file also holds the classification scale (`[classification]`),
//! static bearer tokens (`[[tokens]]`) and the identity provider whose
//! JWTs are accepted (`[oidc]`); README.md (Configuration) shows each.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::jwt::{JwksSource, OidcConfig};
use crate::auth::{Caller, Scope, Tokens};
use crate::model::ClassificationScale;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{name}={value:?}: {message}")]
    Env { name: &'static str, value: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// `None`: SQLite in the data directory.
    pub ledger_url: Option<String>,
    pub listen: SocketAddr,
    pub mappings: Option<PathBuf>,
    pub scale: ClassificationScale,
    pub tokens: Tokens,
    /// Bearer JWTs from an identity provider, beside the static tokens.
    pub oidc: Option<OidcConfig>,
    pub max_body_bytes: usize,
    pub max_document_bytes: u64,
    pub max_export_bytes: u64,
    pub allowed_hosts: Vec<String>,
    pub limits: Limits,
    /// How far before an alert changes are suspects in `context_for_action`.
    pub change_lookback: Duration,
    /// The `ffo` binary that runs SPARQL queries in worker processes (set
    /// by the binary itself); `None` runs them in this process.
    pub sparql_worker: Option<PathBuf>,
    pub confluence_token: Option<String>,
    pub jira_token: Option<String>,
}

/// Bounds on every question, whatever face it came through.
#[derive(Debug, Clone)]
pub struct Limits {
    /// A question still running after this is stopped (its work too).
    pub timeout: Duration,
    /// Questions computing at once; more wait their turn, so that a storm
    /// of expensive questions never starves cheap ones (`/healthz`) of CPU.
    pub concurrent: usize,
    /// `as_of` questions building a past view at once.
    pub concurrent_as_of: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Limits { timeout: Duration::from_secs(30), concurrent: cores, concurrent_as_of: 1 }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:7411";

/// The config file's shape. Unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    ledger_url: Option<String>,
    listen: Option<String>,
    mappings: Option<PathBuf>,
    max_body_bytes: Option<usize>,
    max_document_bytes: Option<u64>,
    max_export_bytes: Option<u64>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    request_timeout_secs: Option<u64>,
    change_lookback_days: Option<u64>,
    classification: Option<RawClassification>,
    #[serde(default)]
    tokens: Vec<RawToken>,
    oidc: Option<RawOidc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassification {
    levels: Vec<String>,
    /// The level of an entity or document no source classifies; the lowest by default.
    default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    token: Option<String>,
    token_sha256: Option<String>,
    scopes: Vec<String>,
    clearance: Option<String>,
}

/// `[oidc]`: bearer JWTs from the team's identity provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    audience: String,
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    scopes_claim: Option<String>,
    clearance_claim: Option<String>,
    name_claim: Option<String>,
    resource: Option<String>,
    jwks_refresh_seconds: Option<u64>,
}

impl RawOidc {
    fn validate(self, base: Option<&Path>) -> Result<OidcConfig, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(format!("oidc.{m}"));
        let jwks = match (self.jwks_file, self.jwks_url) {
            // A relative path is relative to the config file.
            (Some(path), None) => JwksSource::File(base.map(|b| b.join(&path)).unwrap_or(path)),
            (None, Some(url)) if is_http_url(&url) => JwksSource::Url(url.trim().to_string()),
            (None, Some(url)) => {
                return Err(invalid(format!(
                    "jwks_url {url:?} is not an http(s) URL, e.g. https://idp.example.com/jwks.json"
                )));
            }
            _ => return Err(invalid("jwks_file / jwks_url: give exactly one".into())),
        };
        let mut config = OidcConfig::new(self.issuer.trim(), self.audience.trim(), jwks);
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err(invalid("issuer and oidc.audience must not be empty".into()));
        }
        for (key, value, slot) in [
            ("scopes_claim", self.scopes_claim, &mut config.scopes_claim),
            ("clearance_claim", self.clearance_claim, &mut config.clearance_claim),
            ("name_claim", self.name_claim, &mut config.name_claim),
        ] {
            match value.map(|v| v.trim().to_string()) {
                Some(v) if v.is_empty() => return Err(invalid(format!("{key} must not be empty"))),
                Some(v) => *slot = v,
                None => {}
            }
        }
        if let Some(resource) = self.resource {
            if !is_http_url(&resource) {
                return Err(invalid(format!(
                    "resource {resource:?} is not an http(s) URL; give FFO's public URL, e.g. https://ffo.example.com"
                )));
            }
            config.resource = Some(resource.trim().trim_end_matches('/').to_string());
        }
        match self.jwks_refresh_seconds {
            Some(0) => return Err(invalid("jwks_refresh_seconds must be at least 1".into())),
            Some(s) => config.refresh = std::time::Duration::from_secs(s),
            None => {}
        }
        Ok(config)
    }
}

fn is_http_url(s: &str) -> bool {
    let s = s.trim();
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace) && !r.contains('"'))
}

/// Overrides from command-line flags.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub data_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
}

impl Config {
    /// Builds the configuration from flags, the process environment and the file.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        Config::load_with(flags, |k| std::env::var(k).ok())
    }

    pub fn load_with(flags: &Flags, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("FFO_DATA").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("ffo-data"));
        let file = flags
            .config
            .clone()
            .or_else(|| env("FFO_CONFIG").map(PathBuf::from))
            .or_else(|| Some(data_dir.join("ffo.toml")).filter(|p| p.exists()));
        let raw = match &file {
            Some(path) => read_file(path)?,
            None => RawConfig::default(),
        };

        let scale = match &raw.classification {
            Some(c) => {
                let scale = ClassificationScale::new(&c.levels)
                    .map_err(|e| ConfigError::Invalid(format!("classification.levels: {e}")))?;
                match &c.default {
                    Some(d) => scale
                        .with_default(d)
                        .map_err(|e| ConfigError::Invalid(format!("classification.default: {e}")))?,
                    None => scale,
                }
            }
            None => ClassificationScale::default(),
        };
        let listen_text = flags
            .listen
            .clone()
            .or_else(|| env("FFO_LISTEN"))
            .or(raw.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen = listen_text.parse().map_err(|_| {
            ConfigError::Invalid(format!("listen address {listen_text:?} is not HOST:PORT, e.g. 127.0.0.1:7411"))
        })?;
        let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
            env(name)
                .map(|v| {
                    v.trim().parse::<u64>().map_err(|e| ConfigError::Env {
                        name,
                        value: v.clone(),
                        message: e.to_string(),
                    })
                })
                .transpose()
        };
        let max_body_bytes =
            number("FFO_MAX_BODY_BYTES")?.map(|n| n as usize).or(raw.max_body_bytes).unwrap_or(1024 * 1024);
        let max_document_bytes = number("FFO_MAX_DOCUMENT_BYTES")?
            .or(raw.max_document_bytes)
            .unwrap_or(crate::ingest::config::DEFAULT_MAX_DOCUMENT_BYTES);

        let max_export_bytes = number("FFO_MAX_EXPORT_BYTES")?
            .or(raw.max_export_bytes)
            .unwrap_or(crate::ingest::config::DEFAULT_MAX_EXPORT_BYTES);
        let mut tokens = Tokens::new();
        for t in &raw.tokens {
            let scopes = t
                .scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ConfigError::Invalid(format!("token {:?}: {e}", t.name)))?;
            let clearance = match &t.clearance {
                Some(c) => scale.parse(c).map_err(|e| ConfigError::Invalid(format!("token {:?}: {e}", t.name)))?,
                None => scale.lowest().clone(),
            };
            let caller = Caller::new(&t.name, scopes, clearance);
            match (&t.token, &t.token_sha256) {
                (Some(plain), None) => tokens.add_plain(plain, caller),
                (None, Some(d)) => tokens
                    .add_digest(d, caller)
                    .map_err(|e| ConfigError::Invalid(format!("token {:?}: {e}", t.name)))?,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "token {:?}: give exactly one of token or token_sha256",
                        t.name
                    )));
                }
            }
        }
        let mut limits = Limits::default();
        if let Some(secs) = number("FFO_REQUEST_TIMEOUT_SECS")?.or(raw.request_timeout_secs) {
            if secs == 0 || secs > 3600 {
                return Err(ConfigError::Invalid(format!("request_timeout_secs must be 1..=3600, got {secs}")));
            }
            limits.timeout = Duration::from_secs(secs);
        }
        let base = file.as_deref().and_then(Path::parent);
        let oidc = raw.oidc.map(|o| o.validate(base)).transpose()?;
        let lookback_days = number("FFO_CHANGE_LOOKBACK_DAYS")?
            .or(raw.change_lookback_days)
            .unwrap_or(crate::context::DEFAULT_LOOKBACK_DAYS as u64);
        if lookback_days == 0 || lookback_days > 365 {
            return Err(ConfigError::Invalid(format!("change_lookback_days must be 1..=365, got {lookback_days}")));
        }
        let change_lookback = Duration::from_secs(lookback_days * 86_400);
        let mut allowed_hosts = raw.allowed_hosts;
        if let Some(extra) = env("FFO_ALLOWED_HOSTS") {
            allowed_hosts.extend(extra.split(',').map(|h| h.trim().to_string()).filter(|h| !h.is_empty()));
        }

        Ok(Config {
            ledger_url: env("FFO_LEDGER_URL").or(raw.ledger_url).filter(|u| !u.is_empty()),
            mappings: env("FFO_MAPPINGS").map(PathBuf::from).or(raw.mappings),
            data_dir,
            listen,
            scale,
            tokens,
            oidc,
            max_body_bytes,
            max_document_bytes,
            max_export_bytes,
            allowed_hosts,
            limits,
            change_lookback,
            sparql_worker: None,
            confluence_token: env("FFO_CONFLUENCE_TOKEN"),
            jira_token: env("FFO_JIRA_TOKEN"),
        })
    }
}

fn read_file(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })?;
    toml::from_str(&text).map_err(|e| ConfigError::File { path: path.to_path_buf(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_environment_beat_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ffo.toml");
        std::fs::write(
            &file,
            "listen = '127.0.0.1:1'\n[classification]\nlevels = ['public', 'secret']\n[[tokens]]\nname = 'bot'\ntoken = 't'\nscopes = ['read']\nclearance = 'public'\n",
        )
        .unwrap();
        let flags = Flags { data_dir: Some(dir.path().to_path_buf()), ..Flags::default() };
        let c = Config::load_with(&flags, |k| (k == "FFO_LISTEN").then(|| "127.0.0.1:2".to_string())).unwrap();
        assert_eq!(c.listen.port(), 2);
        assert_eq!(c.scale.levels().len(), 2);
        assert_eq!(c.tokens.authenticate("t").map(|c| c.name.as_str()), Some("bot"));
        let flags = Flags { listen: Some("127.0.0.1:3".into()), ..flags };
        assert_eq!(Config::load_with(&flags, |_| None).unwrap().listen.port(), 3);
    }

    #[test]
    fn oidc_table_is_validated() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ffo.toml");
        let load = |text: &str| {
            std::fs::write(&file, text).unwrap();
            Config::load_with(&Flags { config: Some(file.clone()), ..Flags::default() }, |_| None)
        };
        let c = load("[oidc]\nissuer = 'https://idp'\naudience = 'ffo'\njwks_file = 'jwks.json'\nscopes_claim = 'scp'\nresource = 'https://ffo.example.com/'\n").unwrap();
        let oidc = c.oidc.unwrap();
        assert_eq!(oidc.jwks, JwksSource::File(dir.path().join("jwks.json")));
        assert_eq!(
            (oidc.scopes_claim.as_str(), oidc.clearance_claim.as_str(), oidc.name_claim.as_str()),
            ("scp", "clearance", "sub")
        );
        assert_eq!(oidc.resource.as_deref(), Some("https://ffo.example.com"));
        for (text, key) in [
            ("[oidc]\nissuer = 'i'\naudience = 'a'\n", "jwks_file"),
            ("[oidc]\nissuer = 'i'\naudience = 'a'\njwks_url = 'ftp://x'\n", "jwks_url"),
            ("[oidc]\nissuer = 'i'\naudience = 'a'\njwks_url = 'https://x'\nname_claim = ''\n", "name_claim"),
            ("[oidc]\nissuer = 'i'\naudience = 'a'\njwks_url = 'https://x'\nalgorithms = ['HS256']\n", "algorithms"),
        ] {
            let err = load(text).unwrap_err().to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.toml");
        std::fs::write(&file, "listne = 'x'\n").unwrap();
        let flags = Flags { config: Some(file), ..Flags::default() };
        let err = Config::load_with(&flags, |_| None).unwrap_err().to_string();
        assert!(err.contains("listne"), "{err}");
        let err = Config::load_with(&Flags::default(), |k| (k == "FFO_MAX_BODY_BYTES").then(|| "lots".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("FFO_MAX_BODY_BYTES"), "{err}");
    }
}
