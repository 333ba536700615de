//! Change events entering FFO (`POST /v1/changes`, `ffo ingest changes`),
//! audited and scoped like every write, and the re-linking of stored changes
//! that named no known entity once a catalog import makes their names known.

use std::collections::BTreeSet;

use super::{QueryError, Service, require};
use crate::auth::{Caller, Scope};
use crate::ingest::IngestError;
use crate::ingest::changes::link::Relinked;
use crate::ingest::changes::{self, Context, Format, Ingested, RefLookup};
use crate::model::{DocId, EntityId, vocab};
use crate::projection::Projections;

/// Where change events come from.
#[derive(Debug, Clone, Copy)]
pub enum ChangeInput<'a> {
    /// A file, or a folder of files.
    Path(&'a str),
    /// A request body.
    Body(&'a [u8]),
}

impl Service {
    /// Reads change events (format recognised per item, or `format`),
    /// stores the valid ones, and returns once they are searchable.
    pub async fn ingest_changes(
        &self,
        caller: &Caller,
        input: ChangeInput<'_>,
        format: Option<&str>,
    ) -> Result<Ingested, QueryError> {
        let result = match input {
            // A request is bounded in time like every question; an import
            // from the command line is not.
            ChangeInput::Body(_) => self.guard(self.ingest_changes_inner(caller, input, format)).await,
            ChangeInput::Path(_) => self.ingest_changes_inner(caller, input, format).await,
        };
        let detail = match (input, &result) {
            (ChangeInput::Path(p), _) => format!("changes {p}"),
            (ChangeInput::Body(b), Ok(out)) => {
                format!("{} bytes: {} stored, {} rejected", b.len(), out.stored.len(), out.rejected.len())
            }
            (ChangeInput::Body(b), Err(_)) => format!("{} bytes", b.len()),
        };
        self.record_now(caller, "ingest_changes", &result, Some(detail)).await;
        result
    }

    async fn ingest_changes_inner(
        &self,
        caller: &Caller,
        input: ChangeInput<'_>,
        format: Option<&str>,
    ) -> Result<Ingested, QueryError> {
        require(caller, Scope::Write, "ingest changes")?;
        let format = format.map(str::parse::<Format>).transpose().map_err(QueryError::BadRequest)?;
        let mut out = self.read_changes(input, format).await?;
        self.redact_changes(caller, &mut out);
        if let ChangeInput::Body(_) = input
            && out.stored.is_empty()
            && !out.rejected.is_empty()
        {
            let reasons: Vec<String> = out.rejected.iter().map(|r| format!("{}: {}", r.at, r.reason)).collect();
            return Err(QueryError::BadRequest(format!("no change stored; {}", reasons.join("; "))));
        }
        Ok(out)
    }

    /// Reads change events into the ledger while projecting what is
    /// written, then brings the projections up to date.
    pub(super) async fn read_changes(
        &self,
        input: ChangeInput<'_>,
        format: Option<Format>,
    ) -> Result<Ingested, QueryError> {
        let linker = self.linker();
        let refs = TopologyRefs(&self.projections);
        let cx = Context { config: &self.ingest, linker: &linker, refs: &refs, format };
        let started = std::time::Instant::now();
        let out = match input {
            ChangeInput::Path(p) => {
                // A folder can be large: project while it is read, so the
                // import costs the longer of the two, not their sum.
                let follower = {
                    let (projections, ledger) = (self.projections.clone(), self.ledger.clone());
                    let mut appended = ledger.subscribe();
                    tokio::spawn(async move {
                        while appended.changed().await.is_ok() {
                            if let Err(e) = projections.catch_up(&ledger).await {
                                tracing::warn!(error = %e, "projection during ingest failed; retried at the end");
                            }
                        }
                    })
                };
                let out = changes::ingest_path(&self.ledger, std::path::Path::new(p), &cx).await;
                // Wait for the follower to stop: cancelled while applying, it
                // releases the apply lock without waking the waiters.
                follower.abort();
                let _ = follower.await;
                out
            }
            ChangeInput::Body(bytes) => changes::ingest_body(&self.ledger, bytes, &cx).await,
        };
        let out = out.map_err(|e| match e {
            // The input's fault: say so (400), naming the formats.
            IngestError::Invalid { message, .. } => QueryError::BadRequest(message),
            other => QueryError::from(other),
        })?;
        let read = started.elapsed();
        // Searchable when the call returns; concurrent writers share a pass.
        self.projections.wait_for(&self.ledger, out.last_seq).await?;
        tracing::info!(
            stored = out.stored.len(),
            written = out.report.written,
            rejected = out.rejected.len(),
            read_ms = read.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "ingested changes"
        );
        Ok(out)
    }

    /// What the caller may not see does not appear in the answer: entities
    /// above their clearance are left out of what a change affects and of
    /// the warnings (the change is stored and linked all the same).
    fn redact_changes(&self, caller: &Caller, out: &mut Ingested) {
        if caller.clearance == *self.scale.highest() {
            return;
        }
        let topo = self.projections.topology();
        let hidden: Vec<String> = topo
            .entities()
            .iter()
            .filter(|e| e.declared() && !super::visible(&self.scale, caller, e))
            .map(|e| e.id.to_string())
            .collect();
        for s in &mut out.stored {
            s.affects.retain(|id| !hidden.contains(&id.to_string()));
        }
        out.report.warnings.retain(|w| !hidden.iter().any(|h| w.message.contains(h.as_str())));
    }

    /// Re-links stored changes that resolved to no entity (marked
    /// `ffo:unresolvedRef` in the graph): called after a catalog import.
    pub(super) async fn relink_changes(&self) -> Result<Relinked, QueryError> {
        let quads = self.projections.graph().statements_with(&[vocab::UNRESOLVED_REF])?;
        let docs: BTreeSet<DocId> =
            quads.iter().filter_map(|q| crate::graph::subject_iri(&q.subject).and_then(DocId::from_iri)).collect();
        if docs.is_empty() {
            return Ok(Relinked::default());
        }
        let docs: Vec<DocId> = docs.into_iter().collect();
        let linker = self.linker();
        let refs = TopologyRefs(&self.projections);
        let cx = Context { config: &self.ingest, linker: &linker, refs: &refs, format: None };
        let relinked = changes::link::relink(&self.ledger, &docs, &cx).await?;
        self.projections.catch_up(&self.ledger).await?;
        Ok(relinked)
    }
}

/// Entities by reference, from the topology (its read lock is taken per
/// lookup, never held across an await).
pub(super) struct TopologyRefs<'a>(pub(super) &'a Projections);

impl RefLookup for TopologyRefs<'_> {
    fn by_ref(&self, annotation: &str, value: &str) -> Vec<EntityId> {
        self.0.topology().by_external_ref(annotation, value).into_iter().map(|e| e.id.clone()).collect()
    }

    fn values_of(&self, annotation: &str) -> Vec<(String, EntityId)> {
        self.0.topology().external_refs(annotation).into_iter().map(|(v, e)| (v, e.id.clone())).collect()
    }
}
