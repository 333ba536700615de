//! The things FFO talks about: identifiers, kinds, classification levels.
//!
//! `model` imports nothing of the crate. Everything here is plain data with
//! validating parsing and `Display`; the stores and faces build on it.

pub mod alert;
pub mod change;
pub mod change_text;
pub mod document;
pub mod policy;
pub mod time;
pub mod vocab;

pub use alert::Alert;
pub use change::{ActionVerb, ChangeFields, ChangeStatus, ChangeType, Every, Schedule};
pub use document::{Authority, DocKind, OutcomeResult, TextDoc, normalize_action};

use std::fmt;
use std::str::FromStr;

/// A ledger sequence number: the order in which entries were committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(pub i64);

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("empty {what}")]
    Empty { what: &'static str },
    #[error("{what} {value:?} contains {ch:?}; use letters, digits, '-', '_' and '.'")]
    BadChar { what: &'static str, value: String, ch: char },
    #[error("{value:?} is not an entity reference; expected kind:namespace/name, e.g. component:default/checkout-api")]
    NotEntityRef { value: String },
    #[error("{value:?} is not a document id; expected source:external-id, e.g. jira:OPS-123")]
    NotDocId { value: String },
    #[error("unknown source {value:?}; expected one of {expected}")]
    UnknownSource { value: String, expected: String },
}

fn check_part(what: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::Empty { what });
    }
    if let Some(ch) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(IdError::BadChar { what, value: value.to_string(), ch });
    }
    Ok(())
}

/// An entity's identity: `kind:namespace/name`, as Backstage writes a full
/// entity reference. Stored in lower case: Backstage compares refs
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    kind: String,
    namespace: String,
    name: String,
}

impl EntityId {
    pub const DEFAULT_NAMESPACE: &'static str = "default";

    pub fn new(kind: &str, namespace: &str, name: &str) -> Result<EntityId, IdError> {
        let (kind, namespace, name) =
            (kind.to_ascii_lowercase(), namespace.to_ascii_lowercase(), name.to_ascii_lowercase());
        check_part("entity kind", &kind)?;
        check_part("entity namespace", &namespace)?;
        check_part("entity name", &name)?;
        Ok(EntityId { kind, namespace, name })
    }

    /// The Backstage kind in lower case (`component`, `resource`, ...).
    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity's IRI in the graph.
    pub fn iri(&self) -> String {
        format!("{}{}/{}/{}", vocab::ENTITY_BASE, self.kind, self.namespace, self.name)
    }

    /// The inverse of [`EntityId::iri`]; `None` for IRIs outside FFO's entity space.
    pub fn from_iri(iri: &str) -> Option<EntityId> {
        let rest = iri.strip_prefix(vocab::ENTITY_BASE)?;
        let mut parts = rest.split('/');
        let (kind, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        EntityId::new(kind, namespace, name).ok()
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

impl FromStr for EntityId {
    type Err = IdError;

    /// Parses a full reference `kind:namespace/name`, or `kind:name` in the
    /// default namespace. Use `ingest::catalog` for Backstage's shorter forms.
    fn from_str(s: &str) -> Result<EntityId, IdError> {
        let not_ref = || IdError::NotEntityRef { value: s.to_string() };
        let (kind, rest) = s.split_once(':').ok_or_else(not_ref)?;
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, name)) => (ns, name),
            None => (EntityId::DEFAULT_NAMESPACE, rest),
        };
        EntityId::new(kind, namespace, name).map_err(|_| not_ref())
    }
}

/// Where a ledger document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Catalog,
    Rdf,
    Runbooks,
    Confluence,
    Jira,
    Postmortems,
    Outcome,
    Alert,
    /// Change events pushed by pipelines (`POST /v1/changes`, `ffo ingest changes`).
    Changes,
}

impl Source {
    pub const ALL: [Source; 9] = [
        Source::Catalog,
        Source::Rdf,
        Source::Runbooks,
        Source::Confluence,
        Source::Jira,
        Source::Postmortems,
        Source::Outcome,
        Source::Alert,
        Source::Changes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Catalog => "catalog",
            Source::Rdf => "rdf",
            Source::Runbooks => "runbooks",
            Source::Confluence => "confluence",
            Source::Jira => "jira",
            Source::Postmortems => "postmortems",
            Source::Outcome => "outcome",
            Source::Alert => "alert",
            Source::Changes => "changes",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Source, IdError> {
        Source::ALL.into_iter().find(|src| src.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| IdError::UnknownSource {
            value: s.to_string(),
            expected: Source::ALL.map(Source::as_str).join(", "),
        })
    }
}

/// A ledger document's identity: its source and the id the source gives it
/// (a Jira key, a Confluence page id, a file's absolute path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId {
    source: Source,
    external_id: String,
}

impl DocId {
    pub fn new(source: Source, external_id: impl Into<String>) -> Result<DocId, IdError> {
        let external_id = external_id.into();
        if external_id.is_empty() {
            return Err(IdError::Empty { what: "external id" });
        }
        Ok(DocId { source, external_id })
    }
    pub fn source(&self) -> Source {
        self.source
    }
    pub fn external_id(&self) -> &str {
        &self.external_id
    }

    /// The document's IRI, which also names its graph.
    pub fn iri(&self) -> String {
        let encoded = percent_encoding::utf8_percent_encode(&self.external_id, IRI_SEGMENT);
        format!("{}{}/{}", vocab::DOC_BASE, self.source, encoded)
    }

    pub fn from_iri(iri: &str) -> Option<DocId> {
        let rest = iri.strip_prefix(vocab::DOC_BASE)?;
        let (source, ext) = rest.split_once('/')?;
        let ext = percent_encoding::percent_decode_str(ext).decode_utf8().ok()?;
        DocId::new(source.parse().ok()?, ext.into_owned()).ok()
    }
}

/// Everything but unreserved characters is escaped, so any external id
/// (paths, keys with spaces) becomes one IRI segment.
const IRI_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.external_id)
    }
}

impl FromStr for DocId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<DocId, IdError> {
        let (source, ext) = s.split_once(':').ok_or_else(|| IdError::NotDocId { value: s.to_string() })?;
        DocId::new(source.parse()?, ext)
    }
}

/// What an entity is, in FFO's terms (the ontology's subclasses of `ffo:Entity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Service,
    Library,
    Api,
    Host,
    Cluster,
    Database,
    Cache,
    Queue,
    Storage,
    Network,
    Resource,
    System,
    Domain,
    Team,
    Person,
    ChangeWindow,
}

impl EntityKind {
    pub const ALL: [EntityKind; 16] = [
        EntityKind::Service,
        EntityKind::Library,
        EntityKind::Api,
        EntityKind::Host,
        EntityKind::Cluster,
        EntityKind::Database,
        EntityKind::Cache,
        EntityKind::Queue,
        EntityKind::Storage,
        EntityKind::Network,
        EntityKind::Resource,
        EntityKind::System,
        EntityKind::Domain,
        EntityKind::Team,
        EntityKind::Person,
        EntityKind::ChangeWindow,
    ];

    /// The local name of the ontology class.
    pub fn class_name(self) -> &'static str {
        match self {
            EntityKind::Service => "Service",
            EntityKind::Library => "Library",
            EntityKind::Api => "Api",
            EntityKind::Host => "Host",
            EntityKind::Cluster => "Cluster",
            EntityKind::Database => "Database",
            EntityKind::Cache => "Cache",
            EntityKind::Queue => "Queue",
            EntityKind::Storage => "Storage",
            EntityKind::Network => "Network",
            EntityKind::Resource => "Resource",
            EntityKind::System => "System",
            EntityKind::Domain => "Domain",
            EntityKind::Team => "Team",
            EntityKind::Person => "Person",
            EntityKind::ChangeWindow => "ChangeWindow",
        }
    }

    pub fn iri(self) -> String {
        format!("{}{}", vocab::NS, self.class_name())
    }

    pub fn from_iri(iri: &str) -> Option<EntityKind> {
        let local = iri.strip_prefix(vocab::NS)?;
        EntityKind::ALL.into_iter().find(|k| k.class_name() == local)
    }

    /// Lower-case label for people (`service`, `change-window`).
    pub fn label(self) -> &'static str {
        match self {
            EntityKind::Service => "service",
            EntityKind::Library => "library",
            EntityKind::Api => "api",
            EntityKind::Host => "host",
            EntityKind::Cluster => "cluster",
            EntityKind::Database => "database",
            EntityKind::Cache => "cache",
            EntityKind::Queue => "queue",
            EntityKind::Storage => "storage",
            EntityKind::Network => "network",
            EntityKind::Resource => "resource",
            EntityKind::System => "system",
            EntityKind::Domain => "domain",
            EntityKind::Team => "team",
            EntityKind::Person => "person",
            EntityKind::ChangeWindow => "change-window",
        }
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for EntityKind {
    type Err = String;
    fn from_str(s: &str) -> Result<EntityKind, String> {
        EntityKind::ALL
            .into_iter()
            .find(|k| k.label().eq_ignore_ascii_case(s) || k.class_name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown entity kind {s:?}; expected one of {}",
                    EntityKind::ALL.map(EntityKind::label).join(", ")
                )
            })
    }
}

/// A relation between entities (the ontology's object properties on entities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    DependsOn,
    RunsOn,
    PartOf,
    OwnedBy,
    ProvidesApi,
    ConsumesApi,
    MemberOf,
    ChildOf,
    Covers,
}

impl Relation {
    pub const ALL: [Relation; 9] = [
        Relation::DependsOn,
        Relation::RunsOn,
        Relation::PartOf,
        Relation::OwnedBy,
        Relation::ProvidesApi,
        Relation::ConsumesApi,
        Relation::MemberOf,
        Relation::ChildOf,
        Relation::Covers,
    ];

    pub fn local_name(self) -> &'static str {
        match self {
            Relation::DependsOn => "dependsOn",
            Relation::RunsOn => "runsOn",
            Relation::PartOf => "partOf",
            Relation::OwnedBy => "ownedBy",
            Relation::ProvidesApi => "providesApi",
            Relation::ConsumesApi => "consumesApi",
            Relation::MemberOf => "memberOf",
            Relation::ChildOf => "childOf",
            Relation::Covers => "covers",
        }
    }

    pub fn iri(self) -> String {
        format!("{}{}", vocab::NS, self.local_name())
    }

    pub fn from_iri(iri: &str) -> Option<Relation> {
        let local = iri.strip_prefix(vocab::NS)?;
        Relation::ALL.into_iter().find(|r| r.local_name() == local)
    }

    /// Whether a failure of the object reaches the subject (DESIGN.md, "Impact").
    pub fn carries_impact(self) -> bool {
        matches!(self, Relation::DependsOn | Relation::RunsOn | Relation::PartOf)
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.local_name())
    }
}

/// A classification level, by name; its order comes from a [`ClassificationScale`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Classification(String);

impl Classification {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ordered classification levels of a deployment, least sensitive first,
/// and the level of anything no source classifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassificationScale {
    levels: Vec<Classification>,
    /// Index into `levels`.
    default: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassificationError {
    #[error("unknown classification {value:?}; the configured levels are {levels}")]
    Unknown { value: String, levels: String },
    #[error("the classification scale is empty; configure at least one level")]
    Empty,
    #[error("classification level {0:?} is listed twice")]
    Duplicate(String),
}

/// What a classification string from a source or a store means on a scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Known(Classification),
    /// Not a configured level: treated as the highest level (fail closed)
    /// until the configuration names it.
    Unknown(String),
}

impl ClassificationScale {
    pub fn new(levels: &[impl AsRef<str>]) -> Result<ClassificationScale, ClassificationError> {
        if levels.is_empty() {
            return Err(ClassificationError::Empty);
        }
        let mut out: Vec<Classification> = Vec::new();
        for level in levels {
            let level = level.as_ref().trim();
            if out.iter().any(|l| l.0.eq_ignore_ascii_case(level)) {
                return Err(ClassificationError::Duplicate(level.to_string()));
            }
            out.push(Classification(level.to_string()));
        }
        Ok(ClassificationScale { levels: out, default: 0 })
    }

    /// Sets the level of things no source classifies (the lowest unless configured).
    pub fn with_default(mut self, level: &str) -> Result<ClassificationScale, ClassificationError> {
        let level = self.parse(level)?;
        self.default = self.rank(&level);
        Ok(self)
    }

    /// Reads a level a source or a store holds. An unknown name is kept as
    /// unknown, never as unclassified: callers treat it as the highest level.
    pub fn read(&self, value: &str) -> Level {
        match self.parse(value) {
            Ok(level) => Level::Known(level),
            Err(_) => Level::Unknown(value.trim().to_string()),
        }
    }

    /// The level that applies: `level` itself, the highest for an unknown
    /// name, the default when nothing classifies it.
    pub fn effective(&self, level: Option<&str>) -> &Classification {
        match level.map(|l| self.read(l)) {
            None => self.default_level(),
            Some(Level::Known(l)) => &self.levels[self.rank(&l)],
            Some(Level::Unknown(_)) => self.highest(),
        }
    }

    /// The level of anything no source classifies.
    pub fn default_level(&self) -> &Classification {
        &self.levels[self.default]
    }

    /// The more sensitive of two levels.
    pub fn max<'a>(&self, a: &'a Classification, b: &'a Classification) -> &'a Classification {
        if self.rank(b) > self.rank(a) { b } else { a }
    }

    /// Parses a level name case-insensitively into its canonical spelling.
    pub fn parse(&self, value: &str) -> Result<Classification, ClassificationError> {
        let value = value.trim();
        self.levels
            .iter()
            .find(|l| l.0.eq_ignore_ascii_case(value))
            .cloned()
            .ok_or_else(|| ClassificationError::Unknown { value: value.to_string(), levels: self.levels_text() })
    }

    /// 0 for the least sensitive level; a level that is not on the scale
    /// ranks highest (fail closed).
    pub fn rank(&self, level: &Classification) -> usize {
        self.levels.iter().position(|l| l == level).unwrap_or(self.levels.len() - 1)
    }

    pub fn lowest(&self) -> &Classification {
        &self.levels[0]
    }
    pub fn highest(&self) -> &Classification {
        &self.levels[self.levels.len() - 1]
    }
    pub fn levels(&self) -> &[Classification] {
        &self.levels
    }

    /// Whether a caller cleared for `clearance` may see something at
    /// `level`; something unclassified is at the default level.
    pub fn permits(&self, clearance: &Classification, level: Option<&Classification>) -> bool {
        self.rank(level.unwrap_or(self.default_level())) <= self.rank(clearance)
    }

    fn levels_text(&self) -> String {
        self.levels.iter().map(|l| l.0.as_str()).collect::<Vec<_>>().join(" < ")
    }
}

impl Default for ClassificationScale {
    fn default() -> Self {
        ClassificationScale {
            levels: ["IL2", "IL4", "IL5", "IL6"].map(|l| Classification(l.to_string())).to_vec(),
            default: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_ids_round_trip_through_iris() {
        let id: EntityId = "Component:default/Checkout-API".parse().unwrap();
        assert_eq!(id.to_string(), "component:default/checkout-api");
        assert_eq!(EntityId::from_iri(&id.iri()), Some(id));
        assert_eq!("resource:db".parse::<EntityId>().unwrap().to_string(), "resource:default/db");
        assert!("checkout".parse::<EntityId>().is_err());
        assert!("component:default/a b".parse::<EntityId>().is_err());
    }

    #[test]
    fn doc_ids_escape_any_external_id() {
        let id = DocId::new(Source::Postmortems, "/tmp/PM 2022-009 - Bad AMI").unwrap();
        assert!(!id.iri().contains(' '));
        assert_eq!(DocId::from_iri(&id.iri()), Some(id.clone()));
        assert_eq!(id.to_string().parse::<DocId>().unwrap(), id);
        assert!("nosuch:1".parse::<DocId>().is_err());
    }

    #[test]
    fn classification_is_ordered_by_configuration() {
        let scale = ClassificationScale::new(&["public", "internal", "secret"]).unwrap();
        let internal = scale.parse("INTERNAL").unwrap();
        let secret = scale.parse("secret").unwrap();
        assert!(scale.permits(&secret, Some(&internal)));
        assert!(!scale.permits(&internal, Some(&secret)));
        assert!(scale.permits(&internal, None));
        assert!(scale.parse("IL4").is_err());
        assert!(ClassificationScale::new(&["a", "A"]).is_err());
        // Unknown and misspelt levels fail closed; nothing classified is at the default.
        for odd in ["IL7", "IL 5", "TOP-SECRET", ""] {
            assert_eq!(scale.effective(Some(odd)), scale.highest(), "{odd:?}");
        }
        assert_eq!(scale.effective(None), scale.lowest());
        let scale = scale.with_default("internal").unwrap();
        assert!(!scale.permits(scale.lowest(), None));
        assert!(scale.permits(&internal, None));
        assert!(scale.clone().with_default("nope").is_err());
    }
}
