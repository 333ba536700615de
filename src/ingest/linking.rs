//! Entity linking: which entities a document's text speaks of. Names and
//! aliases are found with Aho-Corasick, case-insensitively, as whole words
//! (a host name inside a longer host name does not count); names that are
//! everyday words are excluded by configuration.

use std::collections::{BTreeSet, HashMap};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;

use crate::model::{EntityId, EntityKind};

/// `ingest/linking.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkingConfig {
    pub min_length: usize,
    pub exclude: Vec<String>,
}

/// An entity and the names it is known by.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: EntityId,
    pub kind: Option<EntityKind>,
    pub names: Vec<String>,
}

type Owners = Vec<(EntityId, Option<EntityKind>)>;

/// What an explicitly given name resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    One(EntityId),
    Ambiguous(Vec<EntityId>),
    Unknown,
}

/// Finds entities by name in text.
pub struct Linker {
    matcher: Option<AhoCorasick>,
    /// The matcher's pattern id → entities carrying that name.
    prose: Vec<Owners>,
    /// Every lower-cased name → entities carrying it.
    names: HashMap<String, Owners>,
}

impl Linker {
    pub fn new(entities: &[Known], config: &LinkingConfig) -> Linker {
        let excluded: BTreeSet<String> = config.exclude.iter().map(|w| w.trim().to_lowercase()).collect();
        let mut names: HashMap<String, Owners> = HashMap::new();
        for e in entities {
            for name in &e.names {
                let key = name.trim().to_lowercase();
                if key.is_empty() {
                    continue;
                }
                let owners = names.entry(key).or_default();
                if !owners.iter().any(|(id, _)| *id == e.id) {
                    owners.push((e.id.clone(), e.kind));
                }
            }
        }
        let mut searchable: Vec<(&String, &Owners)> =
            names.iter().filter(|(k, _)| k.chars().count() >= config.min_length && !excluded.contains(*k)).collect();
        searchable.sort_by(|a, b| a.0.cmp(b.0));
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(searchable.iter().map(|(k, _)| k.as_str()))
            .ok();
        let prose = searchable.iter().map(|(_, o)| (*o).clone()).collect();
        Linker { matcher, prose, names }
    }

    /// An empty linker (no entities known).
    pub fn empty() -> Linker {
        Linker { matcher: None, prose: Vec::new(), names: HashMap::new() }
    }

    /// Resolves a name a source gives explicitly (a Jira component, a
    /// front-matter service) by exact name, alias or id.
    pub fn resolve(&self, name: &str) -> Named {
        let name = name.trim();
        if let Ok(id) = name.parse::<EntityId>()
            && self.names.values().flatten().any(|(e, _)| *e == id)
        {
            return Named::One(id);
        }
        match self.names.get(&name.to_lowercase()) {
            None => Named::Unknown,
            Some(owners) => match pick(owners) {
                Some(id) => Named::One(id),
                None => Named::Ambiguous(owners.iter().map(|(id, _)| id.clone()).collect()),
            },
        }
    }

    /// Entities named in `text` as whole words. Ambiguous names link only
    /// when one candidate is a concrete thing and the others are groupings.
    pub fn find(&self, text: &str) -> BTreeSet<EntityId> {
        self.find_at(text).into_iter().map(|(_, id)| id).collect()
    }

    /// As [`Linker::find`], with the byte offset of each mention, in order.
    pub fn find_at(&self, text: &str) -> Vec<(usize, EntityId)> {
        let mut out = Vec::new();
        let Some(matcher) = &self.matcher else {
            return out;
        };
        let bytes = text.as_bytes();
        for m in matcher.find_iter(text) {
            if !whole_word(bytes, m.start(), m.end()) {
                continue;
            }
            if let Some(id) = pick(&self.prose[m.pattern().as_usize()]) {
                out.push((m.start(), id));
            }
        }
        out
    }

    /// The entities a root cause names as the cause: those of the first
    /// sentence that names any. Later sentences tend to list what the cause
    /// then broke ("... and the fallbacks (pricing-service) overloaded").
    pub fn find_cause(&self, root_cause: &str) -> BTreeSet<EntityId> {
        let found = self.find_at(root_cause);
        let Some((first, _)) = found.first() else {
            return BTreeSet::new();
        };
        let start = sentence_start(root_cause, *first);
        let end = sentence_end(root_cause, *first);
        found.into_iter().filter(|(at, _)| *at >= start && *at < end).map(|(_, id)| id).collect()
    }
}

/// One owner, or the single concrete owner among groupings (a component
/// and the system of the same name: the component).
fn pick(owners: &Owners) -> Option<EntityId> {
    if owners.len() == 1 {
        return Some(owners[0].0.clone());
    }
    let grouping = |k: &Option<EntityKind>| {
        matches!(k, Some(EntityKind::System | EntityKind::Domain | EntityKind::Team | EntityKind::Person) | None)
    };
    let concrete: Vec<&EntityId> = owners.iter().filter(|(_, k)| !grouping(k)).map(|(id, _)| id).collect();
    (concrete.len() == 1).then(|| concrete[0].clone())
}

/// Where the sentence holding byte `at` starts.
fn sentence_start(text: &str, at: usize) -> usize {
    text[..at].rfind(". ").map(|i| i + 2).or_else(|| text[..at].rfind("\n\n").map(|i| i + 2)).unwrap_or(0)
}

/// Where the sentence holding byte `at` ends: a full stop followed by a
/// space or a line end, or a blank line.
fn sentence_end(text: &str, at: usize) -> usize {
    let rest = &text[at..];
    let candidates = [rest.find(". "), rest.find(".\n"), rest.find("\n\n"), rest.find("\n- ")];
    candidates.into_iter().flatten().min().map_or(text.len(), |i| at + i + 1)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b >= 0x80
}

/// A match is a whole word when it is not glued to word characters, nor to
/// a dot that continues a longer host name (`login.shop.example.com` does
/// not mention `shop.example.com`; "on db-pay-01." does mention db-pay-01).
fn whole_word(text: &[u8], start: usize, end: usize) -> bool {
    let before_ok = start == 0 || {
        let b = text[start - 1];
        !is_word(b) && b != b'.' && b != b'/'
    };
    let after_ok = end >= text.len() || {
        let b = text[end];
        let continues_host = b == b'.' && text.get(end + 1).is_some_and(|n| n.is_ascii_alphanumeric());
        !is_word(b) && !continues_host
    };
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(id: &str, kind: EntityKind, names: &[&str]) -> Known {
        Known { id: id.parse().unwrap(), kind: Some(kind), names: names.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn whole_words_case_insensitive_longest_first_and_exclusions() {
        let linker = Linker::new(
            &[
                known("component:checkout-api", EntityKind::Service, &["checkout-api", "chk-api", "gateway-ish"]),
                known("resource:db-pay-01", EntityKind::Host, &["db-pay-01", "db-pay-01.prod.internal"]),
                known("resource:edge-lb", EntityKind::Network, &["edge-lb", "shop.example.com"]),
                known("component:gateway", EntityKind::Service, &["gateway"]),
            ],
            &LinkingConfig { min_length: 3, exclude: vec!["gateway".into()] },
        );
        let ids = |t: &str| linker.find(t).into_iter().map(|i| i.to_string()).collect::<Vec<_>>();
        assert_eq!(ids("CHK-API was slow; Checkout-API recovered."), vec!["component:default/checkout-api"]);
        assert_eq!(ids("disk full on db-pay-01.prod.internal:9100"), vec!["resource:default/db-pay-01"]);
        assert_eq!(ids("disk full on db-pay-01."), vec!["resource:default/db-pay-01"]);
        assert!(ids("db-pay-012 and xchk-api and chk-apis").is_empty());
        assert!(ids("cert for login.shop.example.com expired").is_empty());
        assert!(ids("the payment gateway timed out").is_empty(), "excluded word");
        assert_eq!(linker.resolve("gateway"), Named::One("component:gateway".parse().unwrap()));
        assert_eq!(linker.resolve("nope"), Named::Unknown);
        let cause = linker.find_cause("Evictions on db-pay-01 starved chk-api. Later edge-lb saw 5xx.");
        let cause: Vec<String> = cause.into_iter().map(|i| i.to_string()).collect();
        assert_eq!(cause, vec!["component:default/checkout-api", "resource:default/db-pay-01"]);
    }

    #[test]
    fn ambiguous_names_prefer_the_concrete_entity() {
        let linker = Linker::new(
            &[
                known("system:search", EntityKind::System, &["search"]),
                known("component:search", EntityKind::Service, &["search"]),
                known("component:a", EntityKind::Service, &["twin"]),
                known("component:b", EntityKind::Service, &["twin"]),
            ],
            &LinkingConfig { min_length: 3, exclude: vec![] },
        );
        assert_eq!(linker.resolve("Search"), Named::One("component:search".parse().unwrap()));
        assert!(matches!(linker.resolve("twin"), Named::Ambiguous(v) if v.len() == 2));
        assert!(linker.find("twin peaks").is_empty());
    }
}
