//! Read-only SPARQL for people and agents: bound the query's shape before
//! parsing, parse, refuse updates, bound the time and the size of an
//! answer, serialise in the negotiated format.
//!
//! A query is text from outside, and the evaluator has two ways to take a
//! process down that a timeout cannot stop: recursion (a deeply nested
//! query overflows the stack) and work it does without ever checking its
//! cancellation token (a cartesian product aggregated in memory). So the
//! shape is bounded before parsing, and in `ffo serve` every query runs in
//! a worker process (`ffo sparql-worker`) on a snapshot of the store, with
//! a memory limit; at the deadline the worker is killed. Where there is no
//! worker binary (the library in benchmarks), it runs on a thread whose
//! stack is far larger than the bounded shape can need.

use std::sync::mpsc;
use std::time::Duration;

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;

/// The formats an answer can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    Json,
    Xml,
    Csv,
    Tsv,
}

impl ResultFormat {
    /// From an HTTP `Accept` header or a `format` parameter; JSON when nothing matches.
    pub fn negotiate(accept: &str) -> ResultFormat {
        let accept = accept.to_ascii_lowercase();
        if accept.contains("sparql-results+xml") || accept == "xml" {
            ResultFormat::Xml
        } else if accept.contains("text/csv") || accept == "csv" {
            ResultFormat::Csv
        } else if accept.contains("tab-separated-values") || accept == "tsv" {
            ResultFormat::Tsv
        } else {
            ResultFormat::Json
        }
    }

    fn results_format(self) -> QueryResultsFormat {
        match self {
            ResultFormat::Json => QueryResultsFormat::Json,
            ResultFormat::Xml => QueryResultsFormat::Xml,
            ResultFormat::Csv => QueryResultsFormat::Csv,
            ResultFormat::Tsv => QueryResultsFormat::Tsv,
        }
    }
}

/// Bounds on one query.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Duration,
    pub max_rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { timeout: Duration::from_secs(10), max_rows: 10_000 }
    }
}

/// The longest query text accepted.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// The deepest nesting of `{`, `(` and `[` accepted.
pub const MAX_NESTING: usize = 64;
/// The longest run of prefix operators (`!`, `-`, `+`, `^`) accepted.
pub const MAX_PREFIX_RUN: usize = 16;
/// Path operators (`|`, `/`) in one query.
pub const MAX_PATH_OPERATORS: usize = 256;
/// The stack of the thread a query is parsed and evaluated on: with the
/// shape bounded as above, recursion stays far below it.
const QUERY_STACK: usize = 256 * 1024 * 1024;

/// Refuses, before any parsing, a query whose shape could exhaust the
/// parser's or the evaluator's stack. Strings, IRIs and comments are
/// skipped, so their content never counts.
pub fn check_shape(query: &str) -> Result<(), SparqlError> {
    let refuse = |why: String| Err(SparqlError::TooComplex(why));
    if query.len() > MAX_QUERY_BYTES {
        return refuse(format!("it is {} bytes, over the {MAX_QUERY_BYTES}-byte limit", query.len()));
    }
    let bytes = query.as_bytes();
    let (mut depth, mut prefix_run, mut paths) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                // Long strings ("""...""") and short ones, with escapes.
                let long = bytes[i..].starts_with(&[c, c, c]);
                i += if long { 3 } else { 1 };
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if long && bytes[i..].starts_with(&[c, c, c]) {
                        i += 3;
                        break;
                    }
                    if !long && (bytes[i] == c || bytes[i] == b'\n') {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                prefix_run = 0;
                continue;
            }
            b'<' => {
                // An IRI only if every byte up to '>' may be in one (as the
                // grammar's IRIREF says); otherwise '<' is a comparison and
                // what follows is counted like any other text.
                let iri_len = bytes[i + 1..]
                    .iter()
                    .position(|b| *b <= b' ' || b"<>\"{}|^`\\".contains(b))
                    .filter(|p| bytes[i + 1 + p] == b'>');
                if let Some(len) = iri_len {
                    i += len + 2;
                    prefix_run = 0;
                    continue;
                }
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return refuse(format!("it nests brackets more than {MAX_NESTING} deep"));
                }
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            b'|' | b'/' => {
                paths += 1;
                if paths > MAX_PATH_OPERATORS {
                    return refuse(format!("it has more than {MAX_PATH_OPERATORS} property-path operators"));
                }
            }
            _ => {}
        }
        if matches!(c, b'!' | b'-' | b'+' | b'^') {
            prefix_run += 1;
            if prefix_run > MAX_PREFIX_RUN {
                return refuse(format!("it chains more than {MAX_PREFIX_RUN} operators in a row"));
            }
        } else if !c.is_ascii_whitespace() {
            prefix_run = 0;
        }
        i += 1;
    }
    Ok(())
}

/// Runs `work` on a thread with a stack large enough for any query that
/// passed [`check_shape`].
pub fn on_query_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, SparqlError> {
    std::thread::Builder::new()
        .name("ffo-sparql".into())
        .stack_size(QUERY_STACK)
        .spawn(work)
        .map_err(|e| SparqlError::Evaluation(format!("cannot start the query thread: {e}")))?
        .join()
        .map_err(|_| SparqlError::Evaluation("the query failed unexpectedly".into()))
}

/// A serialised answer and its media type.
#[derive(Debug, Clone)]
pub struct SparqlOutput {
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub rows: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SparqlError {
    #[error("SPARQL syntax error: {0}")]
    Syntax(String),
    #[error("SPARQL query refused: {0}")]
    TooComplex(String),
    #[error("SPARQL updates are refused: this endpoint is read-only (query with SELECT, ASK, CONSTRUCT or DESCRIBE)")]
    UpdateRefused,
    #[error("SPARQL query ran past {0:?} and was stopped; narrow it or add a LIMIT")]
    Timeout(Duration),
    #[error("SPARQL answer has more than {0} rows; add a LIMIT")]
    TooLarge(usize),
    #[error("SPARQL evaluation failed: {0}")]
    Evaluation(String),
}

pub(super) fn run(
    store: &Store,
    query: &str,
    format: ResultFormat,
    limits: &Limits,
) -> Result<SparqlOutput, SparqlError> {
    check_shape(query)?;
    let token = CancellationToken::new();
    let prepared = match SparqlEvaluator::new().with_cancellation_token(token.clone()).parse_query(query) {
        Ok(q) => q,
        Err(e) => {
            if SparqlEvaluator::new().parse_update(query).is_ok() {
                return Err(SparqlError::UpdateRefused);
            }
            return Err(SparqlError::Syntax(e.to_string()));
        }
    };
    let mut prepared = prepared;
    // Without FROM, a query sees every document's graph as one default graph.
    if prepared.dataset().is_default_dataset() {
        prepared.dataset_mut().set_default_graph_as_union();
    }

    // A watchdog cancels the evaluation at the deadline; dropping `_done`
    // when we return lets it end early.
    let (_done, wait) = mpsc::channel::<()>();
    let watchdog = token.clone();
    let timeout = limits.timeout;
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(timeout) {
            watchdog.cancel();
        }
    });
    let map_eval = |e: oxigraph::sparql::QueryEvaluationError| {
        if token.is_cancelled() { SparqlError::Timeout(timeout) } else { SparqlError::Evaluation(e.to_string()) }
    };

    let results = prepared.on_store(store).execute().map_err(map_eval)?;
    let io = |e: std::io::Error| SparqlError::Evaluation(e.to_string());
    match results {
        QueryResults::Boolean(value) => {
            let body = QueryResultsSerializer::from_format(format.results_format())
                .serialize_boolean_to_writer(Vec::new(), value)
                .map_err(io)?;
            Ok(SparqlOutput { content_type: format.results_format().media_type(), body, rows: 1 })
        }
        QueryResults::Solutions(solutions) => {
            let mut out = QueryResultsSerializer::from_format(format.results_format())
                .serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec())
                .map_err(io)?;
            let mut rows = 0;
            for solution in solutions {
                let solution = solution.map_err(map_eval)?;
                rows += 1;
                if rows > limits.max_rows {
                    return Err(SparqlError::TooLarge(limits.max_rows));
                }
                out.serialize(&solution).map_err(io)?;
            }
            Ok(SparqlOutput {
                content_type: format.results_format().media_type(),
                body: out.finish().map_err(io)?,
                rows,
            })
        }
        QueryResults::Graph(triples) => {
            let mut out = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
            let mut rows = 0;
            for triple in triples {
                let triple = triple.map_err(map_eval)?;
                rows += 1;
                if rows > limits.max_rows {
                    return Err(SparqlError::TooLarge(limits.max_rows));
                }
                out.serialize_triple(&triple).map_err(io)?;
            }
            Ok(SparqlOutput { content_type: "application/n-triples", body: out.finish().map_err(io)?, rows })
        }
    }
}

/// A read-only copy of the store (a RocksDB checkpoint: hard links, cheap)
/// for worker processes; removed when its last user is done with it.
#[derive(Debug)]
pub struct Snapshot {
    pub dir: std::path::PathBuf,
    /// The store's generation it copies.
    pub generation: u64,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove a SPARQL snapshot");
        }
    }
}

/// How a worker ended, as one JSON line on its stderr.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct WorkerStatus {
    pub ok: bool,
    #[serde(default)]
    pub rows: usize,
    #[serde(default)]
    pub content_type: String,
    /// `syntax`, `update`, `too_complex`, `timeout`, `too_large`, `evaluation`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

impl WorkerStatus {
    fn failed(e: &SparqlError) -> WorkerStatus {
        let kind = match e {
            SparqlError::Syntax(_) => "syntax",
            SparqlError::TooComplex(_) => "too_complex",
            SparqlError::UpdateRefused => "update",
            SparqlError::Timeout(_) => "timeout",
            SparqlError::TooLarge(_) => "too_large",
            SparqlError::Evaluation(_) => "evaluation",
        };
        let message = match e {
            SparqlError::Syntax(m) | SparqlError::TooComplex(m) | SparqlError::Evaluation(m) => m.clone(),
            _ => String::new(),
        };
        WorkerStatus { ok: false, rows: 0, content_type: String::new(), kind: kind.into(), message }
    }

    /// The error a failed worker reported.
    pub fn into_error(self, limits: &Limits) -> SparqlError {
        match self.kind.as_str() {
            "syntax" => SparqlError::Syntax(self.message),
            "too_complex" => SparqlError::TooComplex(self.message),
            "update" => SparqlError::UpdateRefused,
            "timeout" => SparqlError::Timeout(limits.timeout),
            "too_large" => SparqlError::TooLarge(limits.max_rows),
            _ => SparqlError::Evaluation(self.message),
        }
    }
}

/// The format's name on a worker's command line, and its media type.
impl ResultFormat {
    pub fn media_type(self) -> &'static str {
        self.results_format().media_type()
    }

    pub fn name(self) -> &'static str {
        match self {
            ResultFormat::Json => "json",
            ResultFormat::Xml => "xml",
            ResultFormat::Csv => "csv",
            ResultFormat::Tsv => "tsv",
        }
    }
}

/// Memory a worker may use for data (RLIMIT_DATA): a query that would need
/// more fails in the worker, never in the server.
const WORKER_MEMORY: u64 = 2 * 1024 * 1024 * 1024;

/// The worker process (`ffo sparql-worker`): reads one query from stdin,
/// runs it on the store snapshot at `store`, writes the answer to stdout
/// and a [`WorkerStatus`] line to stderr. Returns the exit code.
pub fn worker(store: &std::path::Path, format: ResultFormat, limits: &Limits) -> i32 {
    use std::io::{Read, Write};
    // SAFETY: setrlimit only reads the struct it is given.
    unsafe {
        let limit = libc::rlimit { rlim_cur: WORKER_MEMORY, rlim_max: WORKER_MEMORY };
        libc::setrlimit(libc::RLIMIT_DATA, &limit);
    }
    let mut query = String::new();
    let status = match std::io::stdin().take(MAX_QUERY_BYTES as u64 + 1).read_to_string(&mut query) {
        Err(e) => Err(SparqlError::Evaluation(format!("cannot read the query: {e}"))),
        Ok(_) => Store::open_read_only(store)
            .map_err(|e| SparqlError::Evaluation(format!("cannot open the snapshot: {e}")))
            .and_then(|store| {
                let limits = limits.clone();
                on_query_stack(move || run(&store, &query, format, &limits))?
            }),
    };
    let (line, code) = match &status {
        Ok(out) => {
            if std::io::stdout().write_all(&out.body).and_then(|()| std::io::stdout().flush()).is_err() {
                return 3;
            }
            let s = WorkerStatus {
                ok: true,
                rows: out.rows,
                content_type: out.content_type.to_string(),
                kind: String::new(),
                message: String::new(),
            };
            (s, 0)
        }
        Err(e) => (WorkerStatus::failed(e), 2),
    };
    let _ = writeln!(std::io::stderr(), "{}", serde_json::to_string(&line).unwrap_or_default());
    code
}
