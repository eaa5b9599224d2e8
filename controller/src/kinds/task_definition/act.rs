//! A TaskDefinition's AWS I/O, through [`crate::aws::ecs`]: the look-ups the plan decides from, and
//! the registrations, tag changes, deregistrations and deletions it decided.

use super::plan::{self, Current, Described, Revision, Seen};
use crate::api::{TaskDefinition, TaskDefinitionStatus};
use crate::aws::ecs as ecs_api;
use crate::aws::{Account, AnnouncedDeletion, EcsClient as Client, Family};
use crate::runtime::Error;
use aws_sdk_ecs::types::{Tag, TaskDefinition as EcsRevision};

/// How many of the newest ACTIVE revisions are examined when looking for one with the current hash.
const LOOKUP_DEPTH: usize = 10;

/// The revision in status when the spec has not changed (one DescribeTaskDefinition per resync); only
/// without it, the newest ACTIVE revisions of the family, described until one `serves` the spec.
pub(super) async fn look_up(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    status: &TaskDefinitionStatus,
    family: &str,
    hash: &str,
    serves: impl Fn(&[Tag]) -> bool,
) -> Result<Seen, Error> {
    let mut seen = Seen::default();
    if status.spec_hash.as_deref() == Some(hash)
        && let Some(arn) = &status.arn
    {
        seen.recorded = describe(ecs, arn).await?;
        if seen.recorded.is_some() {
            return Ok(seen);
        }
        aws.deregistered(Some(region), arn);
    }
    seen.family = aws.family(Some(region), family).await?;
    for arn in seen.family.arns.iter().take(LOOKUP_DEPTH) {
        seen.listed = true;
        let Some(found) = describe(ecs, arn).await? else {
            aws.deregistered(Some(region), arn);
            continue;
        };
        let stop = serves(&found.tags);
        if stop {
            tracing::info!(%arn, "found the revision registered from this spec");
        }
        seen.revisions.push(found);
        if stop {
            break;
        }
    }
    Ok(seen)
}

async fn describe(ecs: &Client, arn: &str) -> Result<Option<Described>, Error> {
    Ok(ecs_api::describe_task_definition(ecs, arn)
        .await?
        .map(|(definition, tags)| Described {
            arn: arn.to_string(),
            definition,
            tags,
        }))
}

/// Registers the revision or keeps the one found, and brings its tags to `desired_tags`. `None` when a
/// registration was withdrawn because the family gained revisions this process did not know of when it
/// looked (`known`; see [`plan::appeared`]): the look-up is to be made again.
pub(super) async fn converge(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    revision: &Revision,
    desired_tags: &[Tag],
    known: &Family,
) -> Result<Option<Current>, Error> {
    let arn_of = |td: &EcsRevision| td.task_definition_arn().unwrap_or_default().to_string();
    let (current, tags) = match revision {
        Revision::Reuse(found) => {
            let current = Current {
                arn: arn_of(&found.definition),
                revision: found.definition.revision(),
                registered: false,
            };
            (current, found.tags.as_slice())
        }
        Revision::Register(registration) => {
            // If the answer is lost, the registration may still have happened: the family is listed
            // again before the next look-up trusts what this process knows.
            aws.registering(Some(region), &registration.family);
            let td = ecs_api::register_task_definition(ecs, registration.as_ref().clone()).await?;
            let arn = arn_of(&td);
            tracing::info!(%arn, "registered a new revision");
            aws.registered(Some(region), &arn);
            if known.next.is_some_and(|next| next != td.revision()) {
                let family = td.family().unwrap_or_default();
                let listed = aws.relist(Some(region), family).await?;
                let appeared = plan::appeared(known, &arn, &listed);
                if !appeared.is_empty() {
                    tracing::warn!(
                        %arn, ?appeared,
                        "the family gained revisions since this process read it: the registration is \
                         withdrawn and the family looked at again"
                    );
                    ecs_api::deregister_task_definition(ecs, &arn).await?;
                    aws.deregistered(Some(region), &arn);
                    return Ok(None);
                }
            }
            let current = Current {
                arn: arn_of(&td),
                revision: td.revision(),
                registered: true,
            };
            (current, desired_tags)
        }
    };
    ecs_api::sync_tags(ecs, &current.arn, tags, desired_tags).await?;
    Ok(Some(current))
}

/// Deregisters the revisions beyond `revisionHistoryLimit`.
pub(super) async fn prune(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    revisions: &[(i32, String)],
) -> Result<(), Error> {
    for (_, arn) in revisions {
        tracing::info!(%arn, "deregistering a revision beyond revisionHistoryLimit");
        ecs_api::deregister_task_definition(ecs, arn).await?;
        aws.deregistered(Some(region), arn);
    }
    Ok(())
}

/// `managementPolicy: ObserveOnly`: the newest ACTIVE revision of the family.
pub(super) async fn newest(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    family: &str,
) -> Result<Option<EcsRevision>, Error> {
    Ok(match aws.active_revisions(Some(region), family).await?.first() {
        Some(arn) => ecs_api::describe_task_definition(ecs, arn)
            .await?
            .map(|(td, _)| td),
        None => None,
    })
}

// ---- Cleanup ------------------------------------------------------------------------------------

/// This object's ACTIVE revisions: those its status records, plus any newer one a crash kept out of it
/// (described for its ownership tag; see [`plan::sort_active`]).
pub(super) async fn owned_active(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    obj: &TaskDefinition,
    status: &TaskDefinitionStatus,
    family: &str,
) -> Result<Vec<String>, Error> {
    let active = aws.family(Some(region), family).await?.arns;
    let (mut ours, to_describe) = plan::sort_active(status, active);
    for arn in to_describe {
        if let Some((_, tags)) = ecs_api::describe_task_definition(ecs, &arn).await?
            && plan::owned(obj, &tags)
        {
            ours.push(arn);
        }
    }
    Ok(ours)
}

/// Deregisters revisions.
pub(super) async fn deregister(
    aws: &Account<'_>,
    region: &str,
    ecs: &Client,
    arns: &[String],
) -> Result<(), Error> {
    for arn in arns {
        ecs_api::deregister_task_definition(ecs, arn).await?;
        aws.deregistered(Some(region), arn);
    }
    Ok(())
}

/// Deletes revisions (INACTIVE ones), if any, in calls shared with other objects' deletions; ends the
/// announcement `expected` of it.
pub(super) async fn delete(
    aws: &Account<'_>,
    region: &str,
    arns: &[String],
    expected: AnnouncedDeletion,
) -> Result<(), Error> {
    if arns.is_empty() {
        return Ok(());
    }
    tracing::info!(count = arns.len(), "deleting this object's revisions");
    Ok(aws
        .delete_task_definitions(Some(region), arns, Some(expected))
        .await?)
}
