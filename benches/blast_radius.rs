//! Blast-radius benchmark: generates a synthetic estate (`benches/estate`), ingests it through the
//! query layer, and times "what depends on X" answered from the in-memory topology against the
//! same question as a SPARQL 1.1 property path on the same oxigraph store.
//!
//! ```text
//! cargo bench --bench blast_radius                          # 100k entities, ~300k impact edges
//! cargo bench --bench blast_radius -- --entities 10000      # a smaller estate
//! ```
//!
//! | flag | environment | default | meaning |
//! | --- | --- | --- | --- |
//! | `--entities N` | `FFO_BENCH_ENTITIES` | 100000 | entities in the estate |
//! | `--edge-factor F` | `FFO_BENCH_EDGE_FACTOR` | 3.0 | impact edges per entity |
//! | `--seed S` | `FFO_BENCH_SEED` | fixed | the estate's PRNG seed |
//! | `--keep DIR` | `FFO_BENCH_KEEP` | a temp dir, removed | write estate and data dir here and keep them |
//! | `--mid-iters N` | | 500 | timed FFO answers for the ~100-dependent target |
//! | `--core-iters N` | | 100 | timed FFO answers for the core target |
//! | `--path-iters N` | | 100 | timed property-path answers for the ~100-dependent target |
//! | `--path-core-iters N` | | 5 (at least 3) | timed property-path answers for the core target |
//!
//! Flags win over the environment. The binary does nothing unless cargo runs it as a benchmark
//! (with `--bench`), so `cargo test --all-targets` stays fast. Exit codes: 0 done (goals met or
//! not: they are reported), 1 the answers disagree or a step failed, 2 bad arguments.

#[path = "estate/mod.rs"]
mod estate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ffo::auth::Caller;
use ffo::config::{Config, Flags};
use ffo::context::{BlastOptions, Service};
use ffo::model::{EntityId, Source};

/// Dependents listed in an answer; totals always count them all.
const LIMIT: usize = 1_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.iter().any(|a| a == "--bench") {
        println!("blast_radius: a benchmark; run it with `cargo bench --bench blast_radius`");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(&args, |k| std::env::var(k).ok()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("blast_radius: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(&options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("blast_radius: {e}");
            ExitCode::from(1)
        }
    }
}

#[derive(Debug, Clone)]
struct Options {
    spec: estate::Spec,
    keep: Option<PathBuf>,
    mid_iters: usize,
    core_iters: usize,
    path_mid_iters: usize,
    path_core_iters: usize,
}

impl Options {
    fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Options, String> {
        fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
            value.trim().parse().map_err(|_| format!("{name} {value:?} is not a number, e.g. {name} 10000"))
        }
        let mut o = Options {
            spec: estate::Spec::default(),
            keep: env("FFO_BENCH_KEEP").map(PathBuf::from),
            mid_iters: 500,
            core_iters: 100,
            path_mid_iters: 100,
            path_core_iters: 5,
        };
        if let Some(v) = env("FFO_BENCH_ENTITIES") {
            o.spec.entities = number("FFO_BENCH_ENTITIES", &v)?;
        }
        if let Some(v) = env("FFO_BENCH_EDGE_FACTOR") {
            o.spec.edge_factor = number("FFO_BENCH_EDGE_FACTOR", &v)?;
        }
        if let Some(v) = env("FFO_BENCH_SEED") {
            o.spec.seed = number("FFO_BENCH_SEED", &v)?;
        }
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            if flag == "--bench" {
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value, e.g. --entities 10000"))?;
            match flag.as_str() {
                "--entities" => o.spec.entities = number(flag, value)?,
                "--edge-factor" => o.spec.edge_factor = number(flag, value)?,
                "--seed" => o.spec.seed = number(flag, value)?,
                "--keep" => o.keep = Some(PathBuf::from(value)),
                "--mid-iters" => o.mid_iters = number(flag, value)?,
                "--core-iters" => o.core_iters = number(flag, value)?,
                "--path-iters" => o.path_mid_iters = number(flag, value)?,
                "--path-core-iters" => o.path_core_iters = number(flag, value)?,
                other => {
                    return Err(format!(
                        "unknown flag {other}; flags: --entities, --edge-factor, --seed, --keep, --mid-iters, \
                         --core-iters, --path-iters, --path-core-iters"
                    ));
                }
            }
        }
        if o.spec.entities < 1_000 {
            return Err(format!("--entities {} is too small to hold the targets; give at least 1000", o.spec.entities));
        }
        o.mid_iters = o.mid_iters.max(1);
        o.core_iters = o.core_iters.max(1);
        o.path_mid_iters = o.path_mid_iters.max(3);
        o.path_core_iters = o.path_core_iters.max(3);
        Ok(o)
    }
}

/// Timings of one way of answering one question.
struct Samples {
    /// Sorted, fastest first.
    times: Vec<Duration>,
}

impl Samples {
    fn new(mut times: Vec<Duration>) -> Samples {
        times.sort();
        Samples { times }
    }

    /// Nearest-rank percentile (`p` in 0..=1).
    fn percentile(&self, p: f64) -> Duration {
        let rank = ((p * self.times.len() as f64).ceil() as usize).clamp(1, self.times.len());
        self.times[rank - 1]
    }

    fn p50(&self) -> Duration {
        self.percentile(0.50)
    }

    fn p99(&self) -> Duration {
        self.percentile(0.99)
    }
}

/// Runs `f` `warmup` times untimed, then `iters` times timed; returns the timings and the last
/// answer.
async fn measure<T>(warmup: usize, iters: usize, mut f: impl AsyncFnMut() -> T) -> (Samples, T) {
    for _ in 0..warmup {
        std::hint::black_box(f().await);
    }
    let mut times = Vec::with_capacity(iters);
    let mut last = None;
    for _ in 0..iters {
        let start = Instant::now();
        let answer = std::hint::black_box(f().await);
        times.push(start.elapsed());
        last = Some(answer);
    }
    (Samples::new(times), last.expect("at least one iteration"))
}

/// One question (a target) answered three ways.
struct Question {
    label: &'static str,
    target: String,
    /// Dependents as the generator counted them.
    expected: usize,
    /// The full query-layer answer: resolution, walk, clearance, totals, sorting, truncation.
    query: (Samples, usize),
    /// `Topology::blast_radius` alone, under the read lock.
    walk: (Samples, usize),
    /// `(ffo:dependsOn|ffo:runsOn|ffo:partOf)+` on the oxigraph store.
    path: (Samples, usize),
}

impl Question {
    fn agrees(&self) -> bool {
        self.query.1 == self.expected && self.walk.1 == self.expected && self.path.1 == self.expected
    }

    fn ratio(&self, s: &Samples) -> f64 {
        self.path.0.p50().as_secs_f64() / s.p50().as_secs_f64().max(1e-9)
    }
}

/// Timed iterations for one question (warm-ups come on top).
struct Plan {
    query: usize,
    path: usize,
}

async fn ask(
    service: &Service,
    caller: &Caller,
    label: &'static str,
    target: &str,
    expected: usize,
    plan: Plan,
) -> Question {
    let id: EntityId = target.parse().expect("the generator writes full entity ids");
    let options = BlastOptions { max_depth: None, limit: LIMIT };
    let query = measure(plan.query / 10 + 3, plan.query, async || {
        let answer = service.blast_radius(caller, target, options).await.expect("blast radius of a generated target");
        answer.totals.dependents + answer.withheld
    })
    .await;
    let walk = measure(plan.query / 10 + 3, plan.query, async || {
        let topology = service.projections().topology();
        topology.blast_radius(&id, None).expect("the target is in the topology").len()
    })
    .await;
    let path = measure(1, plan.path, async || {
        service.projections().graph().dependents_by_property_path(&id).expect("property-path query")
    })
    .await;
    Question { label, target: target.to_string(), expected, query, walk, path }
}

async fn run(options: &Options) -> Result<bool, String> {
    let temp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let root = options.keep.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let data_dir = root.join("data");
    if data_dir.exists() {
        return Err(format!("{} exists; --keep wants a new or empty folder", data_dir.display()));
    }

    let started = Instant::now();
    let estate = estate::generate(&root.join("estate"), &options.spec).map_err(|e| format!("generating: {e}"))?;
    println!(
        "estate: {} entities, {} impact edges (edge factor {}), seed {:#x}: {} catalog files + {}, {:.1} MB, generated in {:.1} s",
        estate.entities,
        estate.edges,
        options.spec.edge_factor,
        options.spec.seed,
        estate.catalog_files,
        estate.rdf_file.file_name().and_then(|f| f.to_str()).unwrap_or("rdf"),
        estate.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!("  mid-target  {} ({} dependents)", estate.mid_target, estate.mid_dependents);
    println!("  core-target {} ({} dependents)", estate.core_target, estate.core_dependents);

    let flags = Flags { data_dir: Some(data_dir.clone()), ..Flags::default() };
    let mut config = Config::load_with(&flags, |_| None).map_err(|e| e.to_string())?;
    // One Turtle file holds every host and placement; let it in whatever the estate's size.
    config.max_document_bytes = config.max_document_bytes.max(4 * estate.bytes);
    let service = Service::open(&config).await.map_err(|e| e.to_string())?;
    let caller = Caller::admin("bench", service.scale());

    // Ingest: each call appends to the ledger and catches the projections up before returning.
    let catalog_dir = estate.catalog_dir.to_str().ok_or("estate path is not UTF-8")?;
    let rdf_file = estate.rdf_file.to_str().ok_or("estate path is not UTF-8")?;
    let t = Instant::now();
    let catalog = service.ingest(&caller, Source::Catalog, catalog_dir).await.map_err(|e| e.to_string())?;
    let catalog_time = t.elapsed();
    let t = Instant::now();
    let rdf = service.ingest(&caller, Source::Rdf, rdf_file).await.map_err(|e| e.to_string())?;
    let rdf_time = t.elapsed();
    let mut ok = true;
    for report in [&catalog, &rdf] {
        let problems = report.skipped.len() + report.warnings.len() + report.dangling.len();
        if report.failed() || problems > 0 {
            ok = false;
            eprintln!(
                "ingest {:?}: {} skipped, {} warnings, {} dangling; first: {:?}",
                report.source,
                report.skipped.len(),
                report.warnings.len(),
                report.dangling.len(),
                report.skipped.first().or(report.warnings.first()).map(|n| n.to_string())
            );
        }
    }
    let catalog_rate = catalog.entities as f64 / catalog_time.as_secs_f64();
    println!(
        "ingest: catalog {} entities in {} files: {:.1} s (ledger + projection catch-up) = {:.0} entities/s",
        catalog.entities,
        catalog.files,
        catalog_time.as_secs_f64(),
        catalog_rate
    );
    println!(
        "        rdf {} declared entities + placement in 1 file: {:.1} s; total {:.1} s",
        rdf.entities,
        rdf_time.as_secs_f64(),
        (catalog_time + rdf_time).as_secs_f64()
    );
    let health = service.health().await.map_err(|e| e.to_string())?;
    println!(
        "topology: {} entities, {} edges of every relation; graph: {} quads",
        health.entities,
        health.edges,
        service.projections().graph().quad_count().map_err(|e| e.to_string())?
    );

    service.projections().graph().flush().map_err(|e| e.to_string())?;
    let disk_open = DiskUse::of(&data_dir);
    println!("disk, open, after flush:  {disk_open}");

    let t = Instant::now();
    let mid = ask(
        &service,
        &caller,
        "mid-target",
        &estate.mid_target,
        estate.mid_dependents,
        Plan { query: options.mid_iters, path: options.path_mid_iters },
    )
    .await;
    let core = ask(
        &service,
        &caller,
        "core-target",
        &estate.core_target,
        estate.core_dependents,
        Plan { query: options.core_iters, path: options.path_core_iters },
    )
    .await;
    let resolve = measure(10, 200, async || service.resolve(&caller, &estate.core_target).map(|e| e.id.clone())).await;
    println!("timed in {:.1} s\n", t.elapsed().as_secs_f64());

    print_table(&[&mid, &core]);
    println!(
        "\ncore-target: name resolution p50 {}; the answer comes from the compact impact index (totals, and the \
         first {LIMIT} rows); the petgraph walk that lists all {} dependents takes p50 {}",
        ms(resolve.0.p50()),
        core.walk.1,
        ms(core.walk.0.p50()),
    );

    let ratio = core.ratio(&core.query.0);
    let fast = Duration::from_millis(10);
    let goal_ratio = ratio >= 100.0;
    let goal_fast = core.query.0.p50() < fast;
    println!(
        "goal: property path / FFO >= 100x for the large fan-out: {ratio:.0}x, {} (bare walk: {:.0}x)",
        met(goal_ratio),
        core.ratio(&core.walk.0)
    );
    println!(
        "goal: full fan-out ({} dependents) under 10 ms: FFO answer p50 {} / p99 {}, {}; bare walk p50 {} / p99 {}",
        core.expected,
        ms(core.query.0.p50()),
        ms(core.query.0.p99()),
        met(goal_fast),
        ms(core.walk.0.p50()),
        ms(core.walk.0.p99())
    );

    // What stays on disk once FFO stops: SQLite checkpoints its WAL when the last connection
    // closes; RocksDB keeps its write-ahead log until the store is next opened.
    service.close().await;
    drop(service);
    let disk = DiskUse::closed(&data_dir).await;
    println!("disk, closed:             {disk}");

    let agree = mid.agrees() && core.agrees();
    if !agree {
        eprintln!("the answers disagree: see the dependents columns");
    }
    let question = |q: &Question| {
        serde_json::json!({
            "target": q.target,
            "dependents": { "expected": q.expected, "ffo": q.query.1, "walk": q.walk.1, "property_path": q.path.1 },
            "ffo_ms": { "p50": msf(q.query.0.p50()), "p99": msf(q.query.0.p99()), "iters": q.query.0.times.len() },
            "walk_ms": { "p50": msf(q.walk.0.p50()), "p99": msf(q.walk.0.p99()), "iters": q.walk.0.times.len() },
            "property_path_ms": { "p50": msf(q.path.0.p50()), "p99": msf(q.path.0.p99()), "iters": q.path.0.times.len() },
            "ratio_property_path_over_ffo": q.ratio(&q.query.0),
            "ratio_property_path_over_walk": q.ratio(&q.walk.0),
        })
    };
    let json = serde_json::json!({
        "bench": "blast_radius",
        "entities": estate.entities,
        "impact_edges": estate.edges,
        "edge_factor": options.spec.edge_factor,
        "seed": options.spec.seed,
        "ingest": {
            "catalog_entities": catalog.entities,
            "catalog_s": catalog_time.as_secs_f64(),
            "catalog_entities_per_s": catalog_rate,
            "rdf_s": rdf_time.as_secs_f64(),
        },
        "disk_bytes_open": disk_open.json(),
        "disk_bytes_closed": disk.json(),
        "mid": question(&mid),
        "core": question(&core),
        "goals": { "ratio_at_least_100x": goal_ratio, "full_fan_out_under_10ms": goal_fast },
        "answers_agree": agree,
    });
    println!("\n{json}");
    Ok(ok && agree)
}

fn print_table(questions: &[&Question]) {
    println!(
        "{:<12} {:<34} {:>10} {:>10} {:>10} {:>6} {:>8}",
        "question", "answered by", "dependents", "p50", "p99", "iters", "path/x"
    );
    for q in questions {
        let rows = [
            ("FFO blast_radius (query layer)", &q.query),
            ("petgraph walk (full list)", &q.walk),
            ("SPARQL property path", &q.path),
        ];
        for (i, (by, (samples, found))) in rows.into_iter().enumerate() {
            let mark = if *found == q.expected { "" } else { " !=" };
            println!(
                "{:<12} {:<34} {:>10} {:>10} {:>10} {:>6} {:>7.0}x",
                if i == 0 { q.label } else { "" },
                by,
                format!("{found}{mark}"),
                ms(samples.p50()),
                ms(samples.p99()),
                samples.times.len(),
                q.ratio(samples)
            );
        }
    }
}

/// Bytes on disk under a data directory, by store.
struct DiskUse {
    total: u64,
    /// `ledger.sqlite*`, of which `ledger_wal` is SQLite's write-ahead log.
    ledger: u64,
    ledger_wal: u64,
    /// `graph/`, of which `graph_log` is RocksDB's write-ahead log (`*.log`).
    graph: u64,
    graph_log: u64,
    search: u64,
}

impl DiskUse {
    fn of(data_dir: &Path) -> DiskUse {
        let name_is = |p: &Path, f: &dyn Fn(&str) -> bool| p.file_name().and_then(|n| n.to_str()).is_some_and(f);
        let ledger = |p: &Path| name_is(p, &|n| n.starts_with("ledger.sqlite"));
        let top = |p: &Path| p.parent() == Some(data_dir);
        DiskUse {
            total: size(data_dir, &|_| true),
            ledger: size(data_dir, &|p| top(p) && ledger(p)),
            ledger_wal: size(&data_dir.join("ledger.sqlite-wal"), &|_| true),
            graph: size(&data_dir.join("graph"), &|_| true),
            graph_log: size(&data_dir.join("graph"), &|p| name_is(p, &|n| n.ends_with(".log"))),
            search: size(&data_dir.join("search"), &|_| true),
        }
    }

    /// Sizes once the stores have let go of the folder (a closing SQLite pool checkpoints its
    /// WAL in the background): waits up to 5 s for the WAL to empty.
    async fn closed(data_dir: &Path) -> DiskUse {
        let wal = data_dir.join("ledger.sqlite-wal");
        for _ in 0..50 {
            if size(&wal, &|_| true) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        DiskUse::of(data_dir)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "total": self.total,
            "ledger": self.ledger,
            "ledger_wal": self.ledger_wal,
            "graph": self.graph,
            "graph_wal": self.graph_log,
            "search": self.search,
        })
    }
}

impl std::fmt::Display for DiskUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} total: ledger.sqlite* {} (WAL {}), graph/ {} (RocksDB WAL {}), search/ {}, other {}",
            mb(self.total),
            mb(self.ledger),
            mb(self.ledger_wal),
            mb(self.graph),
            mb(self.graph_log),
            mb(self.search),
            mb(self.total - self.ledger - self.graph - self.search)
        )
    }
}

/// Apparent size of the files under `path` (or of `path` itself) that `keep` accepts.
fn size(path: &Path, keep: &dyn Fn(&Path) -> bool) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return if keep(path) { meta.len() } else { 0 };
    }
    std::fs::read_dir(path).map(|entries| entries.flatten().map(|e| size(&e.path(), keep)).sum()).unwrap_or(0)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", msf(d))
}

fn msf(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn met(yes: bool) -> &'static str {
    if yes { "met" } else { "NOT met" }
}
