//! Jira wiki markup (Server and Cloud REST v2 descriptions and comments) to plain text.

/// Renders Jira wiki markup to the common plain-text convention. `{code}` and
/// `{noformat}` bodies stay verbatim; emphasis markers are removed only where
/// they wrap words, so `db-pay-01` and `2*3*4` survive.
pub fn to_text(src: &str) -> String {
    let src = src.replace("\r\n", "\n").replace('\r', "\n");
    let mut w = Writer::default();
    for segment in segments(&src) {
        match segment {
            Segment::Text(text) => {
                for line in text.split('\n') {
                    w.line_with_macros(line);
                }
            }
            Segment::Code { lang, body } => w.code(&lang, body),
        }
    }
    super::tidy(&w.out)
}

enum Segment<'a> {
    Text(&'a str),
    Code { lang: String, body: &'a str },
}

/// Macros that split lines and shape blocks; the bool marks panel-like ones
/// that get a label line.
const BLOCK_MACROS: &[(&str, bool)] = &[
    ("quote", false),
    ("panel", true),
    ("info", true),
    ("note", true),
    ("warning", true),
    ("tip", true),
    ("expand", true),
    ("section", false),
    ("column", false),
];

/// Longest macro tag, link or image considered; bounding the look-ahead keeps
/// runs of unclosed `{`, `[` or `!` linear.
const MAX_TAG: usize = 512;

/// Macros dropped inside a line, keeping the text around them.
const INLINE_MACROS: &[&str] = &["color", "anchor", "toc", "status"];

/// Splits out `{code…}…{code}` and `{noformat…}…{noformat}` bodies, which must
/// not be interpreted; an unclosed block runs to the end of the text.
fn segments(src: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut offset = 0;
    while let Some(found) = rest[offset..].find('{') {
        let at = offset + found;
        let Some((name, params, open_end)) = code_open(&rest[at..]) else {
            offset = at + 1;
            continue;
        };
        out.push(Segment::Text(&rest[..at]));
        let body_start = at + open_end;
        let closer = format!("{{{name}}}");
        let (body, next) = match rest[body_start..].find(&closer) {
            Some(i) => (&rest[body_start..body_start + i], body_start + i + closer.len()),
            None => (&rest[body_start..], rest.len()),
        };
        let lang = if name == "code" { code_language(params) } else { String::new() };
        let body = body.strip_prefix('\n').unwrap_or(body);
        out.push(Segment::Code { lang, body });
        rest = &rest[next..];
        offset = 0;
    }
    out.push(Segment::Text(rest));
    out
}

/// `{code}`, `{code:java}`, `{noformat:nopanel=true}` at the start of `s`:
/// the macro name, its parameters and the length of the tag.
fn code_open(s: &str) -> Option<(&'static str, &str, usize)> {
    let name = ["code", "noformat"].into_iter().find(|n| s[1..].starts_with(n))?;
    let after = &s[1 + name.len()..];
    if after.starts_with('}') {
        return Some((name, "", name.len() + 2));
    }
    let params = after.strip_prefix(':')?;
    let end = bounded_find(params, '}')?;
    if params[..end].contains('\n') {
        return None;
    }
    Some((name, &params[..end], name.len() + 3 + end))
}

/// `java`, `title=x|borderStyle=solid`, `language=xml|title=y` → the language.
fn code_language(params: &str) -> String {
    for (i, part) in params.split('|').enumerate() {
        let part = part.trim();
        match part.split_once('=') {
            Some((key, value)) if matches!(key.trim(), "language" | "lang") => {
                return value.trim().to_string();
            }
            None if i == 0 => return part.to_string(),
            _ => {}
        }
    }
    String::new()
}

/// Line-oriented output state: quote nesting, open panels, list numbering and
/// whether a table is being written.
#[derive(Default)]
struct Writer {
    out: String,
    quote: bool,
    panels: Vec<&'static str>,
    lists: Vec<(char, u64)>,
    table: bool,
}

impl Writer {
    /// Splits a line at block macros (`{quote}`, `{panel:title=x}`) so each
    /// piece is written as its own line under the state the macros set.
    fn line_with_macros(&mut self, line: &str) {
        let mut rest = line;
        let mut found = false;
        while let Some((start, end, name, params)) = find_block_macro(rest) {
            found = true;
            let before = &rest[..start];
            if !before.trim().is_empty() {
                self.line(before);
            }
            self.block_macro(name, params);
            rest = &rest[end..];
        }
        // A line that was only macro tags must not turn into a paragraph break.
        if !found || !rest.trim().is_empty() {
            self.line(rest);
        }
    }

    fn block_macro(&mut self, name: &'static str, params: &str) {
        self.end_blocks();
        if name == "quote" {
            self.quote = !self.quote;
            return;
        }
        let labelled = BLOCK_MACROS.iter().any(|(n, l)| *n == name && *l);
        if self.panels.last() == Some(&name) && params.is_empty() {
            self.panels.pop();
            self.push("");
            return;
        }
        if matches!(name, "section" | "column") {
            return;
        }
        self.panels.push(name);
        if labelled {
            let title = params
                .split('|')
                .find_map(|p| p.trim().strip_prefix("title="))
                .or_else(|| (name == "expand").then_some(params))
                .unwrap_or("");
            let kind = if matches!(name, "panel" | "expand") { "" } else { name };
            let label = super::panel_label(kind, &inline(title));
            if !label.is_empty() {
                self.push("");
                self.push(&label);
            }
        }
    }

    fn line(&mut self, raw: &str) {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            self.end_blocks();
            self.push("");
            return;
        }
        if let Some((level, title)) = heading(trimmed) {
            self.end_blocks();
            self.push("");
            self.push(&format!("{} {}", "#".repeat(level), inline(title).trim()));
            self.push("");
            return;
        }
        if let Some(text) = trimmed.strip_prefix("bq.") {
            self.end_blocks();
            let saved = self.quote;
            self.quote = true;
            self.push(inline(text).trim());
            self.quote = saved;
            return;
        }
        if trimmed.len() >= 4 && trimmed.chars().all(|c| c == '-') {
            self.end_blocks();
            self.push("---");
            return;
        }
        if let Some((markers, text)) = list_item(trimmed) {
            self.table = false;
            self.list_line(markers, text);
            return;
        }
        if trimmed.starts_with('|') {
            self.lists.clear();
            self.table_row(trimmed);
            return;
        }
        self.end_blocks();
        self.push(inline(raw).trim());
    }

    fn list_line(&mut self, markers: &str, text: &str) {
        let kinds: Vec<char> = markers.chars().collect();
        let level = kinds.len();
        self.lists.truncate(level);
        while self.lists.len() < level {
            let kind = kinds.get(self.lists.len()).copied().unwrap_or('*');
            self.lists.push((kind, 0));
        }
        let kind = kinds.last().copied().unwrap_or('*');
        let number = match self.lists.last_mut() {
            Some(entry) => {
                if entry.0 != kind {
                    *entry = (kind, 0);
                }
                entry.1 = entry.1.saturating_add(1);
                entry.1
            }
            None => 1,
        };
        let indent = "  ".repeat((level - 1).min(super::MAX_DEPTH));
        let marker = if kind == '#' { format!("{number}. ") } else { "- ".to_string() };
        let body = inline(text);
        self.push(&format!("{indent}{}", super::list_item(&marker, body.trim())));
    }

    fn table_row(&mut self, line: &str) {
        let cells = split_cells(line);
        let texts: Vec<String> = cells.iter().map(|(_, c)| inline(c)).collect();
        self.push(&super::table_row(&texts));
        if !self.table && !cells.is_empty() && cells.iter().all(|(h, _)| *h) {
            self.push(&super::table_separator(texts.len()));
        }
        self.table = true;
    }

    fn code(&mut self, lang: &str, body: &str) {
        self.end_blocks();
        self.push("");
        for line in super::fence(lang, body).split('\n') {
            self.push(line);
        }
        self.push("");
    }

    fn end_blocks(&mut self) {
        self.lists.clear();
        self.table = false;
    }

    fn push(&mut self, line: &str) {
        if self.quote {
            self.out.push_str(if line.is_empty() { ">" } else { "> " });
        }
        self.out.push_str(line);
        self.out.push('\n');
    }
}

/// Byte index of `needle` within the first [`MAX_TAG`] bytes of `s`.
fn bounded_find(s: &str, needle: char) -> Option<usize> {
    s.char_indices().take_while(|(i, _)| *i <= MAX_TAG).find(|(_, c)| *c == needle).map(|(i, _)| i)
}

/// The first block macro tag in `line`: byte range, name and parameters.
fn find_block_macro(line: &str) -> Option<(usize, usize, &'static str, &str)> {
    let mut offset = 0;
    while let Some(found) = line[offset..].find('{') {
        let start = offset + found;
        let tag = &line[start + 1..];
        for (name, _) in BLOCK_MACROS {
            let Some(after) = tag.strip_prefix(name) else {
                continue;
            };
            if let Some(end) = bounded_find(after, '}').filter(|&e| e == 0 || after.starts_with(':')) {
                let params = after[..end].strip_prefix(':').unwrap_or("");
                return Some((start, start + 1 + name.len() + end + 1, name, params));
            }
        }
        offset = start + 1;
    }
    None
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let b = line.as_bytes();
    if b.len() >= 3 && b[0] == b'h' && (b'1'..=b'6').contains(&b[1]) && b[2] == b'.' {
        let rest = &line[3..];
        if rest.is_empty() || rest.starts_with(char::is_whitespace) {
            return Some(((b[1] - b'0') as usize, rest));
        }
    }
    None
}

/// `* item`, `## item`, `*# item`, `- item`: the marker run and the item text.
fn list_item(line: &str) -> Option<(&str, &str)> {
    let end = line.find(|c: char| !matches!(c, '*' | '#' | '-')).unwrap_or(line.len());
    let markers = &line[..end];
    let rest = &line[end..];
    let valid = !markers.is_empty()
        && (markers == "-" || !markers.contains('-'))
        && rest.starts_with([' ', '\t'])
        && !rest.trim().is_empty();
    valid.then(|| (markers, rest.trim_start()))
}

/// Splits `||h||h||` / `|c|c|` rows at pipes outside links, macros and images;
/// each cell carries whether it was a header cell.
fn split_cells(line: &str) -> Vec<(bool, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut cells: Vec<(bool, String)> = Vec::new();
    let mut current: Option<(bool, String)> = None;
    let (mut square, mut curly) = (0usize, 0usize);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '|' && square == 0 && curly == 0 {
            cells.extend(current.take());
            let header = chars.get(i + 1) == Some(&'|');
            i += if header { 2 } else { 1 };
            current = Some((header, String::new()));
            continue;
        }
        let cell = &mut current.get_or_insert_with(|| (false, String::new())).1;
        if c == '\\' && i + 1 < chars.len() {
            cell.push(c);
            cell.push(chars[i + 1]);
            i += 2;
            continue;
        }
        // An image's `|` options (`!a.png|thumbnail!`) do not split the cell.
        if c == '!' && chars.get(i + 1).is_some_and(|n| !n.is_whitespace()) {
            let close = chars[i + 1..].iter().position(|&x| x == '!').map(|p| i + 1 + p);
            if let Some(close) = close {
                let inner: String = chars[i + 1..close].iter().collect();
                if image_name(&inner).is_some() {
                    cell.extend(&chars[i..=close]);
                    i = close + 1;
                    continue;
                }
            }
        }
        match c {
            '[' => square += 1,
            ']' => square = square.saturating_sub(1),
            '{' => curly += 1,
            '}' => curly = curly.saturating_sub(1),
            _ => {}
        }
        cell.push(c);
        i += 1;
    }
    if let Some(last) = current.filter(|(_, t)| !t.trim().is_empty()) {
        cells.push(last);
    }
    cells
}

/// Inline markup to text: escapes, `\\` breaks, `{{mono}}`, links, images and
/// inline macros first (their output is protected), then emphasis markers
/// that wrap words.
fn inline(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let next_close = Next::new(&chars, |i| chars[i] == ']');
    let next_bang = Next::new(&chars, |i| chars[i] == '!');
    let next_brace = Next::new(&chars, |i| chars[i] == '}');
    let next_mono_end = Next::new(&chars, |i| chars[i] == '}' && chars.get(i + 1) == Some(&'}'));
    let mut out: Vec<(char, bool)> = Vec::with_capacity(chars.len());
    let protect = |out: &mut Vec<(char, bool)>, s: &str| out.extend(s.chars().map(|c| (c, true)));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\\' if next == Some('\\') => {
                out.push(('\n', true));
                i += 2;
                continue;
            }
            '\\' if next.is_some_and(|n| !n.is_alphanumeric()) => {
                out.push((next.unwrap_or(' '), true));
                i += 2;
                continue;
            }
            '{' if next == Some('{') => {
                if let Some(end) = next_mono_end.at(i + 2) {
                    protect(&mut out, &chars[i + 2..end].iter().collect::<String>());
                    i = end + 2;
                    continue;
                }
            }
            '{' => {
                if let Some(end) = next_brace.at(i).filter(|&e| e - i <= MAX_TAG && is_inline_macro(&chars[i + 1..e])) {
                    i = end + 1;
                    continue;
                }
            }
            '[' => {
                if let Some(end) = next_close.at(i).filter(|&e| e - i <= MAX_TAG)
                    && let Some(link) = link_text(&chars[i + 1..end].iter().collect::<String>())
                {
                    protect(&mut out, &link);
                    i = end + 1;
                    continue;
                }
            }
            '!' if next.is_some_and(|n| !n.is_whitespace()) => {
                if let Some(end) = next_bang.at(i + 1).filter(|&e| e - i <= MAX_TAG) {
                    let inner: String = chars[i + 1..end].iter().collect();
                    if let Some(name) = image_name(&inner) {
                        protect(&mut out, &format!("[image: {name}]"));
                        i = end + 1;
                        continue;
                    }
                }
            }
            _ => {}
        }
        out.push((c, false));
        i += 1;
    }
    remove_emphasis(&out)
}

/// For each position, the index of the next position matching a predicate,
/// precomputed so that every lookup is O(1) however hostile the line is.
/// Stored as `u32` to keep multi-megabyte lines cheap; `u32::MAX` means none.
struct Next(Vec<u32>);

impl Next {
    fn new(chars: &[char], pred: impl Fn(usize) -> bool) -> Next {
        let mut next = vec![u32::MAX; chars.len() + 1];
        for i in (0..chars.len()).rev() {
            next[i] = if pred(i) { u32::try_from(i).unwrap_or(u32::MAX) } else { next[i + 1] };
        }
        Next(next)
    }

    fn at(&self, i: usize) -> Option<usize> {
        self.0.get(i).filter(|&&n| n != u32::MAX).map(|&n| n as usize)
    }
}

fn is_inline_macro(inner: &[char]) -> bool {
    let inner: String = inner.iter().collect();
    let name = inner.split(':').next().unwrap_or("");
    INLINE_MACROS.contains(&name) && !inner.contains('\n')
}

/// `[text|url]` → text, `[url]` → url, `[~user]` / `[~accountid:x]` → `@user`,
/// `[^file]` → file, `[#anchor]` → anchor. Bracketed text that is not a link
/// (`[INFO]`, `[x]`) is left alone.
fn link_text(inner: &str) -> Option<String> {
    let (text, target) = match inner.split_once('|') {
        Some((t, rest)) => (t.trim(), rest.split('|').next().unwrap_or("").trim()),
        None => ("", inner.trim()),
    };
    if let Some(user) = target.strip_prefix('~') {
        let user = user.strip_prefix("accountid:").unwrap_or(user).trim();
        return Some(if text.is_empty() { format!("@{user}") } else { text.to_string() });
    }
    let is_target = target.contains("://")
        || target.starts_with("mailto:")
        || target.starts_with("file:")
        || target.starts_with(['^', '#']);
    let labelled = inner.contains('|') && !target.is_empty();
    if !is_target && !labelled {
        return None;
    }
    if !text.is_empty() {
        return Some(text.to_string());
    }
    Some(target.trim_start_matches(['^', '#']).to_string())
}

/// `image.png`, `image.png|thumbnail`, `http://x/y.gif` → the file or URL.
fn image_name(inner: &str) -> Option<String> {
    let name = inner.split('|').next().unwrap_or("");
    let plausible = !name.is_empty()
        && name.len() <= 512
        && name.trim() == name
        && (name.contains('.') || name.contains("://"))
        && !name.contains('\n');
    plausible.then(|| name.to_string())
}

/// Removes `*` `_` `-` `+` `^` `~` and `??` pairs that wrap words: the opener
/// follows a non-alphanumeric and precedes a non-space; the closer follows a
/// non-space and precedes a non-alphanumeric. Closers are looked up by binary
/// search, keeping long lines linear-logarithmic.
fn remove_emphasis(chars: &[(char, bool)]) -> String {
    let mut removed = vec![false; chars.len()];
    let plain = |i: usize| chars.get(i).filter(|(_, p)| !p).map(|(c, _)| *c);
    let at = |i: Option<usize>| i.and_then(|i| chars.get(i)).map(|(c, _)| *c);
    // Only marker characters can open or close; visiting just those keeps
    // long marker-free lines cheap.
    let candidates: Vec<usize> =
        (0..chars.len()).filter(|&i| matches!(plain(i), Some('*' | '_' | '-' | '+' | '^' | '~' | '?'))).collect();
    for marker in ["*", "_", "-", "+", "^", "~", "??"] {
        let m: Vec<char> = marker.chars().collect();
        let w = m.len();
        let is_marker = |i: usize| (0..w).all(|k| plain(i + k) == Some(m[k]));
        let before = |i: usize| at(i.checked_sub(1));
        let after = |i: usize| at(Some(i + w));
        let opener = |i: usize| {
            is_marker(i)
                && before(i).is_none_or(|c| !c.is_alphanumeric() && c != m[0])
                && after(i).is_some_and(|c| !c.is_whitespace() && c != m[0])
        };
        let closer = |i: usize| {
            is_marker(i)
                && before(i).is_some_and(|c| !c.is_whitespace() && c != m[0])
                && after(i).is_none_or(|c| !c.is_alphanumeric() && c != m[0])
        };
        let mine: Vec<usize> = candidates.iter().copied().filter(|&i| plain(i) == Some(m[0])).collect();
        let closers: Vec<usize> = mine.iter().copied().filter(|&i| !removed[i] && closer(i)).collect();
        for &i in &mine {
            if removed[i] || !opener(i) {
                continue;
            }
            let k = closers.partition_point(|&j| j < i + w + 1);
            if let Some(&j) = closers.get(k)
                && !removed[j]
                && !removed[j + w - 1]
            {
                for x in 0..w {
                    removed[i + x] = true;
                    removed[j + x] = true;
                }
            }
        }
    }
    chars.iter().zip(removed).filter(|(_, r)| !r).map(|((c, _), _)| *c).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{random_text, read_sample, sample_files, within};
    use super::*;
    use serde_json::Value;

    /// Every string under a `description`, `body` or `environment` key.
    fn bodies(v: &Value, key: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => map.iter().for_each(|(k, c)| bodies(c, k, out)),
            Value::Array(items) => items.iter().for_each(|c| bodies(c, key, out)),
            Value::String(s) if matches!(key, "description" | "body" | "environment") => out.push(s.clone()),
            _ => {}
        }
    }

    #[test]
    fn real_jira_bodies_convert() {
        let mut found = Vec::new();
        for dir in ["jira/server-v2", "jira/cloud-v2", "jira/webhooks"] {
            for path in sample_files(dir) {
                let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                bodies(&v, "", &mut found);
            }
        }
        assert!(found.len() > 100, "{}", found.len());
        for body in &found {
            let text = to_text(body);
            assert_eq!(text.trim().is_empty(), body.trim().is_empty(), "{body:?} -> {text:?}");
        }
        let has = |s: &str| found.iter().any(|b| b == s);
        assert!(has("* fd\n* fdsfds") && has("Comment for *avatar1*!"));
        assert_eq!(to_text("* fd\n* fdsfds"), "- fd\n- fdsfds");
        assert_eq!(to_text("Comment for *avatar1*!"), "Comment for avatar1!");
        assert_eq!(to_text("descxyvccfgf f+xbsdz 511f+"), "descxyvccfgf f+xbsdz 511f+");
    }

    #[test]
    fn webhook_comments_with_mentions_and_crlf() {
        let v: Value = serde_json::from_str(&read_sample(
            "jira/webhooks/mattermost_webhook-issue-comment-created-indentation.json",
        ))
        .unwrap();
        let body = v["comment"]["body"].as_str().unwrap();
        assert!(body.contains("\r\n"));
        assert_eq!(to_text(body), "@Test creating a test comment\n\na second line for the test comment");
        let v: Value = serde_json::from_str(&read_sample(
            "jira/webhooks/mattermost_webhook-server-issue-updated-commented-1.json",
        ))
        .unwrap();
        let mut found = Vec::new();
        bodies(&v, "", &mut found);
        let quick = found.iter().find(|b| b.starts_with("*Creating Quick Filters*")).unwrap();
        assert_eq!(
            to_text(quick),
            "Creating Quick Filters\n\nYou can add your own Quick Filters in the board configuration (select Board > Configure)"
        );
    }

    #[test]
    fn headings_emphasis_and_links() {
        let src = "h1. Incident on db-pay-01\nh3.Not a heading\n\
                   The *primary* _db-pay-01_ failed at 2*3*4; see [runbook|https://wiki/x], [https://example.com], \
                   [~jsmith], [~accountid:5b10a2844c20165700ede21g], [^dump.txt] and [INFO] [x].\n\
                   {color:red}Red{color} {{mono *x* -y-}} -strike- +under+ ??cite?? ^sup^ ~sub~ a - b C++ --force\n\
                   Escaped \\*not bold\\* and line\\\\break !shot.png|thumbnail! !http://x/y.gif! Wow! Great.";
        let text = to_text(src);
        assert!(text.starts_with("# Incident on db-pay-01\n\nh3.Not a heading\n"), "{text}");
        assert!(text.contains("The primary db-pay-01 failed at 2*3*4; see runbook, https://example.com, @jsmith, @5b10a2844c20165700ede21g, dump.txt and [INFO] [x]."));
        assert!(text.contains("Red mono *x* -y- strike under cite sup sub a - b C++ --force"));
        assert!(
            text.contains("Escaped *not bold* and line\nbreak [image: shot.png] [image: http://x/y.gif] Wow! Great.")
        );
    }

    #[test]
    fn lists_tables_and_rules() {
        let src = "* one\n** two\n*# two-one\n*# two-two\n* three\n# first\n# second\n- dash\n\n\
                   ||Time||Event||\n|10:00|[link|http://x]|\n|10:05|!a.png|width=3! done \\| piped|\n----\nend";
        let text = to_text(src);
        assert!(
            text.contains("- one\n  - two\n  1. two-one\n  2. two-two\n- three\n1. first\n2. second\n- dash"),
            "{text}"
        );
        assert!(
            text.contains(
                "| Time | Event |\n| --- | --- |\n| 10:00 | link |\n| 10:05 | [image: a.png] done \\| piped |"
            )
        );
        assert!(text.contains("\n---\nend"));
    }

    #[test]
    fn code_quote_and_panels() {
        let src = "before {code}inline(){code} after\n\
                   {code:title=Foo.java|borderStyle=solid}\nint a = b * c * d;\n *bold* -x-\n{code}\n\
                   {code:java}class A {}{code}\n{noformat}\nraw *text*\n{noformat}\n\
                   {quote}\nquoted *line*\nsecond\n{quote}\nbq. one-liner\n\
                   {panel:title=My Panel|borderStyle=dashed}\npanel body\n{panel}\n{warning}careful{warning}\n\
                   {code:xml}\n<never closed/>";
        let text = to_text(src);
        assert!(text.starts_with("before\n\n```\ninline()\n```\n\nafter"), "{text}");
        assert!(text.contains("```\nint a = b * c * d;\n *bold* -x-\n```"));
        assert!(text.contains("```java\nclass A {}\n```"));
        assert!(text.contains("```\nraw *text*\n```"));
        assert!(text.contains("> quoted line\n> second"));
        assert!(text.contains("> one-liner"));
        assert!(text.contains("My Panel\npanel body"));
        assert!(text.contains("Warning:\ncareful"));
        assert!(text.ends_with("```xml\n<never closed/>\n```"));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep: String = (1..=10_000).map(|i| format!("{} item {i}\n", "*".repeat(i))).collect();
        let text = within(30, "deep wiki list", || to_text(&deep));
        assert!(text.contains("item 10000"));
        within(20, "random wiki", || to_text(&random_text(1 << 20)));
        let unbalanced = "{quote}{panel:title=x}{code}[[[[!!!!{{{{*_-+^~??".repeat(10_000);
        within(20, "unbalanced wiki", || to_text(&unbalanced));
        for open in ["[", "{", "!x", "{code:", "{panel:", "{{", "|!a", "|[", "||{"] {
            let line = format!("{}{}", open.repeat(200_000), "]}!");
            within(20, open, || to_text(&line));
        }
        let markers = "*a _b -c +d ^e ~f ??g [h !i {j |k ".repeat(150_000);
        let text = within(30, "5 MB wiki", || to_text(&markers));
        assert!(text.len() > 4_000_000);
        let long_line = "x".repeat(5 << 20);
        within(20, "5 MB line", || to_text(&long_line));
    }
}
