//! What a TaskDefinition reads of other objects: the revisions of its family that FargateServices run
//! or pin, which are never deregistered while so.

use crate::api::{FargateService, TaskDefinition};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Revisions of `family` that FargateServices in the namespace run or pin, from the services' cache
/// (an API list per TaskDefinition made deleting N of them cost N lists of N services).
pub(super) async fn revisions_in_use(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let services = cache::list::<FargateService>(ctx, &obj.namespace().unwrap_or_default()).await?;
    Ok(relations::revisions_in_use(
        services.iter().map(AsRef::as_ref),
        family,
    ))
}
