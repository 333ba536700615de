//! Ingest: reading each source in its real format and writing what it says
//! to the ledger. Only `ingest` talks to Backstage files, RDF files, Jira and
//! Confluence; it knows nothing of the projections or of any face.
//!
//! Every source turns documents into [`ledger::Change`]s: the document's
//! named graph (N-Triples) and, for history, its search document. A bad
//! document is reported with its id and skipped; the rest goes in.

pub mod alerts;
pub mod catalog;
pub mod changes;
pub mod classify;
pub mod config;
pub mod confluence;
pub mod document;
pub mod jira;
pub mod linking;
mod markdown_files;
pub mod markup;
pub mod outcome;
pub mod postmortems;
pub mod rdf;
pub mod remote;
pub mod runbooks;
pub mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use oxigraph::model::{Literal, NamedNode, NamedNodeRef, Triple};

use crate::ledger::{Appended, Change, Ledger, LedgerError};
use crate::model::{DocId, EntityId, Source, vocab};
pub use config::{IngestConfig, MappingError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: document {document}, line {line}: {message}")]
    Yaml {
        path: PathBuf,
        /// 1-based index of the document in a multi-document file.
        document: usize,
        line: usize,
        message: String,
    },
    #[error("{path}: line {line}: {message}")]
    Rdf { path: PathBuf, line: u64, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "{path} is {size} bytes, over the {limit}-byte limit for one document; raise FFO_MAX_DOCUMENT_BYTES to ingest it"
    )]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
    #[error("{url}: {message}")]
    Remote { url: String, message: String },
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// Something noticed about one document or file during an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where: a file (with document index and line when known) or a source id.
    pub at: String,
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

/// A relation whose target is defined nowhere FFO knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dangling {
    pub from: EntityId,
    pub field: String,
    pub target: EntityId,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub source: Option<Source>,
    pub files: usize,
    pub documents: usize,
    pub entities: usize,
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
    /// Documents (or files) not ingested, and why.
    pub skipped: Vec<Note>,
    pub warnings: Vec<Note>,
    /// Things passed over on purpose (an empty or commented-out YAML
    /// document, a file that is not a catalog entity).
    pub notes: Vec<Note>,
    pub dangling: Vec<Dangling>,
    /// Stored changes that named no known entity and now do (after a
    /// catalog import).
    pub relinked: usize,
}

impl Report {
    pub fn new(source: Source) -> Report {
        Report { source: Some(source), ..Report::default() }
    }

    /// Counts what the ledger made of a batch of changes.
    fn count(&mut self, changes: &[Change], appended: &[Appended]) {
        for (change, appended) in changes.iter().zip(appended) {
            match (change, appended) {
                (_, Appended::Unchanged) => self.unchanged += 1,
                (Change::Put(_), Appended::Written(_)) => self.written += 1,
                (Change::Delete(_), Appended::Written(_)) => self.deleted += 1,
            }
        }
    }

    pub fn failed(&self) -> bool {
        !self.skipped.is_empty()
    }
}

/// Appends a batch atomically and counts the result into `report`.
pub async fn commit(ledger: &Ledger, changes: &[Change], report: &mut Report) -> Result<(), IngestError> {
    let appended = ledger.append(changes).await?;
    report.count(changes, &appended);
    Ok(())
}

/// The triples that say what a document is and where it came from.
pub fn document_triples(doc: &DocId, class: NamedNodeRef<'_>, url: Option<&str>, title: Option<&str>) -> Vec<Triple> {
    let s = NamedNode::new_unchecked(doc.iri());
    let mut out = vec![
        Triple::new(s.clone(), vocab::rdf::TYPE, class),
        Triple::new(s.clone(), vocab::SOURCE, Literal::new_simple_literal(doc.source().as_str())),
        Triple::new(s.clone(), vocab::EXTERNAL_ID, Literal::new_simple_literal(doc.external_id())),
    ];
    if let Some(url) = url {
        out.push(Triple::new(s.clone(), vocab::URL, Literal::new_simple_literal(url)));
    }
    if let Some(title) = title {
        out.push(Triple::new(s, vocab::TITLE, Literal::new_simple_literal(title)));
    }
    out
}

/// Files under `path` (or `path` itself) whose extension is one of `exts`,
/// sorted, skipping hidden entries. `exts` empty means every file.
pub fn collect_files(path: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, IngestError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| IngestError::Io { path: p, source }
    };
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ft = entry.file_type().map_err(io(&p))?;
            if ft.is_dir() {
                stack.push(p);
            } else if exts.is_empty()
                || p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Reads a file, refusing one over `limit` bytes before reading it.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, IngestError> {
    let io = |source| IngestError::Io { path: path.to_path_buf(), source };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limit {
        return Err(IngestError::TooLarge { path: path.to_path_buf(), size, limit });
    }
    std::fs::read(path).map_err(io)
}

/// A file's stable identity: its absolute path.
pub fn file_id(path: &Path) -> Result<String, IngestError> {
    let abs = std::fs::canonicalize(path).map_err(|source| IngestError::Io { path: path.to_path_buf(), source })?;
    Ok(abs.to_string_lossy().into_owned())
}

pub fn file_url(abs: &str) -> String {
    format!("file://{}", percent_encoding::utf8_percent_encode(abs, PATH_CHARS))
}

const PATH_CHARS: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b' ').add(b'"').add(b'#').add(b'%').add(b'<').add(b'>').add(b'?');
