//! Markdown postmortems: one document per file; summary, impact, trigger,
//! root cause, resolution, action items and timeline from the file's own
//! headings (and their usual synonyms), never invented.

use std::collections::HashSet;
use std::path::Path;

use super::document::{HistoryDoc, commit_history};
use super::linking::Linker;
use super::markdown_files::{self, MarkdownFile};
use super::markup::{markdown, structure};
use super::{IngestConfig, IngestError, Note, Report};
use crate::ledger::Ledger;
use crate::model::time::parse_time;
use crate::model::{DocId, DocKind, Source};

pub async fn ingest(
    ledger: &Ledger,
    path: &Path,
    config: &IngestConfig,
    linker: &Linker,
) -> Result<Report, IngestError> {
    let mut report = Report::new(Source::Postmortems);
    let mut docs = Vec::new();
    let mut refused = Vec::new();
    for file in markdown_files::find(path)? {
        let Some(md) = markdown_files::read(&file, config, &mut report)? else {
            continue;
        };
        report.files += 1;
        if md.body.trim().is_empty() {
            report.notes.push(Note { at: file.display().to_string(), message: "empty; skipped".into() });
            continue;
        }
        match postmortem_of(&md, config) {
            Ok(d) => docs.push(d),
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
    let gone = markdown_files::vanished(ledger, Source::Postmortems, &super::file_id(path)?, &seen, &refused).await?;
    super::commit(ledger, &gone, &mut report).await?;
    Ok(report)
}

fn postmortem_of(md: &MarkdownFile, config: &IngestConfig) -> Result<HistoryDoc, IngestError> {
    let mapping = &config.postmortems;
    let doc = DocId::new(Source::Postmortems, md.id.clone())
        .map_err(|err| IngestError::Invalid { path: md.path.clone(), message: err.to_string() })?;
    let title = md
        .first(&mapping.title_keys)
        .into_iter()
        .next()
        .or_else(|| markdown::first_heading(&md.body).map(|(_, h)| h))
        .unwrap_or_else(|| md.stem());
    let mut d = HistoryDoc::new(doc, DocKind::Postmortem, title);
    d.body = markdown::to_plain(&md.body);
    d.postmortem = structure::postmortem(&markdown::sections(&md.body));
    if d.postmortem.summary.is_empty()
        && let Some(summary) = md.front.str("summary")
    {
        // Front matter summaries (the icco collection) are Markdown too.
        d.postmortem.summary = markdown::to_plain(summary);
    }
    // The date from front matter, else from a `Date: ...` line of the
    // header (most templates have one), else from a file name that starts
    // with one (2025-09-14-title.md).
    d.created = md
        .first(&mapping.date_keys)
        .iter()
        .find_map(|t| parse_time(t))
        .or_else(|| header_value(&md.body, &mapping.date_keys).and_then(|t| parse_time(&t)))
        .or_else(|| md.stem().get(..10).and_then(parse_time));
    d.severity =
        md.first(&mapping.severity_keys).into_iter().next().or_else(|| header_value(&md.body, &mapping.severity_keys));
    d.named_entities = md.all(&mapping.entity_keys);
    d.classification = super::markdown_files::classification(md, &mapping.classification_keys, &config.scale)?;
    d.labels = md.all(&["tags".to_string(), "categories".to_string(), "keywords".to_string()]);
    d.url = md.front.str("url").map(str::to_string).or_else(|| Some(super::file_url(&md.id)));
    d.payload = md.bytes.clone();
    Ok(d)
}

/// The value of a `Key: value` line among the first lines of a document
/// (`- Date: 2025-09-14`, `**Severity:** SEV2`), for any of `keys`.
fn header_value(body: &str, keys: &[String]) -> Option<String> {
    for line in body.lines().take(40) {
        let line = line.trim().trim_start_matches(['-', '*', '|', '>']).trim();
        let Some((key, value)) = line.split_once(':') else { continue };
        let key = key.trim().trim_matches('*').trim();
        if keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            let value = value.trim().trim_matches('*').trim().trim_end_matches('|').trim();
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_give_date_and_severity() {
        let body = "# Title\n\n- Date: 2031-04-07\n- **Severity:** SEV2\n\n## Summary\nDate: not this one";
        let keys = |k: &str| vec![k.to_string()];
        assert_eq!(header_value(body, &keys("date")).as_deref(), Some("2031-04-07"));
        assert_eq!(header_value(body, &keys("severity")).as_deref(), Some("SEV2"));
        assert_eq!(header_value(body, &keys("owner")), None);
    }
}
