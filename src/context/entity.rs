//! One entity: its attributes, its relations both ways, the documents that
//! speak of it, and which document said each thing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use oxigraph::model::Term;

use super::{QueryError, Service, require, resolve_in, visible};
use crate::auth::{Caller, Scope};
use crate::graph::Graph;
use crate::model::{DocId, EntityId, Relation, vocab};
use crate::search::SearchQuery;
use crate::topology::{EntityInfo, Topology};

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub doc: DocId,
    pub url: Option<String>,
    pub updated: Option<String>,
    pub title: Option<String>,
}

/// An attribute value and the document that stated it.
#[derive(Debug, Clone)]
pub struct Fact {
    pub attribute: String,
    pub value: String,
    pub source: Provenance,
}

/// A relation to another entity and the document that stated it.
#[derive(Debug, Clone)]
pub struct Link {
    pub relation: Relation,
    pub entity: Arc<EntityInfo>,
    pub source: Provenance,
}

/// A document that speaks of the entity.
#[derive(Debug, Clone)]
pub struct DocLink {
    /// `affects`, `mentions` or `causeIn`.
    pub relation: String,
    pub doc: Provenance,
}

#[derive(Debug, Clone)]
pub struct EntityView {
    pub entity: Arc<EntityInfo>,
    pub facts: Vec<Fact>,
    /// This entity → others.
    pub outgoing: Vec<Link>,
    /// Others → this entity.
    pub incoming: Vec<Link>,
    pub documents: Vec<DocLink>,
    /// Every document that said something about it.
    pub sources: Vec<Provenance>,
}

impl Service {
    pub async fn entity(&self, caller: &Caller, entity: &str) -> Result<EntityView, QueryError> {
        let result = self.guard(self.compute(|| self.entity_inner(caller, entity))).await;
        self.record(caller, "get_entity", &result, Some(entity.to_string()));
        result
    }

    fn entity_inner(&self, caller: &Caller, entity: &str) -> Result<EntityView, QueryError> {
        require(caller, Scope::Read, "get_entity")?;
        let topo = self.projections.topology();
        let info = resolve_in(&topo, &self.scale, caller, entity)?;
        let mut view = view(self.projections.graph(), &topo, info, |e| visible(&self.scale, caller, e))?;
        drop(topo);
        // Documents above the caller's clearance are not listed.
        if let Some(allowed) = super::search::allowed_levels(&self.scale, caller)
            && !view.documents.is_empty()
        {
            let ids: Vec<String> = view.documents.iter().map(|d| d.doc.doc.to_string()).collect();
            let q = SearchQuery { limit: ids.len(), doc_ids: ids, allowed: Some(allowed), ..SearchQuery::default() };
            let seen: HashSet<String> = self
                .projections
                .search()
                .search(&q)
                .map_err(|e| QueryError::Internal(e.to_string()))?
                .into_iter()
                .map(|h| h.doc.doc_id)
                .collect();
            view.documents.retain(|d| seen.contains(&d.doc.doc.to_string()));
        }
        Ok(view)
    }
}

fn view(
    graph: &Graph,
    topo: &Topology,
    info: Arc<EntityInfo>,
    visible: impl Fn(&EntityInfo) -> bool,
) -> Result<EntityView, QueryError> {
    let mut provenance: HashMap<String, Option<Provenance>> = HashMap::new();
    let mut prov = |g: &str| -> Result<Option<Provenance>, QueryError> {
        if let Some(p) = provenance.get(g) {
            return Ok(p.clone());
        }
        let p = graph.provenance(g)?.and_then(|p| {
            Some(Provenance { doc: DocId::from_iri(g)?, url: p.url, updated: p.updated, title: p.title })
        });
        provenance.insert(g.to_string(), p.clone());
        Ok(p)
    };
    let other = |iri: &str| -> Option<Arc<EntityInfo>> {
        let id = EntityId::from_iri(iri)?;
        Some(topo.get(&id).unwrap_or_else(|| Arc::new(EntityInfo::undeclared(&id))))
    };

    let mut facts = Vec::new();
    let mut outgoing = Vec::new();
    for s in graph.entity_statements(&info.id)? {
        let Some(source) = prov(&s.graph)? else {
            continue;
        };
        if let Some(rel) = Relation::from_iri(&s.predicate) {
            if let Term::NamedNode(o) = &s.object
                && let Some(e) = other(o.as_str())
                && visible(&e)
            {
                outgoing.push(Link { relation: rel, entity: e, source });
            }
            continue;
        }
        let value = match &s.object {
            Term::Literal(l) => l.value().to_string(),
            Term::NamedNode(n) => n.as_str().to_string(),
            _ => continue,
        };
        let attribute = s.predicate.strip_prefix(vocab::NS).map(str::to_string).unwrap_or_else(|| s.predicate.clone());
        facts.push(Fact { attribute, value, source });
    }

    let mut incoming = Vec::new();
    let mut documents = Vec::new();
    for s in graph.entity_incoming(&info.id)? {
        let Some(source) = prov(&s.graph)? else {
            continue;
        };
        if let Some(rel) = Relation::from_iri(&s.predicate) {
            if let Some(e) = other(&s.subject)
                && visible(&e)
            {
                incoming.push(Link { relation: rel, entity: e, source });
            }
        } else if DocId::from_iri(&s.subject).is_some() {
            let relation = s.predicate.strip_prefix(vocab::NS).unwrap_or(&s.predicate).to_string();
            if let Some(doc) = prov(&s.subject)? {
                documents.push(DocLink { relation, doc });
            }
        }
    }

    facts.sort_by(|a, b| (&a.attribute, &a.value).cmp(&(&b.attribute, &b.value)));
    let key = |l: &Link| (l.relation, l.entity.id.clone(), l.source.doc.clone());
    outgoing.sort_by_key(key);
    incoming.sort_by_key(key);
    documents.sort_by(|a, b| b.doc.updated.cmp(&a.doc.updated).then(a.doc.doc.cmp(&b.doc.doc)));
    let mut sources: Vec<Provenance> = info.sources.iter().filter_map(|g| prov(g).ok().flatten()).collect();
    sources.sort_by(|a, b| a.doc.cmp(&b.doc));
    Ok(EntityView { entity: info, facts, outgoing, incoming, documents, sources })
}
