//! Reading rules out of text: which sentences of a policy, a runbook or a
//! ticket say what must not be done, what needs approval, what is frozen;
//! which verbs of operations they govern; when they are in force; and which
//! tiers, environments or kinds of thing they cover when they name no
//! entity. General English of operations only: no site's words.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::change::ActionVerb;

/// What a rule does to the actions it governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleKind {
    /// Nothing may change (a change freeze).
    Freeze,
    /// The action needs someone's approval first.
    Approval,
    /// The action must not be done (or only in a prescribed way).
    Forbid,
    /// The action is expressly allowed (an exception to a freeze).
    Allow,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Freeze => "freeze",
            RuleKind::Approval => "approval",
            RuleKind::Forbid => "forbid",
            RuleKind::Allow => "allow",
        }
    }
}

/// A rule a text states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kind: RuleKind,
    /// The sentence that states it.
    pub clause: String,
    /// The verbs it governs; empty: every change.
    pub verbs: Vec<ActionVerb>,
}

impl Rule {
    /// Whether the rule governs an action with these verbs (an action with
    /// no known verb is governed by rules on every change).
    pub fn governs(&self, verbs: &[ActionVerb]) -> bool {
        self.verbs.is_empty() || verbs.iter().any(|v| self.verbs.contains(v))
    }
}

/// Phrases that name a verb of operations, longest first where they overlap.
const VERBS: &[(&str, ActionVerb)] = &[
    ("roll back", ActionVerb::Rollback),
    ("rollback", ActionVerb::Rollback),
    ("rolled back", ActionVerb::Rollback),
    ("rollout undo", ActionVerb::Rollback),
    ("revert", ActionVerb::Rollback),
    ("downgrade", ActionVerb::Rollback),
    ("rolling restart", ActionVerb::Restart),
    ("restart", ActionVerb::Restart),
    ("bounce", ActionVerb::Restart),
    ("recycle", ActionVerb::Restart),
    ("delete the pod", ActionVerb::Restart),
    ("delete pod", ActionVerb::Restart),
    ("kill the pod", ActionVerb::Restart),
    ("reboot", ActionVerb::Reboot),
    ("power cycle", ActionVerb::Reboot),
    ("hotfix", ActionVerb::Deploy),
    ("deploy", ActionVerb::Deploy),
    ("release", ActionVerb::Deploy),
    ("roll out", ActionVerb::Deploy),
    ("rollout", ActionVerb::Deploy),
    ("ship ", ActionVerb::Deploy),
    ("scale", ActionVerb::Scale),
    ("replicas", ActionVerb::Scale),
    ("resize", ActionVerb::Scale),
    ("add capacity", ActionVerb::Scale),
    ("fail over", ActionVerb::Failover),
    ("failover", ActionVerb::Failover),
    ("switchover", ActionVerb::Failover),
    ("switch over", ActionVerb::Failover),
    ("promote", ActionVerb::Failover),
    ("flushall", ActionVerb::Flush),
    ("flushdb", ActionVerb::Flush),
    ("flush", ActionVerb::Flush),
    ("purge", ActionVerb::Flush),
    ("clear the cache", ActionVerb::Flush),
    ("clear cache", ActionVerb::Flush),
    ("delete keys", ActionVerb::Flush),
    ("config set", ActionVerb::ConfigChange),
    ("configuration", ActionVerb::ConfigChange),
    ("config change", ActionVerb::ConfigChange),
    ("reconfigure", ActionVerb::ConfigChange),
    ("setting", ActionVerb::ConfigChange),
    ("raise ", ActionVerb::ConfigChange),
    ("increase ", ActionVerb::ConfigChange),
    ("lower ", ActionVerb::ConfigChange),
    ("decrease ", ActionVerb::ConfigChange),
    ("tune ", ActionVerb::ConfigChange),
    ("re-enable", ActionVerb::Reenable),
    ("reenable", ActionVerb::Reenable),
    ("enable again", ActionVerb::Reenable),
    ("unsuspend", ActionVerb::Reenable),
    ("drop ", ActionVerb::Delete),
    ("truncate", ActionVerb::Delete),
    ("delete", ActionVerb::Delete),
    ("patch", ActionVerb::Patch),
    ("upgrade", ActionVerb::Patch),
    ("kernel update", ActionVerb::Patch),
    ("migrate", ActionVerb::Migrate),
    ("migration", ActionVerb::Migrate),
];

/// The verbs of operations a text speaks of, in the order of [`ActionVerb::ALL`].
pub fn verbs_in(text: &str) -> Vec<ActionVerb> {
    let text = format!(" {} ", normalise(text));
    let mut found: Vec<ActionVerb> = Vec::new();
    for (phrase, verb) in VERBS {
        // Whole words at the start: "restarts" counts, "prerelease" does not.
        let at_word = text.match_indices(phrase).any(|(i, _)| {
            let before = text[..i].chars().next_back().unwrap_or(' ');
            !before.is_alphanumeric()
        });
        if at_word && !found.contains(verb) {
            found.push(*verb);
        }
    }
    // A rollback ships an older release: "roll back to release 3.2" or
    // "bad deploy: roll back" is a rollback, not a deploy.
    if found.contains(&ActionVerb::Rollback) {
        found.retain(|v| *v != ActionVerb::Deploy);
    }
    // "delete pod" is a restart, not a deletion of data.
    if found.contains(&ActionVerb::Restart) && text.contains(" pod") {
        found.retain(|v| *v != ActionVerb::Delete);
    }
    found.sort();
    found
}

/// Lower case, punctuation that joins words kept, the rest spaces.
fn normalise(text: &str) -> String {
    text.chars()
        .map(
            |c| {
                if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/') {
                    c.to_ascii_lowercase()
                } else {
                    ' '
                }
            },
        )
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cues that a sentence states a rule, with the kind they make it.
const FREEZE_CUES: &[&str] = &["freeze", "frozen", "no changes", "no change ", "moratorium", "blackout"];
/// Approval as a requirement ("needs approval from"), not as a record of
/// one ("approved by the CAB on ...").
const APPROVAL_CUES: &[&str] = &[
    "approval from",
    "approval of",
    "approval by",
    "needs approval",
    "need approval",
    "requires approval",
    "require approval",
    "approval is required",
    "must be approved",
    " approves",
    "with approval",
    "without approval",
    "sign-off from",
    "sign-off by",
    "sign off from",
    "needs a change request",
    "requires a change request",
];
const FORBID_CUES: &[&str] = &[
    "must not",
    "must never",
    "never ",
    "do not",
    "don't",
    "forbidden",
    "not allowed",
    "prohibited",
    "not permitted",
    "may not",
    "are banned",
    "is banned",
    "only with",
    "only after",
    "without approval",
];

/// Words that make "no X" a rule on changes ("no deploys", "no restarts").
const NO_CHANGE_NOUNS: &[&str] = &[
    "changes",
    "change",
    "deploys",
    "deployments",
    "deploy",
    "releases",
    "restarts",
    "reboots",
    "rollbacks",
    "failovers",
    "migrations",
    "flushall",
    "flushdb",
    "config",
];

/// Cues that a sentence allows something; checked after the forbidding
/// ones, so "not allowed" never reads as allowed.
const ALLOW_CUES: &[&str] = &["allowed", "permitted", "is fine", "is ok", "are ok", "are fine", "exempt"];

/// What kind of rule a sentence (or a heading over a list) states, if any.
fn kind_of(lower: &str) -> Option<RuleKind> {
    let no_x = lower.match_indices(" no ").any(|(i, _)| {
        let rest = &lower[i + 4..];
        NO_CHANGE_NOUNS.iter().any(|n| rest.starts_with(n))
            || rest.split_whitespace().next().is_some_and(|w| !verbs_in(w).is_empty())
    });
    let forbids = FORBID_CUES.iter().any(|c| lower.contains(c)) || no_x;
    if FREEZE_CUES.iter().any(|c| lower.contains(c)) && !ALLOW_CUES.iter().any(|c| lower.contains(c)) {
        Some(RuleKind::Freeze)
    } else if APPROVAL_CUES.iter().any(|c| lower.contains(c)) {
        Some(RuleKind::Approval)
    } else if forbids {
        Some(RuleKind::Forbid)
    } else if ALLOW_CUES.iter().any(|c| lower.contains(c)) {
        Some(RuleKind::Allow)
    } else {
        None
    }
}

/// The sentences of `text` that state rules, each with its kind and verbs.
/// A rule that names no verb governs every change; a sentence that names
/// none takes the verbs of the sentence before it on the same line ("Roll
/// back the deploy. Allowed during a freeze."). List items under a heading
/// that states a rule ("What is frozen", "Never do this") are rules of its
/// kind.
pub fn rules_in(text: &str) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    let mut heading: Option<RuleKind> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') {
            heading = kind_of(&format!(" {} ", trimmed.trim_start_matches('#').trim().to_lowercase()));
            continue;
        }
        let is_item = trimmed.starts_with(['-', '*', '•'])
            || trimmed
                .split_once(['.', ')'])
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        let mut previous_verbs: Vec<ActionVerb> = Vec::new();
        for sentence in sentences(raw) {
            let lower = format!(" {} ", sentence.to_lowercase());
            let own = kind_of(&lower);
            let kind = match (own, heading) {
                (Some(k), _) => k,
                (None, Some(h)) if is_item => h,
                _ => {
                    previous_verbs = verbs_in(&sentence);
                    continue;
                }
            };
            let mut verbs = verbs_in(&sentence);
            if verbs.is_empty() && own.is_some() {
                verbs = previous_verbs.clone();
            }
            // "no changes" and freezes stated in one sentence govern every
            // change, whatever else they name.
            if own == Some(RuleKind::Freeze) || lower.contains("no changes") || lower.contains(" any change") {
                verbs.clear();
            }
            previous_verbs = verbs.clone();
            let clause: String = sentence.chars().take(400).collect();
            if !out.iter().any(|r| r.clause == clause) {
                out.push(Rule { kind, clause, verbs });
            }
        }
    }
    out
}

/// Sentences and list items of a text, trimmed, without markup bullets.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_start_matches(['*', '-', '#', '>', '•']).trim();
        if line.is_empty() {
            continue;
        }
        let mut start = 0;
        let bytes = line.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            // A full stop followed by a space and a capital ends a sentence
            // ("e.g. foo" and "v1.2" do not).
            if matches!(b, b'.' | b'!' | b'?')
                && bytes.get(i + 1) == Some(&b' ')
                && bytes.get(i + 2).is_some_and(|c| c.is_ascii_uppercase())
            {
                out.push(line[start..=i].trim().to_string());
                start = i + 2;
            }
        }
        if start < line.len() {
            out.push(line[start..].trim().to_string());
        }
    }
    out
}

/// A period a text states: either end may be open.
pub type Range = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// When a text says it applies: `from D1 to D2`, `D1 to D2`, `between D1
/// and D2`, `D1 – D2`, a table row with a start and an end column, `until
/// D2`, `from D1`. Dates are `YYYY-MM-DD`, optionally with `HH:MM` (UTC);
/// an end date without a time includes the whole day. Every period, in
/// text order; empty when the text states none.
pub fn time_ranges(text: &str) -> Vec<Range> {
    let mut out = Vec::new();
    for line in text.lines() {
        let dates = dates_in(line);
        let lower = line.to_lowercase();
        let word_before = |at: usize| -> String {
            lower[..at]
                .split_whitespace()
                .next_back()
                .unwrap_or("")
                .trim_matches(|c: char| !c.is_alphabetic())
                .to_string()
        };
        let mut i = 0;
        while i < dates.len() {
            let (at, end_at, start) = &dates[i];
            if let Some((next_at, _, next)) = dates.get(i + 1) {
                let between = lower[*end_at..*next_at].trim().trim_matches('|').trim();
                if matches!(between, "to" | "until" | "till" | "through" | "-" | "–" | "—" | "and" | "up to" | "")
                    || between.ends_with(" to")
                {
                    out.push((Some(start.0), Some(end_of(next))));
                    i += 2;
                    continue;
                }
            }
            let before = word_before(*at);
            if matches!(before.as_str(), "until" | "till" | "through" | "before") {
                out.push((None, Some(end_of(start))));
            } else if matches!(before.as_str(), "from" | "since" | "starting" | "effective" | "after") {
                out.push((Some(start.0), None));
            }
            i += 1;
        }
    }
    out
}

/// The first period a text states (see [`time_ranges`]).
pub fn time_range(text: &str) -> Option<Range> {
    time_ranges(text).into_iter().next()
}

/// A date found in text: the instant, and whether it carried a time.
type Found = (DateTime<Utc>, bool);

/// The end of a stated period: a bare date means the end of that day.
fn end_of(d: &Found) -> DateTime<Utc> {
    if d.1 { d.0 } else { d.0 + chrono::Duration::seconds(86_399) }
}

/// Every `YYYY-MM-DD[ HH:MM]` in a text, with its byte span.
fn dates_in(text: &str) -> Vec<(usize, usize, Found)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 10 <= b.len() {
        let looks = b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 5..i + 7].iter().all(u8::is_ascii_digit)
            && b[i + 7] == b'-'
            && b[i + 8..i + 10].iter().all(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !looks {
            i += 1;
            continue;
        }
        let Ok(date) = NaiveDate::parse_from_str(&text[i..i + 10], "%Y-%m-%d") else {
            i += 1;
            continue;
        };
        let mut end = i + 10;
        let mut time = None;
        // " 22:00", "T22:00", " at 22:00"
        for sep in [" ", "T", " at "] {
            let s = end + sep.len();
            if text.get(end..s) == Some(sep)
                && let Some(t) = text.get(s..s + 5).and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
            {
                time = Some(t);
                end = s + 5;
                break;
            }
        }
        let at = date.and_time(time.unwrap_or(NaiveTime::MIN)).and_utc();
        out.push((i, end, (at, time.is_some())));
        i = end;
    }
    out
}

/// What a rule that names no entity covers, from its words: tiers,
/// environments, kinds of thing, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeWords {
    pub everything: bool,
    pub tiers: Vec<u8>,
    pub environments: Vec<String>,
    /// Entity kinds by label (`database`, `service`, ...).
    pub kinds: Vec<String>,
}

impl ScopeWords {
    pub fn is_empty(&self) -> bool {
        !self.everything && self.tiers.is_empty() && self.environments.is_empty() && self.kinds.is_empty()
    }
}

/// Reads the scope words of a rule's text.
pub fn scope_words(text: &str) -> ScopeWords {
    let lower = format!(" {} ", normalise(text));
    let mut s = ScopeWords {
        everything: [
            " all services",
            " all systems",
            " every service",
            " all changes",
            " every change",
            " all production",
            " company-wide",
            " estate-wide",
            " everything",
        ]
        .iter()
        .any(|p| lower.contains(p)),
        ..ScopeWords::default()
    };
    for (i, _) in lower.match_indices("tier") {
        let rest = lower[i + 4..].trim_start_matches(['-', ' ']);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(t) = digits.parse::<u8>()
            && t <= 9
            && !s.tiers.contains(&t)
        {
            s.tiers.push(t);
        }
    }
    for env in ["production", "staging"] {
        if lower.contains(&format!(" {env}")) {
            s.environments.push(env.to_string());
        }
    }
    for (word, kind) in [
        (" databases", "database"),
        (" caches", "cache"),
        (" queues", "queue"),
        (" hosts", "host"),
        (" clusters", "cluster"),
    ] {
        if lower.contains(&format!(" all{word}")) || lower.contains(&format!(" every{}", &word[..word.len() - 1])) {
            s.kinds.push(kind.to_string());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_of_operations_in_words() {
        assert_eq!(verbs_in("restart the pods"), vec![ActionVerb::Restart]);
        assert_eq!(verbs_in("Roll back web to release 3.2"), vec![ActionVerb::Rollback]);
        assert_eq!(verbs_in("FLUSHALL the cache and restart all pods"), vec![ActionVerb::Restart, ActionVerb::Flush]);
        assert_eq!(verbs_in("patronictl failover db to db-1"), vec![ActionVerb::Failover]);
        assert_eq!(verbs_in("scale out api from 6 to 14 pods"), vec![ActionVerb::Scale]);
        assert!(verbs_in("prerelease notes").is_empty());
        assert_eq!(verbs_in("delete pod web-7d9"), vec![ActionVerb::Restart]);
    }

    #[test]
    fn rules_and_what_they_govern() {
        let text = "# Cache policy\nFrom 2031-03-01, for the shared caches:\n* FLUSHALL is forbidden; expire keys instead.\n* CONFIG SET of maxmemory needs approval from the platform team before it is run.\nBackground: we lost data twice.";
        let rules = rules_in(text);
        assert_eq!(rules.len(), 2, "{rules:?}");
        assert_eq!(rules[0].kind, RuleKind::Forbid);
        assert_eq!(rules[0].verbs, vec![ActionVerb::Flush]);
        assert_eq!(rules[1].kind, RuleKind::Approval);
        assert!(rules[1].governs(&[ActionVerb::ConfigChange]));
        assert!(!rules[1].governs(&[ActionVerb::Deploy]));
        let page = "Applies to tier 0 services.\n## What is frozen\n- Deploys of the web tier\n- Schema migrations\n## What is allowed\n- Rollbacks to the last good version\n- Scaling out, but not scaling in\n";
        let rules = rules_in(page);
        let kinds: Vec<(RuleKind, Vec<ActionVerb>)> = rules.iter().map(|r| (r.kind, r.verbs.clone())).collect();
        assert_eq!(kinds[0], (RuleKind::Freeze, vec![ActionVerb::Deploy]), "{rules:?}");
        assert_eq!(kinds[1], (RuleKind::Freeze, vec![ActionVerb::Migrate]));
        assert_eq!(kinds[2], (RuleKind::Allow, vec![ActionVerb::Rollback]));
        let inherit = rules_in("- Bad deploy: roll back with rollout undo. Allowed during a freeze.");
        assert_eq!(inherit.len(), 1, "{inherit:?}");
        assert_eq!((inherit[0].kind, inherit[0].verbs.clone()), (RuleKind::Allow, vec![ActionVerb::Rollback]));
        assert_eq!(rules_in("Restarts are not allowed.")[0].kind, RuleKind::Forbid);
        let freeze = rules_in("Holiday freeze: no changes to the checkout services from 2031-12-20 to 2031-12-27.");
        assert_eq!(freeze[0].kind, RuleKind::Freeze);
        assert!(freeze[0].governs(&[ActionVerb::Deploy]) && freeze[0].governs(&[ActionVerb::Restart]));
        assert!(rules_in("The service answers quotes.").is_empty());
        assert!(rules_in("Approved by the CAB on 2031-01-02; done.").is_empty(), "a record of an approval is no rule");
    }

    #[test]
    fn time_ranges_in_words() {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).ok();
        assert_eq!(
            time_range("no deploys from 2031-12-20 to 2031-12-27 unless approved"),
            Some((t("2031-12-20T00:00:00Z"), t("2031-12-27T23:59:59Z")))
        );
        assert_eq!(
            time_range("Window: 2031-01-05 22:00 to 2031-01-05 23:00 UTC").map(|r| r.0),
            Some(t("2031-01-05T22:00:00Z"))
        );
        assert_eq!(time_range("From 2031-03-01, for the caches:"), Some((t("2031-03-01T00:00:00Z"), None)));
        assert_eq!(time_range("valid until 2031-06-30"), Some((None, t("2031-06-30T23:59:59Z"))));
        assert_eq!(time_range("happened on 2031-06-30"), None);
        let table = "| Period | Start | End |\n| Spring | 2031-03-01 00:00 | 2031-03-08 08:00 |\n| Autumn | 2031-10-01 00:00 | 2031-10-08 08:00 |";
        let ranges = time_ranges(table);
        assert_eq!(ranges.len(), 2, "{ranges:?}");
        assert_eq!(ranges[1], (t("2031-10-01T00:00:00Z"), t("2031-10-08T08:00:00Z")));
    }

    #[test]
    fn scopes_in_words() {
        let s = scope_words("No restarts of tier 0 or tier-1 services in production without approval");
        assert_eq!(s.tiers, vec![0, 1]);
        assert_eq!(s.environments, vec!["production"]);
        assert!(!s.everything);
        assert!(scope_words("A freeze on all changes").everything);
        assert_eq!(scope_words("never fail over all databases at once").kinds, vec!["database"]);
    }
}
