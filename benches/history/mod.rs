//! Generates an operations history in the sources' real formats, about the
//! entities of a generated estate: Jira REST v2 search responses (wiki
//! markup descriptions with postmortem headings, components naming
//! entities, comments) and Confluence REST v1 content lists (storage XHTML
//! with headings, lists, tables and code macros). Deterministic: the same
//! seed gives the same files. Also hands back each document's plain words,
//! so another engine (SQLite FTS5) can index the same corpus.
// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Words of operations prose, most common first: draws favour the head of
/// the list (roughly Zipf), so some terms are in most documents and others
/// in few, as in real incident history.
const WORDS: &[&str] = &[
    "error",
    "latency",
    "requests",
    "service",
    "timeout",
    "database",
    "deploy",
    "traffic",
    "users",
    "alert",
    "rollback",
    "restart",
    "pods",
    "memory",
    "cpu",
    "disk",
    "network",
    "queue",
    "cache",
    "connection",
    "pool",
    "retry",
    "upstream",
    "downstream",
    "config",
    "certificate",
    "dns",
    "replica",
    "primary",
    "failover",
    "lag",
    "consumer",
    "producer",
    "partition",
    "index",
    "query",
    "slow",
    "spike",
    "saturation",
    "throttling",
    "evictions",
    "oom",
    "crashloop",
    "probe",
    "readiness",
    "liveness",
    "ingress",
    "gateway",
    "loadbalancer",
    "tls",
    "handshake",
    "expired",
    "rotation",
    "secret",
    "vault",
    "token",
    "auth",
    "login",
    "session",
    "checkout",
    "payment",
    "order",
    "inventory",
    "shipping",
    "search",
    "catalog",
    "pricing",
    "fraud",
    "notification",
    "email",
    "batch",
    "cron",
    "backup",
    "restore",
    "snapshot",
    "volume",
    "filesystem",
    "inode",
    "wal",
    "archive",
    "vacuum",
    "deadlock",
    "lock",
    "contention",
    "thread",
    "heap",
    "gc",
    "pause",
    "jvm",
    "goroutine",
    "kernel",
    "node",
    "kubelet",
    "scheduler",
    "autoscaler",
    "hpa",
    "quota",
    "limit",
    "burst",
    "capacity",
    "migration",
    "schema",
    "feature",
    "flag",
    "canary",
    "release",
    "pipeline",
    "build",
    "artifact",
    "registry",
    "mirror",
    "proxy",
    "sidecar",
    "mesh",
    "envoy",
    "nginx",
    "haproxy",
    "kafka",
    "redis",
    "postgres",
    "elasticsearch",
    "s3",
    "bucket",
    "cdn",
    "edge",
    "region",
    "zone",
    "datacenter",
    "power",
    "hardware",
    "firmware",
    "raid",
    "degraded",
    "rebuild",
    "checksum",
    "corruption",
    "replay",
    "idempotency",
    "duplicate",
    "ordering",
    "clock",
    "skew",
    "ntp",
    "leap",
    "second",
    "midnight",
    "weekend",
    "holiday",
    "peak",
    "sale",
];

/// Picks a word, favouring common ones.
fn word(r: &mut Rng) -> &'static str {
    let u = r.unit();
    let i = ((u * u * u) * WORDS.len() as f64) as usize;
    WORDS[i.min(WORDS.len() - 1)]
}

fn sentence(r: &mut Rng, n: usize) -> String {
    let mut s: Vec<&str> = (0..n).map(|_| word(r)).collect();
    s.push("observed");
    let mut out = s.join(" ");
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out.push('.');
    out
}

/// A small deterministic generator (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A generated document's words, for another engine to index.
pub struct Plain {
    pub title: String,
    pub body: String,
}

/// Writes `count` Jira issues as v2 search responses of 1,000 issues each.
pub fn jira(dir: &Path, count: usize, entities: &[String], seed: u64) -> (Vec<PathBuf>, Vec<Plain>) {
    fs::create_dir_all(dir).expect("jira dir");
    let mut r = Rng::new(seed);
    let mut files = Vec::new();
    let mut plain = Vec::with_capacity(count);
    let types = ["Incident", "Incident", "Incident", "Postmortem", "Problem", "Task"];
    let priorities = ["Highest", "High", "Medium", "Low"];
    for page in 0..count.div_ceil(1000) {
        let mut issues = Vec::new();
        for n in page * 1000..((page + 1) * 1000).min(count) {
            let key = format!("OPS-{}", n + 1);
            let entity = &entities[r.below(entities.len())];
            let other = &entities[r.below(entities.len())];
            let title = format!("{} {} on {entity}", word(&mut r), word(&mut r));
            let summary = sentence(&mut r, 12);
            let cause = format!("{} in {other}. {}", sentence(&mut r, 8), sentence(&mut r, 10));
            let resolution = sentence(&mut r, 10);
            let description = format!(
                "h2. Summary\n{summary}\n\nh2. Impact\n* {}\n* {}\n\nh2. Root cause\n{cause}\n\n{{code}}\nkubectl -n prod describe pod {entity}-0\n{{code}}\n\nh2. Resolution\n{resolution}\n\nh2. Action items\n# {}\n# {}\n",
                sentence(&mut r, 6),
                sentence(&mut r, 6),
                sentence(&mut r, 5),
                sentence(&mut r, 5)
            );
            let comment = sentence(&mut r, 15);
            let day = 1 + r.below(28);
            let month = 1 + r.below(12);
            let created = format!("2026-{month:02}-{day:02}T{:02}:{:02}:11.000+0000", r.below(24), r.below(60));
            plain.push(Plain { title: title.clone(), body: format!("{summary} {cause} {resolution} {comment}") });
            issues.push(json!({
                "id": (10_000 + n).to_string(),
                "key": key,
                "self": format!("https://jira.example.com/rest/api/2/issue/{}", 10_000 + n),
                "fields": {
                    "summary": title,
                    "issuetype": {"name": types[r.below(types.len())]},
                    "priority": {"name": priorities[r.below(priorities.len())]},
                    "status": {"name": "Resolved"},
                    "created": created,
                    "updated": created,
                    "resolutiondate": created,
                    "components": [{"name": entity}],
                    "labels": ["customer-impact"],
                    "reporter": {"displayName": "On Call"},
                    "description": description,
                    "issuelinks": [],
                    "comment": {"startAt": 0, "maxResults": 1, "total": 1, "comments": [
                        {"author": {"displayName": "SRE"}, "created": created, "body": comment}
                    ]},
                }
            }));
        }
        let body = json!({"startAt": page * 1000, "maxResults": 1000, "total": count, "issues": issues});
        let path = dir.join(format!("search-{page:04}.json"));
        fs::write(&path, serde_json::to_vec(&body).expect("json")).expect("write jira page");
        files.push(path);
    }
    (files, plain)
}

/// Writes `count` Confluence pages as REST v1 content lists of 500 pages.
pub fn confluence(dir: &Path, count: usize, entities: &[String], seed: u64) -> Vec<PathBuf> {
    fs::create_dir_all(dir).expect("confluence dir");
    let mut r = Rng::new(seed);
    let mut files = Vec::new();
    for page in 0..count.div_ceil(500) {
        let mut results: Vec<Value> = Vec::new();
        for n in page * 500..((page + 1) * 500).min(count) {
            let entity = &entities[r.below(entities.len())];
            let label = ["postmortem", "runbook", "policy", "howto"][r.below(4)];
            let storage = format!(
                "<h1>Summary</h1><p>{}</p><h2>Root cause</h2><p>{} on <strong>{entity}</strong>.</p>\
                 <ul><li>{}</li><li>{}</li></ul><table><tbody><tr><th>Time</th><th>Event</th></tr>\
                 <tr><td>10:00</td><td>{}</td></tr></tbody></table>\
                 <ac:structured-macro ac:name=\"code\"><ac:plain-text-body><![CDATA[systemctl restart {entity}]]></ac:plain-text-body></ac:structured-macro>\
                 <h2>Resolution</h2><p>{}&nbsp;&ndash; done.</p>",
                sentence(&mut r, 12),
                sentence(&mut r, 10),
                sentence(&mut r, 6),
                sentence(&mut r, 6),
                sentence(&mut r, 6),
                sentence(&mut r, 8)
            );
            results.push(json!({
                "id": (900_000 + n).to_string(),
                "type": "page",
                "status": "current",
                "title": format!("{} {} for {entity} ({n})", word(&mut r), word(&mut r)),
                "space": {"key": "OPS", "name": "Operations"},
                "history": {"createdBy": {"displayName": "SRE"}, "createdDate": "2026-03-01T10:00:00.000Z"},
                "version": {"number": 1, "when": "2026-03-01T10:00:00.000Z"},
                "ancestors": [{"id": "1", "title": "Operations Home"}],
                "metadata": {"labels": {"results": [{"name": label}, {"name": entity}]}},
                "body": {"storage": {"value": storage, "representation": "storage"}},
                "_links": {"webui": format!("/spaces/OPS/pages/{}", 900_000 + n), "base": "https://wiki.example.com/wiki"}
            }));
        }
        let body = json!({"results": results, "start": page * 500, "limit": 500, "size": 500, "_links": {"base": "https://wiki.example.com/wiki"}});
        let path = dir.join(format!("content-{page:04}.json"));
        fs::write(&path, serde_json::to_vec(&body).expect("json")).expect("write confluence page");
        files.push(path);
    }
    files
}

/// Two-word queries: pairs of common words, and pairs of rare ones.
pub fn queries(common: bool, n: usize, seed: u64) -> Vec<String> {
    let mut r = Rng::new(seed);
    let (lo, hi) = if common { (0, 12) } else { (90, WORDS.len()) };
    (0..n).map(|_| format!("{} {}", WORDS[lo + r.below(hi - lo)], WORDS[lo + r.below(hi - lo)])).collect()
}

/// Writes `n` events over files of 10,000: four in five in FFO's own form
/// (JSON Lines), one in five CDEvents `service.deployed` (a JSON list).
pub fn changes(dir: &Path, n: usize, names: &[String]) -> std::io::Result<()> {
    use std::io::Write;
    const PER_FILE: usize = 10_000;
    const KINDS: [(&str, &str); 8] = [
        ("deploy", "Deployed release {v} of {e}"),
        ("config", "Raised the connection pool limit of {e} to {v}"),
        ("schema", "Migration V{v} on {e}: add index on orders"),
        ("scaling", "Scaled {e} to {v} replicas"),
        ("secret", "Rotated the credentials of {e}"),
        ("feature_flag", "Feature flag checkout-v{v} on {e} to 50%"),
        ("infrastructure", "Kernel patch and reboot of {e}"),
        ("job", "New nightly export job on {e}"),
    ];
    std::fs::create_dir_all(dir)?;
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let base = chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").expect("time").to_utc();
    let mut written = 0;
    let mut file = 0;
    while written < n {
        let count = PER_FILE.min(n - written);
        let cdevents = file % 5 == 4;
        let path = dir.join(if cdevents { format!("cdevents-{file:04}.json") } else { format!("ffo-{file:04}.jsonl") });
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut list = Vec::with_capacity(if cdevents { count } else { 0 });
        for i in 0..count {
            let entity = &names[(next() as usize) % names.len()];
            let at = base + chrono::Duration::seconds((next() % (20 * 86_400)) as i64);
            let id = written + i;
            if cdevents {
                list.push(serde_json::json!({
                    "context": {"specversion": "0.5.0", "id": format!("ev-{id}"), "source": "/bench/pipeline",
                                "type": "dev.cdevents.service.deployed.0.3.0", "timestamp": ffo::model::time::rfc3339(at)},
                    "subject": {"id": entity, "source": "/bench", "content": {
                        "environment": {"id": "production"}, "artifactId": format!("pkg:oci/{entity}@sha256%3A{id:064x}")}}
                }));
            } else {
                let (kind, words) = KINDS[(next() as usize) % KINDS.len()];
                let title = words.replace("{e}", entity).replace("{v}", &(next() % 500).to_string());
                let line = serde_json::json!({
                    "id": format!("CHG-{id}"), "title": title, "type": kind, "status": "done", "entities": [entity],
                    "start": ffo::model::time::rfc3339(at), "by": "bench", "environment": "production",
                    "text": format!("{title}. Applied by the pipeline; see the change record for the rollback plan."),
                });
                writeln!(out, "{line}")?;
            }
        }
        if cdevents {
            serde_json::to_writer(&mut out, &list)?;
        }
        out.flush()?;
        written += count;
        file += 1;
    }
    Ok(())
}
