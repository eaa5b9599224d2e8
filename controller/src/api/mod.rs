//! The Kubernetes API of ecs-controller: one file per kind (spec, status, admission validation), plus the
//! pieces every kind shares (conditions, tags, ownership labels).
//!
//! Spec fields mirror the ECS API's own JSON names (camelCase), so a user can paste an ECS request body
//! under `spec:`. Admission validation lives here as OpenAPI constraints and CEL rules with messages, so
//! the API server rejects what it can before the controller sees it.

// kube's `printcolumn(name = .., type_ = ..)` repeats its keys once per column by design.
#![allow(clippy::duplicated_attributes)]

pub mod cluster;
pub mod conditions;
pub mod profile;
pub mod reference;
pub mod scaling_policy;
pub mod service;
pub mod task;
pub mod task_definition;

pub use cluster::{EcsCluster, EcsClusterSpec, EcsClusterStatus};
pub use conditions::{Condition, ConditionStatus};
pub use profile::{FargateProfile, FargateProfileSpec, FargateProfileStatus};
pub use scaling_policy::{ScalingPolicy, ScalingPolicySpec, ScalingPolicyStatus};
pub use service::{FargateService, FargateServiceSpec, FargateServiceStatus};
pub use task::{FargateTask, FargateTaskSpec, FargateTaskStatus};
pub use task_definition::{TaskDefinition, TaskDefinitionSpec, TaskDefinitionStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The finalizer the controller puts on every object it manages in AWS.
pub const FINALIZER: &str = "ecs.kubefargate.dev/finalizer";
/// Annotation: `retain` keeps the AWS resource when the Kubernetes object is deleted (the older spelling of
/// `spec.deletionPolicy: Retain`, still honoured).
pub const DELETION_POLICY_ANNOTATION: &str = "ecs.kubefargate.dev/deletion-policy";
/// Annotation: any new value asks for an immediate reconcile (drift check) of the object.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "ecs.kubefargate.dev/reconcile-requested-at";

/// Ownership tags written on every AWS resource the controller creates; the controller never changes or
/// deletes an AWS resource whose `OWNER_UID_TAG` is not the object's uid.
pub const OWNER_UID_TAG: &str = "ecs.kubefargate.dev/owner-uid";
pub const OWNER_NAMESPACE_TAG: &str = "ecs.kubefargate.dev/namespace";
pub const OWNER_NAME_TAG: &str = "ecs.kubefargate.dev/name";
/// The prefix reserved for the controller's own tags; user tags may not use it.
pub const RESERVED_TAG_PREFIX: &str = "ecs.kubefargate.dev/";

/// A resource tag, as ECS writes it (`[{key, value}]`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub struct Tag {
    /// Tag key: 1-128 letters, digits, spaces and `_ . : / = + - @`; `aws:` and `ecs.kubefargate.dev/`
    /// are reserved.
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"))]
    pub key: String,
    /// Tag value: up to 256 of the same characters.
    #[serde(default)]
    #[schemars(length(max = 256), regex(pattern = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"))]
    pub value: String,
}

/// How an object relates to its AWS resource: whether it may take over one it did not create, what
/// happens to it on deletion, and whether the controller may write to AWS at all. Flattened into every
/// kind's spec (`spec.adoption`, `spec.deletionPolicy`, `spec.managementPolicy`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Policies {
    /// What to do when the AWS resource already exists and no ecs-controller object owns it (no
    /// ownership tags, or tags naming this object's namespace and name, as after a `Retain` deletion):
    /// `Adopt` takes it over and never creates one, `AdoptOrCreate` takes it over or creates it. Left
    /// out, such a resource is reported as `NotOwned` and left untouched. A resource owned by another
    /// object is never adopted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<Adoption>,
    /// `Delete` (default) removes the AWS resource with the object; `Retain` leaves it in AWS and only
    /// releases the finalizer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// `Manage` (default) converges AWS to the spec; `ObserveOnly` never writes to AWS and only reports
    /// what exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,
}

impl Policies {
    pub fn observe_only(&self) -> bool {
        self.management_policy == Some(ManagementPolicy::ObserveOnly)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Adoption {
    /// Take over an existing resource; never create one.
    Adopt,
    /// Take over an existing resource, or create it when there is none.
    AdoptOrCreate,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    #[default]
    Manage,
    ObserveOnly,
}

/// CEL rules shared by every `tags` list (attached to each kind's spec).
pub(crate) const TAGS_RULE_RESERVED: &str = "!has(self.tags) || self.tags.all(t, !t.key.startsWith('aws:') && !t.key.startsWith('ecs.kubefargate.dev/'))";
pub(crate) const TAGS_MESSAGE_RESERVED: &str =
    "tags: keys starting with 'aws:' or 'ecs.kubefargate.dev/' are reserved";

/// Every CRD this controller serves, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    crate::runtime::kinds::all().iter().map(|k| (k.crd)()).collect()
}

/// The CRDs as one multi-document YAML stream, exactly as checked in under `crds/`.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;

    /// The paths under `schema` of properties that have no description.
    fn undescribed(schema: &JSONSchemaProps, path: &str, out: &mut Vec<String>) {
        for (name, prop) in schema.properties.iter().flatten() {
            let here = format!("{path}.{name}");
            if prop.description.as_deref().is_none_or(|d| d.trim().is_empty()) {
                out.push(here.clone());
            }
            undescribed(prop, &here, out);
            if let Some(k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaPropsOrArray::Schema(items)) =
                &prop.items
            {
                undescribed(items, &format!("{here}[]"), out);
            }
        }
    }

    /// The watch caches hold every object of every kind: the fields most objects leave out are boxed
    /// rather than carried inline (a FargateService was 1800 bytes before any of its strings).
    #[test]
    fn a_cached_service_carries_its_rare_settings_boxed() {
        let size = std::mem::size_of::<super::FargateService>();
        assert!(size <= 1500, "FargateService: {size} bytes inline");
    }

    /// `kubectl explain` shows a field's description: every field of every kind's spec and status has
    /// one.
    #[test]
    fn every_field_of_every_kind_has_a_description() {
        let mut missing = Vec::new();
        for crd in super::crds() {
            for version in &crd.spec.versions {
                let root = version
                    .schema
                    .as_ref()
                    .and_then(|s| s.open_api_v3_schema.as_ref())
                    .and_then(|s| s.properties.as_ref());
                for part in ["spec", "status"] {
                    if let Some(schema) = root.and_then(|p| p.get(part)) {
                        undescribed(schema, &format!("{}.{part}", crd.spec.names.kind), &mut missing);
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "fields without a description:\n  {}",
            missing.join("\n  ")
        );
    }
}
