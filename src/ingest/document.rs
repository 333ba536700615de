//! The common shape of a history document (incident, postmortem, runbook,
//! page) once a source has read it, and its translation into a ledger
//! version: the document's named graph and its search document.

use chrono::{DateTime, Utc};
use oxigraph::model::{Literal, NamedNode, Triple, vocab::xsd};

use super::linking::{Linker, Named};
use super::markup::structure::{Postmortem, Runbook};
use super::{Note, Report};
use crate::graph::to_ntriples;
use crate::ledger::NewVersion;
use crate::model::time::rfc3339;
use crate::model::{
    Authority, ChangeFields, DocId, DocKind, EntityId, OutcomeResult, TextDoc, normalize_action, vocab,
};

/// What an outcome document adds to a history document.
#[derive(Debug, Clone)]
pub struct OutcomeFields {
    pub action: String,
    pub result: OutcomeResult,
    pub performed_by: String,
    pub authority: Authority,
}

/// A history document as a source gives it, in FFO's terms.
#[derive(Debug, Clone)]
pub struct HistoryDoc {
    pub doc: DocId,
    pub kind: DocKind,
    pub title: String,
    /// The text, in the converters' Markdown-like plain form.
    pub body: String,
    pub url: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub author: Option<String>,
    pub labels: Vec<String>,
    pub space: Option<String>,
    pub ancestors: Vec<String>,
    pub version: Option<String>,
    pub classification: Option<String>,
    /// Alert names (a runbook answers them; an alert firing is one).
    pub alerts: Vec<String>,
    /// Entity names the source gives explicitly (Jira components, front
    /// matter `services`): these become `affects`.
    pub named_entities: Vec<String>,
    /// Entities already resolved by the caller (an outcome's target, the
    /// entity an alert's labels named): `affects`, like `named_entities`.
    pub affects: Vec<EntityId>,
    /// Links to other documents, with the source's name for the link.
    pub links: Vec<(DocId, String)>,
    /// When what the document records began and ended (an action, a firing).
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// An alert firing's fingerprint.
    pub fingerprint: Option<String>,
    /// Set for outcomes of actions (write-back).
    pub outcome: Option<OutcomeFields>,
    /// Set for changes: type, status, when, schedule, who.
    pub change: Option<ChangeFields>,
    /// A change event's references and names that resolved to no entity
    /// (`ffo:unresolvedRef`): a later catalog import re-links it.
    pub unresolved_refs: Vec<String>,
    pub postmortem: Postmortem,
    pub runbook: Runbook,
    /// The raw document as the source sent it.
    pub payload: Vec<u8>,
}

impl HistoryDoc {
    pub fn new(doc: DocId, kind: DocKind, title: impl Into<String>) -> HistoryDoc {
        HistoryDoc {
            doc,
            kind,
            title: title.into(),
            body: String::new(),
            url: None,
            created: None,
            updated: None,
            resolved: None,
            severity: None,
            status: None,
            author: None,
            labels: Vec::new(),
            space: None,
            ancestors: Vec::new(),
            version: None,
            classification: None,
            alerts: Vec::new(),
            named_entities: Vec::new(),
            affects: Vec::new(),
            links: Vec::new(),
            started_at: None,
            ended_at: None,
            fingerprint: None,
            outcome: None,
            change: None,
            unresolved_refs: Vec::new(),
            postmortem: Postmortem::default(),
            runbook: Runbook::default(),
            payload: Vec::new(),
        }
    }

    /// Links the document to entities and renders it for the ledger.
    /// Names that resolve to nothing or to several entities are noted.
    pub fn into_version(mut self, linker: &Linker, report: &mut Report) -> NewVersion {
        // Structure fields hold the source's markup; what is kept is text.
        let pm = &mut self.postmortem;
        for field in
            [&mut pm.summary, &mut pm.impact, &mut pm.trigger, &mut pm.root_cause, &mut pm.resolution, &mut pm.lessons]
        {
            *field = to_plain(field);
        }
        for item in pm.action_items.iter_mut().chain(pm.timeline.iter_mut()) {
            *item = to_plain(item);
        }
        let rb = &mut self.runbook;
        for field in [&mut rb.meaning, &mut rb.impact, &mut rb.diagnosis, &mut rb.mitigation] {
            *field = to_plain(field);
        }
        let mut affects: Vec<EntityId> = self.affects.clone();
        for name in &self.named_entities {
            match linker.resolve(name) {
                Named::One(id) => {
                    if !affects.contains(&id) {
                        affects.push(id);
                    }
                }
                Named::Ambiguous(ids) => report.warnings.push(Note {
                    at: self.doc.to_string(),
                    message: format!(
                        "{name:?} names several entities ({}); not linked",
                        ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                    ),
                }),
                // Labels and components that are not entities are common.
                Named::Unknown => {}
            }
        }
        let text = format!("{}\n{}", self.title, self.body);
        let mentions: Vec<EntityId> = linker.find(&text).into_iter().filter(|e| !affects.contains(e)).collect();
        let cause_in: Vec<EntityId> = linker.find_cause(&self.postmortem.root_cause).into_iter().collect();

        let triples = self.triples(&affects, &mentions, &cause_in);
        let text_doc = self.text_doc(&affects, &mentions, &cause_in);
        NewVersion {
            source_version: self.version.clone().or_else(|| self.updated.map(rfc3339)),
            source_updated: self.updated,
            payload: self.payload,
            graph: to_ntriples(&triples),
            // Serialising a plain struct of strings cannot fail.
            text_doc: serde_json::to_string(&text_doc).ok(),
            doc: self.doc,
        }
    }

    fn triples(&self, affects: &[EntityId], mentions: &[EntityId], cause_in: &[EntityId]) -> Vec<Triple> {
        let mut out = super::document_triples(&self.doc, self.kind.class(), self.url.as_deref(), Some(&self.title));
        let s = NamedNode::new_unchecked(self.doc.iri());
        let lit = |v: &str| Literal::new_simple_literal(v);
        let date = |t: &DateTime<Utc>| Literal::new_typed_literal(rfc3339(*t), xsd::DATE_TIME);
        for (p, v) in
            [(vocab::CREATED, &self.created), (vocab::UPDATED, &self.updated), (vocab::RESOLVED, &self.resolved)]
        {
            if let Some(v) = v {
                out.push(Triple::new(s.clone(), p, date(v)));
            }
        }
        for (p, v) in [
            (vocab::SEVERITY, &self.severity),
            (vocab::STATUS, &self.status),
            (vocab::AUTHOR, &self.author),
            (vocab::SPACE, &self.space),
            (vocab::VERSION, &self.version),
            (vocab::FINGERPRINT, &self.fingerprint),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                out.push(Triple::new(s.clone(), p, lit(v)));
            }
        }
        let pm = &self.postmortem;
        for (p, v) in [
            (vocab::SUMMARY, &pm.summary),
            (vocab::IMPACT, &pm.impact),
            (vocab::TRIGGER, &pm.trigger),
            (vocab::ROOT_CAUSE, &pm.root_cause),
            (vocab::RESOLUTION, &pm.resolution),
        ] {
            if !v.trim().is_empty() {
                out.push(Triple::new(s.clone(), p, lit(v.trim())));
            }
        }
        for (p, values) in [
            (vocab::ACTION_ITEM, &pm.action_items),
            (vocab::LABEL, &self.labels),
            (vocab::ANCESTOR, &self.ancestors),
            (vocab::ALERT_NAME, &self.alerts),
            (vocab::UNRESOLVED_REF, &self.unresolved_refs),
        ] {
            for v in values.iter().filter(|v| !v.trim().is_empty()) {
                out.push(Triple::new(s.clone(), p, lit(v.trim())));
            }
        }
        for (p, ids) in [(vocab::AFFECTS, affects), (vocab::MENTIONS, mentions), (vocab::CAUSE_IN, cause_in)] {
            for id in ids {
                out.push(Triple::new(s.clone(), p, NamedNode::new_unchecked(id.iri())));
            }
        }
        for (target, kind) in &self.links {
            let p = if kind == RELATED { vocab::RELATED_TO } else { vocab::LINKS_TO };
            out.push(Triple::new(s.clone(), p, NamedNode::new_unchecked(target.iri())));
        }
        if let Some(c) = &self.change {
            out.push(Triple::new(s.clone(), vocab::CHANGE_TYPE, lit(c.change_type.as_str())));
            out.push(Triple::new(s.clone(), vocab::CHANGE_STATUS, lit(c.status.as_str())));
            for (p, v) in [(vocab::STARTED_AT, &c.start), (vocab::ENDED_AT, &c.end)] {
                if let Some(v) = v {
                    out.push(Triple::new(s.clone(), p, date(v)));
                }
            }
            for (p, v) in [
                (vocab::SCHEDULE, c.schedule.as_ref().map(|s| &s.text)),
                (vocab::RISK, c.risk.as_ref()),
                (vocab::REVISION, c.revision.as_ref()),
                (vocab::PERFORMED_BY, c.by.as_ref()),
                (vocab::ENVIRONMENT, c.environment.as_ref()),
            ] {
                if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                    out.push(Triple::new(s.clone(), p, lit(v.trim())));
                }
            }
        }
        if let Some(o) = &self.outcome {
            for (p, v) in [
                (vocab::ACTION, o.action.clone()),
                (vocab::NORMALIZED_ACTION, normalize_action(&o.action)),
                (vocab::RESULT, o.result.as_str().to_string()),
                (vocab::PERFORMED_BY, o.performed_by.clone()),
                (vocab::AUTHORITY, o.authority.as_str().to_string()),
            ] {
                out.push(Triple::new(s.clone(), p, lit(&v)));
            }
        }
        out
    }

    fn text_doc(&self, affects: &[EntityId], mentions: &[EntityId], cause_in: &[EntityId]) -> TextDoc {
        let ids = |v: &[EntityId]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        let pm = &self.postmortem;
        let rb = &self.runbook;
        TextDoc {
            doc_id: self.doc.to_string(),
            kind: Some(self.kind),
            source: self.doc.source().to_string(),
            title: self.title.clone(),
            body: self.body.clone(),
            url: self.url.clone(),
            created: self.created.map(rfc3339),
            updated: self.updated.map(rfc3339),
            resolved: self.resolved.map(rfc3339),
            severity: self.severity.clone(),
            status: self.status.clone(),
            author: self.author.clone(),
            labels: self.labels.clone(),
            space: self.space.clone(),
            ancestors: self.ancestors.clone(),
            version: self.version.clone(),
            classification: self.classification.clone(),
            alerts: self.alerts.clone(),
            affects: ids(affects),
            mentions: ids(mentions),
            cause_in: ids(cause_in),
            summary: pm.summary.trim().to_string(),
            impact: pm.impact.trim().to_string(),
            trigger: pm.trigger.trim().to_string(),
            root_cause: pm.root_cause.trim().to_string(),
            resolution: pm.resolution.trim().to_string(),
            action_items: pm.action_items.clone(),
            timeline: pm.timeline.clone(),
            lessons: pm.lessons.trim().to_string(),
            meaning: rb.meaning.trim().to_string(),
            diagnosis: rb.diagnosis.trim().to_string(),
            mitigation: rb.mitigation.trim().to_string(),
            action: self.outcome.as_ref().map(|o| o.action.clone()),
            result: self.outcome.as_ref().map(|o| o.result.as_str().to_string()),
            performed_by: self.outcome.as_ref().map(|o| o.performed_by.clone()),
            authority: self.outcome.as_ref().map(|o| o.authority.as_str().to_string()),
            change: self.change.clone(),
        }
    }
}

/// A structure field as text: the source's markup rendered plain, and the
/// section's own heading (kept when it was a subsection) dropped.
fn to_plain(s: &str) -> String {
    if s.trim().is_empty() {
        return String::new();
    }
    // Text without Markdown syntax is already plain (most converted text):
    // skip the parser.
    if !s.contains(['*', '_', '`', '[', '#', '<', '|', '!', '\\', '~']) {
        return s.trim().to_string();
    }
    let text = super::markup::markdown::to_plain(s);
    let text = text.trim();
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.trim().to_string(),
        None if text.starts_with('#') => String::new(),
        _ => text.to_string(),
    }
}

/// The link kind of `related` documents (an outcome's incidents).
pub const RELATED: &str = "related";

/// Documents per ledger transaction: large imports go in as a series of
/// atomic chunks, so a crash never leaves a document half-written.
pub const CHUNK: usize = 1_000;

/// Links and writes history documents in chunks, counting into `report`.
pub async fn commit_history(
    ledger: &crate::ledger::Ledger,
    docs: Vec<HistoryDoc>,
    linker: &Linker,
    report: &mut Report,
) -> Result<(), super::IngestError> {
    let mut changes = Vec::with_capacity(docs.len().min(CHUNK));
    for doc in docs {
        changes.push(crate::ledger::Change::Put(doc.into_version(linker, report)));
        if changes.len() == CHUNK {
            super::commit(ledger, &changes, report).await?;
            changes.clear();
        }
    }
    super::commit(ledger, &changes, report).await
}
