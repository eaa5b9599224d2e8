//! FargateProfile: the administrator's selection of workloads (namespace + labels) and what they run
//! with. A profile owns nothing in AWS: its controller only reports whether it is usable (its cluster
//! resolves) in `status`; the kinds it selects ([`for_workload`]) read it from the cache, once synced.

pub(crate) mod select;

use crate::api::EcsCluster;
use crate::api::conditions::{self as cond};
use crate::api::profile::{FargateProfile, FargateProfileStatus};
use crate::runtime::conditions::{self as conditions, reasons};
use crate::runtime::kinds::Controllers;
use crate::runtime::runner::Shutdown;
use crate::runtime::{Context, Error, FIELD_MANAGER, State, cache};
use futures::{FutureExt, StreamExt};
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use select::Selection;
use std::sync::Arc;
use std::time::Duration;

/// The kind's short name (flags, logs).
pub(crate) const NAME: &str = "profile";

/// How often a profile waiting for its EcsCluster looks again (the cluster's watch wakes it first).
const RECHECK_CLUSTER: Duration = Duration::from_secs(60);

/// The profile of a workload, by its namespace and labels (see [`select::select`]): read from the
/// profiles' cache once it is synced, else listed from the API server (never guessed from an empty
/// cache). A label naming a profile that does not select the workload is a terminal error.
pub(crate) async fn for_workload(
    ctx: &Context,
    workload: &impl Resource,
) -> Result<Option<Arc<FargateProfile>>, Error> {
    let namespace = workload.meta().namespace.as_deref().unwrap_or_default();
    let labels = workload.labels();
    let profiles: Vec<Arc<FargateProfile>> = match ctx.stores.synced::<FargateProfile>(cache::SYNC_WAIT).await
    {
        Some(store) => store.state(),
        None => {
            let api: Api<FargateProfile> = Api::all(ctx.client.clone());
            api.list(&ListParams::default())
                .await?
                .items
                .into_iter()
                .map(Arc::new)
                .collect()
        }
    };
    match select::select(profiles.iter().map(AsRef::as_ref), namespace, labels) {
        Selection::None => Ok(None),
        Selection::Profile(p) => Ok(profiles.iter().find(|q| q.name_any() == p.name_any()).cloned()),
        Selection::Mismatch { named, selecting } => Err(Error::Terminal {
            reason: reasons::PROFILE_MISMATCH,
            message: format!(
                "label {} names FargateProfile {named}, which does not select namespace {namespace} \
                 with these labels; profiles that do: [{}]",
                crate::api::profile::PROFILE_LABEL,
                selecting.join(", ")
            ),
        }),
    }
}

/// Refuses a task role the profile does not allow (Stalled, `TaskRoleNotAllowed`); `what` names the
/// field that asked for it.
pub(crate) fn check_role(profile: &FargateProfile, what: &str, arn: &str) -> Result<(), Error> {
    if select::role_allowed(profile, arn) {
        return Ok(());
    }
    Err(Error::Terminal {
        reason: reasons::TASK_ROLE_NOT_ALLOWED,
        message: format!(
            "{what} is {arn}, which FargateProfile {} does not allow (spec.allowedTaskRoleArns: [{}])",
            profile.name_any(),
            profile
                .spec
                .allowed_task_role_arns
                .as_deref()
                .unwrap_or_default()
                .join(", ")
        ),
    })
}

/// Refuses a revision whose task role the profile does not allow (a revision a workload runs without
/// overriding its role).
pub(crate) fn check_revision_role(profile: &FargateProfile, role: &str) -> Result<(), Error> {
    check_role(profile, "the task definition's taskRoleArn", role)
}

/// The task role of revision `arn` (`None`: it has none, or ECS does not know the revision), for the
/// guard rail of a workload that references a revision rather than registering it. A revision never
/// changes, so each is described once per process.
pub(crate) async fn revision_role(ecs: &crate::aws::EcsClient, arn: &str) -> Result<Option<String>, Error> {
    static ROLES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Option<String>>>> =
        std::sync::LazyLock::new(Default::default);
    let roles = || ROLES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = roles().get(arn) {
        return Ok(known.clone());
    }
    let described = crate::aws::ecs::describe_any_task_definition(ecs, arn).await?;
    let Some((td, _)) = described else {
        return Ok(None);
    };
    let role = td.task_role_arn().map(str::to_string);
    roles().insert(arn.to_string(), role.clone());
    Ok(role)
}

/// The cluster of a profile, or the state it waits in.
async fn cluster(ctx: &Context, p: &FargateProfile) -> Result<Result<String, State>, Error> {
    if let Some(arn) = &p.spec.cluster_arn {
        return Ok(Ok(arn.clone()));
    }
    let Some(r) = &p.spec.cluster_ref else {
        return Ok(Err(State::Failed {
            reason: reasons::INVALID_SPEC,
            message: "set clusterRef or clusterArn".into(),
        }));
    };
    let c = cache::get::<EcsCluster>(ctx, &r.namespace, &r.name, |_| true).await?;
    let ready = |c: &EcsCluster| {
        let s = c.status.as_ref()?;
        (super::placement::ready(&s.conditions) && c.metadata.deletion_timestamp.is_none())
            .then(|| s.arn.clone())
            .flatten()
    };
    Ok(match c.as_ref().and_then(ready) {
        Some(arn) => Ok(arn),
        None => Err(State::Waiting {
            reason: reasons::DEPENDENCY_NOT_READY,
            message: format!(
                "EcsCluster {}/{} does not exist or is not Ready",
                r.namespace, r.name
            ),
            recheck: RECHECK_CLUSTER,
        }),
    })
}

/// Whether this instance reports on the profile: its cluster is referenced in a namespace it manages
/// (or given by ARN).
fn reported_here(p: &FargateProfile, scope: &crate::runtime::runner::Scope) -> bool {
    p.spec
        .cluster_ref
        .as_ref()
        .is_none_or(|r| scope.contains(Some(&r.namespace)))
}

async fn reconcile(
    p: Arc<FargateProfile>,
    ctx: Arc<Context>,
    scope: crate::runtime::runner::Scope,
) -> Result<Action, Error> {
    // A profile whose cluster lives in a namespace this instance does not manage (`--watch-namespace`)
    // is another instance's to report on: no read of that namespace (its RBAC may not allow one), no
    // status write to fight over.
    if !reported_here(&p, &scope) {
        return Ok(Action::await_change());
    }
    let old = p.status.clone().unwrap_or_default();
    let mut status = FargateProfileStatus {
        cluster_arn: old.cluster_arn.clone(),
        ..Default::default()
    };
    let (state, requeue) = match cluster(&ctx, &p).await? {
        Ok(arn) => {
            status.cluster_arn = Some(arn);
            let selectors = p.spec.selectors.len();
            let state = State::Ready {
                reason: reasons::ACTIVE,
                message: format!("selects workloads by {selectors} selector(s)"),
            };
            (state, ctx.config.resync.named(NAME))
        }
        Err(state) => (state, RECHECK_CLUSTER),
    };
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    status.conditions = cond::merge(
        &old.conditions,
        conditions::for_state(&state),
        p.metadata.generation,
        &now,
    );
    status.observed_generation = p.metadata.generation;
    if status != old {
        let api: Api<FargateProfile> = Api::all(ctx.client.clone());
        let patch = serde_json::json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1",
            "kind": "FargateProfile",
            "status": status,
        });
        api.patch_status(
            &p.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await?;
    }
    Ok(Action::requeue(requeue))
}

fn error_policy(_p: Arc<FargateProfile>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!("FargateProfile: {error}");
    Action::requeue(Duration::from_secs(15))
}

/// The profiles' controller: a cache of every profile (registered for the other kinds' reads, with its
/// synced flag), status reports, and a wake-up when a referenced EcsCluster changes.
pub(crate) fn controller(
    ctx: Arc<Context>,
    scope: &crate::runtime::runner::Scope,
    shutdown: Shutdown,
) -> Controllers {
    let scope = scope.clone();
    let (reader, writer) = reflector::store::<FargateProfile>();
    let (first_list, synced_rx) = cache::FirstList::new();
    ctx.stores
        .set::<FargateProfile>(reader.clone(), synced_rx.clone());
    let api: Api<FargateProfile> = Api::all(ctx.client.clone());
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .inspect(move |event| first_list.see(event))
        .applied_objects()
        .predicate_filter(kube::runtime::predicates::generation, Default::default());
    let profiles = reader.clone();
    let run = Controller::for_stream(stream, reader)
        .watches_shared_stream(
            crate::runtime::relations::changes(
                ctx.feeds.subscribe::<EcsCluster>(),
                crate::runtime::relations::cluster_as_read,
            ),
            move |c: Arc<EcsCluster>| {
                let (ns, name) = (c.namespace().unwrap_or_default(), c.name_any());
                profiles
                    .state()
                    .iter()
                    .filter(|p| {
                        p.spec
                            .cluster_ref
                            .as_ref()
                            .is_some_and(|r| r.namespace == ns && r.name == name)
                    })
                    .map(|p| ObjectRef::from_obj(p.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown)
        .run(move |p, ctx| reconcile(p, ctx, scope.clone()), error_policy, ctx)
        .for_each(|_| async {})
        .boxed();
    let synced = cache::FirstList::wait(synced_rx).boxed();
    Controllers { run, synced }
}

/// The profile's CRD, for the registry.
pub(crate) fn crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    <FargateProfile as kube::CustomResourceExt>::crd()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::runner::Scope;

    #[test]
    fn an_instance_reports_only_on_profiles_whose_cluster_is_in_its_namespaces() {
        let profile = |mut cluster: serde_json::Value| -> FargateProfile {
            cluster["selectors"] = serde_json::json!([{"namespace": "jobs"}]);
            serde_json::from_value(serde_json::json!({
                "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateProfile",
                "metadata": {"name": "batch"},
                "spec": cluster,
            }))
            .unwrap_or_else(|e| panic!("profile fixture: {e}"))
        };
        let in_team_a = profile(serde_json::json!({"clusterRef": {"namespace": "team-a", "name": "main"}}));
        let by_arn =
            profile(serde_json::json!({"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/x"}));
        let scoped = Scope {
            namespaces: vec!["team-b".into()],
            label_selector: None,
        };
        // The cluster is in a namespace this instance does not manage (nor may read): not its profile.
        assert!(!reported_here(&in_team_a, &scoped));
        assert!(reported_here(&by_arn, &scoped));
        assert!(reported_here(&in_team_a, &Scope::default()));
        let both = Scope {
            namespaces: vec!["team-b".into(), "team-a".into()],
            label_selector: None,
        };
        assert!(reported_here(&in_team_a, &both));
    }
}
