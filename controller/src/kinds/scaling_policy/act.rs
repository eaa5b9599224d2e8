//! The AWS side of a ScalingPolicy reconcile and nothing else: describing what the target holds and
//! making the changes [`super::plan`] decided, through [`crate::aws::autoscaling`]. No decision is
//! taken here; each call is logged as it was before the kind was split in steps.

use super::plan::{Action, Changes};
use crate::aws::autoscaling as aas_api;
use crate::aws::{Account, AutoScalingClient as Client};
use crate::runtime::{Error, Note};
use aws_sdk_applicationautoscaling::types as sdk;

/// What the changes of a reconcile made: the Events telling them, and the ARN a registration answered.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub(super) notes: Vec<Note>,
    pub(super) registered_arn: Option<String>,
}

/// Makes `changes` on target `id` in order, then stops with the spec error met while planning them,
/// if any. Returns whether anything was changed. Each change made is told to `at`'s account, so the
/// target is read from AWS again, never from a listing made before it.
pub(super) async fn run(at: &At<'_>, id: &str, changes: Changes, done: &mut Done) -> Result<bool, Error> {
    let changed = !changes.actions.is_empty();
    for action in changes.actions {
        let made = make(&at.aas, id, &action, done).await;
        at.aws.wrote_scalable_target(at.region, id);
        made?;
        done.notes.push(action.note(id));
    }
    match changes.invalid {
        Some(e) => Err(e),
        None => Ok(changed),
    }
}

async fn make(aas: &Client, id: &str, action: &Action, done: &mut Done) -> Result<(), Error> {
    match action {
        Action::Adopt => {
            tracing::info!(resource_id = id, "adopting scalable target");
        }
        Action::RegisterTarget { min, max, suspended } => {
            tracing::info!(resource_id = id, min, max, "registering scalable target");
            done.registered_arn =
                aas_api::register_scalable_target(aas, id, *min, *max, suspended.clone()).await?;
        }
        Action::PutPolicy { name, config } => {
            tracing::info!(resource_id = id, policy = %name, kind = super::plan::kind_of(config), "putting scaling policy");
            aas_api::put_scaling_policy(aas, id, name, config.clone()).await?;
        }
        Action::DeletePolicy { name } => {
            tracing::info!(
                resource_id = id,
                policy = %name,
                "deleting scaling policy dropped from the spec"
            );
            aas_api::delete_scaling_policy(aas, id, name).await?;
        }
        Action::PutScheduled(a) => {
            tracing::info!(resource_id = id, action = %a.name, "putting scheduled action");
            aas_api::put_scheduled_action(aas, id, a.clone()).await?;
        }
        Action::DeleteScheduled { name } => {
            tracing::info!(
                resource_id = id,
                action = %name,
                "deleting scheduled action dropped from the spec"
            );
            aas_api::delete_scheduled_action(aas, id, name).await?;
        }
    }
    Ok(())
}

/// Where a target's calls go: its region, with the writes through that region's client and the reads
/// of policies and scheduled actions batched with those of the other reconciles of the moment (a
/// resync of many policies reads the account's policies in pages, not one call per object).
pub(super) struct At<'a> {
    pub(super) aws: &'a Account<'a>,
    pub(super) region: Option<&'a str>,
    pub(super) aas: Client,
}

impl<'a> At<'a> {
    pub(super) fn new(aws: &'a Account<'a>, region: Option<&'a str>) -> Self {
        let aas = aws.region(region).autoscaling;
        Self { aws, region, aas }
    }

    pub(super) async fn policies(&self, id: &str) -> Result<Vec<sdk::ScalingPolicy>, Error> {
        Ok(self.aws.describe_scaling_policies(self.region, id).await?)
    }

    async fn scheduled_actions(&self, id: &str) -> Result<Vec<sdk::ScheduledAction>, Error> {
        Ok(self.aws.describe_scheduled_actions(self.region, id).await?)
    }
}

/// The target's policies made the spec's: described, changed as `plan` decides, described again when
/// anything changed.
pub(super) async fn converge_policies(
    at: &At<'_>,
    id: &str,
    plan: impl FnOnce(&[sdk::ScalingPolicy]) -> Changes,
    done: &mut Done,
) -> Result<Vec<sdk::ScalingPolicy>, Error> {
    let existing = at.policies(id).await?;
    if run(at, id, plan(&existing), done).await? {
        at.policies(id).await
    } else {
        Ok(existing)
    }
}

/// The target's scheduled actions made the spec's, the same way.
pub(super) async fn converge_scheduled_actions(
    at: &At<'_>,
    id: &str,
    plan: impl FnOnce(&[sdk::ScheduledAction]) -> Changes,
    done: &mut Done,
) -> Result<Vec<sdk::ScheduledAction>, Error> {
    let existing = at.scheduled_actions(id).await?;
    if run(at, id, plan(&existing), done).await? {
        at.scheduled_actions(id).await
    } else {
        Ok(existing)
    }
}

/// Removes the target's whole setup with one call: deregistering a scalable target deletes its scaling
/// policies and scheduled actions (DeregisterScalableTarget, Application Auto Scaling API Reference), so
/// they are not read or deleted one by one (moto keeps them: docs/moto.md).
pub(super) async fn teardown(at: &At<'_>, id: &str) -> Result<(), Error> {
    tracing::info!(resource_id = %id, "deregistering scalable target (with its policies and scheduled actions)");
    let deregistered = aas_api::deregister_scalable_target(&at.aas, id).await;
    at.aws.wrote_scalable_target(at.region, id);
    deregistered?;
    Ok(())
}
