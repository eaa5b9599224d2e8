//! What a TaskDefinition reads of other objects: the revisions of its family that FargateServices run
//! or pin, and that unfinished FargateTasks run, which are never deregistered while so.

use crate::api::{FargateService, FargateTask, TaskDefinition};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Revisions of `family` that FargateServices in the namespace run or pin, or FargateTasks run, from
/// the caches
/// (an API list per TaskDefinition made deleting N of them cost N lists of N services).
pub(super) async fn revisions_in_use(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = cache::list::<FargateService>(ctx, &ns).await?;
    let tasks = cache::list::<FargateTask>(ctx, &ns).await?;
    let mut in_use = relations::revisions_in_use(services.iter().map(AsRef::as_ref), family);
    in_use.extend(relations::revisions_run_by_tasks(
        tasks.iter().map(AsRef::as_ref),
        family,
    ));
    Ok(in_use)
}
