//! History benchmark: ingest throughput of generated Jira issues (REST v2
//! search responses) and Confluence pages (REST v1 content lists) through
//! ledger, graph and index, about a generated estate; then search latency
//! over the Jira corpus for two-word queries, side by side with SQLite FTS5
//! (bm25) on the same documents and queries, in the same run.
//!
//! ```text
//! cargo bench --bench history                                   # 100k issues, 20k pages, 100k entities
//! cargo bench --bench history -- --issues 10000 --pages 2000 --entities 10000
//! ```
//!
//! | flag | default | meaning |
//! | --- | --- | --- |
//! | `--entities N` | 100000 | entities of the estate the history is about |
//! | `--issues N` | 100000 | Jira issues |
//! | `--pages N` | 20000 | Confluence pages |
//! | `--queries N` | 300 | timed queries per kind (common words, rare words) |
//! | `--keep DIR` | a temp dir | keep the generated files and data |

#[path = "estate/mod.rs"]
mod estate;
#[path = "harness/mod.rs"]
mod harness;
#[path = "history/mod.rs"]
mod history;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use ffo::auth::Caller;
use ffo::context::SearchRequest;
use ffo::model::Source;
use ffo::search::SearchQuery;
use harness::measure;

struct Options {
    entities: usize,
    issues: usize,
    pages: usize,
    queries: usize,
    keep: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("history: a benchmark; run it with `cargo bench --bench history`");
        return ExitCode::SUCCESS;
    }
    let mut o = Options { entities: 100_000, issues: 100_000, pages: 20_000, queries: 300, keep: None };
    let mut it = args.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("history: {flag} needs a value");
            return ExitCode::from(2);
        };
        let n = value.parse::<usize>();
        match (flag.as_str(), n) {
            ("--entities", Ok(n)) => o.entities = n,
            ("--issues", Ok(n)) => o.issues = n,
            ("--pages", Ok(n)) => o.pages = n,
            ("--queries", Ok(n)) => o.queries = n.max(10),
            ("--keep", _) => o.keep = Some(PathBuf::from(value)),
            _ => {
                eprintln!("history: bad flag {flag} {value}; flags: --entities, --issues, --pages, --queries, --keep");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match runtime.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("history: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run(o: Options) -> Result<(), String> {
    let (_tmp, root) = harness::workdir(o.keep.clone())?;
    let data = root.join("data");
    let service = harness::service(&data, None).await?;
    let admin = Caller::admin("bench", service.scale());

    let spec = estate::Spec { entities: o.entities, ..estate::Spec::default() };
    let estate = estate::generate(&root.join("estate"), &spec).map_err(|e| e.to_string())?;
    service.ingest(&admin, Source::Catalog, &estate.catalog_dir.to_string_lossy()).await.map_err(|e| e.to_string())?;
    service.ingest(&admin, Source::Rdf, &estate.rdf_file.to_string_lossy()).await.map_err(|e| e.to_string())?;
    // History names services and resources, as real history does.
    let names: Vec<String> = service
        .visible_entities(&admin)
        .iter()
        .filter(|e| matches!(e.id.kind(), "component" | "resource"))
        .map(|e| e.name.clone())
        .collect();
    println!("estate: {} entities ({} named in history)", estate.entities, names.len());

    let t = Instant::now();
    let (_, plain) = history::jira(&root.join("jira"), o.issues, &names, 7);
    history::confluence(&root.join("confluence"), o.pages, &names, 11);
    println!("generated {} issues and {} pages in {:.1?}", o.issues, o.pages, t.elapsed());

    let t = Instant::now();
    let r =
        service.ingest(&admin, Source::Jira, &root.join("jira").to_string_lossy()).await.map_err(|e| e.to_string())?;
    let jira_secs = t.elapsed().as_secs_f64();
    if r.written != o.issues {
        return Err(format!("wrote {} of {} issues: {:?}", r.written, o.issues, r.skipped.first()));
    }
    let jira_rate = o.issues as f64 / jira_secs;
    println!(
        "jira ingest: {} issues in {jira_secs:.1} s = {jira_rate:.0} issues/s (ledger, graph, index, linking over {} names)",
        o.issues,
        names.len()
    );

    // Search over the Jira corpus alone, so both engines hold the same documents.
    let common = history::queries(true, o.queries, 1);
    let rare = history::queries(false, o.queries, 2);
    let ffo_full = |qs: Vec<String>| {
        let (service, admin) = (&service, &admin);
        async move {
            let mut i = 0;
            measure(20, qs.len(), async || {
                let q = &qs[i % qs.len()];
                i += 1;
                let req = SearchRequest { query: q.clone(), limit: Some(10), ..SearchRequest::default() };
                service.search(admin, &req).await.map(|a| a.hits.len()).unwrap_or(0)
            })
            .await
        }
    };
    let ffo_index = |qs: Vec<String>| {
        let service = &service;
        async move {
            let mut i = 0;
            measure(20, qs.len(), async || {
                let q = &qs[i % qs.len()];
                i += 1;
                let sq = SearchQuery { text: q.clone(), limit: 10, snippets: true, ..SearchQuery::default() };
                service.projections().search().search(&sq).map(|h| h.len()).unwrap_or(0)
            })
            .await
        }
    };
    let fts =
        harness::fts5(&root.join("fts5.sqlite"), plain.iter().map(|p| (p.title.as_str(), p.body.as_str()))).await?;
    let fts_run = |qs: Vec<String>| {
        let fts = &fts;
        async move {
            let mut i = 0;
            measure(20, qs.len(), async || {
                let q = &qs[i % qs.len()];
                i += 1;
                harness::fts5_query(fts, q).await
            })
            .await
        }
    };
    let mut rows = Vec::new();
    for (label, qs) in [("common words", common), ("rare words", rare)] {
        let (full, _) = ffo_full(qs.clone()).await;
        let (index, _) = ffo_index(qs.clone()).await;
        let (sqlite, _) = fts_run(qs).await;
        rows.push((label, full, index, sqlite));
    }
    println!("\nsearch over {} documents, top 10, two-word queries ({} each)", o.issues, o.queries);
    println!(
        "{:<14} {:>22} {:>22} {:>22} {:>10}",
        "queries", "ffo answer p50/p99", "ffo index p50/p99", "FTS5 bm25 p50/p99", "FTS5/ffo"
    );
    for (label, full, index, sqlite) in &rows {
        println!(
            "{label:<14} {:>22} {:>22} {:>22} {:>9.1}x",
            harness::p50_p99(full),
            harness::p50_p99(index),
            harness::p50_p99(sqlite),
            sqlite.p50().as_secs_f64() / full.p50().as_secs_f64().max(1e-9)
        );
    }

    let t = Instant::now();
    let r = service
        .ingest(&admin, Source::Confluence, &root.join("confluence").to_string_lossy())
        .await
        .map_err(|e| e.to_string())?;
    let conf_secs = t.elapsed().as_secs_f64();
    if r.written != o.pages {
        return Err(format!("wrote {} of {} pages: {:?}", r.written, o.pages, r.skipped.first()));
    }
    println!("\nconfluence ingest: {} pages in {conf_secs:.1} s = {:.0} pages/s", o.pages, o.pages as f64 / conf_secs);
    service.projections().graph().flush().map_err(|e| e.to_string())?;
    println!("data directory: {}", harness::sizes(&data));

    let (label, full, _, sqlite) = &rows[0];
    let json = serde_json::json!({
        "bench": "history", "entities": estate.entities, "issues": o.issues, "pages": o.pages,
        "jira_issues_per_s": jira_rate.round(), "confluence_pages_per_s": (o.pages as f64 / conf_secs).round(),
        "search": rows.iter().map(|(l, f, i, s)| serde_json::json!({
            "queries": l, "ffo_p50_ms": harness::ms(f.p50()), "ffo_p99_ms": harness::ms(f.p99()),
            "index_p50_ms": harness::ms(i.p50()), "index_p99_ms": harness::ms(i.p99()),
            "fts5_p50_ms": harness::ms(s.p50()), "fts5_p99_ms": harness::ms(s.p99()),
        })).collect::<Vec<_>>(),
        "goal_5000_issues_per_s": jira_rate >= 5000.0,
        "goal_p99_under_10ms": full.p99().as_millis() < 10,
        "goal_30x_fts5_common": sqlite.p50().as_secs_f64() / full.p50().as_secs_f64().max(1e-9) >= 30.0,
        "common_label": label,
    });
    println!("{json}");
    Ok(())
}
