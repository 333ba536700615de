//! The classification a source itself gives a document (a Jira security
//! level, a Confluence space or label, a front-matter key), mapped to the
//! configured levels in `ingest/*.toml`. A document is then seen at the
//! higher of this and the levels of the entities it speaks of (the
//! projection computes that); here only the source's own word counts.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::{Classification, ClassificationScale};

/// `[classification]` of a source's mapping.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceLevels {
    /// Label (case-insensitive) → level.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Confluence space key → level.
    #[serde(default)]
    pub spaces: BTreeMap<String, String>,
    /// Jira issue security level name → level. A security level that is
    /// not listed makes the issue the highest level: it was restricted in
    /// Jira, and FFO cannot tell how much.
    #[serde(default)]
    pub security_levels: BTreeMap<String, String>,
}

impl SourceLevels {
    /// Every level the mapping names must be a configured one.
    pub fn check(&self, scale: &ClassificationScale) -> Result<(), String> {
        for (what, map) in
            [("labels", &self.labels), ("spaces", &self.spaces), ("security_levels", &self.security_levels)]
        {
            for (key, level) in map {
                scale.parse(level).map_err(|e| format!("classification.{what}.{key:?}: {e}"))?;
            }
        }
        Ok(())
    }

    /// The most sensitive level the source gives a document with these
    /// labels, space and security level; `None` when it gives none.
    pub fn level(
        &self,
        scale: &ClassificationScale,
        labels: &[String],
        space: Option<&str>,
        security: Option<&str>,
    ) -> Option<Classification> {
        let mut found: Vec<Classification> = Vec::new();
        let lookup = |map: &BTreeMap<String, String>, key: &str| {
            map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key.trim())).and_then(|(_, v)| scale.parse(v).ok())
        };
        for label in labels {
            found.extend(lookup(&self.labels, label));
        }
        if let Some(space) = space {
            found.extend(lookup(&self.spaces, space));
        }
        if let Some(security) = security.filter(|s| !s.trim().is_empty()) {
            found.push(lookup(&self.security_levels, security).unwrap_or_else(|| scale.highest().clone()));
        }
        found.into_iter().reduce(|a, b| scale.max(&a, &b).clone())
    }
}

/// A level written in a document (front matter): a configured level, or
/// an error naming the levels (the document is refused, never stored as
/// unclassified).
pub fn written(scale: &ClassificationScale, value: &str) -> Result<Classification, String> {
    scale.parse(value).map_err(|e| format!("classification: {e}; the document was not stored"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_sensitive_word_of_the_source_wins() {
        let scale = ClassificationScale::default();
        let map = SourceLevels {
            labels: [("restricted".to_string(), "IL5".to_string())].into(),
            spaces: [("SEC".to_string(), "IL6".to_string())].into(),
            security_levels: [("Internal".to_string(), "IL4".to_string())].into(),
        };
        assert!(map.check(&scale).is_ok());
        let level = |labels: &[&str], space, security| {
            let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            map.level(&scale, &labels, space, security).map(|l| l.to_string())
        };
        assert_eq!(level(&["ops", "Restricted"], None, None).as_deref(), Some("IL5"));
        assert_eq!(level(&["ops"], Some("SEC"), Some("internal")).as_deref(), Some("IL6"));
        assert_eq!(level(&[], None, Some("Internal")).as_deref(), Some("IL4"));
        assert_eq!(
            level(&[], None, Some("Board only")).as_deref(),
            Some("IL6"),
            "an unmapped security level fails closed"
        );
        assert_eq!(level(&["ops"], Some("OPS"), None), None);
        let bad = SourceLevels { labels: [("x".to_string(), "TOP".to_string())].into(), ..SourceLevels::default() };
        assert!(bad.check(&scale).unwrap_err().contains("TOP"));
        assert!(written(&scale, "IL 5").is_err());
    }
}
