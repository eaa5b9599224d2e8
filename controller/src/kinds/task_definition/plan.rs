//! What a TaskDefinition reconcile decides, from what AWS showed: pure functions, no client, no await.
//!
//! Apply: which revision serves the spec (the one in status, one a crash kept out of status found by its
//! spec-hash tag, an adopted one, or a new registration), whether the family may be used at all
//! (`NotOwned`, `NotFound`), which older revisions fall beyond `revisionHistoryLimit`, and the status.
//! Cleanup: whether services hold every recorded revision, and which revisions of this object to
//! deregister and delete.

use super::input;
use crate::api::task_definition::DEFAULT_REVISION_HISTORY_LIMIT;
use crate::api::{TaskDefinition, TaskDefinitionStatus};
use crate::aws::Family;
use crate::aws::ecs::{NewTaskDefinition, revision_of, tag, tag_value};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::{self, Claim, Owner};
use crate::runtime::{Applied, Cleanup, Deref, Error, Note, State};
use aws_sdk_ecs::types::{Tag, TaskDefinition as EcsRevision};
use std::collections::BTreeSet;
use std::time::Duration;

/// The tag holding the spec hash of a revision.
const SPEC_HASH_TAG: &str = "ecs.kubefargate.dev/spec-hash";
/// How soon a deletion held by services looks again (their deletion wakes it sooner).
const RECHECK_IN_USE: Duration = Duration::from_secs(15);

/// One ACTIVE revision as ECS describes it.
#[derive(Clone, Debug)]
pub(super) struct Described {
    /// The ARN it was looked up by.
    pub(super) arn: String,
    pub(super) definition: EcsRevision,
    pub(super) tags: Vec<Tag>,
}

/// What AWS holds of the family, as far as an apply looks.
#[derive(Clone, Debug, Default)]
pub(super) struct Seen {
    /// The revision in status, still ACTIVE, when the spec has not changed since it was registered.
    pub(super) recorded: Option<Described>,
    /// Without `recorded`: whether the family has any ACTIVE revision.
    pub(super) listed: bool,
    /// Without `recorded`: the newest ACTIVE revisions, newest first, up to the first that
    /// [`serves_spec`].
    pub(super) revisions: Vec<Described>,
    /// Without `recorded`: the family as this process knew it when it looked.
    pub(super) family: Family,
}

/// The revision that serves the spec.
#[derive(Debug)]
pub(super) enum Revision {
    /// An ACTIVE revision registered from this spec: kept, its tags brought to the desired ones.
    Reuse(Box<Described>),
    /// None is ACTIVE: register this one.
    Register(Box<NewTaskDefinition>),
}

/// What an apply does in AWS, and what it tells.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) revision: Revision,
    /// The tags every revision of this object carries: the user's, ownership, spec hash.
    pub(super) desired_tags: Vec<Tag>,
    /// The ACTIVE revisions this object manages besides a new one: status and those found.
    known: BTreeSet<i32>,
    /// A revision or the family was adopted (`spec.adoption`).
    pub(super) adopted: bool,
    /// The family as this process knew it when it looked (for a registration's check).
    pub(super) family: Family,
    notes: Vec<Note>,
}

/// The revision an apply ended on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Current {
    pub(super) arn: String,
    pub(super) revision: i32,
    /// Registered by this apply.
    pub(super) registered: bool,
}

/// The owner the tags of a revision name.
fn owner(obj: &TaskDefinition, tags: &[Tag]) -> Owner {
    ownership::owner_of_ecs(obj, tags)
}

/// Whether the revision carrying `tags` is this object's.
pub(super) fn owned(obj: &TaskDefinition, tags: &[Tag]) -> bool {
    owner(obj, tags) == Owner::This
}

fn from_spec(tags: &[Tag], hash: &str) -> bool {
    tag_value(tags, SPEC_HASH_TAG) == Some(hash)
}

/// Whether a revision with `tags` serves the spec of hash `hash` (the look-up stops there): registered
/// from it, and this object's, or unowned while `spec.adoption` asks to adopt.
pub(super) fn serves_spec(obj: &TaskDefinition, hash: &str, tags: &[Tag]) -> bool {
    from_spec(tags, hash)
        && match owner(obj, tags) {
            Owner::This => true,
            Owner::Unowned { .. } => obj.spec.policies.adoption.is_some(),
            Owner::Other { .. } => false,
        }
}

/// The user's tags, the ownership tags and the spec hash.
fn desired_tags(obj: &TaskDefinition, hash: &str) -> Vec<Tag> {
    let mut tags: Vec<Tag> = obj.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
    tags.extend(ownership::ownership_tags(obj));
    tags.push(tag(SPEC_HASH_TAG, hash));
    tags
}

/// Decides the revision that serves the spec: the one in status, else the first of the family's newest
/// revisions registered from this spec (this object's, or adopted), else a registration, into a family
/// that is this object's, unowned and adopted, or new. `NotOwned` when the family is another's (or
/// unowned without `spec.adoption`); a wait when it must exist (adoption `Adopt`) and does not.
pub(super) fn apply(
    obj: &TaskDefinition,
    status: &TaskDefinitionStatus,
    family: &str,
    hash: &str,
    mut seen: Seen,
) -> Result<Deref<Plan>, Error> {
    let policies = &obj.spec.policies;
    let mut known: BTreeSet<i32> = status.active_revisions.iter().copied().collect();
    let mut notes = Vec::new();
    let mut adopted = false;
    let mut foreign = None;
    let mut current = seen.recorded.take();
    if current.is_none() {
        for found in std::mem::take(&mut seen.revisions) {
            let owner = owner(obj, &found.tags);
            if owner != Owner::This {
                // Adopting: a revision registered from this very spec (by an earlier object of this
                // name, kept with `Retain`) is taken over rather than registered again.
                if matches!(owner, Owner::Unowned { .. })
                    && policies.adoption.is_some()
                    && from_spec(&found.tags, hash)
                {
                    known.insert(found.definition.revision());
                    notes.push(Note::new(
                        reasons::ADOPTED,
                        format!(
                            "adopted {} (spec.adoption), registered from this same spec",
                            found.arn
                        ),
                    ));
                    adopted = true;
                    current = Some(found);
                    break;
                }
                foreign.get_or_insert(owner);
                continue;
            }
            known.insert(found.definition.revision());
            if from_spec(&found.tags, hash) {
                current = Some(found);
                break;
            }
        }
    }
    // A registration into a family with nothing of this object's: the family must be free to use.
    if current.is_none() && known.is_empty() && status.arn.is_none() {
        if let Some(owner) = &foreign {
            let what = format!("task definition family {family}");
            if ownership::claim::<TaskDefinition>(policies, owner, &what)? == Claim::Adopt {
                notes.push(Note::new(
                    reasons::ADOPTED,
                    format!(
                        "adopted {what} (spec.adoption): new revisions are registered into it; its \
                         existing revisions are left as they are"
                    ),
                ));
                adopted = true;
            }
        } else if !seen.listed && !ownership::may_create(policies) {
            return Ok(Deref::Wait(not_found(family)));
        }
    }
    let desired_tags = desired_tags(obj, hash);
    let revision = match current {
        Some(found) => Revision::Reuse(Box::new(found)),
        None => {
            input::check(&obj.spec)?;
            let registration = input::registration(family, &obj.spec, desired_tags.clone()).map_err(|e| {
                Error::Terminal {
                    reason: reasons::INVALID_SPEC,
                    message: e.to_string(),
                }
            })?;
            Revision::Register(Box::new(registration))
        }
    };
    Ok(Deref::Ready(Plan {
        revision,
        desired_tags,
        known,
        adopted,
        family: seen.family,
        notes,
    }))
}

/// The older revisions beyond `revisionHistoryLimit`, oldest first: the current one and the newest
/// `limit` older ones are kept.
pub(super) fn beyond_history(plan: &Plan, current: &Current, limit: Option<i32>) -> Vec<i32> {
    let limit = usize::try_from(limit.unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)).unwrap_or(0);
    let older: Vec<i32> = plan
        .known
        .iter()
        .copied()
        .filter(|r| *r != current.revision)
        .collect();
    let excess = older.len().saturating_sub(limit);
    older.into_iter().take(excess).collect()
}

/// The ACTIVE revisions of the family that this process did not know of when it looked (registered by
/// someone else since), judged once a registration got a number other than the one expected: `listed`
/// is the family as ECS lists it after the registration of `registered`. Any of them may be another
/// owner's (the family was not free) or one registered from this very spec (a duplicate), so the
/// registration is withdrawn and the look-up made again.
pub(super) fn appeared(known: &Family, registered: &str, listed: &[String]) -> Vec<String> {
    listed
        .iter()
        .filter(|a| a.as_str() != registered && !known.arns.contains(a))
        .cloned()
        .collect()
}

/// Of the revisions beyond the history, those to deregister (revision, ARN): never one a FargateService
/// runs or pins.
pub(super) fn prune(current: &Current, stale: &[i32], in_use: &BTreeSet<i32>) -> Vec<(i32, String)> {
    let arn = current.arn.as_str();
    let base = arn.rsplit_once(':').map_or(arn, |(base, _)| base);
    stale
        .iter()
        .filter(|r| !in_use.contains(r))
        .map(|r| (*r, format!("{base}:{r}")))
        .collect()
}

/// The status and outcome of an apply that ended on `current` and deregistered `deregistered`.
pub(super) fn applied(
    mut status: TaskDefinitionStatus,
    plan: Plan,
    current: &Current,
    deregistered: &[(i32, String)],
    family: &str,
    hash: String,
    region: &str,
) -> Applied<TaskDefinitionStatus> {
    let (arn, revision) = (&current.arn, current.revision);
    let mut notes = plan.notes;
    if current.registered {
        notes.push(Note::new(reasons::REGISTERED, format!("registered {arn}")));
    }
    let mut known = plan.known;
    known.insert(revision);
    let mut inactive: BTreeSet<i32> = status.inactive_revisions.iter().copied().collect();
    for (old, old_arn) in deregistered {
        notes.push(Note::new(
            reasons::DEREGISTERED,
            format!("deregistered {old_arn} (revisionHistoryLimit)"),
        ));
        known.remove(old);
        inactive.insert(*old);
    }
    status.inactive_revisions = inactive.into_iter().collect();
    if plan.adopted {
        status.adopted = Some(true);
    }
    status.arn = Some(arn.clone());
    status.family = Some(family.to_string());
    status.revision = Some(revision);
    status.spec_hash = Some(hash);
    status.region = Some(region.to_string());
    status.active_revisions = known.into_iter().collect();
    let message = format!("revision {revision} of {family} is ACTIVE");
    Applied::new(
        status,
        State::Ready {
            reason: reasons::REGISTERED,
            message,
        },
    )
    .with_notes(notes)
}

/// `managementPolicy: ObserveOnly`: the newest ACTIVE revision of the family, reported.
pub(super) fn observed(
    mut status: TaskDefinitionStatus,
    family: &str,
    region: &str,
    newest: Option<EcsRevision>,
) -> Applied<TaskDefinitionStatus> {
    let Some(td) = newest else {
        return Applied::new(status, not_found(family));
    };
    status.arn = td.task_definition_arn().map(str::to_string);
    status.family = Some(family.to_string());
    status.revision = Some(td.revision());
    status.region = Some(region.to_string());
    let message = format!(
        "revision {} is the newest ACTIVE revision of {family} (managementPolicy ObserveOnly: observed, never changed)",
        td.revision()
    );
    Applied::new(
        status,
        State::Ready {
            reason: reasons::OBSERVED,
            message,
        },
    )
}

/// A registration withdrawn because the family gained revisions since this process read it (see
/// [`appeared`]): looked at again at once.
pub(super) fn family_changed(family: &str) -> State {
    State::InProgress {
        reason: reasons::RECONCILING,
        message: format!(
            "task definition family {family} gained revisions registered elsewhere while this one was \
             registered: the registration was withdrawn and the family is being looked at again"
        ),
        recheck: Duration::from_secs(1),
    }
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

// ---- Cleanup ------------------------------------------------------------------------------------

/// While FargateServices run every revision this object recorded there is nothing to remove yet: the
/// wait, decided before any AWS call.
pub(super) fn held(family: &str, status: &TaskDefinitionStatus, in_use: &BTreeSet<i32>) -> Option<Cleanup> {
    let recorded = recorded(status);
    let busy: Vec<i32> = recorded.iter().filter(|r| in_use.contains(r)).copied().collect();
    (!busy.is_empty() && busy.len() == recorded.len()).then(|| Cleanup::Wait {
        reason: reasons::HAS_DEPENDENTS,
        message: format!(
            "revisions of {family} still used by a FargateService or a running FargateTask: {busy:?}"
        ),
        recheck: RECHECK_IN_USE,
    })
}

/// The revisions this object's status records as its own (ACTIVE ones and the current one).
fn recorded(status: &TaskDefinitionStatus) -> BTreeSet<i32> {
    status
        .active_revisions
        .iter()
        .chain(status.revision.iter())
        .copied()
        .collect()
}

/// Of the family's ACTIVE revisions (ARNs as ListTaskDefinitions gives them): those this object's
/// status records (its own, no call needed), and those to describe for the ownership tag, which are
/// only the ones newer than every recorded revision (a crash between RegisterTaskDefinition and the
/// status write leaves the newest unrecorded). Older unrecorded revisions are another owner's and are
/// never described: families with thousands of revisions are normal.
pub(super) fn sort_active(status: &TaskDefinitionStatus, active: Vec<String>) -> (Vec<String>, Vec<String>) {
    let recorded = recorded(status);
    let newest = recorded.iter().max().copied().unwrap_or(0);
    let mut ours = Vec::new();
    let mut to_describe = Vec::new();
    for arn in active {
        match revision_of(&arn) {
            Some(r) if recorded.contains(&r) => ours.push(arn),
            Some(r) if r > newest => to_describe.push(arn),
            _ => {}
        }
    }
    (ours, to_describe)
}

/// The ACTIVE revisions a deletion deregisters, and those it must leave to the services using them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Removal {
    pub(super) deregister: Vec<String>,
    pub(super) blocked: Vec<String>,
}

/// This object's ACTIVE revisions, split by use.
pub(super) fn removal(in_use: &BTreeSet<i32>, ours: Vec<String>) -> Removal {
    let (blocked, deregister) = ours
        .into_iter()
        .partition(|a| revision_of(a).is_some_and(|r| in_use.contains(&r)));
    Removal { deregister, blocked }
}

/// What a deletion deletes: the revisions it deregistered, then the ones this object deregistered
/// earlier (`revisionHistoryLimit`, recorded in `status.inactiveRevisions`): no listing of the family's
/// INACTIVE history.
pub(super) fn to_delete(status: &TaskDefinitionStatus, deregistered: &[String]) -> Vec<String> {
    let mut arns = deregistered.to_vec();
    // Every revision of the family shares the ARN up to the revision number.
    let prefix = status
        .arn
        .as_deref()
        .and_then(|a| a.rsplit_once(':'))
        .map(|(p, _)| p);
    if let Some(prefix) = prefix {
        for r in &status.inactive_revisions {
            let arn = format!("{prefix}:{r}");
            if !arns.contains(&arn) {
                arns.push(arn);
            }
        }
    }
    arns
}

/// Done, or waiting for the services that still use `blocked`.
pub(super) fn cleaned(blocked: &[String]) -> Cleanup {
    if blocked.is_empty() {
        return Cleanup::Done;
    }
    Cleanup::Wait {
        reason: reasons::HAS_DEPENDENTS,
        message: format!("revisions still used by a FargateService: {}", blocked.join(", ")),
        recheck: RECHECK_IN_USE,
    }
}

/// The task definition as its FargateProfile completes it: the execution role when it names none,
/// awslogs (the profile's log group) for every container without a logConfiguration, and the
/// profile's tags under its own; a task role the profile does not allow is refused.
pub(super) fn with_profile(
    obj: &TaskDefinition,
    p: &crate::api::FargateProfile,
    region: &str,
) -> Result<TaskDefinition, Error> {
    use crate::kinds::profile::{check_role, select};
    if let Some(role) = &obj.spec.task_role_arn {
        check_role(p, "spec.taskRoleArn", role)?;
    }
    let mut filled = obj.clone();
    let spec = &mut filled.spec;
    if spec.execution_role_arn.is_none() {
        spec.execution_role_arn = p.spec.execution_role_arn.clone();
    }
    if let Some(logs) = select::log_configuration(p, region) {
        for c in &mut spec.container_definitions {
            if c.log_configuration.is_none() {
                c.log_configuration = Some(logs.clone());
            }
        }
    }
    spec.tags = select::tags(&spec.tags, p);
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Adoption, OWNER_NAME_TAG, OWNER_NAMESPACE_TAG, OWNER_UID_TAG};
    use aws_sdk_ecs::types::TaskDefinitionStatus as RevisionStatus;

    const FAMILY_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web";

    fn obj(adoption: Option<Adoption>) -> TaskDefinition {
        let mut t: TaskDefinition = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": "web", "namespace": "shop", "uid": "uid-1"},
            "spec": {"containerDefinitions": [{"name": "app", "image": "nginx:1"}],
                     "tags": [{"key": "team", "value": "a"}]}
        }))
        .unwrap_or_else(|e| panic!("task definition fixture: {e}"));
        t.spec.policies.adoption = adoption;
        t
    }

    fn arn(revision: i32) -> String {
        format!("{FAMILY_ARN}:{revision}")
    }

    /// Ownership tags naming `uid` (`shop/web` unless said), and a spec hash.
    fn tags(uid: Option<&str>, namespace: &str, hash: Option<&str>) -> Vec<Tag> {
        let mut t = vec![tag("team", "a")];
        if let Some(uid) = uid {
            t.extend([
                tag(OWNER_UID_TAG, uid),
                tag(OWNER_NAMESPACE_TAG, namespace),
                tag(OWNER_NAME_TAG, "web"),
            ]);
        }
        t.extend(hash.map(|h| tag(SPEC_HASH_TAG, h)));
        t
    }

    fn ours(hash: &str) -> Vec<Tag> {
        tags(Some("uid-1"), "shop", Some(hash))
    }

    fn revision(number: i32, tags: Vec<Tag>) -> Described {
        Described {
            arn: arn(number),
            definition: EcsRevision::builder()
                .task_definition_arn(arn(number))
                .family("web")
                .revision(number)
                .status(RevisionStatus::Active)
                .build(),
            tags,
        }
    }

    fn listed(revisions: Vec<Described>) -> Seen {
        Seen {
            recorded: None,
            listed: true,
            revisions,
            family: Family::default(),
        }
    }

    fn plan_of(obj: &TaskDefinition, status: &TaskDefinitionStatus, seen: Seen) -> Result<Plan, Error> {
        let hash = input::spec_hash(&obj.spec);
        match apply(obj, status, "web", &hash, seen)? {
            Deref::Ready(plan) => Ok(plan),
            Deref::Wait(state) => panic!("expected a plan, got a wait: {state:?}"),
        }
    }

    fn reused(plan: &Plan) -> Option<i32> {
        match &plan.revision {
            Revision::Reuse(found) => Some(found.definition.revision()),
            Revision::Register(_) => None,
        }
    }

    fn terminal_reason(result: Result<Plan, Error>) -> (&'static str, String) {
        match result {
            Err(Error::Terminal { reason, message }) => (reason, message),
            other => panic!("expected a terminal error, got {other:?}"),
        }
    }

    fn reasons_of(notes: &[Note]) -> Vec<&'static str> {
        notes.iter().map(|n| n.reason).collect()
    }

    #[test]
    fn a_revision_registered_before_a_crash_is_found_by_its_spec_hash_tag_and_reused() {
        let obj = obj(None);
        let hash = input::spec_hash(&obj.spec);
        // The spec changed from revision 3's; the crash came after RegisterTaskDefinition registered 4
        // and before the status write, so status still names 3.
        let status = TaskDefinitionStatus {
            arn: Some(arn(3)),
            spec_hash: Some("an-older-spec".into()),
            active_revisions: vec![3],
            ..Default::default()
        };
        let crashed = revision(4, ours(&hash));
        assert!(serves_spec(&obj, &hash, &crashed.tags), "the look-up stops there");
        assert!(!serves_spec(&obj, &hash, &ours("an-older-spec")));
        let plan = plan_of(&obj, &status, listed(vec![crashed])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reused(&plan), Some(4), "no second registration");
        assert_eq!(plan.known, BTreeSet::from([3, 4]));
        assert!(plan.notes.is_empty() && !plan.adopted);
    }

    #[test]
    fn an_unchanged_spec_keeps_the_revision_in_status() {
        let obj = obj(None);
        let hash = input::spec_hash(&obj.spec);
        let status = TaskDefinitionStatus {
            arn: Some(arn(3)),
            spec_hash: Some(hash.clone()),
            active_revisions: vec![2, 3],
            ..Default::default()
        };
        let seen = Seen {
            recorded: Some(revision(3, ours(&hash))),
            ..Default::default()
        };
        let plan = plan_of(&obj, &status, seen).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reused(&plan), Some(3));
        assert_eq!(plan.known, BTreeSet::from([2, 3]));
    }

    #[test]
    fn a_changed_spec_registers_a_revision_tagged_with_its_hash_and_owner() {
        let obj = obj(None);
        let hash = input::spec_hash(&obj.spec);
        let status = TaskDefinitionStatus {
            arn: Some(arn(3)),
            spec_hash: Some("an-older-spec".into()),
            active_revisions: vec![3],
            ..Default::default()
        };
        let plan = plan_of(&obj, &status, listed(vec![revision(3, ours("an-older-spec"))]))
            .unwrap_or_else(|e| panic!("{e}"));
        let Revision::Register(registration) = &plan.revision else {
            panic!("expected a registration, got {:?}", plan.revision);
        };
        assert_eq!(registration.family, "web");
        assert_eq!(tag_value(&registration.tags, SPEC_HASH_TAG), Some(hash.as_str()));
        assert_eq!(tag_value(&registration.tags, OWNER_UID_TAG), Some("uid-1"));
        assert_eq!(tag_value(&registration.tags, "team"), Some("a"));
        assert_eq!(registration.tags, plan.desired_tags);
        assert_eq!(plan.known, BTreeSet::from([3]));
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn a_family_owned_by_another_object_is_not_owned_even_with_adoption() {
        let obj = obj(Some(Adoption::Adopt));
        let hash = input::spec_hash(&obj.spec);
        let theirs = revision(1, tags(Some("uid-2"), "other-ns", Some(&hash)));
        assert!(!serves_spec(&obj, &hash, &theirs.tags));
        let (reason, message) = terminal_reason(plan_of(
            &obj,
            &TaskDefinitionStatus::default(),
            listed(vec![theirs]),
        ));
        assert_eq!(reason, reasons::NOT_OWNED);
        assert!(message.contains("other-ns/web"), "{message}");
    }

    #[test]
    fn untagged_revisions_are_adopted_only_when_asked() {
        let untagged = || listed(vec![revision(7, tags(None, "", None))]);
        let (reason, message) =
            terminal_reason(plan_of(&obj(None), &TaskDefinitionStatus::default(), untagged()));
        assert_eq!(reason, reasons::NOT_OWNED);
        assert!(message.contains("spec.adoption"), "{message}");

        // The family is taken over: new revisions go into it, the untagged ones are left as they are.
        let plan = plan_of(
            &obj(Some(Adoption::AdoptOrCreate)),
            &TaskDefinitionStatus::default(),
            untagged(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(plan.revision, Revision::Register(_)));
        assert!(plan.adopted && plan.known.is_empty());
        assert_eq!(reasons_of(&plan.notes), [reasons::ADOPTED]);
        assert!(plan.notes[0].message.contains("task definition family web"));

        // An untagged revision registered from this very spec is taken over, not registered again.
        let adopting = obj(Some(Adoption::Adopt));
        let hash = input::spec_hash(&adopting.spec);
        let same_spec = revision(7, tags(None, "", Some(&hash)));
        assert!(serves_spec(&adopting, &hash, &same_spec.tags));
        assert!(!serves_spec(&obj(None), &hash, &same_spec.tags));
        let plan = plan_of(
            &adopting,
            &TaskDefinitionStatus::default(),
            listed(vec![same_spec]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reused(&plan), Some(7));
        assert!(plan.adopted);
        assert_eq!(plan.known, BTreeSet::from([7]));
        assert_eq!(
            plan.notes[0].message,
            format!(
                "adopted {} (spec.adoption), registered from this same spec",
                arn(7)
            )
        );
    }

    #[test]
    fn a_missing_family_is_waited_for_with_adoption_adopt_and_registered_otherwise() {
        let adopt = obj(Some(Adoption::Adopt));
        let hash = input::spec_hash(&adopt.spec);
        let status = TaskDefinitionStatus::default();
        match apply(&adopt, &status, "web", &hash, Seen::default()) {
            Ok(Deref::Wait(State::Waiting { reason, .. })) => assert_eq!(reason, reasons::NOT_FOUND),
            other => panic!("expected a NotFound wait, got {other:?}"),
        }
        for adoption in [None, Some(Adoption::AdoptOrCreate)] {
            let plan = plan_of(&obj(adoption), &status, Seen::default()).unwrap_or_else(|e| panic!("{e}"));
            assert!(matches!(plan.revision, Revision::Register(_)), "{adoption:?}");
            assert!(plan.notes.is_empty() && !plan.adopted);
        }
    }

    #[test]
    fn an_invalid_spec_is_refused_before_registering_but_a_registered_revision_is_kept() {
        let mut cyclic = obj(None);
        cyclic.spec.container_definitions = serde_json::from_value(serde_json::json!([
            {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]}]))
        .unwrap_or_else(|e| panic!("containers: {e}"));
        let (reason, message) = terminal_reason(plan_of(
            &cyclic,
            &TaskDefinitionStatus::default(),
            Seen::default(),
        ));
        assert_eq!(reason, reasons::INVALID_SPEC);
        assert!(message.contains("a -> b -> a"), "{message}");
        let hash = input::spec_hash(&cyclic.spec);
        let recorded = Seen {
            recorded: Some(revision(2, ours(&hash))),
            ..Default::default()
        };
        let plan = plan_of(&cyclic, &TaskDefinitionStatus::default(), recorded);
        assert_eq!(plan.map(|p| reused(&p)).ok().flatten(), Some(2));
    }

    fn plan_knowing(known: &[i32]) -> Plan {
        Plan {
            revision: Revision::Register(Box::default()),
            desired_tags: Vec::new(),
            known: known.iter().copied().collect(),
            adopted: false,
            family: Family::default(),
            notes: Vec::new(),
        }
    }

    fn current(revision: i32, registered: bool) -> Current {
        Current {
            arn: arn(revision),
            revision,
            registered,
        }
    }

    #[test]
    fn history_beyond_the_limit_is_pruned_oldest_first_but_never_a_revision_in_use() {
        let plan = plan_knowing(&[1, 2, 3, 4, 5]);
        let new = current(6, true);
        let stale = beyond_history(&plan, &new, Some(2));
        assert_eq!(stale, [1, 2, 3]);
        assert_eq!(
            prune(&new, &stale, &BTreeSet::from([2, 6])),
            [(1, arn(1)), (3, arn(3))]
        );
        // The default keeps three older revisions; the current one never counts as older.
        assert_eq!(beyond_history(&plan, &current(5, false), None), [1]);
        assert!(beyond_history(&plan_knowing(&[4, 5]), &current(5, false), None).is_empty());
        assert_eq!(beyond_history(&plan, &current(5, false), Some(0)), [1, 2, 3, 4]);
    }

    #[test]
    fn the_status_records_the_current_revision_and_moves_the_deregistered_ones_to_inactive() {
        let obj = obj(None);
        let mut plan = plan_knowing(&[1, 2, 3]);
        plan.adopted = true;
        plan.notes.push(Note::new(reasons::ADOPTED, "adopted"));
        let applied = applied(
            TaskDefinitionStatus::default(),
            plan,
            &current(4, true),
            &[(1, arn(1))],
            "web",
            input::spec_hash(&obj.spec),
            "eu-west-1",
        );
        let s = &applied.status;
        assert_eq!(s.active_revisions, [2, 3, 4]);
        assert_eq!(s.inactive_revisions, [1], "deleted with the object");
        assert_eq!((s.revision, s.arn.clone()), (Some(4), Some(arn(4))));
        assert_eq!(s.spec_hash, Some(input::spec_hash(&obj.spec)));
        assert_eq!((s.adopted, s.region.as_deref()), (Some(true), Some("eu-west-1")));
        assert_eq!(
            reasons_of(&applied.notes),
            [reasons::ADOPTED, reasons::REGISTERED, reasons::DEREGISTERED]
        );
        assert_eq!(
            applied.notes[2].message,
            format!("deregistered {} (revisionHistoryLimit)", arn(1))
        );
        assert_eq!(
            applied.state,
            State::Ready {
                reason: reasons::REGISTERED,
                message: "revision 4 of web is ACTIVE".into()
            }
        );
        // A reused revision tells nothing.
        let kept = super::applied(
            TaskDefinitionStatus::default(),
            plan_knowing(&[4]),
            &current(4, false),
            &[],
            "web",
            String::new(),
            "eu-west-1",
        );
        assert!(kept.notes.is_empty());
        assert_eq!(kept.status.adopted, None);
    }

    #[test]
    fn observe_only_reports_the_newest_revision_or_waits_for_one() {
        let newest = revision(9, Vec::new()).definition;
        let seen = observed(TaskDefinitionStatus::default(), "web", "us-east-1", Some(newest));
        assert_eq!(seen.status.revision, Some(9));
        assert_eq!(seen.status.spec_hash, None, "nothing registered from a spec");
        assert!(matches!(seen.state, State::Ready { reason, .. } if reason == reasons::OBSERVED));
        let none = observed(TaskDefinitionStatus::default(), "web", "us-east-1", None);
        assert!(matches!(none.state, State::Waiting { reason, .. } if reason == reasons::NOT_FOUND));
        assert_eq!(none.status.arn, None);
    }

    #[test]
    fn a_deletion_waits_while_services_run_every_recorded_revision() {
        let status = TaskDefinitionStatus {
            revision: Some(3),
            active_revisions: vec![2, 3],
            ..Default::default()
        };
        match held("web", &status, &BTreeSet::from([2, 3, 8])) {
            Some(Cleanup::Wait { reason, message, .. }) => {
                assert_eq!(reason, reasons::HAS_DEPENDENTS);
                assert!(message.ends_with("[2, 3]"), "{message}");
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        // One recorded revision free is enough to go on (and delete it).
        assert_eq!(held("web", &status, &BTreeSet::from([3])), None);
        assert_eq!(
            held("web", &TaskDefinitionStatus::default(), &BTreeSet::from([3])),
            None
        );
    }

    #[test]
    fn a_deletion_removes_only_this_objects_revisions_and_waits_for_those_in_use() {
        let obj = obj(None);
        // Recorded: 8 (in use by a service) and 10; deregistered earlier by the history limit: 1, 2.
        let status = TaskDefinitionStatus {
            arn: Some(arn(10)),
            revision: Some(10),
            active_revisions: vec![8, 10],
            inactive_revisions: vec![1, 2],
            ..Default::default()
        };
        // The family's ACTIVE revisions: 11 is newer than every recorded one (a crash may have kept
        // it out of status: described), 9, 7 and 6 are older and unrecorded: another owner's, never
        // described.
        let listed: Vec<String> = [11, 10, 9, 8, 7, 6].into_iter().map(arn).collect();
        let (mine, to_describe) = sort_active(&status, listed);
        assert_eq!(mine, [arn(10), arn(8)]);
        assert_eq!(to_describe, [arn(11)]);
        assert!(owned(&obj, &ours("h")));
        assert!(!owned(&obj, &tags(Some("uid-2"), "other-ns", Some("h"))));
        // An earlier object of this name, deleted with Retain: not this one's.
        assert!(!owned(&obj, &tags(Some("uid-0"), "shop", Some("h"))));
        let mut all_ours = mine;
        all_ours.push(arn(11));
        let removal = removal(&BTreeSet::from([8, 9]), all_ours);
        assert_eq!(
            removal,
            Removal {
                deregister: vec![arn(10), arn(11)],
                blocked: vec![arn(8)],
            }
        );
        // Deleted: what it deregistered now, then what it deregistered earlier, from status alone.
        assert_eq!(
            to_delete(&status, &removal.deregister),
            [arn(10), arn(11), arn(1), arn(2)]
        );
        // Nothing recorded (a crash before the first status write): every ACTIVE revision is a
        // candidate, described for its tag.
        let (mine, to_describe) = sort_active(&TaskDefinitionStatus::default(), vec![arn(3), arn(2)]);
        assert!(mine.is_empty());
        assert_eq!(to_describe, [arn(3), arn(2)]);
        match cleaned(&removal.blocked) {
            Cleanup::Wait { reason, message, .. } => {
                assert_eq!(reason, reasons::HAS_DEPENDENTS);
                assert!(message.contains(&arn(8)), "{message}");
            }
            Cleanup::Done => panic!("a revision in use must hold the deletion"),
        }
        assert_eq!(cleaned(&[]), Cleanup::Done);
    }

    #[test]
    fn the_profile_fills_execution_role_logging_and_tags_and_guards_the_task_role() {
        let profile: crate::api::FargateProfile = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateProfile",
            "metadata": {"name": "batch"},
            "spec": {"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/main",
                     "selectors": [{"namespace": "shop"}],
                     "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
                     "logging": {"logGroup": "/ecs/batch"},
                     "allowedTaskRoleArns": ["arn:aws:iam::123456789012:role/web-*"],
                     "tags": [{"key": "team", "value": "platform"}, {"key": "cost", "value": "7"}]}
        }))
        .unwrap_or_else(|e| panic!("profile fixture: {e}"));
        let mut own = obj(None);
        own.spec.container_definitions.push(
            serde_json::from_value(serde_json::json!({"name": "side", "image": "x",
                "logConfiguration": {"logDriver": "splunk"}}))
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let filled = with_profile(&own, &profile, "us-east-1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            filled.spec.execution_role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/exec")
        );
        let drivers: Vec<_> = filled
            .spec
            .container_definitions
            .iter()
            .map(|c| c.log_configuration.as_ref().map(|l| l.log_driver.as_str()))
            .collect();
        assert_eq!(drivers, vec![Some("awslogs"), Some("splunk")]);
        let keys: Vec<_> = filled
            .spec
            .tags
            .iter()
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(keys, vec![("team", "a"), ("cost", "7")]);
        // The profile changes what a revision is made of: a new hash, so a new revision.
        assert_ne!(input::spec_hash(&filled.spec), input::spec_hash(&own.spec));

        own.spec.task_role_arn = Some("arn:aws:iam::123456789012:role/admin".into());
        match with_profile(&own, &profile, "us-east-1") {
            Err(Error::Terminal { reason, message }) => {
                assert_eq!(reason, reasons::TASK_ROLE_NOT_ALLOWED);
                assert!(message.contains("spec.taskRoleArn"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        own.spec.task_role_arn = Some("arn:aws:iam::123456789012:role/web-app".into());
        assert!(with_profile(&own, &profile, "us-east-1").is_ok());
    }

    #[test]
    fn revisions_appeared_since_the_look_up_are_those_neither_known_then_nor_just_registered() {
        let known = Family {
            arns: vec![arn(4), arn(2)],
            next: Some(5),
        };
        // Registered 6 where 5 was expected: 5 appeared (someone else's, or a duplicate of ours).
        assert_eq!(
            appeared(&known, &arn(6), &[arn(6), arn(5), arn(4), arn(2)]),
            [arn(5)]
        );
        // Registered 7: numbers past deregistered revisions, nothing new ACTIVE.
        assert!(appeared(&known, &arn(7), &[arn(7), arn(4), arn(2)]).is_empty());
        // A known revision deregistered since is no reason either.
        assert!(appeared(&known, &arn(7), &[arn(7), arn(4)]).is_empty());
    }
}
