//! Change events pushed by pipelines and tools (`ffo ingest changes PATH`,
//! `POST /v1/changes`): each becomes a history document of kind `change`
//! with typed [`ChangeFields`], id `changes:{format}/{the source's id}`.
//!
//! - [`read`] turns a body or a file into values (one JSON object, a JSON
//!   array, JSON Lines, or YAML documents) and recognises each value's format.
//! - One module per format reads a value into [`ChangeRecord`]s: [`ours`]
//!   (FFO's own JSON form), [`cdevents`], [`github`] (deployment and
//!   deployment_status webhooks, the list-deployments API), [`argocd`]
//!   (Application history and operation state), [`kubernetes`] (events and a
//!   workload's rollout revision), [`pagerduty`] and [`datadog`] change events.
//! - [`link`] maps a record to entities (names and aliases through the
//!   [`Linker`], the well-known annotations through a [`RefLookup`]), renders
//!   it, and re-links stored changes whose references did not resolve.
//!
//! Invariants: a malformed value is rejected with its index and reason and
//! the rest goes in; a change that names no known entity is kept, reported,
//! and marked (`ffo:unresolvedRef`) so that a later catalog import re-links
//! it; among versions of one change (a GitHub deployment and its statuses, an
//! Argo CD operation and its history entry) the newest by the source's own
//! time wins, in a batch and against the ledger.

mod argocd;
mod cdevents;
mod datadog;
mod github;
mod kubernetes;
pub mod link;
mod ours;
mod pagerduty;
pub mod read;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::linking::Linker;
use super::{IngestConfig, IngestError, Note, Report};
use crate::ledger::{Appended, Change, Ledger};
use crate::model::time::parse_time;
use crate::model::{ChangeFields, DocId, EntityId, Source};
pub use link::{NoRefs, RefLookup};

/// The formats change events are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// FFO's own JSON form (README, "Change events").
    Ffo,
    CdEvents,
    GitHub,
    ArgoCd,
    Kubernetes,
    PagerDuty,
    Datadog,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Ffo,
        Format::CdEvents,
        Format::GitHub,
        Format::ArgoCd,
        Format::Kubernetes,
        Format::PagerDuty,
        Format::Datadog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ffo => "ffo",
            Format::CdEvents => "cdevents",
            Format::GitHub => "github",
            Format::ArgoCd => "argocd",
            Format::Kubernetes => "kubernetes",
            Format::PagerDuty => "pagerduty",
            Format::Datadog => "datadog",
        }
    }

    /// The formats accepted, for messages.
    pub fn accepted() -> String {
        "ffo (FFO's own JSON form: one object, a list, or JSON Lines), cdevents (CDEvents, any spec version, \
         also as a CloudEvent), github (deployment and deployment_status webhooks, the list-deployments API), \
         argocd (an Application with status.history), kubernetes (Events, an event List, a Deployment, \
         StatefulSet or DaemonSet), pagerduty (change events), datadog (events with category change)"
            .to_string()
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        let s = s.trim().to_ascii_lowercase();
        Format::ALL.into_iter().find(|f| f.as_str() == s || (s == "k8s" && *f == Format::Kubernetes)).ok_or_else(|| {
            format!("unknown change format {s:?}; expected one of {}", Format::ALL.map(Format::as_str).join(", "))
        })
    }
}

/// A reference to the changed thing by another system's name for it: the
/// value of a catalog annotation (`github.com/project-slug` = `org/repo`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExternalRef {
    pub annotation: String,
    pub value: String,
}

/// One change in FFO's terms before it is linked to entities: what every
/// format reads into. The ledger keeps it (with the source's raw value) as the
/// document's payload, so a stored change can be re-linked later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    /// The external id under `changes:` (`github/org/repo/deployments/7`).
    pub key: String,
    pub format: Format,
    pub title: String,
    /// What the source says, as plain text (searchable).
    pub text: String,
    pub change: ChangeFields,
    /// Names, aliases or ids of what it touches.
    #[serde(default)]
    pub entities: Vec<String>,
    /// What it touches, by another system's name for it.
    #[serde(default)]
    pub refs: Vec<ExternalRef>,
    /// The changed object's labels, matched against label selectors.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub url: Option<String>,
    /// When the source last changed it: between versions, the newest wins.
    #[serde(default)]
    pub updated: Option<DateTime<Utc>>,
    /// The source's value this record was read from.
    #[serde(default)]
    pub raw: Value,
}

impl ChangeRecord {
    pub fn doc(&self) -> Result<DocId, crate::model::IdError> {
        DocId::new(Source::Changes, format!("{}/{}", self.format, self.key))
    }
}

/// What one value of an input became.
#[derive(Debug)]
pub enum Item {
    Change(Box<ChangeRecord>),
    /// Recognised, but not a change (an incident event, a Jira export, a
    /// ConfigMap), and why.
    Ignored(String),
}

/// Where an item sat in the input: its file (for a folder) and its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: Option<String>,
    pub index: usize,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}#{}", self.index),
            None => write!(f, "item {}", self.index),
        }
    }
}

/// An item not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub at: Place,
    pub reason: String,
}

/// A change stored (or already stored with the same content).
#[derive(Debug, Clone)]
pub struct Stored {
    pub at: Place,
    pub doc: DocId,
    pub title: String,
    pub change: ChangeFields,
    pub affects: Vec<EntityId>,
    /// References and names that resolved to no entity.
    pub unresolved: Vec<String>,
    /// False when the ledger already held this content.
    pub written: bool,
}

/// What an ingest of change events did.
#[derive(Debug, Clone, Default)]
pub struct Ingested {
    pub report: Report,
    pub stored: Vec<Stored>,
    /// Malformed items and items in no known format.
    pub rejected: Vec<Refused>,
    /// Items that are not changes, and older versions of a change.
    pub ignored: Vec<Refused>,
    /// The last ledger sequence written (for reading one's own writes).
    pub last_seq: crate::model::Seq,
}

/// Why a whole input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}; formats accepted: {}", Format::accepted())]
pub struct UnknownFormat {
    pub what: String,
}

/// What a batch is read against.
pub struct Context<'a> {
    pub config: &'a IngestConfig,
    pub linker: &'a Linker,
    pub refs: &'a dyn RefLookup,
    /// Read every value in this format instead of recognising it.
    pub format: Option<Format>,
}

/// Reads change events from a body (one request).
pub async fn ingest_body(ledger: &Ledger, bytes: &[u8], cx: &Context<'_>) -> Result<Ingested, IngestError> {
    let mut out = Ingested { report: Report::new(Source::Changes), ..Ingested::default() };
    let batch = read_batch(bytes, None, cx)
        .map_err(|e| IngestError::Invalid { path: "body".into(), message: e.to_string() })?;
    out.report.files = 1;
    let records = accept(batch, &mut out);
    store(ledger, records, cx, &mut out).await?;
    Ok(out)
}

/// Reads change events from a file or every `.json`, `.jsonl`, `.ndjson`,
/// `.yaml` and `.yml` file under a folder. A file in no known format is
/// reported and skipped.
pub async fn ingest_path(ledger: &Ledger, path: &Path, cx: &Context<'_>) -> Result<Ingested, IngestError> {
    let mut out = Ingested { report: Report::new(Source::Changes), ..Ingested::default() };
    let mut records = Vec::new();
    for file in super::collect_files(path, &["json", "jsonl", "ndjson", "yaml", "yml"])? {
        out.report.files += 1;
        let name = file.display().to_string();
        let bytes = match super::read_bounded(&file, cx.config.max_export_bytes) {
            Ok(b) => b,
            Err(e @ (IngestError::TooLarge { .. } | IngestError::Io { .. })) => {
                out.report.skipped.push(Note { at: name, message: e.to_string() });
                continue;
            }
            Err(e) => return Err(e),
        };
        match read_batch(&bytes, Some(&name), cx) {
            Ok(batch) => records.extend(accept(batch, &mut out)),
            Err(e) => out.report.skipped.push(Note { at: name, message: e.to_string() }),
        }
    }
    store(ledger, records, cx, &mut out).await?;
    Ok(out)
}

/// The items of one input, read.
pub struct Batch {
    pub items: Vec<(Place, Result<Item, String>)>,
}

/// Reads an input's values and each value's changes. `Err` when nothing in
/// it is in a format FFO knows.
pub fn read_batch(bytes: &[u8], file: Option<&str>, cx: &Context<'_>) -> Result<Batch, UnknownFormat> {
    let values = read::values(bytes).map_err(|what| UnknownFormat { what })?;
    let place = |index| Place { file: file.map(str::to_string), index };
    let mut items = Vec::new();
    let mut recognised = 0;
    for (index, value) in values.into_iter().enumerate() {
        let value = match value {
            Ok(v) => v,
            Err(e) => {
                items.push((place(index), Err(e)));
                continue;
            }
        };
        let format = match cx.format {
            Some(f) => Some(f),
            None => match read::detect(&value) {
                read::Detected::Format(f) => Some(f),
                read::Detected::Other(why) => {
                    recognised += 1;
                    items.push((place(index), Ok(Item::Ignored(why))));
                    continue;
                }
                read::Detected::Unknown => None,
            },
        };
        let Some(format) = format else {
            let why = format!(
                "not a change event in any format FFO reads ({}); formats accepted: {}",
                read::shape(&value),
                Format::accepted()
            );
            items.push((place(index), Err(why)));
            continue;
        };
        recognised += 1;
        match parse(format, &value, cx.config) {
            Ok(list) => items.extend(list.into_iter().map(|i| (place(index), Ok(i)))),
            Err(e) => items.push((place(index), Err(format!("{format}: {e}")))),
        }
    }
    if recognised == 0 && cx.format.is_none() {
        let what = match items.first() {
            Some((_, Err(e))) if items.len() == 1 => e.split("; formats accepted").next().unwrap_or(e).to_string(),
            _ => "no item is a change event in a format FFO reads".to_string(),
        };
        return Err(UnknownFormat { what });
    }
    Ok(Batch { items })
}

/// Reads one value in `format`.
fn parse(format: Format, v: &Value, config: &IngestConfig) -> Result<Vec<Item>, String> {
    let m = &config.changes;
    match format {
        Format::Ffo => ours::read(v).map(|r| vec![Item::Change(Box::new(r))]),
        Format::CdEvents => cdevents::read(v),
        Format::GitHub => github::read(v, m),
        Format::ArgoCd => argocd::read(v, m),
        Format::Kubernetes => kubernetes::read(v, m),
        Format::PagerDuty => pagerduty::read(v, m),
        Format::Datadog => datadog::read(v),
    }
}

/// Sorts a batch's items into the report: the changes, to store.
fn accept(batch: Batch, out: &mut Ingested) -> Vec<(Place, ChangeRecord)> {
    let mut records: Vec<(Place, ChangeRecord)> = Vec::new();
    for (at, item) in batch.items {
        match item {
            Err(reason) => {
                out.report.skipped.push(Note { at: at.to_string(), message: reason.clone() });
                out.rejected.push(Refused { at, reason });
            }
            Ok(Item::Ignored(reason)) => {
                out.report.notes.push(Note { at: at.to_string(), message: reason.clone() });
                out.ignored.push(Refused { at, reason });
            }
            Ok(Item::Change(record)) => records.push((at, *record)),
        }
    }
    records
}

/// Keeps, of several versions of one change in an ingest (a deployment and
/// its statuses), the newest by the source's time; the later one on a tie.
fn newest(records: Vec<(Place, ChangeRecord)>, out: &mut Ingested) -> Vec<(Place, ChangeRecord)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<(Place, ChangeRecord)> = Vec::with_capacity(records.len());
    for (at, record) in records {
        let id = format!("{}/{}", record.format, record.key);
        match index.get(&id).copied() {
            Some(i) if kept[i].1.updated > record.updated => {
                let reason = format!("an older version of changes:{id} than {}; kept the newer", kept[i].0);
                out.ignored.push(Refused { at, reason });
            }
            Some(i) => {
                let reason = format!("an older version of changes:{id} than {at}; kept the newer");
                let (old_at, _) = std::mem::replace(&mut kept[i], (at, record));
                out.ignored.push(Refused { at: old_at, reason });
            }
            None => {
                index.insert(id, kept.len());
                kept.push((at, record));
            }
        }
    }
    kept
}

/// Batches above this size read the stored times of every change at once
/// rather than one by one.
const ONE_BY_ONE: usize = 64;

/// Links, renders and writes records in chunks, except those older than
/// the stored version of the same change.
async fn store(
    ledger: &Ledger,
    records: Vec<(Place, ChangeRecord)>,
    cx: &Context<'_>,
    out: &mut Ingested,
) -> Result<(), IngestError> {
    let records = newest(records, out);
    out.report.documents += records.len();
    let mut all_stored: Option<HashMap<DocId, String>> = None;
    if records.len() > ONE_BY_ONE {
        all_stored = Some(ledger.updated_of(Source::Changes).await?);
    }
    let mut pending: Vec<(Stored, Change)> = Vec::with_capacity(records.len().min(super::document::CHUNK));
    for (at, record) in records {
        let doc = match record.doc() {
            Ok(d) => d,
            Err(e) => {
                let reason = format!("{}: {e}", record.format);
                out.report.skipped.push(Note { at: at.to_string(), message: reason.clone() });
                out.rejected.push(Refused { at, reason });
                continue;
            }
        };
        let stored_at = match &all_stored {
            Some(map) => map.get(&doc).cloned(),
            None => ledger.updated_of_doc(&doc).await?,
        };
        if let (Some(new), Some(old)) = (record.updated, stored_at.as_deref().and_then(parse_time))
            && old > new
        {
            out.report.unchanged += 1;
            let reason = format!(
                "{doc} is stored in a newer version (updated {}); kept that one",
                crate::model::time::rfc3339(old)
            );
            out.ignored.push(Refused { at, reason });
            continue;
        }
        let (stored, version) = link::render(at, doc, record, cx, &mut out.report);
        pending.push((stored, Change::Put(version)));
        if pending.len() == super::document::CHUNK {
            commit(ledger, &mut pending, out).await?;
        }
    }
    commit(ledger, &mut pending, out).await
}

async fn commit(ledger: &Ledger, pending: &mut Vec<(Stored, Change)>, out: &mut Ingested) -> Result<(), IngestError> {
    if pending.is_empty() {
        return Ok(());
    }
    let (stored, changes): (Vec<Stored>, Vec<Change>) = pending.drain(..).unzip();
    let appended = ledger.append(&changes).await?;
    out.report.count(&changes, &appended);
    for (mut s, a) in stored.into_iter().zip(appended) {
        if let Appended::Written(seq) = a {
            s.written = true;
            out.last_seq = out.last_seq.max(seq);
        }
        out.stored.push(s);
    }
    Ok(())
}

/// A string at a path of object keys.
fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// A time at a path: RFC 3339 (and the forms `parse_time` knows) or epoch
/// milliseconds as a number. `Err` names a value that is there but not a time.
fn time_at(v: &Value, path: &[&str]) -> Result<Option<DateTime<Utc>>, String> {
    let mut cur = v;
    for key in path {
        match cur.get(*key) {
            Some(next) => cur = next,
            None => return Ok(None),
        }
    }
    match cur {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => parse_time(s).map(Some).ok_or_else(|| format!("`{}` {s:?} is not a time", path.join("."))),
        Value::Number(n) => n
            .as_i64()
            .filter(|ms| *ms >= 946_684_800_000)
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| format!("`{}` is the number {n}, not a time in epoch milliseconds", path.join("."))),
        other => Err(format!("`{}` is {}, expected a time", path.join("."), read::type_name(other))),
    }
}

/// A short stable id from parts: the first 16 hex digits of their SHA-256.
fn digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())[..16].to_string()
}

/// References of `kind` (a key of `[refs]` in `ingest/changes.toml`) to `value`.
fn refs_of(m: &super::config::ChangesMapping, kind: &str, value: &str) -> Vec<ExternalRef> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    m.annotations_for(kind).iter().map(|a| ExternalRef { annotation: a.clone(), value: value.to_string() }).collect()
}

/// The first `n` characters of a line of text, for titles.
fn clip(s: &str, n: usize) -> String {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    if line.chars().count() <= n {
        return line.to_string();
    }
    let mut out: String = line.chars().take(n).collect();
    out.push('…');
    out
}

/// The kind-of-reference names of `ingest/changes.toml` `[refs]`.
mod ref_kind {
    pub const REPOSITORY: &str = "repository";
    pub const ARGOCD_APP: &str = "argocd_app";
    pub const KUBERNETES_ID: &str = "kubernetes_id";
    pub const PAGERDUTY_ROUTING_KEY: &str = "pagerduty_routing_key";
    pub const PAGERDUTY_SERVICE: &str = "pagerduty_service";
    pub const JIRA_PROJECT: &str = "jira_project";
}

pub use ref_kind::JIRA_PROJECT;
