//! Datadog change events (Events API v2, `category: "change"`): what changed
//! (`changed_resource` name and type: `feature_flag`, `configuration`, ...),
//! what it impacts (`impacted_resources` of type service), its author and
//! its previous and new values. Datadog assigns the id on intake, so the
//! change's id is a digest of the event's attributes.

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, digest, str_at, time_at};
use crate::model::change_text::change_type_from_words;
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

pub fn read(v: &Value) -> Result<Vec<Item>, String> {
    let a = v
        .get("data")
        .and_then(|d| d.get("attributes"))
        .or_else(|| v.get("attributes"))
        .ok_or("no `data.attributes`")?;
    let category = str_at(a, &["category"]).unwrap_or_default();
    if category != "change" {
        return Ok(vec![Item::Ignored(format!("a Datadog {category} event, not a change; passed over"))]);
    }
    let title = str_at(a, &["title"]).ok_or("no `title`")?;
    let inner = a.get("attributes").unwrap_or(&Value::Null);
    let changed = str_at(inner, &["changed_resource", "name"]);
    let changed_type = str_at(inner, &["changed_resource", "type"]).unwrap_or_default();
    let mut entities: Vec<String> = changed.map(str::to_string).into_iter().collect();
    if let Some(Value::Array(impacted)) = inner.get("impacted_resources") {
        entities.extend(impacted.iter().filter_map(|r| str_at(r, &["name"])).map(str::to_string));
    }
    let mut environment = None;
    if let Some(Value::Array(tags)) = a.get("tags") {
        for tag in tags.iter().filter_map(Value::as_str) {
            match tag.split_once(':') {
                Some(("service", s)) => entities.push(s.to_string()),
                Some(("env", e)) => environment = Some(e.to_string()),
                _ => {}
            }
        }
    }
    let message = str_at(a, &["message"]).unwrap_or_default();
    let mut text = vec![title.to_string()];
    if !message.is_empty() {
        text.push(message.to_string());
    }
    for (label, key) in [("Before", "prev_value"), ("After", "new_value")] {
        if let Some(val) = inner.get(key).filter(|v| !v.is_null()) {
            text.push(format!("{label}: {val}"));
        }
    }
    let change_type = match changed_type {
        "feature_flag" => ChangeType::FeatureFlag,
        "configuration" | "config" => ChangeType::Config,
        "deployment" => ChangeType::Deploy,
        other => change_type_from_words(title, &format!("{other} {message}")).unwrap_or(ChangeType::Other),
    };
    let at = time_at(a, &["timestamp"])?;
    let url = str_at(inner, &["change_metadata", "resource_link"])
        .map(|l| if l.contains("://") { l.to_string() } else { format!("https://{l}") });
    let canonical = serde_json::to_string(a).unwrap_or_default();
    Ok(vec![Item::Change(Box::new(ChangeRecord {
        key: digest(&[&canonical]),
        format: Format::Datadog,
        title: clip(title, 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type,
            status: ChangeStatus::Done,
            start: at,
            end: None,
            schedule: None,
            risk: None,
            by: str_at(inner, &["author", "name"]).map(str::to_string),
            revision: None,
            environment,
        },
        entities,
        refs: Vec::new(),
        labels: Default::default(),
        url,
        updated: at,
        raw: v.clone(),
    }))])
}
