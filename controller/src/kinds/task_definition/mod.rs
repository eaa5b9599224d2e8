//! TaskDefinition: one family, one new revision per spec change, never a duplicate.
//!
//! Each revision is tagged with the hash of the spec it came from and the owner's uid. A reconcile first
//! checks the revision in status (one DescribeTaskDefinition per resync), and only when the spec changed
//! (or that revision vanished) looks for a revision with the current hash before registering, so retries,
//! restarts and a crash between RegisterTaskDefinition and the status write never register twice.

mod act;
mod dereference;
pub(super) mod input;
mod plan;

use crate::api::{FargateService, TaskDefinition, TaskDefinitionStatus};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::{Applied, Cleanup, Context, Deref, Error, Managed};
use kube::ResourceExt;
use std::collections::BTreeSet;

crate::managed_status!(TaskDefinitionStatus);

impl TaskDefinition {
    /// The family: `spec.family`, else metadata.name.
    pub fn family(&self) -> String {
        self.spec.family.clone().unwrap_or_else(|| self.name_any())
    }
}

impl Managed for TaskDefinition {
    type Status = TaskDefinitionStatus;
    const NAME: &'static str = "task-definition";
    /// Revisions are immutable in ECS: only a deregistration behind the controller's back can drift.
    const RESYNC_FACTOR: u32 = 6;
    const OPERATIONS: &'static [Operation] = &[
        op::REGISTER_TASK_DEFINITION,
        op::DESCRIBE_TASK_DEFINITION,
        op::LIST_TASK_DEFINITIONS,
        op::DEREGISTER_TASK_DEFINITION,
        op::DELETE_TASK_DEFINITIONS,
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
        status: TaskDefinitionStatus,
    ) -> Result<Applied<TaskDefinitionStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        // Once registered, the family stays in its region even if the controller's default changes.
        let clients = aws.region(self.spec.region.as_deref().or(status.region.as_deref()));
        let ecs = &clients.ecs;
        // The selecting FargateProfile fills in the execution role, logging and tags the spec leaves
        // out (so a profile change makes a new revision) and refuses a task role it does not allow.
        let profile = crate::kinds::profile::for_workload(ctx, self).await?;
        let filled;
        let this = match profile.as_deref() {
            Some(p) => {
                filled = plan::with_profile(self, p, &clients.region)?;
                &filled
            }
            None => self,
        };
        let mut status = status;
        status.profile = profile.as_ref().map(|p| p.name_any());
        let family = this.family();
        let hash = input::spec_hash(&this.spec);
        if self.spec.policies.observe_only() {
            let newest = act::newest(&aws, &clients.region, ecs, &family).await?;
            return Ok(plan::observed(status, &family, &clients.region, newest));
        }
        let seen = act::look_up(&aws, &clients.region, ecs, &status, &family, &hash, |tags| {
            plan::serves_spec(this, &hash, tags)
        })
        .await?;
        let plan = match plan::apply(this, &status, &family, &hash, seen)? {
            Deref::Ready(plan) => plan,
            Deref::Wait(state) => return Ok(Applied::new(status, state)),
        };
        if plan.adopted {
            tracing::info!(%family, "adopting the task definition family");
        }
        let Some(current) = act::converge(
            &aws,
            &clients.region,
            ecs,
            &plan.revision,
            &plan.desired_tags,
            &plan.family,
        )
        .await?
        else {
            return Ok(Applied::new(status, plan::family_changed(&family)));
        };
        // Only revisions beyond the history need the services' view: one in use is never deregistered.
        let stale = plan::beyond_history(&plan, &current, self.spec.revision_history_limit);
        let in_use = if stale.is_empty() {
            BTreeSet::new()
        } else {
            dereference::revisions_in_use(ctx, self, &family).await?
        };
        let mut pruned = plan::prune(&current, &stale, &in_use);
        if !pruned.is_empty() {
            // Deregistering on the cache's word: confirmed with the API server first.
            let in_use = dereference::revisions_in_use_confirmed(ctx, self, &family).await?;
            pruned = plan::prune(&current, &stale, &in_use);
        }
        act::prune(&aws, &clients.region, ecs, &pruned).await?;
        let (family, region) = (family.as_str(), clients.region.as_str());
        Ok(plan::applied(
            status, plan, &current, &pruned, family, hash, region,
        ))
    }

    fn watches(
        controller: kube::runtime::controller::Controller<Self>,
        ctx: &std::sync::Arc<Context>,
    ) -> kube::runtime::controller::Controller<Self> {
        // A service moving off a revision (or going away) may free revisions to prune or delete.
        // So may a task that finishes or goes away, to a task definition being deleted (any other would
        // spend a describe on every finished task).
        let tds = controller.store();
        controller
            .watches_shared_stream(ctx.feeds.subscribe::<FargateService>(), |s| {
                crate::runtime::relations::task_definition_freed_by(&s)
            })
            .watches_shared_stream(ctx.feeds.subscribe::<crate::api::FargateTask>(), move |t| {
                crate::runtime::relations::task_definition_freed_by_task(&t).filter(|d| {
                    tds.get(d)
                        .is_some_and(|d| d.metadata.deletion_timestamp.is_some())
                })
            })
    }

    async fn cleanup(&self, ctx: &Context, status: &TaskDefinitionStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let family = status.family.clone().unwrap_or_else(|| self.family());
        let clients = aws.region(status.region.as_deref().or(self.spec.region.as_deref()));
        let ecs = &clients.ecs;
        // Held by services on every recorded revision: wait without asking AWS anything (their
        // deletion wakes this object).
        let in_use = dereference::revisions_in_use(ctx, self, &family).await?;
        if let Some(wait) = plan::held(&family, status, &in_use) {
            return Ok(wait);
        }
        let ours = act::owned_active(&aws, &clients.region, ecs, self, status, &family).await?;
        let mut removal = plan::removal(&in_use, ours.clone());
        if !removal.deregister.is_empty() {
            // Deregistering on the cache's word: confirmed with the API server first.
            let in_use = dereference::revisions_in_use_confirmed(ctx, self, &family).await?;
            if let Some(wait) = plan::held(&family, status, &in_use) {
                return Ok(wait);
            }
            removal = plan::removal(&in_use, ours);
        }
        // The deletion is announced while the deregistrations wait for their turn (ECS allows one a
        // second), so that a mass deletion's revisions share DeleteTaskDefinitions calls.
        let expected = aws.expect_deletion(Some(&clients.region));
        act::deregister(&aws, &clients.region, ecs, &removal.deregister).await?;
        act::delete(
            &aws,
            &clients.region,
            &plan::to_delete(status, &removal.deregister),
            expected,
        )
        .await?;
        Ok(plan::cleaned(&removal.blocked))
    }
}
