//! `context_for_action`: everything FFO knows that bears on acting on one
//! entity (or on the entity an alert is about), in one answer, each item
//! with its source and why it is there.
//!
//! The answer is built around the target's causal neighbourhood ([`near`]):
//! what it depends on, down to three hops, and what depends on it, never
//! through a shared System, Domain or owner. In it FFO looks for
//! **suspects** ([`changes`]: changes made shortly before the alert, or in
//! progress, and alerts firing on neighbours now), ranks **prior
//! incidents** by mechanism ([`history`]: the history of what the target
//! depends on can explain its symptom, a dependent can explain load, words
//! scale the evidence rather than replace it), finds the **policies** that
//! govern the proposed action ([`policies`]) and what history says about
//! the action itself. Time is read from the alert's start.

mod changes;
mod history;
mod near;
mod policies;
mod target;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use petgraph::Direction;

use super::blast::{BlastOptions, Totals, from_impact};
use super::search::allowed_levels;
use super::{QueryError, Service, require, resolve_in, visible};
use crate::auth::{Caller, Scope};
use crate::model::{Alert, EntityKind, Relation};
use crate::projection::Projections;
use crate::topology::{EntityInfo, MatchKind, Topology};

pub use changes::{DEFAULT_LOOKBACK_DAYS, Suspect};
pub use history::{ActionNote, AlertHistory, KnownCause, Ranked};
pub use near::Place;
pub use policies::PolicyItem;
pub(crate) use target::target_of_alert;

/// Every list is cut to this unless the caller asks otherwise.
pub const DEFAULT_LIMIT: usize = 5;
pub const MAX_LIMIT: usize = 50;

/// `text` without the words of the names in `names` (a name's parts too:
/// an alert named BookingApiHighLatency says "booking api" apart) and
/// without bare numbers.
fn symptom_words(text: &str, names: &[String]) -> String {
    let parts: std::collections::HashSet<String> = names
        .iter()
        .flat_map(|n| n.split(|c: char| !c.is_alphanumeric()))
        .filter(|p| p.len() >= 3)
        .map(str::to_lowercase)
        .collect();
    let whole: std::collections::HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    text.split_whitespace()
        .filter(|w| {
            let bare = w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            if bare.is_empty() || whole.contains(&bare) || bare.chars().all(|c| c.is_ascii_digit()) {
                return false;
            }
            // A word made only of name parts, numbers and hashes
            // ("booking-api", "web-7d9f8b6c5-x2k4q": a pod of the target).
            let pieces: Vec<&str> = bare.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).collect();
            let ignorable = |p: &str| {
                parts.contains(p)
                    || p.len() < 2
                    || p.chars().all(|c| c.is_ascii_digit())
                    || (p.len() >= 4 && p.chars().any(|c| c.is_ascii_digit()))
            };
            !pieces.iter().all(|p| ignorable(p))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

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
    /// The time the answer is relative to: the alert's start, `as_of`, or now.
    pub at: DateTime<Utc>,
    pub owner: Option<Arc<EntityInfo>>,
    pub system: Option<Arc<EntityInfo>>,
    pub dependencies: Vec<Neighbour>,
    pub dependents: Vec<Neighbour>,
    pub blast: Totals,
    pub blast_withheld: usize,
    /// Changes on the target and its neighbourhood around the alert's time.
    pub changes: Vec<Suspect>,
    /// Alerts firing on the neighbourhood at that time.
    pub active_alerts: Vec<Suspect>,
    pub incidents: Vec<Ranked>,
    pub runbooks: Vec<(crate::model::TextDoc, String)>,
    pub known_causes: Vec<KnownCause>,
    /// Rules that apply to acting on the target, the proposed action first.
    pub policies: Vec<PolicyItem>,
    /// What history says about the proposed action.
    pub action_notes: Vec<ActionNote>,
    /// Outcomes, each with whether it is the action asked about.
    pub outcomes: Vec<(crate::model::TextDoc, bool)>,
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
        // The linker reads the live topology: taken before this view's lock.
        let linker = self.linker();
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
        let near = near::Neighbourhood::around(&topo, &target, &see);
        let windows = change_windows(&topo, &target, &dependencies, now, &see);
        let allowed = allowed_levels(&self.scale, caller);
        let named_in = |text: &str| linker.find(text).into_iter().collect::<Vec<_>>();
        let policies = policies::policies(
            p,
            &topo,
            &target,
            req.action.as_deref(),
            req.alert.as_ref().and_then(Alert::name),
            &allowed,
            now,
            &see,
            &named_in,
            limit,
        )?;
        drop(topo);

        // The words that name the target and its neighbours say where, which
        // the place already weighs; numbers say how much. What is left says
        // what happened: the symptom.
        let names = near.names();
        let symptom = req.alert.as_ref().map(|a| symptom_words(&alert_words(a), &names)).unwrap_or_default();
        let action = symptom_words(req.action.as_deref().unwrap_or(""), &names);
        let text = format!("{symptom} {action}").trim().to_string();
        // A past view sees nothing after its time; the present sees
        // everything, even what is timestamped ahead of this clock.
        let cap = req.as_of.is_some().then_some(now);

        let changes = changes::rank_changes(p, &near, &symptom, &allowed, now, self.lookback, limit)?;
        let active_alerts = changes::active_alerts(p, &near, req.alert.as_ref(), &allowed, now, limit)?;
        let (mut incidents, about_target) = history::rank_incidents(p, &near, &symptom, &action, &allowed, now, limit)?;
        {
            let topo = p.topology();
            for r in &mut incidents {
                super::redact(&topo, &self.scale, caller, &mut r.doc);
            }
        }
        let runbooks = history::runbooks(p, &target, req.alert.as_ref(), &text, &allowed, limit)?;
        let known_causes = history::known_causes(&near, &incidents, about_target, limit);
        let (outcomes, retracted_outcomes) =
            history::outcomes(p, &target, req.action.as_deref(), &allowed, cap, limit)?;
        let action_notes = match req.action.as_deref().filter(|a| !a.trim().is_empty()) {
            Some(a) => {
                let docs: Vec<&crate::model::TextDoc> =
                    incidents.iter().map(|r| &r.doc).chain(runbooks.iter().map(|(d, _)| d)).collect();
                history::action_notes(a, &docs, &outcomes, limit)
            }
            None => Vec::new(),
        };
        let alert_history = match req.alert.as_ref().and_then(Alert::name) {
            Some(name) => Some(history::alert_history(p, &target, name, &allowed, now, cap, limit)?),
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
            at: now,
            owner,
            system,
            dependencies,
            dependents,
            blast: blast.totals,
            blast_withheld: blast.withheld,
            changes,
            active_alerts,
            incidents,
            runbooks,
            known_causes,
            policies,
            action_notes,
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

fn parse_instant(s: &str) -> Result<DateTime<Utc>, QueryError> {
    crate::model::time::parse_point(s, "as_of", Utc::now()).map_err(|e| QueryError::BadRequest(e.to_string()))
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
    fn the_symptom_is_what_the_alert_says_beyond_names_and_numbers() {
        let names = vec!["web-api".to_string(), "web".to_string(), "db-1.prod".to_string()];
        assert_eq!(
            symptom_words("web-api p99 latency 2.4s, 5xx on web; db-1.prod slow 300/300", &names),
            "p99 latency 2.4s, 5xx on slow"
        );
        assert_eq!(symptom_words("Web Api High Latency", &names), "High Latency");
        assert_eq!(symptom_words("pod web-api-7d9f8b6c5-x2k4q 5xx ratio", &names), "pod 5xx ratio");
        assert_eq!(symptom_words("webhooks failing", &names), "webhooks failing");
    }
}
