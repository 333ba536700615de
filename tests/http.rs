//! The HTTP face of the foundation: health, blast radius, entity, SPARQL.

mod common;
use common::{Ffo, get, get_json, request, urlencode};

fn served_estate() -> (Ffo, common::Server) {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "all", common::fixtures().to_str().unwrap()]);
    let server = ffo.serve();
    (ffo, server)
}

#[test]
fn health_blast_radius_and_entity_over_http() {
    let (_ffo, server) = served_estate();
    let (status, health) = get_json(&server.url("/healthz"));
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    assert!(health["entities"].as_u64().unwrap() >= 100, "{health}");
    assert_eq!(health["ledger_head"], health["applied"]);

    // Ids with ':' and '/' go in the path as they are.
    let (status, b) = get_json(&server.url("/v1/blast-radius/resource:default/redis-shared"));
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["target"]["id"], "resource:default/redis-shared");
    assert!(b["totals"]["dependents"].as_u64().unwrap() >= 10);
    assert!(
        b["dependents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == "component:default/checkout-api" && d["depth"] == 1)
    );
    let (_, b1) = get_json(&server.url("/v1/blast-radius/redis-shared?max_depth=1&limit=2"));
    assert_eq!(b1["totals"]["dependents"], 4);
    assert_eq!(b1["dependents"].as_array().unwrap().len(), 2);
    assert_eq!(b1["truncated"], true);

    let (status, e) = get_json(&server.url("/v1/entities/chk-api"));
    assert_eq!(status, 200);
    assert_eq!(e["entity"]["id"], "component:default/checkout-api");
    assert!(!e["sources"].as_array().unwrap().is_empty());
}

#[test]
fn errors_name_the_problem_with_the_right_status() {
    let (_ffo, server) = served_estate();
    let (status, e) = get_json(&server.url("/v1/blast-radius/search"));
    assert_eq!(status, 409);
    assert_eq!(e["code"], "ambiguous_entity");
    assert_eq!(e["candidates"].as_array().unwrap().len(), 2);
    let (status, e) = get_json(&server.url("/v1/entities/nonexistent-thing"));
    assert_eq!(status, 404);
    assert_eq!(e["code"], "unknown_entity");
    assert!(e["message"].as_str().unwrap().contains("nonexistent-thing"));
    let (status, e) = get_json(&server.url("/v1/blast-radius/redis-shared?max_depth=deep"));
    assert_eq!(status, 400, "{e}");
    assert!(e["message"].as_str().unwrap().contains("max_depth"), "{e}");
    let (status, e) = get_json(&server.url("/v1/blast-radius/redis-shared?bogus=1"));
    assert_eq!(status, 400, "{e}");
    // Hostile path segments are just names that match nothing.
    let (status, _) = get(&server.url("/v1/entities/%27%3B%20DROP%20TABLE%20entries%3B--")).unwrap();
    assert_eq!(status, 404);
}

#[test]
fn sparql_protocol_is_read_only() {
    let (_ffo, server) = served_estate();
    let q = "PREFIX ffo: <https://ffo.dev/ns#> SELECT ?n WHERE { ?e ffo:name ?n ; ffo:tier 0 } ORDER BY ?n";
    let (status, body) = get(&server.url(&format!("/sparql?query={}", urlencode(q)))).unwrap();
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> =
        v["results"]["bindings"].as_array().unwrap().iter().map(|b| b["n"]["value"].as_str().unwrap()).collect();
    assert!(names.contains(&"checkout-api"), "{names:?}");

    let (status, body) = request(
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/sparql-query"), ("Accept", "text/csv")],
        b"SELECT (COUNT(*) AS ?c) WHERE { ?s ?p ?o }",
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("c\r\n"), "{body}");

    let form = format!("query={}", urlencode("ASK { ?s ?p ?o }"));
    let (status, body) = request(
        "POST",
        &server.url("/sparql"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("true"), "{body}");

    // Updates are refused, however they arrive, and change nothing.
    let upd = "DELETE WHERE { ?s ?p ?o }";
    for (ct, body) in [
        ("application/sparql-update", upd.to_string()),
        ("application/x-www-form-urlencoded", format!("update={}", urlencode(upd))),
        ("application/sparql-query", upd.to_string()),
    ] {
        let (status, text) = request("POST", &server.url("/sparql"), &[("Content-Type", ct)], body.as_bytes()).unwrap();
        assert_eq!(status, 400, "{ct}: {text}");
        assert!(text.contains("read-only"), "{ct}: {text}");
    }
    let (status, text) = get(&server.url(&format!("/sparql?query={}", urlencode("SELEC nonsense {")))).unwrap();
    assert_eq!(status, 400);
    assert!(text.contains("syntax"), "{text}");
    let (_, health) = get_json(&server.url("/healthz"));
    assert!(health["entities"].as_u64().unwrap() >= 100, "still there: {health}");
}

#[test]
fn the_web_page_is_served_and_calls_the_api() {
    let (_ffo, server) = served_estate();
    let (status, html) = get(&server.url("/")).unwrap();
    assert_eq!(status, 200);
    assert!(html.contains("<title>FFO"), "{html}");
    assert!(html.contains("/v1/search?") && html.contains("/v1/context"), "the page uses the API");
}

#[test]
fn oversized_bodies_get_413() {
    let (_ffo, server) = served_estate();
    let big = vec![b'a'; 2 * 1024 * 1024];
    let (status, _) =
        request("POST", &server.url("/sparql"), &[("Content-Type", "application/sparql-query")], &big).unwrap();
    assert_eq!(status, 413);
}
