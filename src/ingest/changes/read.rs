//! An input's values (one JSON object, a JSON array, JSON Lines, or YAML
//! documents) and which format each value is in. Knows nothing of any one
//! format's fields beyond what tells them apart.

use serde_json::Value;

use super::Format;

/// The values of an input; a value that could not be read is an `Err` at
/// its index. `Err` for the whole input when it is no JSON, JSON Lines or
/// YAML at all.
pub fn values(bytes: &[u8]) -> Result<Vec<Result<Value, String>>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("the input is not UTF-8 text (byte {})", e.valid_up_to()))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the input is empty".into());
    }
    let json_error = match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Array(items)) if items.is_empty() => return Err("an empty JSON array".into()),
        Ok(Value::Array(items)) => return Ok(items.into_iter().map(Ok).collect()),
        Ok(v @ Value::Object(_)) => return Ok(vec![Ok(v)]),
        Ok(other) => return Err(format!("a JSON {}, not an object or a list of objects", type_name(&other))),
        Err(e) => e,
    };
    if trimmed.starts_with(['{', '[']) {
        let lines: Vec<&str> = trimmed.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.len() > 1 {
            let parsed: Vec<Result<Value, String>> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    serde_json::from_str::<Value>(l)
                        .map_err(|e| format!("line {} of JSON Lines is not JSON: {e}", i + 1))
                })
                .collect();
            if parsed.iter().any(Result::is_ok) {
                return Ok(parsed);
            }
        }
        return Err(format!("not JSON: {json_error}"));
    }
    yaml(trimmed)
}

/// YAML documents (`---` separated), each as a JSON value, read with the
/// budget of [`crate::ingest::yaml`].
fn yaml(text: &str) -> Result<Vec<Result<Value, String>>, String> {
    let docs = crate::ingest::yaml::documents(text)
        .map_err(|e| format!("not JSON or YAML: YAML document {}, line {}: {}", e.document, e.line, e.message))?;
    let mut out = Vec::new();
    let mut objects = 0;
    for (i, value) in docs.into_iter().enumerate() {
        match value {
            Value::Null => {}
            v @ Value::Object(_) => {
                objects += 1;
                out.push(Ok(v));
            }
            Value::Array(items) => {
                objects += items.len();
                out.extend(items.into_iter().map(Ok));
            }
            other => out.push(Err(format!("YAML document {} is a {}, not a mapping", i + 1, type_name(&other)))),
        }
    }
    if objects == 0 {
        return Err("not JSON, JSON Lines or YAML mappings".into());
    }
    Ok(out)
}

/// What a value looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    Format(Format),
    /// A shape FFO knows that carries no change event, and why.
    Other(String),
    Unknown,
}

/// Recognises a value's format by the fields only it has.
pub fn detect(v: &Value) -> Detected {
    let Value::Object(o) = v else {
        return Detected::Unknown;
    };
    let has = |k: &str| o.contains_key(k);
    let s = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or_default();
    let cdevent_type = |c: Option<&Value>| {
        c.and_then(|c| c.get("type")).and_then(Value::as_str).is_some_and(|t| t.starts_with("dev.cdevents."))
    };
    if cdevent_type(o.get("context")) || (s("type").starts_with("dev.cdevents.") && has("data")) {
        return Detected::Format(Format::CdEvents);
    }
    if o.get("deployment").is_some_and(Value::is_object)
        || (has("sha") && has("ref") && has("task") && has("environment") && has("id"))
    {
        return Detected::Format(Format::GitHub);
    }
    if has("apiVersion") && has("kind") {
        let (api, kind) = (s("apiVersion"), s("kind"));
        return match kind {
            "Application" if api.starts_with("argoproj.io/") => Detected::Format(Format::ArgoCd),
            "Event" | "EventList" | "List" | "Deployment" | "StatefulSet" | "DaemonSet" => {
                Detected::Format(Format::Kubernetes)
            }
            other => Detected::Other(format!("a {api} {other}, not a change record; passed over")),
        };
    }
    if has("routing_key") && has("payload") {
        if has("event_action") {
            return Detected::Other(
                "a PagerDuty alert event (it has event_action), not a change event; passed over".into(),
            );
        }
        return Detected::Format(Format::PagerDuty);
    }
    let attributes = o.get("data").and_then(|d| d.get("attributes")).or_else(|| o.get("attributes"));
    if attributes.and_then(|a| a.get("category")).is_some_and(Value::is_string) {
        return Detected::Format(Format::Datadog);
    }
    if has("issues") || has("webhookEvent") || (has("key") && has("fields")) {
        return Detected::Other(
            "a Jira issue, search page or webhook: `ffo ingest jira` reads it, and its change issues become changes there"
                .into(),
        );
    }
    if has("results") || (matches!(s("type"), "page" | "blogpost") && has("body")) {
        return Detected::Other(
            "a Confluence export: `ffo ingest confluence` reads it, and pages labelled as changes become changes there"
                .into(),
        );
    }
    if has("title") {
        return Detected::Format(Format::Ffo);
    }
    Detected::Unknown
}

/// The top-level keys of a value, for messages.
pub fn shape(v: &Value) -> String {
    match v {
        Value::Object(o) => {
            let keys: Vec<&str> = o.keys().map(String::as_str).take(8).collect();
            format!("top-level keys: {}", keys.join(", "))
        }
        other => format!("a JSON {}", type_name(other)),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn objects_lists_json_lines_and_yaml() {
        assert_eq!(values(br#"{"title": "a"}"#).unwrap().len(), 1);
        assert_eq!(values(br#"[{"title": "a"}, {"title": "b"}]"#).unwrap().len(), 2);
        let lines = values(b"{\"title\": \"a\"}\n{\"title\": \n{\"title\": \"c\"}\n").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].as_ref().unwrap_err().contains("line 2"), "{lines:?}");
        let docs = values(b"kind: Event\napiVersion: v1\n---\n---\nkind: List\napiVersion: v1\n").unwrap();
        assert_eq!(docs.len(), 2);
        for bad in [&b""[..], b"   ", b"[]", b"42", b"hello world", b"\xff\xfe", b"{not json"] {
            assert!(values(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn formats_are_told_apart_by_their_fields() {
        let f = |v: Value| detect(&v);
        assert_eq!(
            f(json!({"context": {"type": "dev.cdevents.service.deployed.0.3.0"}})),
            Detected::Format(Format::CdEvents)
        );
        assert_eq!(
            f(json!({"specversion": "1.0", "type": "dev.cdevents.x", "data": {}})),
            Detected::Format(Format::CdEvents)
        );
        assert_eq!(f(json!({"deployment": {}, "repository": {}})), Detected::Format(Format::GitHub));
        assert_eq!(
            f(json!({"id": 1, "sha": "a", "ref": "main", "task": "deploy", "environment": "p"})),
            Detected::Format(Format::GitHub)
        );
        assert_eq!(
            f(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application"})),
            Detected::Format(Format::ArgoCd)
        );
        assert_eq!(f(json!({"apiVersion": "v1", "kind": "Event"})), Detected::Format(Format::Kubernetes));
        assert!(matches!(f(json!({"apiVersion": "v1", "kind": "ConfigMap"})), Detected::Other(_)));
        assert_eq!(f(json!({"routing_key": "k", "payload": {}})), Detected::Format(Format::PagerDuty));
        assert!(matches!(f(json!({"routing_key": "k", "payload": {}, "event_action": "trigger"})), Detected::Other(_)));
        assert_eq!(f(json!({"data": {"attributes": {"category": "change"}}})), Detected::Format(Format::Datadog));
        assert!(matches!(f(json!({"issues": []})), Detected::Other(m) if m.contains("ffo ingest jira")));
        assert_eq!(f(json!({"title": "x"})), Detected::Format(Format::Ffo));
        assert_eq!(f(json!({"hello": 1})), Detected::Unknown);
        assert_eq!(f(json!([1])), Detected::Unknown);
    }
}
