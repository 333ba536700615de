//! write_outcome benchmark: sustained durable writes from many concurrent
//! writers, on SQLite and on PostgreSQL, in the same run. Two measures per
//! backend: the ledger's acknowledgement alone (durable commit, group
//! committed) and the whole write_outcome call, which returns only when the
//! outcome is searchable (read-your-writes).
//!
//! ```text
//! cargo bench --bench writes                      # 64 writers, 10 s per measure
//! cargo bench --bench writes -- --writers 16 --seconds 5 --postgres postgres://postgres@127.0.0.1/test
//! ```

#[path = "harness/mod.rs"]
mod harness;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ffo::auth::Caller;
use ffo::context::OutcomeRequest;
use ffo::model::Source;
use harness::Samples;
use serde_json::json;

struct Options {
    writers: usize,
    seconds: u64,
    postgres: Option<String>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("writes: a benchmark; run it with `cargo bench --bench writes`");
        return ExitCode::SUCCESS;
    }
    let mut o = Options {
        writers: 64,
        seconds: 10,
        postgres: Some(
            std::env::var("FFO_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        ),
    };
    let mut it = args.iter().filter(|a| *a != "--bench");
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("writes: {flag} needs a value");
            return ExitCode::from(2);
        };
        match flag.as_str() {
            "--writers" => o.writers = value.parse().unwrap_or(64),
            "--seconds" => o.seconds = value.parse().unwrap_or(10),
            "--postgres" => o.postgres = (value != "none").then(|| value.clone()),
            _ => {
                eprintln!("writes: unknown flag {flag}; flags: --writers, --seconds, --postgres URL|none");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match runtime.block_on(run(o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("writes: {e}");
            ExitCode::from(1)
        }
    }
}

/// One backend's figures.
struct Figures {
    backend: &'static str,
    ack_rate: f64,
    ack: Samples,
    full_rate: f64,
    full: Samples,
}

async fn run(o: Options) -> Result<(), String> {
    let mut all = Vec::new();
    all.push(backend("SQLite", None, &o).await?);
    if let Some(url) = &o.postgres {
        let db = PgDb::create(url)?;
        let figures = backend("PostgreSQL", Some(&db.url), &o).await;
        drop(db);
        all.push(figures?);
    }
    println!("\nwrite_outcome, {} concurrent writers, {} s each", o.writers, o.seconds);
    println!(
        "{:<11} {:>16} {:>24} {:>18} {:>26}",
        "backend", "acks/s", "ack p50/p99", "writes/s", "searchable p50/p99"
    );
    for f in &all {
        println!(
            "{:<11} {:>16.0} {:>24} {:>18.0} {:>26}",
            f.backend,
            f.ack_rate,
            harness::p50_p99(&f.ack),
            f.full_rate,
            harness::p50_p99(&f.full)
        );
    }
    let json: Vec<_> = all
        .iter()
        .map(|f| {
            json!({"backend": f.backend, "acks_per_s": f.ack_rate.round(), "ack_p99_ms": harness::ms(f.ack.p99()),
                   "writes_per_s": f.full_rate.round(), "searchable_p50_ms": harness::ms(f.full.p50()),
                   "searchable_p99_ms": harness::ms(f.full.p99())})
        })
        .collect();
    println!("{}", json!({"bench": "writes", "writers": o.writers, "seconds": o.seconds, "results": json}));
    Ok(())
}

async fn backend(name: &'static str, url: Option<&str>, o: &Options) -> Result<Figures, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let service = Arc::new(harness::service(&tmp.path().join("data"), url).await?);
    let admin = Caller::admin("bench", service.scale());
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for (source, dir) in [(Source::Catalog, "catalog"), (Source::Rdf, "rdf")] {
        service.ingest(&admin, source, &fixtures.join(dir).to_string_lossy()).await.map_err(|e| e.to_string())?;
    }
    // 1. The ledger alone: how fast writes become durable.
    let ledger = service.ledger().clone();
    let (ack_rate, ack) = hammer(o, {
        let ledger = ledger.clone();
        move |w, n| {
            let ledger = ledger.clone();
            async move {
                let doc = ffo::model::DocId::new(Source::Outcome, format!("ack-{w}-{n}")).expect("id");
                let v = ffo::ledger::NewVersion {
                    doc,
                    source_version: None,
                    source_updated: None,
                    payload: vec![b'x'; 400],
                    graph: String::new(),
                    text_doc: None,
                };
                let key = ffo::ledger::IdempotencyKey { key: format!("ack-{w}-{n}"), body_hash: "h".into() };
                ledger.append_keyed(v, key).await.is_ok()
            }
        }
    })
    .await;
    // 2. The whole call: durable, projected, searchable when it returns.
    let (full_rate, full) = hammer(o, {
        let (service, admin) = (service.clone(), admin.clone());
        move |w, n| {
            let (service, admin) = (service.clone(), admin.clone());
            async move {
                let req = OutcomeRequest {
                    entity: "checkout-api".into(),
                    action: "restart pods".into(),
                    result: "success".into(),
                    summary: format!("bench write {w}-{n}: restarted, error rate back to normal"),
                    idempotency_key: Some(format!("full-{w}-{n}")),
                    ..OutcomeRequest::default()
                };
                service.write_outcome(&admin, &req).await.is_ok()
            }
        }
    })
    .await;
    // Check: every write is searchable.
    let check = service.check(&admin).await.map_err(|e| e.to_string())?;
    if !check.consistent() {
        return Err(format!("{name}: projections inconsistent after the run"));
    }
    service.close().await;
    Ok(Figures { backend: name, ack_rate, ack, full_rate, full })
}

/// Runs `o.writers` writers for `o.seconds`; returns writes/s and latencies.
async fn hammer<F, Fut>(o: &Options, write: F) -> (f64, Samples)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..o.writers)
        .map(|w| {
            let (stop, failures, write) = (stop.clone(), failures.clone(), write.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    if write(w, n).await {
                        times.push(t.elapsed());
                    } else {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
                times
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut times = Vec::new();
    for t in tasks {
        times.extend(t.await.unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("writes: {failed} writes failed");
    }
    (times.len() as f64 / elapsed, Samples::new(times))
}

/// A PostgreSQL database of the benchmark's own, dropped afterwards.
struct PgDb {
    url: String,
    admin: String,
    name: String,
}

impl PgDb {
    fn create(admin: &str) -> Result<PgDb, String> {
        let name = format!("ffo_bench_{}", std::process::id());
        psql(admin, &format!("DROP DATABASE IF EXISTS {name}"))?;
        psql(admin, &format!("CREATE DATABASE {name}"))?;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
        Ok(PgDb { url: format!("{base}/{name}"), admin: admin.to_string(), name })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = psql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out =
        std::process::Command::new("psql").args([url, "-qtAc", sql]).output().map_err(|e| format!("psql: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr))) }
}
