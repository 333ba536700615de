//! Two `ffo serve` replicas on one PostgreSQL ledger, each with its own data
//! directory for its projections: a write on one is visible on the other.

use std::time::{Duration, Instant};

use serde_json::json;

mod common;
use common::{Ffo, PgDb, get_json, post_json};

/// Polls until the document at `url` is served with its searchable form
/// (the index is the last projection a write reaches), returning how long
/// it took.
fn visible(url: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if let Ok((200, body)) = common::get(url)
            && body.contains("\"document\"")
        {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{url} not visible after {within:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_write_on_one_replica_is_visible_on_the_other() {
    let db = PgDb::create();
    let a = Ffo::new().env("FFO_LEDGER_URL", &db.url);
    let b = Ffo::new().env("FFO_LEDGER_URL", &db.url);
    // The estate goes into the shared ledger once, through replica A's CLI.
    a.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    a.ok(&["ingest", "rdf", common::fixtures().join("rdf").to_str().unwrap()]);
    let (ra, rb) = (a.serve(), b.serve());
    // B built its own projections from the shared ledger.
    let (status, e) = get_json(&rb.url("/v1/entities/checkout-api"));
    assert_eq!(status, 200, "{e}");
    let (_, ha) = get_json(&ra.url("/healthz"));
    assert_eq!(ha["shared_ledger"], true);

    let mut lags = Vec::new();
    for (i, (writer, reader)) in [(&ra, &rb), (&rb, &ra), (&ra, &rb)].into_iter().enumerate() {
        let (status, w) = post_json(
            &writer.url("/v1/outcomes"),
            &json!({"entity": "redis-shared", "action": "raise maxmemory", "result": "success", "summary": format!("replica write {i}")}),
        );
        assert_eq!(status, 200, "{w}");
        let id = w["id"].as_str().unwrap();
        lags.push(visible(&reader.url(&format!("/v1/documents/{id}")), Duration::from_secs(20)));
        // And in the other replica's context for the entity.
        let (_, c) = post_json(&reader.url("/v1/context"), &json!({"entity": "redis-shared", "limit": 10}));
        assert!(c["outcomes"].as_array().unwrap().iter().any(|o| o["doc_id"] == id), "{c}");
    }
    eprintln!("shared ledger: write on one replica visible on the other after {lags:?}");

    // Alerts posted to one replica count on the other.
    let payload: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixtures().join("alerts/am-firing-node-filesystem.json")).unwrap(),
    )
    .unwrap();
    let (_, r) = post_json(&ra.url("/v1/alerts"), &payload);
    let doc = r["alerts"][0]["doc_id"].as_str().unwrap();
    visible(&rb.url(&format!("/v1/documents/{doc}")), Duration::from_secs(20));
}
