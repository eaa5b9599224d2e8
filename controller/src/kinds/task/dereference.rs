//! Dereference: where a FargateTask runs (the cluster and its region, through the shared
//! [`placement`](super::super::placement)) and the revision it runs: the one pinned in its status, else
//! the referenced TaskDefinition's current revision or the ARN in the spec, with the facts of its
//! containers the outcome depends on (which are essential, where they log).

use super::super::placement::{self, Names, Placed};
use super::plan::ContainerFacts;
use crate::api::{FargateTask, FargateTaskStatus, TaskDefinition};
use crate::aws::Account;
use crate::runtime::{Context, Deref, Error, cache};

/// What the object names, for [`placement`].
pub(super) fn names(obj: &FargateTask) -> Names<'_> {
    Names {
        kind: "FargateTask",
        namespace: obj.metadata.namespace.as_deref().unwrap_or_default(),
        cluster_ref: obj.spec.cluster_ref.as_ref(),
        cluster_arn: obj.spec.cluster_arn.as_deref(),
        task_definition_ref: obj.spec.task_definition_ref.as_ref(),
        task_definition_arn: obj.spec.task_definition_arn.as_deref(),
        region: obj.spec.region.as_deref(),
        profile: None,
    }
}

/// The cluster, region and revision of the run; waits (`DependencyNotReady`) while a referenced
/// object is missing or not Ready. Once pinned, the revision is the status's whatever the spec says.
///
/// A run that has started keeps its cluster and revision from its status: it goes on (its tasks are
/// followed, and stopped on deletion) even while the EcsCluster object is being deleted, which in turn
/// waits for the run.
pub(super) async fn references(
    obj: &FargateTask,
    status: &FargateTaskStatus,
    ctx: &Context,
    aws: &Account<'_>,
    profile: Option<&crate::api::FargateProfile>,
) -> Result<Deref<Placed>, Error> {
    let names = Names {
        profile,
        ..names(obj)
    };
    let (Some(cluster), Some(region), Some(task_definition)) =
        (&status.cluster_arn, &status.region, &status.task_definition_arn)
    else {
        return placement::resolve(names, status.task_definition_arn.as_deref(), ctx, aws).await;
    };
    // Whether the cluster has a default strategy matters only to a launch.
    let default_strategy = match &status.pending_launch {
        None => Vec::new(),
        Some(_) => placement::default_strategy(names, cluster, region, ctx, aws).await?,
    };
    Ok(Deref::Ready(Placed {
        cluster: cluster.clone(),
        region: region.clone(),
        task_definition: task_definition.clone(),
        default_strategy,
        ..Placed::default()
    }))
}

/// The container facts and task role of the referenced TaskDefinition's spec, when it is the object
/// that registered `arn` (its status says so); `None` otherwise (the revision is then described).
pub(super) async fn containers_from_object(
    obj: &FargateTask,
    ctx: &Context,
    arn: &str,
) -> Result<Option<(Vec<ContainerFacts>, Option<String>)>, Error> {
    let Some(r) = &obj.spec.task_definition_ref else {
        return Ok(None);
    };
    let ns = obj.metadata.namespace.as_deref().unwrap_or_default();
    let current = |t: &TaskDefinition| {
        t.status.as_ref().and_then(|s| s.arn.as_deref()) == Some(arn)
            && t.status.as_ref().and_then(|s| s.observed_generation) == t.metadata.generation
    };
    let Some(td) = cache::get::<TaskDefinition>(ctx, ns, &r.name, current).await? else {
        return Ok(None);
    };
    if !current(&td) {
        return Ok(None);
    }
    let role = td.spec.task_role_arn.clone();
    Ok(Some((
        td.spec
            .container_definitions
            .iter()
            .map(|c| ContainerFacts {
                name: c.name.clone(),
                essential: c.essential != Some(false),
                awslogs: c
                    .log_configuration
                    .as_ref()
                    .filter(|l| l.log_driver == "awslogs")
                    .and_then(|l| {
                        Some((
                            l.options.get("awslogs-group")?.clone(),
                            l.options.get("awslogs-stream-prefix").cloned(),
                        ))
                    }),
            })
            .collect(),
        role,
    )))
}
