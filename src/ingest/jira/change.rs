//! A Jira issue as a change or a policy: change issue types (`[System]
//! Change`, `Change Request`, ...), tasks labelled as changes or whose title
//! and text describe an applied or scheduled change, issues labelled as
//! policies; and the Jira Service Management change fields (planned start
//! and end, change type, risk, affected services), found by field name
//! through the export's `names` map or by id. Pure: knows nothing of files,
//! HTTP or the ledger.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::issue::values;
use crate::ingest::config::{JiraMapping, lookup};
use crate::model::change_text::{change_type_of, describes_change, schedule_in_text, status_from_words, times_in_text};
use crate::model::time::parse_time;
use crate::model::{ChangeFields, ChangeStatus, ChangeType, DocKind};

/// The kind an issue's labels give it, a policy before a change.
pub fn kind_by_labels(labels: &[String], mapping: &JiraMapping) -> Option<DocKind> {
    let kinds: Vec<DocKind> =
        labels.iter().filter_map(|l| lookup(&mapping.label_kinds, l)).filter_map(|k| k.parse().ok()).collect();
    [DocKind::Policy, DocKind::Change].into_iter().find(|k| kinds.contains(k)).or_else(|| kinds.first().copied())
}

/// Whether an issue of `issue_type` is a task whose words describe a change.
pub fn is_change_task(issue_type: Option<&str>, text: &str, mapping: &JiraMapping) -> bool {
    let is_task =
        issue_type.is_some_and(|t| mapping.changes.task_types.iter().any(|x| x.trim().eq_ignore_ascii_case(t.trim())));
    is_task && describes_change(text)
}

/// What a change issue says about its change.
pub struct Read<'a> {
    pub fields: &'a Map<String, Value>,
    pub names: Option<&'a Map<String, Value>>,
    pub title: &'a str,
    pub body: &'a str,
    pub status: Option<&'a str>,
    pub created: Option<DateTime<Utc>>,
    pub updated: Option<DateTime<Utc>>,
    pub resolved: Option<DateTime<Utc>>,
}

/// The change's fields, and the names its affected-services fields give.
pub fn fields(r: &Read<'_>, mapping: &JiraMapping, warnings: &mut Vec<String>) -> (ChangeFields, Vec<String>) {
    let c = &mapping.changes;
    let text = format!("{}\n{}", r.title, r.body);
    let mut time = |names: &[String]| -> Option<DateTime<Utc>> {
        for name in names {
            for (id, v) in field(r.fields, r.names, name) {
                match v {
                    Value::String(s) if !s.trim().is_empty() => match parse_time(s) {
                        Some(t) => return Some(t),
                        None => warnings.push(format!("`{id}` ({name}) {s:?} is not a time; left out")),
                    },
                    _ => {}
                }
            }
        }
        None
    };
    let (field_start, field_end) = (time(&c.start), time(&c.end));
    let stated = times_in_text(&text);
    let schedule = schedule_in_text(&text);
    let status = status_of(r);
    // A finished change without a stated time happened by its resolution.
    let finished = matches!(status, ChangeStatus::Done | ChangeStatus::Failed | ChangeStatus::RolledBack);
    let start = field_start.or(stated.start).or(if finished { r.resolved } else { None });
    let end = field_end.or(stated.end).filter(|e| start.is_none_or(|s| *e >= s));
    let first_value = |names: &[String]| -> Option<String> {
        names.iter().find_map(|name| {
            field(r.fields, r.names, name).into_iter().find_map(|(_, v)| {
                let mut out = Vec::new();
                values(v, 0, &mut out);
                out.into_iter().next()
            })
        })
    };
    // A change type field holds the process's category (Standard, Normal,
    // Emergency) or a kind of change; only a kind (or a freeze) is a type.
    let field_type = first_value(&c.change_type).and_then(|t| {
        t.parse::<ChangeType>().ok().or_else(|| crate::model::change_text::change_type_from_words(&t, ""))
    });
    let change_type = field_type.unwrap_or_else(|| change_type_of(r.title, r.body, schedule.is_some()));
    let mut affected = Vec::new();
    for name in &c.affected {
        for (_, v) in field(r.fields, r.names, name) {
            values(v, 0, &mut affected);
        }
    }
    let person = |key: &str| {
        r.fields.get(key).and_then(|p| {
            ["displayName", "name", "accountId"]
                .iter()
                .find_map(|k| p.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        })
    };
    let environment = match r.fields.get("environment") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 40 => Some(s.trim().to_string()),
        _ => None,
    };
    let revision = r
        .fields
        .get("fixVersions")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
        .and_then(|v| v.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let fields = ChangeFields {
        change_type,
        status,
        start,
        end,
        schedule,
        risk: first_value(&c.risk),
        by: person("assignee").or_else(|| person("reporter")),
        revision,
        environment,
    };
    (fields, affected)
}

/// The change's status: a resolution that says it was rolled back or
/// failed, else the status name, else the status category.
fn status_of(r: &Read<'_>) -> ChangeStatus {
    let resolution = r.fields.get("resolution").and_then(|v| v.get("name")).and_then(Value::as_str);
    if let Some(s) =
        resolution.and_then(status_from_words).filter(|s| matches!(s, ChangeStatus::RolledBack | ChangeStatus::Failed))
    {
        return s;
    }
    if let Some(s) = r.status.and_then(status_from_words) {
        return s;
    }
    let category =
        r.fields.get("status").and_then(|s| s.get("statusCategory")).and_then(|c| c.get("key")).and_then(Value::as_str);
    match category {
        Some("new") => ChangeStatus::Planned,
        Some("indeterminate") => ChangeStatus::InProgress,
        Some("done") => ChangeStatus::Done,
        _ => ChangeStatus::from_times(None, None, r.updated.or(r.created).unwrap_or_else(Utc::now)),
    }
}

/// The values of a field given by id, or by display name through `names`.
fn field<'a>(
    fields: &'a Map<String, Value>,
    names: Option<&'a Map<String, Value>>,
    name: &str,
) -> Vec<(&'a str, &'a Value)> {
    let name = name.trim();
    if let Some((id, v)) = fields.get_key_value(name) {
        return vec![(id.as_str(), v)];
    }
    let Some(names) = names else { return Vec::new() };
    names
        .iter()
        .filter(|(_, n)| n.as_str().is_some_and(|n| n.trim().eq_ignore_ascii_case(name)))
        .filter_map(|(id, _)| fields.get_key_value(id.as_str()))
        .map(|(id, v)| (id.as_str(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingest::IngestConfig;

    #[test]
    fn jsm_fields_by_name_and_words_for_the_rest() {
        let mapping = IngestConfig::default().jira;
        let fields = json!({
            "customfield_10045": "2026-11-18T22:00:00.000+0000",
            "customfield_10046": "2026-11-18T23:30:00.000+0000",
            "customfield_10005": {"value": "Normal"},
            "customfield_10006": {"value": "High"},
            "customfield_10039": [{"name": "orders-db"}],
            "status": {"name": "Awaiting implementation", "statusCategory": {"key": "new"}},
            "assignee": {"displayName": "Dana"}
        });
        let names = json!({"customfield_10045": "Planned start", "customfield_10046": "Planned end",
            "customfield_10005": "Change type", "customfield_10006": "Change risk", "customfield_10039": "Affected services"});
        let r = Read {
            fields: fields.as_object().unwrap(),
            names: names.as_object(),
            title: "orders-db: upgrade PostgreSQL minor version",
            body: "",
            status: Some("Awaiting implementation"),
            created: None,
            updated: None,
            resolved: None,
        };
        let mut warnings = Vec::new();
        let (c, affected) = super::fields(&r, &mapping, &mut warnings);
        assert_eq!(c.start.map(crate::model::time::rfc3339).as_deref(), Some("2026-11-18T22:00:00Z"));
        assert_eq!(c.end.map(crate::model::time::rfc3339).as_deref(), Some("2026-11-18T23:30:00Z"));
        assert_eq!(c.change_type, ChangeType::Infrastructure, "Normal is a category, the title says upgrade");
        assert_eq!(c.status, ChangeStatus::Planned);
        assert_eq!(c.risk.as_deref(), Some("High"));
        assert_eq!(c.by.as_deref(), Some("Dana"));
        assert_eq!(affected, vec!["orders-db"]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn labels_and_tasks() {
        let mapping = IngestConfig::default().jira;
        let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(kind_by_labels(&labels(&["change", "policy"]), &mapping), Some(DocKind::Policy));
        assert_eq!(kind_by_labels(&labels(&["Maintenance"]), &mapping), Some(DocKind::Change));
        assert_eq!(kind_by_labels(&labels(&["ui"]), &mapping), None);
        assert!(is_change_task(Some("Task"), "Raise pool size\nApplied 2026-11-18 10:00 UTC.", &mapping));
        assert!(!is_change_task(Some("Task"), "Update the dashboard queries", &mapping));
        assert!(!is_change_task(Some("Incident"), "Applied 2026-11-18 10:00 UTC.", &mapping));
    }
}
