//! Confluence storage format (XHTML fragment with undeclared `ac:`/`ri:` prefixes and HTML entities) to plain text.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::errors::Error as XmlError;
use quick_xml::events::{BytesStart, Event};

use super::MAX_DEPTH;

/// A rendered page body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    pub text: String,
    /// Titles of linked pages (`ac:link` → `ri:page`), in order, deduplicated.
    pub page_links: Vec<String>,
}

/// Storage-format input that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("input looks binary, not storage format: {count} control characters, first at byte {offset}")]
    Binary { offset: usize, count: usize },
}

/// Renders a storage-format body. Lenient: namespaces are not resolved, the
/// fragment needs no root, HTML entities and void tags are accepted, mismatched
/// end tags close up to their open element, and markup that stops parsing is
/// kept as text. Only input that is mostly control characters is an error.
pub fn to_text(xhtml: &str) -> Result<Rendered, StorageError> {
    check_binary(xhtml)?;
    let dom = Dom::parse(&escape_stray_lt(xhtml));
    let text = super::tidy(&dom.blocks(ROOT, 0, "\n\n"));
    Ok(Rendered { text, page_links: dom.page_links() })
}

const ROOT: usize = 0;

/// Nodes in document order; parents and children are arena indexes.
struct Dom {
    nodes: Vec<Node>,
}

enum Node {
    Text(String),
    Element { name: String, attrs: Vec<(String, String)>, parent: usize, children: Vec<usize> },
}

/// State of the tolerant parse: the open-element stack and the entities a
/// DOCTYPE declared.
struct Builder {
    dom: Dom,
    stack: Vec<usize>,
    entities: HashMap<String, String>,
    /// Bytes produced by declared entities, capped against expansion bombs.
    expanded: usize,
}

#[rustfmt::skip]
const VOID: &[&str] = &[
    "br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source", "param",
    "embed", "track",
];

#[rustfmt::skip]
const BLOCK: &[&str] = &[
    "#root", "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead",
    "tbody", "tfoot", "tr", "th", "td", "pre", "blockquote", "hr", "section", "article", "header",
    "footer", "nav", "aside", "main", "figure", "figcaption", "dl", "dt", "dd", "details",
    "summary", "center", "caption", "address", "ac:task-list", "ac:task", "ac:task-body",
    "ac:layout", "ac:layout-section", "ac:layout-cell", "ac:rich-text-body", "ac:adf-extension",
    "ac:adf-fallback", "ac:adf-node", "ac:adf-content", "ac:confluence",
];

/// Macros that sit inside a line of text rather than forming a block.
#[rustfmt::skip]
const INLINE_MACROS: &[&str] = &[
    "status", "anchor", "jira", "mention", "emoticon",
];

/// Macros with nothing worth indexing.
#[rustfmt::skip]
const SKIPPED_MACROS: &[&str] = &[
    "toc", "children", "anchor", "jira", "pagetree", "recently-updated", "contentbylabel",
    "attachments", "livesearch", "space-attachments", "profile", "gallery", "create-from-template",
];

impl Dom {
    fn parse(src: &str) -> Dom {
        let root = Node::Element { name: "#root".into(), attrs: Vec::new(), parent: ROOT, children: Vec::new() };
        let mut b =
            Builder { dom: Dom { nodes: vec![root] }, stack: vec![ROOT], entities: HashMap::new(), expanded: 0 };
        let mut base = 0;
        'restart: while base < src.len() {
            let mut reader = Reader::from_str(&src[base..]);
            let config = reader.config_mut();
            config.check_end_names = false;
            config.allow_unmatched_ends = true;
            config.allow_dangling_amp = true;
            loop {
                match reader.read_event() {
                    Ok(Event::Start(e)) => {
                        let idx = b.open(&e);
                        if !b.is_void(idx) {
                            b.stack.push(idx);
                        }
                    }
                    Ok(Event::Empty(e)) => {
                        b.open(&e);
                    }
                    Ok(Event::End(e)) => b.close(&e.name().0.to_ascii_lowercase()),
                    Ok(Event::Text(t)) => b.text(&t.xml10_content()),
                    Ok(Event::CData(c)) => b.text(&c.xml10_content()),
                    Ok(Event::GeneralRef(r)) => {
                        let resolved = b.entity(&r);
                        b.text(&resolved);
                    }
                    Ok(Event::DocType(d)) => b.declare_entities(&d),
                    Ok(Event::Eof) => break 'restart,
                    Ok(_) => {}
                    Err(err) => {
                        let pos = floor_boundary(src, base + reader.error_position() as usize);
                        if let XmlError::Syntax(_) = err {
                            // Syntax errors mean a construct runs to the end of input:
                            // what is left can only be text.
                            let rest = strip_markup(&src[pos..]);
                            let rest = b.decode(&rest);
                            b.text(&rest);
                            break 'restart;
                        }
                        base = src[pos..].find('>').map_or(src.len(), |i| pos + i + 1);
                        continue 'restart;
                    }
                }
            }
        }
        b.dom
    }

    fn name(&self, idx: usize) -> &str {
        match self.nodes.get(idx) {
            Some(Node::Element { name, .. }) => name,
            _ => "",
        }
    }

    fn attr(&self, idx: usize, key: &str) -> Option<&str> {
        match self.nodes.get(idx) {
            Some(Node::Element { attrs, .. }) => attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()),
            _ => None,
        }
    }

    fn children(&self, idx: usize) -> &[usize] {
        match self.nodes.get(idx) {
            Some(Node::Element { children, .. }) => children,
            _ => &[],
        }
    }

    fn child(&self, idx: usize, name: &str) -> Option<usize> {
        self.children(idx).iter().copied().find(|&c| self.name(c) == name)
    }

    /// First descendant with `name`, searched iteratively.
    fn descendant(&self, idx: usize, name: &str) -> Option<usize> {
        let mut stack: Vec<usize> = self.children(idx).iter().rev().copied().collect();
        while let Some(i) = stack.pop() {
            if self.name(i) == name {
                return Some(i);
            }
            stack.extend(self.children(i).iter().rev());
        }
        None
    }

    fn page_links(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for node in &self.nodes {
            if let Node::Element { name, attrs, parent, .. } = node
                && name == "ri:page"
                && self.name(*parent) == "ac:link"
                && let Some((_, title)) = attrs.iter().find(|(k, _)| k == "ri:content-title")
            {
                let title = title.trim();
                if !title.is_empty() && !out.iter().any(|t| t == title) {
                    out.push(title.to_string());
                }
            }
        }
        out
    }

    fn is_block(&self, idx: usize) -> bool {
        let name = self.name(idx);
        match name {
            "" => false,
            "ac:structured-macro" | "ac:macro" => {
                let macro_name = self.attr(idx, "ac:name").unwrap_or("").to_ascii_lowercase();
                !INLINE_MACROS.contains(&macro_name.as_str())
            }
            _ if BLOCK.contains(&name) => true,
            "span" | "a" | "strong" | "em" | "b" | "i" | "u" | "s" | "code" | "ac:link" => false,
            _ => self.children(idx).iter().any(|&c| BLOCK.contains(&self.name(c))),
        }
    }

    /// Renders the children of `idx`: inline runs become paragraphs, block
    /// children render on their own; non-empty parts are joined with `sep`.
    fn blocks(&self, idx: usize, depth: usize, sep: &str) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut run = String::new();
        for &child in self.children(idx) {
            if !self.is_block(child) {
                self.inline(child, depth, &mut run);
                continue;
            }
            push_run(&mut parts, &mut run);
            let rendered = self.block(child, depth);
            if !rendered.trim().is_empty() {
                parts.push(rendered);
            }
        }
        push_run(&mut parts, &mut run);
        parts.join(sep)
    }

    fn block(&self, idx: usize, depth: usize) -> String {
        if depth > MAX_DEPTH {
            return self.flat_text(idx);
        }
        let d = depth + 1;
        let name = self.name(idx);
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                let level = name[1..].parse::<usize>().unwrap_or(1);
                let mut text = String::new();
                self.inline_children(idx, d, &mut text);
                format!("{} {}", "#".repeat(level), one_line(&text))
            }
            "ul" | "ol" => self.list(idx, d, name == "ol"),
            "li" => super::list_item("- ", &self.blocks(idx, d, "\n")),
            "table" => self.table(idx, d),
            "pre" => super::fence("", &self.flat_text(idx)),
            "blockquote" => super::quote(&self.blocks(idx, d, "\n\n")),
            "hr" => "---".to_string(),
            "ac:structured-macro" | "ac:macro" => self.macro_block(idx, d),
            "ac:task-list" => self.task_list(idx, d),
            "ac:task" => self.task(idx, d),
            "ac:adf-extension" => match self.child(idx, "ac:adf-fallback") {
                Some(fallback) => self.blocks(fallback, d, "\n\n"),
                None => self.blocks(idx, d, "\n\n"),
            },
            _ if is_hidden(name) => String::new(),
            _ => self.blocks(idx, d, "\n\n"),
        }
    }

    fn inline_children(&self, idx: usize, depth: usize, run: &mut String) {
        for &child in self.children(idx) {
            self.inline(child, depth, run);
        }
    }

    fn inline(&self, idx: usize, depth: usize, run: &mut String) {
        if depth > MAX_DEPTH {
            push_collapsed(run, &self.flat_text(idx));
            return;
        }
        let d = depth + 1;
        let name = match self.nodes.get(idx) {
            Some(Node::Element { name, .. }) => name.as_str(),
            Some(Node::Text(t)) => {
                push_collapsed(run, t);
                return;
            }
            None => return,
        };
        match name {
            "br" => run.push('\n'),
            "a" => {
                let mut text = String::new();
                self.inline_children(idx, d, &mut text);
                if text.trim().is_empty() {
                    text = self.attr(idx, "href").unwrap_or("").to_string();
                }
                push_collapsed(run, &text);
            }
            "ac:link" => push_collapsed(run, &self.link(idx, d)),
            "ri:user" => push_collapsed(run, &self.user(idx)),
            "ac:emoticon" => {
                let emoticon = self.attr(idx, "ac:name").or_else(|| self.attr(idx, "ac:emoji-shortname"));
                if let Some(e) = emoticon.map(|e| e.trim_matches(':')).filter(|e| !e.is_empty()) {
                    run.push_str(&format!(":{e}:"));
                }
            }
            "ac:image" => push_collapsed(run, &self.image(idx)),
            "img" => {
                if let Some(alt) = self.attr(idx, "alt").filter(|a| !a.trim().is_empty()) {
                    push_collapsed(run, &format!("[image: {}]", alt.trim()));
                }
            }
            "time" if self.children(idx).is_empty() => push_collapsed(run, self.attr(idx, "datetime").unwrap_or("")),
            "ac:structured-macro" | "ac:macro" if !self.is_block(idx) => {
                if self.macro_name(idx) == "status" {
                    let title = self.param(idx, "title").unwrap_or_default();
                    if !title.trim().is_empty() {
                        push_collapsed(run, &format!("[{}]", title.trim()));
                    }
                }
            }
            _ if is_hidden(name) => {}
            _ if self.is_block(idx) => {
                run.push('\n');
                run.push_str(&self.block(idx, d));
                run.push('\n');
            }
            _ => self.inline_children(idx, d, run),
        }
    }

    fn link(&self, idx: usize, depth: usize) -> String {
        let body = ["ac:plain-text-link-body", "ac:link-body"]
            .iter()
            .find_map(|b| self.child(idx, b))
            .map(|b| {
                let mut text = String::new();
                self.inline_children(b, depth, &mut text);
                text.trim().to_string()
            })
            .unwrap_or_default();
        if let Some(user) = self.child(idx, "ri:user") {
            return if body.is_empty() { self.user(user) } else { format!("@{}", body.trim_start_matches('@')) };
        }
        if !body.is_empty() {
            return body;
        }
        let targets = [
            ("ri:page", "ri:content-title"),
            ("ri:blog-post", "ri:content-title"),
            ("ri:attachment", "ri:filename"),
            ("ri:url", "ri:value"),
            ("ri:space", "ri:space-key"),
        ];
        targets
            .iter()
            .find_map(|(el, at)| self.child(idx, el).and_then(|c| self.attr(c, at)))
            .or_else(|| self.attr(idx, "ac:anchor"))
            .unwrap_or("")
            .to_string()
    }

    fn user(&self, idx: usize) -> String {
        ["ri:username", "ri:account-id", "ri:userkey"]
            .iter()
            .find_map(|k| self.attr(idx, k).filter(|v| !v.trim().is_empty()))
            .map(|u| format!("@{}", u.trim()))
            .unwrap_or_default()
    }

    fn image(&self, idx: usize) -> String {
        let name = self
            .child(idx, "ri:attachment")
            .and_then(|c| self.attr(c, "ri:filename"))
            .or_else(|| self.child(idx, "ri:url").and_then(|c| self.attr(c, "ri:value")))
            .or_else(|| self.attr(idx, "ac:alt"));
        name.filter(|n| !n.trim().is_empty()).map(|n| format!("[image: {}]", n.trim())).unwrap_or_default()
    }

    fn macro_name(&self, idx: usize) -> String {
        self.attr(idx, "ac:name").unwrap_or("").trim().to_ascii_lowercase()
    }

    /// The text of the `ac:parameter` named `key` (the unnamed default parameter is `""`).
    fn param(&self, idx: usize, key: &str) -> Option<String> {
        self.children(idx)
            .iter()
            .find(|&&c| self.name(c) == "ac:parameter" && self.attr(c, "ac:name").unwrap_or("") == key)
            .map(|&c| self.flat_text(c).trim().to_string())
    }

    fn macro_block(&self, idx: usize, depth: usize) -> String {
        let name = self.macro_name(idx);
        let plain = self.child(idx, "ac:plain-text-body").map(|b| self.flat_text(b));
        let rich = self.child(idx, "ac:rich-text-body").map(|b| self.blocks(b, depth, "\n\n"));
        let title = self.param(idx, "title").unwrap_or_default();
        match name.as_str() {
            "code" | "noformat" | "code-block" => {
                let lang = match name.as_str() {
                    "code" => self.param(idx, "language").filter(|l| !l.is_empty()).or_else(|| self.param(idx, "")),
                    _ => None,
                };
                let lang = lang.filter(|l| l != "none").unwrap_or_default();
                let code = super::fence(&lang, &plain.unwrap_or_default());
                if title.is_empty() { code } else { format!("{title}\n{code}") }
            }
            "plantuml" | "mermaid" | "mermaid-macro" => super::fence(&name, &plain.unwrap_or_default()),
            "info" | "note" | "tip" | "warning" | "panel" | "success" | "error" => {
                labelled(&super::panel_label(&name, &title), &rich.unwrap_or_default())
            }
            "expand" => labelled(&title, &rich.unwrap_or_default()),
            "include" | "excerpt-include" => self
                .descendant(idx, "ri:page")
                .and_then(|p| self.attr(p, "ri:content-title"))
                .map(|t| format!("[include: {}]", t.trim()))
                .unwrap_or_default(),
            "status" => format!("[{}]", title.trim()),
            _ if SKIPPED_MACROS.contains(&name.as_str()) => String::new(),
            _ => rich.or(plain).unwrap_or_default(),
        }
    }

    fn list(&self, idx: usize, depth: usize, ordered: bool) -> String {
        let mut number = self.attr(idx, "start").and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(1);
        let mut lines: Vec<String> = Vec::new();
        for &child in self.children(idx) {
            let rendered = match self.name(child) {
                "li" => {
                    let marker = if ordered { format!("{number}. ") } else { "- ".to_string() };
                    number = number.saturating_add(1);
                    super::list_item(&marker, &self.blocks(child, depth, "\n"))
                }
                "" => continue,
                _ => {
                    let nested = self.block(child, depth);
                    nested.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
                }
            };
            if !rendered.trim().is_empty() {
                lines.push(rendered);
            }
        }
        lines.join("\n")
    }

    fn task_list(&self, idx: usize, depth: usize) -> String {
        let mut lines = Vec::new();
        for &child in self.children(idx) {
            let rendered = match self.name(child) {
                "ac:task" => self.task(child, depth),
                "ac:task-list" => {
                    let nested = self.task_list(child, depth + 1);
                    nested.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
                }
                _ => continue,
            };
            if !rendered.trim().is_empty() {
                lines.push(rendered);
            }
        }
        lines.join("\n")
    }

    fn task(&self, idx: usize, depth: usize) -> String {
        let done = self
            .child(idx, "ac:task-status")
            .is_some_and(|s| self.flat_text(s).trim().eq_ignore_ascii_case("complete"));
        let body = self.child(idx, "ac:task-body").map(|b| self.blocks(b, depth, "\n")).unwrap_or_default();
        super::list_item(if done { "- [x] " } else { "- [ ] " }, &body)
    }

    fn table(&self, idx: usize, depth: usize) -> String {
        let mut rows = Vec::new();
        for &child in self.children(idx) {
            match self.name(child) {
                "tr" => rows.push(child),
                "thead" | "tbody" | "tfoot" => {
                    rows.extend(self.children(child).iter().copied().filter(|&r| self.name(r) == "tr"));
                }
                _ => {}
            }
        }
        let mut lines = Vec::new();
        for (i, row) in rows.into_iter().enumerate() {
            let cells: Vec<usize> =
                self.children(row).iter().copied().filter(|&c| matches!(self.name(c), "td" | "th")).collect();
            if cells.is_empty() {
                continue;
            }
            let texts: Vec<String> = cells.iter().map(|&c| self.blocks(c, depth, " ")).collect();
            lines.push(super::table_row(&texts));
            if i == 0 && cells.iter().all(|&c| self.name(c) == "th") {
                lines.push(super::table_separator(texts.len()));
            }
        }
        lines.join("\n")
    }

    /// Text of a subtree without structure, walked iteratively so any depth is safe.
    fn flat_text(&self, idx: usize) -> String {
        let mut out = String::new();
        let mut stack = vec![Some(idx)];
        while let Some(step) = stack.pop() {
            let Some(i) = step else {
                out.push('\n');
                continue;
            };
            match self.nodes.get(i) {
                Some(Node::Text(t)) => out.push_str(t),
                Some(Node::Element { name, children, .. }) => {
                    if name == "br" || BLOCK.contains(&name.as_str()) {
                        stack.push(None);
                    }
                    stack.extend(children.iter().rev().map(|&c| Some(c)));
                }
                None => {}
            }
        }
        out
    }
}

impl Builder {
    fn top(&self) -> usize {
        self.stack.last().copied().unwrap_or(ROOT)
    }

    fn open(&mut self, e: &BytesStart<'_>) -> usize {
        let name = e.name().0.to_ascii_lowercase();
        // HTML lets these close implicitly when a sibling opens.
        let top_name = self.dom.name(self.top()).to_string();
        let implicit = matches!(
            (top_name.as_str(), name.as_str()),
            ("li", "li") | ("p", "p") | ("tr", "tr") | ("td" | "th", "td" | "th") | ("dt" | "dd", "dt" | "dd")
        );
        if implicit && self.stack.len() > 1 {
            self.stack.pop();
        }
        let mut attrs = Vec::new();
        let mut iter = e.html_attributes();
        iter.with_checks(false);
        for attr in iter {
            let Ok(attr) = attr else { break };
            let value = self.decode(&attr.value);
            attrs.push((attr.key.0.to_ascii_lowercase(), value));
        }
        let parent = self.top();
        let idx = self.dom.nodes.len();
        self.dom.nodes.push(Node::Element { name, attrs, parent, children: Vec::new() });
        if let Some(Node::Element { children, .. }) = self.dom.nodes.get_mut(parent) {
            children.push(idx);
        }
        idx
    }

    fn is_void(&self, idx: usize) -> bool {
        VOID.contains(&self.dom.name(idx))
    }

    /// Closes up to the matching open element; an end tag with no open match
    /// (within a bounded search) is ignored.
    fn close(&mut self, name: &str) {
        let found = self
            .stack
            .iter()
            .enumerate()
            .skip(1)
            .rev()
            .take(256)
            .find(|&(_, &idx)| self.dom.name(idx) == name)
            .map(|(pos, _)| pos);
        if let Some(pos) = found {
            self.stack.truncate(pos);
        }
    }

    fn text(&mut self, text: &str) {
        let clean: String = text.chars().filter(|&c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect();
        if clean.is_empty() {
            return;
        }
        let parent = self.top();
        let last = self.dom.children(parent).last().copied();
        if let Some(Node::Text(prev)) = last.and_then(|l| self.dom.nodes.get_mut(l)) {
            prev.push_str(&clean);
            return;
        }
        let idx = self.dom.nodes.len();
        self.dom.nodes.push(Node::Text(clean));
        if let Some(Node::Element { children, .. }) = self.dom.nodes.get_mut(parent) {
            children.push(idx);
        }
    }

    /// Resolves `&name;`: character references, DOCTYPE-declared entities, then
    /// the common HTML named entities; anything else stays literal.
    fn entity(&mut self, name: &str) -> String {
        if let Some(num) = name.strip_prefix('#') {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            return code.and_then(char::from_u32).filter(|&c| c != '\0').map_or('\u{fffd}'.to_string(), String::from);
        }
        if let Some(value) = self.entities.get(name)
            && self.expanded < 1 << 20
        {
            self.expanded += value.len();
            return value.clone();
        }
        match html_entity(name) {
            Some(c) => c.to_string(),
            None => format!("&{name};"),
        }
    }

    /// Decodes entity references inside attribute values and fallback text.
    fn decode(&mut self, raw: &str) -> String {
        let mut out = String::with_capacity(raw.len());
        let mut rest = raw;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            // Entity names are short: look no further than 32 bytes for the `;`.
            let end = after
                .char_indices()
                .take_while(|&(j, c)| j <= 32 && !matches!(c, ' ' | '&' | '<'))
                .find(|&(_, c)| c == ';')
                .map(|(j, _)| j)
                .filter(|&j| j > 0);
            match end {
                Some(j) => {
                    out.push_str(&self.entity(&after[..j]));
                    rest = &after[j + 1..];
                }
                None => {
                    out.push('&');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Reads `<!ENTITY name "value">` declarations from a DOCTYPE; values are
    /// decoded once (no recursive expansion) and capped in length.
    fn declare_entities(&mut self, doctype: &str) {
        let mut rest = doctype;
        while let Some(i) = rest.find("<!ENTITY") {
            rest = &rest[i + 8..];
            let mut words = rest.trim_start().splitn(2, char::is_whitespace);
            let name = words.next().unwrap_or("").to_string();
            let tail = words.next().unwrap_or("").trim_start();
            let Some(quote) = tail.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let Some(end) = tail[1..].find(quote) else {
                continue;
            };
            let raw: String = tail[1..1 + end].chars().take(256).collect();
            if name.is_empty() || name == "%" {
                continue;
            }
            let value = self.decode(&raw);
            self.entities.insert(name, value);
        }
    }
}

fn check_binary(s: &str) -> Result<(), StorageError> {
    let mut total = 0usize;
    let mut count = 0usize;
    let mut first = None;
    for (offset, c) in s.char_indices() {
        total += 1;
        let bad = (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffd}';
        if bad {
            count += 1;
            first.get_or_insert(offset);
        }
    }
    match first {
        Some(offset) if count * 10 > total => Err(StorageError::Binary { offset, count }),
        _ => Ok(()),
    }
}

fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "ac:parameter"
            | "ac:placeholder"
            | "script"
            | "style"
            | "colgroup"
            | "col"
            | "ac:task-id"
            | "ac:task-uuid"
            | "ac:task-status"
            | "ac:adf-attribute"
            | "head"
            | "title"
    )
}

fn labelled(label: &str, body: &str) -> String {
    match (label.is_empty(), body.trim().is_empty()) {
        (true, _) => body.to_string(),
        (false, true) => label.to_string(),
        (false, false) => format!("{label}\n{body}"),
    }
}

/// Appends text with HTML whitespace rules: any whitespace run (including
/// no-break spaces) becomes one space; `<br>` newlines survive.
fn push_collapsed(run: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_whitespace() {
            if !run.is_empty() && !run.ends_with([' ', '\n']) {
                run.push(' ');
            }
        } else {
            run.push(c);
        }
    }
}

fn push_run(parts: &mut Vec<String>, run: &mut String) {
    let lines: Vec<&str> = run.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect();
    if !lines.is_empty() {
        parts.push(lines.join("\n"));
    }
    run.clear();
}

/// `<` that cannot start markup (`a < b`, `5 <6`) becomes `&lt;` so the reader
/// does not swallow the text up to the next `>` as a tag. CDATA and comments
/// are copied untouched.
fn escape_stray_lt(src: &str) -> std::borrow::Cow<'_, str> {
    let stray =
        |rest: &str| !rest[1..].starts_with(|c: char| c.is_alphabetic() || matches!(c, '/' | '!' | '?' | '_' | ':'));
    if !src.match_indices('<').any(|(i, _)| stray(&src[i..])) {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 64);
    let mut rest = src;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let verbatim = [("<![CDATA[", "]]>"), ("<!--", "-->")]
            .iter()
            .find(|(open, _)| rest.starts_with(open))
            .map(|(open, close)| rest[open.len()..].find(close).map_or(rest.len(), |j| open.len() + j + close.len()));
        if let Some(end) = verbatim {
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if stray(rest) {
            out.push_str("&lt;");
            rest = &rest[1..];
        } else {
            out.push('<');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Text of markup the XML reader gave up on: tags and comments removed.
fn strip_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(cdata) = after.strip_prefix("![CDATA[") {
            let end = cdata.find("]]>").unwrap_or(cdata.len());
            out.push_str(&cdata[..end]);
            rest = cdata.get(end + 3..).unwrap_or("");
        } else if after.starts_with(|c: char| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?')) {
            rest = after.find('>').map_or("", |j| &after[j + 1..]);
        } else {
            out.push('<');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The HTML named entities seen in Confluence content; XML itself knows five.
#[rustfmt::skip]
fn html_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&", "lt" => "<", "gt" => ">", "quot" => "\"", "apos" => "'",
        "nbsp" => "\u{a0}", "ensp" => "\u{2002}", "emsp" => "\u{2003}", "thinsp" => "\u{2009}",
        "zwnj" => "\u{200c}", "zwj" => "\u{200d}", "lrm" => "\u{200e}", "rlm" => "\u{200f}", "shy" => "\u{ad}",
        "ndash" => "–", "mdash" => "—", "lsquo" => "‘", "rsquo" => "’", "sbquo" => "‚",
        "ldquo" => "“", "rdquo" => "”", "bdquo" => "„", "laquo" => "«", "raquo" => "»",
        "lsaquo" => "‹", "rsaquo" => "›", "hellip" => "…", "bull" => "•", "middot" => "·",
        "prime" => "′", "Prime" => "″", "dagger" => "†", "Dagger" => "‡", "permil" => "‰",
        "copy" => "©", "reg" => "®", "trade" => "™", "deg" => "°", "plusmn" => "±",
        "times" => "×", "divide" => "÷", "micro" => "µ", "para" => "¶", "sect" => "§",
        "cent" => "¢", "pound" => "£", "euro" => "€", "yen" => "¥", "curren" => "¤",
        "iexcl" => "¡", "iquest" => "¿", "brvbar" => "¦", "not" => "¬", "macr" => "¯",
        "acute" => "´", "cedil" => "¸", "uml" => "¨", "ordf" => "ª", "ordm" => "º",
        "sup1" => "¹", "sup2" => "²", "sup3" => "³", "frac14" => "¼", "frac12" => "½", "frac34" => "¾",
        "larr" => "←", "rarr" => "→", "uarr" => "↑", "darr" => "↓", "harr" => "↔",
        "lArr" => "⇐", "rArr" => "⇒", "hArr" => "⇔", "crarr" => "↵",
        "le" => "≤", "ge" => "≥", "ne" => "≠", "asymp" => "≈", "equiv" => "≡", "infin" => "∞",
        "minus" => "−", "sum" => "∑", "prod" => "∏", "radic" => "√", "part" => "∂", "nabla" => "∇",
        "isin" => "∈", "notin" => "∉", "forall" => "∀", "exist" => "∃", "empty" => "∅",
        "and" => "∧", "or" => "∨", "cap" => "∩", "cup" => "∪", "sub" => "⊂", "sup" => "⊃",
        "check" => "✓", "cross" => "✗", "star" => "☆", "starf" => "★",
        "clubs" => "♣", "spades" => "♠", "hearts" => "♥", "diams" => "♦", "loz" => "◊",
        "alpha" => "α", "beta" => "β", "gamma" => "γ", "delta" => "δ", "epsilon" => "ε",
        "lambda" => "λ", "mu" => "μ", "pi" => "π", "sigma" => "σ", "tau" => "τ", "omega" => "ω",
        "Delta" => "Δ", "Sigma" => "Σ", "Omega" => "Ω",
        "Agrave" => "À", "Aacute" => "Á", "Acirc" => "Â", "Atilde" => "Ã", "Auml" => "Ä", "Aring" => "Å",
        "AElig" => "Æ", "Ccedil" => "Ç", "Egrave" => "È", "Eacute" => "É", "Ecirc" => "Ê", "Euml" => "Ë",
        "Iacute" => "Í", "Ntilde" => "Ñ", "Oacute" => "Ó", "Ocirc" => "Ô", "Ouml" => "Ö", "Oslash" => "Ø",
        "Uacute" => "Ú", "Uuml" => "Ü", "szlig" => "ß",
        "agrave" => "à", "aacute" => "á", "acirc" => "â", "atilde" => "ã", "auml" => "ä", "aring" => "å",
        "aelig" => "æ", "ccedil" => "ç", "egrave" => "è", "eacute" => "é", "ecirc" => "ê", "euml" => "ë",
        "igrave" => "ì", "iacute" => "í", "icirc" => "î", "iuml" => "ï", "ntilde" => "ñ",
        "ograve" => "ò", "oacute" => "ó", "ocirc" => "ô", "otilde" => "õ", "ouml" => "ö", "oslash" => "ø",
        "ugrave" => "ù", "uacute" => "ú", "ucirc" => "û", "uuml" => "ü", "yacute" => "ý", "yuml" => "ÿ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{random_text, read_sample, sample_files, within};
    use super::*;

    fn render(rel: &str) -> Rendered {
        to_text(&read_sample(rel)).unwrap()
    }

    #[test]
    fn every_storage_sample_renders() {
        let files = sample_files("confluence/storage-format");
        assert_eq!(files.len(), 19);
        for path in files {
            let src = std::fs::read_to_string(&path).unwrap();
            let out = to_text(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!out.text.trim().is_empty(), "{}", path.display());
            assert!(!out.text.contains("<ac:") && !out.text.contains("CDATA"), "{}", path.display());
            assert!(!out.text.lines().any(|l| l.ends_with(char::is_whitespace)), "{}", path.display());
            // Blank-line runs survive only inside code, which tidy leaves alone.
            assert_eq!(super::super::tidy(&out.text), out.text, "{}", path.display());
        }
    }

    #[test]
    fn rest_api_bodies_render() {
        for rel in [
            "confluence/rest-v2/atlassian-python-api_v2_mock_responses.json",
            "confluence/rest-v1/xsoar_POST_wiki-rest-api-content_response_single-page.json",
        ] {
            let v: serde_json::Value = serde_json::from_str(&read_sample(rel)).unwrap();
            let mut bodies = Vec::new();
            let mut stack = vec![&v];
            while let Some(node) = stack.pop() {
                match node {
                    serde_json::Value::Object(map) => {
                        if let Some(s) = map.get("storage").and_then(|s| s.get("value")).and_then(|s| s.as_str()) {
                            bodies.push(s.to_string());
                        }
                        stack.extend(map.values());
                    }
                    serde_json::Value::Array(items) => stack.extend(items),
                    _ => {}
                }
            }
            assert!(!bodies.is_empty(), "{rel}");
            for body in bodies {
                let out = to_text(&body).unwrap();
                if body.contains("test page content") {
                    assert_eq!(out.text, "This is a test page content.");
                }
            }
        }
    }

    #[test]
    fn code_macros_are_fenced_with_language() {
        let text = render("confluence/storage-format/mark-testdata/codes.xhtml").text;
        assert!(text.starts_with("inline\n\n```\nsome code\n```"), "{text}");
        assert!(text.contains("```bash\ncode bash\n```"));
        assert!(text.contains("A b c\n```sh\nno-collapse-title\n```"));
        assert!(text.contains("````nested\ncode\n``` more code ```\neven more code\n````"));
        assert!(text.contains("network.data processor -> api server\n```"));
        // Jsonix pages name the language with the unnamed default parameter.
        let text = render("confluence/storage-format/jsonix-wiki/Properties.xml").text;
        assert!(text.matches("```javascript\n").count() >= 20);
        let plantuml = render("confluence/storage-format/mark-testdata/plantuml.xhtml").text;
        assert!(plantuml.contains("```plantuml\n@startuml\nAlice -> Bob: Authentication Request"));
    }

    #[test]
    fn panels_quotes_tasks_and_tables() {
        let text = render("confluence/storage-format/mark-testdata/admonitions.xhtml").text;
        assert!(text.contains("## First Heading\n\nNote:\nNOTES:\n\n1. Note number one\n2. Note number two"), "{text}");
        assert!(text.contains("Warning:\nWarn\n\n- Warn bullet 1\n- Warn bullet 2"));
        assert!(text.contains("Info:\nTest"));
        assert!(text.contains("- Regular list that runs long"));
        let quotes = render("confluence/storage-format/mark-testdata/quotes.xhtml").text;
        assert!(quotes.contains("> This paragraph is a simple blockquote"));
        assert!(quotes.contains("> TL;DR: Thingy! More stuff"));
        let tasks = render("confluence/storage-format/mark-testdata/tasklists.xhtml").text;
        assert_eq!(
            tasks,
            "- [x] #739\n- [ ] https://github.com/octo-org/octo-repo/issues/740\n\
             - [ ] Add delight to the experience when all tasks are complete :tada:"
        );
        let table = render("confluence/storage-format/mark-testdata/table.xhtml").text;
        assert!(table.starts_with("| HEADER1 | HEADER2 |\n| --- | --- |\n| row1 | row2 |"));
        let compact = render("confluence/storage-format/jsonix-wiki/Compact-Naming.xml").text;
        assert!(compact.starts_with("## Compact Naming\n\nTip:\nSupported by Jsonix since version 2.1.0"));
        assert!(compact.contains("| name | n | null | Name of the module |"));
        assert!(compact.contains("will stil read your \"normal\" (i.e. not compact) mappings"));
    }

    #[test]
    fn links_images_emoticons_and_includes() {
        let links = render("confluence/storage-format/mark-testdata/links.xhtml");
        assert_eq!(
            links.page_links,
            ["Page", "AnotherPage", "Another Page", "test_link", "Page With Space", "test_link_link"]
        );
        assert!(links.text.contains("Use page link\n\nUse AnotherPage"));
        assert!(links.text.contains("Another [Link]"));
        assert!(links.text.contains("[image: test.png]"));
        assert!(links.text.contains("confluence_48_trans.png?key1=value1&key2=value2]"));
        assert!(links.text.contains("a footnote link ↩\u{fe0e}"));
        let intro = render("confluence/storage-format/jsonix-wiki/Mapping-XML-to-JavaScript-Objects.xml");
        assert_eq!(intro.page_links, ["Modules", "Element Declarations", "Types", "Properties", "Compact Naming"]);
        assert!(intro.text.contains("[include: Modules]"));
        let props = render("confluence/storage-format/jsonix-wiki/Properties.xml").text;
        assert!(props.contains(":plus:") && props.contains(":minus:"));
        let types = render("confluence/storage-format/jsonix-wiki/Types.xml").text;
        assert!(types.contains("[image: type-hierarchy.gif]"));
    }

    #[test]
    fn html_quirks_and_confluence_extras() {
        let src = "<h2>Ops &ndash; notes&nbsp;&hellip; &copy; &#x2019; &#8212; &bogus; &amp;</h2>\
            <p>line<br>break<hr><img src=\"x.png\" alt=\"diagram\"></p>\
            <ul><li>one<li>two<ul><li>nested</li></ul></li></ul>\
            <p><ac:link><ri:user ri:account-id=\"557058:abc\"/></ac:link> and <ri:user ri:username=\"jdoe\"/> \
            <ac:link><ri:page ri:space-key=\"OPS\" ri:content-title=\"Failover &amp; Recovery\"/>\
            <ac:link-body><strong>the failover page</strong></ac:link-body></ac:link> \
            <ac:structured-macro ac:name=\"status\"><ac:parameter ac:name=\"title\">DONE</ac:parameter></ac:structured-macro></p>\
            <ac:layout><ac:layout-section><ac:layout-cell><p>in a cell</p></ac:layout-cell></ac:layout-section></ac:layout>\
            <ac:structured-macro ac:name=\"expand\"><ac:parameter ac:name=\"title\">More</ac:parameter>\
            <ac:rich-text-body><p>expanded</p></ac:rich-text-body></ac:structured-macro>\
            <ac:structured-macro ac:name=\"panel\"><ac:parameter ac:name=\"title\">Contacts</ac:parameter><ac:rich-text-body>\
            <table><tr><th>Team</th><th>Pager</th></tr><tr><td>DBA</td><td>555</td></tr></table></ac:rich-text-body></ac:structured-macro>\
            <ac:structured-macro ac:name=\"toc\"/><ac:structured-macro ac:name=\"jira\"><ac:parameter ac:name=\"key\">OPS-1</ac:parameter></ac:structured-macro>\
            <ac:adf-extension><ac:adf-node type=\"decision-list\"><ac:adf-attribute key=\"state\">DECIDED</ac:adf-attribute></ac:adf-node>\
            <ac:adf-fallback><ul><li>we decided</li></ul></ac:adf-fallback></ac:adf-extension>\
            <pre>  keep   spacing\n  here</pre><div><span>unclosed <em>tags</div> trailing";
        let out = to_text(src).unwrap();
        let text = &out.text;
        assert!(text.starts_with("## Ops – notes … © ’ — &bogus; &"), "{text}");
        assert!(text.contains("line\nbreak\n\n---\n\n[image: diagram]"));
        assert!(text.contains("- one\n- two\n  - nested"));
        assert!(text.contains("@557058:abc and @jdoe the failover page [DONE]"));
        assert_eq!(out.page_links, ["Failover & Recovery"]);
        assert!(text.contains("in a cell"));
        assert!(text.contains("More\nexpanded"));
        assert!(text.contains("Contacts\n| Team | Pager |\n| --- | --- |\n| DBA | 555 |"));
        assert!(!text.contains("OPS-1") && !text.contains("DECIDED"));
        assert!(text.contains("- we decided"));
        assert!(text.contains("```\n  keep   spacing\n  here\n```"));
        assert!(text.ends_with("unclosed tags\n\ntrailing"));
    }

    #[test]
    fn doctype_entities_are_resolved() {
        let src = "<?xml version=\"1.0\"?><!DOCTYPE ac:confluence [<!ENTITY clubs \"&#9827;\"><!ENTITY team \"SRE &amp; Ops\">]>\
                   <ac:confluence><p>&clubs; &team; &nbsp;x</p></ac:confluence>";
        assert_eq!(to_text(src).unwrap().text, "♣ SRE & Ops x");
    }

    #[test]
    fn broken_markup_degrades_to_text() {
        for (src, expect) in [
            ("<p>a < b and c > d</p>", "a < b and c > d"),
            ("<p>5 <6</p><p>next</p>", "5 <6\n\nnext"),
            ("<ac:plain-text-body><![CDATA[if (a < b) {}]]></ac:plain-text-body>", "if (a < b) {}"),
            ("<p>open <![CDATA[never closed", "never closed"),
            ("<p>x</p><!-- unterminated", "x"),
            ("<p title=\"unterminated>text", ""),
            ("</p></div>stray ends<p>ok</p>", "ok"),
            ("<?xml?><!DOCTYPE><p>after bad decl</p>", "after bad decl"),
            ("& &; &#xZZ; &#0; <p>amp</p>", "amp"),
        ] {
            let out = to_text(src).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert!(out.text.contains(expect), "{src} -> {:?}", out.text);
        }
    }

    #[test]
    fn hostile_input_is_bounded() {
        let err = to_text(&random_text(1 << 16)).unwrap_err();
        assert!(matches!(err, StorageError::Binary { offset, .. } if offset < 1 << 16));
        assert!(err.to_string().contains("byte"));
        let deep = format!("{}deep{}", "<ul><li>".repeat(10_000), "</li></ul>".repeat(10_000));
        let out = within(20, "deep storage", || to_text(&deep)).unwrap();
        assert!(out.text.contains("deep"));
        let unclosed = "<div><p><ac:structured-macro ac:name=\"info\"><ac:rich-text-body>".repeat(10_000);
        within(20, "unclosed storage", || to_text(&unclosed)).unwrap();
        let ends = "</a></b></c>".repeat(100_000) + &"<x>".repeat(100_000) + &"</y>".repeat(100_000);
        within(20, "unmatched storage", || to_text(&ends)).unwrap();
        let lts = "<<<<".repeat(1 << 18);
        within(20, "angle storage", || to_text(&lts)).unwrap();
        let amps = format!("<p title=\"{}", "&amp".repeat(1 << 18));
        within(20, "ampersand storage", || to_text(&amps)).unwrap();
        let attrs = format!("<p {}>x</p>", "a=\"&\" ".repeat(1 << 17));
        within(20, "attribute storage", || to_text(&attrs)).unwrap();
        let entities: String = (0..50_000).map(|i| format!("<!ENTITY e{i} \"{}\">", "x".repeat(200))).collect();
        let bomb = format!("<!DOCTYPE x [{entities}]><p>{}</p>", "&e1;".repeat(200_000));
        let out = within(30, "entity expansion", || to_text(&bomb)).unwrap();
        assert!(out.text.len() < 3_000_000, "declared entities expand at most ~1 MB");
        let big =
            "<p>Some <strong>bold</strong> text &amp; an <ac:link><ri:page ri:content-title=\"T\"/></ac:link></p>"
                .repeat(60_000);
        let out = within(30, "5 MB storage", || to_text(&big)).unwrap();
        assert_eq!(out.page_links, ["T"]);
        assert!(out.text.len() > 1_000_000);
    }
}
