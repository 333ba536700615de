//! `context_for_action`: everything FFO knows that bears on acting on one
//! entity (or on the entity an alert is about), in one answer, each item
//! with its source.
//!
//! Prior incidents are ranked by a documented score (see [`score`]): graph
//! proximity first, then text relevance to the alert and the action, then
//! recency. Proximity dominates by construction, so an incident that
//! affects the entity always outranks one that only mentions a neighbour,
//! and an incident that merely shares words outranks neither.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use petgraph::Direction;

use super::blast::{BlastOptions, Totals, from_impact};
use super::search::allowed_levels;
use super::{QueryError, Service, require, resolve_in, visible};
use crate::auth::{Caller, Scope};
use crate::model::{Alert, DocKind, EntityKind, Relation, TextDoc, normalize_action};
use crate::projection::Projections;
use crate::search::{Hit, SearchQuery};
use crate::topology::{Candidate, EntityInfo, MatchKind, Resolution, Topology};

/// At most this many neighbours (nearest first) bring their history in: a
/// core network's two-hop neighbourhood is the whole estate.
const NEAR_LIMIT: usize = 500;

/// Every list is cut to this unless the caller asks otherwise.
pub const DEFAULT_LIMIT: usize = 5;
pub const MAX_LIMIT: usize = 50;

/// What an alert says in words: its name (also split at its capitals:
/// HighHttpErrorRate → High Http Error Rate), summary and description.
pub fn alert_words(alert: &Alert) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(name) = alert.name() {
        parts.push(name.to_string());
        parts.push(crate::search::split_camel(name));
    }
    for key in ["summary", "description", "message", "title"] {
        if let Some(v) = alert.annotations.get(key).or_else(|| alert.labels.get(key)) {
            parts.push(v.clone());
        }
    }
    parts.join(" ")
}

#[derive(Debug, Clone, Default)]
pub struct ActionRequest {
    pub entity: Option<String>,
    pub alert: Option<Alert>,
    pub action: Option<String>,
    pub limit: Option<usize>,
    /// RFC 3339 or YYYY-MM-DD: answer as the ledger stood then.
    pub as_of: Option<String>,
}

/// How the target was found.
#[derive(Debug, Clone)]
pub struct Targeting {
    /// `entity` argument, or the alert label that matched.
    pub via: String,
    pub matched: MatchKind,
}

/// A neighbour one hop out along impact edges.
#[derive(Debug, Clone)]
pub struct Neighbour {
    pub entity: Arc<EntityInfo>,
    pub relation: Relation,
}

/// A ranked history item with why it matched.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub doc: TextDoc,
    pub score: f64,
    pub proximity: f64,
    pub text: f64,
    pub recency: f64,
    pub why: Vec<String>,
}

/// A root cause earlier incidents found in another entity.
#[derive(Debug, Clone)]
pub struct KnownCause {
    pub cause: Arc<EntityInfo>,
    /// How the cause relates to the target ("dependency, 1 hop").
    pub relation: String,
    pub statement: String,
    pub evidence: Vec<TextDoc>,
}

/// A change window or freeze that covers the target now or soon.
#[derive(Debug, Clone)]
pub struct ActiveWindow {
    pub window: Arc<EntityInfo>,
    pub active: bool,
    pub freeze: bool,
    pub start: Option<String>,
    pub end: Option<String>,
    /// The covered entity that brings it in (the target or one it depends on).
    pub covers: String,
}

#[derive(Debug, Clone)]
pub struct ActionContext {
    pub target: Arc<EntityInfo>,
    pub targeting: Targeting,
    pub alert: Option<Alert>,
    pub action: Option<String>,
    pub as_of: Option<String>,
    pub owner: Option<Arc<EntityInfo>>,
    pub system: Option<Arc<EntityInfo>>,
    pub dependencies: Vec<Neighbour>,
    pub dependents: Vec<Neighbour>,
    pub blast: Totals,
    pub blast_withheld: usize,
    pub incidents: Vec<Ranked>,
    pub runbooks: Vec<(TextDoc, String)>,
    pub known_causes: Vec<KnownCause>,
    /// Outcomes, each with whether it is the action asked about.
    pub outcomes: Vec<(TextDoc, bool)>,
    pub retracted_outcomes: usize,
    pub alert_history: Option<AlertHistory>,
    pub windows: Vec<ActiveWindow>,
    pub limit: usize,
}

/// Past views of the ledger for `as_of` questions. Building one replays the
/// ledger up to that time, so they are built one at a time (a storm of
/// `as_of` questions queues instead of exhausting memory and CPU) and the
/// newest few are kept: two instants with the same ledger head share a view.
pub(crate) struct PastViews {
    building: tokio::sync::Semaphore,
    kept: std::sync::Mutex<std::collections::VecDeque<(crate::model::Seq, Arc<Projections>)>>,
}

/// Past views kept in memory.
const PAST_VIEWS_KEPT: usize = 4;

impl PastViews {
    pub(crate) fn new(concurrent: usize) -> PastViews {
        PastViews { building: tokio::sync::Semaphore::new(concurrent), kept: Default::default() }
    }

    fn kept(&self, head: crate::model::Seq) -> Option<Arc<Projections>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter().find(|(h, _)| *h == head).map(|(_, p)| p.clone())
    }

    async fn view(
        &self,
        ledger: &crate::ledger::Ledger,
        at: DateTime<Utc>,
        scale: &crate::model::ClassificationScale,
    ) -> Result<Arc<Projections>, QueryError> {
        let head = ledger.head_as_of(at).await?;
        if let Some(p) = self.kept(head) {
            return Ok(p);
        }
        let _turn = self.building.acquire().await.map_err(|e| QueryError::Internal(e.to_string()))?;
        // Built while we waited for our turn?
        if let Some(p) = self.kept(head) {
            return Ok(p);
        }
        let p = Arc::new(Projections::as_of(ledger, at, scale.clone()).await?);
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.push_front((head, p.clone()));
        kept.truncate(PAST_VIEWS_KEPT);
        Ok(p)
    }
}

impl Service {
    pub async fn context_for_action(&self, caller: &Caller, req: &ActionRequest) -> Result<ActionContext, QueryError> {
        let result = self.guard(self.context_inner(caller, req)).await;
        let detail = req.entity.clone().or_else(|| req.alert.as_ref().and_then(|a| a.name().map(str::to_string)));
        self.record(caller, "context_for_action", &result, detail);
        result
    }

    async fn context_inner(&self, caller: &Caller, req: &ActionRequest) -> Result<ActionContext, QueryError> {
        require(caller, Scope::Read, "context_for_action")?;
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::BadRequest(format!("limit must be 1..={MAX_LIMIT}, got {limit}")));
        }
        if req.entity.as_deref().is_none_or(|e| e.trim().is_empty()) && req.alert.is_none() {
            return Err(QueryError::BadRequest("give an entity, an alert, or both".into()));
        }
        match req.as_of.as_deref().filter(|s| !s.trim().is_empty()) {
            None => {
                // Time is read from the alert's start: what happened "6
                // minutes before" is before the alert, whenever one asks.
                let now = req.alert.as_ref().and_then(Alert::started).unwrap_or_else(Utc::now);
                self.compute(|| self.context_on(&self.projections, caller, req, limit, now)).await
            }
            Some(when) => {
                let at = parse_instant(when)?;
                let past = self.past.view(&self.ledger, at, &self.scale).await?;
                let mut answer = self.compute(|| self.context_on(&past, caller, req, limit, at)).await?;
                answer.as_of = Some(crate::model::time::rfc3339(at));
                Ok(answer)
            }
        }
    }

    fn context_on(
        &self,
        p: &Projections,
        caller: &Caller,
        req: &ActionRequest,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<ActionContext, QueryError> {
        let topo = p.topology();
        let (target, targeting) = self.target(&topo, caller, req)?;
        let see = |e: &EntityInfo| visible(&self.scale, caller, e);

        let hop = |dir: Direction| -> Vec<Neighbour> {
            topo.neighbours(&target.id, dir)
                .into_iter()
                .filter(|n| n.relation.carries_impact() && see(&n.entity))
                .map(|n| Neighbour { entity: n.entity, relation: n.relation })
                .collect()
        };
        let mut dependencies = hop(Direction::Outgoing);
        let mut dependents = hop(Direction::Incoming);
        let options = BlastOptions { max_depth: None, limit: 0 };
        let impact = topo.impact(&target.id, &self.impact_query(caller, options)).unwrap_or_default();
        let blast = from_impact(target.clone(), impact, options);
        let owner = target.related(Relation::OwnedBy).next().and_then(|o| topo.get(o)).filter(|o| see(o));
        let system = target
            .related(Relation::PartOf)
            .filter_map(|s| topo.get(s))
            .find(|s| s.kind == Some(EntityKind::System) && see(s));
        // Entities within two impact hops, with their distance: history on
        // them bears on the target.
        let near: HashMap<String, (Arc<EntityInfo>, u32)> = topo
            .within(&target.id, 2, NEAR_LIMIT)
            .into_iter()
            .filter(|(e, _)| see(e))
            .map(|(e, d)| (e.id.to_string(), (e, d)))
            .collect();
        let windows = change_windows(&topo, &target, &dependencies, now, &see);
        drop(topo);

        let allowed = allowed_levels(&self.scale, caller);
        let alert_words = req.alert.as_ref().map(alert_words).unwrap_or_default();
        let text = format!("{alert_words} {}", req.action.as_deref().unwrap_or("")).trim().to_string();

        let (mut incidents, about_target) = rank_incidents(p, &target, &near, &text, &allowed, now, limit)?;
        {
            let topo = p.topology();
            for r in &mut incidents {
                super::redact(&topo, &self.scale, caller, &mut r.doc);
            }
        }
        let runbooks = runbooks(p, &target, req.alert.as_ref(), &text, &allowed, limit)?;
        let known_causes = known_causes(&target, &near, &incidents, about_target, limit);
        let (outcomes, retracted_outcomes) = outcomes(p, &target, req.action.as_deref(), &allowed, limit)?;
        let alert_history = match req.alert.as_ref().and_then(Alert::name) {
            Some(name) => {
                // A past view sees nothing after its time; the present sees
                // everything, even firings timestamped ahead of this clock.
                let cap = req.as_of.is_some().then_some(now);
                Some(alert_history(p, &target, name, &allowed, now, cap, limit)?)
            }
            None => None,
        };

        dependencies.truncate(limit.max(10));
        dependents.truncate(limit.max(10));
        Ok(ActionContext {
            target,
            targeting,
            alert: req.alert.clone(),
            action: req.action.clone(),
            as_of: None,
            owner,
            system,
            dependencies,
            dependents,
            blast: blast.totals,
            blast_withheld: blast.withheld,
            incidents,
            runbooks,
            known_causes,
            outcomes,
            retracted_outcomes,
            alert_history,
            windows,
            limit,
        })
    }

    /// The entity the question is about: the `entity` argument, else the
    /// first alert label (in the configured order) whose value names one.
    fn target(
        &self,
        topo: &Topology,
        caller: &Caller,
        req: &ActionRequest,
    ) -> Result<(Arc<EntityInfo>, Targeting), QueryError> {
        if let Some(e) = req.entity.as_deref().filter(|e| !e.trim().is_empty()) {
            let found = resolve_in(topo, &self.scale, caller, e)?;
            return Ok((found, Targeting { via: format!("entity {e:?}"), matched: MatchKind::Id }));
        }
        let alert = req.alert.as_ref().ok_or_else(|| QueryError::BadRequest("give an entity or an alert".into()))?;
        target_of_alert(topo, &self.scale, caller, alert, &self.ingest.alerts)
    }
}

/// Label values longer than this name no entity (and are not looked up).
const MAX_LABEL_VALUE: usize = 512;

/// The entity an alert is about: the first label (in the configured order)
/// whose value, or a form of it, names exactly one entity the caller may
/// see; failing that, every other label in name order, so that an alert
/// that names a host only in an unusual label still resolves. Each try is
/// an exact lookup, so resolving costs the same whatever the labels hold.
pub(crate) fn target_of_alert(
    topo: &Topology,
    scale: &crate::model::ClassificationScale,
    caller: &Caller,
    alert: &Alert,
    mapping: &crate::ingest::config::AlertMapping,
) -> Result<(Arc<EntityInfo>, Targeting), QueryError> {
    {
        let mut tried: Vec<String> = Vec::new();
        let configured = mapping.target_labels.iter().map(String::as_str);
        let others = alert
            .labels
            .keys()
            .map(String::as_str)
            .filter(|l| !mapping.target_labels.iter().any(|t| t == l) && !NOT_A_NAME.contains(l));
        for label in configured.chain(others) {
            let Some(value) = alert.labels.get(label).filter(|v| v.len() <= MAX_LABEL_VALUE) else { continue };
            for (candidate, how) in label_values(label, value) {
                if mapping.ignore_values.iter().any(|v| v.eq_ignore_ascii_case(&candidate)) {
                    tried.push(format!("{label}={value} (ignored: monitoring plumbing)"));
                    continue;
                }
                tried.push(format!("{label}={candidate}{how}"));
                let via = format!("alert label {label}={value}{how}");
                match topo.resolve_exact(&candidate) {
                    Resolution::Found(e) if visible(scale, caller, &e) => {
                        let matched =
                            if e.name.eq_ignore_ascii_case(&candidate) { MatchKind::Name } else { MatchKind::Alias };
                        return Ok((e, Targeting { via, matched }));
                    }
                    Resolution::Ambiguous(c) => {
                        let c: Vec<Candidate> = c
                            .into_iter()
                            .filter(|c| visible(scale, caller, &c.entity))
                            .map(|mut c| {
                                c.via = format!("{label}={value}{how}");
                                c
                            })
                            .collect();
                        if c.len() > 1 {
                            return Err(QueryError::Ambiguous { query: via, candidates: c });
                        }
                        if let Some(one) = c.into_iter().next() {
                            return Ok((one.entity, Targeting { via, matched: one.matched }));
                        }
                    }
                    _ => {}
                }
            }
        }
        Err(QueryError::BadRequest(format!(
            "the alert names no known entity; tried {} (labels in the order of ingest/alerts.toml target_labels); pass `entity` to say which",
            if tried.is_empty() { "no target labels (it has none of them)".to_string() } else { tried.join(", ") }
        )))
    }
}

/// Labels whose values describe the alert, not what it is about.
const NOT_A_NAME: &[&str] = &["alertname", "severity", "priority", "status", "team", "prometheus", "receiver"];

/// Values to try for a label: as given, without a port, without a pod's
/// replica hash, the first label of a host name. Each with how it was derived.
fn label_values(label: &str, value: &str) -> Vec<(String, &'static str)> {
    let value = value.trim();
    let mut out: Vec<(String, &'static str)> = vec![(value.to_string(), "")];
    // A URL (blackbox probes): its host.
    let value = match value.split_once("://") {
        Some((_, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            out.push((host.to_string(), " (host of the URL)"));
            host
        }
        None => value,
    };
    let mut push = |v: String, how: &'static str| {
        if !v.is_empty() && !out.iter().any(|(x, _)| *x == v) {
            out.push((v, how));
        }
    };
    let host = strip_port(value);
    if host != value {
        push(host.to_string(), " (port stripped)");
    }
    if label == "pod" || label == "pod_name" {
        push(strip_replica(value), " (replica hash stripped)");
    }
    if let Some((short, _)) = host.split_once('.')
        && !short.chars().all(|c| c.is_ascii_digit())
    {
        push(short.to_string(), " (short host name)");
    }
    out
}

/// `host:9100` → `host`; `[::1]:9100` → `::1`.
fn strip_port(v: &str) -> &str {
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h).unwrap_or(v);
    }
    match v.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => v,
    }
}

/// `checkout-api-7d9f8b6c5-x2k4q` → `checkout-api`; `redis-0` → `redis`.
fn strip_replica(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    let looks_random = |s: &str| {
        s.len() >= 4
            && s.len() <= 10
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars().any(|c| c.is_ascii_digit())
    };
    let mut keep = parts.len();
    // Deployment pods: name-<template hash>-<5 chars>; StatefulSet: name-<ordinal>.
    if keep >= 3 && parts[keep - 1].len() == 5 && looks_random(parts[keep - 2]) {
        keep -= 2;
    } else if keep >= 2
        && (parts[keep - 1].chars().all(|c| c.is_ascii_digit())
            || (parts[keep - 1].len() == 5 && looks_random(parts[keep - 1])))
    {
        keep -= 1;
    }
    parts[..keep].join("-")
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, QueryError> {
    crate::model::time::parse_point(s, "as_of", Utc::now()).map_err(|e| QueryError::BadRequest(e.to_string()))
}

/// The ranking score of a history item:
///
/// `score = proximity + 0.25 × text + 0.10 × recency`
///
/// - proximity: 1.0 the document affects the target (the source names it);
///   0.7 it mentions the target; 0.45 it affects an entity one impact hop
///   away (a dependency or a dependent); 0.4 it mentions one; 0.3 it
///   affects or mentions an entity two hops away; 0 otherwise.
/// - text: BM25 of the alert's name, summary and the action against the
///   document, divided by the best BM25 among the candidates (0..1).
/// - recency: `exp(-age / 180 days)` (1 today, 0.37 at six months).
///
/// Text and recency together add at most 0.35, less than the smallest gap
/// between proximity levels that matter: affecting the target (1.0) beats
/// anything about a neighbour (≤ 0.45 + 0.35), and anything about a
/// neighbour (≥ 0.3) beats a document that only shares words (≤ 0.35) unless
/// the neighbour is two hops out and the stranger matches perfectly today.
pub fn score(proximity: f64, text: f64, recency: f64) -> f64 {
    proximity + 0.25 * text + 0.10 * recency
}

fn proximity(doc: &TextDoc, target: &str, near: &HashMap<String, (Arc<EntityInfo>, u32)>) -> (f64, Vec<String>) {
    if doc.affects.iter().any(|e| e == target) {
        return (1.0, vec![format!("affects {target}")]);
    }
    if doc.mentions.iter().any(|e| e == target) || doc.cause_in.iter().any(|e| e == target) {
        return (0.7, vec![format!("mentions {target}")]);
    }
    let mut best = (0.0, Vec::new());
    for (list, verb, one_hop, two_hops) in [(&doc.affects, "affects", 0.45, 0.3), (&doc.mentions, "mentions", 0.4, 0.3)]
    {
        for e in list {
            if let Some((info, hops)) = near.get(e) {
                let p = if *hops <= 1 { one_hop } else { two_hops };
                if p > best.0 {
                    let name = &info.name;
                    let unit = if *hops == 1 { "hop" } else { "hops" };
                    best = (p, vec![format!("{verb} {name} ({} {hops} {unit} from the target)", info.id)]);
                }
            }
        }
    }
    best
}

fn recency(doc: &TextDoc, now: DateTime<Utc>) -> (f64, Option<i64>) {
    let when = doc.created.as_deref().or(doc.updated.as_deref()).and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    match when {
        Some(t) => {
            let days = (now - t.with_timezone(&Utc)).num_days().max(0);
            ((-(days as f64) / 180.0).exp(), Some(days))
        }
        None => (0.0, None),
    }
}

fn search(p: &Projections, q: SearchQuery) -> Result<Vec<Hit>, QueryError> {
    p.search().search(&q).map_err(|e| QueryError::Internal(e.to_string()))
}

const FAILURE_KINDS: [DocKind; 3] = [DocKind::Incident, DocKind::Postmortem, DocKind::Problem];

fn rank_incidents(
    p: &Projections,
    target: &EntityInfo,
    near: &HashMap<String, (Arc<EntityInfo>, u32)>,
    text: &str,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<Ranked>, Vec<TextDoc>), QueryError> {
    let target_id = target.id.to_string();
    let mut entities: Vec<String> = vec![target_id.clone()];
    entities.extend(near.keys().cloned());
    let base = SearchQuery { kinds: FAILURE_KINDS.to_vec(), allowed: allowed.clone(), ..SearchQuery::default() };
    // Documents about the target or its neighbours, newest first, whatever
    // their words; the same with the alert's words, for text scores; and
    // documents that only share the words (they can still be useful).
    let mut candidates: BTreeMap<String, (TextDoc, f32)> = BTreeMap::new();
    let mut add = |hits: Vec<Hit>| {
        for h in hits {
            let e = candidates.entry(h.doc.doc_id.clone()).or_insert((h.doc, 0.0));
            e.1 = e.1.max(h.score);
        }
    };
    // The first query is every failure document about the target itself,
    // for known causes; asked together, the documents are read once.
    let mut queries = vec![
        SearchQuery { entities: vec![target_id.clone()], limit: 200, ..base.clone() },
        SearchQuery { entities: entities.clone(), limit: 200, ..base.clone() },
    ];
    if !text.is_empty() {
        queries.push(SearchQuery { text: text.to_string(), entities, limit: 200, ..base.clone() });
        queries.push(SearchQuery { text: text.to_string(), limit: 20, ..base });
    }
    let mut answers = p.search().search_many(&queries).map_err(|e| QueryError::Internal(e.to_string()))?.into_iter();
    let about_target: Vec<TextDoc> = answers.next().unwrap_or_default().into_iter().map(|h| h.doc).collect();
    for hits in answers {
        add(hits);
    }
    let best_bm25 = candidates.values().map(|c| c.1).fold(0.0f32, f32::max);
    let mut ranked: Vec<Ranked> = candidates
        .into_values()
        .map(|(doc, bm25)| {
            let (prox, why) = proximity(&doc, &target_id, near);
            let text = if best_bm25 > 0.0 { f64::from(bm25 / best_bm25) } else { 0.0 };
            let (rec, _) = recency(&doc, now);
            Ranked { score: score(prox, text, rec), proximity: prox, text, recency: rec, why, doc }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.doc.doc_id.cmp(&b.doc.doc_id)));
    ranked.truncate(limit);
    // Explanations only for what is shown: finding the matched words means
    // analysing a document's whole text.
    let words = p.search().words(text);
    for r in &mut ranked {
        if r.text > 0.0 {
            let terms = p.search().matched(&words, &r.doc);
            if !terms.is_empty() {
                r.why.push(format!("text matches {}", terms.join(", ")));
            }
        }
        if let (_, Some(d)) = recency(&r.doc, now) {
            r.why.push(format!("{d} days ago"));
        }
    }
    Ok((ranked, about_target))
}

/// Runbooks: for the alert by name first, then for the entity, then by text.
fn runbooks(
    p: &Projections,
    target: &EntityInfo,
    alert: Option<&Alert>,
    text: &str,
    allowed: &Option<Vec<String>>,
    limit: usize,
) -> Result<Vec<(TextDoc, String)>, QueryError> {
    let base = SearchQuery { kinds: vec![DocKind::Runbook], allowed: allowed.clone(), limit, ..SearchQuery::default() };
    let mut out: Vec<(TextDoc, String)> = Vec::new();
    let mut push = |hits: Vec<Hit>, why: &dyn Fn(&TextDoc) -> String| {
        for h in hits {
            if out.len() < limit && !out.iter().any(|(d, _)| d.doc_id == h.doc.doc_id) {
                let w = why(&h.doc);
                out.push((h.doc, w));
            }
        }
    };
    if let Some(name) = alert.and_then(Alert::name) {
        let hits = search(p, SearchQuery { alerts: vec![name.to_string()], ..base.clone() })?;
        push(hits, &|_| format!("answers alert {name}"));
    }
    let id = target.id.to_string();
    let hits = search(p, SearchQuery { affects: vec![id.clone()], ..base.clone() })?;
    push(hits, &|_| format!("is for {}", target.name));
    let hits = search(p, SearchQuery { entities: vec![id], ..base.clone() })?;
    push(hits, &|_| format!("mentions {}", target.name));
    if !text.is_empty() {
        let hits = search(p, SearchQuery { text: text.to_string(), ..base })?;
        push(hits, &|d| format!("text matches (alerts {})", d.alerts.join(", ")));
    }
    Ok(out)
}

/// Root causes that earlier incidents on the target or its neighbours found
/// in another entity: the symptom is here, the cause was there.
fn known_causes(
    target: &EntityInfo,
    near: &HashMap<String, (Arc<EntityInfo>, u32)>,
    ranked: &[Ranked],
    about_target: Vec<TextDoc>,
    limit: usize,
) -> Vec<KnownCause> {
    let target_id = target.id.to_string();
    // Beyond the top-ranked items, every failure document about the target.
    let mut docs: BTreeMap<String, TextDoc> = about_target.into_iter().map(|d| (d.doc_id.clone(), d)).collect();
    for r in ranked {
        docs.entry(r.doc.doc_id.clone()).or_insert_with(|| r.doc.clone());
    }
    let mut by_cause: BTreeMap<String, Vec<TextDoc>> = BTreeMap::new();
    for d in docs.values() {
        let about_target = d.affects.contains(&target_id) || d.mentions.contains(&target_id);
        if !about_target {
            continue;
        }
        for c in &d.cause_in {
            if *c != target_id && near.contains_key(c) {
                by_cause.entry(c.clone()).or_default().push(d.clone());
            }
        }
    }
    let mut out: Vec<KnownCause> = by_cause
        .into_iter()
        .filter_map(|(cause, mut evidence)| {
            let (info, hops) = near.get(&cause)?;
            evidence.sort_by(|a, b| b.created.cmp(&a.created));
            let direction = if target.relations.iter().any(|(r, id)| r.carries_impact() && *id == info.id) {
                format!("{} it depends on", info.kind.map_or("entity", |k| k.label()))
            } else {
                format!("{} {hops} hop(s) away", info.kind.map_or("entity", |k| k.label()))
            };
            let statement = format!(
                "{} earlier incident(s) on {} named a root cause in {} ({direction}): symptoms on {} were caused there",
                evidence.len(),
                target.name,
                info.name,
                target.name
            );
            evidence.truncate(limit);
            Some(KnownCause { cause: info.clone(), relation: direction, statement, evidence })
        })
        .collect();
    out.sort_by(|a, b| b.evidence.len().cmp(&a.evidence.len()).then(a.cause.id.cmp(&b.cause.id)));
    out.truncate(limit);
    out
}

/// Earlier outcomes of actions on the target (write-back): the same action
/// first (compared after normalisation), then the newest. Retracted ones
/// are never ranked: they are counted, not listed.
fn outcomes(
    p: &Projections,
    target: &EntityInfo,
    action: Option<&str>,
    allowed: &Option<Vec<String>>,
    limit: usize,
) -> Result<(Vec<(TextDoc, bool)>, usize), QueryError> {
    let hits = search(
        p,
        SearchQuery {
            affects: vec![target.id.to_string()],
            kinds: vec![DocKind::Outcome],
            allowed: allowed.clone(),
            limit: 500,
            ..SearchQuery::default()
        },
    )?;
    let wanted = action.map(normalize_action).filter(|a| !a.is_empty());
    let (retracted, kept): (Vec<TextDoc>, Vec<TextDoc>) =
        hits.into_iter().map(|h| h.doc).partition(|d| d.authority.as_deref() == Some("retracted"));
    let mut out: Vec<(TextDoc, bool)> = kept
        .into_iter()
        .map(|d| {
            let same =
                wanted.as_deref().is_some_and(|w| d.action.as_deref().map(normalize_action).as_deref() == Some(w));
            (d, same)
        })
        .collect();
    // Hits come newest first; a stable sort keeps that order within each group.
    out.sort_by_key(|(_, same)| !*same);
    out.truncate(limit);
    Ok((out, retracted.len()))
}

/// How often an alert fired on an entity, and what was done after.
#[derive(Debug, Clone)]
pub struct AlertHistory {
    pub alert: String,
    pub fired_30d: usize,
    pub fired_90d: usize,
    pub last_fired: Option<String>,
    /// Outcomes on the entity that name this alert.
    pub followed_by: Vec<TextDoc>,
}

fn alert_history(
    p: &Projections,
    target: &EntityInfo,
    alert: &str,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    cap: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<AlertHistory, QueryError> {
    let firings = SearchQuery {
        affects: vec![target.id.to_string()],
        alerts: vec![alert.to_string()],
        kinds: vec![DocKind::AlertFiring],
        allowed: allowed.clone(),
        until: cap.map(|c| c.timestamp()),
        limit: 1,
        ..SearchQuery::default()
    };
    let count = |days: i64| -> Result<usize, QueryError> {
        let q = SearchQuery { since: Some((now - chrono::Duration::days(days)).timestamp()), ..firings.clone() };
        p.search().count(&q).map_err(|e| QueryError::Internal(e.to_string()))
    };
    let last_fired = search(p, firings.clone())?.into_iter().next().and_then(|h| h.doc.created);
    let followed_by = search(p, SearchQuery { kinds: vec![DocKind::Outcome], limit, until: None, ..firings.clone() })?
        .into_iter()
        .map(|h| h.doc)
        .filter(|d| d.authority.as_deref() != Some("retracted"))
        .collect();
    Ok(AlertHistory { alert: alert.to_string(), fired_30d: count(30)?, fired_90d: count(90)?, last_fired, followed_by })
}

/// Change windows covering the target or a direct dependency, active now or
/// starting within two weeks.
fn change_windows(
    topo: &Topology,
    target: &Arc<EntityInfo>,
    deps: &[Neighbour],
    now: DateTime<Utc>,
    see: &dyn Fn(&EntityInfo) -> bool,
) -> Vec<ActiveWindow> {
    let mut covered: Vec<&Arc<EntityInfo>> = vec![target];
    covered.extend(deps.iter().map(|d| &d.entity));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for entity in covered {
        for n in topo.neighbours(&entity.id, Direction::Incoming) {
            if n.relation != Relation::Covers || !see(&n.entity) || !seen.insert(n.entity.id.clone()) {
                continue;
            }
            let Some(w) = &n.entity.window else { continue };
            let parse = |t: &Option<String>| t.as_deref().and_then(crate::model::time::parse_time);
            let (start, end) = (parse(&w.start), parse(&w.end));
            let started = start.is_none_or(|s| s <= now);
            let ended = end.is_some_and(|e| e < now);
            let soon = start.is_some_and(|s| s > now && (s - now).num_days() <= 14);
            if (started && !ended) || soon {
                out.push(ActiveWindow {
                    window: n.entity.clone(),
                    active: started && !ended,
                    freeze: w.freeze,
                    start: w.start.clone(),
                    end: w.end.clone(),
                    covers: entity.id.to_string(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_label_values_lose_ports_and_replica_hashes() {
        let vals = |l, v| label_values(l, v).into_iter().map(|(v, _)| v).collect::<Vec<_>>();
        assert_eq!(
            vals("instance", "db-pay-01.prod.internal:9100"),
            vec!["db-pay-01.prod.internal:9100", "db-pay-01.prod.internal", "db-pay-01"]
        );
        assert_eq!(vals("pod", "checkout-api-7d9f8b6c5-x2k4q"), vec!["checkout-api-7d9f8b6c5-x2k4q", "checkout-api"]);
        assert_eq!(strip_replica("redis-shared-0"), "redis-shared");
        assert_eq!(vals("instance", "https://login.shop.example.com/healthz")[1], "login.shop.example.com");
        assert_eq!(strip_replica("checkout-api"), "checkout-api");
        assert_eq!(strip_port("[::1]:9100"), "::1");
        assert_eq!(strip_port("10.20.1.15"), "10.20.1.15");
    }

    #[test]
    fn proximity_dominates_text_and_recency() {
        let affects_target_old_no_words = score(1.0, 0.0, 0.0);
        let neighbour_perfect_words_today = score(0.45, 1.0, 1.0);
        let stranger_perfect_words_today = score(0.0, 1.0, 1.0);
        let mentions_neighbour_old = score(0.4, 0.0, 0.0);
        assert!(affects_target_old_no_words > neighbour_perfect_words_today);
        assert!(mentions_neighbour_old > stranger_perfect_words_today);
    }
}
