//! Blast radius: what depends on this thing, how deep, how critical.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{QueryError, Service, require, resolve_in};
use crate::auth::{Caller, Scope};
use crate::topology::{EntityInfo, Impact, ImpactQuery, Reached};

#[derive(Debug, Clone, Copy)]
pub struct BlastOptions {
    /// Stop after this many hops; `None` walks the whole radius.
    pub max_depth: Option<u32>,
    /// List at most this many dependents (totals always count them all).
    pub limit: usize,
}

impl Default for BlastOptions {
    fn default() -> Self {
        BlastOptions { max_depth: None, limit: 1_000 }
    }
}

/// Counts of dependents by attribute. Missing values count under "unknown".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub dependents: usize,
    pub by_tier: BTreeMap<String, usize>,
    pub by_environment: BTreeMap<String, usize>,
    pub by_classification: BTreeMap<String, usize>,
    pub by_kind: BTreeMap<String, usize>,
    pub max_depth: u32,
}

#[derive(Debug, Clone)]
pub struct BlastRadius {
    pub target: Arc<EntityInfo>,
    pub max_depth: Option<u32>,
    /// Nearest first, then by id; at most `limit`.
    pub dependents: Vec<Reached>,
    /// More dependents exist than were listed.
    pub truncated: bool,
    /// Dependents above the caller's clearance: counted in the totals,
    /// never listed or named.
    pub withheld: usize,
    pub totals: Totals,
}

impl Service {
    pub async fn blast_radius(
        &self,
        caller: &Caller,
        entity: &str,
        options: BlastOptions,
    ) -> Result<BlastRadius, QueryError> {
        let result = self.guard(self.compute(|| self.blast_radius_inner(caller, entity, options))).await;
        self.record(caller, "blast_radius", &result, Some(entity.to_string()));
        result
    }

    fn blast_radius_inner(
        &self,
        caller: &Caller,
        entity: &str,
        options: BlastOptions,
    ) -> Result<BlastRadius, QueryError> {
        require(caller, Scope::Read, "blast_radius")?;
        let topo = self.projections.topology();
        let target = resolve_in(&topo, &self.scale, caller, entity)?;
        let impact = topo
            .impact(&target.id, &self.impact_query(caller, options))
            .ok_or_else(|| QueryError::Internal(format!("{} vanished during the query", target.id)))?;
        Ok(from_impact(target, impact, options))
    }

    /// The walk a caller may see: dependents above their clearance are withheld.
    pub(crate) fn impact_query(&self, caller: &Caller, options: BlastOptions) -> ImpactQuery {
        let max_rank = (caller.clearance != *self.scale.highest()).then(|| self.scale.rank(&caller.clearance));
        ImpactQuery { max_depth: options.max_depth, max_rank, limit: options.limit }
    }
}

pub(crate) fn from_impact(target: Arc<EntityInfo>, i: Impact, options: BlastOptions) -> BlastRadius {
    BlastRadius {
        target,
        max_depth: options.max_depth,
        truncated: i.total - i.withheld > i.shown.len(),
        dependents: i.shown,
        withheld: i.withheld,
        totals: Totals {
            dependents: i.total,
            by_tier: i.by_tier,
            by_environment: i.by_environment,
            by_classification: i.by_classification,
            by_kind: i.by_kind,
            max_depth: i.max_depth,
        },
    }
}
