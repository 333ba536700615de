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

use std::io::Write;
use std::path::{Path, PathBuf};
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
    generate(&dir, o.events, &names).map_err(|e| e.to_string())?;
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

/// Writes `n` events over files of 10,000: four in five in FFO's own form
/// (JSON Lines), one in five CDEvents `service.deployed` (a JSON list).
fn generate(dir: &Path, n: usize, names: &[String]) -> std::io::Result<()> {
    const PER_FILE: usize = 10_000;
    const KINDS: [(&str, &str); 8] = [
        ("deploy", "Deployed release {v} of {e}"),
        ("config", "Raised the connection pool limit of {e} to {v}"),
        ("schema", "Migration V{v} on {e}: add index on orders"),
        ("scaling", "Scaled {e} to {v} replicas"),
        ("secret", "Rotated the credentials of {e}"),
        ("feature_flag", "Feature flag checkout-v{v} on {e} to 50%"),
        ("infrastructure", "Kernel patch and reboot of {e}"),
        ("job", "New nightly export job on {e}"),
    ];
    std::fs::create_dir_all(dir)?;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").expect("time").to_utc();
    let mut written = 0;
    let mut file = 0;
    while written < n {
        let count = PER_FILE.min(n - written);
        let cdevents = file % 5 == 4;
        let path = dir.join(if cdevents { format!("cdevents-{file:04}.json") } else { format!("ffo-{file:04}.jsonl") });
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut list = Vec::with_capacity(if cdevents { count } else { 0 });
        for i in 0..count {
            let entity = &names[(next() as usize) % names.len()];
            let at = base + chrono::Duration::seconds((next() % (20 * 86_400)) as i64);
            let id = written + i;
            if cdevents {
                list.push(serde_json::json!({
                    "context": {"specversion": "0.5.0", "id": format!("ev-{id}"), "source": "/bench/pipeline",
                                "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": ffo::model::time::rfc3339(at)},
                    "subject": {"id": entity, "source": "/bench", "content": {
                        "environment": {"id": "production"}, "artifactId": format!("pkg:oci/{entity}@sha256%3A{id:064x}")}}
                }));
            } else {
                let (kind, words) = KINDS[(next() as usize) % KINDS.len()];
                let title = words.replace("{e}", entity).replace("{v}", &(next() % 500).to_string());
                let line = serde_json::json!({
                    "id": format!("CHG-{id}"), "title": title, "type": kind, "status": "done", "entities": [entity],
                    "start": ffo::model::time::rfc3339(at), "by": "bench", "environment": "production",
                    "text": format!("{title}. Applied by the pipeline; see the change record for the rollback plan."),
                });
                writeln!(out, "{line}")?;
            }
        }
        if cdevents {
            serde_json::to_writer(&mut out, &list)?;
        }
        out.flush()?;
        written += count;
        file += 1;
    }
    Ok(())
}
