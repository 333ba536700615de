//! Hand-written JSON Schemas for optional numeric and free-form arguments:
//! plain `integer` with bounds (clients reject `["integer","null"]` and
//! `uint32` formats in strict mode), and an open object for alerts.

use rmcp::schemars::{Schema, SchemaGenerator, json_schema};

pub fn limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1, "maximum": 50 })
}

pub fn search_limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1, "maximum": 100 })
}

pub fn list_limit(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1, "maximum": 10000 })
}

pub fn depth(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "integer", "minimum": 1, "maximum": 1000 })
}

pub fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "additionalProperties": true })
}

use std::sync::Arc;

use rmcp::model::JsonObject;
use rmcp::schemars::JsonSchema;
use rmcp::schemars::generate::SchemaSettings;
use serde_json::Value;

/// The output schema of `T` as it serialises: optional fields (skipped when
/// absent) are plain typed, never `["T", "null"]`, which strict clients and
/// single-type dialects reject.
pub fn output<T: JsonSchema>() -> Arc<JsonObject> {
    portable(SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>())
}

/// The input schema of `T`: optional arguments are simply not required.
pub fn input<T: JsonSchema>() -> Arc<JsonObject> {
    portable(SchemaSettings::draft2020_12().for_deserialize().into_generator().into_root_schema_for::<T>())
}

fn portable(schema: Schema) -> Arc<JsonObject> {
    let mut value = schema.to_value();
    strip_optional_nulls(&mut value);
    if let Value::Object(o) = &mut value {
        o.remove("title");
        o.remove("$schema");
        if !o.contains_key("type") {
            o.insert("type".into(), Value::String("object".into()));
        }
    }
    match value {
        Value::Object(o) => Arc::new(o),
        _ => Arc::new(JsonObject::new()),
    }
}

/// In every object schema, a property that is not required and may be null
/// becomes its non-null form.
fn strip_optional_nulls(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let required: Vec<String> = o
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = o.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        drop_null(prop);
                    }
                }
            }
            for child in o.values_mut() {
                strip_optional_nulls(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_optional_nulls),
        _ => {}
    }
}

fn drop_null(prop: &mut Value) {
    let Value::Object(p) = prop else { return };
    if let Some(Value::Array(types)) = p.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            p.insert("type".into(), only);
        }
    }
    if p.get("default").is_some_and(Value::is_null) {
        p.remove("default");
    }
    let branches = p.get("anyOf").or_else(|| p.get("oneOf")).and_then(Value::as_array).cloned();
    if let Some(branches) = branches {
        let non_null: Vec<Value> =
            branches.into_iter().filter(|b| b.get("type").and_then(Value::as_str) != Some("null")).collect();
        if non_null.len() == 1 {
            p.remove("anyOf");
            p.remove("oneOf");
            if let Value::Object(branch) = &non_null[0] {
                for (k, v) in branch {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
    }
}
