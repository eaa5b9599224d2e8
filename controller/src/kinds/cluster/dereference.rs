//! What an EcsCluster reads of other objects: the FargateServices and unfinished FargateTasks that run
//! on it, which keep it from being deleted.

use crate::api::{EcsCluster, FargateService, FargateTask};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;

/// The objects in the namespace that run on this cluster (by reference or ARN), as `Kind/name`:
/// FargateServices, and FargateTasks that have not finished. The cache may say "some" (waiting longer
/// is safe, and costs no API read of every object); only "none", which lets the cluster go, is
/// confirmed with the API server.
pub(super) async fn dependents(
    obj: &EcsCluster,
    ctx: &Context,
    arn: Option<&str>,
) -> Result<Vec<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let cached = on_cluster(
        &cache::list::<FargateService>(ctx, &ns).await?,
        &cache::list::<FargateTask>(ctx, &ns).await?,
        obj,
        arn,
    );
    if !cached.is_empty() {
        return Ok(cached);
    }
    Ok(on_cluster(
        &cache::list_from_api::<FargateService>(ctx, &ns).await?,
        &cache::list_from_api::<FargateTask>(ctx, &ns).await?,
        obj,
        arn,
    ))
}

fn on_cluster(
    services: &[std::sync::Arc<FargateService>],
    tasks: &[std::sync::Arc<FargateTask>],
    obj: &EcsCluster,
    arn: Option<&str>,
) -> Vec<String> {
    let services = relations::services_on_cluster(services.iter().map(AsRef::as_ref), obj, arn);
    let tasks = relations::tasks_on_cluster(tasks.iter().map(AsRef::as_ref), obj, arn);
    let named =
        |kind: &'static str, names: Vec<String>| names.into_iter().map(move |n| format!("{kind}/{n}"));
    named("FargateService", services)
        .chain(named("FargateTask", tasks))
        .collect()
}
