//! Alerts: Alertmanager v4 and Grafana webhook payloads, single alerts and
//! bare label maps; and a firing as a ledger document. Every firing and
//! resolution is history: one document per (fingerprint, start), whose
//! resolution is a new version of it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Report;
use super::document::HistoryDoc;
use super::linking::Linker;
use crate::ledger::NewVersion;
use crate::model::time::parse_time;
use crate::model::{Alert, DocId, DocKind, EntityId, Source};

/// Every alert of a webhook payload (Alertmanager v4, Grafana), or the one
/// alert of an alert object or a label map.
pub fn parse(v: &Value) -> Result<Vec<Alert>, String> {
    if let Some(alerts) = v.get("alerts") {
        let alerts = alerts.as_array().ok_or("`alerts` must be an array")?;
        return alerts.iter().enumerate().map(|(i, a)| parse_one(a).map_err(|e| format!("alerts[{i}]: {e}"))).collect();
    }
    Ok(vec![parse_one(v)?])
}

/// One alert: an alert object (with `labels`) or a bare label map. A
/// webhook payload gives its first firing alert.
pub fn parse_one(v: &Value) -> Result<Alert, String> {
    if let Some(alerts) = v.get("alerts").and_then(Value::as_array) {
        let first = alerts
            .iter()
            .find(|a| a.get("status").and_then(Value::as_str) != Some("resolved"))
            .or_else(|| alerts.first())
            .ok_or("the webhook payload has no alerts")?;
        return parse_one(first);
    }
    let obj = v.as_object().ok_or("an alert is a JSON object: an Alertmanager alert or a label map")?;
    if !obj.get("labels").is_some_and(Value::is_object) {
        return Ok(Alert { labels: strings(Some(v), "labels")?, ..Alert::default() });
    }
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty());
    // Alertmanager sends the zero time while an alert fires.
    let ends_at = text("endsAt").filter(|t| !t.starts_with("0001-"));
    Ok(Alert {
        labels: strings(obj.get("labels"), "labels")?,
        annotations: strings(obj.get("annotations"), "annotations")?,
        status: text("status"),
        starts_at: text("startsAt"),
        ends_at,
        fingerprint: text("fingerprint"),
        generator_url: text("generatorURL"),
    })
}

fn strings(m: Option<&Value>, what: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let Some(m) = m else { return Ok(out) };
    let m = m.as_object().ok_or_else(|| format!("{what} must be an object of strings"))?;
    for (k, v) in m {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => return Err(format!("{what}.{k} must be a string")),
        };
        out.insert(k.clone(), s);
    }
    Ok(out)
}

/// The ledger document of a firing: `alert:{fingerprint}@{start}`.
pub fn doc_id(alert: &Alert, received: DateTime<Utc>) -> Result<DocId, String> {
    let start = alert.starts_at.as_deref().and_then(parse_time).unwrap_or(received);
    DocId::new(Source::Alert, format!("{}@{}", alert.fingerprint(), crate::model::time::rfc3339(start)))
        .map_err(|e| e.to_string())
}

/// A firing (or its resolution) as a ledger version, about `entity` when
/// the labels named one.
pub fn firing(
    alert: &Alert,
    entity: Option<&EntityId>,
    received: DateTime<Utc>,
    linker: &Linker,
) -> Result<NewVersion, String> {
    let doc = doc_id(alert, received)?;
    let name = alert.name().unwrap_or("unnamed alert").to_string();
    let target = entity.map(|e| e.name().to_string()).unwrap_or_else(|| "an unknown entity".into());
    let mut d = HistoryDoc::new(doc, DocKind::AlertFiring, format!("{name} on {target}"));
    let labels: Vec<String> = alert.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    d.body = format!("{}\n\nlabels: {}", alert.summary().unwrap_or(""), labels.join(", ")).trim().to_string();
    d.alerts = vec![name];
    d.affects = entity.cloned().into_iter().collect();
    d.started_at = alert.starts_at.as_deref().and_then(parse_time).or(Some(received));
    d.ended_at = alert.ends_at.as_deref().and_then(parse_time);
    d.created = d.started_at;
    d.resolved = d.ended_at;
    d.status = Some(alert.status.clone().unwrap_or_else(|| "firing".into()));
    d.severity = alert.labels.get("severity").map(|s| s.to_lowercase());
    d.fingerprint = Some(alert.fingerprint());
    d.url = alert.generator_url.clone();
    d.payload = serde_json::to_vec(&serde_json::json!({
        "labels": alert.labels, "annotations": alert.annotations, "status": alert.status,
        "startsAt": alert.starts_at, "endsAt": alert.ends_at, "fingerprint": alert.fingerprint,
    }))
    .map_err(|e| e.to_string())?;
    let mut report = Report::new(Source::Alert);
    Ok(d.into_version(linker, &mut report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_payloads_and_label_maps() {
        let am = serde_json::json!({"version": "4", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "A", "instance": "h:9100"}, "annotations": {"summary": "s"},
             "startsAt": "2019-09-27T16:27:56.612666101Z", "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "abc"},
            {"status": "resolved", "labels": {"alertname": "B"}, "startsAt": "2019-09-27T16:27:56.3Z", "endsAt": "2019-09-27T17:00:00Z"}
        ]});
        let alerts = parse(&am).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].ends_at, None, "the zero time means firing");
        assert_eq!(alerts[0].fingerprint(), "abc");
        assert_eq!(alerts[1].fingerprint().len(), 16, "computed from labels");
        assert!(alerts[1].is_resolved());
        let t = Utc::now();
        assert_eq!(doc_id(&alerts[0], t).unwrap().to_string(), "alert:abc@2019-09-27T16:27:56Z");
        let map = parse_one(&serde_json::json!({"alertname": "X", "service": "checkout-api", "n": 3})).unwrap();
        assert_eq!(map.labels["n"], "3");
        assert!(parse(&serde_json::json!({"alerts": 3})).is_err());
        assert!(parse_one(&serde_json::json!({"labels": {"a": {"b": 1}}})).unwrap_err().contains("labels.a"));
    }
}
