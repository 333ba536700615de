//! Jira ingest through the CLI: the public real-format samples, the fixture
//! estate's history, bad input, and live pulls from a Jira-shaped server.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;
use common::Ffo;

/// `ffo ingest jira PATH --json`: the exit code and the report.
fn ingest(ffo: &Ffo, target: &Path) -> (i32, Value) {
    let out = ffo.run(&["ingest", "jira", target.to_str().unwrap(), "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\nstdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code().unwrap_or(-1), report)
}

/// The searchable form of one document.
fn doc(ffo: &Ffo, id: &str) -> Value {
    ffo.json(&["document", id, "--json"])["document"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Rows of a SPARQL SELECT, as TSV cells with IRIs and quotes removed.
fn select(ffo: &Ffo, query: &str) -> BTreeSet<Vec<String>> {
    let out = ffo.ok(&["sparql", query, "--format", "tsv"]);
    out.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split('\t').map(|c| c.trim_matches(['<', '>', '"']).to_string()).collect())
        .collect()
}

/// External ids of every Jira document in the graph.
fn jira_keys(ffo: &Ffo) -> BTreeSet<String> {
    select(
        ffo,
        "SELECT ?id WHERE { GRAPH ?g { ?d <https://ffo.dev/ns#source> \"jira\" ; <https://ffo.dev/ns#externalId> ?id } }",
    )
    .into_iter()
    .map(|row| row[0].clone())
    .collect()
}

/// Keys of the documents `key` links to.
fn links(ffo: &Ffo, key: &str) -> BTreeSet<String> {
    let q = format!(
        "SELECT ?o WHERE {{ GRAPH ?g {{ <https://ffo.dev/doc/jira/{key}> <https://ffo.dev/ns#linksTo> ?o }} }}"
    );
    select(ffo, &q).into_iter().map(|row| row[0].trim_start_matches("https://ffo.dev/doc/jira/").to_string()).collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write_json(path: &Path, v: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// The keys of the issues a sample file carries whole, and the keys it
/// deletes, read independently of FFO.
fn keys_in(v: &Value) -> (Vec<String>, Vec<String>) {
    let key = |i: &Value| i["key"].as_str().unwrap().to_string();
    if let Some(issues) = v.get("issues").and_then(Value::as_array) {
        return (issues.iter().map(key).collect(), vec![]);
    }
    match v.get("webhookEvent").and_then(Value::as_str) {
        Some("jira:issue_deleted") => (vec![], vec![key(&v["issue"])]),
        Some(e) if e.starts_with("jira:issue_") => (vec![key(&v["issue"])], vec![]),
        Some(_) => (vec![], vec![]),
        None => (v.get("fields").map(|_| vec![key(v)]).unwrap_or_default(), vec![]),
    }
}

/// Every public sample folder ingests without a skip; each file that is a
/// Jira response about something other than whole issues is named in a
/// note saying what it is, and every issue the other files carry is stored.
#[test]
fn every_public_sample_ingests_and_other_responses_are_noted() {
    let passed_over: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::from([
        ("server-v2", BTreeMap::from([("jira-ruby_issue_10002_comment.json", "a comment list")])),
        ("cloud-v2", BTreeMap::new()),
        (
            "cloud-v3",
            BTreeMap::from([
                ("jira-cli_adf_rich_document.json", "a bare Atlassian Document Format document"),
                ("openapi-example_GET_rest-api-3-field.json", "a field list"),
                ("openapi-example_GET_rest-api-3-issue-changelog.json", "changelog"),
                ("openapi-example_GET_rest-api-3-issue-comment.json", "a comment list"),
                ("openapi-example_GET_rest-api-3-issue-remotelink.json", "a list of remote links"),
                ("openapi-example_GET_rest-api-3-issueLink.json", "one issue link"),
            ]),
        ),
        (
            "webhooks",
            BTreeMap::from([
                ("mattermost_webhook-cloud-comment-created-mention-user.json", "carries only part of its issue"),
                ("mattermost_webhook-cloud-comment-created.json", "carries only part of its issue"),
                ("mattermost_webhook-server-comment-created.json", "webhook without an issue"),
            ]),
        ),
    ]);
    for (folder, expected) in &passed_over {
        let dir = common::formats().join("jira").join(folder);
        let ffo = Ffo::new();
        let (code, report) = ingest(&ffo, &dir);
        assert_eq!(code, 0, "{folder}: {report:#}");
        assert_eq!(report["skipped"], json!([]), "{folder}");

        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert_eq!(report["files"].as_u64().unwrap() as usize, files.len(), "{folder}");
        let notes = strings(&report["notes"]);
        let mut stored = BTreeSet::new();
        let mut deleted = BTreeSet::new();
        for file in &files {
            let name = file.file_name().unwrap().to_str().unwrap();
            let noted: Vec<&String> = notes
                .iter()
                .filter(|n| n.starts_with(&format!("{}:", file.display())) && n.contains("passed over"))
                .collect();
            match expected.get(name) {
                Some(what) => {
                    assert_eq!(noted.len(), 1, "{name}: {notes:#?}");
                    assert!(noted[0].contains(what), "{name}: {}", noted[0]);
                }
                None => {
                    assert!(noted.is_empty(), "{name} carries issues: {noted:?}");
                    let (keys, gone) = keys_in(&read_json(file));
                    assert!(!keys.is_empty() || !gone.is_empty(), "{name} has no issue");
                    stored.extend(keys);
                    deleted.extend(gone);
                }
            }
        }
        let stored: BTreeSet<String> = stored.difference(&deleted).cloned().collect();
        assert_eq!(jira_keys(&ffo), stored, "{folder}");
        assert_eq!(report["documents"].as_u64().unwrap() as usize, stored.len() + deleted.len(), "{folder}");
        assert_eq!(report["written"].as_u64().unwrap() as usize, stored.len(), "{folder}");
    }
}

/// A v2 issue with comments and links (JRJC), one with a resolution, the
/// v3 documentation issue (ADF body, comments as a bare array, `sub-tasks`)
/// and a v3 issue whose description is the rich ADF sample.
#[test]
fn public_samples_have_their_fields_extracted() {
    let ffo = Ffo::new();
    let formats = common::formats().join("jira");
    let (code, _) = ingest(&ffo, &formats.join("server-v2"));
    assert_eq!(code, 0);

    let t = doc(&ffo, "jira:TST-1");
    assert_eq!(t["kind"], "ticket");
    assert_eq!(t["title"], "My sample test");
    assert_eq!(t["created"], "2010-07-23T10:16:56Z", "12:16:56.928+0200 in UTC");
    assert_eq!(t["updated"], "2010-08-17T14:36:29Z");
    assert_eq!(t["severity"], "sev2", "priority Major maps to sev2");
    assert_eq!(t["status"], "Open");
    assert_eq!(t["author"], "Administrator");
    assert_eq!(t["labels"], json!(["a", "bcds"]));
    assert_eq!(t["url"], "http://localhost:2990/jira/browse/TST-1");
    let body = t["body"].as_str().unwrap();
    assert!(
        body.starts_with("my description\n\n## Comments\n\n### Administrator — 2010-07-23T10:17:59Z\n\nabc"),
        "{body}"
    );
    assert!(body.contains("another comment"), "{body}");
    assert_eq!(links(&ffo, "TST-1"), BTreeSet::from(["MUT-19".to_string()]));

    // In both a search page and its own GET with the same update time: the GET (fuller) wins.
    let t = doc(&ffo, "jira:TST-8");
    assert_eq!(t["title"], "issue with resolution");
    assert_eq!(t["status"], "Resolved");
    assert_eq!(t["created"], "2012-12-07T14:25:24Z");
    assert_eq!(t["resolved"], "2012-12-07T14:25:45Z");
    assert_eq!(t["body"], "my description");

    let (code, report) = ingest(&ffo, &formats.join("cloud-v3").join("openapi-example_GET_rest-api-3-issue.json"));
    assert_eq!(code, 0);
    assert!(strings(&report["warnings"]).iter().any(|w| w.contains("`updated` is the number 1")), "{report:#}");
    let t = doc(&ffo, "jira:ED-1");
    assert_eq!(t["kind"], "ticket");
    assert_eq!(t["url"], "https://your-domain.atlassian.net/browse/ED-1");
    let body = t["body"].as_str().unwrap();
    assert!(
        body.starts_with(
            "Main order flow broken\n\n## Comments\n\n### Mia Krystof — 2021-01-17T12:34:00Z\n\nLorem ipsum"
        ),
        "{body}"
    );
    let expected: BTreeSet<String> = ["PR-2", "PR-3", "ED-2"].map(String::from).into();
    assert_eq!(links(&ffo, "ED-1"), expected);

    // jira-cli's v3 issue (one link with an empty `outwardIssue`) carrying the rich ADF sample.
    let tmp = tempfile::tempdir().unwrap();
    let mut issue = read_json(&formats.join("cloud-v3/jira-cli_issue.json"));
    issue["fields"]["description"] = read_json(&formats.join("cloud-v3/jira-cli_adf_rich_document.json"));
    let file = tmp.path().join("TEST-1.json");
    write_json(&file, &issue);
    let (code, _) = ingest(&ffo, &file);
    assert_eq!(code, 0);
    let t = doc(&ffo, "jira:TEST-1");
    assert_eq!(t["title"], "Bug summary");
    assert_eq!(t["severity"], "sev3");
    assert_eq!(t["status"], "To Do");
    assert_eq!(t["author"], "Person A");
    assert_eq!(t["created"], "2020-12-03T13:05:20Z");
    let body = t["body"].as_str().unwrap();
    for part in ["# H1\n", "\n## H2\n", "```go\npackage main\n", "fmt.Println(\"Hello, World!\")", "\n| ", "Person A"] {
        assert!(body.contains(part), "{part:?} in {body}");
    }
    assert_eq!(links(&ffo, "TEST-1"), BTreeSet::from(["TEST-2".to_string()]));
}

fn estate() -> Ffo {
    estate_with(Ffo::new())
}

fn estate_with(ffo: Ffo) -> Ffo {
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    ffo.ok(&["ingest", "rdf", common::fixtures().join("rdf").to_str().unwrap()]);
    ffo
}

fn affects(ffo: &Ffo, id: &str) -> Vec<String> {
    strings(&doc(ffo, id)["affects"])
}

/// The fixture history: kinds, entities, postmortem structure from the
/// description only, the webhook's newer OPS-196, idempotent re-ingest, and a
/// deletion by webhook.
#[test]
fn fixture_history_is_linked_to_the_estate() {
    let ffo = estate();
    let jira = common::fixtures().join("jira");
    let (code, report) = ingest(&ffo, &jira);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["skipped"], json!([]));
    assert_eq!(report["files"], 6);
    assert_eq!(report["documents"], 34);
    assert_eq!(report["written"], 34);

    let t = doc(&ffo, "jira:OPS-112");
    assert_eq!(t["kind"], "incident");
    assert_eq!(t["severity"], "sev1");
    assert_eq!(t["status"], "Closed");
    assert_eq!(t["created"], "2025-11-28T18:42:10Z");
    assert_eq!(t["resolved"], "2025-11-28T21:05:47Z");
    assert_eq!(t["url"], "https://jira.larkspur.example/browse/OPS-112");
    assert!(strings(&t["affects"]).contains(&"component:default/checkout-api".to_string()), "{t:#}");
    // The description has Summary, Impact, Trigger, Resolution and Timeline headings ...
    for field in ["summary", "impact", "trigger", "resolution"] {
        assert!(!t[field].as_str().unwrap().is_empty(), "{field} in {t:#}");
    }
    assert!(t["trigger"].as_str().unwrap().contains("3.1x"));
    assert_eq!(t["timeline"].as_array().unwrap().len(), 5, "{t:#}");
    // ... and none for a root cause or action items; a comment blaming redis-shared does not become one.
    assert_eq!(t["root_cause"], "");
    assert_eq!(t["action_items"], json!([]));
    assert_eq!(t["lessons"], "");
    let body = t["body"].as_str().unwrap();
    assert!(body.contains("## Comments\n\n### Bob Okafor — 2025-11-28T20:12:40Z\n\nNot convinced"), "{body}");
    let expected: BTreeSet<String> = ["OPS-115", "OPS-119"].map(String::from).into();
    assert_eq!(links(&ffo, "OPS-112"), expected);

    let t = doc(&ffo, "jira:OPS-115");
    assert_eq!(t["kind"], "postmortem");
    assert!(t["root_cause"].as_str().unwrap().contains("redis-shared"), "{t:#}");
    assert_eq!(t["action_items"].as_array().unwrap().len(), 4, "{t:#}");
    assert!(strings(&t["cause_in"]).contains(&"resource:default/redis-shared".to_string()));
    assert_eq!(doc(&ffo, "jira:OPS-119")["kind"], "problem");
    assert_eq!(doc(&ffo, "jira:OPS-123")["kind"], "ticket");
    // Timestamps with a +0100 offset are stored in UTC.
    assert_eq!(doc(&ffo, "jira:OPS-127")["created"], "2026-01-14T18:07:44Z");
    // An ADF (v3) incident: components and the custom field are both linked by default.
    let t = doc(&ffo, "jira:OPS-170");
    assert_eq!(t["severity"], "sev2", "P2");
    let a = strings(&t["affects"]);
    assert!(
        a.contains(&"component:default/warehouse-consumer".to_string())
            && a.contains(&"resource:default/orders-topic".to_string()),
        "{a:?}"
    );

    // OPS-196: the webhook's version (Resolved, with the closing comment) beats page 2's.
    let t = doc(&ffo, "jira:OPS-196");
    assert_eq!(t["status"], "Resolved");
    assert_eq!(t["resolved"], "2026-11-19T09:30:02Z");
    assert!(t["body"].as_str().unwrap().contains("Closing after 24h clean"), "{t:#}");
    let notes = strings(&report["notes"]);
    assert!(
        notes.iter().any(|n| n.starts_with("jira:OPS-196:")
            && n.contains("webhook-issue-updated-OPS-196.json (updated 2026-11-19T09:30:02Z)")),
        "{notes:#?}"
    );

    // Re-ingesting writes nothing; an older copy of OPS-196 alone does not replace the newer one.
    let (code, again) = ingest(&ffo, &jira);
    assert_eq!(code, 0);
    assert_eq!(again["written"], 0, "{again:#}");
    assert_eq!(again["unchanged"], 34);
    let (_, older) = ingest(&ffo, &jira.join("incidents-v3-page2.json"));
    assert_eq!(older["written"], 0, "{older:#}");
    assert!(
        strings(&older["notes"])
            .iter()
            .any(|n| n.starts_with("jira:OPS-196:") && n.contains("older than the stored version"))
    );
    assert_eq!(doc(&ffo, "jira:OPS-196")["status"], "Resolved");

    // A jira:issue_deleted webhook (the public sample's envelope around OPS-131) deletes the document.
    let tmp = tempfile::tempdir().unwrap();
    let mut hook = read_json(&common::formats().join("jira/webhooks/mattermost_webhook-issue-deleted.json"));
    let v2 = read_json(&jira.join("incidents-v2.json"));
    hook["issue"] = v2["issues"].as_array().unwrap().iter().find(|i| i["key"] == "OPS-131").unwrap().clone();
    hook["timestamp"] = json!(1_795_080_602_114_i64);
    let file = tmp.path().join("deleted-OPS-131.json");
    write_json(&file, &hook);
    assert!(jira_keys(&ffo).contains("OPS-131"));
    let (code, report) = ingest(&ffo, &file);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["deleted"], 1, "{report:#}");
    let out = ffo.run(&["document", "jira:OPS-131", "--json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("jira:OPS-131"));
    assert!(!jira_keys(&ffo).contains("OPS-131"));
    let (_, again) = ingest(&ffo, &file);
    assert_eq!((again["deleted"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(1)));
}

/// `entity_fields` from a mappings override: a custom field by id, and by
/// display name where the export carries `names`.
#[test]
fn custom_fields_map_entities_by_id_or_by_display_name() {
    let built_in = std::fs::read_to_string(common::repo().join("ingest/jira.toml")).unwrap();
    let with_fields = |fields: &str| {
        let dir = tempfile::tempdir().unwrap();
        let toml = built_in.replace("entity_fields = [\"components\", \"labels\"]", fields);
        assert_ne!(toml, built_in);
        std::fs::write(dir.path().join("jira.toml"), toml).unwrap();
        dir
    };
    let jira = common::fixtures().join("jira");

    let by_id = with_fields("entity_fields = [\"customfield_10050\"]");
    let ffo = estate_with(Ffo::new().env("FFO_MAPPINGS", by_id.path().to_str().unwrap()));
    let (code, _) = ingest(&ffo, &jira);
    assert_eq!(code, 0);
    // Components list warehouse-consumer and orders-topic; the custom field only the first.
    assert_eq!(affects(&ffo, "jira:OPS-170"), vec!["component:default/warehouse-consumer"]);
    assert_eq!(affects(&ffo, "jira:OPS-112"), vec!["component:default/checkout-api"]);
    assert_eq!(affects(&ffo, "jira:OPS-119"), vec!["resource:default/redis-shared"]);
    assert!(affects(&ffo, "jira:OPS-131").is_empty(), "the custom field is null");

    let by_name = with_fields("entity_fields = [\"Affected service\"]");
    let ffo = estate_with(Ffo::new().env("FFO_MAPPINGS", by_name.path().to_str().unwrap()));
    let (code, _) = ingest(&ffo, &jira);
    assert_eq!(code, 0);
    // issue-OPS-123.json maps customfield_10050 to "Affected service" in `names`; the search pages do not.
    assert_eq!(affects(&ffo, "jira:OPS-123"), vec!["resource:default/redis-shared"]);
    assert!(affects(&ffo, "jira:OPS-112").is_empty());
}

/// A malformed issue is skipped by key or index and the rest goes in (exit
/// code 3); a 50 MB issue is refused naming the limit, and nothing breaks.
#[test]
fn malformed_and_oversized_issues_are_named_and_the_rest_goes_in() {
    let ffo = Ffo::new();
    let jira = common::fixtures().join("jira");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exports");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(jira.join("incidents-v2.json"), dir.join("good.json")).unwrap();
    let v2 = read_json(&jira.join("incidents-v2.json"));
    let issue = |key: &str| {
        let mut i = v2["issues"][4].clone();
        i["key"] = json!(key);
        i["fields"]["summary"] = json!(format!("{key} pgbouncer saturation on the reporting replica"));
        i
    };
    let mut no_key = issue("x");
    no_key.as_object_mut().unwrap().remove("key");
    let mut bad_fields = issue("OPS-903");
    bad_fields["fields"] = json!("not an object");
    let mut bad_labels = issue("OPS-904");
    bad_labels["fields"]["labels"] = json!("sev1");
    let page = json!({"startAt": 0, "maxResults": 50, "total": 4, "issues": [issue("OPS-901"), no_key, bad_fields, bad_labels]});
    write_json(&dir.join("bad.json"), &page);
    std::fs::write(dir.join("notes.json"), b"{\"hello\": \"not jira\"}").unwrap();

    let (code, report) = ingest(&ffo, &dir);
    assert_eq!(code, 3, "{report:#}");
    let skipped = strings(&report["skipped"]);
    let bad = dir.join("bad.json").display().to_string();
    assert_eq!(skipped.len(), 4, "{skipped:#?}");
    assert!(
        skipped.iter().any(|s| s.starts_with(&format!("{bad}: issues[1]:")) && s.contains("no `key`")),
        "{skipped:#?}"
    );
    assert!(skipped.iter().any(|s| s.starts_with(&format!("{bad}: OPS-903:")) && s.contains("`fields` is a string")));
    assert!(
        skipped.iter().any(|s| s.starts_with(&format!("{bad}: OPS-904:")) && s.contains("`fields.labels` is a string"))
    );
    assert!(skipped.iter().any(|s| s.contains("notes.json") && s.contains("not a Jira issue")), "{skipped:#?}");
    assert_eq!(report["written"], 11);
    let hits = ffo.json(&["search", "pgbouncer saturation reporting replica", "--json"]);
    let ids: Vec<&str> = hits["hits"].as_array().unwrap().iter().map(|h| h["doc_id"].as_str().unwrap()).collect();
    assert_eq!(ids.first(), Some(&"jira:OPS-901"), "{hits:#}");
    assert!(!jira_keys(&ffo).contains("OPS-903"));

    // 50 MB in one issue's description, beside a small valid issue.
    let big_dir = tmp.path().join("big");
    std::fs::create_dir(&big_dir).unwrap();
    let mut big = read_json(&jira.join("issue-OPS-123.json"));
    big["key"] = json!("OPS-950");
    big["fields"]["description"] = json!("disk full ".repeat(5 * 1024 * 1024));
    write_json(&big_dir.join("huge.json"), &big);
    assert!(std::fs::metadata(big_dir.join("huge.json")).unwrap().len() > 50 * 1024 * 1024);
    std::fs::copy(jira.join("issue-OPS-123.json"), big_dir.join("small.json")).unwrap();
    let (code, report) = ingest(&ffo, &big_dir);
    assert_eq!(code, 3, "{report:#}");
    let skipped = strings(&report["skipped"]);
    assert_eq!(skipped.len(), 1, "{skipped:#?}");
    assert!(skipped[0].contains("OPS-950"), "{}", skipped[0]);
    assert!(skipped[0].contains("over the 16777216-byte limit for one document"), "{}", skipped[0]);
    assert!(skipped[0].contains("FFO_MAX_DOCUMENT_BYTES"), "{}", skipped[0]);
    assert_eq!(report["written"], 1);
    assert!(!jira_keys(&ffo).contains("OPS-950"));
    assert_eq!(doc(&ffo, "jira:OPS-123")["kind"], "ticket");
    assert_eq!(doc(&ffo, "jira:OPS-901")["kind"], "incident");

    // Export files over FFO_MAX_EXPORT_BYTES are not read; the smaller ones are.
    let small = Ffo::new().env("FFO_MAX_EXPORT_BYTES", "50000");
    let (code, report) = ingest(&small, &jira);
    assert_eq!(code, 3, "{report:#}");
    let skipped = strings(&report["skipped"]);
    assert_eq!(skipped.len(), 3, "incidents-v2.json, incidents-v3.json and incidents-cloud-v2.json: {skipped:#?}");
    assert!(skipped.iter().all(|s| s.contains("over the 50000-byte limit for an export file")), "{skipped:#?}");
    assert!(skipped.iter().all(|s| s.contains("FFO_MAX_EXPORT_BYTES")));
    assert_eq!(jira_keys(&small), ["OPS-123", "OPS-190", "OPS-196"].map(String::from).into());
}

mod live {
    //! A Jira-shaped HTTP server in the test process replaying fixture pages.

    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use axum::extract::{Query, State};
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use base64::Engine;
    use serde_json::{Value, json};

    use super::{Ffo, read_json, strings};

    pub struct Site {
        auth: String,
        v3_pages: Vec<Value>,
        v2_issues: Vec<Value>,
        pub seen: Mutex<Seen>,
    }

    #[derive(Default)]
    pub struct Seen {
        /// Query parameters of every authorised, answered request.
        pub queries: Vec<HashMap<String, String>>,
        pub throttled: usize,
        pub refused: usize,
    }

    impl Seen {
        pub fn jqls(&self) -> Vec<String> {
            self.queries.iter().map(|q| q.get("jql").cloned().unwrap_or_default()).collect()
        }
    }

    /// Starts the server on a free port; returns its base URL.
    pub async fn start(auth: String) -> (String, Arc<Site>) {
        let jira = crate::common::fixtures().join("jira");
        let site = Arc::new(Site {
            auth,
            v3_pages: vec![
                read_json(&jira.join("incidents-v3.json")),
                read_json(&jira.join("incidents-v3-page2.json")),
            ],
            v2_issues: read_json(&jira.join("incidents-v2.json"))["issues"].as_array().unwrap().clone(),
            seen: Mutex::new(Seen::default()),
        });
        let app = axum::Router::new()
            .route("/rest/api/3/search/jql", get(v3))
            .route("/rest/api/2/search", get(v2))
            .with_state(site.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}"), site)
    }

    /// 401 without the right credentials; 429 with `Retry-After: 1` for the
    /// first authorised request; otherwise records the query.
    fn gate(site: &Site, headers: &HeaderMap, q: &HashMap<String, String>) -> Option<Response> {
        let mut seen = site.seen.lock().unwrap();
        if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(site.auth.as_str()) {
            seen.refused += 1;
            return Some((StatusCode::UNAUTHORIZED, "{\"errorMessages\":[\"unauthorised\"]}").into_response());
        }
        if seen.throttled == 0 {
            seen.throttled += 1;
            return Some((StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "slow down").into_response());
        }
        seen.queries.push(q.clone());
        None
    }

    async fn v3(
        State(site): State<Arc<Site>>,
        headers: HeaderMap,
        Query(q): Query<HashMap<String, String>>,
    ) -> Response {
        if let Some(r) = gate(&site, &headers, &q) {
            return r;
        }
        match q.get("nextPageToken").map(String::as_str) {
            None => axum::Json(site.v3_pages[0].clone()).into_response(),
            Some("CAEaAggD") => axum::Json(site.v3_pages[1].clone()).into_response(),
            Some(_) => (StatusCode::BAD_REQUEST, "bad token").into_response(),
        }
    }

    async fn v2(
        State(site): State<Arc<Site>>,
        headers: HeaderMap,
        Query(q): Query<HashMap<String, String>>,
    ) -> Response {
        if let Some(r) = gate(&site, &headers, &q) {
            return r;
        }
        let num = |k: &str| q.get(k).and_then(|v| v.parse::<usize>().ok());
        let start = num("startAt").unwrap_or(0);
        let max = num("maxResults").unwrap_or(50);
        let issues: Vec<Value> = site.v2_issues.iter().skip(start).take(max).cloned().collect();
        let total = site.v2_issues.len();
        axum::Json(
            json!({"expand": "schema,names", "startAt": start, "maxResults": max, "total": total, "issues": issues}),
        )
        .into_response()
    }

    pub fn basic(user_token: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_token))
    }

    /// Runs `ffo ingest jira URL --json` off the test's runtime threads.
    pub async fn pull(ffo: &Ffo, url: &str) -> (i32, Value, String) {
        let mut cmd = tokio::process::Command::from(ffo.command());
        let out = cmd.args(["ingest", "jira", url, "--json"]).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (out.status.code().unwrap_or(-1), report, stderr)
    }

    pub fn notes(report: &Value) -> Vec<String> {
        strings(&report["notes"])
    }
}

/// REST v3 `/search/jql`: basic auth, a 429 waited out, two pages by
/// `nextPageToken`, then an incremental pull that asks `updated >=` the
/// newest update seen and writes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn live_pull_v3_pages_by_token_and_resumes_from_the_cursor() {
    let token = "ops-bot@larkspur.example:s3cret";
    let (base, site) = live::start(live::basic(token)).await;

    // Without a token: 401, a clear error, nothing written.
    let anonymous = Ffo::new();
    let (code, _, stderr) = live::pull(&anonymous, &base).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("401") && stderr.contains("FFO_JIRA_TOKEN"), "{stderr}");
    assert_eq!(site.seen.lock().unwrap().refused, 1);

    let ffo = Ffo::new().env("FFO_JIRA_TOKEN", token);
    let (code, report, stderr) = live::pull(&ffo, &base).await;
    assert_eq!(code, 0, "{report:#} {stderr}");
    assert_eq!(report["files"], 2, "two pages: {report:#}");
    assert_eq!(report["documents"], 8);
    assert_eq!(report["written"], 8);
    {
        let seen = site.seen.lock().unwrap();
        assert_eq!(seen.throttled, 1);
        assert_eq!(seen.queries.len(), 2);
        let first = &seen.queries[0];
        // Change issue types and change labels are pulled too (issue 8).
        assert_eq!(
            first["jql"],
            r#"issuetype in (Incident, Postmortem, Problem, Change, "Change Request", "[System] Change") OR labels in (change, change-window, maintenance, policy) ORDER BY updated ASC"#
        );
        assert_eq!(first["maxResults"], "100");
        assert_eq!(first["fields"], "*all");
        assert!(!first.contains_key("nextPageToken"));
        assert_eq!(seen.queries[1]["nextPageToken"], "CAEaAggD");
    }
    let t = doc_blocking(&ffo, "jira:OPS-189");
    assert_eq!(t["kind"], "incident");
    assert_eq!(t["url"], "https://larkspur.atlassian.net/browse/OPS-189");
    assert_eq!(doc_blocking(&ffo, "jira:OPS-196")["status"], "In Progress");

    let (code, report, stderr) = live::pull(&ffo, &format!("{base}/")).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report["written"], 0, "{report:#}");
    assert_eq!(report["unchanged"], 8);
    let jqls = site.seen.lock().unwrap().jqls();
    assert_eq!(jqls.len(), 4);
    assert_eq!(
        jqls[2],
        r#"(issuetype in (Incident, Postmortem, Problem, Change, "Change Request", "[System] Change") OR labels in (change, change-window, maintenance, policy)) AND updated >= "2026/11/19 16:20" ORDER BY updated ASC"#
    );
    assert_eq!(jqls[3], jqls[2]);
    assert!(live::notes(&report).iter().any(|n| n.contains("pulled 2 page(s)")), "{report:#}");
}

/// REST v2 `/search`: bearer auth, `startAt` paging over three pages of
/// four, and the cursor on the next pull.
#[tokio::test(flavor = "multi_thread")]
async fn live_pull_v2_pages_by_start_at_with_a_bearer_token() {
    let (base, site) = live::start("Bearer pat-123".to_string()).await;
    let built_in = std::fs::read_to_string(common::repo().join("ingest/jira.toml")).unwrap();
    let toml = built_in.replace("api = \"3\"", "api = \"2\"").replace("page_size = 100", "page_size = 4");
    assert_ne!(toml, built_in);
    let mappings = tempfile::tempdir().unwrap();
    std::fs::write(mappings.path().join("jira.toml"), toml).unwrap();
    let ffo = Ffo::new().env("FFO_JIRA_TOKEN", "pat-123").env("FFO_MAPPINGS", mappings.path().to_str().unwrap());

    let (code, report, stderr) = live::pull(&ffo, &base).await;
    assert_eq!(code, 0, "{report:#} {stderr}");
    assert_eq!(report["files"], 3, "{report:#}");
    assert_eq!(report["documents"], 10);
    assert_eq!(report["written"], 10);
    {
        let seen = site.seen.lock().unwrap();
        assert_eq!(seen.throttled, 1);
        let starts: Vec<&str> = seen.queries.iter().map(|q| q["startAt"].as_str()).collect();
        assert_eq!(starts, ["0", "4", "8"]);
        assert!(seen.queries.iter().all(|q| q["maxResults"] == "4"));
        assert!(!seen.queries[0]["jql"].contains("updated >="));
    }
    assert_eq!(doc_blocking(&ffo, "jira:OPS-156")["url"], "https://jira.larkspur.example/browse/OPS-156");

    let (code, report, _) = live::pull(&ffo, &base).await;
    assert_eq!(code, 0);
    assert_eq!(report["written"], 0, "{report:#}");
    let jqls = site.seen.lock().unwrap().jqls();
    assert_eq!(jqls.len(), 6);
    assert!(jqls[3].contains("AND updated >= \"2026/06/05 11:00\" ORDER BY updated ASC"), "{}", jqls[3]);
}

/// [`doc`] from an async test: the CLI call blocks, so it runs off the runtime.
fn doc_blocking(ffo: &Ffo, id: &str) -> Value {
    tokio::task::block_in_place(|| doc(ffo, id))
}
