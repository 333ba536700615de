//! What Markdown runbooks and postmortems share: finding the files, reading
//! them with a bound, front matter, and noticing files that went away.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::markup::markdown::{self, FrontMatter};
use super::{IngestConfig, IngestError, Note, Report};
use crate::ledger::{Change, Ledger};
use crate::model::{DocId, Source};

/// A Markdown file, read and split.
pub struct MarkdownFile {
    pub path: PathBuf,
    /// Absolute path: the document's external id (or its prefix).
    pub id: String,
    pub bytes: Vec<u8>,
    pub front: FrontMatter,
    /// The body with front matter removed and Hugo shortcodes stripped.
    pub body: String,
}

impl MarkdownFile {
    pub fn stem(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// The first front-matter key of `keys` that has values.
    pub fn first(&self, keys: &[String]) -> Vec<String> {
        keys.iter().map(|k| self.front.strings(k)).find(|v| !v.is_empty()).unwrap_or_default()
    }

    /// Values of every key of `keys`.
    pub fn all(&self, keys: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for v in keys.iter().flat_map(|k| self.front.strings(k)) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

/// Markdown files under `path`: `.md`, `.markdown`, and extension-less
/// files (exports often drop the extension).
pub fn find(path: &Path) -> Result<Vec<PathBuf>, IngestError> {
    Ok(super::collect_files(path, &[])?
        .into_iter()
        .filter(|p| match p.extension().and_then(|e| e.to_str()) {
            None => true,
            Some(e) => e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown"),
        })
        .collect())
}

/// Reads one file; a file that cannot be read as Markdown is reported and
/// skipped (`None`), never fatal.
pub fn read(path: &Path, config: &IngestConfig, report: &mut Report) -> Result<Option<MarkdownFile>, IngestError> {
    let at = path.display().to_string();
    let bytes = match super::read_bounded(path, config.max_document_bytes) {
        Ok(b) => b,
        Err(e @ IngestError::TooLarge { .. }) => {
            report.skipped.push(Note { at, message: e.to_string() });
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        report.skipped.push(Note { at, message: "not UTF-8 text".into() });
        return Ok(None);
    };
    let (front, body) = match markdown::split_front_matter(text) {
        Ok(parts) => parts,
        Err(e) => {
            report.skipped.push(Note { at, message: e.to_string() });
            return Ok(None);
        }
    };
    let body = markdown::strip_shortcodes(body);
    Ok(Some(MarkdownFile {
        id: super::file_id(path)?,
        path: path.to_path_buf(),
        front: front.unwrap_or_default(),
        body,
        bytes: bytes.clone(),
    }))
}

/// Deletions for documents of `source` once ingested from under `scope`
/// (an absolute path) that this ingest did not see.
/// Files read but refused (`refused`, their ids) keep what was stored of
/// them: bad input never costs what is already there.
pub async fn vanished(
    ledger: &Ledger,
    source: Source,
    scope: &str,
    seen: &HashSet<DocId>,
    refused: &[String],
) -> Result<Vec<Change>, IngestError> {
    let under = |ext: &str, root: &str| {
        ext == root || ext.starts_with(&format!("{root}/")) || ext.starts_with(&format!("{root}#"))
    };
    let mut out = Vec::new();
    for (doc, state) in ledger.states_of(source).await? {
        let ext = doc.external_id();
        let kept = refused.iter().any(|r| ext == r || ext.starts_with(&format!("{r}#")));
        if under(ext, scope) && !kept && !state.deleted && !seen.contains(&doc) {
            out.push(Change::Delete(doc));
        }
    }
    Ok(out)
}

/// The classification a file's front matter gives it (the first of `keys`
/// with a value). A value that is not a configured level refuses the file:
/// storing it as unclassified would show it to everyone.
pub fn classification(
    md: &MarkdownFile,
    keys: &[String],
    scale: &crate::model::ClassificationScale,
) -> Result<Option<String>, IngestError> {
    match md.first(keys).into_iter().next() {
        None => Ok(None),
        Some(value) => super::classify::written(scale, &value)
            .map(|l| Some(l.to_string()))
            .map_err(|message| IngestError::Invalid { path: md.path.clone(), message }),
    }
}
