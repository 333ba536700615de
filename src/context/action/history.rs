//! What happened before: prior incidents, postmortems and problems ranked
//! by mechanism, the runbooks for the alert, root causes earlier incidents
//! found elsewhere, earlier outcomes of actions on the target, how often
//! the alert fired, and what history says about the proposed action.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::near::Neighbourhood;
use crate::context::QueryError;
use crate::model::{ActionVerb, Alert, DocKind, TextDoc, normalize_action};
use crate::projection::Projections;
use crate::search::{Hit, SearchQuery};
use crate::topology::{EntityInfo, Side};

/// A ranked history item with why it matched.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub doc: TextDoc,
    pub score: f64,
    /// How much the place it is about can explain the symptom (0..1).
    pub place: f64,
    /// The alert's words against it, normalised (0..1).
    pub text: f64,
    /// The action's words against it, normalised (0..1).
    pub action: f64,
    pub recency: f64,
    pub why: Vec<String>,
}

/// The ranking score of a prior incident:
///
/// `score = place × (0.45 + 0.55 × text) + 0.10 × action + 0.05 × recency`
///
/// - place: how much what the document is about can explain a symptom on
///   the target: the target itself 1.0; a dependency 0.85, 0.7, 0.55 at one,
///   two, three hops; a dependent 0.6, 0.4, 0.3 (it explains load, not
///   failure); ×0.85 when the document only mentions it; a root cause named
///   in a place counts as being about it; 0.12 for a document about none of
///   them. Shared Systems and owners are not places.
/// - text: BM25 of the alert's name, summary and description against the
///   document, divided by the best among the candidates (0..1): the symptom.
/// - action: the same for the proposed action (0..1).
/// - recency: `exp(−age / 365 days)`.
///
/// The symptom's words scale the place rather than add to it: a dependency's
/// incident that describes this symptom (0.85 × 1.0) outranks the target's
/// own unrelated incident (1.0 × 0.45), and a document about no place never
/// outranks one about the target or a dependency (0.12 + 0.15 < 0.45 × 0.55).
pub fn score(place: f64, text: f64, action: f64, recency: f64) -> f64 {
    place * (0.45 + 0.55 * text) + 0.10 * action + 0.05 * recency
}

/// A document about no place of the neighbourhood.
const STRANGER: f64 = 0.12;

fn recency(doc: &TextDoc, now: DateTime<Utc>) -> (f64, Option<i64>) {
    let when = doc.created.as_deref().or(doc.updated.as_deref()).and_then(crate::model::time::parse_time);
    match when {
        Some(t) => {
            let days = crate::model::time::days_between(t, now);
            ((-(days as f64) / 365.0).exp(), Some(days))
        }
        None => (0.0, None),
    }
}

pub(super) fn search(p: &Projections, q: SearchQuery) -> Result<Vec<Hit>, QueryError> {
    p.search().search(&q).map_err(|e| QueryError::Internal(e.to_string()))
}

pub const FAILURE_KINDS: [DocKind; 3] = [DocKind::Incident, DocKind::Postmortem, DocKind::Problem];

/// Prior incidents, best first; and every failure document about the
/// target itself (for known causes).
#[allow(clippy::too_many_arguments)]
pub fn rank_incidents(
    p: &Projections,
    near: &Neighbourhood,
    symptom: &str,
    action: &str,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<Ranked>, Vec<TextDoc>), QueryError> {
    let target_id = near.target.id.to_string();
    // No time filter in the query: it would drop undated documents. What
    // is dated after the question's time is dropped below.
    let base = SearchQuery { kinds: FAILURE_KINDS.to_vec(), allowed: allowed.clone(), ..SearchQuery::default() };
    let around = near.ids();
    // Every failure document about the target (known causes); those about
    // the neighbourhood, newest first; the same scored by the symptom's and
    // the action's words; and the best word matches anywhere.
    let mut queries = vec![
        SearchQuery { entities: vec![target_id.clone()], limit: 200, ..base.clone() },
        SearchQuery { entities: around.clone(), limit: 300, ..base.clone() },
    ];
    for words in [symptom, action] {
        if !words.is_empty() {
            queries.push(SearchQuery { text: words.to_string(), entities: around.clone(), limit: 300, ..base.clone() });
            queries.push(SearchQuery { text: words.to_string(), limit: 20, ..base.clone() });
        }
    }
    let mut answers = p.search().search_many(&queries).map_err(|e| QueryError::Internal(e.to_string()))?.into_iter();
    let about_target: Vec<TextDoc> = answers.next().unwrap_or_default().into_iter().map(|h| h.doc).collect();
    let mut candidates: BTreeMap<String, TextDoc> = BTreeMap::new();
    let mut bm25: [HashMap<String, f32>; 2] = [HashMap::new(), HashMap::new()];
    for h in answers.next().unwrap_or_default() {
        candidates.entry(h.doc.doc_id.clone()).or_insert(h.doc);
    }
    for (i, words) in [symptom, action].into_iter().enumerate() {
        if words.is_empty() {
            continue;
        }
        for h in answers.next().unwrap_or_default().into_iter().chain(answers.next().unwrap_or_default()) {
            let s = bm25[i].entry(h.doc.doc_id.clone()).or_insert(0.0);
            *s = s.max(h.score);
            candidates.entry(h.doc.doc_id.clone()).or_insert(h.doc);
        }
    }
    let best: Vec<f32> = bm25.iter().map(|m| m.values().copied().fold(0.0f32, f32::max)).collect();
    let norm = |i: usize, id: &str| -> f64 {
        match bm25[i].get(id) {
            Some(s) if best[i] > 0.0 => f64::from(s / best[i]),
            _ => 0.0,
        }
    };
    let after = |d: &TextDoc| d.created.as_deref().and_then(crate::model::time::parse_time).is_some_and(|c| c > now);
    let mut ranked: Vec<Ranked> = candidates
        .into_values()
        .filter(|doc| !after(doc))
        .map(|doc| {
            let (place, mut why) = match near.best_place(&doc) {
                Some((place, link, w)) => {
                    let about = if place.side.is_none() {
                        format!("{} {}", link.verb(), place.entity.id)
                    } else {
                        format!("{} {} ({}: {})", link.verb(), place.entity.name, place.relation(), place.path)
                    };
                    (w, vec![about])
                }
                None => (STRANGER, vec!["about nothing near the target; shares words".to_string()]),
            };
            let (text, action_match) = (norm(0, &doc.doc_id), norm(1, &doc.doc_id));
            let (rec, days) = recency(&doc, now);
            if let Some(d) = days {
                why.push(format!("{d} days before"));
            }
            Ranked {
                score: score(place, text, action_match, rec),
                place,
                text,
                action: action_match,
                recency: rec,
                why,
                doc,
            }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.doc.doc_id.cmp(&b.doc.doc_id)));
    ranked.truncate(limit);
    // Matched words only for what is shown: finding them means analysing
    // a document's whole text.
    let words = p.search().words(&format!("{symptom} {action}"));
    for r in &mut ranked {
        if r.text > 0.0 || r.action > 0.0 {
            let terms = p.search().matched(&words, &r.doc);
            if !terms.is_empty() {
                r.why.insert(1, format!("text matches {}", terms.join(", ")));
            }
        }
    }
    Ok((ranked, about_target))
}

/// Runbooks: for the alert by name first, then for the entity, then by text.
pub fn runbooks(
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

/// A root cause earlier incidents found in another entity.
#[derive(Debug, Clone)]
pub struct KnownCause {
    pub cause: Arc<EntityInfo>,
    /// How the cause relates to the target ("cache it depends on").
    pub relation: String,
    pub statement: String,
    pub evidence: Vec<TextDoc>,
}

/// Root causes that earlier incidents on the target found in something it
/// depends on: the symptom is here, the cause was there.
pub fn known_causes(
    near: &Neighbourhood,
    ranked: &[Ranked],
    about_target: Vec<TextDoc>,
    limit: usize,
) -> Vec<KnownCause> {
    let target = &near.target;
    let target_id = target.id.to_string();
    // Beyond the top-ranked items, every failure document about the target.
    let mut docs: BTreeMap<String, TextDoc> = about_target.into_iter().map(|d| (d.doc_id.clone(), d)).collect();
    for r in ranked {
        docs.entry(r.doc.doc_id.clone()).or_insert_with(|| r.doc.clone());
    }
    let mut by_cause: BTreeMap<String, Vec<TextDoc>> = BTreeMap::new();
    for d in docs.values() {
        if !(d.affects.contains(&target_id) || d.mentions.contains(&target_id)) {
            continue;
        }
        for c in &d.cause_in {
            if *c != target_id && near.get(c).is_some() {
                by_cause.entry(c.clone()).or_default().push(d.clone());
            }
        }
    }
    let mut out: Vec<KnownCause> = by_cause
        .into_iter()
        .filter_map(|(cause, mut evidence)| {
            let place = near.get(&cause)?;
            evidence.sort_by(|a, b| b.created.cmp(&a.created));
            let kind = place.entity.kind.map_or("entity", |k| k.label());
            let relation = match (place.side, place.hops) {
                (Some(Side::Dependency), 1) => format!("{kind} it depends on"),
                (Some(Side::Dependency), h) => format!("{kind} it depends on, {h} hops down ({})", place.path),
                (Some(Side::Dependent), h) => format!("{kind} that depends on it, {h} hop(s) up ({})", place.path),
                (None, _) => kind.to_string(),
            };
            let statement = format!(
                "{} earlier incident(s) on {} named a root cause in {} ({relation}): symptoms on {} were caused there",
                evidence.len(),
                target.name,
                place.entity.name,
                target.name
            );
            evidence.truncate(limit);
            Some(KnownCause { cause: place.entity.clone(), relation, statement, evidence })
        })
        .collect();
    out.sort_by(|a, b| b.evidence.len().cmp(&a.evidence.len()).then(a.cause.id.cmp(&b.cause.id)));
    out.truncate(limit);
    out
}

/// Earlier outcomes of actions on the target (write-back): the same action
/// first (compared after normalisation), then the newest. Retracted ones
/// are never ranked: they are counted, not listed.
pub fn outcomes(
    p: &Projections,
    target: &EntityInfo,
    action: Option<&str>,
    allowed: &Option<Vec<String>>,
    now: Option<DateTime<Utc>>,
    limit: usize,
) -> Result<(Vec<(TextDoc, bool)>, usize), QueryError> {
    let hits = search(
        p,
        SearchQuery {
            affects: vec![target.id.to_string()],
            kinds: vec![DocKind::Outcome],
            allowed: allowed.clone(),
            until: now.map(|n| n.timestamp()),
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

pub fn alert_history(
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

/// What history says about the proposed action: an earlier outcome of it
/// that failed, or a sentence of an incident, postmortem or runbook that
/// says it did not help or made things worse.
#[derive(Debug, Clone)]
pub struct ActionNote {
    pub statement: String,
    pub doc: TextDoc,
}

/// Words that say an action did not help.
const DID_NOT_HELP: &[&str] = &[
    "did not help",
    "didn't help",
    "does not help",
    "doesn't help",
    "not help",
    "no effect",
    "made it worse",
    "made things worse",
    "makes it worse",
    "made the problem worse",
    "worse",
    "backfired",
    "amplified",
    "did not fix",
    "didn't fix",
    "does not fix",
    "only cost time",
    "cost time",
    "wasted",
    "useless",
    "not a fix",
    "instead",
    "do not",
    "don't",
    "never",
];

/// Notes on the proposed action from the documents shown and the outcomes.
pub fn action_notes(action: &str, docs: &[&TextDoc], outcomes: &[(TextDoc, bool)], limit: usize) -> Vec<ActionNote> {
    let verbs: Vec<ActionVerb> = crate::model::policy::verbs_in(action);
    let mut out: Vec<ActionNote> = Vec::new();
    for (d, same) in outcomes {
        if *same && matches!(d.result.as_deref(), Some("failure" | "partial" | "aborted")) {
            let when = d.created.as_deref().map(|c| format!(" on {}", &c[..c.len().min(10)])).unwrap_or_default();
            out.push(ActionNote {
                statement: format!(
                    "\"{}\" was tried before{when} and ended in {}: {}",
                    d.action.as_deref().unwrap_or(action),
                    d.result.as_deref().unwrap_or("failure"),
                    d.summary
                ),
                doc: d.clone(),
            });
        }
    }
    if verbs.is_empty() {
        out.truncate(limit);
        return out;
    }
    for d in docs {
        let text = format!("{}\n{}\n{}\n{}", d.resolution, d.mitigation, d.lessons, d.body);
        for sentence in crate::model::policy::sentences(&text) {
            let lower = sentence.to_lowercase();
            let about_action = crate::model::policy::verbs_in(&sentence).iter().any(|v| verbs.contains(v));
            if about_action && DID_NOT_HELP.iter().any(|c| lower.contains(c)) {
                if !out.iter().any(|n| n.doc.doc_id == d.doc_id) {
                    let statement: String = sentence.chars().take(300).collect();
                    out.push(ActionNote { statement, doc: (*d).clone() });
                }
                break;
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_symptom_scales_the_place() {
        let own_unrelated = score(1.0, 0.0, 0.0, 1.0);
        let dependency_same_symptom = score(0.85, 1.0, 0.0, 0.0);
        let two_hops_same_symptom = score(0.7, 1.0, 0.0, 0.0);
        let stranger_perfect = score(STRANGER, 1.0, 1.0, 1.0);
        let own_weak_words = score(1.0, 0.1, 0.0, 0.0);
        assert!(dependency_same_symptom > own_unrelated);
        assert!(two_hops_same_symptom > own_unrelated);
        assert!(
            own_weak_words > stranger_perfect,
            "a word match on a stranger never outranks the target's own history"
        );
    }

    #[test]
    fn history_that_says_the_action_did_not_help() {
        let doc = TextDoc {
            doc_id: "jira:X-1".into(),
            resolution: "We scaled the web tier out first, which made things worse: more connections to the cache. Lowering the TTL fixed it.".into(),
            ..TextDoc::default()
        };
        let notes = action_notes("scale out web from 6 to 14 pods", &[&doc], &[], 5);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].statement.contains("made things worse"), "{}", notes[0].statement);
        assert!(action_notes("restart web", &[&doc], &[], 5).is_empty(), "another action");
    }
}
