//! Atlassian Document Format (Jira Cloud v3 descriptions and comments) to plain text.

use serde_json::Value;

use super::MAX_DEPTH;

/// Renders an ADF document to the common plain-text convention. Lenient:
/// unknown nodes render their children or text, a string renders as itself,
/// null renders as "".
pub fn to_text(doc: &Value) -> String {
    let raw = match doc {
        Value::Null => return String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(_) | Value::Number(_) => doc.to_string(),
        Value::Array(items) => join_blocks(items, 0, "\n\n"),
        Value::Object(_) => block(doc, 0),
    };
    super::tidy(&raw)
}

/// Renders one block node; past the depth cap the subtree becomes flat text.
fn block(node: &Value, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return flat_text(node);
    }
    let d = depth + 1;
    match node_type(node) {
        "paragraph" => inline_children(node, d),
        "heading" => {
            let level = attr(node, "level").and_then(Value::as_u64).unwrap_or(1).clamp(1, 6);
            let text = one_line(&inline_children(node, d));
            format!("{} {text}", "#".repeat(level as usize))
        }
        "bulletList" => list(node, d, None),
        "orderedList" => {
            let start = attr(node, "order").and_then(Value::as_u64).unwrap_or(1);
            list(node, d, Some(start))
        }
        "listItem" => super::list_item("- ", &join_blocks(content(node), d, "\n")),
        "taskList" | "decisionList" => list(node, d, None),
        "taskItem" | "decisionItem" => item_line(node, d),
        "table" => table(node, d),
        "codeBlock" => {
            let lang = attr_str(node, "language").unwrap_or("");
            let code: String = content(node).iter().filter_map(|t| t.get("text").and_then(Value::as_str)).collect();
            super::fence(lang, &code)
        }
        "panel" => {
            let kind = attr_str(node, "panelType").unwrap_or("info");
            labelled(&super::panel_label(kind, ""), &join_blocks(content(node), d, "\n\n"))
        }
        "expand" | "nestedExpand" => {
            let title = attr_str(node, "title").unwrap_or("").trim().to_string();
            labelled(&title, &join_blocks(content(node), d, "\n\n"))
        }
        "blockquote" => super::quote(&join_blocks(content(node), d, "\n\n")),
        "rule" => "---".to_string(),
        "mediaSingle" | "mediaGroup" => {
            let mut out = String::new();
            for child in content(node) {
                inline(child, d, &mut out);
            }
            out
        }
        "blockCard" | "embedCard" => card(node),
        _ if is_inline(node) => {
            let mut out = String::new();
            inline(node, d, &mut out);
            out
        }
        _ => join_blocks(content(node), d, "\n\n"),
    }
}

/// Renders a run of children: consecutive inline nodes form one paragraph,
/// block nodes render on their own; non-empty parts are joined with `sep`.
fn join_blocks(children: &[Value], depth: usize, sep: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut run = String::new();
    for child in children {
        if is_inline(child) {
            inline(child, depth, &mut run);
            continue;
        }
        if !run.trim().is_empty() {
            parts.push(std::mem::take(&mut run));
        }
        run.clear();
        let rendered = block(child, depth);
        if !rendered.trim().is_empty() {
            parts.push(rendered);
        }
    }
    if !run.trim().is_empty() {
        parts.push(run);
    }
    parts.join(sep)
}

fn inline_children(node: &Value, depth: usize) -> String {
    let mut out = String::new();
    for child in content(node) {
        inline(child, depth, &mut out);
    }
    out
}

/// Appends one inline node; marks are dropped except that a link whose text
/// differs from its target keeps the target in parentheses.
fn inline(node: &Value, depth: usize, out: &mut String) {
    if depth > MAX_DEPTH {
        out.push_str(&flat_text(node));
        return;
    }
    if let Value::String(s) = node {
        out.push_str(s);
    }
    if !node.is_object() {
        return;
    }
    match node_type(node) {
        "text" => {
            let text = node.get("text").and_then(Value::as_str).unwrap_or("");
            out.push_str(text);
            if let Some(href) = link_href(node).filter(|h| !h.is_empty() && *h != text.trim()) {
                out.push_str(&format!(" ({href})"));
            }
        }
        "hardBreak" => out.push('\n'),
        "mention" => {
            let name = attr_str(node, "text")
                .map(|t| t.trim().trim_start_matches('@'))
                .filter(|t| !t.is_empty())
                .or_else(|| attr_str(node, "id"))
                .unwrap_or("");
            if !name.is_empty() {
                out.push('@');
                out.push_str(name);
            }
        }
        "emoji" => {
            let name = attr_str(node, "shortName").map(|s| s.trim_matches(':')).filter(|s| !s.is_empty());
            match name {
                Some(name) => out.push_str(&format!(":{name}:")),
                None => out.push_str(attr_str(node, "text").unwrap_or("")),
            }
        }
        "inlineCard" | "blockCard" | "embedCard" => {
            if !out.is_empty() && !out.ends_with(char::is_whitespace) {
                out.push(' ');
            }
            out.push_str(&card(node));
        }
        "status" => {
            let text = attr_str(node, "text").unwrap_or("").trim();
            if !text.is_empty() {
                out.push_str(&format!("[{text}]"));
            }
        }
        "date" => out.push_str(&date(attr(node, "timestamp"))),
        "media" | "mediaInline" => {
            let name = attr_str(node, "alt").filter(|s| !s.trim().is_empty()).or_else(|| attr_str(node, "url"));
            if let Some(name) = name {
                out.push_str(&format!("[media: {}]", name.trim()));
            }
        }
        // Placeholders are template hints, not content.
        "placeholder" => {}
        _ => {
            if let Some(text) = node.get("text").and_then(Value::as_str) {
                out.push_str(text);
            }
            for child in content(node) {
                inline(child, depth + 1, out);
            }
        }
    }
}

fn list(node: &Value, depth: usize, start: Option<u64>) -> String {
    let mut lines = Vec::new();
    let mut number = start.unwrap_or(1);
    for child in content(node) {
        let kind = node_type(child);
        if kind == "listItem" {
            let marker = match start {
                Some(_) => format!("{number}. "),
                None => "- ".to_string(),
            };
            number = number.saturating_add(1);
            lines.push(super::list_item(&marker, &join_blocks(content(child), depth, "\n")));
        } else if matches!(kind, "taskItem" | "decisionItem") {
            lines.push(item_line(child, depth));
        } else {
            // A list nested directly in a list (task lists do this) belongs to
            // the previous item, so it is indented one level.
            let nested = block(child, depth);
            let indented: Vec<String> = nested.lines().map(|l| format!("  {l}")).collect();
            lines.push(indented.join("\n"));
        }
    }
    lines.retain(|l| !l.trim().is_empty());
    lines.join("\n")
}

fn item_line(node: &Value, depth: usize) -> String {
    let state = attr_str(node, "state").unwrap_or("").to_ascii_uppercase();
    let marker = match (node_type(node), state.as_str()) {
        ("decisionItem", _) => "- Decision: ",
        (_, "DONE") => "- [x] ",
        _ => "- [ ] ",
    };
    super::list_item(marker, &join_blocks(content(node), depth, "\n"))
}

fn table(node: &Value, depth: usize) -> String {
    let mut lines = Vec::new();
    for (i, row) in content(node).iter().enumerate() {
        let cells: Vec<&Value> = content(row).iter().collect();
        if cells.is_empty() {
            continue;
        }
        let texts: Vec<String> = cells.iter().map(|cell| join_blocks(content(cell), depth, " ")).collect();
        lines.push(super::table_row(&texts));
        if i == 0 && cells.iter().all(|c| node_type(c) == "tableHeader") {
            lines.push(super::table_separator(texts.len()));
        }
    }
    lines.join("\n")
}

fn labelled(label: &str, body: &str) -> String {
    match (label.is_empty(), body.trim().is_empty()) {
        (true, _) => body.to_string(),
        (false, true) => label.to_string(),
        (false, false) => format!("{label}\n{body}"),
    }
}

fn card(node: &Value) -> String {
    attr_str(node, "url")
        .or_else(|| attr(node, "data").and_then(|d| d.get("url")).and_then(Value::as_str))
        .or_else(|| attr(node, "data").and_then(|d| d.get("name")).and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

/// ADF dates are epoch milliseconds (as a string or a number) rendered as a
/// UTC calendar date.
fn date(ts: Option<&Value>) -> String {
    let millis = match ts {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    let Some(millis) = millis else {
        return ts.and_then(Value::as_str).unwrap_or("").to_string();
    };
    let days = millis.div_euclid(86_400_000);
    // Howard Hinnant's civil_from_days; i64 days keep every i64 millis in range.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Text of a subtree without structure, walked iteratively so that any depth is safe.
fn flat_text(node: &Value) -> String {
    enum Step<'a> {
        Node(&'a Value),
        Break,
    }
    let mut out = String::new();
    let mut stack = vec![Step::Node(node)];
    while let Some(step) = stack.pop() {
        let node = match step {
            Step::Break => {
                out.push('\n');
                continue;
            }
            Step::Node(n) => n,
        };
        match node {
            Value::String(s) => out.push_str(s),
            Value::Object(_) => {
                if let Some(text) = node.get("text").and_then(Value::as_str) {
                    out.push_str(text);
                } else if node_type(node) == "hardBreak" {
                    out.push('\n');
                } else if let Some(text) = attr_str(node, "text") {
                    out.push_str(text);
                }
                if !is_inline(node) {
                    stack.push(Step::Break);
                }
                stack.extend(content(node).iter().rev().map(Step::Node));
            }
            _ => {}
        }
    }
    out
}

fn is_inline(node: &Value) -> bool {
    match node {
        Value::String(_) => true,
        Value::Object(_) => match node_type(node) {
            "text" | "hardBreak" | "mention" | "emoji" | "inlineCard" | "status" | "date" | "placeholder"
            | "mediaInline" | "inlineExtension" => true,
            "" => node.get("text").is_some(),
            _ => node.get("text").is_some() && node.get("content").is_none(),
        },
        _ => false,
    }
}

fn node_type(node: &Value) -> &str {
    node.get("type").and_then(Value::as_str).unwrap_or("")
}

fn content(node: &Value) -> &[Value] {
    node.get("content").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn attr<'a>(node: &'a Value, key: &str) -> Option<&'a Value> {
    node.get("attrs").and_then(|a| a.get(key))
}

fn attr_str<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    attr(node, key).and_then(Value::as_str)
}

fn link_href(node: &Value) -> Option<&str> {
    node.get("marks")?.as_array()?.iter().find(|m| node_type(m) == "link").and_then(|m| attr_str(m, "href"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::{random_text, read_sample, sample_files, within};
    use super::*;
    use serde_json::json;

    fn sample(rel: &str) -> Value {
        serde_json::from_str(&read_sample(rel)).unwrap()
    }

    /// Every ADF document (`"type": "doc"`) inside a JSON value.
    fn docs(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(map) if map.get("type").and_then(Value::as_str) == Some("doc") => out.push(v.clone()),
            Value::Object(map) => map.values().for_each(|c| docs(c, out)),
            Value::Array(items) => items.iter().for_each(|c| docs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn rich_document_keeps_structure() {
        let text = to_text(&sample("jira/cloud-v3/jira-cli_adf_rich_document.json"));
        assert!(text.starts_with("# H1\n\n## H2\n\n"), "{text}");
        assert!(text.contains("1. Some text\n2. Some more text"));
        assert!(text.contains("> Blockquote text"));
        assert!(text.contains("Inline Node https://antiklabs.atlassian.net/wiki/spaces/ANK/pages/124234/hello-world"));
        assert!(text.contains("Info:\nPanel paragraph"));
        assert!(text.contains("@Person A"));
        assert!(text.contains("Warning:\nStrong Paragraph 1\n\nParagraph 2"));
        assert!(text.contains("\nBold Text\n"), "marks are dropped");
        assert!(text.contains("Link (https://ankit.pl)"));
        assert!(text.contains(
            "- Prefix: Unordered list item 1\n  - Next\n    - Another\n      - New level\n- Unordered list item 2"
        ));
        assert!(text.contains("3. Ordered list item 3\n  1. nested\n    1. second level"));
        assert!(text.contains(
            "| Table Header 1 | Table Header 2 | Table Header 3 |\n| --- | --- | --- |\n| Table row 1 column 1 |"
        ));
        assert!(text.contains("```go\npackage main\n\nimport (\n\t\"fmt\"\n)\n"));
        assert!(text.contains("fmt.Println(\"Hello, World!\")\n}\n```"));
        assert!(!text.lines().any(|l| l.ends_with(' ')), "no trailing whitespace");
        assert!(!text.contains("\n\n\n"));
    }

    #[test]
    fn every_cloud_v3_document_renders() {
        let mut found = Vec::new();
        for path in sample_files("jira/cloud-v3") {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            docs(&v, &mut found);
        }
        assert!(found.len() >= 6, "{}", found.len());
        for doc in &found {
            assert!(!to_text(doc).trim().is_empty());
        }
        let issue = sample("jira/cloud-v3/jira-cli_issue.json");
        assert_eq!(to_text(&issue["fields"]["description"]), "Test description");
        let issue = sample("jira/cloud-v3/openapi-example_GET_rest-api-3-issue.json");
        assert_eq!(to_text(&issue["fields"]["description"]), "Main order flow broken");
    }

    #[test]
    fn non_documents_are_lenient() {
        assert_eq!(to_text(&Value::Null), "");
        assert_eq!(to_text(&json!("plain *wiki* string")), "plain *wiki* string");
        assert_eq!(to_text(&json!(42)), "42");
        let odd = json!({"type": "doc", "content": [
            {"type": "mysteryBlock", "content": [{"type": "text", "text": "inside unknown"}]},
            {"type": "paragraph", "content": "not an array"},
            {"type": "heading", "attrs": {"level": "two"}, "content": [{"type": "text", "text": "Odd"}]},
            {"type": "text", "text": "bare text at block level"},
            {"content": [{"type": "paragraph", "content": [{"text": "typeless"}]}]}
        ]});
        let text = to_text(&odd);
        assert!(text.contains("inside unknown"));
        assert!(text.contains("# Odd"));
        assert!(text.contains("bare text at block level"));
        assert!(text.contains("typeless"));
    }

    #[test]
    fn tasks_decisions_and_inline_nodes() {
        let doc = json!({"type": "doc", "version": 1, "content": [
            {"type": "taskList", "attrs": {"localId": "a"}, "content": [
                {"type": "taskItem", "attrs": {"state": "DONE"}, "content": [{"type": "text", "text": "rotate keys"}]},
                {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [{"type": "text", "text": "write postmortem"}]},
                {"type": "taskList", "content": [
                    {"type": "taskItem", "attrs": {"state": "TODO"}, "content": [{"type": "text", "text": "nested task"}]}
                ]}
            ]},
            {"type": "decisionList", "content": [
                {"type": "decisionItem", "attrs": {"state": "DECIDED"}, "content": [{"type": "text", "text": "roll back"}]}
            ]},
            {"type": "paragraph", "content": [
                {"type": "mention", "attrs": {"id": "557058:abc", "text": "@Jane Doe"}},
                {"type": "text", "text": " and "},
                {"type": "mention", "attrs": {"id": "557058:def"}},
                {"type": "text", "text": " "},
                {"type": "emoji", "attrs": {"shortName": ":fire:", "text": "🔥"}},
                {"type": "text", "text": " "},
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}},
                {"type": "text", "text": " due "},
                {"type": "date", "attrs": {"timestamp": "1582156800000"}},
                {"type": "text", "text": "same", "marks": [{"type": "link", "attrs": {"href": "same"}}]}
            ]},
            {"type": "rule"},
            {"type": "expand", "attrs": {"title": "Details"}, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "hidden body"}]}
            ]},
            {"type": "mediaSingle", "content": [{"type": "media", "attrs": {"id": "x", "type": "file", "alt": "graph.png"}}]},
            {"type": "blockCard", "attrs": {"url": "https://example.com/page"}},
            {"type": "panel", "attrs": {"panelType": "note"}, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "mind the gap"}]}
            ]}
        ]});
        let text = to_text(&doc);
        assert!(text.contains("- [x] rotate keys\n- [ ] write postmortem\n  - [ ] nested task"), "{text}");
        assert!(text.contains("- Decision: roll back"));
        assert!(text.contains("@Jane Doe and @557058:def :fire: [IN PROGRESS] due 2020-02-20same"));
        assert!(text.contains("\n---\n"));
        assert!(text.contains("Details\nhidden body"));
        assert!(text.contains("[media: graph.png]"));
        assert!(text.contains("https://example.com/page"));
        assert!(text.contains("Note:\nmind the gap"));
    }

    #[test]
    fn dates_before_the_epoch_and_garbage() {
        assert_eq!(date(Some(&json!(0))), "1970-01-01");
        assert_eq!(date(Some(&json!(-86_400_000))), "1969-12-31");
        assert_eq!(date(Some(&json!("soon"))), "soon");
        assert!(date(Some(&json!(i64::MIN))).len() > 4);
        assert!(date(Some(&json!(i64::MAX))).len() > 4);
    }

    #[test]
    fn hostile_input_is_bounded() {
        // 10,000 nested lists, built iteratively.
        // json! would serialise the interpolated value recursively, so wrap by hand.
        let wrap = |kind: &str, child: Value| {
            let mut map = serde_json::Map::new();
            map.insert("type".into(), Value::from(kind));
            map.insert("content".into(), Value::Array(vec![child]));
            Value::Object(map)
        };
        let mut node = json!({"type": "paragraph", "content": [{"type": "text", "text": "deepest"}]});
        for _ in 0..10_000 {
            node = wrap("bulletList", wrap("listItem", node));
        }
        let doc = wrap("doc", node);
        let text = within(20, "deep adf", || to_text(&doc));
        assert!(text.contains("deepest"));
        // serde_json drops values recursively; leak the test value instead of
        // overflowing the test thread's stack.
        std::mem::forget(doc);

        let garbage = json!(random_text(1 << 16));
        within(20, "random adf", || to_text(&garbage));
        let big = json!({"type": "doc", "content": (0..50_000).map(|i| json!({
            "type": "paragraph", "content": [{"type": "text", "text": format!("line {i} {}", "x".repeat(90))}]
        })).collect::<Vec<_>>()});
        let text = within(20, "5 MB adf", || to_text(&big));
        assert!(text.len() > 4_500_000);
        let broken = json!({"type": "table", "content": [{"type": "tableRow", "content": 5}, 7, "x", null]});
        within(5, "broken table", || to_text(&broken));
    }
}
