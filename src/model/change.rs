//! Changes and policies: what was done to the estate and when (a deploy, a
//! config change, a migration, a secret rotation, a new scheduled job), and
//! the rules that govern acting on it (a freeze, an approval rule, a "never
//! do this"). Both are history documents with extra, typed fields; the
//! verbs an action and a policy speak of are [`ActionVerb`]s, so that "roll
//! back pricing-svc" and "no rollbacks during the freeze" meet.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
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
