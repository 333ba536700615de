//! The query layer: every question any face asks goes through [`Service`],
//! with the [`Caller`] who asks. It resolves names, enforces scopes and
//! clearance, records the call in the audit log, and answers from the
//! projections. Nothing here knows MCP, HTTP or the terminal.

mod action;
mod blast;
mod changes;
mod check;
mod entity;
mod search;
mod write;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{Caller, Scope};
use crate::config::{Config, Limits};
use crate::graph::{ResultFormat, SparqlError, SparqlOutput};
use crate::ingest::{IngestConfig, IngestError, MappingError, Report};
use crate::ledger::{AuditRecord, Ledger, LedgerError};
use crate::model::{ClassificationScale, EntityId, Seq, Source};
use crate::projection::{ProjectionError, Projections};
use crate::topology::{Candidate, EntityInfo, Resolution, Topology};

pub use action::{
    ActionContext, ActionNote, ActionRequest, ActiveWindow, AlertHistory, DEFAULT_LOOKBACK_DAYS, KnownCause, Neighbour,
    Place, PolicyItem, Ranked, Suspect, Targeting, alert_words,
};
pub use blast::{BlastOptions, BlastRadius, Totals};
pub use changes::ChangeInput;
pub use check::{CheckReport, UnknownLevel};
pub use entity::{DocLink, EntityView, Fact, Link, Provenance};
pub use search::{DocumentView, SearchAnswer, SearchRequest, parse_when};
pub use write::{AlertRecorded, OutcomeRequest, OutcomeWritten};

/// The one error type of the query layer; faces map it to a status.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// `hidden`: it exists above the caller's clearance. The caller is told
    /// exactly what they would hear for a typo; only the audit log differs.
    #[error("no entity matches {query:?}{}", hint(candidates))]
    UnknownEntity { query: String, candidates: Vec<Candidate>, hidden: bool },
    #[error("no document {id:?}; document ids look like jira:OPS-123 or confluence:458753")]
    UnknownDocument { id: String, hidden: bool },
    #[error("{query:?} is ambiguous: it matches {}; ask again with one of those ids", list(candidates))]
    Ambiguous { query: String, candidates: Vec<Candidate> },
    #[error("{caller} lacks the {needed} scope for {what}")]
    Forbidden { caller: String, needed: Scope, what: &'static str },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Sparql(#[from] SparqlError),
    #[error(transparent)]
    Ingest(IngestError),
    #[error(
        "the question ran past {0:?} and was stopped; narrow it (a smaller limit, a shorter time range) and ask again"
    )]
    Timeout(Duration),
    #[error("internal error: {0}")]
    Internal(String),
}

fn list(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| {
            let kind = c.entity.kind.map(|k| k.label()).unwrap_or("entity");
            format!("{} ({kind}, by {} {:?})", c.entity.id, c.matched.as_str(), c.via)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hint(candidates: &[Candidate]) -> String {
    if candidates.is_empty() {
        "; give an id (kind:namespace/name), a name or an alias".to_string()
    } else {
        format!("; did you mean {}?", list(candidates))
    }
}

impl From<IngestError> for QueryError {
    fn from(e: IngestError) -> QueryError {
        match e {
            // The store failing is not the input's fault.
            IngestError::Ledger(e) => QueryError::Internal(e.to_string()),
            other => QueryError::Ingest(other),
        }
    }
}

impl From<LedgerError> for QueryError {
    fn from(e: LedgerError) -> QueryError {
        QueryError::Internal(e.to_string())
    }
}

impl From<ProjectionError> for QueryError {
    fn from(e: ProjectionError) -> QueryError {
        QueryError::Internal(e.to_string())
    }
}

impl From<crate::graph::GraphError> for QueryError {
    fn from(e: crate::graph::GraphError) -> QueryError {
        QueryError::Internal(e.to_string())
    }
}

impl QueryError {
    /// A short machine-readable code, the same on every face.
    pub fn code(&self) -> &'static str {
        match self {
            QueryError::UnknownEntity { .. } => "unknown_entity",
            QueryError::UnknownDocument { .. } => "unknown_document",
            QueryError::Ambiguous { .. } => "ambiguous_entity",
            QueryError::Forbidden { .. } => "forbidden",
            QueryError::BadRequest(_) => "bad_request",
            QueryError::Conflict(_) => "conflict",
            QueryError::Sparql(SparqlError::UpdateRefused) => "update_refused",
            QueryError::Sparql(SparqlError::Timeout(_)) | QueryError::Timeout(_) => "timeout",
            QueryError::Sparql(_) => "bad_query",
            QueryError::Ingest(_) => "bad_input",
            QueryError::Internal(_) => "internal",
        }
    }

    /// The outcome the audit log records: the code, except that a lookup
    /// of something hidden from the caller is told apart from a typo.
    pub fn audit_code(&self) -> &'static str {
        match self {
            QueryError::UnknownEntity { hidden: true, .. } => "hidden_entity",
            QueryError::UnknownDocument { hidden: true, .. } => "hidden_document",
            other => other.code(),
        }
    }

    /// Candidates an unknown or ambiguous entity came with.
    pub fn candidates(&self) -> &[Candidate] {
        match self {
            QueryError::UnknownEntity { candidates, .. } | QueryError::Ambiguous { candidates, .. } => candidates,
            _ => &[],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{error}{hint}", error = .0, hint = lock_hint(.0))]
    Projection(ProjectionError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

fn lock_hint(e: &ProjectionError) -> &'static str {
    if e.to_string().to_ascii_lowercase().contains("lock") {
        "; another ffo process (ffo serve?) is using this data directory: stop it, or ask it over HTTP"
    } else {
        ""
    }
}

/// Credentials for live pulls.
#[derive(Debug, Clone, Default)]
struct SourceTokens {
    jira: Option<String>,
    confluence: Option<String>,
}

/// Health of the stores, for `/healthz`.
#[derive(Debug, Clone)]
pub struct Health {
    pub ledger_head: Seq,
    pub applied: Seq,
    pub entities: usize,
    pub edges: usize,
    pub shared_ledger: bool,
}

/// Failed sign-ins recorded one by one per second; more are counted.
pub const SIGN_IN_ROWS_PER_SECOND: u32 = 20;

struct SignInThrottle {
    window: std::time::Instant,
    written: u32,
    folded: u32,
}

/// The query layer over one data directory.
pub struct Service {
    ledger: Ledger,
    tokens: SourceTokens,
    /// The entity linker, with the topology generation it was built at.
    linker_cache: std::sync::Mutex<Option<(u64, Arc<crate::ingest::linking::Linker>)>>,
    projections: Arc<Projections>,
    ingest: IngestConfig,
    scale: ClassificationScale,
    limits: Limits,
    /// The `ffo` binary, to run SPARQL in worker processes; `None` runs it
    /// in this process (the library without its binary).
    sparql_worker: Option<std::path::PathBuf>,
    /// How far before an alert changes are suspects.
    lookback: chrono::Duration,
    sign_in_throttle: std::sync::Mutex<SignInThrottle>,
    /// Slots for CPU-bound work (see [`Limits::concurrent`]).
    compute_slots: tokio::sync::Semaphore,
    /// Past views (`as_of`), built one at a time and the newest few kept.
    past: action::PastViews,
}

impl Service {
    /// Opens the ledger and projections and catches the projections up.
    pub async fn open(config: &Config) -> Result<Service, OpenError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| OpenError::DataDir { path: config.data_dir.clone(), source })?;
        let ledger = match &config.ledger_url {
            Some(url) => Ledger::connect(url).await?,
            None => Ledger::open_in(&config.data_dir).await?,
        };
        let projections = Projections::open(&config.data_dir, config.scale.clone()).map_err(OpenError::Projection)?;
        projections.catch_up(&ledger).await.map_err(OpenError::Projection)?;
        let mut ingest =
            IngestConfig::load(config.mappings.as_deref(), config.scale.clone(), config.max_document_bytes)?;
        ingest.max_export_bytes = config.max_export_bytes;
        Ok(Service {
            ledger,
            linker_cache: std::sync::Mutex::new(None),
            tokens: SourceTokens { jira: config.jira_token.clone(), confluence: config.confluence_token.clone() },
            projections: Arc::new(projections),
            ingest,
            scale: config.scale.clone(),
            compute_slots: tokio::sync::Semaphore::new(config.limits.concurrent.max(1)),
            past: action::PastViews::new(config.limits.concurrent_as_of.max(1)),
            limits: config.limits.clone(),
            sparql_worker: config.sparql_worker.clone(),
            lookback: chrono::Duration::from_std(config.change_lookback).unwrap_or(chrono::Duration::days(7)),
            sign_in_throttle: std::sync::Mutex::new(SignInThrottle {
                window: std::time::Instant::now(),
                written: 0,
                folded: 0,
            }),
        })
    }

    /// Runs one question: stopped at the timeout (dropping the future stops
    /// its work: CPU-bound parts run in short [`Service::compute`] steps,
    /// SPARQL in a process that is killed), a panic turned into an internal
    /// error the caller and the audit log see.
    pub(crate) async fn guard<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, QueryError>>,
    ) -> Result<T, QueryError> {
        use futures::FutureExt;
        match tokio::time::timeout(self.limits.timeout, std::panic::AssertUnwindSafe(work).catch_unwind()).await {
            Err(_) => Err(QueryError::Timeout(self.limits.timeout)),
            Ok(Err(panic)) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string());
                tracing::error!(%message, "a question panicked");
                Err(QueryError::Internal(format!("the question failed unexpectedly: {message}")))
            }
            Ok(Ok(result)) => result,
        }
    }

    /// CPU-bound work: waits for a slot, then runs on this thread with the
    /// runtime told that it blocks, so other tasks move to other workers.
    pub(crate) async fn compute<T>(&self, work: impl FnOnce() -> Result<T, QueryError>) -> Result<T, QueryError> {
        let _slot = self.compute_slots.acquire().await.map_err(|e| QueryError::Internal(e.to_string()))?;
        tokio::task::block_in_place(work)
    }

    /// Keeps projections current in the background (for `ffo serve`).
    pub fn follow_ledger(&self, poll: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.projections.clone().follow(self.ledger.clone(), poll))
    }

    /// Commits every pending audit record (call before the process exits).
    pub async fn close(&self) {
        if let Err(e) = self.ledger.flush().await {
            tracing::warn!(error = %e, "could not flush the ledger at exit");
        }
    }

    pub fn scale(&self) -> &ClassificationScale {
        &self.scale
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    pub async fn health(&self) -> Result<Health, QueryError> {
        let (entities, edges) = {
            let topo = self.projections.topology();
            (topo.entity_count(), topo.edge_count())
        };
        Ok(Health {
            ledger_head: self.ledger.head().await?,
            applied: self.projections.applied(),
            entities,
            edges,
            shared_ledger: self.ledger.is_shared(),
        })
    }

    /// Ingests a source from a path (or, for Jira and Confluence, a base
    /// URL), then brings the projections up to date.
    pub async fn ingest(&self, caller: &Caller, source: Source, target: &str) -> Result<Report, QueryError> {
        let result = self.ingest_inner(caller, source, target).await;
        self.record_now(caller, "ingest", &result, Some(format!("{source} {target}"))).await;
        result
    }

    async fn ingest_inner(&self, caller: &Caller, source: Source, target: &str) -> Result<Report, QueryError> {
        require(caller, Scope::Write, "ingest")?;
        let path = Path::new(target);
        let started = std::time::Instant::now();
        // Project while the source is still being read: the two run on
        // different cores, so a large import takes the longer of the two,
        // not their sum.
        let follower = {
            let (projections, ledger) = (self.projections.clone(), self.ledger.clone());
            let mut appended = ledger.subscribe();
            tokio::spawn(async move {
                while appended.changed().await.is_ok() {
                    if let Err(e) = projections.catch_up(&ledger).await {
                        tracing::warn!(error = %e, "projection during ingest failed; retried at the end");
                    }
                }
            })
        };
        let report = self.ingest_source(source, target, path).await;
        follower.abort();
        let mut report = report?;
        let written = started.elapsed();
        self.projections.catch_up(&self.ledger).await?;
        // Names a catalog import makes known may resolve stored changes.
        if source == Source::Catalog {
            let relinked = self.relink_changes().await?;
            report.relinked = relinked.linked.len();
            for (doc, affects) in relinked.linked {
                let ids: Vec<String> = affects.iter().map(EntityId::to_string).collect();
                report.notes.push(crate::ingest::Note {
                    at: doc.to_string(),
                    message: format!("linked again: now affects {}", ids.join(", ")),
                });
            }
        }
        tracing::info!(
            %source,
            documents = report.documents,
            written = report.written,
            read_ms = written.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "ingested"
        );
        Ok(report)
    }

    /// Reads a source into the ledger.
    async fn ingest_source(&self, source: Source, target: &str, path: &Path) -> Result<Report, QueryError> {
        use crate::ingest;
        Ok(match source {
            Source::Catalog => {
                let known = |id: &EntityId| self.projections.topology().get(id).is_some_and(|e| e.declared());
                ingest::catalog::ingest(&self.ledger, path, &self.ingest, &known).await?
            }
            Source::Rdf => ingest::rdf::ingest(&self.ledger, path, &self.ingest).await?,
            Source::Runbooks => ingest::runbooks::ingest(&self.ledger, path, &self.ingest, &self.linker()).await?,
            Source::Postmortems => {
                ingest::postmortems::ingest(&self.ledger, path, &self.ingest, &self.linker()).await?
            }
            Source::Jira => {
                let token = self.tokens.jira.as_deref();
                let refs = changes::TopologyRefs(&self.projections);
                ingest::jira::ingest(&self.ledger, target, &self.ingest, &self.linker(), &refs, token).await?
            }
            Source::Confluence => {
                let token = self.tokens.confluence.as_deref();
                ingest::confluence::ingest(&self.ledger, target, &self.ingest, &self.linker(), token).await?
            }
            Source::Changes => {
                let (linker, refs) = (self.linker(), changes::TopologyRefs(&self.projections));
                let cx = ingest::changes::Context { config: &self.ingest, linker: &linker, refs: &refs, format: None };
                ingest::changes::ingest_path(&self.ledger, path, &cx).await?.report
            }
            Source::Outcome | Source::Alert => {
                return Err(QueryError::BadRequest(format!(
                    "{source} is not ingested from files; sources: catalog, rdf, runbooks, postmortems, jira, confluence, changes"
                )));
            }
        })
    }

    /// Drops every projection and rebuilds it from the ledger.
    pub async fn rebuild(&self, caller: &Caller) -> Result<Seq, QueryError> {
        let result = async {
            require(caller, Scope::Admin, "rebuild")?;
            Ok(self.projections.rebuild(&self.ledger).await?)
        }
        .await;
        self.record_now(caller, "rebuild", &result, None).await;
        result
    }

    /// Runs a read-only SPARQL query.
    pub async fn sparql(&self, caller: &Caller, query: &str, format: ResultFormat) -> Result<SparqlOutput, QueryError> {
        let result = async {
            require(caller, Scope::Read, "sparql")?;
            // SPARQL can reach any statement; only a caller cleared for
            // everything may use it, so nothing above a clearance leaks.
            if caller.clearance != *self.scale.highest() {
                return Err(QueryError::Forbidden {
                    caller: caller.name.clone(),
                    needed: Scope::Admin,
                    what: "SPARQL (it needs clearance at the highest level)",
                });
            }
            crate::graph::check_shape(query)?;
            let limits = crate::graph::Limits::default();
            let snapshot = match &self.sparql_worker {
                Some(_) => self.compute(|| Ok(self.projections.graph().snapshot()?)).await?,
                None => None,
            };
            match (&self.sparql_worker, snapshot) {
                (Some(exe), Some(snapshot)) => sparql_in_worker(exe, &snapshot, query, format, &limits).await,
                _ => {
                    let projections = self.projections.clone();
                    let query = query.to_string();
                    let run = move || {
                        crate::graph::on_query_stack(move || projections.graph().sparql(&query, format, &limits))
                    };
                    tokio::task::spawn_blocking(run)
                        .await
                        .map_err(|e| QueryError::Internal(e.to_string()))?
                        .and_then(|r| r)
                        .map_err(QueryError::from)
                }
            }
        }
        .await;
        self.record(caller, "sparql_query", &result, None);
        result
    }

    /// The newest audit records (administrators only).
    pub async fn audit_log(&self, caller: &Caller, limit: i64) -> Result<Vec<crate::ledger::AuditRow>, QueryError> {
        require(caller, Scope::Admin, "the audit log")?;
        Ok(self.ledger.audit_tail(limit.clamp(1, 10_000)).await?)
    }

    /// Every declared entity the caller may see, in id order.
    pub fn visible_entities(&self, caller: &Caller) -> Vec<Arc<EntityInfo>> {
        self.projections
            .topology()
            .entities()
            .into_iter()
            .filter(|e| e.declared() && visible(&self.scale, caller, e))
            .collect()
    }

    /// Resolves an entity reference the caller may see.
    pub fn resolve(&self, caller: &Caller, query: &str) -> Result<Arc<EntityInfo>, QueryError> {
        let topo = self.projections.topology();
        resolve_in(&topo, &self.scale, caller, query)
    }

    /// Records a read in the audit log (joins the next group commit).
    pub(crate) fn record<T>(
        &self,
        caller: &Caller,
        tool: &'static str,
        result: &Result<T, QueryError>,
        detail: Option<String>,
    ) {
        self.ledger.audit_later(audit_record(caller, tool, result, detail));
    }

    /// Records a refused sign-in: a face could not identify its caller.
    /// `reason` is a short code (`missing_token`, `expired`, …); neither it
    /// nor `detail` may carry the credential.
    ///
    /// At most [`SIGN_IN_ROWS_PER_SECOND`] rows a second: a flood of bad
    /// sign-ins must not grow the append-only ledger without bound. Past
    /// that, failures are counted and one row says how many were folded.
    pub fn record_sign_in_failure(&self, face: &str, reason: &str, detail: String) {
        let folded = {
            let mut t = self.sign_in_throttle.lock().unwrap_or_else(|e| e.into_inner());
            let now = std::time::Instant::now();
            if now.duration_since(t.window) >= Duration::from_secs(1) {
                let folded = t.folded;
                *t = SignInThrottle { window: now, written: 0, folded: 0 };
                folded
            } else {
                0
            }
        };
        if folded > 0 {
            let note = format!("{folded} more failed sign-ins in one second, not recorded one by one");
            self.ledger.audit_later(AuditRecord::now("anonymous", face, "sign_in", "folded", Some(note)));
        }
        let mut t = self.sign_in_throttle.lock().unwrap_or_else(|e| e.into_inner());
        if t.written < SIGN_IN_ROWS_PER_SECOND {
            t.written += 1;
            drop(t);
            self.ledger.audit_later(AuditRecord::now("anonymous", face, "sign_in", reason, Some(detail)));
        } else {
            t.folded += 1;
        }
    }

    /// Records a write in the audit log before the write is acknowledged.
    pub(crate) async fn record_now<T>(
        &self,
        caller: &Caller,
        tool: &'static str,
        result: &Result<T, QueryError>,
        detail: Option<String>,
    ) {
        if let Err(e) = self.ledger.audit(audit_record(caller, tool, result, detail)).await {
            tracing::error!(error = %e, tool, "audit record not written");
        }
    }
}

/// Runs a query in a worker process on a snapshot of the store: whatever
/// the query does (recursion, memory, work that never checks its deadline)
/// happens there, and at the deadline the process is killed.
async fn sparql_in_worker(
    exe: &Path,
    snapshot: &crate::graph::Snapshot,
    query: &str,
    format: ResultFormat,
    limits: &crate::graph::Limits,
) -> Result<SparqlOutput, QueryError> {
    use tokio::io::AsyncWriteExt;
    let internal = |what: &str, e: &dyn std::fmt::Display| QueryError::Internal(format!("SPARQL worker: {what}: {e}"));
    let mut child = tokio::process::Command::new(exe)
        .arg("sparql-worker")
        .arg("--store")
        .arg(&snapshot.dir)
        .args(["--format", format.name()])
        .args(["--max-rows", &limits.max_rows.to_string()])
        .args(["--timeout-ms", &limits.timeout.as_millis().to_string()])
        .env("FFO_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| internal("cannot start it", &e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(query.as_bytes()).await.map_err(|e| internal("cannot send the query", &e))?;
    }
    // The worker stops itself at the deadline; past a grace period it is
    // killed (dropping the child kills it).
    let grace = limits.timeout + Duration::from_secs(2);
    let out = match tokio::time::timeout(grace, child.wait_with_output()).await {
        Err(_) => return Err(QueryError::Sparql(SparqlError::Timeout(limits.timeout))),
        Ok(out) => out.map_err(|e| internal("cannot read its answer", &e))?,
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status: Option<crate::graph::WorkerStatus> = stderr.lines().rev().find_map(|l| serde_json::from_str(l).ok());
    match status {
        Some(s) if s.ok => {
            let content_type =
                if s.content_type == "application/n-triples" { "application/n-triples" } else { format.media_type() };
            Ok(SparqlOutput { content_type, body: out.stdout, rows: s.rows })
        }
        Some(s) => Err(QueryError::Sparql(s.into_error(limits))),
        // No status: the worker died (a crash, the memory limit).
        None => Err(QueryError::Sparql(SparqlError::Evaluation(format!(
            "the query stopped the evaluator ({}); simplify it",
            out.status
        )))),
    }
}

fn audit_record<T>(caller: &Caller, tool: &str, result: &Result<T, QueryError>, detail: Option<String>) -> AuditRecord {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => e.audit_code(),
    };
    AuditRecord::now(&caller.name, caller.via, tool, outcome, detail)
}

pub(crate) fn require(caller: &Caller, scope: Scope, what: &'static str) -> Result<(), QueryError> {
    if caller.can(scope) {
        Ok(())
    } else {
        Err(QueryError::Forbidden { caller: caller.name.clone(), needed: scope, what })
    }
}

/// Drops, from a document's entity lists, the entities the caller may not
/// see: the document is visible, the names of what it links to may not be.
pub(crate) fn redact(topo: &Topology, scale: &ClassificationScale, caller: &Caller, doc: &mut crate::model::TextDoc) {
    if caller.clearance == *scale.highest() {
        return;
    }
    let keep = |id: &String| {
        id.parse::<EntityId>().ok().and_then(|id| topo.get(&id)).is_none_or(|e| visible(scale, caller, &e))
    };
    doc.affects.retain(keep);
    doc.mentions.retain(keep);
    doc.cause_in.retain(keep);
}

/// Whether the caller may see an entity.
pub(crate) fn visible(scale: &ClassificationScale, caller: &Caller, e: &EntityInfo) -> bool {
    scale.permits(&caller.clearance, e.classification.as_ref())
}

pub(crate) fn resolve_in(
    topo: &Topology,
    scale: &ClassificationScale,
    caller: &Caller,
    query: &str,
) -> Result<Arc<EntityInfo>, QueryError> {
    let keep = |c: &Candidate| visible(scale, caller, &c.entity);
    match topo.resolve(query) {
        Resolution::Found(e) if visible(scale, caller, &e) => Ok(e),
        Resolution::Found(_) => Err(QueryError::UnknownEntity {
            query: query.to_string(),
            candidates: topo.similar(query).into_iter().filter(keep).collect(),
            hidden: true,
        }),
        Resolution::Ambiguous(c) => {
            let mut c: Vec<Candidate> = c.into_iter().filter(keep).collect();
            match c.len() {
                0 => Err(QueryError::UnknownEntity { query: query.to_string(), candidates: Vec::new(), hidden: true }),
                1 => Ok(c.remove(0).entity),
                _ => Err(QueryError::Ambiguous { query: query.to_string(), candidates: c }),
            }
        }
        Resolution::Unknown(c) => Err(QueryError::UnknownEntity {
            query: query.to_string(),
            candidates: c.into_iter().filter(keep).collect(),
            hidden: false,
        }),
    }
}
