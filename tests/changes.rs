//! Change events through the faces: every public sample format lands as a
//! change with its type, status and times (and its quirks); the well-known
//! catalog annotations map changes to entities; an event naming no known
//! entity is kept, reported, and linked again after a catalog import; a
//! batch with a malformed item, an oversized body and an unknown format over
//! HTTP; Jira change issues and change-like tasks; Confluence change pages;
//! `ffo search --kind change`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

mod common;
use common::{Ffo, Server, request};

fn samples() -> PathBuf {
    common::formats().join("changes")
}

fn sample(rel: &str) -> String {
    samples().join(rel).to_string_lossy().into_owned()
}

/// `ffo ingest changes PATH --json`: the exit code and the answer.
fn ingest_changes(ffo: &Ffo, path: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["ingest", "changes", path, "--json"];
    args.extend_from_slice(extra);
    let out = ffo.run(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn doc(ffo: &Ffo, id: &str) -> Value {
    ffo.json(&["document", id, "--json"])["document"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

fn stored<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["stored"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["doc_id"] == id)
        .unwrap_or_else(|| panic!("{id} not stored: {answer:#}"))
}

fn estate() -> Ffo {
    let ffo = Ffo::new();
    ffo.ok(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap()]);
    ffo.ok(&["ingest", "rdf", common::fixtures().join("rdf").to_str().unwrap()]);
    ffo
}

#[test]
fn every_public_sample_lands_as_a_change_with_its_type_status_and_times() {
    let ffo = Ffo::new();

    // CDEvents, three spec versions: context.version 0.2.0 with subject.type,
    // 0.5.0-draft, specversion 0.5.0; draft 0.6 deployment.* and changewindow.*.
    let (code, a) = ingest_changes(&ffo, &sample("cdevents/conformance_service_deployed.spec-0.5.0.json"), &[]);
    assert_eq!(code, 0, "{a:#}");
    let d = stored(&a, "changes:cdevents/service.deployed/271069a8-fc18-44f1-b38f-9d70a1695819");
    assert_eq!((d["change_type"].as_str(), d["status"].as_str()), (Some("deploy"), Some("done")));
    assert_eq!(d["start"], "2023-03-20T14:27:05Z");
    assert_eq!(d["unresolved"], json!(["mySubject123", "myapp"]), "names it tried, none known");
    let (_, a) = ingest_changes(&ffo, &sample("cdevents/examples_service_deployed.spec-0.2.0.json"), &[]);
    assert_eq!(a["stored"][0]["doc_id"], "changes:cdevents/service.deployed/271069a8-fc18-44f1-b38f-9d70a1695819");
    let (_, a) = ingest_changes(&ffo, &sample("cdevents/conformance_service_rolledback.spec-0.5.0-draft.json"), &[]);
    assert_eq!(a["stored"][0]["status"], "rolled_back");
    let (_, a) = ingest_changes(&ffo, &sample("cdevents/conformance_deployment_finished.spec-0.6.0-draft.json"), &[]);
    assert_eq!(
        (a["stored"][0]["change_type"].as_str(), a["stored"][0]["status"].as_str()),
        (Some("deploy"), Some("done"))
    );
    let (_, a) = ingest_changes(&ffo, &sample("cdevents/conformance_changewindow_opened.spec-0.6.0-draft.json"), &[]);
    let w = &a["stored"][0];
    assert_eq!((w["change_type"].as_str(), w["status"].as_str()), (Some("policy"), Some("in_progress")), "{a:#}");
    assert_eq!((w["start"].as_str(), w["end"].as_str()), (Some("2026-12-20T00:00:00Z"), Some("2027-01-02T00:00:00Z")));
    let (code, a) = ingest_changes(&ffo, &sample("cdevents/conformance_incident_detected.spec-0.5.0-draft.json"), &[]);
    assert_eq!((code, a["stored"].as_array().unwrap().len()), (0, 0), "an incident is not a change: {a:#}");
    assert!(a["ignored"][0]["reason"].as_str().unwrap().contains("incident.detected"));

    // GitHub: the deployment, then its status: one change, now done. The
    // status sent again before the deployment does not make it planned again.
    let deployment = sample("github/octokit-webhooks_deployment_created.payload.json");
    let status = sample("github/octokit-webhooks_deployment_status_created.payload.json");
    let id = "changes:github/codertocat/hello-world/deployments/145988746";
    let (_, a) = ingest_changes(&ffo, &deployment, &[]);
    assert_eq!(stored(&a, id)["status"], "planned");
    let (_, a) = ingest_changes(&ffo, &status, &[]);
    assert_eq!(
        (stored(&a, id)["status"].as_str(), stored(&a, id)["end"].as_str()),
        (Some("done"), Some("2019-05-15T15:20:55Z"))
    );
    let (_, a) = ingest_changes(&ffo, &deployment, &[]);
    assert!(a["stored"].as_array().unwrap().is_empty(), "{a:#}");
    assert!(a["ignored"][0]["reason"].as_str().unwrap().contains("newer version"), "{a:#}");
    let d = doc(&ffo, id);
    assert_eq!(d["change"]["status"], "done");
    assert_eq!(d["change"]["revision"], "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
    assert_eq!(d["change"]["environment"], "production");
    let (_, a) = ingest_changes(&ffo, &sample("github/github-docs_rest_list-deployments_response.json"), &[]);
    let d = stored(&a, "changes:github/octocat/example/deployments/1");
    assert_eq!(
        d["unresolved"][0], "github.com/project-slug=octocat/example",
        "the repository comes from repository_url"
    );

    // Argo CD: ten history entries (ids 14..23, one revision); the last
    // operation says who synced the last one and what it touched.
    let (_, a) = ingest_changes(&ffo, &sample("argocd/argo-cd_controller-testdata_diff-cache.application.yaml"), &[]);
    let list = a["stored"].as_array().unwrap();
    assert_eq!(list.len(), 10, "{a:#}");
    assert!(list.iter().all(|s| s["change_type"] == "deploy" && s["status"] == "done"));
    let last = doc(&ffo, "changes:argocd/argo-cd/velero-test/2024-03-05T07:33:03Z");
    assert_eq!(last["change"]["by"], "foo@example.com");
    assert_eq!(last["change"]["end"], "2024-03-05T07:33:04Z");
    assert!(last["body"].as_str().unwrap().contains("deployment.apps/test-lla serverside-applied"), "{last:#}");
    let (_, a) = ingest_changes(
        &ffo,
        &sample("argocd/argo-cd_docs_notifications-webhook_github-commit-status.template.yaml"),
        &[],
    );
    assert!(
        a["stored"].as_array().unwrap().is_empty() && a["ignored"][0]["reason"].as_str().unwrap().contains("ConfigMap")
    );

    // Kubernetes: a Deployment's rollout revision from a file with CRLF line
    // endings, and a core/v1 ScalingReplicaSet event.
    let crlf = std::fs::read(sample("kubernetes/argo-cd_controller-testdata_live-deployment.yaml")).unwrap();
    assert!(crlf.windows(2).any(|w| w == b"\r\n"), "the sample keeps its CRLF endings");
    let (_, a) = ingest_changes(&ffo, &sample("kubernetes/argo-cd_controller-testdata_live-deployment.yaml"), &[]);
    let d = stored(&a, "changes:kubernetes/default/deployment/kustomize-guestbook-ui/revision/9");
    assert_eq!((d["start"].as_str(), d["end"].as_str()), (Some("2022-01-05T22:20:37Z"), Some("2022-01-05T22:43:47Z")));
    assert_eq!(
        doc(&ffo, "changes:kubernetes/default/deployment/kustomize-guestbook-ui/revision/9")["change"]["by"],
        "argocd"
    );
    let (_, a) =
        ingest_changes(&ffo, &sample("kubernetes/eks-workshop-v2_kubectl-get-events-json_last-item.json"), &[]);
    let d = stored(&a, "changes:kubernetes/events/e56aa6b2-9808-45a8-8863-ec9112f23822");
    assert_eq!((d["change_type"].as_str(), d["start"].as_str()), (Some("scaling"), Some("2023-10-19T21:49:44Z")));

    // PagerDuty: no id on the wire, a digest instead; `time` beside `timestamp`.
    let (_, a) = ingest_changes(&ffo, &sample("pagerduty/go-pagerduty_change-event_request-body.json"), &[]);
    let d = &a["stored"][0];
    assert!(d["doc_id"].as_str().unwrap().starts_with("changes:pagerduty/"), "{a:#}");
    assert_eq!(d["start"], "2020-10-09T22:53:40Z", "the offset -04:00 is converted");
    let (_, again) = ingest_changes(&ffo, &sample("pagerduty/go-pagerduty_change-event_request-body.json"), &[]);
    assert_eq!((again["stored"][0]["doc_id"].clone(), again["unchanged"].as_u64()), (d["doc_id"].clone(), Some(1)));

    // Datadog: a feature flag change.
    let (_, a) = ingest_changes(
        &ffo,
        &sample("datadog/datadog-api-client-typescript_events-v2_change-event_request-body.json"),
        &[],
    );
    assert_eq!(a["stored"][0]["change_type"], "feature_flag");
    assert_eq!(a["stored"][0]["unresolved"], json!(["fallback_payments_test", "payments_api"]));

    // Forced format: a GitHub deployment read as FFO's form is malformed.
    let (code, a) = ingest_changes(&ffo, &deployment, &["--format", "ffo"]);
    assert_eq!(code, 3, "{a:#}");
    assert!(a["rejected"][0]["reason"].as_str().unwrap().contains("unknown field"), "{a:#}");
    // The whole folder: each file recognised, the editmeta extract named as unknown.
    let (code, a) = ingest_changes(&ffo, &samples().to_string_lossy(), &[]);
    assert_eq!(code, 3, "the editmeta extract is in no change format");
    assert!(a["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("editmeta")), "{a:#}");
    let hits = ffo.json(&["search", "velero", "--kind", "change", "--json"]);
    assert!(!hits["hits"].as_array().unwrap().is_empty(), "{hits:#}");
}

#[test]
fn the_well_known_annotations_map_changes_to_entities() {
    let ffo = estate();
    let (code, a) = ingest_changes(&ffo, &common::fixtures().join("changes").to_string_lossy(), &[]);
    assert_eq!(code, 0, "{a:#}");
    let affects = |id: &str| strings(&stored(&a, id)["affects"]);
    // github.com/project-slug: larkspur/api-gateway is the gateway.
    assert_eq!(affects("changes:github/larkspur/api-gateway/deployments/880412"), ["component:default/gateway"]);
    // argocd/app-name: pricing-prod-eu1.
    assert_eq!(
        affects("changes:argocd/argocd/pricing-prod-eu1/2026-11-20T14:31:05Z"),
        ["component:default/pricing-service"]
    );
    // backstage.io/kubernetes-label-selector against the Deployment's labels.
    assert_eq!(
        affects("changes:kubernetes/search/deployment/catalog-api/revision/31"),
        ["component:default/catalog-service"]
    );
    // backstage.io/kubernetes-id: stock-api, for the HPA's and the Deployment's events.
    assert_eq!(
        affects("changes:kubernetes/events/5a1c9e7d-3b2f-4d6a-8e0c-9f1a2b3c4d5e"),
        ["component:default/inventory-service"]
    );
    // pagerduty.com/integration-key: the routing key.
    let pd = a["stored"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["doc_id"].as_str().unwrap().starts_with("changes:pagerduty/"))
        .unwrap();
    assert_eq!(strings(&pd["affects"]), ["resource:default/edge-lb"]);
    assert_eq!(pd["change_type"], "secret");
    // Names and aliases: the CDEvent's subject is fraud-service's alias.
    assert_eq!(
        affects("changes:cdevents/service.deployed/3f6d2a9c-1e4b-4c7a-9d2e-8b5f0a1c3e7d"),
        ["component:default/fraud-service"]
    );
    // FFO's own form, a nightly job with its schedule.
    let job = doc(&ffo, "changes:ffo/PAY-OPS-231");
    assert_eq!(job["change"]["change_type"], "job");
    assert_eq!(job["change"]["schedule"]["every"], "day");
    assert_eq!(
        (job["change"]["schedule"]["hour"].as_u64(), job["change"]["schedule"]["minute"].as_u64()),
        (Some(4), Some(30))
    );
    assert_eq!(job["change"]["start"], "2026-11-19T04:30:00Z");
    // The catalog keeps the annotations as ffo:externalRef.
    let refs = ffo.ok(&[
        "sparql",
        "PREFIX ffo: <https://ffo.dev/ns#> SELECT ?r WHERE { ?e ffo:name \"pricing-service\" ; ffo:externalRef ?r }",
        "--format",
        "tsv",
    ]);
    assert!(refs.contains("argocd/app-name=pricing-prod-eu1"), "{refs}");
    // `ffo search --kind change` finds them by their words.
    let hits = ffo.json(&["search", "maxmemory eviction policy", "--kind", "change", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "changes:ffo/PLAT-CHG-1187", "{hits:#}");
    assert!(hits["hits"].as_array().unwrap().iter().all(|h| h["kind"] == "change"));
    let hits = ffo.json(&["search", "partitions", "--kind", "change", "--entity", "orders-topic", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "changes:ffo/PLAT-CHG-1183", "{hits:#}");
}

#[test]
fn a_change_naming_no_known_entity_is_kept_reported_and_linked_after_a_catalog_import() {
    let ffo = Ffo::new();
    let (code, a) = ingest_changes(&ffo, &common::fixtures().join("changes").to_string_lossy(), &[]);
    assert_eq!(code, 0, "kept, not skipped: {a:#}");
    let id = "changes:github/larkspur/api-gateway/deployments/880412";
    let before = stored(&a, id);
    assert!(before["affects"].as_array().unwrap().is_empty());
    assert_eq!(strings(&before["unresolved"]), ["github.com/project-slug=larkspur/api-gateway", "api-gateway"]);
    assert!(a["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains(id)), "reported: {a:#}");
    assert!(doc(&ffo, id)["affects"].as_array().unwrap().is_empty());

    // The catalog import makes the names known: the stored changes are linked again.
    let report = ffo.json(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap(), "--json"]);
    assert!(report["relinked"].as_u64().unwrap() >= 10, "{report:#}");
    assert!(report["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains(id)), "{report:#}");
    assert_eq!(strings(&doc(&ffo, id)["affects"]), ["component:default/gateway"]);
    assert_eq!(strings(&doc(&ffo, "changes:ffo/PLAT-CHG-1187")["affects"]), ["resource:default/redis-shared"]);
    let e = ffo.json(&["entity", "gateway", "--json"]);
    assert!(e.to_string().contains(id), "the gateway lists the change among its documents: {e:#}");
    // Nothing left to link: the next import links nothing again.
    let report = ffo.json(&["ingest", "catalog", common::fixtures().join("catalog").to_str().unwrap(), "--json"]);
    assert_eq!(report["relinked"], 0, "{report:#}");
    let check = ffo.json(&["check", "--json"]);
    assert_eq!(check["consistent"], true, "{check:#}");
}

fn post(server: &Server, path: &str, body: &[u8], content_type: &str) -> (u16, Value) {
    let (status, text) = request("POST", &server.url(path), &[("Content-Type", content_type)], body).unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[test]
fn post_v1_changes_stores_the_valid_items_and_refuses_bad_bodies() {
    let ffo = estate().env("FFO_MAX_BODY_BYTES", "65536");
    let server = ffo.serve();

    // A batch in FFO's own form with one malformed item: its index and why.
    let batch = json!([
        {"id": "CHG-1", "title": "Raise payments-db max_connections to 400", "type": "config", "entities": ["pg-payments"],
         "start": "2026-11-18T10:00:00Z", "status": "done"},
        {"id": "CHG-2", "title": "Bad", "type": "explosion"},
        {"id": "CHG-3", "title": "Nightly vacuum of orders-db", "entities": ["orders-db"], "schedule": "30 3 * * *",
         "start": "2026-11-16T03:30:00Z"}
    ]);
    let (status, a) = post(&server, "/v1/changes", batch.to_string().as_bytes(), "application/json");
    assert_eq!(status, 200, "{a:#}");
    assert_eq!(a["written"], 2);
    assert_eq!(
        a["rejected"],
        json!([{"index": 1, "reason": "ffo: unknown change type \"explosion\"; expected one of deploy, config, schema, infrastructure, scaling, secret, feature_flag, policy, job, other"}])
    );
    assert_eq!(strings(&stored(&a, "changes:ffo/CHG-1")["affects"]), ["resource:default/payments-db"], "by alias");
    let job = stored(&a, "changes:ffo/CHG-3");
    assert_eq!((job["change_type"].as_str(), job["schedule"].as_str()), (Some("job"), Some("30 3 * * *")));
    // Searchable when the call returns.
    let (_, hits) = common::get_json(&server.url("/v1/search?q=max_connections&kind=change"));
    assert_eq!(hits["hits"][0]["doc_id"], "changes:ffo/CHG-1", "{hits:#}");

    // JSON Lines with a line that is not JSON; a real format in the same body.
    let github =
        std::fs::read_to_string(sample("github/octokit-webhooks_deployment_status_created.payload.json")).unwrap();
    let github: Value = serde_json::from_str(&github).unwrap();
    let lines = format!(
        "{}\n{{\"title\": \n{}\n",
        json!({"title": "Rotate the edge certificate", "entities": ["edge-lb"], "start": "2026-11-19T16:00:00Z"}),
        github
    );
    let (status, a) = post(&server, "/v1/changes", lines.as_bytes(), "application/x-ndjson");
    assert_eq!(status, 200, "{a:#}");
    assert_eq!(a["stored"].as_array().unwrap().len(), 2, "{a:#}");
    assert_eq!(a["rejected"][0]["index"], 1);
    assert!(a["rejected"][0]["reason"].as_str().unwrap().contains("line 2"), "{a:#}");
    assert_eq!(stored(&a, "changes:github/codertocat/hello-world/deployments/145988746")["status"], "done");
    let cert = a["stored"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["doc_id"].as_str().unwrap().starts_with("changes:ffo/"))
        .unwrap();
    assert_eq!(cert["change_type"], "secret");

    // A YAML body (an Argo CD Application), format given.
    let app = std::fs::read(sample("argocd/argo-cd_controller-testdata_diff-cache.application.yaml")).unwrap();
    let (status, a) = post(&server, "/v1/changes?format=argocd", &app, "application/yaml");
    assert_eq!((status, a["stored"].as_array().map(Vec::len)), (200, Some(10)), "{a:#}");

    // An unknown format: 400, naming the formats accepted.
    let (status, e) = post(&server, "/v1/changes", b"hello, this is not an event", "text/plain");
    assert_eq!(status, 400, "{e:#}");
    let message = e["message"].as_str().unwrap();
    for format in ["cdevents", "github", "argocd", "kubernetes", "pagerduty", "datadog", "ffo"] {
        assert!(message.contains(format), "{format} in {message}");
    }
    let (status, e) = post(&server, "/v1/changes", br#"{"hello": "world"}"#, "application/json");
    assert_eq!(status, 400, "{e:#}");
    assert!(e["message"].as_str().unwrap().contains("top-level keys: hello"), "{e:#}");
    let (status, e) = post(&server, "/v1/changes?format=nosuch", br#"{"title": "x"}"#, "application/json");
    assert!(status == 400 && e["message"].as_str().unwrap().contains("unknown change format"), "{e:#}");
    // Every item malformed: nothing stored, 400 with each index and reason.
    let (status, e) = post(&server, "/v1/changes", br#"[{"title": ""}, {"titel": "x"}]"#, "application/json");
    assert_eq!(status, 400, "{e:#}");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("item 0: ffo: `title` is missing or empty"), "{message}");
    assert!(
        message.contains("item 1: not a change event in any format FFO reads (top-level keys: titel)"),
        "{message}"
    );

    // Over the body limit: 413, and nothing of it stored.
    let big = json!([{"title": "x".repeat(70_000)}]);
    let (status, _) = post(&server, "/v1/changes", big.to_string().as_bytes(), "application/json");
    assert_eq!(status, 413);

    // Every write is audited.
    server.stop();
    let audit = ffo.json(&["audit", "--json", "--limit", "20"]);
    let calls: Vec<&Value> = audit.as_array().unwrap().iter().filter(|r| r["tool"] == "ingest_changes").collect();
    assert!(calls.len() >= 6, "{audit:#}");
    assert!(calls.iter().any(|r| r["outcome"] == "bad_request"), "{audit:#}");
}

#[test]
fn a_reader_token_cannot_post_changes_and_a_writer_sees_only_what_it_is_cleared_for() {
    let ffo = estate();
    let config = ffo.dir.path().join("ffo.toml");
    std::fs::write(
        &config,
        "[[tokens]]\nname = \"reader\"\ntoken = \"read-token\"\nscopes = [\"read\"]\nclearance = \"IL4\"\n\n[[tokens]]\nname = \"ci\"\ntoken = \"ci-token\"\nscopes = [\"read\", \"write\"]\nclearance = \"IL4\"\n",
    )
    .unwrap();
    let server = Server::start(&ffo, &["--config", config.to_str().unwrap()]);
    let send = |token: &str, body: &Value| {
        let auth = format!("Bearer {token}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        request("POST", &server.url("/v1/changes"), &headers, body.to_string().as_bytes()).unwrap()
    };
    let body = json!({"title": "Deploy shop 1.2", "entities": ["shop"]});
    let (status, text) = send("read-token", &body);
    assert_eq!(status, 403, "{text}");
    let (status, text) = send("ci-token", &body);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"unresolved\":[\"shop\"]"), "kept though nothing is known: {text}");
    // key-service (alias kms) is IL6: an IL4 writer's change is linked to
    // it, and the answer does not say so.
    let (status, text) = send("ci-token", &json!({"title": "Rotate the HSM partition keys", "entities": ["kms"]}));
    assert_eq!(status, 200, "{text}");
    let a: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(a["stored"][0]["affects"], json!([]), "{text}");
    assert!(!text.contains("key-service"), "{text}");
    server.stop();
    let stored = doc(&ffo, a["stored"][0]["doc_id"].as_str().unwrap());
    assert_eq!(strings(&stored["affects"]), ["component:default/key-service"], "stored and linked all the same");
}

/// A Jira Service Management export built on the public sample: the change
/// issue and the editmeta's field ids and names (`[System] Change`, Planned
/// start/end, Change type, Change risk, Affected services).
fn jsm_export(dir: &Path) -> PathBuf {
    let read =
        |rel: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(samples().join(rel)).unwrap()).unwrap() };
    let meta = read("jira-jsm/forge-rovo-guardrail-change_editmeta_change-fields.extract.json");
    let mut issue = read("jira-jsm/forge-rovo-guardrail-change_change-issue_ITO-9623.v3.json");
    let mut names = serde_json::Map::new();
    for (id, f) in meta["fields"].as_object().unwrap() {
        names.insert(id.clone(), f["name"].clone());
    }
    let fields = issue["fields"].as_object_mut().unwrap();
    fields.insert("issuetype".into(), meta["fields"]["issuetype"]["allowedValues"][0].clone());
    fields.insert("status".into(), json!({"name": "Awaiting implementation", "statusCategory": {"key": "new"}}));
    fields.insert("customfield_10045".into(), json!("2026-11-24T21:00:00.000+0000"));
    fields.insert("customfield_10046".into(), json!("2026-11-24T21:30:00.000+0000"));
    fields.insert("customfield_10005".into(), meta["fields"]["customfield_10005"]["allowedValues"][0].clone());
    fields.insert("customfield_10006".into(), meta["fields"]["customfield_10006"]["allowedValues"][3].clone());
    fields.insert("customfield_10039".into(), json!([{"name": "web-storefront"}]));
    fields.insert("updated".into(), json!("2026-11-20T10:00:00.000+0000"));
    // A freeze recorded as a change of the site's own type "Freeze Period".
    let mut freeze = issue.clone();
    freeze["key"] = json!("ITO-9700");
    freeze["id"] = json!("65800");
    let f = freeze["fields"].as_object_mut().unwrap();
    f.insert("summary".into(), json!("Holiday change freeze for the storefront"));
    f.insert("customfield_10005".into(), meta["fields"]["customfield_10005"]["allowedValues"][3].clone());
    let page = json!({"issues": [issue, freeze], "names": names, "isLast": true});
    let path = dir.join("jsm-changes.json");
    std::fs::write(&path, page.to_string()).unwrap();
    path
}

#[test]
fn jira_change_issues_change_like_tasks_and_policies() {
    let ffo = estate();
    let dir = tempfile::tempdir().unwrap();
    let export = jsm_export(dir.path());
    let report = ffo.json(&["ingest", "jira", export.to_str().unwrap(), "--json"]);
    assert_eq!(report["written"], 2, "{report:#}");
    let d = doc(&ffo, "jira:ITO-9623");
    assert_eq!(d["kind"], "change", "[System] Change is a change type");
    let c = &d["change"];
    assert_eq!((c["start"].as_str(), c["end"].as_str()), (Some("2026-11-24T21:00:00Z"), Some("2026-11-24T21:30:00Z")));
    assert_eq!((c["status"].as_str(), c["risk"].as_str()), (Some("planned"), Some("Low")));
    assert_eq!(c["change_type"], "deploy", "Standard is a category; the words say deploy");
    assert_eq!(strings(&d["affects"]), ["component:default/web-storefront"], "Affected services, by field name");
    assert_eq!(doc(&ffo, "jira:ITO-9700")["change"]["change_type"], "policy", "Freeze Period");

    // The fixture exports: JSM changes, a task labelled as a change (linked
    // through jira/project-key), a task whose words describe one, policies, a
    // plain task.
    let report = ffo.json(&["ingest", "jira", common::fixtures().join("changes/jira").to_str().unwrap(), "--json"]);
    assert_eq!(report["written"], 9, "{report:#}");
    let chg41 = doc(&ffo, "jira:CHG-41");
    assert_eq!(chg41["kind"], "change");
    assert_eq!(chg41["change"]["status"], "planned");
    assert_eq!(chg41["change"]["change_type"], "infrastructure");
    assert_eq!(
        (chg41["change"]["start"].as_str(), chg41["change"]["end"].as_str()),
        (Some("2026-11-21T22:00:00Z"), Some("2026-11-22T02:00:00Z"))
    );
    let mut hosts = strings(&chg41["affects"]);
    hosts.sort();
    assert_eq!(hosts, ["resource:default/db-core-01", "resource:default/db-core-02"]);
    let chg38 = doc(&ffo, "jira:CHG-38");
    assert_eq!(
        (chg38["change"]["status"].as_str(), chg38["change"]["start"].as_str()),
        (Some("done"), Some("2026-11-17T09:04:00Z")),
        "the actual start wins"
    );
    let pay = doc(&ffo, "jira:PAY-212");
    assert_eq!((pay["kind"].as_str(), pay["change"]["change_type"].as_str()), (Some("change"), Some("config")));
    assert_eq!(pay["change"]["start"], "2026-11-19T11:20:00Z");
    assert_eq!(strings(&pay["affects"]), ["component:default/payments-service"], "jira/project-key: PAY");
    let ops201 = doc(&ffo, "jira:OPS-201");
    assert_eq!(
        (ops201["kind"].as_str(), ops201["change"]["start"].as_str()),
        (Some("change"), Some("2026-11-20T08:45:00Z"))
    );
    assert_eq!(doc(&ffo, "jira:OPS-203")["kind"], "policy");
    assert_eq!(doc(&ffo, "jira:OPS-205")["kind"], "ticket");
    let hits = ffo.json(&["search", "kernel patching reboot", "--kind", "change", "--json"]);
    assert_eq!(hits["hits"][0]["doc_id"], "jira:CHG-41", "{hits:#}");
    // The live pull asks for change issue types too.
    let jql = std::fs::read_to_string(common::repo().join("ingest/jira.toml")).unwrap();
    assert!(jql.contains(r#""[System] Change""#) && jql.contains("Change Request"), "{jql}");
}

#[test]
fn confluence_pages_labelled_as_changes_are_changes() {
    let ffo = estate();
    ffo.ok(&["ingest", "confluence", common::fixtures().join("changes/confluence").to_str().unwrap()]);
    let d = doc(&ffo, "confluence:622593");
    assert_eq!(d["kind"], "change");
    let c = &d["change"];
    assert_eq!((c["start"].as_str(), c["end"].as_str()), (Some("2026-11-20T06:04:00Z"), Some("2026-11-20T06:19:00Z")));
    assert_eq!((c["status"].as_str(), c["change_type"].as_str()), (Some("done"), Some("infrastructure")));
    assert_eq!(strings(&d["affects"]), ["resource:default/internal-dns"], "the label names it");
}
