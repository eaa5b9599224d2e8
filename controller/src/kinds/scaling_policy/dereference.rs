//! Finding the scalable target a ScalingPolicy is about before anything is planned: the service it
//! names (through the cache and [`relations`]) or its `resourceId`, the one-policy-per-service check,
//! the target as AWS describes it, and whether an external target may be taken. Everything that makes
//! the reconcile wait comes back as [`Deref::Wait`]; what needs the user, as [`Error::Terminal`].

use super::plan::{self, Removal, Target};
use crate::api::{FargateService, ScalingPolicy, ScalingPolicyStatus};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::Claim;
use crate::runtime::relations;
use crate::runtime::{Context, Deref, Error, State};
use kube::ResourceExt;
use std::time::Duration;

const RECHECK_DEPENDENCY: Duration = Duration::from_secs(60);

/// The target a spec names: `service/<cluster>/<service>` and its region, when known.
struct Named {
    resource_id: String,
    region: Option<String>,
}

/// The scalable target to converge, as AWS describes it; waits while the service is not there yet, or
/// while a target that must exist does not.
pub(super) async fn target(
    obj: &ScalingPolicy,
    ctx: &Context,
    aws: &crate::aws::Account<'_>,
    status: &ScalingPolicyStatus,
) -> Result<Deref<Target>, Error> {
    let named = match resolve(obj, ctx).await? {
        Deref::Ready(named) => named,
        Deref::Wait(state) => return Ok(Deref::Wait(state)),
    };
    if let Some(other) = conflicting(obj, ctx).await? {
        return Err(Error::Terminal {
            reason: reasons::CONFLICT,
            message: format!(
                "ScalingPolicy {other} already scales {}: one ScalingPolicy per service",
                named.resource_id
            ),
        });
    }
    let region = named.region.unwrap_or_else(|| aws.default_region().to_string());
    let id = named.resource_id;
    let current = aws.describe_scalable_target(Some(&region), &id).await?;
    if obj.spec.policies.observe_only() {
        let Some(current) = current else {
            return Ok(Deref::Wait(plan::not_found(&id)));
        };
        return Ok(Deref::Ready(Target {
            resource_id: id,
            region,
            current: Some(current),
            claim: Claim::Owned,
        }));
    }
    let claim = if obj.spec.resource_id.is_some() {
        match claim_external(obj, aws, &region, &id, current.as_ref(), status).await? {
            Deref::Ready(claim) => claim,
            Deref::Wait(state) => return Ok(Deref::Wait(state)),
        }
    } else {
        Claim::Owned
    };
    Ok(Deref::Ready(Target {
        resource_id: id,
        region,
        current,
        claim,
    }))
}

/// The target cleanup may remove, if any: the one status records; else, unless this object lost the
/// one-per-service check or was refused as someone else's, the one its spec names (none when the
/// service is gone).
pub(super) async fn removable(
    obj: &ScalingPolicy,
    ctx: &Context,
    status: &ScalingPolicyStatus,
) -> Result<Option<(String, Option<String>)>, Error> {
    // Asked whether or not status records the target: a loser never removes the winner's setup.
    let lost_conflict = conflicting(obj, ctx).await?.is_some();
    match plan::removal(status, lost_conflict) {
        Removal::Recorded { resource_id, region } => Ok(Some((resource_id, region))),
        Removal::Nothing => Ok(None),
        Removal::SpecTarget => match resolve(obj, ctx).await? {
            Deref::Ready(named) => Ok(Some((named.resource_id, named.region))),
            // Never registered, and the service is gone: nothing to remove.
            Deref::Wait(_) => Ok(None),
        },
    }
}

fn dependency_not_ready(message: String) -> Deref<Named> {
    Deref::Wait(State::Waiting {
        reason: reasons::DEPENDENCY_NOT_READY,
        message,
        recheck: RECHECK_DEPENDENCY,
    })
}

/// The target's resource id: the spec's `resourceId`, or the FargateService it names once that exists
/// in AWS (whose region it is in).
async fn resolve(obj: &ScalingPolicy, ctx: &Context) -> Result<Deref<Named>, Error> {
    if let Some(id) = &obj.spec.resource_id {
        return Ok(Deref::Ready(Named {
            resource_id: id.clone(),
            region: obj.spec.region.clone(),
        }));
    }
    let Some(r) = &obj.spec.service_ref else {
        return Ok(dependency_not_ready(
            "no service: set serviceRef or resourceId".into(),
        ));
    };
    let created = |s: &FargateService| {
        s.status
            .as_ref()
            .is_some_and(|st| st.arn.is_some() && st.cluster_arn.is_some() && st.service_name.is_some())
    };
    let ns = obj.namespace().unwrap_or_default();
    let Some(svc) = crate::runtime::cache::get::<FargateService>(ctx, &ns, &r.name, created).await? else {
        return Ok(dependency_not_ready(format!(
            "FargateService {} does not exist",
            r.name
        )));
    };
    let status = svc.status.unwrap_or_default();
    match (status.arn, status.cluster_arn, status.service_name) {
        (Some(_), Some(cluster_arn), Some(service)) => {
            if let (Some(want), Some(have)) = (&obj.spec.region, &status.region)
                && want != have
            {
                return Err(Error::Terminal {
                    reason: reasons::REGION_MISMATCH,
                    message: format!(
                        "spec.region is {want} but FargateService {} is in {have}: a scalable target is in its service's region",
                        r.name
                    ),
                });
            }
            Ok(Deref::Ready(Named {
                resource_id: relations::scaling_resource_id(&cluster_arn, &service),
                region: status.region,
            }))
        }
        _ => Ok(dependency_not_ready(format!(
            "FargateService {} has not been created in AWS yet",
            r.name
        ))),
    }
}

/// For a target named by `resourceId`: its ECS service must exist; who may take the target is
/// [`plan::claim`]'s decision.
async fn claim_external(
    obj: &ScalingPolicy,
    aws: &crate::aws::Account<'_>,
    region: &str,
    resource_id: &str,
    current: Option<&aws_sdk_applicationautoscaling::types::ScalableTarget>,
    status: &ScalingPolicyStatus,
) -> Result<Deref<Claim>, Error> {
    let mut parts = resource_id.splitn(3, '/').skip(1);
    let (Some(cluster), Some(service)) = (parts.next(), parts.next()) else {
        return Err(Error::Terminal {
            reason: reasons::INVALID_SPEC,
            message: format!("resourceId {resource_id} is not service/<cluster>/<service>"),
        });
    };
    let Some(svc) = aws.describe_service(Some(region), cluster, service).await? else {
        return Ok(Deref::Wait(State::Waiting {
            reason: reasons::DEPENDENCY_NOT_READY,
            message: format!("ECS service {service} does not exist in cluster {cluster} ({region})"),
            recheck: RECHECK_DEPENDENCY,
        }));
    };
    let what = format!("ECS service {service} in cluster {cluster}");
    plan::claim(obj, &svc, &what, resource_id, current, status)
}

/// Another ScalingPolicy (created earlier) that already targets the same service.
async fn conflicting(obj: &ScalingPolicy, ctx: &Context) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = crate::runtime::cache::list::<FargateService>(ctx, &ns).await?;
    let policies = crate::runtime::cache::list::<ScalingPolicy>(ctx, &ns).await?;
    Ok(relations::conflicting_policy(
        obj,
        policies.iter().map(AsRef::as_ref),
        services.iter().map(AsRef::as_ref),
    ))
}
