//! Policies that govern the proposed action: policy documents, freezes and
//! change windows, and the rules runbooks and pages state about the
//! target. Each is matched to the target and what contains it (its system
//! and domain, its owner), or by the tiers, environments or kinds its words
//! name, and to the action's verbs; each says the clause that applies and
//! whether it is in force at the alert's time.
//!
//! Score: `governs × in_force × scope`, where governs is 1 when the rule
//! governs the proposed action (or no action was given) and 0.5 otherwise;
//! in_force is 1 in force, 0.6 when it starts within two weeks; scope is 1
//! for the target itself, 0.9 for what contains it, 0.8 for a tier,
//! environment or kind, 0.7 for everything; a rule found in a runbook or a
//! page weighs 0.9 of one in a policy, in a ticket 0.8.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use petgraph::Direction;

use super::history::search;
use crate::context::QueryError;
use crate::model::policy::{Range, Rule, RuleKind, rules_in, scope_words, time_ranges};
use crate::model::{ActionVerb, DocKind, EntityKind, Relation, TextDoc};
use crate::projection::Projections;
use crate::search::SearchQuery;
use crate::topology::{EntityInfo, Topology};

/// A rule that applies to acting on the target.
#[derive(Debug, Clone)]
pub struct PolicyItem {
    /// The document that states it (a policy, a runbook, a page), or none
    /// for a freeze window declared as an entity.
    pub doc: Option<TextDoc>,
    pub window: Option<Arc<EntityInfo>>,
    pub title: String,
    pub kind: RuleKind,
    pub clause: String,
    /// What brings the target under it ("covers payment-gateway", "its
    /// system booking", "tier 0", "every service").
    pub scope: String,
    pub in_force: bool,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Whether it governs the proposed action.
    pub governs_action: bool,
    pub score: f64,
}

/// What contains the target: its system, that system's domain, its owner.
fn containers(topo: &Topology, target: &EntityInfo) -> Vec<Arc<EntityInfo>> {
    let mut out: Vec<Arc<EntityInfo>> = Vec::new();
    for (rel, id) in &target.relations {
        if matches!(rel, Relation::PartOf | Relation::OwnedBy)
            && let Some(e) = topo.get(id)
            && matches!(e.kind, Some(EntityKind::System | EntityKind::Domain | EntityKind::Team))
        {
            for (rel2, id2) in &e.relations {
                if *rel2 == Relation::PartOf
                    && let Some(d) = topo.get(id2).filter(|d| d.kind == Some(EntityKind::Domain))
                {
                    out.push(d);
                }
            }
            out.push(e);
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// What the question is about, for matching rules: the target, what
/// contains it, and the entities the proposed action names ("flush
/// pricing-kv" acts on pricing-kv).
struct Subjects<'a> {
    target: &'a EntityInfo,
    containers: Vec<Arc<EntityInfo>>,
    acted_on: Vec<Arc<EntityInfo>>,
}

impl Subjects<'_> {
    fn ids(&self) -> Vec<String> {
        let mut ids = vec![self.target.id.to_string()];
        ids.extend(self.containers.iter().chain(&self.acted_on).map(|e| e.id.to_string()));
        ids
    }
}

/// How a document's entities or words bring the question under it, with
/// the scope weight; `None` when they do not. What a document affects (its
/// source names it) weighs more than what it only mentions.
fn scope_of(doc: &TextDoc, s: &Subjects<'_>) -> Option<(String, f64)> {
    let target = s.target;
    let affects = |id: &String| doc.affects.contains(id);
    let mentions = |id: &String| doc.mentions.contains(id) || doc.cause_in.contains(id);
    let target_id = target.id.to_string();
    if affects(&target_id) {
        return Some((format!("covers {}", target.name), 1.0));
    }
    if let Some(e) = s.acted_on.iter().find(|e| affects(&e.id.to_string())) {
        return Some((format!("covers {}, which the action names", e.name), 1.0));
    }
    if let Some(c) = s.containers.iter().find(|c| affects(&c.id.to_string())) {
        let what = c.kind.map_or("group", |k| k.label());
        return Some((format!("covers its {what} {}", c.name), 0.9));
    }
    // A policy states its scope in words; elsewhere a mention is weaker.
    let named = if doc.kind == Some(DocKind::Policy) { 0.95 } else { 0.8 };
    if mentions(&target_id) {
        return Some((format!("names {}", target.name), named));
    }
    if let Some(e) = s.acted_on.iter().find(|e| mentions(&e.id.to_string())) {
        return Some((format!("names {}, which the action names", e.name), named));
    }
    if let Some(c) = s.containers.iter().find(|c| mentions(&c.id.to_string())) {
        let what = c.kind.map_or("group", |k| k.label());
        return Some((format!("names its {what} {}", c.name), 0.75));
    }
    // A rule that names other entities is about them.
    if !doc.affects.is_empty() {
        return None;
    }
    let words = scope_words(&format!("{}\n{}", doc.title, doc.body));
    if words.is_empty() {
        return None;
    }
    let tier = target.tier.is_some_and(|t| words.tiers.contains(&t));
    let env = target.environment.as_ref().is_some_and(|e| words.environments.iter().any(|w| w.eq_ignore_ascii_case(e)));
    let kind = target.kind.is_some_and(|k| words.kinds.iter().any(|w| w == k.label()));
    let constrained = !words.tiers.is_empty() || !words.environments.is_empty() || !words.kinds.is_empty();
    if constrained {
        let all = (words.tiers.is_empty() || tier)
            && (words.environments.is_empty() || env)
            && (words.kinds.is_empty() || kind);
        return all.then(|| {
            let mut parts = Vec::new();
            if tier {
                parts.push(format!("tier {}", target.tier.unwrap_or_default()));
            }
            if env {
                parts.push(target.environment.clone().unwrap_or_default());
            }
            if kind {
                parts.push(format!("every {}", target.kind.map_or("entity", |k| k.label())));
            }
            (format!("covers {}", parts.join(", ")), 0.8)
        });
    }
    words.everything.then(|| ("covers everything".to_string(), 0.7))
}

/// Whether a rule with these periods is in force at `now` (the period it
/// is in), starts within two weeks (the next one), or neither. A rule that
/// states no period is always in force.
fn in_force(ranges: &[Range], now: DateTime<Utc>) -> Option<(bool, f64, Range)> {
    if ranges.is_empty() {
        return Some((true, 1.0, (None, None)));
    }
    if let Some(r) = ranges.iter().find(|(s, e)| s.is_none_or(|s| s <= now) && e.is_none_or(|e| e >= now)) {
        return Some((true, 1.0, *r));
    }
    ranges
        .iter()
        .filter(|(s, _)| s.is_some_and(|s| s > now && s - now <= Duration::days(14)))
        .min_by_key(|(s, _)| *s)
        .map(|r| (false, 0.6, *r))
}

/// The rules of a document, or one made of its title when it is a policy
/// whose sentences state none plainly. A rule in a runbook that names no
/// verb is about the runbook's procedure: it takes the verbs of its title
/// ("Runbook: database failover" → fail over).
fn rules_of(doc: &TextDoc) -> Vec<Rule> {
    // The body states the rule; the title only names it.
    let mut rules = rules_in(&doc.body);
    rules.extend(rules_in(&doc.title));
    if doc.kind != Some(DocKind::Policy) {
        let procedure = crate::model::policy::verbs_in(&doc.title);
        for r in rules.iter_mut().filter(|r| r.verbs.is_empty() && r.kind != RuleKind::Freeze) {
            r.verbs.clone_from(&procedure);
        }
    }
    if rules.is_empty() && doc.kind == Some(DocKind::Policy) {
        rules.push(Rule {
            kind: RuleKind::Forbid,
            clause: doc.title.clone(),
            verbs: crate::model::policy::verbs_in(&doc.title),
        });
    }
    rules
}

/// Policies and rules that apply to acting on the target, best first.
#[allow(clippy::too_many_arguments)]
pub fn policies(
    p: &Projections,
    topo: &Topology,
    target: &Arc<EntityInfo>,
    action: Option<&str>,
    alert_name: Option<&str>,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    see: &dyn Fn(&EntityInfo) -> bool,
    named_in: &dyn Fn(&str) -> Vec<crate::model::EntityId>,
    limit: usize,
) -> Result<Vec<PolicyItem>, QueryError> {
    let verbs: Vec<ActionVerb> = action.map(crate::model::policy::verbs_in).unwrap_or_default();
    let visible_named = |text: &str| -> Vec<Arc<EntityInfo>> {
        named_in(text).iter().filter_map(|id| topo.get(id)).filter(|e| see(e)).collect()
    };
    let subjects = Subjects {
        target,
        containers: containers(topo, target).into_iter().filter(|c| see(c)).collect(),
        acted_on: action.map(visible_named).unwrap_or_default().into_iter().filter(|e| e.id != target.id).collect(),
    };
    let ours = subjects.ids();
    let mut out: Vec<PolicyItem> = Vec::new();
    let consider = |doc: &TextDoc, source_weight: f64, out: &mut Vec<PolicyItem>| {
        let Some((scope, scope_weight)) = scope_of(doc, &subjects) else { return };
        let text = format!("{}\n{}", doc.title, doc.body);
        let Some((force, force_weight, (start, end))) = in_force(&time_ranges(&text), now) else { return };
        for rule in rules_of(doc) {
            // A rule in a runbook or a page that names other entities, and
            // none of ours, is about them.
            if doc.kind != Some(DocKind::Policy) {
                let names = named_in(&rule.clause);
                if !names.is_empty() && !names.iter().any(|n| ours.contains(&n.to_string())) {
                    continue;
                }
            }
            let governs = action.is_none() || rule.governs(&verbs);
            // A rule that names the action's verb says more than one on
            // every change.
            let specific = if governs && !rule.verbs.is_empty() && action.is_some() { 0.05 } else { 0.0 };
            let score = (if governs { 1.0 } else { 0.5 } + specific) * force_weight * scope_weight * source_weight;
            out.push(PolicyItem {
                doc: Some(doc.clone()),
                window: None,
                title: doc.title.clone(),
                kind: rule.kind,
                clause: rule.clause,
                scope: scope.clone(),
                in_force: force,
                start,
                end,
                governs_action: action.is_some() && governs,
                score,
            });
        }
    };
    // Policy documents (few: all of them are read).
    // No time filter in the queries (undated documents would be dropped);
    // a rule written after the question's time does not exist yet.
    let written_after =
        |d: &TextDoc| d.created.as_deref().and_then(crate::model::time::parse_time).is_some_and(|c| c > now);
    let base = SearchQuery { allowed: allowed.clone(), ..SearchQuery::default() };
    for hit in search(p, SearchQuery { kinds: vec![DocKind::Policy], limit: 1_000, ..base.clone() })? {
        if !written_after(&hit.doc) {
            consider(&hit.doc, 1.0, &mut out);
        }
    }
    // Rules runbooks and pages state about the target or its alert.
    let ids = subjects.ids();
    // (Tickets too: a rule agreed in a ticket nobody labelled a policy.)
    let kinds = vec![DocKind::Runbook, DocKind::Page, DocKind::Ticket];
    let mut about = search(p, SearchQuery { kinds: kinds.clone(), entities: ids, limit: 200, ..base.clone() })?;
    if let Some(name) = alert_name {
        about.extend(search(p, SearchQuery { kinds, alerts: vec![name.to_string()], limit: 50, ..base })?);
    }
    for hit in about {
        let weight = if hit.doc.kind == Some(DocKind::Ticket) { 0.8 } else { 0.9 };
        if !written_after(&hit.doc) && !out.iter().any(|i| i.doc.as_ref().is_some_and(|d| d.doc_id == hit.doc.doc_id)) {
            consider(&hit.doc, weight, &mut out);
        }
    }
    // Windows that arrive as change events (a CDEvents change window, a
    // freeze recorded as a change of type policy) over the target or what
    // contains it: their own start and end are their period.
    let windows = SearchQuery {
        kinds: vec![DocKind::Change],
        entities: subjects.ids(),
        limit: 200,
        ..SearchQuery { allowed: allowed.clone(), ..SearchQuery::default() }
    };
    for hit in search(p, windows)? {
        let doc = hit.doc;
        let Some(c) = doc.change.as_ref().filter(|c| c.change_type == crate::model::ChangeType::Policy) else {
            continue;
        };
        let Some((scope, scope_weight)) = scope_of(&doc, &subjects) else { continue };
        let Some((force, force_weight, (start, end))) = in_force(&[(c.start, c.end)], now) else { continue };
        let rule = rules_of(&doc).into_iter().next().unwrap_or(Rule {
            kind: RuleKind::Freeze,
            clause: doc.title.clone(),
            verbs: Vec::new(),
        });
        let governs = action.is_none() || rule.governs(&verbs);
        out.push(PolicyItem {
            title: doc.title.clone(),
            kind: rule.kind,
            clause: rule.clause,
            scope,
            in_force: force,
            start,
            end,
            governs_action: action.is_some() && governs,
            score: if governs { 1.0 } else { 0.5 } * force_weight * scope_weight,
            window: None,
            doc: Some(doc),
        });
    }
    // Freezes declared as change windows over the target.
    for n in topo.neighbours(&target.id, Direction::Incoming) {
        let Some(w) = n.entity.window.as_ref().filter(|w| w.freeze) else { continue };
        if n.relation != Relation::Covers || !see(&n.entity) {
            continue;
        }
        let parse = |t: &Option<String>| t.as_deref().and_then(crate::model::time::parse_time);
        let (start, end) = (parse(&w.start), parse(&w.end));
        let Some((force, force_weight, _)) = in_force(&[(start, end)], now) else { continue };
        out.push(PolicyItem {
            doc: None,
            window: Some(n.entity.clone()),
            title: n.entity.title.clone().unwrap_or_else(|| n.entity.name.clone()),
            kind: RuleKind::Freeze,
            clause: n.entity.description.clone().unwrap_or_else(|| format!("change freeze {}", n.entity.name)),
            scope: format!("covers {}", target.name),
            in_force: force,
            start,
            end,
            governs_action: action.is_some(),
            score: force_weight,
        });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.title.cmp(&b.title)));
    // One item per document: its best rule.
    let mut seen = std::collections::HashSet::new();
    out.retain(|i| {
        let key = i.doc.as_ref().map(|d| d.doc_id.clone()).or_else(|| i.window.as_ref().map(|w| w.id.to_string()));
        key.is_none_or(|k| seen.insert(k))
    });
    out.truncate(limit);
    Ok(out)
}
