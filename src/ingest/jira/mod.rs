//! Jira: issues from exports (a file or a folder of `.json` search pages,
//! single issues and webhook payloads) or pulled live from a site's REST
//! API; each issue becomes the history document `jira:KEY`.
//!
//! Invariants: an issue seen several times (pages, files, webhooks) is
//! written once, in its newest version (`fields.updated`), and an export
//! never replaces a stored version newer than itself; a malformed or
//! oversized issue is named in the report and the rest goes in; a file that
//! is some other Jira response (comments, fields, a changelog) is noted and
//! passed over. The shapes live in [`export`], the mapping of one issue in
//! [`issue`], the pull in [`live`].

mod change;
mod export;
mod issue;
mod live;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::changes::{JIRA_PROJECT, RefLookup};
use super::document::{HistoryDoc, commit_history};
use super::linking::{Linker, Named};
use super::{IngestConfig, IngestError, Note, Report};
use crate::ledger::{Change, Ledger};
use crate::model::time::{parse_time, rfc3339};
use crate::model::{DocId, DocKind, Source};
use export::{Export, Item, NotIssues};

/// Ingests Jira issues from `target`: a `.json` file, a folder of them, or
/// the `http(s)://` base URL of a Jira site to pull from with `token`.
pub async fn ingest(
    ledger: &Ledger,
    target: &str,
    config: &IngestConfig,
    linker: &Linker,
    refs: &dyn RefLookup,
    token: Option<&str>,
) -> Result<Report, IngestError> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return live::pull(ledger, target, config, linker, refs, token).await;
    }
    let mut report = Report::new(Source::Jira);
    let mut latest = Latest::default();
    for file in super::collect_files(Path::new(target), &["json"])? {
        report.files += 1;
        let at = file.display().to_string();
        let bytes = match super::read_bounded(&file, config.max_export_bytes) {
            Ok(bytes) => bytes,
            Err(IngestError::TooLarge { size, limit, .. }) => {
                let message = format!(
                    "{size} bytes, over the {limit}-byte limit for an export file; raise FFO_MAX_EXPORT_BYTES to read it"
                );
                report.skipped.push(Note { at, message });
                continue;
            }
            Err(IngestError::Io { source, .. }) => {
                report.skipped.push(Note { at, message: format!("cannot read: {source}") });
                continue;
            }
            Err(e) => return Err(e),
        };
        match export::read(&bytes) {
            Ok(export) => {
                for c in candidates(&export, &at, config, None, &mut report) {
                    latest.offer(c, &mut report);
                }
            }
            Err(NotIssues::Other(message)) => report.notes.push(Note { at, message }),
            Err(NotIssues::Unrecognised(message)) => report.skipped.push(Note { at, message }),
        }
    }
    commit(ledger, latest.into_candidates(), linker, refs, config, &mut report).await?;
    Ok(report)
}

/// One version of an issue (or its deletion) waiting to be written.
struct Candidate {
    doc: DocId,
    /// The issue's `updated`, or when it was deleted: the newest wins.
    at: Option<DateTime<Utc>>,
    /// Bytes of the issue's JSON: between equal times, the fuller one wins
    /// (a single-issue GET over the same issue in a search page).
    size: usize,
    /// Where it came from, for notes.
    from: String,
    change: Pending,
}

enum Pending {
    Put(Box<HistoryDoc>),
    Delete,
}

impl Candidate {
    fn rank(&self) -> (Option<DateTime<Utc>>, bool, usize) {
        (self.at, matches!(self.change, Pending::Delete), self.size)
    }
}

/// The newest candidate per document.
#[derive(Default)]
struct Latest(BTreeMap<DocId, Candidate>);

impl Latest {
    fn offer(&mut self, c: Candidate, report: &mut Report) {
        let Some(held) = self.0.get(&c.doc) else {
            self.0.insert(c.doc.clone(), c);
            return;
        };
        let (newer, older) = if c.rank() > held.rank() { (&c, held) } else { (held, &c) };
        let why = if newer.at == older.at { "the fuller of two with the same update time" } else { "the newer" };
        report.notes.push(Note {
            at: c.doc.to_string(),
            message: format!(
                "also in {} ({}); kept {why}, from {} ({})",
                older.from,
                describe(older),
                newer.from,
                describe(newer)
            ),
        });
        if c.rank() > held.rank() {
            self.0.insert(c.doc.clone(), c);
        }
    }

    fn into_candidates(self) -> Vec<Candidate> {
        self.0.into_values().collect()
    }
}

fn describe(c: &Candidate) -> String {
    let at = c.at.map(rfc3339).unwrap_or_else(|| "no update time".to_string());
    match c.change {
        Pending::Put(_) => format!("updated {at}"),
        Pending::Delete => format!("deleted {at}"),
    }
}

/// Converts the issues of one export; malformed and oversized issues are
/// reported as skipped, named by key or by their place in the file.
fn candidates(
    export: &Export<'_>,
    from: &str,
    config: &IngestConfig,
    site: Option<&str>,
    report: &mut Report,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    let cx = issue::Context { mapping: &config.jira, names: export.names.as_ref(), site };
    let single = export.items.len() == 1 && export.paging == export::Paging::default();
    for (i, item) in export.items.iter().enumerate() {
        let (raw, deleted_at) = match item {
            Item::Issue(raw) => (*raw, None),
            Item::Deleted { issue, at } => (*issue, Some(*at)),
        };
        let place = |key: Option<&str>| match (key, single) {
            (Some(key), _) => format!("{from}: {key}"),
            (None, true) => from.to_string(),
            (None, false) => format!("{from}: issues[{i}]"),
        };
        let size = raw.get().len();
        if size as u64 > config.max_document_bytes {
            let head = Head::of(raw.get());
            report.skipped.push(Note {
                at: place(head.key.as_deref()),
                message: format!(
                    "the issue is {size} bytes, over the {}-byte limit for one document; raise FFO_MAX_DOCUMENT_BYTES to ingest it",
                    config.max_document_bytes
                ),
            });
            continue;
        }
        if let Some(at) = deleted_at {
            let head = Head::of(raw.get());
            let Some(doc) = head.key.as_deref().and_then(|k| DocId::new(Source::Jira, k).ok()) else {
                let message = "a jira:issue_deleted webhook whose issue has no key".to_string();
                report.skipped.push(Note { at: place(None), message });
                continue;
            };
            let at = at.or(head.updated);
            out.push(Candidate { doc, at, size, from: from.to_string(), change: Pending::Delete });
            continue;
        }
        match issue::convert(raw.get(), &cx) {
            Ok(mut c) => {
                let levels = &config.jira.classification;
                c.doc.classification =
                    levels.level(&config.scale, &c.doc.labels, None, c.security.as_deref()).map(|l| l.to_string());
                let doc = c.doc.doc.clone();
                for w in c.warnings {
                    report.warnings.push(Note { at: place(Some(doc.external_id())), message: w });
                }
                let at = c.doc.updated;
                out.push(Candidate { doc, at, size, from: from.to_string(), change: Pending::Put(Box::new(c.doc)) });
            }
            Err(e) => report.skipped.push(Note { at: place(e.key.as_deref()), message: e.message }),
        }
    }
    out
}

/// The key and update time of an issue, read without building the rest.
struct Head {
    key: Option<String>,
    updated: Option<DateTime<Utc>>,
}

impl Head {
    fn of(raw: &str) -> Head {
        #[derive(Deserialize)]
        struct RawHead {
            key: Option<Value>,
            fields: Option<RawFields>,
        }
        #[derive(Deserialize)]
        struct RawFields {
            updated: Option<Value>,
        }
        let Ok(h) = serde_json::from_str::<RawHead>(raw) else {
            return Head { key: None, updated: None };
        };
        Head {
            key: h.key.and_then(|k| k.as_str().map(str::to_string)).filter(|k| !k.trim().is_empty()),
            updated: h.fields.and_then(|f| f.updated).and_then(|u| u.as_str().and_then(parse_time)),
        }
    }
}

/// Writes the candidates (issues through [`commit_history`], deletions as
/// they are), except those older than what the ledger already holds.
async fn commit(
    ledger: &Ledger,
    candidates: Vec<Candidate>,
    linker: &Linker,
    refs: &dyn RefLookup,
    config: &IngestConfig,
    report: &mut Report,
) -> Result<(), IngestError> {
    report.documents += candidates.len();
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    // One query for the stored times of every issue, not one per issue.
    let stored_times = ledger.updated_of(Source::Jira).await?;
    for c in candidates {
        if let Some(at) = c.at
            && let Some(stored) = stored_times.get(&c.doc).and_then(|t| parse_time(t))
            && stored > at
        {
            report.unchanged += 1;
            report.notes.push(Note {
                at: c.doc.to_string(),
                message: format!(
                    "{} is older than the stored version (updated {}); kept the stored one",
                    describe(&c),
                    rfc3339(stored)
                ),
            });
            continue;
        }
        match c.change {
            Pending::Put(mut doc) => {
                link_by_project(&mut doc, linker, refs, config);
                puts.push(*doc);
            }
            Pending::Delete => deletes.push(Change::Delete(c.doc)),
        }
    }
    commit_history(ledger, puts, linker, report).await?;
    super::commit(ledger, &deletes, report).await
}

/// A change whose fields name no known entity affects the entities whose
/// `jira/project-key` annotation (ingest/changes.toml) names its project.
fn link_by_project(doc: &mut HistoryDoc, linker: &Linker, refs: &dyn RefLookup, config: &IngestConfig) {
    if doc.kind != DocKind::Change
        || !doc.affects.is_empty()
        || doc.named_entities.iter().any(|n| matches!(linker.resolve(n), Named::One(_)))
    {
        return;
    }
    let Some((project, _)) = doc.doc.external_id().rsplit_once('-') else { return };
    for annotation in config.changes.annotations_for(JIRA_PROJECT) {
        for id in refs.by_ref(annotation, project) {
            if !doc.affects.contains(&id) {
                doc.affects.push(id);
            }
        }
    }
}
