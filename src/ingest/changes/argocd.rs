//! Argo CD: an `Application` resource (YAML or JSON, as `kubectl get -o` or
//! the API gives it). Each `status.history` entry is a successful sync; the
//! last operation (`status.operationState`) says who started it and what it
//! touched, and is a change of its own while it runs or when it failed. A
//! sync is keyed by the app and the time it started, so a running operation
//! and the history entry it becomes are one change. History is bounded
//! (`revisionHistoryLimit`), so an export holds only the latest entries.

use serde_json::Value;

use super::{ChangeRecord, Format, Item, clip, ref_kind, refs_of, str_at, time_at};
use crate::ingest::config::ChangesMapping;
use crate::model::time::rfc3339;
use crate::model::{ChangeFields, ChangeStatus, ChangeType};

pub fn read(v: &Value, m: &ChangesMapping) -> Result<Vec<Item>, String> {
    let app = str_at(v, &["metadata", "name"]).ok_or("no `metadata.name`: not an Argo CD Application")?;
    let namespace = str_at(v, &["metadata", "namespace"]).unwrap_or("argocd");
    let history = match v.get("status").and_then(|s| s.get("history")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(h)) => h.iter().collect(),
        Some(_) => return Err("`status.history` is not a list".into()),
    };
    let op = v.get("status").and_then(|s| s.get("operationState")).filter(|o| o.is_object());
    if history.is_empty() && op.is_none() {
        return Ok(vec![Item::Ignored(format!(
            "Application {app} has no sync history or operation; nothing to record"
        ))]);
    }
    let destination = [str_at(v, &["spec", "destination", "name"]), str_at(v, &["spec", "destination", "server"])]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or("its cluster");
    let dest_ns = str_at(v, &["spec", "destination", "namespace"]).unwrap_or_default();
    let sync = Sync { app, namespace, destination, dest_ns, m };

    let op_started = match op {
        Some(o) => time_at(o, &["startedAt"])?,
        None => None,
    };
    let mut out = Vec::new();
    let mut op_merged = false;
    for (i, entry) in history.iter().enumerate() {
        if !entry.is_object() {
            return Err(format!("`status.history[{i}]` is not an object"));
        }
        let started = time_at(entry, &["deployStartedAt"])?;
        let deployed = time_at(entry, &["deployedAt"])?;
        // The operation that produced this entry tells who and what.
        let matching_op = op.filter(|_| started.is_some() && started == op_started);
        op_merged |= matching_op.is_some();
        let id = match entry.get("id") {
            Some(Value::Number(n)) => n.to_string(),
            _ => i.to_string(),
        };
        out.push(sync.record(Entry {
            key: started.map(rfc3339).unwrap_or_else(|| format!("history-{id}")),
            history_id: Some(id),
            revision: revision(entry),
            start: started.or(deployed),
            end: deployed,
            status: ChangeStatus::Done,
            op: matching_op,
            raw: (*entry).clone(),
        }));
    }
    if let Some(op) = op.filter(|_| !op_merged) {
        let phase = str_at(op, &["phase"]).unwrap_or("Running");
        let status = match phase {
            "Succeeded" => ChangeStatus::Done,
            "Failed" | "Error" => ChangeStatus::Failed,
            "Running" | "Terminating" => ChangeStatus::InProgress,
            other => return Err(format!("`operationState.phase` {other:?} is not an Argo CD phase")),
        };
        let started = op_started.ok_or("`operationState.startedAt` is missing")?;
        let rev = str_at(op, &["operation", "sync", "revision"])
            .or_else(|| str_at(op, &["syncResult", "revision"]))
            .map(str::to_string);
        out.push(sync.record(Entry {
            key: rfc3339(started),
            history_id: None,
            revision: rev,
            start: Some(started),
            end: time_at(op, &["finishedAt"])?,
            status,
            op: Some(op),
            raw: op.clone(),
        }));
    }
    Ok(out.into_iter().map(|r| Item::Change(Box::new(r))).collect())
}

/// What every sync of one Application shares.
struct Sync<'a> {
    app: &'a str,
    namespace: &'a str,
    destination: &'a str,
    dest_ns: &'a str,
    m: &'a ChangesMapping,
}

struct Entry<'a> {
    key: String,
    history_id: Option<String>,
    revision: Option<String>,
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
    status: ChangeStatus,
    op: Option<&'a Value>,
    raw: Value,
}

impl Sync<'_> {
    fn record(&self, e: Entry<'_>) -> ChangeRecord {
        let rev = e.revision.as_deref().unwrap_or("an unknown revision");
        let short = if rev.len() == 40 { &rev[..7] } else { rev };
        let title = format!("Argo CD sync of {} to {short}", self.app);
        let mut text = vec![format!(
            "{title}, into {}{}{}.",
            self.destination,
            if self.dest_ns.is_empty() { "" } else { " namespace " },
            self.dest_ns
        )];
        if let Some(id) = &e.history_id {
            text.push(format!("History entry {id}."));
        }
        let mut refs = refs_of(self.m, ref_kind::ARGOCD_APP, self.app);
        let mut entities = vec![self.app.to_string()];
        let mut by = e.raw.get("initiatedBy").and_then(initiator);
        if let Some(op) = e.op {
            by = by.or_else(|| op.get("operation").and_then(|o| o.get("initiatedBy")).and_then(initiator));
            if let Some(msg) = str_at(op, &["message"]) {
                text.push(format!("Operation: {msg}."));
            }
            // What the sync touched, one line per object.
            if let Some(Value::Array(resources)) = op.get("syncResult").and_then(|r| r.get("resources")) {
                for r in resources {
                    if let Some(line) = str_at(r, &["message"]) {
                        text.push(line.to_string());
                    }
                    if let (Some(kind), Some(name)) = (str_at(r, &["kind"]), str_at(r, &["name"]))
                        && matches!(kind, "Deployment" | "StatefulSet" | "DaemonSet" | "Rollout" | "CronJob")
                    {
                        refs.extend(refs_of(self.m, ref_kind::KUBERNETES_ID, name));
                        if !entities.iter().any(|x| x == name) {
                            entities.push(name.to_string());
                        }
                    }
                }
            }
        }
        refs.sort();
        refs.dedup();
        ChangeRecord {
            key: format!("{}/{}/{}", self.namespace, self.app, e.key),
            format: Format::ArgoCd,
            title: clip(&title, 200),
            text: text.join("\n"),
            change: ChangeFields {
                change_type: ChangeType::Deploy,
                status: e.status,
                start: e.start,
                end: e.end,
                schedule: None,
                risk: None,
                by,
                revision: e.revision,
                environment: None,
            },
            entities,
            refs,
            // The Application's own labels are not its workloads': no selector matching.
            labels: Default::default(),
            url: None,
            updated: e.end.or(e.start),
            raw: e.raw,
        }
    }
}

/// A history entry's revision, or its sources' revisions joined.
fn revision(entry: &Value) -> Option<String> {
    if let Some(r) = str_at(entry, &["revision"]) {
        return Some(r.to_string());
    }
    let revs: Vec<&str> = entry.get("revisions")?.as_array()?.iter().filter_map(Value::as_str).collect();
    (!revs.is_empty()).then(|| revs.join(", "))
}

/// `initiatedBy`: a user name, or `automated` for an automated sync.
fn initiator(v: &Value) -> Option<String> {
    if let Some(u) = str_at(v, &["username"]) {
        return Some(u.to_string());
    }
    v.get("automated").and_then(Value::as_bool).filter(|a| *a).map(|_| "automated sync".to_string())
}
