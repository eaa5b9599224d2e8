//! What an EcsCluster reconcile decides, from what AWS showed: pure functions, no client, no await.
//!
//! Apply: create the cluster, or take it (owned, adopted, or `NotOwned`) and converge only what differs
//! from the fields the user set, with the fewest calls; the status and state the cluster leaves
//! (`ClusterFailed` stalls). Cleanup: wait for the services on the cluster, leave another's cluster, wait
//! for a deletion under way, or delete.

use super::input;
use crate::api::cluster::ServiceConnectApplied;
use crate::api::cluster::{ClusterConfiguration as SpecConfiguration, ClusterSetting as SpecSetting};
use crate::api::{EcsCluster, EcsClusterStatus};
use crate::aws::ecs::{NewCluster, tag_diff};
use crate::aws::{AwsError, ErrorKind};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::{self, Claim, Owner};
use crate::runtime::{Applied, Cleanup, Deref, Error, Note, State};
use aws_sdk_ecs::types::{CapacityProviderStrategyItem, Cluster, ClusterConfiguration, ClusterSetting, Tag};
use std::time::Duration;

const RECHECK_PROVISIONING: Duration = Duration::from_secs(10);
const RECHECK_DELETING: Duration = Duration::from_secs(5);
const RECHECK_DEPENDENTS: Duration = Duration::from_secs(15);

/// What an apply does in AWS, and what it tells.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) action: Action,
    /// The cluster was adopted (`spec.adoption`).
    pub(super) adopted: bool,
    pub(super) notes: Vec<Note>,
}

#[derive(Debug)]
pub(super) enum Action {
    /// No cluster of that name: create it.
    Create(Box<NewCluster>),
    /// The cluster is this object's (or adopted now): bring what differs to the spec.
    Converge(Box<Converge>),
}

/// The calls that bring an existing cluster to the spec; each `None` when that part matches.
#[derive(Debug)]
pub(super) struct Converge {
    /// The cluster as described.
    pub(super) cluster: Cluster,
    /// One UpdateCluster for settings, configuration and Service Connect together.
    pub(super) update: Option<Update>,
    /// One PutClusterCapacityProviders.
    pub(super) capacity: Option<Capacity>,
    /// The tags to bring the cluster's to (TagResource, UntagResource).
    pub(super) retag: Option<Vec<Tag>>,
}

/// The parts of UpdateCluster that differ (`None` leaves a part alone).
#[derive(Debug, Default, PartialEq)]
pub(super) struct Update {
    pub(super) settings: Option<Vec<ClusterSetting>>,
    pub(super) configuration: Option<ClusterConfiguration>,
    pub(super) service_connect: Option<String>,
}

/// PutClusterCapacityProviders: the whole list and default strategy.
#[derive(Debug, PartialEq)]
pub(super) struct Capacity {
    pub(super) providers: Vec<String>,
    pub(super) strategy: Vec<CapacityProviderStrategyItem>,
}

/// The owner the cluster's tags name.
fn owner(obj: &EcsCluster, cluster: &Cluster) -> Owner {
    ownership::owner_of_ecs(obj, cluster.tags())
}

/// Decides what the apply does with the cluster named `name`, as described (`None`: it does not
/// exist): create it (unless adoption `Adopt`: wait for it), or claim it (`NotOwned` when it is
/// another's, or unowned without `spec.adoption`) and converge it.
pub(super) fn apply(
    obj: &EcsCluster,
    name: &str,
    existing: Option<Cluster>,
    status: &EcsClusterStatus,
) -> Result<Deref<Plan>, Error> {
    let desired_tags = input::desired_tags(obj);
    let Some(cluster) = existing else {
        if !ownership::may_create(&obj.spec.policies) {
            return Ok(Deref::Wait(not_found(name)));
        }
        return Ok(Deref::Ready(Plan {
            action: Action::Create(Box::new(input::new_cluster(obj, name, desired_tags))),
            adopted: false,
            notes: vec![Note::new(reasons::CREATED, format!("created ECS cluster {name}"))],
        }));
    };
    let mut notes = Vec::new();
    let what = format!("ECS cluster {name}");
    let adopted =
        ownership::claim::<EcsCluster>(&obj.spec.policies, &owner(obj, &cluster), &what)? == Claim::Adopt;
    if adopted {
        notes.push(Note::new(
            reasons::ADOPTED,
            format!("adopted {what} (spec.adoption)"),
        ));
    }
    let converge = converge(
        obj,
        cluster,
        desired_tags,
        status.service_connect_namespace.as_ref(),
    );
    let changed = converge.changed();
    if !changed.is_empty() {
        notes.push(Note::new(
            reasons::UPDATED,
            format!("updated {} of ECS cluster {name}", changed.join(", ")),
        ));
    }
    Ok(Deref::Ready(Plan {
        action: Action::Converge(Box::new(converge)),
        adopted,
        notes,
    }))
}

impl Converge {
    /// What the calls change, for the user.
    fn changed(&self) -> Vec<&'static str> {
        [
            self.update.as_ref().map(|_| "settings"),
            self.capacity.as_ref().map(|_| "capacity providers"),
            self.retag.as_ref().map(|_| "tags"),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// Compares an existing cluster with the fields the user set: AWS's own defaults are not drift.
fn converge(
    obj: &EcsCluster,
    cluster: Cluster,
    desired_tags: Vec<Tag>,
    applied_namespace: Option<&ServiceConnectApplied>,
) -> Converge {
    let spec = &obj.spec;
    let update = Update {
        settings: spec
            .settings
            .as_deref()
            .filter(|s| settings_differ(s, cluster.settings()))
            .map(input::settings),
        configuration: spec
            .configuration
            .as_ref()
            .filter(|c| configuration_differs(c, cluster.configuration()))
            .map(input::configuration),
        service_connect: spec
            .service_connect_defaults
            .as_ref()
            .map(|d| d.namespace.clone())
            .filter(|ns| {
                service_connect_differs(
                    ns,
                    cluster.service_connect_defaults().and_then(|d| d.namespace()),
                    applied_namespace,
                )
            }),
    };
    let update = (update != Update::default()).then_some(update);

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
            crate::kinds::placement::strategy_key(&input::strategy(s))
                != crate::kinds::placement::strategy_key(cluster.default_capacity_provider_strategy())
        });
    let capacity = (providers_differ || strategy_differs).then(|| {
        let providers = input::providers(obj).unwrap_or(current_providers);
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
            input::strategy,
        );
        Capacity { providers, strategy }
    });

    let (to_set, to_remove) = tag_diff(cluster.tags(), &desired_tags);
    let retag = (cluster.cluster_arn().is_some() && !(to_set.is_empty() && to_remove.is_empty()))
        .then_some(desired_tags);
    Converge {
        cluster,
        update,
        capacity,
        retag,
    }
}

/// The status and state the cluster leaves: `Ready` once ACTIVE, in progress before, terminal when
/// FAILED.
pub(super) fn applied(
    mut status: EcsClusterStatus,
    spec_namespace: Option<&str>,
    name: &str,
    region: &str,
    cluster: &Cluster,
    adopted: bool,
    notes: Vec<Note>,
) -> Result<Applied<EcsClusterStatus>, Error> {
    if adopted {
        status.adopted = Some(true);
    }
    record(&mut status, name, region, cluster);
    // What the spec's namespace resolved to, for the next comparison (see service_connect_differs).
    status.service_connect_namespace = match (
        spec_namespace,
        cluster.service_connect_defaults().and_then(|d| d.namespace()),
    ) {
        (Some(want), Some(arn)) => Some(ServiceConnectApplied {
            namespace: want.to_string(),
            arn: arn.to_string(),
        }),
        _ => None,
    };
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
pub(super) fn observed(
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

// ---- Cleanup ------------------------------------------------------------------------------------

/// FargateServices on the cluster hold its deletion: ECS refuses to delete a cluster with services (moto
/// does not, so this check is ours), and their objects must release their finalizers while the cluster
/// still exists.
pub(super) fn held_by(dependents: &[String]) -> Option<Cleanup> {
    (!dependents.is_empty()).then(|| Cleanup::Wait {
        reason: reasons::HAS_DEPENDENTS,
        message: format!(
            "waiting for the objects that run on the cluster to go first: {}",
            some_of(dependents)
        ),
        recheck: RECHECK_DEPENDENTS,
    })
}

/// What a deletion does with the cluster as described.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Removal {
    /// Gone already (or INACTIVE): nothing to delete.
    Gone,
    /// Not this object's: left in AWS.
    NotOwned,
    /// Being deleted: wait for INACTIVE.
    Deprovisioning,
    /// DeleteCluster.
    Delete,
}

pub(super) fn removal(obj: &EcsCluster, cluster: Option<&Cluster>) -> Removal {
    match cluster {
        None => Removal::Gone,
        Some(c) if owner(obj, c) != Owner::This => Removal::NotOwned,
        Some(c) if c.status() == Some("DEPROVISIONING") => Removal::Deprovisioning,
        Some(_) => Removal::Delete,
    }
}

/// The outcome of DeleteCluster: done once INACTIVE (or gone), waiting while it deprovisions or while
/// ECS reports dependents.
pub(super) fn deleted(name: &str, result: Result<Option<Cluster>, AwsError>) -> Result<Cleanup, Error> {
    match result {
        Ok(None) => Ok(Cleanup::Done),
        Ok(Some(c)) if c.status() == Some("INACTIVE") => Ok(Cleanup::Done),
        Ok(Some(_)) => Ok(deprovisioning(name)),
        Err(e) if e.kind == ErrorKind::HasDependents => Ok(Cleanup::Wait {
            reason: reasons::HAS_DEPENDENTS,
            message: e.to_string(),
            recheck: RECHECK_DEPENDENTS,
        }),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn deprovisioning(name: &str) -> Cleanup {
    Cleanup::Wait {
        reason: reasons::DELETING,
        message: format!("waiting for ECS cluster {name} to become INACTIVE"),
        recheck: RECHECK_DELETING,
    }
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

// ---- Drift: only what the user set counts ---------------------------------------------------------

fn settings_differ(want: &[SpecSetting], have: &[ClusterSetting]) -> bool {
    want.iter().any(|w| {
        let current = have
            .iter()
            .find(|h| h.name().map(|n| n.as_str()) == Some(input::setting_name(w)))
            .and_then(|h| h.value());
        current != Some(w.value.as_str())
    })
}

/// Compares only what the user set: AWS may fill in defaults the spec leaves out.
fn configuration_differs(want: &SpecConfiguration, have: Option<&ClusterConfiguration>) -> bool {
    execute_command_differs(want, have) || managed_storage_differs(want, have)
}

fn managed_storage_differs(want: &SpecConfiguration, have: Option<&ClusterConfiguration>) -> bool {
    let Some(w) = &want.managed_storage_configuration else {
        return false;
    };
    let h = have.and_then(|h| h.managed_storage_configuration());
    let differs = |w: &Option<String>, h: Option<&str>| w.as_deref().is_some_and(|w| Some(w) != h);
    differs(&w.kms_key_id, h.and_then(|h| h.kms_key_id()))
        || differs(
            &w.fargate_ephemeral_storage_kms_key_id,
            h.and_then(|h| h.fargate_ephemeral_storage_kms_key_id()),
        )
}

fn execute_command_differs(want: &SpecConfiguration, have: Option<&ClusterConfiguration>) -> bool {
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

/// AWS reports the namespace as an ARN (`.../namespace/ns-<id>`) while users may write its name. An ARN
/// must match exactly; a name matches the ARN it resolved to when this object applied it (`applied`,
/// from status), so a new name in the spec, or another namespace set in AWS, is a change. A name never
/// applied by this object (an adopted cluster) is sent once: UpdateCluster with the same namespace
/// changes nothing.
fn service_connect_differs(want: &str, have: Option<&str>, applied: Option<&ServiceConnectApplied>) -> bool {
    match (have, applied) {
        (None, _) => true,
        (Some(h), _) if want.starts_with("arn:") || h == want => want != h,
        (Some(h), Some(a)) if a.namespace == want => a.arn != h,
        (Some(_), _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::cluster::{
        CapacityProvider, CapacityProviderStrategyItem as SpecStrategyItem, ClusterSettingName as Name,
        ExecuteCommandConfiguration as SpecExec,
    };
    use crate::api::{Adoption, EcsClusterSpec, OWNER_NAME_TAG, OWNER_NAMESPACE_TAG, OWNER_UID_TAG};
    use crate::aws::ecs::tag;
    use aws_sdk_ecs::types::ClusterSettingName;

    const ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/main";

    fn obj(spec: EcsClusterSpec) -> EcsCluster {
        let mut c = EcsCluster::new("main", spec);
        c.metadata.namespace = Some("shop".into());
        c.metadata.uid = Some("uid-1".into());
        c
    }

    fn owner_tags(uid: &str, namespace: &str) -> Vec<Tag> {
        vec![
            tag(OWNER_UID_TAG, uid),
            tag(OWNER_NAMESPACE_TAG, namespace),
            tag(OWNER_NAME_TAG, "main"),
        ]
    }

    /// An ACTIVE cluster as DescribeClusters reports it (settings, tags), owned by `obj`.
    fn described(status: &str, tags: Vec<Tag>) -> Cluster {
        Cluster::builder()
            .cluster_name("main")
            .cluster_arn(ARN)
            .status(status)
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value("disabled")
                    .build(),
            )
            .capacity_providers("FARGATE")
            .capacity_providers("FARGATE_SPOT")
            .default_capacity_provider_strategy(item("FARGATE_SPOT", 3, 0))
            .default_capacity_provider_strategy(item("FARGATE", 1, 0))
            .set_tags(Some(tags))
            .running_tasks_count(4)
            .active_services_count(2)
            .build()
    }

    fn item(provider: &str, weight: i32, base: i32) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem::builder()
            .capacity_provider(provider)
            .weight(weight)
            .base(base)
            .build()
            .unwrap_or_else(|e| panic!("strategy item: {e}"))
    }

    fn plan_of(obj: &EcsCluster, existing: Option<Cluster>) -> Result<Plan, Error> {
        match apply(obj, "main", existing, &EcsClusterStatus::default())? {
            Deref::Ready(plan) => Ok(plan),
            Deref::Wait(state) => panic!("expected a plan, got a wait: {state:?}"),
        }
    }

    fn converging(plan: Plan) -> Converge {
        match plan.action {
            Action::Converge(c) => *c,
            Action::Create(new) => panic!("expected a convergence, got a creation of {}", new.name),
        }
    }

    fn terminal(result: Result<Plan, Error>) -> (&'static str, String) {
        match result {
            Err(Error::Terminal { reason, message }) => (reason, message),
            other => panic!("expected a terminal error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_cluster_is_created_with_the_spec_and_ownership_tags() {
        let spec = EcsClusterSpec {
            capacity_providers: Some(vec![CapacityProvider::FargateSpot]),
            ..Default::default()
        };
        let plan = plan_of(&obj(spec), None).unwrap_or_else(|e| panic!("{e}"));
        let Action::Create(new) = &plan.action else {
            panic!("expected a creation, got {:?}", plan.action);
        };
        assert_eq!(new.name, "main");
        assert_eq!(
            new.capacity_providers.as_deref(),
            Some(&["FARGATE_SPOT".to_string()][..])
        );
        assert!(new.tags.contains(&tag(OWNER_UID_TAG, "uid-1")));
        assert_eq!(plan.notes[0].message, "created ECS cluster main");
        assert!(!plan.adopted);
    }

    #[test]
    fn with_adoption_adopt_a_missing_cluster_is_waited_for_not_created() {
        let mut spec = EcsClusterSpec::default();
        spec.policies.adoption = Some(Adoption::Adopt);
        match apply(&obj(spec), "main", None, &EcsClusterStatus::default()) {
            Ok(Deref::Wait(State::Waiting { reason, .. })) => assert_eq!(reason, reasons::NOT_FOUND),
            other => panic!("expected a NotFound wait, got {other:?}"),
        }
    }

    #[test]
    fn a_cluster_owned_by_another_object_is_not_owned_even_with_adoption() {
        let mut spec = EcsClusterSpec::default();
        spec.policies.adoption = Some(Adoption::AdoptOrCreate);
        let theirs = described("ACTIVE", owner_tags("uid-2", "other-ns"));
        let (reason, message) = terminal(plan_of(&obj(spec), Some(theirs)));
        assert_eq!(reason, reasons::NOT_OWNED);
        assert!(message.contains("other-ns/main"), "{message}");
    }

    #[test]
    fn an_untagged_cluster_is_adopted_only_when_asked_and_then_tagged() {
        let (reason, _) = terminal(plan_of(
            &obj(EcsClusterSpec::default()),
            Some(described("ACTIVE", vec![])),
        ));
        assert_eq!(reason, reasons::NOT_OWNED);
        let mut spec = EcsClusterSpec::default();
        spec.policies.adoption = Some(Adoption::Adopt);
        let plan = plan_of(&obj(spec), Some(described("ACTIVE", vec![]))).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.adopted);
        let notes: Vec<&str> = plan.notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            notes,
            [
                "adopted ECS cluster main (spec.adoption)",
                "updated tags of ECS cluster main"
            ]
        );
        let converge = converging(plan);
        assert!(
            converge
                .retag
                .is_some_and(|t| t.contains(&tag(OWNER_UID_TAG, "uid-1")))
        );
        assert!(converge.update.is_none() && converge.capacity.is_none());
    }

    #[test]
    fn an_owned_cluster_that_matches_the_spec_needs_no_call() {
        let spec = EcsClusterSpec {
            settings: Some(vec![SpecSetting {
                name: Name::ContainerInsights,
                value: "disabled".into(),
            }]),
            capacity_providers: Some(vec![CapacityProvider::FargateSpot, CapacityProvider::Fargate]),
            // AWS fills in base 0: not drift.
            default_capacity_provider_strategy: Some(vec![
                SpecStrategyItem {
                    capacity_provider: CapacityProvider::Fargate,
                    weight: Some(1),
                    base: None,
                },
                SpecStrategyItem {
                    capacity_provider: CapacityProvider::FargateSpot,
                    weight: Some(3),
                    base: None,
                },
            ]),
            ..Default::default()
        };
        let plan = plan_of(&obj(spec), Some(described("ACTIVE", owner_tags("uid-1", "shop"))))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.notes.is_empty() && !plan.adopted);
        let c = converging(plan);
        assert_eq!((c.update, c.capacity, c.retag), (None, None, None));
    }

    #[test]
    fn drift_is_converged_in_one_call_per_part_and_told_once() {
        let spec = EcsClusterSpec {
            settings: Some(vec![SpecSetting {
                name: Name::ContainerInsights,
                value: "enabled".into(),
            }]),
            // FARGATE_SPOT is dropped: AWS's strategy keeps only what the new list has.
            capacity_providers: Some(vec![CapacityProvider::Fargate]),
            tags: serde_json::from_value(serde_json::json!([{"key": "team", "value": "a"}]))
                .unwrap_or_else(|e| panic!("tags: {e}")),
            ..Default::default()
        };
        let plan = plan_of(&obj(spec), Some(described("ACTIVE", owner_tags("uid-1", "shop"))))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            plan.notes[0].message,
            "updated settings, capacity providers, tags of ECS cluster main"
        );
        let c = converging(plan);
        let update = c.update.unwrap_or_else(|| panic!("settings differ"));
        assert_eq!(
            update.settings.map(|s| s[0].value().map(str::to_string)),
            Some(Some("enabled".into()))
        );
        assert_eq!((update.configuration, update.service_connect), (None, None));
        assert_eq!(
            c.capacity,
            Some(Capacity {
                providers: vec!["FARGATE".into()],
                strategy: vec![item("FARGATE", 1, 0)],
            })
        );
        assert!(c.retag.is_some_and(|t| t.contains(&tag("team", "a"))));
    }

    #[test]
    fn the_cluster_state_follows_its_status_and_a_failed_cluster_stalls() {
        let cluster = |s: &str| described(s, vec![]);
        let status = |s: &str| {
            applied(
                EcsClusterStatus::default(),
                None,
                "main",
                "us-east-1",
                &cluster(s),
                false,
                vec![],
            )
        };
        let active = status("ACTIVE").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(active.state, State::Ready { reason, .. } if reason == reasons::ACTIVE));
        assert_eq!(
            (active.status.arn.as_deref(), active.status.running_tasks_count),
            (Some(ARN), Some(4))
        );
        let provisioning = status("PROVISIONING").unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(&provisioning.state, State::InProgress { reason, message, .. }
                if *reason == reasons::PROVISIONING && message == "ECS cluster main is PROVISIONING")
        );
        match status("FAILED") {
            Err(Error::Terminal { reason, message }) => {
                assert_eq!(reason, reasons::CLUSTER_FAILED);
                assert!(message.contains("delete and recreate"), "{message}");
            }
            other => panic!("a FAILED cluster must stall, got {:?}", other.map(|a| a.state)),
        }
        let adopted = applied(
            EcsClusterStatus::default(),
            None,
            "main",
            "r",
            &cluster("ACTIVE"),
            true,
            vec![],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(adopted.status.adopted, Some(true));
    }

    #[test]
    fn the_namespace_the_spec_named_is_recorded_with_the_arn_ecs_reported() {
        const NS: &str = "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1";
        let mut cluster = described("ACTIVE", vec![]);
        cluster.service_connect_defaults = Some(
            aws_sdk_ecs::types::ClusterServiceConnectDefaults::builder()
                .namespace(NS)
                .build(),
        );
        let a = applied(
            EcsClusterStatus::default(),
            Some("svc"),
            "main",
            "r",
            &cluster,
            false,
            vec![],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.status.service_connect_namespace,
            Some(ServiceConnectApplied {
                namespace: "svc".into(),
                arn: NS.into()
            })
        );
        // The spec no longer names one: nothing recorded.
        let a =
            applied(a.status, None, "main", "r", &cluster, false, vec![]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.status.service_connect_namespace, None);
    }

    #[test]
    fn observe_only_reports_the_cluster_or_waits_for_it() {
        let seen = observed(
            EcsClusterStatus::default(),
            "main",
            "us-east-1",
            Some(&described("ACTIVE", vec![])),
        );
        assert!(matches!(seen.state, State::Ready { reason, .. } if reason == reasons::OBSERVED));
        assert_eq!(seen.status.active_services_count, Some(2));
        let none = observed(EcsClusterStatus::default(), "main", "us-east-1", None);
        assert!(matches!(none.state, State::Waiting { reason, .. } if reason == reasons::NOT_FOUND));
    }

    #[test]
    fn a_cluster_with_services_is_not_deleted() {
        match held_by(&["FargateService/web".to_string()]) {
            Some(Cleanup::Wait { reason, message, .. }) => {
                assert_eq!(reason, reasons::HAS_DEPENDENTS);
                assert_eq!(
                    message,
                    "waiting for the objects that run on the cluster to go first: FargateService/web"
                );
            }
            other => panic!("expected a wait, got {other:?}"),
        }
        assert_eq!(held_by(&[]), None);
        // ECS refuses too (services it knows of and the cache does not): a wait, not an error.
        let refused = AwsError {
            service: "ECS",
            operation: "DeleteCluster",
            kind: ErrorKind::HasDependents,
            code: Some("ClusterContainsServicesException".into()),
            message: "The Cluster cannot be deleted while Services are active.".into(),
            request_id: None,
        };
        assert!(matches!(
            deleted("main", Err(refused)),
            Ok(Cleanup::Wait { reason, .. }) if reason == reasons::HAS_DEPENDENTS
        ));
    }

    #[test]
    fn a_deletion_leaves_another_objects_cluster_and_waits_for_inactive() {
        let obj = obj(EcsClusterSpec::default());
        let ours = owner_tags("uid-1", "shop");
        assert_eq!(removal(&obj, None), Removal::Gone);
        assert_eq!(
            removal(&obj, Some(&described("ACTIVE", owner_tags("uid-2", "other-ns")))),
            Removal::NotOwned
        );
        assert_eq!(
            removal(&obj, Some(&described("ACTIVE", vec![]))),
            Removal::NotOwned
        );
        assert_eq!(
            removal(&obj, Some(&described("DEPROVISIONING", ours.clone()))),
            Removal::Deprovisioning
        );
        assert_eq!(
            removal(&obj, Some(&described("ACTIVE", ours.clone()))),
            Removal::Delete
        );
        assert!(matches!(deleted("main", Ok(None)), Ok(Cleanup::Done)));
        assert!(matches!(
            deleted("main", Ok(Some(described("INACTIVE", ours.clone())))),
            Ok(Cleanup::Done)
        ));
        assert!(matches!(
            deleted("main", Ok(Some(described("DEPROVISIONING", ours)))),
            Ok(Cleanup::Wait { reason, .. }) if reason == reasons::DELETING
        ));
        let throttled = AwsError {
            service: "ECS",
            operation: "DeleteCluster",
            kind: ErrorKind::Throttled,
            code: None,
            message: "slow down".into(),
            request_id: None,
        };
        assert!(matches!(deleted("main", Err(throttled)), Err(Error::Aws(_))));
    }

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
            crate::kinds::placement::strategy_key(&input::strategy(&spec)),
            crate::kinds::placement::strategy_key(&aws)
        );
    }

    #[test]
    fn configuration_ignores_fields_left_out() {
        let want = SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("DEFAULT".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let have = input::configuration(&SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("DEFAULT".into()),
                kms_key_id: Some("key".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert!(!configuration_differs(&want, Some(&have)));
        let want_override = SpecConfiguration {
            execute_command_configuration: Some(SpecExec {
                logging: Some("OVERRIDE".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(configuration_differs(&want_override, Some(&have)));
        assert!(configuration_differs(&want, None));
    }

    #[test]
    fn managed_storage_keys_are_compared_where_the_spec_sets_them() {
        let keys = |kms: Option<&str>, fargate: Option<&str>| SpecConfiguration {
            managed_storage_configuration: Some(crate::api::cluster::ManagedStorageConfiguration {
                kms_key_id: kms.map(str::to_string),
                fargate_ephemeral_storage_kms_key_id: fargate.map(str::to_string),
            }),
            ..Default::default()
        };
        let have = input::configuration(&keys(Some("k1"), Some("f1")));
        assert!(!configuration_differs(&keys(None, Some("f1")), Some(&have)));
        assert!(!configuration_differs(&keys(Some("k1"), Some("f1")), Some(&have)));
        assert!(configuration_differs(&keys(None, Some("f2")), Some(&have)));
        assert!(configuration_differs(&keys(Some("k2"), None), Some(&have)));
        assert!(configuration_differs(&keys(Some("k1"), None), None));
        // Left out: not managed, whatever AWS has.
        assert!(!configuration_differs(&SpecConfiguration::default(), Some(&have)));
    }

    #[test]
    fn a_service_connect_namespace_given_by_name_is_compared_through_what_it_resolved_to() {
        const NS1: &str = "arn:aws:servicediscovery:us-east-1:1:namespace/ns-1";
        const NS2: &str = "arn:aws:servicediscovery:us-east-1:1:namespace/ns-2";
        let applied = |namespace: &str, arn: &str| ServiceConnectApplied {
            namespace: namespace.into(),
            arn: arn.into(),
        };
        // ARNs compare exactly.
        assert!(!service_connect_differs(NS1, Some(NS1), None));
        assert!(service_connect_differs(NS2, Some(NS1), None));
        assert!(service_connect_differs("svc", None, None));
        // The name "svc" applied before resolved to ns-1, which the cluster still has: no change.
        assert!(!service_connect_differs(
            "svc",
            Some(NS1),
            Some(&applied("svc", NS1))
        ));
        // The spec now names another namespace: a change (it used to be taken as applied).
        assert!(service_connect_differs(
            "orders",
            Some(NS1),
            Some(&applied("svc", NS1))
        ));
        // Someone set another namespace in AWS: a change back to the spec's.
        assert!(service_connect_differs(
            "svc",
            Some(NS2),
            Some(&applied("svc", NS1))
        ));
        // A name this object never applied (an adopted cluster): sent once, then recorded.
        assert!(service_connect_differs("svc", Some(NS1), None));
        // moto answers with the name itself.
        assert!(!service_connect_differs("svc", Some("svc"), None));
    }
}
