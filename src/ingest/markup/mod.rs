//! Pure text converters: Jira (ADF, wiki markup), Confluence storage format and Markdown to one plain-text convention.
//!
//! Every converter emits Markdown-like plain text so that one section splitter
//! ([`markdown::sections`]) and one structure extractor ([`structure`]) work for
//! all sources:
//!
//! - headings as `# `..`###### ` lines with blank lines around them
//! - paragraphs separated by one blank line, never more than one in a row
//! - `- item` / `1. item` lists, nested lists indented two spaces per level
//! - tables as `| a | b |` rows, a header row followed by `| --- | --- |`
//! - fenced code blocks (language after the fence when known), content verbatim
//! - `> ` block quotes; panels as a `Note:` / `Warning:` / `Info:` / `Tip:` line
//!   (or the panel's title) followed by the content
//! - task items `- [x] done` / `- [ ] open`, mentions `@Name`, emoticons `:name:`
//! - no trailing whitespace
//!
//! The converters never panic and never recurse without bound: hostile input
//! degrades to flat text instead of failing.

pub mod adf;
pub mod markdown;
pub mod storage;
pub mod structure;
pub mod wiki;

/// Depth at which the tree converters stop rendering structure and fall back to
/// flat text, so that hostile nesting cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Final pass shared by the converters: normalises line ends, strips trailing
/// whitespace and collapses blank-line runs outside fenced code, where blank
/// lines are content.
fn tidy(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<(char, usize)> = None;
    let mut blank_run = 0usize;
    for line in text.split('\n') {
        let line = line.trim_end();
        let opener = fence_marker(line);
        match (fence, opener) {
            (None, Some(marker)) => fence = Some(marker),
            (Some((ch, len)), Some((c2, l2))) if c2 == ch && l2 >= len && is_bare_fence(line) => {
                fence = None;
            }
            _ => {}
        }
        let in_code = fence.is_some() && opener.is_none();
        if line.is_empty() && !in_code {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        if line.is_empty() {
            continue;
        }
        out.push_str(line);
    }
    out
}

/// A fenced code block whose fence is longer than any backtick run at the start
/// of a content line, so embedded fences cannot close it early.
fn fence(lang: &str, code: &str) -> String {
    let longest = code.lines().map(|l| l.trim_start().chars().take_while(|&c| c == '`').count()).max().unwrap_or(0);
    let ticks = "`".repeat(longest.max(2) + 1);
    let lang: String = lang.split_whitespace().next().unwrap_or("").to_string();
    let body = code.strip_suffix('\n').unwrap_or(code);
    if body.is_empty() { format!("{ticks}{lang}\n{ticks}") } else { format!("{ticks}{lang}\n{body}\n{ticks}") }
}

/// Prefixes the first line of `body` with `marker` and indents the others by
/// two spaces: the list convention for items with several lines or sub-lists.
fn list_item(marker: &str, body: &str) -> String {
    let mut out = String::new();
    for (i, line) in body.trim_matches('\n').split('\n').enumerate() {
        if i == 0 {
            out.push_str(marker);
            out.push_str(line.trim_start());
        } else {
            out.push('\n');
            if !line.trim().is_empty() {
                out.push_str("  ");
                out.push_str(line);
            }
        }
    }
    out
}

/// Prefixes every line with `> `, the block quote convention.
fn quote(body: &str) -> String {
    body.trim_matches('\n')
        .split('\n')
        .map(|l| if l.trim().is_empty() { ">".to_string() } else { format!("> {l}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One table row; cells are flattened to a single line and pipes escaped so
/// the row stays one line with a stable cell count.
fn table_row(cells: &[String]) -> String {
    let mut out = String::from("|");
    for cell in cells {
        let flat = cell.split_whitespace().collect::<Vec<_>>().join(" ");
        if !flat.is_empty() {
            out.push(' ');
            out.push_str(&flat.replace('|', "\\|"));
        }
        out.push_str(" |");
    }
    out
}

/// The `| --- | --- |` line that follows a header row.
fn table_separator(columns: usize) -> String {
    let mut out = String::from("|");
    for _ in 0..columns.max(1) {
        out.push_str(" --- |");
    }
    out
}

/// The label line for a panel-like block: the title when there is one,
/// prefixed by the kind (`Warning: Title`) for the typed panels.
fn panel_label(kind: &str, title: &str) -> String {
    let kind = match kind.to_ascii_lowercase().as_str() {
        "info" | "information" => "Info",
        "note" => "Note",
        "warning" | "warn" | "caution" => "Warning",
        "tip" | "hint" => "Tip",
        "success" | "check" => "Success",
        "error" | "danger" => "Error",
        "important" => "Important",
        _ => "",
    };
    let title = title.trim();
    match (kind.is_empty(), title.is_empty()) {
        (true, true) => String::new(),
        (true, false) => title.to_string(),
        (false, true) => format!("{kind}:"),
        (false, false) => format!("{kind}: {title}"),
    }
}

/// Opening or closing code fence: the fence character and its run length.
fn fence_marker(line: &str) -> Option<(char, usize)> {
    let t = line.trim_start();
    let ch = t.chars().next()?;
    if ch != '`' && ch != '~' {
        return None;
    }
    let len = t.chars().take_while(|&c| c == ch).count();
    (len >= 3).then_some((ch, len))
}

/// A closing fence carries no info string.
fn is_bare_fence(line: &str) -> bool {
    let t = line.trim();
    t.chars().all(|c| c == '`') || t.chars().all(|c| c == '~')
}

/// The public sample corpus, kept in the repository with its provenance.
#[cfg(test)]
fn formats() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/formats")
}

/// All files under `formats()/dir`, recursively, sorted.
#[cfg(test)]
fn sample_files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![formats().join(dir)];
    while let Some(path) = stack.pop() {
        match std::fs::read_dir(&path) {
            Ok(entries) => stack.extend(entries.flatten().map(|e| e.path())),
            Err(_) => out.push(path),
        }
    }
    out.sort();
    out
}

#[cfg(test)]
fn read_sample(rel: &str) -> String {
    let path = formats().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Deterministic pseudo-random bytes decoded lossily: "binary garbage as a str".
#[cfg(test)]
fn random_text(len: usize) -> String {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Runs `f` and fails when it takes longer than `secs` (debug builds included).
#[cfg(test)]
fn within<T>(secs: u64, what: &str, f: impl FnOnce() -> T) -> T {
    let start = std::time::Instant::now();
    let out = f();
    let took = start.elapsed();
    eprintln!("{what}: {took:?}");
    assert!(took.as_secs() < secs, "{what} took {took:?}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_corpus_is_found() {
        assert!(formats().join("PROVENANCE.md").exists());
        assert!(sample_files("runbooks").len() > 100);
    }

    #[test]
    fn tidy_collapses_blank_lines_but_not_inside_code() {
        let out = tidy("a  \n\n\n\nb\n```\nx\n\n\ny\n```\n\n\nc\n\n");
        assert_eq!(out, "a\n\nb\n```\nx\n\n\ny\n```\n\nc");
    }

    #[test]
    fn fence_outgrows_embedded_fences() {
        let f = fence("go", "a\n```\nb\n");
        assert!(f.starts_with("````go\n"));
        assert!(f.ends_with("\n````"));
    }

    #[test]
    fn list_item_indents_continuation() {
        assert_eq!(list_item("- ", "a\n- b\n\nc"), "- a\n  - b\n\n  c");
    }

    #[test]
    fn table_row_escapes_pipes() {
        assert_eq!(table_row(&["a|b".into(), " c\nd ".into()]), "| a\\|b | c d |");
    }
}
