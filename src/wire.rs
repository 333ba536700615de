//! The JSON shapes of FFO's answers, shared by the HTTP API, the MCP tools
//! and the CLI's `--json`, so every face says the same thing the same way.
//! The core's types stay free of serde; this module converts.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::context::{self, BlastRadius, EntityView, Provenance, QueryError};
use crate::topology::{Candidate, EntityInfo};

/// An entity as it appears inside other answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntityRef {
    /// Full id, `kind:namespace/name`.
    pub id: String,
    pub name: String,
    /// FFO kind (service, database, host, ...); absent if only referenced, never declared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// 0 is the most critical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<String>,
}

impl From<&EntityInfo> for EntityRef {
    fn from(e: &EntityInfo) -> EntityRef {
        EntityRef {
            id: e.id.to_string(),
            name: e.name.clone(),
            kind: e.kind.map(|k| k.label().to_string()),
            tier: e.tier,
            environment: e.environment.clone(),
            classification: e.classification.as_ref().map(|c| c.to_string()),
        }
    }
}

/// A dependent in a blast radius.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Dependent {
    #[serde(flatten)]
    pub entity: EntityRef,
    /// Impact hops from the target (1 = depends on it directly).
    pub depth: u32,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Totals {
    /// Every dependent the caller may see (the list may be shorter).
    pub dependents: usize,
    pub by_tier: BTreeMap<String, usize>,
    pub by_environment: BTreeMap<String, usize>,
    pub by_classification: BTreeMap<String, usize>,
    pub by_kind: BTreeMap<String, usize>,
    /// The deepest dependent's depth.
    pub max_depth: u32,
}

impl From<&context::Totals> for Totals {
    fn from(t: &context::Totals) -> Totals {
        Totals {
            dependents: t.dependents,
            by_tier: t.by_tier.clone(),
            by_environment: t.by_environment.clone(),
            by_classification: t.by_classification.clone(),
            by_kind: t.by_kind.clone(),
            max_depth: t.max_depth,
        }
    }
}

/// Everything that reaches an entity through impact edges (dependsOn, runsOn, partOf).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BlastRadiusAnswer {
    pub target: EntityRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
    pub totals: Totals,
    /// Nearest first.
    pub dependents: Vec<Dependent>,
    /// True when more dependents exist than are listed (see totals).
    pub truncated: bool,
    /// Dependents above the caller's clearance: counted, not shown.
    pub withheld: usize,
}

impl From<&BlastRadius> for BlastRadiusAnswer {
    fn from(b: &BlastRadius) -> BlastRadiusAnswer {
        BlastRadiusAnswer {
            target: EntityRef::from(&*b.target),
            max_depth: b.max_depth,
            totals: Totals::from(&b.totals),
            dependents: b
                .dependents
                .iter()
                .map(|r| Dependent { entity: EntityRef::from(&*r.entity), depth: r.depth })
                .collect(),
            truncated: b.truncated,
            withheld: b.withheld,
        }
    }
}

/// Where something came from.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Source {
    /// catalog, rdf, runbooks, confluence, jira, postmortems, outcome, alert
    pub source: String,
    /// The id the source gives it (Jira key, page id, file path).
    pub external_id: String,
    /// FFO's document id, `source:external-id`.
    pub doc_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl From<&Provenance> for Source {
    fn from(p: &Provenance) -> Source {
        Source {
            source: p.doc.source().to_string(),
            external_id: p.doc.external_id().to_string(),
            doc_id: p.doc.to_string(),
            url: p.url.clone(),
            updated: p.updated.clone(),
            title: p.title.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FactAnswer {
    pub attribute: String,
    pub value: String,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LinkAnswer {
    /// dependsOn, runsOn, partOf, ownedBy, providesApi, consumesApi, memberOf, childOf, covers
    pub relation: String,
    pub entity: EntityRef,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DocumentLink {
    /// affects, mentions or causeIn
    pub relation: String,
    pub document: Source,
}

/// One entity: attributes, relations both ways, documents, provenance.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntityAnswer {
    pub entity: EntityRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Every attribute statement, with the document that made it.
    pub attributes: Vec<FactAnswer>,
    /// This entity's relations to others.
    pub relations: Vec<LinkAnswer>,
    /// Other entities' relations to this one (its dependents, members, ...).
    pub incoming: Vec<LinkAnswer>,
    /// Documents that affect, mention or name it as a cause.
    pub documents: Vec<DocumentLink>,
    /// Every document that said something about it.
    pub sources: Vec<Source>,
}

impl From<&EntityView> for EntityAnswer {
    fn from(v: &EntityView) -> EntityAnswer {
        let e = &v.entity;
        let link = |l: &context::Link| LinkAnswer {
            relation: l.relation.to_string(),
            entity: EntityRef::from(&*l.entity),
            source: Source::from(&l.source),
        };
        EntityAnswer {
            entity: EntityRef::from(&**e),
            title: e.title.clone(),
            description: e.description.clone(),
            aliases: e.aliases.clone(),
            owner: e.related(crate::model::Relation::OwnedBy).next().map(|o| o.to_string()),
            attributes: v
                .facts
                .iter()
                .map(|f| FactAnswer {
                    attribute: f.attribute.clone(),
                    value: f.value.clone(),
                    source: Source::from(&f.source),
                })
                .collect(),
            relations: v.outgoing.iter().map(link).collect(),
            incoming: v.incoming.iter().map(link).collect(),
            documents: v
                .documents
                .iter()
                .map(|d| DocumentLink { relation: d.relation.clone(), document: Source::from(&d.doc) })
                .collect(),
            sources: v.sources.iter().map(Source::from).collect(),
        }
    }
}

/// A candidate for an unknown or ambiguous entity name.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CandidateAnswer {
    #[serde(flatten)]
    pub entity: EntityRef,
    /// id, name, alias or "similar name"
    pub matched_by: String,
    pub via: String,
}

impl From<&Candidate> for CandidateAnswer {
    fn from(c: &Candidate) -> CandidateAnswer {
        CandidateAnswer {
            entity: EntityRef::from(&*c.entity),
            matched_by: c.matched.as_str().to_string(),
            via: c.via.clone(),
        }
    }
}

/// An error, the same on every face.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorAnswer {
    /// unknown_entity, ambiguous_entity, forbidden, bad_request, bad_query, update_refused, timeout, bad_input, internal, ...
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<CandidateAnswer>,
}

impl From<&QueryError> for ErrorAnswer {
    fn from(e: &QueryError) -> ErrorAnswer {
        let message = match e {
            // Internal details go to the log, not to the caller.
            QueryError::Internal(_) => "internal error; see the server log".to_string(),
            other => other.to_string(),
        };
        ErrorAnswer {
            code: e.code().to_string(),
            message,
            candidates: e.candidates().iter().map(CandidateAnswer::from).collect(),
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IngestAnswer {
    pub source: String,
    pub files: usize,
    pub documents: usize,
    pub entities: usize,
    pub written: usize,
    pub unchanged: usize,
    pub deleted: usize,
    pub skipped: Vec<String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub dangling: Vec<DanglingRef>,
    /// Stored changes that named no known entity and now do (a catalog import re-links them).
    pub relinked: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DanglingRef {
    pub from: String,
    pub field: String,
    pub target: String,
}

impl From<&crate::ingest::Report> for IngestAnswer {
    fn from(r: &crate::ingest::Report) -> IngestAnswer {
        IngestAnswer {
            source: r.source.map(|s| s.to_string()).unwrap_or_default(),
            files: r.files,
            documents: r.documents,
            entities: r.entities,
            written: r.written,
            unchanged: r.unchanged,
            deleted: r.deleted,
            skipped: r.skipped.iter().map(|n| n.to_string()).collect(),
            warnings: r.warnings.iter().map(|n| n.to_string()).collect(),
            notes: r.notes.iter().map(|n| n.to_string()).collect(),
            dangling: r
                .dangling
                .iter()
                .map(|d| DanglingRef { from: d.from.to_string(), field: d.field.clone(), target: d.target.to_string() })
                .collect(),
            relinked: r.relinked,
        }
    }
}

/// One search hit.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchHit {
    pub doc_id: String,
    /// incident, postmortem, problem, runbook, page, ticket, policy, outcome, alert_firing
    pub kind: String,
    pub title: String,
    /// BM25 with field boosts (title and root cause weigh more than body).
    pub score: f32,
    /// The best passage, matched words wrapped in ** **.
    pub snippet: String,
    /// Byte ranges of the matched words in `snippet_text`.
    pub highlights: Vec<(usize, usize)>,
    pub snippet_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_cause: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resolution: String,
    /// Entity ids the source names explicitly.
    pub affects: Vec<String>,
    /// Entity ids named in the text.
    pub mentions: Vec<String>,
    pub source: Source,
}

/// Search results.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<EntityRef>,
    pub hits: Vec<SearchHit>,
}

/// Cuts text to at most `max` characters on a word boundary.
pub fn excerpt(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(char::is_whitespace).map(|(a, _)| a).unwrap_or(&cut);
    format!("{}…", cut.trim_end())
}

/// The provenance of a history document, from its search form.
pub fn source_of(d: &crate::model::TextDoc) -> Source {
    let (source, external_id) = d.doc_id.split_once(':').unwrap_or((&d.source, &d.doc_id));
    Source {
        source: source.to_string(),
        external_id: external_id.to_string(),
        doc_id: d.doc_id.clone(),
        url: d.url.clone(),
        updated: d.updated.clone().or_else(|| d.created.clone()),
        title: Some(d.title.clone()),
    }
}

impl From<&crate::search::Hit> for SearchHit {
    fn from(h: &crate::search::Hit) -> SearchHit {
        let d = &h.doc;
        SearchHit {
            doc_id: d.doc_id.clone(),
            kind: d.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
            title: d.title.clone(),
            score: h.score,
            snippet: h.snippet.marked("**", "**"),
            highlights: h.snippet.highlights.iter().map(|r| (r.start, r.end)).collect(),
            snippet_text: h.snippet.text.clone(),
            severity: d.severity.clone(),
            created: d.created.clone(),
            root_cause: excerpt(&d.root_cause, 300),
            resolution: excerpt(&d.resolution, 300),
            affects: d.affects.clone(),
            mentions: d.mentions.clone(),
            source: source_of(d),
        }
    }
}

impl From<&context::SearchAnswer> for SearchAnswer {
    fn from(a: &context::SearchAnswer) -> SearchAnswer {
        SearchAnswer {
            entity: a.entity.as_deref().map(EntityRef::from),
            hits: a.hits.iter().map(SearchHit::from).collect(),
        }
    }
}

/// One document in full.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DocumentAnswer {
    pub doc_id: String,
    pub source: Source,
    /// The searchable form of a history document; absent for catalog and RDF files.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "object_schema")]
    pub document: Option<serde_json::Value>,
}

impl From<&context::DocumentView> for DocumentAnswer {
    fn from(v: &context::DocumentView) -> DocumentAnswer {
        let source = match (&v.text, &v.provenance) {
            (Some(t), _) => source_of(t),
            (None, p) => Source {
                source: v.doc.source().to_string(),
                external_id: v.doc.external_id().to_string(),
                doc_id: v.doc.to_string(),
                url: p.as_ref().and_then(|p| p.url.clone()),
                updated: p.as_ref().and_then(|p| p.updated.clone()),
                title: p.as_ref().and_then(|p| p.title.clone()),
            },
        };
        DocumentAnswer {
            doc_id: v.doc.to_string(),
            source,
            document: v.text.as_ref().and_then(|t| serde_json::to_value(t).ok()),
        }
    }
}

/// An entity next to the target, and how.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NeighbourAnswer {
    /// dependsOn, runsOn or partOf
    pub relation: String,
    #[serde(flatten)]
    pub entity: EntityRef,
    /// Documents that declare the entity (`source:external-id`).
    pub declared_in: Vec<String>,
}

/// The entity the context is about.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TargetAnswer {
    #[serde(flatten)]
    pub entity: EntityRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<EntityRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<EntityRef>,
    pub aliases: Vec<String>,
    /// How FFO found it: the entity argument, or which alert label matched.
    pub resolved_via: String,
    pub declared_in: Vec<String>,
}

/// A prior incident, postmortem or problem, ranked.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IncidentAnswer {
    pub doc_id: String,
    pub kind: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// place × (0.45 + 0.55 × text) + 0.10 × action + 0.05 × recency (see the README).
    pub score: f64,
    /// Why it matched: graph proximity, matched words, age.
    pub why: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub root_cause: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub resolution: String,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunbookAnswer {
    pub doc_id: String,
    pub title: String,
    pub alerts: Vec<String>,
    /// answers alert X / is for the entity / mentions it / text matches
    pub why: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub mitigation: String,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceAnswer {
    pub doc_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    pub root_cause: String,
    pub source: Source,
}

/// A cause earlier incidents found in another entity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KnownCauseAnswer {
    pub cause: EntityRef,
    /// How the cause relates to the target.
    pub relation: String,
    pub statement: String,
    pub evidence: Vec<EvidenceAnswer>,
}

/// An earlier outcome of an action on the entity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutcomeAnswer {
    pub doc_id: String,
    pub action: String,
    /// success, failure, partial, aborted
    pub result: String,
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performed_by: Option<String>,
    /// agent, confirmed (by a person) or retracted
    pub authority: String,
    /// True when the action is the one being asked about (after normalisation).
    pub same_action: bool,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct WindowAnswer {
    pub window: EntityRef,
    pub active: bool,
    pub freeze: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// The entity it covers: the target or one it depends on.
    pub covers: String,
    pub declared_in: Vec<String>,
}

/// A change or an alert that may explain the symptom.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SuspectAnswer {
    pub doc_id: String,
    pub kind: String,
    pub title: String,
    /// The entity it is on.
    pub entity: EntityRef,
    /// From the target to that entity: `pricing-svc → dependsOn → rates-db`.
    pub path: String,
    /// Relative to the alert's start: "started 11 min before", "in progress".
    pub when: String,
    /// change type, status, start/end, schedule (changes only)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// place × timing × status + 0.1 × text (see the README).
    pub score: f64,
    pub why: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    pub source: Source,
}

/// What a change is and when it happened.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangeAnswer {
    /// deploy, config, schema, infrastructure, scaling, secret, feature_flag, policy, job, other
    pub change_type: String,
    /// planned, in_progress, done, failed, rolled_back
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// A recurring change's schedule, as the source wrote it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

impl From<&crate::model::ChangeFields> for ChangeAnswer {
    fn from(c: &crate::model::ChangeFields) -> ChangeAnswer {
        ChangeAnswer {
            change_type: c.change_type.to_string(),
            status: c.status.to_string(),
            start: c.start.map(crate::model::time::rfc3339),
            end: c.end.map(crate::model::time::rfc3339),
            schedule: c.schedule.as_ref().map(|s| s.text.clone()),
            by: c.by.clone(),
            revision: c.revision.clone(),
        }
    }
}

/// A rule that applies to acting on the target.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyAnswer {
    /// The document that states it; absent for a freeze declared as a change window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
    pub title: String,
    /// freeze, approval or forbid
    pub rule: String,
    /// The sentence that applies.
    pub clause: String,
    /// What brings the target under it.
    pub scope: String,
    /// In force at the alert's time.
    pub in_force: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// It governs the proposed action.
    pub governs_action: bool,
    pub score: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The change window entity, for a freeze declared as one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<EntityRef>,
}

/// What history says about the proposed action.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ActionNoteAnswer {
    pub statement: String,
    pub doc_id: String,
    pub title: String,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BlastSummary {
    pub totals: Totals,
    /// Dependents above the caller's clearance: counted, not shown.
    pub withheld: usize,
}

/// Everything FFO knows that bears on acting on one entity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ContextAnswer {
    pub target: TargetAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Set when the answer is as the ledger stood at that time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// What the target depends on, one hop.
    pub dependencies: Vec<NeighbourAnswer>,
    /// What depends on the target, one hop.
    pub dependents: Vec<NeighbourAnswer>,
    pub blast_radius: BlastSummary,
    /// The time the answer is relative to: the alert's start, `as_of`, or now.
    pub at: String,
    /// Changes on the target and within three impact hops either way,
    /// around the alert's time, best first.
    pub changes: Vec<SuspectAnswer>,
    /// Alerts firing on the neighbourhood at the alert's time.
    pub active_alerts: Vec<SuspectAnswer>,
    /// Prior incidents, postmortems and problems, best first.
    pub incidents: Vec<IncidentAnswer>,
    pub runbooks: Vec<RunbookAnswer>,
    pub known_causes: Vec<KnownCauseAnswer>,
    /// Rules that apply to acting on the target: those that govern the proposed action and are in force first.
    pub policies: Vec<PolicyAnswer>,
    /// What earlier outcomes and documents say about the proposed action.
    pub action_notes: Vec<ActionNoteAnswer>,
    /// Earlier outcomes of actions on the entity: the same action first, then the newest.
    pub outcomes: Vec<OutcomeAnswer>,
    /// Outcomes a person retracted: counted, never listed or ranked.
    pub retracted_outcomes: usize,
    /// How often the alert fired on the entity, and what followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_history: Option<AlertHistoryAnswer>,
    pub change_windows: Vec<WindowAnswer>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertHistoryAnswer {
    pub alert: String,
    pub fired_last_30_days: usize,
    pub fired_last_90_days: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_fired: Option<String>,
    /// Outcomes of actions taken on the entity for this alert.
    pub followed_by: Vec<OutcomeAnswer>,
}

fn outcome_answer(d: &crate::model::TextDoc, same_action: bool) -> OutcomeAnswer {
    OutcomeAnswer {
        doc_id: d.doc_id.clone(),
        action: d.action.clone().unwrap_or_default(),
        result: d.result.clone().unwrap_or_default(),
        summary: excerpt(&d.summary, 240),
        when: d.created.clone(),
        performed_by: d.performed_by.clone(),
        authority: d.authority.clone().unwrap_or_else(|| "agent".into()),
        same_action,
        source: source_of(d),
    }
}

fn suspect_answer(s: &context::Suspect) -> SuspectAnswer {
    SuspectAnswer {
        doc_id: s.doc.doc_id.clone(),
        kind: s.doc.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        title: s.doc.title.clone(),
        entity: EntityRef::from(&*s.place.entity),
        path: s.place.path.clone(),
        when: s.when.clone(),
        change: s.doc.change.as_ref().map(ChangeAnswer::from),
        date: s.doc.created.clone().or_else(|| s.doc.updated.clone()),
        score: (s.score * 1000.0).round() / 1000.0,
        why: s.why.clone(),
        summary: excerpt(if s.doc.summary.is_empty() { &s.doc.body } else { &s.doc.summary }, 240),
        source: source_of(&s.doc),
    }
}

fn declared_in(e: &EntityInfo) -> Vec<String> {
    e.sources.iter().filter_map(|g| crate::model::DocId::from_iri(g)).map(|d| d.to_string()).collect()
}

impl From<&context::ActionContext> for ContextAnswer {
    fn from(c: &context::ActionContext) -> ContextAnswer {
        let t = &c.target;
        let neighbour = |n: &context::Neighbour| NeighbourAnswer {
            relation: n.relation.to_string(),
            entity: EntityRef::from(&*n.entity),
            declared_in: declared_in(&n.entity),
        };
        ContextAnswer {
            target: TargetAnswer {
                entity: EntityRef::from(&**t),
                description: t.description.as_deref().map(|d| excerpt(d, 200)),
                owner: c.owner.as_deref().map(EntityRef::from),
                system: c.system.as_deref().map(EntityRef::from),
                aliases: t.aliases.clone(),
                resolved_via: c.targeting.via.clone(),
                declared_in: declared_in(t),
            },
            alert: c.alert.as_ref().and_then(|a| a.name().map(str::to_string)),
            action: c.action.clone(),
            as_of: c.as_of.clone(),
            dependencies: c.dependencies.iter().map(neighbour).collect(),
            dependents: c.dependents.iter().map(neighbour).collect(),
            blast_radius: BlastSummary { totals: Totals::from(&c.blast), withheld: c.blast_withheld },
            at: crate::model::time::rfc3339(c.at),
            changes: c.changes.iter().map(suspect_answer).collect(),
            active_alerts: c.active_alerts.iter().map(suspect_answer).collect(),
            policies: c
                .policies
                .iter()
                .map(|p| PolicyAnswer {
                    doc_id: p.doc.as_ref().map(|d| d.doc_id.clone()),
                    title: p.title.clone(),
                    rule: p.kind.as_str().to_string(),
                    clause: excerpt(&p.clause, 400),
                    scope: p.scope.clone(),
                    in_force: p.in_force,
                    start: p.start.map(crate::model::time::rfc3339),
                    end: p.end.map(crate::model::time::rfc3339),
                    governs_action: p.governs_action,
                    score: (p.score * 1000.0).round() / 1000.0,
                    source: p.doc.as_ref().map(source_of),
                    window: p.window.as_deref().map(EntityRef::from),
                })
                .collect(),
            action_notes: c
                .action_notes
                .iter()
                .map(|n| ActionNoteAnswer {
                    statement: excerpt(&n.statement, 400),
                    doc_id: n.doc.doc_id.clone(),
                    title: n.doc.title.clone(),
                    source: source_of(&n.doc),
                })
                .collect(),
            incidents: c
                .incidents
                .iter()
                .map(|r| IncidentAnswer {
                    doc_id: r.doc.doc_id.clone(),
                    kind: r.doc.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                    title: r.doc.title.clone(),
                    date: r.doc.created.clone().or_else(|| r.doc.updated.clone()),
                    severity: r.doc.severity.clone(),
                    score: (r.score * 1000.0).round() / 1000.0,
                    why: r.why.clone(),
                    root_cause: excerpt(&r.doc.root_cause, 300),
                    resolution: excerpt(&r.doc.resolution, 300),
                    source: source_of(&r.doc),
                })
                .collect(),
            runbooks: c
                .runbooks
                .iter()
                .map(|(d, why)| RunbookAnswer {
                    doc_id: d.doc_id.clone(),
                    title: d.title.clone(),
                    alerts: d.alerts.clone(),
                    why: why.clone(),
                    mitigation: excerpt(&d.mitigation, 300),
                    source: source_of(d),
                })
                .collect(),
            known_causes: c
                .known_causes
                .iter()
                .map(|k| KnownCauseAnswer {
                    cause: EntityRef::from(&*k.cause),
                    relation: k.relation.clone(),
                    statement: k.statement.clone(),
                    evidence: k
                        .evidence
                        .iter()
                        .map(|d| EvidenceAnswer {
                            doc_id: d.doc_id.clone(),
                            title: d.title.clone(),
                            date: d.created.clone(),
                            root_cause: excerpt(&d.root_cause, 240),
                            source: source_of(d),
                        })
                        .collect(),
                })
                .collect(),
            outcomes: c.outcomes.iter().map(|(d, same)| outcome_answer(d, *same)).collect(),
            retracted_outcomes: c.retracted_outcomes,
            alert_history: c.alert_history.as_ref().map(|h| AlertHistoryAnswer {
                alert: h.alert.clone(),
                fired_last_30_days: h.fired_30d,
                fired_last_90_days: h.fired_90d,
                last_fired: h.last_fired.clone(),
                followed_by: h.followed_by.iter().map(|d| outcome_answer(d, false)).collect(),
            }),
            change_windows: c
                .windows
                .iter()
                .map(|w| WindowAnswer {
                    window: EntityRef::from(&*w.window),
                    active: w.active,
                    freeze: w.freeze,
                    start: w.start.clone(),
                    end: w.end.clone(),
                    covers: w.covers.clone(),
                    declared_in: declared_in(&w.window),
                })
                .collect(),
        }
    }
}

/// Reads an alert from JSON: an Alertmanager (or Grafana) webhook payload
/// (its first firing alert), one alert object (`labels`, `annotations`, ...),
/// or a bare label map.
pub fn alert_from_json(v: &serde_json::Value) -> Result<crate::model::Alert, String> {
    crate::ingest::alerts::parse_one(v)
}

/// SPARQL 1.1 JSON results (`head` and `results`, or `boolean`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SparqlAnswer {
    /// `{"vars": [...]}`
    #[schemars(schema_with = "object_schema")]
    pub head: serde_json::Value,
    /// `{"bindings": [{var: {type, value, ...}}]}` for SELECT.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "object_schema")]
    pub results: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean: Option<bool>,
}

/// A free-form JSON object (strict clients reject a bare `true` schema).
fn object_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "object", "additionalProperties": true })
}

impl SparqlAnswer {
    pub fn from_json(body: &[u8]) -> Result<SparqlAnswer, String> {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        Ok(SparqlAnswer {
            head: v.get("head").cloned().unwrap_or(serde_json::Value::Null),
            results: v.get("results").cloned(),
            boolean: v.get("boolean").and_then(serde_json::Value::as_bool),
        })
    }
}

/// The body of write_outcome (MCP), `POST /v1/outcomes` and `ffo write-outcome`.
#[derive(Debug, Clone, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    /// The entity acted on: an id (kind:namespace/name), a name or an alias.
    pub entity: String,
    /// What was done, in a few words ("restart the pods", "fail over payments-db").
    pub action: String,
    /// How it ended: success, failure, partial or aborted.
    pub result: String,
    /// One or two sentences: what happened and what it changed.
    pub summary: String,
    /// The alert that prompted the action (its alertname).
    pub alert: Option<String>,
    /// Anything else worth keeping: commands run, observations.
    pub details: Option<String>,
    /// A postmortem in Markdown; its headings (Summary, Impact, Root cause, Resolution, Action items, Timeline) become fields.
    pub postmortem: Option<String>,
    /// Related documents (incidents), by id: jira:OPS-123, confluence:458753, ...
    #[serde(default)]
    pub related: Vec<String>,
    /// When the action started (RFC 3339).
    pub started_at: Option<String>,
    /// When the action ended (RFC 3339).
    pub ended_at: Option<String>,
    /// Make retries safe: the same key with the same body returns the same id and stores nothing new; with another body it is a conflict.
    pub idempotency_key: Option<String>,
}

impl From<OutcomeBody> for context::OutcomeRequest {
    fn from(b: OutcomeBody) -> context::OutcomeRequest {
        context::OutcomeRequest {
            entity: b.entity,
            action: b.action,
            result: b.result,
            summary: b.summary,
            alert: b.alert,
            details: b.details,
            postmortem: b.postmortem,
            related: b.related,
            started_at: b.started_at,
            ended_at: b.ended_at,
            idempotency_key: b.idempotency_key,
        }
    }
}

/// A stored outcome.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OutcomeStored {
    /// The outcome's document id (outcome:UUID).
    pub id: String,
    /// True when an earlier write with the same idempotency key and body was returned.
    pub replayed: bool,
    pub entity: String,
    pub action: String,
    pub result: String,
    /// agent, confirmed or retracted
    pub authority: String,
    pub performed_by: String,
    pub recorded_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    /// The ledger sequence of the write; searchable and in context once this returns.
    pub seq: i64,
}

impl From<&context::OutcomeWritten> for OutcomeStored {
    fn from(w: &context::OutcomeWritten) -> OutcomeStored {
        let o = &w.outcome;
        OutcomeStored {
            id: w.doc.to_string(),
            replayed: w.replayed,
            entity: o.entity.clone(),
            action: o.action.clone(),
            result: o.result.as_str().to_string(),
            authority: o.authority.as_str().to_string(),
            performed_by: o.performed_by.clone(),
            recorded_at: crate::model::time::rfc3339(o.recorded_at),
            reviewed_by: o.reviewed_by.clone(),
            seq: w.seq.0,
        }
    }
}

/// What became of a webhook's alerts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertsRecorded {
    pub received: usize,
    /// New firings or resolutions written (repeats of the same state write nothing).
    pub written: usize,
    pub alerts: Vec<AlertRecordedAnswer>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AlertRecordedAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alertname: Option<String>,
    pub fingerprint: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unresolved: Option<String>,
    pub written: bool,
}

impl AlertsRecorded {
    pub fn new(recorded: &[context::AlertRecorded]) -> AlertsRecorded {
        AlertsRecorded {
            received: recorded.len(),
            written: recorded.iter().filter(|r| r.written).count(),
            alerts: recorded
                .iter()
                .map(|r| AlertRecordedAnswer {
                    doc_id: r.doc.as_ref().map(|d| d.to_string()),
                    alertname: r.name.clone(),
                    fingerprint: r.fingerprint.clone(),
                    status: r.status.clone(),
                    entity: r.entity.clone(),
                    unresolved: r.unresolved.clone(),
                    written: r.written,
                })
                .collect(),
        }
    }
}

/// What `POST /v1/changes` (and `ffo ingest changes --json`) did with the
/// change events it was given.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChangesStored {
    /// New changes or new versions written.
    pub written: usize,
    /// Changes the ledger already held with the same content.
    pub unchanged: usize,
    pub stored: Vec<StoredChange>,
    /// Items not stored: malformed, or in no format FFO reads; each with its index and why.
    pub rejected: Vec<RefusedItem>,
    /// Items that are not changes (an incident event, a Jira export), and older versions of a change.
    pub ignored: Vec<RefusedItem>,
    /// Files skipped, names that matched several entities.
    pub warnings: Vec<String>,
}

/// One change stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StoredChange {
    /// The file it came from (`ffo ingest changes` on a folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its place in the body or file (0-based).
    pub index: usize,
    /// `changes:{format}/{id}`
    pub doc_id: String,
    pub title: String,
    /// deploy, config, schema, infrastructure, scaling, secret, feature_flag, policy, job, other
    pub change_type: String,
    /// planned, in_progress, done, failed, rolled_back
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The entities it touches, resolved.
    pub affects: Vec<String>,
    /// When nothing resolved: the references and names tried. The change is kept and linked again after the next catalog import.
    pub unresolved: Vec<String>,
    /// False when the ledger already held this content.
    pub written: bool,
}

/// An item not stored.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RefusedItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub index: usize,
    pub reason: String,
}

impl From<&crate::ingest::changes::Ingested> for ChangesStored {
    fn from(i: &crate::ingest::changes::Ingested) -> ChangesStored {
        let refused = |list: &[crate::ingest::changes::Refused]| {
            list.iter()
                .map(|r| RefusedItem { file: r.at.file.clone(), index: r.at.index, reason: r.reason.clone() })
                .collect()
        };
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(crate::model::time::rfc3339);
        ChangesStored {
            written: i.report.written,
            unchanged: i.report.unchanged,
            stored: i
                .stored
                .iter()
                .map(|s| StoredChange {
                    file: s.at.file.clone(),
                    index: s.at.index,
                    doc_id: s.doc.to_string(),
                    title: s.title.clone(),
                    change_type: s.change.change_type.to_string(),
                    status: s.change.status.to_string(),
                    start: time(s.change.start),
                    end: time(s.change.end),
                    schedule: s.change.schedule.as_ref().map(|s| s.text.clone()),
                    affects: s.affects.iter().map(|e| e.to_string()).collect(),
                    unresolved: s.unresolved.clone(),
                    written: s.written,
                })
                .collect(),
            rejected: refused(&i.rejected),
            ignored: refused(&i.ignored),
            warnings: i
                .report
                .warnings
                .iter()
                .chain(i.report.skipped.iter().filter(|n| !i.rejected.iter().any(|r| r.at.to_string() == n.at)))
                .map(|n| n.to_string())
                .collect(),
        }
    }
}
