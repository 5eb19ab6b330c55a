//! The keys the schema allows at a place in a target, for "did you mean" on unknown keys.

use serde_json::{Map, Value};

/// The keys known at `tokens` (reference tokens below a target, the unknown key's parent),
/// read from the JSON Schema of [`crate::Target`] so that every level is covered.
pub(crate) fn known_at(tokens: &[String]) -> Vec<String> {
    let schema =
        serde_json::to_value(schemars::schema_for!(crate::Target)).expect("a schema serialises");
    let definitions = schema.get("$defs").cloned().unwrap_or_default();
    let mut nodes = expand(&schema, &definitions);
    for token in tokens {
        nodes = nodes
            .iter()
            .filter_map(|node| child(node, token))
            .flat_map(|node| expand(node, &definitions))
            .collect();
    }
    let mut keys: Vec<String> = nodes
        .iter()
        .filter_map(|node| node.get("properties").and_then(Value::as_object))
        .flat_map(Map::keys)
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The schema of `token` below `node`: a property, the map's values, or the array's items.
fn child<'a>(node: &'a Value, token: &str) -> Option<&'a Value> {
    if let Some(property) = node.get("properties").and_then(|p| p.get(token)) {
        return Some(property);
    }
    if token.parse::<usize>().is_ok()
        && let Some(items) = node.get("items")
    {
        return Some(items);
    }
    node.get("additionalProperties").filter(|a| a.is_object())
}

/// `node` with its `$ref` followed and its `anyOf`/`oneOf`/`allOf` alternatives spread out.
fn expand<'a>(node: &'a Value, definitions: &'a Value) -> Vec<&'a Value> {
    let mut out = vec![node];
    if let Some(name) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        && let Some(target) = definitions.get(name)
    {
        out.extend(expand(target, definitions));
    }
    for combinator in ["anyOf", "oneOf", "allOf"] {
        for alternative in node
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(expand(alternative, definitions));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(pointer: &str) -> Vec<String> {
        pointer.split('/').skip(1).map(str::to_string).collect()
    }

    #[test]
    fn keys_at_every_level() {
        assert!(known_at(&[]).contains(&"release_files".to_string()));
        assert!(known_at(&tokens("/downloads/0")).contains(&"sha256".to_string()));
        assert!(known_at(&tokens("/image")).contains(&"platforms".to_string()));
        assert!(known_at(&tokens("/image/packages")).contains(&"architectures".to_string()));
        assert!(known_at(&tokens("/upstream")).contains(&"tag_regex".to_string()));
        assert!(known_at(&tokens("/release")).contains(&"manifest_key_env".to_string()));
    }
}
