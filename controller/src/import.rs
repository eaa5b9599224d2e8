//! `ecs-controller import task-definition FILE.json`: turns the output of
//! `aws ecs describe-task-definition` (or a bare task definition, or a `task-definition.json`) into a
//! TaskDefinition manifest, dropping what ECS fills in itself.

use crate::api::RESERVED_TAG_PREFIX;
use crate::api::task_definition::TaskDefinitionSpec;
use serde_json::{Map, Value};

/// Fields ECS returns that are not part of RegisterTaskDefinition's input.
pub const READ_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

/// Why an input cannot be turned into a manifest (a message for the user).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// The manifest (YAML) and the names of input fields the spec does not model (dropped, reported).
///
/// `adoption` is the manifest's `spec.adoption`; without it, `Adopt` for the output of
/// describe-task-definition (the family exists: the object takes it over) and `AdoptOrCreate` for a
/// task-definition.json, the input of register-task-definition (the family may not exist yet: the first
/// apply registers it). JSON `null`s are absent values, as the AWS CLI and the console write them.
pub fn task_definition(
    input: &str,
    namespace: Option<&str>,
    adoption: Option<crate::api::Adoption>,
) -> Result<(String, Vec<String>), ImportError> {
    let mut value: Value = serde_json::from_str(input).map_err(|e| ImportError(format!("not JSON: {e}")))?;
    drop_nulls(&mut value);
    let (mut body, tags) = match value {
        Value::Object(mut top) if top.contains_key("taskDefinition") => {
            let tags = top.remove("tags");
            match top.remove("taskDefinition") {
                Some(Value::Object(td)) => (td, tags),
                _ => return Err(ImportError("`taskDefinition` is not an object".into())),
            }
        }
        Value::Object(td) => (td, None),
        _ => return Err(ImportError("expected a JSON object".into())),
    };
    // What ECS wrote, rather than what a user registers: the family exists.
    let described = tags.is_some() || READ_ONLY.iter().any(|k| body.contains_key(*k));
    for key in READ_ONLY {
        body.remove(*key);
    }
    if let Some(tags) = tags.filter(|t| t.as_array().is_some_and(|a| !a.is_empty())) {
        body.entry("tags").or_insert(tags);
    }
    // Tags the controller writes itself (and AWS's own) do not belong in a spec.
    if let Some(Value::Array(tags)) = body.get_mut("tags") {
        tags.retain(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or_default();
            !key.starts_with("aws:") && !key.starts_with(RESERVED_TAG_PREFIX)
        });
    }
    let family = body
        .get("family")
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError("the task definition has no family".into()))?
        .to_string();

    let mut spec: TaskDefinitionSpec = serde_path_to_error::deserialize(Value::Object(body.clone()))
        .map_err(|e| {
            let path = e.path().to_string();
            ImportError(format!(
                "does not fit the TaskDefinition spec: {}: {}",
                if path == "." {
                    "spec".to_string()
                } else {
                    format!("spec.{path}")
                },
                e.into_inner()
            ))
        })?;
    let kept = serde_json::to_value(&spec).map_err(|e| ImportError(e.to_string()))?;
    // A family that exists outside ecs-controller is taken over (new revisions go into it; the existing
    // ones stay as they are); one from a task-definition.json is registered if it does not exist yet.
    spec.policies.adoption = Some(adoption.unwrap_or(if described {
        crate::api::Adoption::Adopt
    } else {
        crate::api::Adoption::AdoptOrCreate
    }));
    let mut dropped = Vec::new();
    unmodelled("spec", &Value::Object(body), &kept, &mut dropped);

    let mut metadata = Map::new();
    let name = kubernetes_name(&family);
    if name.is_empty() {
        return Err(ImportError(format!(
            "cannot make a Kubernetes name from the family {family:?}"
        )));
    }
    metadata.insert("name".into(), Value::String(name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), Value::String(ns.to_string()));
    }
    let manifest = serde_json::json!({
        "apiVersion": "ecs.kubefargate.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": metadata,
        "spec": spec,
    });
    let yaml = serde_yaml::to_string(&manifest).map_err(|e| ImportError(e.to_string()))?;
    Ok((yaml, dropped))
}

/// Removes the `null` members of every object (an absent value, as ECS means it).
fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(o) => {
            o.retain(|_, v| !v.is_null());
            o.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Paths present in `input` but absent from what the spec kept, skipping empty values.
fn unmodelled(path: &str, input: &Value, kept: &Value, out: &mut Vec<String>) {
    match (input, kept) {
        (Value::Object(i), Value::Object(k)) => {
            for (key, v) in i {
                let empty = v.is_null()
                    || v.as_array().is_some_and(|a| a.is_empty())
                    || v.as_object().is_some_and(|o| o.is_empty());
                match k.get(key) {
                    Some(kv) => unmodelled(&format!("{path}.{key}"), v, kv, out),
                    None if !empty => out.push(format!("{path}.{key}")),
                    None => {}
                }
            }
        }
        (Value::Array(i), Value::Array(k)) => {
            for (n, (iv, kv)) in i.iter().zip(k).enumerate() {
                unmodelled(&format!("{path}[{n}]"), iv, kv, out);
            }
        }
        _ => {}
    }
}

/// A DNS-1123 name from a family name (lowercase, `_` to `-`).
fn kubernetes_name(family: &str) -> String {
    let name: String = family
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name: String = name.trim_matches('-').chars().take(253).collect();
    name.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESCRIBED: &str = r#"{
      "taskDefinition": {
        "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/My_App:7",
        "family": "My_App", "revision": 7, "status": "ACTIVE", "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"], "compatibilities": ["EC2", "FARGATE"],
        "cpu": "256", "memory": "512", "registeredAt": "2026-01-01T00:00:00Z", "registeredBy": "arn:aws:iam::1:user/x",
        "requiresAttributes": [{"name": "ecs.capability.task-eni"}],
        "containerDefinitions": [{"name": "app", "image": "nginx", "cpu": 0, "essential": true,
          "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
          "environment": [], "mountPoints": [], "volumesFrom": [], "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
          "dnsServers": ["10.0.0.2"]}],
        "volumes": [], "placementConstraints": []
      },
      "tags": [{"key": "team", "value": "a"}, {"key": "ecs.kubefargate.dev/owner-uid", "value": "x"}]
    }"#;

    #[test]
    fn import_drops_read_only_fields_and_reports_unmodelled_ones() {
        let (yaml, dropped) = task_definition(DESCRIBED, Some("apps"), None).expect("imports");
        let v: Value = serde_yaml::from_str(&yaml).expect("yaml");
        assert_eq!(v["metadata"]["name"], "my-app");
        assert_eq!(v["metadata"]["namespace"], "apps");
        assert_eq!(v["spec"]["family"], "My_App");
        assert_eq!(v["spec"]["adoption"], "Adopt", "an imported family is adopted");
        assert_eq!(v["spec"]["cpu"], "256");
        assert!(v["spec"].get("revision").is_none() && v["spec"].get("taskDefinitionArn").is_none());
        assert!(v["spec"].get("compatibilities").is_none() && v["spec"].get("registeredAt").is_none());
        assert_eq!(
            v["spec"]["containerDefinitions"][0]["portMappings"][0]["containerPort"],
            80
        );
        assert_eq!(
            v["spec"]["tags"],
            serde_json::json!([{"key": "team", "value": "a"}])
        );
        assert_eq!(
            v["spec"]["containerDefinitions"][0]["systemControls"],
            serde_json::json!([{"namespace": "net.core.somaxconn", "value": "1024"}])
        );
        // An EC2-only field the spec leaves out on purpose (docs/task-definition-fields.md).
        assert_eq!(
            dropped,
            vec!["spec.containerDefinitions[0].dnsServers".to_string()]
        );
    }

    #[test]
    fn import_rejects_what_is_not_a_task_definition() {
        assert!(task_definition("[]", None, None).is_err());
        assert!(
            task_definition("{\"containerDefinitions\": []}", None, None)
                .unwrap_err()
                .0
                .contains("family")
        );
    }

    #[test]
    fn nulls_are_absent_values_and_a_misfit_names_its_path() {
        // As the console and older CLI versions export: nulls wherever a field is unset.
        let exported = r#"{"family": "web", "taskRoleArn": null, "cpu": "256", "memory": "512",
          "networkMode": "awsvpc", "volumes": null, "placementConstraints": null,
          "containerDefinitions": [{"name": "app", "image": "nginx", "command": null, "environment": null,
            "portMappings": [{"containerPort": 80, "hostPort": null, "protocol": "tcp"}],
            "logConfiguration": null, "healthCheck": null}]}"#;
        let (yaml, dropped) = task_definition(exported, None, None).expect("nulls are absent values");
        let v: Value = serde_yaml::from_str(&yaml).expect("yaml");
        assert!(dropped.is_empty(), "{dropped:?}");
        let container = &v["spec"]["containerDefinitions"][0];
        assert_eq!(
            container["portMappings"][0],
            serde_json::json!({"containerPort": 80, "protocol": "tcp"})
        );
        assert!(container.get("command").is_none() && v["spec"].get("taskRoleArn").is_none());

        let misfit = r#"{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx",
          "portMappings": [{"containerPort": "eighty"}]}]}"#;
        let err = task_definition(misfit, None, None).unwrap_err().0;
        assert!(
            err.contains("spec.containerDefinitions[0].portMappings[0].containerPort: invalid type"),
            "{err}"
        );
        let missing = r#"{"family": "web", "containerDefinitions": [{"image": "nginx"}]}"#;
        let err = task_definition(missing, None, None).unwrap_err().0;
        assert!(
            err.contains("spec.containerDefinitions[0]: missing field `name`"),
            "{err}"
        );
    }

    #[test]
    fn a_task_definition_json_is_created_if_missing_and_a_described_one_adopted() {
        let adoption = |input: &str, asked| -> Value {
            let (yaml, _) = task_definition(input, None, asked).expect("imports");
            let v: Value = serde_yaml::from_str(&yaml).expect("yaml");
            v["spec"]["adoption"].clone()
        };
        let registration =
            r#"{"family": "web", "containerDefinitions": [{"name": "app", "image": "nginx"}]}"#;
        assert_eq!(adoption(registration, None), "AdoptOrCreate");
        assert_eq!(adoption(DESCRIBED, None), "Adopt");
        assert_eq!(
            adoption(DESCRIBED, Some(crate::api::Adoption::AdoptOrCreate)),
            "AdoptOrCreate"
        );
        assert_eq!(adoption(registration, Some(crate::api::Adoption::Adopt)), "Adopt");
    }
}
