//! The topology: the estate's entities and relations in memory (petgraph),
//! for blast radius, neighbours and name resolution in microseconds.
//!
//! It is a projection of the graph: it consumes each document's triples as
//! the graph applies them and keeps, per document, what that document said,
//! so replacing or deleting a document takes back exactly its facts. It knows
//! nothing of SPARQL, the ledger or any face.

mod causal;
mod facts;
mod impact;
mod refs;
mod resolve;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use fixedbitset::FixedBitSet;
use oxigraph::model::Triple;
use petgraph::Direction;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, NodeIndexable};

use crate::model::{Classification, ClassificationScale, EntityId, EntityKind, Relation};
pub use causal::{Reach, Side, Step, is_grouping};
pub use facts::{DocFacts, EntityFacts, Window};
pub use impact::{Impact, ImpactQuery};
pub use resolve::{Candidate, MatchKind, Resolution};

/// What FFO knows about one entity, merged from every document that speaks of it.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityInfo {
    pub id: EntityId,
    /// `None` when only referenced (a relation points at it) but never declared.
    pub kind: Option<EntityKind>,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    pub tier: Option<u8>,
    pub environment: Option<String>,
    pub classification: Option<Classification>,
    pub lifecycle: Option<String>,
    pub spec_type: Option<String>,
    pub tags: Vec<String>,
    pub window: Option<Window>,
    /// (annotation, value): the names other systems give it (`github.com/project-slug`, ...).
    pub external_refs: Vec<(String, String)>,
    /// Outgoing relations of every kind.
    pub relations: Vec<(Relation, EntityId)>,
    /// The documents (graph IRIs) that said something about it.
    pub sources: Vec<String>,
}

impl EntityInfo {
    /// An entity known only because something points at it.
    pub fn undeclared(id: &EntityId) -> EntityInfo {
        EntityInfo {
            id: id.clone(),
            kind: None,
            name: id.name().to_string(),
            title: None,
            description: None,
            aliases: Vec::new(),
            tier: None,
            environment: None,
            classification: None,
            lifecycle: None,
            spec_type: None,
            tags: Vec::new(),
            window: None,
            external_refs: Vec::new(),
            relations: Vec::new(),
            sources: Vec::new(),
        }
    }

    pub fn declared(&self) -> bool {
        self.kind.is_some()
    }

    /// The first target of an outgoing relation.
    pub fn related(&self, relation: Relation) -> impl Iterator<Item = &EntityId> {
        self.relations.iter().filter(move |(r, _)| *r == relation).map(|(_, id)| id)
    }
}

/// One entity reached by a blast-radius walk.
#[derive(Debug, Clone)]
pub struct Reached {
    pub entity: Arc<EntityInfo>,
    /// Hops from the target along impact edges (1 = direct dependent).
    pub depth: u32,
}

/// A neighbour one hop away.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub entity: Arc<EntityInfo>,
    pub relation: Relation,
}

struct Node {
    info: Arc<EntityInfo>,
}

/// The in-memory topology.
pub struct Topology {
    scale: ClassificationScale,
    graph: StableDiGraph<Node, Relation>,
    nodes: HashMap<EntityId, NodeIndex>,
    /// Edges are counted: two documents may state the same relation.
    edges: HashMap<(NodeIndex, NodeIndex, Relation), (EdgeIndex, u32)>,
    /// What each document (by graph IRI) contributed.
    contributions: HashMap<String, DocFacts>,
    /// Which documents declare facts about each entity.
    contributors: HashMap<EntityId, BTreeSet<String>>,
    names: resolve::NameIndex,
    refs: refs::RefIndex,
    /// Bumped whenever an entity's names or facts change (caches key on it).
    generation: u64,
    /// The compact impact index, built on first use after a change.
    index: std::sync::OnceLock<impact::ImpactIndex>,
}

impl Topology {
    pub fn new(scale: ClassificationScale) -> Topology {
        Topology {
            scale,
            graph: StableDiGraph::default(),
            nodes: HashMap::new(),
            edges: HashMap::new(),
            contributions: HashMap::new(),
            contributors: HashMap::new(),
            names: resolve::NameIndex::default(),
            refs: refs::RefIndex::default(),
            generation: 0,
            index: std::sync::OnceLock::new(),
        }
    }

    /// Changes whenever an entity's facts change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn scale(&self) -> &ClassificationScale {
        &self.scale
    }

    /// Number of entities known (declared or referenced).
    pub fn entity_count(&self) -> usize {
        self.graph.node_count()
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Replaces what document `graph` says with `triples` (`None`: the
    /// document is gone). Returns the entities whose effective
    /// classification changed: documents about them change level too.
    pub fn apply(&mut self, graph: &str, triples: Option<&[Triple]>) -> Vec<EntityId> {
        let new = triples.map(|t| DocFacts::from_triples(t, &self.scale));
        self.apply_facts(graph, new)
    }

    /// As [`Topology::apply`], with facts already extracted.
    pub fn apply_facts(&mut self, graph: &str, new: Option<DocFacts>) -> Vec<EntityId> {
        let old = self.contributions.remove(graph);
        if old.is_none() && new.as_ref().is_none_or(DocFacts::is_empty) {
            return Vec::new();
        }
        let mut touched: BTreeSet<EntityId> = BTreeSet::new();
        if let Some(old) = &old {
            for (from, rel, to) in &old.edges {
                self.remove_edge(from, *rel, to);
            }
            touched.extend(old.entity_ids().cloned());
            for id in old.entity_ids() {
                if let Some(set) = self.contributors.get_mut(id) {
                    set.remove(graph);
                }
            }
        }
        if let Some(new) = new.filter(|n| !n.is_empty()) {
            for (from, rel, to) in &new.edges {
                self.add_edge(from, *rel, to);
            }
            for id in new.entity_ids() {
                self.contributors.entry(id.clone()).or_default().insert(graph.to_string());
                touched.insert(id.clone());
            }
            self.contributions.insert(graph.to_string(), new);
        }
        self.generation += 1;
        self.index = std::sync::OnceLock::new();
        let mut reclassified = Vec::new();
        for id in touched {
            let before = self.level_of(&id);
            self.remerge(&id);
            if self.level_of(&id) != before {
                reclassified.push(id);
            }
        }
        reclassified
    }

    /// The level an entity is seen at: its classification, the highest for
    /// an unknown level, the default when nothing classifies it.
    pub fn level_of(&self, id: &EntityId) -> Classification {
        let stated = self.nodes.get(id).and_then(|n| self.graph[*n].info.classification.clone());
        stated.unwrap_or_else(|| self.scale.default_level().clone())
    }

    /// Whether a document has contributed facts.
    pub fn knows_document(&self, graph: &str) -> bool {
        self.contributions.contains_key(graph)
    }

    pub fn get(&self, id: &EntityId) -> Option<Arc<EntityInfo>> {
        self.nodes.get(id).map(|n| self.graph[*n].info.clone()).filter(|i| i.declared() || !i.relations.is_empty())
    }

    /// Every entity, in id order.
    pub fn entities(&self) -> Vec<Arc<EntityInfo>> {
        let mut all: Vec<_> = self.graph.node_weights().map(|n| n.info.clone()).collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// Resolves an id, IRI, name or alias.
    pub fn resolve(&self, query: &str) -> Resolution {
        resolve::resolve(self, query)
    }

    /// Resolves an id, IRI, name or alias exactly: no near spellings when
    /// nothing matches, so it costs a lookup whatever the input.
    pub fn resolve_exact(&self, query: &str) -> Resolution {
        resolve::resolve_exact(self, query)
    }

    /// Up to five entities whose names are close to `query`.
    pub fn similar(&self, query: &str) -> Vec<Candidate> {
        resolve::similar(self, &query.trim().to_lowercase())
    }

    /// Declared entities another system knows by `value` under annotation
    /// `key` (`github.com/project-slug`, `owner/repo`), case-insensitively.
    pub fn by_external_ref(&self, key: &str, value: &str) -> Vec<Arc<EntityInfo>> {
        self.refs.get(key, value).iter().map(|n| self.graph[*n].info.clone()).collect()
    }

    /// Every value of annotation `key` with the entities carrying it (for
    /// references that are patterns, like a Kubernetes label selector).
    pub fn external_refs(&self, key: &str) -> Vec<(String, Arc<EntityInfo>)> {
        self.refs
            .values(key)
            .flat_map(|(value, nodes)| nodes.iter().map(move |n| (value.to_string(), self.graph[*n].info.clone())))
            .collect()
    }

    /// Every entity that reaches `target` through impact edges, breadth
    /// first, each at its shortest depth. Cycles are walked once.
    pub fn blast_radius(&self, target: &EntityId, max_depth: Option<u32>) -> Option<Vec<Reached>> {
        let start = *self.nodes.get(target)?;
        Some(self.index().reached(&self.graph, start, max_depth))
    }

    /// The blast radius of `target` with totals, clearance applied and the
    /// list cut to the nearest `limit` (then by id).
    pub fn impact(&self, target: &EntityId, query: &ImpactQuery) -> Option<Impact> {
        let start = *self.nodes.get(target)?;
        Some(self.index().impact(&self.graph, start, query))
    }

    fn index(&self) -> &impact::ImpactIndex {
        self.index.get_or_init(|| impact::ImpactIndex::build(&self.graph, &self.scale))
    }

    /// Neighbours one hop out: what `id` points at (`Outgoing`) or what
    /// points at it (`Incoming`), with the relation.
    pub fn neighbours(&self, id: &EntityId, direction: Direction) -> Vec<Neighbour> {
        let Some(node) = self.nodes.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<Neighbour> = self
            .graph
            .edges_directed(*node, direction)
            .map(|e| {
                let other = match direction {
                    Direction::Outgoing => e.target(),
                    Direction::Incoming => e.source(),
                };
                Neighbour { entity: self.graph[other].info.clone(), relation: *e.weight() }
            })
            .collect();
        out.sort_by(|a, b| (a.relation, &a.entity.id).cmp(&(b.relation, &b.entity.id)));
        out
    }

    /// Entities within `hops` impact hops of `id`, either direction,
    /// excluding `id` itself, with their distance; nearest first, at most `limit`.
    pub fn within(&self, id: &EntityId, hops: u32, limit: usize) -> Vec<(Arc<EntityInfo>, u32)> {
        let Some(start) = self.nodes.get(id).copied() else {
            return Vec::new();
        };
        let mut seen = FixedBitSet::with_capacity(self.graph.node_bound());
        seen.insert(start.index());
        let mut queue = VecDeque::from([(start, 0u32)]);
        let mut out = Vec::new();
        while let Some((node, depth)) = queue.pop_front() {
            if depth >= hops {
                continue;
            }
            let edges = self
                .graph
                .edges_directed(node, Direction::Outgoing)
                .map(|e| (e.target(), *e.weight()))
                .chain(self.graph.edges_directed(node, Direction::Incoming).map(|e| (e.source(), *e.weight())));
            for (other, rel) in edges {
                if !rel.carries_impact() || seen.put(other.index()) {
                    continue;
                }
                out.push((self.graph[other].info.clone(), depth + 1));
                if out.len() == limit {
                    return out;
                }
                queue.push_back((other, depth + 1));
            }
        }
        out
    }

    fn node(&mut self, id: &EntityId) -> NodeIndex {
        if let Some(n) = self.nodes.get(id) {
            return *n;
        }
        let n = self.graph.add_node(Node { info: Arc::new(EntityInfo::undeclared(id)) });
        self.nodes.insert(id.clone(), n);
        n
    }

    fn add_edge(&mut self, from: &EntityId, rel: Relation, to: &EntityId) {
        let (a, b) = (self.node(from), self.node(to));
        match self.edges.get_mut(&(a, b, rel)) {
            Some((_, count)) => *count += 1,
            None => {
                let e = self.graph.add_edge(a, b, rel);
                self.edges.insert((a, b, rel), (e, 1));
            }
        }
    }

    fn remove_edge(&mut self, from: &EntityId, rel: Relation, to: &EntityId) {
        let (Some(a), Some(b)) = (self.nodes.get(from).copied(), self.nodes.get(to).copied()) else {
            return;
        };
        if let Some((e, count)) = self.edges.get_mut(&(a, b, rel)) {
            *count -= 1;
            if *count == 0 {
                let e = *e;
                self.graph.remove_edge(e);
                self.edges.remove(&(a, b, rel));
            }
        }
        self.collect_if_gone(from);
        self.collect_if_gone(to);
    }

    /// Recomputes an entity's merged view from its contributing documents.
    fn remerge(&mut self, id: &EntityId) {
        let docs: Vec<&String> = self.contributors.get(id).map(|s| s.iter().collect()).unwrap_or_default();
        let mut info = EntityInfo::undeclared(id);
        for doc in &docs {
            if let Some(facts) = self.contributions.get(*doc) {
                facts.merge_into(id, doc, &mut info, &self.scale);
            }
        }
        if docs.is_empty() {
            self.contributors.remove(id);
        }
        let node = self.node(id);
        let old = std::mem::replace(&mut self.graph[node].info, Arc::new(info));
        self.names.remove(&old, node);
        self.refs.remove(&old, node);
        let new = self.graph[node].info.clone();
        self.names.insert(&new, node);
        self.refs.insert(&new, node);
        self.collect_if_gone(id);
    }

    /// Removes a node nobody declares and no edge touches.
    fn collect_if_gone(&mut self, id: &EntityId) {
        let Some(node) = self.nodes.get(id).copied() else {
            return;
        };
        let info = &self.graph[node].info;
        if info.declared() || !info.sources.is_empty() || self.contributors.contains_key(id) {
            return;
        }
        if self.graph.edges_directed(node, Direction::Incoming).next().is_some()
            || self.graph.edges_directed(node, Direction::Outgoing).next().is_some()
        {
            return;
        }
        let info = self.graph[node].info.clone();
        self.names.remove(&info, node);
        self.refs.remove(&info, node);
        self.graph.remove_node(node);
        self.nodes.remove(id);
    }
}

#[cfg(test)]
mod tests;
