//! Reading Confluence REST JSON: which shape a response has (a list of
//! content, one page, spaces, search results, an object of named responses)
//! and the fields of one page or blog post, REST v1 and v2 alike. Pure: no
//! I/O, no ledger, no configuration.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::model::time::parse_time;

/// What a JSON value is, as far as Confluence ingest is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape<'a> {
    /// `results` of content (`/rest/api/content`, `/content/search`,
    /// `/api/v2/pages`), or a bare array of content.
    List {
        items: &'a [Value],
        links: Links<'a>,
    },
    /// One content object (`/rest/api/content/{id}`, `/api/v2/pages/{id}`).
    Single(&'a Value),
    /// One space or a list of spaces.
    Spaces(usize),
    /// Search results (`/rest/api/search`, `/api/v2/search`): excerpts that
    /// wrap a content summary, not content.
    Search(usize),
    /// An object whose values are responses of their own (a test suite's
    /// named mocks).
    Named(Vec<(&'a str, &'a Value)>),
    Unknown,
}

/// A list response's `_links`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Links<'a> {
    pub base: Option<&'a str>,
    pub context: Option<&'a str>,
    pub next: Option<&'a str>,
}

impl<'a> Links<'a> {
    pub fn of(v: &'a Value) -> Links<'a> {
        let link = |k: &str| v.get("_links").and_then(|l| l.get(k)).and_then(Value::as_str).filter(|s| !s.is_empty());
        Links { base: link("base"), context: link("context"), next: link("next") }
    }
}

/// Tells what a JSON value is.
pub fn shape(v: &Value) -> Shape<'_> {
    let map = match v {
        Value::Array(items) => return Shape::List { items, links: Links::default() },
        Value::Object(map) => map,
        _ => return Shape::Unknown,
    };
    if let Some(Value::Array(items)) = map.get("results") {
        if !items.is_empty() && items.iter().all(is_search_hit) {
            return Shape::Search(items.len());
        }
        if !items.is_empty() && items.iter().all(is_space) {
            return Shape::Spaces(items.len());
        }
        return Shape::List { items, links: Links::of(v) };
    }
    if is_space(v) {
        return Shape::Spaces(1);
    }
    if is_content(map) {
        return Shape::Single(v);
    }
    let named: Vec<(&str, &Value)> = map.iter().filter(|(_, x)| x.is_object()).map(|(k, x)| (k.as_str(), x)).collect();
    if !named.is_empty() && named.len() == map.len() && named.iter().any(|(_, x)| shape(x) != Shape::Unknown) {
        return Shape::Named(named);
    }
    Shape::Unknown
}

fn is_content(map: &Map<String, Value>) -> bool {
    map.contains_key("id")
        && ["title", "type", "spaceId", "body", "version", "status"].iter().any(|k| map.contains_key(*k))
}

fn is_space(v: &Value) -> bool {
    v.get("key").is_some_and(Value::is_string) && v.get("name").is_some() && v.get("title").is_none()
}

fn is_search_hit(v: &Value) -> bool {
    v.get("content").is_some_and(Value::is_object) && v.get("id").is_none() && v.get("body").is_none()
}

/// What one item of a content list is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A page or a blog post (v1 `type` page/blogpost; v2 items carry no type).
    Document,
    /// Content that is not a document: an attachment, a comment, ...
    Other(String),
}

/// Classifies a content item by its v1 `type`.
pub fn item(v: &Value) -> Result<Item, PageError> {
    if !v.is_object() {
        return Err(PageError::NotObject { found: type_name(v) });
    }
    match v.get("type") {
        None | Some(Value::Null) => Ok(Item::Document),
        Some(Value::String(t)) if t == "page" || t == "blogpost" => Ok(Item::Document),
        Some(Value::String(t)) => Ok(Item::Other(t.clone())),
        Some(other) => Err(wrong("type", other, "a string")),
    }
}

/// A page's body as the response carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// `body.storage.value`: storage-format XHTML.
    Storage(String),
    /// `body.view` / `body.export_view` / `body.styled_view`: rendered HTML,
    /// read by the same converter.
    View(String),
    /// No representation with a value (v1 `_expandable` only, v2 without
    /// `body-format`).
    Missing,
}

/// The fields of one page or blog post.
#[derive(Debug, Clone, PartialEq)]
pub struct PageFields {
    pub id: String,
    pub title: Option<String>,
    pub status: Option<String>,
    /// v1 `space.key`; v2 `spaceId`.
    pub space: Option<String>,
    /// v1 `ancestors[]` as (id, title), root first.
    pub ancestors: Vec<(Option<String>, String)>,
    /// v2 `parentId`.
    pub parent_id: Option<String>,
    pub version: Option<u64>,
    pub author: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    /// `_links.webui`, relative to the base.
    pub webui: Option<String>,
    /// The page's own `_links.base`.
    pub links_base: Option<String>,
    /// The base implied by `_links.self` (`…/wiki/rest/api/content/1` → `…/wiki`).
    pub self_base: Option<String>,
    /// `None` when the response did not include labels.
    pub labels: Option<Vec<String>>,
    /// The `alerts` content property (v1 `metadata.properties.alerts`, v2
    /// `properties` with key `alerts`).
    pub alert_property: Vec<String>,
    pub body: Body,
}

impl PageFields {
    /// A page known only by its id.
    pub fn new(id: String) -> PageFields {
        PageFields {
            id,
            title: None,
            status: None,
            space: None,
            ancestors: Vec::new(),
            parent_id: None,
            version: None,
            author: None,
            created: None,
            updated: None,
            webui: None,
            links_base: None,
            self_base: None,
            labels: None,
            alert_property: Vec::new(),
            body: Body::Missing,
        }
    }
}

/// Why one page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("is {found}, not a content object")]
    NotObject { found: &'static str },
    #[error("has no id")]
    NoId,
    #[error("{field} is {found}, expected {expected}")]
    WrongType { field: String, found: &'static str, expected: &'static str },
    #[error(
        "the body is {size} bytes, over the {limit}-byte limit for one document; raise FFO_MAX_DOCUMENT_BYTES to ingest it"
    )]
    TooLarge { size: usize, limit: u64 },
    #[error("the body cannot be read: {0}")]
    Storage(#[from] crate::ingest::markup::storage::StorageError),
}

/// The page's id, if it has a usable one (for naming it in a report).
pub fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) if n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a page or blog post, v1 or v2. Fields of the wrong type are
/// errors; fields that are absent are `None`.
pub fn fields(v: &Value) -> Result<PageFields, PageError> {
    let id = match v.get("id") {
        None | Some(Value::Null) => return Err(PageError::NoId),
        Some(_) => id_of(v).ok_or_else(|| wrong("id", &v["id"], "a string or a number"))?,
    };
    let author = first_str(
        v,
        &[
            &["history", "createdBy", "displayName"],
            &["history", "createdBy", "publicName"],
            &["history", "createdBy", "username"],
            &["version", "by", "displayName"],
            &["version", "by", "publicName"],
            &["authorId"],
            &["version", "authorId"],
        ],
    )?;
    let created = first_str(v, &[&["history", "createdDate"], &["createdAt"]])?;
    let updated =
        first_str(v, &[&["version", "when"], &["version", "createdAt"], &["history", "lastUpdated", "when"]])?;
    Ok(PageFields {
        title: str_at(v, &["title"])?.map(str::to_string),
        status: str_at(v, &["status"])?.map(str::to_string),
        space: match str_at(v, &["space", "key"])? {
            Some(key) => Some(key.to_string()),
            None => id_at(v, "spaceId")?,
        },
        ancestors: ancestors(v)?,
        parent_id: id_at(v, "parentId")?,
        version: version(v)?,
        author: author.map(str::to_string),
        created: created.and_then(parse_time),
        updated: updated.and_then(parse_time),
        webui: str_at(v, &["_links", "webui"])?.map(str::to_string),
        links_base: str_at(v, &["_links", "base"])?.map(|b| b.trim_end_matches('/').to_string()),
        self_base: str_at(v, &["_links", "self"])?.and_then(base_of_api_url),
        labels: labels(v)?,
        alert_property: alert_property(v)?,
        body: body(v)?,
        id,
    })
}

/// The base URL in front of a REST URL: `https://x/wiki/rest/api/content/1`
/// and `https://x/wiki/api/v2/pages/1` both give `https://x/wiki`.
pub fn base_of_api_url(url: &str) -> Option<String> {
    ["/rest/api/", "/api/v2/"].iter().find_map(|marker| url.find(marker).map(|i| url[..i].to_string()))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |node, key| node.get(key))
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<Option<&'a str>, PageError> {
    match get(v, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str()).filter(|s| !s.trim().is_empty())),
        Some(other) => Err(wrong(&path.join("."), other, "a string")),
    }
}

fn first_str<'a>(v: &'a Value, paths: &[&[&str]]) -> Result<Option<&'a str>, PageError> {
    for path in paths {
        if let Some(s) = str_at(v, path)? {
            return Ok(Some(s));
        }
    }
    Ok(None)
}

/// An id field: v2 sends strings, some servers numbers.
fn id_at(v: &Value, key: &str) -> Result<Option<String>, PageError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) if n.is_u64() => Ok(Some(n.to_string())),
        Some(other) => Err(wrong(key, other, "a string or a number")),
    }
}

fn version(v: &Value) -> Result<Option<u64>, PageError> {
    match get(v, &["version", "number"]) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
        Some(Value::String(s)) if s.trim().parse::<u64>().is_ok() => Ok(s.trim().parse().ok()),
        Some(other) => Err(wrong("version.number", other, "a whole number")),
    }
}

fn ancestors(v: &Value) -> Result<Vec<(Option<String>, String)>, PageError> {
    match v.get("ancestors") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, a) in items.iter().enumerate() {
                match a.get("title") {
                    Some(Value::String(t)) if !t.trim().is_empty() => out.push((id_of(a), t.trim().to_string())),
                    None | Some(Value::Null) => {}
                    Some(other) => return Err(wrong(&format!("ancestors[{i}].title"), other, "a string")),
                }
            }
            Ok(out)
        }
        Some(other) => Err(wrong("ancestors", other, "a list")),
    }
}

/// Label names: v1 `metadata.labels.results`, v2 `labels.results`.
fn labels(v: &Value) -> Result<Option<Vec<String>>, PageError> {
    let (field, list) = match (get(v, &["metadata", "labels"]), v.get("labels")) {
        (Some(l), _) => ("metadata.labels", l),
        (None, Some(l)) => ("labels", l),
        (None, None) => return Ok(None),
    };
    let results = match list {
        Value::Null => return Ok(None),
        Value::Array(items) => items,
        Value::Object(_) => match list.get("results") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => return Ok(None),
            Some(other) => return Err(wrong(&format!("{field}.results"), other, "a list")),
        },
        other => return Err(wrong(field, other, "an object with results")),
    };
    let mut out: Vec<String> = Vec::new();
    for (i, l) in results.iter().enumerate() {
        match l.get("name").or_else(|| l.get("label")) {
            Some(Value::String(name)) if !name.trim().is_empty() => {
                if !out.iter().any(|n| n == name.trim()) {
                    out.push(name.trim().to_string());
                }
            }
            None | Some(Value::Null) => {}
            Some(other) => return Err(wrong(&format!("{field}.results[{i}].name"), other, "a string")),
        }
    }
    Ok(Some(out))
}

/// The `alerts` content property: a string (comma-separated) or a list.
fn alert_property(v: &Value) -> Result<Vec<String>, PageError> {
    let value = get(v, &["metadata", "properties", "alerts", "value"]).or_else(|| {
        get(v, &["properties", "results"])
            .and_then(Value::as_array)
            .and_then(|props| props.iter().find(|p| p.get("key").and_then(Value::as_str) == Some("alerts")))
            .and_then(|p| p.get("value"))
    });
    let names = |s: &str| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(names(s)),
        Some(Value::Array(items)) => Ok(items.iter().filter_map(Value::as_str).flat_map(names).collect()),
        Some(other) => Err(wrong("property alerts", other, "a string or a list of strings")),
    }
}

fn body(v: &Value) -> Result<Body, PageError> {
    if let Some(s) = representation(v, "storage")? {
        return Ok(Body::Storage(s));
    }
    for rep in ["view", "export_view", "styled_view"] {
        if let Some(s) = representation(v, rep)? {
            return Ok(Body::View(s));
        }
    }
    Ok(Body::Missing)
}

/// `body.{rep}.value`, when that representation carries a value.
fn representation(v: &Value, rep: &str) -> Result<Option<String>, PageError> {
    match get(v, &["body", rep, "value"]) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong(&format!("body.{rep}.value"), other, "a string")),
    }
}

fn wrong(field: &str, found: &Value, expected: &'static str) -> PageError {
    PageError::WrongType { field: field.to_string(), found: type_name(found), expected }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_of_rest_responses() {
        let list = json!({
            "results": [{"id": "1", "type": "page", "title": "A"}],
            "_links": {"base": "https://x/wiki", "next": "/rest/api/content?start=1"}
        });
        match shape(&list) {
            Shape::List { items, links } => {
                assert_eq!(items.len(), 1);
                assert_eq!(links.base, Some("https://x/wiki"));
                assert_eq!(links.next, Some("/rest/api/content?start=1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(shape(&json!({"id": "2", "title": "B", "spaceId": "9"})), Shape::Single(_)));
        assert_eq!(shape(&json!({"id": "9", "key": "OPS", "name": "Ops"})), Shape::Spaces(1));
        assert_eq!(shape(&json!({"results": [{"id": "9", "key": "OPS", "name": "Ops"}]})), Shape::Spaces(1));
        assert_eq!(
            shape(&json!({"results": [{"content": {"id": "1"}, "excerpt": "x"}, {"content": {"id": "2"}}]})),
            Shape::Search(2)
        );
        let named = json!({"PAGE": {"id": "1", "title": "A"}, "SPACE": {"id": "2", "key": "K", "name": "N"}});
        match shape(&named) {
            Shape::Named(entries) => assert_eq!(entries.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(shape(&json!({"foo": 1})), Shape::Unknown);
        assert_eq!(shape(&json!({"a": {"b": 1}})), Shape::Unknown);
        assert_eq!(shape(&json!("text")), Shape::Unknown);
        assert!(matches!(shape(&json!([])), Shape::List { .. }));
    }

    #[test]
    fn items_by_type() {
        assert_eq!(item(&json!({"id": "1", "type": "page"})).unwrap(), Item::Document);
        assert_eq!(item(&json!({"id": "1", "type": "blogpost"})).unwrap(), Item::Document);
        assert_eq!(item(&json!({"id": "1", "title": "v2 page"})).unwrap(), Item::Document);
        assert_eq!(item(&json!({"id": "1", "type": "attachment"})).unwrap(), Item::Other("attachment".into()));
        assert!(item(&json!({"id": "1", "type": 3})).is_err());
        assert!(item(&json!("page")).is_err());
    }

    #[test]
    fn v1_fields() {
        let page = json!({
            "id": "458753", "type": "page", "status": "current", "title": "Postmortem: checkout",
            "space": {"id": 98305, "key": "OPS"},
            "history": {"createdBy": {"displayName": "Hugo Martin"}, "createdDate": "2026-01-20T10:14:22.512Z"},
            "version": {"by": {"displayName": "Alice Nguyen"}, "when": "2026-01-27T16:40:03.918Z", "number": 3},
            "ancestors": [{"id": "1", "title": "Operations Home"}, {"id": "2", "title": "Postmortems"}],
            "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
            "metadata": {"labels": {"results": [{"name": "postmortem"}, {"name": "sev1"}]},
                         "properties": {"alerts": {"key": "alerts", "value": ["HighHttpErrorRate", "X, Y"]}}},
            "extensions": {"position": "none"},
            "_links": {
                "webui": "/spaces/OPS/pages/458753/P",
                "self": "https://x.atlassian.net/wiki/rest/api/content/458753"
            }
        });
        let f = fields(&page).unwrap();
        assert_eq!(f.id, "458753");
        assert_eq!(f.title.as_deref(), Some("Postmortem: checkout"));
        assert_eq!(f.space.as_deref(), Some("OPS"));
        assert_eq!(f.author.as_deref(), Some("Hugo Martin"));
        assert_eq!(f.version, Some(3));
        assert_eq!(f.created.map(|t| t.to_rfc3339()).as_deref(), Some("2026-01-20T10:14:22.512+00:00"));
        assert_eq!(f.updated.map(|t| t.date_naive().to_string()).as_deref(), Some("2026-01-27"));
        let titles: Vec<&str> = f.ancestors.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(titles, vec!["Operations Home", "Postmortems"]);
        assert_eq!(f.ancestors[1].0.as_deref(), Some("2"));
        assert_eq!(f.labels, Some(vec!["postmortem".to_string(), "sev1".to_string()]));
        assert_eq!(f.alert_property, vec!["HighHttpErrorRate", "X", "Y"]);
        assert_eq!(f.self_base.as_deref(), Some("https://x.atlassian.net/wiki"));
        assert_eq!(f.body, Body::Storage("<p>x</p>".into()));
    }

    #[test]
    fn v2_fields() {
        let page = json!({
            "id": "557057", "status": "current", "title": "Runbook", "spaceId": "98305", "parentId": "393246",
            "authorId": "5f8a", "createdAt": "2026-01-26T15:45:10.420Z",
            "version": {"number": 4, "authorId": "5f8b", "createdAt": "2026-10-23T10:02:33.871Z"},
            "body": {"storage": {"representation": "storage", "value": "<h1>R</h1>"}},
            "labels": {"results": [{"id": "1", "name": "runbook", "prefix": "global"}], "meta": {"hasMore": false}},
            "properties": {"results": [{"key": "alerts", "value": "RedisEvictionsHigh"}]},
            "_links": {"webui": "/spaces/OPS/pages/557057/Runbook"}
        });
        let f = fields(&page).unwrap();
        assert_eq!(f.space.as_deref(), Some("98305"));
        assert_eq!(f.parent_id.as_deref(), Some("393246"));
        assert_eq!(f.author.as_deref(), Some("5f8a"));
        assert_eq!(f.version, Some(4));
        assert_eq!(f.updated.map(|t| t.date_naive().to_string()).as_deref(), Some("2026-10-23"));
        assert_eq!(f.labels, Some(vec!["runbook".to_string()]));
        assert_eq!(f.alert_property, vec!["RedisEvictionsHigh"]);
        assert!(f.ancestors.is_empty());
        // No labels asked for: unknown, not empty.
        let bare = fields(&json!({"id": 12345, "title": "T", "version": {"number": "2"}})).unwrap();
        assert_eq!(bare.id, "12345");
        assert_eq!(bare.labels, None);
        assert_eq!(bare.version, Some(2));
        assert_eq!(bare.body, Body::Missing);
    }

    #[test]
    fn bodies_fall_back_to_view_and_wrong_types_are_named() {
        let view = json!({"id": "1", "body": {"storage": {"_expandable": {}}, "view": {"value": "<h2>V</h2>"}}});
        assert_eq!(fields(&view).unwrap().body, Body::View("<h2>V</h2>".into()));
        let expandable = json!({"id": "1", "body": {"_expandable": {"storage": ""}}});
        assert_eq!(fields(&expandable).unwrap().body, Body::Missing);
        let err = |v: Value| fields(&v).unwrap_err().to_string();
        assert_eq!(err(json!({"title": "x"})), "has no id");
        assert_eq!(err(json!({"id": true})), "id is a boolean, expected a string or a number");
        assert_eq!(
            err(json!({"id": "1", "body": {"storage": {"value": 42}}})),
            "body.storage.value is a number, expected a string"
        );
        assert_eq!(err(json!({"id": "1", "title": ["x"]})), "title is a list, expected a string");
        assert_eq!(
            err(json!({"id": "1", "version": {"number": "three"}})),
            "version.number is a string, expected a whole number"
        );
        assert_eq!(err(json!({"id": "1", "ancestors": {}})), "ancestors is an object, expected a list");
    }

    #[test]
    fn base_from_self_links() {
        assert_eq!(
            base_of_api_url("https://x.atlassian.net/wiki/api/v2/pages/1").as_deref(),
            Some("https://x.atlassian.net/wiki")
        );
        assert_eq!(
            base_of_api_url("https://dc.example.com/rest/api/content/1").as_deref(),
            Some("https://dc.example.com")
        );
        assert_eq!(base_of_api_url("https://x/elsewhere"), None);
    }
}
