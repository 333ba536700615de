//! The HTTP face: the JSON API under `/v1`, SPARQL at `/sparql`, health at
//! `/healthz`, MCP at `/mcp`, the OAuth protected-resource metadata under
//! `/.well-known` (`oauth`), and the web page for SREs at `/`. Handlers are thin:
//! authenticate, parse, call the query layer, convert to wire types. One
//! function maps errors to statuses.

mod oauth;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::Deserialize;

mod origin;

use crate::auth::jwt::Verifier;
use crate::auth::{Caller, Tokens};
use crate::context::{ActionRequest, BlastOptions, QueryError, SearchRequest, Service};
use crate::graph::{ResultFormat, SparqlError};
use crate::model::Authority;
use crate::wire;

pub use oauth::Unauthorized;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    pub tokens: Arc<Tokens>,
    /// Bearer JWTs from the identity provider, when `[oidc]` is configured.
    pub oidc: Option<Arc<Verifier>>,
}

/// Settings of the HTTP face.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub max_body_bytes: usize,
    /// Host names (beyond loopback names and IP literals) requests may name.
    pub allowed_hosts: Vec<String>,
}

/// The router: the API, SPARQL, health, and `mcp` (a tower service, the
/// MCP face's streamable HTTP transport) nested at `/mcp` behind the same
/// authentication.
pub fn router(state: AppState, config: &HttpConfig, mcp: Router<AppState>) -> Router {
    let api = Router::new()
        .route("/v1/blast-radius/{*entity}", get(blast_radius))
        .route("/v1/entities/{*entity}", get(entity))
        .route("/v1/search", get(search))
        .route("/v1/context", axum::routing::post(context))
        .route("/v1/outcomes", axum::routing::post(write_outcome))
        .route("/v1/outcomes/{id}/confirm", axum::routing::post(confirm_outcome))
        .route("/v1/outcomes/{id}/retract", axum::routing::post(retract_outcome))
        .route("/v1/alerts", axum::routing::post(alerts))
        .route("/v1/changes", axum::routing::post(changes))
        .route("/v1/documents/{*id}", get(document))
        .route("/sparql", get(sparql_get).post(sparql_post))
        .merge(mcp)
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    let origins = Arc::new(origin::Allowed::new(&config.allowed_hosts));
    Router::new()
        .route("/", get(page))
        .route("/healthz", get(healthz))
        .merge(oauth::routes())
        .merge(api)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(origins, origin::guard))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// The answer when a handler panicked (the query layer catches its own
/// panics and audits them; this is the last resort for the face itself).
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("an HTTP handler panicked");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error: the request failed unexpectedly")
}

/// Serves `router` on `addr` until the process is stopped.
pub async fn serve(addr: SocketAddr, router: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router).await
}

/// Turns a bearer token into a [`Caller`]; with no tokens configured, FFO
/// serves loopback only and every caller is the operator. A refusal is
/// audited and answered 401 with a `WWW-Authenticate` challenge.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let caller = match caller_for(&state, req.headers()).await {
        Ok(c) => c,
        Err(refused) => return oauth::refuse(&state, &req, refused),
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The caller a request's bearer token names: a static token, else a JWT
/// from the identity provider.
pub async fn caller_for(state: &AppState, headers: &HeaderMap) -> Result<Caller, Unauthorized> {
    if state.tokens.is_empty() && state.oidc.is_none() {
        return Ok(Caller::admin("local", state.service.scale()).via("http"));
    }
    let token = match oauth::credentials(headers) {
        oauth::Credentials::Bearer(t) => t,
        oauth::Credentials::Missing => {
            return Err(Unauthorized::new("missing_token", "no Authorization header", false));
        }
        oauth::Credentials::NotBearer => {
            return Err(Unauthorized::new("not_bearer", "the Authorization header is not Bearer TOKEN", true));
        }
    };
    if let Some(c) = state.tokens.authenticate(token) {
        return Ok(c.clone().via("http"));
    }
    match &state.oidc {
        Some(oidc) if token.contains('.') => match oidc.verify(token).await {
            Ok(c) => Ok(c.via("http")),
            Err(e) => Err(Unauthorized::new(e.reason(), e.to_string(), true)),
        },
        _ => Err(Unauthorized::new("unknown_token", "no configured token matches", true)),
    }
}

/// The one mapping from query errors to HTTP statuses.
pub fn status_of(e: &QueryError) -> StatusCode {
    match e {
        QueryError::UnknownEntity { .. } | QueryError::UnknownDocument { .. } => StatusCode::NOT_FOUND,
        QueryError::Ambiguous { .. } | QueryError::Conflict(_) => StatusCode::CONFLICT,
        QueryError::Forbidden { .. } => StatusCode::FORBIDDEN,
        QueryError::BadRequest(_) => StatusCode::BAD_REQUEST,
        QueryError::Sparql(SparqlError::Timeout(_)) | QueryError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
        QueryError::Sparql(SparqlError::TooLarge(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        QueryError::Sparql(_) => StatusCode::BAD_REQUEST,
        QueryError::Ingest(_) => StatusCode::UNPROCESSABLE_ENTITY,
        QueryError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A query error as an HTTP response.
pub struct ApiError(pub QueryError);

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let QueryError::Internal(detail) = &self.0 {
            tracing::error!(error = %detail, "internal error");
        }
        (status_of(&self.0), Json(wire::ErrorAnswer::from(&self.0))).into_response()
    }
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(wire::ErrorAnswer { code: code.to_string(), message: message.to_string(), candidates: Vec::new() }))
        .into_response()
}

/// The web page for SREs: search and context, calling this API from the
/// browser (with the token the user gives, if any).
async fn page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("page.html"))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.service.health().await {
        Ok(h) => Json(serde_json::json!({
            "status": "ok",
            "ledger_head": h.ledger_head.0,
            "applied": h.applied.0,
            "entities": h.entities,
            "edges": h.edges,
            "shared_ledger": h.shared_ledger,
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "error": e.to_string()})),
        )
            .into_response(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlastParams {
    max_depth: Option<u32>,
    limit: Option<usize>,
}

async fn blast_radius(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(entity): Path<String>,
    params: Result<Query<BlastParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::BlastRadiusAnswer>, ApiError> {
    let Query(params) = params.map_err(|e| QueryError::BadRequest(format!("{e}; parameters: max_depth, limit")))?;
    let mut options = BlastOptions { max_depth: params.max_depth, ..BlastOptions::default() };
    if let Some(limit) = params.limit {
        options.limit = limit;
    }
    let answer = state.service.blast_radius(&caller, &entity, options).await?;
    Ok(Json(wire::BlastRadiusAnswer::from(&answer)))
}

async fn entity(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(entity): Path<String>,
) -> Result<Json<wire::EntityAnswer>, ApiError> {
    let view = state.service.entity(&caller, &entity).await?;
    Ok(Json(wire::EntityAnswer::from(&view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    #[serde(default)]
    q: String,
    entity: Option<String>,
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<usize>,
}

async fn search(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<wire::SearchAnswer>, ApiError> {
    let Query(p) =
        params.map_err(|e| QueryError::BadRequest(format!("{e}; parameters: q, entity, kind, since, until, limit")))?;
    let req =
        SearchRequest { query: p.q, entity: p.entity, kind: p.kind, since: p.since, until: p.until, limit: p.limit };
    let answer = state.service.search(&caller, &req).await?;
    Ok(Json(wire::SearchAnswer::from(&answer)))
}

/// The body of `POST /v1/context` (the MCP tool's arguments).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextBody {
    pub entity: Option<String>,
    pub alert: Option<serde_json::Value>,
    pub action: Option<String>,
    pub limit: Option<usize>,
    pub as_of: Option<String>,
}

async fn context(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<ContextBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<wire::ContextAnswer>, ApiError> {
    let Json(b) = body.map_err(|e| {
        QueryError::BadRequest(format!("{}; fields: entity, alert, action, limit, as_of", e.body_text()))
    })?;
    let alert = b.alert.as_ref().map(wire::alert_from_json).transpose().map_err(QueryError::BadRequest)?;
    let req = ActionRequest { entity: b.entity, alert, action: b.action, limit: b.limit, as_of: b.as_of };
    let answer = state.service.context_for_action(&caller, &req).await?;
    Ok(Json(wire::ContextAnswer::from(&answer)))
}

async fn write_outcome(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<wire::OutcomeBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<wire::OutcomeStored>, ApiError> {
    let Json(b) = body.map_err(|e| {
        QueryError::BadRequest(format!(
            "{}; fields: entity, action, result, summary, alert, details, postmortem, related, started_at, ended_at, idempotency_key",
            e.body_text()
        ))
    })?;
    let written = state.service.write_outcome(&caller, &b.into()).await?;
    Ok(Json(wire::OutcomeStored::from(&written)))
}

/// The optional body of a review: `{"note": "why"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    note: Option<String>,
}

async fn review(
    state: &AppState,
    caller: &Caller,
    id: &str,
    authority: Authority,
    body: &[u8],
) -> Result<Json<wire::OutcomeStored>, ApiError> {
    let review: ReviewBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReviewBody::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| QueryError::BadRequest(format!("{e}; the body is {{\"note\": \"...\"}} or empty")))?
    };
    let written = state.service.review_outcome(caller, id, authority, review.note.as_deref()).await?;
    Ok(Json(wire::OutcomeStored::from(&written)))
}

async fn confirm_outcome(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<wire::OutcomeStored>, ApiError> {
    review(&state, &caller, &id, Authority::Confirmed, &body).await
}

async fn retract_outcome(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<wire::OutcomeStored>, ApiError> {
    review(&state, &caller, &id, Authority::Retracted, &body).await
}

/// Alertmanager (v4) and Grafana webhook receiver.
async fn alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<wire::AlertsRecorded>, ApiError> {
    let Json(v) = body.map_err(|e| {
        QueryError::BadRequest(format!("{}; send an Alertmanager or Grafana webhook payload", e.body_text()))
    })?;
    let alerts = crate::ingest::alerts::parse(&v).map_err(QueryError::BadRequest)?;
    let recorded = state.service.record_alerts(&caller, &alerts).await?;
    Ok(Json(wire::AlertsRecorded::new(&recorded)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesParams {
    format: Option<String>,
}

/// Change events in any format FFO reads (CDEvents, GitHub deployments, Argo
/// CD, Kubernetes, PagerDuty, Datadog, FFO's own form), one or many.
async fn changes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<ChangesParams>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Json<wire::ChangesStored>, ApiError> {
    let Query(p) = params.map_err(|e| QueryError::BadRequest(format!("{e}; parameters: format")))?;
    let input = crate::context::ChangeInput::Body(&body);
    let stored = state.service.ingest_changes(&caller, input, p.format.as_deref()).await?;
    Ok(Json(wire::ChangesStored::from(&stored)))
}

async fn document(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<wire::DocumentAnswer>, ApiError> {
    let view = state.service.document(&caller, &id).await?;
    Ok(Json(wire::DocumentAnswer::from(&view)))
}

#[derive(Debug, Deserialize)]
struct SparqlParams {
    query: Option<String>,
    update: Option<String>,
    format: Option<String>,
    #[serde(rename = "default-graph-uri")]
    _default_graph: Option<String>,
    #[serde(rename = "named-graph-uri")]
    _named_graph: Option<String>,
}

async fn sparql_get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(params): Query<SparqlParams>,
) -> Result<Response, ApiError> {
    if params.update.is_some() {
        return Err(QueryError::Sparql(SparqlError::UpdateRefused).into());
    }
    let query =
        params.query.ok_or_else(|| QueryError::BadRequest("missing the query parameter (?query=SELECT ...)".into()))?;
    run_sparql(&state, &caller, &headers, params.format.as_deref(), &query).await
}

async fn sparql_post(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let text =
        std::str::from_utf8(&body).map_err(|_| QueryError::BadRequest("the request body is not UTF-8".into()))?;
    let (query, format) = if content_type.starts_with("application/sparql-query") {
        (text.to_string(), None)
    } else if content_type.starts_with("application/sparql-update") {
        return Err(QueryError::Sparql(SparqlError::UpdateRefused).into());
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let params: SparqlParams = serde_urlencoded(text)?;
        if params.update.is_some() {
            return Err(QueryError::Sparql(SparqlError::UpdateRefused).into());
        }
        let q = params.query.ok_or_else(|| QueryError::BadRequest("missing the query form field".into()))?;
        (q, params.format)
    } else {
        return Err(QueryError::BadRequest(format!(
            "unsupported content type {content_type:?}; send application/sparql-query or application/x-www-form-urlencoded"
        ))
        .into());
    };
    run_sparql(&state, &caller, &headers, format.as_deref(), &query).await
}

fn serde_urlencoded(text: &str) -> Result<SparqlParams, QueryError> {
    let pairs: Vec<(String, String)> = url_pairs(text);
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    Ok(SparqlParams {
        query: get("query"),
        update: get("update"),
        format: get("format"),
        _default_graph: None,
        _named_graph: None,
    })
}

/// Decodes `a=b&c=d` form bodies.
fn url_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode =
                |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

async fn run_sparql(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    format: Option<&str>,
    query: &str,
) -> Result<Response, ApiError> {
    let accept = format
        .map(str::to_string)
        .or_else(|| headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string))
        .unwrap_or_default();
    let out = state.service.sparql(caller, query, ResultFormat::negotiate(&accept)).await?;
    Ok(([(header::CONTENT_TYPE, out.content_type)], out.body).into_response())
}
