//! Dereference: the objects a FargateService names, read before anything is decided. The cluster and
//! the task definition come from their objects (through [`crate::runtime::cache`]) or from the ARNs in
//! the spec; the ScalingPolicy that owns `desiredCount` comes from [`crate::runtime::relations`]. A
//! reference that is not usable yet is a [`Deref::Wait`]; a reference that can never work (a cluster
//! of another namespace, a region that disagrees) is a terminal error.

use crate::api::{
    Condition, ConditionStatus, EcsCluster, FargateService, FargateServiceStatus, ScalingPolicy,
};
use crate::api::{TaskDefinition, conditions as cond};
use crate::aws::Account;
use crate::runtime::conditions::reasons;
use crate::runtime::{Context, Deref, Error, State, cache, relations};
use kube::ResourceExt;
use kube::api::Api;
use std::time::Duration;

/// How often a service waiting for a referenced object looks again (its watch usually wakes it first).
pub(super) const RECHECK_DEPENDENCY: Duration = Duration::from_secs(60);

/// Where the ECS service lives: the cluster (ARN or name), the region (`None`: the account's default)
/// and the service name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Target {
    pub(super) cluster: String,
    pub(super) region: Option<String>,
    pub(super) name: String,
}

/// Everything `apply` needs from the referenced objects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Resolved {
    /// Always with its region: a service runs in its cluster's region.
    pub(super) target: Target,
    /// The task-definition revision the service should run.
    pub(super) task_definition: String,
    /// The ScalingPolicy that owns the service's `desiredCount`, if any.
    pub(super) scaled_by: Option<String>,
}

/// The referenced cluster, task definition and scaling policy of `obj`; waits (`DependencyNotReady`)
/// while the cluster or task definition is missing or not Ready.
pub(super) async fn references(
    obj: &FargateService,
    ctx: &Context,
    aws: &Account<'_>,
) -> Result<Deref<Resolved>, Error> {
    let (target, task_definition) = match placement(obj, ctx, aws).await? {
        Deref::Ready(placed) => placed,
        Deref::Wait(state) => return Ok(Deref::Wait(state)),
    };
    let scaled_by = scaler(obj, ctx).await?;
    Ok(Deref::Ready(Resolved {
        target,
        task_definition,
        scaled_by,
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
        (None, _) => match cluster_for_cleanup(obj, ctx).await? {
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

/// A dependency that is not there yet, with a message naming it.
fn not_ready<T>(message: impl Into<String>) -> Result<Deref<T>, Error> {
    Ok(Deref::Wait(State::Waiting {
        reason: reasons::DEPENDENCY_NOT_READY,
        message: message.into(),
        recheck: RECHECK_DEPENDENCY,
    }))
}

fn ready(conditions: &[Condition]) -> bool {
    cond::find(conditions, cond::READY).is_some_and(|c| c.status == ConditionStatus::True)
}

/// A referenced object whose status is Ready, has an ARN and speaks of its current generation.
fn settled(
    arn: Option<&String>,
    conditions: &[Condition],
    observed: Option<i64>,
    generation: Option<i64>,
) -> bool {
    arn.is_some() && ready(conditions) && observed == generation
}

/// The service's target (with its region) and task definition, or why they are not usable yet.
async fn placement(
    obj: &FargateService,
    ctx: &Context,
    aws: &Account<'_>,
) -> Result<Deref<(Target, String)>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let (cluster, region) = match (relations::cluster_of(obj), &obj.spec.cluster_arn) {
        (_, Some(arn)) => (arn.clone(), arn.split(':').nth(3).map(str::to_string)),
        (Some(r), None) => {
            let current = |c: &EcsCluster| {
                c.status.as_ref().is_some_and(|s| {
                    settled(
                        s.arn.as_ref(),
                        &s.conditions,
                        s.observed_generation,
                        c.metadata.generation,
                    )
                }) && c.metadata.deletion_timestamp.is_none()
            };
            let Some(c) = cache::get::<EcsCluster>(ctx, &ns, &r.name, current).await? else {
                return not_ready(format!("EcsCluster {} does not exist", r.name));
            };
            let status = c.status.unwrap_or_default();
            match status.arn {
                Some(arn) if ready(&status.conditions) && c.metadata.deletion_timestamp.is_none() => {
                    (arn, status.region)
                }
                _ => return not_ready(format!("EcsCluster {} is not Ready", r.name)),
            }
        }
        (None, None) => return not_ready("no cluster: set clusterRef or clusterArn"),
    };
    let task_definition = match (relations::task_definition_of(obj), &obj.spec.task_definition_arn) {
        (_, Some(arn)) => arn.clone(),
        (Some(r), None) => {
            // From the cache only when it holds the revision of the current spec.
            let current = |t: &TaskDefinition| {
                t.status.as_ref().is_some_and(|s| {
                    settled(
                        s.arn.as_ref(),
                        &s.conditions,
                        s.observed_generation,
                        t.metadata.generation,
                    )
                })
            };
            let Some(td) = cache::get::<TaskDefinition>(ctx, &ns, &r.name, current).await? else {
                return not_ready(format!("TaskDefinition {} does not exist", r.name));
            };
            // The newest registered revision, even while a later spec is being registered: the service
            // keeps running what exists and rolls forward when the new revision lands.
            match td.status.and_then(|s| s.arn) {
                Some(arn) => arn,
                None => return not_ready(format!("TaskDefinition {} is not Ready", r.name)),
            }
        }
        (None, None) => {
            return not_ready("no task definition: set taskDefinitionRef or taskDefinitionArn");
        }
    };
    // A service runs in its cluster's region, with a task definition of that region.
    let region = region.unwrap_or_else(|| aws.default_region().to_string());
    if obj.spec.cluster_arn.is_some() {
        // A cluster named by ARN may not be one an EcsCluster of another namespace manages.
        let name = relations::last_segment(&cluster);
        let Some(c) = aws.describe_cluster(Some(&region), name).await? else {
            return not_ready(format!("ECS cluster {cluster} does not exist"));
        };
        let tag = |key: &str| crate::aws::ecs::tag_value(c.tags(), key);
        if let Some(owner_ns) = tag(crate::api::OWNER_NAMESPACE_TAG)
            && owner_ns != ns
        {
            return Err(Error::Terminal {
                reason: reasons::NOT_OWNED,
                message: format!(
                    "ECS cluster {cluster} belongs to EcsCluster {owner_ns}/{}; a FargateService may only use \
                     clusters of its own namespace (or clusters not managed by ecs-controller)",
                    tag(crate::api::OWNER_NAME_TAG).unwrap_or("?")
                ),
            });
        }
    }
    let td_region = arn_region(&task_definition).unwrap_or(aws.default_region());
    let mismatch = |message: String| {
        Err(Error::Terminal {
            reason: reasons::REGION_MISMATCH,
            message,
        })
    };
    if let Some(want) = &obj.spec.region
        && *want != region
    {
        return mismatch(format!(
            "spec.region is {want} but the cluster {cluster} is in {region}: a service runs in its cluster's region"
        ));
    }
    if td_region != region {
        return mismatch(format!(
            "the task definition {task_definition} is in {td_region} but the cluster is in {region}: \
             register the task definition in {region} (TaskDefinition spec.region)"
        ));
    }
    let target = Target {
        cluster,
        region: Some(region),
        name: obj.service_name(),
    };
    Ok(Deref::Ready((target, task_definition)))
}

/// The region field of an ARN (`arn:aws:ecs:<region>:...`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The cluster (ARN, region) a service was created in, for its deletion: from `clusterArn`, or from the
/// referenced EcsCluster's status whatever its condition; `None` when there is no such cluster.
async fn cluster_for_cleanup(
    obj: &FargateService,
    ctx: &Context,
) -> Result<Option<(String, Option<String>)>, Error> {
    if let Some(arn) = &obj.spec.cluster_arn {
        return Ok(Some((arn.clone(), arn.split(':').nth(3).map(str::to_string))));
    }
    let Some(r) = relations::cluster_of(obj) else {
        return Ok(None);
    };
    let api: Api<EcsCluster> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    Ok(api
        .get_opt(&r.name)
        .await?
        .and_then(|c| c.status)
        .and_then(|s| s.arn.map(|arn| (arn, s.region))))
}
