//! PagerDuty change events (`POST /v2/change/enqueue`): `routing_key` (the
//! integration, hence the service), `payload.summary` (required),
//! `payload.source`, `payload.timestamp`, `payload.custom_details`, `links`.
//! PagerDuty gives them no id, so the change's id is a digest of routing
//! key, time and summary: the same event sent twice is one change.

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, digest, ref_kind, refs_of, str_at, time_at};
use crate::ingest::config::ChangesMapping;
use crate::model::change_text::change_type_from_words;
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

/// `custom_details` keys whose values name what changed.
const ENTITY_KEYS: [&str; 6] = ["service", "component", "app", "application", "entity", "host"];

pub fn read(v: &Value, m: &ChangesMapping) -> Result<Vec<Item>, String> {
    let routing_key = str_at(v, &["routing_key"]).ok_or("no `routing_key`")?;
    let summary = str_at(v, &["payload", "summary"]).ok_or("`payload.summary` is required")?;
    // The client libraries send `time` beside the documented `timestamp`.
    let at = time_at(v, &["payload", "timestamp"])?.or(time_at(v, &["payload", "time"])?);
    let source = str_at(v, &["payload", "source"]);
    let mut text = vec![summary.to_string()];
    let mut entities: Vec<String> = source.map(str::to_string).into_iter().collect();
    let mut refs = refs_of(m, ref_kind::PAGERDUTY_ROUTING_KEY, routing_key);
    if let Some(Value::Object(details)) = v.get("payload").and_then(|p| p.get("custom_details")) {
        for (k, val) in details {
            let shown = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.push(format!("{k}: {shown}"));
            let key = k.to_ascii_lowercase();
            if let Some(name) = val.as_str() {
                if ENTITY_KEYS.contains(&key.as_str()) {
                    entities.push(name.to_string());
                }
                if key == "service_id" {
                    refs.extend(refs_of(m, ref_kind::PAGERDUTY_SERVICE, name));
                }
            }
        }
    }
    // The kind from what the event says, not from its links' addresses.
    let change_type = change_type_from_words(summary, &text.join("\n")).unwrap_or(ChangeType::Other);
    let links: Vec<&Value> = v.get("links").and_then(Value::as_array).map(|l| l.iter().collect()).unwrap_or_default();
    for l in &links {
        if let Some(href) = str_at(l, &["href"]) {
            text.push(format!("{} <{href}>", str_at(l, &["text"]).unwrap_or("link")));
        }
    }
    let when = at.map(crate::model::time::rfc3339).unwrap_or_default();
    Ok(vec![Item::Change(Box::new(ChangeRecord {
        key: digest(&[routing_key, &when, summary]),
        format: Format::PagerDuty,
        title: clip(summary, 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type,
            status: ChangeStatus::Done,
            start: at,
            end: None,
            schedule: None,
            risk: None,
            by: None,
            revision: None,
            environment: None,
        },
        entities,
        refs,
        labels: Default::default(),
        url: links.first().and_then(|l| str_at(l, &["href"])).map(str::to_string),
        updated: at,
        raw: v.clone(),
    }))])
}
