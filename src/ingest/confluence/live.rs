//! A live pull from a Confluence base URL (`https://x.atlassian.net/wiki`, or
//! a Data Center base), REST v2 or v1 as `ingest/confluence.toml` says.
//!
//! Every pull:
//! 1. lists every page the token can read, without bodies (cheap): the
//!    titles resolve links, and the ids tell which pages went away;
//! 2. pulls the pages changed since the last pull, with bodies, and writes
//!    them one API page at a time. v2 asks for `sort=-modified-date` and stops
//!    at the first page older than the cursor; v1 uses CQL `lastmodified >=`
//!    one day before the cursor (CQL reads dates in the user's time zone, so
//!    the margin covers any offset; re-read pages are unchanged and write
//!    nothing). The first pull reads everything;
//! 3. fetches one by one the listed pages this base never gave (restored from
//!    the trash, moved into a pulled space, or unreadable last time);
//! 4. deletes the pages pulled from this base before that the server no longer
//!    lists, or now gives as trashed or deleted;
//! 5. then, and only then, moves two ledger cursors:
//!    `confluence:{base}:modified` (the newest `updated` seen, RFC 3339) and
//!    `confluence:{base}:pages` (a JSON list of the page ids pulled from this
//!    base and still listed: what step 4 compares against).
//!
//! v2 labels come with `include-labels=true`; a server that ignores it (the
//! list endpoint does not document it) is asked `/api/v2/pages/{id}/labels`
//! for each page pulled with a body. `_links.next` is followed only to the
//! same origin as the base, so a token never leaves for another host.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};
use reqwest::Url;
use serde_json::Value;

use super::page::{self, Links};
use super::{Outcome, Page, TitleIndex, at_with_id, history, read_item};
use crate::ingest::document::commit_history;
use crate::ingest::linking::Linker;
use crate::ingest::remote::Remote;
use crate::ingest::{IngestConfig, IngestError, Note, Report, config::ConfluenceLive};
use crate::ledger::{Change, Ledger};
use crate::model::time::{parse_time, rfc3339};
use crate::model::{DocId, Source};

/// What v1 pulls expand.
const V1_EXPAND: &str = "body.storage,version,space,ancestors,metadata.labels,history";
/// Page sizes of the cheap listing (the APIs' maxima).
const V2_LIST_LIMIT: u32 = 250;
const V1_LIST_LIMIT: u32 = 200;

pub async fn pull(
    ledger: &Ledger,
    target: &str,
    config: &IngestConfig,
    linker: &Linker,
    token: Option<&str>,
) -> Result<Report, IngestError> {
    let site = Site::new(target)?;
    let api = Api::parse(&config.confluence.live.api)?;
    let remote = Remote::new(token, config.max_export_bytes)?;
    let mut report = Report::new(Source::Confluence);
    let modified_cursor = format!("confluence:{}:modified", site.base);
    let pages_cursor = format!("confluence:{}:pages", site.base);
    let known: BTreeSet<String> = match ledger.cursor(&pages_cursor).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| IngestError::Invalid {
            path: pages_cursor.clone().into(),
            message: format!("the ledger cursor is not a list of page ids: {e}"),
        })?,
        None => BTreeSet::new(),
    };
    // Without the list of pages pulled before, a full pull rebuilds it.
    let since =
        if known.is_empty() { None } else { ledger.cursor(&modified_cursor).await?.as_deref().and_then(parse_time) };

    let mut pull = Pull {
        ledger,
        linker,
        config,
        remote: &remote,
        site: &site,
        api,
        index: TitleIndex::default(),
        report: &mut report,
        attempted: HashSet::new(),
        written: BTreeSet::new(),
        removed: Vec::new(),
        newest: since,
    };
    let listed = pull.list().await?;
    for start in api.changed_urls(&site, &config.confluence.live, since) {
        pull.changed(start, since).await?;
    }
    let missing: Vec<String> =
        listed.iter().filter(|id| !known.contains(*id) && !pull.attempted.contains(*id)).cloned().collect();
    for id in missing {
        let url = api.page_url(&site, &id);
        match pull.remote.get_json(&url).await {
            Ok(v) => pull.write(vec![v], &url).await?,
            // Gone since the listing, or unreadable: tried again next pull.
            Err(IngestError::Remote { url, message }) => pull.report.skipped.push(Note { at: url, message }),
            Err(e) => return Err(e),
        }
    }

    let Pull { written, removed, newest, .. } = pull;
    let mut gone: Vec<Change> = Vec::new();
    for id in known.iter().filter(|id| !listed.contains(*id) && !written.contains(*id)) {
        if let Ok(doc) = DocId::new(Source::Confluence, id.clone()) {
            gone.push(Change::Delete(doc));
        }
    }
    for doc in removed {
        if known.contains(doc.external_id()) && !gone.iter().any(|c| *c.doc() == doc) {
            gone.push(Change::Delete(doc));
        }
    }
    crate::ingest::commit(ledger, &gone, &mut report).await?;

    let still: BTreeSet<&String> = known.iter().chain(&written).filter(|id| listed.contains(*id)).collect();
    let still = serde_json::to_string(&still).unwrap_or_else(|_| "[]".to_string());
    ledger.set_cursor(&pages_cursor, &still).await?;
    if let Some(t) = newest {
        ledger.set_cursor(&modified_cursor, &rfc3339(t)).await?;
    }
    Ok(report)
}

/// The REST API a pull speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V1,
    V2,
}

impl Api {
    fn parse(s: &str) -> Result<Api, IngestError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1" | "1" => Ok(Api::V1),
            "v2" | "2" => Ok(Api::V2),
            other => Err(IngestError::Invalid {
                path: "ingest/confluence.toml".into(),
                message: format!("[live] api {other:?} is not an API FFO speaks; use \"v2\" or \"v1\""),
            }),
        }
    }

    /// Where the cheap listing starts, one URL per space (or one for all).
    fn list_urls(self, site: &Site, live: &ConfluenceLive) -> Vec<String> {
        match self {
            Api::V2 => scoped(
                &live.spaces,
                || site.url(&format!("/api/v2/pages?limit={V2_LIST_LIMIT}")),
                |space| site.url(&format!("/api/v2/spaces/{}/pages?limit={V2_LIST_LIMIT}", enc(space))),
            ),
            Api::V1 => {
                let all = format!("/rest/api/content?type=page&expand=space&limit={V1_LIST_LIMIT}");
                scoped(&live.spaces, || site.url(&all), |space| site.url(&format!("{all}&spaceKey={}", enc(space))))
            }
        }
    }

    /// Where the pull of changed pages (with bodies) starts.
    fn changed_urls(self, site: &Site, live: &ConfluenceLive, since: Option<DateTime<Utc>>) -> Vec<String> {
        let n = live.page_size.max(1);
        match (self, since) {
            (Api::V2, _) => {
                let query = format!("limit={n}&body-format=storage&include-labels=true&sort=-modified-date");
                scoped(
                    &live.spaces,
                    || site.url(&format!("/api/v2/pages?{query}")),
                    |space| site.url(&format!("/api/v2/spaces/{}/pages?{query}", enc(space))),
                )
            }
            (Api::V1, None) => {
                let all = format!("/rest/api/content?type=page&expand={V1_EXPAND}&limit={n}&start=0");
                scoped(&live.spaces, || site.url(&all), |space| site.url(&format!("{all}&spaceKey={}", enc(space))))
            }
            (Api::V1, Some(t)) => {
                let cql = v1_cql(t, &live.spaces);
                vec![site.url(&format!("/rest/api/content/search?cql={}&expand={V1_EXPAND}&limit={n}", enc(&cql)))]
            }
        }
    }

    /// One page, with its body.
    fn page_url(self, site: &Site, id: &str) -> String {
        match self {
            Api::V2 => site.url(&format!("/api/v2/pages/{}?body-format=storage&include-labels=true", enc(id))),
            Api::V1 => site.url(&format!("/rest/api/content/{}?expand={V1_EXPAND}", enc(id))),
        }
    }
}

/// One URL for every page, or one per configured space.
fn scoped(spaces: &[String], all: impl Fn() -> String, one: impl Fn(&str) -> String) -> Vec<String> {
    if spaces.is_empty() { vec![all()] } else { spaces.iter().map(|s| one(s.trim())).collect() }
}

/// Pages modified since a day before `t` (see the module comment).
fn v1_cql(t: DateTime<Utc>, spaces: &[String]) -> String {
    let from = (t - Duration::days(1)).format("%Y-%m-%d %H:%M");
    let mut cql = format!("type=page and lastmodified >= \"{from}\"");
    if !spaces.is_empty() {
        let quoted: Vec<String> = spaces.iter().map(|s| format!("\"{}\"", s.trim().replace('"', ""))).collect();
        cql.push_str(&format!(" and space in ({})", quoted.join(",")));
    }
    cql
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The Confluence being pulled from.
#[derive(Debug, Clone)]
struct Site {
    /// The base URL as given, without a trailing slash.
    base: String,
    parsed: Url,
}

impl Site {
    fn new(target: &str) -> Result<Site, IngestError> {
        let base = target.trim().trim_end_matches('/').to_string();
        let err = |message: &str| IngestError::Remote { url: base.clone(), message: message.to_string() };
        let parsed = Url::parse(&base).map_err(|e| err(&format!("not a URL: {e}")))?;
        if parsed.host_str().is_none() {
            return Err(err("the URL has no host; give a base like https://x.atlassian.net/wiki"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(err("give the base URL without a query, like https://x.atlassian.net/wiki"));
        }
        Ok(Site { base, parsed })
    }

    /// A URL under the base; `rest` starts with `/`.
    fn url(&self, rest: &str) -> String {
        format!("{}{rest}", self.base)
    }

    /// Resolves a response's `_links.next`. v2 gives it relative to the host
    /// with the context path (`/wiki/api/v2/pages?cursor=…`), v1 relative to
    /// the base (`/rest/api/content?start=25`); an absolute link must stay on
    /// the base's origin.
    fn next(&self, next: &str, links: &Links<'_>) -> Result<String, IngestError> {
        let refuse = |message: String| IngestError::Remote { url: next.to_string(), message };
        if next.starts_with("http://") || next.starts_with("https://") {
            let url = Url::parse(next).map_err(|e| refuse(format!("the next link is not a URL: {e}")))?;
            if url.origin() != self.parsed.origin() {
                return Err(refuse(format!("the next link leaves {}; not followed", self.base)));
            }
            return Ok(next.to_string());
        }
        // The response's own base, when it is on the same origin.
        let base = links
            .base
            .and_then(|b| Url::parse(b).ok())
            .filter(|b| b.origin() == self.parsed.origin())
            .unwrap_or_else(|| self.parsed.clone());
        let context = links.context.map(str::to_string).unwrap_or_else(|| base.path().to_string());
        let context = context.trim_end_matches('/');
        let origin = self.parsed.origin().ascii_serialization();
        let next = format!("/{}", next.trim_start_matches('/'));
        if !context.is_empty() && next.starts_with(&format!("{context}/")) {
            Ok(format!("{origin}{next}"))
        } else {
            Ok(format!("{origin}{context}{next}"))
        }
    }
}

/// The state of one pull.
struct Pull<'a> {
    ledger: &'a Ledger,
    linker: &'a Linker,
    config: &'a IngestConfig,
    remote: &'a Remote,
    site: &'a Site,
    api: Api,
    index: TitleIndex,
    report: &'a mut Report,
    /// Every page id a response with bodies gave in this pull.
    attempted: HashSet<String>,
    /// Pages written (or found unchanged) in this pull.
    written: BTreeSet<String>,
    /// Pages the server gave as trashed or deleted.
    removed: Vec<DocId>,
    /// The newest `updated` among the pages read.
    newest: Option<DateTime<Utc>>,
}

impl Pull<'_> {
    /// Lists every readable page: ids, titles and spaces.
    async fn list(&mut self) -> Result<HashSet<String>, IngestError> {
        let mut listed = HashSet::new();
        for start in self.api.list_urls(self.site, &self.config.confluence.live) {
            let mut url = Some(start);
            while let Some(u) = url.take() {
                let response = self.remote.get_json(&u).await?;
                for item in results(&response, &u)? {
                    let Some(id) = page::id_of(item) else { continue };
                    let status = item.get("status").and_then(Value::as_str);
                    if super::disposition(status) != super::Disposition::Ingest {
                        continue;
                    }
                    if let Some(title) = item.get("title").and_then(Value::as_str) {
                        let space = page::fields(item).ok().and_then(|f| f.space);
                        if let Ok(doc) = DocId::new(Source::Confluence, id.clone()) {
                            self.index.add(title, doc, space);
                        }
                        self.index.name(&id, title);
                    }
                    listed.insert(id);
                }
                url = self.next_of(&response)?;
            }
        }
        Ok(listed)
    }

    /// Pulls changed pages from `start`, following `_links.next`, writing
    /// each response's pages before asking for the next.
    async fn changed(&mut self, start: String, since: Option<DateTime<Utc>>) -> Result<(), IngestError> {
        let mut url = Some(start);
        while let Some(u) = url.take() {
            let response = self.remote.get_json(&u).await?;
            let mut items: Vec<Value> = results(&response, &u)?.to_vec();
            // Sorted newest first (v2): what is older than the cursor was pulled before.
            let older = |v: &Value| {
                let updated = page::fields(v).ok().and_then(|f| f.updated);
                matches!((since, updated), (Some(s), Some(t)) if t < s)
            };
            let reached_old = self.api == Api::V2 && items.iter().any(older);
            if self.api == Api::V2 {
                items.retain(|v| !older(v));
            }
            self.write(items, &u).await?;
            if !reached_old {
                url = self.next_of(&response)?;
            }
        }
        Ok(())
    }

    /// Reads and writes the pages of one response. `_links.webui` is read
    /// against the base pulled from (a page's own `_links.base` wins).
    async fn write(&mut self, items: Vec<Value>, url: &str) -> Result<(), IngestError> {
        let base = self.site.base.clone();
        let mut pages: Vec<Page> = Vec::new();
        for (i, mut item) in items.into_iter().enumerate() {
            let at = at_with_id(&format!("{url}: results[{i}]"), &item);
            if let Some(id) = page::id_of(&item) {
                self.attempted.insert(id.clone());
                if self.api == Api::V2 && item.is_object() && item.get("labels").is_none() {
                    let url = self.site.url(&format!("/api/v2/pages/{}/labels?limit=250", enc(&id)));
                    item["labels"] = self.remote.get_json(&url).await?;
                }
            }
            match read_item(&item, Some(&base), self.config.max_document_bytes) {
                Outcome::Page(page) => {
                    self.newest = self.newest.max(page.fields.updated);
                    pages.push(*page);
                }
                Outcome::Remove(doc, _) => self.removed.push(doc),
                Outcome::Note(message) => self.report.notes.push(Note { at, message }),
                Outcome::Skip(message) => self.report.skipped.push(Note { at, message }),
            }
        }
        let docs: Vec<_> = pages
            .into_iter()
            .map(|p| {
                self.written.insert(p.fields.id.clone());
                history(p, &self.index, self.config)
            })
            .collect();
        self.report.documents += docs.len();
        commit_history(self.ledger, docs, self.linker, self.report).await
    }

    fn next_of(&self, response: &Value) -> Result<Option<String>, IngestError> {
        let links = Links::of(response);
        links.next.map(|n| self.site.next(n, &links)).transpose()
    }
}

/// The content items of a response: `results`, or the response itself when it
/// is one page.
fn results<'a>(response: &'a Value, url: &str) -> Result<&'a [Value], IngestError> {
    match page::shape(response) {
        page::Shape::List { items, .. } => Ok(items),
        page::Shape::Single(_) => Ok(std::slice::from_ref(response)),
        _ => Err(IngestError::Remote {
            url: url.to_string(),
            message: "the response is not a list of pages; is the base URL a Confluence (…/wiki on Cloud)?".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(spaces: &[&str]) -> ConfluenceLive {
        ConfluenceLive { api: "v2".into(), spaces: spaces.iter().map(|s| s.to_string()).collect(), page_size: 25 }
    }

    #[test]
    fn request_urls() {
        let site = Site::new("https://x.atlassian.net/wiki/").unwrap();
        assert_eq!(site.base, "https://x.atlassian.net/wiki");
        assert_eq!(
            Api::V2.changed_urls(&site, &live(&[]), None),
            vec![
                "https://x.atlassian.net/wiki/api/v2/pages?limit=25&body-format=storage&include-labels=true&sort=-modified-date"
            ]
        );
        assert_eq!(
            Api::V2.list_urls(&site, &live(&["98305"])),
            vec!["https://x.atlassian.net/wiki/api/v2/spaces/98305/pages?limit=250"]
        );
        assert_eq!(
            Api::V1.changed_urls(&site, &live(&["OPS"]), None),
            vec![format!(
                "https://x.atlassian.net/wiki/rest/api/content?type=page&expand={V1_EXPAND}&limit=25&start=0&spaceKey=OPS"
            )]
        );
        let since = parse_time("2026-01-27T16:40:03Z").unwrap();
        let urls = Api::V1.changed_urls(&site, &live(&[]), Some(since));
        assert_eq!(urls.len(), 1);
        assert!(
            urls[0].starts_with("https://x.atlassian.net/wiki/rest/api/content/search?cql=type%3Dpage%20and%20lastmodified%20%3E%3D%20%222026%2D01%2D26%2016%3A40%22&expand="),
            "{}",
            urls[0]
        );
        assert_eq!(
            v1_cql(since, &["OPS".into(), "DEV".into()]),
            "type=page and lastmodified >= \"2026-01-26 16:40\" and space in (\"OPS\",\"DEV\")"
        );
        assert_eq!(
            Api::V2.page_url(&site, "557057"),
            "https://x.atlassian.net/wiki/api/v2/pages/557057?body-format=storage&include-labels=true"
        );
        assert_eq!(
            Api::V1.page_url(&site, "1/../2"),
            format!("https://x.atlassian.net/wiki/rest/api/content/1%2F%2E%2E%2F2?expand={V1_EXPAND}")
        );
        assert!(Api::parse("v3").is_err());
        assert!(Site::new("https://x.atlassian.net/wiki?x=1").is_err());
        assert!(Site::new("not a url").is_err());
    }

    #[test]
    fn next_links_resolve_against_the_origin_or_the_base() {
        let cloud = Site::new("https://x.atlassian.net/wiki").unwrap();
        let none = Links::default();
        // v2: relative to the host, context path included.
        assert_eq!(
            cloud.next("/wiki/api/v2/pages?cursor=abc", &none).unwrap(),
            "https://x.atlassian.net/wiki/api/v2/pages?cursor=abc"
        );
        // v1: relative to the base.
        let v1 = Links { base: Some("https://x.atlassian.net/wiki"), context: Some("/wiki"), next: None };
        assert_eq!(
            cloud.next("/rest/api/content?start=25&limit=25", &v1).unwrap(),
            "https://x.atlassian.net/wiki/rest/api/content?start=25&limit=25"
        );
        // Data Center at the root, and under a context path.
        let dc = Site::new("https://dc.example.com").unwrap();
        assert_eq!(
            dc.next("/rest/api/content?start=2", &none).unwrap(),
            "https://dc.example.com/rest/api/content?start=2"
        );
        let dc_ctx = Site::new("https://dc.example.com/confluence").unwrap();
        assert_eq!(
            dc_ctx.next("/rest/api/content?start=2", &none).unwrap(),
            "https://dc.example.com/confluence/rest/api/content?start=2"
        );
        // A base given without /wiki learns the context from the response.
        let bare = Site::new("https://x.atlassian.net").unwrap();
        assert_eq!(
            bare.next("/rest/api/content?start=2", &v1).unwrap(),
            "https://x.atlassian.net/wiki/rest/api/content?start=2"
        );
        // Absolute links stay on the origin.
        assert_eq!(
            cloud.next("https://x.atlassian.net/wiki/api/v2/pages?cursor=z", &none).unwrap(),
            "https://x.atlassian.net/wiki/api/v2/pages?cursor=z"
        );
        let err = cloud.next("https://evil.example/wiki/api/v2/pages?cursor=z", &none).unwrap_err().to_string();
        assert!(err.contains("leaves https://x.atlassian.net/wiki"), "{err}");
        // A foreign _links.base is not trusted for resolving.
        let foreign = Links { base: Some("https://proxy.example/wiki"), context: None, next: None };
        assert_eq!(
            cloud.next("/rest/api/content?start=2", &foreign).unwrap(),
            "https://x.atlassian.net/wiki/rest/api/content?start=2"
        );
    }
}
