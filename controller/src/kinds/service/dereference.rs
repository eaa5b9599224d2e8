//! Dereference: the objects a FargateService names, read before anything is decided. The cluster and
//! the task definition come from their objects (through [`crate::runtime::cache`]) or from the ARNs in
//! the spec; the ScalingPolicy that owns `desiredCount` comes from [`crate::runtime::relations`]. A
//! reference that is not usable yet is a [`Deref::Wait`]; a reference that can never work (a cluster
//! of another namespace, a region that disagrees) is a terminal error.

use super::super::placement;
use crate::api::{FargateService, FargateServiceStatus, ScalingPolicy};
use crate::aws::Account;
use crate::runtime::{Context, Deref, Error, cache, relations};
use kube::ResourceExt;

/// How often a service waiting for a referenced object looks again (its watch usually wakes it first).
pub(super) const RECHECK_DEPENDENCY: std::time::Duration = placement::RECHECK_DEPENDENCY;

/// Where the ECS service lives: the cluster (ARN or name), the region (`None`: the account's default)
/// and the service name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) cluster: String,
    pub(super) region: Option<String>,
    pub(super) name: String,
}

/// Everything `apply` needs from the referenced objects.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Resolved {
    /// Always with its region: a service runs in its cluster's region.
    pub(super) target: Target,
    /// The task-definition revision the service should run.
    pub(super) task_definition: String,
    /// The ScalingPolicy that owns the service's `desiredCount`, if any.
    pub(super) scaled_by: Option<String>,
    /// The cluster's default capacity provider strategy (empty: none).
    pub(super) default_strategy: Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>,
    /// The task definition's named ports, when known (from a TaskDefinition object).
    pub(super) port_names: Option<Vec<String>>,
    /// The cluster's default Service Connect namespace, if it has one.
    pub(super) service_connect_default: Option<String>,
}

/// The referenced cluster, task definition and scaling policy of `obj`; waits (`DependencyNotReady`)
/// while the cluster or task definition is missing or not Ready.
pub(super) async fn references(
    obj: &FargateService,
    ctx: &Context,
    aws: &Account<'_>,
    profile: Option<&crate::api::FargateProfile>,
) -> Result<Deref<Resolved>, Error> {
    let names = placement::Names {
        profile,
        ..names(obj)
    };
    let placed = match placement::resolve(names, None, ctx, aws).await? {
        Deref::Ready(placed) => placed,
        Deref::Wait(state) => return Ok(Deref::Wait(state)),
    };
    let target = Target {
        cluster: placed.cluster,
        region: Some(placed.region),
        name: obj.service_name(),
    };
    let task_definition = placed.task_definition;
    let scaled_by = scaler(obj, ctx).await?;
    Ok(Deref::Ready(Resolved {
        target,
        task_definition,
        scaled_by,
        default_strategy: placed.default_strategy,
        port_names: placed.port_names,
        service_connect_default: placed.service_connect_default,
    }))
}

/// Where the service will be, while [`references`] waits (for the task definition, say), when its
/// cluster is known already; `None` otherwise.
pub(super) async fn target_while_waiting(
    obj: &FargateService,
    ctx: &Context,
    aws: &Account<'_>,
    profile: Option<&crate::api::FargateProfile>,
) -> Result<Option<Target>, Error> {
    let names = placement::Names {
        profile,
        ..names(obj)
    };
    Ok(placement::cluster_known(names, ctx, aws)
        .await?
        .map(|(cluster, region)| Target {
            cluster,
            region: Some(region),
            name: obj.service_name(),
        }))
}

/// The ScalingPolicy (if any) that targets this service, by reference or by its resource id
/// (`service/<cluster>/<service>`), and so owns its desired count.
pub(super) async fn scaler(obj: &FargateService, ctx: &Context) -> Result<Option<String>, Error> {
    let policies = cache::list::<ScalingPolicy>(ctx, &obj.namespace().unwrap_or_default()).await?;
    Ok(relations::scaler_of(obj, policies.iter().map(AsRef::as_ref)))
}

/// [`scaler`], read from the API server: for a decision that would undo the scaler's work (reset
/// the desired count) or let the service go before its policy.
pub(super) async fn scaler_confirmed(obj: &FargateService, ctx: &Context) -> Result<Option<String>, Error> {
    let policies = cache::list_from_api::<ScalingPolicy>(ctx, &obj.namespace().unwrap_or_default()).await?;
    Ok(relations::scaler_of(obj, policies.iter().map(AsRef::as_ref)))
}

/// Who scales the service when no ScalingPolicy object does: a scalable target registered outside this
/// controller (Terraform, the console, a ScalingPolicy deleted with `deletionPolicy: Retain`) owns the
/// count just as a policy would. `Some("ScalableTarget <resource id>")` when there is one.
pub(super) async fn external_scaler(aws: &Account<'_>, target: &Target) -> Result<Option<String>, Error> {
    let id = relations::scaling_resource_id(&target.cluster, &target.name);
    let found = aws
        .describe_scalable_target(target.region.as_deref(), &id)
        .await?;
    Ok(found.map(|_| format!("ScalableTarget {id}")))
}

/// Where the service was created, for its deletion: the cluster and region of the status, else of
/// `clusterArn` or of the referenced EcsCluster's status whatever its condition (asked of the API
/// server: a deletion never trusts a cache); `None` when there is no such cluster, so nothing was
/// created.
pub(super) async fn created_in(
    obj: &FargateService,
    ctx: &Context,
    status: &FargateServiceStatus,
) -> Result<Option<Target>, Error> {
    let (cluster, region) = match (&status.cluster_arn, &status.region) {
        (Some(c), r) => (c.clone(), r.clone()),
        // No cluster in status (a crash right after CreateService, say): take it from the spec or
        // the EcsCluster object, Ready or not; only without any cluster was nothing created.
        (None, _) => match placement::cluster_for_cleanup(names(obj), ctx).await? {
            Some(c) => c,
            None => return Ok(None),
        },
    };
    Ok(Some(Target {
        cluster,
        region,
        name: status.service_name.clone().unwrap_or_else(|| obj.service_name()),
    }))
}

/// What the service names, for [`placement`].
pub(super) fn names(obj: &FargateService) -> placement::Names<'_> {
    placement::Names {
        kind: "FargateService",
        namespace: obj.metadata.namespace.as_deref().unwrap_or_default(),
        cluster_ref: obj.spec.cluster_ref.as_ref(),
        cluster_arn: obj.spec.cluster_arn.as_deref(),
        task_definition_ref: obj.spec.task_definition_ref.as_ref(),
        task_definition_arn: obj.spec.task_definition_arn.as_deref(),
        region: obj.spec.region.as_deref(),
        profile: None,
    }
}
