//! The checked-in CRDs and API reference are exactly what the code generates.

use std::path::PathBuf;

#[test]
fn checked_in_crds_are_current() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds/ecs.kubefargate.dev.yaml");
    let on_disk = std::fs::read_to_string(&path)?;
    let generated = ecs_controller::api::crds_yaml()?;
    assert!(
        on_disk == generated,
        "{} is stale: run `make crds` and commit the result",
        path.display()
    );
    Ok(())
}

#[test]
fn checked_in_api_reference_is_current() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("docs/api-reference.md");
    let on_disk = std::fs::read_to_string(&path)?;
    let examples = ecs_controller::api::reference::examples_in(&root.join("examples"))?;
    let generated = ecs_controller::api::reference::markdown(&examples);
    assert!(
        on_disk == generated,
        "{} is stale: run `make crds` and commit the result",
        path.display()
    );
    Ok(())
}

/// The CRD schemas of every kind, by kind.
fn schemas() -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    let text = ecs_controller::api::crds_yaml()?;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let crd: serde_json::Value = serde::Deserialize::deserialize(doc)?;
        let kind = crd
            .pointer("/spec/names/kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_string();
        let schema = crd
            .pointer("/spec/versions/0/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_default();
        out.push((kind, schema));
    }
    Ok(out)
}

/// The paths of the properties under `schema` that have no description (`seen` counts them all).
fn undescribed(schema: &serde_json::Value, path: &str, out: &mut Vec<String>, seen: &mut usize) {
    if let Some(props) = schema.get("properties").and_then(serde_json::Value::as_object) {
        for (k, s) in props {
            *seen += 1;
            let p = format!("{path}.{k}");
            let described = s
                .get("description")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|d| !d.trim().is_empty());
            if !described {
                out.push(p.clone());
            }
            undescribed(s, &p, out, seen);
        }
    }
    if let Some(items) = schema.get("items") {
        undescribed(items, &format!("{path}[]"), out, seen);
    }
}

/// `kubectl explain` has something to say about every field of every kind, spec and status.
#[test]
fn kubectl_explain_describes_every_field() -> anyhow::Result<()> {
    let (mut missing, mut seen) = (Vec::new(), 0);
    for (kind, schema) in schemas()? {
        for part in ["spec", "status"] {
            if let Some(s) = schema.pointer(&format!("/properties/{part}")) {
                undescribed(s, &format!("{kind}.{part}"), &mut missing, &mut seen);
            }
        }
    }
    // The walk reached the fields (hundreds of them), not an empty schema.
    assert!(seen > 500, "only {seen} fields walked");
    assert!(
        missing.is_empty(),
        "fields without a description (a doc comment on the Rust field):\n  {}",
        missing.join("\n  ")
    );
    Ok(())
}

/// Spec fields of (nearly) every kind, described once in the README.
const SHARED: &[&str] = &["adoption", "deletionPolicy", "managementPolicy", "region"];

/// The README's section of each kind names every top-level spec field (as `` `field` `` or in its YAML
/// example as `field:`); the nested ones are in docs/api-reference.md, which the section points to.
#[test]
fn the_readme_names_every_spec_field_of_each_kind() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    let section = |title: &str| -> String {
        let start = readme.find(&format!("\n### {title}")).unwrap_or(readme.len());
        let rest = &readme[start..];
        let end = rest[4..].find("\n## ").map_or(rest.len(), |e| e + 4);
        let end = rest[4..].find("\n### ").map_or(end, |e| (e + 4).min(end));
        rest[..end].to_string()
    };
    // The policies every kind has are named once, in the section about every kind.
    let shared = section("Ownership, adoption and safety (every kind)");
    let mut missing = Vec::new();
    for field in SHARED {
        if !shared.contains(&format!("`{field}`")) && !shared.contains(&format!("`spec.{field}`")) {
            missing.push(format!("every kind: spec.{field}"));
        }
    }
    for (kind, schema) in schemas()? {
        let title = if kind == "FargateProfile" {
            "Fargate profiles"
        } else {
            kind.as_str()
        };
        let text = section(title);
        if text.is_empty() {
            missing.push(format!("{kind}: no README section `### {title}`"));
            continue;
        }
        let props = schema
            .pointer("/properties/spec/properties")
            .and_then(serde_json::Value::as_object)
            .cloned()
            .unwrap_or_default();
        for field in props.keys().filter(|f| !SHARED.contains(&f.as_str())) {
            let named = text.contains(&format!("`{field}`"))
                || text.contains(&format!("`{field}:"))
                || text.contains(&format!(" {field}:"))
                || text.contains(&format!("{{{field}:"));
            if !named {
                missing.push(format!("{kind} spec.{field}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "spec fields the README's kind sections do not name:\n  {}",
        missing.join("\n  ")
    );
    Ok(())
}
