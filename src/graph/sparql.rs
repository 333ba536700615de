//! Read-only SPARQL for people and agents: parse, refuse updates, bound the
//! time and the size of an answer, serialise in the negotiated format.

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
