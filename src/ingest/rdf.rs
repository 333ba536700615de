//! RDF files (Turtle, N-Triples, N-Quads): one ledger document per file,
//! all of its statements in the file's named graph. Like the catalog, an RDF
//! ingest is all or nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use oxigraph::io::{RdfFormat, RdfParser, RdfSyntaxError};
use oxigraph::model::{BlankNode, NamedOrBlankNode, Term, Triple};
use sha2::{Digest, Sha256};

use super::{IngestConfig, IngestError, Note, Report};
use crate::graph::to_ntriples;
use crate::ledger::{Change, Ledger, NewVersion};
use crate::model::{DocId, EntityId, Source, vocab};

const EXTENSIONS: &[&str] = &["ttl", "nt", "nq", "trig"];

pub async fn ingest(ledger: &Ledger, path: &Path, config: &IngestConfig) -> Result<Report, IngestError> {
    let mut report = Report::new(Source::Rdf);
    let files = super::collect_files(path, EXTENSIONS)?;
    let mut changes = Vec::new();
    let mut seen = HashSet::new();
    for file in &files {
        let Some(format) = format_of(file) else {
            continue;
        };
        let bytes = super::read_bounded(file, config.max_document_bytes)?;
        let id = super::file_id(file)?;
        let doc = DocId::new(Source::Rdf, id.clone())
            .map_err(|e| IngestError::Invalid { path: file.clone(), message: e.to_string() })?;
        let mut triples = parse(file, format, &bytes, &doc, &mut report)?;
        check(file, &triples, config, &mut report)?;
        report.entities += triples
            .iter()
            .filter(|t| t.predicate.as_ref() == vocab::rdf::TYPE)
            .filter(
                |t| matches!(&t.subject, NamedOrBlankNode::NamedNode(n) if EntityId::from_iri(n.as_str()).is_some()),
            )
            .count();
        triples.extend(super::document_triples(&doc, vocab::RDF_FILE, Some(&super::file_url(&id)), None));
        report.files += 1;
        seen.insert(doc.clone());
        changes.push(Change::Put(NewVersion {
            doc,
            source_version: None,
            source_updated: None,
            payload: bytes,
            graph: to_ntriples(&triples),
            text_doc: None,
        }));
    }
    report.documents = changes.len();
    let scope = super::file_id(path)?;
    for (doc, state) in ledger.states_of(Source::Rdf).await? {
        let ext = doc.external_id();
        let inside = ext == scope || ext.starts_with(&format!("{scope}/"));
        if inside && !state.deleted && !seen.contains(&doc) {
            changes.push(Change::Delete(doc));
        }
    }
    super::commit(ledger, &changes, &mut report).await?;
    Ok(report)
}

fn format_of(path: &Path) -> Option<RdfFormat> {
    match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
        "ttl" => Some(RdfFormat::Turtle),
        "nt" => Some(RdfFormat::NTriples),
        "nq" => Some(RdfFormat::NQuads),
        "trig" => Some(RdfFormat::TriG),
        _ => None,
    }
}

/// Parses a file into triples. Graph names in N-Quads/TriG are folded into
/// the file's own graph (the file is the unit of provenance). Blank nodes are
/// renamed deterministically per document, so two files' `_:b0` never meet
/// and an unchanged file parses to the same text.
fn parse(
    path: &Path,
    format: RdfFormat,
    bytes: &[u8],
    doc: &DocId,
    report: &mut Report,
) -> Result<Vec<Triple>, IngestError> {
    let base = format!("file://{}", doc.external_id());
    let parser = RdfParser::from_format(format).with_base_iri(&base).unwrap_or_else(|_| RdfParser::from_format(format));
    let salt = hex::encode(&Sha256::digest(doc.to_string().as_bytes())[..6]);
    let mut names: HashMap<String, BlankNode> = HashMap::new();
    let mut rename = |b: &BlankNode| -> BlankNode {
        let n = names.len();
        names.entry(b.as_str().to_string()).or_insert_with(|| BlankNode::new_unchecked(format!("d{salt}n{n}"))).clone()
    };
    let mut named_graphs = false;
    let mut out = Vec::new();
    for quad in parser.for_slice(bytes) {
        let quad = quad.map_err(|e| rdf_error(path, e))?;
        named_graphs |= !quad.graph_name.is_default_graph();
        let subject = match quad.subject {
            NamedOrBlankNode::BlankNode(b) => NamedOrBlankNode::BlankNode(rename(&b)),
            s => s,
        };
        let object = match quad.object {
            Term::BlankNode(b) => Term::BlankNode(rename(&b)),
            o => o,
        };
        out.push(Triple::new(subject, quad.predicate, object));
    }
    if named_graphs {
        report.notes.push(Note {
            at: path.display().to_string(),
            message: "named graphs in the file are merged into the file's own graph".into(),
        });
    }
    Ok(out)
}

fn rdf_error(path: &Path, e: RdfSyntaxError) -> IngestError {
    IngestError::Rdf {
        path: path.to_path_buf(),
        line: e.location().map(|l| l.start.line + 1).unwrap_or(0),
        message: e.to_string(),
    }
}

/// Warns about FFO attributes whose values FFO cannot use. An unknown
/// classification level refuses the file: storing the entity as
/// unclassified would show it to everyone.
fn check(path: &Path, triples: &[Triple], config: &IngestConfig, report: &mut Report) -> Result<(), IngestError> {
    for t in triples {
        let p = t.predicate.as_ref();
        let value = match &t.object {
            Term::Literal(l) => l.value(),
            _ => continue,
        };
        if p == vocab::CLASSIFICATION
            && let Err(e) = config.scale.parse(value)
        {
            return Err(IngestError::Invalid {
                path: path.to_path_buf(),
                message: format!("{}: {e}; nothing from this file was stored", t.subject),
            });
        }
        let problem = if p == vocab::TIER {
            value.parse::<u8>().ok().filter(|t| *t <= 9).is_none().then(|| format!("tier {value:?} is not 0..9"))
        } else {
            None
        };
        if let Some(problem) = problem {
            report
                .warnings
                .push(Note { at: path.display().to_string(), message: format!("{}: {problem}; ignored", t.subject) });
        }
    }
    Ok(())
}
