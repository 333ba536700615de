//! Which entity an alert is about: its labels, tried in the configured
//! order, then every other label; each value as given and in the forms
//! alerts write names in (without a port, a URL's host, a pod without its
//! replica hash, a short host name). Exact lookups only, so resolving costs
//! the same whatever the labels hold.

use std::sync::Arc;

use super::Targeting;
use crate::auth::Caller;
use crate::context::{QueryError, visible};
use crate::model::Alert;
use crate::topology::{Candidate, EntityInfo, MatchKind, Resolution, Topology, is_grouping};

/// Label values longer than this name no entity (and are not looked up).
const MAX_LABEL_VALUE: usize = 512;

/// The entity an alert is about: the first label (in the configured order)
/// whose value, or a form of it, names exactly one entity the caller may
/// see; failing that, every other label in name order, so that an alert
/// that names a host only in an unusual label still resolves. Each try is
/// an exact lookup, so resolving costs the same whatever the labels hold.
pub(crate) fn target_of_alert(
    topo: &Topology,
    scale: &crate::model::ClassificationScale,
    caller: &Caller,
    alert: &Alert,
    mapping: &crate::ingest::config::AlertMapping,
) -> Result<(Arc<EntityInfo>, Targeting), QueryError> {
    let mut tried: Vec<String> = Vec::new();
    let configured = mapping.target_labels.iter().map(String::as_str);
    let others = alert
        .labels
        .keys()
        .map(String::as_str)
        .filter(|l| !mapping.target_labels.iter().any(|t| t == l) && !NOT_A_NAME.contains(l));
    let labels: Vec<&str> = configured.chain(others).collect();
    // An alert is about something that runs: a System, Domain or team that
    // a namespace label happens to name is the answer only when nothing
    // else is.
    let mut grouping: Option<(Arc<EntityInfo>, Targeting)> = None;
    for label in labels {
        let Some(value) = alert.labels.get(label).filter(|v| v.len() <= MAX_LABEL_VALUE) else { continue };
        for (candidate, how) in label_values(label, value) {
            if mapping.ignore_values.iter().any(|v| v.eq_ignore_ascii_case(&candidate)) {
                tried.push(format!("{label}={value} (ignored: monitoring plumbing)"));
                continue;
            }
            if tried.len() < 60 {
                tried.push(format!("{label}={candidate}{how}"));
            }
            let via = format!("alert label {label}={value}{how}");
            let found = match topo.resolve_exact(&candidate) {
                Resolution::Found(e) if visible(scale, caller, &e) => {
                    let matched =
                        if e.name.eq_ignore_ascii_case(&candidate) { MatchKind::Name } else { MatchKind::Alias };
                    Some((e, Targeting { via, matched }))
                }
                Resolution::Ambiguous(c) => {
                    let c: Vec<Candidate> = c
                        .into_iter()
                        .filter(|c| visible(scale, caller, &c.entity))
                        .map(|mut c| {
                            c.via = format!("{label}={value}{how}");
                            c
                        })
                        .collect();
                    if c.len() > 1 {
                        return Err(QueryError::Ambiguous { query: via, candidates: c });
                    }
                    c.into_iter().next().map(|one| (one.entity, Targeting { via, matched: one.matched }))
                }
                // The name another system knows it by (a Kubernetes
                // workload's name through `backstage.io/kubernetes-id`).
                _ => by_reference(topo, mapping, &candidate).filter(|e| visible(scale, caller, e)).map(|e| {
                    (e, Targeting { via: format!("{via} (an external reference)"), matched: MatchKind::Alias })
                }),
            };
            match found {
                Some((e, t)) if is_grouping(e.kind) => {
                    grouping.get_or_insert((e, t));
                }
                Some(found) => return Ok(found),
                None => {}
            }
        }
    }
    if let Some(found) = grouping {
        return Ok(found);
    }
    Err(QueryError::BadRequest(format!(
        "the alert names no known entity; tried {} (labels in the order of ingest/alerts.toml target_labels, then the others); pass `entity` to say which",
        if tried.is_empty() { "no labels that could name one".to_string() } else { tried.join(", ") }
    )))
}

/// The one entity a value names through the external references alerts
/// use (`external_refs` in ingest/alerts.toml); `None` when none or several.
fn by_reference(
    topo: &Topology,
    mapping: &crate::ingest::config::AlertMapping,
    value: &str,
) -> Option<Arc<EntityInfo>> {
    let mut found: Vec<Arc<EntityInfo>> =
        mapping.external_refs.iter().flat_map(|key| topo.by_external_ref(key, value)).collect();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.dedup_by(|a, b| a.id == b.id);
    (found.len() == 1).then(|| found.remove(0))
}

/// Labels whose values describe the alert, not what it is about.
const NOT_A_NAME: &[&str] = &["alertname", "severity", "priority", "status", "team", "prometheus", "receiver"];

/// Values to try for a label: as given, without a port, without a pod's
/// replica hash, the first label of a host name. Each with how it was derived.
fn label_values(label: &str, value: &str) -> Vec<(String, &'static str)> {
    let value = value.trim();
    let mut out: Vec<(String, &'static str)> = vec![(value.to_string(), "")];
    // A URL (blackbox probes): its host.
    let value = match value.split_once("://") {
        Some((_, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            out.push((host.to_string(), " (host of the URL)"));
            host
        }
        None => value,
    };
    let mut push = |v: String, how: &'static str| {
        if !v.is_empty() && !out.iter().any(|(x, _)| *x == v) {
            out.push((v, how));
        }
    };
    let host = strip_port(value);
    if host != value {
        push(host.to_string(), " (port stripped)");
    }
    if label == "pod" || label == "pod_name" {
        push(strip_replica(value), " (replica hash stripped)");
    }
    if let Some((short, _)) = host.split_once('.')
        && !short.chars().all(|c| c.is_ascii_digit())
    {
        push(short.to_string(), " (short host name)");
    }
    out
}

/// `host:9100` → `host`; `[::1]:9100` → `::1`.
fn strip_port(v: &str) -> &str {
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split_once(']').map(|(h, _)| h).unwrap_or(v);
    }
    match v.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => v,
    }
}

/// `checkout-api-7d9f8b6c5-x2k4q` → `checkout-api`; `redis-0` → `redis`.
fn strip_replica(pod: &str) -> String {
    let parts: Vec<&str> = pod.split('-').collect();
    let looks_random = |s: &str| {
        s.len() >= 4
            && s.len() <= 10
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars().any(|c| c.is_ascii_digit())
    };
    let mut keep = parts.len();
    // Deployment pods: name-<template hash>-<5 chars>; StatefulSet: name-<ordinal>.
    if keep >= 3 && parts[keep - 1].len() == 5 && looks_random(parts[keep - 2]) {
        keep -= 2;
    } else if keep >= 2
        && (parts[keep - 1].chars().all(|c| c.is_ascii_digit())
            || (parts[keep - 1].len() == 5 && looks_random(parts[keep - 1])))
    {
        keep -= 1;
    }
    parts[..keep].join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_label_values_lose_ports_and_replica_hashes() {
        let vals = |l, v| label_values(l, v).into_iter().map(|(v, _)| v).collect::<Vec<_>>();
        assert_eq!(
            vals("instance", "db-pay-01.prod.internal:9100"),
            vec!["db-pay-01.prod.internal:9100", "db-pay-01.prod.internal", "db-pay-01"]
        );
        assert_eq!(vals("pod", "checkout-api-7d9f8b6c5-x2k4q"), vec!["checkout-api-7d9f8b6c5-x2k4q", "checkout-api"]);
        assert_eq!(strip_replica("redis-shared-0"), "redis-shared");
        assert_eq!(vals("instance", "https://login.shop.example.com/healthz")[1], "login.shop.example.com");
        assert_eq!(strip_replica("checkout-api"), "checkout-api");
        assert_eq!(strip_port("[::1]:9100"), "::1");
        assert_eq!(strip_port("10.20.1.15"), "10.20.1.15");
    }
}
