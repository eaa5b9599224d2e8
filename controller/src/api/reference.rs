//! `docs/api-reference.md`, generated from the CRDs (`ecs-controller api-reference --examples
//! examples`, or `make crds`): every field of every kind with its type, constraints, default and
//! description, the validation rules with their messages, and an example per kind. A test keeps the
//! checked-in file fresh, as it does the CRDs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The reference in Markdown. `examples` maps a kind to manifests of it (YAML) shown as its example.
pub fn markdown(examples: &BTreeMap<String, String>) -> String {
    let crds = super::crds();
    let mut out = String::from(
        "# API reference\n\n\
         Generated from the CRDs by `ecs-controller api-reference --examples examples` (`make crds`); do not \
         edit. Group `ecs.kubefargate.dev`, version `v1alpha1`. `kubectl explain <kind>.spec.<field>` shows \
         the same descriptions.\n\n",
    );
    for crd in &crds {
        let kind = &crd.spec.names.kind;
        let _ = writeln!(out, "- [{kind}](#{})", kind.to_lowercase());
    }
    for crd in &crds {
        kind_section(&mut out, crd, examples.get(&crd.spec.names.kind));
    }
    out
}

/// The example manifests in `dir` (its `.yaml` files, sorted), by kind: every document of a kind,
/// in file order.
pub fn examples_in(dir: &std::path::Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut by_kind: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        for doc in text.split("\n---") {
            let doc = doc.trim_start_matches("---").trim();
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind:"))
                .map(|k| k.trim().to_string());
            if let Some(kind) = kind {
                let entry = by_kind.entry(kind).or_default();
                if !entry.is_empty() {
                    entry.push_str("\n---\n");
                }
                entry.push_str(doc);
                entry.push('\n');
            }
        }
    }
    Ok(by_kind)
}

fn kind_section(out: &mut String, crd: &CustomResourceDefinition, example: Option<&String>) {
    let names = &crd.spec.names;
    let _ = write!(out, "\n## {}\n\n", names.kind);
    let short = names
        .short_names
        .iter()
        .flatten()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        out,
        "{} · `kubectl get {}`{} · categories: {}\n",
        if crd.spec.scope == "Namespaced" {
            "Namespaced"
        } else {
            "Cluster-scoped"
        },
        names.plural,
        if short.is_empty() {
            String::new()
        } else {
            format!(" (short: {short})")
        },
        names
            .categories
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
    );
    let Some(root) = crd
        .spec
        .versions
        .first()
        .and_then(|v| v.schema.as_ref())
        .and_then(|s| s.open_api_v3_schema.as_ref())
    else {
        return;
    };
    if let Some(d) = &root.description {
        let _ = writeln!(out, "{}\n", one_line(d));
    }
    for part in ["spec", "status"] {
        let Some(schema) = root.properties.as_ref().and_then(|p| p.get(part)) else {
            continue;
        };
        let _ = write!(out, "### {part}\n\n");
        let mut rules = Vec::new();
        collect_rules(schema, part, &mut rules);
        if !rules.is_empty() {
            out.push_str("Validation rules (checked by the API server at admission):\n\n");
            for (at, message, rule) in rules {
                let _ = writeln!(out, "- `{at}`: {} (`{rule}`)", one_line(&message));
            }
            out.push('\n');
        }
        out.push_str("| Field | Type | Description |\n|---|---|---|\n");
        fields(out, schema, "", schema.required.as_deref().unwrap_or_default());
        out.push('\n');
    }
    if let Some(example) = example {
        let _ = write!(out, "### Example\n\n```yaml\n{}\n```\n", example.trim_end());
    }
}

/// One table row per field under `schema`, depth first.
fn fields(out: &mut String, schema: &JSONSchemaProps, path: &str, required: &[String]) {
    for (name, prop) in schema.properties.iter().flatten() {
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        let mut kind = type_of(prop);
        if required.contains(name) {
            kind.push_str(", required");
        }
        let _ = writeln!(
            out,
            "| `{here}` | {} | {} |",
            cell(&kind),
            cell(&one_line(prop.description.as_deref().unwrap_or_default()))
        );
        fields(out, prop, &here, prop.required.as_deref().unwrap_or_default());
        if let Some(JSONSchemaPropsOrArray::Schema(items)) = &prop.items {
            fields(
                out,
                items,
                &format!("{here}[]"),
                items.required.as_deref().unwrap_or_default(),
            );
        }
    }
}

/// The type and constraints of a field, e.g. `string, one of: A, B` or `[]object, 1-10 items`.
fn type_of(p: &JSONSchemaProps) -> String {
    let mut parts = Vec::new();
    let base = p.type_.clone().unwrap_or_else(|| "any".into());
    let item = match &p.items {
        Some(JSONSchemaPropsOrArray::Schema(i)) => Some(i.as_ref()),
        _ => None,
    };
    parts.push(match (base.as_str(), item) {
        ("array", Some(i)) => format!("[]{}", i.type_.as_deref().unwrap_or("any")),
        ("object", _) if p.properties.is_none() && p.additional_properties.is_some() => {
            "map[string]string".into()
        }
        _ => base,
    });
    let constrained = |q: &JSONSchemaProps, parts: &mut Vec<String>| {
        if let Some(e) = &q.enum_ {
            let values: Vec<String> = e
                .iter()
                .filter(|v| !v.0.is_null())
                .map(|v| v.0.as_str().map_or_else(|| v.0.to_string(), str::to_string))
                .collect();
            parts.push(format!("one of: {}", values.join(", ")));
        }
        if let Some(pattern) = &q.pattern {
            parts.push(format!("pattern `{pattern}`"));
        }
        if let Some(f) = &q.format {
            parts.push(format!("format {f}"));
        }
        match (q.minimum, q.maximum) {
            (Some(a), Some(b)) => parts.push(format!("{a}-{b}")),
            (Some(a), None) => parts.push(format!(">= {a}")),
            (None, Some(b)) => parts.push(format!("<= {b}")),
            _ => {}
        }
        match (q.min_length, q.max_length) {
            (Some(a), Some(b)) => parts.push(format!("length {a}-{b}")),
            (Some(a), None) => parts.push(format!("length >= {a}")),
            (None, Some(b)) => parts.push(format!("length <= {b}")),
            _ => {}
        }
    };
    constrained(p, &mut parts);
    if let Some(i) = item.filter(|i| i.properties.is_none()) {
        constrained(i, &mut parts);
    }
    match (p.min_items, p.max_items) {
        (Some(a), Some(b)) => parts.push(format!("{a}-{b} items")),
        (Some(a), None) => parts.push(format!("at least {a} items")),
        (None, Some(b)) => parts.push(format!("at most {b} items")),
        _ => {}
    }
    if let Some(d) = &p.default {
        parts.push(format!("default `{}`", d.0));
    }
    if p.x_kubernetes_list_type.as_deref() == Some("map") {
        let keys = p
            .x_kubernetes_list_map_keys
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>();
        parts.push(format!("merged by {}", keys.join(", ")));
    }
    parts.join(", ")
}

/// Every CEL rule at or under `schema`: (where, message, rule).
fn collect_rules(schema: &JSONSchemaProps, path: &str, out: &mut Vec<(String, String, String)>) {
    for v in schema.x_kubernetes_validations.iter().flatten() {
        out.push((
            path.to_string(),
            v.message.clone().unwrap_or_default(),
            v.rule.clone(),
        ));
    }
    for (name, prop) in schema.properties.iter().flatten() {
        collect_rules(prop, &format!("{path}.{name}"), out);
        if let Some(JSONSchemaPropsOrArray::Schema(items)) = &prop.items {
            collect_rules(items, &format!("{path}.{name}[]"), out);
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_reference_lists_every_kind_its_fields_rules_and_example() {
        let examples = std::collections::BTreeMap::from([(
            "EcsCluster".to_string(),
            "kind: EcsCluster\nmetadata: {name: demo}\n".to_string(),
        )]);
        let md = super::markdown(&examples);
        for kind in [
            "EcsCluster",
            "TaskDefinition",
            "FargateService",
            "ScalingPolicy",
            "FargateTask",
            "FargateProfile",
        ] {
            assert!(md.contains(&format!("\n## {kind}\n")), "{kind} missing");
        }
        assert!(md.contains("| `clusterName` | string, pattern `^[a-zA-Z0-9_-]+$`, length 1-255 |"));
        assert!(md.contains("clusterName is immutable: create a new EcsCluster instead"));
        assert!(md.contains("```yaml\nkind: EcsCluster\nmetadata: {name: demo}\n```"));
        assert!(md.contains("| `containerDefinitions[].name` |"));
    }
}
