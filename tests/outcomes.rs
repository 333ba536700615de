//! Write-back and alert history over HTTP and the CLI: durable, idempotent,
//! reviewed by people, visible at once, and nothing stored on bad input.

use serde_json::{Value, json};

mod common;
use common::{Ffo, get_json, post_json};

fn estate() -> Ffo {
    let ffo = Ffo::new();
    let out = ffo.run(&["ingest", "all", common::fixtures().to_str().unwrap()]);
    assert!(matches!(out.status.code(), Some(0) | Some(3)), "{}", String::from_utf8_lossy(&out.stderr));
    ffo
}

fn head(server: &common::Server) -> u64 {
    get_json(&server.url("/healthz")).1["ledger_head"].as_u64().unwrap()
}

fn outcome(key: &str) -> Value {
    json!({
        "entity": "chk-api",
        "action": "Restart the pods",
        "result": "success",
        "summary": format!("Rolling restart of checkout-api cleared the stuck connections ({key})"),
        "alert": "HighHttpErrorRate",
        "related": ["jira:OPS-189"],
        "postmortem": "## Root cause\nConnection pool to payments-db exhausted after a failover.\n\n## Action items\n- Add a pool saturation alert",
        "idempotency_key": key,
    })
}

#[test]
fn a_written_outcome_is_searchable_and_in_context_when_the_call_returns() {
    let ffo = estate();
    let server = ffo.serve();
    let (status, w) = post_json(&server.url("/v1/outcomes"), &outcome("k-1"));
    assert_eq!(status, 200, "{w}");
    let id = w["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("outcome:"));
    assert_eq!(w["entity"], "component:default/checkout-api");
    assert_eq!(w["authority"], "agent");
    // Read-your-writes: no waiting, no retry.
    let (_, s) = get_json(&server.url("/v1/search?q=stuck%20connections&kind=outcome"));
    assert_eq!(s["hits"][0]["doc_id"], id, "{s}");
    let (_, c) = post_json(&server.url("/v1/context"), &json!({"entity": "checkout-api", "action": "restart pod"}));
    let o = &c["outcomes"][0];
    assert_eq!(o["doc_id"], id, "{c}");
    assert_eq!(o["same_action"], true, "actions compare after normalisation");
    assert_eq!(o["authority"], "agent");
    assert_eq!(o["result"], "success");
    // The outcome's graph: who, what, the entity, the related incident.
    let (_, d) = get_json(&server.url(&format!("/v1/documents/{id}")));
    assert!(d["document"]["root_cause"].as_str().unwrap().contains("pool"), "{d}");
    assert_eq!(d["document"]["affects"], json!(["component:default/checkout-api"]));
    let ask = "PREFIX ffo: <https://ffo.dev/ns#> ASK { GRAPH ?g { ?o ffo:affects <https://ffo.dev/entity/component/default/checkout-api> ; ffo:result \"success\" ; ffo:performedBy \"local\" ; ffo:relatedTo <https://ffo.dev/doc/jira/OPS-189> } }";
    let (_, body) = common::get(&server.url(&format!("/sparql?query={}", common::urlencode(ask)))).unwrap();
    assert!(body.contains("true"), "{body}");
}

#[test]
fn the_same_key_returns_the_same_id_and_another_body_is_a_conflict() {
    let ffo = estate();
    let server = ffo.serve();
    let (_, first) = post_json(&server.url("/v1/outcomes"), &outcome("retry-me"));
    let before = head(&server);
    let (status, again) = post_json(&server.url("/v1/outcomes"), &outcome("retry-me"));
    assert_eq!(status, 200);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["replayed"], true);
    assert_eq!(head(&server), before, "nothing new stored");
    let mut other = outcome("retry-me");
    other["result"] = json!("failure");
    let (status, e) = post_json(&server.url("/v1/outcomes"), &other);
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["code"], "conflict");
    assert!(e["message"].as_str().unwrap().contains("retry-me"));
    assert_eq!(head(&server), before);
}

#[test]
fn people_confirm_or_retract_and_a_retracted_outcome_is_never_ranked() {
    let ffo = estate();
    let server = ffo.serve();
    let (_, a) = post_json(&server.url("/v1/outcomes"), &outcome("a"));
    let (_, b) = post_json(&server.url("/v1/outcomes"), &outcome("b"));
    let (status, c) = post_json(
        &server.url(&format!("/v1/outcomes/{}/confirm", a["id"].as_str().unwrap())),
        &json!({"note": "checked the dashboards"}),
    );
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["authority"], "confirmed");
    assert_eq!(c["reviewed_by"], "local");
    let (status, r) =
        post_json(&server.url(&format!("/v1/outcomes/{}/retract", b["id"].as_str().unwrap())), &json!({}));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["authority"], "retracted");
    let (_, ctx) = post_json(&server.url("/v1/context"), &json!({"entity": "checkout-api", "limit": 10}));
    let listed: Vec<&str> = ctx["outcomes"].as_array().unwrap().iter().map(|o| o["doc_id"].as_str().unwrap()).collect();
    assert_eq!(listed, vec![a["id"].as_str().unwrap()], "{ctx}");
    assert_eq!(ctx["outcomes"][0]["authority"], "confirmed");
    assert_eq!(ctx["retracted_outcomes"], 1);
    let (status, e) = post_json(&server.url("/v1/outcomes/outcome:nope/confirm"), &json!({}));
    assert_eq!(status, 404, "{e}");
}

#[test]
fn the_cli_writes_confirms_and_retracts() {
    let ffo = estate();
    let file = ffo.dir.path().join("outcome.json");
    std::fs::write(&file, outcome("cli-1").to_string()).unwrap();
    let w = ffo.json(&["write-outcome", "--file", file.to_str().unwrap(), "--json"]);
    let id = w["id"].as_str().unwrap();
    assert_eq!(ffo.json(&["write-outcome", "--file", file.to_str().unwrap(), "--json"])["id"], id);
    let r = ffo.json(&["outcome", "retract", id, "--note", "wrong entity", "--json"]);
    assert_eq!(r["authority"], "retracted");
    let c = ffo.json(&["context", "checkout-api", "--json"]);
    assert!(c["outcomes"].as_array().unwrap().is_empty());
    let text = ffo.ok(&["context", "checkout-api"]);
    assert!(text.contains("1 retracted outcome"), "{text}");
}

#[test]
fn bad_writes_are_named_and_store_nothing() {
    let ffo = estate().env("FFO_MAX_BODY_BYTES", "4096");
    let server = ffo.serve();
    let before = head(&server);
    let mut big = outcome("big");
    big["details"] = json!("x".repeat(5000));
    let (status, _) = post_json(&server.url("/v1/outcomes"), &big);
    assert_eq!(status, 413);
    let mut unknown = outcome("u");
    unknown["entity"] = json!("checkout-apj");
    let (status, e) = post_json(&server.url("/v1/outcomes"), &unknown);
    assert_eq!(status, 404, "{e}");
    assert!(e["candidates"].as_array().unwrap().iter().any(|c| c["id"] == "component:default/checkout-api"), "{e}");
    let mut bad = outcome("r");
    bad["result"] = json!("mostly-fine");
    let (status, e) = post_json(&server.url("/v1/outcomes"), &bad);
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("success, failure, partial, aborted"), "{e}");
    let (status, e) =
        post_json(&server.url("/v1/outcomes"), &json!({"entity": "checkout-api", "action": "x", "result": "success"}));
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("summary"), "{e}");
    let (status, e) = post_json(
        &server.url("/v1/outcomes"),
        &json!({"entity": "checkout-api", "action": "x", "result": "success", "summary": "s", "whatever": 1}),
    );
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap().contains("whatever"), "{e}");
    let (status, _) = post_json(&server.url("/v1/alerts"), &json!({"alerts": "nope"}));
    assert_eq!(status, 400);
    assert_eq!(head(&server), before, "nothing stored on any error");
}

#[test]
fn alert_webhooks_are_history_deduplicated_and_counted_in_context() {
    let ffo = Ffo::new();
    for (source, dir) in [("catalog", "catalog"), ("rdf", "rdf"), ("runbooks", "runbooks")] {
        ffo.ok(&["ingest", source, common::fixtures().join(dir).to_str().unwrap()]);
    }
    let server = ffo.serve();
    let payload = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(common::fixtures().join("alerts").join(name)).unwrap()).unwrap()
    };
    let (status, r) = post_json(&server.url("/v1/alerts"), &payload("am-firing-node-filesystem.json"));
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["received"], 2);
    assert_eq!(r["written"], 2);
    let entities: Vec<&str> = r["alerts"].as_array().unwrap().iter().map(|a| a["entity"].as_str().unwrap()).collect();
    assert_eq!(entities, vec!["resource:default/db-pay-01", "resource:default/db-core-02"]);
    // The same notification again (Alertmanager repeats): nothing new.
    let (_, again) = post_json(&server.url("/v1/alerts"), &payload("am-firing-node-filesystem.json"));
    assert_eq!(again["written"], 0);
    // Grafana's shape too.
    let (status, g) = post_json(&server.url("/v1/alerts"), &payload("grafana-redis-shared.json"));
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["alerts"][0]["entity"], "resource:default/redis-shared");
    // A resolution is a new version of the same firing.
    let mut resolved = payload("am-firing-node-filesystem.json");
    for a in resolved["alerts"].as_array_mut().unwrap() {
        a["status"] = json!("resolved");
        a["endsAt"] = json!("2026-11-21T12:00:00Z");
    }
    let (_, res) = post_json(&server.url("/v1/alerts"), &resolved);
    assert_eq!(res["written"], 2);
    assert_eq!(res["alerts"][0]["doc_id"], r["alerts"][0]["doc_id"]);
    // An alert naming nothing known is still history, and says why.
    let (_, u) = post_json(
        &server.url("/v1/alerts"),
        &json!({"alerts": [{"status": "firing", "labels": {"alertname": "Mystery", "instance": "ghost:1"}, "startsAt": "2026-11-20T10:00:00Z"}]}),
    );
    assert_eq!(u["written"], 1);
    assert!(u["alerts"][0]["unresolved"].as_str().unwrap().contains("tried"), "{u}");
    // The firing counts in context, and an outcome that names the alert follows it.
    let (_, w) = post_json(
        &server.url("/v1/outcomes"),
        &json!({"entity": "db-pay-01", "action": "clean up WAL archive", "result": "success", "summary": "freed 40 GB", "alert": "NodeFilesystemSpaceFillingUp"}),
    );
    let (_, c) = post_json(&server.url("/v1/context"), &json!({"alert": payload("am-firing-node-filesystem.json")}));
    let h = &c["alert_history"];
    assert_eq!(h["alert"], "NodeFilesystemSpaceFillingUp");
    assert_eq!(h["fired_last_90_days"], 1, "{h}");
    assert!(h["last_fired"].as_str().unwrap().starts_with("2026-"), "{h}");
    assert_eq!(h["followed_by"][0]["doc_id"], w["id"], "{h}");
}
