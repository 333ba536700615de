//! Write-back: what an agent or a person did, and whether it worked, as a
//! ledger document. The outcome's own JSON is the payload, so a later
//! confirmation or retraction is a new version built from the same record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Report;
use super::document::{HistoryDoc, OutcomeFields, RELATED};
use super::linking::Linker;
use super::markup::{markdown, structure};
use crate::ledger::NewVersion;
use crate::model::time::rfc3339;
use crate::model::{Authority, DocId, DocKind, EntityId, OutcomeResult, Source};

/// An outcome as recorded. Also the ledger payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub entity: String,
    pub action: String,
    pub result: OutcomeResult,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Markdown, parsed into the postmortem structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmortem: Option<String>,
    /// Documents (incidents) the action relates to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    pub performed_by: String,
    pub authority: Authority,
    /// Who confirmed or retracted it, when, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_note: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl Outcome {
    pub fn doc(&self) -> Result<DocId, String> {
        DocId::new(Source::Outcome, self.id.clone()).map_err(|e| e.to_string())
    }

    /// What makes two writes the same write, for idempotency: everything
    /// the caller said, not the id or the time FFO gave it.
    pub fn body_hash(&self) -> String {
        let said = serde_json::json!({
            "entity": self.entity, "action": self.action, "result": self.result, "summary": self.summary,
            "alert": self.alert, "details": self.details, "postmortem": self.postmortem, "related": self.related,
            "started_at": self.started_at, "ended_at": self.ended_at, "performed_by": self.performed_by,
        });
        hex::encode(Sha256::digest(said.to_string().as_bytes()))
    }

    pub fn from_payload(bytes: &[u8]) -> Result<Outcome, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("stored outcome is unreadable: {e}"))
    }

    /// The outcome as a ledger version: its graph and its search document.
    pub fn to_version(&self, entity: &EntityId, linker: &Linker) -> Result<NewVersion, String> {
        let doc = self.doc()?;
        let title = format!("{} on {}: {}", self.action, entity.name(), self.result.as_str());
        let mut d = HistoryDoc::new(doc, DocKind::Outcome, title);
        let mut body = self.summary.clone();
        for part in [&self.details, &self.postmortem].into_iter().flatten() {
            body.push_str("\n\n");
            body.push_str(part);
        }
        d.body = markdown::to_plain(&body);
        if let Some(pm) = &self.postmortem {
            d.postmortem = structure::postmortem_from_text(pm);
        }
        if d.postmortem.summary.is_empty() {
            d.postmortem.summary = self.summary.clone();
        }
        d.affects = vec![entity.clone()];
        d.alerts = self.alert.iter().cloned().collect();
        d.links =
            self.related.iter().filter_map(|r| r.parse::<DocId>().ok()).map(|r| (r, RELATED.to_string())).collect();
        d.started_at = self.started_at;
        d.ended_at = self.ended_at;
        d.created = Some(self.started_at.unwrap_or(self.recorded_at));
        d.updated = Some(self.reviewed_at.unwrap_or(self.recorded_at));
        d.status = Some(self.result.as_str().to_string());
        d.author = Some(self.performed_by.clone());
        d.version =
            Some(format!("{}@{}", self.authority.as_str(), rfc3339(self.reviewed_at.unwrap_or(self.recorded_at))));
        d.outcome = Some(OutcomeFields {
            action: self.action.clone(),
            result: self.result,
            performed_by: self.performed_by.clone(),
            authority: self.authority,
        });
        d.payload = serde_json::to_vec(self).map_err(|e| e.to_string())?;
        let mut report = Report::new(Source::Outcome);
        Ok(d.into_version(linker, &mut report))
    }
}
