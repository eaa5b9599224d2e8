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
pub mod scaling_policy;
pub mod service;
pub mod task_definition;

pub use cluster::{EcsCluster, EcsClusterSpec, EcsClusterStatus};
pub use conditions::{Condition, ConditionStatus};
pub use scaling_policy::{ScalingPolicy, ScalingPolicySpec, ScalingPolicyStatus};
pub use service::{FargateService, FargateServiceSpec, FargateServiceStatus};
pub use task_definition::{TaskDefinition, TaskDefinitionSpec, TaskDefinitionStatus};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of every kind.
pub const GROUP: &str = "ecs.kubefargate.dev";
/// The finalizer the controller puts on every object it manages in AWS.
pub const FINALIZER: &str = "ecs.kubefargate.dev/finalizer";
/// Annotation: `retain` keeps the AWS resource when the Kubernetes object is deleted.
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
    /// Tag key: 1-128 characters; `aws:` and `ecs.kubefargate.dev/` are reserved.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// Tag value: up to 256 characters.
    #[serde(default)]
    #[schemars(length(max = 256))]
    pub value: String,
}

/// CEL rules shared by every `tags` list (attached to each kind's spec).
pub(crate) const TAGS_RULE_RESERVED: &str = "!has(self.tags) || self.tags.all(t, !t.key.startsWith('aws:') && !t.key.startsWith('ecs.kubefargate.dev/'))";
pub(crate) const TAGS_MESSAGE_RESERVED: &str =
    "tags: keys starting with 'aws:' or 'ecs.kubefargate.dev/' are reserved";

/// Every CRD this controller serves, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        EcsCluster::crd(),
        TaskDefinition::crd(),
        FargateService::crd(),
        ScalingPolicy::crd(),
    ]
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
