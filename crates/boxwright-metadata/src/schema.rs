//! The JSON Schema of `metadata.json`, generated from the same types the loader uses.

use serde_json::{Value, json};

use crate::Target;

/// The JSON Schema (draft 2020-12) that every valid `metadata.json` validates against.
pub fn json_schema() -> Value {
    let target = serde_json::to_value(schemars::schema_for!(Target)).expect("a schema serialises");
    let mut definitions = target.get("$defs").cloned().unwrap_or_else(|| json!({}));
    let mut target_schema = target;
    if let Value::Object(map) = &mut target_schema {
        map.remove("$defs");
        map.remove("$schema");
    }
    definitions["Target"] = target_schema;
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://boxwright.invalid/schema/metadata.json",
        "title": "boxwright metadata.json",
        "description": "Build targets by name. Keys starting with `x-` are extensions and ignored.",
        "type": "object",
        "properties": { "$schema": { "type": "string" } },
        "patternProperties": { "^x-": true },
        "propertyNames": { "pattern": "^(\\$schema|x-.*|[A-Za-z0-9][A-Za-z0-9._-]*)$" },
        "additionalProperties": { "$ref": "#/$defs/Target" },
        "$defs": definitions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_refers_to_targets_and_forbids_unknown_keys() {
        let schema = json_schema();
        let target = &schema["$defs"]["Target"];
        assert_eq!(target["additionalProperties"], json!(false));
        assert_eq!(
            target["anyOf"],
            json!([
                {"required": ["version_env_var"]},
                {"required": ["upstream"]},
                {"required": ["image"], "properties": {"image": {"required": ["packages"]}}}
            ])
        );
        assert!(schema["$defs"]["Download"]["properties"]["sha256"].is_object());
    }
}
