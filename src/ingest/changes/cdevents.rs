//! CDEvents (CD Foundation), every spec version in the wild: `context.version`
//! (≤ 0.5.0-draft) or `context.specversion` (0.5.0), `subject.type` or none,
//! bare or as the `data` of a structured CloudEvent. Changes are the
//! `service.*` events (deployed, upgraded, rolledback, removed, published),
//! draft 0.6's `deployment.*` (one change per subject, so started and
//! finished are one change), `environment.*`, and `changewindow.*` (a freeze
//! or an allowed window: a change of type policy over its window). Other
//! subjects (pipelines, builds, tests, incidents) are not changes.

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, str_at, time_at};
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

pub fn read(v: &Value) -> Result<Vec<Item>, String> {
    // A structured CloudEvent carries the CDEvent in `data`.
    let event = if v.get("context").is_none() && v.get("data").is_some_and(Value::is_object) { &v["data"] } else { v };
    let kind = str_at(event, &["context", "type"])
        .ok_or("no `context.type`; a CDEvent has context.type like dev.cdevents.service.deployed.0.3.0")?;
    let rest =
        kind.strip_prefix("dev.cdevents.").ok_or_else(|| format!("`context.type` {kind:?} is not a CDEvents type"))?;
    let mut parts = rest.split('.');
    let (subject, predicate) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let id = str_at(event, &["context", "id"]).ok_or("no `context.id`")?;
    if !event.get("subject").is_some_and(Value::is_object) {
        return Err("no `subject` object".into());
    }
    let timestamp = time_at(event, &["context", "timestamp"])?;
    let source = str_at(event, &["context", "source"]).unwrap_or_default();
    // Sources are URI references (`/event/source/123`); ids read better without the lead.
    let key_source = |s: &str| s.trim_start_matches('/').to_string();
    let subject_id = str_at(event, &["subject", "id"]).unwrap_or_default();
    let subject_source = str_at(event, &["subject", "source"]).unwrap_or(source);
    let content = &event["subject"]["content"];
    let environment = str_at(content, &["environment", "id"]).map(str::to_string);
    let artifact = str_at(content, &["artifactId"]).unwrap_or_default();
    let (artifact_name, artifact_version) = purl_name(artifact);

    let (change_type, status, key) = match (subject, predicate) {
        ("service", "deployed" | "upgraded" | "published") => {
            (ChangeType::Deploy, ChangeStatus::Done, format!("service.{predicate}/{id}"))
        }
        ("service", "removed") => (ChangeType::Deploy, ChangeStatus::Done, format!("service.removed/{id}")),
        ("service", "rolledback") => (ChangeType::Deploy, ChangeStatus::RolledBack, format!("service.rolledback/{id}")),
        ("deployment", p) => {
            let status = match (p, str_at(content, &["outcome"])) {
                ("queued", _) => ChangeStatus::Planned,
                ("started", _) => ChangeStatus::InProgress,
                ("finished", Some("success") | None) => ChangeStatus::Done,
                ("finished", Some("cancel" | "cancelled" | "canceled")) => {
                    return Ok(vec![Item::Ignored(format!("{kind}: the deployment was cancelled; not a change"))]);
                }
                ("finished", Some(_)) => ChangeStatus::Failed,
                _ => return Ok(vec![Item::Ignored(format!("{kind} is not a change event FFO reads; passed over"))]),
            };
            (ChangeType::Deploy, status, format!("deployment/{}/{subject_id}", key_source(subject_source)))
        }
        ("environment", "created" | "modified" | "deleted") => {
            (ChangeType::Infrastructure, ChangeStatus::Done, format!("environment.{predicate}/{id}"))
        }
        ("changewindow", "opened" | "closed") => {
            let status = if predicate == "closed" { ChangeStatus::Done } else { ChangeStatus::InProgress };
            (ChangeType::Policy, status, format!("changewindow/{}/{subject_id}", key_source(subject_source)))
        }
        _ => return Ok(vec![Item::Ignored(format!("{kind} is not a change to the estate; passed over"))]),
    };

    let mut entities = Vec::new();
    let mut add = |name: &str| {
        let name = name.trim();
        if !name.is_empty() && !entities.iter().any(|e: &String| e.eq_ignore_ascii_case(name)) {
            entities.push(name.to_string());
        }
    };
    // A service event's subject is the service; others name it in content.
    if subject == "service" {
        add(subject_id);
    }
    for path in [&["service", "id"][..], &["target", "id"]] {
        if let Some(name) = str_at(content, path) {
            add(name);
        }
    }
    if !artifact_name.is_empty() {
        add(&artifact_name);
    }

    let (mut start, mut end) = (timestamp, None);
    let mut text = Vec::new();
    if subject == "changewindow" {
        start = time_at(content, &["notBefore"])?.or(start);
        end = time_at(content, &["notAfter"])?;
        let window_type = str_at(content, &["windowType"]).unwrap_or("window");
        text.push(format!(
            "Change window {subject_id} ({window_type}) on {}",
            str_at(content, &["target", "id"]).unwrap_or("its target")
        ));
    }
    text.push(format!("CDEvent {kind} from {source}."));
    if let Some(d) = str_at(content, &["description"]) {
        text.push(d.to_string());
    }
    if !artifact.is_empty() {
        text.push(format!("Artifact: {artifact}."));
    }
    if let Some(env) = &environment {
        text.push(format!("Environment: {env}."));
    }
    if let Some(outcome) = str_at(content, &["outcome"]) {
        text.push(format!("Outcome: {outcome}."));
    }
    let what = if !artifact_name.is_empty() { artifact_name.clone() } else { subject_id.to_string() };
    let title = match (subject, &environment) {
        ("changewindow", _) => format!("change window {subject_id} {predicate}"),
        (_, Some(env)) => format!("{subject} {predicate}: {what} to {env}"),
        _ => format!("{subject} {predicate}: {what}"),
    };
    Ok(vec![Item::Change(Box::new(ChangeRecord {
        key,
        format: Format::CdEvents,
        title: clip(&title, 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type,
            status,
            start,
            end,
            schedule: None,
            risk: None,
            by: Some(source.to_string()).filter(|s| !s.is_empty()),
            revision: artifact_version,
            environment,
        },
        entities,
        refs: Vec::new(),
        labels: Default::default(),
        url: None,
        updated: timestamp,
        raw: v.clone(),
    }))])
}

/// The name and version of a package URL (`pkg:oci/myapp@sha256%3A0b31...`).
fn purl_name(purl: &str) -> (String, Option<String>) {
    let Some(rest) = purl.strip_prefix("pkg:") else {
        return (String::new(), None);
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) => (p, Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())),
        None => (rest, None),
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    (percent_encoding::percent_decode_str(name).decode_utf8_lossy().into_owned(), version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls() {
        assert_eq!(purl_name("pkg:oci/myapp@sha256%3A0b31"), ("myapp".to_string(), Some("sha256:0b31".to_string())));
        assert_eq!(purl_name("pkg:npm/%40scope/pkg@1.2.3?x=1"), ("pkg".to_string(), Some("1.2.3".to_string())));
        assert_eq!(purl_name("not a purl"), (String::new(), None));
    }
}
