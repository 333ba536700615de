//! Reading a change from its words: the instants a change text states with a
//! change verb ("Applied 2026-03-18 10:00 UTC", "Window: 2026-03-21 22:00 to
//! 23:00 UTC"), a recurring schedule ("every night at 02:00 UTC", a cron
//! expression), what a source's status word means, and which kind of change
//! the words describe. Pure functions over text, in the general vocabulary of
//! operations; no source, team or estate is named here.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::change::{ChangeStatus, ChangeType, Every, Schedule};

/// When a change happened or is planned to, as its text says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextTimes {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// The start and end a text states for its change: the first instant (a
/// date with a time before a bare date) of a sentence that has a change verb
/// (applied, deployed, enabled, rotated, window, first run, ...); its end is
/// the other side of a range ("22:00 to 23:00 UTC") or the first instant
/// after it in a sentence that says the work completed. A time without a
/// date takes the date last mentioned before it. Times are UTC unless a zone
/// follows them (`CET`, `PST`, ...).
pub fn times_in_text(text: &str) -> TextTimes {
    let mut last_date: Option<NaiveDate> = None;
    let mut timed: Vec<Found> = Vec::new();
    let mut dated: Vec<Found> = Vec::new();
    let mut completions: Vec<DateTime<Utc>> = Vec::new();
    for sentence in sentences(text) {
        let words = words_of(sentence);
        let change = has_any(&words, CHANGE_WORDS);
        let completion = has_any(&words, COMPLETION_WORDS);
        for found in instants(sentence, &mut last_date) {
            if completion {
                completions.push(found.start);
            }
            if change {
                if found.date_only { dated.push(found) } else { timed.push(found) }
            }
        }
    }
    // A bare date is only worth keeping when no time on that day is known.
    let chosen = timed.first().copied().or_else(|| {
        dated.iter().copied().find(|d| !timed.iter().any(|t| t.start.date_naive() == d.start.date_naive()))
    });
    let Some(chosen) = chosen else {
        return TextTimes::default();
    };
    let end = chosen.end.or_else(|| completions.iter().copied().find(|c| *c > chosen.start));
    TextTimes { start: Some(chosen.start), end }
}

/// A recurring schedule the text states, the first one in it: "every night
/// at 02:00 UTC", "nightly at 01:30", "daily at 03:30", "every hour (minute
/// 0)", "hourly", "every 15 minutes", "every 6 hours", "weekly on Sundays at
/// 04:00", "every Monday at 06:00", or a cron expression (`0 2 * * *`,
/// `@daily`). A daily or weekly schedule without a time of day is not one.
pub fn schedule_in_text(text: &str) -> Option<Schedule> {
    sentences(text).find_map(|s| schedule_in_sentence(s).or_else(|| cron_in_sentence(s)))
}

/// Whether a text describes an applied or scheduled change: it states an
/// instant with a change verb, or a recurring schedule.
pub fn describes_change(text: &str) -> bool {
    times_in_text(text).start.is_some() || schedule_in_text(text).is_some()
}

/// What a source's status word means for a change: Jira's Done, Closed and
/// Resolved are done; In Progress is in progress; Scheduled, Planned,
/// Approved, To Do and Open are planned; Failed is failed; Rolled back,
/// Reverted and Backed out are rolled back. Also the deployment states of
/// pipelines (success, failure, error, queued, pending, running). `None` for
/// words that say the change did not happen (cancelled, declined) or are
/// not status words.
pub fn status_from_words(status: &str) -> Option<ChangeStatus> {
    let s = words_of(status).join(" ");
    if s.is_empty() {
        return None;
    }
    for phrase in ["rolled back", "rollback", "rolledback", "roll back", "reverted", "backed out"] {
        if s == phrase || s.contains(phrase) {
            return Some(ChangeStatus::RolledBack);
        }
    }
    #[rustfmt::skip]
    let table: [(ChangeStatus, &[&str]); 4] = [
        (ChangeStatus::Done, &[
            "done", "closed", "resolved", "complete", "completed", "success", "successful", "succeeded",
            "deployed", "implemented", "applied", "finished", "released", "live",
        ]),
        (ChangeStatus::InProgress, &[
            "in progress", "inprogress", "running", "implementing", "started", "deploying", "progressing",
            "syncing", "ongoing", "active",
        ]),
        (ChangeStatus::Planned, &[
            "scheduled", "planned", "approved", "to do", "todo", "open", "new", "backlog", "pending", "queued",
            "awaiting approval", "awaiting implementation", "waiting for approval", "authorize", "authorized",
            "review", "in review", "peer review", "requested", "submitted", "selected for development", "draft",
        ]),
        (ChangeStatus::Failed, &["failed", "failure", "error", "errored", "unsuccessful", "aborted", "terminated"]),
    ];
    table.iter().find(|(_, words)| words.contains(&s.as_str())).map(|(status, _)| *status)
}

/// The kind of change the words describe: the title's first change word
/// decides; without one, the body's most frequent kind (ties go to the more
/// specific kind: policy, feature flag, secret, job, schema, scaling,
/// infrastructure, config, deploy). `None` when no word says.
pub fn change_type_from_words(title: &str, body: &str) -> Option<ChangeType> {
    let title_words = words_of(title);
    let mut first: Option<(usize, usize, ChangeType)> = None;
    for (rank, (kind, phrases)) in TYPE_WORDS.iter().enumerate() {
        for phrase in *phrases {
            if let Some(at) = position_of(&title_words, phrase) {
                // Earliest in the title; at the same place, the more specific.
                if first.is_none_or(|(a, r, _)| (at, rank) < (a, r)) {
                    first = Some((at, rank, *kind));
                }
            }
        }
    }
    if let Some((_, _, kind)) = first {
        return Some(kind);
    }
    // Counted most specific kind first; words a match used are not counted
    // again ("feature flag" is not also a config "flag").
    let body_words = words_of(body);
    let mut used = vec![false; body_words.len()];
    let mut best: Option<(usize, ChangeType)> = None;
    for (kind, phrases) in TYPE_WORDS {
        let mut n = 0;
        let mut longest_first: Vec<&str> = phrases.to_vec();
        longest_first.sort_by_key(|p| std::cmp::Reverse(p.split(' ').count()));
        for phrase in longest_first {
            n += count_unused(&body_words, phrase, &mut used);
        }
        if n > 0 && best.is_none_or(|(b, _)| n > b) {
            best = Some((n, *kind));
        }
    }
    best.map(|(_, kind)| kind)
}

/// The kind of a change from its words: the title's, then a recurring
/// schedule (a job), then the body's; `Other` when nothing says.
pub fn change_type_of(title: &str, body: &str, recurring: bool) -> ChangeType {
    change_type_from_words(title, "")
        .or_else(|| recurring.then_some(ChangeType::Job))
        .or_else(|| change_type_from_words("", body))
        .unwrap_or(ChangeType::Other)
}

/// A change read from its words alone (a page labelled as a change): its
/// times, schedule and kind from the text, its status by the clock at `now`
/// (the time the text was written, for a stored page).
pub fn change_from_text(title: &str, body: &str, now: DateTime<Utc>) -> super::ChangeFields {
    let text = format!("{title}\n{body}");
    let times = times_in_text(&text);
    let schedule = schedule_in_text(&text);
    super::ChangeFields {
        change_type: change_type_of(title, body, schedule.is_some()),
        status: ChangeStatus::from_times(times.start, times.end, now),
        start: times.start,
        end: times.end,
        schedule,
        risk: None,
        by: None,
        revision: None,
        environment: None,
    }
}

/// Words that make a sentence state a change (or a planned one).
#[rustfmt::skip]
const CHANGE_WORDS: &[&str] = &[
    "applied", "apply", "deploy", "deployed", "deploying", "deployment", "redeployed", "released", "release",
    "shipped", "ship", "enabled", "enable", "disabled", "disable", "switched", "migrated", "migrating",
    "migration", "upgraded", "upgrading", "upgrade", "patched", "patching", "patch", "rebooted", "reboot",
    "rebooting", "restarted", "rotated", "rotating", "rotation", "renewed", "revoked", "installed", "scaled",
    "resized", "increased", "decreased", "reduced", "raised", "lowered", "changed", "reindexed", "reindex",
    "replaced", "provisioned", "decommissioned", "launched", "implemented", "executed", "performed",
    "promoted", "flipped", "toggled", "repartitioned", "rollout", "rolled out", "roll out", "rolling out",
    "went live", "go live", "went out", "cut over", "cutover", "turned on", "turned off", "rolled back",
    "backed out", "reverted", "first run", "first ran", "window", "maintenance", "scheduled", "planned",
];

/// Words before a date that make it a limit, not the change's time ("waits
/// until 2026-12-02", "due by", "deprecated since").
const LIMIT_WORDS: &[&str] = &["by", "before", "after", "since", "due", "deadline", "than", "until", "till"];

/// Words that say the work finished (their instant can be the end).
const COMPLETION_WORDS: &[&str] = &["completed", "complete", "finished", "ended", "done"];

/// Words of each kind of change, most specific kind first (ties go to it).
#[rustfmt::skip]
const TYPE_WORDS: &[(ChangeType, &[&str])] = &[
    (ChangeType::Policy, &["freeze", "moratorium", "blackout period", "change window policy"]),
    (
        ChangeType::FeatureFlag,
        &["feature flag", "feature flags", "feature toggle", "feature toggles", "toggle", "toggled", "kill switch"],
    ),
    (ChangeType::Secret, &[
        "secret", "secrets", "credential", "credentials", "password", "passwords", "certificate", "certificates",
        "cert", "certs", "rotation", "rotate", "rotated", "rotating", "api key", "access key", "signing key",
        "private key", "ssh key", "encryption key",
    ]),
    (ChangeType::Job, &[
        "cron", "cronjob", "crontab", "scheduled job", "scheduled task", "batch job", "job", "jobs", "nightly",
        "hourly", "every night", "every hour",
    ]),
    (ChangeType::Schema, &[
        "migration", "migrations", "migrate", "migrated", "schema", "reindex", "reindexed", "index", "indexes",
        "indices", "alter table", "ddl", "column", "columns", "backfill",
    ]),
    (ChangeType::Scaling, &[
        "replica", "replicas", "partition", "partitions", "capacity", "resize", "resized", "scale", "scaled",
        "scaling", "autoscaling", "autoscaler", "hpa", "shards", "node pool", "instance type", "instance size",
    ]),
    (ChangeType::Infrastructure, &[
        "patch", "patched", "patching", "kernel", "reboot", "rebooted", "upgrade", "upgraded", "maintenance",
        "firmware", "hardware",
    ]),
    (ChangeType::Config, &[
        "config", "configuration", "configured", "setting", "settings", "parameter", "parameters", "flag", "flags",
        "sysctl", "tuning", "timeout", "timeouts", "limit", "limits", "pool size",
    ]),
    (ChangeType::Deploy, &[
        "deploy", "deployed", "deployment", "deploying", "redeploy", "redeployed", "release", "released", "ship",
        "shipped", "rollout", "rolled out", "build", "hotfix",
    ]),
];

/// Lower-case words: letters and digits, everything else a separator.
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Where `phrase` (words separated by spaces) starts in `words`.
fn position_of(words: &[String], phrase: &str) -> Option<usize> {
    let p: Vec<&str> = phrase.split(' ').collect();
    if p.is_empty() || words.len() < p.len() {
        return None;
    }
    (0..=words.len() - p.len()).find(|i| p.iter().enumerate().all(|(j, w)| words[i + j] == *w))
}

/// Counts the matches of `phrase` on words not `used` yet, and marks them.
fn count_unused(words: &[String], phrase: &str, used: &mut [bool]) -> usize {
    let p: Vec<&str> = phrase.split(' ').collect();
    if p.is_empty() || words.len() < p.len() {
        return 0;
    }
    let mut n = 0;
    for i in 0..=words.len() - p.len() {
        if p.iter().enumerate().all(|(j, w)| words[i + j] == *w && !used[i + j]) {
            used[i..i + p.len()].iter_mut().for_each(|u| *u = true);
            n += 1;
        }
    }
    n
}

fn has_any(words: &[String], phrases: &[&str]) -> bool {
    phrases.iter().any(|p| position_of(words, p).is_some())
}

/// Sentences: lines, cut at a full stop, semicolon or question mark
/// followed by a space.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.lines().flat_map(|line| {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = line.as_bytes();
        for i in 0..bytes.len() {
            if matches!(bytes[i], b'.' | b';' | b'?' | b'!') && bytes.get(i + 1) == Some(&b' ') {
                out.push(&line[start..=i]);
                start = i + 1;
            }
        }
        out.push(&line[start..]);
        out.into_iter().map(str::trim).filter(|s| !s.is_empty())
    })
}

/// One instant a sentence states (and where a range ends).
#[derive(Debug, Clone, Copy)]
struct Found {
    start: DateTime<Utc>,
    date_only: bool,
    end: Option<DateTime<Utc>>,
}

/// A token of a sentence, for reading dates and times.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    DateTime(DateTime<Utc>),
    Date(NaiveDate),
    Time(NaiveTime, Option<i32>),
    /// A time zone, as seconds east of UTC.
    Zone(i32),
    /// "to", "until", "-": the start of a range's other side.
    Range,
    Month(u32),
    Year(i32),
    Num(u32),
    Word(String),
}

/// A word with its byte span in the sentence.
struct Spanned {
    tok: Tok,
    start: usize,
    end: usize,
}

/// The tokens of a sentence, month-name dates merged into dates.
fn tokens(sentence: &str) -> Vec<Spanned> {
    let mut raw: Vec<Spanned> = Vec::new();
    let mut offset = 0;
    for word in sentence.split_whitespace() {
        let at = sentence[offset..].find(word).map_or(offset, |i| offset + i);
        offset = at + word.len();
        let trimmed = word
            .trim_start_matches(|c: char| "([{\"'`*_<".contains(c))
            .trim_end_matches(|c: char| ")]}\"'`*_,.;:!?>".contains(c));
        let lead = word.len() - word.trim_start_matches(|c: char| "([{\"'`*_<".contains(c)).len();
        let base = at + lead;
        // "22:00–23:00", "22:00-23:00": a range inside one word.
        let parts: Vec<&str> = if trimmed.contains(['–', '—']) {
            trimmed.split(['–', '—']).collect()
        } else if let Some((a, b)) = trimmed.split_once('-')
            && time_of(a).is_some()
            && time_of(b).is_some()
        {
            vec![a, b]
        } else {
            vec![trimmed]
        };
        let mut pos = base;
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                raw.push(Spanned { tok: Tok::Range, start: pos, end: pos });
                pos += 1;
            }
            if !part.is_empty() {
                raw.push(Spanned { tok: classify(part), start: pos, end: pos + part.len() });
            }
            pos += part.len();
        }
    }
    // "18 March 2026", "March 18, 2026".
    let mut out: Vec<Spanned> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let date = match (raw.get(i).map(|s| &s.tok), raw.get(i + 1).map(|s| &s.tok), raw.get(i + 2).map(|s| &s.tok)) {
            (Some(Tok::Num(d)), Some(Tok::Month(m)), Some(Tok::Year(y)))
            | (Some(Tok::Month(m)), Some(Tok::Num(d)), Some(Tok::Year(y))) => {
                NaiveDate::from_ymd_opt(*y, *m, *d).filter(plausible)
            }
            _ => None,
        };
        match date {
            Some(d) => {
                out.push(Spanned { tok: Tok::Date(d), start: raw[i].start, end: raw[i + 2].end });
                i += 3;
            }
            None => {
                let s = &raw[i];
                out.push(Spanned { tok: s.tok.clone(), start: s.start, end: s.end });
                i += 1;
            }
        }
    }
    out
}

fn classify(word: &str) -> Tok {
    let lower = word.to_ascii_lowercase();
    if let Some(zone) = zone_of(&lower) {
        return Tok::Zone(zone);
    }
    if matches!(lower.as_str(), "to" | "until" | "till" | "through" | "thru" | "-" | "–" | "—" | "->" | "→") {
        return Tok::Range;
    }
    if lower.len() >= 16
        && lower.as_bytes().get(10) == Some(&b't')
        && let Some(t) = super::time::parse_time(word).filter(|t| plausible(&t.date_naive()))
    {
        return Tok::DateTime(t);
    }
    if let Some(d) = date_of(&lower) {
        return Tok::Date(d);
    }
    if let Some((t, zone)) = time_of(&lower) {
        return Tok::Time(t, zone);
    }
    if let Some(m) = month_of(&lower) {
        return Tok::Month(m);
    }
    let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit()) {
        let suffix = &lower[digits.len()..];
        if let Ok(n) = digits.parse::<u32>() {
            if digits.len() == 4 && suffix.is_empty() && (1970..=2100).contains(&n) {
                return Tok::Year(n as i32);
            }
            if (1..=31).contains(&n) && matches!(suffix, "" | "st" | "nd" | "rd" | "th") {
                return Tok::Num(n);
            }
        }
    }
    Tok::Word(lower)
}

/// `2026-03-18` or `2026/03/18`.
fn date_of(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || !(b[4] == b'-' && b[7] == b'-' || b[4] == b'/' && b[7] == b'/') {
        return None;
    }
    let (y, m, d) = (s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..10].parse().ok()?);
    NaiveDate::from_ymd_opt(y, m, d).filter(plausible)
}

/// Change records speak of years FFO can print plainly; anything else is
/// a typo or hostile input.
fn plausible(d: &NaiveDate) -> bool {
    (1970..=2200).contains(&chrono::Datelike::year(d))
}

/// `10:00`, `9:30`, `10:00:00`, optionally glued to `Z` or `UTC`.
fn time_of(s: &str) -> Option<(NaiveTime, Option<i32>)> {
    let s = s.to_ascii_lowercase();
    let (clock, zone) = if let Some(c) = s.strip_suffix("utc") {
        (c.to_string(), Some(0))
    } else if let Some(c) = s.strip_suffix('z') {
        (c.to_string(), Some(0))
    } else {
        (s, None)
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let ok = |p: &str, max: usize| !p.is_empty() && p.len() <= max && p.chars().all(|c| c.is_ascii_digit());
    let (h, m, sec) = match parts.as_slice() {
        [h, m] if ok(h, 2) && m.len() == 2 && ok(m, 2) => (h.parse().ok()?, m.parse().ok()?, 0),
        [h, m, s] if ok(h, 2) && m.len() == 2 && ok(m, 2) && ok(s, 2) => {
            (h.parse().ok()?, m.parse().ok()?, s.parse().ok()?)
        }
        _ => return None,
    };
    NaiveTime::from_hms_opt(h, m, sec).map(|t| (t, zone))
}

/// Seconds east of UTC of the zone names change records use.
fn zone_of(s: &str) -> Option<i32> {
    let hours = match s {
        "utc" | "gmt" | "z" => 0,
        "bst" | "cet" | "wat" => 1,
        "cest" | "eet" | "sast" => 2,
        "eest" | "msk" => 3,
        "ist" => return Some(19_800),
        "sgt" | "hkt" | "awst" => 8,
        "jst" | "kst" => 9,
        "aest" => 10,
        "edt" => -4,
        "est" | "cdt" => -5,
        "cst" | "mdt" => -6,
        "mst" | "pdt" => -7,
        "pst" => -8,
        _ => return None,
    };
    Some(hours * 3600)
}

fn month_of(s: &str) -> Option<u32> {
    #[rustfmt::skip]
    const MONTHS: [&str; 12] = [
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    ];
    let s = s.trim_end_matches('.');
    // "Mar", "Sept" and "Dec." abbreviate; fewer than three letters do not.
    let i = MONTHS.iter().position(|m| *m == s || (s.len() >= 3 && s.len() < m.len() && m.starts_with(s)))?;
    u32::try_from(i + 1).ok()
}

/// A point in a sentence before zones and missing dates are settled.
struct Point {
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    zone: Option<i32>,
    absolute: Option<DateTime<Utc>>,
}

impl Point {
    fn settle(&self, fallback_date: Option<NaiveDate>, fallback_zone: Option<i32>) -> Option<(DateTime<Utc>, bool)> {
        if let Some(t) = self.absolute {
            return Some((t, false));
        }
        let date = self.date.or(fallback_date)?;
        let time = self.time.unwrap_or(NaiveTime::MIN);
        let local = date.and_time(time);
        let offset = self.zone.or(fallback_zone).unwrap_or(0);
        let utc = local.checked_sub_signed(Duration::try_seconds(i64::from(offset))?)?.and_utc();
        Some((utc, self.time.is_none()))
    }
}

/// Reads a point starting at token `i`: a date-time, a date (with a time
/// after it, directly or after "at"), or a time; then a zone.
fn point_at(toks: &[Spanned], i: usize) -> Option<(Point, usize)> {
    let mut p = Point { date: None, time: None, zone: None, absolute: None };
    let mut j = i;
    match toks.get(j).map(|t| &t.tok)? {
        Tok::DateTime(t) => {
            p.absolute = Some(*t);
            return Some((p, j + 1));
        }
        Tok::Date(d) => {
            p.date = Some(*d);
            j += 1;
            let skip =
                matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Word(w)) if w == "at" || w == "@" || w == "from");
            let k = if skip { j + 1 } else { j };
            if let Some(Tok::Time(t, z)) = toks.get(k).map(|t| &t.tok) {
                p.time = Some(*t);
                p.zone = *z;
                j = k + 1;
            }
        }
        Tok::Time(t, z) => {
            p.time = Some(*t);
            p.zone = *z;
            j += 1;
        }
        _ => return None,
    }
    if let Some(Tok::Zone(z)) = toks.get(j).map(|t| &t.tok) {
        p.zone = Some(*z);
        j += 1;
    }
    Some((p, j))
}

/// Every instant a sentence states, with the range each one opens.
fn instants(sentence: &str, last_date: &mut Option<NaiveDate>) -> Vec<Found> {
    let toks = tokens(sentence);
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let Some((start, next)) = point_at(&toks, i) else {
            if let Tok::Date(d) = toks[i].tok {
                *last_date = Some(d);
            }
            i += 1;
            continue;
        };
        let limit = i > 0
            && match &toks[i - 1].tok {
                Tok::Range => true,
                Tok::Word(w) => LIMIT_WORDS.contains(&w.as_str()),
                _ => false,
            };
        if limit {
            if let Some(d) = start.date {
                *last_date = Some(d);
            }
            i = next.max(i + 1);
            continue;
        }
        let between = i > 0 && matches!(&toks[i - 1].tok, Tok::Word(w) if w == "between");
        let opens_range = match toks.get(next).map(|t| &t.tok) {
            Some(Tok::Range) => true,
            Some(Tok::Word(w)) => w == "and" && between,
            _ => false,
        };
        let end = if opens_range { point_at(&toks, next + 1) } else { None };
        let (end_point, after) = match end {
            Some((e, after)) => (Some(e), after),
            None => (None, next),
        };
        // A zone written once after a range applies to both sides.
        let zone = start.zone.or(end_point.as_ref().and_then(|e| e.zone));
        if let Some((at, date_only)) = start.settle(*last_date, zone) {
            if let Some(d) = start.date {
                *last_date = Some(d);
            }
            let end = end_point.and_then(|e| {
                let (mut t, _) = e.settle(Some(at.date_naive()), zone)?;
                // "22:00 to 02:00" ends the next day.
                if e.date.is_none() && e.absolute.is_none() && t <= at {
                    t = t.checked_add_signed(Duration::try_days(1)?)?;
                }
                (t > at).then_some(t)
            });
            out.push(Found { start: at, date_only, end });
        }
        i = after.max(i + 1);
    }
    out
}

/// A schedule in words, in one sentence.
fn schedule_in_sentence(sentence: &str) -> Option<Schedule> {
    let toks = tokens(sentence);
    let word = |i: usize| match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Word(w)) => w.as_str(),
        _ => "",
    };
    let number = |i: usize| match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Num(n)) => Some(*n),
        Some(Tok::Word(w)) => w.parse::<u32>().ok(),
        Some(Tok::Year(y)) => u32::try_from(*y).ok(),
        _ => None,
    };
    for i in 0..toks.len() {
        let w = word(i);
        let every = matches!(w, "every" | "each");
        let (kind, used) = if every {
            match (word(i + 1), number(i + 1), word(i + 2)) {
                ("minute", _, _) => (Some(Freq::Minutes(1)), i + 2),
                (_, Some(n), "minutes" | "mins" | "min") => (Some(Freq::Minutes(n)), i + 3),
                (_, Some(n), "hours" | "hrs" | "hour") => (Some(Freq::Minutes(n.saturating_mul(60))), i + 3),
                ("hour", _, _) => (Some(Freq::Hour), i + 2),
                ("night" | "day" | "morning" | "evening", _, _) => (Some(Freq::Day), i + 2),
                ("week", _, _) => (Some(Freq::Week(None)), i + 2),
                (d, _, _) if weekday_of(d).is_some() => (Some(Freq::Week(weekday_of(d))), i + 2),
                _ => (None, i),
            }
        } else {
            match w {
                "nightly" | "daily" => (Some(Freq::Day), i + 1),
                "hourly" => (Some(Freq::Hour), i + 1),
                "weekly" => (Some(Freq::Week(None)), i + 1),
                d if d.ends_with('s') && weekday_of(d).is_some() && word(i.wrapping_sub(1)) == "on" => {
                    (Some(Freq::Week(weekday_of(d))), i + 1)
                }
                _ => (None, i),
            }
        };
        let Some(kind) = kind else { continue };
        let every = match kind {
            Freq::Minutes(n) => Some(Every::Minutes { n }),
            Freq::Hour => {
                // "(minute 5)", "at minute 5", "at :05", "at 10:05".
                let minute = (used..toks.len().min(used + 4)).find_map(|k| match &toks[k].tok {
                    Tok::Word(w) if w == "minute" => number(k + 1),
                    Tok::Word(w) if w.starts_with(':') => w[1..].parse::<u32>().ok(),
                    Tok::Time(t, _) => Some(chrono::Timelike::minute(t)),
                    _ => None,
                });
                minute.and_then(|m| u8::try_from(m).ok()).map(|minute| Every::Hour { minute }).or(
                    // A bare "hourly" runs on the hour.
                    Some(Every::Hour { minute: 0 }),
                )
            }
            Freq::Day | Freq::Week(_) => {
                let weekday = match kind {
                    Freq::Week(Some(d)) => Some(d),
                    Freq::Week(None) => (used..toks.len().min(used + 4)).find_map(|k| weekday_of(word(k))),
                    _ => None,
                };
                let time = near_time(&toks, i, used);
                match (kind, weekday, time) {
                    (Freq::Day, _, Some((hour, minute))) => Some(Every::Day { hour, minute }),
                    (Freq::Week(_), Some(weekday), Some((hour, minute))) => Some(Every::Week { weekday, hour, minute }),
                    _ => None,
                }
            }
        };
        let Some(every) = every.filter(|e| e.is_valid()) else { continue };
        let end = phrase_end(&toks, used);
        let start = toks[i].start.min(time_start(&toks, i).unwrap_or(toks[i].start));
        let text = sentence.get(start..end).unwrap_or(sentence).trim().to_string();
        return Some(Schedule { every, text });
    }
    None
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Freq {
    Minutes(u32),
    Hour,
    Day,
    Week(Option<u8>),
}

/// The time of day near a frequency word: after it ("every night at
/// 02:00"), else just before it ("at 02:00 every night"), in UTC.
fn near_time(toks: &[Spanned], at: usize, after: usize) -> Option<(u8, u8)> {
    let utc = |k: usize| -> Option<(u8, u8)> {
        let (p, _) = point_at(toks, k)?;
        let time = p.time?;
        let zone = p.zone.unwrap_or(0);
        let t = time.overflowing_sub_signed(Duration::try_seconds(i64::from(zone))?).0;
        Some((u8::try_from(chrono::Timelike::hour(&t)).ok()?, u8::try_from(chrono::Timelike::minute(&t)).ok()?))
    };
    let forward = (after..toks.len().min(after + 6)).find(|k| matches!(toks[*k].tok, Tok::Time(..)));
    if let Some(k) = forward {
        return utc(k);
    }
    let back = (at.saturating_sub(4)..at).rev().find(|k| matches!(toks[*k].tok, Tok::Time(..)));
    back.and_then(utc)
}

fn time_start(toks: &[Spanned], at: usize) -> Option<usize> {
    (at.saturating_sub(4)..at).find(|k| matches!(toks[*k].tok, Tok::Time(..))).map(|k| {
        if k > 0 && matches!(&toks[k - 1].tok, Tok::Word(w) if w == "at") { toks[k - 1].start } else { toks[k].start }
    })
}

/// Where the schedule's words end: after a time and zone within a few
/// words, or a "(minute N)".
fn phrase_end(toks: &[Spanned], used: usize) -> usize {
    let mut end = toks.get(used.saturating_sub(1)).map_or(0, |t| t.end);
    for t in toks.iter().skip(used).take(6) {
        match &t.tok {
            Tok::Time(..) | Tok::Zone(_) | Tok::Num(_) => end = t.end,
            Tok::Word(w) if matches!(w.as_str(), "at" | "minute" | "on") || weekday_of(w).is_some() => end = t.end,
            _ => break,
        }
    }
    end
}

/// 0 = Monday, from a day's name, singular or plural.
fn weekday_of(w: &str) -> Option<u8> {
    const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let w = w.strip_suffix('s').filter(|s| s.ends_with("day")).unwrap_or(w);
    DAYS.iter().position(|d| *d == w).and_then(|i| u8::try_from(i).ok())
}

/// A cron expression in a sentence: five fields in a row, at least one `*`
/// (quotes and backticks around it are fine), or a cron macro.
fn cron_in_sentence(sentence: &str) -> Option<Schedule> {
    let words: Vec<&str> = sentence
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| "`'\"()[]{},;".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        if w.starts_with('@')
            && let Some(s) = Schedule::from_cron(w)
        {
            return Some(s);
        }
    }
    let field = |w: &str| {
        !w.is_empty()
            && !w.contains(':')
            && (w.chars().all(|c| c.is_ascii_digit() || "*/,-".contains(c)) || cron_day_name(w))
    };
    for window in words.windows(5) {
        if window.iter().all(|w| field(w))
            && window.iter().any(|w| w.contains('*'))
            && window[..2].iter().all(|w| w.chars().any(|c| c.is_ascii_digit() || c == '*'))
            && let Some(s) = Schedule::from_cron(&window.join(" "))
        {
            return Some(s);
        }
    }
    None
}

fn cron_day_name(w: &str) -> bool {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].contains(&w.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    fn times(text: &str) -> (Option<String>, Option<String>) {
        let t = times_in_text(text);
        (t.start.map(|t| t.to_rfc3339()), t.end.map(|t| t.to_rfc3339()))
    }

    fn start(text: &str) -> Option<String> {
        times(text).0
    }

    #[test]
    fn instants_stated_with_a_change_verb() {
        assert_eq!(start("Applied 2026-03-18 10:00 UTC.").as_deref(), Some("2026-03-18T10:00:00+00:00"));
        assert_eq!(start("* Enabled 2026-03-19 at 10:00 UTC.").as_deref(), Some("2026-03-19T10:00:00+00:00"));
        assert_eq!(
            start("Deployed the new build of the quote engine on 2026-04-02, at 09:30 UTC").as_deref(),
            Some("2026-04-02T09:30:00+00:00")
        );
        assert_eq!(
            start("We rotated the signing secret at 2026-05-06 15:00 UTC; the old one was revoked at 15:30 UTC.")
                .as_deref(),
            Some("2026-05-06T15:00:00+00:00")
        );
        assert_eq!(
            start("First run 2026-03-17 02:00; it took 26 minutes.").as_deref(),
            Some("2026-03-17T02:00:00+00:00")
        );
        assert_eq!(start("Rolled out 2026-06-01T08:15:00Z to all pods").as_deref(), Some("2026-06-01T08:15:00+00:00"));
        // A time takes the date mentioned before it, and its zone.
        assert_eq!(
            start("Change on 2026-07-01.\nDeployed at 09:30 CEST after the smoke tests").as_deref(),
            Some("2026-07-01T07:30:00+00:00")
        );
        // Month names.
        assert_eq!(start("Upgraded on 3 March 2026 at 21:00").as_deref(), Some("2026-03-03T21:00:00+00:00"));
        assert_eq!(start("Released March 4, 2026").as_deref(), Some("2026-03-04T00:00:00+00:00"));
    }

    #[test]
    fn windows_and_ranges_give_an_end() {
        assert_eq!(
            times("Window: 2026-03-21 22:00 to 23:00 UTC. Approved by the board on 2026-03-17."),
            (Some("2026-03-21T22:00:00+00:00".into()), Some("2026-03-21T23:00:00+00:00".into()))
        );
        assert_eq!(
            times("Maintenance window 2026-03-21 22:00–02:00 UTC"),
            (Some("2026-03-21T22:00:00+00:00".into()), Some("2026-03-22T02:00:00+00:00".into()))
        );
        assert_eq!(
            times("Maintenance from 2026-12-20 until 2027-01-02"),
            (Some("2026-12-20T00:00:00+00:00".into()), Some("2027-01-02T00:00:00+00:00".into()))
        );
        assert_eq!(
            times("Migration started 2026-02-02 09:00 UTC.\nCompleted at 09:40 UTC."),
            (Some("2026-02-02T09:00:00+00:00".into()), Some("2026-02-02T09:40:00+00:00".into()))
        );
        assert_eq!(
            times("Planned between 22:00 and 23:30 on the night of the patch, 2026-10-01"),
            (Some("2026-10-01T00:00:00+00:00".into()), None),
            "a time before any date has no day; the date stands alone"
        );
        assert_eq!(
            times("Patching 2026-10-01: planned between 22:00 and 23:30 CET"),
            (Some("2026-10-01T21:00:00+00:00".into()), Some("2026-10-01T22:30:00+00:00".into()))
        );
    }

    #[test]
    fn dates_without_a_change_verb_or_a_day_are_not_change_times() {
        assert_eq!(start("Approved by the board on 2026-03-17."), None);
        assert_eq!(start("The freeze starts 2026-11-23 00:00 UTC."), None, "a freeze is a policy, not this change");
        assert_eq!(start("Anything not switched by then waits until 2026-12-02."), None, "a limit, not a time");
        assert_eq!(start("Must be rotated before 2026-12-01"), None);
        assert_eq!(start("The v1 routes answer with a header since 2026-05-04"), None);
        assert_eq!(start("Deployed in the Thursday 21:00 UTC window"), None, "no date anywhere");
        assert_eq!(start("Shipped in build 2026.11.3"), None, "a version is not a date");
        assert_eq!(start("Deployed 2026-02-30 10:00"), None, "not a day");
        // A bare date is dropped for a time on the same day.
        assert_eq!(
            start("Ship in build 7 on 2026-03-19.\nDeployed 2026-03-19 09:30 UTC.").as_deref(),
            Some("2026-03-19T09:30:00+00:00")
        );
        assert!(!describes_change("Updated the dashboard queries to match the new label"));
        assert!(describes_change("Raised max_connections; applied 2026-01-05 08:00"));
        assert!(describes_change("The export now runs every 30 minutes"));
    }

    fn every(text: &str) -> Option<Every> {
        schedule_in_text(text).map(|s| s.every)
    }

    #[test]
    fn recurring_schedules_in_words() {
        assert_eq!(every("the job runs every night at 02:00 UTC"), Some(Every::Day { hour: 2, minute: 0 }));
        assert_eq!(every("Vacuum nightly at 01:30."), Some(Every::Day { hour: 1, minute: 30 }));
        assert_eq!(every("compaction daily at 03:30"), Some(Every::Day { hour: 3, minute: 30 }));
        assert_eq!(every("at 04:15 every day"), Some(Every::Day { hour: 4, minute: 15 }));
        assert_eq!(every("every night at 02:00 CET"), Some(Every::Day { hour: 1, minute: 0 }));
        assert_eq!(every("Run the export every hour (minute 0) for the pilot"), Some(Every::Hour { minute: 0 }));
        assert_eq!(every("every hour at minute 20"), Some(Every::Hour { minute: 20 }));
        assert_eq!(every("runs hourly"), Some(Every::Hour { minute: 0 }));
        assert_eq!(every("sync every 15 minutes"), Some(Every::Minutes { n: 15 }));
        assert_eq!(every("rebuild every 6 hours"), Some(Every::Minutes { n: 360 }));
        assert_eq!(
            every("Full backup weekly on Sundays at 04:00"),
            Some(Every::Week { weekday: 6, hour: 4, minute: 0 })
        );
        assert_eq!(every("every Monday at 06:30"), Some(Every::Week { weekday: 0, hour: 6, minute: 30 }));
        assert_eq!(every("runs nightly"), None, "no time of day");
        assert_eq!(every("a daily standup"), None);
        let s = schedule_in_text("Cleanup: the job runs every night at 02:00 UTC and takes 20 minutes").unwrap();
        assert_eq!(s.text, "every night at 02:00 UTC");
    }

    #[test]
    fn cron_expressions_in_text() {
        assert_eq!(every("schedule: `0 2 * * *` (UTC)"), Some(Every::Day { hour: 2, minute: 0 }));
        assert_eq!(every("cron '*/10 * * * *'"), Some(Every::Minutes { n: 10 }));
        assert_eq!(
            every("SELECT cron.schedule('vacuum', '30 3 * * 0', 'VACUUM')"),
            Some(Every::Week { weekday: 6, hour: 3, minute: 30 })
        );
        assert_eq!(every("schedule @daily"), Some(Every::Day { hour: 0, minute: 0 }));
        assert_eq!(every("* Applied\n* * * bullet"), None);
        assert_eq!(schedule_in_text("schedule: `0 2 * * *`").unwrap().text, "0 2 * * *");
    }

    #[test]
    fn status_words_of_trackers_and_pipelines() {
        use ChangeStatus::*;
        for (word, status) in [
            ("Done", Done),
            ("Closed", Done),
            ("Resolved", Done),
            ("success", Done),
            ("In Progress", InProgress),
            ("in_progress", InProgress),
            ("Running", InProgress),
            ("Scheduled", Planned),
            ("Planned", Planned),
            ("Approved", Planned),
            ("To Do", Planned),
            ("Open", Planned),
            ("queued", Planned),
            ("Failed", Failed),
            ("error", Failed),
            ("Rolled back", RolledBack),
            ("Reverted", RolledBack),
            ("Backed out", RolledBack),
            ("Done - rolled back", RolledBack),
        ] {
            assert_eq!(status_from_words(word), Some(status), "{word}");
        }
        assert_eq!(status_from_words("Cancelled"), None);
        assert_eq!(status_from_words(""), None);
    }

    #[test]
    fn change_types_from_words() {
        use ChangeType::*;
        let t = |title: &str, body: &str| change_type_from_words(title, body);
        assert_eq!(t("Deploy quote-engine 4.2 with the new retry config", ""), Some(Deploy));
        assert_eq!(t("orders-db: nightly VACUUM via cron", ""), Some(Job));
        assert_eq!(t("stock-db: add index on sku", ""), Some(Schema));
        assert_eq!(t("Kernel security patch for the build hosts", ""), Some(Infrastructure));
        assert_eq!(t("Increase topic partitions from 12 to 48", ""), Some(Scaling));
        assert_eq!(t("Quarterly rotation of the reporting role secret", ""), Some(Secret));
        assert_eq!(t("Enable feature flag new-basket for 10%", ""), Some(FeatureFlag));
        assert_eq!(t("Raise the connection pool limit", ""), Some(Config));
        assert_eq!(t("Change freeze for the holidays", ""), Some(Policy));
        assert_eq!(t("Remove the legacy routes", "Deployed in build 12. Shipped after review."), Some(Deploy));
        assert_eq!(t("Tidy up", "nothing to see"), None);
        assert_eq!(change_type_of("Reporting export pilot", "runs every hour", true), Job);
        assert_eq!(change_type_of("Reindex tariffs", "every night at 02:00", true), Schema, "the title says");
        assert_eq!(change_type_of("Tidy up", "nothing to see", false), Other);
        // The body's most frequent kind; a tie goes to the more specific.
        assert_eq!(t("Follow-up", "turned on the feature flag; the feature flag serves 10% now"), Some(FeatureFlag));
        assert_eq!(t("Follow-up", "the config flag and the feature flag"), Some(Config));
        assert_eq!(t("Follow-up", "the secret and the config"), Some(Secret));
    }

    #[test]
    fn hostile_text_neither_panics_nor_finds_anything() {
        for s in [
            "",
            "::",
            "99:99 to 25:61",
            "2026-13-45 10:00",
            "every 0 minutes",
            "every 99999999999 hours",
            "–—–",
            "@",
            "* * * * * * *",
        ] {
            let _ = times_in_text(s);
            let _ = schedule_in_text(s);
        }
        assert_eq!(every("every 0 minutes"), None);
        assert_eq!(start("Applied 9999-12-31 23:59 PST"), None, "not a plausible year");
        assert_eq!(start("Applied 0001-01-01 00:00 PDT"), None);
        assert_eq!(start("Applied 2026-01-01 00:00 PDT").as_deref(), Some("2026-01-01T07:00:00+00:00"));
        assert!(at("2026-01-01T00:00:00Z") < at("2026-01-02T00:00:00Z"));
        // Pseudo-random text of the characters dates, times and words are made of.
        let alphabet: Vec<char> =
            "0123456789:-–/ TtZz.,;()@*é日every night at hourly minutes deployed window UTC CET 2026-03-18 22:00 to"
                .chars()
                .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..2_000 {
            let mut s = String::new();
            for _ in 0..(state % 60) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = times_in_text(&s);
            let _ = schedule_in_text(&s);
            let _ = change_type_from_words(&s, &s);
            let _ = status_from_words(&s);
        }
    }
}
