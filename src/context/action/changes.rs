//! Suspects: changes made around the target shortly before the alert (or
//! still going on, or about to start), and alerts firing on its neighbours
//! at the time of the question. Each comes with the path from the target,
//! its time relative to the alert, and why it is listed.
//!
//! A change is scored `place × timing × status + 0.1 × text`:
//! - place: how much its entity can explain the symptom (see [`Place::weight`]);
//! - timing: `0.15 + 0.85 · exp(−Δ / 48 h)` for a change that started Δ
//!   before the alert (1 while it is in progress; a recurring job counts
//!   from its last run, at 0.7 once it is older than the look-back; a
//!   planned change starting within a day counts half);
//! - status: done, in progress or failed 1.0; rolled back 0.7; a ticket
//!   no rule recognised as a change 0.5 (it may record one in words FFO
//!   does not know: listed, below the changes);
//! - text: the alert's words against the change, normalised (0..1).
//!
//! A change after the question's time does not exist yet (`as_of`), and
//! one older than the look-back is not a suspect unless it recurs.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::near::{Neighbourhood, Place};
use crate::context::QueryError;
use crate::model::{ChangeStatus, DocKind, TextDoc};
use crate::projection::Projections;
use crate::search::SearchQuery;

/// A change or an alert that may explain the symptom.
#[derive(Debug, Clone)]
pub struct Suspect {
    pub doc: TextDoc,
    /// The place it is on.
    pub place: Place,
    /// When, relative to the alert: "started 11 min before", "in progress".
    pub when: String,
    pub score: f64,
    pub why: Vec<String>,
}

/// How far back changes are suspects by default.
pub const DEFAULT_LOOKBACK_DAYS: i64 = 7;

/// When a change happened relative to `now`, and how much that counts.
struct Timing {
    when: String,
    weight: f64,
}

fn decay(since: Duration) -> f64 {
    let hours = since.num_minutes().max(0) as f64 / 60.0;
    0.15 + 0.85 * (-hours / 48.0).exp()
}

/// "11 min", "3 h", "2 days".
pub fn span(d: Duration) -> String {
    let minutes = d.num_minutes().abs();
    if minutes < 90 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{} h", (minutes + 30) / 60)
    } else {
        format!("{} days", (minutes + 12 * 60) / (24 * 60))
    }
}

fn timing(doc: &TextDoc, now: DateTime<Utc>, lookback: Duration) -> Option<Timing> {
    let created = doc.created.as_deref().and_then(crate::model::time::parse_time);
    if doc.change.is_none() && doc.kind == Some(DocKind::Ticket) {
        // A ticket's latest activity before the alert (opened, worked on,
        // closed) is when whatever it records was done, as near as FFO can tell.
        let parse = |t: &Option<String>| t.as_deref().and_then(crate::model::time::parse_time);
        let last =
            [created, parse(&doc.updated), parse(&doc.resolved)].into_iter().flatten().filter(|t| *t <= now).max()?;
        let since = now - last;
        return (since <= lookback)
            .then(|| Timing { when: format!("ticket last active {} before", span(since)), weight: decay(since) });
    }
    let fields = doc.change.as_ref();
    let start = fields.and_then(|c| c.start).or(created);
    let end = fields.and_then(|c| c.end);
    if let Some(schedule) = fields.and_then(|c| c.schedule.as_ref())
        && start.is_none_or(|s| s <= now)
        && let Some(last) = schedule.last_run_at_or_before(now).filter(|l| start.is_none_or(|s| *l >= s))
    {
        let since = now - last;
        let text = &schedule.text;
        let novel = start.is_some_and(|s| now - s <= lookback);
        let first = start.map(|s| format!(", first run {} before", span(now - s))).unwrap_or_default();
        // A job that runs often has always "just run": its last run says
        // nothing, when it began to run does. A nightly job that ran minutes
        // before the alert does say something.
        let since_first = start.map_or(0.3, |s| decay(now - s));
        let weight = if schedule.every.period() <= Duration::hours(1) {
            since_first
        } else {
            (decay(since) * if novel { 1.0 } else { 0.7 }).max(since_first)
        };
        return Some(Timing { when: format!("last ran {} before ({text}){first}", span(since)), weight });
    }
    let start = start?;
    if start > now {
        // Only a change still to come is planned; a record of one done
        // after the question's time is not a suspect yet.
        let planned = fields.is_none_or(|c| matches!(c.status, ChangeStatus::Planned | ChangeStatus::InProgress));
        let ahead = start - now;
        return (planned && ahead <= Duration::days(1))
            .then(|| Timing { when: format!("planned to start in {}", span(ahead)), weight: 0.5 * decay(ahead) });
    }
    if end.is_some_and(|e| e >= now) {
        return Some(Timing { when: format!("in progress, started {} before", span(now - start)), weight: 1.0 });
    }
    let since = now - start;
    if since > lookback {
        return None;
    }
    let ended = end.map(|e| format!(", ended {} before", span(now - e))).unwrap_or_default();
    Some(Timing { when: format!("started {} before{ended}", span(since)), weight: decay(since) })
}

fn status_weight(doc: &TextDoc) -> f64 {
    match (doc.kind, doc.change.as_ref().map(|c| c.status)) {
        // A ticket no rule recognised as a change: it may record one in
        // words FFO does not know, so it is listed, below the changes.
        (Some(DocKind::Ticket), _) => TICKET,
        (_, Some(ChangeStatus::RolledBack)) => 0.7,
        _ => 1.0,
    }
}

/// How much a plain ticket on the neighbourhood counts against a change.
const TICKET: f64 = 0.5;

/// Changes on the target and its neighbourhood, best first.
pub fn rank_changes(
    p: &Projections,
    near: &Neighbourhood,
    text: &str,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    lookback: Duration,
    limit: usize,
) -> Result<Vec<Suspect>, QueryError> {
    let base = SearchQuery {
        kinds: vec![DocKind::Change, DocKind::Ticket],
        entities: near.ids(),
        allowed: allowed.clone(),
        // A recurring job can be older than the look-back; a change after
        // the question's time is not a suspect yet, unless it is planned
        // to start within a day.
        until: Some((now + Duration::days(1)).timestamp()),
        limit: 1_000,
        ..SearchQuery::default()
    };
    let mut queries = vec![base.clone()];
    if !text.is_empty() {
        queries.push(SearchQuery { text: text.to_string(), ..base });
    }
    let mut answers = p.search().search_many(&queries).map_err(|e| QueryError::Internal(e.to_string()))?.into_iter();
    let candidates = answers.next().unwrap_or_default();
    let bm25: HashMap<String, f32> =
        answers.next().unwrap_or_default().into_iter().map(|h| (h.doc.doc_id.clone(), h.score)).collect();
    let best = bm25.values().copied().fold(0.0f32, f32::max);
    let words = p.search().words(text);
    let mut out: Vec<Suspect> = Vec::new();
    for hit in candidates {
        let doc = hit.doc;
        let Some((place, link, place_weight)) = near.changed_place(&doc) else { continue };
        let Some(t) = timing(&doc, now, lookback) else { continue };
        let text_score = match bm25.get(&doc.doc_id) {
            Some(s) if best > 0.0 => f64::from(s / best),
            _ => 0.0,
        };
        let score = place_weight * t.weight * status_weight(&doc) + 0.1 * text_score;
        let mut why = vec![format!("{} {} ({})", link.verb(), place.entity.name, place.relation())];
        if let Some(c) = &doc.change {
            why.push(format!("{} change, {}", c.change_type, c.status));
        }
        if text_score > 0.0 {
            let matched = p.search().matched(&words, &doc);
            if !matched.is_empty() {
                why.push(format!("text matches {}", matched.join(", ")));
            }
        }
        out.push(Suspect { place: place.clone(), when: t.when, score, why, doc });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.doc.doc_id.cmp(&b.doc.doc_id)));
    out.truncate(limit);
    Ok(out)
}

/// Alerts firing on the neighbourhood at `now` (other than the one asked
/// about), those on the nearest places and starting closest before the
/// alert first.
pub fn active_alerts(
    p: &Projections,
    near: &Neighbourhood,
    asked: Option<&crate::model::Alert>,
    allowed: &Option<Vec<String>>,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<Suspect>, QueryError> {
    let q = SearchQuery {
        kinds: vec![DocKind::AlertFiring],
        entities: near.ids(),
        allowed: allowed.clone(),
        since: Some((now - Duration::days(30)).timestamp()),
        until: Some((now + Duration::minutes(5)).timestamp()),
        limit: 1_000,
        ..SearchQuery::default()
    };
    let hits = p.search().search(&q).map_err(|e| QueryError::Internal(e.to_string()))?;
    let asked_fingerprint = asked.map(|a| a.fingerprint());
    let asked_name = asked.and_then(|a| a.name().map(str::to_string));
    let mut out = Vec::new();
    for hit in hits {
        let doc = hit.doc;
        if doc.status.as_deref() == Some("resolved") {
            continue;
        }
        if doc.resolved.as_deref().and_then(crate::model::time::parse_time).is_some_and(|r| r < now) {
            continue;
        }
        let Some((place, link, weight)) = near.best_place(&doc) else { continue };
        let same_alert = asked_fingerprint.as_deref().is_some_and(|f| doc.doc_id.contains(f))
            || (place.side.is_none() && asked_name.as_ref().is_some_and(|n| doc.alerts.contains(n)));
        if same_alert {
            continue;
        }
        let Some(started) = doc.created.as_deref().and_then(crate::model::time::parse_time) else { continue };
        let when = if started <= now {
            format!("firing since {} before", span(now - started))
        } else {
            format!("firing since {} after", span(started - now))
        };
        let score = weight * decay((now - started).abs());
        let why = vec![format!("{} {} ({})", link.verb(), place.entity.name, place.relation())];
        out.push(Suspect { place: place.clone(), when, score, why, doc });
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.doc.doc_id.cmp(&b.doc.doc_id)));
    out.truncate(limit);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::model::time::parse_time(s).unwrap()
    }

    #[test]
    fn timing_reads_time_relative_to_the_alert() {
        use crate::model::{Every, Schedule};
        let now = at("2031-03-05T02:11:00Z");
        let week = Duration::days(7);
        let doc = |start: &str, end: Option<&str>, schedule: Option<Every>| TextDoc {
            change: Some(crate::model::ChangeFields {
                change_type: crate::model::ChangeType::Config,
                status: ChangeStatus::Done,
                start: Some(at(start)),
                end: end.map(at),
                schedule: schedule.map(|every| Schedule { every, text: "nightly".into() }),
                risk: None,
                by: None,
                revision: None,
                environment: None,
            }),
            ..TextDoc::default()
        };
        let t = timing(&doc("2031-03-05T02:00:00Z", None, None), now, week).unwrap();
        assert_eq!(t.when, "started 11 min before");
        let t = timing(&doc("2031-03-05T01:00:00Z", Some("2031-03-05T03:00:00Z"), None), now, week).unwrap();
        assert!(t.when.starts_with("in progress") && t.weight == 1.0);
        assert!(timing(&doc("2031-02-01T00:00:00Z", None, None), now, week).is_none(), "older than the look-back");
        let job =
            timing(&doc("2031-03-04T02:00:00Z", None, Some(Every::Day { hour: 2, minute: 0 })), now, week).unwrap();
        assert!(job.when.starts_with("last ran 11 min before (nightly)"), "{}", job.when);
        let mut planned = doc("2031-03-05T03:00:00Z", None, None);
        assert!(timing(&planned, now, week).is_none(), "a change recorded as done after the alert is not a suspect");
        if let Some(c) = planned.change.as_mut() {
            c.status = ChangeStatus::Planned;
        }
        let planned = timing(&planned, now, week).unwrap();
        assert_eq!(planned.when, "planned to start in 49 min");
        assert!(planned.weight < 0.5);
        assert!(timing(&doc("2031-03-09T03:00:00Z", None, None), now, week).is_none());
        // A ticket no rule read as a change counts from its latest activity before the alert.
        let ticket = TextDoc {
            kind: Some(DocKind::Ticket),
            created: Some("2031-02-20T09:00:00Z".into()),
            resolved: Some("2031-03-05T01:59:00Z".into()),
            updated: Some("2031-03-06T10:00:00Z".into()),
            ..TextDoc::default()
        };
        assert_eq!(timing(&ticket, now, week).unwrap().when, "ticket last active 12 min before");
        // A job every 15 minutes has always just run: it counts from its first run.
        let frequent =
            |first: &str| timing(&doc(first, None, Some(Every::Minutes { n: 15 })), now, week).unwrap().weight;
        assert!(frequent("2031-03-05T01:00:00Z") > 2.0 * frequent("2031-02-01T00:00:00Z"));
        // Nearer in time weighs more.
        let recent = timing(&doc("2031-03-05T01:00:00Z", None, None), now, week).unwrap().weight;
        let older = timing(&doc("2031-03-02T01:00:00Z", None, None), now, week).unwrap().weight;
        assert!(recent > older);
    }
}
