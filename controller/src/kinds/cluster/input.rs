//! The EcsCluster spec as the SDK's cluster inputs (CreateCluster, UpdateCluster,
//! PutClusterCapacityProviders), field by field, and the tags every cluster of this object carries.

use crate::api::EcsCluster;
use crate::api::cluster::{
    CapacityProviderStrategyItem as SpecStrategyItem, ClusterConfiguration as SpecConfiguration,
    ClusterSetting as SpecSetting,
};
use crate::aws::ecs::{NewCluster, tag};
use crate::runtime::ownership;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterConfiguration, ClusterSetting, ClusterSettingName,
    ExecuteCommandConfiguration, ExecuteCommandLogConfiguration, ExecuteCommandLogging,
    ManagedStorageConfiguration, Tag,
};

/// CreateCluster for the spec.
pub(super) fn new_cluster(obj: &EcsCluster, name: &str, tags: Vec<Tag>) -> NewCluster {
    NewCluster {
        name: name.to_string(),
        settings: obj.spec.settings.as_deref().map(settings),
        configuration: obj.spec.configuration.as_ref().map(configuration),
        capacity_providers: providers(obj),
        default_capacity_provider_strategy: obj
            .spec
            .default_capacity_provider_strategy
            .as_deref()
            .map(strategy),
        service_connect_namespace: obj
            .spec
            .service_connect_defaults
            .as_ref()
            .map(|d| d.namespace.clone()),
        tags,
    }
}

/// The user's tags plus the ownership tags.
pub(super) fn desired_tags(obj: &EcsCluster) -> Vec<Tag> {
    let mut tags: Vec<Tag> = obj.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
    tags.extend(ownership::ownership_tags(obj));
    tags
}

/// The capacity providers the spec sets, if it sets them.
pub(super) fn providers(obj: &EcsCluster) -> Option<Vec<String>> {
    obj.spec
        .capacity_providers
        .as_ref()
        .map(|p| p.iter().map(|p| p.as_str().to_string()).collect())
}

pub(super) fn setting_name(s: &SpecSetting) -> &'static str {
    match s.name {
        crate::api::cluster::ClusterSettingName::ContainerInsights => "containerInsights",
    }
}

pub(super) fn settings(settings: &[SpecSetting]) -> Vec<ClusterSetting> {
    settings
        .iter()
        .map(|s| {
            ClusterSetting::builder()
                .name(ClusterSettingName::from(setting_name(s)))
                .value(&s.value)
                .build()
        })
        .collect()
}

pub(super) fn configuration(c: &SpecConfiguration) -> ClusterConfiguration {
    ClusterConfiguration::builder()
        .set_execute_command_configuration(c.execute_command_configuration.as_ref().map(|e| {
            ExecuteCommandConfiguration::builder()
                .set_kms_key_id(e.kms_key_id.clone())
                .set_logging(e.logging.as_deref().map(ExecuteCommandLogging::from))
                .set_log_configuration(e.log_configuration.as_ref().map(|l| {
                    ExecuteCommandLogConfiguration::builder()
                        .set_cloud_watch_log_group_name(l.cloud_watch_log_group_name.clone())
                        .set_cloud_watch_encryption_enabled(l.cloud_watch_encryption_enabled)
                        .set_s3_bucket_name(l.s3_bucket_name.clone())
                        .set_s3_encryption_enabled(l.s3_encryption_enabled)
                        .set_s3_key_prefix(l.s3_key_prefix.clone())
                        .build()
                }))
                .build()
        }))
        .set_managed_storage_configuration(c.managed_storage_configuration.as_ref().map(|m| {
            ManagedStorageConfiguration::builder()
                .set_kms_key_id(m.kms_key_id.clone())
                .set_fargate_ephemeral_storage_kms_key_id(m.fargate_ephemeral_storage_kms_key_id.clone())
                .build()
        }))
        .build()
}

/// The strategy as ECS takes it; left-out weights and bases are 0, ECS's own defaults.
pub(super) fn strategy(items: &[SpecStrategyItem]) -> Vec<CapacityProviderStrategyItem> {
    super::super::placement::strategy(items)
}
