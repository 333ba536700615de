//! The shapes a Jira file or response comes in: search pages (REST v2
//! `startAt/total`, agile `isLast`, v3 `/search/jql` `nextPageToken`), one
//! issue (`key` + `fields`), a webhook payload, or a bare array of issues.
//! Issues are kept as raw JSON slices so that each can be measured against
//! the per-document limit before it is parsed. Knows nothing of the ledger.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a file or response holds, once recognised as carrying issues.
#[derive(Debug)]
pub struct Export<'a> {
    pub items: Vec<Item<'a>>,
    /// The response-level `names` map (field id → display name) from
    /// `expand=names`; a single-issue response carries it inside the issue.
    pub names: Option<Map<String, Value>>,
    pub paging: Paging,
}

/// One issue of an export.
#[derive(Debug)]
pub enum Item<'a> {
    /// An issue to ingest, as the source sent it.
    Issue(&'a RawValue),
    /// A `jira:issue_deleted` webhook: the issue that went, and when.
    Deleted { issue: &'a RawValue, at: Option<DateTime<Utc>> },
}

/// Where a search page sits in its result set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub start_at: Option<u64>,
    pub total: Option<u64>,
    pub is_last: Option<bool>,
    pub next_page_token: Option<String>,
}

/// Why a file carries nothing to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotIssues {
    /// A Jira response that is not about whole issues (comments, a field
    /// list, a changelog, a comment webhook): passed over on purpose.
    Other(String),
    /// Not JSON, or JSON that is not a Jira response FFO knows.
    Unrecognised(String),
}

/// Recognises the shape of `bytes`.
pub fn read(bytes: &[u8]) -> Result<Export<'_>, NotIssues> {
    let top: &RawValue =
        serde_json::from_slice(bytes).map_err(|e| NotIssues::Unrecognised(format!("not JSON: {e}")))?;
    let text = top.get();
    if text.starts_with('[') {
        return array(top);
    }
    if !text.starts_with('{') {
        return Err(NotIssues::Unrecognised("a JSON value that is not an object; expected a Jira response".into()));
    }
    let map: BTreeMap<String, &RawValue> = serde_json::from_str(text)
        .map_err(|e| NotIssues::Unrecognised(format!("not a JSON object Jira sends: {e}")))?;
    object(top, &map)
}

fn object<'a>(top: &'a RawValue, map: &BTreeMap<String, &'a RawValue>) -> Result<Export<'a>, NotIssues> {
    let has = |k: &str| map.contains_key(k);
    if let Some(event) = map.get("webhookEvent") {
        return webhook(&parse_or(event, String::new()), map);
    }
    if let Some(issues) = map.get("issues") {
        let items: Vec<&RawValue> = serde_json::from_str(issues.get()).map_err(|_| {
            NotIssues::Unrecognised("`issues` is not an array; expected a search response's list of issues".into())
        })?;
        return Ok(Export {
            items: items.into_iter().map(Item::Issue).collect(),
            names: map.get("names").and_then(|n| parse_or::<Option<Map<String, Value>>>(n, None)),
            paging: Paging {
                start_at: map.get("startAt").and_then(|v| parse_or(v, None)),
                total: map.get("total").and_then(|v| parse_or(v, None)),
                is_last: map.get("isLast").and_then(|v| parse_or(v, None)),
                next_page_token: map.get("nextPageToken").and_then(|v| parse_or(v, None)),
            },
        });
    }
    if has("key") || has("fields") {
        // One issue (GET /issue/{key}); a missing part is the issue's fault,
        // reported when it is converted.
        return Ok(Export { items: vec![Item::Issue(top)], names: None, paging: Paging::default() });
    }
    if let Some(messages) = map.get("errorMessages") {
        let messages: Vec<String> = parse_or(messages, Vec::new());
        return Err(NotIssues::Unrecognised(format!("a Jira error response: {}", messages.join("; "))));
    }
    let other = |what: &str| Err(NotIssues::Other(format!("{what}; not an issue, passed over")));
    if has("comments") {
        return other("a comment list (GET /issue/{key}/comment) without its issue");
    }
    if has("values") && (has("isLast") || has("startAt")) {
        return other("a paged list of `values` (an issue's changelog or worklog) without its issue");
    }
    if has("content") && map.get("type").is_some_and(|t| t.get() == "\"doc\"") {
        return other("a bare Atlassian Document Format document, without an issue key or fields");
    }
    if has("type") && (has("inwardIssue") || has("outwardIssue")) {
        return other("one issue link (GET /issueLink/{id})");
    }
    let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
    Err(NotIssues::Unrecognised(format!(
        "not a Jira issue, search response or webhook (top-level keys: {}); expected `issues`, `key` and `fields`, or `webhookEvent` and `issue`",
        keys.join(", ")
    )))
}

fn webhook<'a>(event: &str, map: &BTreeMap<String, &'a RawValue>) -> Result<Export<'a>, NotIssues> {
    let Some(issue) = map.get("issue").copied() else {
        return Err(NotIssues::Other(format!("a {event:?} webhook without an issue; passed over")));
    };
    let items = match event {
        "jira:issue_deleted" => {
            let at = map.get("timestamp").and_then(|t| parse_or::<Option<i64>>(t, None));
            vec![Item::Deleted { issue, at: at.and_then(DateTime::from_timestamp_millis) }]
        }
        e if e.starts_with("jira:issue_") => vec![Item::Issue(issue)],
        // Comment, worklog and link events carry only part of the issue
        // (Cloud sends summary, type and status): writing it would replace
        // the whole issue with a stub.
        _ => {
            return Err(NotIssues::Other(format!(
                "a {event:?} webhook carries only part of its issue; passed over (jira:issue_* events and pulls carry whole issues)"
            )));
        }
    };
    Ok(Export { items, names: None, paging: Paging::default() })
}

/// A top-level array: issues (some exports are a bare list), or a list
/// Jira returns for something else.
fn array(top: &RawValue) -> Result<Export<'_>, NotIssues> {
    let items: Vec<&RawValue> = serde_json::from_str(top.get())
        .map_err(|e| NotIssues::Unrecognised(format!("not a JSON array Jira sends: {e}")))?;
    let Some(first) = items.first() else {
        return Err(NotIssues::Other("an empty JSON array; nothing to ingest".into()));
    };
    let keys: BTreeMap<String, &RawValue> = serde_json::from_str(first.get()).unwrap_or_default();
    let has = |k: &str| keys.contains_key(k);
    if has("key") && has("fields") {
        return Ok(Export {
            items: items.into_iter().map(Item::Issue).collect(),
            names: None,
            paging: Paging::default(),
        });
    }
    let what = if has("clauseNames") || (has("custom") && has("schema")) {
        "a field list (GET /field)"
    } else if has("globalId") || has("application") || (has("object") && has("relationship")) {
        "a list of remote links (GET /issue/{key}/remotelink)"
    } else {
        return Err(NotIssues::Unrecognised(format!(
            "a JSON array of {} items that are not issues (no `key` and `fields`)",
            items.len()
        )));
    };
    Err(NotIssues::Other(format!("{what}; not issues, passed over")))
}

fn parse_or<T: serde::de::DeserializeOwned>(raw: &RawValue, default: T) -> T {
    serde_json::from_str(raw.get()).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_pages_of_each_kind() {
        let v3 = br#"{"issues":[{"key":"A-1","fields":{}}],"nextPageToken":"CAEaAggD","isLast":false}"#;
        let e = read(v3).unwrap();
        assert_eq!(e.items.len(), 1);
        assert_eq!(e.paging.next_page_token.as_deref(), Some("CAEaAggD"));
        assert_eq!(e.paging.is_last, Some(false));
        let v2 = br#"{"startAt":4,"maxResults":4,"total":10,"issues":[],"names":{"customfield_1":"Affected"}}"#;
        let e = read(v2).unwrap();
        assert_eq!((e.paging.start_at, e.paging.total), (Some(4), Some(10)));
        assert_eq!(e.names.unwrap()["customfield_1"], "Affected");
    }

    #[test]
    fn single_issues_webhooks_and_arrays() {
        let one = br#"{"key":"A-1","fields":{"summary":"x"}}"#;
        assert!(matches!(read(one).unwrap().items[..], [Item::Issue(raw)] if raw.get().len() == one.len()));
        let deleted = br#"{"timestamp":1562176000000,"webhookEvent":"jira:issue_deleted","issue":{"key":"A-1"}}"#;
        let e = read(deleted).unwrap();
        assert!(matches!(&e.items[..], [Item::Deleted { at: Some(t), .. }] if t.timestamp() == 1562176000));
        let list = br#"[{"key":"A-1","fields":{}},{"key":"A-2","fields":{}}]"#;
        assert_eq!(read(list).unwrap().items.len(), 2);
    }

    #[test]
    fn other_jira_responses_are_passed_over_and_the_rest_is_unrecognised() {
        let other = |b: &[u8]| match read(b) {
            Err(NotIssues::Other(m)) => m,
            r => panic!("{r:?}"),
        };
        assert!(other(br#"{"startAt":0,"comments":[]}"#).contains("comment list"));
        assert!(other(br#"{"type":"doc","version":1,"content":[]}"#).contains("Document Format"));
        assert!(other(br#"{"webhookEvent":"comment_created","comment":{}}"#).contains("without an issue"));
        assert!(other(br#"{"webhookEvent":"comment_created","issue":{"key":"A-1"}}"#).contains("only part"));
        assert!(other(br#"[{"id":"x","clauseNames":[]}]"#).contains("field list"));
        let unknown = |b: &[u8]| matches!(read(b), Err(NotIssues::Unrecognised(_)));
        assert!(unknown(b"{\"hello\": 1}"));
        assert!(unknown(b"not json"));
        assert!(unknown(b"[1, 2]"));
        assert!(unknown(br#"{"errorMessages":["Issue does not exist"],"errors":{}}"#));
    }
}
