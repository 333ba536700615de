//! The impact index: a compact copy of the impact edges (reverse CSR) and of
//! the attributes blast-radius totals need, in flat arrays. A walk over 100k
//! dependents then touches a few megabytes of contiguous memory instead of
//! every entity's record. Built on first use after the topology changed.

use std::collections::BTreeMap;
use std::sync::Arc;

use fixedbitset::FixedBitSet;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::{EdgeRef, IntoNodeReferences, NodeIndexable};

use super::{Node, Reached};
use crate::model::{ClassificationScale, EntityKind, Relation};

const UNKNOWN_U8: u8 = u8::MAX;
const UNKNOWN_U16: u16 = u16::MAX;
pub const UNKNOWN: &str = "unknown";

/// What to walk and what to list.
#[derive(Debug, Clone, Copy)]
pub struct ImpactQuery {
    pub max_depth: Option<u32>,
    /// Dependents classified above this rank are withheld (counted in the
    /// totals, never listed); `None` shows everything.
    pub max_rank: Option<usize>,
    /// List at most this many, nearest first, then by id.
    pub limit: usize,
}

/// A blast radius: the dependents listed, and totals over all the visible ones.
#[derive(Debug, Clone, Default)]
pub struct Impact {
    pub shown: Vec<Reached>,
    /// Every dependent, hidden ones included (listed or not).
    pub total: usize,
    pub withheld: usize,
    pub max_depth: u32,
    pub by_tier: BTreeMap<String, usize>,
    pub by_environment: BTreeMap<String, usize>,
    pub by_classification: BTreeMap<String, usize>,
    pub by_kind: BTreeMap<String, usize>,
}

pub(super) struct ImpactIndex {
    /// Dense slot of each node index (u32::MAX for vacant indices).
    slot: Vec<u32>,
    node: Vec<NodeIndex>,
    /// Dependents of slot `s`: `dependents[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<u32>,
    dependents: Vec<u32>,
    /// Position in id order, for stable answers without comparing strings.
    rank: Vec<u32>,
    tier: Vec<u8>,
    environment: Vec<u16>,
    environments: Vec<String>,
    /// Classification rank in the scale.
    class: Vec<u8>,
    classes: Vec<String>,
    kind: Vec<u8>,
}

impl ImpactIndex {
    pub(super) fn build(graph: &StableDiGraph<Node, Relation>, scale: &ClassificationScale) -> ImpactIndex {
        let mut slot = vec![u32::MAX; graph.node_bound()];
        let mut node = Vec::with_capacity(graph.node_count());
        for (n, _) in graph.node_references() {
            slot[n.index()] = node.len() as u32;
            node.push(n);
        }
        let count = node.len();
        let mut offsets = Vec::with_capacity(count + 1);
        let mut dependents = Vec::with_capacity(graph.edge_count());
        offsets.push(0);
        for &n in &node {
            for e in graph.edges_directed(n, Direction::Incoming) {
                if e.weight().carries_impact() {
                    dependents.push(slot[e.source().index()]);
                }
            }
            offsets.push(dependents.len() as u32);
        }
        let mut by_id: Vec<u32> = (0..count as u32).collect();
        by_id.sort_by(|a, b| graph[node[*a as usize]].info.id.cmp(&graph[node[*b as usize]].info.id));
        let mut rank = vec![0u32; count];
        for (r, s) in by_id.into_iter().enumerate() {
            rank[s as usize] = r as u32;
        }
        let mut environments: Vec<String> = Vec::new();
        let classes: Vec<String> = scale.levels().iter().map(|l| l.to_string()).collect();
        let (mut tier, mut environment, mut class, mut kind) = (
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
            Vec::with_capacity(count),
        );
        for &n in &node {
            let info = &graph[n].info;
            tier.push(info.tier.unwrap_or(UNKNOWN_U8));
            environment.push(match &info.environment {
                Some(env) => match environments.iter().position(|e| e == env) {
                    Some(i) => i as u16,
                    None => {
                        environments.push(env.clone());
                        (environments.len() - 1) as u16
                    }
                },
                None => UNKNOWN_U16,
            });
            class.push(scale.rank(info.classification.as_ref().unwrap_or(scale.default_level())) as u8);
            kind.push(
                info.kind.and_then(|k| EntityKind::ALL.iter().position(|x| *x == k)).map_or(UNKNOWN_U8, |i| i as u8),
            );
        }
        ImpactIndex { slot, node, offsets, dependents, rank, tier, environment, environments, class, classes, kind }
    }

    /// Every dependent of `start` (a node index), breadth first, with its
    /// depth; cycles are walked once.
    fn walk(&self, start: NodeIndex, max_depth: Option<u32>) -> Vec<(u32, u32)> {
        let Some(&s) = self.slot.get(start.index()).filter(|s| **s != u32::MAX) else { return Vec::new() };
        let mut seen = FixedBitSet::with_capacity(self.node.len());
        seen.insert(s as usize);
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut frontier = vec![s];
        let mut depth = 0;
        while !frontier.is_empty() && max_depth.is_none_or(|m| depth < m) {
            depth += 1;
            let mut next = Vec::new();
            for &n in &frontier {
                let (from, to) = (self.offsets[n as usize] as usize, self.offsets[n as usize + 1] as usize);
                for &d in &self.dependents[from..to] {
                    if !seen.put(d as usize) {
                        out.push((d, depth));
                        next.push(d);
                    }
                }
            }
            frontier = next;
        }
        out
    }

    pub(super) fn impact(&self, graph: &StableDiGraph<Node, Relation>, start: NodeIndex, q: &ImpactQuery) -> Impact {
        let walked = self.walk(start, q.max_depth);
        let mut tiers = [0usize; 11];
        let mut envs = vec![0usize; self.environments.len() + 1];
        let mut classes = vec![0usize; self.classes.len() + 1];
        let mut kinds = vec![0usize; EntityKind::ALL.len() + 1];
        let mut visible: Vec<(u32, u32)> = Vec::with_capacity(walked.len());
        let mut withheld = 0;
        let mut max_depth = 0;
        let total = walked.len();
        for (s, depth) in walked {
            let i = s as usize;
            let class = self.class[i];
            // Totals count every dependent, hidden or not, so that a risk
            // decision is never fooled into "small"; only the listing
            // leaves out what the caller may not see.
            tiers[usize::from(self.tier[i]).min(10)] += 1;
            envs[usize::from(self.environment[i]).min(self.environments.len())] += 1;
            classes[usize::from(class).min(self.classes.len())] += 1;
            kinds[usize::from(self.kind[i]).min(EntityKind::ALL.len())] += 1;
            max_depth = max_depth.max(depth);
            if q.max_rank.is_some_and(|max| usize::from(class) > max) {
                withheld += 1;
                continue;
            }
            visible.push((s, depth));
        }
        // Nearest first, then by id: select the first `limit`, sort just those.
        let key = |&(s, depth): &(u32, u32)| (u64::from(depth) << 32) | u64::from(self.rank[s as usize]);
        if visible.len() > q.limit {
            if q.limit > 0 {
                visible.select_nth_unstable_by_key(q.limit - 1, key);
            }
            visible.truncate(q.limit);
        }
        visible.sort_unstable_by_key(key);
        let shown = visible
            .into_iter()
            .map(|(s, depth)| Reached { entity: Arc::clone(&graph[self.node[s as usize]].info), depth })
            .collect();
        let named = |counts: &[usize], name: &dyn Fn(usize) -> String| -> BTreeMap<String, usize> {
            counts.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, n)| (name(i), *n)).collect()
        };
        Impact {
            shown,
            total,
            withheld,
            max_depth,
            by_tier: named(&tiers, &|i| if i < 10 { i.to_string() } else { UNKNOWN.to_string() }),
            by_environment: named(&envs, &|i| self.environments.get(i).cloned().unwrap_or_else(|| UNKNOWN.to_string())),
            by_classification: named(&classes, &|i| {
                self.classes.get(i).cloned().unwrap_or_else(|| UNKNOWN.to_string())
            }),
            by_kind: named(&kinds, &|i| EntityKind::ALL.get(i).map_or(UNKNOWN, |k| k.label()).to_string()),
        }
    }

    /// The walk as `Reached` records (every dependent), for callers that
    /// want them all.
    pub(super) fn reached(
        &self,
        graph: &StableDiGraph<Node, Relation>,
        start: NodeIndex,
        max_depth: Option<u32>,
    ) -> Vec<Reached> {
        self.walk(start, max_depth)
            .into_iter()
            .map(|(s, depth)| Reached { entity: Arc::clone(&graph[self.node[s as usize]].info), depth })
            .collect()
    }
}
