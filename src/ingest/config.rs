//! Per-source mappings (`ingest/*.toml`): which annotation holds the tier,
//! which Jira field names the affected service, ... The files in the
//! repository's `ingest/` folder are compiled in as defaults; a deployment
//! points `FFO_MAPPINGS` at its own folder to override any of them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::ClassificationScale;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("mapping {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything ingest needs to know beyond the input itself.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub catalog: CatalogMapping,
    pub linking: super::linking::LinkingConfig,
    pub runbooks: RunbookMapping,
    pub postmortems: PostmortemMapping,
    pub confluence: ConfluenceMapping,
    pub jira: JiraMapping,
    pub alerts: AlertMapping,
    pub changes: ChangesMapping,
    pub scale: ClassificationScale,
    /// Largest single document (file, page, issue) accepted.
    pub max_document_bytes: u64,
    /// Largest export file (many documents) read.
    pub max_export_bytes: u64,
}

impl IngestConfig {
    /// Loads mappings from `dir` where a file exists there, else the defaults.
    pub fn load(
        dir: Option<&Path>,
        scale: ClassificationScale,
        max_document_bytes: u64,
    ) -> Result<IngestConfig, MappingError> {
        let config = IngestConfig {
            catalog: load_one(dir, "catalog.toml", include_str!("../../ingest/catalog.toml"))?,
            linking: load_one(dir, "linking.toml", include_str!("../../ingest/linking.toml"))?,
            runbooks: load_one(dir, "runbooks.toml", include_str!("../../ingest/runbooks.toml"))?,
            postmortems: load_one(dir, "postmortems.toml", include_str!("../../ingest/postmortems.toml"))?,
            confluence: load_one(dir, "confluence.toml", include_str!("../../ingest/confluence.toml"))?,
            jira: load_one(dir, "jira.toml", include_str!("../../ingest/jira.toml"))?,
            alerts: load_one(dir, "alerts.toml", include_str!("../../ingest/alerts.toml"))?,
            changes: load_one(dir, "changes.toml", include_str!("../../ingest/changes.toml"))?,
            scale: scale.clone(),
            max_document_bytes,
            max_export_bytes: DEFAULT_MAX_EXPORT_BYTES,
        };
        // A mapping that names a level the configuration does not have
        // would classify nothing: refused at start.
        for (name, levels) in
            [("jira.toml", &config.jira.classification), ("confluence.toml", &config.confluence.classification)]
        {
            levels.check(&scale).map_err(|message| MappingError::Parse { path: PathBuf::from(name), message })?;
        }
        Ok(config)
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        // The compiled-in defaults are tested to parse.
        IngestConfig::load(None, ClassificationScale::default(), DEFAULT_MAX_DOCUMENT_BYTES)
            .unwrap_or_else(|e| panic!("built-in mapping is invalid: {e}"))
    }
}

pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
pub const DEFAULT_MAX_EXPORT_BYTES: u64 = 256 * 1024 * 1024;

fn load_one<T: for<'de> Deserialize<'de>>(dir: Option<&Path>, name: &str, default: &str) -> Result<T, MappingError> {
    let (path, text) = match dir.map(|d| d.join(name)).filter(|p| p.exists()) {
        Some(p) => {
            let text = std::fs::read_to_string(&p).map_err(|source| MappingError::Io { path: p.clone(), source })?;
            (p, text)
        }
        None => (PathBuf::from(format!("(built-in) ingest/{name}")), default.to_string()),
    };
    toml::from_str(&text).map_err(|e| MappingError::Parse { path, message: e.to_string() })
}

/// `ingest/catalog.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogMapping {
    pub annotations: Annotations,
    /// FFO kind label → Resource spec.type values.
    pub resource_kinds: BTreeMap<String, Vec<String>>,
    /// FFO kind label → Component spec.type values.
    pub component_kinds: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    pub tier: String,
    pub environment: String,
    pub classification: String,
    pub aliases: String,
}

/// `ingest/runbooks.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookMapping {
    pub alert_keys: Vec<String>,
    pub entity_keys: Vec<String>,
    /// Front-matter keys holding the runbook's own classification level.
    #[serde(default = "classification_keys")]
    pub classification_keys: Vec<String>,
}

fn classification_keys() -> Vec<String> {
    vec!["classification".to_string()]
}

/// `ingest/postmortems.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmortemMapping {
    pub entity_keys: Vec<String>,
    pub date_keys: Vec<String>,
    pub severity_keys: Vec<String>,
    pub title_keys: Vec<String>,
    /// Front-matter keys holding the postmortem's own classification level.
    #[serde(default = "classification_keys")]
    pub classification_keys: Vec<String>,
}

/// `ingest/confluence.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceMapping {
    /// Document kind → labels that mark it.
    pub kinds: BTreeMap<String, Vec<String>>,
    /// Whether a label that names an entity makes the page `affect` it.
    pub labels_name_entities: bool,
    /// Which spaces and labels make a page more sensitive.
    #[serde(default)]
    pub classification: super::classify::SourceLevels,
    pub live: ConfluenceLive,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfluenceLive {
    pub api: String,
    pub spaces: Vec<String>,
    pub page_size: u32,
}

/// `ingest/jira.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraMapping {
    pub entity_fields: Vec<String>,
    /// Document kind → issue types.
    pub kinds: BTreeMap<String, Vec<String>>,
    /// Severity → priorities.
    pub severity: BTreeMap<String, Vec<String>>,
    /// Document kind → labels that give an issue of another type that kind.
    #[serde(default)]
    pub label_kinds: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub changes: JiraChanges,
    pub live: JiraLive,
    /// Which security levels and labels make an issue more sensitive.
    #[serde(default)]
    pub classification: super::classify::SourceLevels,
}

/// `[changes]` of `ingest/jira.toml`: which issues are changes beyond the
/// change issue types, and the change-management fields, by name or id.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraChanges {
    /// Issue types whose issues are changes when their labels or their text say so.
    pub task_types: Vec<String>,
    /// Fields holding when the change started (or is planned to); the first with a value wins.
    pub start: Vec<String>,
    pub end: Vec<String>,
    pub change_type: Vec<String>,
    pub risk: Vec<String>,
    /// Fields naming what the change touches (they become `affects`).
    pub affected: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraLive {
    pub jql: String,
    pub api: String,
    pub page_size: u32,
    pub fields: Vec<String>,
}

/// `ingest/changes.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangesMapping {
    /// The kind of reference a format carries (`repository`, `argocd_app`,
    /// ...) → the catalog annotations whose values it is matched against.
    pub refs: BTreeMap<String, Vec<String>>,
    /// Annotations whose value is a label selector.
    pub selectors: Vec<String>,
    pub kubernetes: KubernetesChanges,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesChanges {
    /// Event reason → change type.
    pub reasons: BTreeMap<String, String>,
}

impl ChangesMapping {
    /// The annotations a reference of `kind` is matched against.
    pub fn annotations_for(&self, kind: &str) -> &[String] {
        self.refs.get(kind).map_or(&[], Vec::as_slice)
    }

    /// Every annotation change events are matched against: what catalog
    /// ingest keeps as external references.
    pub fn annotations(&self) -> std::collections::BTreeSet<&str> {
        self.refs.values().flatten().map(String::as_str).collect()
    }

    pub fn is_selector(&self, annotation: &str) -> bool {
        self.selectors.iter().any(|s| s == annotation)
    }
}

/// `ingest/alerts.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertMapping {
    pub target_labels: Vec<String>,
    pub ignore_values: Vec<String>,
    /// Catalog annotations whose values alerts may name an entity by.
    #[serde(default)]
    pub external_refs: Vec<String>,
}

/// Looks a value up in a "name → list of spellings" table, case-insensitively.
pub fn lookup<'a>(table: &'a BTreeMap<String, Vec<String>>, value: &str) -> Option<&'a str> {
    let value = value.trim();
    table.iter().find(|(_, spellings)| spellings.iter().any(|s| s.eq_ignore_ascii_case(value))).map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_mappings_parse_and_unknown_keys_are_refused() {
        let config = IngestConfig::default();
        assert_eq!(config.catalog.annotations.tier, "ffo/tier");
        assert!(config.changes.annotations().contains("github.com/project-slug"));
        assert_eq!(config.changes.annotations_for("argocd_app"), ["argocd/app-name"]);
        assert!(config.changes.is_selector("backstage.io/kubernetes-label-selector"));
        assert!(lookup(&config.jira.kinds, "[System] Change") == Some("change"));
        assert!(config.jira.changes.start.iter().any(|f| f == "Planned start"));
        assert!(config.jira.live.jql.contains("\"[System] Change\""), "{}", config.jira.live.jql);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("catalog.toml"),
            "[annotations]\ntier='t'\nenvironment='e'\nclassification='c'\naliases='a'\ntypo=1\n[resource_kinds]\n[component_kinds]\n",
        )
        .unwrap();
        let err = IngestConfig::load(Some(dir.path()), ClassificationScale::default(), 1).unwrap_err();
        assert!(err.to_string().contains("typo"), "{err}");
    }
}
