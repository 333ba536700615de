//! Searching history: words, an entity, a kind, a time range.

use std::sync::Arc;

use chrono::Utc;

use super::{QueryError, Service, require, resolve_in};
use crate::auth::{Caller, Scope};
use crate::model::{ClassificationScale, DocId, DocKind, TextDoc};
use crate::search::{Hit, SearchQuery};
use crate::topology::EntityInfo;

pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 100;

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    /// An entity id, name or alias: only documents that affect or mention it.
    pub entity: Option<String>,
    pub kind: Option<String>,
    /// `YYYY-MM-DD`, RFC 3339, or a span back from now: `30d`, `12h`, `2w`.
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct SearchAnswer {
    pub hits: Vec<Hit>,
    pub entity: Option<Arc<EntityInfo>>,
}

/// A stored document and where it came from.
#[derive(Debug, Clone)]
pub struct DocumentView {
    pub doc: DocId,
    pub text: Option<TextDoc>,
    pub provenance: Option<crate::graph::Provenance>,
}

impl Service {
    pub async fn search(&self, caller: &Caller, req: &SearchRequest) -> Result<SearchAnswer, QueryError> {
        let result = self.guard(self.compute(|| self.search_inner(caller, req))).await;
        self.record(caller, "search_incidents", &result, Some(req.query.chars().take(200).collect()));
        result
    }

    fn search_inner(&self, caller: &Caller, req: &SearchRequest) -> Result<SearchAnswer, QueryError> {
        require(caller, Scope::Read, "search_incidents")?;
        let entity = match req.entity.as_deref().filter(|e| !e.trim().is_empty()) {
            Some(e) => Some(resolve_in(&self.projections.topology(), &self.scale, caller, e)?),
            None => None,
        };
        let kinds = match req.kind.as_deref().filter(|k| !k.trim().is_empty()) {
            Some(k) => vec![k.parse::<DocKind>().map_err(QueryError::BadRequest)?],
            None => Vec::new(),
        };
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::BadRequest(format!("limit must be 1..={MAX_LIMIT}, got {limit}")));
        }
        let query = SearchQuery {
            text: req.query.clone(),
            entities: entity.iter().map(|e| e.id.to_string()).collect(),
            kinds,
            since: req.since.as_deref().map(|s| parse_when(s, "since")).transpose()?,
            until: req.until.as_deref().map(|s| parse_when(s, "until")).transpose()?,
            allowed: allowed_levels(&self.scale, caller),
            limit,
            snippets: true,
            ..SearchQuery::default()
        };
        let mut hits = self.projections.search().search(&query).map_err(|e| QueryError::Internal(e.to_string()))?;
        let topo = self.projections.topology();
        for h in &mut hits {
            super::redact(&topo, &self.scale, caller, &mut h.doc);
        }
        Ok(SearchAnswer { hits, entity })
    }

    /// One document by id (`source:external-id`).
    pub async fn document(&self, caller: &Caller, id: &str) -> Result<DocumentView, QueryError> {
        let result = self.guard(self.compute(|| self.document_inner(caller, id))).await;
        self.record(caller, "get_document", &result, Some(id.to_string()));
        result
    }

    pub(super) fn document_inner(&self, caller: &Caller, id: &str) -> Result<DocumentView, QueryError> {
        require(caller, Scope::Read, "get_document")?;
        let doc: DocId = id.trim().parse().map_err(|e: crate::model::IdError| QueryError::BadRequest(e.to_string()))?;
        let mut text =
            self.projections.search().get(&doc.to_string()).map_err(|e| QueryError::Internal(e.to_string()))?;
        let provenance = self.projections.graph().provenance(&doc.iri())?;
        // The index holds the level the document is seen at.
        let hidden = text.as_ref().is_some_and(|t| {
            !self.scale.permits(&caller.clearance, Some(self.scale.effective(t.classification.as_deref())))
        });
        if text.is_none() && provenance.is_none() {
            return Err(QueryError::UnknownDocument { id: doc.to_string(), hidden: false });
        }
        if hidden {
            return Err(QueryError::UnknownDocument { id: doc.to_string(), hidden: true });
        }
        if let Some(t) = &mut text {
            super::redact(&self.projections.topology(), &self.scale, caller, t);
        }
        Ok(DocumentView { doc, text, provenance })
    }
}

/// The levels a caller may see; `None` when that is every level.
pub(crate) fn allowed_levels(scale: &ClassificationScale, caller: &Caller) -> Option<Vec<String>> {
    if caller.clearance == *scale.highest() {
        return None;
    }
    Some(scale.levels().iter().filter(|l| scale.permits(&caller.clearance, Some(l))).map(|l| l.to_string()).collect())
}

/// A point in time as people write it, in epoch seconds.
pub fn parse_when(s: &str, what: &str) -> Result<i64, QueryError> {
    crate::model::time::parse_point(s, what, Utc::now())
        .map(|t| t.timestamp())
        .map_err(|e| QueryError::BadRequest(e.to_string()))
}
