//! The causal neighbourhood of an entity: what it depends on (where the
//! cause of a symptom on it may lie) and what depends on it (what may load
//! it differently), each with the path of impact edges that leads there.
//!
//! Groupings are not causal hops: being part of the same System or Domain,
//! or owned by the same team, says nothing about how a failure travels, so
//! the walk never enters them.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use petgraph::Direction;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;

use super::{EntityInfo, Topology};
use crate::model::{EntityKind, Relation};

/// Which way from the target an entity lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The target depends on it (directly or through others).
    Dependency,
    /// It depends on the target.
    Dependent,
}

/// One step of a path: the relation and the entity it leads to.
#[derive(Debug, Clone)]
pub struct Step {
    pub relation: Relation,
    pub entity: Arc<EntityInfo>,
}

/// An entity in the causal neighbourhood and how it is reached.
#[derive(Debug, Clone)]
pub struct Reach {
    pub entity: Arc<EntityInfo>,
    pub side: Side,
    /// Impact hops from the target (1 = a direct dependency or dependent).
    pub hops: u32,
    /// The steps from the target, the last one reaching `entity`.
    pub path: Vec<Step>,
}

/// Kinds that group entities rather than run them.
pub fn is_grouping(kind: Option<EntityKind>) -> bool {
    matches!(kind, Some(EntityKind::System | EntityKind::Domain | EntityKind::Team | EntityKind::Person))
}

impl Topology {
    /// Dependencies up to `down` hops and dependents up to `up` hops,
    /// breadth first (each at its shortest distance), never through a
    /// grouping, at most `limit` in all, nearest first.
    pub fn causal(&self, id: &crate::model::EntityId, down: u32, up: u32, limit: usize) -> Vec<Reach> {
        let Some(&start) = self.nodes.get(id) else {
            return Vec::new();
        };
        let mut out: Vec<Reach> = Vec::new();
        for (side, max, direction) in
            [(Side::Dependency, down, Direction::Outgoing), (Side::Dependent, up, Direction::Incoming)]
        {
            // Parent pointers for the paths.
            let mut parent: HashMap<NodeIndex, (NodeIndex, Relation)> = HashMap::new();
            let mut queue = VecDeque::from([(start, 0u32)]);
            while let Some((node, depth)) = queue.pop_front() {
                if depth >= max || out.len() >= limit {
                    continue;
                }
                let mut next: Vec<(NodeIndex, Relation)> = self
                    .graph
                    .edges_directed(node, direction)
                    .filter(|e| e.weight().carries_impact())
                    .map(|e| (if direction == Direction::Outgoing { e.target() } else { e.source() }, *e.weight()))
                    .collect();
                // Stable order: by id.
                next.sort_by(|a, b| self.graph[a.0].info.id.cmp(&self.graph[b.0].info.id));
                for (other, relation) in next {
                    if other == start || parent.contains_key(&other) || is_grouping(self.graph[other].info.kind) {
                        continue;
                    }
                    parent.insert(other, (node, relation));
                    let mut path = Vec::new();
                    let mut at = other;
                    while at != start {
                        let (from, rel) = parent[&at];
                        path.push(Step { relation: rel, entity: self.graph[at].info.clone() });
                        at = from;
                    }
                    path.reverse();
                    out.push(Reach { entity: self.graph[other].info.clone(), side, hops: depth + 1, path });
                    if out.len() >= limit {
                        break;
                    }
                    queue.push_back((other, depth + 1));
                }
            }
        }
        out.sort_by(|a, b| (a.hops, a.side, &a.entity.id).cmp(&(b.hops, b.side, &b.entity.id)));
        out
    }
}

impl Reach {
    /// `pricing-svc → dependsOn → rates-db`, or for a dependent
    /// `booking-db ← dependsOn ← reporting-etl`, from the target's name.
    pub fn describe(&self, target: &str) -> String {
        let mut out = target.to_string();
        for step in &self.path {
            match self.side {
                Side::Dependency => out.push_str(&format!(" → {} → {}", step.relation, step.entity.name)),
                Side::Dependent => out.push_str(&format!(" ← {} ← {}", step.relation, step.entity.name)),
            }
        }
        out
    }
}
