//! FargateService: resolve the cluster and task definition from their objects, create the service once
//! (client token + look-up before create), update only the fields that differ, follow the rollout, and
//! on deletion scale to zero, delete, and wait for INACTIVE.

use crate::api::cluster::CapacityProviderStrategyItem as SpecStrategyItem;
use crate::api::conditions::{self as cond, PROGRESSING};
use crate::api::service::{DeploymentConfiguration as SpecDeployment, FargateServiceSpec};
use crate::api::{
    Condition, ConditionStatus, EcsCluster, FargateService, FargateServiceStatus, ScalingPolicy,
    TaskDefinition,
};
use crate::aws::ecs::{self as ecs_api, NewService, ServiceUpdate, tag};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership;
use crate::runtime::relations;
use crate::runtime::{Applied, Cleanup, Context, Error, Managed, Note, State};
use aws_sdk_ecs::types as sdk;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

crate::managed_status!(FargateServiceStatus);

const RECHECK_ROLLOUT: Duration = Duration::from_secs(10);
const RECHECK_DEPENDENCY: Duration = Duration::from_secs(60);
const RECHECK_DELETING: Duration = Duration::from_secs(5);
/// The desired count when the spec names none.
pub const DEFAULT_DESIRED_COUNT: i32 = 1;

impl FargateService {
    /// The ECS service name: `spec.serviceName`, else metadata.name.
    pub fn service_name(&self) -> String {
        self.spec.service_name.clone().unwrap_or_else(|| self.name_any())
    }
}

/// Where the service lives and what it should run, resolved from the referenced objects.
struct Resolved {
    cluster: String,
    region: Option<String>,
    task_definition: String,
}

/// A dependency that is not there yet, with a message naming it.
struct NotReady(String);

fn ready(conditions: &[Condition]) -> bool {
    cond::find(conditions, cond::READY).is_some_and(|c| c.status == ConditionStatus::True)
}

/// A referenced object whose status is Ready, has an ARN and speaks of its current generation.
fn settled(
    arn: Option<&String>,
    conditions: &[Condition],
    observed: Option<i64>,
    generation: Option<i64>,
) -> bool {
    arn.is_some() && ready(conditions) && observed == generation
}

async fn resolve(obj: &FargateService, ctx: &Context) -> Result<Result<Resolved, NotReady>, Error> {
    let aws = crate::runtime::aws_for(ctx, obj)?;
    let ns = obj.namespace().unwrap_or_default();
    let (cluster, region) = match (&obj.spec.cluster_ref, &obj.spec.cluster_arn) {
        (_, Some(arn)) => (arn.clone(), arn.split(':').nth(3).map(str::to_string)),
        (Some(r), None) => {
            let current = |c: &EcsCluster| {
                c.status.as_ref().is_some_and(|s| {
                    settled(
                        s.arn.as_ref(),
                        &s.conditions,
                        s.observed_generation,
                        c.metadata.generation,
                    )
                }) && c.metadata.deletion_timestamp.is_none()
            };
            let Some(c) = crate::runtime::cache::get::<EcsCluster>(ctx, &ns, &r.name, current).await? else {
                return Ok(Err(NotReady(format!("EcsCluster {} does not exist", r.name))));
            };
            let status = c.status.unwrap_or_default();
            match status.arn {
                Some(arn) if ready(&status.conditions) && c.metadata.deletion_timestamp.is_none() => {
                    (arn, status.region)
                }
                _ => return Ok(Err(NotReady(format!("EcsCluster {} is not Ready", r.name)))),
            }
        }
        (None, None) => return Ok(Err(NotReady("no cluster: set clusterRef or clusterArn".into()))),
    };
    let task_definition = match (&obj.spec.task_definition_ref, &obj.spec.task_definition_arn) {
        (_, Some(arn)) => arn.clone(),
        (Some(r), None) => {
            // From the cache only when it holds the revision of the current spec.
            let current = |t: &TaskDefinition| {
                t.status.as_ref().is_some_and(|s| {
                    settled(
                        s.arn.as_ref(),
                        &s.conditions,
                        s.observed_generation,
                        t.metadata.generation,
                    )
                })
            };
            let Some(td) = crate::runtime::cache::get::<TaskDefinition>(ctx, &ns, &r.name, current).await?
            else {
                return Ok(Err(NotReady(format!("TaskDefinition {} does not exist", r.name))));
            };
            // The newest registered revision, even while a later spec is being registered: the service
            // keeps running what exists and rolls forward when the new revision lands.
            match td.status.and_then(|s| s.arn) {
                Some(arn) => arn,
                None => return Ok(Err(NotReady(format!("TaskDefinition {} is not Ready", r.name)))),
            }
        }
        (None, None) => {
            return Ok(Err(NotReady(
                "no task definition: set taskDefinitionRef or taskDefinitionArn".into(),
            )));
        }
    };
    // A service runs in its cluster's region, with a task definition of that region.
    let region = region.unwrap_or_else(|| aws.default_region().to_string());
    if obj.spec.cluster_arn.is_some() {
        // A cluster named by ARN may not be one an EcsCluster of another namespace manages.
        let name = cluster.rsplit_once('/').map_or(cluster.as_str(), |(_, n)| n);
        let Some(c) = aws.describe_cluster(Some(&region), name).await? else {
            return Ok(Err(NotReady(format!("ECS cluster {cluster} does not exist"))));
        };
        let tag = |key: &str| crate::aws::ecs::tag_value(c.tags(), key);
        if let Some(owner_ns) = tag(crate::api::OWNER_NAMESPACE_TAG)
            && owner_ns != ns
        {
            return Err(Error::Terminal {
                reason: reasons::NOT_OWNED,
                message: format!(
                    "ECS cluster {cluster} belongs to EcsCluster {owner_ns}/{}; a FargateService may only use \
                     clusters of its own namespace (or clusters not managed by ecs-controller)",
                    tag(crate::api::OWNER_NAME_TAG).unwrap_or("?")
                ),
            });
        }
    }
    let td_region = arn_region(&task_definition).unwrap_or(aws.default_region());
    let mismatch = |message: String| {
        Err(Error::Terminal {
            reason: reasons::REGION_MISMATCH,
            message,
        })
    };
    if let Some(want) = &obj.spec.region
        && *want != region
    {
        return mismatch(format!(
            "spec.region is {want} but the cluster {cluster} is in {region}: a service runs in its cluster's region"
        ));
    }
    if td_region != region {
        return mismatch(format!(
            "the task definition {task_definition} is in {td_region} but the cluster is in {region}: \
             register the task definition in {region} (TaskDefinition spec.region)"
        ));
    }
    Ok(Ok(Resolved {
        cluster,
        region: Some(region),
        task_definition,
    }))
}

/// The region field of an ARN (`arn:aws:ecs:<region>:...`).
fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The cluster (ARN, region) a service was created in, for its deletion: from `clusterArn`, or from the
/// referenced EcsCluster's status whatever its condition; `None` when there is no such cluster.
async fn cluster_for_cleanup(
    obj: &FargateService,
    ctx: &Context,
) -> Result<Option<(String, Option<String>)>, Error> {
    if let Some(arn) = &obj.spec.cluster_arn {
        return Ok(Some((arn.clone(), arn.split(':').nth(3).map(str::to_string))));
    }
    let Some(r) = &obj.spec.cluster_ref else {
        return Ok(None);
    };
    let api: Api<EcsCluster> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    Ok(api
        .get_opt(&r.name)
        .await?
        .and_then(|c| c.status)
        .and_then(|s| s.arn.map(|arn| (arn, s.region))))
}

/// The ScalingPolicy (if any) that targets this service, by reference or by its resource id
/// (`service/<cluster>/<service>`), and so owns its desired count.
async fn scaling_policy_for(obj: &FargateService, ctx: &Context) -> Result<Option<String>, Error> {
    let policies =
        crate::runtime::cache::list::<ScalingPolicy>(ctx, &obj.namespace().unwrap_or_default()).await?;
    Ok(relations::scaler_of(obj, policies.iter().map(AsRef::as_ref)))
}

/// ECS client tokens are up to 36 characters: a hash of the object's uid and generation, so a retry of
/// the same create is recognised and a new generation is a new request.
fn client_token(obj: &FargateService) -> String {
    let seed = format!(
        "{}/{}",
        obj.meta().uid.as_deref().unwrap_or_default(),
        obj.meta().generation.unwrap_or(0)
    );
    Sha256::digest(seed.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
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
    region: &str,
    service: Option<&sdk::Service>,
) -> Applied<FargateServiceStatus> {
    let Some(service) = service else {
        return Applied::new(status, not_found(name, "its cluster"));
    };
    status.arn = service.service_arn().map(str::to_string);
    status.service_name = Some(name.to_string());
    status.cluster_arn = service.cluster_arn().map(str::to_string);
    status.region = Some(region.to_string());
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

impl Managed for FargateService {
    type Status = FargateServiceStatus;
    const NAME: &'static str = "service";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_CLUSTERS,
        op::DESCRIBE_SERVICES,
        op::CREATE_SERVICE,
        op::UPDATE_SERVICE,
        op::DELETE_SERVICE,
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
        mut status: FargateServiceStatus,
    ) -> Result<Applied<FargateServiceStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let resolved = match resolve(self, ctx).await? {
            Ok(r) => r,
            Err(NotReady(message)) => {
                let state = State::Waiting {
                    reason: reasons::DEPENDENCY_NOT_READY,
                    message,
                    recheck: RECHECK_DEPENDENCY,
                };
                return Ok(Applied::new(status, state));
            }
        };
        let name = self.service_name();
        let clients = aws.region(resolved.region.as_deref());
        let ecs = &clients.ecs;
        let scaled_by = scaling_policy_for(self, ctx).await?;
        let mut desired_tags: Vec<sdk::Tag> = self.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
        desired_tags.extend(crate::runtime::ownership::ownership_tags(self));

        let existing = aws
            .describe_service(Some(&clients.region), &resolved.cluster, &name)
            .await?;
        if self.spec.policies.observe_only() {
            return Ok(observe(status, &name, &clients.region, existing.as_ref()));
        }
        let mut acted = false;
        let mut notes = Vec::new();
        let existing = match existing {
            Some(s) if !owned(self, &s) => {
                let what = format!("ECS service {name} in {}", resolved.cluster);
                let owner = ownership::owner_of_ecs(self, s.tags());
                ownership::claim::<Self>(&self.spec.policies, &owner, &what)?;
                tracing::info!(service = %name, "adopting ECS service");
                notes.push(Note::new(
                    reasons::ADOPTED,
                    format!("adopted {what} (spec.adoption)"),
                ));
                status.adopted = Some(true);
                Some(s)
            }
            other => other,
        };
        let service = match existing {
            None if !ownership::may_create(&self.spec.policies) => {
                return Ok(Applied::new(status, not_found(&name, &resolved.cluster)));
            }
            None => {
                tracing::info!(service = %name, cluster = %resolved.cluster, "creating ECS service");
                acted = true;
                notes.push(Note::new(
                    reasons::CREATED,
                    format!(
                        "created ECS service {name} running {}",
                        short_td(&resolved.task_definition)
                    ),
                ));
                ecs_api::create_service(ecs, new_service(self, &resolved, &name, desired_tags)?).await?
            }
            Some(s) if s.status() == Some("DRAINING") => {
                let state = State::InProgress {
                    reason: reasons::DRAINING,
                    message: format!(
                        "ECS service {name} is DRAINING after a deletion; it is recreated once INACTIVE"
                    ),
                    recheck: RECHECK_DELETING,
                };
                return Ok(Applied::new(status, state));
            }
            Some(s) => {
                let update = desired_update(
                    &self.spec,
                    &s,
                    &resolved.task_definition,
                    scaled_by.is_none(),
                    status.failed_task_definition_arn.as_deref(),
                );
                let service = if update.is_empty() {
                    s
                } else {
                    tracing::info!(service = %name, changed = ?update.changed(), "updating ECS service");
                    acted = true;
                    if let Some(td) = &update.task_definition {
                        notes.push(Note::new(
                            reasons::ROLLOUT_STARTED,
                            format!("rolling out {}", short_td(td)),
                        ));
                    }
                    let others: Vec<_> = update
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
                    let tags = s.tags().to_vec();
                    let mut updated = ecs_api::update_service(ecs, &resolved.cluster, &name, update).await?;
                    // UpdateService does not return tags; keep the ones just described.
                    updated.tags = Some(tags);
                    updated
                };
                if let Some(arn) = service.service_arn() {
                    ecs_api::sync_tags(ecs, arn, service.tags(), &desired_tags).await?;
                }
                service
            }
        };

        let rollout = rollout(
            &service,
            &resolved.task_definition,
            status.failed_task_definition_arn.as_deref(),
        );
        status.arn = service.service_arn().map(str::to_string);
        status.service_name = Some(name.clone());
        status.cluster_arn = service.cluster_arn().map(str::to_string);
        status.region = Some(clients.region.clone());
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
        status.scaled_by = scaled_by;

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
                    short_td(&resolved.task_definition)
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
                    "rolling out {}: {}/{} running, {} pending{}",
                    short_td(&resolved.task_definition),
                    service.running_count(),
                    service.desired_count(),
                    service.pending_count(),
                    if acted { " (update just sent)" } else { "" }
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
                status.failed_task_definition_arn = Some(resolved.task_definition.clone());
                let message = format!(
                    "the rollout of {} failed: {}",
                    short_td(&resolved.task_definition),
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
        Ok(applied.with_notes(notes))
    }

    async fn cleanup(&self, ctx: &Context, status: &FargateServiceStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        if let Some(policy) = scaling_policy_for(self, ctx).await? {
            return Ok(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: format!("ScalingPolicy {policy} still targets this service: it goes first"),
                recheck: RECHECK_DEPENDENCY,
            });
        }
        let (cluster, region) = match (&status.cluster_arn, &status.region) {
            (Some(c), r) => (c.clone(), r.clone()),
            // No cluster in status (a crash right after CreateService, say): take it from the spec or
            // the EcsCluster object, Ready or not; only without any cluster was nothing created.
            (None, _) => match cluster_for_cleanup(self, ctx).await? {
                Some(c) => c,
                None => return Ok(Cleanup::Done),
            },
        };
        let name = status.service_name.clone().unwrap_or_else(|| self.service_name());
        let ecs = &aws.region(region.as_deref()).ecs;
        let Some(service) = aws.describe_service(region.as_deref(), &cluster, &name).await? else {
            return Ok(Cleanup::Done);
        };
        if !owned(self, &service) {
            tracing::warn!(service = %name, "the ECS service is not owned by this object: leaving it in AWS");
            return Ok(Cleanup::Done);
        }
        if service.status() == Some("ACTIVE") {
            // A forced delete stops the tasks itself: no UpdateService to 0 first.
            tracing::info!(service = %name, "deleting ECS service");
            if let Some(s) = ecs_api::delete_service(ecs, &cluster, &name, true).await?
                && s.status() == Some("INACTIVE")
            {
                return Ok(Cleanup::Done);
            }
        }
        Ok(Cleanup::Wait {
            reason: reasons::DELETING,
            message: format!("waiting for ECS service {name} to drain and become INACTIVE"),
            recheck: RECHECK_DELETING,
        })
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // A referenced cluster, task definition or scaling policy changed: wake the services that name it.
        let services = controller.store();
        let by_cluster = services.clone();
        let by_td = services.clone();
        controller
            .watches_shared_stream(ctx.feeds.subscribe::<EcsCluster>(), move |c| {
                relations::services_naming_cluster(by_cluster.state().iter().map(AsRef::as_ref), &c)
            })
            .watches_shared_stream(ctx.feeds.subscribe::<TaskDefinition>(), move |t| {
                relations::services_naming_task_definition(by_td.state().iter().map(AsRef::as_ref), &t)
            })
            .watches_shared_stream(ctx.feeds.subscribe::<ScalingPolicy>(), |p| {
                relations::service_of(&p)
            })
    }
}

/// `family:revision` of a task-definition ARN, for messages.
fn short_td(arn: &str) -> &str {
    arn.rsplit_once('/').map_or(arn, |(_, fr)| fr)
}

fn new_service(
    obj: &FargateService,
    r: &Resolved,
    name: &str,
    tags: Vec<sdk::Tag>,
) -> Result<NewService, Error> {
    let s = &obj.spec;
    let invalid = |e: sdk_build::BuildError| Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: e.to_string(),
    };
    Ok(NewService {
        cluster: r.cluster.clone(),
        name: name.to_string(),
        task_definition: r.task_definition.clone(),
        desired_count: s.desired_count.unwrap_or(DEFAULT_DESIRED_COUNT),
        launch_type: s
            .capacity_provider_strategy
            .is_none()
            .then_some(sdk::LaunchType::Fargate),
        capacity_provider_strategy: s.capacity_provider_strategy.as_deref().map(strategy),
        platform_version: s.platform_version.clone(),
        network_configuration: network(s).map_err(invalid)?,
        deployment_configuration: s.deployment_configuration.as_ref().map(|d| deployment(d, None)),
        load_balancers: s.load_balancers.as_deref().map(load_balancers),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds,
        service_registries: s.service_registries.as_deref().map(registries),
        enable_execute_command: s.enable_execute_command,
        propagate_tags: s.propagate_tags.as_deref().map(sdk::PropagateTags::from),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags,
        tags,
        client_token: client_token(obj),
    })
}

mod sdk_build {
    pub use aws_sdk_ecs::error::BuildError;
}

fn network(s: &FargateServiceSpec) -> Result<sdk::NetworkConfiguration, sdk_build::BuildError> {
    let v = &s.network_configuration.awsvpc_configuration;
    let awsvpc = sdk::AwsVpcConfiguration::builder()
        .set_subnets(Some(v.subnets.clone()))
        .set_security_groups((!v.security_groups.is_empty()).then(|| v.security_groups.clone()))
        .set_assign_public_ip(v.assign_public_ip.as_deref().map(sdk::AssignPublicIp::from))
        .build()?;
    Ok(sdk::NetworkConfiguration::builder()
        .awsvpc_configuration(awsvpc)
        .build())
}

fn strategy(items: &[SpecStrategyItem]) -> Vec<sdk::CapacityProviderStrategyItem> {
    items
        .iter()
        .filter_map(|i| {
            sdk::CapacityProviderStrategyItem::builder()
                .capacity_provider(i.capacity_provider.as_str())
                .weight(i.weight.unwrap_or(0))
                .base(i.base.unwrap_or(0))
                .build()
                .ok()
        })
        .collect()
}

/// The user's deployment configuration laid over the current one, so fields left out keep their values.
fn deployment(
    d: &SpecDeployment,
    current: Option<&sdk::DeploymentConfiguration>,
) -> sdk::DeploymentConfiguration {
    let mut b = current.cloned().map(|c| {
        sdk::DeploymentConfiguration::builder()
            .set_minimum_healthy_percent(c.minimum_healthy_percent)
            .set_maximum_percent(c.maximum_percent)
            .set_deployment_circuit_breaker(c.deployment_circuit_breaker)
            .set_alarms(c.alarms)
    });
    let mut builder = b.take().unwrap_or_else(sdk::DeploymentConfiguration::builder);
    if let Some(v) = d.minimum_healthy_percent {
        builder = builder.minimum_healthy_percent(v);
    }
    if let Some(v) = d.maximum_percent {
        builder = builder.maximum_percent(v);
    }
    if let Some(cb) = &d.deployment_circuit_breaker {
        builder = builder.deployment_circuit_breaker(
            sdk::DeploymentCircuitBreaker::builder()
                .enable(cb.enable)
                .rollback(cb.rollback)
                .build(),
        );
    }
    if let Some(a) = &d.alarms {
        builder = builder.set_alarms(
            sdk::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .ok(),
        );
    }
    builder.build()
}

fn deployment_differs(want: &SpecDeployment, have: Option<&sdk::DeploymentConfiguration>) -> bool {
    let Some(h) = have else { return true };
    want.minimum_healthy_percent
        .is_some_and(|v| Some(v) != h.minimum_healthy_percent())
        || want
            .maximum_percent
            .is_some_and(|v| Some(v) != h.maximum_percent())
        || want.deployment_circuit_breaker.as_ref().is_some_and(|cb| {
            h.deployment_circuit_breaker()
                .is_none_or(|h| h.enable() != cb.enable || h.rollback() != cb.rollback)
        })
        || want.alarms.as_ref().is_some_and(|a| {
            h.alarms().is_none_or(|h| {
                let mut want_names = a.alarm_names.clone();
                let mut have_names = h.alarm_names().to_vec();
                want_names.sort();
                have_names.sort();
                h.enable() != a.enable || h.rollback() != a.rollback || want_names != have_names
            })
        })
}

fn load_balancers(lbs: &[crate::api::service::LoadBalancer]) -> Vec<sdk::LoadBalancer> {
    lbs.iter()
        .map(|l| {
            sdk::LoadBalancer::builder()
                .target_group_arn(&l.target_group_arn)
                .container_name(&l.container_name)
                .container_port(l.container_port)
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

/// The UpdateService that brings `service` to the spec: only fields the user set and that differ.
/// `manage_count` is false while a ScalingPolicy owns the desired count; a task definition whose rollout
/// already failed (`failed_td`) is not rolled out again.
pub fn desired_update(
    spec: &FargateServiceSpec,
    service: &sdk::Service,
    desired_td: &str,
    manage_count: bool,
    failed_td: Option<&str>,
) -> ServiceUpdate {
    let mut u = ServiceUpdate::default();
    if service.task_definition() != Some(desired_td) && failed_td != Some(desired_td) {
        u.task_definition = Some(desired_td.to_string());
    }
    let want_count = spec.desired_count.unwrap_or(DEFAULT_DESIRED_COUNT);
    if manage_count && service.desired_count() != want_count {
        u.desired_count = Some(want_count);
    }

    let have_vpc = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let want_vpc = &spec.network_configuration.awsvpc_configuration;
    let network_differs = match have_vpc {
        None => true,
        Some(h) => {
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

    if let Some(want) = &spec.capacity_provider_strategy {
        let norm = |items: &[sdk::CapacityProviderStrategyItem]| {
            sorted(
                &items
                    .iter()
                    .map(|i| (i.capacity_provider().to_string(), i.weight(), i.base()))
                    .collect::<Vec<_>>(),
            )
        };
        if norm(&strategy(want)) != norm(service.capacity_provider_strategy()) {
            u.capacity_provider_strategy = Some(strategy(want));
            // Moving from a launch type to capacity providers needs a new deployment.
            u.force_new_deployment = service.launch_type().is_some();
        }
    }
    if let Some(v) = &spec.platform_version
        && service.platform_version() != Some(v.as_str())
    {
        u.platform_version = Some(v.clone());
    }
    if let Some(d) = &spec.deployment_configuration
        && deployment_differs(d, service.deployment_configuration())
    {
        u.deployment_configuration = Some(deployment(d, service.deployment_configuration()));
    }
    if let Some(lbs) = &spec.load_balancers {
        let key = |l: &sdk::LoadBalancer| {
            (
                l.target_group_arn().map(str::to_string),
                l.container_name().map(str::to_string),
                l.container_port(),
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
    if let Some(v) = spec.enable_ecs_managed_tags
        && v != service.enable_ecs_managed_tags()
    {
        u.enable_ecs_managed_tags = Some(v);
    }
    u
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    InProgress,
    Complete,
    Failed,
}

/// What the service's deployments say about rolling out `desired_td`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rollout {
    pub phase: Phase,
    /// The task definition the service runs (the PRIMARY deployment's).
    pub task_definition: Option<String>,
    pub rollout_state: Option<String>,
    pub reason: Option<String>,
}

/// Derives the rollout from DescribeServices/UpdateService output shaped like real ECS:
/// - the PRIMARY deployment runs `desired_td`: COMPLETED is done, IN_PROGRESS is progressing, FAILED is
///   failed; without a rollout state (services that predate it), done when running == desired;
/// - a deployment of `desired_td` that FAILED while another is PRIMARY: the circuit breaker rolled back;
/// - a service whose deployments list no deployment of its own task definition (moto keeps the old
///   PRIMARY after UpdateService): judged by the service's task definition and counts.
pub fn rollout(service: &sdk::Service, desired_td: &str, failed_td: Option<&str>) -> Rollout {
    let deployments = service.deployments();
    let primary = deployments.iter().find(|d| d.status() == Some("PRIMARY"));
    let counts_done = service.running_count() == service.desired_count() && service.pending_count() == 0;
    let state_of = |d: &sdk::Deployment| d.rollout_state().map(|s| s.as_str().to_string());
    let reason_of = |d: &sdk::Deployment| d.rollout_state_reason().map(str::to_string);

    if let Some(failed) = deployments.iter().find(|d| {
        d.task_definition() == Some(desired_td)
            && d.rollout_state() == Some(&sdk::DeploymentRolloutState::Failed)
    }) {
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

    #[test]
    fn nothing_to_update_when_aws_matches_what_the_user_set() {
        let u = desired_update(&spec(), &matching_service(), NEW, true, None);
        assert!(u.is_empty(), "{u:?}");
    }

    #[test]
    fn only_the_fields_that_differ_are_sent() {
        let mut s = spec();
        s.desired_count = Some(3);
        let u = desired_update(&s, &matching_service(), OLD, true, None);
        assert_eq!(u.changed(), vec!["taskDefinition", "desiredCount"]);
        assert_eq!(u.task_definition.as_deref(), Some(OLD));
    }

    #[test]
    fn a_scaler_owns_the_desired_count() {
        let mut s = spec();
        s.desired_count = Some(7);
        assert!(desired_update(&s, &matching_service(), NEW, false, None).is_empty());
    }

    #[test]
    fn a_failed_task_definition_is_not_rolled_out_again() {
        let u = desired_update(&spec(), &matching_service(), OLD, true, Some(OLD));
        assert!(u.task_definition.is_none());
    }

    #[test]
    fn deployment_overlay_keeps_unset_fields() {
        let current = sdk::DeploymentConfiguration::builder()
            .minimum_healthy_percent(100)
            .maximum_percent(200)
            .build();
        let d = super::deployment(
            &SpecDeployment {
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
}
