//! Confluence ingest through the CLI: the public REST samples and storage
//! bodies, the fixture estate's pages, bad input, and live pulls (v2 cursors,
//! v1 `_links.next`) from a small Confluence played by the test.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

mod common;
use common::Ffo;

fn samples() -> PathBuf {
    common::formats().join("confluence")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The report's notes with the samples folder taken out, for comparing.
fn notes(report: &Value, prefix: &Path) -> Vec<String> {
    let prefix = format!("{}/", prefix.display());
    report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().replace(&prefix, "")).collect()
}

fn document(ffo: &Ffo, id: &str) -> Value {
    ffo.json(&["document", id, "--json"])["document"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect()
}

#[test]
fn public_rest_samples_ingest_and_what_is_not_a_page_is_noted() {
    let ffo = Ffo::new();
    let v1 = samples().join("rest-v1");
    let r = ffo.json(&["ingest", "confluence", s(&v1), "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["files"].as_u64(), r["documents"].as_u64(), r["written"].as_u64()), (Some(3), Some(4), Some(4)));
    let bodiless = "(ask for expand=body.storage, or body-format=storage in v2); ingested with title and metadata only";
    let more = "a file is read as it is (pull the base URL to follow pages)";
    assert_eq!(
        notes(&r, &v1),
        vec![
            format!("dapplo_GET_wiki-rest-api-content-search_cql.json: no body in this response for 950274 {bodiless}"),
            format!(
                "dapplo_GET_wiki-rest-api-content-search_cql.json: more results at \
                 /rest/api/search?cql=text%20~%20%22greenshot%22&limit=25&cursor=raNDoMsTRiNg; {more}"
            ),
            format!(
                "xsoar_GET_wiki-rest-api-content_expand-all.json: no body in this response for 65639, 65656 {bodiless}"
            ),
            format!(
                "xsoar_GET_wiki-rest-api-content_expand-all.json: more results at \
                 /rest/api/content?next=true&expand=childTypes.all,space,version,history,ancestors,container,body&limit=2&start=2; {more}"
            ),
        ]
    );

    let v2 = samples().join("rest-v2");
    let r = ffo.json(&["ingest", "confluence", s(&v2), "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    // PAGE_MOCK and the first page of PAGE_RESULT_LIST are the same page.
    assert_eq!((r["files"].as_u64(), r["documents"].as_u64(), r["written"].as_u64()), (Some(2), Some(6), Some(6)));
    let mocks = "atlassian-python-api_v2_mock_responses.json";
    assert_eq!(
        notes(&r, &v2),
        vec![
            format!("{mocks}#CHILD_PAGES_RESULT: no body in this response for 234567, 456789 {bodiless}"),
            format!(
                "{mocks}#PAGE_RESULT_LIST: results[0] (page 123456): also read at {mocks}#PAGE_MOCK (page 123456); this copy is kept"
            ),
            format!("{mocks}#PAGE_RESULT_LIST: no body in this response for 345678 {bodiless}"),
            format!("{mocks}#PAGE_RESULT_LIST: more results at /wiki/api/v2/pages?cursor=next-page-token; {more}"),
            format!(
                "{mocks}#SEARCH_RESULT: 2 search results: excerpts that wrap a content summary, not pages; passed over \
                 (ingest /rest/api/content or /api/v2/pages responses)"
            ),
            format!("{mocks}#SPACES_RESULT: 2 spaces, not pages; passed over"),
            format!("{mocks}#SPACE_MOCK: a space, not a page; passed over"),
            format!("xsoar_GET_wiki-api-v2-pages.json: no body in this response for 12345, 67890 {bodiless}"),
        ]
    );
    for id in ["confluence:234567", "confluence:456789", "confluence:345678", "confluence:12345", "confluence:67890"] {
        assert!(document(&ffo, id)["title"].is_string(), "{id}");
    }
    // Re-reading the same files writes nothing.
    let again = ffo.json(&["ingest", "confluence", s(&samples()), "--json"]);
    assert_eq!(again["skipped"], json!([]), "{again}");
    assert_eq!(again["written"], 19, "only the storage bodies are new: {again}");
    assert_eq!(again["unchanged"], 10);
}

#[test]
fn storage_format_files_are_bare_bodies_one_page_each() {
    let ffo = Ffo::new();
    let dir = samples().join("storage-format");
    let r = ffo.json(&["ingest", "confluence", s(&dir), "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!(r["notes"], json!([]), "{r}");
    assert_eq!((r["files"].as_u64(), r["documents"].as_u64()), (Some(19), Some(19)));

    let path = |rel: &str| fs::canonicalize(dir.join(rel)).unwrap().display().to_string();
    // Title from the first heading, else the file stem; a file:// URL.
    let intro = document(&ffo, &format!("confluence:{}", path("jsonix-wiki/Introduction.xml")));
    assert_eq!(intro["title"], "Introduction");
    assert_eq!(intro["kind"], "page");
    assert!(intro["body"].as_str().unwrap().starts_with("# Introduction\n\nTip:\nTake a look at"), "{intro}");
    assert!(intro["url"].as_str().unwrap().starts_with("file:///"), "{intro}");
    let tasks = document(&ffo, &format!("confluence:{}", path("mark-testdata/tasklists.xhtml")));
    assert_eq!(tasks["title"], "tasklists");
    assert!(tasks["body"].as_str().unwrap().starts_with("- [x] #739\n- [ ] https://github.com/octo-org/"), "{tasks}");
    let table = document(&ffo, &format!("confluence:{}", path("mark-testdata/table.xhtml")));
    assert!(
        table["body"].as_str().unwrap().contains("| HEADER1 | HEADER2 |\n| --- | --- |\n| row1 | row2 |"),
        "{table}"
    );

    // ac:link titles between the Jsonix pages become links.
    let q = "PREFIX ffo: <https://ffo.dev/ns#> SELECT ?t WHERE { GRAPH ?g { ?s ffo:linksTo ?t } \
             FILTER(STRENDS(STR(?s), \"Mapping-XML-to-JavaScript-Objects.xml\")) }";
    let out = ffo.ok(&["sparql", q, "--format", "tsv"]);
    assert!(out.contains("Types.xml") && out.contains("Properties.xml"), "{out}");

    // A body file that leaves the folder takes its page with it.
    let copy = ffo.dir.path().join("bodies");
    common::copy_tree(&dir.join("mark-testdata"), &copy);
    ffo.ok(&["ingest", "confluence", s(&copy)]);
    fs::remove_file(copy.join("table.xhtml")).unwrap();
    let r = ffo.json(&["ingest", "confluence", s(&copy), "--json"]);
    assert_eq!((r["deleted"].as_u64(), r["written"].as_u64()), (Some(1), Some(0)), "{r}");
}

#[test]
fn public_samples_fields_v1_and_v2() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "confluence", s(&samples().join("rest-v1"))]);
    ffo.ok(&["ingest", "confluence", s(&samples().join("rest-v2"))]);

    // v1 single page (POST response): everything expanded but the body is empty.
    let d = document(&ffo, "confluence:2097159");
    assert_eq!(d["title"], "XSOAR_Page");
    assert_eq!(d["kind"], "page", "no labels: a plain page");
    assert_eq!(d["labels"], json!([]));
    assert_eq!(d["space"], "XSOAR");
    assert_eq!(d["version"], "2");
    assert_eq!(d["author"], "John Doe");
    assert_eq!(d["created"], "2021-08-06T06:23:36Z");
    assert_eq!(d["updated"], "2021-08-06T06:23:36Z");
    assert_eq!(d["url"], "https://xsoar-bd.atlassian.net/wiki/spaces/XSOAR/pages/2097159/XSOAR_Page");
    assert_eq!(d["ancestors"], json!(["XSOAR_Project Home"]));

    // v1 list: a personal space (~key), a breadcrumb, the list's _links.base.
    let d = document(&ffo, "confluence:65656");
    assert_eq!(d["title"], "Product requirements");
    assert_eq!(d["space"], "~680738455");
    assert_eq!(d["ancestors"], json!(["Sample Pages"]));
    assert_eq!(d["created"], "2021-08-02T09:53:05Z");
    assert_eq!(d["url"], "https://xsoar-bd.atlassian.net/wiki/spaces/~680738455/pages/65656/Product+requirements");
    assert_eq!(d["body"], "");

    // v2 page: spaceId, parentId, authorId; the base from its self link.
    let d = document(&ffo, "confluence:123456");
    assert_eq!(d["title"], "Test Page");
    assert_eq!(d["space"], "789012");
    assert_eq!(d["ancestors"], json!(["654321"]));
    assert_eq!(d["author"], "112233");
    assert_eq!(d["version"], "1");
    assert_eq!(d["created"], "2023-08-01T12:00:00Z");
    assert_eq!(d["updated"], "2023-08-01T12:00:00Z");
    assert_eq!(d["url"], "https://example.atlassian.net/wiki/spaces/TESTSPACE/pages/123456/Test+Page");
    assert_eq!(d["body"], "This is a test page content.");

    // v2 list without _links.webui: the id-only URL under the list's base.
    let d = document(&ffo, "confluence:67890");
    assert_eq!(d["url"], "https://dummy.atlassian.com/wiki/pages/viewpage.action?pageId=67890");
    assert_eq!(d["version"], "2");
    let hits = ffo.json(&["search", "test page content", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "confluence:123456", "{hits}");
}

#[test]
fn fixture_pages_postmortem_runbook_policy_and_reingest_writes_nothing() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", s(&common::fixtures().join("catalog"))]);
    ffo.ok(&["ingest", "rdf", s(&common::fixtures().join("rdf"))]);
    let dir = common::fixtures().join("confluence");
    let r = ffo.json(&["ingest", "confluence", s(&dir), "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["documents"].as_u64(), r["written"].as_u64()), (Some(10), Some(10)), "{r}");

    let pm = document(&ffo, "confluence:458753");
    assert_eq!(pm["kind"], "postmortem");
    assert_eq!(pm["title"], "Postmortem: checkout-api 5xx during January sale (2026-01-14)");
    let root = pm["root_cause"].as_str().unwrap();
    assert!(root.contains("memory pressure and evictions in the shared Redis cache, redis-shared"), "{root}");
    assert!(strings(&pm["cause_in"]).contains(&"resource:default/redis-shared".to_string()), "{pm}");
    // The label checkout-api names the entity: the page affects it.
    assert_eq!(strings(&pm["affects"]), vec!["component:default/checkout-api"], "{pm}");
    assert!(strings(&pm["mentions"]).contains(&"resource:default/redis-shared".to_string()), "{pm}");
    assert!(!pm["root_cause"].as_str().unwrap().starts_with('#'), "fields hold text, not their heading");
    assert_eq!(pm["labels"], json!(["postmortem", "checkout-api", "redis", "sev1"]));
    assert_eq!(pm["ancestors"], json!(["Operations Home", "Postmortems"]));
    assert_eq!(pm["author"], "Hugo Martin");
    assert!(
        pm["action_items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a.as_str().unwrap().contains("[ ] Split the catalog cache"))
    );

    let rb = document(&ffo, "confluence:557057");
    assert_eq!(rb["kind"], "runbook");
    assert_eq!(rb["alerts"], json!(["RedisEvictionsHigh", "RedisMemoryHigh"]), "from the body's Alerts: line");
    assert!(rb["mitigation"].as_str().unwrap().contains("Lower the catalog cache TTL"), "{rb}");
    // v2 gives the parent's id; the v1 breadcrumbs named it.
    assert_eq!(rb["ancestors"], json!(["Runbooks"]));
    assert_eq!(document(&ffo, "confluence:360449")["kind"], "runbook");
    assert_eq!(document(&ffo, "confluence:327681")["kind"], "policy");
    assert_eq!(document(&ffo, "confluence:491522")["kind"], "page");

    // ac:link titles resolve to the pages, across the v1 and v2 files.
    let links = ffo.ok(&[
        "sparql",
        "PREFIX ffo: <https://ffo.dev/ns#> SELECT ?t WHERE { GRAPH ?g { <https://ffo.dev/doc/confluence/458753> ffo:linksTo ?t } } ORDER BY ?t",
        "--format",
        "tsv",
    ]);
    assert_eq!(
        links.lines().skip(1).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
        vec!["<https://ffo.dev/doc/confluence/491522>", "<https://ffo.dev/doc/confluence/557057>"]
    );

    let again = ffo.json(&["ingest", "confluence", s(&dir), "--json"]);
    assert_eq!((again["written"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(10)), "{again}");
}

/// A v1 page in an export.
fn v1_page(id: Value, title: &str, body: Value) -> Value {
    json!({
        "id": id, "type": "page", "status": "current", "title": title,
        "space": {"id": 1, "key": "OPS"},
        "version": {"number": 1, "when": "2026-02-01T10:00:00.000Z"},
        "body": {"storage": {"value": body, "representation": "storage"}},
        "_links": {"webui": format!("/spaces/OPS/pages/{title}")}
    })
}

#[test]
fn a_malformed_page_is_skipped_by_index_or_id_and_the_rest_goes_in() {
    let ffo = Ffo::new();
    let export = ffo.dir.path().join("export.json");
    let pages = json!({
        "results": [
            v1_page(json!("9001"), "Quokka failover", json!("<h2>Steps</h2><p>quokka drill one</p>")),
            v1_page(Value::Null, "No id", json!("<p>x</p>")),
            v1_page(json!("9003"), "Numeric body", json!(42)),
            {"id": "9004", "type": "attachment", "title": "diagram.png"},
            v1_page(json!("9005"), "Wombat runbook", json!("<p>wombat drill two</p>")),
        ],
        "_links": {"base": "https://wiki.example.com/wiki"}
    });
    fs::write(&export, pages.to_string()).unwrap();
    let out = ffo.run(&["ingest", "confluence", s(&export), "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = export.display();
    assert_eq!(
        r["skipped"],
        json!([
            format!("{at}: results[1]: has no id"),
            format!("{at}: results[2] (page 9003): body.storage.value is a number, expected a string"),
        ])
    );
    assert_eq!(
        r["notes"],
        json!([format!("{at}: results[3] (page 9004): an attachment, not a page or blog post; passed over")])
    );
    assert_eq!(r["written"], 2);
    let hits = ffo.json(&["search", "wombat drill", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "confluence:9005", "{hits}");
    let hits = ffo.json(&["search", "quokka", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "confluence:9001", "{hits}");
    assert_eq!(
        document(&ffo, "confluence:9001")["url"],
        "https://wiki.example.com/wiki/spaces/OPS/pages/Quokka failover"
    );

    // Not JSON at all, and JSON that is no Confluence response.
    fs::write(ffo.dir.path().join("broken.json"), "{\"results\": [").unwrap();
    fs::write(ffo.dir.path().join("other.json"), "{\"issues\": []}").unwrap();
    let out = ffo.run(&["ingest", "confluence", s(&ffo.dir.path().join("broken.json")), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["skipped"][0].as_str().unwrap().contains("broken.json: not JSON: EOF"), "{r}");
    let out = ffo.run(&["ingest", "confluence", s(&ffo.dir.path().join("other.json")), "--json"]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["skipped"][0].as_str().unwrap().contains("other.json: not a Confluence REST response"), "{r}");
}

#[test]
fn a_body_over_the_document_limit_is_refused_naming_the_limit() {
    let ffo = Ffo::new().env("FFO_MAX_DOCUMENT_BYTES", "10000");
    let export = ffo.dir.path().join("big.json");
    let big = format!("<p>{}</p>", "capybara ".repeat(2000));
    let pages = json!({"results": [
        v1_page(json!("7001"), "Big page", json!(big)),
        v1_page(json!("7002"), "Small page", json!("<p>small capybara</p>")),
    ]});
    fs::write(&export, pages.to_string()).unwrap();
    let out = ffo.run(&["ingest", "confluence", s(&export), "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["skipped"],
        json!([format!(
            "{}: results[0] (page 7001): the body is 18007 bytes, over the 10000-byte limit for one document; \
             raise FFO_MAX_DOCUMENT_BYTES to ingest it",
            export.display()
        )])
    );
    assert_eq!(r["written"], 1);
    assert!(!ffo.run(&["document", "confluence:7001"]).status.success());
}

// ---------------------------------------------------------------------------
// Live pulls against a small Confluence played by the test.

/// What the played Confluence holds and what it saw.
struct Wiki {
    /// "v1" or "v2": the format of `pages` and the endpoints served.
    api: &'static str,
    base: String,
    /// The Authorization header it accepts.
    auth: String,
    pages: Vec<Value>,
    /// Pages whose labels the v2 list leaves out (a server ignoring include-labels).
    labels_by_call: Vec<&'static str>,
    /// Answer the next authorised request with 429.
    throttle: bool,
    throttled: usize,
    unauthorised: usize,
    /// Path and query of every request served.
    log: Vec<String>,
}

type Shared = Arc<Mutex<Wiki>>;

/// A running played Confluence; stops with its runtime on drop.
struct Played {
    wiki: Shared,
    base: String,
    _runtime: tokio::runtime::Runtime,
}

impl Played {
    fn start(api: &'static str, auth: &str, pages: Vec<Value>) -> Played {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let base = format!("http://{}/wiki", listener.local_addr().unwrap());
        let wiki = Arc::new(Mutex::new(Wiki {
            api,
            base: base.clone(),
            auth: auth.to_string(),
            pages,
            labels_by_call: Vec::new(),
            throttle: true,
            throttled: 0,
            unauthorised: 0,
            log: Vec::new(),
        }));
        let app = Router::new().fallback(serve).with_state(wiki.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Played { wiki, base, _runtime: runtime }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Wiki) -> T) -> T {
        f(&mut self.wiki.lock().unwrap())
    }

    /// Requests served since the last call.
    fn take_log(&self) -> Vec<String> {
        self.with(|w| std::mem::take(&mut w.log))
    }
}

async fn serve(State(wiki): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let mut w = wiki.lock().unwrap();
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(w.auth.as_str()) {
        w.unauthorised += 1;
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Unauthorized; scope does not match"})))
            .into_response();
    }
    if w.throttle {
        w.throttle = false;
        w.throttled += 1;
        return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down").into_response();
    }
    w.log.push(uri.to_string());
    let q = query(&uri);
    let path = uri.path().strip_prefix("/wiki").unwrap_or_default().to_string();
    let answer = match (w.api, path.as_str()) {
        ("v2", "/api/v2/pages") => Some(v2_list(&w, &q)),
        ("v2", p) if p.starts_with("/api/v2/pages/") => {
            let rest = &p["/api/v2/pages/".len()..];
            match rest.split_once('/') {
                Some((id, "labels")) => w.pages.iter().find(|x| x["id"] == id).map(|x| x["labels"].clone()),
                None => w.pages.iter().find(|x| x["id"] == rest).map(|x| v2_view(&w, x, &q)),
                _ => None,
            }
        }
        ("v1", "/rest/api/content") => Some(v1_list(&w, &q, "/rest/api/content", |_| true)),
        ("v1", "/rest/api/content/search") => {
            let cql = q.get("cql").cloned().unwrap_or_default();
            let from = cql
                .split("lastmodified >= \"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(|d| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap().and_utc());
            let from = from.expect("the search names lastmodified");
            Some(v1_list(&w, &q, "/rest/api/content/search", move |p| {
                chrono::DateTime::parse_from_rfc3339(p["version"]["when"].as_str().unwrap()).unwrap() >= from
            }))
        }
        _ => None,
    };
    match answer {
        Some(v) => axum::Json(v).into_response(),
        None => (StatusCode::NOT_FOUND, axum::Json(json!({"message": format!("no {path}")}))).into_response(),
    }
}

fn query(uri: &Uri) -> HashMap<String, String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().unwrap().into_owned();
    uri.query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn number(q: &HashMap<String, String>, key: &str, default: usize) -> usize {
    q.get(key).and_then(|v| v.trim_start_matches('o').parse().ok()).unwrap_or(default)
}

/// A v2 page as the list or single endpoint gives it, body and labels only when asked.
fn v2_view(w: &Wiki, page: &Value, q: &HashMap<String, String>) -> Value {
    let mut p = page.clone();
    let map = p.as_object_mut().unwrap();
    if q.get("body-format").map(String::as_str) != Some("storage") {
        map.remove("body");
    }
    let id = page["id"].as_str().unwrap();
    if q.get("include-labels").map(String::as_str) != Some("true") || w.labels_by_call.contains(&id) {
        map.remove("labels");
    }
    p
}

fn v2_list(w: &Wiki, q: &HashMap<String, String>) -> Value {
    let mut pages: Vec<&Value> = w.pages.iter().collect();
    if q.get("sort").map(String::as_str) == Some("-modified-date") {
        pages.sort_by(|a, b| b["version"]["createdAt"].as_str().cmp(&a["version"]["createdAt"].as_str()));
    }
    let (offset, limit) = (number(q, "cursor", 0), number(q, "limit", 25));
    let results: Vec<Value> = pages.iter().skip(offset).take(limit).map(|p| v2_view(w, p, q)).collect();
    let mut links = json!({"base": w.base});
    if offset + limit < pages.len() {
        // Real v2 next links carry the context path and an opaque cursor.
        let mut next = format!("/wiki/api/v2/pages?cursor=o{}&limit={limit}", offset + limit);
        for key in ["body-format", "include-labels", "sort"] {
            if let Some(v) = q.get(key) {
                next.push_str(&format!("&{key}={v}"));
            }
        }
        links["next"] = json!(next);
    }
    json!({"results": results, "_links": links})
}

fn v1_list(w: &Wiki, q: &HashMap<String, String>, path: &str, keep: impl Fn(&Value) -> bool) -> Value {
    let pages: Vec<&Value> = w.pages.iter().filter(|p| keep(p)).collect();
    let (start, limit) = (number(q, "start", 0), number(q, "limit", 25));
    let expand = q.get("expand").cloned().unwrap_or_default();
    let results: Vec<Value> = pages
        .iter()
        .skip(start)
        .take(limit)
        .map(|p| {
            let mut p = (*p).clone();
            if !expand.contains("body.storage") {
                for key in ["body", "metadata", "ancestors", "history", "version"] {
                    p.as_object_mut().unwrap().remove(key);
                }
            }
            p
        })
        .collect();
    let mut links = json!({"base": w.base, "context": "/wiki"});
    if start + limit < pages.len() {
        // Real v1 next links are relative to the base.
        let mut next = format!("{path}?limit={limit}&start={}", start + limit);
        for key in ["type", "expand", "cql"] {
            if let Some(v) = q.get(key) {
                next.push_str(&format!("&{key}={}", common::urlencode(v)));
            }
        }
        links["next"] = json!(next);
    }
    json!({"results": results, "start": start, "limit": limit, "size": results.len(), "_links": links})
}

fn fixture_pages(file: &str) -> Vec<Value> {
    let text = fs::read_to_string(common::fixtures().join("confluence").join(file)).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["results"].as_array().unwrap().clone()
}

/// A v1 fixture page in v2 form.
fn v2_of(v1: &Value) -> Value {
    json!({
        "id": v1["id"], "status": "current", "title": v1["title"], "spaceId": "98305",
        "parentId": v1["ancestors"].as_array().unwrap().last().unwrap()["id"],
        "authorId": v1["history"]["createdBy"]["accountId"], "createdAt": v1["history"]["createdDate"],
        "version": {
            "number": v1["version"]["number"],
            "createdAt": v1["version"]["when"],
            "authorId": v1["version"]["by"]["accountId"]
        },
        "body": {"storage": {"representation": "storage", "value": v1["body"]["storage"]["value"]}},
        "labels": {"results": v1["metadata"]["labels"]["results"]},
        "_links": {"webui": v1["_links"]["webui"]}
    })
}

/// A mappings folder whose confluence.toml speaks `api` with small pages.
fn mappings(ffo: &Ffo, api: &str, page_size: u32) -> PathBuf {
    let dir = ffo.dir.path().join("mappings");
    fs::create_dir_all(&dir).unwrap();
    let toml = fs::read_to_string(common::repo().join("ingest/confluence.toml")).unwrap();
    let toml = toml
        .lines()
        .map(|l| match l {
            l if l.starts_with("api =") => format!("api = \"{api}\""),
            l if l.starts_with("page_size =") => format!("page_size = {page_size}"),
            l => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    fs::write(dir.join("confluence.toml"), toml).unwrap();
    dir
}

fn count(log: &[String], pred: impl Fn(&str) -> bool) -> usize {
    log.iter().filter(|l| pred(l)).count()
}

#[test]
fn live_v2_pull_pages_by_cursor_and_notices_changes_and_deletions() {
    let mut pages = fixture_pages("pages-v2.json");
    pages.extend(fixture_pages("content-v1.json").iter().map(v2_of));
    assert_eq!(pages.len(), 8);
    // me@example.com:s3cret as basic auth.
    let wiki = Played::start("v2", "Basic bWVAZXhhbXBsZS5jb206czNjcmV0", pages);
    wiki.with(|w| w.labels_by_call = vec!["589825"]);
    let ffo = Ffo::new();
    let maps = mappings(&ffo, "v2", 3);
    let ffo = ffo.env("FFO_MAPPINGS", s(&maps));

    // No token: the server's 401 is reported, nothing is written.
    let out = ffo.run(&["ingest", "confluence", &wiki.base]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401") && err.contains("FFO_CONFLUENCE_TOKEN"), "{err}");
    assert!(wiki.with(|w| w.unauthorised) >= 1);

    let ffo = ffo.env("FFO_CONFLUENCE_TOKEN", "me@example.com:s3cret");
    let r = ffo.json(&["ingest", "confluence", &format!("{}/", wiki.base), "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["documents"].as_u64(), r["written"].as_u64()), (Some(8), Some(8)), "{r}");
    assert_eq!(wiki.with(|w| w.throttled), 1, "the first request was told to wait and was retried");
    let log = wiki.take_log();
    let bodies = |l: &str| l.starts_with("/wiki/api/v2/pages?") && l.contains("body-format=storage");
    assert_eq!(count(&log, bodies), 3, "8 pages, 3 to a page: {log:?}");
    assert_eq!(count(&log, |l| bodies(l) && l.contains("cursor=o3")), 1, "{log:?}");
    assert!(
        log.iter()
            .filter(|l| bodies(l))
            .all(|l| l.contains("sort=-modified-date") && l.contains("include-labels=true"))
    );
    assert_eq!(count(&log, |l| l.starts_with("/wiki/api/v2/pages?") && !l.contains("body-format")), 1, "one listing");
    assert_eq!(count(&log, |l| l.starts_with("/wiki/api/v2/pages/589825/labels")), 1, "{log:?}");

    let d = document(&ffo, "confluence:557057");
    assert_eq!(d["kind"], "runbook");
    assert_eq!(d["space"], "98305");
    assert_eq!(d["version"], "4");
    assert_eq!(d["ancestors"], json!(["393246"]), "v2 names only the parent, not listed here: its id");
    assert_eq!(
        d["url"],
        format!("{}/spaces/OPS/pages/557057/Runbook%3A+redis-shared+memory+pressure+and+evictions", wiki.base)
    );
    assert_eq!(document(&ffo, "confluence:589825")["kind"], "postmortem", "labels fetched per page");
    assert_eq!(document(&ffo, "confluence:458753")["kind"], "postmortem");

    // The server deletes one page, edits another, and a third comes back
    // from the trash with its old modification date.
    wiki.with(|w| {
        w.pages.retain(|p| p["id"] != "589825");
        w.pages.push(json!({
            "id": "620001", "status": "current", "title": "Platypus restore drill", "spaceId": "98305",
            "authorId": "5f8a1c2e9b4d3a0069e1a003", "createdAt": "2025-12-01T10:00:00.000Z",
            "version": {"number": 1, "createdAt": "2025-12-01T10:00:00.000Z"},
            "body": {"storage": {"representation": "storage", "value": "<p>platypus restore drill</p>"}},
            "labels": {"results": [{"name": "sop"}]},
            "_links": {"webui": "/spaces/OPS/pages/620001/Platypus+restore+drill"}
        }));
        let p = w.pages.iter_mut().find(|p| p["id"] == "557057").unwrap();
        p["version"] =
            json!({"number": 5, "createdAt": "2026-11-20T08:00:00.000Z", "authorId": "5f8a1c2e9b4d3a0069e1a003"});
        let body = p["body"]["storage"]["value"].as_str().unwrap().to_string();
        p["body"]["storage"]["value"] =
            json!(format!("{body}<p>Check the eviction policy of the numbat pool first.</p>"));
        w.throttle = true;
    });
    let r = ffo.json(&["ingest", "confluence", &wiki.base, "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["written"].as_u64(), r["deleted"].as_u64()), (Some(2), Some(1)), "{r}");
    let log = wiki.take_log();
    assert_eq!(count(&log, bodies), 1, "paging stops at pages older than the cursor: {log:?}");
    assert_eq!(count(&log, |l| l.starts_with("/wiki/api/v2/pages/620001?body-format=storage")), 1, "{log:?}");
    assert_eq!(document(&ffo, "confluence:620001")["kind"], "runbook");
    let out = ffo.run(&["document", "confluence:589825"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no document"), "{out:?}");
    let hits = ffo.json(&["search", "CoreDNS conntrack", "--json"]);
    assert!(hits["hits"].as_array().unwrap().iter().all(|h| h["doc_id"] != "confluence:589825"), "{hits}");
    let d = document(&ffo, "confluence:557057");
    assert_eq!(d["version"], "5");
    assert!(d["body"].as_str().unwrap().contains("numbat pool"), "{d}");
    let hits = ffo.json(&["search", "numbat", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "confluence:557057", "{hits}");

    // Nothing changed: nothing written.
    let r = ffo.json(&["ingest", "confluence", &wiki.base, "--json"]);
    assert_eq!((r["written"].as_u64(), r["deleted"].as_u64()), (Some(0), Some(0)), "{r}");
}

#[test]
fn live_v1_pull_follows_next_links_then_asks_cql_for_changes() {
    let wiki = Played::start("v1", "Bearer pat-123", fixture_pages("content-v1.json"));
    let ffo = Ffo::new();
    let maps = mappings(&ffo, "v1", 2);
    let ffo = ffo.env("FFO_MAPPINGS", s(&maps)).env("FFO_CONFLUENCE_TOKEN", "pat-123");

    let r = ffo.json(&["ingest", "confluence", &wiki.base, "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["documents"].as_u64(), r["written"].as_u64()), (Some(5), Some(5)), "{r}");
    assert_eq!(wiki.with(|w| w.throttled), 1);
    let log = wiki.take_log();
    let bodies = |l: &str| l.starts_with("/wiki/rest/api/content?") && l.contains("body.storage");
    assert_eq!(count(&log, bodies), 3, "5 pages, 2 to a page: {log:?}");
    assert_eq!(count(&log, |l| bodies(l) && l.contains("start=4")), 1, "{log:?}");
    let d = document(&ffo, "confluence:458753");
    assert_eq!(d["kind"], "postmortem");
    assert_eq!(d["space"], "OPS");
    // webui is read against the base pulled from.
    assert_eq!(
        d["url"],
        format!(
            "{}/spaces/OPS/pages/458753/Postmortem%3A+checkout-api+5xx+during+January+sale+%282026-01-14%29",
            wiki.base
        )
    );
    assert_eq!(d["ancestors"], json!(["Operations Home", "Postmortems"]));
    assert_eq!(document(&ffo, "confluence:327681")["kind"], "policy");

    wiki.with(|w| {
        w.pages.retain(|p| p["id"] != "425985");
        let p = w.pages.iter_mut().find(|p| p["id"] == "327681").unwrap();
        p["version"]["number"] = json!(6);
        p["version"]["when"] = json!("2026-11-20T08:00:00.000Z");
        p["title"] = json!("Change freeze policy (peak 2026)");
    });
    let r = ffo.json(&["ingest", "confluence", &wiki.base, "--json"]);
    assert_eq!(r["skipped"], json!([]), "{r}");
    assert_eq!((r["written"].as_u64(), r["deleted"].as_u64()), (Some(1), Some(1)), "{r}");
    let log = wiki.take_log();
    assert_eq!(count(&log, bodies), 0, "no full pull the second time: {log:?}");
    let searches: Vec<&String> = log.iter().filter(|l| l.starts_with("/wiki/rest/api/content/search?")).collect();
    assert_eq!(searches.len(), 1, "{log:?}");
    assert!(searches[0].contains("lastmodified%20%3E%3D%20%222026%2D09%2D30%2009%3A30%22"), "{log:?}");
    assert_eq!(document(&ffo, "confluence:327681")["title"], "Change freeze policy (peak 2026)");
    assert!(!ffo.run(&["document", "confluence:425985"]).status.success());
}
