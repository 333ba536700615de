//! context_for_action benchmark: a generated estate and history (100k
//! entities, 100k documents by default), served in-process as `ffo serve`
//! serves them; the same questions asked of the query layer directly
//! (server-side time), through the HTTP API, and through MCP over
//! streamable HTTP with the rmcp client, in the same run.
//!
//! ```text
//! cargo bench --bench context                                     # 100k entities, 100k documents
//! cargo bench --bench context -- --entities 10000 --issues 10000
//! ```

#[path = "estate/mod.rs"]
mod estate;
#[path = "harness/mod.rs"]
mod harness;
#[path = "history/mod.rs"]
mod history;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use ffo::auth::{Caller, Tokens};
use ffo::context::ActionRequest;
use ffo::model::{Alert, Source};
use harness::measure;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;

struct Options {
    entities: usize,
    issues: usize,
    changes: usize,
    iters: usize,
    keep: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("context: a benchmark; run it with `cargo bench --bench context`");
        return ExitCode::SUCCESS;
    }
    let mut o = Options { entities: 100_000, issues: 100_000, changes: 100_000, iters: 300, keep: None };
    let mut it = args.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("context: {flag} needs a value");
            return ExitCode::from(2);
        };
        match (flag.as_str(), value.parse::<usize>()) {
            ("--entities", Ok(n)) => o.entities = n,
            ("--issues", Ok(n)) => o.issues = n,
            ("--changes", Ok(n)) => o.changes = n,
            ("--iters", Ok(n)) => o.iters = n.max(10),
            ("--keep", _) => o.keep = Some(PathBuf::from(value)),
            _ => {
                eprintln!("context: bad flag {flag} {value}; flags: --entities, --issues, --changes, --iters, --keep");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match runtime.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("context: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(o: Options) -> Result<(), String> {
    let (_tmp, root) = harness::workdir(o.keep.clone())?;
    let data = root.join("data");
    let service = Arc::new(harness::service(&data, None).await?);
    let admin = Caller::admin("bench", service.scale());
    let e = |e: ffo::context::QueryError| e.to_string();

    let estate =
        estate::generate(&root.join("estate"), &estate::Spec { entities: o.entities, ..estate::Spec::default() })
            .map_err(|e| e.to_string())?;
    service.ingest(&admin, Source::Catalog, &estate.catalog_dir.to_string_lossy()).await.map_err(e)?;
    service.ingest(&admin, Source::Rdf, &estate.rdf_file.to_string_lossy()).await.map_err(e)?;
    let services: Vec<String> = service
        .visible_entities(&admin)
        .iter()
        .filter(|x| x.id.kind() == "component" || x.id.kind() == "resource")
        .map(|x| x.name.clone())
        .collect();
    history::jira(&root.join("jira"), o.issues, &services, 7);
    service.ingest(&admin, Source::Jira, &root.join("jira").to_string_lossy()).await.map_err(e)?;
    if o.changes > 0 {
        history::changes(&root.join("changes"), o.changes, &services).map_err(|e| e.to_string())?;
        let dir = root.join("changes").to_string_lossy().into_owned();
        let input = ffo::context::ChangeInput::Path(&dir);
        service.ingest_changes(&admin, input, None).await.map_err(e)?;
    }
    println!("estate {} entities, {} documents, {} change events", estate.entities, o.issues, o.changes);
    // Queries come long after an import in service; let its compaction finish.
    service.projections().graph().optimize().map_err(|e| e.to_string())?;

    // The questions: an alert on a service, the action about to be taken.
    let mut rng = history::Rng::new(3);
    let targets: Vec<String> = (0..64).map(|_| services[rng.below(services.len())].clone()).collect();
    let alerts = ["HighErrorRate", "HighLatency", "PodCrashLooping", "DiskFillingUp"];

    // Every answer is checked: a figure made of fast errors would be worthless.
    let mut failures: Vec<String> = Vec::new();

    // Server-side: the query layer alone.
    let mut i = 0;
    let (direct, _) = measure(30, o.iters, async || {
        i += 1;
        let target = &targets[i % targets.len()];
        let mut alert = Alert::default();
        alert.labels.insert("alertname".into(), alerts[i % alerts.len()].into());
        alert.labels.insert("service".into(), target.clone());
        // The changes run to 2026-11-21: the alert fires among them.
        alert.starts_at = Some("2026-11-20T12:00:00Z".into());
        let req =
            ActionRequest { alert: Some(alert), action: Some("restart the pods".into()), ..ActionRequest::default() };
        match service.context_for_action(&admin, &req).await {
            Ok(c) => c.incidents.len(),
            Err(e) => {
                failures.push(format!("query layer: {e}"));
                0
            }
        }
    })
    .await;

    // Serve as `ffo serve` does: the HTTP API with MCP at /mcp.
    let state = ffo::http::AppState { service: service.clone(), tokens: Arc::new(Tokens::new()), oidc: None };
    let router = ffo::http::router(
        state,
        &ffo::http::HttpConfig { max_body_bytes: 1 << 20, allowed_hosts: Vec::new() },
        ffo::mcp::router(service.clone()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move { axum::serve(listener, router).await });

    let http = reqwest::Client::new();
    let url = format!("http://{addr}/v1/context");
    let mut i = 0;
    let (over_http, _) = measure(30, o.iters, async || {
        i += 1;
        let target = &targets[i % targets.len()];
        let body =
            json!({"alert": {"labels": {"alertname": alerts[i % alerts.len()], "service": target}, "startsAt": "2026-11-20T12:00:00Z"}, "action": "restart the pods"});
        let answer = async {
            let r = http.post(&url).json(&body).send().await.map_err(|e| e.to_string())?;
            let status = r.status();
            let bytes = r.bytes().await.map_err(|e| e.to_string())?;
            if !status.is_success() {
                return Err(format!("{status}: {}", String::from_utf8_lossy(&bytes)));
            }
            Ok::<usize, String>(bytes.len())
        };
        answer.await.map_err(|e| failures.push(format!("HTTP: {e}"))).unwrap_or(0)
    })
    .await;

    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    let client = ().serve(transport).await.map_err(|e| e.to_string())?;
    let mut i = 0;
    let (over_mcp, _) = measure(30, o.iters, async || {
        i += 1;
        let target = &targets[i % targets.len()];
        let args =
            json!({"alert": {"labels": {"alertname": alerts[i % alerts.len()], "service": target}, "startsAt": "2026-11-20T12:00:00Z"}, "action": "restart the pods"});
        let params = CallToolRequestParams::new("context_for_action")
            .with_arguments(args.as_object().cloned().unwrap_or_default());
        match client.call_tool(params).await {
            Ok(r) if r.is_error != Some(true) => true,
            Ok(r) => {
                failures.push(format!("MCP tool error: {:?}", r.content));
                false
            }
            Err(e) => {
                failures.push(format!("MCP: {e}"));
                false
            }
        }
    })
    .await;
    let _ = client.cancel().await;
    if let Some(first) = failures.first() {
        return Err(format!("{} of the timed calls failed; the first: {first}", failures.len()));
    }

    println!("\ncontext_for_action, {} calls each, alert + action on a random service", o.iters);
    println!("{:<34} {:>22}", "path", "p50 / p99");
    println!("{:<34} {:>22}", "query layer (server-side)", harness::p50_p99(&direct));
    println!("{:<34} {:>22}", "HTTP API (POST /v1/context)", harness::p50_p99(&over_http));
    println!("{:<34} {:>22}", "MCP streamable HTTP (rmcp client)", harness::p50_p99(&over_mcp));
    let mcp_extra_p50 = harness::ms(over_mcp.p50()) - harness::ms(over_http.p50());
    let mcp_extra_p99 = harness::ms(over_mcp.p99()) - harness::ms(over_http.p99());
    println!("MCP over the HTTP API: {mcp_extra_p50:+.2} ms at p50, {mcp_extra_p99:+.2} ms at p99");
    println!(
        "{}",
        json!({
            "bench": "context", "entities": estate.entities, "documents": o.issues, "changes": o.changes,
            "direct_p50_ms": harness::ms(direct.p50()), "direct_p99_ms": harness::ms(direct.p99()),
            "http_p50_ms": harness::ms(over_http.p50()), "http_p99_ms": harness::ms(over_http.p99()),
            "mcp_p50_ms": harness::ms(over_mcp.p50()), "mcp_p99_ms": harness::ms(over_mcp.p99()),
            "goal_p99_under_20ms": direct.p99().as_millis() < 20,
            "goal_mcp_within_2ms": mcp_extra_p99 <= 2.0,
        })
    );
    Ok(())
}
