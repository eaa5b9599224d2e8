//! ECS calls. Inputs and outputs are the SDK's own types; the reconcilers map their specs onto them.

use super::{AwsError, ErrorKind, call};
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterField,
    ClusterServiceConnectDefaultsRequest, ClusterSetting, SortOrder, Tag, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};

const ECS: &str = "ECS";

/// Describes a cluster by name or ARN with its settings, configuration and tags. `None` when it does not
/// exist or is INACTIVE (ECS keeps INACTIVE clusters visible for a while; they are gone for our purposes).
pub async fn describe_cluster(ecs: &Client, name: &str) -> Result<Option<Cluster>, AwsError> {
    let out = call(
        ECS,
        "DescribeClusters",
        ecs.describe_clusters()
            .clusters(name)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .include(ClusterField::Tags)
            .send(),
    )
    .await?;
    Ok(out
        .clusters
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.status() != Some("INACTIVE")))
}

/// Everything CreateCluster takes.
#[derive(Clone, Debug, Default)]
pub struct NewCluster {
    pub name: String,
    pub settings: Option<Vec<ClusterSetting>>,
    pub configuration: Option<ClusterConfiguration>,
    pub capacity_providers: Option<Vec<String>>,
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub service_connect_namespace: Option<String>,
    pub tags: Vec<Tag>,
}

/// Creates a cluster. ECS's CreateCluster is idempotent on the name: a retry returns the same cluster.
pub async fn create_cluster(ecs: &Client, c: NewCluster) -> Result<Cluster, AwsError> {
    let out = call(
        ECS,
        "CreateCluster",
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
pub async fn update_cluster(
    ecs: &Client,
    name: &str,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<ClusterConfiguration>,
    service_connect_namespace: Option<String>,
) -> Result<(), AwsError> {
    call(
        ECS,
        "UpdateCluster",
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

pub async fn put_cluster_capacity_providers(
    ecs: &Client,
    name: &str,
    providers: Vec<String>,
    strategy: Vec<CapacityProviderStrategyItem>,
) -> Result<(), AwsError> {
    call(
        ECS,
        "PutClusterCapacityProviders",
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
pub async fn delete_cluster(ecs: &Client, name: &str) -> Result<Option<Cluster>, AwsError> {
    match call(
        ECS,
        "DeleteCluster",
        ecs.delete_cluster().cluster(name).send(),
    )
    .await
    {
        Ok(out) => Ok(out.cluster),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Makes the tags of `arn` exactly `desired`, leaving `aws:` tags alone: one TagResource for what is
/// missing or different, one UntagResource for what is extra. Returns whether anything changed.
pub async fn sync_tags(
    ecs: &Client,
    arn: &str,
    current: &[Tag],
    desired: &[Tag],
) -> Result<bool, AwsError> {
    let (to_set, to_remove) = tag_diff(current, desired);
    let changed = !to_set.is_empty() || !to_remove.is_empty();
    if !to_set.is_empty() {
        call(
            ECS,
            "TagResource",
            ecs.tag_resource()
                .resource_arn(arn)
                .set_tags(Some(to_set))
                .send(),
        )
        .await?;
    }
    if !to_remove.is_empty() {
        call(
            ECS,
            "UntagResource",
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
pub fn tag_diff(current: &[Tag], desired: &[Tag]) -> (Vec<Tag>, Vec<String>) {
    fn value_of<'a>(tags: &'a [Tag], key: &str) -> Option<Option<&'a str>> {
        tags.iter()
            .find(|t| t.key() == Some(key))
            .map(|t| t.value())
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

pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn empty(operation: &'static str) -> AwsError {
    AwsError {
        service: ECS,
        operation,
        kind: ErrorKind::Retryable,
        code: None,
        message: "the response held no resource".into(),
        request_id: None,
    }
}

fn invalid(operation: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError {
        service: ECS,
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
    pub volumes: Option<Vec<aws_sdk_ecs::types::Volume>>,
    pub container_definitions: Vec<aws_sdk_ecs::types::ContainerDefinition>,
    pub tags: Vec<Tag>,
}

/// Registers a new revision of a family (tags included, so a revision is never untagged).
pub async fn register_task_definition(
    ecs: &Client,
    t: NewTaskDefinition,
) -> Result<TaskDefinition, AwsError> {
    let out = call(
        ECS,
        "RegisterTaskDefinition",
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
            .set_volumes(t.volumes)
            .set_container_definitions(Some(t.container_definitions))
            .set_tags(Some(t.tags).filter(|t| !t.is_empty()))
            .send(),
    )
    .await?;
    out.task_definition
        .ok_or_else(|| empty("RegisterTaskDefinition"))
}

/// Describes one revision with its tags; `None` when it does not exist, or is no longer ACTIVE.
pub async fn describe_task_definition(
    ecs: &Client,
    arn: &str,
) -> Result<Option<(TaskDefinition, Vec<Tag>)>, AwsError> {
    let result = call(
        ECS,
        "DescribeTaskDefinition",
        ecs.describe_task_definition()
            .task_definition(arn)
            .include(TaskDefinitionField::Tags)
            .send(),
    )
    .await;
    match result {
        Ok(out) => Ok(out
            .task_definition
            .filter(|t| t.status() == Some(&TaskDefinitionStatus::Active))
            .map(|t| (t, out.tags.unwrap_or_default()))),
        // ECS answers a ClientException "Unable to describe task definition" for an unknown revision.
        Err(e) if e.kind == ErrorKind::NotFound || is_unknown_task_definition(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

fn is_unknown_task_definition(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ClientException")
        && e.message.contains("Unable to describe task definition")
}

/// ARNs of the ACTIVE revisions of exactly `family` (ListTaskDefinitions filters by prefix), newest first.
pub async fn list_active_revisions(ecs: &Client, family: &str) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let out = call(
            ECS,
            "ListTaskDefinitions",
            ecs.list_task_definitions()
                .family_prefix(family)
                .status(TaskDefinitionStatus::Active)
                .sort(SortOrder::Desc)
                .set_next_token(token)
                .send(),
        )
        .await?;
        arns.extend(
            out.task_definition_arns
                .unwrap_or_default()
                .into_iter()
                .filter(|a| family_of(a) == Some(family)),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    // Newest first whatever order the service used.
    arns.sort_by_key(|a| std::cmp::Reverse(revision_of(a).unwrap_or(0)));
    Ok(arns)
}

/// `family` of `arn:aws:ecs:region:account:task-definition/family:revision`.
pub fn family_of(arn: &str) -> Option<&str> {
    arn.rsplit_once('/')
        .and_then(|(_, fr)| fr.rsplit_once(':'))
        .map(|(f, _)| f)
}

pub fn revision_of(arn: &str) -> Option<i32> {
    arn.rsplit_once(':').and_then(|(_, r)| r.parse().ok())
}

/// Deregisters one revision (already INACTIVE or unknown counts as done).
pub async fn deregister_task_definition(ecs: &Client, arn: &str) -> Result<(), AwsError> {
    match call(
        ECS,
        "DeregisterTaskDefinition",
        ecs.deregister_task_definition().task_definition(arn).send(),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_unknown_task_definition(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Deletes INACTIVE revisions, 10 per call as ECS allows.
pub async fn delete_task_definitions(ecs: &Client, arns: &[String]) -> Result<(), AwsError> {
    for chunk in arns.chunks(10) {
        call(
            ECS,
            "DeleteTaskDefinitions",
            ecs.delete_task_definitions()
                .set_task_definitions(Some(chunk.to_vec()))
                .send(),
        )
        .await?;
    }
    Ok(())
}
