//! EcsCluster: observe the cluster by name, create it when missing, update only what differs from the
//! fields the user set, delete it (once it has no services) when the object goes.

mod act;
mod dereference;
mod input;
mod plan;

use crate::api::{EcsCluster, EcsClusterStatus, FargateService, FargateTask};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::relations;
use crate::runtime::{Applied, Cleanup, Context, Deref, Error, Managed};
use kube::ResourceExt;
use kube::runtime::controller::Controller;
use plan::Removal;
use std::sync::Arc;

crate::managed_status!(EcsClusterStatus);

impl EcsCluster {
    /// The ECS cluster name: `spec.clusterName`, else metadata.name.
    pub fn cluster_name(&self) -> String {
        self.spec.cluster_name.clone().unwrap_or_else(|| self.name_any())
    }
}

impl Managed for EcsCluster {
    type Status = EcsClusterStatus;
    const NAME: &'static str = "cluster";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_CLUSTERS,
        op::CREATE_CLUSTER,
        op::UPDATE_CLUSTER,
        op::PUT_CLUSTER_CAPACITY_PROVIDERS,
        op::DELETE_CLUSTER,
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
        status: EcsClusterStatus,
    ) -> Result<Applied<EcsClusterStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let name = self.cluster_name();
        // Once created, an object stays in its region even if the controller's default changes.
        let clients = aws.region(self.spec.region.as_deref().or(status.region.as_deref()));
        let region = clients.region.as_str();
        let existing = act::describe(&aws, Some(region), &name).await?;
        if self.spec.policies.observe_only() {
            return Ok(plan::observed(status, &name, region, existing.as_ref()));
        }
        let plan = match plan::apply(self, &name, existing, &status)? {
            Deref::Ready(plan) => plan,
            Deref::Wait(state) => return Ok(Applied::new(status, state)),
        };
        if plan.adopted {
            tracing::info!(cluster = %name, "adopting ECS cluster");
        }
        let cluster = act::execute(&clients.ecs, plan.action).await?;
        let namespace = self
            .spec
            .service_connect_defaults
            .as_ref()
            .map(|d| d.namespace.as_str());
        plan::applied(
            status,
            namespace,
            &name,
            region,
            &cluster,
            plan.adopted,
            plan.notes,
        )
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // A service that goes away may be the last one a deleting cluster waits for.
        // Only a deletion matters here; status changes of services would only cost AWS calls.
        // A task that finishes or goes away may be the last one it waits for, too; only a cluster being
        // deleted cares (any other would spend a DescribeClusters on every finished task).
        let clusters = controller.store();
        controller
            .watches_shared_stream(ctx.feeds.subscribe::<FargateService>(), |s| {
                relations::cluster_freed_by(&s)
            })
            .watches_shared_stream(ctx.feeds.subscribe::<FargateTask>(), move |t| {
                relations::cluster_freed_by_task(&t).filter(|c| {
                    clusters
                        .get(c)
                        .is_some_and(|c| c.metadata.deletion_timestamp.is_some())
                })
            })
    }

    async fn cleanup(&self, ctx: &Context, status: &EcsClusterStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        // Services first (no AWS call while they are there).
        let dependents = dereference::dependents(self, ctx, status.arn.as_deref()).await?;
        if let Some(wait) = plan::held_by(&dependents) {
            return Ok(wait);
        }
        let name = status.cluster_name.clone().unwrap_or_else(|| self.cluster_name());
        let region = status.region.as_deref().or(self.spec.region.as_deref());
        let existing = act::describe(&aws, region, &name).await?;
        match plan::removal(self, existing.as_ref()) {
            Removal::Gone => Ok(Cleanup::Done),
            Removal::NotOwned => {
                tracing::warn!(cluster = %name, "the ECS cluster is not owned by this object: leaving it in AWS");
                Ok(Cleanup::Done)
            }
            Removal::Deprovisioning => Ok(plan::deprovisioning(&name)),
            Removal::Delete => plan::deleted(&name, act::delete(&aws.region(region).ecs, &name).await),
        }
    }
}
