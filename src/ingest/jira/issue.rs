//! One Jira issue (REST v2 or v3, from a search page, a single GET or a
//! webhook) to a [`HistoryDoc`]: kind from the issue type, severity from the
//! priority, text from wiki markup (v2) or ADF (v3) plus the comments, the
//! entities from the mapped fields, links from issue links, sub-tasks and
//! parent. Pure: knows nothing of files, HTTP or the ledger.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::change;
use crate::ingest::config::{JiraMapping, lookup};
use crate::ingest::document::HistoryDoc;
use crate::ingest::markup::{adf, structure, wiki};
use crate::model::time::{parse_time, rfc3339};
use crate::model::{DocId, DocKind, Source};

/// An issue converted, with what was odd about it.
#[derive(Debug)]
pub struct Converted {
    pub doc: HistoryDoc,
    /// The issue's security level (`fields.security.name`), if it has one.
    pub security: Option<String>,
    /// Things worth a warning that did not stop the conversion.
    pub warnings: Vec<String>,
}

/// Why an issue could not be converted. `key` is set when the issue had one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub key: Option<String>,
    pub message: String,
}

/// What an issue is read against.
pub struct Context<'a> {
    pub mapping: &'a JiraMapping,
    /// The response-level `names` map (`expand=names`), if any.
    pub names: Option<&'a Map<String, Value>>,
    /// The site to link to when the issue has no `self` URL (a live pull
    /// knows its base URL; a file does not).
    pub site: Option<&'a str>,
}

/// Converts one issue, given as the JSON text the source sent.
pub fn convert(raw: &str, cx: &Context<'_>) -> Result<Converted, Malformed> {
    let issue: Value =
        serde_json::from_str(raw).map_err(|e| Malformed { key: None, message: format!("not JSON: {e}") })?;
    let key = key_of(&issue).map_err(|message| Malformed { key: None, message })?;
    let bad = |message: String| Malformed { key: Some(key.to_string()), message };
    let fields = match issue.get("fields") {
        Some(Value::Object(f)) => f,
        Some(other) => return Err(bad(format!("`fields` is {}, expected an object", type_name(other)))),
        None => return Err(bad("no `fields`; expected the issue's fields object".into())),
    };
    let doc = DocId::new(Source::Jira, key).map_err(|e| bad(e.to_string()))?;
    let mapping = cx.mapping;
    let mut warnings = Vec::new();

    let issue_type = name_in(fields.get("issuetype"));
    let mut kind = issue_type
        .as_deref()
        .and_then(|t| lookup(&mapping.kinds, t))
        .and_then(|k| k.parse::<DocKind>().ok())
        .unwrap_or(DocKind::Ticket);
    let title = match fields.get("summary") {
        None | Some(Value::Null) => key.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(bad(format!("`fields.summary` is {}, expected a string", type_name(other)))),
    };
    let description = match fields.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(v @ (Value::String(_) | Value::Object(_))) => markup(v),
        Some(other) => {
            return Err(bad(format!(
                "`fields.description` is {}, expected wiki text (REST v2) or an ADF document (v3)",
                type_name(other)
            )));
        }
    };
    let comments = comments(fields.get("comment")).map_err(bad)?;
    let labels = labels(fields.get("labels")).map_err(bad)?;
    let links = links(key, fields).map_err(bad)?;
    let text = body(&description, &comments);
    // An issue of another type is a policy or a change by its labels, or a
    // change when it is a task whose words describe one.
    if kind == DocKind::Ticket {
        kind = change::kind_by_labels(&labels, mapping)
            .or_else(|| {
                change::is_change_task(issue_type.as_deref(), &format!("{title}\n{text}"), mapping)
                    .then_some(DocKind::Change)
            })
            .unwrap_or(DocKind::Ticket);
    }

    let mut d = HistoryDoc::new(doc, kind, title);
    d.postmortem = structure::postmortem_from_text(&description);
    d.body = text;
    d.url = site_of(&issue).or(cx.site).map(|site| format!("{}/browse/{key}", site.trim_end_matches('/')));
    let mut time = |name: &str| time_field(fields, name, &mut warnings).map_err(bad);
    d.created = time("created")?;
    d.updated = time("updated")?;
    d.resolved = time("resolutiondate")?;
    d.severity = name_in(fields.get("priority"))
        .map(|p| lookup(&mapping.severity, &p).map(str::to_string).unwrap_or_else(|| p.to_lowercase()));
    d.status = name_in(fields.get("status"));
    d.author = fields.get("reporter").or_else(|| fields.get("creator")).and_then(person);
    d.version = match fields.get("updated") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let names = issue.get("names").and_then(Value::as_object).or(cx.names);
    d.named_entities = entity_names(fields, mapping, names);
    if kind == DocKind::Change {
        let read = change::Read {
            fields,
            names,
            title: &d.title,
            body: &d.body,
            status: d.status.as_deref(),
            created: d.created,
            updated: d.updated,
            resolved: d.resolved,
        };
        let (c, affected) = change::fields(&read, mapping, &mut warnings);
        d.change = Some(c);
        for name in affected {
            if !d.named_entities.contains(&name) {
                d.named_entities.push(name);
            }
        }
    }
    d.labels = labels;
    d.links = links;
    d.payload = raw.as_bytes().to_vec();
    let security = name_in(fields.get("security"));
    Ok(Converted { doc: d, security, warnings })
}

/// The issue's key: a non-empty string without spaces.
pub fn key_of(issue: &Value) -> Result<&str, String> {
    match issue.get("key") {
        Some(Value::String(k)) if !k.trim().is_empty() && !k.chars().any(char::is_whitespace) && k.len() <= 255 => {
            Ok(k)
        }
        Some(Value::String(k)) => Err(format!("the issue key {k:?} is not a Jira key (like OPS-123)")),
        Some(other) => Err(format!("`key` is {}, expected a string like OPS-123", type_name(other))),
        None if issue.is_object() => Err("no `key`; expected an issue key like OPS-123".into()),
        None => Err(format!("the issue is {}, expected an object with `key` and `fields`", type_name(issue))),
    }
}

/// The site an issue lives on: its `self` URL up to `/rest/`
/// (`http://localhost:2990/jira/rest/api/2/issue/1` → `http://localhost:2990/jira`).
pub fn site_of(issue: &Value) -> Option<&str> {
    let url = issue.get("self")?.as_str()?;
    let (site, _) = url.split_once("/rest/")?;
    (site.starts_with("http://") || site.starts_with("https://")).then_some(site)
}

/// The names the configured entity fields give: each field by id
/// (`components`, `customfield_10050`) or by display name through `names`.
pub fn entity_names(
    fields: &Map<String, Value>,
    mapping: &JiraMapping,
    names: Option<&Map<String, Value>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for field in &mapping.entity_fields {
        let field = field.trim();
        let mut ids: Vec<&str> = Vec::new();
        if fields.contains_key(field) {
            ids.push(field);
        } else if let Some(names) = names {
            ids.extend(
                names
                    .iter()
                    .filter(|(_, name)| name.as_str().is_some_and(|n| n.trim().eq_ignore_ascii_case(field)))
                    .map(|(id, _)| id.as_str()),
            );
        }
        for id in ids {
            if let Some(v) = fields.get(id) {
                values(v, 0, &mut out);
            }
        }
    }
    out
}

/// The names a field value carries: a string, a number, an option
/// (`{value}`, with a cascading `child`), a named object (`{name}`: a
/// component, project or user), or a list of those. Null gives nothing.
pub fn values(v: &Value, depth: usize, out: &mut Vec<String>) {
    let mut push = |s: String| {
        let s = s.trim().to_string();
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    match v {
        Value::Null | Value::Bool(_) => {}
        Value::String(s) => push(s.clone()),
        Value::Number(n) => push(n.to_string()),
        Value::Array(items) if depth < 3 => {
            for item in items {
                values(item, depth + 1, out);
            }
        }
        Value::Array(_) => {}
        Value::Object(o) => {
            if let Some(name) = ["value", "name", "displayName", "key"].iter().find_map(|k| scalar(o.get(*k))) {
                push(name);
            }
            if let Some(child) = o.get("child")
                && depth < 3
            {
                values(child, depth + 1, out);
            }
        }
    }
}

/// The description and the comments as one text: the description, then a
/// `## Comments` section with one `### Author — time` heading per comment.
fn body(description: &str, comments: &[Comment]) -> String {
    let mut out = description.trim().to_string();
    if comments.is_empty() {
        return out;
    }
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    out.push_str("## Comments");
    for c in comments {
        out.push_str("\n\n### ");
        out.push_str(&c.author);
        if let Some(at) = &c.created {
            out.push_str(" — ");
            out.push_str(at);
        }
        if !c.text.trim().is_empty() {
            out.push_str("\n\n");
            out.push_str(c.text.trim());
        }
    }
    out
}

struct Comment {
    author: String,
    created: Option<String>,
    text: String,
}

/// `fields.comment` as `{comments: [...]}` (every live API) or a bare
/// array (Atlassian's v3 documentation example).
fn comments(v: Option<&Value>) -> Result<Vec<Comment>, String> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(Value::Object(o)) => match o.get("comments") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(list)) => list,
            Some(other) => {
                return Err(format!("`fields.comment.comments` is {}, expected an array", type_name(other)));
            }
        },
        Some(other) => {
            return Err(format!("`fields.comment` is {}, expected an object with `comments`", type_name(other)));
        }
    };
    Ok(list
        .iter()
        .filter(|c| c.is_object())
        .map(|c| Comment {
            author: c.get("author").and_then(person).unwrap_or_else(|| "unknown".to_string()),
            created: c.get("created").and_then(Value::as_str).and_then(parse_time).map(rfc3339),
            text: c.get("body").map(markup).unwrap_or_default(),
        })
        .collect())
}

fn labels(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, l)| match l {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("`fields.labels[{i}]` is {}, expected a string", type_name(other))),
            })
            .collect(),
        Some(other) => Err(format!("`fields.labels` is {}, expected an array of strings", type_name(other))),
    }
}

/// Issue links (with the link type's name), sub-tasks and the parent, each
/// once; a link whose other side is empty (`outwardIssue: {}`) is skipped.
fn links(key: &str, fields: &Map<String, Value>) -> Result<Vec<(DocId, String)>, String> {
    let mut out: Vec<(DocId, String)> = Vec::new();
    let mut add = |other: Option<&str>, kind: &str| {
        let Some(other) = other.map(str::trim).filter(|k| !k.is_empty() && *k != key) else {
            return;
        };
        if let Ok(doc) = DocId::new(Source::Jira, other)
            && !out.iter().any(|(d, _)| *d == doc)
        {
            out.push((doc, kind.to_string()));
        }
    };
    match fields.get("issuelinks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for link in list {
                let kind = link.get("type").and_then(|t| t.get("name")).and_then(Value::as_str).unwrap_or("Relates");
                add(other_key(link), kind);
            }
        }
        Some(other) => return Err(format!("`fields.issuelinks` is {}, expected an array", type_name(other))),
    }
    // `subtasks` lists issues; the documentation's `sub-tasks` lists links.
    for name in ["subtasks", "sub-tasks"] {
        if let Some(Value::Array(list)) = fields.get(name) {
            for sub in list {
                add(sub.get("key").and_then(Value::as_str).or_else(|| other_key(sub)), "Sub-task");
            }
        }
    }
    add(fields.get("parent").and_then(|p| p.get("key")).and_then(Value::as_str), "Parent");
    Ok(out)
}

/// The key on the other side of a link: `inwardIssue` or `outwardIssue`.
fn other_key(link: &Value) -> Option<&str> {
    ["inwardIssue", "outwardIssue"].iter().find_map(|side| link.get(*side)?.get("key")?.as_str())
}

/// A timestamp field: Jira's `2026-02-11T14:02:11.000+0000`, or epoch
/// milliseconds. Unreadable values are warned about and left out.
fn time_field(
    fields: &Map<String, Value>,
    name: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<DateTime<Utc>>, String> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = parse_time(s);
            if t.is_none() {
                warnings.push(format!("`{name}` {s:?} is not a time; left out"));
            }
            Ok(t)
        }
        // Epoch milliseconds from this century; Atlassian's documentation
        // example has `"updated": 1`, which is not a time.
        Some(Value::Number(n)) => match n.as_i64().filter(|ms| *ms >= 946_684_800_000) {
            Some(ms) => Ok(DateTime::from_timestamp_millis(ms)),
            None => {
                warnings.push(format!("`{name}` is the number {n}, not a time; left out"));
                Ok(None)
            }
        },
        Some(other) => {
            Err(format!("`fields.{name}` is {}, expected a time like 2026-02-11T14:02:11.000+0000", type_name(other)))
        }
    }
}

/// Wiki markup (a string) or ADF (anything else) to text.
fn markup(v: &Value) -> String {
    match v {
        Value::String(s) => wiki::to_text(s),
        other => adf::to_text(other),
    }
}

/// The name of an issue type, priority or status: `{name}` or a bare string.
fn name_in(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => scalar(o.get("name")),
        _ => None,
    }
    .filter(|s| !s.trim().is_empty())
}

/// A user as people know them: display name, else user name, else account id.
fn person(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => ["displayName", "name", "accountId", "key"].iter().find_map(|k| scalar(o.get(*k))),
        _ => None,
    }
    .filter(|s| !s.trim().is_empty())
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingest::IngestConfig;

    fn mapping(entity_fields: &[&str]) -> JiraMapping {
        let mut m = IngestConfig::default().jira;
        m.entity_fields = entity_fields.iter().map(|s| s.to_string()).collect();
        m
    }

    fn run(issue: &Value, mapping: &JiraMapping) -> Result<Converted, Malformed> {
        convert(&issue.to_string(), &Context { mapping, names: None, site: None })
    }

    #[test]
    fn fields_of_a_v2_issue() {
        let issue = json!({
            "self": "http://localhost:2990/jira/rest/api/latest/issue/10000",
            "key": "OPS-1",
            "fields": {
                "summary": "checkout slow",
                "issuetype": {"name": "Incident"},
                "priority": {"name": "Highest"},
                "status": {"name": "Closed"},
                "reporter": {"name": "alice", "displayName": "Alice"},
                "created": "2011-12-14T10:26:06.030+1300",
                "updated": "2026-02-11T14:02:11.000+0000",
                "resolutiondate": null,
                "labels": ["sev1"],
                "components": [{"name": "checkout-api"}],
                "description": "h2. Root cause\r\nredis *evictions*",
                "comment": {"comments": [{"author": {"displayName": "Bob"}, "created": "2026-02-11T14:02:11.000+0000", "body": "h2. Root cause\nnot this"}]},
                "issuelinks": [
                    {"type": {"name": "Relates"}, "outwardIssue": {"key": "OPS-2"}},
                    {"type": {"name": "Blocks"}, "inwardIssue": {}},
                ],
                "subtasks": [{"key": "OPS-3"}],
                "parent": {"key": "OPS-0"}
            }
        });
        let c = run(&issue, &mapping(&["components", "labels"])).unwrap();
        let d = c.doc;
        assert_eq!(d.doc.to_string(), "jira:OPS-1");
        assert_eq!(d.kind, DocKind::Incident);
        assert_eq!(d.title, "checkout slow");
        assert_eq!(d.url.as_deref(), Some("http://localhost:2990/jira/browse/OPS-1"));
        assert_eq!(d.created.map(rfc3339).as_deref(), Some("2011-12-13T21:26:06Z"));
        assert_eq!(d.resolved, None);
        assert_eq!(d.severity.as_deref(), Some("sev1"));
        assert_eq!(d.status.as_deref(), Some("Closed"));
        assert_eq!(d.author.as_deref(), Some("Alice"));
        assert_eq!(d.version.as_deref(), Some("2026-02-11T14:02:11.000+0000"));
        assert_eq!(d.named_entities, vec!["checkout-api", "sev1"]);
        assert!(
            d.body.contains("## Comments\n\n### Bob — 2026-02-11T14:02:11Z\n\n## Root cause\n\nnot this"),
            "{}",
            d.body
        );
        assert_eq!(d.postmortem.root_cause, "redis evictions", "from the description only");
        let links: Vec<String> = d.links.iter().map(|(doc, kind)| format!("{doc} {kind}")).collect();
        assert_eq!(links, vec!["jira:OPS-2 Relates", "jira:OPS-3 Sub-task", "jira:OPS-0 Parent"]);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn a_v3_issue_with_adf_unknown_priority_and_no_self() {
        let issue = json!({"key": "T-1", "fields": {
            "summary": "x", "priority": {"name": "Urgent-ish"}, "issuetype": {"name": "Bug"},
            "description": {"type": "doc", "version": 1, "content": [
                {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Impact"}]},
                {"type": "paragraph", "content": [{"type": "text", "text": "all users"}]}]},
            "comment": [{"author": {"accountId": "5b10"}, "body": {"type": "doc", "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "adf comment"}]}]}}],
            "updated": 1
        }});
        let m = mapping(&[]);
        let c = convert(&issue.to_string(), &Context { mapping: &m, names: None, site: Some("https://x.example/") })
            .unwrap();
        assert_eq!(c.doc.kind, DocKind::Ticket);
        assert_eq!(c.doc.severity.as_deref(), Some("urgent-ish"));
        assert_eq!(c.doc.url.as_deref(), Some("https://x.example/browse/T-1"));
        assert_eq!(c.doc.postmortem.impact, "all users");
        assert!(
            c.doc.body.starts_with("## Impact\n\nall users\n\n## Comments\n\n### 5b10\n\nadf comment"),
            "{}",
            c.doc.body
        );
        assert_eq!(c.doc.updated, None);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn custom_field_value_shapes() {
        let fields = json!({
            "customfield_1": "checkout-api",
            "customfield_2": 42,
            "customfield_3": {"self": "x", "value": "redis-shared", "id": "1"},
            "customfield_4": [{"value": "a"}, {"value": "b"}, "c"],
            "customfield_5": null,
            "customfield_6": {"value": "parent", "child": {"value": "leaf"}},
            "customfield_7": {"key": "TST", "name": "Test Project"},
            "customfield_8": {"accountId": "5b10", "displayName": "Mia Krystof"},
            "components": [{"name": "web"}],
        });
        let fields = fields.as_object().unwrap();
        let all: Vec<String> = (1..=8).map(|i| format!("customfield_{i}")).collect();
        let m = mapping(&all.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            entity_names(fields, &m, None),
            vec!["checkout-api", "42", "redis-shared", "a", "b", "c", "parent", "leaf", "Test Project", "Mia Krystof"]
        );
        // By display name through `names`, case-insensitively.
        let names = json!({"customfield_3": "Affected service", "components": "Component/s"});
        let m = mapping(&["affected SERVICE", "Component/s", "No such field"]);
        assert_eq!(entity_names(fields, &m, names.as_object()), vec!["redis-shared", "web"]);
    }

    #[test]
    fn malformed_issues_say_what_is_wrong() {
        let m = mapping(&[]);
        let err = |v: Value| run(&v, &m).unwrap_err();
        assert_eq!(err(json!({"fields": {}})).key, None);
        assert!(err(json!({"key": 7, "fields": {}})).message.contains("`key` is a number"));
        let e = err(json!({"key": "A-1", "fields": "x"}));
        assert_eq!(e.key.as_deref(), Some("A-1"));
        assert!(e.message.contains("`fields` is a string"), "{}", e.message);
        assert!(err(json!({"key": "A-1"})).message.contains("no `fields`"));
        assert!(err(json!({"key": "A-1", "fields": {"summary": ["x"]}})).message.contains("summary"));
        assert!(err(json!({"key": "A-1", "fields": {"labels": [1]}})).message.contains("labels[0]"));
        assert!(err(json!({"key": "A-1", "fields": {"description": 3}})).message.contains("description"));
        assert!(err(json!({"key": "A-1", "fields": {"created": true}})).message.contains("created"));
        assert!(err(json!({"key": "A 1", "fields": {}})).message.contains("not a Jira key"));
    }

    #[test]
    fn site_is_the_self_url_before_rest() {
        let site = |s: &str| site_of(&json!({"self": s})).map(str::to_string);
        assert_eq!(
            site("https://larkspur.atlassian.net/rest/api/3/issue/1").as_deref(),
            Some("https://larkspur.atlassian.net")
        );
        assert_eq!(site("https://x.example/rest/agile/1.0/issue/123").as_deref(), Some("https://x.example"));
        assert_eq!(
            site("http://localhost:2990/jira/rest/api/latest/issue/TST-1").as_deref(),
            Some("http://localhost:2990/jira")
        );
        assert_eq!(site("not a url/rest/x"), None);
        assert_eq!(site_of(&json!({"key": "A-1"})), None);
    }
}
