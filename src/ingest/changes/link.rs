//! From a change record to a stored change: the entities it touches (its
//! references through the catalog's well-known annotations, the object's
//! labels through label selectors, its names through names and aliases),
//! and the rendered document.
//!
//! Re-linking: a change that resolves to no entity is stored anyway, with
//! what it tried as `ffo:unresolvedRef`. After a catalog import the query
//! layer finds those documents in the graph and calls [`relink`], which
//! resolves each stored record again (the payload is the record) and writes
//! a new version where something now resolves.

use super::{ChangeRecord, Context, Place, Stored};
use crate::ingest::config::ChangesMapping;
use crate::ingest::document::HistoryDoc;
use crate::ingest::linking::{Linker, Named};
use crate::ingest::{IngestError, Note, Report};
use crate::ledger::{Change, Ledger, NewVersion};
use crate::model::{DocId, DocKind, EntityId};

/// Finds entities by another system's name for them: the value of a catalog
/// annotation. The query layer answers from the topology.
pub trait RefLookup: Sync {
    /// Entities whose `annotation` has `value` (case-insensitive).
    fn by_ref(&self, annotation: &str, value: &str) -> Vec<EntityId>;
    /// Every value of `annotation`, with its entity (for label selectors).
    fn values_of(&self, annotation: &str) -> Vec<(String, EntityId)>;
}

/// No entity is known by any reference.
pub struct NoRefs;

impl RefLookup for NoRefs {
    fn by_ref(&self, _: &str, _: &str) -> Vec<EntityId> {
        Vec::new()
    }
    fn values_of(&self, _: &str) -> Vec<(String, EntityId)> {
        Vec::new()
    }
}

/// What a record's references and names resolved to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Linked {
    pub affects: Vec<EntityId>,
    /// When nothing resolved: every reference and name tried.
    pub unresolved: Vec<String>,
    /// Names that match several entities (never guessed).
    pub ambiguous: Vec<String>,
}

/// Resolves a record's references, labels and names.
pub fn resolve(record: &ChangeRecord, linker: &Linker, refs: &dyn RefLookup, m: &ChangesMapping) -> Linked {
    let mut out = Linked::default();
    let mut tried = Vec::new();
    let add = |ids: Vec<EntityId>, affects: &mut Vec<EntityId>| {
        for id in ids {
            if !affects.contains(&id) {
                affects.push(id);
            }
        }
    };
    for r in &record.refs {
        tried.push(format!("{}={}", r.annotation, r.value));
        add(refs.by_ref(&r.annotation, &r.value), &mut out.affects);
    }
    if !record.labels.is_empty() {
        for annotation in &m.selectors {
            let matching: Vec<EntityId> = refs
                .values_of(annotation)
                .into_iter()
                .filter(|(selector, _)| selects(selector, &record.labels))
                .map(|(_, id)| id)
                .collect();
            add(matching, &mut out.affects);
        }
        let labels: Vec<String> = record.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        tried.push(format!("labels {}", labels.join(",")));
    }
    for name in &record.entities {
        tried.push(name.clone());
        match linker.resolve(name) {
            Named::One(id) => add(vec![id], &mut out.affects),
            Named::Ambiguous(ids) => out.ambiguous.push(format!(
                "{name:?} names several entities ({})",
                ids.iter().map(EntityId::to_string).collect::<Vec<_>>().join(", ")
            )),
            Named::Unknown => {}
        }
    }
    if out.affects.is_empty() {
        out.unresolved = tried;
    }
    out
}

/// Whether a Kubernetes equality-based selector (`app=shop,tier!=batch`)
/// selects an object with `labels`.
pub fn selects(selector: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
    let mut any = false;
    for term in selector.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        any = true;
        let ok = if let Some((k, v)) = term.split_once("!=") {
            labels.get(k.trim()).is_none_or(|l| l != v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels.get(k.trim()).is_some_and(|l| l == v.trim())
        } else if term.contains(' ') {
            // Set-based terms (`env in (a,b)`) are not read: no match.
            false
        } else {
            labels.contains_key(term)
        };
        if !ok {
            return false;
        }
    }
    any
}

/// Links and renders a record: what the answer lists of it, and the version
/// the ledger stores (its payload is the record, for re-linking).
pub fn render(
    at: Place,
    doc: DocId,
    record: ChangeRecord,
    cx: &Context<'_>,
    report: &mut Report,
) -> (Stored, NewVersion) {
    let linked = resolve(&record, cx.linker, cx.refs, &cx.config.changes);
    for a in &linked.ambiguous {
        report.warnings.push(Note { at: doc.to_string(), message: format!("{a}; not linked") });
    }
    if linked.affects.is_empty() {
        report.warnings.push(Note {
            at: doc.to_string(),
            message: format!(
                "names no known entity (tried {}); kept, and linked again after the next catalog import",
                linked.unresolved.join(", ")
            ),
        });
    }
    let stored = Stored {
        at,
        doc: doc.clone(),
        title: record.title.clone(),
        change: record.change.clone(),
        affects: linked.affects.clone(),
        unresolved: linked.unresolved.clone(),
        written: false,
    };
    (stored, version(doc, record, linked, cx.linker, report))
}

fn version(doc: DocId, record: ChangeRecord, linked: Linked, linker: &Linker, report: &mut Report) -> NewVersion {
    let mut d = HistoryDoc::new(doc, DocKind::Change, record.title.clone());
    // Serialising a record of plain data cannot fail.
    d.payload = serde_json::to_vec(&record).unwrap_or_default();
    let c = record.change;
    d.body = record.text;
    d.url = record.url;
    d.created = c.start.or(record.updated);
    d.updated = record.updated;
    d.status = Some(c.status.as_str().to_string());
    d.author.clone_from(&c.by);
    d.started_at = c.start;
    d.ended_at = c.end;
    d.affects = linked.affects;
    d.unresolved_refs = linked.unresolved;
    d.labels = vec![record.format.to_string()];
    d.change = Some(c);
    d.into_version(linker, report)
}

/// What re-linking did.
#[derive(Debug, Clone, Default)]
pub struct Relinked {
    /// Stored changes that had resolved to nothing.
    pub checked: usize,
    /// Those that now resolve, with what they affect.
    pub linked: Vec<(DocId, Vec<EntityId>)>,
}

/// Resolves stored changes again (`docs`: those marked unresolved) and
/// writes a new version of each that now names a known entity.
pub async fn relink(ledger: &Ledger, docs: &[DocId], cx: &Context<'_>) -> Result<Relinked, IngestError> {
    let mut out = Relinked::default();
    let mut changes = Vec::new();
    let mut report = Report::default();
    for doc in docs {
        let Some(state) = ledger.state(doc).await?.filter(|s| !s.deleted) else { continue };
        let Some(payload) = ledger.payload(state.seq).await? else { continue };
        // A payload that is not a record (written by another version of FFO)
        // is left as it is.
        let Ok(record) = serde_json::from_slice::<ChangeRecord>(&payload) else { continue };
        out.checked += 1;
        let linked = resolve(&record, cx.linker, cx.refs, &cx.config.changes);
        if linked.affects.is_empty() {
            continue;
        }
        out.linked.push((doc.clone(), linked.affects.clone()));
        changes.push(Change::Put(version(doc.clone(), record, linked, cx.linker, &mut report)));
    }
    for chunk in changes.chunks(crate::ingest::document::CHUNK) {
        ledger.append(chunk).await?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn equality_selectors() {
        let labels: BTreeMap<String, String> =
            [("app", "shop"), ("tier", "web")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(selects("app=shop", &labels));
        assert!(selects("app==shop, tier=web", &labels));
        assert!(selects("app=shop,env!=prod", &labels));
        assert!(selects("tier", &labels));
        assert!(!selects("app=shop,tier=batch", &labels));
        assert!(!selects("env in (prod)", &labels));
        assert!(!selects("", &labels));
    }
}
