//! Where the kinds that run tasks (FargateService, FargateTask) run them: the cluster, its region and
//! the task-definition revision, read from the objects they name (through [`crate::runtime::cache`])
//! or from the ARNs in their specs. A reference that is not usable yet is a [`Deref::Wait`]; one that
//! can never work (a cluster of another namespace, a region that disagrees) is a terminal error.

use crate::api::service::LocalRef;
use crate::api::{Condition, ConditionStatus, EcsCluster, TaskDefinition, conditions as cond};
use crate::aws::Account;
use crate::runtime::conditions::reasons;
use crate::runtime::{Context, Deref, Error, State, cache};
use kube::api::Api;
use std::time::Duration;

/// How often an object waiting for a referenced object looks again (its watch usually wakes it first).
pub(super) const RECHECK_DEPENDENCY: Duration = Duration::from_secs(60);

/// What an object names: its namespace, cluster, task definition and region, from its spec.
#[derive(Clone, Copy, Debug)]
pub(super) struct Names<'a> {
    /// `FargateService`, `FargateTask`: for messages.
    pub(super) kind: &'static str,
    pub(super) namespace: &'a str,
    pub(super) cluster_ref: Option<&'a LocalRef>,
    pub(super) cluster_arn: Option<&'a str>,
    pub(super) task_definition_ref: Option<&'a LocalRef>,
    pub(super) task_definition_arn: Option<&'a str>,
    pub(super) region: Option<&'a str>,
    /// The FargateProfile selecting the object: its cluster serves an object that names none.
    pub(super) profile: Option<&'a crate::api::FargateProfile>,
}

/// Where the cluster of `names` comes from.
enum ClusterSource<'a> {
    /// An EcsCluster object: (namespace, name).
    Object(&'a str, &'a str),
    /// An ARN; `owner_check` refuses a cluster an EcsCluster of another namespace manages (a cluster
    /// the admin's profile names by ARN is sanctioned).
    Arn { arn: &'a str, owner_check: bool },
}

fn cluster_source<'a>(names: &Names<'a>) -> Option<ClusterSource<'a>> {
    match (names.cluster_ref, names.cluster_arn, names.profile) {
        (_, Some(arn), _) => Some(ClusterSource::Arn {
            arn,
            owner_check: true,
        }),
        (Some(r), None, _) => Some(ClusterSource::Object(names.namespace, &r.name)),
        (None, None, Some(p)) => match (&p.spec.cluster_ref, &p.spec.cluster_arn) {
            (_, Some(arn)) => Some(ClusterSource::Arn {
                arn,
                owner_check: false,
            }),
            (Some(r), None) => Some(ClusterSource::Object(&r.namespace, &r.name)),
            (None, None) => None,
        },
        (None, None, None) => None,
    }
}

/// The cluster (ARN), its region, and the task-definition revision to run.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Placed {
    pub(super) cluster: String,
    pub(super) region: String,
    pub(super) task_definition: String,
    /// The cluster's default capacity provider strategy, empty when it has none (then ECS runs a task
    /// that names neither a launch type nor a strategy on EC2).
    pub(super) default_strategy: Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>,
    /// The named port mappings of the task definition, when it comes from a TaskDefinition object
    /// (`None`: a revision given by ARN, not looked into).
    pub(super) port_names: Option<Vec<String>>,
    /// The cluster's default Service Connect namespace (`serviceConnectDefaults`), if it has one.
    pub(super) service_connect_default: Option<String>,
}

/// The cluster of `names` as far as its source tells: the ARN (region from the ARN) or the Ready
/// EcsCluster object's, with the object's defaults.
struct Found {
    cluster: String,
    region: Option<String>,
    default_strategy: Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>,
    service_connect_default: Option<String>,
}

/// The cluster `names` refers to, or why it is not usable yet. Checks nothing in AWS.
async fn find_cluster(names: &Names<'_>, ctx: &Context) -> Result<Deref<Found>, Error> {
    match cluster_source(names) {
        Some(ClusterSource::Arn { arn, .. }) => Ok(Deref::Ready(Found {
            cluster: arn.to_string(),
            region: arn_region(arn).map(str::to_string),
            default_strategy: Vec::new(),
            service_connect_default: None,
        })),
        Some(ClusterSource::Object(cluster_ns, name)) => {
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
            let Some(c) = cache::get::<EcsCluster>(ctx, cluster_ns, name, current).await? else {
                return not_ready(format!("EcsCluster {cluster_ns}/{name} does not exist"));
            };
            let default_strategy = spec_default_strategy(&c);
            let service_connect_default = c
                .spec
                .service_connect_defaults
                .as_ref()
                .map(|d| d.namespace.clone());
            let status = c.status.unwrap_or_default();
            match status.arn {
                Some(arn) if ready(&status.conditions) && c.metadata.deletion_timestamp.is_none() => {
                    Ok(Deref::Ready(Found {
                        cluster: arn,
                        region: status.region,
                        default_strategy,
                        service_connect_default,
                    }))
                }
                _ => not_ready(format!("EcsCluster {cluster_ns}/{name} is not Ready")),
            }
        }
        None => not_ready(
            "no cluster: set clusterRef or clusterArn (or be selected by a FargateProfile that names one)",
        ),
    }
}

/// The cluster (ARN or name) and region `names` refers to when they are known now, whatever the task
/// definition's state: where a look-up ahead of a creation can be made. Not checked in AWS.
pub(super) async fn cluster_known(
    names: Names<'_>,
    ctx: &Context,
    aws: &Account<'_>,
) -> Result<Option<(String, String)>, Error> {
    Ok(match find_cluster(&names, ctx).await? {
        Deref::Ready(found) => Some((
            found.cluster,
            found.region.unwrap_or_else(|| aws.default_region().to_string()),
        )),
        Deref::Wait(_) => None,
    })
}

/// The cluster, region and task definition of `names`, or why they are not usable yet. With
/// `pinned`, the task definition is that revision whatever the spec says (a run keeps its revision).
pub(super) async fn resolve(
    names: Names<'_>,
    pinned: Option<&str>,
    ctx: &Context,
    aws: &Account<'_>,
) -> Result<Deref<Placed>, Error> {
    let Names {
        kind, namespace: ns, ..
    } = names;
    let mut port_names = None;
    let source = cluster_source(&names);
    let Found {
        cluster,
        region,
        mut default_strategy,
        mut service_connect_default,
    } = match find_cluster(&names, ctx).await? {
        Deref::Ready(found) => found,
        Deref::Wait(state) => return Ok(Deref::Wait(state)),
    };
    let task_definition = match (pinned, names.task_definition_ref, names.task_definition_arn) {
        (Some(arn), _, _) | (None, _, Some(arn)) => arn.to_string(),
        (None, Some(r), None) => {
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
            let Some(td) = cache::get::<TaskDefinition>(ctx, ns, &r.name, current).await? else {
                return not_ready(format!("TaskDefinition {} does not exist", r.name));
            };
            port_names = Some(
                td.spec
                    .container_definitions
                    .iter()
                    .flat_map(|c| c.port_mappings.iter().filter_map(|p| p.name.clone()))
                    .collect(),
            );
            // The newest registered revision, even while a later spec is being registered: what
            // exists runs, and a service rolls forward when the new revision lands.
            match td.status.and_then(|s| s.arn) {
                Some(arn) => arn,
                None => return not_ready(format!("TaskDefinition {} is not Ready", r.name)),
            }
        }
        (None, None, None) => {
            return not_ready("no task definition: set taskDefinitionRef or taskDefinitionArn");
        }
    };
    // Tasks run in their cluster's region, with a task definition of that region.
    let region = region.unwrap_or_else(|| aws.default_region().to_string());
    if let Some(ClusterSource::Arn { owner_check, .. }) = source {
        // A cluster named by ARN may not be one an EcsCluster of another namespace manages.
        let name = crate::runtime::relations::last_segment(&cluster);
        let Some(c) = aws.describe_cluster(Some(&region), name).await? else {
            return not_ready(format!("ECS cluster {cluster} does not exist"));
        };
        default_strategy = c.default_capacity_provider_strategy().to_vec();
        service_connect_default = c
            .service_connect_defaults()
            .and_then(|d| d.namespace())
            .map(str::to_string);
        let tag = |key: &str| crate::aws::ecs::tag_value(c.tags(), key);
        if let Some(owner_ns) = tag(crate::api::OWNER_NAMESPACE_TAG)
            && owner_check
            && owner_ns != ns
        {
            return Err(Error::Terminal {
                reason: reasons::NOT_OWNED,
                message: format!(
                    "ECS cluster {cluster} belongs to EcsCluster {owner_ns}/{}; a {kind} may only use \
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
    if let Some(want) = names.region
        && want != region
    {
        return mismatch(format!(
            "spec.region is {want} but the cluster {cluster} is in {region}: a {kind} runs in its cluster's region"
        ));
    }
    if td_region != region {
        return mismatch(format!(
            "the task definition {task_definition} is in {td_region} but the cluster is in {region}: \
             register the task definition in {region} (TaskDefinition spec.region)"
        ));
    }
    Ok(Deref::Ready(Placed {
        cluster,
        region,
        task_definition,
        default_strategy,
        port_names,
        service_connect_default,
    }))
}

/// The cluster (ARN, region) an object ran in, for its deletion: from `clusterArn`, or from the
/// referenced EcsCluster's status whatever its condition (asked of the API server: a deletion never
/// trusts a cache); `None` when there is no such cluster.
pub(super) async fn cluster_for_cleanup(
    names: Names<'_>,
    ctx: &Context,
) -> Result<Option<(String, Option<String>)>, Error> {
    let (cluster_ns, name) = match cluster_source(&names) {
        Some(ClusterSource::Arn { arn, .. }) => {
            return Ok(Some((arn.to_string(), arn_region(arn).map(str::to_string))));
        }
        Some(ClusterSource::Object(ns, name)) => (ns, name),
        None => return Ok(None),
    };
    let api: Api<EcsCluster> = Api::namespaced(ctx.client.clone(), cluster_ns);
    Ok(api
        .get_opt(name)
        .await?
        .and_then(|c| c.status)
        .and_then(|s| s.arn.map(|arn| (arn, s.region))))
}

/// The default capacity provider strategy of the cluster of `names` (at `cluster`, `region`), empty
/// when it has none: from the EcsCluster object's spec (whatever its condition), or as ECS describes
/// the cluster.
pub(super) async fn default_strategy(
    names: Names<'_>,
    cluster: &str,
    region: &str,
    ctx: &Context,
    aws: &Account<'_>,
) -> Result<Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem>, Error> {
    if let Some(ClusterSource::Object(cluster_ns, name)) = cluster_source(&names) {
        let c = cache::get::<EcsCluster>(ctx, cluster_ns, name, |_| true).await?;
        return Ok(c.as_ref().map(spec_default_strategy).unwrap_or_default());
    }
    let name = crate::runtime::relations::last_segment(cluster);
    Ok(aws
        .describe_cluster(Some(region), name)
        .await?
        .map(|c| c.default_capacity_provider_strategy().to_vec())
        .unwrap_or_default())
}

/// The default capacity provider strategy an EcsCluster's spec gives its cluster (empty: none).
fn spec_default_strategy(c: &EcsCluster) -> Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem> {
    c.spec
        .default_capacity_provider_strategy
        .as_deref()
        .map(strategy)
        .unwrap_or_default()
}

/// A dependency that is not there yet, with a message naming it.
fn not_ready<T>(message: impl Into<String>) -> Result<Deref<T>, Error> {
    Ok(Deref::Wait(State::Waiting {
        reason: reasons::DEPENDENCY_NOT_READY,
        message: message.into(),
        recheck: RECHECK_DEPENDENCY,
    }))
}

pub(super) fn ready(conditions: &[Condition]) -> bool {
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

/// The region field of an ARN (`arn:aws:ecs:<region>:...`).
pub(super) fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// The network configuration as ECS takes it.
pub(super) fn network(
    n: &crate::api::service::NetworkConfiguration,
) -> Result<aws_sdk_ecs::types::NetworkConfiguration, aws_sdk_ecs::error::BuildError> {
    use aws_sdk_ecs::types as sdk;
    let v = &n.awsvpc_configuration;
    let awsvpc = sdk::AwsVpcConfiguration::builder()
        .set_subnets(Some(v.subnets.clone()))
        .set_security_groups((!v.security_groups.is_empty()).then(|| v.security_groups.clone()))
        .set_assign_public_ip(v.assign_public_ip.as_deref().map(sdk::AssignPublicIp::from))
        .build()?;
    Ok(sdk::NetworkConfiguration::builder()
        .awsvpc_configuration(awsvpc)
        .build())
}

/// A strategy in a form that compares equal whatever the order of its items.
pub(super) fn strategy_key(
    items: &[aws_sdk_ecs::types::CapacityProviderStrategyItem],
) -> Vec<(String, i32, i32)> {
    let mut key: Vec<_> = items
        .iter()
        .map(|i| (i.capacity_provider().to_string(), i.weight(), i.base()))
        .collect();
    key.sort();
    key
}

/// A capacity provider strategy as ECS takes it; left-out weights and bases are 0, ECS's own defaults.
pub(super) fn strategy(
    items: &[crate::api::cluster::CapacityProviderStrategyItem],
) -> Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem> {
    items
        .iter()
        .filter_map(|i| {
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider(i.capacity_provider.as_str())
                .weight(i.weight.unwrap_or(0))
                .base(i.base.unwrap_or(0))
                .build()
                .ok()
        })
        .collect()
}
