//! What one document says about entities, read from its triples.

use std::collections::BTreeMap;

use oxigraph::model::{Term, Triple};

use super::EntityInfo;
use crate::model::{ClassificationScale, EntityId, EntityKind, Relation, vocab};

/// A change window's time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
    pub freeze: bool,
}

/// One document's statements about one entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntityFacts {
    pub kind: Option<EntityKind>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub aliases: Vec<String>,
    pub tier: Option<u8>,
    pub environment: Option<String>,
    pub classification: Option<crate::model::Classification>,
    pub lifecycle: Option<String>,
    pub spec_type: Option<String>,
    pub tags: Vec<String>,
    pub window_start: Option<String>,
    pub window_end: Option<String>,
    pub freeze: Option<bool>,
    /// (annotation, value) pairs other systems know it by.
    pub external_refs: Vec<(String, String)>,
}

/// Everything one document says about entities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocFacts {
    pub entities: BTreeMap<EntityId, EntityFacts>,
    /// (subject, relation, object), entity to entity.
    pub edges: Vec<(EntityId, Relation, EntityId)>,
}

impl DocFacts {
    /// Reads entity statements from a document's triples; statements about
    /// documents, and subjects outside FFO's entity space, are not topology.
    pub fn from_triples(triples: &[Triple], scale: &ClassificationScale) -> DocFacts {
        let mut out = DocFacts::default();
        for t in triples {
            let oxigraph::model::NamedOrBlankNode::NamedNode(s) = &t.subject else {
                continue;
            };
            let Some(subject) = EntityId::from_iri(s.as_str()) else {
                continue;
            };
            let p = t.predicate.as_ref();
            if let Some(rel) = Relation::from_iri(p.as_str()) {
                if let Term::NamedNode(o) = &t.object
                    && let Some(object) = EntityId::from_iri(o.as_str())
                {
                    out.edges.push((subject.clone(), rel, object));
                    out.entities.entry(subject).or_default();
                }
                continue;
            }
            let text = || match &t.object {
                Term::Literal(l) => Some(l.value().to_string()),
                _ => None,
            };
            let facts = out.entities.entry(subject).or_default();
            if p == vocab::rdf::TYPE {
                if let Term::NamedNode(o) = &t.object
                    && let Some(kind) = EntityKind::from_iri(o.as_str())
                {
                    // The most specific class wins over a bare ffo:Entity.
                    facts.kind = Some(kind);
                }
            } else if p == vocab::NAME {
                facts.name = text();
            } else if p == vocab::TITLE {
                facts.title = text();
            } else if p == vocab::DESCRIPTION {
                facts.description = text();
            } else if p == vocab::ALIAS {
                facts.aliases.extend(text());
            } else if p == vocab::TIER {
                facts.tier = text().and_then(|t| t.trim().parse().ok());
            } else if p == vocab::ENVIRONMENT {
                facts.environment = text();
            } else if p == vocab::CLASSIFICATION {
                // A level the scale does not know is the highest (fail
                // closed), never "unclassified".
                facts.classification = text().map(|c| scale.effective(Some(&c)).clone());
            } else if p == vocab::LIFECYCLE {
                facts.lifecycle = text();
            } else if p == vocab::SPEC_TYPE {
                facts.spec_type = text();
            } else if p == vocab::TAG {
                facts.tags.extend(text());
            } else if p == vocab::WINDOW_START {
                facts.window_start = text();
            } else if p == vocab::WINDOW_END {
                facts.window_end = text();
            } else if p == vocab::FREEZE {
                facts.freeze = text().map(|t| t == "true" || t == "1");
            } else if p == vocab::EXTERNAL_REF {
                facts.external_refs.extend(text().as_deref().and_then(super::refs::split_ref));
            }
        }
        for f in out.entities.values_mut() {
            f.aliases.sort();
            f.aliases.dedup();
            f.tags.sort();
            f.tags.dedup();
            f.external_refs.sort();
            f.external_refs.dedup();
        }
        out.edges.sort();
        out.edges.dedup();
        out
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty() && self.edges.is_empty()
    }

    pub fn entity_ids(&self) -> impl Iterator<Item = &EntityId> {
        self.entities.keys().chain(self.edges.iter().flat_map(|(a, _, b)| [a, b]))
    }

    /// Folds this document's facts about `id` into `info`. Documents are
    /// merged in a fixed order, so for single-valued attributes the first
    /// document (by IRI) that states one wins; lists are unions.
    /// Two documents that classify the same entity differently: the higher wins.
    pub(super) fn merge_into(&self, id: &EntityId, doc: &str, info: &mut EntityInfo, scale: &ClassificationScale) {
        let mut said = false;
        if let Some(f) = self.entities.get(id) {
            said = true;
            fn first<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
                if slot.is_none() {
                    slot.clone_from(value);
                }
            }
            first(&mut info.kind, &f.kind);
            if let Some(name) = &f.name
                && info.name == id.name()
            {
                info.name.clone_from(name);
            }
            first(&mut info.title, &f.title);
            first(&mut info.description, &f.description);
            first(&mut info.tier, &f.tier);
            first(&mut info.environment, &f.environment);
            if let Some(c) = &f.classification {
                info.classification = Some(match &info.classification {
                    Some(held) => scale.max(held, c).clone(),
                    None => c.clone(),
                });
            }
            first(&mut info.lifecycle, &f.lifecycle);
            first(&mut info.spec_type, &f.spec_type);
            for a in &f.aliases {
                if !info.aliases.contains(a) {
                    info.aliases.push(a.clone());
                }
            }
            for t in &f.tags {
                if !info.tags.contains(t) {
                    info.tags.push(t.clone());
                }
            }
            for r in &f.external_refs {
                if !info.external_refs.contains(r) {
                    info.external_refs.push(r.clone());
                }
            }
            if f.window_start.is_some() || f.window_end.is_some() || f.freeze.is_some() {
                let w = info.window.get_or_insert(Window { start: None, end: None, freeze: false });
                first(&mut w.start, &f.window_start);
                first(&mut w.end, &f.window_end);
                w.freeze |= f.freeze.unwrap_or(false);
            }
        }
        // Edges are sorted by subject: the entity's own are one slice.
        let start = self.edges.partition_point(|(from, _, _)| from < id);
        for (_, rel, to) in self.edges[start..].iter().take_while(|(from, _, _)| from == id) {
            info.relations.push((*rel, to.clone()));
            said = true;
        }
        if said && !info.sources.iter().any(|s| s == doc) {
            info.sources.push(doc.to_string());
        }
        info.relations.sort();
        info.relations.dedup();
    }
}
