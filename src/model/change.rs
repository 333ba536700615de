//! Changes and policies: what was done to the estate and when (a deploy, a
//! config change, a migration, a secret rotation, a new scheduled job), and
//! the rules that govern acting on it (a freeze, an approval rule, a "never
//! do this"). Both are history documents with extra, typed fields; the
//! verbs an action and a policy speak of are [`ActionVerb`]s, so that "roll
//! back pricing-svc" and "no rollbacks during the freeze" meet.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    /// A new release or build of software.
    Deploy,
    /// A configuration change (settings, flags of a server, routes).
    Config,
    /// A database schema or data migration, an index rebuild.
    Schema,
    /// Infrastructure or maintenance: patching, reboots, upgrades of
    /// platforms, hardware, network.
    Infrastructure,
    /// Capacity: replicas, partitions, instance sizes, limits.
    Scaling,
    /// A secret, credential or certificate rotated or revoked.
    Secret,
    /// A feature flag turned on or off.
    FeatureFlag,
    /// A rule about changes (a freeze, an approval rule) came into force.
    Policy,
    /// A new or changed scheduled job.
    Job,
    Other,
}

impl ChangeType {
    pub const ALL: [ChangeType; 10] = [
        ChangeType::Deploy,
        ChangeType::Config,
        ChangeType::Schema,
        ChangeType::Infrastructure,
        ChangeType::Scaling,
        ChangeType::Secret,
        ChangeType::FeatureFlag,
        ChangeType::Policy,
        ChangeType::Job,
        ChangeType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Deploy => "deploy",
            ChangeType::Config => "config",
            ChangeType::Schema => "schema",
            ChangeType::Infrastructure => "infrastructure",
            ChangeType::Scaling => "scaling",
            ChangeType::Secret => "secret",
            ChangeType::FeatureFlag => "feature_flag",
            ChangeType::Policy => "policy",
            ChangeType::Job => "job",
            ChangeType::Other => "other",
        }
    }
}

impl fmt::Display for ChangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeType {
    type Err = String;
    fn from_str(s: &str) -> Result<ChangeType, String> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        ChangeType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            format!("unknown change type {s:?}; expected one of {}", ChangeType::ALL.map(ChangeType::as_str).join(", "))
        })
    }
}

/// Where a change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    Planned,
    InProgress,
    Done,
    Failed,
    RolledBack,
}

impl ChangeStatus {
    pub const ALL: [ChangeStatus; 5] = [
        ChangeStatus::Planned,
        ChangeStatus::InProgress,
        ChangeStatus::Done,
        ChangeStatus::Failed,
        ChangeStatus::RolledBack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Planned => "planned",
            ChangeStatus::InProgress => "in_progress",
            ChangeStatus::Done => "done",
            ChangeStatus::Failed => "failed",
            ChangeStatus::RolledBack => "rolled_back",
        }
    }
}

impl fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<ChangeStatus, String> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        ChangeStatus::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            format!(
                "unknown change status {s:?}; expected one of {}",
                ChangeStatus::ALL.map(ChangeStatus::as_str).join(", ")
            )
        })
    }
}

/// How often a recurring change (a scheduled job) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "every")]
pub enum Every {
    /// Every `n` minutes.
    Minutes { n: u32 },
    /// Every hour at `minute`.
    Hour { minute: u8 },
    /// Every day at `hour:minute` UTC.
    Day { hour: u8, minute: u8 },
    /// Every week on `weekday` (0 = Monday) at `hour:minute` UTC.
    Week { weekday: u8, hour: u8, minute: u8 },
}

/// A recurring schedule, from the source's words ("every night at 02:00
/// UTC") or a cron expression, kept with that text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(flatten)]
    pub every: Every,
    /// The words or expression it was read from.
    pub text: String,
}

impl Every {
    /// Whether the numbers are in range (an hour below 24, ...).
    pub fn is_valid(self) -> bool {
        match self {
            Every::Minutes { n } => n > 0 && n <= 7 * 24 * 60,
            Every::Hour { minute } => minute < 60,
            Every::Day { hour, minute } => hour < 24 && minute < 60,
            Every::Week { weekday, hour, minute } => weekday < 7 && hour < 24 && minute < 60,
        }
    }

    /// The last time this fires at or before `t`. `Minutes { n }` fires every
    /// `n` minutes counted from midnight UTC (so every 15 minutes is :00,
    /// :15, :30, :45, as cron's `*/15` is). `None` for invalid numbers.
    pub fn last_at_or_before(self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.is_valid() {
            return None;
        }
        let day = t.date_naive();
        let at = |d: NaiveDate, h: u8, m: u8| {
            NaiveTime::from_hms_opt(u32::from(h), u32::from(m), 0).map(|time| d.and_time(time).and_utc())
        };
        match self {
            Every::Minutes { n } => {
                let since_midnight = i64::from(t.hour() * 60 + t.minute());
                let back = since_midnight % i64::from(n);
                let floor = t.with_second(0)?.with_nanosecond(0)?;
                floor.checked_sub_signed(Duration::try_minutes(back)?)
            }
            Every::Hour { minute } => {
                let this_hour = t.with_minute(u32::from(minute))?.with_second(0)?.with_nanosecond(0)?;
                if this_hour <= t { Some(this_hour) } else { this_hour.checked_sub_signed(Duration::try_hours(1)?) }
            }
            Every::Day { hour, minute } => {
                let today = at(day, hour, minute)?;
                if today <= t { Some(today) } else { at(day.pred_opt()?, hour, minute) }
            }
            Every::Week { weekday, hour, minute } => {
                let back = (7 + t.weekday().num_days_from_monday() - u32::from(weekday)) % 7;
                let that_day = day.checked_sub_days(chrono::Days::new(u64::from(back)))?;
                let candidate = at(that_day, hour, minute)?;
                if candidate <= t { Some(candidate) } else { candidate.checked_sub_signed(Duration::try_days(7)?) }
            }
        }
    }
}

impl Every {
    /// How long between two runs.
    pub fn period(self) -> Duration {
        match self {
            Every::Minutes { n } => Duration::minutes(i64::from(n)),
            Every::Hour { .. } => Duration::hours(1),
            Every::Day { .. } => Duration::days(1),
            Every::Week { .. } => Duration::weeks(1),
        }
    }
}

impl Schedule {
    /// The last run at or before `t`.
    pub fn last_run_at_or_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.every.last_at_or_before(t)
    }

    /// A schedule from a cron expression: five fields (`0 2 * * *`,
    /// `*/15 * * * *`, `30 4 * * 0`, `0 */6 * * *`) or a macro (`@daily`,
    /// `@hourly`, `@weekly`, `@midnight`). Times are UTC. `None` for what a
    /// recurring [`Every`] cannot say (a day of the month, lists, ranges).
    pub fn from_cron(expr: &str) -> Option<Schedule> {
        let text = expr.trim();
        let every = match text.to_ascii_lowercase().as_str() {
            "@hourly" => Every::Hour { minute: 0 },
            "@daily" | "@midnight" => Every::Day { hour: 0, minute: 0 },
            "@weekly" => Every::Week { weekday: 6, hour: 0, minute: 0 },
            _ => {
                let fields: Vec<&str> = text.split_whitespace().collect();
                let [minute, hour, dom, month, dow] = fields.as_slice() else {
                    return None;
                };
                if *dom != "*" || *month != "*" {
                    return None;
                }
                let number = |s: &str, max: u8| s.parse::<u8>().ok().filter(|n| *n <= max);
                let step = |s: &str| s.strip_prefix("*/").and_then(|n| n.parse::<u32>().ok()).filter(|n| *n > 0);
                match (*minute, *hour, *dow) {
                    ("*", "*", "*") => Every::Minutes { n: 1 },
                    (m, "*", "*") if step(m).is_some() => Every::Minutes { n: step(m)? },
                    (m, "*", "*") => Every::Hour { minute: number(m, 59)? },
                    (m, h, "*") if step(h).is_some() && number(m, 59) == Some(0) => {
                        Every::Minutes { n: step(h)?.checked_mul(60)? }
                    }
                    (m, h, "*") => Every::Day { hour: number(h, 23)?, minute: number(m, 59)? },
                    (m, h, d) => {
                        Every::Week { weekday: cron_weekday(d)?, hour: number(h, 23)?, minute: number(m, 59)? }
                    }
                }
            }
        };
        every.is_valid().then(|| Schedule { every, text: text.to_string() })
    }
}

/// A cron day of the week (0 or 7 Sunday, 1 Monday, or a name) as 0 = Monday.
fn cron_weekday(s: &str) -> Option<u8> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let s = s.to_ascii_lowercase();
    if let Some(i) = NAMES.iter().position(|n| s == *n) {
        return u8::try_from(i).ok();
    }
    match s.parse::<u8>().ok()? {
        0 | 7 => Some(6),
        d @ 1..=6 => Some(d - 1),
        _ => None,
    }
}

impl ChangeStatus {
    /// Where a change stands by the clock alone, for sources that say when
    /// but not how it went: planned before it starts, in progress until it
    /// ends, done after. A change without times is taken as done (it was
    /// recorded).
    pub fn from_times(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ChangeStatus {
        match (start, end) {
            (Some(s), _) if s > now => ChangeStatus::Planned,
            (_, Some(e)) if e > now => ChangeStatus::InProgress,
            _ => ChangeStatus::Done,
        }
    }
}

/// What a change document adds to a history document. Times are UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeFields {
    pub change_type: ChangeType,
    pub status: ChangeStatus,
    /// When it started (or is planned to start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// When it ended (or is planned to end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTime<Utc>>,
    /// For a recurring change: when it runs, from `start` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// The source's risk rating, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// Who made it (a person, a pipeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The version, revision or commit it brought, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The environment it was made in, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// A verb of operations: what an action does, what a policy governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionVerb {
    Restart,
    Reboot,
    Deploy,
    Rollback,
    Scale,
    Failover,
    Flush,
    ConfigChange,
    Reenable,
    Delete,
    Patch,
    Migrate,
}

impl ActionVerb {
    pub const ALL: [ActionVerb; 12] = [
        ActionVerb::Restart,
        ActionVerb::Reboot,
        ActionVerb::Deploy,
        ActionVerb::Rollback,
        ActionVerb::Scale,
        ActionVerb::Failover,
        ActionVerb::Flush,
        ActionVerb::ConfigChange,
        ActionVerb::Reenable,
        ActionVerb::Delete,
        ActionVerb::Patch,
        ActionVerb::Migrate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionVerb::Restart => "restart",
            ActionVerb::Reboot => "reboot",
            ActionVerb::Deploy => "deploy",
            ActionVerb::Rollback => "roll back",
            ActionVerb::Scale => "scale",
            ActionVerb::Failover => "fail over",
            ActionVerb::Flush => "flush",
            ActionVerb::ConfigChange => "config change",
            ActionVerb::Reenable => "re-enable",
            ActionVerb::Delete => "delete",
            ActionVerb::Patch => "patch",
            ActionVerb::Migrate => "migrate",
        }
    }
}

impl fmt::Display for ActionVerb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap()
    }

    fn last(every: Every, at: &str) -> String {
        every.last_at_or_before(t(at)).map(|t| t.to_rfc3339()).unwrap_or_default()
    }

    #[test]
    fn the_last_run_of_each_kind_of_schedule() {
        let nightly = Every::Day { hour: 2, minute: 0 };
        assert_eq!(last(nightly, "2026-03-18T02:10:00Z"), "2026-03-18T02:00:00+00:00");
        assert_eq!(last(nightly, "2026-03-18T01:59:59Z"), "2026-03-17T02:00:00+00:00");
        assert_eq!(last(nightly, "2026-03-18T02:00:00Z"), "2026-03-18T02:00:00+00:00", "at counts");
        assert_eq!(last(Every::Hour { minute: 0 }, "2026-03-18T10:20:00Z"), "2026-03-18T10:00:00+00:00");
        assert_eq!(last(Every::Hour { minute: 30 }, "2026-03-18T00:20:00Z"), "2026-03-17T23:30:00+00:00");
        assert_eq!(last(Every::Minutes { n: 15 }, "2026-03-18T10:44:59Z"), "2026-03-18T10:30:00+00:00");
        // 2026-03-18 is a Wednesday; Sunday is weekday 6.
        let sunday = Every::Week { weekday: 6, hour: 4, minute: 0 };
        assert_eq!(last(sunday, "2026-03-18T12:00:00Z"), "2026-03-15T04:00:00+00:00");
        assert_eq!(last(sunday, "2026-03-15T03:00:00Z"), "2026-03-08T04:00:00+00:00");
        assert_eq!(last(Every::Day { hour: 24, minute: 0 }, "2026-03-18T12:00:00Z"), "", "invalid hour");
        assert_eq!(last(Every::Minutes { n: 0 }, "2026-03-18T12:00:00Z"), "");
    }

    #[test]
    fn cron_expressions_and_macros() {
        let every = |e: &str| Schedule::from_cron(e).map(|s| s.every);
        assert_eq!(every("0 2 * * *"), Some(Every::Day { hour: 2, minute: 0 }));
        assert_eq!(every("30 3 * * *"), Some(Every::Day { hour: 3, minute: 30 }));
        assert_eq!(every("0 * * * *"), Some(Every::Hour { minute: 0 }));
        assert_eq!(every("*/15 * * * *"), Some(Every::Minutes { n: 15 }));
        assert_eq!(every("0 */6 * * *"), Some(Every::Minutes { n: 360 }));
        assert_eq!(every("0 4 * * 0"), Some(Every::Week { weekday: 6, hour: 4, minute: 0 }));
        assert_eq!(every("0 4 * * MON"), Some(Every::Week { weekday: 0, hour: 4, minute: 0 }));
        assert_eq!(every("@daily"), Some(Every::Day { hour: 0, minute: 0 }));
        assert_eq!(every("@hourly"), Some(Every::Hour { minute: 0 }));
        for unsupported in ["0 2 1 * *", "0 2 * * 1-5", "61 2 * * *", "0 25 * * *", "a b c d e", "0 2 * *", ""] {
            assert_eq!(every(unsupported), None, "{unsupported}");
        }
        assert_eq!(Schedule::from_cron(" 0 2 * * * ").unwrap().text, "0 2 * * *");
    }

    #[test]
    fn status_by_the_clock() {
        let now = t("2026-03-18T12:00:00Z");
        let (before, after) = (Some(t("2026-03-18T10:00:00Z")), Some(t("2026-03-18T14:00:00Z")));
        assert_eq!(ChangeStatus::from_times(after, None, now), ChangeStatus::Planned);
        assert_eq!(ChangeStatus::from_times(before, after, now), ChangeStatus::InProgress);
        assert_eq!(ChangeStatus::from_times(before, None, now), ChangeStatus::Done);
        assert_eq!(ChangeStatus::from_times(None, None, now), ChangeStatus::Done);
    }
}
