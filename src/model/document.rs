//! History documents: incidents, postmortems, runbooks, pages, outcomes,
//! alert firings. [`TextDoc`] is what the search index holds of one; the
//! ledger keeps it (as JSON) beside the document's graph, so the index can
//! be rebuilt from the ledger alone.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::vocab;
use oxigraph::model::NamedNodeRef;

/// What a history document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Incident,
    Postmortem,
    Problem,
    Runbook,
    Page,
    Ticket,
    Policy,
    Change,
    Outcome,
    AlertFiring,
}

impl DocKind {
    pub const ALL: [DocKind; 10] = [
        DocKind::Incident,
        DocKind::Postmortem,
        DocKind::Problem,
        DocKind::Runbook,
        DocKind::Page,
        DocKind::Ticket,
        DocKind::Policy,
        DocKind::Change,
        DocKind::Outcome,
        DocKind::AlertFiring,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Incident => "incident",
            DocKind::Postmortem => "postmortem",
            DocKind::Problem => "problem",
            DocKind::Runbook => "runbook",
            DocKind::Page => "page",
            DocKind::Ticket => "ticket",
            DocKind::Policy => "policy",
            DocKind::Change => "change",
            DocKind::Outcome => "outcome",
            DocKind::AlertFiring => "alert_firing",
        }
    }

    pub fn class(self) -> NamedNodeRef<'static> {
        match self {
            DocKind::Incident => vocab::INCIDENT,
            DocKind::Postmortem => vocab::POSTMORTEM,
            DocKind::Problem => vocab::PROBLEM,
            DocKind::Runbook => vocab::RUNBOOK,
            DocKind::Page => vocab::PAGE,
            DocKind::Ticket => vocab::TICKET,
            DocKind::Policy => vocab::POLICY,
            DocKind::Change => vocab::CHANGE,
            DocKind::Outcome => vocab::OUTCOME,
            DocKind::AlertFiring => vocab::ALERT_FIRING,
        }
    }

    /// Incidents and what is written about them.
    pub fn is_history_of_failure(self) -> bool {
        matches!(self, DocKind::Incident | DocKind::Postmortem | DocKind::Problem)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocKind {
    type Err = String;
    fn from_str(s: &str) -> Result<DocKind, String> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        DocKind::ALL.into_iter().find(|k| k.as_str() == s || (s == "alert" && *k == DocKind::AlertFiring)).ok_or_else(
            || format!("unknown document kind {s:?}; expected one of {}", DocKind::ALL.map(DocKind::as_str).join(", ")),
        )
    }
}

/// The searchable form of a history document. Fields the source did not
/// have are empty: structure is never invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextDoc {
    /// `source:external-id`
    pub doc_id: String,
    pub kind: Option<DocKind>,
    pub source: String,
    pub title: String,
    /// The whole text, structure kept as Markdown-like plain text.
    pub body: String,
    pub url: Option<String>,
    /// RFC 3339.
    pub created: Option<String>,
    pub updated: Option<String>,
    pub resolved: Option<String>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub author: Option<String>,
    pub labels: Vec<String>,
    /// Where the source files it (a Confluence space), its breadcrumb and
    /// version; absent for sources without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub classification: Option<String>,
    /// Alert names a runbook answers, or the alert that fired.
    pub alerts: Vec<String>,
    /// Entity ids the source names explicitly.
    pub affects: Vec<String>,
    /// Entity ids whose name or alias occurs in the text.
    pub mentions: Vec<String>,
    /// Entity ids named in the root cause.
    pub cause_in: Vec<String>,
    pub summary: String,
    pub impact: String,
    pub trigger: String,
    pub root_cause: String,
    pub resolution: String,
    pub action_items: Vec<String>,
    pub timeline: Vec<String>,
    pub lessons: String,
    /// Runbook sections.
    pub meaning: String,
    pub diagnosis: String,
    pub mitigation: String,
    /// Outcomes: the action, its result, who acted, with what authority.
    pub action: Option<String>,
    pub result: Option<String>,
    pub performed_by: Option<String>,
    pub authority: Option<String>,
    /// Changes: type, status, when, schedule, who.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<super::ChangeFields>,
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    Success,
    Failure,
    Partial,
    Aborted,
}

impl OutcomeResult {
    pub const ALL: [OutcomeResult; 4] =
        [OutcomeResult::Success, OutcomeResult::Failure, OutcomeResult::Partial, OutcomeResult::Aborted];

    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeResult::Success => "success",
            OutcomeResult::Failure => "failure",
            OutcomeResult::Partial => "partial",
            OutcomeResult::Aborted => "aborted",
        }
    }
}

impl FromStr for OutcomeResult {
    type Err = String;
    fn from_str(s: &str) -> Result<OutcomeResult, String> {
        OutcomeResult::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            format!(
                "invalid result {s:?}; allowed values: {}",
                OutcomeResult::ALL.map(OutcomeResult::as_str).join(", ")
            )
        })
    }
}

/// Who stands behind an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Authority {
    /// Written by an agent; nobody has checked it.
    Agent,
    /// A person confirmed it.
    Confirmed,
    /// A person retracted it: it is kept, never ranked.
    Retracted,
}

impl Authority {
    pub fn as_str(self) -> &'static str {
        match self {
            Authority::Agent => "agent",
            Authority::Confirmed => "confirmed",
            Authority::Retracted => "retracted",
        }
    }
}

/// Words that carry no meaning in an action ("restart *the* pods").
const ACTION_STOP_WORDS: &[&str] = &["the", "a", "an", "of", "on", "to", "for", "in", "and", "its", "all", "some"];

/// An action in a form two phrasings of the same action share: lower case,
/// words only, filler words dropped, plurals singular ("Restart the pods!"
/// and "restart pod" are the same action).
pub fn normalize_action(action: &str) -> String {
    action
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !ACTION_STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_normalise_to_the_same_words() {
        assert_eq!(normalize_action("Restart the pods!"), "restart pod");
        assert_eq!(normalize_action("restart pod"), "restart pod");
        assert_eq!(normalize_action("Fail over payments-db"), "fail over payment db");
        assert_ne!(normalize_action("scale up"), normalize_action("scale down"));
        assert_eq!(normalize_action("flush caches"), "flush cache");
        assert_eq!("PARTIAL".parse::<OutcomeResult>(), Ok(OutcomeResult::Partial));
        assert!("done".parse::<OutcomeResult>().unwrap_err().contains("success, failure, partial, aborted"));
    }
}
