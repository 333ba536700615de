//! Writes: outcomes of actions (write-back), their confirmation or
//! retraction by a person, and alert firings. Each is committed to the
//! ledger first, acknowledged only once durable, and visible to every query
//! when the call returns (read-your-writes).

use std::sync::Arc;

use chrono::Utc;

use super::action::target_of_alert;
use super::{QueryError, Service, require, resolve_in};
use crate::auth::{Caller, Scope};
use crate::ingest::outcome::Outcome;
use crate::ledger::{Appended, Change, IdempotencyKey, KeyedWrite};
use crate::model::{Alert, Authority, DocId, OutcomeResult, Seq, Source};

/// Longest idempotency key accepted.
const MAX_KEY: usize = 200;

/// What an agent or a person reports having done.
#[derive(Debug, Clone, Default)]
pub struct OutcomeRequest {
    pub entity: String,
    pub action: String,
    /// success, failure, partial or aborted.
    pub result: String,
    pub summary: String,
    pub alert: Option<String>,
    pub details: Option<String>,
    pub postmortem: Option<String>,
    pub related: Vec<String>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A stored outcome.
#[derive(Debug, Clone)]
pub struct OutcomeWritten {
    pub doc: DocId,
    pub seq: Seq,
    /// The idempotency key was used before with the same body: nothing new.
    pub replayed: bool,
    pub outcome: Outcome,
}

/// What became of one alert of a webhook.
#[derive(Debug, Clone)]
pub struct AlertRecorded {
    pub doc: Option<DocId>,
    pub name: Option<String>,
    pub fingerprint: String,
    pub status: String,
    pub entity: Option<String>,
    /// Why no entity matched, when none did.
    pub unresolved: Option<String>,
    pub written: bool,
}

impl Service {
    pub async fn write_outcome(&self, caller: &Caller, req: &OutcomeRequest) -> Result<OutcomeWritten, QueryError> {
        let result = self.guard(self.write_outcome_inner(caller, req)).await;
        self.record_now(caller, "write_outcome", &result, Some(format!("{} {}", req.entity, req.action))).await;
        result
    }

    async fn write_outcome_inner(&self, caller: &Caller, req: &OutcomeRequest) -> Result<OutcomeWritten, QueryError> {
        require(caller, Scope::Write, "write_outcome")?;
        // Everything is checked before anything is written.
        let result: OutcomeResult = req.result.parse().map_err(QueryError::BadRequest)?;
        for (name, value) in [("action", &req.action), ("summary", &req.summary)] {
            if value.trim().is_empty() {
                return Err(QueryError::BadRequest(format!("{name} is empty; say what was done and how it went")));
            }
        }
        let entity = resolve_in(&self.projections.topology(), &self.scale, caller, &req.entity)?;
        let when = |v: &Option<String>, what: &str| -> Result<_, QueryError> {
            v.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    crate::model::time::parse_time(s)
                        .ok_or_else(|| QueryError::BadRequest(format!("{what} {s:?} is not a time; use RFC 3339")))
                })
                .transpose()
        };
        let related = req
            .related
            .iter()
            .map(|r| {
                r.parse::<DocId>().map(|d| d.to_string()).map_err(|e| QueryError::BadRequest(format!("related: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key = match req.idempotency_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(k) if k.len() > MAX_KEY => {
                return Err(QueryError::BadRequest(format!("idempotency_key is over {MAX_KEY} characters")));
            }
            other => other,
        };
        let outcome = Outcome {
            id: uuid::Uuid::new_v4().to_string(),
            entity: entity.id.to_string(),
            action: req.action.trim().to_string(),
            result,
            summary: req.summary.trim().to_string(),
            alert: req.alert.clone().filter(|a| !a.trim().is_empty()),
            details: req.details.clone().filter(|d| !d.trim().is_empty()),
            postmortem: req.postmortem.clone().filter(|p| !p.trim().is_empty()),
            related,
            started_at: when(&req.started_at, "started_at")?,
            ended_at: when(&req.ended_at, "ended_at")?,
            performed_by: caller.name.clone(),
            authority: Authority::Agent,
            reviewed_by: None,
            reviewed_at: None,
            review_note: None,
            recorded_at: Utc::now(),
        };
        let version = outcome.to_version(&entity.id, &self.linker()).map_err(QueryError::Internal)?;
        let (doc, seq, replayed) = match key {
            Some(k) => {
                // Keys are the caller's own: two agents may pick the same one.
                let key = IdempotencyKey { key: format!("{}\u{1f}{k}", caller.name), body_hash: outcome.body_hash() };
                match self.ledger.append_keyed(version, key).await? {
                    KeyedWrite::Written { doc, seq } => (doc, seq, false),
                    KeyedWrite::Replayed { doc, seq } => (doc, seq, true),
                    KeyedWrite::Conflict { doc } => {
                        return Err(QueryError::Conflict(format!(
                            "idempotency_key {k:?} was used for {doc} with a different body; use a new key for a new outcome"
                        )));
                    }
                }
            }
            None => {
                let doc = outcome.doc().map_err(QueryError::Internal)?;
                match self.ledger.append(&[Change::Put(version)]).await?.first() {
                    Some(Appended::Written(seq)) => (doc, *seq, false),
                    _ => return Err(QueryError::Internal("a new outcome was not written".into())),
                }
            }
        };
        self.projections.wait_for(&self.ledger, seq).await?;
        let outcome = if replayed { self.stored_outcome(&doc).await? } else { outcome };
        Ok(OutcomeWritten { doc, seq, replayed, outcome })
    }

    /// A person vouches for an outcome (`Authority::Confirmed`) or takes it
    /// back (`Authority::Retracted`).
    pub async fn review_outcome(
        &self,
        caller: &Caller,
        id: &str,
        authority: Authority,
        note: Option<&str>,
    ) -> Result<OutcomeWritten, QueryError> {
        let result = self.guard(self.review_inner(caller, id, authority, note)).await;
        let tool = if authority == Authority::Retracted { "retract_outcome" } else { "confirm_outcome" };
        self.record_now(caller, tool, &result, Some(id.to_string())).await;
        result
    }

    async fn review_inner(
        &self,
        caller: &Caller,
        id: &str,
        authority: Authority,
        note: Option<&str>,
    ) -> Result<OutcomeWritten, QueryError> {
        require(caller, Scope::Write, "review an outcome")?;
        if authority == Authority::Agent {
            return Err(QueryError::BadRequest(
                "an outcome is confirmed or retracted, not made an agent's again".into(),
            ));
        }
        let id = id.trim();
        let doc = match id.parse::<DocId>() {
            Ok(d) if d.source() == Source::Outcome => d,
            Ok(d) => {
                return Err(QueryError::BadRequest(format!(
                    "{d} is not an outcome; outcome ids look like outcome:UUID"
                )));
            }
            Err(_) => DocId::new(Source::Outcome, id).map_err(|e| QueryError::BadRequest(e.to_string()))?,
        };
        // An outcome the caller may not read does not exist for them: the
        // same answer as for a wrong id, whatever they asked to do with it.
        self.document_inner(caller, &doc.to_string())?;
        let mut outcome = self.stored_outcome(&doc).await?;
        let entity: crate::model::EntityId =
            outcome.entity.parse().map_err(|e: crate::model::IdError| QueryError::Internal(e.to_string()))?;
        if let Some(info) = self.projections.topology().get(&entity)
            && !super::visible(&self.scale, caller, &info)
        {
            return Err(QueryError::UnknownDocument { id: doc.to_string(), hidden: true });
        }
        outcome.authority = authority;
        outcome.reviewed_by = Some(caller.name.clone());
        outcome.reviewed_at = Some(Utc::now());
        outcome.review_note = note.map(str::to_string).filter(|n| !n.trim().is_empty());
        let version = outcome.to_version(&entity, &self.linker()).map_err(QueryError::Internal)?;
        let seq = match self.ledger.append(&[Change::Put(version)]).await?.first() {
            Some(Appended::Written(seq)) => *seq,
            _ => self.ledger.state(&doc).await?.map(|s| s.seq).unwrap_or_default(),
        };
        self.projections.wait_for(&self.ledger, seq).await?;
        Ok(OutcomeWritten { doc, seq, replayed: false, outcome })
    }

    async fn stored_outcome(&self, doc: &DocId) -> Result<Outcome, QueryError> {
        let state = self.ledger.state(doc).await?.filter(|s| !s.deleted);
        let unknown = || QueryError::UnknownDocument { id: doc.to_string(), hidden: false };
        let Some(state) = state else { return Err(unknown()) };
        let payload = self.ledger.payload(state.seq).await?.ok_or_else(unknown)?;
        Outcome::from_payload(&payload).map_err(QueryError::Internal)
    }

    /// Records the alerts of a webhook payload: each firing (deduplicated by
    /// fingerprint and start) against the entity its labels name.
    pub async fn record_alerts(&self, caller: &Caller, alerts: &[Alert]) -> Result<Vec<AlertRecorded>, QueryError> {
        let result = self.guard(self.record_alerts_inner(caller, alerts)).await;
        self.record_now(caller, "record_alerts", &result, Some(format!("{} alerts", alerts.len()))).await;
        result
    }

    async fn record_alerts_inner(&self, caller: &Caller, alerts: &[Alert]) -> Result<Vec<AlertRecorded>, QueryError> {
        require(caller, Scope::Write, "record alerts")?;
        let received = Utc::now();
        let linker = self.linker();
        let mut out = Vec::with_capacity(alerts.len());
        let mut changes = Vec::with_capacity(alerts.len());
        {
            let topo = self.projections.topology();
            for alert in alerts {
                let (entity, unresolved) = match target_of_alert(&topo, &self.scale, caller, alert, &self.ingest.alerts)
                {
                    Ok((e, _)) => (Some(e.id.clone()), None),
                    Err(e) => (None, Some(e.to_string())),
                };
                let version = crate::ingest::alerts::firing(alert, entity.as_ref(), received, &linker)
                    .map_err(QueryError::BadRequest)?;
                out.push(AlertRecorded {
                    doc: Some(version.doc.clone()),
                    name: alert.name().map(str::to_string),
                    fingerprint: alert.fingerprint(),
                    status: alert.status.clone().unwrap_or_else(|| "firing".into()),
                    entity: entity.map(|e| e.to_string()),
                    unresolved,
                    written: false,
                });
                changes.push(Change::Put(version));
            }
        }
        let appended = self.ledger.append(&changes).await?;
        let mut last = Seq(0);
        for (rec, a) in out.iter_mut().zip(&appended) {
            if let Appended::Written(seq) = a {
                rec.written = true;
                last = last.max(*seq);
            }
        }
        self.projections.wait_for(&self.ledger, last).await?;
        Ok(out)
    }

    /// A linker over every declared entity's names and aliases, rebuilt only
    /// when the estate changed.
    pub(crate) fn linker(&self) -> Arc<crate::ingest::linking::Linker> {
        use crate::ingest::linking::{Known, Linker};
        let topo = self.projections.topology();
        let generation = topo.generation();
        let mut cache = self.linker_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((g, linker)) = cache.as_ref()
            && *g == generation
        {
            return linker.clone();
        }
        let known: Vec<Known> = topo
            .entities()
            .iter()
            .filter(|e| e.declared())
            .map(|e| {
                let mut names = vec![e.name.clone(), e.id.name().to_string()];
                names.extend(e.aliases.iter().cloned());
                Known { id: e.id.clone(), kind: e.kind, names }
            })
            .collect();
        let linker = Arc::new(Linker::new(&known, &self.ingest.linking));
        *cache = Some((generation, linker.clone()));
        linker
    }
}
