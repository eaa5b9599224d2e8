//! FargateTask: run ECS tasks on Fargate to completion, like a Job. Each reconcile observes the
//! running tasks (one batched DescribeTasks per 100 tasks of a cluster), records the outcome of every
//! task that stopped, and decides the next step: launch what parallelism allows (the launch and its
//! client token are written to status before RunTask, the task ARNs right after), stop everything past
//! the deadline, finish (`Complete` / `Failed`), or poll again. Deletion stops the running tasks and
//! waits for STOPPED.
//!
//! This file is the driver only: [`dereference`] (cluster and revision) -> [`plan`] (pure: outcomes,
//! classification, the next step) -> [`act`] (the AWS calls).

mod act;
mod dereference;
mod plan;

/// The `startedBy` of a run's tasks (a Job's run is found by it after a restart).
pub(super) use plan::started_by;

use crate::api::{EcsCluster, FargateTask, FargateTaskStatus, TaskDefinition};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::{Applied, Cleanup, Context, Deref, Error, Managed, relations};
use kube::ResourceExt;
use kube::runtime::controller::Controller;
use plan::{Finished, Next};
use std::sync::Arc;
use std::time::SystemTime;

crate::managed_status!(FargateTaskStatus);

impl Managed for FargateTask {
    type Status = FargateTaskStatus;
    const NAME: &'static str = "task";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_CLUSTERS,
        op::DESCRIBE_TASK_DEFINITION,
        op::RUN_TASK,
        op::DESCRIBE_TASKS,
        op::LIST_TASKS,
        op::STOP_TASK,
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
        status: FargateTaskStatus,
    ) -> Result<Applied<FargateTaskStatus>, Error> {
        let now = SystemTime::now();
        match plan::finished(self, &status, now) {
            Some(Finished::Keep(applied)) => return Ok(applied),
            Some(Finished::Expired(applied)) => {
                act::delete_object(ctx, self).await?;
                return Ok(applied);
            }
            None => {}
        }
        // The selecting FargateProfile fills in what the spec leaves out, for launches from now on.
        let profile = crate::kinds::profile::for_workload(ctx, self).await?;
        let filled;
        let this = match profile.as_deref() {
            Some(p) => {
                filled = plan::with_profile(self, p)?;
                &filled
            }
            None => self,
        };
        let mut status = status;
        status.profile = profile.as_ref().map(|p| p.name_any());
        let aws = crate::runtime::aws_for(ctx, this)?;
        let placed = match dereference::references(this, &status, ctx, &aws, profile.as_deref()).await? {
            Deref::Ready(placed) => placed,
            Deref::Wait(state) => return Ok(Applied::new(status, state)),
        };
        let (cluster, region) = (placed.cluster.as_str(), placed.region.as_str());
        if status.task_definition_arn.is_none() {
            let arn = &placed.task_definition;
            let (facts, role) = match dereference::containers_from_object(this, ctx, arn).await? {
                Some(found) => found,
                None => match act::containers(&aws, region, arn).await? {
                    Some(found) => found,
                    None => return Ok(Applied::new(status, plan::no_task_definition(arn))),
                },
            };
            if let Some(p) = profile.as_deref() {
                plan::check_revision_role(this, p, role.as_deref())?;
            }
            status = plan::pin(status, arn, &facts, now);
        }
        status.cluster_arn = Some(cluster.to_string());
        status.region = Some(region.to_string());
        let seen = act::describe(&aws, region, cluster, plan::active_arns(&status)).await?;
        let mut observed = plan::observe(this, status, seen, now);
        if plan::past_deadline(this, &observed.status, now) {
            // A launch recorded but not sent when the deadline passed is not sent.
            observed.status.pending_launch = None;
        }
        if let Some(pending) = observed.status.pending_launch.clone() {
            let request = plan::request(this, &observed.status, &pending, &placed)?;
            let known: Vec<String> = observed
                .status
                .attempts
                .iter()
                .map(|a| a.task_arn.clone())
                .collect();
            let started = act::launch(&aws, region, request, &known).await?;
            let (status, notes) = plan::launched(observed.status, started, now);
            observed.status = status;
            observed.notes.extend(notes);
        }
        for n in &observed.notes {
            crate::metrics::METRICS.fargate_task(n.reason);
        }
        match plan::next(this, observed, now) {
            Next::Report(applied) => {
                if let Some(p) = &applied.status.pending_launch {
                    act::recorded(&p.client_token);
                }
                Ok(applied)
            }
            Next::Stop { arns, reason, then } => {
                act::stop(&aws, region, cluster, &arns, &reason).await?;
                Ok(then)
            }
        }
    }

    async fn cleanup(&self, ctx: &Context, status: &FargateTaskStatus) -> Result<Cleanup, Error> {
        let (Some(cluster), Some(region)) = (&status.cluster_arn, &status.region) else {
            // No task was ever launched (the cluster is recorded before the first launch).
            return Ok(Cleanup::Done);
        };
        let aws = crate::runtime::aws_for(ctx, self)?;
        let mut arns: Vec<String> = status
            .attempts
            .iter()
            .filter(|a| a.last_status != "STOPPED" && a.last_status != "MISSING")
            .map(|a| a.task_arn.clone())
            .collect();
        if status.pending_launch.is_some() {
            // A launch recorded and perhaps sent: its tasks are found by startedBy.
            let by = status
                .started_by
                .clone()
                .unwrap_or_else(|| plan::started_by(self));
            for arn in act::started_by(&aws, region, cluster, &by).await? {
                if !arns.contains(&arn) {
                    arns.push(arn);
                }
            }
        }
        if arns.is_empty() {
            return Ok(Cleanup::Done);
        }
        let seen = act::describe(&aws, region, cluster, arns).await?;
        let (to_stop, next) = plan::removal(self, &seen);
        act::stop(&aws, region, cluster, &to_stop, &plan::deletion_reason(self)).await?;
        Ok(next)
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // A referenced cluster or task definition changed (turned Ready, say): wake the tasks naming it.
        let tasks = controller.store();
        let by_td = tasks.clone();
        controller
            .watches_shared_stream(
                relations::changes(ctx.feeds.subscribe::<EcsCluster>(), relations::cluster_as_read),
                move |c| relations::tasks_naming_cluster(tasks.state().iter().map(AsRef::as_ref), &c),
            )
            .watches_shared_stream(
                relations::changes(
                    ctx.feeds.subscribe::<TaskDefinition>(),
                    relations::task_definition_as_read,
                ),
                move |t| relations::tasks_naming_task_definition(by_td.state().iter().map(AsRef::as_ref), &t),
            )
    }
}
