//! Scoring `context_for_action` on a scenario set: each scenario is a
//! firing Alertmanager alert (and sometimes a proposed action) with the ids
//! of the decisive documents; a scenario is a hit when a decisive document
//! is among the first five items of any one ranked list of the answer.
//!
//! The rules are those of the scenario sets' own README (identity fields,
//! how Jira keys, Confluence ids and file names match): shared by the
//! runner for external sets (`benches/scenarios.rs`) and the test that
//! holds a floor on FFO's own set (`tests/scenarios.rs`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// One scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub id: String,
    pub alert: Value,
    pub action: Option<String>,
    pub entity: String,
    pub decisive: Vec<String>,
    pub kind: String,
}

/// Reads a `scenarios.json` (a list of scenarios).
pub fn load(path: &Path) -> Vec<Scenario> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let list: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    list.into_iter()
        .map(|s| Scenario {
            id: s["id"].as_str().unwrap_or_default().to_string(),
            alert: s["alert"].clone(),
            action: s["action"].as_str().map(str::to_string),
            entity: s["entity"].as_str().unwrap_or_default().to_string(),
            decisive: s["decisive"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .map(str::to_string)
                .collect(),
            kind: s["kind"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The fields that identify an item's document (never its snippet or
/// explanation: a policy that quotes an id is not that document).
const IDENTITY: &[&str] = &[
    "id",
    "key",
    "source",
    "uri",
    "url",
    "path",
    "file",
    "title",
    "external_id",
    "externalId",
    "doc",
    "document",
    "doc_id",
];

/// An item's identity: its identity fields, those of its provenance, and
/// those of the documents it cites (a merged known cause counts for each).
pub fn identity(item: &Value) -> String {
    let Some(obj) = item.as_object() else { return String::new() };
    let mut parts: Vec<String> = Vec::new();
    let fields = |o: &serde_json::Map<String, Value>, parts: &mut Vec<String>| {
        for (k, v) in o {
            if let Some(s) = v.as_str()
                && IDENTITY.contains(&k.as_str())
            {
                parts.push(s.to_string());
            }
        }
    };
    for (k, v) in obj {
        match v {
            Value::String(s) if IDENTITY.contains(&k.as_str()) => parts.push(s.clone()),
            Value::Object(o) if ["provenance", "source", "origin", "document", "doc"].contains(&k.as_str()) => {
                fields(o, &mut parts)
            }
            Value::Array(a)
                if ["sources", "evidence", "provenance", "documents", "incidents"].contains(&k.as_str()) =>
            {
                for x in a {
                    match x {
                        Value::String(s) => parts.push(s.clone()),
                        Value::Object(o) => fields(o, &mut parts),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    parts.join(" ")
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether an identity names a decisive id: a Jira key as a whole token, a
/// page id as a whole number, a file name with or without `.md`.
pub fn matches(identity: &str, decisive: &str) -> bool {
    let jira_key = decisive.split_once('-').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_uppercase())
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
    });
    let hay = identity;
    if jira_key {
        let (hay, needle) = (hay.to_ascii_uppercase(), decisive.to_ascii_uppercase());
        return hay.match_indices(&needle).any(|(i, _)| {
            let before = hay[..i].chars().next_back();
            let after = hay[i + needle.len()..].chars().next();
            before.is_none_or(|c| !is_word(c) && c != '-') && after.is_none_or(|c| !c.is_ascii_digit())
        });
    }
    if decisive.chars().all(|c| c.is_ascii_digit()) {
        return hay.match_indices(decisive).any(|(i, _)| {
            let before = hay[..i].chars().next_back();
            let after = hay[i + decisive.len()..].chars().next();
            before.is_none_or(|c| !c.is_ascii_digit()) && after.is_none_or(|c| !c.is_ascii_digit())
        });
    }
    let stem = decisive.strip_suffix(".md").unwrap_or(decisive);
    hay.match_indices(stem).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let rest = &hay[i + stem.len()..];
        let rest = rest.strip_prefix(".md").unwrap_or(rest);
        before.is_none_or(|c| !is_word(c) && c != '-') && rest.chars().next().is_none_or(|c| !is_word(c) && c != '-')
    })
}

/// Every list of objects anywhere in the answer, in the order shown.
pub fn ranked_lists(v: &Value) -> Vec<Vec<&Value>> {
    let mut out = Vec::new();
    fn walk<'a>(v: &'a Value, out: &mut Vec<Vec<&'a Value>>) {
        match v {
            Value::Array(a) => {
                let objects: Vec<&Value> = a.iter().filter(|x| x.is_object()).collect();
                if !objects.is_empty() {
                    out.push(objects);
                }
                for x in a {
                    walk(x, out);
                }
            }
            Value::Object(o) => {
                for x in o.values() {
                    walk(x, out);
                }
            }
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// Whether a decisive document is among the first five of any list.
pub fn hit(answer: &Value, decisive: &[String]) -> bool {
    ranked_lists(answer)
        .iter()
        .any(|list| list.iter().take(5).any(|item| decisive.iter().any(|d| matches(&identity(item), d))))
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub kind: String,
    pub hit: bool,
    pub resolved: bool,
    pub error: Option<String>,
    /// The first five identities of each list, for a miss.
    pub lists: Vec<Vec<String>>,
}

/// Results per kind and overall.
#[derive(Debug, Clone, Default)]
pub struct Score {
    pub outcomes: Vec<Outcome>,
}

impl Score {
    pub fn hits(&self) -> usize {
        self.outcomes.iter().filter(|o| o.hit).count()
    }

    pub fn by_kind(&self) -> BTreeMap<String, (usize, usize)> {
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for o in &self.outcomes {
            let e = out.entry(o.kind.clone()).or_default();
            e.0 += usize::from(o.hit);
            e.1 += 1;
        }
        out
    }
}

/// Runs `ffo context --alert FILE [--action A] --json` per scenario on the
/// data directory `data` and scores it.
pub fn run(ffo: &Path, data: &Path, scenarios: &[Scenario]) -> Score {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut score = Score::default();
    for s in scenarios {
        let file = tmp.path().join(format!("{}.json", s.id.replace('/', "_")));
        let payload = serde_json::json!({"version": "4", "status": "firing", "alerts": [s.alert]});
        std::fs::write(&file, payload.to_string()).expect("write alert");
        let mut cmd = Command::new(ffo);
        cmd.arg("--data").arg(data).args(["context", "--alert"]).arg(&file).arg("--json");
        if let Some(a) = &s.action {
            cmd.args(["--action", a]);
        }
        cmd.env("FFO_LOG", "error").env_remove("FFO_CONFIG").env_remove("FFO_LEDGER_URL");
        let out = cmd.output().expect("run ffo context");
        let mut outcome = Outcome {
            id: s.id.clone(),
            kind: s.kind.clone(),
            hit: false,
            resolved: false,
            error: None,
            lists: Vec::new(),
        };
        if !out.status.success() {
            outcome.error = Some(String::from_utf8_lossy(&out.stderr).trim().chars().take(300).collect());
        } else {
            match serde_json::from_slice::<Value>(&out.stdout) {
                Ok(answer) => {
                    outcome.hit = hit(&answer, &s.decisive);
                    outcome.resolved = answer["target"]["name"].as_str() == Some(s.entity.as_str())
                        || answer["target"]["id"].as_str().is_some_and(|id| id.ends_with(&format!("/{}", s.entity)));
                    outcome.lists = ranked_lists(&answer)
                        .iter()
                        .map(|l| l.iter().take(5).map(|i| identity(i)).filter(|i| !i.is_empty()).collect::<Vec<_>>())
                        .filter(|l: &Vec<String>| !l.is_empty())
                        .collect();
                }
                Err(e) => outcome.error = Some(format!("not JSON: {e}")),
            }
        }
        score.outcomes.push(outcome);
    }
    score
}

/// A table of the results, per scenario and per kind.
pub fn report(score: &Score, verbose: bool, scenarios: &[Scenario]) -> String {
    let mut out = String::new();
    for o in &score.outcomes {
        out.push_str(&format!(
            "{:<42} {:<17} {:<5} entity-resolved={}{}\n",
            o.id,
            o.kind,
            if o.hit { "hit" } else { "MISS" },
            o.resolved,
            o.error.as_deref().map(|e| format!(" error: {e}")).unwrap_or_default()
        ));
        if verbose && !o.hit {
            if let Some(s) = scenarios.iter().find(|s| s.id == o.id) {
                out.push_str(&format!("    decisive: {}\n", s.decisive.join(", ")));
            }
            for l in &o.lists {
                let short: Vec<String> = l.iter().map(|i| i.chars().take(60).collect()).collect();
                out.push_str(&format!("    top 5: {}\n", short.join(" | ")));
            }
        }
    }
    for (kind, (h, n)) in score.by_kind() {
        out.push_str(&format!("  {kind:<17} {h}/{n}\n"));
    }
    out.push_str(&format!("decisive-recall@5 {}/{}\n", score.hits(), score.outcomes.len()));
    out
}
