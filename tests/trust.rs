//! Trust: tokens carry scopes and a clearance; no answer on any face holds
//! an entity above the caller's clearance; reading never implies writing;
//! without tokens FFO serves loopback only; every call is audited.

use serde_json::json;

mod common;
use common::{Ffo, Server, request};

const CONFIG: &str = r#"
[[tokens]]
name = "reader"
token = "read-token"
scopes = ["read"]
clearance = "IL4"

[[tokens]]
name = "agent"
token = "agent-token"
scopes = ["read", "write"]
clearance = "IL4"

[[tokens]]
name = "root"
token_sha256 = "2cff60a244379d429c1877c36ee7f37da39ad06073d31b8d90fccd15376f2adf"
scopes = ["admin"]
clearance = "IL6"
"#;

fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let (status, body) = request("GET", &server.url(path), &headers, b"").unwrap();
    (status, serde_json::from_str(&body).unwrap_or(json!(body)))
}

fn post(server: &Server, path: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    let (status, text) = request("POST", &server.url(path), &headers, body.to_string().as_bytes()).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(json!(text)))
}

#[test]
fn tokens_scopes_and_clearance_on_every_face() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "all", common::fixtures().to_str().unwrap()]);
    let config = ffo.dir.path().join("ffo.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Server::start(&ffo, &["--config", config.to_str().unwrap()]);

    // No token, a wrong token: 401.
    assert_eq!(get(&server, "/v1/entities/checkout-api", None).0, 401);
    assert_eq!(get(&server, "/v1/entities/checkout-api", Some("nope")).0, 401);
    let (status, _) = request("POST", &server.url("/mcp"), &[("Content-Type", "application/json")], b"{}").unwrap();
    assert_eq!(status, 401, "MCP is behind the same tokens");
    assert_eq!(get(&server, "/healthz", None).0, 200, "health needs no token");

    // Clearance: IL5 and IL6 entities do not exist for an IL4 reader.
    assert_eq!(get(&server, "/v1/entities/checkout-api", Some("read-token")).0, 200);
    assert_eq!(get(&server, "/v1/entities/payments-db", Some("read-token")).0, 404, "IL5");
    assert_eq!(get(&server, "/v1/entities/key-service", Some("read-token")).0, 404, "IL6");
    assert_eq!(get(&server, "/v1/entities/key-service", Some("root-token")).0, 200);
    let (_, reader) = get(&server, "/v1/blast-radius/redis-shared", Some("read-token"));
    let (_, root) = get(&server, "/v1/blast-radius/redis-shared", Some("root-token"));
    let ids = |v: &serde_json::Value| {
        v["dependents"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert!(!ids(&reader).iter().any(|i| i.ends_with("/payments-service")), "{reader}");
    assert!(ids(&root).iter().any(|i| i.ends_with("/payments-service")));
    assert_eq!(reader["withheld"].as_u64().unwrap() as usize, ids(&root).len() - ids(&reader).len());
    // Totals still count what the reader may not see: a risk decision is
    // never fooled into "small".
    assert_eq!(reader["totals"], root["totals"], "{reader}");
    assert!(reader["totals"]["by_classification"]["IL5"].as_u64().unwrap() > 0, "{reader}");
    let (_, e) = get(&server, "/v1/entities/checkout-api", Some("read-token"));
    assert!(!e.to_string().contains("payments-db"), "an IL5 neighbour leaked into the entity answer");
    let (_, c) = post(&server, "/v1/context", "read-token", &json!({"entity": "checkout-api"}));
    assert!(!c.to_string().contains("resource:default/payments-db"), "an IL5 neighbour leaked into context");
    // A document is at least as sensitive as what it speaks of: the reader
    // finds documents, none about an IL5 entity.
    let (_, s) = get(&server, "/v1/search?q=payments&limit=50", Some("read-token"));
    let (_, all) = get(&server, "/v1/search?q=payments&limit=50", Some("root-token"));
    assert!(!s["hits"].as_array().unwrap().is_empty());
    assert!(s["hits"].as_array().unwrap().len() < all["hits"].as_array().unwrap().len(), "{s}");
    assert!(!s.to_string().contains("payments-db"), "{s}");
    // SPARQL can reach any statement: only the highest clearance may use it.
    let q = common::urlencode("SELECT * WHERE { ?s ?p ?o } LIMIT 1");
    assert_eq!(get(&server, &format!("/sparql?query={q}"), Some("read-token")).0, 403);
    assert_eq!(get(&server, &format!("/sparql?query={q}"), Some("root-token")).0, 200);

    // Reading never implies writing.
    let outcome = json!({"entity": "checkout-api", "action": "restart", "result": "success", "summary": "done"});
    let (status, e) = post(&server, "/v1/outcomes", "read-token", &outcome);
    assert_eq!(status, 403, "{e}");
    assert!(e["message"].as_str().unwrap().contains("write"), "{e}");
    let (status, w) = post(&server, "/v1/outcomes", "agent-token", &outcome);
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["performed_by"], "agent");
    let (status, _) = post(&server, "/v1/alerts", "read-token", &json!({"alerts": []}));
    assert_eq!(status, 403);
    server.stop();

    // Every call is audited: who, which tool, how it ended.
    let audit = ffo.json(&["audit", "--limit", "200", "--json"]);
    let rows = audit.as_array().unwrap();
    assert!(
        rows.iter().any(|r| r["caller"] == "reader" && r["tool"] == "write_outcome" && r["outcome"] == "forbidden"),
        "{audit}"
    );
    assert!(rows.iter().any(|r| r["caller"] == "agent"
        && r["tool"] == "write_outcome"
        && r["outcome"] == "ok"
        && r["face"] == "http"));
    assert!(
        rows.iter().any(|r| r["caller"] == "reader" && r["tool"] == "get_entity" && r["outcome"] == "hidden_entity"),
        "a lookup of a hidden entity is audited apart from a typo"
    );
}

#[test]
fn without_tokens_ffo_serves_loopback_only() {
    let ffo = Ffo::new();
    let port = common::free_port();
    let out = ffo.run(&["serve", "--listen", &format!("0.0.0.0:{port}")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loopback only") && err.contains("tokens"), "{err}");
}

/// A document is at least as sensitive as its source says (front matter, a
/// Jira security level, a Confluence space), and a level that is not
/// configured refuses the document instead of making it public.
#[test]
fn documents_take_the_level_their_source_gives() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    let dir = ffo.dir.path().join("runbooks");
    std::fs::create_dir_all(&dir).unwrap();
    let runbook = |level: &str| {
        format!(
            "---\ntitle: VaultSealed\nclassification: {level}\n---\n# Vault sealed\n\n## Mitigation\nUnseal with three key holders.\n"
        )
    };
    std::fs::write(dir.join("VaultSealed.md"), runbook("IL6")).unwrap();
    std::fs::write(dir.join("Plain.md"), "---\ntitle: Plain\n---\n# Plain\n\nNothing secret in the unseal steps.\n")
        .unwrap();
    ffo.ok(&["ingest", "runbooks", dir.to_str().unwrap()]);
    // A Jira issue restricted by a security level nobody mapped: the highest level.
    let jira = ffo.dir.path().join("jira.json");
    let issue = json!({"issues": [{"key": "SEC-1", "fields": {
        "summary": "unseal procedure drill", "issuetype": {"name": "Task"},
        "security": {"name": "Security team only"}, "created": "2026-11-01T10:00:00.000+0000",
        "updated": "2026-11-01T10:00:00.000+0000", "description": "We practised the unseal."}}]});
    std::fs::write(&jira, issue.to_string()).unwrap();
    ffo.ok(&["ingest", "jira", jira.to_str().unwrap()]);

    let config = ffo.dir.path().join("ffo.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Server::start(&ffo, &["--config", config.to_str().unwrap()]);
    let (_, reader) = get(&server, "/v1/search?q=unseal&limit=20", Some("read-token"));
    let (_, root) = get(&server, "/v1/search?q=unseal&limit=20", Some("root-token"));
    let ids = |v: &serde_json::Value| {
        v["hits"].as_array().unwrap().iter().map(|h| h["doc_id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&root).len(), 3, "{root}");
    assert_eq!(ids(&reader).len(), 1, "only the unclassified runbook: {reader}");
    assert!(ids(&reader)[0].ends_with("Plain.md"));
    let secret = ids(&root).into_iter().find(|i| i.ends_with("VaultSealed.md")).unwrap();
    let (status, _) = get(&server, &format!("/v1/documents/{secret}"), Some("read-token"));
    assert_eq!(status, 404);
    let (status, _) = get(&server, "/v1/documents/jira:SEC-1", Some("read-token"));
    assert_eq!(status, 404, "an unmapped security level is the highest level");
    let (status, d) = get(&server, "/v1/documents/jira:SEC-1", Some("root-token"));
    assert_eq!(status, 200);
    assert_eq!(d["document"]["classification"], "IL6", "{d}");
    server.stop();

    // A misspelt level refuses the file; what was stored of it stays.
    std::fs::write(dir.join("VaultSealed.md"), runbook("IL 6")).unwrap();
    let out = ffo.run(&["ingest", "runbooks", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(report.contains("IL 6") && report.contains("VaultSealed.md"), "{report}");
    let d = ffo.json(&["document", &secret, "--json"]);
    assert_eq!(d["document"]["classification"], "IL6", "the stored version stays as it was: {d}");
}

/// Renaming the levels in the configuration must not open every entity that
/// used the old names: FFO refuses to serve, naming what the data holds.
#[test]
fn levels_the_configuration_does_not_name_refuse_serving() {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    let config = ffo.dir.path().join("renamed.toml");
    std::fs::write(&config, "[classification]\nlevels = [\"public\", \"internal\", \"secret\"]\n").unwrap();
    let out = ffo.run(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", common::free_port()),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"IL6\"") && err.contains("public < internal < secret"), "{err}");
    let out = ffo
        .command()
        .args(["--config", config.to_str().unwrap(), "mcp"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "MCP over stdio refuses too");
    // A catalog entity with a misspelt level is not stored (exit 3, named).
    let dir = ffo.dir.path().join("cat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("x.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: vault\n  annotations:\n    ffo/classification: IL 7\nspec:\n  type: service\n  owner: x\n",
    )
    .unwrap();
    let out = ffo.run(&["ingest", "catalog", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!ffo.run(&["entity", "vault"]).status.success(), "an entity with an unknown level is not stored");
}
