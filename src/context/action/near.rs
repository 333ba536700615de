//! The places around the target where the explanation of a symptom may
//! lie, and how much a document about each place weighs.
//!
//! A symptom on the target is explained by what happened to the target
//! itself, or to something it depends on (the nearer, the likelier), or to
//! something that depends on it and may now load it differently. Shared
//! Systems, Domains and owners are not places: the walk never enters them.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::TextDoc;
use crate::topology::{EntityInfo, Reach, Side, Topology};

/// Dependencies are followed this far down, dependents this far up.
pub const DEPTH_DOWN: u32 = 3;
pub const DEPTH_UP: u32 = 3;
/// At most this many places (nearest first): a core network's
/// neighbourhood is the whole estate.
pub const LIMIT: usize = 500;

/// A place around the target.
#[derive(Debug, Clone)]
pub struct Place {
    pub entity: Arc<EntityInfo>,
    /// `None` for the target itself.
    pub side: Option<Side>,
    pub hops: u32,
    /// `pricing-svc → dependsOn → rates-db`; the target's own name for itself.
    pub path: String,
}

impl Place {
    /// How much a document about this place can explain a symptom on the
    /// target (the target itself 1.0). Dependents weigh less than
    /// dependencies: they explain load, not failure.
    pub fn weight(&self) -> f64 {
        match (self.side, self.hops) {
            (None, _) => 1.0,
            (Some(Side::Dependency), 1) => 0.85,
            (Some(Side::Dependency), 2) => 0.7,
            (Some(Side::Dependency), _) => 0.55,
            (Some(Side::Dependent), 1) => 0.6,
            (Some(Side::Dependent), 2) => 0.4,
            (Some(Side::Dependent), _) => 0.3,
        }
    }

    /// "the target", "a dependency, 2 hops", "a dependent, 1 hop".
    pub fn relation(&self) -> String {
        let unit = if self.hops == 1 { "hop" } else { "hops" };
        match self.side {
            None => "the target".to_string(),
            Some(Side::Dependency) => format!("a dependency, {} {unit}", self.hops),
            Some(Side::Dependent) => format!("a dependent, {} {unit}", self.hops),
        }
    }
}

/// How a document relates to the places: through what it affects (the
/// source names it) or only mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Affects,
    Mentions,
    /// Its root cause names the place.
    CauseIn,
}

impl Link {
    fn factor(self) -> f64 {
        match self {
            Link::Affects | Link::CauseIn => 1.0,
            Link::Mentions => 0.85,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Link::Affects => "affects",
            Link::Mentions => "mentions",
            Link::CauseIn => "names as cause",
        }
    }
}

/// The target and its causal neighbourhood, keyed by entity id.
pub struct Neighbourhood {
    pub target: Arc<EntityInfo>,
    places: HashMap<String, Place>,
}

impl Neighbourhood {
    /// The places the caller may see.
    pub fn around(topo: &Topology, target: &Arc<EntityInfo>, see: &dyn Fn(&EntityInfo) -> bool) -> Neighbourhood {
        let mut places = HashMap::new();
        places.insert(
            target.id.to_string(),
            Place { entity: target.clone(), side: None, hops: 0, path: target.name.clone() },
        );
        for reach in topo.causal(&target.id, DEPTH_DOWN, DEPTH_UP, LIMIT) {
            // A path through something hidden is not shown, nor what it leads to.
            if !reach.path.iter().all(|s| see(&s.entity)) {
                continue;
            }
            let Reach { entity, side, hops, .. } = &reach;
            let path = reach.describe(&target.name);
            places.entry(entity.id.to_string()).or_insert(Place {
                entity: entity.clone(),
                side: Some(*side),
                hops: *hops,
                path,
            });
        }
        Neighbourhood { target: target.clone(), places }
    }

    /// The names and aliases of every place.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in self.places.values() {
            out.push(p.entity.name.clone());
            out.push(p.entity.id.name().to_string());
            out.extend(p.entity.aliases.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn get(&self, id: &str) -> Option<&Place> {
        self.places.get(id)
    }

    /// Every place's entity id (the target's included).
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.places.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The place a document speaks of that weighs most, how it speaks of
    /// it, and the weight. `None` when it speaks of no place.
    pub fn best_place<'a>(&'a self, doc: &TextDoc) -> Option<(&'a Place, Link, f64)> {
        self.best_in(doc, &[Link::Affects, Link::CauseIn, Link::Mentions])
    }

    /// For a change: the place it changed. A change is about what it
    /// affects; what its text merely mentions (the cluster a deploy ran on,
    /// the service that asked for it) counts only when it affects nothing
    /// FFO knows.
    pub fn changed_place<'a>(&'a self, doc: &TextDoc) -> Option<(&'a Place, Link, f64)> {
        if doc.affects.is_empty() { self.best_place(doc) } else { self.best_in(doc, &[Link::Affects]) }
    }

    fn best_in<'a>(&'a self, doc: &TextDoc, links: &[Link]) -> Option<(&'a Place, Link, f64)> {
        let mut best: Option<(&Place, Link, f64)> = None;
        let lists = [(&doc.affects, Link::Affects), (&doc.cause_in, Link::CauseIn), (&doc.mentions, Link::Mentions)];
        for (list, link) in lists.into_iter().filter(|(_, l)| links.contains(l)) {
            for id in list {
                if let Some(place) = self.places.get(id) {
                    let w = place.weight() * link.factor();
                    if best.is_none_or(|(_, _, b)| w > b) {
                        best = Some((place, link, w));
                    }
                }
            }
        }
        best
    }
}
