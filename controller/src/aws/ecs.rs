//! ECS calls, each one request through the paced [`EcsClient`], so the reconcilers never build SDK
//! requests or read SDK errors themselves. Inputs and outputs are the SDK's own types; the reconcilers
//! map their specs onto them.

use super::operations::{self as op, Service as Api};
use super::{AwsError, EcsClient, ErrorKind};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterField,
    ClusterServiceConnectDefaultsRequest, ClusterSetting, DeploymentConfiguration, LaunchType, LoadBalancer,
    NetworkConfiguration, PropagateTags, Service, ServiceField, ServiceRegistry, SortOrder, Tag,
    TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use std::collections::HashMap;

/// Describes clusters by name or ARN (up to 100) with their settings, configuration and tags. Clusters
/// that do not exist are left out; INACTIVE ones are returned (the caller decides what they mean).
pub(crate) async fn describe_clusters(ecs: &EcsClient, names: &[String]) -> Result<Vec<Cluster>, AwsError> {
    let out = ecs
        .call(
            op::DESCRIBE_CLUSTERS,
            ecs.describe_clusters()
                .set_clusters(Some(names.to_vec()))
                .include(ClusterField::Settings)
                .include(ClusterField::Configurations)
                .include(ClusterField::Tags)
                .send(),
        )
        .await?;
    Ok(out.clusters.unwrap_or_default())
}

/// Everything CreateCluster takes.
#[derive(Clone, Debug, Default)]
pub(crate) struct NewCluster {
    pub name: String,
    pub settings: Option<Vec<ClusterSetting>>,
    pub configuration: Option<ClusterConfiguration>,
    pub capacity_providers: Option<Vec<String>>,
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub service_connect_namespace: Option<String>,
    pub tags: Vec<Tag>,
}

/// Creates a cluster. ECS's CreateCluster is idempotent on the name: a retry returns the same cluster.
pub(crate) async fn create_cluster(ecs: &EcsClient, c: NewCluster) -> Result<Cluster, AwsError> {
    let out = ecs
        .call(
            op::CREATE_CLUSTER,
            ecs.create_cluster()
                .cluster_name(c.name)
                .set_settings(c.settings)
                .set_configuration(c.configuration)
                .set_capacity_providers(c.capacity_providers)
                .set_default_capacity_provider_strategy(c.default_capacity_provider_strategy)
                .set_service_connect_defaults(
                    c.service_connect_namespace
                        .map(|n| {
                            ClusterServiceConnectDefaultsRequest::builder()
                                .namespace(n)
                                .build()
                        })
                        .transpose()
                        .map_err(|e| invalid("CreateCluster", e))?,
                )
                .set_tags(Some(c.tags).filter(|t| !t.is_empty()))
                .send(),
        )
        .await?;
    out.cluster.ok_or_else(|| empty("CreateCluster"))
}

/// UpdateCluster with only the parts that differ (`None` leaves a part alone).
pub(crate) async fn update_cluster(
    ecs: &EcsClient,
    name: &str,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<ClusterConfiguration>,
    service_connect_namespace: Option<String>,
) -> Result<(), AwsError> {
    ecs.call(
        op::UPDATE_CLUSTER,
        ecs.update_cluster()
            .cluster(name)
            .set_settings(settings)
            .set_configuration(configuration)
            .set_service_connect_defaults(
                service_connect_namespace
                    .map(|n| {
                        ClusterServiceConnectDefaultsRequest::builder()
                            .namespace(n)
                            .build()
                    })
                    .transpose()
                    .map_err(|e| invalid("UpdateCluster", e))?,
            )
            .send(),
    )
    .await
    .map(drop)
}

pub(crate) async fn put_cluster_capacity_providers(
    ecs: &EcsClient,
    name: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
) -> Result<(), AwsError> {
    ecs.call(
        op::PUT_CLUSTER_CAPACITY_PROVIDERS,
        ecs.put_cluster_capacity_providers()
            .cluster(name)
            .set_capacity_providers(Some(providers))
            .set_default_capacity_provider_strategy(Some(strategy))
            .send(),
    )
    .await
    .map(drop)
}

/// Deletes a cluster; returns the cluster as ECS reports it afterwards (normally INACTIVE).
pub(crate) async fn delete_cluster(ecs: &EcsClient, name: &str) -> Result<Option<Cluster>, AwsError> {
    match ecs
        .call(op::DELETE_CLUSTER, ecs.delete_cluster().cluster(name).send())
        .await
    {
        Ok(out) => Ok(out.cluster),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes the tags of `arn` exactly `desired`, leaving `aws:` tags alone: one TagResource for what is
/// missing or different, one UntagResource for what is extra. Returns whether anything changed.
pub(crate) async fn sync_tags(
    ecs: &EcsClient,
    arn: &str,
    current: &[Tag],
    desired: &[Tag],
) -> Result<bool, AwsError> {
    let (to_set, to_remove) = tag_diff(current, desired);
    let changed = !to_set.is_empty() || !to_remove.is_empty();
    if !to_set.is_empty() {
        ecs.call(
            op::TAG_RESOURCE,
            ecs.tag_resource().resource_arn(arn).set_tags(Some(to_set)).send(),
        )
        .await?;
    }
    if !to_remove.is_empty() {
        ecs.call(
            op::UNTAG_RESOURCE,
            ecs.untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(to_remove))
                .send(),
        )
        .await?;
    }
    Ok(changed)
}

/// Tags to set (missing or with another value) and keys to remove (present, not desired, not `aws:`).
pub(crate) fn tag_diff(current: &[Tag], desired: &[Tag]) -> (Vec<Tag>, Vec<String>) {
    fn value_of<'a>(tags: &'a [Tag], key: &str) -> Option<Option<&'a str>> {
        tags.iter().find(|t| t.key() == Some(key)).map(|t| t.value())
    }
    let to_set = desired
        .iter()
        .filter(|d| value_of(current, d.key().unwrap_or_default()) != Some(d.value()))
        .cloned()
        .collect();
    let to_remove = current
        .iter()
        .filter_map(|t| t.key())
        .filter(|k| !k.starts_with("aws:") && value_of(desired, k).is_none())
        .map(str::to_string)
        .collect();
    (to_set, to_remove)
}

pub(crate) fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// The value of tag `key`, if the resource has it.
pub(crate) fn tag_value<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

fn empty(operation: &'static str) -> AwsError {
    AwsError {
        service: Api::Ecs.name(),
        operation,
        kind: ErrorKind::Retryable,
        code: None,
        message: "the response held no resource".into(),
        request_id: None,
    }
}

fn invalid(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError {
        service: Api::Ecs.name(),
        operation,
        kind: ErrorKind::Terminal,
        code: None,
        message: e.to_string(),
        request_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_diff_sets_changed_and_removes_extra_but_keeps_aws_tags() {
        let current = vec![
            tag("a", "1"),
            tag("b", "2"),
            tag("aws:cloudformation:stack-name", "x"),
            tag("gone", "z"),
        ];
        let desired = vec![tag("a", "1"), tag("b", "3"), tag("new", "4")];
        let (set, remove) = tag_diff(&current, &desired);
        assert_eq!(set, vec![tag("b", "3"), tag("new", "4")]);
        assert_eq!(remove, vec!["gone".to_string()]);
        assert_eq!(tag_diff(&desired, &desired), (vec![], vec![]));
    }

    #[test]
    fn family_and_revision_from_arn() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:12";
        assert_eq!(family_of(arn), Some("web-api"));
        assert_eq!(revision_of(arn), Some(12));
        assert_eq!(family_of("nonsense"), None);
    }
}

/// Everything RegisterTaskDefinition takes.
#[derive(Clone, Debug, Default)]
pub struct NewTaskDefinition {
    pub family: String,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: Option<aws_sdk_ecs::types::NetworkMode>,
    pub requires_compatibilities: Option<Vec<aws_sdk_ecs::types::Compatibility>>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub runtime_platform: Option<aws_sdk_ecs::types::RuntimePlatform>,
    pub ephemeral_storage: Option<aws_sdk_ecs::types::EphemeralStorage>,
    pub pid_mode: Option<aws_sdk_ecs::types::PidMode>,
    pub ipc_mode: Option<aws_sdk_ecs::types::IpcMode>,
    pub proxy_configuration: Option<aws_sdk_ecs::types::ProxyConfiguration>,
    pub enable_fault_injection: Option<bool>,
    pub volumes: Option<Vec<aws_sdk_ecs::types::Volume>>,
    pub container_definitions: Vec<aws_sdk_ecs::types::ContainerDefinition>,
    pub tags: Vec<Tag>,
}

/// Registers a new revision of a family (tags included, so a revision is never untagged).
pub(crate) async fn register_task_definition(
    ecs: &EcsClient,
    t: NewTaskDefinition,
) -> Result<TaskDefinition, AwsError> {
    let out = ecs
        .call(
            op::REGISTER_TASK_DEFINITION,
            ecs.register_task_definition()
                .family(t.family)
                .set_cpu(t.cpu)
                .set_memory(t.memory)
                .set_network_mode(t.network_mode)
                .set_requires_compatibilities(t.requires_compatibilities)
                .set_execution_role_arn(t.execution_role_arn)
                .set_task_role_arn(t.task_role_arn)
                .set_runtime_platform(t.runtime_platform)
                .set_ephemeral_storage(t.ephemeral_storage)
                .set_pid_mode(t.pid_mode)
                .set_ipc_mode(t.ipc_mode)
                .set_proxy_configuration(t.proxy_configuration)
                .set_enable_fault_injection(t.enable_fault_injection)
                .set_volumes(t.volumes)
                .set_container_definitions(Some(t.container_definitions))
                .set_tags(Some(t.tags).filter(|t| !t.is_empty()))
                // Not idempotent: a retry after a lost response would register a second revision. The
                // SDK does not retry it; the next reconcile finds the revision by its spec-hash tag first.
                .customize()
                .config_override(
                    aws_sdk_ecs::config::Builder::default()
                        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()),
                )
                .send(),
        )
        .await?;
    out.task_definition.ok_or_else(|| empty("RegisterTaskDefinition"))
}

/// Describes one revision with its tags; `None` when it does not exist, or is no longer ACTIVE.
pub(crate) async fn describe_task_definition(
    ecs: &EcsClient,
    arn: &str,
) -> Result<Option<(TaskDefinition, Vec<Tag>)>, AwsError> {
    Ok(describe_any_task_definition(ecs, arn)
        .await?
        .filter(|(t, _)| t.status() == Some(&TaskDefinitionStatus::Active)))
}

/// Describes one revision with its tags, whatever its status; `None` when it does not exist.
pub(crate) async fn describe_any_task_definition(
    ecs: &EcsClient,
    arn: &str,
) -> Result<Option<(TaskDefinition, Vec<Tag>)>, AwsError> {
    let result = ecs
        .call(
            op::DESCRIBE_TASK_DEFINITION,
            ecs.describe_task_definition()
                .task_definition(arn)
                .include(TaskDefinitionField::Tags)
                .send(),
        )
        .await;
    match result {
        Ok(out) => Ok(out.task_definition.map(|t| (t, out.tags.unwrap_or_default()))),
        // ECS answers a ClientException "Unable to describe task definition" for an unknown revision.
        Err(e) if e.kind == ErrorKind::NotFound || is_unknown_task_definition(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_unknown_task_definition(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ClientException") && e.message.contains("Unable to describe task definition")
}

/// ARNs of the ACTIVE revisions of exactly `family` (ListTaskDefinitions filters by prefix), newest first.
pub(crate) async fn list_active_revisions(ecs: &EcsClient, family: &str) -> Result<Vec<String>, AwsError> {
    list_revisions(ecs, family, TaskDefinitionStatus::Active).await
}

/// ARNs of the revisions of exactly `family` in `status`, newest first.
pub(crate) async fn list_revisions(
    ecs: &EcsClient,
    family: &str,
    status: TaskDefinitionStatus,
) -> Result<Vec<String>, AwsError> {
    let (mut arns, _) = list_pages(ecs, Some(family), status, usize::MAX)
        .await?
        .unwrap_or_default();
    arns.retain(|a| family_of(a) == Some(family));
    // Newest first whatever order the service used.
    arns.sort_by_key(|a| std::cmp::Reverse(revision_of(a).unwrap_or(0)));
    Ok(arns)
}

/// ARNs of every ACTIVE revision of the account and Region (all families), with the pages it took;
/// `None` when that would take more than `max_pages` (an account with a long history).
pub(crate) async fn list_all_active_revisions(
    ecs: &EcsClient,
    max_pages: usize,
) -> Result<Option<(Vec<String>, usize)>, AwsError> {
    list_pages(ecs, None, TaskDefinitionStatus::Active, max_pages).await
}

/// ARNs of the revisions in `status` of the families starting with `prefix` (all families without
/// one), 100 a page, with the pages it took; `None` once more than `max_pages` would be needed.
async fn list_pages(
    ecs: &EcsClient,
    prefix: Option<&str>,
    status: TaskDefinitionStatus,
    max_pages: usize,
) -> Result<Option<(Vec<String>, usize)>, AwsError> {
    let (mut arns, mut pages) = (Vec::new(), 0);
    let mut token = None;
    loop {
        let out = ecs
            .call(
                op::LIST_TASK_DEFINITIONS,
                ecs.list_task_definitions()
                    .set_family_prefix(prefix.map(str::to_string))
                    .status(status.clone())
                    .sort(SortOrder::Desc)
                    .max_results(100)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        pages += 1;
        arns.extend(out.task_definition_arns.unwrap_or_default());
        token = out.next_token;
        if token.is_none() {
            break;
        }
        if pages >= max_pages {
            return Ok(None);
        }
    }
    Ok(Some((arns, pages)))
}

/// `family` of `arn:aws:ecs:region:account:task-definition/family:revision`.
pub(crate) fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')
        .and_then(|(_, fr)| fr.rsplit_once(':'))
        .map(|(f, _)| f)
}

pub(crate) fn revision_of(arn: &str) -> Option<i32> {
    arn.rsplit_once(':').and_then(|(_, r)| r.parse().ok())
}

/// Deregisters one revision (already INACTIVE or unknown counts as done).
pub(crate) async fn deregister_task_definition(ecs: &EcsClient, arn: &str) -> Result<(), AwsError> {
    match ecs
        .call(
            op::DEREGISTER_TASK_DEFINITION,
            ecs.deregister_task_definition().task_definition(arn).send(),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_unknown_task_definition(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes INACTIVE revisions (at most 10, as ECS allows in one call). Each ARN comes back with `None`
/// when it is deleted (or was already gone), or the reason ECS gave for not deleting it.
pub(crate) async fn delete_task_definitions(
    ecs: &EcsClient,
    arns: &[String],
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let out = ecs
        .call(
            op::DELETE_TASK_DEFINITIONS,
            ecs.delete_task_definitions()
                .set_task_definitions(Some(arns.to_vec()))
                .send(),
        )
        .await?;
    // A revision that no longer exists is deleted already.
    let failed: HashMap<&str, String> = out
        .failures()
        .iter()
        .filter(|f| {
            !f.reason()
                .or(f.detail())
                .is_some_and(|r| r.contains("does not exist"))
        })
        .map(|f| {
            (
                f.arn().unwrap_or_default(),
                f.detail().or(f.reason()).unwrap_or("failed").to_string(),
            )
        })
        .collect();
    // A failure that names none of the revisions sent could be any of them: none counts as deleted.
    if let Some((arn, reason)) = failed.iter().find(|(a, _)| !arns.iter().any(|x| x == *a)) {
        let reason = format!("{arn}: {reason}");
        return Ok(arns.iter().map(|a| (a.clone(), Some(reason.clone()))).collect());
    }
    Ok(arns
        .iter()
        .map(|a| (a.clone(), failed.get(a.as_str()).cloned()))
        .collect())
}

/// Describes services of one cluster (ECS takes up to 10 names a call), with tags. Services that do not
/// exist are left out; INACTIVE ones are returned (the caller decides what they mean).
pub(crate) async fn describe_services(
    ecs: &EcsClient,
    cluster: &str,
    names: &[String],
) -> Result<Vec<Service>, AwsError> {
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(10) {
        let page = ecs
            .call(
                op::DESCRIBE_SERVICES,
                ecs.describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.to_vec()))
                    .include(ServiceField::Tags)
                    .send(),
            )
            .await;
        match page {
            Ok(page) => out.extend(page.services.unwrap_or_default()),
            // The cluster itself is gone: so are its services.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Everything CreateService takes for a Fargate service.
#[derive(Clone, Debug)]
pub(crate) struct NewService {
    pub cluster: String,
    pub name: String,
    pub task_definition: String,
    pub desired_count: i32,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: NetworkConfiguration,
    pub deployment_configuration: Option<DeploymentConfiguration>,
    pub load_balancers: Option<Vec<LoadBalancer>>,
    pub health_check_grace_period_seconds: Option<i32>,
    pub service_registries: Option<Vec<ServiceRegistry>>,
    pub enable_execute_command: Option<bool>,
    pub propagate_tags: Option<PropagateTags>,
    pub enable_ecs_managed_tags: Option<bool>,
    pub availability_zone_rebalancing: Option<aws_sdk_ecs::types::AvailabilityZoneRebalancing>,
    pub volume_configurations: Option<Vec<aws_sdk_ecs::types::ServiceVolumeConfiguration>>,
    pub vpc_lattice_configurations: Option<Vec<aws_sdk_ecs::types::VpcLatticeConfiguration>>,
    pub deployment_controller: Option<aws_sdk_ecs::types::DeploymentController>,
    pub service_connect_configuration: Option<aws_sdk_ecs::types::ServiceConnectConfiguration>,
    pub tags: Vec<Tag>,
    /// Idempotency token (up to 36 ASCII characters).
    pub client_token: String,
}

pub(crate) async fn create_service(ecs: &EcsClient, s: NewService) -> Result<Service, AwsError> {
    let out = ecs
        .call(
            op::CREATE_SERVICE,
            ecs.create_service()
                .cluster(s.cluster)
                .service_name(s.name)
                .task_definition(s.task_definition)
                .desired_count(s.desired_count)
                .set_launch_type(s.launch_type)
                .set_capacity_provider_strategy(s.capacity_provider_strategy)
                .set_platform_version(s.platform_version)
                .network_configuration(s.network_configuration)
                .set_deployment_configuration(s.deployment_configuration)
                .set_load_balancers(s.load_balancers)
                .set_health_check_grace_period_seconds(s.health_check_grace_period_seconds)
                .set_service_registries(s.service_registries)
                .set_availability_zone_rebalancing(s.availability_zone_rebalancing)
                .set_volume_configurations(s.volume_configurations)
                .set_vpc_lattice_configurations(s.vpc_lattice_configurations)
                .set_deployment_controller(s.deployment_controller)
                .set_service_connect_configuration(s.service_connect_configuration)
                .set_enable_execute_command(s.enable_execute_command)
                .set_propagate_tags(s.propagate_tags)
                .set_enable_ecs_managed_tags(s.enable_ecs_managed_tags)
                .set_tags(Some(s.tags).filter(|t| !t.is_empty()))
                .client_token(s.client_token)
                .send(),
        )
        .await?;
    out.service.ok_or_else(|| empty("CreateService"))
}

/// The parts of a service UpdateService changes; `None` leaves a part alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceUpdate {
    pub task_definition: Option<String>,
    pub desired_count: Option<i32>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub deployment_configuration: Option<DeploymentConfiguration>,
    pub load_balancers: Option<Vec<LoadBalancer>>,
    pub health_check_grace_period_seconds: Option<i32>,
    pub service_registries: Option<Vec<ServiceRegistry>>,
    pub enable_execute_command: Option<bool>,
    pub propagate_tags: Option<PropagateTags>,
    pub enable_ecs_managed_tags: Option<bool>,
    pub availability_zone_rebalancing: Option<aws_sdk_ecs::types::AvailabilityZoneRebalancing>,
    pub volume_configurations: Option<Vec<aws_sdk_ecs::types::ServiceVolumeConfiguration>>,
    pub vpc_lattice_configurations: Option<Vec<aws_sdk_ecs::types::VpcLatticeConfiguration>>,
    pub deployment_controller: Option<aws_sdk_ecs::types::DeploymentController>,
    pub service_connect_configuration: Option<aws_sdk_ecs::types::ServiceConnectConfiguration>,
    /// Needed when switching between launch type and capacity providers.
    pub force_new_deployment: bool,
}

impl ServiceUpdate {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The names of the fields this update changes, for logs and events.
    pub fn changed(&self) -> Vec<&'static str> {
        [
            ("taskDefinition", self.task_definition.is_some()),
            ("desiredCount", self.desired_count.is_some()),
            (
                "capacityProviderStrategy",
                self.capacity_provider_strategy.is_some(),
            ),
            ("platformVersion", self.platform_version.is_some()),
            ("networkConfiguration", self.network_configuration.is_some()),
            ("deploymentConfiguration", self.deployment_configuration.is_some()),
            ("loadBalancers", self.load_balancers.is_some()),
            (
                "healthCheckGracePeriodSeconds",
                self.health_check_grace_period_seconds.is_some(),
            ),
            ("serviceRegistries", self.service_registries.is_some()),
            ("enableExecuteCommand", self.enable_execute_command.is_some()),
            ("propagateTags", self.propagate_tags.is_some()),
            ("enableECSManagedTags", self.enable_ecs_managed_tags.is_some()),
            (
                "availabilityZoneRebalancing",
                self.availability_zone_rebalancing.is_some(),
            ),
            ("volumeConfigurations", self.volume_configurations.is_some()),
            (
                "vpcLatticeConfigurations",
                self.vpc_lattice_configurations.is_some(),
            ),
            ("deploymentController", self.deployment_controller.is_some()),
            (
                "serviceConnectConfiguration",
                self.service_connect_configuration.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

pub(crate) async fn update_service(
    ecs: &EcsClient,
    cluster: &str,
    name: &str,
    u: ServiceUpdate,
) -> Result<Service, AwsError> {
    let out = ecs
        .call(
            op::UPDATE_SERVICE,
            ecs.update_service()
                .cluster(cluster)
                .service(name)
                .set_task_definition(u.task_definition)
                .set_desired_count(u.desired_count)
                .set_capacity_provider_strategy(u.capacity_provider_strategy)
                .set_platform_version(u.platform_version)
                .set_network_configuration(u.network_configuration)
                .set_deployment_configuration(u.deployment_configuration)
                .set_load_balancers(u.load_balancers)
                .set_health_check_grace_period_seconds(u.health_check_grace_period_seconds)
                .set_service_registries(u.service_registries)
                .set_availability_zone_rebalancing(u.availability_zone_rebalancing)
                .set_volume_configurations(u.volume_configurations)
                .set_vpc_lattice_configurations(u.vpc_lattice_configurations)
                .set_deployment_controller(u.deployment_controller)
                .set_service_connect_configuration(u.service_connect_configuration)
                .set_enable_execute_command(u.enable_execute_command)
                .set_propagate_tags(u.propagate_tags)
                .set_enable_ecs_managed_tags(u.enable_ecs_managed_tags)
                .set_force_new_deployment(u.force_new_deployment.then_some(true))
                .send(),
        )
        .await?;
    out.service.ok_or_else(|| empty("UpdateService"))
}

/// The lifecycle stage of a service deployment (blue/green, linear, canary), by its ARN; `None` when ECS
/// does not report one.
pub(crate) async fn service_deployment_stage(ecs: &EcsClient, arn: &str) -> Result<Option<String>, AwsError> {
    let out = ecs
        .call(
            op::DESCRIBE_SERVICE_DEPLOYMENTS,
            ecs.describe_service_deployments()
                .service_deployment_arns(arn)
                .send(),
        )
        .await?;
    Ok(out
        .service_deployments()
        .first()
        .and_then(|d| d.lifecycle_stage())
        .map(|s| s.as_str().to_string()))
}

/// Deletes a service (force: without scaling it to zero first); returns it as ECS reports it afterwards.
pub(crate) async fn delete_service(
    ecs: &EcsClient,
    cluster: &str,
    name: &str,
    force: bool,
) -> Result<Option<Service>, AwsError> {
    match ecs
        .call(
            op::DELETE_SERVICE,
            ecs.delete_service()
                .cluster(cluster)
                .service(name)
                .force(force)
                .send(),
        )
        .await
    {
        Ok(out) => Ok(out.service),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Describes tasks of one cluster by ARN (ECS takes up to 100 a call). Tasks ECS does not know
/// (MISSING: never existed, or stopped long enough ago to be forgotten) are left out.
pub(crate) async fn describe_tasks(
    ecs: &EcsClient,
    cluster: &str,
    arns: &[String],
) -> Result<Vec<aws_sdk_ecs::types::Task>, AwsError> {
    let mut out = Vec::with_capacity(arns.len());
    for chunk in arns.chunks(100) {
        let page = ecs
            .call(
                op::DESCRIBE_TASKS,
                ecs.describe_tasks()
                    .cluster(cluster)
                    .set_tasks(Some(chunk.to_vec()))
                    .send(),
            )
            .await;
        match page {
            Ok(page) => out.extend(page.tasks.unwrap_or_default()),
            // The cluster itself is gone: so are its tasks.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Everything RunTask takes for tasks on Fargate.
#[derive(Clone, Debug, Default)]
pub(crate) struct NewTasks {
    pub cluster: String,
    pub task_definition: String,
    pub count: i32,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub overrides: Option<aws_sdk_ecs::types::TaskOverride>,
    pub volume_configurations: Option<Vec<aws_sdk_ecs::types::TaskVolumeConfiguration>>,
    pub enable_execute_command: Option<bool>,
    pub propagate_tags: Option<PropagateTags>,
    pub group: Option<String>,
    pub started_by: String,
    pub tags: Vec<Tag>,
    /// Idempotency token (up to 64 characters).
    pub client_token: String,
}

/// What RunTask answered: the tasks it started, and the ones it could not place (`failures`: reason and
/// detail, e.g. capacity).
#[derive(Clone, Debug, Default)]
pub(crate) struct Started {
    pub tasks: Vec<aws_sdk_ecs::types::Task>,
    pub failures: Vec<(String, String)>,
}

pub(crate) async fn run_task(ecs: &EcsClient, t: NewTasks) -> Result<Started, AwsError> {
    let out = ecs
        .call(
            op::RUN_TASK,
            ecs.run_task()
                .cluster(t.cluster)
                .task_definition(t.task_definition)
                .count(t.count)
                .set_launch_type(t.launch_type)
                .set_capacity_provider_strategy(t.capacity_provider_strategy)
                .set_platform_version(t.platform_version)
                .set_network_configuration(t.network_configuration)
                .set_overrides(t.overrides)
                .set_volume_configurations(t.volume_configurations)
                .set_enable_execute_command(t.enable_execute_command)
                .set_propagate_tags(t.propagate_tags)
                .set_group(t.group)
                .started_by(t.started_by)
                .set_tags(Some(t.tags).filter(|t| !t.is_empty()))
                .client_token(t.client_token)
                // ECS dedupes a retry by the client token, moto does not: the SDK does not retry it, and
                // the next reconcile looks the launch's tasks up by startedBy before sending it again.
                .customize()
                .config_override(
                    aws_sdk_ecs::config::Builder::default()
                        .retry_config(aws_sdk_ecs::config::retry::RetryConfig::disabled()),
                )
                .send(),
        )
        .await?;
    Ok(Started {
        tasks: out.tasks.unwrap_or_default(),
        failures: out
            .failures
            .unwrap_or_default()
            .into_iter()
            .map(|f| {
                (
                    f.reason.unwrap_or_default(),
                    f.detail.or(f.arn).unwrap_or_default(),
                )
            })
            .collect(),
    })
}

/// The ARNs of the tasks started with `started_by` that ECS has not stopped yet (ListTasks takes
/// `startedBy` only as its sole filter, and lists desired status RUNNING by default).
pub(crate) async fn list_tasks_started_by(
    ecs: &EcsClient,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>, AwsError> {
    list_tasks(ecs, cluster, |r| r.started_by(started_by)).await
}

/// The stopped tasks of one task-definition family in a cluster (ECS lists a stopped task for at least
/// an hour). By family, not startedBy: ECS takes `startedBy` only as the sole filter.
pub(crate) async fn list_stopped_tasks_of_family(
    ecs: &EcsClient,
    cluster: &str,
    family: &str,
) -> Result<Vec<String>, AwsError> {
    list_tasks(ecs, cluster, |r| {
        r.family(family)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
    })
    .await
}

/// Every page of ListTasks in `cluster` with the filters `filter` sets; a cluster ECS does not know
/// has no tasks.
async fn list_tasks(
    ecs: &EcsClient,
    cluster: &str,
    filter: impl Fn(
        aws_sdk_ecs::operation::list_tasks::builders::ListTasksFluentBuilder,
    ) -> aws_sdk_ecs::operation::list_tasks::builders::ListTasksFluentBuilder,
) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let request = filter(ecs.list_tasks().cluster(cluster)).set_next_token(next.take());
        let page = match ecs.call(op::LIST_TASKS, request.send()).await {
            Ok(page) => page,
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        };
        out.extend(page.task_arns.unwrap_or_default());
        match page.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(out),
        }
    }
}

/// Stops a task (idempotent in ECS: stopping a stopped task answers the task). A task or cluster ECS
/// does not know is already gone.
pub(crate) async fn stop_task(
    ecs: &EcsClient,
    cluster: &str,
    arn: &str,
    reason: &str,
) -> Result<(), AwsError> {
    let answer = ecs
        .call(
            op::STOP_TASK,
            ecs.stop_task()
                .cluster(cluster)
                .task(arn)
                .reason(reason.chars().take(255).collect::<String>())
                .send(),
        )
        .await;
    match answer {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
