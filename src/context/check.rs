//! `ffo check`: are the projections what the ledger says they should be?
//! Compares the set of live documents with the graph's named graphs and the
//! index's documents, and digests each projection so that two stores (say,
//! before and after `ffo rebuild`) can be compared.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::{QueryError, Service, require};
use crate::auth::{Caller, Scope};
use crate::ledger::Op;
use crate::model::{Seq, Source};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub ledger_head: Seq,
    pub applied: Seq,
    pub live_documents: usize,
    pub graphs: usize,
    pub quads: usize,
    /// SHA-256 over every quad, sorted.
    pub graph_digest: String,
    pub indexed: usize,
    /// SHA-256 over every indexed document (id and stored form), sorted.
    pub index_digest: String,
    /// Live documents without their graph, graphs without a live document.
    pub missing_graphs: Vec<String>,
    pub stray_graphs: Vec<String>,
    /// Live history documents not in the index, indexed documents not live.
    pub missing_from_index: Vec<String>,
    pub stray_in_index: Vec<String>,
}

impl CheckReport {
    pub fn consistent(&self) -> bool {
        self.missing_graphs.is_empty()
            && self.stray_graphs.is_empty()
            && self.missing_from_index.is_empty()
            && self.stray_in_index.is_empty()
            && self.applied >= self.ledger_head
    }
}

impl Service {
    pub async fn check(&self, caller: &Caller) -> Result<CheckReport, QueryError> {
        require(caller, Scope::Admin, "check")?;
        self.projections.catch_up(&self.ledger).await?;
        let ledger_head = self.ledger.head().await?;
        let mut live_graphs = BTreeSet::new();
        let mut live_texts = BTreeSet::new();
        let mut from = Seq(0);
        loop {
            let page = self.ledger.live_after(from, 5_000).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            for e in page {
                live_graphs.insert(e.doc.iri());
                let history = !matches!(e.doc.source(), Source::Catalog | Source::Rdf);
                if history && matches!(e.op, Op::Put { text_doc: Some(_), .. }) {
                    live_texts.insert(e.doc.to_string());
                }
            }
            from = last;
        }
        let graph = self.projections.graph();
        let graphs: BTreeSet<String> = graph.graph_names()?.into_iter().collect();
        let quads = graph.dump()?;
        let docs = self.projections.search().all_docs().map_err(|e| QueryError::Internal(e.to_string()))?;
        let indexed: BTreeSet<String> = docs.iter().map(|d| d.doc_id.clone()).collect();
        let digest = |items: &mut dyn Iterator<Item = &str>| {
            let mut h = Sha256::new();
            for i in items {
                h.update(i.as_bytes());
                h.update([b'\n']);
            }
            hex::encode(h.finalize())
        };
        let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect::<Vec<_>>();
        Ok(CheckReport {
            ledger_head,
            applied: self.projections.applied(),
            live_documents: live_graphs.len(),
            graphs: graphs.len(),
            quads: quads.len(),
            graph_digest: digest(&mut quads.iter().map(String::as_str)),
            indexed: docs.len(),
            index_digest: digest(&mut docs.iter().flat_map(|d| [d.doc_id.as_str(), d.json.as_str(), d.level.as_str()])),
            missing_graphs: diff(&live_graphs, &graphs),
            stray_graphs: diff(&graphs, &live_graphs),
            missing_from_index: diff(&live_texts, &indexed),
            stray_in_index: diff(&indexed, &live_texts),
        })
    }
}

/// A classification level the stores hold that the configuration does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLevel {
    pub level: String,
    /// Entities stated at that level, and one of them.
    pub entities: usize,
    pub example: Option<String>,
    /// Documents indexed at that level.
    pub documents: usize,
}

impl Service {
    /// The levels the stores hold that the configured scale does not name.
    /// Serving with any of them would mean guessing what they are (the
    /// configuration renamed or dropped a level): FFO refuses to serve until
    /// the configuration names them or the data is re-ingested.
    pub fn unknown_levels(&self) -> Result<Vec<UnknownLevel>, QueryError> {
        use std::collections::BTreeMap;
        let mut found: BTreeMap<String, UnknownLevel> = BTreeMap::new();
        let blank = |level: &str| UnknownLevel { level: level.to_string(), entities: 0, example: None, documents: 0 };
        for quad in self.projections.graph().statements_with(&[crate::model::vocab::CLASSIFICATION])? {
            let oxigraph::model::Term::Literal(l) = &quad.object else { continue };
            if self.scale.parse(l.value()).is_ok() {
                continue;
            }
            let entry = found.entry(l.value().to_string()).or_insert_with(|| blank(l.value()));
            entry.entities += 1;
            if entry.example.is_none() {
                entry.example = crate::graph::subject_iri(&quad.subject)
                    .and_then(crate::model::EntityId::from_iri)
                    .map(|e| e.to_string());
            }
        }
        let levels = self.projections.search().level_counts().map_err(|e| QueryError::Internal(e.to_string()))?;
        for (level, n) in levels {
            if self.scale.parse(&level).is_err() {
                found.entry(level.clone()).or_insert_with(|| blank(&level)).documents += n;
            }
        }
        Ok(found.into_values().collect())
    }
}
