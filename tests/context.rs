//! context_for_action on the fixture estate: targeting from alerts, the
//! ranking the README documents, known causes, runbooks, as_of, and the
//! HTTP and CLI faces.

use serde_json::{Value, json};

mod common;
use common::Ffo;

fn history() -> Ffo {
    let ffo = Ffo::new();
    let f = common::fixtures();
    let out = ffo.run(&["ingest", "all", f.to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "{}", String::from_utf8_lossy(&out.stderr));
    ffo
}

fn alert(name: &str) -> String {
    common::fixtures().join("alerts").join(name).to_string_lossy().into_owned()
}

fn context(ffo: &Ffo, args: &[&str]) -> Value {
    let mut all = vec!["context"];
    all.extend_from_slice(args);
    all.push("--json");
    ffo.json(&all)
}

fn rank(c: &Value, needle: &str) -> Option<usize> {
    c["incidents"].as_array().unwrap().iter().position(|i| i["doc_id"].as_str().unwrap().contains(needle))
}

#[test]
fn ranking_puts_the_entity_s_own_incidents_first_neighbours_next_and_strangers_last() {
    let ffo = history();
    let c = context(&ffo, &["--alert", &alert("am-firing-checkout-api.json"), "--limit", "50"]);
    assert_eq!(c["target"]["id"], "component:default/checkout-api");
    let affects = ["jira:OPS-112", "jira:OPS-127", "jira:OPS-189"];
    let neighbour = rank(&c, "jira:OPS-131").expect("OPS-131 mentions payments-db, a dependency");
    for id in affects {
        let r = rank(&c, id).unwrap_or_else(|| panic!("{id} is missing: {c}"));
        assert!(r < neighbour, "{id} (affects checkout-api) at {r} must outrank OPS-131 at {neighbour}");
    }
    for stranger in ["jira:OPS-142", "PM2026-005"] {
        if let Some(r) = rank(&c, stranger) {
            assert!(r > neighbour, "{stranger} only shares words; at {r} it must rank below OPS-131 at {neighbour}");
        }
    }
    // Each item says why, with a date, a source and a URL where there is one.
    let first = &c["incidents"][0];
    assert!(
        first["why"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("affects component:default/checkout-api")),
        "{first}"
    );
    assert!(first["source"]["doc_id"].as_str().is_some());
    let ops131 = &c["incidents"][neighbour];
    assert!(ops131["why"][0].as_str().unwrap().contains("payments-db"), "{ops131}");
}

#[test]
fn the_known_cause_is_upstream_and_runbooks_come_specific_first() {
    let ffo = history();
    let c = context(&ffo, &["--alert", &alert("am-firing-checkout-api.json")]);
    let causes: Vec<&str> =
        c["known_causes"].as_array().unwrap().iter().map(|k| k["cause"]["id"].as_str().unwrap()).collect();
    assert_eq!(causes.first(), Some(&"resource:default/redis-shared"), "{causes:?}");
    let k = &c["known_causes"][0];
    assert!(k["relation"].as_str().unwrap().contains("depends on"), "{k}");
    assert!(k["evidence"].as_array().unwrap().len() >= 2, "{k}");
    let runbooks: Vec<&str> = c["runbooks"].as_array().unwrap().iter().map(|r| r["doc_id"].as_str().unwrap()).collect();
    let specific = runbooks.iter().position(|r| r.ends_with("/checkout-api.md")).expect("checkout-api runbook");
    let generic = runbooks.iter().position(|r| r.ends_with("/high-http-error-rate.md")).expect("generic runbook");
    assert!(specific < generic, "{runbooks:?}");
    assert!(c["runbooks"][0]["why"].as_str().unwrap().contains("HighHttpErrorRate"));
    // The freeze starting on 2026-11-23 (two days after the alert) is mentioned.
    assert!(c["change_windows"].as_array().unwrap().iter().any(|w| w["window"]["name"] == "peak-freeze-2026"), "{c}");
    // Every list is bounded by the limit; the text stays compact.
    let c = context(&ffo, &["checkout-api", "--limit", "2"]);
    for list in ["incidents", "runbooks", "known_causes", "outcomes"] {
        assert!(c[list].as_array().unwrap().len() <= 2, "{list}");
    }
    let text = ffo.ok(&["context", "--alert", &alert("am-firing-checkout-api.json")]);
    assert!(text.len() < 10_000, "the default rendering is {} bytes", text.len());
    assert!(text.contains("KNOWN CAUSE resource:default/redis-shared"), "{text}");
}

#[test]
fn alerts_resolve_through_their_labels() {
    let ffo = history();
    for (file, expect) in [
        ("am-firing-node-filesystem.json", "resource:default/db-pay-01"),
        ("am-firing-kube-crashloop.json", "component:default/identity-service"),
        ("am-firing-cert-expiry.json", "component:default/identity-service"),
        ("am-resolved-kafka-consumer-lag.json", "component:default/warehouse-consumer"),
        ("grafana-redis-shared.json", "resource:default/redis-shared"),
    ] {
        let c = context(&ffo, &["--alert", &alert(file)]);
        assert_eq!(c["target"]["id"], expect, "{file}: {}", c["target"]);
    }
    // The host alias with a port: the runbook for the alert comes first.
    let c = context(&ffo, &["--alert", &alert("am-firing-node-filesystem.json")]);
    assert!(c["target"]["resolved_via"].as_str().unwrap().contains("port stripped"));
    assert!(
        c["runbooks"][0]["alerts"].as_array().unwrap().iter().any(|a| a == "NodeFilesystemSpaceFillingUp"),
        "{}",
        c["runbooks"]
    );
    // Ambiguous: the candidates, each with why; unresolvable: what was tried.
    let dir = tempfile::tempdir().unwrap();
    let amb = dir.path().join("amb.json");
    std::fs::write(&amb, json!({"alertname": "X", "namespace": "search"}).to_string()).unwrap();
    let out = ffo.run(&["context", "--alert", amb.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("ambiguous") && err.contains("namespace=search"), "{err}");
    assert!(err.contains("system:default/search") && err.contains("component:default/search"), "{err}");
    let none = dir.path().join("none.json");
    std::fs::write(
        &none,
        json!({"labels": {"alertname": "X", "instance": "ghost-01:9100", "job": "node"}}).to_string(),
    )
    .unwrap();
    let out = ffo.run(&["context", "--alert", none.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("tried") && err.contains("instance=ghost-01 (port stripped)"),
        "{err}"
    );
}

#[test]
fn as_of_answers_as_the_ledger_stood() {
    let ffo = Ffo::new();
    let f = common::fixtures();
    for (source, dir) in [("catalog", "catalog"), ("rdf", "rdf"), ("postmortems", "postmortems")] {
        ffo.ok(&["ingest", source, f.join(dir).to_str().unwrap()]);
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before_jira = chrono::Utc::now().to_rfc3339();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = ffo.run(&["ingest", "jira", f.join("jira").to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0) | Some(3)));
    let now = context(&ffo, &["checkout-api", "--limit", "20"]);
    assert!(rank(&now, "jira:").is_some(), "Jira history is there now");
    let then = context(&ffo, &["checkout-api", "--limit", "20", "--as-of", &before_jira]);
    assert!(rank(&then, "jira:").is_none(), "as of before the Jira ingest there was none: {then}");
    assert!(rank(&then, "postmortems:").is_some(), "{then}");
    assert!(then["as_of"].as_str().is_some());
    let out = ffo.run(&["context", "checkout-api", "--as-of", "the day before"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("as_of"));
}

#[test]
fn context_over_http() {
    let ffo = history();
    let server = ffo.serve();
    let payload: Value =
        serde_json::from_str(&std::fs::read_to_string(alert("am-firing-node-filesystem.json")).unwrap()).unwrap();
    let (status, c) = common::post_json(
        &server.url("/v1/context"),
        &json!({"alert": payload, "action": "delete old WAL files", "limit": 3}),
    );
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["target"]["id"], "resource:default/db-pay-01");
    assert!(c["incidents"].as_array().unwrap().len() <= 3);
    assert_eq!(c["action"], "delete old WAL files");
    let (status, e) =
        common::post_json(&server.url("/v1/context"), &json!({"entity": "checkout-api", "colour": "red"}));
    assert_eq!(status, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("colour"), "{e}");
    let (status, e) = common::post_json(&server.url("/v1/context"), &json!({}));
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("entity"), "{e}");
    let (status, e) = common::post_json(&server.url("/v1/context"), &json!({"entity": "checkout-api", "limit": 0}));
    assert_eq!(status, 400, "{e}");
}

/// A text match is explained with the query's own (analysed) words, and
/// every item says how old it is.
#[test]
fn text_matches_are_explained_with_the_alert_s_words() {
    let ffo = history();
    let c = context(&ffo, &["--alert", &alert("am-firing-checkout-api.json"), "--action", "roll back the deploy"]);
    let incidents = c["incidents"].as_array().unwrap();
    let whys: Vec<&str> =
        incidents.iter().flat_map(|i| i["why"].as_array().unwrap()).filter_map(Value::as_str).collect();
    let explained: Vec<&str> = whys.iter().filter_map(|w| w.strip_prefix("text matches ")).collect();
    assert!(!explained.is_empty(), "no item explains a text match: {whys:?}");
    // Every word named (a stem) comes from the alert (name, summary,
    // description) or the action.
    let file: Value = serde_json::from_slice(&std::fs::read(alert("am-firing-checkout-api.json")).unwrap()).unwrap();
    let a = &file["alerts"][0];
    let asked = format!(
        "{} high http error rate {} {} roll back the deploy",
        a["labels"]["alertname"].as_str().unwrap(),
        a["annotations"]["summary"].as_str().unwrap(),
        a["annotations"]["description"].as_str().unwrap()
    )
    .to_lowercase();
    let asked: Vec<&str> = asked.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    for words in explained {
        for w in words.split(", ") {
            assert!(asked.iter().any(|a| a.starts_with(w)), "{w:?} was not asked for: {asked:?}");
        }
    }
    for i in incidents {
        assert!(i["why"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().ends_with(" days before")), "{i}");
    }
}
