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

/// The revisions in use, from the API server as well as `cached`: a deregistration never rests on a
/// cache that may lag (or has not seen a service yet).
pub(super) async fn revisions_in_use_confirmed(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
    cached: BTreeSet<i32>,
) -> Result<BTreeSet<i32>, Error> {
    let services = cache::list_from_api::<FargateService>(ctx, &obj.namespace().unwrap_or_default()).await?;
    let mut in_use = cached;
    in_use.extend(relations::revisions_in_use(
        services.iter().map(AsRef::as_ref),
        family,
    ));
    Ok(in_use)
}
