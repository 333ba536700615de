//! What the benchmarks share: timing with percentiles, a working directory,
//! a query layer over a data directory, sizes on disk, and SQLite FTS5 as the
//! point of comparison for search.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ffo::config::{Config, Flags};
use ffo::context::Service;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// Timings of one way of doing one thing, sorted fastest first.
pub struct Samples {
    pub times: Vec<Duration>,
}

impl Samples {
    pub fn new(mut times: Vec<Duration>) -> Samples {
        times.sort();
        Samples { times }
    }

    /// Nearest-rank percentile (`p` in 0..=1).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.times.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p * self.times.len() as f64).ceil() as usize).clamp(1, self.times.len());
        self.times[rank - 1]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(0.50)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(0.99)
    }
}

/// Runs `f` `warmup` times untimed, then `iters` times timed.
pub async fn measure<T>(warmup: usize, iters: usize, mut f: impl AsyncFnMut() -> T) -> (Samples, Option<T>) {
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
    (Samples::new(times), last)
}

pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

pub fn p50_p99(s: &Samples) -> String {
    format!("{:.2} / {:.2} ms", ms(s.p50()), ms(s.p99()))
}

/// A working directory: `keep` if given (kept), else a temporary one.
pub fn workdir(keep: Option<PathBuf>) -> Result<(Option<tempfile::TempDir>, PathBuf), String> {
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            Ok((None, dir))
        }
        None => {
            let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            let path = tmp.path().to_path_buf();
            Ok((Some(tmp), path))
        }
    }
}

/// The query layer over `data`, on SQLite or the given ledger URL. Set
/// FFO_LOG (e.g. `ffo=info`) to see what it does.
pub async fn service(data: &Path, ledger_url: Option<&str>) -> Result<Service, String> {
    if let Ok(filter) = std::env::var("FFO_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
    }
    let mut config = Config::load_with(&Flags { data_dir: Some(data.to_path_buf()), ..Flags::default() }, |_| None)
        .map_err(|e| e.to_string())?;
    config.ledger_url = ledger_url.map(str::to_string);
    Service::open(&config).await.map_err(|e| e.to_string())
}

/// Bytes under `path`.
pub fn dir_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.filter_map(Result::ok).map(|e| dir_size(&e.path())).sum())
        .unwrap_or(0)
}

/// The data directory's size, in all and per store.
pub fn sizes(data: &Path) -> String {
    let mb = |b: u64| b as f64 / 1_048_576.0;
    let ledger: u64 =
        ["ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"].iter().map(|f| dir_size(&data.join(f))).sum();
    format!(
        "{:.0} MiB (ledger {:.0} MiB, graph {:.0} MiB, search {:.0} MiB)",
        mb(dir_size(data)),
        mb(ledger),
        mb(dir_size(&data.join("graph"))),
        mb(dir_size(&data.join("search")))
    )
}

/// An FTS5 table of (title, body) on disk, filled with `docs`.
pub async fn fts5<'a>(path: &Path, docs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<SqlitePool, String> {
    let _ = std::fs::remove_file(path);
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
    let pool = SqlitePool::connect_with(options).await.map_err(|e| e.to_string())?;
    let e = |e: sqlx::Error| e.to_string();
    sqlx::query("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize = 'porter unicode61')")
        .execute(&pool)
        .await
        .map_err(e)?;
    let mut tx = pool.begin().await.map_err(e)?;
    for (title, body) in docs {
        sqlx::query("INSERT INTO docs (title, body) VALUES ($1, $2)")
            .bind(title)
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(e)?;
    }
    tx.commit().await.map_err(e)?;
    sqlx::query("INSERT INTO docs(docs) VALUES('optimize')").execute(&pool).await.map_err(e)?;
    Ok(pool)
}

/// The top ten of a query in FTS5, ranked by bm25 with the title weighted
/// as FFO weights it (3:1); the words joined with OR, as FFO joins them.
pub async fn fts5_query(pool: &SqlitePool, words: &str) -> usize {
    let q = words.split_whitespace().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" OR ");
    sqlx::query("SELECT rowid, bm25(docs, 3.0, 1.0) AS s FROM docs WHERE docs MATCH $1 ORDER BY s LIMIT 10")
        .bind(q)
        .fetch_all(pool)
        .await
        .map(|rows| rows.iter().filter_map(|r| r.try_get::<i64, _>(0).ok()).count())
        .unwrap_or(0)
}
