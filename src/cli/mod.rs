//! The command line: `ffo --help` is the reference. The CLI acts as an
//! administrator on the data directory it opens; it prints readable text, or
//! the same JSON as the HTTP API with `--json`.
//!
//! Exit codes: 0 success; 1 error; 2 bad usage; 3 an ingest finished but
//! skipped some documents (each is named in the report).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::auth::Caller;
use crate::config::{Config, Flags};
use crate::context::{ActionRequest, BlastOptions, QueryError, SearchRequest, Service};
use crate::graph::ResultFormat;
use crate::model::Source;
use crate::{http, render, wire};

#[derive(Debug, Parser)]
#[command(
    name = "ffo",
    version,
    about = "Institutional memory for operations: the estate, its history, and what to know before you act"
)]
struct Cli {
    /// Data directory (ledger, graph, search index) [env: FFO_DATA] [default: ./ffo-data]
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Config file (TOML) [env: FFO_CONFIG]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API, SPARQL and MCP (streamable HTTP at /mcp)
    Serve {
        /// Address to listen on [env: FFO_LISTEN] [default: 127.0.0.1:7411]
        #[arg(long)]
        listen: Option<String>,
        /// Listen on a non-loopback address although no tokens are
        /// configured (every caller who can reach it is an administrator)
        #[arg(long)]
        insecure: bool,
    },
    /// Serve MCP over stdio (for an agent that starts ffo itself)
    Mcp,
    /// Run one SPARQL query read from stdin on a store snapshot (started by
    /// ffo itself, so that no query can take the server down)
    #[command(hide = true)]
    SparqlWorker {
        #[arg(long)]
        store: PathBuf,
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long, default_value_t = 10_000)]
        max_rows: usize,
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
    },
    /// Ingest a source: catalog, rdf, runbooks, postmortems, jira, confluence, changes, alerts (or all: every source folder under PATH)
    Ingest {
        /// catalog, rdf, runbooks, postmortems, jira, confluence, changes (change events), alerts (webhook payloads), or all
        source: String,
        /// A file or folder; for jira and confluence also a base URL to pull from
        target: String,
        /// For changes: read every file in this format (ffo, cdevents, github, argocd, kubernetes, pagerduty, datadog) instead of recognising it
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Search incidents, postmortems, runbooks and pages
    Search {
        /// Words; nothing here is query syntax
        query: String,
        /// Only documents that affect or mention this entity (id, name or alias)
        #[arg(long)]
        entity: Option<String>,
        /// incident, postmortem, problem, runbook, page, ticket, policy, outcome
        #[arg(long)]
        kind: Option<String>,
        /// YYYY-MM-DD, RFC 3339, or a span back from now (30d, 12h, 2w)
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// What to know before acting on ENTITY: dependencies, blast radius, prior incidents, runbooks, known causes, outcomes
    Context {
        /// Id, name or alias; optional when --alert names the entity
        entity: Option<String>,
        /// An Alertmanager webhook payload or a single alert (JSON file, - for stdin)
        #[arg(long)]
        alert: Option<PathBuf>,
        /// What you are about to do ("restart", "failover", ...)
        #[arg(long)]
        action: Option<String>,
        /// Items per list
        #[arg(long)]
        limit: Option<usize>,
        /// Answer as the ledger stood at this time (RFC 3339 or YYYY-MM-DD)
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Record what was done and how it went (JSON: entity, action, result, summary, ...)
    WriteOutcome {
        /// A JSON file with the outcome; - reads standard input
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Confirm or retract an outcome (a person vouching for, or taking back, what an agent wrote)
    Outcome {
        #[command(subcommand)]
        review: Review,
    },
    /// One document by id (source:external-id, e.g. jira:OPS-123)
    Document {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Every entity that depends on ENTITY, directly or not
    BlastRadius {
        /// Id (kind:namespace/name), name or alias
        entity: String,
        /// Stop after N hops
        #[arg(long)]
        max_depth: Option<u32>,
        /// List at most N dependents (totals count all)
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// An entity's attributes, relations both ways, documents and provenance
    Entity {
        entity: String,
        #[arg(long)]
        json: bool,
    },
    /// Run a read-only SPARQL query ("-" reads it from stdin)
    Sparql {
        query: String,
        /// json, xml, csv or tsv
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Drop every projection and rebuild it from the ledger
    Rebuild,
    /// The audit log: who called what, when, and how it ended (newest first)
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Check that the projections hold exactly what the ledger says (exit 1 if not)
    Check {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Review {
    /// Mark an outcome confirmed by a person
    Confirm {
        /// The outcome id (outcome:UUID or the UUID)
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Retract an outcome: kept in the ledger, never ranked again
    Retract {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FFO_LOG").unwrap_or_else(|_| "ffo=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::SparqlWorker { store, format, max_rows, timeout_ms } = &cli.command {
        let limits = crate::graph::Limits { timeout: Duration::from_millis(*timeout_ms), max_rows: *max_rows };
        let code = crate::graph::worker(store, crate::graph::ResultFormat::negotiate(format), &limits);
        return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
    }
    let mut flags = Flags { data_dir: cli.data.clone(), config: cli.config.clone(), listen: None };
    if let Command::Serve { listen, .. } = &cli.command {
        flags.listen.clone_from(listen);
    }
    let mut config = Config::load(&flags)?;
    config.sparql_worker = std::env::current_exe().ok();
    let service = Service::open(&config)
        .await
        .with_context(|| format!("cannot open the data directory {}", config.data_dir.display()))?;
    let admin = Caller::admin("cli", service.scale());
    let code = match cli.command {
        Command::Serve { insecure, .. } => {
            refuse_unknown_levels(&service)?;
            let service = Arc::new(service);
            serve(&config, service.clone(), insecure).await?;
            service.close().await;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Mcp => {
            refuse_unknown_levels(&service)?;
            let service = Arc::new(service);
            // Keep projections current while the agent works (another
            // process may write to a shared ledger).
            let _follow = service.follow_ledger(Duration::from_secs(1));
            let result = crate::mcp::serve_stdio(service.clone(), admin.clone()).await;
            service.close().await;
            result?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::SparqlWorker { .. } => {
            unreachable!("handled before the data directory is opened")
        }
        Command::Ingest { source, target, format, json } => {
            if source == "changes" {
                let input = crate::context::ChangeInput::Path(&target);
                match service.ingest_changes(&admin, input, format.as_deref()).await {
                    Ok(out) => {
                        let w = wire::ChangesStored::from(&out);
                        if json {
                            println!("{}", serde_json::to_string_pretty(&w)?);
                        } else {
                            print!("{}", render::changes(&w));
                        }
                        if out.report.failed() { ExitCode::from(3) } else { ExitCode::SUCCESS }
                    }
                    Err(e) => fail(&e),
                }
            } else if format.is_some() {
                eprintln!("error: --format is for `ffo ingest changes`");
                ExitCode::from(2)
            } else {
                ingest(&service, &admin, &source, &target, json).await?
            }
        }
        Command::Search { query, entity, kind, since, until, limit, json } => {
            let req = SearchRequest { query, entity, kind, since, until, limit: Some(limit) };
            answer(service.search(&admin, &req).await, json, |a| {
                let w = wire::SearchAnswer::from(a);
                (serde_json::to_value(&w), render::search(&w))
            })
        }
        Command::Context { entity, alert, action, limit, as_of, json } => {
            let alert = match alert {
                Some(path) => Some(read_alert(&path)?),
                None => None,
            };
            let req = ActionRequest { entity, alert, action, limit, as_of };
            answer(service.context_for_action(&admin, &req).await, json, |c| {
                let w = wire::ContextAnswer::from(c);
                (serde_json::to_value(&w), render::context(&w))
            })
        }
        Command::WriteOutcome { file, json } => {
            let text = if file == Path::new("-") {
                std::io::read_to_string(std::io::stdin()).context("cannot read the outcome from stdin")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?
            };
            let body: wire::OutcomeBody = serde_json::from_str(&text).with_context(|| {
                format!("{}: not an outcome (fields: entity, action, result, summary, alert, details, postmortem, related, started_at, ended_at, idempotency_key)", file.display())
            })?;
            answer(service.write_outcome(&admin, &body.into()).await, json, |w| {
                let w = wire::OutcomeStored::from(w);
                (serde_json::to_value(&w), render::outcome(&w))
            })
        }
        Command::Outcome { review } => {
            let (id, note, json, authority) = match review {
                Review::Confirm { id, note, json } => (id, note, json, crate::model::Authority::Confirmed),
                Review::Retract { id, note, json } => (id, note, json, crate::model::Authority::Retracted),
            };
            answer(service.review_outcome(&admin, &id, authority, note.as_deref()).await, json, |w| {
                let w = wire::OutcomeStored::from(w);
                (serde_json::to_value(&w), render::outcome(&w))
            })
        }
        Command::Document { id, json } => answer(service.document(&admin, &id).await, json, |d| {
            let w = wire::DocumentAnswer::from(d);
            (serde_json::to_value(&w), render::document(&w))
        }),
        Command::BlastRadius { entity, max_depth, limit, json } => {
            let options = BlastOptions { max_depth, limit };
            answer(service.blast_radius(&admin, &entity, options).await, json, |b| {
                let w = wire::BlastRadiusAnswer::from(b);
                (serde_json::to_value(&w), render::blast_radius(&w))
            })
        }
        Command::Entity { entity, json } => answer(service.entity(&admin, &entity).await, json, |v| {
            let w = wire::EntityAnswer::from(v);
            (serde_json::to_value(&w), render::entity(&w))
        }),
        Command::Sparql { query, format } => {
            let query = if query == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read the query from stdin")?
            } else {
                query
            };
            match service.sparql(&admin, &query, ResultFormat::negotiate(&format)).await {
                Ok(out) => {
                    std::io::stdout().write_all(&out.body)?;
                    println!();
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Audit { limit, json } => {
            let rows = service.audit_log(&admin, limit).await?;
            if json {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|r| serde_json::json!({"at": r.at, "caller": r.caller, "face": r.face, "tool": r.tool, "outcome": r.outcome, "detail": r.detail}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for r in &rows {
                    println!(
                        "{} {} via {} {} → {} {}",
                        r.at,
                        r.caller,
                        r.face,
                        r.tool,
                        r.outcome,
                        r.detail.as_deref().unwrap_or("")
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Command::Check { json } => {
            let r = service.check(&admin).await?;
            let value = serde_json::json!({
                "consistent": r.consistent(),
                "ledger_head": r.ledger_head.0, "applied": r.applied.0,
                "live_documents": r.live_documents, "graphs": r.graphs, "quads": r.quads,
                "graph_digest": r.graph_digest, "indexed": r.indexed, "index_digest": r.index_digest,
                "missing_graphs": r.missing_graphs, "stray_graphs": r.stray_graphs,
                "missing_from_index": r.missing_from_index, "stray_in_index": r.stray_in_index,
            });
            if json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!(
                    "{}: ledger head {} (applied {}), {} live documents; graph {} graphs, {} quads ({}); index {} documents ({})",
                    if r.consistent() { "consistent" } else { "INCONSISTENT" },
                    r.ledger_head,
                    r.applied,
                    r.live_documents,
                    r.graphs,
                    r.quads,
                    &r.graph_digest[..12],
                    r.indexed,
                    &r.index_digest[..12]
                );
                for (what, list) in [
                    ("missing graph", &r.missing_graphs),
                    ("stray graph", &r.stray_graphs),
                    ("missing from index", &r.missing_from_index),
                    ("stray in index", &r.stray_in_index),
                ] {
                    for item in list {
                        println!("  {what}: {item}");
                    }
                }
            }
            if r.consistent() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::Rebuild => {
            let seq = service.rebuild(&admin).await?;
            let topo_entities = service.projections().topology().entity_count();
            println!("rebuilt every projection up to ledger sequence {seq} ({topo_entities} entities)");
            ExitCode::SUCCESS
        }
    };
    service.close().await;
    Ok(code)
}

fn read_alert(path: &Path) -> anyhow::Result<crate::model::Alert> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read the alert from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    wire::alert_from_json(&value).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn answer<T>(
    result: Result<T, QueryError>,
    json: bool,
    show: impl FnOnce(&T) -> (serde_json::Result<serde_json::Value>, String),
) -> ExitCode {
    match result {
        Ok(v) => {
            let (value, text) = show(&v);
            if json {
                match value.and_then(|v| serde_json::to_string_pretty(&v)) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &QueryError) -> ExitCode {
    eprintln!("{}", render::error(&wire::ErrorAnswer::from(e)));
    if let QueryError::Internal(detail) = e {
        eprintln!("  detail: {detail}");
    }
    ExitCode::from(1)
}

/// The source folders `ingest all` looks for, in dependency order: the
/// estate first, so that history can be linked to it. Change records kept
/// in a tracker's own export (`changes/jira`, `changes/confluence`) go in
/// through that source; `changes` reads the change events and passes the
/// exports over.
const ALL: &[(&str, Source)] = &[
    ("catalog", Source::Catalog),
    ("rdf", Source::Rdf),
    ("runbooks", Source::Runbooks),
    ("postmortems", Source::Postmortems),
    ("jira", Source::Jira),
    ("confluence", Source::Confluence),
    ("changes/jira", Source::Jira),
    ("changes/confluence", Source::Confluence),
    ("changes", Source::Changes),
    ("alerts", Source::Alert),
];

async fn ingest(service: &Service, admin: &Caller, source: &str, target: &str, json: bool) -> anyhow::Result<ExitCode> {
    let path = Path::new(target);
    let jobs: Vec<(Source, String)> = if source == "all" {
        let jobs: Vec<_> = ALL
            .iter()
            .map(|(dir, s)| (*s, path.join(dir)))
            .filter(|(_, p)| p.exists())
            .map(|(s, p)| (s, p.to_string_lossy().into_owned()))
            .collect();
        if jobs.is_empty() {
            bail!(
                "{} has none of the source folders {}",
                path.display(),
                ALL.iter().map(|(d, _)| *d).collect::<Vec<_>>().join(", ")
            );
        }
        jobs
    } else {
        let source = if source == "alerts" { Source::Alert } else { source.parse::<Source>()? };
        vec![(source, target.to_string())]
    };
    let mut code = ExitCode::SUCCESS;
    for (source, target) in jobs {
        if source == Source::Alert {
            if let Some(failed) = record_alerts(service, admin, Path::new(&target), json).await? {
                return Ok(failed);
            }
            continue;
        }
        match service.ingest(admin, source, &target).await {
            Ok(report) => {
                let w = wire::IngestAnswer::from(&report);
                if json {
                    println!("{}", serde_json::to_string_pretty(&w)?);
                } else {
                    println!("{}", render::ingest(&w));
                }
                if report.failed() {
                    code = ExitCode::from(3);
                }
            }
            Err(e) => return Ok(fail(&e)),
        }
    }
    Ok(code)
}

/// Records every webhook payload (`*.json`) under `path`, as `POST /v1/alerts` would.
/// `Some(code)` when recording failed.
async fn record_alerts(service: &Service, admin: &Caller, path: &Path, json: bool) -> anyhow::Result<Option<ExitCode>> {
    let files = crate::ingest::collect_files(path, &["json"])?;
    let mut all = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
        let alerts = crate::ingest::alerts::parse(&value).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        match service.record_alerts(admin, &alerts).await {
            Ok(recorded) => all.extend(recorded),
            Err(e) => return Ok(Some(fail(&e))),
        }
    }
    let w = wire::AlertsRecorded::new(&all);
    if json {
        println!("{}", serde_json::to_string_pretty(&w)?);
    } else {
        print!("{}", render::alerts(&w));
    }
    Ok(None)
}

/// Ctrl-C or SIGTERM (what service managers send).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serving with classification levels the configuration does not name
/// would mean guessing how sensitive they are.
fn refuse_unknown_levels(service: &Service) -> anyhow::Result<()> {
    let unknown = service.unknown_levels()?;
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|u| {
            let example = u.example.as_deref().map(|e| format!(", e.g. {e}")).unwrap_or_default();
            format!("{:?} ({} entities{example}; {} documents)", u.level, u.entities, u.documents)
        })
        .collect();
    bail!(
        "the data holds classification levels the configuration does not name: {}; the configured levels are {}. \
         Add them to [classification] levels in the config file, or re-ingest the sources that use them, then start again",
        list.join(", "),
        service.scale().levels().iter().map(|l| l.as_str()).collect::<Vec<_>>().join(" < ")
    )
}

async fn serve(config: &Config, service: Arc<Service>, insecure: bool) -> anyhow::Result<()> {
    if config.tokens.is_empty() && config.oidc.is_none() {
        if !config.listen.ip().is_loopback() {
            if !insecure {
                bail!(
                    "no tokens are configured, so FFO serves on loopback only; configure [[tokens]] or [oidc] in the config file to listen on {} (or pass --insecure to serve it to every caller who can reach it, as an administrator)",
                    config.listen
                );
            }
            tracing::warn!(listen = %config.listen, "--insecure: no tokens configured and listening beyond loopback; every caller is an administrator");
        } else {
            tracing::warn!("no tokens configured: serving on loopback only; every local caller is an administrator");
        }
    }
    let oidc = match &config.oidc {
        Some(oidc) => Some(Arc::new(
            crate::auth::jwt::Verifier::start(oidc.clone(), config.scale.clone())
                .await
                .context("cannot start OIDC sign-in ([oidc] in the config file)")?,
        )),
        None => None,
    };
    let _follow = service.follow_ledger(Duration::from_secs(1));
    let state = http::AppState { service: service.clone(), tokens: Arc::new(config.tokens.clone()), oidc };
    let mcp = crate::mcp::router(service.clone());
    let http_config =
        http::HttpConfig { max_body_bytes: config.max_body_bytes, allowed_hosts: config.allowed_hosts.clone() };
    let router = http::router(state, &http_config, mcp);
    eprintln!("ffo serving on http://{} (MCP /mcp, API /v1, SPARQL /sparql, health /healthz)", config.listen);
    tokio::select! {
        r = http::serve(config.listen, router) => r.context("the HTTP server stopped")?,
        _ = shutdown_signal() => tracing::info!("stopping"),
    }
    Ok(())
}
