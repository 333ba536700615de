//! YAML as sources write it (Backstage catalogs, front matter), read into
//! JSON values with a budget: anchors and aliases that would expand into
//! gigabytes (a "billion laughs" file), nesting past the stack, or node
//! counts out of proportion are refused with an error that says where.

use serde_json::Value;

/// Why a YAML text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// 1-based index of the document in a multi-document text.
    pub document: usize,
    /// 1-based line in the text; 0 when unknown.
    pub line: usize,
    pub message: String,
}

/// Documents per text: a catalog file may hold thousands of entities.
const MAX_DOCUMENTS: usize = 100_000;
/// Nodes per text (maps, sequences and scalars), far beyond a real catalog
/// file of the largest size FFO reads.
const MAX_NODES: usize = 5_000_000;
/// Nesting depth of collections.
pub const MAX_DEPTH: usize = 64;

/// YAML 1.2 as Backstage and most tools read it: `yes`, `on` and `y` are
/// words, not booleans; numbers with underscores or leading zeros stay text.
fn options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_documents: MAX_DOCUMENTS,
            max_nodes: MAX_NODES,
            max_events: MAX_NODES * 4,
            max_depth: MAX_DEPTH,
        },
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

/// Every document of a multi-document text (`---` separated), in order;
/// an empty or commented-out document is `null`, so that documents keep
/// their numbers.
pub fn documents(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut out = Vec::new();
    for (index, (first_line, doc)) in split(text).into_iter().enumerate() {
        let value = document(doc).map_err(|mut e| {
            e.document = index + 1;
            e.line = if e.line == 0 { 0 } else { first_line + e.line - 1 };
            e
        })?;
        out.push(value);
    }
    Ok(out)
}

/// Splits a stream at document markers (`---` at the start of a line; a
/// `...` end marker ends a document). Each document comes with the
/// 1-based line it starts on. A marker line's own content (`--- !tag`,
/// `--- value`) stays with its document.
fn split(text: &str) -> Vec<(usize, &str)> {
    let is_marker = |line: &str, m: &str| {
        line.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut out = Vec::new();
    let (mut start, mut start_line, mut offset) = (0usize, 1usize, 0usize);
    let mut seen_content = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if is_marker(trimmed, "---") {
            // The first marker opens the first document unless content came before it.
            if seen_content || !out.is_empty() || start != offset {
                out.push((start_line, &text[start..offset]));
            }
            start = offset + 3;
            start_line = i + 1;
            seen_content = true;
        } else if is_marker(trimmed, "...") {
            out.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = i + 2;
            seen_content = false;
        } else if !trimmed.trim().is_empty() && !trimmed.trim_start().starts_with('#') {
            seen_content = true;
        }
        offset += line.len();
    }
    if seen_content || out.is_empty() || start < text.len() && !text[start..].trim().is_empty() {
        out.push((start_line, &text[start..]));
    }
    out
}

/// The one document of a text (front matter); an empty text is `null`.
pub fn document(text: &str) -> Result<Value, YamlError> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_saphyr::from_str_with_options::<Value>(text, options()).map_err(|e| error(&e))
}

fn error(e: &serde_saphyr::Error) -> YamlError {
    let line = e.location().map_or(0, |l| usize::try_from(l.line()).unwrap_or(0));
    // The message without the snippet some errors carry: one line is enough.
    let message = e.to_string().lines().next().unwrap_or("invalid YAML").to_string();
    YamlError { document: 1, line, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_values_and_where_errors_are() {
        let docs = documents("a: 1\n---\nb: [x, y]\n---\n# only a comment\n---\nc: 2\n").unwrap();
        assert_eq!(docs.len(), 4, "{docs:?}");
        assert_eq!(docs[0]["a"], 1);
        assert_eq!(docs[1]["b"][1], "y");
        assert_eq!(docs[2], Value::Null);
        assert_eq!(docs[3]["c"], 2);
        assert_eq!(documents("---\na: 1\n").unwrap().len(), 1);
        assert_eq!(documents("--- {a: 1}\n--- {b: 2}\n").unwrap()[1]["b"], 2);
        let e = documents("a: 1\n---\nb: [x\nc: d: e\n").unwrap_err();
        assert_eq!(e.document, 2, "{e:?}");
        assert!(e.line >= 3, "{e:?}");
        assert_eq!(document("").unwrap(), Value::Null);
        let words = document("a: yes\nb: on\nc: 007\nd: true\n").unwrap();
        assert_eq!(
            (words["a"].as_str(), words["b"].as_str(), words["c"].as_str()),
            (Some("yes"), Some("on"), Some("007"))
        );
        assert_eq!(words["d"], true);
    }

    #[test]
    fn a_billion_laughs_is_refused_quickly() {
        let mut bomb =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["b", "c", "d", "e", "f", "g", "h", "i"];
        let mut prev = "a";
        for n in names {
            bomb.push_str(&format!(
                "{n}: &{n} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
            ));
            prev = n;
        }
        let started = std::time::Instant::now();
        let e = documents(&bomb).unwrap_err();
        assert!(!e.message.is_empty());
        // Refused, not expanded: 9^9 strings would take minutes and gigabytes.
        assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
        let deep = format!("a: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(documents(&deep).is_err());
    }
}
