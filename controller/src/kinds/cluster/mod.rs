//! EcsCluster: observe the cluster by name, create it when missing, update only what differs from the
//! fields the user set, delete it (once it has no services) when the object goes.

use crate::api::cluster::{
    CapacityProviderStrategyItem as SpecStrategyItem, ClusterConfiguration as SpecConfiguration,
    ClusterSetting as SpecSetting,
};
use crate::api::{EcsCluster, EcsClusterStatus, FargateService};
use crate::aws::ecs::{self as ecs_api, NewCluster, tag};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::{self, Claim, Owner};
use crate::runtime::relations;
use crate::runtime::{Applied, Cleanup, Context, Error, Managed, Note, State};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterSetting, ClusterSettingName,
    ExecuteCommandConfiguration, ExecuteCommandLogConfiguration, ExecuteCommandLogging, Tag,
};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Controller;
use std::sync::Arc;
use std::time::Duration;

crate::managed_status!(EcsClusterStatus);

const RECHECK_PROVISIONING: Duration = Duration::from_secs(10);
const RECHECK_DELETING: Duration = Duration::from_secs(5);
const RECHECK_DEPENDENTS: Duration = Duration::from_secs(15);

impl EcsCluster {
    /// The ECS cluster name: `spec.clusterName`, else metadata.name.
    pub fn cluster_name(&self) -> String {
        self.spec.cluster_name.clone().unwrap_or_else(|| self.name_any())
    }
}

impl Managed for EcsCluster {
    type Status = EcsClusterStatus;
    const NAME: &'static str = "cluster";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_CLUSTERS,
        op::CREATE_CLUSTER,
        op::UPDATE_CLUSTER,
        op::PUT_CLUSTER_CAPACITY_PROVIDERS,
        op::DELETE_CLUSTER,
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
        mut status: EcsClusterStatus,
    ) -> Result<Applied<EcsClusterStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let name = self.cluster_name();
        // Once created, an object stays in its region even if the controller's default changes.
        let clients = aws.region(self.spec.region.as_deref().or(status.region.as_deref()));
        let ecs = &clients.ecs;
        let desired_tags = desired_tags(self);

        let mut notes = Vec::new();
        let existing = aws.describe_cluster(Some(&clients.region), &name).await?;
        if self.spec.policies.observe_only() {
            return Ok(observe(status, &name, &clients.region, existing.as_ref()));
        }
        let cluster = match existing {
            None if !ownership::may_create(&self.spec.policies) => {
                return Ok(Applied::new(status, not_found(&name)));
            }
            None => {
                tracing::info!(cluster = %name, "creating ECS cluster");
                notes.push(Note::new(reasons::CREATED, format!("created ECS cluster {name}")));
                ecs_api::create_cluster(
                    ecs,
                    NewCluster {
                        name: name.clone(),
                        settings: self.spec.settings.as_deref().map(sdk_settings),
                        configuration: self.spec.configuration.as_ref().map(sdk_configuration),
                        capacity_providers: self
                            .spec
                            .capacity_providers
                            .as_ref()
                            .map(|p| p.iter().map(|p| p.as_str().to_string()).collect()),
                        default_capacity_provider_strategy: self
                            .spec
                            .default_capacity_provider_strategy
                            .as_deref()
                            .map(sdk_strategy),
                        service_connect_namespace: self
                            .spec
                            .service_connect_defaults
                            .as_ref()
                            .map(|d| d.namespace.clone()),
                        tags: desired_tags,
                    },
                )
                .await?
            }
            Some(cluster) => {
                let what = format!("ECS cluster {name}");
                if ownership::claim::<Self>(&self.spec.policies, &owner(self, &cluster), &what)?
                    == Claim::Adopt
                {
                    tracing::info!(cluster = %name, "adopting ECS cluster");
                    notes.push(Note::new(
                        reasons::ADOPTED,
                        format!("adopted {what} (spec.adoption)"),
                    ));
                    status.adopted = Some(true);
                }
                let changed = converge(self, ecs, &cluster, &desired_tags).await?;
                if !changed.is_empty() {
                    notes.push(Note::new(
                        reasons::UPDATED,
                        format!("updated {} of ECS cluster {name}", changed.join(", ")),
                    ));
                }
                cluster
            }
        };

        record(&mut status, &name, &clients.region, &cluster);

        let state = match cluster.status() {
            Some("ACTIVE") => State::Ready {
                reason: reasons::ACTIVE,
                message: format!("ECS cluster {name} is ACTIVE"),
            },
            Some("FAILED") => {
                return Err(Error::Terminal {
                    reason: reasons::CLUSTER_FAILED,
                    message: format!("ECS cluster {name} is FAILED; delete and recreate the EcsCluster"),
                });
            }
            Some(other) => State::InProgress {
                reason: reasons::PROVISIONING,
                message: format!("ECS cluster {name} is {other}"),
                recheck: RECHECK_PROVISIONING,
            },
            None => State::InProgress {
                reason: reasons::PROVISIONING,
                message: format!("ECS cluster {name} reports no status yet"),
                recheck: RECHECK_PROVISIONING,
            },
        };
        Ok(Applied::new(status, state).with_notes(notes))
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // A service that goes away may be the last one a deleting cluster waits for.
        // Only a deletion matters here; status changes of services would only cost AWS calls.
        controller.watches_shared_stream(ctx.feeds.subscribe::<FargateService>(), |s| {
            relations::cluster_freed_by(&s)
        })
    }

    async fn cleanup(&self, ctx: &Context, status: &EcsClusterStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        // Services first: ECS refuses to delete a cluster with services (moto does not, so this check
        // is ours), and their objects must release their finalizers while the cluster still exists.
        let dependents = dependent_services(self, ctx, status.arn.as_deref()).await?;
        if !dependents.is_empty() {
            return Ok(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: format!(
                    "waiting for FargateServices to be deleted first: {}",
                    some_of(&dependents)
                ),
                recheck: RECHECK_DEPENDENTS,
            });
        }
        let name = status.cluster_name.clone().unwrap_or_else(|| self.cluster_name());
        let region = status.region.as_deref().or(self.spec.region.as_deref());
        let ecs = &aws.region(region).ecs;
        let Some(cluster) = aws.describe_cluster(region, &name).await? else {
            return Ok(Cleanup::Done);
        };
        if owner(self, &cluster) != Owner::This {
            tracing::warn!(cluster = %name, "the ECS cluster is not owned by this object: leaving it in AWS");
            return Ok(Cleanup::Done);
        }
        if cluster.status() == Some("DEPROVISIONING") {
            return Ok(wait_deleting(&name));
        }
        tracing::info!(cluster = %name, "deleting ECS cluster");
        match ecs_api::delete_cluster(ecs, &name).await {
            Ok(None) => Ok(Cleanup::Done),
            Ok(Some(c)) if c.status() == Some("INACTIVE") => Ok(Cleanup::Done),
            Ok(Some(_)) => Ok(wait_deleting(&name)),
            Err(e) if e.kind == crate::aws::ErrorKind::HasDependents => Ok(Cleanup::Wait {
                reason: reasons::HAS_DEPENDENTS,
                message: e.to_string(),
                recheck: RECHECK_DEPENDENTS,
            }),
            Err(e) => Err(e.into()),
        }
    }
}

/// Names of the FargateServices in the namespace that run on this cluster (by reference or ARN).
/// The cache may say "some" (waiting longer is safe, and costs no API read of every service); only
/// "none", which lets the cluster go, is confirmed with the API server.
async fn dependent_services(
    obj: &EcsCluster,
    ctx: &Context,
    arn: Option<&str>,
) -> Result<Vec<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let cached = crate::runtime::cache::list::<FargateService>(ctx, &ns).await?;
    let cached = relations::services_on_cluster(cached.iter().map(AsRef::as_ref), obj, arn);
    if !cached.is_empty() {
        return Ok(cached);
    }
    let api: Api<FargateService> = Api::namespaced(ctx.client.clone(), &ns);
    let listed = api.list(&ListParams::default()).await?.items;
    Ok(relations::services_on_cluster(&listed, obj, arn))
}

/// A few names of a list, for a message that stays short however long the list: `a, b, c and 7 more`.
fn some_of(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let shown = sorted.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    match sorted.len().saturating_sub(SHOWN) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// What AWS reports of the cluster, into status.
fn record(status: &mut EcsClusterStatus, name: &str, region: &str, cluster: &Cluster) {
    status.arn = cluster.cluster_arn().map(str::to_string);
    status.cluster_name = Some(name.to_string());
    status.region = Some(region.to_string());
    status.status = cluster.status().map(str::to_string);
    status.running_tasks_count = Some(cluster.running_tasks_count());
    status.pending_tasks_count = Some(cluster.pending_tasks_count());
    status.active_services_count = Some(cluster.active_services_count());
}

/// `managementPolicy: ObserveOnly`: report the cluster as AWS has it, write nothing.
fn observe(
    mut status: EcsClusterStatus,
    name: &str,
    region: &str,
    cluster: Option<&Cluster>,
) -> Applied<EcsClusterStatus> {
    let Some(cluster) = cluster else {
        return Applied::new(status, not_found(name));
    };
    record(&mut status, name, region, cluster);
    let state = State::Ready {
        reason: reasons::OBSERVED,
        message: format!(
            "ECS cluster {name} is {} (managementPolicy ObserveOnly: observed, never changed)",
            cluster.status().unwrap_or("in an unknown state")
        ),
    };
    Applied::new(status, state)
}

/// A cluster that must exist (adoption `Adopt`, or observation) and does not.
fn not_found(name: &str) -> State {
    State::Waiting {
        reason: reasons::NOT_FOUND,
        message: format!(
            "ECS cluster {name} does not exist; it is not created (adoption Adopt or ObserveOnly)"
        ),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

fn wait_deleting(name: &str) -> Cleanup {
    Cleanup::Wait {
        reason: reasons::DELETING,
        message: format!("waiting for ECS cluster {name} to become INACTIVE"),
        recheck: RECHECK_DELETING,
    }
}

/// The user's tags plus the ownership tags.
fn desired_tags(obj: &EcsCluster) -> Vec<Tag> {
    let mut tags: Vec<Tag> = obj.spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
    tags.extend(ownership::ownership_tags(obj));
    tags
}

/// The owner the cluster's tags name.
fn owner(obj: &EcsCluster, cluster: &Cluster) -> Owner {
    ownership::owner_of_ecs(obj, cluster.tags())
}

/// Brings an existing cluster to the spec with the fewest calls: one UpdateCluster for settings,
/// configuration and Service Connect together, one PutClusterCapacityProviders, and the tag calls.
async fn converge(
    obj: &EcsCluster,
    ecs: &crate::aws::EcsClient,
    cluster: &Cluster,
    desired_tags: &[Tag],
) -> Result<Vec<&'static str>, Error> {
    let name = cluster.cluster_name().unwrap_or_default();
    let mut changed = Vec::new();
    let spec = &obj.spec;

    let settings = spec
        .settings
        .as_deref()
        .filter(|s| settings_differ(s, cluster.settings()))
        .map(sdk_settings);
    let configuration = spec
        .configuration
        .as_ref()
        .filter(|c| configuration_differs(c, cluster.configuration()))
        .map(sdk_configuration);
    let service_connect = spec
        .service_connect_defaults
        .as_ref()
        .map(|d| d.namespace.clone())
        .filter(|ns| {
            service_connect_differs(ns, cluster.service_connect_defaults().and_then(|d| d.namespace()))
        });
    if settings.is_some() || configuration.is_some() || service_connect.is_some() {
        tracing::info!(cluster = %name, "updating ECS cluster settings");
        ecs_api::update_cluster(ecs, name, settings, configuration, service_connect).await?;
        changed.push("settings");
    }

    let current_providers: Vec<String> = cluster.capacity_providers().to_vec();
    let providers_differ = spec.capacity_providers.as_ref().is_some_and(|p| {
        let mut want: Vec<&str> = p.iter().map(|p| p.as_str()).collect();
        let mut have: Vec<&str> = current_providers.iter().map(String::as_str).collect();
        want.sort_unstable();
        want.dedup();
        have.sort_unstable();
        want != have
    });
    let strategy_differs = spec
        .default_capacity_provider_strategy
        .as_deref()
        .is_some_and(|s| {
            normalized_strategy(&sdk_strategy(s))
                != normalized_strategy(cluster.default_capacity_provider_strategy())
        });
    if providers_differ || strategy_differs {
        tracing::info!(cluster = %name, "updating ECS cluster capacity providers");
        let providers = spec.capacity_providers.as_ref().map_or(current_providers, |p| {
            p.iter().map(|p| p.as_str().to_string()).collect()
        });
        // Without a strategy in the spec, keep AWS's, less any provider the new list drops (ECS
        // refuses a strategy that names a provider the cluster no longer has).
        let strategy = spec.default_capacity_provider_strategy.as_deref().map_or_else(
            || {
                cluster
                    .default_capacity_provider_strategy()
                    .iter()
                    .filter(|i| providers.iter().any(|p| p == i.capacity_provider()))
                    .cloned()
                    .collect()
            },
            sdk_strategy,
        );
        ecs_api::put_cluster_capacity_providers(ecs, name, providers, strategy).await?;
        changed.push("capacity providers");
    }

    if let Some(arn) = cluster.cluster_arn()
        && ecs_api::sync_tags(ecs, arn, cluster.tags(), desired_tags).await?
    {
        tracing::info!(cluster = %name, "updated ECS cluster tags");
        changed.push("tags");
    }
    Ok(changed)
}

fn settings_differ(want: &[SpecSetting], have: &[ClusterSetting]) -> bool {
    want.iter().any(|w| {
        let current = have
            .iter()
            .find(|h| h.name().map(|n| n.as_str()) == Some(setting_name(w)))
            .and_then(|h| h.value());
        current != Some(w.value.as_str())
    })
}

fn setting_name(s: &SpecSetting) -> &'static str {
    match s.name {
        crate::api::cluster::ClusterSettingName::ContainerInsights => "containerInsights",
    }
}

fn sdk_settings(settings: &[SpecSetting]) -> Vec<ClusterSetting> {
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

fn sdk_configuration(c: &SpecConfiguration) -> ClusterConfiguration {
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
        .build()
}

/// Compares only what the user set: AWS may fill in defaults the spec leaves out.
fn configuration_differs(want: &SpecConfiguration, have: Option<&ClusterConfiguration>) -> bool {
    let Some(w) = &want.execute_command_configuration else {
        return false;
    };
    let Some(h) = have.and_then(|h| h.execute_command_configuration()) else {
        return true;
    };
    let differs = |w: &Option<String>, h: Option<&str>| w.as_deref().is_some_and(|w| Some(w) != h);
    if differs(&w.kms_key_id, h.kms_key_id()) || differs(&w.logging, h.logging().map(|l| l.as_str())) {
        return true;
    }
    let Some(wl) = &w.log_configuration else {
        return false;
    };
    let Some(hl) = h.log_configuration() else {
        return true;
    };
    differs(&wl.cloud_watch_log_group_name, hl.cloud_watch_log_group_name())
        || differs(&wl.s3_bucket_name, hl.s3_bucket_name())
        || differs(&wl.s3_key_prefix, hl.s3_key_prefix())
        || wl
            .cloud_watch_encryption_enabled
            .is_some_and(|v| v != hl.cloud_watch_encryption_enabled())
        || wl
            .s3_encryption_enabled
            .is_some_and(|v| v != hl.s3_encryption_enabled())
}

/// AWS reports the namespace as an ARN while users may write its name: a name is taken as applied once
/// the cluster has any default namespace (ECS resolves names itself); an ARN must match exactly.
fn service_connect_differs(want: &str, have: Option<&str>) -> bool {
    match have {
        None => true,
        Some(h) if want.starts_with("arn:") => want != h,
        Some(h) => !(h == want || h.ends_with(&format!("/{want}")) || h.starts_with("arn:")),
    }
}

fn sdk_strategy(items: &[SpecStrategyItem]) -> Vec<CapacityProviderStrategyItem> {
    items
        .iter()
        .filter_map(|i| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(i.capacity_provider.as_str())
                .weight(i.weight.unwrap_or(0))
                .base(i.base.unwrap_or(0))
                .build()
                .ok()
        })
        .collect()
}

fn normalized_strategy(items: &[CapacityProviderStrategyItem]) -> Vec<(String, i32, i32)> {
    let mut v: Vec<_> = items
        .iter()
        .map(|i| (i.capacity_provider().to_string(), i.weight(), i.base()))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::{
        CapacityProvider, ClusterSettingName as Name, ExecuteCommandConfiguration as SpecExec,
    };

    #[test]
    fn a_long_list_of_dependents_is_summarised() {
        let names = |n: usize| (0..n).map(|i| format!("svc-{i:04}")).collect::<Vec<_>>();
        assert_eq!(some_of(&names(2)), "svc-0000, svc-0001");
        assert_eq!(
            some_of(&names(2000)),
            "svc-0000, svc-0001, svc-0002, svc-0003, svc-0004 and 1995 more"
        );
    }

    #[test]
    fn settings_compare_only_what_the_user_set() {
        let have = vec![
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        ];
        let want = |v: &str| {
            vec![SpecSetting {
                name: Name::ContainerInsights,
                value: v.into(),
            }]
        };
        assert!(!settings_differ(&want("enabled"), &have));
        assert!(settings_differ(&want("disabled"), &have));
        assert!(settings_differ(&want("enabled"), &[]));
        assert!(!settings_differ(&[], &have));
    }

    #[test]
    fn strategy_defaults_do_not_count_as_drift() {
        let spec = vec![SpecStrategyItem {
            capacity_provider: CapacityProvider::FargateSpot,
            weight: Some(3),
            base: None,
        }];
        let aws = vec![
            CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE_SPOT")
                .weight(3)
                .base(0)
                .build()
                .unwrap(),
        ];
        assert_eq!(
            normalized_strategy(&sdk_strategy(&spec)),
            normalized_strategy(&aws)
        );
    }

    #[test]
    fn configuration_ignores_fields_left_out() {
        let want = SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("DEFAULT".into()),
                ..Default::default()
            }),
        };
        let have = sdk_configuration(&SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("DEFAULT".into()),
                kms_key_id: Some("key".into()),
                ..Default::default()
            }),
        });
        assert!(!configuration_differs(&want, Some(&have)));
        let want_override = SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("OVERRIDE".into()),
                ..Default::default()
            }),
        };
        assert!(configuration_differs(&want_override, Some(&have)));
        assert!(configuration_differs(&want, None));
    }

    #[test]
    fn service_connect_names_match_arns() {
        assert!(!service_connect_differs(
            "svc",
            Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1")
        ));
        assert!(service_connect_differs(
            "arn:aws:servicediscovery:us-east-1:1:namespace/ns-2",
            Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1")
        ));
        assert!(service_connect_differs("svc", None));
    }
}
