//! Every IRI the code uses is defined in schema/ffo.ttl.

use std::collections::BTreeSet;

use ffo::model::{EntityKind, Relation, vocab};
use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::{NamedOrBlankNode, Term};

mod common;

fn defined() -> BTreeSet<String> {
    let ttl = std::fs::read(common::repo().join("schema/ffo.ttl")).expect("schema/ffo.ttl");
    let mut out = BTreeSet::new();
    for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(&ttl) {
        let quad = quad.expect("schema/ffo.ttl parses");
        if let NamedOrBlankNode::NamedNode(s) = &quad.subject {
            out.insert(s.as_str().to_string());
        }
    }
    out
}

#[test]
fn every_vocabulary_term_kind_and_relation_is_defined() {
    let defined = defined();
    let mut used: Vec<String> = vocab::ALL.iter().map(|t| t.as_str().to_string()).collect();
    used.extend(EntityKind::ALL.iter().map(|k| k.iri()));
    used.extend(Relation::ALL.iter().map(|r| r.iri()));
    let missing: Vec<_> = used.iter().filter(|u| !defined.contains(*u)).collect();
    assert!(missing.is_empty(), "used but not defined in schema/ffo.ttl: {missing:?}");
}

#[test]
fn every_iri_in_the_queries_and_the_source_is_defined() {
    let defined = defined();
    let mut used = BTreeSet::new();
    // ffo:term in queries/*.rq
    for entry in std::fs::read_dir(common::repo().join("queries")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for (i, _) in text.match_indices("ffo:") {
            let term: String = text[i + 4..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if !term.is_empty() {
                used.insert(format!("{}{term}", vocab::NS));
            }
        }
    }
    // "https://ffo.dev/ns#term" literals anywhere in src/
    let mut stack = vec![common::repo().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for (i, _) in text.match_indices(vocab::NS) {
                    let term: String =
                        text[i + vocab::NS.len()..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                    if !term.is_empty() {
                        used.insert(format!("{}{term}", vocab::NS));
                    }
                }
            }
        }
    }
    assert!(used.len() > 10, "the scan found too little: {used:?}");
    let missing: Vec<_> = used.iter().filter(|u| !defined.contains(*u)).collect();
    assert!(missing.is_empty(), "used but not defined in schema/ffo.ttl: {missing:?}");
}

#[test]
fn classification_levels_are_ordered_in_the_ontology() {
    let ttl = std::fs::read(common::repo().join("schema/ffo.ttl")).unwrap();
    let mut ranks = Vec::new();
    for quad in RdfParser::from_format(RdfFormat::Turtle).for_slice(&ttl) {
        let quad = quad.unwrap();
        if quad.predicate.as_str() == format!("{}rank", vocab::NS)
            && let (NamedOrBlankNode::NamedNode(s), Term::Literal(l)) = (&quad.subject, &quad.object)
        {
            ranks.push((l.value().parse::<i64>().unwrap(), s.as_str().rsplit('#').next().unwrap().to_string()));
        }
    }
    ranks.sort();
    let names: Vec<_> = ranks.into_iter().map(|(_, n)| n).collect();
    let default: Vec<_> = ffo::model::ClassificationScale::default().levels().iter().map(|l| l.to_string()).collect();
    assert_eq!(names, default, "the ontology's levels and the built-in scale disagree");
}
