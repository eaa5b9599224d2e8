//! What an EcsCluster reads of other objects: the FargateServices that run on it, which keep it from
//! being deleted.

use crate::api::{EcsCluster, FargateService};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;

/// Names of the FargateServices in the namespace that run on this cluster (by reference or ARN).
/// The cache may say "some" (waiting longer is safe, and costs no API read of every service); only
/// "none", which lets the cluster go, is confirmed with the API server.
pub(super) async fn dependent_services(
    obj: &EcsCluster,
    ctx: &Context,
    arn: Option<&str>,
) -> Result<Vec<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let cached = cache::list::<FargateService>(ctx, &ns).await?;
    let cached = relations::services_on_cluster(cached.iter().map(AsRef::as_ref), obj, arn);
    if !cached.is_empty() {
        return Ok(cached);
    }
    let listed = cache::list_from_api::<FargateService>(ctx, &ns).await?;
    Ok(relations::services_on_cluster(
        listed.iter().map(AsRef::as_ref),
        obj,
        arn,
    ))
}
