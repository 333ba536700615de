use oxigraph::model::{Literal, NamedNode, Triple};

use super::*;
use crate::model::vocab;

fn entity(kind: &str, name: &str) -> EntityId {
    EntityId::new(kind, "default", name).unwrap()
}

fn declare(id: &EntityId, kind: EntityKind, tier: u8) -> Vec<Triple> {
    let s = NamedNode::new_unchecked(id.iri());
    vec![
        Triple::new(s.clone(), vocab::rdf::TYPE, NamedNode::new_unchecked(kind.iri())),
        Triple::new(s.clone(), vocab::NAME, Literal::new_simple_literal(id.name())),
        Triple::new(s, vocab::TIER, Literal::from(i64::from(tier))),
    ]
}

fn rel(a: &EntityId, r: Relation, b: &EntityId) -> Triple {
    Triple::new(NamedNode::new_unchecked(a.iri()), NamedNode::new_unchecked(r.iri()), NamedNode::new_unchecked(b.iri()))
}

#[test]
fn blast_radius_walks_impact_edges_once_through_cycles() {
    let (web, api, db, team) =
        (entity("component", "web"), entity("component", "api"), entity("resource", "db"), entity("group", "team"));
    let mut triples = declare(&web, EntityKind::Service, 1);
    triples.extend(declare(&api, EntityKind::Service, 0));
    triples.extend(declare(&db, EntityKind::Database, 0));
    triples.extend(declare(&team, EntityKind::Team, 3));
    triples.push(rel(&web, Relation::DependsOn, &api));
    triples.push(rel(&api, Relation::DependsOn, &db));
    triples.push(rel(&db, Relation::DependsOn, &api)); // a cycle
    triples.push(rel(&api, Relation::OwnedBy, &team)); // not impact

    let mut topo = Topology::new(ClassificationScale::default());
    topo.apply("g1", Some(&triples));
    let reached = topo.blast_radius(&db, None).unwrap();
    let mut got: Vec<(String, u32)> = reached.iter().map(|r| (r.entity.id.to_string(), r.depth)).collect();
    got.sort();
    assert_eq!(got, vec![("component:default/api".to_string(), 1), ("component:default/web".to_string(), 2)]);
    assert!(topo.blast_radius(&team, None).unwrap().is_empty());
    assert_eq!(topo.blast_radius(&db, Some(1)).unwrap().len(), 1);
}

#[test]
fn replacing_a_document_takes_back_exactly_its_facts() {
    let (a, b, c) = (entity("component", "a"), entity("component", "b"), entity("component", "c"));
    let mut topo = Topology::new(ClassificationScale::default());
    let mut doc1 = declare(&a, EntityKind::Service, 1);
    doc1.extend(declare(&b, EntityKind::Service, 1));
    doc1.push(rel(&a, Relation::DependsOn, &b));
    topo.apply("doc1", Some(&doc1));
    // A second document states the same edge and adds another.
    let doc2 = vec![rel(&a, Relation::DependsOn, &b), rel(&c, Relation::RunsOn, &b)];
    topo.apply("doc2", Some(&doc2));
    assert_eq!(topo.blast_radius(&b, None).unwrap().len(), 2);

    // Removing doc1 keeps the edge doc2 also states, and drops a's declaration.
    topo.apply("doc1", None);
    assert_eq!(topo.blast_radius(&b, None).unwrap().len(), 2);
    assert!(matches!(topo.resolve("a"), Resolution::Unknown(_)));
    topo.apply("doc2", None);
    assert!(topo.get(&b).is_none());
    assert_eq!(topo.entity_count(), 0);
    assert_eq!(topo.edge_count(), 0);
}

#[test]
fn resolution_prefers_names_to_aliases_and_never_guesses() {
    let (sys, comp, host) = (entity("system", "search"), entity("component", "search"), entity("resource", "web-01"));
    let mut t = declare(&sys, EntityKind::System, 1);
    t.extend(declare(&comp, EntityKind::Service, 1));
    t.extend(declare(&host, EntityKind::Host, 1));
    t.push(Triple::new(
        NamedNode::new_unchecked(host.iri()),
        vocab::ALIAS,
        Literal::new_simple_literal("web-01.prod.internal"),
    ));
    let mut topo = Topology::new(ClassificationScale::default());
    topo.apply("g", Some(&t));
    match topo.resolve("Search") {
        Resolution::Ambiguous(c) => assert_eq!(c.len(), 2),
        other => panic!("expected ambiguity, got {other:?}"),
    }
    match topo.resolve("system:search") {
        Resolution::Found(e) => assert_eq!(e.id, sys),
        other => panic!("{other:?}"),
    }
    match topo.resolve("WEB-01.prod.internal") {
        Resolution::Found(e) => assert_eq!(e.id, host),
        other => panic!("{other:?}"),
    }
    match topo.resolve("serch") {
        Resolution::Unknown(similar) => assert!(!similar.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_causal_neighbourhood_has_paths_and_skips_groupings() {
    let (web, api, kv, host, etl, db, system) = (
        entity("component", "web"),
        entity("component", "api"),
        entity("resource", "kv"),
        entity("resource", "host"),
        entity("component", "etl"),
        entity("resource", "db"),
        entity("system", "shop"),
    );
    let mut t = declare(&web, EntityKind::Service, 1);
    for (id, kind) in [
        (&api, EntityKind::Service),
        (&kv, EntityKind::Cache),
        (&host, EntityKind::Host),
        (&etl, EntityKind::Service),
        (&db, EntityKind::Database),
        (&system, EntityKind::System),
    ] {
        t.extend(declare(id, kind, 1));
    }
    t.push(rel(&web, Relation::DependsOn, &api));
    t.push(rel(&api, Relation::DependsOn, &kv));
    t.push(rel(&kv, Relation::RunsOn, &host));
    t.push(rel(&api, Relation::DependsOn, &db));
    t.push(rel(&etl, Relation::DependsOn, &db));
    for part in [&web, &api, &kv, &etl] {
        t.push(rel(part, Relation::PartOf, &system));
    }
    let mut topo = Topology::new(ClassificationScale::default());
    topo.apply("g", Some(&t));
    let near = topo.causal(&web, 3, 2, 100);
    let found = |name: &str| near.iter().find(|r| r.entity.id.name() == name);
    assert!(found("shop").is_none(), "a shared system is not a causal hop");
    let host_reach = found("host").expect("three hops down");
    assert_eq!((host_reach.side, host_reach.hops), (Side::Dependency, 3));
    assert_eq!(host_reach.describe("web"), "web → dependsOn → api → dependsOn → kv → runsOn → host");
    assert!(found("etl").is_none(), "a dependent of a dependency is not on the path");
    let near = topo.causal(&db, 3, 2, 100);
    let etl_reach = near.iter().find(|r| r.entity.id.name() == "etl").expect("a dependent");
    assert_eq!((etl_reach.side, etl_reach.hops), (Side::Dependent, 1));
    assert_eq!(etl_reach.describe("db"), "db ← dependsOn ← etl");
    let web_reach = near.iter().find(|r| r.entity.id.name() == "web").expect("two hops up");
    assert_eq!(web_reach.hops, 2);
}
