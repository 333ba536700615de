//! The projections and their driver: reads ledger entries in sequence order
//! and applies them to the graph, the topology (and the search index). Each
//! projection remembers the last sequence it applied; applying is
//! idempotent, so after a crash catching up from the lowest watermark
//! converges. Any projection can be dropped and rebuilt from the ledger.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use oxigraph::model::{NamedNodeRef, Triple};
use tokio::sync::{Mutex, MutexGuard, watch};

use crate::graph::{Graph, GraphError, GraphUpdate, parse_triples};
use crate::ledger::{Entry, Ledger, LedgerError, Op};
use crate::model::{Classification, ClassificationScale, EntityId, Relation, Seq, Source, TextDoc, vocab};
use crate::search::{IndexUpdate, Indexed, Search, SearchError};
use crate::topology::Topology;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("ledger entry {seq} ({doc}) has a bad search document: {message}")]
    BadTextDoc { seq: Seq, doc: String, message: String },
    #[error("projection worker failed: {0}")]
    Worker(String),
}

/// Entries applied per batch: large enough that an import makes few, big
/// graph loads and index commits.
const BATCH: i64 = 10_000;

/// The projections of one data directory.
pub struct Projections {
    graph: Graph,
    search: Search,
    topology: RwLock<Topology>,
    /// Serialises catch-up and rebuild.
    apply_lock: Mutex<()>,
    applied: watch::Sender<Seq>,
    dir: Option<PathBuf>,
    /// The graph ran ahead of the index (a crash between the stores): the
    /// topology it was built from may already hold level changes whose
    /// documents were never relevelled. Done after the next catch-up.
    relevel_pending: std::sync::atomic::AtomicBool,
    /// False for a past view, which keeps no graph.
    with_graph: bool,
}

/// Entries a past view applies between yields.
const AS_OF_STEP: usize = 2_000;

impl Projections {
    /// Opens the projections in `data_dir` and builds the topology from the graph.
    pub fn open(data_dir: &Path, scale: ClassificationScale) -> Result<Projections, ProjectionError> {
        let graph = Graph::open(&data_dir.join("graph"))?;
        let search = Search::open(&data_dir.join("search"))?;
        let (graph_at, search_at) = (graph.applied()?, search.applied()?);
        let topology = topology_from(&graph, scale)?;
        Ok(Projections {
            graph,
            search,
            topology: RwLock::new(topology),
            apply_lock: Mutex::new(()),
            applied: watch::channel(graph_at.min(search_at)).0,
            dir: Some(data_dir.to_path_buf()),
            relevel_pending: std::sync::atomic::AtomicBool::new(graph_at > search_at),
            with_graph: true,
        })
    }

    /// The search index and topology as the ledger stood at `at`, built in
    /// memory (the graph stays empty: nothing asked of a past view needs
    /// it). Built in steps that yield, so that a caller who stops waiting
    /// stops the work.
    pub async fn as_of(
        ledger: &Ledger,
        at: DateTime<Utc>,
        scale: ClassificationScale,
    ) -> Result<Projections, ProjectionError> {
        let mut p = Projections {
            graph: Graph::in_memory()?,
            search: Search::in_memory()?,
            topology: RwLock::new(Topology::new(scale)),
            apply_lock: Mutex::new(()),
            applied: watch::channel(Seq(0)).0,
            dir: None,
            relevel_pending: std::sync::atomic::AtomicBool::new(false),
            with_graph: true,
        };
        p.with_graph = false;
        let entries = ledger.live_as_of(at).await?;
        for chunk in entries.chunks(AS_OF_STEP) {
            tokio::task::block_in_place(|| p.apply_batch(chunk, None))?;
            tokio::task::yield_now().await;
        }
        Ok(p)
    }

    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    pub fn search(&self) -> &Search {
        &self.search
    }

    /// A read view of the topology.
    pub fn topology(&self) -> RwLockReadGuard<'_, Topology> {
        // A panic while holding the lock leaves a topology that is still a
        // consistent value (updates replace whole entries); keep serving it.
        self.topology.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The highest sequence applied to every projection.
    pub fn applied(&self) -> Seq {
        *self.applied.borrow()
    }

    pub fn data_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Applies every ledger entry not yet applied. Returns the new watermark.
    pub async fn catch_up(&self, ledger: &Ledger) -> Result<Seq, ProjectionError> {
        let guard = self.apply_lock.lock().await;
        self.catch_up_locked(guard, ledger).await
    }

    /// [`Projections::catch_up`] with the apply lock held. Waiters are told
    /// when it ends, applied or failed, and only after the lock is released,
    /// so a waiter that found it taken always hears of it.
    async fn catch_up_locked(&self, guard: MutexGuard<'_, ()>, ledger: &Ledger) -> Result<Seq, ProjectionError> {
        let result = async {
            // Each projection is at least this far; re-applying to the one
            // that is further is harmless.
            let mut from = self.graph.applied()?.min(self.search.applied()?);
            loop {
                let entries = ledger.entries_after(from, BATCH).await?;
                let Some(last) = entries.last().map(|e| e.seq) else {
                    break;
                };
                self.apply_in_worker(&entries, Some(last)).await?;
                from = last;
            }
            if self.relevel_pending.swap(false, std::sync::atomic::Ordering::SeqCst) {
                let changed = tokio::task::block_in_place(|| self.relevel_all())?;
                tracing::info!(changed, "document levels recomputed after an interrupted catch-up");
            }
            Ok(from)
        }
        .await;
        drop(guard);
        match &result {
            Ok(from) => {
                self.applied.send_replace(*from);
            }
            Err(_) => self.applied.send_modify(|_| ()),
        }
        result
    }

    /// Waits until everything up to `seq` is applied (read-your-writes).
    /// Concurrent writers share the work: one applies everything appended so
    /// far in one batch (one index commit) while the others wait for it, so
    /// a burst of writes costs a few commits, not one each.
    pub async fn wait_for(&self, ledger: &Ledger, seq: Seq) -> Result<(), ProjectionError> {
        let mut applied = self.applied.subscribe();
        loop {
            if *applied.borrow_and_update() >= seq {
                return Ok(());
            }
            match self.apply_lock.try_lock() {
                Ok(guard) => {
                    self.catch_up_locked(guard, ledger).await?;
                }
                // Someone is applying; their batch may hold our entry.
                Err(_) => {
                    if applied.changed().await.is_err() {
                        return Err(ProjectionError::Worker("the projections were closed".into()));
                    }
                }
            }
        }
    }

    /// Drops every projection and rebuilds it from the ledger.
    pub async fn rebuild(&self, ledger: &Ledger) -> Result<Seq, ProjectionError> {
        {
            let _guard = self.apply_lock.lock().await;
            // Entries after `head` are applied by the catch-up below; a
            // document changed meanwhile is applied twice, harmlessly.
            let head = ledger.head().await?;
            self.graph.clear()?;
            self.search.clear()?;
            {
                let mut topo = self.topology.write().unwrap_or_else(|e| e.into_inner());
                *topo = Topology::new(topo.scale().clone());
            }
            let mut from = Seq(0);
            loop {
                let entries = ledger.live_after(from, BATCH).await?;
                let Some(last) = entries.last().map(|e| e.seq) else {
                    break;
                };
                self.apply_in_worker(&entries, None).await?;
                from = last;
            }
            self.graph.set_applied(head)?;
            self.graph.flush()?;
            self.search.apply(&[], Some(head))?;
        }
        self.catch_up(ledger).await
    }

    /// Keeps the projections current: after every local append, on every
    /// notification from a shared ledger, and at least every `poll`.
    pub async fn follow(self: Arc<Self>, ledger: Ledger, poll: Duration) {
        let mut local = ledger.subscribe();
        loop {
            if let Err(e) = self.catch_up(&ledger).await {
                tracing::error!(error = %e, "projection catch-up failed; retrying");
                tokio::time::sleep(poll).await;
            }
            tokio::select! {
                _ = local.changed() => {}
                _ = ledger.wait_for_remote(poll) => {}
            }
        }
    }

    async fn apply_in_worker(&self, entries: &[Entry], seq: Option<Seq>) -> Result<(), ProjectionError> {
        // oxigraph and RocksDB block; keep them off the async workers.
        tokio::task::block_in_place(|| self.apply_batch(entries, seq))
    }

    /// Applies a batch to every projection; `seq`, if given, is recorded as
    /// applied. The topology goes first: a document's level depends on the
    /// levels of the entities it speaks of, as they stand after the batch.
    fn apply_batch(&self, entries: &[Entry], seq: Option<Seq>) -> Result<(), ProjectionError> {
        let mut parsed: Vec<(String, Option<Vec<Triple>>)> = Vec::with_capacity(entries.len());
        let mut texts: Vec<(String, Option<(TextDoc, &str)>)> = Vec::new();
        for e in entries {
            let graph = e.doc.iri();
            let triples = match &e.op {
                Op::Put { graph: nt, .. } => Some(parse_triples(&graph, nt)?),
                Op::Delete => None,
            };
            parsed.push((graph, triples));
            if matches!(e.doc.source(), Source::Catalog | Source::Rdf) {
                continue;
            }
            let text = match &e.op {
                Op::Put { text_doc: Some(json), .. } => Some((
                    serde_json::from_str::<TextDoc>(json).map_err(|err| ProjectionError::BadTextDoc {
                        seq: e.seq,
                        doc: e.doc.to_string(),
                        message: err.to_string(),
                    })?,
                    json.as_str(),
                )),
                _ => None,
            };
            texts.push((e.doc.to_string(), text));
        }
        if self.with_graph {
            let updates: Vec<GraphUpdate<'_>> =
                parsed.iter().map(|(g, t)| GraphUpdate { graph: g, triples: t.as_deref() }).collect();
            self.graph.apply(&updates, seq)?;
        }

        let mut topo = self.topology.write().unwrap_or_else(|e| e.into_inner());
        let mut reclassified: Vec<String> = Vec::new();
        for (graph, triples) in &parsed {
            reclassified.extend(topo.apply(graph, triples.as_deref()).into_iter().map(|id| id.to_string()));
        }
        let topo = std::sync::RwLockWriteGuard::downgrade(topo);
        let mut index: Vec<IndexUpdate<'_>> = texts
            .into_iter()
            .map(|(doc_id, text)| IndexUpdate {
                doc_id,
                put: text.map(|(doc, json)| {
                    let level = level_of_document(&topo, &doc).to_string();
                    (doc, Cow::Borrowed(json), level)
                }),
            })
            .collect();
        // Documents already indexed about an entity whose level changed
        // change level with it.
        reclassified.sort();
        reclassified.dedup();
        if !reclassified.is_empty() {
            let in_batch: std::collections::HashSet<String> = index.iter().map(|u| u.doc_id.clone()).collect();
            for held in self.search.about_entities(&reclassified)? {
                if in_batch.contains(&held.doc_id) {
                    continue;
                }
                if let Some(update) = relevel(&topo, held)? {
                    index.push(update);
                }
            }
        }
        drop(topo);
        if !index.is_empty() || seq.is_some() {
            self.search.apply(&index, seq)?;
        }
        Ok(())
    }

    /// Recomputes the level of every indexed document (after a crash
    /// between the stores, or when the classification scale changed).
    pub fn relevel_all(&self) -> Result<usize, ProjectionError> {
        let topo = self.topology();
        let mut index = Vec::new();
        for held in self.search.all_docs()? {
            if let Some(update) = relevel(&topo, held)? {
                index.push(update);
            }
        }
        drop(topo);
        let changed = index.len();
        if changed > 0 {
            self.search.apply(&index, None)?;
        }
        Ok(changed)
    }
}

/// The level a document is seen at: its source's own classification (an
/// unknown level is the highest), raised to the most sensitive entity it
/// affects, mentions or names as a cause.
pub fn level_of_document(topo: &Topology, doc: &TextDoc) -> Classification {
    let scale = topo.scale();
    let mut level = scale.effective(doc.classification.as_deref()).clone();
    for id in doc.affects.iter().chain(&doc.mentions).chain(&doc.cause_in) {
        if let Ok(id) = id.parse::<EntityId>()
            && topo.get(&id).is_some()
        {
            let entity = topo.level_of(&id);
            level = scale.max(&level, &entity).clone();
        }
    }
    level
}

/// The index update that gives a held document its current level, if it changed.
fn relevel(topo: &Topology, held: Indexed) -> Result<Option<IndexUpdate<'static>>, ProjectionError> {
    let doc: TextDoc = serde_json::from_str(&held.json).map_err(|e| ProjectionError::BadTextDoc {
        seq: Seq(0),
        doc: held.doc_id.clone(),
        message: e.to_string(),
    })?;
    let level = level_of_document(topo, &doc).to_string();
    if level == held.level {
        return Ok(None);
    }
    Ok(Some(IndexUpdate { doc_id: held.doc_id, put: Some((doc, Cow::Owned(held.json), level)) }))
}

/// The predicates the topology reads.
fn topology_predicates() -> Vec<NamedNodeRef<'static>> {
    let mut p = vec![
        vocab::rdf::TYPE,
        vocab::NAME,
        vocab::TITLE,
        vocab::DESCRIPTION,
        vocab::ALIAS,
        vocab::TIER,
        vocab::ENVIRONMENT,
        vocab::CLASSIFICATION,
        vocab::LIFECYCLE,
        vocab::SPEC_TYPE,
        vocab::TAG,
        vocab::WINDOW_START,
        vocab::WINDOW_END,
        vocab::FREEZE,
        vocab::EXTERNAL_REF,
    ];
    p.extend(RELATION_IRIS.iter().copied());
    p
}

const RELATION_IRIS: [NamedNodeRef<'static>; 9] = [
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#dependsOn"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#runsOn"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#partOf"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#ownedBy"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#providesApi"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#consumesApi"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#memberOf"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#childOf"),
    NamedNodeRef::new_unchecked("https://ffo.dev/ns#covers"),
];

/// Builds the topology from what the graph holds (at start).
fn topology_from(graph: &Graph, scale: ClassificationScale) -> Result<Topology, GraphError> {
    debug_assert!(Relation::ALL.iter().all(|r| RELATION_IRIS.iter().any(|i| i.as_str() == r.iri())));
    let mut by_graph: std::collections::HashMap<String, Vec<Triple>> = std::collections::HashMap::new();
    for quad in graph.statements_with(&topology_predicates())? {
        if let oxigraph::model::GraphName::NamedNode(g) = &quad.graph_name {
            by_graph.entry(g.as_str().to_string()).or_default().push(Triple::from(quad));
        }
    }
    let mut topo = Topology::new(scale);
    for (g, triples) in by_graph {
        topo.apply(&g, Some(&triples));
    }
    Ok(topo)
}
