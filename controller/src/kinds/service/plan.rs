//! Plan: what one reconcile of a FargateService does, decided without any I/O. From the spec, the
//! resolved references and the ECS service as described (SDK types) it decides the one [`Action`] to
//! take in AWS, and from the service AWS answers with it derives the status, the state and the
//! `Progressing` condition (rollout, circuit breaker, `scaledBy`, adoption, `ObserveOnly`). Deletion is
//! planned here too ([`removal`]). Being pure, every branch is tested below on AWS-shaped data,
//! including what moto cannot produce (rollout states, a circuit-breaker rollback).

use super::connect;
use super::dereference::{Resolved, Target};
use super::strategy::{self, Controller};
use crate::api::cluster::CapacityProviderStrategyItem as SpecStrategyItem;
use crate::api::conditions::PROGRESSING;
use crate::api::service::FargateServiceSpec;
use crate::api::{Condition, ConditionStatus, FargateService, FargateServiceStatus};
use crate::aws::ecs::{NewService, ServiceUpdate, tag};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership;
use crate::runtime::{Applied, Cleanup, Error, Note, State};
use aws_sdk_ecs::types as sdk;
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};
use std::time::Duration;

const RECHECK_ROLLOUT: Duration = Duration::from_secs(10);
const RECHECK_DELETING: Duration = Duration::from_secs(5);
/// How often a service whose deletion waits for its ScalingPolicy looks again.
const RECHECK_DEPENDENT: Duration = super::dereference::RECHECK_DEPENDENCY;
/// The desired count a new service starts with when the spec names none (ECS's own default for a
/// replica service); afterwards a count the spec leaves out is not managed.
const DEFAULT_DESIRED_COUNT: i32 = 1;

impl FargateService {
    /// The ECS service name: `spec.serviceName`, else metadata.name.
    pub(super) fn service_name(&self) -> String {
        self.spec.service_name.clone().unwrap_or_else(|| self.name_any())
    }
}

/// What `apply` does, once the references are resolved and the service described.
pub(super) enum Plan {
    /// Change nothing in AWS; this is the outcome: the `ObserveOnly` projection, or a wait for the
    /// service to appear (adoption `Adopt`) or to finish draining.
    Settled(Applied<FargateServiceStatus>),
    /// Take `action`, then report the service AWS answers with through `then`.
    Act { action: Action, then: Report },
}

impl Plan {
    /// Whether the plan creates the service.
    pub(super) fn creates(&self) -> bool {
        matches!(
            self,
            Plan::Act {
                action: Action::Create(_),
                ..
            }
        )
    }

    /// Whether the plan sets the service's desired count on an existing service (which undoes an
    /// autoscaler's count if a ScalingPolicy owns it after all).
    pub(super) fn sets_desired_count(&self) -> bool {
        matches!(self, Plan::Act { action: Action::Update { changes, .. }, .. } if changes.desired_count.is_some())
    }
}

/// The one change a reconcile makes in AWS.
#[derive(Clone, Debug)]
pub(super) enum Action {
    /// No service yet: CreateService, ownership tags included.
    Create(Box<NewService>),
    /// The service differs from the spec: UpdateService with the fields that differ (only those),
    /// then bring its tags to `tags`.
    Update {
        current: Box<sdk::Service>,
        changes: Box<ServiceUpdate>,
        tags: Vec<sdk::Tag>,
    },
    /// Nothing differs but perhaps the tags: bring them to `tags` (no call when they already match).
    SyncTags {
        current: Box<sdk::Service>,
        tags: Vec<sdk::Tag>,
    },
}

/// What to report once the action is taken: the status so far (marked `adopted` by an adoption) and
/// the Events of the change.
#[derive(Clone, Debug)]
pub(super) struct Report {
    status: FargateServiceStatus,
    notes: Vec<Note>,
    /// Whether the action sent a create or an update (said in the rollout message).
    sent: bool,
    /// Spec fields that differ but are not sent while CodeDeploy or an external tool owns the rollouts.
    held: Vec<&'static str>,
}

/// Decides what `apply` does with the service as described (`observed`; `None`: it does not exist).
/// Errs `NotOwned` for a service of another object (or not adoptable), `InvalidSpec` for a spec
/// CreateService cannot take.
pub(super) fn plan(
    obj: &FargateService,
    refs: &Resolved,
    observed: Option<sdk::Service>,
    mut status: FargateServiceStatus,
) -> Result<Plan, Error> {
    let Target {
        cluster,
        region,
        name,
    } = &refs.target;
    if obj.spec.policies.observe_only() {
        return Ok(Plan::Settled(observe(
            status,
            name,
            region.as_deref(),
            observed.as_ref(),
        )));
    }
    if let Some(d) = &obj.spec.deployment_configuration {
        strategy::check(d)?;
    }
    let mut notes = Vec::new();
    let observed = match observed {
        Some(s) if !owned(obj, &s) => {
            let what = format!("ECS service {name} in {cluster}");
            let owner = ownership::owner_of_ecs(obj, s.tags());
            ownership::claim::<FargateService>(&obj.spec.policies, &owner, &what)?;
            notes.push(Note::new(
                reasons::ADOPTED,
                format!("adopted {what} (spec.adoption)"),
            ));
            status.adopted = Some(true);
            Some(s)
        }
        other => other,
    };
    let mut held = Vec::new();
    let action = match observed {
        None if !ownership::may_create(&obj.spec.policies) => {
            return Ok(Plan::Settled(Applied::new(status, not_found(name, cluster))));
        }
        None => {
            notes.push(Note::new(
                reasons::CREATED,
                format!(
                    "created ECS service {name} running {}",
                    short_td(&refs.task_definition)
                ),
            ));
            let before = status.creations.unwrap_or(0);
            let create = new_service(obj, refs, desired_tags(obj), before)?;
            status.service_connect_configuration_applied = connect::hash(&obj.spec);
            // A new service deploys anyway: the value it is created with asks for nothing more.
            status.forced_deployment = obj.spec.force_new_deployment.clone();
            status.volume_configurations_applied = volumes_hash(&obj.spec);
            status.vpc_lattice_configurations_applied = lattice_hash(&obj.spec);
            // Written with the answer: the next create (after a deletion behind our back) is another
            // request; a retry of this one, before the write, sends the same token.
            status.creations = Some(before.saturating_add(1));
            Action::Create(Box::new(create))
        }
        Some(s) if s.status() == Some("DRAINING") => {
            let state = State::InProgress {
                reason: reasons::DRAINING,
                message: format!(
                    "ECS service {name} is DRAINING after a deletion; it is recreated once INACTIVE"
                ),
                recheck: RECHECK_DELETING,
            };
            return Ok(Plan::Settled(Applied::new(status, state)));
        }
        Some(s) => {
            // A revision the circuit breaker rejected is not rolled out again: the one recorded in
            // status, or (first sight of the rollback: right after it, or after a restart before the
            // status said so) a FAILED deployment of the desired revision in the answer itself.
            let rejected = status.failed_task_definition_arn.clone().or_else(|| {
                failed_deployment(&s, &refs.task_definition).map(|_| refs.task_definition.clone())
            });
            let changes = desired_update(
                &obj.spec,
                &s,
                &refs.task_definition,
                refs.scaled_by.is_none(),
                rejected.as_deref(),
                Placement {
                    cluster_default: &refs.default_strategy,
                    applied: status.capacity_provider_strategy_applied == Some(true),
                },
            );
            let mut changes = changes;
            let redeploying = redeploy(&obj.spec, &status);
            changes.force_new_deployment |= redeploying;
            changes.volume_configurations = volumes_to_send(&obj.spec, &s, &status)?;
            changes.vpc_lattice_configurations = lattice_to_send(&obj.spec, &s, &status)?;
            if let Some(c) = &obj.spec.service_connect_configuration {
                connect::check(c, refs)?;
            }
            changes.service_connect_configuration = connect::to_send(
                &obj.spec,
                primary(&s).and_then(|d| d.service_connect_configuration()),
                status.service_connect_configuration_applied.as_deref(),
            )?;
            let (changes, dropped) = strategy::restrict(changes, Controller::of(&s));
            held = dropped;
            if redeploying && changes.force_new_deployment {
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!(
                        "forced a new deployment of ECS service {name} (spec.forceNewDeployment {:?})",
                        obj.spec.force_new_deployment.as_deref().unwrap_or_default()
                    ),
                ));
            }
            // Recorded with the answer (the status is written only once the update went through);
            // what is held while another deployment controller owns the rollouts is not recorded.
            let sent = |field: &str| !held.contains(&field);
            if sent("forceNewDeployment") {
                status.forced_deployment = obj.spec.force_new_deployment.clone();
            }
            if sent("volumeConfigurations") {
                status.volume_configurations_applied = volumes_hash(&obj.spec);
            }
            if sent("vpcLatticeConfigurations") {
                status.vpc_lattice_configurations_applied = lattice_hash(&obj.spec);
            }
            if sent("serviceConnectConfiguration") {
                status.service_connect_configuration_applied = connect::hash(&obj.spec);
            }
            let current = Box::new(s);
            let tags = desired_tags(obj);
            if changes.is_empty() {
                Action::SyncTags { current, tags }
            } else {
                notes.extend(update_notes(&changes));
                Action::Update {
                    current,
                    changes: Box::new(changes),
                    tags,
                }
            }
        }
    };
    // Recorded with the answer: once the spec's strategy is on the service, its removal is applied.
    status.capacity_provider_strategy_applied = obj.spec.capacity_provider_strategy.is_some().then_some(true);
    let sent = matches!(action, Action::Create(_) | Action::Update { .. });
    Ok(Plan::Act {
        action,
        then: Report {
            status,
            notes,
            sent,
            held,
        },
    })
}

/// Whether `spec.forceNewDeployment` asks for a redeploy: a value other than the last one handled, for a
/// service this object recorded before (the value it is created or adopted with only gets recorded).
fn redeploy(spec: &FargateServiceSpec, status: &FargateServiceStatus) -> bool {
    spec.force_new_deployment
        .as_ref()
        .is_some_and(|v| status.arn.is_some() && status.forced_deployment.as_ref() != Some(v))
}

/// The tags the service should carry: the spec's, then the ownership tags.
fn desired_tags(obj: &FargateService) -> Vec<sdk::Tag> {
    let mut tags: Vec<sdk::Tag> = obj.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
    tags.extend(ownership::ownership_tags(obj));
    tags
}

/// The Events of an update: `RolloutStarted` for a new task definition, `Updated` for the rest.
fn update_notes(changes: &ServiceUpdate) -> Vec<Note> {
    let mut notes = Vec::new();
    if let Some(td) = &changes.task_definition {
        notes.push(Note::new(
            reasons::ROLLOUT_STARTED,
            format!("rolling out {}", short_td(td)),
        ));
    }
    let others: Vec<_> = changes
        .changed()
        .into_iter()
        .filter(|f| *f != "taskDefinition")
        .collect();
    if !others.is_empty() {
        notes.push(Note::new(
            reasons::UPDATED,
            format!("updated {}", others.join(", ")),
        ));
    }
    notes
}

impl Report {
    /// Whether the plan takes over a service made by someone else (for the logs).
    pub(super) fn adopts(&self) -> bool {
        self.notes.iter().any(|n| n.reason == reasons::ADOPTED)
    }

    /// The outcome, from the service AWS answered with: the status facts, the rollout it is in
    /// (Ready once complete, InProgress while rolling out, Failed once the circuit breaker rolled it
    /// back) and the matching `Progressing` condition, with the Events of the change. `stage` is the
    /// lifecycle stage of a blue/green, linear or canary rollout in progress, when it was asked for
    /// ([`wants_stage`]). With CODE_DEPLOY or EXTERNAL, the rollout is the other controller's: the
    /// service is judged by the revision it runs, and the status says who rolls it out.
    pub(super) fn with(
        self,
        refs: &Resolved,
        service: &sdk::Service,
        stage: Option<String>,
    ) -> Applied<FargateServiceStatus> {
        let Report {
            mut status,
            notes,
            sent,
            held,
        } = self;
        let controller = Controller::of(service);
        status.deployment_controller = service
            .deployment_controller()
            .map(|c| c.r#type.as_str().to_string());
        if let Some(owner) = controller.owner() {
            return handed_over(status, refs, service, owner, &held).with_notes(notes);
        }
        status.lifecycle_stage = stage.clone();
        let desired_td = &refs.task_definition;
        let rollout = rollout(service, desired_td, status.failed_task_definition_arn.as_deref());
        status.arn = service.service_arn().map(str::to_string);
        status.service_name = Some(refs.target.name.clone());
        status.cluster_arn = service.cluster_arn().map(str::to_string);
        status.region = refs.target.region.clone();
        status.task_definition_arn = rollout.task_definition.clone();
        status.desired_count = Some(service.desired_count());
        status.running_count = Some(service.running_count());
        status.pending_count = Some(service.pending_count());
        status.rollout_state = rollout.rollout_state.clone();
        status.rollout_state_reason = rollout.reason.clone();
        status.last_event = service
            .events()
            .first()
            .and_then(|e| e.message())
            .map(str::to_string);
        status.scaled_by = refs.scaled_by.clone();

        let progressing = |s: ConditionStatus, reason: &str, message: &str| {
            vec![Condition::new(PROGRESSING, s, reason, message)]
        };
        let applied = match rollout.phase {
            Phase::Complete => {
                status.failed_task_definition_arn = None;
                let message = format!(
                    "{}/{} tasks running {}",
                    service.running_count(),
                    service.desired_count(),
                    short_td(desired_td)
                );
                let mut a = Applied::new(
                    status,
                    State::Ready {
                        reason: reasons::ROLLOUT_COMPLETE,
                        message: message.clone(),
                    },
                );
                a.extra_conditions = progressing(ConditionStatus::False, reasons::ROLLOUT_COMPLETE, &message);
                a
            }
            Phase::InProgress => {
                let message = format!(
                    "rolling out {}: {}/{} running, {} pending{}{}",
                    short_td(desired_td),
                    service.running_count(),
                    service.desired_count(),
                    service.pending_count(),
                    stage.map(|s| format!(", stage {s}")).unwrap_or_default(),
                    if sent { " (update just sent)" } else { "" }
                );
                let state = State::InProgress {
                    reason: reasons::ROLLOUT_IN_PROGRESS,
                    message: message.clone(),
                    recheck: RECHECK_ROLLOUT,
                };
                let mut a = Applied::new(status, state);
                a.extra_conditions =
                    progressing(ConditionStatus::True, reasons::ROLLOUT_IN_PROGRESS, &message);
                a
            }
            Phase::Failed => {
                status.failed_task_definition_arn = Some(desired_td.clone());
                let message = format!(
                    "the rollout of {} failed: {}",
                    short_td(desired_td),
                    rollout.reason.as_deref().unwrap_or("no reason given")
                );
                let mut a = Applied::new(
                    status,
                    State::Failed {
                        reason: reasons::ROLLOUT_FAILED,
                        message: message.clone(),
                    },
                );
                a.extra_conditions = progressing(ConditionStatus::False, reasons::ROLLOUT_FAILED, &message);
                a
            }
        };
        applied.with_notes(notes)
    }
}

/// Whether the lifecycle stage of the service's rollout is worth a DescribeServiceDeployments: a
/// blue/green, linear or canary rollout the controller follows, still in progress.
pub(super) fn wants_stage(service: &sdk::Service) -> Option<&str> {
    let in_progress =
        primary(service).is_some_and(|d| d.rollout_state() == Some(&sdk::DeploymentRolloutState::InProgress));
    (Controller::of(service) == Controller::Ecs && strategy::staged(service) && in_progress)
        .then(|| service.current_service_deployment())
        .flatten()
}

/// The outcome for a service whose rollouts belong to CodeDeploy or an external tool (`owner`): Ready
/// once the revision it runs has its tasks, reason `RolloutByCodeDeploy` / `RolloutByExternalController`,
/// with the revision it runs, the TaskDefinition's newest, and the spec fields held back (`held`).
fn handed_over(
    mut status: FargateServiceStatus,
    refs: &Resolved,
    service: &sdk::Service,
    owner: &str,
    held: &[&str],
) -> Applied<FargateServiceStatus> {
    let runs = primary(service)
        .and_then(|d| d.task_definition())
        .or(service.task_definition())
        .unwrap_or_default()
        .to_string();
    let rollout = rollout(service, &runs, None);
    status.arn = service.service_arn().map(str::to_string);
    status.service_name = Some(refs.target.name.clone());
    status.cluster_arn = service.cluster_arn().map(str::to_string);
    status.region = refs.target.region.clone();
    status.task_definition_arn = Some(runs.clone()).filter(|r| !r.is_empty());
    status.desired_count = Some(service.desired_count());
    status.running_count = Some(service.running_count());
    status.pending_count = Some(service.pending_count());
    status.rollout_state = rollout.rollout_state.clone();
    status.rollout_state_reason = rollout.reason.clone();
    status.scaled_by = refs.scaled_by.clone();
    status.lifecycle_stage = None;
    let reason = if owner == "CodeDeploy" {
        reasons::ROLLOUT_BY_CODE_DEPLOY
    } else {
        reasons::ROLLOUT_BY_EXTERNAL_CONTROLLER
    };
    let newest = if runs == refs.task_definition {
        String::new()
    } else {
        format!(
            "; the TaskDefinition's newest revision {} is for {owner} to deploy",
            short_td(&refs.task_definition)
        )
    };
    let held = if held.is_empty() {
        String::new()
    } else {
        format!(
            "; not applied while {owner} owns rollouts (UpdateService refuses them): {}",
            held.join(", ")
        )
    };
    let message = format!(
        "rollouts belong to {owner}: {}/{} tasks running {}{newest}{held}",
        service.running_count(),
        service.desired_count(),
        short_td(&runs)
    );
    let progressing = |s: ConditionStatus| vec![Condition::new(PROGRESSING, s, reason, &message)];
    let mut a = match rollout.phase {
        Phase::Complete => {
            let mut a = Applied::new(
                status,
                State::Ready {
                    reason,
                    message: message.clone(),
                },
            );
            a.extra_conditions = progressing(ConditionStatus::False);
            a
        }
        Phase::InProgress | Phase::Failed => {
            let mut a = Applied::new(
                status,
                State::InProgress {
                    reason,
                    message: message.clone(),
                    recheck: RECHECK_ROLLOUT,
                },
            );
            a.extra_conditions = progressing(ConditionStatus::True);
            a
        }
    };
    a.status.last_event = service
        .events()
        .first()
        .and_then(|e| e.message())
        .map(str::to_string);
    a
}

fn owned(obj: &FargateService, service: &sdk::Service) -> bool {
    ownership::owner_of_ecs(obj, service.tags()) == ownership::Owner::This
}

fn not_found(name: &str, cluster: &str) -> State {
    State::Waiting {
        reason: reasons::NOT_FOUND,
        message: format!(
            "ECS service {name} does not exist in {cluster}; it is not created (adoption Adopt or ObserveOnly)"
        ),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

/// `managementPolicy: ObserveOnly`: report the service as AWS has it, write nothing.
fn observe(
    mut status: FargateServiceStatus,
    name: &str,
    region: Option<&str>,
    service: Option<&sdk::Service>,
) -> Applied<FargateServiceStatus> {
    let Some(service) = service else {
        return Applied::new(status, not_found(name, "its cluster"));
    };
    status.arn = service.service_arn().map(str::to_string);
    status.service_name = Some(name.to_string());
    status.cluster_arn = service.cluster_arn().map(str::to_string);
    status.region = region.map(str::to_string);
    status.task_definition_arn = service.task_definition().map(str::to_string);
    status.desired_count = Some(service.desired_count());
    status.running_count = Some(service.running_count());
    status.pending_count = Some(service.pending_count());
    let message = format!(
        "ECS service {name} is {}: {}/{} tasks running (managementPolicy ObserveOnly: observed, never changed)",
        service.status().unwrap_or("in an unknown state"),
        service.running_count(),
        service.desired_count()
    );
    Applied::new(
        status,
        State::Ready {
            reason: reasons::OBSERVED,
            message,
        },
    )
}

// ---- Deletion -----------------------------------------------------------------------------------

/// A ScalingPolicy that still targets the service goes first: the deletion waits for it.
pub(super) fn held_by(scaled_by: Option<String>) -> Option<Cleanup> {
    scaled_by.map(|policy| Cleanup::Wait {
        reason: reasons::HAS_DEPENDENTS,
        message: format!("ScalingPolicy {policy} still targets this service: it goes first"),
        recheck: RECHECK_DEPENDENT,
    })
}

/// What deleting the object does with the service as described.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Removal {
    /// Nothing is left in AWS (never created, or gone / INACTIVE): release the object.
    Gone,
    /// The service belongs to another object (or to nobody): leave it in AWS and release the object.
    NotOwned,
    /// ACTIVE and ours: DeleteService (forced: ECS stops the tasks itself, no scale to 0 first).
    Delete,
    /// Deletion under way (DRAINING): look again soon.
    Wait(Cleanup),
}

/// Plans the deletion of `target` as described (`None`: it does not exist or is INACTIVE).
pub(super) fn removal(obj: &FargateService, target: &Target, observed: Option<&sdk::Service>) -> Removal {
    match observed {
        None => Removal::Gone,
        Some(s) if !owned(obj, s) => Removal::NotOwned,
        Some(s) if s.status() == Some("ACTIVE") => Removal::Delete,
        Some(_) => Removal::Wait(deleting(&target.name)),
    }
}

/// After DeleteService: done once ECS answers INACTIVE, else wait for the drain.
pub(super) fn after_delete(target: &Target, answered: Option<&sdk::Service>) -> Cleanup {
    if answered.is_some_and(|s| s.status() == Some("INACTIVE")) {
        Cleanup::Done
    } else {
        deleting(&target.name)
    }
}

fn deleting(name: &str) -> Cleanup {
    Cleanup::Wait {
        reason: reasons::DELETING,
        message: format!("waiting for ECS service {name} to drain and become INACTIVE"),
        recheck: RECHECK_DELETING,
    }
}

// ---- From the spec to SDK values ----------------------------------------------------------------

/// ECS client tokens are up to 36 characters: a hash of the object's uid, its generation and how many
/// services it created before (`status.creations`), so a retry of the same create is recognised, and a
/// new generation or a recreate is a new request.
fn client_token(obj: &FargateService, creations: i32) -> String {
    let seed = format!(
        "{}/{}/{creations}",
        obj.meta().uid.as_deref().unwrap_or_default(),
        obj.meta().generation.unwrap_or(0)
    );
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The service's PRIMARY deployment, where ECS reports what the service runs with.
fn primary(service: &sdk::Service) -> Option<&sdk::Deployment> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
}

/// The hash of a spec field's value (`None` when left out), recorded when sent.
pub(super) fn field_hash<T: serde::Serialize>(value: Option<&T>) -> Option<String> {
    let bytes = serde_json::to_vec(value?).unwrap_or_default();
    Some(
        Sha256::digest(&bytes)
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn volumes_hash(spec: &FargateServiceSpec) -> Option<String> {
    field_hash(spec.volume_configurations.as_ref())
}

fn lattice_hash(spec: &FargateServiceSpec) -> Option<String> {
    field_hash(spec.vpc_lattice_configurations.as_ref())
}

/// The spec's VPC Lattice configurations as CreateService and UpdateService take them.
fn lattice(
    items: &[crate::api::service::VpcLatticeConfiguration],
) -> Result<Vec<sdk::VpcLatticeConfiguration>, Error> {
    items
        .iter()
        .map(|l| {
            sdk::VpcLatticeConfiguration::builder()
                .role_arn(&l.role_arn)
                .target_group_arn(&l.target_group_arn)
                .port_name(&l.port_name)
                .build()
                .map_err(|e| Error::Terminal {
                    reason: reasons::INVALID_SPEC,
                    message: format!("vpcLatticeConfigurations: {e}"),
                })
        })
        .collect()
}

/// The VPC Lattice configurations to send with an update: the spec's, when they differ (as a set) from
/// what the primary deployment reports, or, where ECS reports none (moto), from what was last sent.
fn lattice_to_send(
    spec: &FargateServiceSpec,
    service: &sdk::Service,
    status: &FargateServiceStatus,
) -> Result<Option<Vec<sdk::VpcLatticeConfiguration>>, Error> {
    let Some(want) = &spec.vpc_lattice_configurations else {
        return Ok(None);
    };
    let reported = primary(service)
        .map(|d| d.vpc_lattice_configurations())
        .unwrap_or_default();
    let key = |r: &str, t: &str, p: &str| (r.to_string(), t.to_string(), p.to_string());
    let differs = if reported.is_empty() {
        status.vpc_lattice_configurations_applied != lattice_hash(spec)
    } else {
        let mut w: Vec<_> = want
            .iter()
            .map(|l| key(&l.role_arn, &l.target_group_arn, &l.port_name))
            .collect();
        let mut h: Vec<_> = reported
            .iter()
            .map(|l| key(l.role_arn(), l.target_group_arn(), l.port_name()))
            .collect();
        w.sort();
        h.sort();
        w != h
    };
    if differs {
        lattice(want).map(Some)
    } else {
        Ok(None)
    }
}

/// The spec's volume configurations as CreateService and UpdateService take them.
fn service_volumes(
    volumes: &[crate::api::task::TaskVolumeConfiguration],
) -> Result<Vec<sdk::ServiceVolumeConfiguration>, Error> {
    let invalid = |e: aws_sdk_ecs::error::BuildError| Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: format!("volumeConfigurations: {e}"),
    };
    volumes
        .iter()
        .map(|v| {
            let e = &v.managed_ebs_volume;
            let ebs = sdk::ServiceManagedEbsVolumeConfiguration::builder()
                .role_arn(&e.role_arn)
                .set_size_in_gib(e.size_in_gi_b)
                .set_volume_type(e.volume_type.clone())
                .set_iops(e.iops)
                .set_throughput(e.throughput)
                .set_encrypted(e.encrypted)
                .set_kms_key_id(e.kms_key_id.clone())
                .set_snapshot_id(e.snapshot_id.clone())
                .set_filesystem_type(e.filesystem_type.as_deref().map(sdk::TaskFilesystemType::from))
                .build()
                .map_err(invalid)?;
            sdk::ServiceVolumeConfiguration::builder()
                .name(&v.name)
                .managed_ebs_volume(ebs)
                .build()
                .map_err(invalid)
        })
        .collect()
}

/// The volume configurations to send with an update: the spec's, when they differ from what the
/// primary deployment reports (each volume by name, in the fields the spec sets: ECS fills in the
/// rest), or, where ECS reports none (moto does not), from what was last sent
/// (`status.volumeConfigurationsApplied`). Left out of the spec: not managed.
fn volumes_to_send(
    spec: &FargateServiceSpec,
    service: &sdk::Service,
    status: &FargateServiceStatus,
) -> Result<Option<Vec<sdk::ServiceVolumeConfiguration>>, Error> {
    let Some(want) = &spec.volume_configurations else {
        return Ok(None);
    };
    let reported = primary(service)
        .map(|d| d.volume_configurations())
        .unwrap_or_default();
    let differs = if reported.is_empty() {
        status.volume_configurations_applied != volumes_hash(spec)
    } else {
        want.len() != reported.len()
            || want.iter().any(|w| {
                reported
                    .iter()
                    .find(|r| r.name() == w.name)
                    .and_then(|r| r.managed_ebs_volume())
                    .is_none_or(|r| ebs_differs(&w.managed_ebs_volume, r))
            })
    };
    if differs {
        service_volumes(want).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether ECS's volume differs from the spec's in a field the spec sets.
fn ebs_differs(
    w: &crate::api::task::ManagedEbsVolume,
    h: &sdk::ServiceManagedEbsVolumeConfiguration,
) -> bool {
    let set = |w: &Option<String>, h: Option<&str>| w.as_deref().is_some_and(|w| Some(w) != h);
    let num = |w: Option<i32>, h: Option<i32>| w.is_some_and(|w| Some(w) != h);
    w.role_arn != h.role_arn()
        || num(w.size_in_gi_b, h.size_in_gib())
        || set(&w.volume_type, h.volume_type())
        || num(w.iops, h.iops())
        || num(w.throughput, h.throughput())
        || w.encrypted.is_some_and(|e| Some(e) != h.encrypted())
        || set(&w.kms_key_id, h.kms_key_id())
        || set(&w.snapshot_id, h.snapshot_id())
        || set(&w.filesystem_type, h.filesystem_type().map(|f| f.as_str()))
}

/// `family:revision` of a task-definition ARN, for messages.
fn short_td(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, fr)| fr)
}

fn new_service(
    obj: &FargateService,
    r: &Resolved,
    tags: Vec<sdk::Tag>,
    creations: i32,
) -> Result<NewService, Error> {
    let s = &obj.spec;
    Ok(NewService {
        cluster: r.target.cluster.clone(),
        name: r.target.name.clone(),
        task_definition: r.task_definition.clone(),
        desired_count: s.desired_count.unwrap_or(DEFAULT_DESIRED_COUNT),
        // Neither a launch type nor a strategy: the cluster's default strategy places the tasks (ECS
        // takes it when both are left out); without one ECS would use EC2, so FARGATE is named.
        launch_type: match (&s.launch_type, &s.capacity_provider_strategy) {
            (Some(_), _) => Some(sdk::LaunchType::Fargate),
            (None, Some(_)) => None,
            (None, None) => r.default_strategy.is_empty().then_some(sdk::LaunchType::Fargate),
        },
        capacity_provider_strategy: s.capacity_provider_strategy.as_deref().map(strategy),
        platform_version: s.platform_version.clone(),
        network_configuration: network(s)?,
        deployment_configuration: s
            .deployment_configuration
            .as_ref()
            .map(|d| strategy::deployment(d, None)),
        load_balancers: s.load_balancers.as_deref().map(load_balancers),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds,
        service_registries: s.service_registries.as_deref().map(registries),
        enable_execute_command: s.enable_execute_command,
        propagate_tags: s.propagate_tags.as_deref().map(sdk::PropagateTags::from),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags,
        availability_zone_rebalancing: s
            .availability_zone_rebalancing
            .as_deref()
            .map(sdk::AvailabilityZoneRebalancing::from),
        volume_configurations: s
            .volume_configurations
            .as_deref()
            .map(service_volumes)
            .transpose()?,
        vpc_lattice_configurations: s.vpc_lattice_configurations.as_deref().map(lattice).transpose()?,
        deployment_controller: s.deployment_controller.as_ref().and_then(strategy::controller),
        service_connect_configuration: s
            .service_connect_configuration
            .as_ref()
            .map(|c| connect::check(c, r).and_then(|()| connect::configuration(c)))
            .transpose()?,
        tags,
        client_token: client_token(obj, creations),
    })
}

/// The network to create the service with: the spec's (filled from the FargateProfile), else refused
/// (ECS: "Network Configuration must be provided when networkMode 'awsvpc' is specified").
fn network(s: &FargateServiceSpec) -> Result<sdk::NetworkConfiguration, Error> {
    let Some(n) = &s.network_configuration else {
        return Err(Error::Terminal {
            reason: reasons::INVALID_SPEC,
            message: "spec.networkConfiguration: required on Fargate (awsvpc); set it, or have a \
                      FargateProfile with subnets select this service"
                .into(),
        });
    };
    super::super::placement::network(n).map_err(|e| Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: e.to_string(),
    })
}

fn strategy(items: &[SpecStrategyItem]) -> Vec<sdk::CapacityProviderStrategyItem> {
    super::super::placement::strategy(items)
}

fn load_balancers(lbs: &[crate::api::service::LoadBalancer]) -> Vec<sdk::LoadBalancer> {
    lbs.iter()
        .map(|l| {
            sdk::LoadBalancer::builder()
                .target_group_arn(&l.target_group_arn)
                .container_name(&l.container_name)
                .container_port(l.container_port)
                .set_advanced_configuration(l.advanced_configuration.as_ref().map(|a| {
                    sdk::AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&a.alternate_target_group_arn)
                        .production_listener_rule(&a.production_listener_rule)
                        .set_test_listener_rule(a.test_listener_rule.clone())
                        .role_arn(&a.role_arn)
                        .build()
                }))
                .build()
        })
        .collect()
}

fn registries(regs: &[crate::api::service::ServiceRegistry]) -> Vec<sdk::ServiceRegistry> {
    regs.iter()
        .map(|r| {
            sdk::ServiceRegistry::builder()
                .registry_arn(&r.registry_arn)
                .set_port(r.port)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port)
                .build()
        })
        .collect()
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// Where the spec places the service, when it says: its capacity provider strategy; the FARGATE launch
/// type (an empty strategy: UpdateService moves a service "back to the launch type" when given an
/// empty list); with neither, the cluster's default strategy (or the launch type when it has none), but
/// only when the spec had set a strategy before (`applied`): a strategy the spec never named is not
/// managed.
fn desired_strategy(
    spec: &FargateServiceSpec,
    placement: Placement<'_>,
) -> Option<Vec<sdk::CapacityProviderStrategyItem>> {
    match (&spec.capacity_provider_strategy, &spec.launch_type) {
        (Some(want), _) => Some(strategy(want)),
        (None, Some(_)) => Some(Vec::new()),
        (None, None) if placement.applied => Some(placement.cluster_default.to_vec()),
        (None, None) => None,
    }
}

/// What the service's placement depends on besides its spec.
#[derive(Clone, Copy, Debug)]
struct Placement<'a> {
    /// The cluster's default capacity provider strategy (empty: none).
    cluster_default: &'a [sdk::CapacityProviderStrategyItem],
    /// Whether the service's current strategy is one the spec set (`status.capacityProviderStrategyApplied`).
    applied: bool,
}

/// The UpdateService that brings `service` to the spec: only fields the user set and that differ.
/// `manage_count` is false while a ScalingPolicy owns the desired count; a task definition whose rollout
/// already failed (`failed_td`) is not rolled out again.
fn desired_update(
    spec: &FargateServiceSpec,
    service: &sdk::Service,
    desired_td: &str,
    manage_count: bool,
    failed_td: Option<&str>,
    placement: Placement<'_>,
) -> ServiceUpdate {
    let mut u = ServiceUpdate::default();
    if service.task_definition() != Some(desired_td) && failed_td != Some(desired_td) {
        u.task_definition = Some(desired_td.to_string());
    }
    // Left out of the spec, the count is not managed: AWS keeps whatever it is (set by hand, by an
    // external scaler, or at creation), as for every other field.
    if let Some(want_count) = spec.desired_count
        && manage_count
        && service.desired_count() != want_count
    {
        u.desired_count = Some(want_count);
    }

    let have_vpc = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    // Left out (and no profile gives one): not managed.
    let want_vpc = spec
        .network_configuration
        .as_ref()
        .map(|n| &n.awsvpc_configuration);
    let network_differs = match (have_vpc, want_vpc) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(h), Some(want_vpc)) => {
            sorted(h.subnets()) != sorted(&want_vpc.subnets)
                || (!want_vpc.security_groups.is_empty()
                    && sorted(h.security_groups()) != sorted(&want_vpc.security_groups))
                || want_vpc.assign_public_ip.as_deref().unwrap_or("DISABLED")
                    != h.assign_public_ip().map_or("DISABLED", |a| a.as_str())
        }
    };
    if network_differs {
        u.network_configuration = network(spec).ok();
    }

    if let Some(want) = desired_strategy(spec, placement)
        && crate::kinds::placement::strategy_key(&want)
            != crate::kinds::placement::strategy_key(service.capacity_provider_strategy())
    {
        u.capacity_provider_strategy = Some(want);
        // ECS applies a new strategy with the next deployment ("this parameter doesn't trigger a
        // new service deployment"): start one, so the tasks move now.
        u.force_new_deployment = true;
    }
    if let Some(v) = &spec.platform_version
        && service.platform_version() != Some(v.as_str())
    {
        u.platform_version = Some(v.clone());
    }
    if let Some(d) = &spec.deployment_configuration
        && strategy::deployment_differs(d, service.deployment_configuration())
    {
        u.deployment_configuration = Some(strategy::deployment(d, service.deployment_configuration()));
    }
    u.deployment_controller = strategy::controller_to_send(spec.deployment_controller.as_ref(), service);
    if let Some(lbs) = &spec.load_balancers {
        // The blue/green configuration is compared when the spec sets one (else not managed).
        let advanced = lbs.iter().any(|l| l.advanced_configuration.is_some());
        let key = |l: &sdk::LoadBalancer| {
            (
                l.target_group_arn().map(str::to_string),
                l.container_name().map(str::to_string),
                l.container_port(),
                l.advanced_configuration().filter(|_| advanced).map(|a| {
                    (
                        a.alternate_target_group_arn().map(str::to_string),
                        a.production_listener_rule().map(str::to_string),
                        a.test_listener_rule().map(str::to_string),
                        a.role_arn().map(str::to_string),
                    )
                }),
            )
        };
        let want: Vec<_> = sorted(&load_balancers(lbs).iter().map(key).collect::<Vec<_>>());
        if want != sorted(&service.load_balancers().iter().map(key).collect::<Vec<_>>()) {
            u.load_balancers = Some(load_balancers(lbs));
        }
    }
    if let Some(regs) = &spec.service_registries {
        let key = |r: &sdk::ServiceRegistry| {
            (
                r.registry_arn().map(str::to_string),
                r.port(),
                r.container_name().map(str::to_string),
                r.container_port(),
            )
        };
        let want: Vec<_> = sorted(&registries(regs).iter().map(key).collect::<Vec<_>>());
        if want != sorted(&service.service_registries().iter().map(key).collect::<Vec<_>>()) {
            u.service_registries = Some(registries(regs));
        }
    }
    if spec.health_check_grace_period_seconds.is_some()
        && spec.health_check_grace_period_seconds != service.health_check_grace_period_seconds()
    {
        u.health_check_grace_period_seconds = spec.health_check_grace_period_seconds;
    }
    if let Some(v) = spec.enable_execute_command
        && v != service.enable_execute_command()
    {
        u.enable_execute_command = Some(v);
    }
    if let Some(v) = &spec.propagate_tags
        && service.propagate_tags().map(|p| p.as_str()) != Some(v.as_str())
    {
        u.propagate_tags = Some(sdk::PropagateTags::from(v.as_str()));
    }
    if let Some(v) = &spec.availability_zone_rebalancing
        && service.availability_zone_rebalancing().map(|a| a.as_str()) != Some(v.as_str())
    {
        u.availability_zone_rebalancing = Some(sdk::AvailabilityZoneRebalancing::from(v.as_str()));
    }
    if let Some(v) = spec.enable_ecs_managed_tags
        && v != service.enable_ecs_managed_tags()
    {
        u.enable_ecs_managed_tags = Some(v);
    }
    u
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    InProgress,
    Complete,
    Failed,
}

/// What the service's deployments say about rolling out `desired_td`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rollout {
    pub phase: Phase,
    /// The task definition the service runs (the PRIMARY deployment's).
    pub task_definition: Option<String>,
    pub rollout_state: Option<String>,
    pub reason: Option<String>,
}

/// The service's FAILED deployment of `desired_td`, if any (the circuit breaker rejected it).
fn failed_deployment<'a>(service: &'a sdk::Service, desired_td: &str) -> Option<&'a sdk::Deployment> {
    service.deployments().iter().find(|d| {
        d.task_definition() == Some(desired_td)
            && d.rollout_state() == Some(&sdk::DeploymentRolloutState::Failed)
    })
}

/// Derives the rollout from DescribeServices/UpdateService output shaped like real ECS:
/// - the PRIMARY deployment runs `desired_td`: COMPLETED is done, IN_PROGRESS is progressing, FAILED is
///   failed; without a rollout state (services that predate it), done when running == desired;
/// - a deployment of `desired_td` that FAILED while another is PRIMARY: the circuit breaker rolled back;
/// - a service whose deployments list no deployment of its own task definition (moto keeps the old
///   PRIMARY after UpdateService): judged by the service's task definition and counts.
fn rollout(service: &sdk::Service, desired_td: &str, failed_td: Option<&str>) -> Rollout {
    let deployments = service.deployments();
    let primary = deployments.iter().find(|d| d.status() == Some("PRIMARY"));
    let counts_done = service.running_count() == service.desired_count() && service.pending_count() == 0;
    let state_of = |d: &sdk::Deployment| d.rollout_state().map(|s| s.as_str().to_string());
    let reason_of = |d: &sdk::Deployment| d.rollout_state_reason().map(str::to_string);

    if let Some(failed) = failed_deployment(service, desired_td) {
        return Rollout {
            phase: Phase::Failed,
            task_definition: primary.and_then(|p| p.task_definition()).map(str::to_string),
            rollout_state: state_of(failed),
            reason: reason_of(failed),
        };
    }
    match primary {
        Some(p) if p.task_definition() == Some(desired_td) => {
            let phase = match p.rollout_state() {
                Some(sdk::DeploymentRolloutState::Completed) => Phase::Complete,
                Some(sdk::DeploymentRolloutState::Failed) => Phase::Failed,
                Some(_) => Phase::InProgress,
                None if p.running_count() == p.desired_count() && p.pending_count() == 0 => Phase::Complete,
                None => Phase::InProgress,
            };
            Rollout {
                phase,
                task_definition: Some(desired_td.to_string()),
                rollout_state: state_of(p),
                reason: reason_of(p),
            }
        }
        _ if service.task_definition() == Some(desired_td)
            && !deployments
                .iter()
                .any(|d| d.task_definition() == Some(desired_td)) =>
        {
            Rollout {
                phase: if counts_done {
                    Phase::Complete
                } else {
                    Phase::InProgress
                },
                task_definition: Some(desired_td.to_string()),
                rollout_state: None,
                reason: None,
            }
        }
        // The rollout of `desired_td` failed earlier and ECS has since dropped the failed deployment:
        // still failed (not retried), not "in progress" forever.
        Some(p) if failed_td == Some(desired_td) => Rollout {
            phase: Phase::Failed,
            task_definition: p.task_definition().map(str::to_string),
            rollout_state: state_of(p),
            reason: Some("the rollout failed earlier and was rolled back".into()),
        },
        Some(p) => Rollout {
            phase: Phase::InProgress,
            task_definition: p.task_definition().map(str::to_string),
            rollout_state: state_of(p),
            reason: reason_of(p),
        },
        None => Rollout {
            phase: if counts_done && service.task_definition() == Some(desired_td) {
                Phase::Complete
            } else {
                Phase::InProgress
            },
            task_definition: service.task_definition().map(str::to_string),
            rollout_state: None,
            reason: None,
        },
    }
}

/// The service as its FargateProfile completes it: network, capacity strategy (when it names neither a
/// launch type nor a strategy) and tags it leaves out. (The cluster comes from the profile in
/// [`placement`](super::super::placement); the execution role, logging and the task-role guard rail
/// apply to the task definition.)
pub(super) fn with_profile(obj: &FargateService, p: &crate::api::FargateProfile) -> FargateService {
    use crate::kinds::profile::select;
    let mut filled = obj.clone();
    let spec = &mut filled.spec;
    select::fill_run(
        p,
        select::RunFields {
            network: &mut spec.network_configuration,
            launch_type: spec.launch_type.as_deref(),
            strategy: &mut spec.capacity_provider_strategy,
            tags: &mut spec.tags,
        },
    );
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use sdk::DeploymentRolloutState as R;

    const OLD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1";
    const NEW: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:2";

    fn dep(
        status: &str,
        td: &str,
        state: Option<R>,
        running: i32,
        desired: i32,
        reason: &str,
    ) -> sdk::Deployment {
        sdk::Deployment::builder()
            .status(status)
            .task_definition(td)
            .set_rollout_state(state)
            .rollout_state_reason(reason)
            .running_count(running)
            .desired_count(desired)
            .pending_count(desired - running)
            .build()
    }

    fn service(td: &str, deployments: Vec<sdk::Deployment>, running: i32, desired: i32) -> sdk::Service {
        sdk::Service::builder()
            .task_definition(td)
            .set_deployments(Some(deployments))
            .running_count(running)
            .desired_count(desired)
            .pending_count(desired - running)
            .build()
    }

    #[test]
    fn rollout_in_progress_while_the_new_primary_starts() {
        // What ECS returns right after UpdateService: a new PRIMARY, the old one ACTIVE.
        let s = service(
            NEW,
            vec![
                dep(
                    "PRIMARY",
                    NEW,
                    Some(R::InProgress),
                    0,
                    2,
                    "ECS deployment ecs-svc/2 in progress.",
                ),
                dep(
                    "ACTIVE",
                    OLD,
                    Some(R::Completed),
                    2,
                    2,
                    "ECS deployment ecs-svc/1 completed.",
                ),
            ],
            2,
            2,
        );
        let r = rollout(&s, NEW, None);
        assert_eq!(r.phase, Phase::InProgress);
        assert_eq!(r.task_definition.as_deref(), Some(NEW));
        assert_eq!(r.rollout_state.as_deref(), Some("IN_PROGRESS"));
    }

    #[test]
    fn rollout_complete_when_the_primary_completed() {
        let s = service(
            NEW,
            vec![dep("PRIMARY", NEW, Some(R::Completed), 2, 2, "done")],
            2,
            2,
        );
        assert_eq!(rollout(&s, NEW, None).phase, Phase::Complete);
    }

    #[test]
    fn circuit_breaker_rollback_is_a_failed_rollout() {
        // After the breaker trips: the failed deployment of NEW, and a PRIMARY rolling back to OLD.
        let reason = "ECS deployment circuit breaker: tasks failed to start.";
        let s = service(
            OLD,
            vec![
                dep("PRIMARY", OLD, Some(R::InProgress), 1, 2, "rolling back"),
                dep("ACTIVE", NEW, Some(R::Failed), 0, 2, reason),
            ],
            1,
            2,
        );
        let r = rollout(&s, NEW, None);
        assert_eq!(r.phase, Phase::Failed);
        assert_eq!(r.reason.as_deref(), Some(reason));
        assert_eq!(
            r.task_definition.as_deref(),
            Some(OLD),
            "the service runs the old revision again"
        );
    }

    #[test]
    fn a_rollout_that_failed_stays_failed_after_ecs_drops_the_failed_deployment() {
        let s = service(
            OLD,
            vec![dep("PRIMARY", OLD, Some(R::Completed), 2, 2, "rolled back")],
            2,
            2,
        );
        assert_eq!(rollout(&s, NEW, Some(NEW)).phase, Phase::Failed);
        assert_eq!(rollout(&s, NEW, None).phase, Phase::InProgress);
    }

    #[test]
    fn a_failed_primary_is_failed() {
        let s = service(
            NEW,
            vec![dep("PRIMARY", NEW, Some(R::Failed), 0, 2, "breaker")],
            0,
            2,
        );
        assert_eq!(rollout(&s, NEW, None).phase, Phase::Failed);
    }

    #[test]
    fn without_rollout_state_counts_decide() {
        let done = service(NEW, vec![dep("PRIMARY", NEW, None, 2, 2, "")], 2, 2);
        assert_eq!(rollout(&done, NEW, None).phase, Phase::Complete);
        let starting = service(NEW, vec![dep("PRIMARY", NEW, None, 1, 2, "")], 1, 2);
        assert_eq!(rollout(&starting, NEW, None).phase, Phase::InProgress);
    }

    #[test]
    fn an_old_primary_is_in_progress_until_the_update_lands() {
        let s = service(OLD, vec![dep("PRIMARY", OLD, Some(R::Completed), 2, 2, "")], 2, 2);
        let r = rollout(&s, NEW, None);
        assert_eq!(r.phase, Phase::InProgress);
        assert_eq!(r.task_definition.as_deref(), Some(OLD));
    }

    fn spec() -> FargateServiceSpec {
        serde_json::from_value(serde_json::json!({
            "clusterRef": {"name": "c"}, "taskDefinitionRef": {"name": "t"}, "desiredCount": 2,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-2", "subnet-1"], "securityGroups": ["sg-1"]}},
            "deploymentConfiguration": {"minimumHealthyPercent": 50},
        }))
        .expect("spec parses")
    }

    fn matching_service() -> sdk::Service {
        let vpc = sdk::AwsVpcConfiguration::builder()
            .subnets("subnet-1")
            .subnets("subnet-2")
            .security_groups("sg-1")
            .assign_public_ip(sdk::AssignPublicIp::Disabled)
            .build()
            .expect("vpc");
        sdk::Service::builder()
            .task_definition(NEW)
            .desired_count(2)
            .network_configuration(
                sdk::NetworkConfiguration::builder()
                    .awsvpc_configuration(vpc)
                    .build(),
            )
            .deployment_configuration(
                sdk::DeploymentConfiguration::builder()
                    .minimum_healthy_percent(50)
                    .maximum_percent(200)
                    .build(),
            )
            .launch_type(sdk::LaunchType::Fargate)
            .build()
    }

    /// A cluster without a default strategy, a service whose strategy the spec never set.
    const UNPLACED: Placement<'static> = Placement {
        cluster_default: &[],
        applied: false,
    };

    fn item(provider: &str, weight: i32, base: i32) -> sdk::CapacityProviderStrategyItem {
        sdk::CapacityProviderStrategyItem::builder()
            .capacity_provider(provider)
            .weight(weight)
            .base(base)
            .build()
            .expect("item")
    }

    fn spot_spec() -> FargateServiceSpec {
        let mut s = spec();
        s.capacity_provider_strategy = serde_json::from_value(serde_json::json!([
            {"capacityProvider": "FARGATE_SPOT", "weight": 3}, {"capacityProvider": "FARGATE", "base": 1, "weight": 1}
        ]))
        .expect("strategy parses");
        s
    }

    fn on_strategy(items: Vec<sdk::CapacityProviderStrategyItem>) -> sdk::Service {
        let mut service = matching_service();
        service.launch_type = None;
        service.capacity_provider_strategy = Some(items);
        service
    }

    #[test]
    fn a_new_service_without_launch_type_or_strategy_takes_the_clusters_default_strategy() {
        let mut o = obj();
        o.spec.launch_type = None;
        let create =
            |o: &FargateService, r: &Resolved| match act(plan(o, r, None, FargateServiceStatus::default())).0
            {
                Action::Create(c) => (c.launch_type, c.capacity_provider_strategy),
                other => panic!("expected a create, got {other:?}"),
            };
        // The cluster has a default strategy: CreateService names neither, so ECS applies it.
        let with_default = Resolved {
            default_strategy: vec![item("FARGATE_SPOT", 1, 0)],
            ..refs()
        };
        assert_eq!(create(&o, &with_default), (None, None));
        // No default: ECS would place the service on EC2, so FARGATE is named.
        assert_eq!(create(&o, &refs()), (Some(sdk::LaunchType::Fargate), None));
        // An explicit launch type is sent whatever the cluster's default.
        o.spec.launch_type = Some("FARGATE".into());
        assert_eq!(create(&o, &with_default), (Some(sdk::LaunchType::Fargate), None));
    }

    #[test]
    fn a_strategy_change_is_applied_with_a_new_deployment_and_an_equal_one_in_another_order_is_not() {
        let s = spot_spec();
        let u = desired_update(&s, &matching_service(), NEW, true, None, UNPLACED);
        assert_eq!(
            u.capacity_provider_strategy
                .as_deref()
                .map(crate::kinds::placement::strategy_key),
            Some(crate::kinds::placement::strategy_key(&[
                item("FARGATE", 1, 1),
                item("FARGATE_SPOT", 3, 0)
            ]))
        );
        assert!(u.force_new_deployment, "the tasks move with a new deployment");
        let same = on_strategy(vec![item("FARGATE", 1, 1), item("FARGATE_SPOT", 3, 0)]);
        assert!(desired_update(&s, &same, NEW, true, None, UNPLACED).is_empty());
    }

    #[test]
    fn a_strategy_the_spec_never_named_is_not_managed_but_its_removal_is_applied() {
        let mut s = spec();
        s.launch_type = None;
        let custom = on_strategy(vec![item("FARGATE_SPOT", 1, 0)]);
        let default = [item("FARGATE", 1, 0)];
        // Adopted (or set by hand) while the spec never named one: left alone.
        let unmanaged = Placement {
            cluster_default: &default,
            applied: false,
        };
        assert!(desired_update(&s, &custom, NEW, true, None, unmanaged).is_empty());
        // The spec had set it and no longer does: back to the cluster's default strategy...
        let removed = Placement {
            cluster_default: &default,
            applied: true,
        };
        let u = desired_update(&s, &custom, NEW, true, None, removed);
        assert_eq!(u.capacity_provider_strategy, Some(default.to_vec()));
        assert!(u.force_new_deployment);
        // ...or, on a cluster without one, to the launch type (an empty list, as UpdateService takes it).
        let u = desired_update(
            &s,
            &custom,
            NEW,
            true,
            None,
            Placement {
                cluster_default: &[],
                applied: true,
            },
        );
        assert_eq!(u.capacity_provider_strategy, Some(Vec::new()));
        // Naming FARGATE moves a service off its strategy whatever the record says.
        s.launch_type = Some("FARGATE".into());
        let u = desired_update(&s, &custom, NEW, true, None, unmanaged);
        assert_eq!(u.capacity_provider_strategy, Some(Vec::new()));
        assert!(desired_update(&s, &matching_service(), NEW, true, None, unmanaged).is_empty());
    }

    #[test]
    fn the_plan_records_a_strategy_the_spec_set_and_clears_the_record_once_it_is_removed() {
        let with = obj_with(spot_spec());
        let status = act(plan(&with, &refs(), None, FargateServiceStatus::default()))
            .1
            .status;
        assert_eq!(status.capacity_provider_strategy_applied, Some(true));
        // The spec drops it: the removal is sent, and the record goes with the answer.
        let mut without = obj();
        without.spec.launch_type = None;
        let mut current = ours(R::Completed, 2);
        current.launch_type = None;
        current.capacity_provider_strategy = Some(vec![item("FARGATE_SPOT", 3, 0), item("FARGATE", 1, 1)]);
        let (action, then) = act(plan(&without, &refs(), Some(current), status));
        let Action::Update { changes, .. } = &action else {
            panic!("expected an update, got {action:?}");
        };
        assert_eq!(changes.capacity_provider_strategy, Some(Vec::new()));
        assert_eq!(then.status.capacity_provider_strategy_applied, None);
    }

    #[test]
    fn a_desired_count_left_out_of_the_spec_is_not_managed() {
        let mut s = spec();
        s.desired_count = None;
        // Whatever count the service has (set by hand, by a scaler no object owns), it is kept.
        for count in [0, 1, 7] {
            let mut service = matching_service();
            service.desired_count = count;
            let u = desired_update(&s, &service, NEW, true, None, UNPLACED);
            assert!(u.is_empty(), "count {count}: {u:?}");
        }
        // Set in the spec, it is.
        s.desired_count = Some(3);
        let u = desired_update(&s, &matching_service(), NEW, true, None, UNPLACED);
        assert_eq!(u.desired_count, Some(3));
    }

    #[test]
    fn nothing_to_update_when_aws_matches_what_the_user_set() {
        let u = desired_update(&spec(), &matching_service(), NEW, true, None, UNPLACED);
        assert!(u.is_empty(), "{u:?}");
    }

    #[test]
    fn availability_zone_rebalancing_is_managed_only_when_the_spec_sets_it() {
        let mut s = spec();
        s.availability_zone_rebalancing = Some("ENABLED".into());
        let u = desired_update(&s, &matching_service(), NEW, true, None, UNPLACED);
        assert_eq!(u.changed(), ["availabilityZoneRebalancing"]);
        assert_eq!(
            u.availability_zone_rebalancing,
            Some(sdk::AvailabilityZoneRebalancing::Enabled)
        );
        let mut enabled = matching_service();
        enabled.availability_zone_rebalancing = Some(sdk::AvailabilityZoneRebalancing::Enabled);
        assert!(desired_update(&s, &enabled, NEW, true, None, UNPLACED).is_empty());
        // Left out: whatever AWS has stays.
        assert!(desired_update(&spec(), &enabled, NEW, true, None, UNPLACED).is_empty());
        let create = new_service(&obj_with(s), &refs(), vec![], 0).map(|n| n.availability_zone_rebalancing);
        assert!(matches!(
            create,
            Ok(Some(sdk::AvailabilityZoneRebalancing::Enabled))
        ));
    }

    #[test]
    fn only_the_fields_that_differ_are_sent() {
        let mut s = spec();
        s.desired_count = Some(3);
        let u = desired_update(&s, &matching_service(), OLD, true, None, UNPLACED);
        assert_eq!(u.changed(), vec!["taskDefinition", "desiredCount"]);
        assert_eq!(u.task_definition.as_deref(), Some(OLD));
    }

    #[test]
    fn a_scaler_owns_the_desired_count() {
        let mut s = spec();
        s.desired_count = Some(7);
        assert!(desired_update(&s, &matching_service(), NEW, false, None, UNPLACED).is_empty());
    }

    #[test]
    fn a_failed_task_definition_is_not_rolled_out_again() {
        let u = desired_update(&spec(), &matching_service(), OLD, true, Some(OLD), UNPLACED);
        assert!(u.task_definition.is_none());
    }

    #[test]
    fn deployment_overlay_keeps_unset_fields() {
        let current = sdk::DeploymentConfiguration::builder()
            .minimum_healthy_percent(100)
            .maximum_percent(200)
            .build();
        let d = strategy::deployment(
            &crate::api::service::DeploymentConfiguration {
                minimum_healthy_percent: Some(50),
                ..Default::default()
            },
            Some(&current),
        );
        assert_eq!(
            (d.minimum_healthy_percent(), d.maximum_percent()),
            (Some(50), Some(200))
        );
    }

    // ---- The plan and its report, on AWS-shaped services ----------------------------------------

    const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/main";
    const SERVICE_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service/main/web";
    const UID: &str = "3f1c-uid";

    fn obj_with(s: FargateServiceSpec) -> FargateService {
        let mut o = FargateService::new("web", s);
        o.metadata.namespace = Some("shop".into());
        o.metadata.uid = Some(UID.into());
        o.metadata.generation = Some(3);
        o
    }

    fn obj() -> FargateService {
        obj_with(spec())
    }

    fn refs() -> Resolved {
        Resolved {
            target: Target {
                cluster: CLUSTER.into(),
                region: Some("us-east-1".into()),
                name: "web".into(),
            },
            task_definition: NEW.into(),
            scaled_by: None,
            default_strategy: Vec::new(),
            port_names: None,
            service_connect_default: None,
        }
    }

    fn owner_tags(uid: &str, ns: &str, name: &str) -> Vec<sdk::Tag> {
        vec![
            tag(crate::api::OWNER_UID_TAG, uid),
            tag(crate::api::OWNER_NAMESPACE_TAG, ns),
            tag(crate::api::OWNER_NAME_TAG, name),
        ]
    }

    /// `matching_service` as DescribeServices returns it: ACTIVE, tagged, with its deployments.
    fn described(
        status: &str,
        td: &str,
        tags: Vec<sdk::Tag>,
        deployments: Vec<sdk::Deployment>,
        running: i32,
    ) -> sdk::Service {
        let mut s = matching_service();
        s.service_arn = Some(SERVICE_ARN.into());
        s.service_name = Some("web".into());
        s.cluster_arn = Some(CLUSTER.into());
        s.status = Some(status.into());
        s.task_definition = Some(td.into());
        s.tags = Some(tags);
        s.deployments = Some(deployments);
        s.running_count = running;
        s.pending_count = s.desired_count - running;
        s
    }

    /// Ours, running NEW, the PRIMARY deployment in `state`.
    fn ours(state: R, running: i32) -> sdk::Service {
        described(
            "ACTIVE",
            NEW,
            owner_tags(UID, "shop", "web"),
            vec![dep("PRIMARY", NEW, Some(state), running, 2, "")],
            running,
        )
    }

    fn act(plan: Result<Plan, Error>) -> (Action, Report) {
        match plan {
            Ok(Plan::Act { action, then }) => (action, then),
            Ok(Plan::Settled(a)) => panic!("expected an action, got the outcome {:?}", a.state),
            Err(e) => panic!("expected an action, got {e:?}"),
        }
    }

    fn settled(plan: Result<Plan, Error>) -> Applied<FargateServiceStatus> {
        match plan {
            Ok(Plan::Settled(a)) => a,
            Ok(Plan::Act { action, .. }) => panic!("expected no action, got {action:?}"),
            Err(e) => panic!("expected an outcome, got {e:?}"),
        }
    }

    fn progressing(a: &Applied<FargateServiceStatus>) -> (ConditionStatus, &str) {
        match a.extra_conditions.as_slice() {
            [c] if c.type_ == PROGRESSING => (c.status, c.reason.as_str()),
            other => panic!("expected one Progressing condition, got {other:?}"),
        }
    }

    fn reasons_of(a: &Applied<FargateServiceStatus>) -> Vec<&'static str> {
        a.notes.iter().map(|n| n.reason).collect()
    }

    fn code_deploy(mut s: sdk::Service) -> sdk::Service {
        s.deployment_controller = sdk::DeploymentController::builder()
            .r#type(sdk::DeploymentControllerType::CodeDeploy)
            .build()
            .ok();
        s
    }

    #[test]
    fn with_codedeploy_the_task_definition_is_never_sent_and_the_status_says_who_rolls_out() {
        // ECS on CODE_DEPLOY runs OLD with no deployments listed (the task sets are CodeDeploy's); the
        // TaskDefinition's newest is NEW, and the spec wants another platform version and count.
        let mut current = code_deploy(described(
            "ACTIVE",
            OLD,
            owner_tags(UID, "shop", "web"),
            vec![],
            2,
        ));
        current.desired_count = 2;
        current.pending_count = 0;
        let mut o = obj();
        o.spec.platform_version = Some("1.4.0".into());
        o.spec.desired_count = Some(3);
        o.status = None;
        let (action, then) = act(plan(
            &o,
            &refs(),
            Some(current.clone()),
            FargateServiceStatus::default(),
        ));
        let Action::Update { changes, .. } = action else {
            panic!("expected an update, got {action:?}")
        };
        // Only what UpdateService takes on CODE_DEPLOY: the count, not the revision nor the platform.
        assert_eq!(changes.changed(), ["desiredCount"]);
        let a = then.with(&refs(), &current, None);
        let State::Ready { reason, message } = &a.state else {
            panic!("expected Ready, got {:?}", a.state)
        };
        assert_eq!(*reason, reasons::ROLLOUT_BY_CODE_DEPLOY);
        assert!(
            message.contains("rollouts belong to CodeDeploy")
                && message.contains("web:2 is for CodeDeploy to deploy")
                && message.contains("taskDefinition, platformVersion"),
            "{message}"
        );
        assert_eq!(a.status.deployment_controller.as_deref(), Some("CODE_DEPLOY"));
        assert_eq!(a.status.task_definition_arn.as_deref(), Some(OLD));
        assert_eq!(
            progressing(&a),
            (ConditionStatus::False, reasons::ROLLOUT_BY_CODE_DEPLOY)
        );
    }

    #[test]
    fn a_blue_green_rollout_in_progress_shows_its_lifecycle_stage() {
        let mut rolling = ours(R::InProgress, 0);
        rolling.current_service_deployment =
            Some("arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/abc".into());
        // A rolling rollout has no stages to ask for.
        assert_eq!(wants_stage(&rolling), None);
        rolling.deployment_configuration = Some(
            sdk::DeploymentConfiguration::builder()
                .strategy(sdk::DeploymentStrategy::BlueGreen)
                .build(),
        );
        assert_eq!(
            wants_stage(&rolling),
            Some("arn:aws:ecs:us-east-1:123456789012:service-deployment/main/web/abc")
        );
        let (_, then) = act(plan(
            &obj(),
            &refs(),
            Some(rolling.clone()),
            FargateServiceStatus::default(),
        ));
        let a = then.with(&refs(), &rolling, Some("TEST_TRAFFIC_SHIFT".into()));
        assert_eq!(a.status.lifecycle_stage.as_deref(), Some("TEST_TRAFFIC_SHIFT"));
        let State::InProgress { message, .. } = &a.state else {
            panic!("expected InProgress, got {:?}", a.state)
        };
        assert!(message.contains("stage TEST_TRAFFIC_SHIFT"), "{message}");
        // Done: no more stage asked for, none reported.
        let done = {
            let mut d = ours(R::Completed, 2);
            d.deployment_configuration = rolling.deployment_configuration.clone();
            d.current_service_deployment = rolling.current_service_deployment.clone();
            d
        };
        assert_eq!(wants_stage(&done), None);
        let (_, then) = act(plan(&obj(), &refs(), Some(done.clone()), a.status));
        assert_eq!(then.with(&refs(), &done, None).status.lifecycle_stage, None);
    }

    #[test]
    fn a_missing_service_is_created_from_the_spec_with_the_ownership_tags() {
        let (action, then) = act(plan(&obj(), &refs(), None, FargateServiceStatus::default()));
        let Action::Create(new) = action else {
            panic!("expected a create, got {action:?}");
        };
        assert_eq!(
            (
                new.cluster.as_str(),
                new.name.as_str(),
                new.task_definition.as_str()
            ),
            (CLUSTER, "web", NEW)
        );
        assert_eq!(new.desired_count, 2);
        assert_eq!(new.launch_type, Some(sdk::LaunchType::Fargate));
        assert_eq!(
            crate::aws::ecs::tag_value(&new.tags, crate::api::OWNER_UID_TAG),
            Some(UID)
        );
        assert_eq!(new.client_token.len(), 32, "ECS takes at most 36 characters");
        // What CreateService answers: the first deployment just started.
        let a = then.with(&refs(), &ours(R::InProgress, 0), None);
        assert_eq!(reasons_of(&a), [reasons::CREATED]);
        assert_eq!(a.notes[0].message, "created ECS service web running web:2");
        assert!(
            matches!(&a.state, State::InProgress { reason, message, .. }
                if *reason == reasons::ROLLOUT_IN_PROGRESS && message.ends_with("(update just sent)")),
            "{:?}",
            a.state
        );
    }

    #[test]
    fn a_new_generation_or_a_recreate_is_a_new_create_request_and_a_retry_is_the_same_one() {
        let token = |generation, creations| {
            let mut o = obj();
            o.metadata.generation = Some(generation);
            client_token(&o, creations)
        };
        assert_eq!(token(3, 0), token(3, 0));
        assert_ne!(token(3, 0), token(4, 0));
        assert_ne!(token(3, 0), token(3, 1));
    }

    #[test]
    fn a_service_deleted_behind_the_controllers_back_is_recreated_with_a_new_client_token() {
        let create = |status: FargateServiceStatus| {
            let (action, then) = act(plan(&obj(), &refs(), None, status));
            let Action::Create(new) = action else {
                panic!("expected a create, got {action:?}");
            };
            (
                new.client_token,
                then.with(&refs(), &ours(R::InProgress, 0), None).status,
            )
        };
        let (first, after) = create(FargateServiceStatus::default());
        assert_eq!(after.creations, Some(1));
        // A retry before the status was written: the same request.
        assert_eq!(create(FargateServiceStatus::default()).0, first);
        // The service gone from AWS (same generation): another request.
        let (second, after) = create(after);
        assert_ne!(second, first);
        assert_eq!(after.creations, Some(2));
    }

    #[test]
    fn a_service_that_matches_the_spec_gets_no_update_and_no_event() {
        let (action, then) = act(plan(
            &obj(),
            &refs(),
            Some(ours(R::Completed, 2)),
            FargateServiceStatus::default(),
        ));
        let Action::SyncTags { current, tags } = &action else {
            panic!("expected no update, got {action:?}");
        };
        let (to_set, to_remove) = crate::aws::ecs::tag_diff(current.tags(), tags);
        assert!(to_set.is_empty() && to_remove.is_empty(), "no tag call either");
        let a = then.with(&refs(), current, None);
        assert!(a.notes.is_empty());
        assert_eq!(
            a.state,
            State::Ready {
                reason: reasons::ROLLOUT_COMPLETE,
                message: "2/2 tasks running web:2".into()
            }
        );
    }

    #[test]
    fn a_new_force_new_deployment_value_redeploys_once_and_a_created_or_adopted_value_does_not() {
        let with_token = |token: &str| {
            let mut s = spec();
            s.force_new_deployment = Some(token.into());
            obj_with(s)
        };
        let forced = |a: &Action| matches!(a, Action::Update { changes, .. } if changes.force_new_deployment);
        // Created with a value: the new service deploys anyway; the value is only recorded.
        let (action, then) = act(plan(
            &with_token("a"),
            &refs(),
            None,
            FargateServiceStatus::default(),
        ));
        assert!(matches!(action, Action::Create(_)));
        let created = then.with(&refs(), &ours(R::Completed, 2), None).status;
        assert_eq!(created.forced_deployment.as_deref(), Some("a"));
        // Seen for the first time (adopted, or status lost): recorded, no redeploy.
        let (action, _) = act(plan(
            &with_token("a"),
            &refs(),
            Some(ours(R::Completed, 2)),
            FargateServiceStatus::default(),
        ));
        assert!(!forced(&action), "{action:?}");
        // The same value again: nothing.
        let (action, _) = act(plan(
            &with_token("a"),
            &refs(),
            Some(ours(R::Completed, 2)),
            created.clone(),
        ));
        assert!(matches!(action, Action::SyncTags { .. }), "{action:?}");
        // A new value: one UpdateService with forceNewDeployment, nothing else changed, recorded.
        let (action, then) = act(plan(
            &with_token("b"),
            &refs(),
            Some(ours(R::Completed, 2)),
            created.clone(),
        ));
        assert!(forced(&action), "{action:?}");
        let Action::Update { changes, .. } = &action else {
            unreachable!()
        };
        assert!(
            changes.changed().is_empty(),
            "only the redeploy: {:?}",
            changes.changed()
        );
        let after = then.with(&refs(), &ours(R::InProgress, 0), None);
        assert_eq!(after.status.forced_deployment.as_deref(), Some("b"));
        assert_eq!(reasons_of(&after), [reasons::UPDATED]);
        assert!(
            after.notes[0].message.contains("forced a new deployment"),
            "{}",
            after.notes[0].message
        );
        // Set for the first time on a service this object already runs: a change, so a redeploy.
        let (action, _) = act(plan(&with_token("c"), &refs(), Some(ours(R::Completed, 2)), {
            let mut s = created;
            s.forced_deployment = None;
            s
        }));
        assert!(forced(&action), "{action:?}");
    }

    #[test]
    fn ebs_volume_configurations_are_created_and_updated_only_when_they_change() {
        let with_size = |size: i32| {
            let mut s = spec();
            s.volume_configurations = Some(vec![crate::api::task::TaskVolumeConfiguration {
                name: "data".into(),
                managed_ebs_volume: crate::api::task::ManagedEbsVolume {
                    role_arn: "arn:aws:iam::123456789012:role/ecsInfrastructure".into(),
                    size_in_gi_b: Some(size),
                    ..Default::default()
                },
            }]);
            obj_with(s)
        };
        let sent = |a: &Action| match a {
            Action::Create(n) => n.volume_configurations.clone(),
            Action::Update { changes, .. } => changes.volume_configurations.clone(),
            Action::SyncTags { .. } => None,
        };
        // Created with the volume; the hash recorded.
        let (action, then) = act(plan(
            &with_size(20),
            &refs(),
            None,
            FargateServiceStatus::default(),
        ));
        let created = sent(&action).unwrap_or_default();
        assert_eq!(created.len(), 1);
        assert_eq!(
            created[0].managed_ebs_volume().and_then(|e| e.size_in_gib()),
            Some(20)
        );
        let status = then.with(&refs(), &ours(R::Completed, 2), None).status;
        assert!(status.volume_configurations_applied.is_some());
        // ECS reports no volumes (moto): judged by what was sent. Same spec: nothing.
        let (action, _) = act(plan(
            &with_size(20),
            &refs(),
            Some(ours(R::Completed, 2)),
            status.clone(),
        ));
        assert!(sent(&action).is_none(), "{action:?}");
        // Another size: sent with an update.
        let (action, _) = act(plan(
            &with_size(30),
            &refs(),
            Some(ours(R::Completed, 2)),
            status.clone(),
        ));
        assert!(
            sent(&action)
                .is_some_and(|v| v[0].managed_ebs_volume().and_then(|e| e.size_in_gib()) == Some(30))
        );
        // ECS reports the primary deployment's volume with the defaults it filled in: compared by the
        // fields the spec sets, whatever the record says.
        let reported = |size: i32| {
            let mut s = ours(R::Completed, 2);
            let ebs = sdk::ServiceManagedEbsVolumeConfiguration::builder()
                .role_arn("arn:aws:iam::123456789012:role/ecsInfrastructure")
                .size_in_gib(size)
                .volume_type("gp3")
                .filesystem_type(sdk::TaskFilesystemType::Ext4)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let volume = sdk::ServiceVolumeConfiguration::builder()
                .name("data")
                .managed_ebs_volume(ebs)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let mut primary = dep("PRIMARY", NEW, Some(R::Completed), 2, 2, "");
            primary.volume_configurations = Some(vec![volume]);
            s.deployments = Some(vec![primary]);
            s
        };
        let stale = FargateServiceStatus::default();
        let (action, _) = act(plan(&with_size(20), &refs(), Some(reported(20)), stale.clone()));
        assert!(sent(&action).is_none(), "{action:?}");
        let (action, _) = act(plan(&with_size(20), &refs(), Some(reported(25)), stale));
        assert!(sent(&action).is_some());
        // Left out of the spec: not managed.
        let (action, _) = act(plan(&obj(), &refs(), Some(reported(25)), status));
        assert!(sent(&action).is_none());
    }

    #[test]
    fn vpc_lattice_configurations_are_compared_as_a_set_with_what_ecs_reports_or_was_sent() {
        let lattice = |groups: &[&str]| {
            let mut s = spec();
            s.vpc_lattice_configurations = Some(
                groups
                    .iter()
                    .map(|g| crate::api::service::VpcLatticeConfiguration {
                        role_arn: "arn:aws:iam::123456789012:role/ecsInfrastructure".into(),
                        target_group_arn: format!(
                            "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/{g}"
                        ),
                        port_name: "http".into(),
                    })
                    .collect(),
            );
            obj_with(s)
        };
        let sent = |a: &Action| match a {
            Action::Create(n) => n.vpc_lattice_configurations.clone(),
            Action::Update { changes, .. } => changes.vpc_lattice_configurations.clone(),
            Action::SyncTags { .. } => None,
        };
        let (action, then) = act(plan(
            &lattice(&["a", "b"]),
            &refs(),
            None,
            FargateServiceStatus::default(),
        ));
        assert_eq!(sent(&action).map(|v| v.len()), Some(2));
        let status = then.with(&refs(), &ours(R::Completed, 2), None).status;
        // moto reports none: judged by what was sent.
        let (action, _) = act(plan(
            &lattice(&["a", "b"]),
            &refs(),
            Some(ours(R::Completed, 2)),
            status.clone(),
        ));
        assert!(sent(&action).is_none(), "{action:?}");
        let (action, _) = act(plan(
            &lattice(&["a"]),
            &refs(),
            Some(ours(R::Completed, 2)),
            status.clone(),
        ));
        assert_eq!(sent(&action).map(|v| v.len()), Some(1));
        // ECS reports them on the primary deployment, in its own order: the same set is no change.
        let mut reported = ours(R::Completed, 2);
        let mut primary = dep("PRIMARY", NEW, Some(R::Completed), 2, 2, "");
        primary.vpc_lattice_configurations = lattice(&["b", "a"])
            .spec
            .vpc_lattice_configurations
            .as_deref()
            .map(super::lattice)
            .and_then(Result::ok);
        reported.deployments = Some(vec![primary]);
        let none = FargateServiceStatus::default();
        let (action, _) = act(plan(
            &lattice(&["a", "b"]),
            &refs(),
            Some(reported.clone()),
            none.clone(),
        ));
        assert!(sent(&action).is_none(), "{action:?}");
        let (action, _) = act(plan(&lattice(&["a", "c"]), &refs(), Some(reported), none));
        assert!(sent(&action).is_some());
    }

    #[test]
    fn an_update_sends_and_announces_only_the_fields_that_changed() {
        let mut s = spec();
        s.desired_count = Some(3);
        let running_old = described(
            "ACTIVE",
            OLD,
            owner_tags(UID, "shop", "web"),
            vec![dep("PRIMARY", OLD, Some(R::Completed), 2, 2, "")],
            2,
        );
        let (action, then) = act(plan(
            &obj_with(s),
            &refs(),
            Some(running_old),
            FargateServiceStatus::default(),
        ));
        let Action::Update { changes, .. } = &action else {
            panic!("expected an update, got {action:?}");
        };
        assert_eq!(changes.changed(), ["taskDefinition", "desiredCount"]);
        assert_eq!(changes.task_definition.as_deref(), Some(NEW));
        assert_eq!(changes.desired_count, Some(3));
        // UpdateService answers with the new PRIMARY starting.
        let a = then.with(&refs(), &ours(R::InProgress, 0), None);
        assert_eq!(reasons_of(&a), [reasons::ROLLOUT_STARTED, reasons::UPDATED]);
        assert_eq!(a.notes[0].message, "rolling out web:2");
        assert_eq!(a.notes[1].message, "updated desiredCount");
    }

    #[test]
    fn a_primary_deployment_in_progress_then_completed_takes_the_service_from_progressing_to_ready() {
        let previous = FargateServiceStatus {
            failed_task_definition_arn: Some(OLD.into()),
            ..FargateServiceStatus::default()
        };
        let rolling = ours(R::InProgress, 1);
        let (_, then) = act(plan(&obj(), &refs(), Some(rolling.clone()), previous.clone()));
        let a = then.with(&refs(), &rolling, None);
        assert_eq!(
            a.state,
            State::InProgress {
                reason: reasons::ROLLOUT_IN_PROGRESS,
                message: "rolling out web:2: 1/2 running, 1 pending".into(),
                recheck: RECHECK_ROLLOUT,
            }
        );
        assert_eq!(
            progressing(&a),
            (ConditionStatus::True, reasons::ROLLOUT_IN_PROGRESS)
        );
        assert_eq!(a.status.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(a.status.failed_task_definition_arn.as_deref(), Some(OLD));

        let done = ours(R::Completed, 2);
        let (_, then) = act(plan(&obj(), &refs(), Some(done.clone()), a.status));
        let a = then.with(&refs(), &done, None);
        assert!(matches!(a.state, State::Ready { reason, .. } if reason == reasons::ROLLOUT_COMPLETE));
        assert_eq!(
            progressing(&a),
            (ConditionStatus::False, reasons::ROLLOUT_COMPLETE)
        );
        assert_eq!(a.status.rollout_state.as_deref(), Some("COMPLETED"));
        assert_eq!(
            a.status.failed_task_definition_arn, None,
            "a completed rollout clears the failure"
        );
        assert_eq!(
            (
                a.status.arn.as_deref(),
                a.status.cluster_arn.as_deref(),
                a.status.region.as_deref(),
                a.status.service_name.as_deref(),
                a.status.task_definition_arn.as_deref(),
                a.status.running_count,
            ),
            (
                Some(SERVICE_ARN),
                Some(CLUSTER),
                Some("us-east-1"),
                Some("web"),
                Some(NEW),
                Some(2)
            )
        );
    }

    #[test]
    fn a_circuit_breaker_rollback_fails_the_rollout_which_is_then_not_retried() {
        let reason = "ECS deployment circuit breaker: tasks failed to start.";
        let rolled_back = described(
            "ACTIVE",
            OLD,
            owner_tags(UID, "shop", "web"),
            vec![
                dep("PRIMARY", OLD, Some(R::InProgress), 1, 2, "rolling back"),
                dep("ACTIVE", NEW, Some(R::Failed), 0, 2, reason),
            ],
            1,
        );
        let (action, then) = act(plan(
            &obj(),
            &refs(),
            Some(rolled_back.clone()),
            FargateServiceStatus::default(),
        ));
        // Seen for the first time (the status does not say so yet: right after the rollback, or after a
        // restart), the rejected revision is not sent again.
        assert!(
            matches!(&action, Action::SyncTags { .. }),
            "the rejected revision must not be rolled out again: {action:?}"
        );
        let a = then.with(&refs(), &rolled_back, None);
        assert_eq!(
            a.state,
            State::Failed {
                reason: reasons::ROLLOUT_FAILED,
                message: format!("the rollout of web:2 failed: {reason}"),
            }
        );
        assert_eq!(progressing(&a), (ConditionStatus::False, reasons::ROLLOUT_FAILED));
        assert_eq!(
            a.status.task_definition_arn.as_deref(),
            Some(OLD),
            "back on the old revision"
        );
        assert_eq!(a.status.failed_task_definition_arn.as_deref(), Some(NEW));
        assert_eq!(a.status.rollout_state.as_deref(), Some("FAILED"));

        // The next reconcile, once ECS has dropped the failed deployment: no new rollout, still Failed.
        let settled_old = described(
            "ACTIVE",
            OLD,
            owner_tags(UID, "shop", "web"),
            vec![dep("PRIMARY", OLD, Some(R::Completed), 2, 2, "")],
            2,
        );
        let (action, then) = act(plan(&obj(), &refs(), Some(settled_old.clone()), a.status));
        assert!(matches!(action, Action::SyncTags { .. }), "{action:?}");
        let a = then.with(&refs(), &settled_old, None);
        assert!(matches!(a.state, State::Failed { reason, .. } if reason == reasons::ROLLOUT_FAILED));
    }

    #[test]
    fn a_service_owned_by_another_object_is_not_owned_even_with_adoption() {
        let mut o = obj();
        o.spec.policies.adoption = Some(crate::api::Adoption::AdoptOrCreate);
        let theirs = described("ACTIVE", NEW, owner_tags("other-uid", "team-b", "web"), vec![], 2);
        match plan(&o, &refs(), Some(theirs), FargateServiceStatus::default()) {
            Err(Error::Terminal { reason, message }) => {
                assert_eq!(reason, reasons::NOT_OWNED);
                assert!(message.contains("team-b/web"), "{message}");
            }
            Ok(_) => panic!("planned an action on a service of another object"),
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn an_untagged_service_is_adopted_only_when_the_spec_asks_and_then_gets_the_ownership_tags() {
        let untagged = described(
            "ACTIVE",
            NEW,
            vec![tag("team", "shop")],
            vec![dep("PRIMARY", NEW, Some(R::Completed), 2, 2, "")],
            2,
        );
        let refused = plan(
            &obj(),
            &refs(),
            Some(untagged.clone()),
            FargateServiceStatus::default(),
        );
        assert!(
            matches!(&refused, Err(Error::Terminal { reason, .. }) if *reason == reasons::NOT_OWNED),
            "without spec.adoption a service is never taken over"
        );

        let mut o = obj();
        o.spec.policies.adoption = Some(crate::api::Adoption::Adopt);
        let (action, then) = act(plan(&o, &refs(), Some(untagged), FargateServiceStatus::default()));
        let Action::SyncTags { current, tags } = &action else {
            panic!("expected a tag sync, got {action:?}");
        };
        let (to_set, to_remove) = crate::aws::ecs::tag_diff(current.tags(), tags);
        let set: Vec<_> = to_set.iter().filter_map(|t| t.key()).collect();
        assert_eq!(
            set,
            [
                crate::api::OWNER_UID_TAG,
                crate::api::OWNER_NAMESPACE_TAG,
                crate::api::OWNER_NAME_TAG
            ]
        );
        assert_eq!(to_remove, ["team"], "tags not in the spec go");
        assert!(then.adopts());
        let a = then.with(&refs(), current, None);
        assert_eq!(a.status.adopted, Some(true));
        assert_eq!(reasons_of(&a), [reasons::ADOPTED]);
        assert_eq!(
            a.notes[0].message,
            format!("adopted ECS service web in {CLUSTER} (spec.adoption)")
        );
    }

    #[test]
    fn a_scaling_policy_owns_the_desired_count_which_is_then_never_sent() {
        let mut scaled = ours(R::Completed, 5);
        scaled.desired_count = 5;
        scaled.pending_count = 0;
        let r = Resolved {
            scaled_by: Some("cpu".into()),
            ..refs()
        };
        let scaled_plan = plan(&obj(), &r, Some(scaled.clone()), FargateServiceStatus::default());
        assert!(matches!(&scaled_plan, Ok(p) if !p.sets_desired_count()));
        let (action, then) = act(scaled_plan);
        assert!(matches!(action, Action::SyncTags { .. }), "{action:?}");
        let a = then.with(&r, &scaled, None);
        assert_eq!(a.status.scaled_by.as_deref(), Some("cpu"));
        assert_eq!(a.status.desired_count, Some(5));
        // Without the policy, the spec's count is sent back (which the driver confirms first).
        let unscaled_plan = plan(&obj(), &refs(), Some(scaled), FargateServiceStatus::default());
        assert!(matches!(&unscaled_plan, Ok(p) if p.sets_desired_count()));
        let (action, _) = act(unscaled_plan);
        assert!(
            matches!(&action, Action::Update { changes, .. } if changes.desired_count == Some(2)),
            "{action:?}"
        );
    }

    #[test]
    fn with_adoption_adopt_a_missing_service_is_waited_for_and_never_created() {
        let mut o = obj();
        o.spec.policies.adoption = Some(crate::api::Adoption::Adopt);
        let a = settled(plan(&o, &refs(), None, FargateServiceStatus::default()));
        assert!(
            matches!(&a.state, State::Waiting { reason, message, .. }
                if *reason == reasons::NOT_FOUND && message.contains(CLUSTER)),
            "{:?}",
            a.state
        );
    }

    #[test]
    fn a_draining_service_is_waited_for_before_it_is_created_again() {
        let draining = described("DRAINING", NEW, owner_tags(UID, "shop", "web"), vec![], 0);
        let a = settled(plan(
            &obj(),
            &refs(),
            Some(draining),
            FargateServiceStatus::default(),
        ));
        assert!(
            matches!(a.state, State::InProgress { reason, recheck, .. }
                if reason == reasons::DRAINING && recheck == RECHECK_DELETING),
            "{:?}",
            a.state
        );
        assert!(a.notes.is_empty());
    }

    #[test]
    fn observe_only_reports_the_service_as_aws_has_it_and_changes_nothing() {
        let mut o = obj();
        o.spec.policies.management_policy = Some(crate::api::ManagementPolicy::ObserveOnly);
        // Someone else's service, on another revision, with another count: reported, not touched.
        let mut theirs = described("ACTIVE", OLD, owner_tags("x", "team-b", "web"), vec![], 4);
        theirs.desired_count = 6;
        let a = settled(plan(&o, &refs(), Some(theirs), FargateServiceStatus::default()));
        assert_eq!(
            a.state,
            State::Ready {
                reason: reasons::OBSERVED,
                message: "ECS service web is ACTIVE: 4/6 tasks running (managementPolicy ObserveOnly: \
                          observed, never changed)"
                    .into(),
            }
        );
        assert_eq!(
            (a.status.task_definition_arn.as_deref(), a.status.desired_count),
            (Some(OLD), Some(6))
        );
        let missing = settled(plan(&o, &refs(), None, FargateServiceStatus::default()));
        assert!(
            matches!(&missing.state, State::Waiting { reason, message, .. }
                if *reason == reasons::NOT_FOUND && message.contains("its cluster")),
            "{:?}",
            missing.state
        );
    }

    #[test]
    fn deletion_deletes_an_active_service_and_is_done_once_it_is_inactive() {
        let target = refs().target;
        assert_eq!(removal(&obj(), &target, None), Removal::Gone);
        let active = ours(R::Completed, 2);
        assert_eq!(removal(&obj(), &target, Some(&active)), Removal::Delete);
        let draining = described("DRAINING", NEW, owner_tags(UID, "shop", "web"), vec![], 1);
        let waiting = Cleanup::Wait {
            reason: reasons::DELETING,
            message: "waiting for ECS service web to drain and become INACTIVE".into(),
            recheck: RECHECK_DELETING,
        };
        assert_eq!(after_delete(&target, Some(&draining)), waiting);
        assert_eq!(
            removal(&obj(), &target, Some(&draining)),
            Removal::Wait(waiting.clone())
        );
        let inactive = described("INACTIVE", NEW, owner_tags(UID, "shop", "web"), vec![], 0);
        assert_eq!(after_delete(&target, Some(&inactive)), Cleanup::Done);
        assert_eq!(
            after_delete(&target, None),
            waiting,
            "a vanished answer is confirmed by a describe"
        );
    }

    #[test]
    fn deletion_leaves_a_service_of_another_owner_in_aws() {
        let theirs = described("ACTIVE", NEW, owner_tags("x", "team-b", "web"), vec![], 2);
        assert_eq!(removal(&obj(), &refs().target, Some(&theirs)), Removal::NotOwned);
        let untagged = described("ACTIVE", NEW, vec![], vec![], 2);
        assert_eq!(
            removal(&obj(), &refs().target, Some(&untagged)),
            Removal::NotOwned
        );
    }

    #[test]
    fn a_scaling_policy_that_still_targets_the_service_holds_its_deletion() {
        assert_eq!(held_by(None), None);
        assert_eq!(
            held_by(Some("cpu".into())),
            Some(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: "ScalingPolicy cpu still targets this service: it goes first".into(),
                recheck: RECHECK_DEPENDENT,
            })
        );
    }
}
