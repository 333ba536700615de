//! FFO's own JSON form of a change, for pipelines and scripts that have no
//! format of their own (README, "Change events"):
//!
//! ```json
//! {"id": "CHG-2041", "title": "Raise payments-db max_connections to 400",
//!  "type": "config", "status": "done", "entities": ["payments-db"],
//!  "start": "2026-11-18T10:00:00Z", "end": "2026-11-18T10:05:00Z",
//!  "schedule": "0 2 * * *", "by": "team-payments", "url": "https://...",
//!  "text": "...", "environment": "production", "revision": "v42",
//!  "risk": "low", "refs": {"github.com/project-slug": "larkspur/payments"},
//!  "labels": {"app": "payments"}, "updated": "2026-11-18T10:06:00Z"}
//! ```
//!
//! Only `title` is required. Without `type`, `status`, `start` or `schedule`
//! they are read from the title and text (point 1 of issue 8). Unknown fields
//! are refused, so a typo is an error, not a silent default.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Map, Value};

use super::{ChangeRecord, ExternalRef, Format, digest, time_at};
use crate::model::change_text::{change_type_of, schedule_in_text, status_from_words, times_in_text};
use crate::model::{ChangeFields, ChangeStatus, ChangeType, Schedule};

const FIELDS: [&str; 17] = [
    "id",
    "title",
    "type",
    "status",
    "entities",
    "start",
    "end",
    "schedule",
    "by",
    "url",
    "text",
    "environment",
    "revision",
    "risk",
    "refs",
    "labels",
    "updated",
];

/// Reads one change in FFO's form.
pub fn read(v: &Value) -> Result<ChangeRecord, String> {
    let Value::Object(o) = v else {
        return Err(format!("a change is a JSON object, not {}", super::read::type_name(v)));
    };
    if let Some(unknown) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!("unknown field `{unknown}`; the fields are {}", FIELDS.join(", ")));
    }
    let title = match o.get("title") {
        Some(Value::String(t)) if !t.trim().is_empty() => t.trim().to_string(),
        Some(Value::String(_)) | None | Some(Value::Null) => return Err("`title` is missing or empty".into()),
        Some(other) => return Err(format!("`title` is a {}, expected a string", super::read::type_name(other))),
    };
    let text = string(o, "text")?.unwrap_or_default();
    let words = format!("{title}\n{text}");
    let mut start = time_at(v, &["start"])?;
    let mut end = time_at(v, &["end"])?;
    if start.is_none() {
        let stated = times_in_text(&words);
        start = stated.start;
        end = end.or(stated.end);
    }
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(format!("`end` {e} is before `start` {s}"));
    }
    let schedule = match string(o, "schedule")? {
        Some(s) => Some(Schedule::from_cron(&s).or_else(|| schedule_in_text(&s)).ok_or_else(|| {
            format!(
                "`schedule` {s:?} is neither a cron expression (0 2 * * *) nor words like \"every night at 02:00 UTC\""
            )
        })?),
        None => schedule_in_text(&words),
    };
    let change_type = match string(o, "type")? {
        Some(t) => t.parse::<ChangeType>()?,
        None => change_type_of(&title, &text, schedule.is_some()),
    };
    let status = match string(o, "status")? {
        Some(s) => s.parse::<ChangeStatus>().ok().or_else(|| status_from_words(&s)).ok_or_else(|| {
            format!("`status` {s:?} is not a status; expected one of planned, in_progress, done, failed, rolled_back")
        })?,
        None => ChangeStatus::from_times(start, end, Utc::now()),
    };
    let entities = strings(o, "entities")?;
    let mut refs = Vec::new();
    match o.get("refs") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (annotation, value) in map {
                let values: Vec<&str> = match value {
                    Value::String(s) => vec![s.as_str()],
                    Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                    _ => return Err(format!("`refs.{annotation}` must be a string or a list of strings")),
                };
                refs.extend(values.into_iter().filter(|s| !s.trim().is_empty()).map(|value| ExternalRef {
                    annotation: annotation.trim().to_string(),
                    value: value.trim().to_string(),
                }));
            }
        }
        Some(_) => {
            return Err("`refs` must be an object: annotation → value, e.g. {\"argocd/app-name\": \"shop\"}".into());
        }
    }
    let mut labels = BTreeMap::new();
    match o.get("labels") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, val) in map {
                let Some(s) = val.as_str() else { return Err(format!("`labels.{k}` must be a string")) };
                labels.insert(k.clone(), s.to_string());
            }
        }
        Some(_) => return Err("`labels` must be an object of strings".into()),
    }
    let updated = time_at(v, &["updated"])?;
    let key = match o.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => {
            let when = start.map(crate::model::time::rfc3339).unwrap_or_default();
            digest(&[&title, &when, &entities.join(",")])
        }
        Some(other) => return Err(format!("`id` is a {}, expected a string", super::read::type_name(other))),
    };
    Ok(ChangeRecord {
        key,
        format: Format::Ffo,
        title,
        text,
        change: ChangeFields {
            change_type,
            status,
            start,
            end,
            schedule,
            risk: string(o, "risk")?,
            by: string(o, "by")?,
            revision: string(o, "revision")?,
            environment: string(o, "environment")?,
        },
        entities,
        refs,
        labels,
        url: string(o, "url")?,
        updated: updated.or(end).or(start),
        raw: v.clone(),
    })
}

fn string(o: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("`{key}` is a {}, expected a string", super::read::type_name(other))),
    }
}

fn strings(o: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.trim().to_string()]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(format!("`{key}[{i}]` is a {}, expected a name or an id", super::read::type_name(other))),
            })
            .collect(),
        Some(other) => Err(format!("`{key}` is a {}, expected a list of names or ids", super::read::type_name(other))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Every;

    #[test]
    fn the_documented_form() {
        let r = read(&json!({
            "id": "CHG-1", "title": "Raise max_connections", "type": "config", "status": "Done",
            "entities": ["payments-db"], "start": "2026-11-18T10:00:00Z", "end": "2026-11-18T10:05:00Z",
            "by": "alice", "refs": {"argocd/app-name": ["pay", "pay-eu"]}, "labels": {"app": "pay"}
        }))
        .unwrap();
        assert_eq!(r.key, "CHG-1");
        assert_eq!((r.change.change_type, r.change.status), (ChangeType::Config, ChangeStatus::Done));
        assert_eq!(r.refs.len(), 2);
        assert_eq!(r.updated, r.change.end, "without `updated`, the end");
        assert_eq!(r.doc().unwrap().to_string(), "changes:ffo/CHG-1");
    }

    #[test]
    fn missing_fields_come_from_the_words() {
        let r = read(&json!({"title": "orders-db: nightly vacuum", "text": "Runs every night at 03:00 UTC. First run 2026-11-16 03:00.", "entities": "orders-db"}))
            .unwrap();
        assert_eq!(r.change.change_type, ChangeType::Job);
        assert_eq!(r.change.schedule.as_ref().map(|s| s.every), Some(Every::Day { hour: 3, minute: 0 }));
        assert_eq!(r.change.start.map(crate::model::time::rfc3339).as_deref(), Some("2026-11-16T03:00:00Z"));
        assert_eq!(r.change.status, ChangeStatus::Done, "its start is in the past");
        assert_eq!(r.key.len(), 16, "a digest when no id is given");
        let again = read(&json!({"title": "orders-db: nightly vacuum", "text": "Runs every night at 03:00 UTC. First run 2026-11-16 03:00.", "entities": "orders-db"})).unwrap();
        assert_eq!(again.key, r.key, "stable");
    }

    #[test]
    fn malformed_changes_say_what_is_wrong() {
        let err = |v: Value| read(&v).unwrap_err();
        assert!(err(json!({"titel": "x"})).contains("unknown field `titel`"));
        assert!(err(json!({"title": ""})).contains("title"));
        assert!(err(json!({"title": "x", "type": "explosion"})).contains("deploy, config"));
        assert!(err(json!({"title": "x", "status": "maybe"})).contains("planned, in_progress"));
        assert!(err(json!({"title": "x", "start": "tuesday"})).contains("`start`"));
        assert!(err(json!({"title": "x", "entities": [1]})).contains("entities[0]"));
        assert!(err(json!({"title": "x", "schedule": "sometimes"})).contains("cron"));
        assert!(
            err(json!({"title": "x", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}))
                .contains("before")
        );
        assert!(err(json!(["x"])).contains("object"));
    }
}
