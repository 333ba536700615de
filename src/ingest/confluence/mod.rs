//! Confluence: pages and blog posts from REST exports on disk or a live pull
//! from a base URL, each one a [`HistoryDoc`] with id `confluence:{page id}`.
//!
//! - [`page`] reads JSON: the response shapes and the fields of a page, v1 and v2.
//! - [`export`] reads files: REST v1 `/rest/api/content` (and `/content/search`)
//!   and v2 `/api/v2/pages` responses, lists or single pages, an object of named
//!   responses (mocks), and bare storage-format bodies (`.xml`, `.xhtml`: one page
//!   per file, id `confluence:{absolute path}`, title from the first heading or
//!   the file stem).
//! - [`live`] pulls from a base URL, incrementally, and notices deletions.
//!
//! Choices shared by both:
//! - The kind comes from labels mapped by `ingest/confluence.toml`. When labels
//!   map to several kinds the most specific wins, in the order postmortem,
//!   incident, problem, runbook, policy, change, then any other (the table is read into
//!   a sorted map, so its order in the file is not kept).
//! - A runbook's alerts come from the `alerts` content property, from labels
//!   `alert-NAME` (Confluence labels cannot hold `:`, but `alert:NAME` is read
//!   too), and from an `Alerts: A, B` line or `| Alerts | A, B |` row (the Page
//!   Properties form) in the body.
//! - Links to other pages (`ac:link` → `ri:page` titles) become `linksTo` edges
//!   when the title names a page of the same ingest (for a live pull: any page
//!   the server lists); other titles stay in the body only.
//! - Pages with `status` trashed or deleted are removed; drafts and historical
//!   versions are passed over with a note.

mod export;
mod live;
mod page;

use std::collections::HashMap;

use serde_json::Value;

use super::document::HistoryDoc;
use super::linking::Linker;
use super::markup::{markdown, storage, structure};
use super::{IngestConfig, IngestError, Report, config::lookup};
use crate::ledger::Ledger;
use crate::model::change_text::change_from_text;
use crate::model::{DocId, DocKind, Source};
use page::{Body, PageError, PageFields};

/// Ingests a file, a folder of exports, or pulls from an http(s) base URL.
pub async fn ingest(
    ledger: &Ledger,
    target: &str,
    config: &IngestConfig,
    linker: &Linker,
    token: Option<&str>,
) -> Result<Report, IngestError> {
    check_kinds(config)?;
    if target.starts_with("http://") || target.starts_with("https://") {
        live::pull(ledger, target, config, linker, token).await
    } else {
        export::ingest(ledger, std::path::Path::new(target), config, linker).await
    }
}

/// Every kind the mapping names must be a document kind.
fn check_kinds(config: &IngestConfig) -> Result<(), IngestError> {
    for name in config.confluence.kinds.keys() {
        name.parse::<DocKind>().map_err(|message| IngestError::Invalid {
            path: "ingest/confluence.toml".into(),
            message: format!("[kinds] {message}"),
        })?;
    }
    Ok(())
}

/// What to do with a page, by its `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    Ingest,
    /// Trashed or deleted on the server: remove it.
    Remove,
    /// A draft or a historical version: not a published page.
    PassOver,
}

fn disposition(status: Option<&str>) -> Disposition {
    match status.map(str::to_ascii_lowercase).as_deref() {
        Some("trashed" | "deleted" | "purged") => Disposition::Remove,
        Some("draft" | "historical") => Disposition::PassOver,
        _ => Disposition::Ingest,
    }
}

/// What became of one content item of a response.
#[derive(Debug)]
enum Outcome {
    Page(Box<Page>),
    /// Trashed or deleted on the server (with its status).
    Remove(DocId, String),
    /// Passed over on purpose, and why.
    Note(String),
    /// Could not be read, and why.
    Skip(String),
}

/// Reads one content item: a page or blog post is rendered, anything else
/// says why not.
fn read_item(v: &Value, base: Option<&str>, limit: u64) -> Outcome {
    let fields = match page::item(v) {
        Err(e) => return Outcome::Skip(e.to_string()),
        Ok(page::Item::Other(kind)) => {
            let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
            return Outcome::Note(format!("{article} {kind}, not a page or blog post; passed over"));
        }
        Ok(page::Item::Document) => match page::fields(v) {
            Ok(f) => f,
            Err(e) => return Outcome::Skip(e.to_string()),
        },
    };
    let status = fields.status.clone().unwrap_or_default();
    match disposition(fields.status.as_deref()) {
        Disposition::Remove => match DocId::new(Source::Confluence, fields.id) {
            Ok(doc) => Outcome::Remove(doc, status),
            Err(e) => Outcome::Skip(e.to_string()),
        },
        Disposition::PassOver => Outcome::Note(format!("status {status}: not a published page; passed over")),
        Disposition::Ingest => match Page::render(fields, base, payload_of(v), limit) {
            Ok(page) => Outcome::Page(Box::new(page)),
            Err(e) => Outcome::Skip(e.to_string()),
        },
    }
}

/// `at` with the item's id, for naming it in a report.
fn at_with_id(at: &str, v: &Value) -> String {
    match page::id_of(v) {
        Some(id) => format!("{at} (page {id})"),
        None => at.to_string(),
    }
}

/// A page read and rendered, waiting for its links to be resolved.
#[derive(Debug, Clone)]
struct Page {
    doc: DocId,
    fields: PageFields,
    text: String,
    page_links: Vec<String>,
    url: Option<String>,
    payload: Vec<u8>,
}

impl Page {
    /// Renders a page read from JSON. `base` is the response's or the pull's
    /// base URL; the page's own `_links.base` wins over it.
    fn render(fields: PageFields, base: Option<&str>, payload: Vec<u8>, limit: u64) -> Result<Page, PageError> {
        let (text, page_links) = match &fields.body {
            Body::Storage(xhtml) | Body::View(xhtml) => {
                if xhtml.len() as u64 > limit {
                    return Err(PageError::TooLarge { size: xhtml.len(), limit });
                }
                let rendered = storage::to_text(xhtml)?;
                (rendered.text, rendered.page_links)
            }
            Body::Missing => (String::new(), Vec::new()),
        };
        let doc = DocId::new(Source::Confluence, fields.id.clone()).map_err(|_| PageError::NoId)?;
        // `_links.webui` is relative to the page's own base, else the
        // response's (or the pull's), else the one its `self` link implies.
        let base = fields.links_base.as_deref().or(base).or(fields.self_base.as_deref());
        let url = page_url(base, fields.webui.as_deref(), &fields.id);
        Ok(Page { doc, fields, text, page_links, url, payload })
    }

    fn title(&self) -> String {
        self.fields.title.clone().unwrap_or_else(|| format!("page {}", self.fields.id))
    }
}

/// Page titles → documents, for resolving `ac:link` titles, and page ids →
/// titles, for naming a v2 page's parent.
#[derive(Debug, Default)]
struct TitleIndex {
    by_title: HashMap<String, Vec<(DocId, Option<String>)>>,
    title_of: HashMap<String, String>,
}

impl TitleIndex {
    fn add(&mut self, title: &str, doc: DocId, space: Option<String>) {
        let entry = self.by_title.entry(title.trim().to_lowercase()).or_default();
        if !entry.iter().any(|(d, _)| *d == doc) {
            entry.push((doc, space));
        }
    }

    /// Remembers a page's title by id (a page, or an ancestor of one).
    fn name(&mut self, id: &str, title: &str) {
        self.title_of.entry(id.to_string()).or_insert_with(|| title.trim().to_string());
    }

    /// Adds a page, and the titles of its ancestors.
    fn add_page(&mut self, page: &Page) {
        if let Some(title) = &page.fields.title {
            self.add(title, page.doc.clone(), page.fields.space.clone());
            self.name(&page.fields.id, title);
        }
        for (id, title) in &page.fields.ancestors {
            if let Some(id) = id {
                self.name(id, title);
            }
        }
    }

    /// The one page with this title, or the one in `space` when titles repeat
    /// across spaces.
    fn resolve(&self, title: &str, space: Option<&str>) -> Option<&DocId> {
        let candidates = self.by_title.get(&title.trim().to_lowercase())?;
        if candidates.len() == 1 {
            return Some(&candidates[0].0);
        }
        let same: Vec<&DocId> = candidates.iter().filter(|(_, s)| s.as_deref() == space).map(|(d, _)| d).collect();
        (same.len() == 1).then(|| same[0])
    }
}

/// Turns a rendered page into a history document.
fn history(page: Page, index: &TitleIndex, config: &IngestConfig) -> HistoryDoc {
    let labels = page.fields.labels.clone().unwrap_or_default();
    let kind = kind_of(&labels, config);
    let mut d = HistoryDoc::new(page.doc.clone(), kind, page.title());
    match kind {
        DocKind::Postmortem | DocKind::Incident | DocKind::Problem => {
            d.postmortem = structure::postmortem_from_text(&page.text);
        }
        DocKind::Runbook => {
            d.runbook = structure::runbook_from_text(&page.text);
            d.alerts = alerts_of(&page.fields, &page.text);
        }
        DocKind::Change => {
            // Its status by the clock when the page was last written.
            let written = page.fields.updated.or(page.fields.created).unwrap_or_else(chrono::Utc::now);
            let mut change = change_from_text(&page.title(), &page.text, written);
            change.by.clone_from(&page.fields.author);
            d.change = Some(change);
        }
        _ => {}
    }
    for title in &page.page_links {
        if let Some(target) = index.resolve(title, page.fields.space.as_deref())
            && *target != page.doc
            && !d.links.iter().any(|(t, _)| t == target)
        {
            d.links.push((target.clone(), "link".to_string()));
        }
    }
    let f = page.fields;
    d.url = page.url;
    d.body = page.text;
    d.created = f.created;
    d.updated = f.updated;
    d.author = f.author;
    d.space = f.space;
    d.ancestors = match (f.ancestors.is_empty(), f.parent_id) {
        // v2 names only the parent: its title when known, else its id.
        (true, Some(parent)) => vec![index.title_of.get(&parent).cloned().unwrap_or(parent)],
        _ => f.ancestors.into_iter().map(|(_, title)| title).collect(),
    };
    d.version = f.version.map(|v| v.to_string());
    // Labels are chosen by people: one that names an entity says the page
    // is about it. (Labels that name nothing are simply not linked.)
    if config.confluence.labels_name_entities {
        d.named_entities.clone_from(&labels);
    }
    d.classification =
        config.confluence.classification.level(&config.scale, &labels, d.space.as_deref(), None).map(|l| l.to_string());
    d.labels = labels;
    d.payload = page.payload;
    d
}

/// The kind the labels give, the most specific first.
fn kind_of(labels: &[String], config: &IngestConfig) -> DocKind {
    const PRECEDENCE: [DocKind; 6] =
        [DocKind::Postmortem, DocKind::Incident, DocKind::Problem, DocKind::Runbook, DocKind::Policy, DocKind::Change];
    let rank = |k: &DocKind| PRECEDENCE.iter().position(|p| p == k).unwrap_or(PRECEDENCE.len());
    labels
        .iter()
        .filter_map(|l| lookup(&config.confluence.kinds, l))
        .filter_map(|k| k.parse::<DocKind>().ok())
        .min_by_key(rank)
        .unwrap_or(DocKind::Page)
}

/// Where a person reads the page: the base and `_links.webui`, or the
/// `viewpage.action` form every Confluence answers when only the id is known.
fn page_url(base: Option<&str>, webui: Option<&str>, id: &str) -> Option<String> {
    match (base.map(|b| b.trim_end_matches('/')), webui) {
        (_, Some(w)) if w.starts_with("http://") || w.starts_with("https://") => Some(w.to_string()),
        (Some(b), Some(w)) => Some(format!("{b}/{}", w.trim_start_matches('/'))),
        (Some(b), None) => Some(format!("{b}/pages/viewpage.action?pageId={}", urlencode(id))),
        (None, _) => None,
    }
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A runbook's alert names: the `alerts` property, `alert-NAME` labels and
/// the body's `Alerts:` line or row.
fn alerts_of(fields: &PageFields, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if is_alert_name(name) && !out.iter().any(|o| o.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    };
    fields.alert_property.iter().for_each(|a| add(a.trim()));
    for label in fields.labels.iter().flatten() {
        if let Some(name) = label.strip_prefix("alert-").or_else(|| label.strip_prefix("alert:")) {
            add(name);
        }
    }
    for name in alert_line(text) {
        add(&name);
    }
    out
}

/// Names on the first `Alert(s): A, B` line or `| Alert(s) | A, B |` row.
fn alert_line(text: &str) -> Vec<String> {
    for line in text.lines() {
        let line = line.trim();
        let rest = if let Some(row) = line.strip_prefix('|') {
            let cells: Vec<&str> = row.trim_end_matches('|').split('|').map(str::trim).collect();
            match cells.as_slice() {
                [key, value] if is_alert_key(key) => *value,
                _ => continue,
            }
        } else {
            match line.split_once(':') {
                Some((key, value)) if is_alert_key(key) => value,
                _ => continue,
            }
        };
        let rest = rest.split('(').next().unwrap_or_default();
        return rest
            .split([',', ';'])
            .flat_map(|part| part.split(" and "))
            .map(|n| n.trim().trim_matches(|c: char| "*_`'\".".contains(c) || c.is_whitespace()).to_string())
            .filter(|n| is_alert_name(n))
            .collect();
    }
    Vec::new()
}

fn is_alert_key(key: &str) -> bool {
    let key = key.trim().trim_matches('*').trim().to_ascii_lowercase();
    matches!(key.as_str(), "alert" | "alerts" | "alert name" | "alert names")
}

fn is_alert_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c))
}

/// The page's JSON as the source sent it (re-serialised from the parsed value).
fn payload_of(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// The title of a bare storage body: its first heading, else the file stem.
fn body_title(text: &str, stem: &str) -> String {
    markdown::first_heading(text).map(|(_, h)| h).filter(|h| !h.trim().is_empty()).unwrap_or_else(|| stem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: serde_json::Value) -> PageFields {
        page::fields(&v).unwrap()
    }

    #[test]
    fn kinds_by_label_most_specific_first() {
        let config = IngestConfig::default();
        let k = |labels: &[&str]| kind_of(&labels.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &config);
        assert_eq!(k(&["checkout-api", "PostMortem"]), DocKind::Postmortem);
        assert_eq!(k(&["incident", "rca"]), DocKind::Postmortem);
        assert_eq!(k(&["sop", "policy"]), DocKind::Runbook);
        assert_eq!(k(&["change-policy"]), DocKind::Policy);
        assert_eq!(k(&["maintenance", "internal-dns"]), DocKind::Change);
        assert_eq!(k(&["change", "policy"]), DocKind::Policy);
        assert_eq!(k(&["tier-0"]), DocKind::Page);
        assert_eq!(k(&[]), DocKind::Page);
    }

    #[test]
    fn urls_from_base_and_webui() {
        let base = Some("https://x.atlassian.net/wiki/");
        assert_eq!(
            page_url(base, Some("/spaces/OPS/pages/1/T"), "1").as_deref(),
            Some("https://x.atlassian.net/wiki/spaces/OPS/pages/1/T")
        );
        assert_eq!(
            page_url(Some("https://dc.example.com"), Some("/display/OPS/T"), "1").as_deref(),
            Some("https://dc.example.com/display/OPS/T")
        );
        assert_eq!(
            page_url(base, None, "12345").as_deref(),
            Some("https://x.atlassian.net/wiki/pages/viewpage.action?pageId=12345")
        );
        assert_eq!(page_url(None, Some("/spaces/OPS/pages/1/T"), "1"), None);
        assert_eq!(page_url(None, Some("https://y/wiki/x/ab"), "1").as_deref(), Some("https://y/wiki/x/ab"));
    }

    #[test]
    fn page_base_prefers_its_own_links() {
        let url =
            |v: serde_json::Value, base: Option<&str>| Page::render(fields(v), base, Vec::new(), 100).unwrap().url;
        let own = serde_json::json!({"id": "1", "_links": {
            "webui": "/x", "base": "https://a/wiki", "self": "https://c/wiki/rest/api/content/1"
        }});
        assert_eq!(url(own, Some("https://b/wiki")).as_deref(), Some("https://a/wiki/x"));
        let given = serde_json::json!({"id": "1", "_links": {"webui": "/x", "self": "https://c/wiki/api/v2/pages/1"}});
        assert_eq!(url(given.clone(), Some("https://b/wiki")).as_deref(), Some("https://b/wiki/x"));
        assert_eq!(url(given, None).as_deref(), Some("https://c/wiki/x"));
    }

    #[test]
    fn bodies_over_the_limit_are_refused() {
        let f = fields(serde_json::json!({"id": "7", "body": {"storage": {"value": "<p>0123456789</p>"}}}));
        let err = Page::render(f, None, Vec::new(), 10).unwrap_err().to_string();
        assert!(err.contains("over the 10-byte limit") && err.contains("FFO_MAX_DOCUMENT_BYTES"), "{err}");
    }

    #[test]
    fn alerts_from_property_labels_and_body() {
        let f = fields(serde_json::json!({
            "id": "1",
            "labels": {"results": [{"name": "runbook"}, {"name": "alert-KafkaLagHigh"}]},
            "properties": {"results": [{"key": "alerts", "value": ["RedisMemoryHigh"]}]}
        }));
        let text =
            "# Runbook\n\nAlerts: **RedisEvictionsHigh**, **RedisMemoryHigh** (Grafana-managed, folder Platform).\n";
        assert_eq!(alerts_of(&f, text), vec!["RedisMemoryHigh", "KafkaLagHigh", "RedisEvictionsHigh"]);
        assert_eq!(alert_line("| Alert | NodeFilesystemSpaceFillingUp |"), vec!["NodeFilesystemSpaceFillingUp"]);
        assert_eq!(alert_line("Alert names: A_1 and B-2."), vec!["A_1", "B-2"]);
        assert!(alert_line("Alerting is noisy: many things fire").is_empty());
        assert!(alert_line("| Alerts | see the dashboard |").is_empty());
    }

    fn page_doc(id: &str) -> DocId {
        DocId::new(Source::Confluence, id).unwrap()
    }

    #[test]
    fn titles_resolve_to_one_page_or_the_one_in_the_same_space() {
        let mut index = TitleIndex::default();
        index.add("Runbook: redis", page_doc("1"), Some("OPS".into()));
        index.add("Home", page_doc("2"), Some("OPS".into()));
        index.add("Home", page_doc("3"), Some("DEV".into()));
        assert_eq!(index.resolve("runbook: Redis ", Some("DEV")), Some(&page_doc("1")));
        assert_eq!(index.resolve("Home", Some("DEV")), Some(&page_doc("3")));
        assert_eq!(index.resolve("Home", None), None);
        assert_eq!(index.resolve("Nowhere", None), None);
    }
}
