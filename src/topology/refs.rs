//! Entities by the names other systems give them: the values of the
//! Backstage well-known annotations a catalog carries (`github.com/project-slug`,
//! `argocd/app-name`, ...), kept as `ffo:externalRef "annotation=value"`.
//! Change events are mapped to entities through them.

use std::collections::HashMap;

use petgraph::stable_graph::NodeIndex;

use super::EntityInfo;

/// Annotation → lower-cased value → the entities that carry it.
#[derive(Default)]
pub(super) struct RefIndex {
    by_key: HashMap<String, HashMap<String, Vec<NodeIndex>>>,
}

impl RefIndex {
    pub(super) fn insert(&mut self, info: &EntityInfo, node: NodeIndex) {
        if !info.declared() {
            return;
        }
        for (key, value) in &info.external_refs {
            let list = self.by_key.entry(key.clone()).or_default().entry(value.to_lowercase()).or_default();
            if !list.contains(&node) {
                list.push(node);
            }
        }
    }

    pub(super) fn remove(&mut self, info: &EntityInfo, node: NodeIndex) {
        for (key, value) in &info.external_refs {
            let Some(values) = self.by_key.get_mut(key) else { continue };
            let value = value.to_lowercase();
            if let Some(list) = values.get_mut(&value) {
                list.retain(|n| *n != node);
                if list.is_empty() {
                    values.remove(&value);
                }
            }
            if values.is_empty() {
                self.by_key.remove(key);
            }
        }
    }

    /// Entities whose annotation `key` has `value` (case-insensitive).
    pub(super) fn get(&self, key: &str, value: &str) -> &[NodeIndex] {
        self.by_key.get(key).and_then(|v| v.get(&value.trim().to_lowercase())).map_or(&[], Vec::as_slice)
    }

    /// Every value of annotation `key`, with its entities.
    pub(super) fn values(&self, key: &str) -> impl Iterator<Item = (&str, &[NodeIndex])> {
        self.by_key.get(key).into_iter().flat_map(|v| v.iter().map(|(value, nodes)| (value.as_str(), nodes.as_slice())))
    }
}

/// Splits an `ffo:externalRef` literal into its annotation and value.
pub(super) fn split_ref(literal: &str) -> Option<(String, String)> {
    let (key, value) = literal.split_once('=')?;
    let (key, value) = (key.trim(), value.trim());
    (!key.is_empty() && !value.is_empty()).then(|| (key.to_string(), value.to_string()))
}

#[cfg(test)]
mod tests {
    use oxigraph::model::{Literal, NamedNode, Triple};

    use super::super::Topology;
    use crate::model::{ClassificationScale, EntityId, EntityKind, vocab};

    fn declared(id: &EntityId, refs: &[&str]) -> Vec<Triple> {
        let s = NamedNode::new_unchecked(id.iri());
        let mut out = vec![
            Triple::new(s.clone(), vocab::rdf::TYPE, NamedNode::new_unchecked(EntityKind::Service.iri())),
            Triple::new(s.clone(), vocab::NAME, Literal::new_simple_literal(id.name())),
        ];
        out.extend(refs.iter().map(|r| Triple::new(s.clone(), vocab::EXTERNAL_REF, Literal::new_simple_literal(*r))));
        out
    }

    #[test]
    fn entities_by_external_reference_come_and_go_with_their_document() {
        let (shop, cart): (EntityId, EntityId) = ("component:shop".parse().unwrap(), "component:cart".parse().unwrap());
        let mut topo = Topology::new(ClassificationScale::default());
        let mut triples = declared(&shop, &["github.com/project-slug=Acme/Shop", "argocd/app-name=shop-prod"]);
        triples.extend(declared(&cart, &["backstage.io/kubernetes-label-selector=app=cart", "not a ref"]));
        topo.apply("https://ffo.dev/doc/catalog/a", Some(&triples));
        let ids = |v: Vec<std::sync::Arc<super::EntityInfo>>| v.iter().map(|e| e.id.to_string()).collect::<Vec<_>>();
        assert_eq!(ids(topo.by_external_ref("github.com/project-slug", "acme/shop")), ["component:default/shop"]);
        assert_eq!(ids(topo.by_external_ref("argocd/app-name", "shop-prod")), ["component:default/shop"]);
        assert!(topo.by_external_ref("argocd/app-name", "shop").is_empty());
        let selectors = topo.external_refs("backstage.io/kubernetes-label-selector");
        assert_eq!(selectors.len(), 1);
        assert_eq!((selectors[0].0.as_str(), selectors[0].1.id.name()), ("app=cart", "cart"));
        topo.apply("https://ffo.dev/doc/catalog/a", None);
        assert!(topo.by_external_ref("github.com/project-slug", "acme/shop").is_empty());
    }
}
