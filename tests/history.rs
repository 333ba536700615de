//! Runbooks and postmortems in their real formats, entity linking, and
//! search, through the CLI and HTTP.

use std::fs;

use serde_json::Value;

mod common;
use common::Ffo;

/// The estate, then the Markdown history (runbooks, postmortems).
fn estate_with_markdown() -> Ffo {
    let ffo = Ffo::new();
    let f = common::fixtures();
    for (source, dir) in
        [("catalog", "catalog"), ("rdf", "rdf"), ("runbooks", "runbooks"), ("postmortems", "postmortems")]
    {
        ffo.ok(&["ingest", source, f.join(dir).to_str().unwrap()]);
    }
    ffo
}

fn doc(ffo: &Ffo, id: &str) -> Value {
    ffo.json(&["document", id, "--json"])["document"].clone()
}

fn fixture_id(source: &str, rel: &str) -> String {
    let abs = fs::canonicalize(common::fixtures().join(rel)).unwrap();
    format!("{source}:{}", abs.display())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

#[test]
fn runbooks_take_their_alert_from_front_matter_or_the_file_stem_and_keep_their_sections() {
    let ffo = estate_with_markdown();
    // Hugo front matter (title only) and shortcodes: alert is the title.
    let d = doc(&ffo, &fixture_id("runbooks", "runbooks/NodeFilesystemSpaceFillingUp.md"));
    assert_eq!(strings(&d["alerts"]), vec!["NodeFilesystemSpaceFillingUp"]);
    assert!(!d["body"].as_str().unwrap().contains("{{"), "shortcodes stripped");
    assert!(!d["meaning"].as_str().unwrap().is_empty() && !d["mitigation"].as_str().unwrap().is_empty(), "{d}");
    // YAML `alerts:` list and `services:` → affects.
    let d = doc(&ffo, &fixture_id("runbooks", "runbooks/checkout-api.md"));
    assert_eq!(strings(&d["alerts"]), vec!["HighHttpErrorRate", "HighRequestLatency"]);
    assert_eq!(strings(&d["affects"]), vec!["component:default/checkout-api"]);
    // TOML front matter.
    let d = doc(&ffo, &fixture_id("runbooks", "runbooks/redis-evictions.md"));
    assert!(strings(&d["alerts"]).contains(&"RedisEvictionsHigh".to_string()), "{d}");
    assert!(strings(&d["affects"]).contains(&"resource:default/redis-shared".to_string()));
    // No front matter: the file stem.
    let d = doc(&ffo, &fixture_id("runbooks", "runbooks/KafkaConsumerGroupLagHigh.md"));
    assert_eq!(strings(&d["alerts"]), vec!["KafkaConsumerGroupLagHigh"]);
    // One file, many alerts (kubernetes-mixin style).
    let mixin = fixture_id("runbooks", "runbooks/kubernetes-alerts.md");
    let d = doc(&ffo, &format!("{mixin}#KubePodCrashLooping"));
    assert_eq!(strings(&d["alerts"]), vec!["KubePodCrashLooping"]);
    assert!(!d["meaning"].as_str().unwrap().is_empty(), "the Message line: {d}");
}

#[test]
fn public_runbooks_and_postmortems_ingest_and_their_fields_are_extracted() {
    let ffo = Ffo::new();
    let formats = common::formats();
    let r = ffo.json(&["ingest", "runbooks", formats.join("runbooks").to_str().unwrap(), "--json"]);
    assert_eq!(r["skipped"], Value::Array(vec![]), "{r}");
    assert!(r["documents"].as_u64().unwrap() > 140, "one runbook per mixin alert too: {r}");
    let p = ffo.json(&["ingest", "postmortems", formats.join("postmortems").to_str().unwrap(), "--json"]);
    assert_eq!(p["skipped"], Value::Array(vec![]), "{p}");
    assert!(p["documents"].as_u64().unwrap() >= 45, "{p}");

    let rb = |rel: &str| {
        doc(&ffo, &format!("runbooks:{}", fs::canonicalize(formats.join("runbooks").join(rel)).unwrap().display()))
    };
    let d = rb("prometheus-operator/etcd/etcdNoLeader.md");
    assert_eq!(strings(&d["alerts"]), vec!["etcdNoLeader"]);
    assert!(
        d["impact"].as_str().is_some_and(|s| !s.is_empty()) || d["meaning"].as_str().is_some_and(|s| !s.is_empty())
    );
    assert!(!d["mitigation"].as_str().unwrap().is_empty(), "{d}");

    // DFDS postmortems: contributing factors are the root cause; action items listed.
    let pm_dir = formats.join("postmortems/dfds");
    let file = fs::read_dir(&pm_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().contains("PM2022-009"))
        .expect("the file without an extension");
    let d = doc(&ffo, &format!("postmortems:{}", fs::canonicalize(&file).unwrap().display()));
    assert_eq!(d["kind"], "postmortem");
    assert!(d["title"].as_str().unwrap().contains("AMI"), "{}", d["title"]);
    assert!(!d["root_cause"].as_str().unwrap().is_empty(), "{d}");
    assert!(!strings(&d["timeline"]).is_empty(), "{d}");
}

#[test]
fn postmortem_structure_is_never_invented() {
    let ffo = estate_with_markdown();
    // An SRE-style postmortem without a Trigger section.
    let d = doc(&ffo, &fixture_id("postmortems", "postmortems/2026-06-02-gateway-config-rollback.md"));
    assert_eq!(d["trigger"], "", "no trigger section, no trigger");
    assert!(!d["root_cause"].as_str().unwrap().is_empty());
    assert!(!d["resolution"].as_str().unwrap().is_empty());
    assert!(!strings(&d["action_items"]).is_empty());
    // DFDS style without Lessons Learned.
    let d = doc(
        &ffo,
        &fixture_id("postmortems", "postmortems/PM2026-005 - Marketing site 5xx after recommendation model rollout.md"),
    );
    assert_eq!(d["lessons"], "");
    assert!(!d["summary"].as_str().unwrap().is_empty());
}

#[test]
fn documents_affect_what_they_name_and_mention_what_their_text_says() {
    let ffo = estate_with_markdown();
    let d = doc(&ffo, &fixture_id("postmortems", "postmortems/2026-10-21-checkout-5xx-redis-evictions.md"));
    let affects = strings(&d["affects"]);
    assert!(affects.contains(&"component:default/checkout-api".to_string()), "{affects:?}");
    // The root cause names the cause.
    assert_eq!(strings(&d["cause_in"]), vec!["resource:default/redis-shared"], "{d}");
    // A DFDS postmortem names entities only in its text: mentions, by alias too.
    let d = doc(
        &ffo,
        &fixture_id("postmortems", "postmortems/PM2026-003 - db-pay-01 disk filled by WAL archive backlog.md"),
    );
    assert!(strings(&d["affects"]).is_empty());
    let mentions = strings(&d["mentions"]);
    assert!(mentions.contains(&"resource:default/db-pay-01".to_string()), "{mentions:?}");
    // Everyday words are not entities: the excluded "gateway" never links from prose.
    let d = doc(
        &ffo,
        &fixture_id("postmortems", "postmortems/PM2026-005 - Marketing site 5xx after recommendation model rollout.md"),
    );
    assert!(!strings(&d["mentions"]).iter().any(|m| m.ends_with("/gateway")), "{d}");
    // The links are triples in the document's graph, and go with it.
    let e = ffo.json(&["entity", "redis-shared", "--json"]);
    let docs: Vec<(String, String)> = e["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["relation"].as_str().unwrap().to_string(), d["document"]["doc_id"].as_str().unwrap().to_string()))
        .collect();
    assert!(docs.iter().any(|(r, id)| r == "causeIn" && id.contains("2026-10-21-checkout")), "{docs:?}");
}

#[test]
fn search_ranks_filters_and_highlights_and_never_fails_on_what_people_type() {
    let ffo = estate_with_markdown();
    let s = ffo.json(&["search", "redis evictions", "--json"]);
    let hits = s["hits"].as_array().unwrap();
    assert!(hits.len() >= 3);
    assert!(hits[0]["title"].as_str().unwrap().to_lowercase().contains("redis"), "title boosted: {}", hits[0]["title"]);
    assert!(hits[0]["snippet"].as_str().unwrap().contains("**"), "{}", hits[0]["snippet"]);
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // Stemming: "evicted" finds "evictions".
    let s = ffo.json(&["search", "evicted", "--kind", "postmortem", "--json"]);
    assert!(!s["hits"].as_array().unwrap().is_empty());
    // Filters: kind, entity (by alias), since/until.
    let s = ffo.json(&["search", "disk", "--entity", "db-pay-01.prod.internal", "--json"]);
    let hits = s["hits"].as_array().unwrap();
    assert!(!hits.is_empty());
    for h in hits {
        let linked: Vec<String> = strings(&h["affects"]).into_iter().chain(strings(&h["mentions"])).collect();
        assert!(linked.contains(&"resource:default/db-pay-01".to_string()), "{h}");
    }
    let s = ffo.json(&["search", "checkout", "--kind", "runbook", "--json"]);
    assert!(s["hits"].as_array().unwrap().iter().all(|h| h["kind"] == "runbook"));
    let s = ffo.json(&["search", "checkout", "--kind", "postmortem", "--since", "2026-06-01", "--json"]);
    for h in s["hits"].as_array().unwrap() {
        assert!(h["created"].as_str().unwrap() >= "2026-06-01", "{h}");
    }
    // What people type is words: none of this is syntax, none of it fails.
    for q in [
        "title:\"foo\" AND (bar OR",
        "+summary:(outage) -status:closed ~2 ^3 \\",
        "*",
        "",
        "'; DROP TABLE entries;--",
        "ünïcödé ✓ 日本",
        "((((((((((",
        "a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh ii jj",
    ] {
        let out = ffo.run(&["search", q, "--json"]);
        assert!(out.status.success(), "{q:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // Bad filters are clear errors.
    let out = ffo.run(&["search", "x", "--since", "last tuesday"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("YYYY-MM-DD"));
    let out = ffo.run(&["search", "x", "--kind", "novel"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown document kind"));
}

#[test]
fn search_over_http() {
    let ffo = estate_with_markdown();
    let server = ffo.serve();
    let (status, v) =
        common::get_json(&server.url(&format!("/v1/search?q={}&limit=3", common::urlencode("wal archive disk"))));
    assert_eq!(status, 200, "{v}");
    assert!(v["hits"].as_array().unwrap().len() <= 3);
    assert!(v["hits"][0]["title"].as_str().unwrap().contains("WAL"), "{v}");
    let (status, v) =
        common::get_json(&server.url(&format!("/v1/search?q={}", common::urlencode("title:\"x\" AND ("))));
    assert_eq!(status, 200, "{v}");
    let (status, v) = common::get_json(&server.url("/v1/search?q=x&limit=100000"));
    assert_eq!(status, 400);
    assert!(v["message"].as_str().unwrap().contains("limit"));
    let (status, _) = common::get_json(&server.url("/v1/documents/jira:NOPE-1"));
    assert_eq!(status, 404);
}

#[test]
fn a_removed_runbook_leaves_search_and_the_graph() {
    let ffo = Ffo::new();
    let dir = ffo.dir.path().join("rb");
    common::copy_tree(&common::fixtures().join("runbooks"), &dir);
    ffo.ok(&["ingest", "runbooks", dir.to_str().unwrap()]);
    let found = |ffo: &Ffo| {
        ffo.json(&["search", "consumer lag", "--kind", "runbook", "--json"])["hits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["doc_id"].as_str().unwrap().ends_with("/KafkaConsumerGroupLagHigh.md"))
    };
    assert!(found(&ffo));
    fs::remove_file(dir.join("KafkaConsumerGroupLagHigh.md")).unwrap();
    let r = ffo.json(&["ingest", "runbooks", dir.to_str().unwrap(), "--json"]);
    assert_eq!(r["deleted"], 1, "{r}");
    assert!(!found(&ffo));
    let again = ffo.json(&["ingest", "runbooks", dir.to_str().unwrap(), "--json"]);
    assert_eq!(again["written"], 0, "unchanged files write nothing: {again}");
}
