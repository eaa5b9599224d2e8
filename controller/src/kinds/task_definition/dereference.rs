//! What a TaskDefinition reads of other objects: the revisions of its family that FargateServices run
//! or pin, and that unfinished FargateTasks run, which are never deregistered while so.

use crate::api::{FargateService, FargateTask, TaskDefinition};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Revisions of `family` that FargateServices in the namespace run or pin, or FargateTasks run, from
/// the caches (an API list per TaskDefinition made deleting N of them cost N lists of N services).
pub(super) async fn revisions_in_use(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = cache::list::<FargateService>(ctx, &ns).await?;
    let tasks = cache::list::<FargateTask>(ctx, &ns).await?;
    Ok(in_use(&services, &tasks, family))
}

/// [`revisions_in_use`], from the API server: before revisions are deregistered on the cache's word
/// (a service created a moment ago may not be in the cache yet). Lists of the moment are shared.
pub(super) async fn revisions_in_use_confirmed(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = cache::list_from_api::<FargateService>(ctx, &ns).await?;
    let tasks = cache::list_from_api::<FargateTask>(ctx, &ns).await?;
    Ok(in_use(&services, &tasks, family))
}

fn in_use(
    services: &[std::sync::Arc<FargateService>],
    tasks: &[std::sync::Arc<FargateTask>],
    family: &str,
) -> BTreeSet<i32> {
    let mut in_use = relations::revisions_in_use(services.iter().map(AsRef::as_ref), family);
    in_use.extend(relations::revisions_run_by_tasks(
        tasks.iter().map(AsRef::as_ref),
        family,
    ));
    in_use
}
