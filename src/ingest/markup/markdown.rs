//! Markdown documents (runbooks, postmortems): front matter, Hugo shortcodes, sections, plain text and alert entries.

use pulldown_cmark::{BlockQuoteKind, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value};

/// Parsed front matter, as a JSON object whatever the source syntax was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter(pub Map<String, Value>);

impl FrontMatter {
    /// The value of `key` when it is a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// `key` as a list of strings: a list, a comma-separated string or a single
    /// string; scalars inside a list are stringified, empty items dropped.
    pub fn strings(&self, key: &str) -> Vec<String> {
        let split = |s: &str| -> Vec<String> {
            s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect()
        };
        match self.0.get(key) {
            Some(Value::String(s)) => split(s),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                })
                .filter(|s| !s.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The raw value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// Why a front matter block could not be read; lines are 1-based within the file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrontMatterError {
    #[error("yaml front matter, line {line}: {message}")]
    Yaml { line: usize, message: String },
    #[error("toml front matter, line {line}: {message}")]
    Toml { line: usize, message: String },
    #[error("front matter opened with `{delimiter}` is never closed")]
    Unterminated { delimiter: &'static str },
}

/// Splits a leading YAML (`---`) or TOML (`+++`) front matter block from the
/// body. Only recognised at the very start (after an optional BOM and blank
/// lines); YAML dates stay strings.
pub fn split_front_matter(src: &str) -> Result<(Option<FrontMatter>, &str), FrontMatterError> {
    let s = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut pos = 0;
    let mut line_no = 1;
    let (delimiter, yaml) = loop {
        let end = s[pos..].find('\n').map_or(s.len(), |i| pos + i + 1);
        let line = s[pos..end].trim_end();
        if line.is_empty() && end < s.len() {
            pos = end;
            line_no += 1;
            continue;
        }
        match line {
            "---" => break ("---", true),
            "+++" => break ("+++", false),
            _ => return Ok((None, src)),
        }
    };
    let content_start = s[pos..].find('\n').map_or(s.len(), |i| pos + i + 1);
    let first_content_line = line_no + 1;
    let mut cursor = content_start;
    let (content_end, body_start) = loop {
        if cursor >= s.len() {
            return Err(FrontMatterError::Unterminated { delimiter });
        }
        let end = s[cursor..].find('\n').map_or(s.len(), |i| cursor + i + 1);
        let line = s[cursor..end].trim_end();
        if line == delimiter || (yaml && line == "...") {
            break (cursor, end);
        }
        cursor = end;
    };
    let content = &s[content_start..content_end];
    let map = if yaml { parse_yaml(content, first_content_line)? } else { parse_toml(content, first_content_line)? };
    Ok((Some(FrontMatter(map)), &s[body_start..]))
}

/// Removes Hugo shortcodes and HTML comments. `ref`/`relref` become the path
/// they reference, paired shortcodes keep their inner text (admonition-like ones
/// gain a label line), every other shortcode disappears. Go templates (`{{ x }}`)
/// are left alone, and comments inside fenced code are kept.
pub fn strip_shortcodes(src: &str) -> String {
    strip_comments(&replace_shortcodes(src))
}

/// A heading and the text under it up to the next heading of any level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    /// 1-6, or 0 for text before the first heading.
    pub level: u8,
    pub heading: String,
    /// The section's own text without the heading line, trimmed of blank lines.
    pub text: String,
}

/// Splits on ATX and setext headings outside code, quotes and lists. A
/// leading front matter block is skipped (it is not a setext heading), but
/// not parsed: use [`split_front_matter`] for its values.
pub fn sections(text: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut current: Option<(u8, String, usize)> = None;
    let mut heading: Option<(u8, String, usize)> = None;
    let mut first_start = text.len();
    let mut body_start = 0;
    for (event, range) in Parser::new_ext(text, options()).into_offset_iter() {
        match event {
            Event::End(TagEnd::MetadataBlock(_)) => body_start = range.end,
            Event::Start(Tag::Heading { level, .. }) if depth == 0 => {
                first_start = first_start.min(range.start);
                if let Some((lvl, h, start)) = current.take() {
                    out.push(section(lvl, h, &text[start..range.start.max(start)]));
                }
                heading = Some((level_u8(level), String::new(), range.end));
            }
            Event::End(TagEnd::Heading(_)) if heading.is_some() => current = heading.take(),
            Event::Text(t) | Event::Code(t) if heading.is_some() => {
                if let Some((_, h, _)) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak if heading.is_some() => {
                if let Some((_, h, _)) = heading.as_mut() {
                    h.push(' ');
                }
            }
            Event::Start(Tag::BlockQuote(_) | Tag::List(_) | Tag::FootnoteDefinition(_)) => depth += 1,
            Event::End(TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::FootnoteDefinition) => {
                depth = depth.saturating_sub(1)
            }
            _ => {}
        }
    }
    if let Some((lvl, h, start)) = current.or(heading) {
        out.push(section(lvl, h, &text[start.min(text.len())..]));
    }
    let preamble = text.get(body_start..first_start).unwrap_or("");
    if !preamble.trim().is_empty() {
        out.insert(0, section(0, String::new(), preamble));
    }
    out
}

/// The level and text of the first heading, if any.
pub fn first_heading(text: &str) -> Option<(u8, String)> {
    sections(text).into_iter().find(|s| s.level > 0).map(|s| (s.level, s.heading))
}

/// Markdown to the common plain-text convention: emphasis markers and link
/// syntax removed, images become their alt text, HTML tags dropped (their text
/// kept), headings, lists, tables, quotes and code fences kept. A leading
/// front matter block is dropped.
pub fn to_plain(markdown: &str) -> String {
    let mut plain = Plain::default();
    for event in Parser::new_ext(markdown, options()) {
        plain.event(event);
    }
    plain.flush();
    super::tidy(&plain.out)
}

/// One entry of a kubernetes-mixin style runbook (`##### Alert Name: "X"`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertEntry {
    pub group: Option<String>,
    pub alert: String,
    pub text: String,
}

/// Alert entries of a kubernetes-mixin style runbook: `Group Name:` headings
/// then `Alert Name:` headings; each entry runs to the next heading of the same
/// or a higher level. Empty when the document has none.
pub fn alert_entries(text: &str) -> Vec<AlertEntry> {
    let mut out: Vec<AlertEntry> = Vec::new();
    let mut group: Option<(u8, String)> = None;
    let mut open: Option<(u8, AlertEntry)> = None;
    let mut fence: Option<(char, usize)> = None;
    for line in text.lines() {
        let marker = super::fence_marker(line);
        if let Some((ch, len)) = fence {
            if matches!(marker, Some((c, l)) if c == ch && l >= len) && super::is_bare_fence(line) {
                fence = None;
            }
        } else if marker.is_some() {
            fence = marker;
        } else if let Some((level, title)) = atx_heading(line) {
            if open.as_ref().is_some_and(|(l, _)| level <= *l) {
                out.extend(open.take().map(finish_entry));
            }
            if let Some(name) = labelled(&title, "group name:") {
                group = Some((level, name));
                continue;
            }
            if group.as_ref().is_some_and(|(l, _)| level <= *l) {
                group = None;
            }
            if let Some(name) = labelled(&title, "alert name:") {
                out.extend(open.take().map(finish_entry));
                let group = group.as_ref().map(|(_, g)| g.clone());
                let entry = AlertEntry { group, alert: name, text: String::new() };
                open = Some((level, entry));
                continue;
            }
        }
        if let Some((_, entry)) = open.as_mut() {
            entry.text.push_str(line);
            entry.text.push('\n');
        }
    }
    out.extend(open.map(finish_entry));
    out
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS
}

fn level_u8(level: HeadingLevel) -> u8 {
    level as u8
}

fn section(level: u8, heading: String, body: &str) -> Section {
    let text = body.trim_start_matches(['\n', '\r']).trim_end().to_string();
    Section { level, heading: heading.trim().to_string(), text }
}

fn parse_yaml(content: &str, first_line: usize) -> Result<Map<String, Value>, FrontMatterError> {
    if let Some(line) = too_deep_flow(content) {
        return Err(FrontMatterError::Yaml {
            line: first_line + line,
            message: format!("flow collections nest deeper than {} levels", super::MAX_DEPTH),
        });
    }
    let value = crate::ingest::yaml::document(content)
        .map_err(|e| FrontMatterError::Yaml { line: first_line + e.line.saturating_sub(1), message: e.message })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(FrontMatterError::Yaml { line: first_line, message: "front matter is not a mapping".to_string() }),
    }
}

/// The 0-based line where `[`/`{` nesting exceeds the depth cap, so that
/// the error names the line before any parser sees the text (the YAML
/// reader's own budget refuses it too). Quoted scalars and comments are
/// skipped.
fn too_deep_flow(content: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (line_no, line) in content.lines().enumerate() {
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > super::MAX_DEPTH {
                        return Some(line_no);
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    None
}

fn parse_toml(content: &str, first_line: usize) -> Result<Map<String, Value>, FrontMatterError> {
    let table: toml::Table = toml::from_str(content).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start.min(content.len()));
        let line = content[..offset].matches('\n').count();
        FrontMatterError::Toml { line: first_line + line, message: e.message().to_string() }
    })?;
    match toml_to_json(toml::Value::Table(table), 0) {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn toml_to_json(value: toml::Value, depth: usize) -> Value {
    if depth > super::MAX_DEPTH {
        return Value::Null;
    }
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => items.into_iter().map(|v| toml_to_json(v, depth + 1)).collect(),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v, depth + 1))).collect()),
    }
}

/// One pass over `{{< … >}}` / `{{% … %}}`; unterminated openers are left as
/// text. Once a closer is known to be absent from the rest of the input it is
/// not searched again, which keeps hostile input linear.
fn replace_shortcodes(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    let mut exhausted = [false, false];
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let (close, kind) = match after.chars().next() {
            Some('<') => (">}}", 0),
            Some('%') => ("%}}", 1),
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = after;
                continue;
            }
        };
        let end = if exhausted[kind] { None } else { after[1..].find(close) };
        let Some(end) = end else {
            exhausted[kind] = true;
            out.push_str(&rest[..start + 2]);
            rest = after;
            continue;
        };
        out.push_str(&rest[..start]);
        let inner = after[1..1 + end].trim();
        if let Some(escaped) = inner.strip_prefix("/*").and_then(|i| i.strip_suffix("*/")) {
            // Hugo's escape syntax shows the shortcode itself.
            let open = &after[..1];
            out.push_str(&format!("{{{{{open} {} {}}}}}", escaped.trim(), &close[..1]));
        } else {
            out.push_str(&shortcode_replacement(inner));
        }
        rest = &after[1 + end + close.len()..];
    }
    out.push_str(rest);
    out
}

fn shortcode_replacement(inner: &str) -> String {
    let inner = inner.trim_end_matches('/').trim();
    let mut words = inner.split_whitespace();
    let first = words.next().unwrap_or("");
    let args = &inner[first.len()..];
    match first.to_ascii_lowercase().as_str() {
        "ref" | "relref" => first_argument(args),
        "notice" | "alert" | "admonition" | "hint" | "callout" => {
            let kind = words.next().unwrap_or("note").trim_matches(['"', '\'']);
            let label = super::panel_label(kind, "");
            let label = if label.is_empty() { super::panel_label("note", "") } else { label };
            format!("\n{label}\n")
        }
        _ => String::new(),
    }
}

/// The first quoted (or bare) argument of a shortcode, e.g. the path of `ref`.
fn first_argument(args: &str) -> String {
    let args = args.trim();
    let args = args.strip_prefix("path=").unwrap_or(args);
    for quote in ['"', '\'', '`'] {
        if let Some(rest) = args.strip_prefix(quote) {
            return rest.split(quote).next().unwrap_or("").to_string();
        }
    }
    args.split_whitespace().next().unwrap_or("").to_string()
}

/// Drops `<!-- … -->` outside fenced code; an unterminated comment is kept.
fn strip_comments(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut fence: Option<(char, usize)> = None;
    let mut in_comment = false;
    for line in src.split_inclusive('\n') {
        if !in_comment {
            let marker = super::fence_marker(line);
            if let Some((ch, len)) = fence {
                if matches!(marker, Some((c, l)) if c == ch && l >= len) && super::is_bare_fence(line) {
                    fence = None;
                }
                out.push_str(line);
                continue;
            }
            if marker.is_some() {
                fence = marker;
                out.push_str(line);
                continue;
            }
        }
        let mut rest = line;
        loop {
            if in_comment {
                match rest.find("-->") {
                    Some(i) => {
                        rest = &rest[i + 3..];
                        in_comment = false;
                    }
                    None => break,
                }
            } else {
                match rest.find("<!--") {
                    Some(i) => {
                        out.push_str(&rest[..i]);
                        rest = &rest[i + 4..];
                        in_comment = true;
                    }
                    None => {
                        out.push_str(rest);
                        break;
                    }
                }
            }
        }
        if in_comment && line.ends_with('\n') && !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// An ATX heading line: level and text without closing hashes.
fn atx_heading(line: &str) -> Option<(u8, String)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let t = &line[indent..];
    let level = t.chars().take_while(|&c| c == '#').count();
    if indent > 3 || level == 0 || level > 6 {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim_end();
    Some((level as u8, title.to_string()))
}

/// `Label: "Name" trailing` → `Name`, case-insensitive on the label.
fn labelled(title: &str, label: &str) -> Option<String> {
    let lower = title.to_ascii_lowercase();
    let at = lower.find(label)?;
    if !lower[..at].trim_matches(['*', '_', ' ']).is_empty() {
        return None;
    }
    let rest = title[at + label.len()..].trim().trim_start_matches(['*', '_']).trim();
    let name = if let Some(quoted) = rest.strip_prefix(['"', '\'', '`']) {
        quoted.split(['"', '\'', '`']).next().unwrap_or("")
    } else {
        rest.split_whitespace().next().unwrap_or("")
    };
    let name = name.trim_matches(['*', '_']).trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn finish_entry((_, mut entry): (u8, AlertEntry)) -> AlertEntry {
    entry.text = entry.text.trim().to_string();
    entry
}

/// A container frame of the plain renderer: the continuation prefix of its lines
/// and the marker its first line still owes (list items).
struct Frame {
    cont: &'static str,
    marker: Option<String>,
}

/// Event-driven renderer for [`to_plain`]; leaf text collects in `inline` and is
/// written line by line under the prefixes of the open containers.
#[derive(Default)]
struct Plain {
    out: String,
    frames: Vec<Frame>,
    inline: String,
    heading: Option<u8>,
    code: Option<(String, String)>,
    html: Option<String>,
    metadata: bool,
    lists: Vec<Option<u64>>,
    row: Option<Vec<String>>,
    cell: Option<String>,
    links: Vec<(usize, String)>,
}

impl Plain {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(_) if self.metadata => {}
            Event::Text(t) => match (&mut self.code, &mut self.html) {
                (Some((_, body)), _) => body.push_str(&t),
                (_, Some(html)) => html.push_str(&t),
                _ => self.buf().push_str(&t),
            },
            Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => self.buf().push_str(&t),
            Event::Html(t) => self.html.get_or_insert_with(String::new).push_str(&t),
            Event::InlineHtml(t) => {
                let tag = t.trim_start_matches('<').trim_start_matches('/').to_ascii_lowercase();
                if tag.starts_with("br") {
                    let sep = if self.cell.is_some() { " " } else { "\n" };
                    self.buf().push_str(sep);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                let sep = if self.cell.is_some() { " " } else { "\n" };
                self.buf().push_str(sep);
            }
            Event::Rule => {
                self.flush();
                self.line("---");
                self.blank();
            }
            Event::TaskListMarker(done) => self.buf().push_str(if done { "[x] " } else { "[ ] " }),
            Event::FootnoteReference(_) => {}
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph | Tag::FootnoteDefinition(_) | Tag::HtmlBlock => self.flush(),
            Tag::Heading { level, .. } => {
                self.flush();
                self.blank();
                self.heading = Some(level_u8(level));
            }
            Tag::BlockQuote(kind) => {
                self.flush();
                self.frames.push(Frame { cont: "> ", marker: None });
                if let Some(kind) = kind {
                    let label = super::panel_label(quote_kind(kind), "");
                    self.line(&label);
                }
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => info.split_whitespace().next().unwrap_or("").to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                self.code = Some((lang, String::new()));
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        *n = n.saturating_add(1);
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                self.frames.push(Frame { cont: "  ", marker: Some(marker) });
            }
            Tag::Table(_) => self.flush(),
            Tag::MetadataBlock(_) => self.metadata = true,
            Tag::TableHead | Tag::TableRow => self.row = Some(Vec::new()),
            Tag::TableCell => self.cell = Some(String::new()),
            Tag::Link { dest_url, .. } => {
                let len = self.buf().len();
                self.links.push((len, dest_url.to_string()));
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph | TagEnd::FootnoteDefinition => {
                self.flush();
                self.blank();
            }
            TagEnd::Heading(_) => {
                let level = self.heading.take().unwrap_or(1) as usize;
                let text = std::mem::take(&mut self.inline);
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                self.line(&format!("{} {text}", "#".repeat(level)));
                self.blank();
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                // The quote's last paragraph left a bare `>` separator line.
                while self.out.ends_with(">\n")
                    && self.out.lines().last().is_some_and(|l| l.trim_start_matches([' ', '>']).is_empty())
                {
                    let cut = self.out[..self.out.len() - 1].rfind('\n').map_or(0, |i| i + 1);
                    self.out.truncate(cut);
                }
                self.frames.pop();
                self.blank();
            }
            TagEnd::CodeBlock => {
                if let Some((lang, body)) = self.code.take() {
                    for line in super::fence(&lang, &body).lines() {
                        self.line(line);
                    }
                }
                self.blank();
            }
            TagEnd::HtmlBlock => {
                if let Some(html) = self.html.take() {
                    self.inline.push_str(&strip_tags(&html));
                }
                self.flush();
                self.blank();
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                self.blank();
            }
            TagEnd::Item => {
                self.flush();
                let shallow = self.frames.len() <= super::MAX_DEPTH;
                if let Some(Frame { marker: Some(m), .. }) = self.frames.last().filter(|_| shallow) {
                    let m = m.trim_end().to_string();
                    self.line(&m);
                }
                self.frames.pop();
            }
            TagEnd::TableCell => {
                let cell = self.cell.take().unwrap_or_default();
                self.row.get_or_insert_with(Vec::new).push(cell);
            }
            TagEnd::TableHead => {
                let row = self.row.take().unwrap_or_default();
                self.line(&super::table_row(&row));
                self.line(&super::table_separator(row.len()));
            }
            TagEnd::TableRow => {
                let row = self.row.take().unwrap_or_default();
                self.line(&super::table_row(&row));
            }
            TagEnd::Table => self.blank(),
            TagEnd::MetadataBlock(_) => self.metadata = false,
            TagEnd::Link => {
                if let Some((start, url)) = self.links.pop() {
                    let buf = self.buf();
                    if buf.get(start..).is_none_or(|t| t.trim().is_empty()) {
                        buf.push_str(&url);
                    }
                }
            }
            _ => {}
        }
    }

    fn buf(&mut self) -> &mut String {
        match self.cell.as_mut() {
            Some(cell) => cell,
            None => &mut self.inline,
        }
    }

    fn flush(&mut self) {
        if self.inline.trim().is_empty() {
            self.inline.clear();
            return;
        }
        let text = std::mem::take(&mut self.inline);
        for line in text.trim_matches('\n').split('\n') {
            self.line(line);
        }
    }

    /// Writes one line under the open containers; only the outermost 64 frames
    /// indent, so hostile nesting cannot blow the output up quadratically.
    fn line(&mut self, line: &str) {
        for frame in self.frames.iter_mut().take(super::MAX_DEPTH) {
            match frame.marker.take() {
                Some(marker) => self.out.push_str(&marker),
                None => self.out.push_str(frame.cont),
            }
        }
        self.out.push_str(line.trim_end());
        self.out.push('\n');
    }

    fn blank(&mut self) {
        let prefix: String =
            self.frames.iter().take(super::MAX_DEPTH).filter(|f| f.marker.is_none()).map(|f| f.cont).collect();
        self.out.push_str(prefix.trim_end());
        self.out.push('\n');
    }
}

fn quote_kind(kind: BlockQuoteKind) -> &'static str {
    match kind {
        BlockQuoteKind::Note => "note",
        BlockQuoteKind::Tip => "tip",
        BlockQuoteKind::Important => "important",
        BlockQuoteKind::Warning => "warning",
        BlockQuoteKind::Caution => "caution",
    }
}

/// Removes tags and comments from an HTML block, keeping its text.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(comment) = after.strip_prefix("!--") {
            rest = comment.find("-->").map_or("", |j| &comment[j + 3..]);
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            rest = after.find('>').map_or("", |j| &after[j + 1..]);
        } else {
            out.push('<');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::super::{random_text, read_sample, sample_files, within};
    use super::*;

    #[test]
    fn yaml_front_matter_with_dates_bom_and_blank_lines() {
        let src = "\u{feff}\n\n---\ntitle: Outage\ndate: 2021-06-22\nstart_time: 2021-06-22T08:21:00Z\n\
                   tags: [db, network]\ncategories: cloud, kubernetes\nweight: 20\n---\n# Body\n";
        let (fm, body) = split_front_matter(src).unwrap();
        let fm = fm.unwrap();
        assert_eq!(body, "# Body\n");
        assert_eq!(fm.str("title"), Some("Outage"));
        assert_eq!(fm.str("date"), Some("2021-06-22"));
        assert_eq!(fm.str("start_time"), Some("2021-06-22T08:21:00Z"));
        assert_eq!(fm.strings("tags"), ["db", "network"]);
        assert_eq!(fm.strings("categories"), ["cloud", "kubernetes"]);
        assert_eq!(fm.strings("title"), ["Outage"]);
        assert_eq!(fm.get("weight"), Some(&Value::from(20)));
        assert!(fm.strings("missing").is_empty());
    }

    #[test]
    fn toml_front_matter_and_errors_carry_file_lines() {
        let (fm, body) = split_front_matter("+++\ntitle = \"x\"\ndate = 2021-01-05\n+++\nbody").unwrap();
        let fm = fm.unwrap();
        assert_eq!((fm.str("title"), fm.str("date"), body), (Some("x"), Some("2021-01-05"), "body"));
        assert_eq!(split_front_matter("no front matter").unwrap(), (None, "no front matter"));
        assert_eq!(split_front_matter("").unwrap(), (None, ""));
        let (fm, _) = split_front_matter("---\n---\nbody").unwrap();
        assert_eq!(fm, Some(FrontMatter::default()));
        assert_eq!(split_front_matter("---\ntitle: x\n"), Err(FrontMatterError::Unterminated { delimiter: "---" }));
        match split_front_matter("\n---\ntitle: x\nbad: [unclosed\nmore: y\n---\n") {
            Err(FrontMatterError::Yaml { line, message }) => {
                assert!((4..=6).contains(&line), "{line} {message}");
            }
            other => panic!("{other:?}"),
        }
        match split_front_matter("+++\na = 1\nb = = 2\n+++\n") {
            Err(FrontMatterError::Toml { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
        let err = split_front_matter("---\n- just\n- a list\n---\n").unwrap_err();
        assert!(err.to_string().contains("not a mapping"), "{err}");
    }

    #[test]
    fn runbook_front_matter_counts_match_provenance() {
        let files = sample_files("runbooks/prometheus-operator");
        let mut with = 0;
        let mut misnamed = Vec::new();
        for path in &files {
            let src = std::fs::read_to_string(path).unwrap();
            let (fm, body) = split_front_matter(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Some(fm) = fm {
                with += 1;
                assert!(fm.str("title").is_some_and(|t| !t.is_empty()), "{}", path.display());
            }
            let alert = path.file_stem().unwrap().to_str().unwrap();
            // The H1 is the alert name, sometimes spelt with spaces.
            let h1 = first_heading(body).map(|(_, h)| h.replace(' ', "")).unwrap_or_default();
            if !h1.eq_ignore_ascii_case(alert) {
                misnamed.push(alert.to_string());
            }
        }
        assert_eq!((files.len(), with), (81, 73));
        // Upstream copy-paste: this file's H1 names another alert.
        assert_eq!(misnamed, ["PrometheusRemoteWriteBehind"]);
    }

    #[test]
    fn shortcodes_and_comments() {
        let src = read_sample("runbooks/prometheus-operator/node/NodeRAIDDiskFailure.md");
        let (_, body) = split_front_matter(&src).unwrap();
        assert_eq!(
            strip_shortcodes(body).trim(),
            "# NodeRAIDDiskFailure\n\nSee [Node RAID Degraded](./NodeRAIDDegraded.md)"
        );
        let src = "{{% notice warning %}}\nDrain first.\n{{% /notice %}}\n{{< youtube abc >}}x \
                   {{< relref path=\"a.md\" >}} {{</* figure */>}} {{ $labels.pod }} {{< unterminated\n\
                   <!-- note -->kept<!-- multi\nline -->after\n```html\n<!-- in code -->\n```\n";
        let out = strip_shortcodes(src);
        assert!(out.starts_with("\nWarning:\n\nDrain first.\n\nx a.md {{< figure >}}"), "{out:?}");
        assert!(out.contains("{{< figure >}} {{ $labels.pod }} {{< unterminated"));
        assert!(out.contains("\nkept\nafter\n```html\n<!-- in code -->\n```"));
        let mixin = strip_shortcodes(&read_sample("runbooks/kubernetes-mixin/runbook.md"));
        assert!(mixin.starts_with("\n\n# Kubernetes Alert Runbooks") || mixin.trim_start().starts_with("# Kubernetes"));
        assert!(mixin.contains("{{ $labels.namespace }}/{{ $labels.pod }}"));
    }

    #[test]
    fn sections_split_on_headings_outside_code() {
        let text = "intro line\n\n# Title\n\nbody\n\n```\n# not a heading\n```\n\nSetext\n------\nunder setext\n\
                    > # quoted heading stays\n\n## Last ##\n";
        let s = sections(text);
        let shape: Vec<(u8, &str)> = s.iter().map(|s| (s.level, s.heading.as_str())).collect();
        assert_eq!(shape, [(0, ""), (1, "Title"), (2, "Setext"), (2, "Last")]);
        assert_eq!(s[0].text, "intro line");
        assert_eq!(s[1].text, "body\n\n```\n# not a heading\n```");
        assert_eq!(s[2].text, "under setext\n> # quoted heading stays");
        assert_eq!(s[3].text, "");
        assert_eq!(first_heading(text), Some((1, "Title".to_string())));
        assert_eq!(first_heading("no headings"), None);
        let fm = sections("---\ntitle: x\n---\n\n# H\ntext");
        assert_eq!(fm.len(), 1, "front matter is neither preamble nor a setext heading");
        let pm = read_sample("postmortems/dfds/PM2021-005 - All services returning 503 in Kubernetes.md");
        let names: Vec<String> = sections(&pm).into_iter().map(|s| s.heading).collect();
        assert_eq!(
            names[..4],
            ["All services returning 503 in Kubernetes", "Summary", "Timeline", "Contributing Factors"]
        );
    }

    #[test]
    fn plain_text_keeps_structure() {
        let md = "---\ntitle: t\n---\n# Title *x*\n\nSome **bold** and [link](http://x) and [](http://empty) \
                  ![alt text](i.png) <span>inline</span> `code`.\n\n- a\n  - [x] done\n  - [ ] open\n\n3. three\n4. four\n\n\
                  | h1 | h2 |\n|----|----|\n| c1 | c2<br>more |\n\n> quoted\n>\n> more\n\n> [!WARNING]\n> careful\n\n\
                  ```sh\n$ ls   \n\n\n```\n\n<details>\n<summary>Full context</summary>\n\nhidden\n\n</details>\n\n---\nend";
        let text = to_plain(md);
        assert!(text.starts_with("# Title x\n\nSome bold and link and http://empty alt text inline code."), "{text}");
        assert!(text.contains("- a\n  - [x] done\n  - [ ] open"));
        assert!(text.contains("3. three\n4. four"));
        assert!(text.contains("| h1 | h2 |\n| --- | --- |\n| c1 | c2 more |"));
        assert!(text.contains("> quoted\n>\n> more\n\n"));
        assert!(text.contains("> Warning:\n> careful"));
        assert!(text.contains("```sh\n$ ls\n\n\n```"));
        assert!(text.contains("Full context"));
        assert!(text.ends_with("---\n\nend"));
    }

    #[test]
    fn every_runbook_and_postmortem_converts() {
        for path in sample_files("runbooks").into_iter().chain(sample_files("postmortems")) {
            let src = std::fs::read_to_string(&path).unwrap();
            let body = split_front_matter(&src).map(|(_, b)| b).unwrap_or(&src);
            let plain = to_plain(&strip_shortcodes(body));
            assert!(!plain.trim().is_empty(), "{}", path.display());
            assert_eq!(super::super::tidy(&plain), plain);
            assert!(!sections(body).is_empty(), "{}", path.display());
        }
    }

    #[test]
    fn kubernetes_mixin_alert_entries() {
        let entries = alert_entries(&read_sample("runbooks/kubernetes-mixin/runbook.md"));
        assert_eq!(entries.len(), 61);
        assert_eq!(entries[0].group.as_deref(), Some("kubernetes-absent"));
        assert_eq!(entries[0].alert, "KubeAPIDown");
        assert!(entries[0].text.starts_with("+ *Message*: `KubeAPI has disappeared"));
        assert!(entries[0].text.contains("runbooks.prometheus-operator.dev/runbooks/kubernetes/kubeapidown/"));
        let scheduler = entries.iter().find(|e| e.alert == "KubeSchedulerDown").unwrap();
        assert!(scheduler.text.contains("*Severity*: critical"));
        let apps: Vec<&AlertEntry> = entries.iter().filter(|e| e.group.as_deref() == Some("kubernetes-apps")).collect();
        assert_eq!(apps[0].alert, "KubePodCrashLooping");
        let last = entries.last().unwrap();
        assert_eq!(
            (last.group.as_deref(), last.alert.as_str()),
            (Some("kube-apiserver-slos"), "KubeAPIErrorBudgetBurn")
        );
        assert!(!last.text.contains("Other Kubernetes Runbooks"));
        assert!(alert_entries(&read_sample("runbooks/openshift/cluster-etcd-operator/etcdMembersDown.md")).is_empty());
        let odd = alert_entries(
            "## Group Name: g\n#### **Alert Name:** `X` (deprecated)\ntext\n```\n#### Alert Name: no\n```\n",
        );
        assert_eq!(odd.len(), 1);
        assert_eq!((odd[0].alert.as_str(), odd[0].text.as_str()), ("X", "text\n```\n#### Alert Name: no\n```"));
    }

    #[test]
    fn hostile_input_is_bounded() {
        let deep = format!("{}item\n", "- ".repeat(10_000));
        let text = within(30, "deep markdown list", || to_plain(&deep));
        assert!(text.contains("item"));
        within(30, "deep markdown sections", || sections(&deep));
        let quotes = format!("{}quoted\n", "> ".repeat(10_000));
        within(30, "deep quotes", || to_plain(&quotes));
        let random = random_text(1 << 20);
        within(20, "random markdown", || {
            to_plain(&random);
            sections(&random);
            alert_entries(&random);
            strip_shortcodes(&random);
            let _ = split_front_matter(&random);
        });
        let unbalanced = "<div><span>{{< x {{% y <!-- ```\n**_[(".repeat(50_000);
        within(30, "unbalanced markdown", || {
            to_plain(&unbalanced);
            strip_shortcodes(&unbalanced);
        });
        let yaml = format!("---\na: 1\nkey: {}\n---\n", "[".repeat(100_000));
        match within(5, "deep yaml", || split_front_matter(&yaml)) {
            Err(FrontMatterError::Yaml { line: 3, .. }) => {}
            other => panic!("{other:?}"),
        }
        let braces = format!("---\nkey: {}\n---\n", "{a: ".repeat(100_000));
        assert!(within(5, "deep yaml maps", || split_front_matter(&braces)).is_err());
        let wide = format!("---\nkey: [{}]\n---\n", "\"[x]\", ".repeat(50_000));
        assert!(within(20, "wide yaml", || split_front_matter(&wide)).is_ok());
        let toml = format!("+++\nkey = {}\n+++\n", "[".repeat(100_000));
        assert!(within(20, "deep toml", || split_front_matter(&toml)).is_err());
        let big = "## Heading\n\nSome *text* with a [link](http://x) and `code`.\n\n- item\n- item\n\n".repeat(70_000);
        let text = within(60, "5 MB markdown", || to_plain(&big));
        assert!(text.len() > 3_000_000);
        assert_eq!(within(30, "5 MB sections", || sections(&big)).len(), 70_000);
    }
}
