//! Act: the FargateService's AWS I/O and nothing else. Describes the service (through the account's
//! batched DescribeServices), takes the [`Action`] the plan decided with the [`crate::aws::ecs`] calls,
//! deletes the service on cleanup, and hands back what AWS answered for the plan to report.

use super::dereference::Target;
use super::plan::Action;
use crate::aws::Account;
use crate::aws::ecs as ecs_api;
use crate::runtime::Error;
use aws_sdk_ecs::types as sdk;

/// The service as ECS has it (with tags); `None` when it does not exist or is INACTIVE.
pub(super) async fn describe(aws: &Account<'_>, target: &Target) -> Result<Option<sdk::Service>, Error> {
    Ok(aws
        .describe_service(target.region.as_deref(), &target.cluster, &target.name)
        .await?)
}

/// Looks the service up while it waits for its references, when its cluster is known: with the other
/// services waiting at the moment, in shared DescribeServices calls (see
/// [`Account::look_up_service_ahead`]). Best effort: a failed look-up only means the service is looked
/// up again before its creation.
pub(super) async fn look_up_ahead(aws: &Account<'_>, target: &Target) {
    if let Err(e) = aws
        .look_up_service_ahead(target.region.as_deref(), &target.cluster, &target.name)
        .await
    {
        tracing::debug!(service = %target.name, error = %e, "look-up ahead of the creation failed");
    }
}

/// Whether a look-up ahead found the service absent (forgetting it: one create may rely on it).
pub(super) fn known_absent(aws: &Account<'_>, target: &Target) -> bool {
    aws.take_service_absence(target.region.as_deref(), &target.cluster, &target.name)
}

/// Takes `action`; returns the service as AWS answered (the created or updated service, or the one
/// described when only tags were synced).
pub(super) async fn execute(
    aws: &Account<'_>,
    target: &Target,
    action: Action,
    adopting: bool,
) -> Result<sdk::Service, Error> {
    let ecs = &aws.region(target.region.as_deref()).ecs;
    let name = &target.name;
    if adopting {
        tracing::info!(service = %name, "adopting ECS service");
    }
    match action {
        Action::Create(new) => {
            tracing::info!(service = %name, cluster = %target.cluster, "creating ECS service");
            Ok(ecs_api::create_service(ecs, *new).await?)
        }
        Action::Update {
            current,
            changes,
            tags,
        } => {
            tracing::info!(service = %name, changed = ?changes.changed(), "updating ECS service");
            let mut updated = ecs_api::update_service(ecs, &target.cluster, name, *changes).await?;
            // UpdateService does not return tags; keep the ones just described.
            updated.tags = Some(current.tags().to_vec());
            sync_tags(ecs, &updated, &tags).await?;
            Ok(updated)
        }
        Action::SyncTags { current, tags } => {
            sync_tags(ecs, &current, &tags).await?;
            Ok(*current)
        }
    }
}

/// Brings the tags of `service` to `desired` (TagResource / UntagResource only for what differs).
async fn sync_tags(
    ecs: &crate::aws::EcsClient,
    service: &sdk::Service,
    desired: &[sdk::Tag],
) -> Result<(), Error> {
    if let Some(arn) = service.service_arn() {
        ecs_api::sync_tags(ecs, arn, service.tags(), desired).await?;
    }
    Ok(())
}

/// DeleteService, forced (ECS stops the tasks itself); returns the service as ECS reports it
/// afterwards (`None`: it was already gone).
pub(super) async fn delete(aws: &Account<'_>, target: &Target) -> Result<Option<sdk::Service>, Error> {
    let ecs = &aws.region(target.region.as_deref()).ecs;
    tracing::info!(service = %target.name, "deleting ECS service");
    Ok(ecs_api::delete_service(ecs, &target.cluster, &target.name, true).await?)
}

/// The lifecycle stage of the service deployment `deployment` (ARN), as ECS reports it.
pub(super) async fn stage(
    aws: &Account<'_>,
    target: &Target,
    deployment: &str,
) -> Result<Option<String>, Error> {
    let ecs = &aws.region(target.region.as_deref()).ecs;
    Ok(ecs_api::service_deployment_stage(ecs, deployment).await?)
}
