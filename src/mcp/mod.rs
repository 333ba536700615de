//! The MCP face: the tools an agent calls before and after it acts, over
//! stdio (`ffo mcp`) and streamable HTTP (`/mcp` on `ffo serve`). Each tool
//! returns the same JSON as the HTTP API as structured content (with an
//! output schema) and a compact text rendering for the model's context.
//! Like every face, it only converts: the answers come from `context`.

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ContentBlock, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, tool, tool_handler, tool_router};
use serde::Deserialize;

use crate::auth::Caller;
use crate::context::{ActionRequest, BlastOptions, QueryError, SearchRequest, Service};
use crate::graph::ResultFormat;
use crate::{render, wire};

mod schema;

/// What the server tells an agent about itself at initialisation.
pub const INSTRUCTIONS: &str = "FFO is the operations team's memory: the estate graph (services, APIs, \
databases, caches, queues, hosts, clusters, teams; who owns what; what depends on what) linked to its \
history (incidents, postmortems, runbooks, Confluence pages, Jira issues, outcomes of earlier actions). \
Every item carries its source. Call context_for_action BEFORE you act on an alert or an entity: one \
call returns the entity, its dependencies and dependents, the blast-radius summary, ranked prior \
incidents with why each matched, the runbooks for the alert, known causes found upstream, earlier \
outcomes of actions on it and change windows. Call blast_radius for the full list of what depends on \
something (how risky acting alone is). Call search_incidents to search history by words, entity, kind \
and time. Call get_entity for one entity's attributes and relations with provenance. sparql_query runs \
a read-only SPARQL query for questions the other tools do not answer. AFTER you act, call \
write_outcome with what you did and whether it worked: it becomes memory for the next responder. Names may be ids \
(kind:namespace/name), names or aliases; an ambiguous name returns the candidates instead of a guess.";

/// The MCP server for one query layer. Cheap to clone (one per session).
#[derive(Clone)]
pub struct FfoMcp {
    service: Arc<Service>,
    /// The caller when the transport carries no identity (stdio: the local operator).
    local: Option<Caller>,
    tool_router: ToolRouter<FfoMcp>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextParams {
    /// The entity to act on: an id (kind:namespace/name, e.g. component:default/checkout-api), a name or an alias (a host name, a Kubernetes name). Optional when `alert` names the entity in its labels.
    pub entity: Option<String>,
    /// The alert that prompted the action: an Alertmanager alert object (with `labels`, `annotations`, `startsAt`, ...), a whole Alertmanager/Grafana webhook payload (its first firing alert is used), or a plain label map such as {"alertname": "HighHttpErrorRate", "service": "checkout-api"}. Its labels (service, app, instance without its port, pod without its replica hash, host, node, namespace, ...) find the entity when `entity` is not given; its name and summary find runbooks and rank history.
    #[schemars(schema_with = "schema::any_object")]
    pub alert: Option<serde_json::Value>,
    /// What you intend to do, in a few words ("restart the pods", "fail over the database"): ranks history and finds earlier outcomes of the same action.
    pub action: Option<String>,
    /// Items per list (incidents, runbooks, causes, outcomes), 1 to 50; default 5.
    #[schemars(schema_with = "schema::limit")]
    pub limit: Option<usize>,
    /// Answer as the ledger stood at this time (RFC 3339, e.g. 2026-03-01T12:00:00Z, or YYYY-MM-DD). Default: now.
    pub as_of: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastParams {
    /// The entity whose dependents you want: an id (kind:namespace/name), a name or an alias.
    pub entity: String,
    /// Stop after this many hops (1 = direct dependents only). Default: the whole radius.
    #[schemars(schema_with = "schema::depth")]
    pub max_depth: Option<u32>,
    /// List at most this many dependents, nearest first (totals always count all), 1 to 10000; default 200.
    #[schemars(schema_with = "schema::list_limit")]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Words to look for in titles, root causes, resolutions and bodies. Plain words: nothing here is query syntax.
    pub query: String,
    /// Only documents that affect or mention this entity (id, name or alias).
    pub entity: Option<String>,
    /// Only this kind: incident, postmortem, problem, runbook, page, ticket, policy, outcome.
    pub kind: Option<String>,
    /// Only documents from this time on: YYYY-MM-DD, RFC 3339, or a span back from now (30d, 12h, 2w).
    pub since: Option<String>,
    /// Only documents up to this time (same forms as `since`).
    pub until: Option<String>,
    /// At most this many hits, 1 to 100; default 10.
    #[schemars(schema_with = "schema::search_limit")]
    pub limit: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityParams {
    /// An id (kind:namespace/name), a name or an alias.
    pub entity: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SparqlParams {
    /// A read-only SPARQL 1.1 query (SELECT, ASK, CONSTRUCT, DESCRIBE). Prefix ffo: <https://ffo.dev/ns#>. Without FROM, the default graph is the union of every document's graph; GRAPH ?doc { ... } tells which document said what. Updates are refused.
    pub query: String,
}

/// A tool's answer: structured JSON and a text rendering; a query error is
/// a tool error (the caller sees the message), never a protocol failure.
fn tool_result<T: serde::Serialize>(result: Result<T, QueryError>, text: impl FnOnce(&T) -> String) -> CallToolResult {
    match result {
        Ok(answer) => match serde_json::to_value(&answer) {
            Ok(value) => {
                let mut r = CallToolResult::structured(value);
                r.content = vec![ContentBlock::text(text(&answer))];
                r
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("error (internal): {e}"))]),
        },
        Err(e) => {
            if let QueryError::Internal(detail) = &e {
                tracing::error!(error = %detail, "internal error in an MCP tool");
            }
            let w = wire::ErrorAnswer::from(&e);
            CallToolResult::error(vec![ContentBlock::text(render::error(&w))])
        }
    }
}

fn bad(message: String) -> CallToolResult {
    let w = wire::ErrorAnswer { code: "bad_request".into(), message, candidates: Vec::new() };
    CallToolResult::error(vec![ContentBlock::text(render::error(&w))])
}

#[tool_router]
impl FfoMcp {
    /// A server whose calls come from `local` unless the transport says
    /// otherwise (HTTP puts the authenticated caller on each request).
    pub fn new(service: Arc<Service>, local: Option<Caller>) -> FfoMcp {
        FfoMcp { service, local, tool_router: Self::tool_router() + Self::write_router() }
    }

    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Caller, ErrorData> {
        let from_http = ctx.extensions.get::<axum::http::request::Parts>().and_then(|p| p.extensions.get::<Caller>());
        from_http
            .cloned()
            .or_else(|| self.local.clone())
            .map(|c| c.via("mcp"))
            .ok_or_else(|| ErrorData::invalid_request("no authenticated caller", None))
    }

    #[tool(
        description = "Everything to know before acting on an entity or an alert, in one call: the entity (kind, owner, system, tier, environment, classification), its dependencies and dependents, the blast-radius summary, prior incidents and postmortems ranked by graph proximity, text relevance and recency (each with why it matched, root cause, resolution, URL), runbooks for the alert, known causes found in other entities, earlier outcomes of actions on it, and change windows. Every item carries its source.",
        annotations(read_only_hint = true, open_world_hint = false),
        input_schema = schema::input::<ContextParams>(),
        output_schema = schema::output::<wire::ContextAnswer>()
    )]
    async fn context_for_action(
        &self,
        Parameters(p): Parameters<ContextParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let alert = match p.alert.as_ref().map(wire::alert_from_json).transpose() {
            Ok(a) => a,
            Err(e) => return Ok(bad(format!("alert: {e}"))),
        };
        let req = ActionRequest { entity: p.entity, alert, action: p.action, limit: p.limit, as_of: p.as_of };
        let result = self.service.context_for_action(&caller, &req).await.map(|c| wire::ContextAnswer::from(&c));
        Ok(tool_result(result, render::context))
    }

    #[tool(
        description = "Every entity that depends on ENTITY through impact edges (dependsOn, runsOn, partOf), directly or not, with its depth, kind, tier, environment and classification, and totals by tier, environment, classification and kind. Use it to judge how far an action or a failure reaches.",
        annotations(read_only_hint = true, open_world_hint = false),
        input_schema = schema::input::<BlastParams>(),
        output_schema = schema::output::<wire::BlastRadiusAnswer>()
    )]
    async fn blast_radius(
        &self,
        Parameters(p): Parameters<BlastParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let limit = p.limit.unwrap_or(200);
        if limit == 0 || limit > 10_000 {
            return Ok(bad(format!("limit must be 1..=10000, got {limit}")));
        }
        let options = BlastOptions { max_depth: p.max_depth, limit };
        let result =
            self.service.blast_radius(&caller, &p.entity, options).await.map(|b| wire::BlastRadiusAnswer::from(&b));
        Ok(tool_result(result, render::blast_radius))
    }

    #[tool(
        description = "Search incidents, postmortems, problems, runbooks, pages and outcomes by words (BM25; titles and root causes weigh most), optionally only those about an entity, of one kind, or in a time range. Each hit has a snippet with the matched words, the root cause and resolution when known, and its source.",
        annotations(read_only_hint = true, open_world_hint = false),
        input_schema = schema::input::<SearchParams>(),
        output_schema = schema::output::<wire::SearchAnswer>()
    )]
    async fn search_incidents(
        &self,
        Parameters(p): Parameters<SearchParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let req = SearchRequest {
            query: p.query,
            entity: p.entity,
            kind: p.kind,
            since: p.since,
            until: p.until,
            limit: p.limit,
        };
        let result = self.service.search(&caller, &req).await.map(|a| wire::SearchAnswer::from(&a));
        Ok(tool_result(result, render::search))
    }

    #[tool(
        description = "One entity: its attributes, its relations both ways (what it depends on, what depends on it, owner, members), the documents that affect or mention it, and for each statement the document that made it.",
        annotations(read_only_hint = true, open_world_hint = false),
        input_schema = schema::input::<EntityParams>(),
        output_schema = schema::output::<wire::EntityAnswer>()
    )]
    async fn get_entity(
        &self,
        Parameters(p): Parameters<EntityParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let result = self.service.entity(&caller, &p.entity).await.map(|v| wire::EntityAnswer::from(&v));
        Ok(tool_result(result, render::entity))
    }

    #[tool(
        description = "Run a read-only SPARQL 1.1 query over the estate graph and its history (prefix ffo: <https://ffo.dev/ns#>; one named graph per source document). Returns SPARQL JSON results. For questions the other tools do not answer.",
        annotations(read_only_hint = true, open_world_hint = false),
        input_schema = schema::input::<SparqlParams>(),
        output_schema = schema::output::<wire::SparqlAnswer>()
    )]
    async fn sparql_query(
        &self,
        Parameters(p): Parameters<SparqlParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let result = self.service.sparql(&caller, &p.query, ResultFormat::Json).await.and_then(|out| {
            wire::SparqlAnswer::from_json(&out.body).map_err(|e| QueryError::Internal(format!("SPARQL results: {e}")))
        });
        Ok(tool_result(result, render::sparql))
    }
}

#[tool_router(router = write_router)]
impl FfoMcp {
    #[tool(
        description = "Record what you did and how it went, after acting: the entity, the action, the result (success, failure, partial, aborted) and a summary; optionally the alert, details, a postmortem in Markdown, related incidents and an idempotency_key (retries with the same key and body return the same id and store nothing new). The outcome is durable when this returns, searchable at once, and shown by context_for_action the next time anyone acts on the entity.",
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = schema::input::<wire::OutcomeBody>(),
        output_schema = schema::output::<wire::OutcomeStored>()
    )]
    async fn write_outcome(
        &self,
        Parameters(p): Parameters<wire::OutcomeBody>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let result = self.service.write_outcome(&caller, &p.into()).await.map(|w| wire::OutcomeStored::from(&w));
        Ok(tool_result(result, render::outcome))
    }
}

const ENTITY_PREFIX: &str = "ffo://entity/";
const DOCUMENT_PREFIX: &str = "ffo://document/";
/// Entities per page of `resources/list`.
const PAGE: usize = 200;

#[tool_handler(router = self.tool_router)]
impl ServerHandler for FfoMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(
                Implementation::new("ffo", env!("CARGO_PKG_VERSION")).with_title("FFO: operations memory"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let caller = self.caller(&ctx)?;
        let start: usize = match request.as_ref().and_then(|r| r.cursor.as_deref()) {
            Some(c) => c.parse().map_err(|_| ErrorData::invalid_params("bad cursor", None))?,
            None => 0,
        };
        let entities = self.service.visible_entities(&caller);
        let resources: Vec<Resource> = entities
            .iter()
            .skip(start)
            .take(PAGE)
            .map(|e| {
                let kind = e.kind.map(|k| k.label()).unwrap_or("entity");
                Resource::new(format!("{ENTITY_PREFIX}{}", e.id), e.name.clone())
                    .with_description(format!("{kind} {}", e.id))
                    .with_mime_type("application/json")
            })
            .collect();
        let mut result = ListResourcesResult::with_all_items(resources);
        if start + PAGE < entities.len() {
            result.next_cursor = Some((start + PAGE).to_string());
        }
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(format!("{ENTITY_PREFIX}{{id}}"), "entity")
                .with_description("An entity by id (kind:namespace/name), name or alias: attributes, relations both ways, documents, provenance")
                .with_mime_type("application/json"),
            ResourceTemplate::new(format!("{DOCUMENT_PREFIX}{{id}}"), "document")
                .with_description("A document by id (source:external-id, e.g. jira:OPS-123): its text, structure and source")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let caller = self.caller(&ctx)?;
        let uri = request.uri.clone();
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let (json, text) = if let Some(id) = uri.strip_prefix(ENTITY_PREFIX) {
            let view = self.service.entity(&caller, &decode(id)).await.map_err(not_found)?;
            let w = wire::EntityAnswer::from(&view);
            (serde_json::to_string_pretty(&w), render::entity(&w))
        } else if let Some(id) = uri.strip_prefix(DOCUMENT_PREFIX) {
            let view = self.service.document(&caller, &decode(id)).await.map_err(not_found)?;
            let w = wire::DocumentAnswer::from(&view);
            (serde_json::to_string_pretty(&w), render::document(&w))
        } else {
            return Err(ErrorData::resource_not_found(
                format!("unknown resource {uri}; FFO serves {ENTITY_PREFIX}{{id}} and {DOCUMENT_PREFIX}{{id}}"),
                None,
            ));
        };
        let json = json.map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(json, uri.clone()).with_mime_type("application/json"),
            ResourceContents::text(text, uri),
        ])
        .into())
    }
}

fn not_found(e: QueryError) -> ErrorData {
    match e {
        QueryError::UnknownEntity { .. } | QueryError::UnknownDocument { .. } | QueryError::Ambiguous { .. } => {
            ErrorData::resource_not_found(e.to_string(), None)
        }
        QueryError::BadRequest(_) => ErrorData::invalid_params(e.to_string(), None),
        other => ErrorData::internal_error(wire::ErrorAnswer::from(&other).message, None),
    }
}

/// Serves MCP over stdin/stdout until the client closes it. Logs go to stderr.
pub async fn serve_stdio(service: Arc<Service>, caller: Caller) -> anyhow::Result<()> {
    use rmcp::ServiceExt;
    let server = FfoMcp::new(service, Some(caller)).serve(rmcp::transport::stdio()).await?;
    server.waiting().await?;
    Ok(())
}

/// A router serving the streamable HTTP transport at `/mcp`. Stateless: no
/// session outlives a request, so any replica answers any request and a
/// restart never strands a client. The `Host` and `Origin` checks are the
/// HTTP face's, the same for every route: mount it only behind them.
pub fn router<S: Clone + Send + Sync + 'static>(service: Arc<Service>) -> axum::Router<S> {
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    let mcp: StreamableHttpService<
        FfoMcp,
        rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
    > = StreamableHttpService::new(move || Ok(FfoMcp::new(service.clone(), None)), Default::default(), config);
    axum::Router::new().nest_service("/mcp", mcp)
}
