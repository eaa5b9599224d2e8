//! TaskDefinition: one family, one new revision per spec change, never a duplicate.
//!
//! Each revision is tagged with the hash of the spec it came from and the owner's uid. A reconcile first
//! checks the revision in status (one DescribeTaskDefinition per resync), and only when the spec changed
//! (or that revision vanished) looks for a revision with the current hash before registering, so retries,
//! restarts and a crash between RegisterTaskDefinition and the status write never register twice.

pub mod input;

use crate::api::task_definition::DEFAULT_REVISION_HISTORY_LIMIT;
use crate::api::{FargateService, TaskDefinition, TaskDefinitionStatus};
use crate::aws::ecs::{self as ecs_api, revision_of, tag, tag_value};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::{self, Claim, Owner};
use crate::runtime::{Applied, Cleanup, Context, Error, Managed, Note, State};
use aws_sdk_ecs::types::Tag;
use kube::ResourceExt;
use std::collections::BTreeSet;
use std::time::Duration;

crate::managed_status!(TaskDefinitionStatus);

/// The tag holding the spec hash of a revision.
pub const SPEC_HASH_TAG: &str = "ecs.kubefargate.dev/spec-hash";
/// How many of the newest ACTIVE revisions are examined when looking for one with the current hash.
const LOOKUP_DEPTH: usize = 10;
const RECHECK_IN_USE: Duration = Duration::from_secs(15);

impl TaskDefinition {
    /// The family: `spec.family`, else metadata.name.
    pub fn family(&self) -> String {
        self.spec.family.clone().unwrap_or_else(|| self.name_any())
    }

    fn owned(&self, tags: &[Tag]) -> bool {
        owner(self, tags) == Owner::This
    }
}

impl Managed for TaskDefinition {
    type Status = TaskDefinitionStatus;
    const NAME: &'static str = "task-definition";
    /// Revisions are immutable in ECS: only a deregistration behind the controller's back can drift.
    const RESYNC_FACTOR: u32 = 6;
    const OPERATIONS: &'static [Operation] = &[
        op::REGISTER_TASK_DEFINITION,
        op::DESCRIBE_TASK_DEFINITION,
        op::LIST_TASK_DEFINITIONS,
        op::DEREGISTER_TASK_DEFINITION,
        op::DELETE_TASK_DEFINITIONS,
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
        mut status: TaskDefinitionStatus,
    ) -> Result<Applied<TaskDefinitionStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let family = self.family();
        let hash = input::spec_hash(&self.spec);
        // Once registered, the family stays in its region even if the controller's default changes.
        let clients = aws.region(self.spec.region.as_deref().or(status.region.as_deref()));
        let ecs = &clients.ecs;
        if self.spec.policies.observe_only() {
            return observe(ecs, status, &family, &clients.region).await;
        }
        let mut desired_tags: Vec<Tag> = self.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
        desired_tags.extend(crate::runtime::ownership::ownership_tags(self));
        desired_tags.push(tag(SPEC_HASH_TAG, &hash));

        let mut known: BTreeSet<i32> = status.active_revisions.iter().copied().collect();

        // 1. The revision in status still matches the spec and is ACTIVE: nothing to register.
        let mut current = None;
        if status.spec_hash.as_deref() == Some(hash.as_str())
            && let Some(arn) = &status.arn
        {
            current = ecs_api::describe_task_definition(ecs, arn).await?;
        }
        // 2. Otherwise look for a revision registered from this spec (after a crash, say), and learn
        // whether the family belongs to someone else.
        let mut foreign = None;
        let mut notes_early = Vec::new();
        let mut family_exists = status.arn.is_some();
        if current.is_none() {
            for arn in ecs_api::list_active_revisions(ecs, &family)
                .await?
                .into_iter()
                .take(LOOKUP_DEPTH)
            {
                family_exists = true;
                let Some((td, tags)) = ecs_api::describe_task_definition(ecs, &arn).await? else {
                    continue;
                };
                if !self.owned(&tags) {
                    let owner = owner(self, &tags);
                    // Adopting: a revision registered from this very spec (by an earlier object of this
                    // name, kept with `Retain`) is taken over rather than registered again.
                    if matches!(owner, Owner::Unowned { .. })
                        && self.spec.policies.adoption.is_some()
                        && tag_value(&tags, SPEC_HASH_TAG) == Some(hash.as_str())
                    {
                        known.insert(td.revision());
                        notes_early.push(Note::new(
                            reasons::ADOPTED,
                            format!("adopted {arn} (spec.adoption), registered from this same spec"),
                        ));
                        status.adopted = Some(true);
                        current = Some((td, tags));
                        break;
                    }
                    foreign.get_or_insert(owner);
                    continue;
                }
                known.insert(td.revision());
                if tag_value(&tags, SPEC_HASH_TAG) == Some(hash.as_str()) {
                    tracing::info!(%arn, "found the revision registered from this spec");
                    current = Some((td, tags));
                    break;
                }
            }
        }
        // 3. Register, into a family that is ours (or adopted).
        let mut notes = notes_early;
        if current.is_none() && known.is_empty() && status.arn.is_none() {
            if let Some(owner) = &foreign {
                let what = format!("task definition family {family}");
                if ownership::claim::<Self>(&self.spec.policies, owner, &what)? == Claim::Adopt {
                    tracing::info!(%family, "adopting the task definition family");
                    notes.push(Note::new(
                        reasons::ADOPTED,
                        format!(
                            "adopted {what} (spec.adoption): new revisions are registered into it; its \
                             existing revisions are left as they are"
                        ),
                    ));
                    status.adopted = Some(true);
                }
            } else if !family_exists && !ownership::may_create(&self.spec.policies) {
                return Ok(Applied::new(status, not_found(&family)));
            }
        }
        let (td, tags) =
            match current {
                Some(found) => found,
                None => {
                    input::check(&self.spec).map_err(|message| Error::Terminal {
                        reason: reasons::INVALID_SPEC,
                        message,
                    })?;
                    let registration = input::registration(&family, &self.spec, desired_tags.clone())
                        .map_err(|e| Error::Terminal {
                            reason: reasons::INVALID_SPEC,
                            message: e.to_string(),
                        })?;
                    let td = ecs_api::register_task_definition(ecs, registration).await?;
                    tracing::info!(
                        arn = td.task_definition_arn().unwrap_or_default(),
                        "registered a new revision"
                    );
                    notes.push(Note::new(
                        reasons::REGISTERED,
                        format!("registered {}", td.task_definition_arn().unwrap_or_default()),
                    ));
                    (td, desired_tags.clone())
                }
            };
        let arn = td.task_definition_arn().unwrap_or_default().to_string();
        ecs_api::sync_tags(ecs, &arn, &tags, &desired_tags).await?;

        // 4. Revision history: keep the current one and the newest `revisionHistoryLimit` older ones,
        // never one a FargateService still runs.
        known.insert(td.revision());
        let limit = usize::try_from(
            self.spec
                .revision_history_limit
                .unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT),
        )
        .unwrap_or(0);
        let older: Vec<i32> = known.iter().copied().filter(|r| *r != td.revision()).collect();
        let excess = older.len().saturating_sub(limit);
        if excess > 0 {
            let in_use = revisions_in_use(ctx, self, &family).await?;
            for revision in older.into_iter().take(excess) {
                if in_use.contains(&revision) {
                    continue;
                }
                let old_arn = format!(
                    "{}:{revision}",
                    arn.rsplit_once(':').map_or(arn.as_str(), |(base, _)| base)
                );
                tracing::info!(arn = %old_arn, "deregistering a revision beyond revisionHistoryLimit");
                ecs_api::deregister_task_definition(ecs, &old_arn).await?;
                notes.push(Note::new(
                    reasons::DEREGISTERED,
                    format!("deregistered {old_arn} (revisionHistoryLimit)"),
                ));
                known.remove(&revision);
            }
        }

        status.arn = Some(arn);
        status.family = Some(family.clone());
        status.revision = Some(td.revision());
        status.spec_hash = Some(hash);
        status.region = Some(clients.region.clone());
        status.active_revisions = known.into_iter().collect();
        let message = format!("revision {} of {family} is ACTIVE", td.revision());
        Ok(Applied::new(
            status,
            State::Ready {
                reason: reasons::REGISTERED,
                message,
            },
        )
        .with_notes(notes))
    }

    fn watches(
        controller: kube::runtime::controller::Controller<Self>,
        ctx: &std::sync::Arc<Context>,
    ) -> kube::runtime::controller::Controller<Self> {
        // A service moving off a revision (or going away) may free revisions to prune or delete.
        controller.watches_shared_stream(ctx.feeds.subscribe::<FargateService>(), |s| {
            crate::runtime::relations::task_definition_freed_by(&s)
        })
    }

    async fn cleanup(&self, ctx: &Context, status: &TaskDefinitionStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let family = status.family.clone().unwrap_or_else(|| self.family());
        let ecs = &aws
            .region(status.region.as_deref().or(self.spec.region.as_deref()))
            .ecs;
        // While FargateServices still run every revision this object recorded, there is nothing to
        // remove yet: wait without asking AWS anything (their deletion wakes this object).
        let in_use = revisions_in_use(ctx, self, &family).await?;
        let recorded: BTreeSet<i32> = status
            .active_revisions
            .iter()
            .chain(status.revision.iter())
            .copied()
            .collect();
        let busy: Vec<i32> = recorded.iter().filter(|r| in_use.contains(r)).copied().collect();
        if !busy.is_empty() && busy.len() == recorded.len() {
            return Ok(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: format!("revisions of {family} still used by a FargateService: {busy:?}"),
                recheck: RECHECK_IN_USE,
            });
        }
        // Every ACTIVE revision of the family that carries this object's uid: those in status and any a
        // crash kept out of it. Revisions of other owners are left alone.
        let mut mine = Vec::new();
        for arn in ecs_api::list_active_revisions(ecs, &family).await? {
            if let Some((_, tags)) = ecs_api::describe_task_definition(ecs, &arn).await?
                && self.owned(&tags)
            {
                mine.push(arn);
            }
        }
        let (blocked, free): (Vec<String>, Vec<String>) = mine
            .into_iter()
            .partition(|a| revision_of(a).is_some_and(|r| in_use.contains(&r)));
        for arn in &free {
            ecs_api::deregister_task_definition(ecs, arn).await?;
        }
        // Revisions this object deregistered earlier (revisionHistoryLimit) are deleted too.
        let mut to_delete = free;
        for arn in
            ecs_api::list_revisions(ecs, &family, aws_sdk_ecs::types::TaskDefinitionStatus::Inactive).await?
        {
            if !to_delete.contains(&arn)
                && let Some((_, tags)) = ecs_api::describe_any_task_definition(ecs, &arn).await?
                && self.owned(&tags)
            {
                to_delete.push(arn);
            }
        }
        if !to_delete.is_empty() {
            tracing::info!(count = to_delete.len(), "deleting this object's revisions");
            ecs_api::delete_task_definitions(ecs, &to_delete).await?;
        }
        if !blocked.is_empty() {
            return Ok(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: format!("revisions still used by a FargateService: {}", blocked.join(", ")),
                recheck: RECHECK_IN_USE,
            });
        }
        Ok(Cleanup::Done)
    }
}

/// The owner the tags of a revision name.
fn owner(obj: &TaskDefinition, tags: &[Tag]) -> Owner {
    ownership::owner_of_ecs(obj, tags)
}

fn not_found(family: &str) -> State {
    State::Waiting {
        reason: reasons::NOT_FOUND,
        message: format!(
            "task definition family {family} has no ACTIVE revision; none is registered (adoption Adopt or ObserveOnly)"
        ),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

/// `managementPolicy: ObserveOnly`: report the newest ACTIVE revision of the family, register nothing.
async fn observe(
    ecs: &crate::aws::EcsClient,
    mut status: TaskDefinitionStatus,
    family: &str,
    region: &str,
) -> Result<Applied<TaskDefinitionStatus>, Error> {
    let newest = match ecs_api::list_active_revisions(ecs, family).await?.first() {
        Some(arn) => ecs_api::describe_task_definition(ecs, arn).await?,
        None => None,
    };
    let Some((td, _)) = newest else {
        return Ok(Applied::new(status, not_found(family)));
    };
    status.arn = td.task_definition_arn().map(str::to_string);
    status.family = Some(family.to_string());
    status.revision = Some(td.revision());
    status.region = Some(region.to_string());
    let message = format!(
        "revision {} is the newest ACTIVE revision of {family} (managementPolicy ObserveOnly: observed, never changed)",
        td.revision()
    );
    Ok(Applied::new(
        status,
        State::Ready {
            reason: reasons::OBSERVED,
            message,
        },
    ))
}

/// Revisions of `family` that FargateServices in the namespace run or pin, from the services' cache
/// (an API list per TaskDefinition made deleting N of them cost N lists of N services).
async fn revisions_in_use(ctx: &Context, obj: &TaskDefinition, family: &str) -> Result<BTreeSet<i32>, Error> {
    let services =
        crate::runtime::cache::list::<FargateService>(ctx, &obj.namespace().unwrap_or_default()).await?;
    Ok(crate::runtime::relations::revisions_in_use(
        services.iter().map(AsRef::as_ref),
        family,
    ))
}
