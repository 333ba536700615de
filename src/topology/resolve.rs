//! Finding an entity from what a person, an agent or an alert calls it: an
//! id, an IRI, a name or an alias. An ambiguous name is never guessed.

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::stable_graph::NodeIndex;

use super::{EntityInfo, Topology};
use crate::model::{EntityId, EntityKind};

/// How a candidate matched the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchKind {
    Id,
    Name,
    Alias,
    /// Not a match: a near spelling offered when nothing matched.
    Similar,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::Id => "id",
            MatchKind::Name => "name",
            MatchKind::Alias => "alias",
            MatchKind::Similar => "similar name",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Candidate {
    pub entity: Arc<EntityInfo>,
    pub matched: MatchKind,
    /// The name or alias that matched.
    pub via: String,
}

#[derive(Debug, Clone)]
pub enum Resolution {
    Found(Arc<EntityInfo>),
    /// Several entities match equally well; the candidates say why.
    Ambiguous(Vec<Candidate>),
    /// Nothing matches; the candidates are near spellings, possibly none.
    Unknown(Vec<Candidate>),
}

/// Lower-cased names and aliases to the entities that carry them.
#[derive(Default)]
pub(super) struct NameIndex {
    by_key: HashMap<String, Vec<(NodeIndex, MatchKind)>>,
}

impl NameIndex {
    pub(super) fn insert(&mut self, info: &EntityInfo, node: NodeIndex) {
        if !info.declared() {
            return;
        }
        for (key, kind) in keys(info) {
            let list = self.by_key.entry(key).or_default();
            if !list.contains(&(node, kind)) {
                list.push((node, kind));
            }
        }
    }

    pub(super) fn remove(&mut self, info: &EntityInfo, node: NodeIndex) {
        for (key, kind) in keys(info) {
            if let Some(list) = self.by_key.get_mut(&key) {
                list.retain(|e| *e != (node, kind));
                if list.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
    }
}

fn keys(info: &EntityInfo) -> Vec<(String, MatchKind)> {
    let mut out = vec![(info.name.to_lowercase(), MatchKind::Name)];
    if info.name.to_lowercase() != info.id.name() {
        out.push((info.id.name().to_string(), MatchKind::Name));
    }
    out.extend(info.aliases.iter().map(|a| (a.trim().to_lowercase(), MatchKind::Alias)));
    out
}

pub(super) fn resolve(topology: &Topology, query: &str) -> Resolution {
    match resolve_exact(topology, query) {
        Resolution::Unknown(_) => Resolution::Unknown(similar(topology, &query.trim().to_lowercase())),
        found => found,
    }
}

pub(super) fn resolve_exact(topology: &Topology, query: &str) -> Resolution {
    let query = query.trim();
    // An exact id or IRI.
    let by_id = EntityId::from_iri(query).or_else(|| query.parse::<EntityId>().ok());
    if let Some(id) = by_id
        && let Some(info) = topology.get(&id).filter(|i| i.declared())
    {
        return Resolution::Found(info);
    }
    // `kind:name` where kind is FFO's kind ("host:db-01") rather than Backstage's.
    let (kind_filter, name) = match query.split_once(':') {
        Some((k, n)) if k.parse::<EntityKind>().is_ok() && !n.contains('/') => (k.parse::<EntityKind>().ok(), n),
        _ => (None, query),
    };
    let key = name.to_lowercase();
    let hits: Vec<Candidate> = topology
        .names
        .by_key
        .get(&key)
        .map(|list| {
            list.iter()
                .map(|(node, matched)| Candidate {
                    entity: topology.graph[*node].info.clone(),
                    matched: *matched,
                    via: name.to_string(),
                })
                .filter(|c| kind_filter.is_none() || c.entity.kind == kind_filter)
                .collect()
        })
        .unwrap_or_default();
    // Names outrank aliases; ambiguity is only among the best matches.
    let best = hits.iter().map(|c| c.matched).min();
    let mut best: Vec<Candidate> = hits.into_iter().filter(|c| Some(c.matched) == best).collect();
    best.sort_by(|a, b| a.entity.id.cmp(&b.entity.id));
    best.dedup_by(|a, b| a.entity.id == b.entity.id);
    match best.len() {
        0 => Resolution::Unknown(Vec::new()),
        1 => Resolution::Found(best.remove(0).entity),
        _ => Resolution::Ambiguous(best),
    }
}

/// Up to five names close to `key`: containing it, contained in it, or
/// within two edits.
pub(super) fn similar(topology: &Topology, key: &str) -> Vec<Candidate> {
    // Near spellings of a very long string are not worth an edit-distance scan.
    if key.is_empty() || key.len() > 200 {
        return Vec::new();
    }
    let mut scored: Vec<(usize, &String, NodeIndex)> = Vec::new();
    for (name, list) in &topology.names.by_key {
        let distance = if name.contains(key) || (name.len() >= 4 && key.contains(name.as_str())) {
            1
        } else if name.len().abs_diff(key.len()) <= 2 {
            let d = edit_distance(name, key);
            if d > 2 {
                continue;
            }
            d
        } else {
            continue;
        };
        for (node, _) in list {
            scored.push((distance, name, *node));
        }
    }
    scored.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut out: Vec<Candidate> = Vec::new();
    for (_, name, node) in scored {
        let entity = topology.graph[node].info.clone();
        if out.iter().any(|c| c.entity.id == entity.id) {
            continue;
        }
        out.push(Candidate { entity, matched: MatchKind::Similar, via: name.clone() });
        if out.len() == 5 {
            break;
        }
    }
    out
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
