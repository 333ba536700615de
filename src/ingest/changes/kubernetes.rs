//! Kubernetes: events (core/v1 `Event` with `involvedObject`, `firstTimestamp`
//! and `lastTimestamp`; events.k8s.io/v1 with `regarding`, `eventTime`,
//! `series`, `note`), lists of them (`kubectl get events -o json`), and a
//! workload's rollout (a Deployment's `deployment.kubernetes.io/revision`, a
//! StatefulSet's or DaemonSet's update revision). Only event reasons mapped
//! in `ingest/changes.toml` (`ScalingReplicaSet`, ...) are changes. Events
//! expire after an hour by default: they must be sent as they happen.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, ref_kind, refs_of, str_at, time_at};
use crate::ingest::config::ChangesMapping;
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

pub fn read(v: &Value, m: &ChangesMapping) -> Result<Vec<Item>, String> {
    match str_at(v, &["kind"]).unwrap_or_default() {
        "List" | "EventList" => {
            let items = v.get("items").and_then(Value::as_array).ok_or("a List without `items`")?;
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let read = match str_at(item, &["kind"]) {
                    Some("Event") | None => event(item, m),
                    Some("Deployment" | "StatefulSet" | "DaemonSet") => rollout(item, m),
                    Some(other) => Ok(Item::Ignored(format!("items[{i}]: a {other}, not a change record"))),
                };
                out.push(read.map_err(|e| format!("items[{i}]: {e}"))?);
            }
            Ok(out)
        }
        "Event" => event(v, m).map(|i| vec![i]),
        "Deployment" | "StatefulSet" | "DaemonSet" => rollout(v, m).map(|i| vec![i]),
        other => Err(format!("a {other:?}: expected an Event, an event List, a Deployment, StatefulSet or DaemonSet")),
    }
}

/// One event, either API version.
fn event(v: &Value, m: &ChangesMapping) -> Result<Item, String> {
    let reason = str_at(v, &["reason"]).ok_or("no `reason`")?;
    let Some(kind) = m.kubernetes.reasons.iter().find(|(r, _)| r.eq_ignore_ascii_case(reason)).map(|(_, k)| k) else {
        return Ok(Item::Ignored(format!(
            "event reason {reason} is not a change (ingest/changes.toml [kubernetes.reasons])"
        )));
    };
    let change_type =
        kind.parse::<ChangeType>().map_err(|e| format!("ingest/changes.toml [kubernetes.reasons] {reason}: {e}"))?;
    // core/v1 `involvedObject`; events.k8s.io/v1 `regarding`.
    let object = v.get("involvedObject").or_else(|| v.get("regarding")).ok_or("no `involvedObject` or `regarding`")?;
    let name = str_at(object, &["name"]).ok_or("the event's object has no name")?;
    let object_kind = str_at(object, &["kind"]).unwrap_or("object");
    let namespace =
        str_at(object, &["namespace"]).or_else(|| str_at(v, &["metadata", "namespace"])).unwrap_or("default");
    let message = str_at(v, &["message"]).or_else(|| str_at(v, &["note"])).unwrap_or_default();
    let first = time_at(v, &["eventTime"])?
        .or(time_at(v, &["firstTimestamp"])?)
        .or(time_at(v, &["deprecatedFirstTimestamp"])?)
        .or(time_at(v, &["metadata", "creationTimestamp"])?);
    let last = time_at(v, &["series", "lastObservedTime"])?
        .or(time_at(v, &["lastTimestamp"])?)
        .or(time_at(v, &["deprecatedLastTimestamp"])?);
    let key = match str_at(v, &["metadata", "uid"]) {
        Some(uid) => format!("events/{uid}"),
        None => {
            let event_name = str_at(v, &["metadata", "name"]).ok_or("no `metadata.uid` or `metadata.name`")?;
            format!("events/{namespace}/{event_name}")
        }
    };
    let status =
        if reason.eq_ignore_ascii_case("DeploymentRollback") { ChangeStatus::RolledBack } else { ChangeStatus::Done };
    let by = str_at(v, &["reportingController"])
        .or_else(|| str_at(v, &["reportingComponent"]))
        .or_else(|| str_at(v, &["source", "component"]))
        .map(str::to_string);
    let count = v.get("count").or_else(|| v.get("series").and_then(|s| s.get("count"))).and_then(Value::as_u64);
    let mut text = vec![format!("{reason} on {object_kind} {namespace}/{name}: {message}")];
    if let Some(n) = count.filter(|n| *n > 1) {
        text.push(format!("Seen {n} times."));
    }
    let mut entities = vec![name.to_string()];
    let mut refs = refs_of(m, ref_kind::KUBERNETES_ID, name);
    // A ReplicaSet or Pod is named after its workload plus hashes.
    let workload = workload_name(name);
    if workload != name {
        entities.push(workload.to_string());
        refs.extend(refs_of(m, ref_kind::KUBERNETES_ID, workload));
    }
    Ok(Item::Change(Box::new(ChangeRecord {
        key,
        format: Format::Kubernetes,
        title: clip(&format!("{reason} {object_kind}/{name}: {message}"), 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type,
            status,
            start: first.or(last),
            end: last.filter(|l| first.is_some_and(|f| *l > f)),
            schedule: None,
            risk: None,
            by,
            revision: None,
            environment: None,
        },
        entities,
        refs,
        labels: BTreeMap::new(),
        url: None,
        updated: last.or(first),
        raw: v.clone(),
    })))
}

/// A workload's current rollout: one change per revision.
fn rollout(v: &Value, m: &ChangesMapping) -> Result<Item, String> {
    let kind = str_at(v, &["kind"]).unwrap_or("Deployment");
    let name = str_at(v, &["metadata", "name"]).ok_or("no `metadata.name`")?;
    let namespace = str_at(v, &["metadata", "namespace"]).unwrap_or("default");
    let revision = str_at(v, &["metadata", "annotations", "deployment.kubernetes.io/revision"])
        .map(str::to_string)
        .or_else(|| str_at(v, &["status", "updateRevision"]).map(str::to_string))
        .or_else(|| {
            v.get("metadata").and_then(|md| md.get("generation")).and_then(Value::as_u64).map(|g| g.to_string())
        })
        .ok_or(
            "no rollout revision (deployment.kubernetes.io/revision, status.updateRevision or metadata.generation)",
        )?;
    let conditions: Vec<&Value> = v
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(Value::as_array)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let progressing = conditions.iter().find(|c| str_at(c, &["type"]) == Some("Progressing"));
    let status = match progressing.and_then(|c| str_at(c, &["reason"])) {
        Some("ProgressDeadlineExceeded") => ChangeStatus::Failed,
        Some("NewReplicaSetAvailable") | None => ChangeStatus::Done,
        Some(_) => ChangeStatus::InProgress,
    };
    let (mut start, mut end) = (None, None);
    if let Some(c) = progressing {
        start = time_at(c, &["lastTransitionTime"])?;
        end = time_at(c, &["lastUpdateTime"])?.filter(|_| status != ChangeStatus::InProgress);
    }
    // Who last changed the spec: the newest managedFields entry touching it.
    let mut writers: Vec<(Option<chrono::DateTime<chrono::Utc>>, &str)> = Vec::new();
    if let Some(Value::Array(fields)) = v.get("metadata").and_then(|md| md.get("managedFields")) {
        for f in fields {
            let touches_spec = f.get("fieldsV1").and_then(|x| x.get("f:spec")).is_some();
            if let (true, Some(manager)) = (touches_spec, str_at(f, &["manager"])) {
                writers.push((time_at(f, &["time"])?, manager));
            }
        }
    }
    writers.sort();
    let by = writers.last().map(|(_, m)| m.to_string());
    if start.is_none() {
        start = writers.last().and_then(|(t, _)| *t);
    }
    let mut labels = BTreeMap::new();
    for path in
        [&["metadata", "labels"][..], &["spec", "selector", "matchLabels"], &["spec", "template", "metadata", "labels"]]
    {
        let mut cur = v;
        let mut found = true;
        for key in path {
            match cur.get(*key) {
                Some(next) => cur = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if let (true, Some(map)) = (found, cur.as_object()) {
            for (k, val) in map {
                if let Some(s) = val.as_str() {
                    labels.insert(k.clone(), s.to_string());
                }
            }
        }
    }
    let images: Vec<&str> = v
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| str_at(c, &["image"])).collect())
        .unwrap_or_default();
    let mut text = vec![format!("Rollout revision {revision} of {kind} {namespace}/{name}.")];
    if !images.is_empty() {
        text.push(format!("Images: {}.", images.join(", ")));
    }
    if let Some(msg) = progressing.and_then(|c| str_at(c, &["message"])) {
        text.push(msg.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    let mut refs = refs_of(m, ref_kind::KUBERNETES_ID, name);
    if let Some(id) = labels.get("backstage.io/kubernetes-id") {
        refs.extend(refs_of(m, ref_kind::KUBERNETES_ID, id));
    }
    let updated = end.or(start);
    Ok(Item::Change(Box::new(ChangeRecord {
        key: format!("{namespace}/{}/{name}/revision/{revision}", kind.to_ascii_lowercase()),
        format: Format::Kubernetes,
        title: clip(&format!("rollout {revision} of {kind} {namespace}/{name}"), 200),
        text: text.join("\n"),
        change: ChangeFields {
            change_type: ChangeType::Deploy,
            status,
            start,
            end,
            schedule: None,
            risk: None,
            by,
            revision: Some(revision),
            environment: None,
        },
        entities: vec![name.to_string()],
        refs,
        labels,
        url: None,
        updated,
        raw: v.clone(),
    })))
}

/// A ReplicaSet's or Pod's workload: its name without the pod-template hash
/// and pod suffix (`shop-6d988b8d84-x2k4q` → `shop`).
fn workload_name(name: &str) -> &str {
    let mut out = name;
    for _ in 0..2 {
        match out.rsplit_once('-') {
            Some((head, tail))
                if !head.is_empty()
                    && (5..=10).contains(&tail.len())
                    && tail.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && tail.chars().any(|c| c.is_ascii_digit()) =>
            {
                out = head;
            }
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workloads_from_replica_set_and_pod_names() {
        assert_eq!(workload_name("scenario-c-6d988b8d84"), "scenario-c");
        assert_eq!(workload_name("checkout-api-7d9f8b6c5-x2k4q"), "checkout-api");
        assert_eq!(workload_name("checkout-api"), "checkout-api");
        assert_eq!(workload_name("kafka-main"), "kafka-main");
    }
}
