//! The graph projection: oxigraph on RocksDB, one named graph per ledger
//! document. Applying an entry replaces that document's graph in one
//! transaction, so a document's facts come and go together.
//!
//! Only `graph` speaks SPARQL. Its queries live in `queries/*.rq`, are parsed
//! once, and get typed terms bound in, never spliced into text.

mod sparql;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{GraphNameRef, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, QuadRef, Term, Triple};
use oxigraph::sparql::{PreparedSparqlQuery, QueryResults, SparqlEvaluator, Variable};
use oxigraph::store::{StorageError, Store};

use crate::model::{EntityId, Seq};
pub use sparql::{
    Limits, ResultFormat, Snapshot, SparqlError, SparqlOutput, WorkerStatus, check_shape, on_query_stack, worker,
};

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("graph store at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: StorageError,
    },
    #[error("graph store: {0}")]
    Storage(#[from] StorageError),
    #[error("graph of {graph}: bad N-Triples in the ledger: {message}")]
    BadTriples { graph: String, message: String },
    #[error("graph query {name}: {message}")]
    Query { name: &'static str, message: String },
    #[error("graph watermark at {path}: {source}")]
    Watermark {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One document's new graph content: `None` removes the graph.
pub struct GraphUpdate<'a> {
    pub graph: &'a str,
    pub triples: Option<&'a [Triple]>,
}

/// A statement about an entity and the document graph it came from.
#[derive(Debug, Clone)]
pub struct Statement {
    pub graph: String,
    pub predicate: String,
    pub object: Term,
}

/// A statement pointing at an entity.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub graph: String,
    pub subject: String,
    pub predicate: String,
}

/// Where a document came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub source: String,
    pub external_id: String,
    pub url: Option<String>,
    pub updated: Option<String>,
    pub title: Option<String>,
}

/// Batches with at least this many quads go through the bulk loader.
const BULK_THRESHOLD: usize = 20_000;

/// The parsed queries of `queries/*.rq`.
struct Queries {
    entity_statements: PreparedSparqlQuery,
    entity_incoming: PreparedSparqlQuery,
    document_provenance: PreparedSparqlQuery,
    blast_radius_path: PreparedSparqlQuery,
}

impl Queries {
    fn parse() -> Result<Queries, GraphError> {
        fn parse(name: &'static str, text: &str) -> Result<PreparedSparqlQuery, GraphError> {
            SparqlEvaluator::new().parse_query(text).map_err(|e| GraphError::Query { name, message: e.to_string() })
        }
        Ok(Queries {
            entity_statements: parse("entity_statements", include_str!("../../queries/entity_statements.rq"))?,
            entity_incoming: parse("entity_incoming", include_str!("../../queries/entity_incoming.rq"))?,
            document_provenance: parse("document_provenance", include_str!("../../queries/document_provenance.rq"))?,
            blast_radius_path: parse("blast_radius_path", include_str!("../../queries/blast_radius_path.rq"))?,
        })
    }
}

/// The graph projection.
pub struct Graph {
    store: Store,
    queries: Queries,
    /// Where the last applied sequence number is kept; `None` in memory.
    watermark: Option<PathBuf>,
    /// Bumped by every change, so a snapshot knows when it is stale.
    generation: std::sync::atomic::AtomicU64,
    /// Where snapshots for SPARQL workers go (`None` in memory), and the newest.
    snapshots: Option<PathBuf>,
    snapshot: std::sync::Mutex<Option<std::sync::Arc<sparql::Snapshot>>>,
}

impl Graph {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Graph, GraphError> {
        fs::create_dir_all(dir).map_err(|source| GraphError::Watermark { path: dir.to_path_buf(), source })?;
        let store =
            Store::open(dir.join("store")).map_err(|source| GraphError::Open { path: dir.to_path_buf(), source })?;
        // Snapshots left by a process that stopped are of no use to anyone.
        let snapshots = dir.join("sparql-snapshots");
        if snapshots.exists() {
            let _ = fs::remove_dir_all(&snapshots);
        }
        Ok(Graph {
            store,
            queries: Queries::parse()?,
            watermark: Some(dir.join("applied-seq")),
            generation: Default::default(),
            snapshots: Some(snapshots),
            snapshot: Default::default(),
        })
    }

    /// A store in memory (for `as_of` answers and tests).
    pub fn in_memory() -> Result<Graph, GraphError> {
        Ok(Graph {
            store: Store::new()?,
            queries: Queries::parse()?,
            watermark: None,
            generation: Default::default(),
            snapshots: None,
            snapshot: Default::default(),
        })
    }

    /// A read-only copy of the store as it is now, for a SPARQL worker
    /// process; shared by every query until the store changes. `None` for
    /// a store in memory.
    pub fn snapshot(&self) -> Result<Option<std::sync::Arc<sparql::Snapshot>>, GraphError> {
        let Some(root) = &self.snapshots else { return Ok(None) };
        let mut current = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.generation.load(std::sync::atomic::Ordering::SeqCst);
        if let Some(s) = current.as_ref().filter(|s| s.generation == generation) {
            return Ok(Some(s.clone()));
        }
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = root.join(format!("{generation}-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
        fs::create_dir_all(root).map_err(|source| GraphError::Watermark { path: root.clone(), source })?;
        self.store.backup(&dir)?;
        let snapshot = std::sync::Arc::new(sparql::Snapshot { dir, generation });
        // The previous one is removed when its last query ends.
        *current = Some(snapshot.clone());
        Ok(Some(snapshot))
    }

    fn changed(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The last ledger sequence number applied.
    pub fn applied(&self) -> Result<Seq, GraphError> {
        let Some(path) = &self.watermark else {
            return Ok(Seq(0));
        };
        match fs::read_to_string(path) {
            Ok(text) => Ok(Seq(text.trim().parse().unwrap_or(0))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Seq(0)),
            Err(source) => Err(GraphError::Watermark { path: path.clone(), source }),
        }
    }

    /// Replaces the graphs of a batch of documents, then records `seq` (if
    /// given) as applied. Replaying a batch is harmless: replacing a graph
    /// with the same content is idempotent.
    ///
    /// A small batch is one transaction. A large one (an import, a rebuild)
    /// removes the old graphs in one transaction and loads the new ones with
    /// RocksDB's bulk loader, which writes sorted files instead of indexing
    /// every quad in a write batch: an order of magnitude faster.
    pub fn apply(&self, updates: &[GraphUpdate<'_>], seq: Option<Seq>) -> Result<(), GraphError> {
        let quads: usize = updates.iter().map(|u| u.triples.map_or(0, <[Triple]>::len)).sum();
        if quads < BULK_THRESHOLD {
            let mut tx = self.store.start_transaction()?;
            for update in updates {
                let graph = NamedNodeRef::new_unchecked(update.graph);
                tx.remove_named_graph(graph)?;
                if let Some(triples) = update.triples {
                    tx.insert_named_graph(graph);
                    for t in triples {
                        tx.insert(QuadRef::new(&t.subject, &t.predicate, &t.object, GraphNameRef::NamedNode(graph)));
                    }
                }
            }
            tx.commit()?;
        } else {
            // Only the last update of a document in the batch counts.
            let mut last: Vec<&GraphUpdate<'_>> = Vec::with_capacity(updates.len());
            let mut seen = std::collections::HashSet::new();
            for update in updates.iter().rev() {
                if seen.insert(update.graph) {
                    last.push(update);
                }
            }
            let mut tx = self.store.start_transaction()?;
            for update in &last {
                let graph = NamedNodeRef::new_unchecked(update.graph);
                if self.store.contains_named_graph(graph)? {
                    tx.remove_named_graph(graph)?;
                }
                if update.triples.is_some_and(<[Triple]>::is_empty) {
                    tx.insert_named_graph(graph);
                }
            }
            tx.commit()?;
            let mut loader = self.store.bulk_loader().with_max_memory_size_in_megabytes(512);
            loader.load_quads(last.iter().filter_map(|u| Some((u.graph, u.triples?))).flat_map(|(g, triples)| {
                let graph = NamedNode::new_unchecked(g);
                triples
                    .iter()
                    .map(move |t| Quad::new(t.subject.clone(), t.predicate.clone(), t.object.clone(), graph.clone()))
            }))?;
            loader.commit()?;
        }
        self.changed();
        match seq {
            Some(seq) => self.set_applied(seq),
            None => Ok(()),
        }
    }

    /// Records `seq` as applied (durably: write, fsync, rename).
    pub fn set_applied(&self, seq: Seq) -> Result<(), GraphError> {
        let Some(path) = &self.watermark else {
            return Ok(());
        };
        let err = |source| GraphError::Watermark { path: path.clone(), source };
        let tmp = path.with_extension("tmp");
        let mut f = fs::File::create(&tmp).map_err(err)?;
        f.write_all(seq.to_string().as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        fs::rename(&tmp, path).map_err(err)
    }

    /// Drops every graph (for a rebuild).
    pub fn clear(&self) -> Result<(), GraphError> {
        self.store.clear()?;
        self.changed();
        self.set_applied(Seq(0))
    }

    /// Flushes RocksDB's memtables (a rebuild's last step, and for measuring size).
    pub fn flush(&self) -> Result<(), GraphError> {
        Ok(self.store.flush()?)
    }

    /// Compacts RocksDB now rather than in the background: after a large
    /// import, so that compaction does not compete with queries.
    pub fn optimize(&self) -> Result<(), GraphError> {
        Ok(self.store.optimize()?)
    }

    /// Every quad of every named graph, as sorted N-Quads lines: what two
    /// stores are compared by.
    pub fn dump(&self) -> Result<Vec<String>, GraphError> {
        let mut out = self.store.iter().map(|q| q.map(|q| format!("{q} ."))).collect::<Result<Vec<_>, _>>()?;
        out.sort();
        Ok(out)
    }

    /// The IRIs of every named graph (one per live document).
    pub fn graph_names(&self) -> Result<Vec<String>, GraphError> {
        let mut out = Vec::new();
        for g in self.store.named_graphs() {
            if let NamedOrBlankNode::NamedNode(n) = g? {
                out.push(n.into_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Statements with one of `predicates`, with their graph: what the
    /// in-memory topology is built from at start.
    pub fn statements_with(&self, predicates: &[NamedNodeRef<'_>]) -> Result<Vec<Quad>, GraphError> {
        let mut out = Vec::new();
        for p in predicates {
            for q in self.store.quads_for_pattern(None, Some(*p), None, None) {
                out.push(q?);
            }
        }
        Ok(out)
    }

    /// All triples of one document's graph.
    pub fn graph_triples(&self, graph: &str) -> Result<Vec<Triple>, GraphError> {
        let g = NamedNodeRef::new_unchecked(graph);
        self.store
            .quads_for_pattern(None, None, None, Some(GraphNameRef::NamedNode(g)))
            .map(|q| q.map(Triple::from).map_err(GraphError::from))
            .collect()
    }

    /// Everything said about an entity.
    pub fn entity_statements(&self, id: &EntityId) -> Result<Vec<Statement>, GraphError> {
        let entity = NamedNode::new_unchecked(id.iri());
        let rows = self.select("entity_statements", &self.queries.entity_statements, "entity", entity.into())?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(Statement {
                    graph: iri_of(row.get("graph")?)?,
                    predicate: iri_of(row.get("predicate")?)?,
                    object: row.get("object")?.clone(),
                })
            })
            .collect())
    }

    /// Every statement pointing at an entity.
    pub fn entity_incoming(&self, id: &EntityId) -> Result<Vec<Incoming>, GraphError> {
        let entity = NamedNode::new_unchecked(id.iri());
        let rows = self.select("entity_incoming", &self.queries.entity_incoming, "entity", entity.into())?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(Incoming {
                    graph: iri_of(row.get("graph")?)?,
                    subject: iri_of(row.get("subject")?)?,
                    predicate: iri_of(row.get("predicate")?)?,
                })
            })
            .collect())
    }

    /// Where a document (named graph) came from; `None` if no such document.
    pub fn provenance(&self, graph: &str) -> Result<Option<Provenance>, GraphError> {
        let doc = NamedNode::new_unchecked(graph);
        let rows = self.select("document_provenance", &self.queries.document_provenance, "doc", doc.into())?;
        let lit = |t: Option<&Term>| match t {
            Some(Term::Literal(l)) => Some(l.value().to_string()),
            Some(Term::NamedNode(n)) => Some(n.as_str().to_string()),
            _ => None,
        };
        Ok(rows.first().map(|row| Provenance {
            source: lit(row.get("source")).unwrap_or_default(),
            external_id: lit(row.get("externalId")).unwrap_or_default(),
            url: lit(row.get("url")),
            updated: lit(row.get("updated")),
            title: lit(row.get("title")),
        }))
    }

    /// The blast radius of `target` as a SPARQL property path over the union
    /// of all graphs: the benchmark's point of comparison.
    pub fn dependents_by_property_path(&self, target: &EntityId) -> Result<usize, GraphError> {
        let t = NamedNode::new_unchecked(target.iri());
        let rows = self.select_union("blast_radius_path", &self.queries.blast_radius_path, "target", t.into())?;
        Ok(rows.len())
    }

    /// Runs a read-only SPARQL query a person or agent wrote.
    pub fn sparql(&self, query: &str, format: ResultFormat, limits: &Limits) -> Result<SparqlOutput, SparqlError> {
        sparql::run(&self.store, query, format, limits)
    }

    pub fn quad_count(&self) -> Result<usize, GraphError> {
        Ok(self.store.len()?)
    }

    fn select(
        &self,
        name: &'static str,
        query: &PreparedSparqlQuery,
        var: &str,
        value: Term,
    ) -> Result<Vec<oxigraph::sparql::QuerySolution>, GraphError> {
        self.run_select(name, query, var, value, false)
    }

    fn select_union(
        &self,
        name: &'static str,
        query: &PreparedSparqlQuery,
        var: &str,
        value: Term,
    ) -> Result<Vec<oxigraph::sparql::QuerySolution>, GraphError> {
        self.run_select(name, query, var, value, true)
    }

    fn run_select(
        &self,
        name: &'static str,
        query: &PreparedSparqlQuery,
        var: &str,
        value: Term,
        union_default_graph: bool,
    ) -> Result<Vec<oxigraph::sparql::QuerySolution>, GraphError> {
        let err = |e: &dyn std::fmt::Display| GraphError::Query { name, message: e.to_string() };
        let mut prepared = query.clone().substitute_variable(Variable::new_unchecked(var), value);
        if union_default_graph {
            prepared.dataset_mut().set_default_graph_as_union();
        }
        match prepared.on_store(&self.store).execute().map_err(|e| err(&e))? {
            QueryResults::Solutions(solutions) => solutions.collect::<Result<Vec<_>, _>>().map_err(|e| err(&e)),
            _ => Err(GraphError::Query { name, message: "expected SELECT results".into() }),
        }
    }
}

/// Parses a ledger entry's N-Triples.
pub fn parse_triples(graph: &str, ntriples: &str) -> Result<Vec<Triple>, GraphError> {
    RdfParser::from_format(RdfFormat::NTriples)
        .for_slice(ntriples.as_bytes())
        .map(|q| q.map(Triple::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| GraphError::BadTriples { graph: graph.to_string(), message: e.to_string() })
}

/// Serialises triples canonically (sorted N-Triples lines), so equal facts
/// give equal text and equal content hashes.
pub fn to_ntriples(triples: &[Triple]) -> String {
    let mut lines: Vec<String> = triples.iter().map(|t| format!("{t} .")).collect();
    lines.sort();
    lines.dedup();
    let mut out = lines.join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

fn iri_of(term: &Term) -> Option<String> {
    match term {
        Term::NamedNode(n) => Some(n.as_str().to_string()),
        _ => None,
    }
}

/// The subject of a quad as an IRI string, if it is one.
pub fn subject_iri(s: &NamedOrBlankNode) -> Option<&str> {
    match s {
        NamedOrBlankNode::NamedNode(n) => Some(n.as_str()),
        NamedOrBlankNode::BlankNode(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use oxigraph::model::{Literal, NamedNode, Triple};

    use super::*;

    fn doc(i: usize, version: &str) -> (String, Vec<Triple>) {
        let g = format!("https://ffo.dev/doc/jira/T-{i}");
        let s = NamedNode::new_unchecked(&g);
        let triples = (0..8)
            .map(|k| {
                Triple::new(
                    s.clone(),
                    NamedNode::new_unchecked(format!("https://example.test/p{k}")),
                    Literal::new_simple_literal(format!("{version}-{k}")),
                )
            })
            .collect();
        (g, triples)
    }

    /// A large batch (bulk loader) and small batches (transactions) leave the
    /// same store, replacing documents that were there before.
    #[test]
    fn bulk_and_transactional_application_agree() {
        let (small, bulk) = (Graph::in_memory().unwrap(), Graph::in_memory().unwrap());
        let old: Vec<_> = (0..10).map(|i| doc(i, "old")).collect();
        let new: Vec<_> = (0..4000).map(|i| doc(i, "new")).collect();
        for g in [&small, &bulk] {
            let updates: Vec<GraphUpdate<'_>> =
                old.iter().map(|(g, t)| GraphUpdate { graph: g, triples: Some(t) }).collect();
            g.apply(&updates, None).unwrap();
        }
        let mut updates: Vec<GraphUpdate<'_>> =
            new.iter().map(|(g, t)| GraphUpdate { graph: g, triples: Some(t) }).collect();
        // A document deleted in the same batch, and one emptied.
        updates.push(GraphUpdate { graph: &new[5].0, triples: None });
        updates.push(GraphUpdate { graph: &new[6].0, triples: Some(&[]) });
        assert!(updates.iter().map(|u| u.triples.map_or(0, <[Triple]>::len)).sum::<usize>() >= BULK_THRESHOLD);
        bulk.apply(&updates, None).unwrap();
        for chunk in updates.chunks(100) {
            small.apply(chunk, None).unwrap();
        }
        let dump = bulk.dump().unwrap();
        assert_eq!(dump, small.dump().unwrap());
        assert!(!dump.iter().any(|q| q.contains("\"old-")), "old versions are gone");
        assert_eq!(bulk.graph_names().unwrap(), small.graph_names().unwrap());
    }
}
