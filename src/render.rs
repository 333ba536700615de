//! Compact text renderings of answers, for a terminal and for a model's
//! context window (the MCP tools' text content). Written from the wire
//! types, so text and JSON never disagree.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::wire::{BlastRadiusAnswer, EntityAnswer, EntityRef, ErrorAnswer, IngestAnswer, Source};

pub fn entity_ref(e: &EntityRef) -> String {
    let mut attrs = Vec::new();
    attrs.push(e.kind.clone().unwrap_or_else(|| "undeclared".into()));
    if let Some(t) = e.tier {
        attrs.push(format!("tier {t}"));
    }
    if let Some(env) = &e.environment {
        attrs.push(env.clone());
    }
    if let Some(c) = &e.classification {
        attrs.push(c.clone());
    }
    format!("{} ({})", e.id, attrs.join(", "))
}

fn counts(map: &BTreeMap<String, usize>) -> String {
    map.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

pub fn source(s: &Source) -> String {
    let mut out = format!("{}:{}", s.source, s.external_id);
    if let Some(u) = &s.updated {
        let _ = write!(out, " updated {u}");
    }
    if let Some(u) = &s.url {
        let _ = write!(out, " <{u}>");
    }
    out
}

pub fn blast_radius(b: &BlastRadiusAnswer) -> String {
    let mut out = String::new();
    let t = &b.totals;
    let _ = writeln!(out, "blast radius of {}", entity_ref(&b.target));
    let _ = write!(out, "{} dependents, max depth {}", t.dependents, t.max_depth);
    if let Some(d) = b.max_depth {
        let _ = write!(out, " (walk limited to depth {d})");
    }
    if b.withheld > 0 {
        let _ = write!(out, "; {} more above your clearance", b.withheld);
    }
    out.push('\n');
    if t.dependents > 0 {
        let _ = writeln!(out, "by tier: {}", counts(&t.by_tier));
        let _ = writeln!(out, "by environment: {}", counts(&t.by_environment));
        let _ = writeln!(out, "by classification: {}", counts(&t.by_classification));
        let _ = writeln!(out, "by kind: {}", counts(&t.by_kind));
    }
    for d in &b.dependents {
        let _ = writeln!(out, "  {} {}", d.depth, entity_ref(&d.entity));
    }
    if b.truncated {
        let _ = writeln!(out, "  ... {} more (raise the limit to list them)", t.dependents - b.dependents.len());
    }
    out
}

pub fn entity(e: &EntityAnswer) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", entity_ref(&e.entity));
    if let Some(t) = &e.title {
        let _ = writeln!(out, "title: {t}");
    }
    if let Some(d) = &e.description {
        let _ = writeln!(out, "description: {}", d.lines().next().unwrap_or_default());
    }
    if !e.aliases.is_empty() {
        let _ = writeln!(out, "aliases: {}", e.aliases.join(", "));
    }
    if let Some(o) = &e.owner {
        let _ = writeln!(out, "owner: {o}");
    }
    if !e.relations.is_empty() {
        let _ = writeln!(out, "relations:");
        for l in &e.relations {
            let _ = writeln!(out, "  {} {}  [{}]", l.relation, entity_ref(&l.entity), l.source.doc_id);
        }
    }
    if !e.incoming.is_empty() {
        let _ = writeln!(out, "incoming:");
        for l in &e.incoming {
            let _ = writeln!(out, "  {} {}  [{}]", entity_ref(&l.entity), l.relation, l.source.doc_id);
        }
    }
    if !e.documents.is_empty() {
        let _ = writeln!(out, "documents:");
        for d in &e.documents {
            let title = d.document.title.as_deref().unwrap_or("");
            let _ = writeln!(out, "  {} {} {title}", d.relation, source(&d.document));
        }
    }
    if !e.sources.is_empty() {
        let _ = writeln!(out, "sources:");
        for s in &e.sources {
            let _ = writeln!(out, "  {}", source(s));
        }
    }
    out
}

pub fn error(e: &ErrorAnswer) -> String {
    let mut out = format!("error ({}): {}", e.code, e.message);
    for c in &e.candidates {
        let _ = write!(out, "\n  candidate: {} matched by {} {:?}", entity_ref(&c.entity), c.matched_by, c.via);
    }
    out
}

pub fn ingest(r: &IngestAnswer) -> String {
    let mut out = format!(
        "{}: {} files, {} documents, {} entities; {} written, {} unchanged, {} deleted",
        r.source, r.files, r.documents, r.entities, r.written, r.unchanged, r.deleted
    );
    for s in &r.skipped {
        let _ = write!(out, "\nskipped: {s}");
    }
    for w in &r.warnings {
        let _ = write!(out, "\nwarning: {w}");
    }
    for n in &r.notes {
        let _ = write!(out, "\nnote: {n}");
    }
    for d in &r.dangling {
        let _ = write!(out, "\ndangling: {} {} -> {} (not defined anywhere)", d.from, d.field, d.target);
    }
    if r.relinked > 0 {
        let _ = write!(out, "\nlinked again: {} stored change(s) that named no known entity", r.relinked);
    }
    out
}

/// Change events stored: one line per change, then what was refused.
pub fn changes(c: &crate::wire::ChangesStored) -> String {
    let mut out = format!(
        "changes: {} stored ({} written, {} unchanged), {} rejected, {} ignored\n",
        c.stored.len(),
        c.written,
        c.unchanged,
        c.rejected.len(),
        c.ignored.len()
    );
    for s in &c.stored {
        let when = s.start.as_deref().unwrap_or("no time");
        let affects = if s.affects.is_empty() {
            format!("no known entity (tried {})", s.unresolved.join(", "))
        } else {
            s.affects.join(", ")
        };
        let _ = writeln!(out, "{} [{} {}] {when}: {} -> {affects}", s.doc_id, s.change_type, s.status, s.title);
    }
    let place = |file: &Option<String>, index: usize| match file {
        Some(f) => format!("{f}#{index}"),
        None => format!("item {index}"),
    };
    for r in &c.rejected {
        let _ = writeln!(out, "rejected {}: {}", place(&r.file, r.index), r.reason);
    }
    for r in &c.ignored {
        let _ = writeln!(out, "ignored {}: {}", place(&r.file, r.index), r.reason);
    }
    for w in &c.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

pub fn search(a: &crate::wire::SearchAnswer) -> String {
    let mut out = String::new();
    if let Some(e) = &a.entity {
        let _ = writeln!(out, "documents about {}", entity_ref(e));
    }
    if a.hits.is_empty() {
        out.push_str("no matching documents\n");
    }
    for (i, h) in a.hits.iter().enumerate() {
        let when = h.created.as_deref().map(|c| &c[..c.len().min(10)]).unwrap_or("");
        let sev = h.severity.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
        let _ = writeln!(out, "{}. [{}{sev}] {} — {} {when} (score {:.2})", i + 1, h.kind, h.doc_id, h.title, h.score);
        if !h.snippet.is_empty() {
            let _ = writeln!(out, "   {}", h.snippet.replace('\n', " "));
        }
        if !h.root_cause.is_empty() {
            let _ = writeln!(out, "   root cause: {}", h.root_cause.replace('\n', " "));
        }
        if let Some(url) = &h.source.url {
            let _ = writeln!(out, "   {url}");
        }
    }
    out
}

pub fn document(d: &crate::wire::DocumentAnswer) -> String {
    let mut out = format!("{}\n", source(&d.source));
    if let Some(doc) = &d.document {
        for key in ["kind", "title", "severity", "status", "created", "resolved"] {
            if let Some(v) = doc.get(key).and_then(|v| v.as_str()) {
                let _ = writeln!(out, "{key}: {v}");
            }
        }
        for key in ["affects", "mentions", "alerts", "action_items"] {
            if let Some(v) = doc.get(key).and_then(|v| v.as_array()).filter(|a| !a.is_empty()) {
                let items: Vec<&str> = v.iter().filter_map(|x| x.as_str()).collect();
                let _ = writeln!(out, "{key}: {}", items.join("; "));
            }
        }
        for key in ["summary", "root_cause", "resolution"] {
            if let Some(v) = doc.get(key).and_then(|v| v.as_str()).filter(|s| !s.is_empty()) {
                let _ = writeln!(out, "{key}: {v}");
            }
        }
        if let Some(body) = doc.get("body").and_then(|v| v.as_str()) {
            let _ = writeln!(out, "\n{body}");
        }
    }
    out
}

/// The context for an action, compact: a model reads this before acting.
/// Lists are already cut to the request's limit; long texts are excerpts.
pub fn context(c: &crate::wire::ContextAnswer) -> String {
    let mut out = String::new();
    let t = &c.target;
    let _ = writeln!(out, "TARGET {} — resolved via {}", entity_ref(&t.entity), t.resolved_via);
    if let Some(o) = &t.owner {
        let _ = write!(out, "owner {}", o.id);
    }
    if let Some(s) = &t.system {
        let _ = write!(out, "{}system {}", if t.owner.is_some() { "; " } else { "" }, s.id);
    }
    if t.owner.is_some() || t.system.is_some() {
        out.push('\n');
    }
    if let Some(d) = &t.description {
        let _ = writeln!(out, "about: {d}");
    }
    if let Some(a) = &c.alert {
        let _ = writeln!(out, "alert: {a}");
    }
    if let Some(a) = &c.action {
        let _ = writeln!(out, "action: {a}");
    }
    if let Some(a) = &c.as_of {
        let _ = writeln!(out, "as of: {a}");
    }
    let list = |n: &[crate::wire::NeighbourAnswer]| {
        n.iter()
            .map(|n| {
                let kind = n.entity.kind.as_deref().unwrap_or("?");
                let tier = n.entity.tier.map(|t| format!(" t{t}")).unwrap_or_default();
                format!("{} {} ({kind}{tier})", n.relation, n.entity.name)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !c.dependencies.is_empty() {
        let _ = writeln!(out, "depends on: {}", list(&c.dependencies));
    }
    if !c.dependents.is_empty() {
        let _ = writeln!(out, "depended on by: {}", list(&c.dependents));
    }
    let b = &c.blast_radius.totals;
    let _ = writeln!(
        out,
        "BLAST RADIUS {} dependents (max depth {}); tier {}; env {}{}",
        b.dependents,
        b.max_depth,
        counts(&b.by_tier),
        counts(&b.by_environment),
        if c.blast_radius.withheld > 0 {
            format!("; {} above your clearance", c.blast_radius.withheld)
        } else {
            String::new()
        }
    );
    for w in &c.change_windows {
        let state = if w.active { "ACTIVE" } else { "upcoming" };
        let kind = if w.freeze { "freeze" } else { "change window" };
        let _ = writeln!(
            out,
            "CHANGE WINDOW {state} {kind} {} {}..{} covers {}",
            w.window.name,
            w.start.as_deref().unwrap_or("?"),
            w.end.as_deref().unwrap_or("?"),
            w.covers
        );
    }
    if !c.changes.is_empty() {
        let _ = writeln!(out, "CHANGES (suspects, best first; time relative to {})", c.at);
    }
    for (i, s) in c.changes.iter().enumerate() {
        let kind = s.change.as_ref().map(|ch| format!("{} {}", ch.change_type, ch.status)).unwrap_or_default();
        let title = crate::wire::excerpt(&s.title, 90);
        let _ =
            writeln!(out, "{}. [{kind}] {} {title} — {}; {} (score {:.2})", i + 1, s.doc_id, s.when, s.path, s.score);
    }
    if !c.active_alerts.is_empty() {
        let _ = writeln!(out, "ALERTS FIRING NEARBY");
    }
    for s in &c.active_alerts {
        let _ = writeln!(out, "- {} — {}; {}", s.title, s.when, s.path);
    }
    if !c.policies.is_empty() {
        let _ = writeln!(out, "POLICIES");
    }
    for p in &c.policies {
        let force = if p.in_force { "IN FORCE" } else { "upcoming" };
        let governs = if p.governs_action { "; governs this action" } else { "" };
        let id = p.doc_id.as_deref().or(p.window.as_ref().map(|w| w.id.as_str())).unwrap_or("");
        let clause = crate::wire::excerpt(&one_line(&p.clause), 160);
        let _ = writeln!(out, "- [{} {force}{governs}] {} ({id}; {}): {clause}", p.rule, p.title, p.scope);
    }
    for n in &c.action_notes {
        let _ = writeln!(out, "ON THIS ACTION {}: {}", n.doc_id, one_line(&n.statement));
    }
    // The strongest three causes, one piece of evidence each; the JSON has them all.
    for k in c.known_causes.iter().take(3) {
        let _ = writeln!(
            out,
            "KNOWN CAUSE {} ({}) — {} earlier incident(s) on {} named a root cause there",
            k.cause.id,
            k.relation,
            k.evidence.len(),
            t.entity.name
        );
        for e in k.evidence.iter().take(1) {
            let cause = crate::wire::excerpt(&one_line(&e.root_cause), 120);
            let _ = writeln!(out, "  evidence {} {}: {cause}", e.doc_id, e.date.as_deref().map(day).unwrap_or(""));
        }
    }
    if !c.incidents.is_empty() {
        let _ = writeln!(out, "PRIOR INCIDENTS (best first)");
    }
    for (i, r) in c.incidents.iter().enumerate() {
        let sev = r.severity.as_deref().map(|s| format!(" {s}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{}. [{}{sev}] {} {} {} (score {:.2}; {})",
            i + 1,
            r.kind,
            r.doc_id,
            r.date.as_deref().map(day).unwrap_or(""),
            r.title,
            r.score,
            r.why.join("; ")
        );
        if !r.root_cause.is_empty() {
            let _ = writeln!(out, "   root cause: {}", crate::wire::excerpt(&one_line(&r.root_cause), 160));
        }
        if !r.resolution.is_empty() {
            let _ = writeln!(out, "   resolution: {}", crate::wire::excerpt(&one_line(&r.resolution), 120));
        }
    }
    if !c.runbooks.is_empty() {
        let _ = writeln!(out, "RUNBOOKS");
    }
    for r in &c.runbooks {
        let _ = writeln!(out, "- {} ({}; {})", r.title, r.doc_id, r.why);
        if !r.mitigation.is_empty() {
            let _ = writeln!(out, "  mitigation: {}", crate::wire::excerpt(&one_line(&r.mitigation), 160));
        }
    }
    if !c.outcomes.is_empty() {
        let _ = writeln!(out, "EARLIER OUTCOMES");
    }
    for o in &c.outcomes {
        let _ = writeln!(
            out,
            "- {} {} → {} by {} [{}]{} ({}): {}",
            o.when.as_deref().map(day).unwrap_or(""),
            o.action,
            o.result,
            o.performed_by.as_deref().unwrap_or("?"),
            o.authority,
            if o.same_action { " same action" } else { "" },
            o.doc_id,
            one_line(&o.summary)
        );
    }
    if c.retracted_outcomes > 0 {
        let _ = writeln!(out, "({} retracted outcome(s) not shown)", c.retracted_outcomes);
    }
    if let Some(h) = &c.alert_history {
        let _ = writeln!(
            out,
            "ALERT HISTORY {} fired {} times in 30 days, {} in 90{}",
            h.alert,
            h.fired_last_30_days,
            h.fired_last_90_days,
            h.last_fired.as_deref().map(|l| format!("; last {l}")).unwrap_or_default()
        );
        for o in &h.followed_by {
            let _ = writeln!(out, "  followed by {} → {} ({}, {})", o.action, o.result, o.authority, o.doc_id);
        }
    }
    if c.incidents.is_empty() && c.runbooks.is_empty() && c.outcomes.is_empty() && c.changes.is_empty() {
        let _ = writeln!(out, "no recorded history for this entity");
    }
    out
}

fn day(s: &str) -> &str {
    &s[..s.len().min(10)]
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// SPARQL results as tab-separated rows.
pub fn sparql(a: &crate::wire::SparqlAnswer) -> String {
    if let Some(b) = a.boolean {
        return format!("{b}\n");
    }
    let vars: Vec<&str> = a
        .head
        .get("vars")
        .and_then(|v| v.as_array())
        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    let mut out = vars.join("\t");
    out.push('\n');
    let rows = a.results.as_ref().and_then(|r| r.get("bindings")).and_then(|b| b.as_array());
    for row in rows.into_iter().flatten() {
        let cells: Vec<&str> = vars
            .iter()
            .map(|v| row.get(*v).and_then(|c| c.get("value")).and_then(|x| x.as_str()).unwrap_or(""))
            .collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

pub fn outcome(o: &crate::wire::OutcomeStored) -> String {
    let how = if o.replayed { "already stored (same idempotency key and body)" } else { "stored" };
    format!(
        "{how}: {} — {} on {}: {} [authority {}{}] seq {}\n",
        o.id,
        o.action,
        o.entity,
        o.result,
        o.authority,
        o.reviewed_by.as_deref().map(|r| format!(" by {r}")).unwrap_or_default(),
        o.seq
    )
}

pub fn alerts(a: &crate::wire::AlertsRecorded) -> String {
    let mut out = format!("{} alerts received, {} written\n", a.received, a.written);
    for r in &a.alerts {
        let target = r.entity.as_deref().unwrap_or("no entity");
        let _ = writeln!(out, "  {} {} {} → {target}", r.alertname.as_deref().unwrap_or("?"), r.status, r.fingerprint);
        if let Some(u) = &r.unresolved {
            let _ = writeln!(out, "    {u}");
        }
    }
    out
}
