//! Markdown runbooks: one runbook per file, or one per alert in files that
//! cover many under `Alert Name:` headings (the kubernetes-mixin style). The
//! alert comes from front matter, else the file stem; the entities from
//! front matter; Meaning / Impact / Diagnosis / Mitigation become fields.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::document::{HistoryDoc, commit_history};
use super::linking::Linker;
use super::markdown_files::{self, MarkdownFile};
use super::markup::{markdown, structure};
use super::{IngestConfig, IngestError, Note, Report};
use crate::ledger::Ledger;
use crate::model::{DocId, DocKind, Source};

pub async fn ingest(
    ledger: &Ledger,
    path: &Path,
    config: &IngestConfig,
    linker: &Linker,
) -> Result<Report, IngestError> {
    let mut report = Report::new(Source::Runbooks);
    let mut docs = Vec::new();
    let mut refused = Vec::new();
    for file in markdown_files::find(path)? {
        let Some(md) = markdown_files::read(&file, config, &mut report)? else {
            continue;
        };
        report.files += 1;
        match runbooks_of(&md, config) {
            Ok(d) => docs.extend(d),
            Err(IngestError::Invalid { path, message }) => {
                report.skipped.push(Note { at: path.display().to_string(), message });
                refused.push(md.id.clone());
            }
            Err(e) => return Err(e),
        }
    }
    report.documents = docs.len();
    let seen: HashSet<DocId> = docs.iter().map(|d| d.doc.clone()).collect();
    commit_history(ledger, docs, linker, &mut report).await?;
    let gone = markdown_files::vanished(ledger, Source::Runbooks, &super::file_id(path)?, &seen, &refused).await?;
    super::commit(ledger, &gone, &mut report).await?;
    Ok(report)
}

fn runbooks_of(md: &MarkdownFile, config: &IngestConfig) -> Result<Vec<HistoryDoc>, IngestError> {
    let mapping = &config.runbooks;
    let classification = super::markdown_files::classification(md, &mapping.classification_keys, &config.scale)?;
    let url = super::file_url(&md.id);
    let entities = md.all(&mapping.entity_keys);
    let entries = markdown::alert_entries(&md.body);
    if !entries.is_empty() {
        // One runbook per alert; an alert listed twice gets #2, #3.
        let mut count: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for e in entries {
            let n = count.entry(e.alert.clone()).or_default();
            *n += 1;
            let ext = if *n == 1 { format!("{}#{}", md.id, e.alert) } else { format!("{}#{}-{n}", md.id, e.alert) };
            let doc = DocId::new(Source::Runbooks, ext)
                .map_err(|err| IngestError::Invalid { path: md.path.clone(), message: err.to_string() })?;
            let mut d = HistoryDoc::new(doc, DocKind::Runbook, e.alert.clone());
            d.body = markdown::to_plain(&e.text);
            d.runbook = structure::runbook_from_text(&e.text);
            if d.runbook.meaning.is_empty() {
                d.runbook.meaning = message_line(&e.text).unwrap_or_default();
            }
            d.alerts = vec![e.alert];
            d.url = Some(url.clone());
            d.labels = e.group.into_iter().collect();
            d.named_entities.clone_from(&entities);
            d.classification.clone_from(&classification);
            d.payload = e.text.into_bytes();
            out.push(d);
        }
        return Ok(out);
    }
    let doc = DocId::new(Source::Runbooks, md.id.clone())
        .map_err(|err| IngestError::Invalid { path: md.path.clone(), message: err.to_string() })?;
    // An alert name is one word (HighHttpErrorRate); a `title` with spaces
    // is a heading for people, so the next key or the file stem names the alert.
    let mut alerts: Vec<String> = mapping
        .alert_keys
        .iter()
        .map(|k| md.front.strings(k).into_iter().filter(|a| !a.contains(char::is_whitespace)).collect::<Vec<_>>())
        .find(|v| !v.is_empty())
        .unwrap_or_default();
    if alerts.is_empty() {
        alerts.push(md.stem());
    }
    let title = md
        .front
        .str("title")
        .map(str::to_string)
        .or_else(|| markdown::first_heading(&md.body).map(|(_, h)| h))
        .unwrap_or_else(|| md.stem());
    let mut d = HistoryDoc::new(doc, DocKind::Runbook, title);
    d.body = markdown::to_plain(&md.body);
    d.runbook = structure::runbook(&markdown::sections(&md.body));
    d.alerts = alerts;
    d.url = Some(url);
    d.named_entities = entities;
    d.classification = classification;
    d.labels = md.front.strings("tags");
    d.payload = md.bytes.clone();
    Ok(vec![d])
}

/// The `+ *Message*: ...` line of a mixin entry.
fn message_line(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim().trim_start_matches(['+', '-', '*']).trim();
        let rest = l.strip_prefix("*Message*").or_else(|| l.strip_prefix("Message"))?;
        Some(rest.trim_start_matches([':', '*', ' ']).trim().to_string())
    })
}
