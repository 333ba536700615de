//! Backstage catalog files (`catalog-info.yaml` and friends): every kind,
//! every entity-reference form, Location targets followed relative to their
//! file. One ledger document per file; a catalog ingest is all or nothing,
//! because entities in one file refer to entities in others.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use oxigraph::model::{Literal, NamedNode, Triple};
use serde_json::Value;

use super::config::CatalogMapping;
use super::{Dangling, IngestConfig, IngestError, Note, Report};
use crate::graph::to_ntriples;
use crate::ledger::{Change, Ledger, NewVersion};
use crate::model::{ClassificationScale, DocId, EntityId, EntityKind, Relation, Source, vocab};

/// Ingests catalog files under `path` (a file or a folder). `known` says
/// whether an entity is already defined elsewhere (so a reference to it is
/// not dangling).
pub async fn ingest(
    ledger: &Ledger,
    path: &Path,
    config: &IngestConfig,
    known: &(dyn Fn(&EntityId) -> bool + Sync),
) -> Result<Report, IngestError> {
    let mut report = Report::new(Source::Catalog);
    let files = read_catalog(path, config, &mut report)?;
    let defined: HashSet<EntityId> = files.iter().flat_map(|f| f.entities.iter().map(|e| e.id.clone())).collect();

    let mut changes = Vec::new();
    let mut seen = HashSet::new();
    let mut first_definition: HashMap<EntityId, &Path> = HashMap::new();
    // A file without entities (a Location, an OpenAPI document) is not a
    // document of its own; if it had entities before, they go.
    for file in files.iter().filter(|f| !f.entities.is_empty()) {
        for e in &file.entities {
            if let Some(other) = first_definition.insert(e.id.clone(), &file.path) {
                report.warnings.push(Note {
                    at: file.path.display().to_string(),
                    message: format!("{} is also defined in {}; both are kept", e.id, other.display()),
                });
            }
            for (_, field, target) in e.relations.iter().chain(e.reverse.iter()) {
                if !defined.contains(target) && !known(target) {
                    report.dangling.push(Dangling {
                        from: e.id.clone(),
                        field: field.to_string(),
                        target: target.clone(),
                    });
                }
            }
        }
        report.entities += file.entities.len();
        let doc = DocId::new(Source::Catalog, file.id.clone())
            .map_err(|e| IngestError::Invalid { path: file.path.clone(), message: e.to_string() })?;
        seen.insert(doc.clone());
        let mut triples = super::document_triples(&doc, vocab::CATALOG_FILE, Some(&super::file_url(&file.id)), None);
        for e in &file.entities {
            e.triples(&mut triples);
        }
        changes.push(Change::Put(NewVersion {
            doc,
            source_version: None,
            source_updated: None,
            payload: file.bytes.clone(),
            graph: to_ntriples(&triples),
            text_doc: None,
        }));
    }
    report.documents = changes.len();

    // A file that was ingested from under this path before and is gone now
    // takes its entities with it.
    let scope = super::file_id(path)?;
    for (doc, state) in ledger.states_of(Source::Catalog).await? {
        let ext = doc.external_id();
        let inside = ext == scope || ext.starts_with(&format!("{scope}/"));
        if inside && !state.deleted && !seen.contains(&doc) {
            changes.push(Change::Delete(doc));
        }
    }
    super::commit(ledger, &changes, &mut report).await?;
    Ok(report)
}

/// One parsed catalog file.
struct CatalogFile {
    path: PathBuf,
    /// Absolute path: the document's external id.
    id: String,
    bytes: Vec<u8>,
    entities: Vec<Entity>,
}

/// One Backstage entity, in FFO's terms.
struct Entity {
    id: EntityId,
    kind: EntityKind,
    name: String,
    title: Option<String>,
    description: Option<String>,
    spec_type: Option<String>,
    lifecycle: Option<String>,
    tags: Vec<String>,
    tier: Option<u8>,
    environment: Option<String>,
    classification: Option<String>,
    aliases: Vec<String>,
    /// (annotation, value) of the annotations change events are mapped through.
    external_refs: Vec<(String, String)>,
    /// this --relation--> target, with the field that said so.
    relations: Vec<(Relation, &'static str, EntityId)>,
    /// source --relation--> this (dependencyOf, apiConsumedBy, members, children).
    reverse: Vec<(Relation, &'static str, EntityId)>,
}

impl Entity {
    fn triples(&self, out: &mut Vec<Triple>) {
        let s = NamedNode::new_unchecked(self.id.iri());
        let lit = |v: &str| Literal::new_simple_literal(v);
        out.push(Triple::new(s.clone(), vocab::rdf::TYPE, NamedNode::new_unchecked(self.kind.iri())));
        out.push(Triple::new(s.clone(), vocab::NAME, lit(&self.name)));
        let optional = [
            (vocab::TITLE, &self.title),
            (vocab::DESCRIPTION, &self.description),
            (vocab::SPEC_TYPE, &self.spec_type),
            (vocab::LIFECYCLE, &self.lifecycle),
            (vocab::ENVIRONMENT, &self.environment),
            (vocab::CLASSIFICATION, &self.classification),
        ];
        for (p, v) in optional {
            if let Some(v) = v {
                out.push(Triple::new(s.clone(), p, lit(v)));
            }
        }
        if let Some(tier) = self.tier {
            out.push(Triple::new(s.clone(), vocab::TIER, Literal::from(i64::from(tier))));
        }
        for a in &self.aliases {
            out.push(Triple::new(s.clone(), vocab::ALIAS, lit(a)));
        }
        for t in &self.tags {
            out.push(Triple::new(s.clone(), vocab::TAG, lit(t)));
        }
        for (key, value) in &self.external_refs {
            out.push(Triple::new(s.clone(), vocab::EXTERNAL_REF, lit(&format!("{key}={value}"))));
        }
        for (rel, _, target) in &self.relations {
            out.push(Triple::new(
                s.clone(),
                NamedNode::new_unchecked(rel.iri()),
                NamedNode::new_unchecked(target.iri()),
            ));
        }
        for (rel, _, source) in &self.reverse {
            out.push(Triple::new(
                NamedNode::new_unchecked(source.iri()),
                NamedNode::new_unchecked(rel.iri()),
                s.clone(),
            ));
        }
    }
}

/// Reads every catalog file under `path`, following Location targets.
fn read_catalog(path: &Path, config: &IngestConfig, report: &mut Report) -> Result<Vec<CatalogFile>, IngestError> {
    let mut queue: VecDeque<PathBuf> = super::collect_files(path, &["yaml", "yml"])?.into();
    let mut visited: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while let Some(file) = queue.pop_front() {
        let id = super::file_id(&file)?;
        if !visited.insert(id.clone()) {
            continue;
        }
        let bytes = super::read_bounded(&file, config.max_document_bytes)?;
        let text = String::from_utf8(bytes.clone()).map_err(|e| IngestError::Invalid {
            path: file.clone(),
            message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        })?;
        report.files += 1;
        let refs: Vec<&str> = config.changes.annotations().into_iter().collect();
        let parsed = parse_file(&file, &text, &config.catalog, &config.scale, &refs, report)?;
        for target in parsed.targets {
            queue.push_back(target);
        }
        out.push(CatalogFile { path: file, id, bytes, entities: parsed.entities });
    }
    Ok(out)
}

struct ParsedFile {
    entities: Vec<Entity>,
    /// Location targets to follow, resolved against the file's folder.
    targets: Vec<PathBuf>,
}

fn parse_file(
    path: &Path,
    text: &str,
    mapping: &CatalogMapping,
    scale: &ClassificationScale,
    refs: &[&str],
    report: &mut Report,
) -> Result<ParsedFile, IngestError> {
    let mut out = ParsedFile { entities: Vec::new(), targets: Vec::new() };
    let mut entity_docs = 0;
    let documents = super::yaml::documents(text).map_err(|e| IngestError::Yaml {
        path: path.to_path_buf(),
        document: e.document,
        line: e.line,
        message: e.message,
    })?;
    for (i, value) in documents.into_iter().enumerate() {
        let index = i + 1;
        let at = format!("{}#{index}", path.display());
        if value.is_null() {
            report.notes.push(Note { at, message: "empty or commented-out document skipped".into() });
            continue;
        }
        let (Some(kind), Some(_)) = (str_at(&value, &["kind"]), str_at(&value, &["metadata", "name"])) else {
            report.notes.push(Note { at, message: "not a catalog entity (no kind and metadata.name); skipped".into() });
            continue;
        };
        entity_docs += 1;
        let kind = kind.to_ascii_lowercase();
        if kind == "location" {
            out.targets.extend(location_targets(path, &value, &at, report));
            continue;
        }
        match entity(&kind, &value, mapping, scale, refs, &at, report) {
            Ok(Some(e)) => out.entities.push(e),
            Ok(None) => {}
            Err(EntityError::Bad(message)) => {
                report.warnings.push(Note { at, message: format!("{message}; entity skipped") })
            }
            Err(EntityError::Refused(message)) => {
                report.skipped.push(Note { at, message: format!("{message}; entity not stored") })
            }
        }
    }
    if entity_docs == 0 {
        report.notes.push(Note { at: path.display().to_string(), message: "no catalog entities in this file".into() });
    }
    Ok(out)
}

fn location_targets(file: &Path, value: &Value, at: &str, report: &mut Report) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut targets = strings_at(value, &["spec", "targets"]);
    targets.extend(str_at(value, &["spec", "target"]).map(str::to_string));
    let mut out = Vec::new();
    for t in targets {
        let local = t.strip_prefix("file:").unwrap_or(&t);
        if local.contains("://") || local.starts_with("url:") {
            report
                .notes
                .push(Note { at: at.to_string(), message: format!("Location target {t} is remote; not followed") });
            continue;
        }
        let p = dir.join(local);
        if p.exists() {
            out.push(p);
        } else {
            report.warnings.push(Note {
                at: at.to_string(),
                message: format!("Location target {t} does not exist ({})", p.display()),
            });
        }
    }
    out
}

/// Why one catalog entity was not taken.
#[derive(Debug)]
enum EntityError {
    /// Malformed (a bad name or reference): warned about, skipped.
    Bad(String),
    /// Well formed but refused (an unknown classification level): counted
    /// as a skipped document, so the import says it is incomplete.
    Refused(String),
}

impl From<String> for EntityError {
    fn from(message: String) -> EntityError {
        EntityError::Bad(message)
    }
}

/// Maps one Backstage entity. `Ok(None)` for kinds FFO does not model.
fn entity(
    kind: &str,
    v: &Value,
    mapping: &CatalogMapping,
    scale: &ClassificationScale,
    refs: &[&str],
    at: &str,
    report: &mut Report,
) -> Result<Option<Entity>, EntityError> {
    let name = str_at(v, &["metadata", "name"]).unwrap_or_default().to_string();
    let namespace = str_at(v, &["metadata", "namespace"]).unwrap_or(EntityId::DEFAULT_NAMESPACE);
    let spec_type = str_at(v, &["spec", "type"]).map(str::to_string);
    let lower_type = spec_type.as_deref().map(str::to_ascii_lowercase).unwrap_or_default();
    let kind_in = |table: &BTreeMap<String, Vec<String>>| {
        table
            .iter()
            .find(|(_, types)| types.iter().any(|t| t.eq_ignore_ascii_case(&lower_type)))
            .and_then(|(label, _)| label.parse::<EntityKind>().ok())
    };
    let ffo_kind = match kind {
        "component" => kind_in(&mapping.component_kinds).unwrap_or(EntityKind::Service),
        "api" => EntityKind::Api,
        "resource" => kind_in(&mapping.resource_kinds).unwrap_or(EntityKind::Resource),
        "system" => EntityKind::System,
        "domain" => EntityKind::Domain,
        "group" => EntityKind::Team,
        "user" => EntityKind::Person,
        other => {
            report
                .warnings
                .push(Note { at: at.to_string(), message: format!("unknown kind {other:?} ({name}) skipped") });
            return Ok(None);
        }
    };
    let id = EntityId::new(kind, namespace, &name).map_err(|e| e.to_string())?;

    let annotation = |key: &str| -> Option<String> {
        match v.get("metadata")?.get("annotations")?.get(key)? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    };
    let a = &mapping.annotations;
    let tier = annotation(&a.tier).and_then(|t| match t.parse::<u8>() {
        Ok(n) if n <= 9 => Some(n),
        _ => {
            report.warnings.push(Note {
                at: at.to_string(),
                message: format!("{id}: {} {t:?} is not a tier 0..9; ignored", a.tier),
            });
            None
        }
    });
    // An unknown level is not "unclassified": the entity is refused until
    // the level is configured or corrected.
    let classification = match annotation(&a.classification).map(|c| scale.parse(&c)) {
        None => None,
        Some(Ok(level)) => Some(level.to_string()),
        Some(Err(e)) => return Err(EntityError::Refused(format!("{id}: {}: {e}", a.classification))),
    };
    let aliases = annotation(&a.aliases)
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    // The names other systems give it (ingest/changes.toml [refs]).
    let external_refs = refs.iter().filter_map(|key| Some((key.to_string(), annotation(key)?))).collect();

    let mut e = Entity {
        id,
        kind: ffo_kind,
        name,
        title: str_at(v, &["metadata", "title"]).map(str::to_string),
        description: str_at(v, &["metadata", "description"]).map(|d| d.trim().to_string()),
        spec_type,
        lifecycle: str_at(v, &["spec", "lifecycle"]).map(str::to_string),
        tags: strings_at(v, &["metadata", "tags"]),
        tier,
        environment: annotation(&a.environment),
        classification,
        aliases,
        external_refs,
        relations: Vec::new(),
        reverse: Vec::new(),
    };

    // (field, default kind of its refs, relation, whether it points at this entity)
    let fields: &[(&'static str, &str, Relation, bool)] = match kind {
        "component" => &[
            ("owner", "group", Relation::OwnedBy, false),
            ("system", "system", Relation::PartOf, false),
            ("subcomponentOf", "component", Relation::PartOf, false),
            ("dependsOn", "component", Relation::DependsOn, false),
            ("dependencyOf", "component", Relation::DependsOn, true),
            ("providesApis", "api", Relation::ProvidesApi, false),
            ("consumesApis", "api", Relation::ConsumesApi, false),
            ("apiConsumedBy", "component", Relation::ConsumesApi, true),
        ],
        "api" => &[
            ("owner", "group", Relation::OwnedBy, false),
            ("system", "system", Relation::PartOf, false),
            ("apiConsumedBy", "component", Relation::ConsumesApi, true),
            ("apiProvidedBy", "component", Relation::ProvidesApi, true),
        ],
        "resource" => &[
            ("owner", "group", Relation::OwnedBy, false),
            ("system", "system", Relation::PartOf, false),
            ("dependsOn", "resource", Relation::DependsOn, false),
            ("dependencyOf", "component", Relation::DependsOn, true),
        ],
        "system" => &[("owner", "group", Relation::OwnedBy, false), ("domain", "domain", Relation::PartOf, false)],
        "domain" => &[("owner", "group", Relation::OwnedBy, false), ("subdomainOf", "domain", Relation::PartOf, false)],
        "group" => &[
            ("parent", "group", Relation::ChildOf, false),
            ("children", "group", Relation::ChildOf, true),
            ("members", "user", Relation::MemberOf, true),
        ],
        "user" => &[("memberOf", "group", Relation::MemberOf, false)],
        _ => &[],
    };
    for (field, default_kind, rel, reverse) in fields {
        for r in strings_at(v, &["spec", field]) {
            match parse_ref(&r, default_kind, namespace) {
                Ok(target) if *reverse => e.reverse.push((*rel, field, target)),
                Ok(target) => e.relations.push((*rel, field, target)),
                Err(msg) => {
                    report.warnings.push(Note { at: at.to_string(), message: format!("{}: spec.{field}: {msg}", e.id) })
                }
            }
        }
    }
    Ok(Some(e))
}

/// Parses a Backstage entity reference in any of its forms: `name`,
/// `kind:name`, `namespace/name`, `kind:namespace/name`. The kind defaults
/// from the field, the namespace from the referring entity, as Backstage does.
pub fn parse_ref(r: &str, default_kind: &str, default_namespace: &str) -> Result<EntityId, String> {
    let r = r.trim();
    let (kind, rest) = match r.split_once(':') {
        Some((k, rest)) => (k, rest),
        None => (default_kind, r),
    };
    let (namespace, name) = match rest.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (default_namespace, rest),
    };
    EntityId::new(kind, namespace, name).map_err(|e| format!("bad entity reference {r:?}: {e}"))
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(*key)?;
    }
    cur.as_str()
}

/// A field that may hold one string or a list of strings.
fn strings_at(v: &Value, path: &[&str]) -> Vec<String> {
    let mut cur = v;
    for key in path {
        match cur.get(*key) {
            Some(next) => cur = next,
            None => return Vec::new(),
        }
    }
    match cur {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_refs_in_every_form() {
        let r = |s, k| parse_ref(s, k, "default").unwrap().to_string();
        assert_eq!(r("team-a", "group"), "group:default/team-a");
        assert_eq!(r("resource:artists-db", "component"), "resource:default/artists-db");
        assert_eq!(r("backstage/maintainers", "group"), "group:backstage/maintainers");
        assert_eq!(r("Component:Ops/Checkout", "api"), "component:ops/checkout");
        assert!(parse_ref("a b", "group", "default").is_err());
    }
}
