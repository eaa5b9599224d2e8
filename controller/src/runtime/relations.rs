//! Every edge between kinds, declared once: which cluster and task definition a service names, which
//! service a scaling policy targets (and so who owns a service's `desiredCount`), which services keep
//! a cluster from being deleted, which task-definition revisions are in use, and which objects a
//! change of another kind must wake. Pure functions over objects (from the caches or the API server):
//! the kinds' dereference and deletion steps and the watches all ask here, and the unit tests below
//! feed them objects built by small helpers and check the answers.

use crate::api::{EcsCluster, FargateService, FargateTask, ScalingPolicy, TaskDefinition};
use crate::aws::ecs::{family_of, revision_of};
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

/// The last segment of an ARN or path (`arn:...:cluster/main` -> `main`), or the whole string.
pub fn last_segment(arn_or_name: &str) -> &str {
    arn_or_name.rsplit_once('/').map_or(arn_or_name, |(_, n)| n)
}

/// The Application Auto Scaling resource id of an ECS service: `service/<cluster>/<service>`; the
/// cluster may be given by name or ARN.
pub fn scaling_resource_id(cluster: &str, service: &str) -> String {
    format!("service/{}/{service}", last_segment(cluster))
}

/// A service's scaling resource id, once it exists in AWS (from its status).
pub fn service_resource_id(service: &FargateService) -> Option<String> {
    let status = service.status.as_ref()?;
    Some(scaling_resource_id(
        status.cluster_arn.as_deref()?,
        status.service_name.as_deref()?,
    ))
}

// ---- FargateService -> EcsCluster ---------------------------------------------------------------

/// Whether `service` runs on the cluster of EcsCluster `cluster` (by reference, or by the cluster's
/// ARN when it has one).
pub fn service_on_cluster(service: &FargateService, cluster: &EcsCluster, arn: Option<&str>) -> bool {
    same_namespace(service, cluster)
        && (service
            .spec
            .cluster_ref
            .as_ref()
            .is_some_and(|r| r.name == cluster.name_any())
            || (arn.is_some() && service.spec.cluster_arn.as_deref() == arn))
}

/// The names of the services that keep EcsCluster `cluster` from being deleted.
pub fn services_on_cluster<'a>(
    services: impl IntoIterator<Item = &'a FargateService>,
    cluster: &EcsCluster,
    arn: Option<&str>,
) -> Vec<String> {
    services
        .into_iter()
        .filter(|s| service_on_cluster(s, cluster, arn))
        .map(ResourceExt::name_any)
        .collect()
}

/// The EcsCluster a service names by reference.
pub fn cluster_of(service: &FargateService) -> Option<ObjectRef<EcsCluster>> {
    let r = service.spec.cluster_ref.as_ref()?;
    Some(ObjectRef::new(&r.name).within(&service.namespace().unwrap_or_default()))
}

// ---- FargateService -> TaskDefinition -----------------------------------------------------------

/// The TaskDefinition a service names by reference.
pub fn task_definition_of(service: &FargateService) -> Option<ObjectRef<TaskDefinition>> {
    let r = service.spec.task_definition_ref.as_ref()?;
    Some(ObjectRef::new(&r.name).within(&service.namespace().unwrap_or_default()))
}

/// The revisions of `family` that services run (status) or pin (`taskDefinitionArn`): never
/// deregistered while so.
pub fn revisions_in_use<'a>(
    services: impl IntoIterator<Item = &'a FargateService>,
    family: &str,
) -> BTreeSet<i32> {
    revisions_of_family(services.into_iter().flat_map(task_definitions_of_service), family)
}

/// The task definition ARNs a service runs (status) or pins (`taskDefinitionArn`).
pub fn task_definitions_of_service(service: &FargateService) -> impl Iterator<Item = &str> {
    let running = service
        .status
        .as_ref()
        .and_then(|st| st.task_definition_arn.as_deref());
    [running, service.spec.task_definition_arn.as_deref()]
        .into_iter()
        .flatten()
}

/// The revisions of `family` among task definition ARNs.
pub fn revisions_of_family<'a>(arns: impl IntoIterator<Item = &'a str>, family: &str) -> BTreeSet<i32> {
    arns.into_iter()
        .filter(|arn| family_of(arn) == Some(family))
        .filter_map(revision_of)
        .collect()
}

// ---- ScalingPolicy -> FargateService ------------------------------------------------------------

/// The FargateService a policy names by reference.
pub fn service_of(policy: &ScalingPolicy) -> Option<ObjectRef<FargateService>> {
    let r = policy.spec.service_ref.as_ref()?;
    Some(ObjectRef::new(&r.name).within(&policy.namespace().unwrap_or_default()))
}

/// Whether `policy` targets `service`: by reference, or by the service's resource id.
pub fn policy_targets(policy: &ScalingPolicy, service: &FargateService) -> bool {
    if !same_namespace(policy, service) {
        return false;
    }
    if policy
        .spec
        .service_ref
        .as_ref()
        .is_some_and(|r| r.name == service.name_any())
    {
        return true;
    }
    policy.spec.resource_id.is_some() && policy.spec.resource_id == service_resource_id(service)
}

/// The ScalingPolicy that owns `service`'s desired count, if any.
pub fn scaler_of<'a>(
    service: &FargateService,
    policies: impl IntoIterator<Item = &'a ScalingPolicy>,
) -> Option<String> {
    policies
        .into_iter()
        .find(|p| policy_targets(p, service))
        .map(ResourceExt::name_any)
}

/// The older policy (by creation time, then name) that targets the same service as `policy`, if
/// any: only one policy may own a service's scaling; the younger one waits. A target is compared as a
/// resource id, so a `serviceRef` policy and a `resourceId` policy on one service are one conflict.
pub fn conflicting_policy<'a, 'b>(
    policy: &ScalingPolicy,
    policies: impl IntoIterator<Item = &'a ScalingPolicy>,
    services: impl IntoIterator<Item = &'b FargateService>,
) -> Option<String> {
    let ids: HashMap<String, String> = services
        .into_iter()
        .filter(|s| same_namespace(*s, policy))
        .filter_map(|s| Some((s.name_any(), service_resource_id(s)?)))
        .collect();
    let target = |p: &ScalingPolicy| match (&p.spec.service_ref, &p.spec.resource_id) {
        (_, Some(id)) => Some(id.clone()),
        (Some(r), None) => ids
            .get(&r.name)
            .cloned()
            .or_else(|| Some(format!("ref:{}", r.name))),
        (None, None) => None,
    };
    let mine = target(policy)?;
    let key = |p: &ScalingPolicy| (p.metadata.creation_timestamp.clone(), p.name_any());
    policies
        .into_iter()
        .filter(|p| {
            same_namespace(*p, policy)
                && p.name_any() != policy.name_any()
                && p.metadata.deletion_timestamp.is_none()
                && target(p).as_ref() == Some(&mine)
        })
        .find(|p| key(p) < key(policy))
        .map(ResourceExt::name_any)
}

// ---- Wake-ups: a change of one kind that another kind's objects must see at once -----------------

/// Whether an object is gone: being deleted with no finalizer left. The API server never stores an
/// object so (it deletes it instead); the feeds publish a deleted object so (`runtime::runner`).
pub fn gone(meta: &kube::api::ObjectMeta) -> bool {
    meta.deletion_timestamp.is_some() && meta.finalizers.as_ref().is_none_or(Vec::is_empty)
}

/// Only the objects of a feed whose `read` (what the dependents read of them) changed since the object
/// last came through, or that are seen for the first time, or that are [`gone`]: a dependent waiting
/// for an object to go hears of it however little of what it reads changed. Every status write of an
/// object is an event of its feed; without this, a cluster reporting its task counts, or a deleting
/// cluster counting the services it waits for, woke every service on it each time. A recreated object
/// (another uid) comes through. Remembers 16 bytes per object.
pub fn changes<K, S>(feed: S, read: fn(&K) -> String) -> impl futures::Stream<Item = Arc<K>> + Send + 'static
where
    K: kube::Resource + Send + Sync + 'static,
    S: futures::Stream<Item = Arc<K>> + Send + 'static,
{
    use futures::StreamExt;
    let seen: Arc<Mutex<HashMap<u64, u64>>> = Arc::default();
    feed.filter(move |obj| {
        let meta = obj.meta();
        let who = hash(&(meta.namespace.as_deref(), meta.name.as_deref()));
        let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
        let changed = if gone(meta) {
            seen.remove(&who);
            true
        } else {
            let what = hash(&(meta.uid.as_deref(), read(obj)));
            seen.insert(who, what) != Some(what)
        };
        futures::future::ready(changed)
    })
}

fn hash(value: &impl Hash) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Whether an object is Ready for its current generation, and whether it is being deleted.
fn readiness(
    meta: &kube::api::ObjectMeta,
    conditions: &[crate::api::Condition],
    observed: Option<i64>,
) -> String {
    let ready = crate::api::conditions::find(conditions, crate::api::conditions::READY).map(|c| c.status);
    format!(
        "{ready:?} {} {}",
        observed == meta.generation,
        meta.deletion_timestamp.is_some()
    )
}

/// What services, tasks and profiles read of an EcsCluster (`kinds::placement`): its ARN, region,
/// readiness, deletion and default capacity strategy; not its task counts or messages.
pub fn cluster_as_read(c: &EcsCluster) -> String {
    let s = c.status.clone().unwrap_or_default();
    format!(
        "{:?} {:?} {} {}",
        s.arn,
        s.region,
        readiness(&c.metadata, &s.conditions, s.observed_generation),
        serde_json::to_string(&c.spec.default_capacity_provider_strategy).unwrap_or_default()
    )
}

/// What services and tasks read of a TaskDefinition: its newest revision and readiness.
pub fn task_definition_as_read(t: &TaskDefinition) -> String {
    let s = t.status.clone().unwrap_or_default();
    format!(
        "{:?} {:?} {}",
        s.arn,
        s.region,
        readiness(&t.metadata, &s.conditions, s.observed_generation)
    )
}

/// What a service reads of a ScalingPolicy: which service it targets, and whether it is going.
pub fn policy_as_read(p: &ScalingPolicy) -> String {
    format!(
        "{:?} {:?} {}",
        p.spec.service_ref.as_ref().map(|r| &r.name),
        p.spec.resource_id,
        p.metadata.deletion_timestamp.is_some()
    )
}

/// What a ScalingPolicy reads of a FargateService: where it exists in AWS, and whether it is going.
pub fn service_as_read(s: &FargateService) -> String {
    let st = s.status.clone().unwrap_or_default();
    format!(
        "{:?} {:?} {:?} {:?} {}",
        st.arn,
        st.cluster_arn,
        st.service_name,
        st.region,
        s.metadata.deletion_timestamp.is_some()
    )
}

/// The services a change of EcsCluster `cluster` wakes (those naming it).
pub fn services_naming_cluster<'a>(
    services: impl IntoIterator<Item = &'a FargateService>,
    cluster: &EcsCluster,
) -> Vec<ObjectRef<FargateService>> {
    let key = ObjectRef::from_obj(cluster);
    services
        .into_iter()
        .filter(|s| cluster_of(s).as_ref() == Some(&key))
        .map(ObjectRef::from_obj)
        .collect()
}

/// The services a change of TaskDefinition `td` wakes (those naming it).
pub fn services_naming_task_definition<'a>(
    services: impl IntoIterator<Item = &'a FargateService>,
    td: &TaskDefinition,
) -> Vec<ObjectRef<FargateService>> {
    let key = ObjectRef::from_obj(td);
    services
        .into_iter()
        .filter(|s| task_definition_of(s).as_ref() == Some(&key))
        .map(ObjectRef::from_obj)
        .collect()
}

/// The policies a change of FargateService `service` wakes (those naming it, by reference or id).
pub fn policies_naming_service<'a>(
    policies: impl IntoIterator<Item = &'a ScalingPolicy>,
    service: &FargateService,
) -> Vec<ObjectRef<ScalingPolicy>> {
    // By reference, or by the resource id the service has once it exists in AWS: a policy by id
    // waits for its service as much as one by reference does.
    policies
        .into_iter()
        .filter(|p| policy_targets(p, service))
        .map(ObjectRef::from_obj)
        .collect()
}

/// Whether a deleting service's own cleanup is done (this controller's finalizer is off: the service is
/// gone from AWS, and its object goes from the API server with its other finalizers). A cluster or task
/// definition waiting for the service needs to look again only then, not at each of the status writes
/// of the service's deletion (a mass deletion woke the cluster once per write).
fn cleaned_up(service: &FargateService) -> bool {
    service.metadata.deletion_timestamp.is_some() && !super::finalizers::has(service)
}

/// The cluster a deleting service may have kept from deletion, once the service's cleanup is done.
pub fn cluster_freed_by(service: &FargateService) -> Option<ObjectRef<EcsCluster>> {
    cluster_of(service).filter(|_| cleaned_up(service))
}

/// The task definition whose revisions a deleting service may have kept in use, once the service's
/// cleanup is done.
pub fn task_definition_freed_by(service: &FargateService) -> Option<ObjectRef<TaskDefinition>> {
    task_definition_of(service).filter(|_| cleaned_up(service))
}

// ---- FargateTask -> EcsCluster, TaskDefinition -------------------------------------------------------

/// Whether a FargateTask may still run tasks: not finished (a finished run holds nothing).
pub fn task_unfinished(task: &FargateTask) -> bool {
    use crate::api::task::Phase;
    !matches!(
        task.status.as_ref().and_then(|s| s.phase),
        Some(Phase::Succeeded | Phase::Failed)
    )
}

/// The EcsCluster a FargateTask names by reference.
pub fn cluster_of_task(task: &FargateTask) -> Option<ObjectRef<EcsCluster>> {
    let r = task.spec.cluster_ref.as_ref()?;
    Some(ObjectRef::new(&r.name).within(&task.namespace().unwrap_or_default()))
}

/// The TaskDefinition a FargateTask names by reference.
pub fn task_definition_of_task(task: &FargateTask) -> Option<ObjectRef<TaskDefinition>> {
    let r = task.spec.task_definition_ref.as_ref()?;
    Some(ObjectRef::new(&r.name).within(&task.namespace().unwrap_or_default()))
}

/// The names of the unfinished FargateTasks that keep EcsCluster `cluster` from being deleted (by
/// reference, or by the cluster's ARN).
pub fn tasks_on_cluster<'a>(
    tasks: impl IntoIterator<Item = &'a FargateTask>,
    cluster: &EcsCluster,
    arn: Option<&str>,
) -> Vec<String> {
    tasks
        .into_iter()
        .filter(|t| same_namespace(*t, cluster) && task_unfinished(t))
        .filter(|t| {
            t.spec
                .cluster_ref
                .as_ref()
                .is_some_and(|r| r.name == cluster.name_any())
                || (arn.is_some() && t.spec.cluster_arn.as_deref() == arn)
        })
        .map(ResourceExt::name_any)
        .collect()
}

/// The revisions of `family` that unfinished FargateTasks run (pinned in status) or name
/// (`taskDefinitionArn`): never deregistered while so.
pub fn revisions_run_by_tasks<'a>(
    tasks: impl IntoIterator<Item = &'a FargateTask>,
    family: &str,
) -> BTreeSet<i32> {
    revisions_of_family(tasks.into_iter().flat_map(task_definitions_of_task), family)
}

/// The task definition ARNs a FargateTask runs (pinned in status) or names (`taskDefinitionArn`),
/// while it has not finished; none after.
pub fn task_definitions_of_task(task: &FargateTask) -> impl Iterator<Item = &str> {
    let unfinished = task_unfinished(task);
    let pinned = task
        .status
        .as_ref()
        .and_then(|s| s.task_definition_arn.as_deref());
    [pinned, task.spec.task_definition_arn.as_deref()]
        .into_iter()
        .flatten()
        .filter(move |_| unfinished)
}

/// The FargateTasks a change of EcsCluster `cluster` wakes: those naming it that have not started (a
/// started run keeps its cluster; the cluster's task counts change with every task it runs).
pub fn tasks_naming_cluster<'a>(
    tasks: impl IntoIterator<Item = &'a FargateTask>,
    cluster: &EcsCluster,
) -> Vec<ObjectRef<FargateTask>> {
    let key = ObjectRef::from_obj(cluster);
    tasks
        .into_iter()
        .filter(|t| cluster_of_task(t).as_ref() == Some(&key))
        .filter(|t| t.status.as_ref().and_then(|s| s.cluster_arn.as_ref()).is_none())
        .map(ObjectRef::from_obj)
        .collect()
}

/// The FargateTasks a change of TaskDefinition `td` wakes (those naming it and not pinned yet).
pub fn tasks_naming_task_definition<'a>(
    tasks: impl IntoIterator<Item = &'a FargateTask>,
    td: &TaskDefinition,
) -> Vec<ObjectRef<FargateTask>> {
    let key = ObjectRef::from_obj(td);
    tasks
        .into_iter()
        .filter(|t| task_definition_of_task(t).as_ref() == Some(&key))
        .filter(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.task_definition_arn.as_ref())
                .is_none()
        })
        .map(ObjectRef::from_obj)
        .collect()
}

/// The cluster a FargateTask that finished or is going away may have kept from deletion.
pub fn cluster_freed_by_task(task: &FargateTask) -> Option<ObjectRef<EcsCluster>> {
    cluster_of_task(task).filter(|_| task.metadata.deletion_timestamp.is_some() || !task_unfinished(task))
}

/// The task definition whose revision a FargateTask that finished or is going away kept in use.
pub fn task_definition_freed_by_task(task: &FargateTask) -> Option<ObjectRef<TaskDefinition>> {
    task_definition_of_task(task)
        .filter(|_| task.metadata.deletion_timestamp.is_some() || !task_unfinished(task))
}

fn same_namespace(a: &impl ResourceExt, b: &impl ResourceExt) -> bool {
    a.namespace() == b.namespace()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::LocalRef;
    use crate::api::{EcsClusterSpec, FargateServiceSpec, FargateServiceStatus, ScalingPolicySpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const NS: &str = "shop";

    fn local(name: &str) -> Option<LocalRef> {
        Some(LocalRef { name: name.into() })
    }

    fn mk_cluster(name: &str) -> EcsCluster {
        let mut c = EcsCluster::new(name, EcsClusterSpec::default());
        c.metadata.namespace = Some(NS.into());
        c
    }

    fn mk_td(name: &str) -> TaskDefinition {
        let mut t: TaskDefinition = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"family": name, "containerDefinitions": [{"name": "app", "image": "nginx"}]}
        }))
        .unwrap_or_else(|e| panic!("task definition fixture: {e}"));
        t.metadata.namespace = Some(NS.into());
        t
    }

    fn mk_service(name: &str, cluster: &str, td: &str) -> FargateService {
        let mut s = FargateService::new(
            name,
            FargateServiceSpec {
                cluster_ref: local(cluster),
                task_definition_ref: local(td),
                ..FargateServiceSpec::default()
            },
        );
        s.metadata.namespace = Some(NS.into());
        s
    }

    fn created(mut s: FargateService, cluster_arn: &str, running_td: &str) -> FargateService {
        s.status = Some(FargateServiceStatus {
            arn: Some(format!("arn:aws:ecs:us-east-1:1:service/{}", s.name_any())),
            cluster_arn: Some(cluster_arn.into()),
            service_name: Some(s.name_any()),
            task_definition_arn: Some(running_td.into()),
            ..FargateServiceStatus::default()
        });
        s
    }

    fn mk_policy(
        name: &str,
        service: Option<&str>,
        resource_id: Option<&str>,
        created_at: i64,
    ) -> ScalingPolicy {
        let mut p = ScalingPolicy::new(
            name,
            ScalingPolicySpec {
                service_ref: service.and_then(local),
                resource_id: resource_id.map(str::to_string),
                ..ScalingPolicySpec::default()
            },
        );
        p.metadata.namespace = Some(NS.into());
        p.metadata.creation_timestamp = chrono_time(created_at);
        p
    }

    fn chrono_time(secs: i64) -> Option<Time> {
        serde_json::from_value(serde_json::json!(format!("2026-01-01T00:00:{:02}Z", secs))).ok()
    }

    fn in_namespace<T: ResourceExt>(mut obj: T, ns: &str) -> T {
        obj.meta_mut().namespace = Some(ns.into());
        obj
    }

    #[tokio::test]
    async fn an_object_that_is_gone_comes_through_though_nothing_its_dependents_read_changed() {
        use futures::StreamExt;
        // A scaling policy's deletion: its service reads only whether it is going, which the deletion
        // timestamp already told; the policy's going away (the feed's gone state) must still wake the
        // service that waits for it.
        let mut policy = ScalingPolicy::new(
            "web",
            ScalingPolicySpec {
                service_ref: local("web"),
                ..ScalingPolicySpec::default()
            },
        );
        policy.metadata.namespace = Some(NS.into());
        policy.metadata.uid = Some("u1".into());
        policy.metadata.deletion_timestamp = chrono_time(1);
        policy.metadata.finalizers = Some(vec![crate::api::FINALIZER.to_string()]);
        let deleting = Arc::new(policy.clone());
        policy.metadata.finalizers = None;
        let gone_now = Arc::new(policy);
        let feed = futures::stream::iter(vec![deleting.clone(), deleting, gone_now]);
        let through: Vec<_> = changes(feed, policy_as_read)
            .map(|p| gone(&p.metadata))
            .collect()
            .await;
        assert_eq!(through, [false, true], "the deletion once, then its end");
    }

    #[tokio::test]
    async fn a_cluster_wakes_its_dependents_only_when_something_they_read_changes() {
        use crate::api::{Condition, ConditionStatus, EcsClusterStatus};
        use futures::StreamExt;
        let with = |uid: &str, ready: ConditionStatus, message: &str, running: i32| {
            let mut c = mk_cluster("main");
            c.metadata.uid = Some(uid.into());
            c.metadata.generation = Some(1);
            c.status = Some(EcsClusterStatus {
                arn: Some("arn:aws:ecs:r:1:cluster/main".into()),
                observed_generation: Some(1),
                conditions: vec![Condition::new("Ready", ready, "Active", message)],
                running_tasks_count: Some(running),
                ..EcsClusterStatus::default()
            });
            Arc::new(c)
        };
        let feed = futures::stream::iter(vec![
            with("u1", ConditionStatus::False, "creating", 0), // first sight: through
            with("u1", ConditionStatus::True, "ACTIVE", 0),    // Ready: through
            with("u1", ConditionStatus::True, "ACTIVE", 7),    // task counts: not read
            with("u1", ConditionStatus::True, "waiting for 299 services", 7), // message: not read
            with("u2", ConditionStatus::True, "ACTIVE", 7),    // recreated (another uid): through
        ]);
        let through: Vec<_> = changes(feed, cluster_as_read)
            .map(|c| {
                let s = c.status.clone().unwrap_or_default();
                (
                    c.metadata.uid.clone().unwrap_or_default(),
                    s.conditions[0].message.clone(),
                )
            })
            .collect()
            .await;
        assert_eq!(
            through,
            [
                ("u1".to_string(), "creating".to_string()),
                ("u1".into(), "ACTIVE".into()),
                ("u2".into(), "ACTIVE".into())
            ]
        );
    }

    #[test]
    fn the_scaling_resource_id_is_built_from_a_cluster_name_or_arn() {
        assert_eq!(scaling_resource_id("main", "web"), "service/main/web");
        assert_eq!(
            scaling_resource_id("arn:aws:ecs:us-east-1:1:cluster/main", "web"),
            "service/main/web"
        );
        let s = created(
            mk_service("web", "main", "td"),
            "arn:aws:ecs:us-east-1:1:cluster/main",
            "x",
        );
        assert_eq!(service_resource_id(&s).as_deref(), Some("service/main/web"));
        assert_eq!(service_resource_id(&mk_service("new", "main", "td")), None);
    }

    #[test]
    fn a_cluster_is_held_by_the_services_of_its_namespace_that_name_it_or_its_arn() {
        let cluster = mk_cluster("main");
        let arn = "arn:aws:ecs:us-east-1:1:cluster/main";
        let mut by_arn = mk_service("by-arn", "other", "td");
        by_arn.spec.cluster_ref = None;
        by_arn.spec.cluster_arn = Some(arn.into());
        let services = [
            mk_service("a", "main", "td"),
            mk_service("b", "other", "td"),
            by_arn,
            in_namespace(mk_service("elsewhere", "main", "td"), "other-ns"),
        ];
        assert_eq!(
            services_on_cluster(&services, &cluster, Some(arn)),
            ["a", "by-arn"]
        );
        assert_eq!(services_on_cluster(&services, &cluster, None), ["a"]);
        assert_eq!(
            services_naming_cluster(&services, &cluster),
            [ObjectRef::from_obj(&services[0])]
        );
    }

    #[test]
    fn revisions_in_use_are_those_run_or_pinned_in_the_family() {
        let running = created(
            mk_service("a", "main", "web"),
            "arn:c",
            "arn:aws:ecs:us-east-1:1:task-definition/web:3",
        );
        let mut pinned = mk_service("b", "main", "web");
        pinned.spec.task_definition_arn = Some("arn:aws:ecs:us-east-1:1:task-definition/web:1".into());
        let other_family = created(
            mk_service("c", "main", "api"),
            "arn:c",
            "arn:aws:ecs:us-east-1:1:task-definition/api:7",
        );
        let services = [running, pinned, other_family];
        assert_eq!(revisions_in_use(&services, "web"), BTreeSet::from([1, 3]));
        assert_eq!(revisions_in_use(&services, "api"), BTreeSet::from([7]));
        assert!(revisions_in_use(&services, "none").is_empty());
    }

    #[test]
    fn a_policy_targets_its_service_by_reference_or_by_resource_id() {
        let svc = created(
            mk_service("web", "main", "td"),
            "arn:aws:ecs:r:1:cluster/main",
            "x",
        );
        let by_ref = mk_policy("p1", Some("web"), None, 1);
        let by_id = mk_policy("p2", None, Some("service/main/web"), 2);
        let other = mk_policy("p3", Some("api"), None, 3);
        let foreign = in_namespace(mk_policy("p4", Some("web"), None, 0), "other-ns");
        assert!(policy_targets(&by_ref, &svc));
        assert!(policy_targets(&by_id, &svc));
        assert!(!policy_targets(&other, &svc));
        assert!(!policy_targets(&foreign, &svc));
        assert_eq!(scaler_of(&svc, [&foreign, &other, &by_id]).as_deref(), Some("p2"));
        assert_eq!(scaler_of(&svc, [&foreign, &other]), None);
        // Before the service exists in AWS, only a reference can name it.
        let new = mk_service("web", "main", "td");
        assert!(policy_targets(&by_ref, &new) && !policy_targets(&by_id, &new));
    }

    #[test]
    fn the_older_policy_on_a_service_wins_whether_it_names_it_by_reference_or_id() {
        let svc = created(
            mk_service("web", "main", "td"),
            "arn:aws:ecs:r:1:cluster/main",
            "x",
        );
        let older = mk_policy("b-older", None, Some("service/main/web"), 1);
        let younger = mk_policy("a-younger", Some("web"), None, 2);
        let unrelated = mk_policy("c", Some("api"), None, 0);
        let policies = [older.clone(), younger.clone(), unrelated.clone()];
        assert_eq!(
            conflicting_policy(&younger, &policies, [&svc]).as_deref(),
            Some("b-older")
        );
        assert_eq!(conflicting_policy(&older, &policies, [&svc]), None);
        assert_eq!(conflicting_policy(&unrelated, &policies, [&svc]), None);
        // A deleting older policy no longer holds the service.
        let mut deleting = older.clone();
        deleting.metadata.deletion_timestamp = chrono_time(5);
        assert_eq!(conflicting_policy(&younger, [&deleting, &younger], [&svc]), None);
        // Same creation time: the name decides.
        let twin = mk_policy("a-twin", Some("web"), None, 1);
        assert_eq!(
            conflicting_policy(&older, [&twin, &older], [&svc]).as_deref(),
            Some("a-twin")
        );
    }

    #[test]
    fn changes_wake_the_objects_that_name_them_and_deletions_free_what_they_held() {
        let td = mk_td("web");
        let services = [mk_service("a", "main", "web"), mk_service("b", "main", "api")];
        assert_eq!(
            services_naming_task_definition(&services, &td),
            [ObjectRef::from_obj(&services[0])]
        );
        let policies = [
            mk_policy("p", Some("a"), None, 0),
            mk_policy("q", None, Some("service/main/a"), 0),
        ];
        assert_eq!(
            policies_naming_service(&policies, &services[0]),
            [ObjectRef::from_obj(&policies[0])]
        );
        // Once the service exists in AWS, a policy naming it by resource id is woken too.
        let in_aws = created(services[0].clone(), "arn:aws:ecs:r:1:cluster/main", "x");
        assert_eq!(
            policies_naming_service(&policies, &in_aws),
            [
                ObjectRef::from_obj(&policies[0]),
                ObjectRef::from_obj(&policies[1])
            ]
        );
        assert_eq!(cluster_freed_by(&services[0]), None);
        assert_eq!(task_definition_freed_by(&services[0]), None);
        let mut deleting = services[0].clone();
        deleting.metadata.deletion_timestamp = chrono_time(9);
        // Still cleaning up (its status writes while ECS drains it): nobody woken.
        deleting.metadata.finalizers = Some(vec![crate::api::FINALIZER.to_string()]);
        assert_eq!(cluster_freed_by(&deleting), None);
        assert_eq!(task_definition_freed_by(&deleting), None);
        // Its cleanup done: our finalizer off with another one left (a stored state), or gone (the
        // feed's state of a deleted object): the cluster and task definition look again.
        deleting.metadata.finalizers = Some(vec!["example.com/other".to_string()]);
        assert_eq!(
            cluster_freed_by(&deleting),
            Some(ObjectRef::new("main").within(NS))
        );
        deleting.metadata.finalizers = None;
        assert_eq!(
            cluster_freed_by(&deleting),
            Some(ObjectRef::new("main").within(NS))
        );
        assert_eq!(
            task_definition_freed_by(&deleting),
            Some(ObjectRef::new("web").within(NS))
        );
    }

    fn mk_task(name: &str, cluster: &str, td: &str, phase: Option<crate::api::task::Phase>) -> FargateTask {
        let mut t = FargateTask::new(
            name,
            crate::api::FargateTaskSpec {
                cluster_ref: local(cluster),
                task_definition_ref: local(td),
                ..Default::default()
            },
        );
        t.metadata.namespace = Some(NS.into());
        t.status = Some(crate::api::FargateTaskStatus {
            phase,
            task_definition_arn: Some(format!("arn:aws:ecs:us-east-1:1:task-definition/{td}:4")),
            ..Default::default()
        });
        t
    }

    #[test]
    fn unfinished_tasks_hold_their_cluster_and_revision_and_finishing_frees_them() {
        use crate::api::task::Phase;
        let cluster = mk_cluster("main");
        let tasks = [
            mk_task("running", "main", "web", Some(Phase::Running)),
            mk_task("pending", "main", "web", None),
            mk_task("done", "main", "web", Some(Phase::Succeeded)),
            mk_task("failed", "main", "web", Some(Phase::Failed)),
            mk_task("elsewhere", "other", "api", Some(Phase::Running)),
        ];
        assert_eq!(tasks_on_cluster(&tasks, &cluster, None), ["running", "pending"]);
        assert_eq!(revisions_run_by_tasks(&tasks, "web"), BTreeSet::from([4]));
        assert_eq!(revisions_run_by_tasks(&tasks[2..4], "web"), BTreeSet::new());
        assert_eq!(cluster_freed_by_task(&tasks[0]), None);
        assert_eq!(
            cluster_freed_by_task(&tasks[2]),
            Some(ObjectRef::new("main").within(NS))
        );
        assert_eq!(
            task_definition_freed_by_task(&tasks[3]),
            Some(ObjectRef::new("web").within(NS))
        );
        assert_eq!(
            tasks_naming_cluster(&tasks, &cluster).len(),
            4,
            "every task naming the cluster and not started wakes"
        );
        let mut started = tasks[0].clone();
        if let Some(s) = started.status.as_mut() {
            s.cluster_arn = Some("arn:aws:ecs:us-east-1:1:cluster/main".into());
        }
        assert!(
            tasks_naming_cluster([&started], &cluster).is_empty(),
            "a started run keeps its cluster: the cluster's changes do not wake it"
        );
        // Only tasks that have not pinned a revision care about the TaskDefinition.
        let mut unpinned = mk_task("new", "main", "web", None);
        unpinned.status = None;
        let all = [tasks[0].clone(), unpinned.clone()];
        assert_eq!(
            tasks_naming_task_definition(&all, &mk_td("web")),
            [ObjectRef::from_obj(&unpinned)]
        );
    }
}
