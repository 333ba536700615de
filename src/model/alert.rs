//! An alert as FFO understands it, whatever sent it (Alertmanager, Grafana,
//! an agent's label map).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `firing` or `resolved`, when the sender says.
    pub status: Option<String>,
    /// RFC 3339, as sent.
    pub starts_at: Option<String>,
    /// RFC 3339; absent while firing (Alertmanager sends year 1).
    pub ends_at: Option<String>,
    pub fingerprint: Option<String>,
    pub generator_url: Option<String>,
}

impl Alert {
    pub fn name(&self) -> Option<&str> {
        self.labels.get("alertname").map(String::as_str)
    }

    /// The sender's fingerprint, or one computed from the label set the way
    /// Alertmanager identifies an alert (older payloads carry none).
    pub fn fingerprint(&self) -> String {
        if let Some(f) = self.fingerprint.as_deref().filter(|f| !f.is_empty()) {
            return f.to_string();
        }
        let mut h = Sha256::new();
        for (k, v) in &self.labels {
            h.update(k.as_bytes());
            h.update([0xff]);
            h.update(v.as_bytes());
            h.update([0xff]);
        }
        hex::encode(&h.finalize()[..8])
    }

    /// When the alert started, if the sender says (Alertmanager sends year 1
    /// for "unknown").
    pub fn started(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.starts_at.as_deref().and_then(super::time::parse_time).filter(|t| chrono::Datelike::year(t) > 1970)
    }

    pub fn is_resolved(&self) -> bool {
        self.status.as_deref() == Some("resolved")
    }

    /// The alert's summary or description, whichever it has.
    pub fn summary(&self) -> Option<&str> {
        ["summary", "description", "message", "title"]
            .iter()
            .find_map(|k| self.annotations.get(*k).or_else(|| self.labels.get(*k)))
            .map(String::as_str)
    }
}
