//! ScalingPolicy: register the service's scalable target, then make its policies and scheduled actions
//! exactly the spec's (put what is missing or differs, in place by name; delete what the spec dropped).
//! The object owns the service's scaling setup: on deletion everything goes, target last.
//!
//! This file is the driver only: each reconcile is a short list of named steps, each in its own
//! module: [`dereference`] finds the target (or says what to wait for), [`plan`] decides, purely, what
//! to change and what to report, [`act`] makes the changes in AWS.

mod act;
mod dereference;
mod plan;

use crate::api::{FargateService, ScalingPolicy, ScalingPolicyStatus};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::relations;
use crate::runtime::{Applied, Cleanup, Context, Deref, Error, Managed};
use kube::runtime::controller::Controller;
use std::sync::Arc;

crate::managed_status!(ScalingPolicyStatus);

impl Managed for ScalingPolicy {
    type Status = ScalingPolicyStatus;
    const NAME: &'static str = "scaling-policy";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_SERVICES,
        op::DESCRIBE_SCALABLE_TARGETS,
        op::REGISTER_SCALABLE_TARGET,
        op::DEREGISTER_SCALABLE_TARGET,
        op::DESCRIBE_SCALING_POLICIES,
        op::PUT_SCALING_POLICY,
        op::DELETE_SCALING_POLICY,
        op::DESCRIBE_SCHEDULED_ACTIONS,
        op::PUT_SCHEDULED_ACTION,
        op::DELETE_SCHEDULED_ACTION,
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
        status: ScalingPolicyStatus,
    ) -> Result<Applied<ScalingPolicyStatus>, Error> {
        // 0. An object stored before the API took AWS's names: refused before anything is read or changed.
        plan::from_the_old_api(&self.spec)?;
        let aws = crate::runtime::aws_for(ctx, self)?;
        // 1. Dereference: the target, or what to wait for.
        let target = match dereference::target(self, ctx, &aws, &status).await? {
            Deref::Ready(target) => target,
            Deref::Wait(state) => return Ok(Applied::new(status, state)),
        };
        let at = act::At::new(&aws, Some(&target.region));
        let (id, spec) = (target.resource_id.as_str(), &self.spec);
        if spec.policies.observe_only() {
            // Report the target and its policies, write nothing.
            let policies = at.policies(id).await?;
            let (status, state) = plan::observed(status, &target, &policies);
            return Ok(Applied::new(status, state));
        }
        // 2-3. Plan and act, step by step: the scalable target, its policies, its scheduled actions.
        let mut done = act::Done::default();
        act::run(&at, id, plan::scalable_target(spec, &target), &mut done).await?;
        let policies = act::converge_policies(&at, id, |have| plan::policies(spec, have), &mut done).await?;
        let actions =
            act::converge_scheduled_actions(&at, id, |have| plan::scheduled_actions(spec, have), &mut done)
                .await?;
        // 4. Status.
        let (status, state) = plan::report(status, spec, &target, done.registered_arn, &policies, &actions);
        Ok(Applied::new(status, state).with_notes(done.notes))
    }

    async fn cleanup(&self, ctx: &Context, status: &ScalingPolicyStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let Some((id, region)) = dereference::removable(self, ctx, status).await? else {
            return Ok(Cleanup::Done);
        };
        act::teardown(&act::At::new(&aws, region.as_deref()), &id).await?;
        Ok(Cleanup::Done)
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // The service being created (or changing) wakes the policies that name it.
        let policies = controller.store();
        controller.watches_shared_stream(
            relations::changes(
                ctx.feeds.subscribe::<FargateService>(),
                relations::service_as_read,
            ),
            move |s| relations::policies_naming_service(policies.state().iter().map(AsRef::as_ref), &s),
        )
    }
}
