//! Confluence exports on disk: REST responses saved as `.json` files and bare
//! storage-format bodies (`.xml`, `.xhtml`). Every page of every file is read
//! first, so that links between pages resolve across files; then they are
//! written in atomic chunks. A file is read as it is: `_links.next` is not
//! followed.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::page::{self, Body, Links, PageFields, Shape};
use super::{Outcome, Page, TitleIndex, at_with_id, history, read_item};
use crate::ingest::document::commit_history;
use crate::ingest::linking::Linker;
use crate::ingest::{IngestConfig, IngestError, Note, Report, markdown_files};
use crate::ledger::{Change, Ledger};
use crate::model::{DocId, Source};

pub async fn ingest(
    ledger: &Ledger,
    path: &Path,
    config: &IngestConfig,
    linker: &Linker,
) -> Result<Report, IngestError> {
    let mut reader = Reader {
        config,
        report: Report::new(Source::Confluence),
        pages: Vec::new(),
        read_at: HashMap::new(),
        removed: Vec::new(),
    };
    for file in crate::ingest::collect_files(path, &["json", "xml", "xhtml"])? {
        reader.report.files += 1;
        reader.file(&file)?;
    }
    let Reader { mut report, pages, removed, .. } = reader;
    let mut index = TitleIndex::default();
    pages.iter().for_each(|p| index.add_page(p));
    let docs: Vec<_> = pages.into_iter().map(|p| history(p, &index, config)).collect();
    report.documents = docs.len();
    let seen: HashSet<DocId> = docs.iter().map(|d| d.doc.clone()).collect();
    commit_history(ledger, docs, linker, &mut report).await?;
    let mut gone: Vec<Change> = removed.into_iter().filter(|d| !seen.contains(d)).map(Change::Delete).collect();
    // Bare bodies are named by path: one that left the folder is deleted.
    let scope = crate::ingest::file_id(path)?;
    gone.extend(markdown_files::vanished(ledger, Source::Confluence, &scope, &seen, &[]).await?);
    crate::ingest::commit(ledger, &gone, &mut report).await?;
    Ok(report)
}

struct Reader<'a> {
    config: &'a IngestConfig,
    report: Report,
    pages: Vec<Page>,
    /// Where each page was read, by document, to notice duplicates.
    read_at: HashMap<DocId, (usize, String)>,
    /// Pages the export says are trashed or deleted.
    removed: Vec<DocId>,
}

impl Reader<'_> {
    fn file(&mut self, path: &Path) -> Result<(), IngestError> {
        let at = path.display().to_string();
        let bytes = match crate::ingest::read_bounded(path, self.config.max_export_bytes) {
            Ok(b) => b,
            Err(IngestError::TooLarge { size, limit, .. }) => {
                let message = format!(
                    "{size} bytes, over the {limit}-byte limit for an export file; raise FFO_MAX_EXPORT_BYTES to read it"
                );
                self.skip(&at, message);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let is_json = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => self.value(&v, &at, None, 0),
                Err(e) => self.skip(&at, format!("not JSON: {e}")),
            }
            return Ok(());
        }
        self.bare_body(path, bytes)
    }

    /// One JSON value: a response, or (at depth 0) an object of named responses.
    fn value(&mut self, v: &Value, at: &str, base: Option<&str>, depth: usize) {
        match page::shape(v) {
            Shape::List { items, links } => self.list(items, links, at, base),
            Shape::Single(p) => {
                let mut bodiless = Vec::new();
                self.item(p, at, base, &mut bodiless);
                self.note_bodiless(at, &bodiless);
            }
            Shape::Spaces(1) => self.note(at, "a space, not a page; passed over".to_string()),
            Shape::Spaces(n) => self.note(at, format!("{n} spaces, not pages; passed over")),
            Shape::Search(n) => self.note(
                at,
                format!(
                    "{n} search result{}: excerpts that wrap a content summary, not pages; passed over \
                     (ingest /rest/api/content or /api/v2/pages responses)",
                    plural(n)
                ),
            ),
            Shape::Named(entries) if depth == 0 => {
                for (name, x) in entries {
                    self.value(x, &format!("{at}#{name}"), base, depth + 1);
                }
            }
            Shape::Named(_) | Shape::Unknown if depth > 0 => {
                self.note(at, "not a Confluence REST response; passed over".to_string())
            }
            Shape::Named(_) | Shape::Unknown => self.skip(
                at,
                "not a Confluence REST response: expected a /rest/api/content or /api/v2/pages response \
                 (a results list of pages) or one page"
                    .to_string(),
            ),
        }
    }

    fn list(&mut self, items: &[Value], links: Links<'_>, at: &str, base: Option<&str>) {
        if items.is_empty() {
            self.note(at, "no results".to_string());
        }
        let base = links.base.or(base);
        let mut bodiless = Vec::new();
        for (i, item) in items.iter().enumerate() {
            self.item(item, &format!("{at}: results[{i}]"), base, &mut bodiless);
        }
        self.note_bodiless(at, &bodiless);
        if let Some(next) = links.next {
            self.note(
                at,
                format!("more results at {next}; a file is read as it is (pull the base URL to follow pages)"),
            );
        }
    }

    /// One content item: a page or blog post is kept, anything else noted.
    fn item(&mut self, v: &Value, at: &str, base: Option<&str>, bodiless: &mut Vec<String>) {
        let at = at_with_id(at, v);
        match read_item(v, base, self.config.max_document_bytes) {
            Outcome::Page(page) => {
                if page.fields.body == Body::Missing {
                    bodiless.push(page.fields.id.clone());
                }
                self.keep(*page, &at);
            }
            Outcome::Remove(doc, status) => {
                self.removed.push(doc);
                self.note(&at, format!("status {status}: removed if it was ingested"));
            }
            Outcome::Note(message) => self.note(&at, message),
            Outcome::Skip(message) => self.skip(&at, message),
        }
    }

    /// A bare storage-format body: one page named by its path.
    fn bare_body(&mut self, path: &Path, bytes: Vec<u8>) -> Result<(), IngestError> {
        let at = path.display().to_string();
        let Ok(xhtml) = String::from_utf8(bytes.clone()) else {
            self.skip(&at, "not UTF-8 text".to_string());
            return Ok(());
        };
        let id = crate::ingest::file_id(path)?;
        let fields = PageFields { body: Body::Storage(xhtml), ..PageFields::new(id.clone()) };
        match Page::render(fields, None, bytes, self.config.max_document_bytes) {
            Ok(mut page) => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                page.fields.title = Some(super::body_title(&page.text, &stem));
                page.url = Some(crate::ingest::file_url(&id));
                self.keep(page, &at);
            }
            Err(e) => self.skip(&at, e.to_string()),
        }
        Ok(())
    }

    /// Keeps a page; a page read twice keeps its newer version (the later
    /// copy on a tie).
    fn keep(&mut self, page: Page, at: &str) {
        match self.read_at.get(&page.doc).cloned() {
            None => {
                self.read_at.insert(page.doc.clone(), (self.pages.len(), at.to_string()));
                self.pages.push(page);
            }
            Some((i, first)) => {
                let (old, new) = (self.pages[i].fields.version, page.fields.version);
                let message = if new >= old {
                    let message = format!("also read at {first}; this copy is kept");
                    self.read_at.insert(page.doc.clone(), (i, at.to_string()));
                    self.pages[i] = page;
                    message
                } else {
                    format!("an older version of the page read at {first}; passed over")
                };
                self.note(at, message);
            }
        }
    }

    fn note_bodiless(&mut self, at: &str, ids: &[String]) {
        if !ids.is_empty() {
            self.note(
                at,
                format!(
                    "no body in this response for {} (ask for expand=body.storage, or body-format=storage in v2); \
                     ingested with title and metadata only",
                    ids.join(", ")
                ),
            );
        }
    }

    fn note(&mut self, at: &str, message: String) {
        self.report.notes.push(Note { at: at.to_string(), message });
    }

    fn skip(&mut self, at: &str, message: String) {
        self.report.skipped.push(Note { at: at.to_string(), message });
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
