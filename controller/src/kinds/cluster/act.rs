//! An EcsCluster's AWS I/O, through [`crate::aws`]: the cluster looked up by name, and the calls the
//! plan decided.

use super::plan::{Action, Converge};
use crate::aws::EcsClient as Client;
use crate::aws::ecs as ecs_api;
use crate::aws::{Account, AwsError};
use crate::runtime::Error;
use aws_sdk_ecs::types::Cluster;

/// The cluster by name (batched with the other lookups of the moment); `None` when it does not exist
/// or is INACTIVE.
pub(super) async fn describe(
    aws: &Account<'_>,
    region: Option<&str>,
    name: &str,
) -> Result<Option<Cluster>, Error> {
    Ok(aws.describe_cluster(region, name).await?)
}

/// Creates the cluster or brings it to the spec; the cluster as created, or as described before.
pub(super) async fn execute(ecs: &Client, action: Action) -> Result<Cluster, Error> {
    match action {
        Action::Create(new) => {
            tracing::info!(cluster = %new.name, "creating ECS cluster");
            Ok(ecs_api::create_cluster(ecs, *new).await?)
        }
        Action::Converge(converge) => {
            let Converge {
                cluster,
                update,
                capacity,
                retag,
            } = *converge;
            let name = cluster.cluster_name().unwrap_or_default();
            if let Some(u) = update {
                tracing::info!(cluster = %name, "updating ECS cluster settings");
                ecs_api::update_cluster(ecs, name, u.settings, u.configuration, u.service_connect).await?;
            }
            if let Some(c) = capacity {
                tracing::info!(cluster = %name, "updating ECS cluster capacity providers");
                ecs_api::put_cluster_capacity_providers(ecs, name, c.providers, c.strategy).await?;
            }
            if let Some(desired) = retag
                && let Some(arn) = cluster.cluster_arn()
                && ecs_api::sync_tags(ecs, arn, cluster.tags(), &desired).await?
            {
                tracing::info!(cluster = %name, "updated ECS cluster tags");
            }
            Ok(cluster)
        }
    }
}

/// DeleteCluster, its error kept for the plan to read (ECS refuses a cluster with dependents).
pub(super) async fn delete(ecs: &Client, name: &str) -> Result<Option<Cluster>, AwsError> {
    tracing::info!(cluster = %name, "deleting ECS cluster");
    ecs_api::delete_cluster(ecs, name).await
}
