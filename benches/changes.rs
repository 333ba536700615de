//! Change-ingest benchmark: generated change events (FFO's own form as JSON
//! Lines, and CDEvents `service.deployed` lists) about a generated estate,
//! through `ffo ingest changes` (the query layer's `ingest_changes`): parsing,
//! entity mapping, ledger writes in chunks, graph, index and topology.
//!
//! ```text
//! cargo bench --bench changes                                  # 100k events, 100k entities
//! cargo bench --bench changes -- --events 20000 --entities 10000
//! ```
//!
//! | flag | default | meaning |
//! | --- | --- | --- |
//! | `--entities N` | 100000 | entities of the estate the changes are about |
//! | `--events N` | 100000 | change events |
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
use ffo::context::ChangeInput;
use ffo::model::Source;

struct Options {
    entities: usize,
    events: usize,
    keep: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("changes: a benchmark; run it with `cargo bench --bench changes`");
        return ExitCode::SUCCESS;
    }
    let mut o = Options { entities: 100_000, events: 100_000, keep: None };
    let mut it = args.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("changes: {flag} needs a value");
            return ExitCode::from(2);
        };
        match (flag.as_str(), value.parse::<usize>()) {
            ("--entities", Ok(n)) => o.entities = n,
            ("--events", Ok(n)) => o.events = n,
            ("--keep", _) => o.keep = Some(PathBuf::from(value)),
            _ => {
                eprintln!("changes: bad flag {flag} {value}; flags: --entities, --events, --keep");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match runtime.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("changes: {e}");
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
    let names: Vec<String> = service
        .visible_entities(&admin)
        .iter()
        .filter(|e| matches!(e.id.kind(), "component" | "resource"))
        .map(|e| e.name.clone())
        .collect();
    if names.is_empty() {
        return Err("the generated estate has no components or resources".into());
    }
    println!("estate: {} entities ({} changed by the events)", estate.entities, names.len());

    let dir = root.join("changes");
    let t = Instant::now();
    history::changes(&dir, o.events, &names).map_err(|e| e.to_string())?;
    println!("generated {} change events in {:.1?}", o.events, t.elapsed());

    let t = Instant::now();
    let out = service
        .ingest_changes(&admin, ChangeInput::Path(&dir.to_string_lossy()), None)
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    if out.report.written != o.events {
        return Err(format!(
            "wrote {} of {} events: {:?}",
            out.report.written,
            o.events,
            out.rejected.first().map(|r| &r.reason)
        ));
    }
    let unlinked = out.stored.iter().filter(|s| s.affects.is_empty()).count();
    let rate = o.events as f64 / secs;
    println!(
        "change ingest: {} events in {secs:.1} s = {rate:.0} events/s (parse, map to entities, ledger, graph, index); {unlinked} unlinked",
        o.events
    );
    service.projections().graph().flush().map_err(|e| e.to_string())?;
    println!("data directory: {}", harness::sizes(&data));
    let json = serde_json::json!({
        "bench": "changes", "entities": estate.entities, "events": o.events,
        "events_per_s": rate.round(), "goal_5000_events_per_s": rate >= 5000.0,
    });
    println!("{json}");
    Ok(())
}
