//! Postmortem and runbook structure from Markdown sections, matched by heading synonyms.
//!
//! Headings are compared case-insensitively after dropping numbering (`1.`),
//! markup and trailing `:`/`?`. A heading matches a synonym when it equals it or
//! starts with it followed by a non-letter ("Root Causes and Trigger" matches
//! "root causes"); "X and Y" headings also feed the field Y names. Subsections
//! belong to the matched section above them unless they match a field
//! themselves. Missing sections leave fields empty: nothing is invented.

use super::markdown::{self, Section};

#[rustfmt::skip]
pub const SUMMARY: &[&str] = &[
    "summary", "executive summary", "overview", "description", "what happened", "incident summary",
    "issue summary", "tl;dr", "tldr", "outage description",
];
#[rustfmt::skip]
pub const IMPACT: &[&str] = &[
    "impact", "customer impact", "user impact", "business impact", "affected users",
];
#[rustfmt::skip]
pub const TRIGGER: &[&str] = &[
    "trigger", "triggers", "what triggered it", "triggering event",
];
#[rustfmt::skip]
pub const ROOT_CAUSE: &[&str] = &[
    "root cause", "root causes", "root cause analysis", "rca", "cause", "causes",
    "contributing factors", "contributing factor", "contributing conditions", "why did it happen",
    "5 whys", "five whys",
];
#[rustfmt::skip]
pub const RESOLUTION: &[&str] = &[
    "resolution", "mitigation", "remediation", "fix", "recovery", "how it was fixed",
    "resolution and recovery",
];
#[rustfmt::skip]
pub const ACTION_ITEMS: &[&str] = &[
    "action items", "actions", "follow-up", "follow-ups", "follow up actions", "corrective actions",
    "corrective and preventative measures", "corrective and preventive measures", "next steps",
    "todo", "recommendations",
];
#[rustfmt::skip]
pub const TIMELINE: &[&str] = &[
    "timeline", "timeline of events", "chronology", "sequence of events",
];
#[rustfmt::skip]
pub const LESSONS: &[&str] = &[
    "lessons learned", "lessons", "what went well", "what went wrong", "what went badly",
    "what could have gone better", "learnings", "where we got lucky", "where did we get lucky",
];

#[rustfmt::skip]
pub const RUNBOOK_MEANING: &[&str] = &[
    "meaning", "description", "summary", "overview",
];
#[rustfmt::skip]
pub const RUNBOOK_IMPACT: &[&str] = &[
    "impact",
];
#[rustfmt::skip]
pub const RUNBOOK_DIAGNOSIS: &[&str] = &[
    "diagnosis", "investigation", "troubleshooting", "triage",
];
pub const RUNBOOK_MITIGATION: &[&str] = &["mitigation", "resolution", "remediation", "fix", "solution"];

/// Words that often prefix a field heading ("Incident Timeline") and are
/// tried without when the full heading matches nothing.
#[rustfmt::skip]
const QUALIFIERS: &[&str] = &[
    "incident ", "outage ", "postmortem ", "event ", "the ",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Postmortem {
    pub summary: String,
    pub impact: String,
    pub trigger: String,
    pub root_cause: String,
    pub resolution: String,
    pub action_items: Vec<String>,
    pub timeline: Vec<String>,
    pub lessons: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runbook {
    pub meaning: String,
    pub impact: String,
    pub diagnosis: String,
    pub mitigation: String,
}

/// Maps sections to postmortem fields; `action_items` and `timeline` hold one
/// entry per list item or table row (header, separator and "All times in UTC"
/// notes skipped), or one per line when the section has neither.
pub fn postmortem(sections: &[Section]) -> Postmortem {
    let tables = [SUMMARY, IMPACT, TRIGGER, ROOT_CAUSE, RESOLUTION, ACTION_ITEMS, TIMELINE, LESSONS];
    let parts = assign(sections, &tables);
    Postmortem {
        summary: join(&parts[0]),
        impact: join(&parts[1]),
        trigger: join(&parts[2]),
        root_cause: join(&parts[3]),
        resolution: join(&parts[4]),
        action_items: parts[5].iter().flat_map(|p| entries(&p.text)).collect(),
        timeline: parts[6].iter().flat_map(|p| entries(&p.text)).collect(),
        lessons: join(&parts[7]),
    }
}

/// Front matter (if any) skipped, then [`markdown::sections`] and [`postmortem`].
pub fn postmortem_from_text(text: &str) -> Postmortem {
    postmortem(&markdown::sections(body(text)))
}

/// Maps sections to the four runbook fields.
pub fn runbook(sections: &[Section]) -> Runbook {
    let tables = [RUNBOOK_MEANING, RUNBOOK_IMPACT, RUNBOOK_DIAGNOSIS, RUNBOOK_MITIGATION];
    let parts = assign(sections, &tables);
    Runbook {
        meaning: join(&parts[0]),
        impact: join(&parts[1]),
        diagnosis: join(&parts[2]),
        mitigation: join(&parts[3]),
    }
}

/// Front matter and Hugo shortcodes removed, then [`markdown::sections`] and [`runbook`].
pub fn runbook_from_text(text: &str) -> Runbook {
    runbook(&markdown::sections(&markdown::strip_shortcodes(body(text))))
}

/// A section attributed to a field; `titled` keeps its heading in the field
/// text because it sits under another matched section.
struct Part {
    titled: bool,
    level: u8,
    heading: String,
    text: String,
}

fn body(text: &str) -> &str {
    match markdown::split_front_matter(text) {
        Ok((_, body)) => body,
        Err(_) => text,
    }
}

/// Attributes each section to the fields its heading matches, or to the
/// fields of the nearest matched ancestor section.
fn assign(sections: &[Section], tables: &[&[&str]]) -> Vec<Vec<Part>> {
    let mut parts: Vec<Vec<Part>> = tables.iter().map(|_| Vec::new()).collect();
    let mut owners: Vec<(u8, Vec<usize>)> = Vec::new();
    for s in sections.iter().filter(|s| s.level > 0) {
        while owners.last().is_some_and(|(level, _)| *level >= s.level) {
            owners.pop();
        }
        let own = matching_fields(&s.heading, tables);
        let titled = !owners.is_empty();
        let fields = if own.is_empty() {
            match owners.last() {
                Some((_, fields)) => fields.clone(),
                None => continue,
            }
        } else {
            owners.push((s.level, own.clone()));
            own
        };
        for f in fields {
            if let Some(list) = parts.get_mut(f) {
                let part = Part { titled, level: s.level, heading: s.heading.clone(), text: s.text.clone() };
                list.push(part);
            }
        }
    }
    parts
}

fn matching_fields(heading: &str, tables: &[&[&str]]) -> Vec<usize> {
    let norm = normalize(heading);
    let mut fields = Vec::new();
    let primary = best_match(&norm, tables)
        .or_else(|| QUALIFIERS.iter().find_map(|q| norm.strip_prefix(q)).and_then(|rest| best_match(rest, tables)));
    let Some(primary) = primary else {
        return fields;
    };
    fields.push(primary);
    // "Root cause and mitigation": the part after the conjunction names a field too.
    for sep in [" and ", " & ", "/", ", "] {
        for rest in norm.split(sep).skip(1) {
            if let Some(f) = best_match(rest.trim(), tables).filter(|f| !fields.contains(f)) {
                fields.push(f);
            }
        }
    }
    fields
}

/// An exact synonym wins; otherwise the longest synonym the heading starts with.
fn best_match(norm: &str, tables: &[&[&str]]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None;
    for (f, synonyms) in tables.iter().enumerate() {
        for syn in synonyms.iter() {
            if norm == *syn {
                return Some(f);
            }
            let starts = norm.starts_with(syn) && !norm[syn.len()..].starts_with(|c: char| c.is_alphabetic());
            if starts && best.is_none_or(|(_, len)| syn.len() > len) {
                best = Some((f, syn.len()));
            }
        }
    }
    best.map(|(f, _)| f)
}

fn normalize(heading: &str) -> String {
    let lower = heading.to_lowercase().replace(['*', '`', '#', '[', ']'], "");
    let lower = lower.trim_matches(|c: char| c == '_' || c.is_whitespace());
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    // Leading numbering such as "1.", "2.3", "4)" or "IV.".
    if let Some(first) = words.first() {
        let numeric = first.chars().any(|c| c.is_ascii_digit())
            && first.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ')' | ':'));
        let roman = first.len() > 1
            && first.ends_with(['.', ')'])
            && first[..first.len() - 1].chars().all(|c| matches!(c, 'i' | 'v' | 'x'));
        if (numeric || roman) && words.len() > 1 {
            words.remove(0);
        }
    }
    words.join(" ").trim_end_matches([':', '?', '.', ' ']).to_string()
}

fn join(parts: &[Part]) -> String {
    let texts: Vec<String> = parts
        .iter()
        .filter(|p| has_content(&p.text))
        .map(|p| {
            if p.titled {
                let hashes = "#".repeat(p.level.clamp(1, 6) as usize);
                format!("{hashes} {}\n\n{}", p.heading, p.text)
            } else {
                p.text.clone()
            }
        })
        .collect();
    texts.join("\n\n").trim().to_string()
}

/// Template sections hold only empty list markers (`-`); they are not content.
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim().trim_start_matches(['-', '*', '+', '|', ' ']);
        !t.trim().is_empty() && list_item_text(l) != Some("")
    })
}

/// One entry per list item or table row; without any, one per non-empty line.
fn entries(text: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut last_was_item = false;
    let mut table_rows = 0usize;
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        let marker = super::fence_marker(line);
        if let Some((ch, len)) = fence {
            if matches!(marker, Some((c, l)) if c == ch && l >= len) && super::is_bare_fence(line) {
                fence = None;
            } else if !line.trim().is_empty() {
                lines.push(line.trim().to_string());
            }
            continue;
        }
        if marker.is_some() {
            fence = marker;
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('|') {
            last_was_item = false;
            if is_separator_row(trimmed) {
                // The row above a separator is the table header.
                if table_rows == 1 {
                    items.pop();
                }
                continue;
            }
            table_rows += 1;
            items.push(row_text(trimmed));
            continue;
        }
        table_rows = 0;
        if let Some(item) = list_item_text(line) {
            items.push(item.to_string());
            last_was_item = true;
        } else if last_was_item && line.starts_with([' ', '\t']) && !trimmed.is_empty() {
            if let Some(last) = items.last_mut() {
                last.push(' ');
                last.push_str(trimmed);
            }
        } else {
            last_was_item = false;
            if !trimmed.is_empty() && !is_note(trimmed) {
                lines.push(trimmed.to_string());
            }
        }
    }
    let chosen = if items.is_empty() { lines } else { items };
    chosen.iter().map(|e| clean(e)).filter(|e| !e.is_empty()).collect()
}

fn list_item_text(line: &str) -> Option<&str> {
    let t = line.trim_start();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    let rest = if digits > 0 { t[digits..].strip_prefix(['.', ')'])? } else { t.strip_prefix(['-', '*', '+'])? };
    if rest.is_empty() {
        return Some("");
    }
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

fn is_separator_row(row: &str) -> bool {
    row.contains('-') && row.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

fn row_text(row: &str) -> String {
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '|' if !escaped => cells.push(std::mem::take(&mut cell)),
            '\\' if !escaped => escaped = true,
            _ => {
                if escaped && c != '|' {
                    cell.push('\\');
                }
                escaped = false;
                cell.push(c);
            }
        }
    }
    cells.push(cell);
    let cells: Vec<&str> = cells.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
    cells.join(" | ")
}

/// "All times in UTC." style notes that are not entries.
fn is_note(line: &str) -> bool {
    let l = line.trim_start_matches(['*', '_', '(', '>', ' ']).to_lowercase();
    ["all times", "times are", "times in "].iter().any(|p| l.starts_with(p))
}

/// Inline Markdown removed and whitespace collapsed.
fn clean(entry: &str) -> String {
    let plain = markdown::to_plain(entry);
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{random_text, read_sample, sample_files, within};
    use super::*;

    fn pm(rel: &str) -> Postmortem {
        postmortem_from_text(&read_sample(&format!("postmortems/{rel}")))
    }

    fn rb(rel: &str) -> Runbook {
        runbook_from_text(&read_sample(&format!("runbooks/{rel}")))
    }

    #[test]
    fn dfds_postmortem_fields() {
        let p = pm("dfds/PM2021-005 - All services returning 503 in Kubernetes.md");
        assert!(p.summary.starts_with("On Tuesday 22nd June 2021, changes to the VPC CNI caused target groups"));
        assert!(p.summary.contains("managed by native Terraform instead of kubectl."));
        assert_eq!(p.timeline.len(), 7);
        assert_eq!(p.timeline[0], "2021-06-22 08:21 | VPC CNI replaced by the pipeline");
        assert_eq!(p.timeline[6], "2021-06-22 08:46 | Target groups reattached to the ALB by the pipeline (resolved)");
        assert!(p.root_cause.contains("de-registration delay was permanently lowered"));
        assert_eq!(
            p.action_items,
            [
                "Revert to default of 300 seconds for de-registration delay on the ALBs.",
                "Update roll-over script to temporarily set de-registration delay to zero on ALBs prior to roll-over.",
                "Create ingress test suite.",
            ]
        );
        assert!(p.lessons.contains("Actively monitor critical pipeline executions."));
        assert!(!p.lessons.contains("Time to detection"), "Stats is not a lesson");
        assert_eq!((p.impact.as_str(), p.trigger.as_str(), p.resolution.as_str()), ("", "", ""));
    }

    #[test]
    fn dfds_file_without_extension_and_nested_action_items() {
        let p = pm("dfds/PM2022-009 - Bad AWS EKS AMI causing Kubernetes issues");
        assert_eq!(p.action_items.len(), 10);
        assert_eq!(p.action_items[0], "Improve coverage of readiness/liveness probes");
        assert_eq!(p.action_items[2], "Create dashboard for readiness/liveness probe coverage");
        assert_eq!(p.timeline.len(), 20);
        assert!(p.timeline[19].ends_with("After observation we decided that the AMI rollback had resolved the issue"));
        assert!(p.root_cause.contains("No on-call escalation paths with individual teams"));
        assert!(p.summary.contains("rolling the EC2 AutoScaling group launch configuration's AMI image"));
    }

    #[test]
    fn dfds_variants_findings_subsections_and_templates() {
        let p = pm("dfds/PM2020-007 - Unhealthy nodes.md");
        assert!(!p.root_cause.is_empty(), "Contributing Factors (findings)");
        assert!(!p.action_items.is_empty());
        let p = pm("dfds/PM2021-011 - Log4Shell.md");
        assert!(p.lessons.starts_with("### Reflections on external collaboration\n\n- With S&O"));
        assert!(p.lessons.contains("### General\n\n- (Process/Structure) Better communication"));
        let t = pm("dfds/PMyyyy-nnn - Postmortem template.md");
        assert_eq!(t.summary, "");
        assert_eq!((t.root_cause.as_str(), t.lessons.as_str()), ("", ""), "bare `-` items are empty");
        assert!(t.action_items.is_empty());
        assert_eq!(t.timeline, ["20xx-MM-DD HH:mm | Short event description"]);
        for rel in [
            "templates/dastergon_postmortem-template-srebook.md",
            "templates/dastergon_postmortem-template-elastic.md",
            "templates/dastergon_postmortem-template-google-api-infra.md",
            "templates/dastergon_postmortem-template-michael.kehoe.md",
        ] {
            let p = pm(rel);
            assert_eq!(p.impact, "", "{rel}: headings alone are not content");
            assert!(p.action_items.is_empty() && p.timeline.is_empty(), "{rel}");
            assert_eq!(p.root_cause, "", "{rel}");
        }
    }

    #[test]
    fn synonyms_numbering_markup_and_subsections() {
        let text = "---\ntitle: Example\nsummary: front matter is not the body\n---\n\
            # Postmortem: payments outage\n\n## 1. Executive Summary:\n\nPayments failed.\n\n\
            ## 2) **Root Causes and Trigger**\n\nA bad config push.\n\n### Five Whys\n\nwhy 1\n\n\
            ## Impact\n\n#### End User Impact\n\nCheckout down.\n\n## What triggered it?\n\nThe deploy.\n\n\
            ## Resolution and Recovery\n\nRolled back.\n\n## Timeline of events\n\n_All times in UTC_\n\n\
            | Time | Event |\n|---|---|\n| 10:00 | **OUTAGE BEGINS** |\n|  |  |\n| 10:05 | [paged](http://x) |\n\n\
            ## Action Items & Follow-ups\n\n| Action Item | Type | Bug |\n|-|-|-|\n| Add canary | prevent | **DONE** b/1 |\n\n\
            1. Write tests\n   for config\n* [ ] add alert\n\n## Lessons learned\n\n### What went well\n\nFast rollback.\n\n\
            ### Where we got lucky\n\nLow traffic.\n\n## Appendix\n\nnot a field\n";
        let p = postmortem_from_text(text);
        assert_eq!(p.summary, "Payments failed.");
        assert_eq!(p.root_cause, "A bad config push.\n\n### Five Whys\n\nwhy 1");
        assert!(p.trigger.starts_with("A bad config push."), "root causes *and trigger*");
        assert!(p.trigger.ends_with("The deploy."));
        assert_eq!(p.impact, "#### End User Impact\n\nCheckout down.");
        assert_eq!(p.resolution, "Rolled back.");
        assert_eq!(p.timeline, ["10:00 | OUTAGE BEGINS", "10:05 | paged"]);
        assert_eq!(p.action_items, ["Add canary | prevent | DONE b/1", "Write tests for config", "[ ] add alert"]);
        assert!(p.lessons.contains("### What went well\n\nFast rollback."));
        assert!(p.lessons.contains("### Where we got lucky\n\nLow traffic."));
        assert!(!format!("{p:?}").contains("not a field"));
        let lines = postmortem_from_text(
            "## Timeline\n\nAll times in UTC.\n10:00 start\n\n10:30 end\n## Action items\nfix it\n",
        );
        assert_eq!(lines.timeline, ["10:00 start", "10:30 end"]);
        assert_eq!(lines.action_items, ["fix it"]);
        assert_eq!(postmortem_from_text("no headings at all"), Postmortem::default());
    }

    #[test]
    fn heading_matching_rules() {
        let tables = [SUMMARY, ROOT_CAUSE, RESOLUTION, TIMELINE];
        assert_eq!(matching_fields("Root Causes and Trigger", &tables), [1]);
        assert_eq!(matching_fields("Root cause and mitigation", &tables), [1, 2]);
        assert_eq!(matching_fields("Incident Timeline", &tables), [3]);
        assert_eq!(matching_fields("3.1 Summary of impact:", &tables), [0]);
        assert_eq!(matching_fields("Causes", &tables), [1]);
        assert!(matching_fields("Causeway", &tables).is_empty());
        assert!(matching_fields("Fixtures", &tables).is_empty());
        assert!(matching_fields("Attendees", &tables).is_empty());
    }

    #[test]
    fn runbook_fields() {
        let r = rb("prometheus-operator/node/NodeFilesystemSpaceFillingUp.md");
        assert!(r.meaning.starts_with("This alert is based on an extrapolation of the space used in a file system."));
        assert!(r.impact.contains("A filesystem running full is very bad"));
        assert!(r.diagnosis.contains("```promql\nnode_filesystem_free_bytes\n```"));
        assert!(r.mitigation.contains("$ kubectl -n default debug node/$NODE_NAME"));

        let r = rb("openshift/cluster-etcd-operator/etcdMembersDown.md");
        assert!(r.diagnosis.contains("### General etcd health"));
        assert!(r.diagnosis.contains("$ etcdctl endpoint health -w table"));
        assert!(r.mitigation.contains("AWS instance retirement might need"));
        assert!(!r.mitigation.contains("etcdctl"));

        let r = rb("openshift/cluster-monitoring-operator/TargetDown.md");
        assert!(r.diagnosis.contains("### Identifying targets that are down"));
        assert_eq!(r.diagnosis, r.mitigation, "\"Diagnosis and mitigation\" feeds both");

        let r = rb("openshift/cluster-monitoring-operator/KubePersistentVolumeFillingUp.md");
        assert!(r.meaning.ends_with("`default` and those that have names beginning with `openshift-` or `kube-`."));
        assert!(r.impact.starts_with("If a persistent volume used by a system component fills up"));

        assert_eq!(rb("prometheus-operator/node/NodeRAIDDiskFailure.md"), Runbook::default());
    }

    #[test]
    fn every_postmortem_and_runbook_is_processed() {
        let mut with_summary = 0;
        let postmortems = sample_files("postmortems");
        for path in &postmortems {
            let text = std::fs::read_to_string(path).unwrap();
            if !postmortem_from_text(&text).summary.is_empty() {
                with_summary += 1;
            }
            runbook_from_text(&text);
        }
        assert!(with_summary >= 38, "{with_summary} of {}", postmortems.len());
        let runbooks = sample_files("runbooks");
        let mut complete = 0;
        for path in &runbooks {
            let text = std::fs::read_to_string(path).unwrap();
            let r = runbook_from_text(&text);
            postmortem_from_text(&text);
            if !r.meaning.is_empty() && !r.impact.is_empty() && !r.diagnosis.is_empty() && !r.mitigation.is_empty() {
                complete += 1;
            }
        }
        // The rest have empty or missing sections upstream (e.g. an empty
        // "## Diagnosis"), which must stay empty.
        assert!(complete >= 88, "{complete} of {}", runbooks.len());
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep: String = (1..=10_000).map(|i| format!("{} Action items {i}\n- x\n", "#".repeat(i % 6 + 1))).collect();
        within(30, "many sections", || postmortem_from_text(&deep));
        let nested = format!("## Action Items\n{}item\n", "- ".repeat(10_000));
        let p = within(30, "deep list", || postmortem_from_text(&nested));
        assert!(!p.action_items.is_empty());
        within(20, "random structure", || {
            postmortem_from_text(&random_text(1 << 20));
            runbook_from_text(&random_text(1 << 20));
        });
        let table = format!("## Timeline\n{}", "| a | b |\n|---|---|\n".repeat(150_000));
        let p = within(60, "5 MB table", || postmortem_from_text(&table));
        // One table: the first row is its header, later separator lines are skipped.
        assert_eq!(p.timeline.len(), 149_999);
    }
}
