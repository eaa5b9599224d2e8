//! FargateService: resolve the cluster and task definition from their objects, create the service once
//! (client token + look-up before create), update only the fields that differ, follow the rollout, and
//! on deletion delete the service (forced) and wait for INACTIVE.
//!
//! This file is the driver only: each reconcile is a short list of named steps, each in its own
//! module: [`dereference`] (the referenced objects) -> [`plan`] (pure: what to do, what to report) ->
//! [`act`] (the AWS calls) -> the status, reported by the plan from what AWS answered.

mod act;
mod connect;
mod dereference;
mod plan;
mod strategy;

use crate::api::{EcsCluster, FargateService, FargateServiceStatus, ScalingPolicy, TaskDefinition};
use crate::aws::ErrorKind;
use crate::aws::operations::{self as op, Operation};
use crate::runtime::{Applied, Cleanup, Context, Deref, Error, Managed, relations};
use kube::ResourceExt;
use kube::runtime::controller::Controller;
use plan::{Plan, Removal};
use std::sync::Arc;

crate::managed_status!(FargateServiceStatus);

impl Managed for FargateService {
    type Status = FargateServiceStatus;
    const NAME: &'static str = "service";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_CLUSTERS,
        op::DESCRIBE_SERVICES,
        // The lifecycle stage of a blue/green, linear or canary rollout in progress.
        op::DESCRIBE_SERVICE_DEPLOYMENTS,
        // The revision's task role, once per revision, when a profile limits task roles.
        op::DESCRIBE_TASK_DEFINITION,
        // A scalable target no ScalingPolicy owns, before the count is set.
        op::DESCRIBE_SCALABLE_TARGETS,
        op::CREATE_SERVICE,
        op::UPDATE_SERVICE,
        op::DELETE_SERVICE,
        op::TAG_RESOURCE,
        op::UNTAG_RESOURCE,
    ];

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn policies(&self) -> &crate::api::Policies {
        &self.spec.policies
    }

    async fn apply(
        &self,
        ctx: &Context,
        status: FargateServiceStatus,
    ) -> Result<Applied<FargateServiceStatus>, Error> {
        // The selecting FargateProfile fills in what the spec leaves out.
        let profile = crate::kinds::profile::for_workload(ctx, self).await?;
        let filled;
        let this = match profile.as_deref() {
            Some(p) => {
                filled = plan::with_profile(self, p);
                &filled
            }
            None => self,
        };
        let mut status = status;
        status.profile = profile.as_ref().map(|p| p.name_any());
        let aws = crate::runtime::aws_for(ctx, this)?;
        let mut refs = match dereference::references(this, ctx, &aws, profile.as_deref()).await? {
            Deref::Ready(refs) => refs,
            Deref::Wait(state) => {
                // Never created: look it up now, with the services waiting together, so that its
                // creation needs no look-up of its own once the wait is over.
                if status.arn.is_none()
                    && let Some(target) =
                        dereference::target_while_waiting(this, ctx, &aws, profile.as_deref()).await?
                {
                    act::look_up_ahead(&aws, &target).await;
                }
                return Ok(Applied::new(status, state));
            }
        };
        // A revision the profile did not see registered (by ARN, or an object it does not select)
        // is held to its task-role guard rail too.
        if let Some(p) = profile
            .as_deref()
            .filter(|p| p.spec.allowed_task_role_arns.is_some())
        {
            let ecs = &aws.region(refs.target.region.as_deref()).ecs;
            if let Some(role) = crate::kinds::profile::revision_role(ecs, &refs.task_definition).await? {
                crate::kinds::profile::check_revision_role(p, &role)?;
            }
        }
        // Found absent by a look-up ahead: created without a look-up of its own, unless the plan
        // would do anything else, or ECS refuses the create (a service of that name made since).
        let mut absent = status.arn.is_none() && act::known_absent(&aws, &refs.target);
        let mut described = None;
        loop {
            let observed = match (absent, described.take()) {
                (true, _) => None,
                (false, Some(observed)) => observed,
                (false, None) => act::describe(&aws, &refs.target).await?,
            };
            let mut planned = plan::plan(this, &refs, observed.clone(), status.clone())?;
            if absent && !planned.creates() {
                absent = false;
                continue;
            }
            // Setting the count is destructive when a scaler owns it: "no ScalingPolicy" from the cache
            // is confirmed with the API server first, then with Application Auto Scaling (a scalable
            // target no object owns).
            if refs.scaled_by.is_none() && planned.sets_desired_count() {
                let scaler = match dereference::scaler_confirmed(this, ctx).await? {
                    Some(policy) => Some(policy),
                    None => dereference::external_scaler(&aws, &refs.target).await?,
                };
                if let Some(scaler) = scaler {
                    refs.scaled_by = Some(scaler);
                    planned = plan::plan(this, &refs, observed, status.clone())?;
                }
            }
            let (action, then) = match planned {
                Plan::Settled(applied) => return Ok(applied),
                Plan::Act { action, then } => (action, then),
            };
            let answered = match act::execute(&aws, &refs.target, action, then.adopts()).await {
                Err(Error::Aws(e)) if absent && e.kind == ErrorKind::Terminal => {
                    // ECS refuses to create a service whose name is taken ("Creation of service was
                    // not idempotent"); any other refusal stands.
                    let found = act::describe(&aws, &refs.target).await?;
                    if found.is_none() {
                        return Err(e.into());
                    }
                    tracing::info!(service = %refs.target.name, "the service found absent before exists now: planning again");
                    (absent, described) = (false, Some(found));
                    continue;
                }
                answered => answered?,
            };
            let stage = match plan::wants_stage(&answered) {
                Some(deployment) => act::stage(&aws, &refs.target, deployment).await?,
                None => None,
            };
            return Ok(then.with(&refs, &answered, stage));
        }
    }

    async fn cleanup(&self, ctx: &Context, status: &FargateServiceStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        // A policy still on the service holds its deletion (from the synced cache: deleting the service
        // first would only leave the policy's cleanup nothing to deregister).
        if let Some(wait) = plan::held_by(dereference::scaler(self, ctx).await?) {
            return Ok(wait);
        }
        let Some(target) = dereference::created_in(self, ctx, status).await? else {
            return Ok(Cleanup::Done);
        };
        // Deleted while it waited: a look-up ahead of its creation is not needed any more.
        act::known_absent(&aws, &target);
        let observed = act::describe(&aws, &target).await?;
        match plan::removal(self, &target, observed.as_ref()) {
            Removal::Gone => Ok(Cleanup::Done),
            Removal::NotOwned => {
                tracing::warn!(service = %target.name, "the ECS service is not owned by this object: leaving it in AWS");
                Ok(Cleanup::Done)
            }
            Removal::Delete => {
                let answered = act::delete(&aws, &target).await?;
                Ok(plan::after_delete(&target, answered.as_ref()))
            }
            Removal::Wait(wait) => Ok(wait),
        }
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // A referenced cluster, task definition or scaling policy changed: wake the services that name it.
        let services = controller.store();
        let by_cluster = services.clone();
        let by_td = services.clone();
        controller
            .watches_shared_stream(
                relations::changes(ctx.feeds.subscribe::<EcsCluster>(), relations::cluster_as_read),
                move |c| relations::services_naming_cluster(by_cluster.state().iter().map(AsRef::as_ref), &c),
            )
            .watches_shared_stream(
                relations::changes(
                    ctx.feeds.subscribe::<TaskDefinition>(),
                    relations::task_definition_as_read,
                ),
                move |t| {
                    relations::services_naming_task_definition(by_td.state().iter().map(AsRef::as_ref), &t)
                },
            )
            .watches_shared_stream(
                relations::changes(ctx.feeds.subscribe::<ScalingPolicy>(), relations::policy_as_read),
                |p| relations::service_of(&p),
            )
    }
}
