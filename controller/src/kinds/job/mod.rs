//! Job: `batch/v1` Jobs with `spec.managedBy: ecs.kubefargate.dev/fargate` run as ECS Fargate tasks.
//! Kubernetes 1.35's Job controller skips such a Job; this controller owns its status instead.
//!
//! One reconcile: the FargateProfile selecting the Job (none: the Job fails at once, with the reason),
//! its pod template translated into a task definition ([`translate`], a documented subset; anything
//! else fails the Job naming the field), registered through the TaskDefinition kind's own hash-tagged,
//! never-duplicating path (one family per Job owner, so a CronJob's runs share revisions), then run
//! through the FargateTask kind's own plan (completions, parallelism, backoffLimit,
//! activeDeadlineSeconds, suspend, podFailurePolicy on exit codes), and the Job's status written as
//! the Job API requires ([`status`]). The run's bookkeeping lives in this process (the controller may
//! write only the Job's status): after a restart it is rebuilt from the Job's status and the tasks ECS
//! lists by `startedBy`. Deleting the Job stops its tasks (the controller's finalizer holds it until
//! they are stopped).

mod spec;
pub(crate) mod status;
pub(crate) mod translate;

use crate::api::{FargateProfile, FargateTask, FargateTaskSpec, FargateTaskStatus, TaskDefinition};
use crate::runtime::events::EventType;
use crate::runtime::kinds::Controllers;
use crate::runtime::runner::{Scope, Shutdown};
use crate::runtime::{Cleanup, Context, Error, Managed, State, finalizers};
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, ObjectMeta, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use status::{Outcome, Run};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// The `spec.managedBy` of the Jobs this controller runs.
pub const MANAGED_BY: &str = "ecs.kubefargate.dev/fargate";

/// Reasons of a Job's Failed condition this controller adds to the Job API's own.
pub(crate) mod why {
    /// No FargateProfile selects the Job's namespace and labels.
    pub const NO_FARGATE_PROFILE: &str = "NoFargateProfile";
    /// The pod template uses what has no Fargate translation (the message names the fields).
    pub const UNSUPPORTED_POD_TEMPLATE: &str = "UnsupportedPodTemplate";
    /// The Job's own spec asks for what ECS tasks cannot do (Indexed completions, say; the message
    /// names the fields).
    pub const UNSUPPORTED_JOB_SPEC: &str = "UnsupportedJobSpec";
}

/// A Job's run as this process knows it: the profile that selected it (kept for the whole run: a
/// profile's change or deletion applies to Jobs that start afterwards), the revision it runs and the
/// FargateTask-shaped bookkeeping.
#[derive(Clone, Debug, Default)]
struct Known {
    profile: Option<Arc<FargateProfile>>,
    task_definition: Option<String>,
    run: Option<FargateTaskStatus>,
}

static RUNS: LazyLock<Mutex<HashMap<String, Known>>> = LazyLock::new(Mutex::default);

fn known(uid: &str) -> Known {
    RUNS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(uid)
        .cloned()
        .unwrap_or_default()
}

fn remember(uid: &str, k: Known) {
    RUNS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(uid.to_string(), k);
}

fn forget(uid: &str) {
    RUNS.lock().unwrap_or_else(PoisonError::into_inner).remove(uid);
}

/// Whether the Job is one of ours.
pub(crate) fn is_ours(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.managed_by.as_deref()) == Some(MANAGED_BY)
}

/// The owner whose runs share a task-definition family: the CronJob that created the Job, else the
/// Job itself. (name, uid)
fn owner(job: &Job) -> (String, String) {
    job.owner_references()
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == "CronJob")
        .map(|o| (o.name.clone(), o.uid.clone()))
        .unwrap_or_else(|| (job.name_any(), job.uid().unwrap_or_default()))
}

/// The family of a Job's task definitions: `<namespace>_<owner>` (Kubernetes names have no `_`, so
/// two owners never share one; `.` is not allowed in a family).
pub(crate) fn family(namespace: &str, owner: &str) -> String {
    let mut f = format!("{namespace}_{owner}").replace('.', "-");
    f.truncate(255);
    f
}

/// The FargateTask the Job runs as: its uid, namespace, name and labels (so the same profile selects
/// it), the registered revision, and the Job's run settings ([`spec::run_settings`]; a Job whose spec
/// has fields without an ECS meaning failed before it got here).
fn as_task(job: &Job, task_definition: &str) -> FargateTask {
    let settings = job
        .spec
        .as_ref()
        .and_then(|s| spec::run_settings(s).ok())
        .unwrap_or_default();
    let mut t = FargateTask::new(
        &job.name_any(),
        FargateTaskSpec {
            task_definition_arn: Some(task_definition.to_string()),
            ..settings
        },
    );
    t.metadata = ObjectMeta {
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        labels: job.metadata.labels.clone(),
        generation: job.metadata.generation,
        // What it runs for (the stop reason of a deleted Job's tasks names the Job).
        owner_references: job.controller_owner_ref(&()).map(|o| vec![o]),
        ..Default::default()
    };
    t
}

/// The Job status facts of a run, from the FargateTask bookkeeping and the state its plan reached.
fn run_of(task: &FargateTaskStatus, state: &State) -> Run {
    let live = |a: &&crate::api::task::Attempt| a.last_status != "STOPPED" && a.last_status != "MISSING";
    let outcome = match state {
        State::Ready { .. } => Some(Outcome::Succeeded),
        State::Failed { reason, message } => Some(Outcome::Failed {
            reason: match *reason {
                "FailurePolicy" => status::reasons::POD_FAILURE_POLICY.to_string(),
                other => other.to_string(),
            },
            message: message.clone(),
        }),
        _ => None,
    };
    let running = task.attempts.iter().filter(live).count();
    let ready = task
        .attempts
        .iter()
        .filter(|a| a.last_status == "RUNNING")
        .count();
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let (active, terminating) = if outcome.is_some() {
        (0, count(running))
    } else {
        (task.active, 0)
    };
    Run {
        start_time: task.start_time.clone(),
        active,
        ready: if outcome.is_some() {
            0
        } else {
            count(ready).min(active)
        },
        terminating,
        succeeded: task.succeeded,
        failed: task.failed,
        outcome,
    }
}

/// Writes the Job's status when it changes (merge patch of `status`, as the Job API's subresource).
async fn write_status(ctx: &Context, job: &Job, run: &Run) -> Result<JobStatus, Error> {
    let next = status::job_status(job.status.as_ref(), run, SystemTime::now());
    if job.status.as_ref() != Some(&next) {
        let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
        let patch = serde_json::json!({ "status": status_patch(job.status.as_ref(), &next) });
        api.patch_status(&job.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
    }
    Ok(next)
}

/// A merge patch from `old` to `next`: a field `next` leaves out (a counter back to 0, `ready` once
/// finished) is sent as null, or the merge would keep the old value.
fn status_patch(old: Option<&JobStatus>, next: &JobStatus) -> serde_json::Value {
    let mut patch = serde_json::to_value(next).unwrap_or_default();
    let old = old.and_then(|o| serde_json::to_value(o).ok());
    if let (Some(serde_json::Value::Object(old)), serde_json::Value::Object(p)) = (old, &mut patch) {
        for key in old.keys() {
            p.entry(key.clone()).or_insert(serde_json::Value::Null);
        }
    }
    patch
}

/// Fails the Job at once (no task was run): FailureTarget and Failed with `reason`, and an Event.
async fn fail(ctx: &Context, job: &Job, reason: &str, message: String) -> Result<Action, Error> {
    tracing::info!(job = %job.name_any(), %reason, "the Job cannot run on Fargate: {message}");
    publish(ctx, job, EventType::Warning, reason, &message).await;
    let start = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.as_ref())
        .map(|t| t.0.to_string())
        .unwrap_or_else(|| humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
    let run = Run {
        start_time: Some(start),
        outcome: Some(Outcome::Failed {
            reason: reason.to_string(),
            message,
        }),
        ..Default::default()
    };
    write_status(ctx, job, &run).await?;
    Ok(Action::await_change())
}

async fn publish(ctx: &Context, job: &Job, type_: EventType, reason: &str, note: &str) {
    let regarding = job.object_ref(&());
    if let Err(e) = ctx.events.publish(&regarding, type_, reason, note).await {
        tracing::debug!("event on Job {}: {e}", job.name_any());
    }
}

/// The Job's service account (its `eks.amazonaws.com/role-arn` annotation names the task role).
async fn service_account(ctx: &Context, job: &Job) -> Result<Option<ServiceAccount>, Error> {
    let name = job
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    Ok(api.get_opt(&name).await?)
}

/// The revision the Job runs: translated from its pod template and registered (or found by its hash
/// tag) through the TaskDefinition kind, once per Job in this process. `Err(action)`: the Job failed
/// or waits.
async fn task_definition(
    ctx: &Context,
    job: &Job,
    profile: &FargateProfile,
) -> Result<Result<String, Action>, Error> {
    let ns = job.namespace().unwrap_or_default();
    let template = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let sa = service_account(ctx, job).await?;
    let defaults = translate::Defaults {
        execution_role_arn: profile.spec.execution_role_arn.clone(),
        // The profile's logging (group, prefix, create-group) is added by the TaskDefinition path.
        log_group: None,
        region: String::new(),
    };
    let translated = match translate::translate(&template, sa.as_ref(), &defaults) {
        Ok(t) => t,
        Err(refusals) => {
            let list: Vec<String> = refusals.iter().map(ToString::to_string).collect();
            let message = format!("the pod template cannot run on Fargate: {}", list.join("; "));
            return fail(ctx, job, why::UNSUPPORTED_POD_TEMPLATE, message)
                .await
                .map(Err);
        }
    };
    publish(
        ctx,
        job,
        EventType::Normal,
        "FargateSize",
        &translated.size.to_string(),
    )
    .await;
    let (owner_name, owner_uid) = owner(job);
    let mut spec = translated.spec;
    spec.family = Some(family(&ns, &owner_name));
    // Revisions a CronJob's older runs may still use are kept (deregistered ones cannot start tasks).
    spec.revision_history_limit = Some(100);
    let mut td = TaskDefinition::new(&owner_name, spec);
    td.metadata = ObjectMeta {
        name: Some(owner_name),
        namespace: Some(ns),
        uid: Some(owner_uid),
        labels: job.metadata.labels.clone(),
        ..Default::default()
    };
    match td.apply(ctx, Default::default()).await {
        Ok(applied) => match (applied.status.arn, &applied.state) {
            (Some(arn), State::Ready { .. }) => Ok(Ok(arn)),
            (_, state) => {
                tracing::debug!(job = %job.name_any(), ?state, "task definition not registered yet");
                Ok(Err(Action::requeue(Duration::from_secs(10))))
            }
        },
        Err(Error::Terminal { reason, message }) => fail(ctx, job, reason, message).await.map(Err),
        Err(e) => Err(e),
    }
}

/// The run's bookkeeping after a restart (this process never saw the Job): its counts from the Job's
/// status, and the tasks ECS still runs for it, found by `startedBy`, followed from here on.
async fn rebuilt(
    ctx: &Context,
    job: &Job,
    task: &FargateTask,
    profile: &FargateProfile,
) -> Result<FargateTaskStatus, Error> {
    let mut s = FargateTaskStatus::default();
    let Some(js) = &job.status else {
        return Ok(s);
    };
    s.start_time = js.start_time.as_ref().map(|t| t.0.to_string());
    s.succeeded = js.succeeded.unwrap_or(0);
    s.failed = js.failed.unwrap_or(0);
    let Some(cluster) = profile.status.as_ref().and_then(|p| p.cluster_arn.clone()) else {
        return Ok(s);
    };
    let region = super::placement::arn_region(&cluster)
        .unwrap_or_default()
        .to_string();
    let by = super::task::started_by(task);
    let aws = crate::runtime::aws_for(ctx, task)?;
    let ecs = &aws.region(Some(&region)).ecs;
    let running = crate::aws::ecs::list_tasks_started_by(ecs, &cluster, &by).await?;
    // Tasks that stopped while no controller watched: listed by the revision's family (ECS lists
    // stopped tasks for an hour), ours by startedBy.
    let family = task
        .spec
        .task_definition_arn
        .as_deref()
        .and_then(crate::aws::ecs::family_of);
    let mut stopped = Vec::new();
    if let Some(family) = family {
        let listed: Vec<String> = crate::aws::ecs::list_stopped_tasks_of_family(ecs, &cluster, family)
            .await?
            .into_iter()
            .filter(|arn| !running.contains(arn))
            .collect();
        for t in crate::aws::ecs::describe_tasks(ecs, &cluster, &listed).await? {
            if t.started_by() == Some(by.as_str())
                && let Some(arn) = t.task_arn()
            {
                stopped.push((
                    arn.to_string(),
                    t.stopped_at().map(|d| (d.secs(), d.subsec_nanos())),
                ));
            }
        }
    }
    let recorded = s.succeeded + s.failed;
    let uncounted = uncounted_stops(recorded, stopped);
    if !uncounted.is_empty() {
        tracing::info!(job = %job.name_any(), tasks = ?uncounted, "tasks stopped while no controller watched: counting them");
    }
    s.active = i32::try_from(running.len() + uncounted.len()).unwrap_or(i32::MAX);
    s.launches = s.succeeded + s.failed + s.active;
    // The stopped ones are observed (and counted) at once, as if they had just stopped.
    s.attempts = running
        .into_iter()
        .chain(uncounted)
        .map(|arn| crate::api::task::Attempt {
            task_arn: arn,
            last_status: "RUNNING".into(),
            ..Default::default()
        })
        .collect();
    s.started_by = Some(by);
    s.cluster_arn = Some(cluster);
    s.region = Some(region);
    Ok(s)
}

/// Of the Job's stopped tasks ECS still lists (`(arn, stoppedAt)`), the ones its status has not counted
/// yet: the Job counts `recorded` stopped tasks (succeeded + failed), each when it saw it stop, so the
/// uncounted are the latest to stop, past the first `recorded`. Exact while ECS lists every stopped task
/// of the Job (it keeps them at least an hour); when fewer are listed than were counted, older ones
/// aged out and none is taken as uncounted (the Job's own counts stand).
fn uncounted_stops(recorded: i32, mut stopped: Vec<(String, Option<(i64, u32)>)>) -> Vec<String> {
    let recorded = usize::try_from(recorded).unwrap_or(0);
    if stopped.len() <= recorded {
        return Vec::new();
    }
    // Unknown stop times sort first (counted): only a known, later stop is taken as new.
    stopped.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    stopped
        .split_off(recorded)
        .into_iter()
        .map(|(arn, _)| arn)
        .collect()
}

/// [`reconcile`], timed and counted in the metrics as the kinds' reconciles are (kind `Job`, outcome
/// `done` or `error`).
async fn counted(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    let start = std::time::Instant::now();
    let result = reconcile(job, ctx).await;
    let outcome = if result.is_ok() { "done" } else { "error" };
    crate::metrics::METRICS.reconciled("Job", outcome, start.elapsed().as_secs_f64());
    result
}

async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    let uid = job.uid().unwrap_or_default();
    let ns = job.namespace().unwrap_or_default();
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &ns);
    if job.metadata.deletion_timestamp.is_some() {
        return delete(&ctx, &api, &job, &uid).await;
    }
    if status::is_finished(job.status.as_ref()) {
        // Nothing runs any more: the finalizer goes, so TTL and garbage collection need not wait.
        finalizers::remove(&api, job.as_ref()).await?;
        forget(&uid);
        return Ok(Action::await_change());
    }
    if !finalizers::has(job.as_ref()) {
        finalizers::add(&api, job.as_ref()).await?;
    }
    if let Err(refusals) = spec::run_settings(job.spec.as_ref().unwrap_or(&Default::default())) {
        let list: Vec<String> = refusals.iter().map(ToString::to_string).collect();
        let message = format!("the Job cannot run on Fargate: {}", list.join("; "));
        return fail(&ctx, &job, why::UNSUPPORTED_JOB_SPEC, message).await;
    }
    let mut k = known(&uid);
    let profile = match k.profile.clone() {
        Some(p) => p,
        None => match crate::kinds::profile::for_workload(&ctx, job.as_ref()).await {
            Ok(Some(p)) => p,
            Ok(None) => {
                let message = format!(
                    "no FargateProfile selects namespace {ns} with the Job's labels: a Job with spec.managedBy \
                     {MANAGED_BY} runs only where a profile selects it"
                );
                return fail(&ctx, &job, why::NO_FARGATE_PROFILE, message).await;
            }
            Err(Error::Terminal { reason, message }) => return fail(&ctx, &job, reason, message).await,
            Err(e) => return Err(e),
        },
    };
    k.profile = Some(profile.clone());
    let td = match &k.task_definition {
        Some(arn) => arn.clone(),
        None => match task_definition(&ctx, &job, &profile).await? {
            Ok(arn) => arn,
            Err(action) => return Ok(action),
        },
    };
    k.task_definition = Some(td.clone());
    let task = as_task(&job, &td);
    let current = match k.run.take() {
        Some(s) => s,
        None => rebuilt(&ctx, &job, &task, &profile).await?,
    };
    let applied = match task.apply(&ctx, current.clone()).await {
        Ok(a) => a,
        Err(e) => {
            // The run stays as it was; a terminal refusal fails the Job once no task of it runs any
            // more (a failed Job drops the finalizer: a task left running would be lost), anything
            // else is retried.
            let live = current.attempts.iter().any(|a| a.outcome.is_none());
            let stopped = match &e {
                Error::Terminal { .. } if live => task.cleanup(&ctx, &current).await?,
                _ => Cleanup::Done,
            };
            remember(
                &uid,
                Known {
                    run: Some(current),
                    ..k
                },
            );
            return match (e, stopped) {
                (Error::Terminal { .. }, Cleanup::Wait { recheck, .. }) => Ok(Action::requeue(recheck)),
                (Error::Terminal { reason, message }, Cleanup::Done) => {
                    fail(&ctx, &job, reason, message).await
                }
                (e, _) => Err(e),
            };
        }
    };
    for n in &applied.notes {
        publish(&ctx, &job, EventType::Normal, n.reason, &n.message).await;
    }
    let run = run_of(&applied.status, &applied.state);
    let recheck = match &applied.state {
        State::InProgress { recheck, .. } | State::Waiting { recheck, .. } => Some(*recheck),
        _ => None,
    };
    remember(
        &uid,
        Known {
            task_definition: Some(td),
            run: Some(applied.status),
            ..k
        },
    );
    write_status(&ctx, &job, &run).await?;
    Ok(match recheck {
        Some(d) => Action::requeue(d),
        // Finished: the status write wakes the Job, which then drops its finalizer.
        None => Action::requeue(Duration::from_secs(1)),
    })
}

/// A deleted Job: its tasks are stopped (found by `startedBy` when this process lost track), then
/// the finalizer goes.
async fn delete(ctx: &Context, api: &Api<Job>, job: &Job, uid: &str) -> Result<Action, Error> {
    if !finalizers::has(job) {
        return Ok(Action::await_change());
    }
    let k = known(uid);
    let profile = match &k.profile {
        Some(p) => Some(p.clone()),
        None => crate::kinds::profile::for_workload(ctx, job).await.ok().flatten(),
    };
    let task = as_task(job, k.task_definition.as_deref().unwrap_or_default());
    let status = match (k.run, &profile) {
        (Some(s), _) => s,
        (None, Some(p)) => rebuilt(ctx, job, &task, p).await?,
        (None, None) => FargateTaskStatus::default(),
    };
    // (A launch pending when this process lost track is found by startedBy in the task's cleanup.)
    match task.cleanup(ctx, &status).await? {
        Cleanup::Done => {
            finalizers::remove(api, job).await?;
            forget(uid);
            Ok(Action::await_change())
        }
        Cleanup::Wait { recheck, .. } => {
            remember(
                uid,
                Known {
                    run: Some(status),
                    ..k
                },
            );
            Ok(Action::requeue(recheck))
        }
    }
}

fn error_policy(job: Arc<Job>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(job = %job.name_any(), "Job: {error}");
    Action::requeue(Duration::from_secs(5))
}

/// The Jobs' controller: a watch of Jobs (only ours reach the cache), status writes, finalizer.
pub(crate) fn controller(ctx: Arc<Context>, scope: &Scope, shutdown: Shutdown) -> Controllers {
    let (reader, writer) = reflector::store::<Job>();
    let (first_list, synced_rx) = crate::runtime::cache::FirstList::new();
    let api = crate::runtime::runner::namespaced_api::<Job>(&ctx, scope);
    let in_scope = scope.clone();
    let stream = watcher(api, watcher::Config::default().page_size(100))
        .default_backoff()
        .filter(move |event| {
            let keep = match event {
                Ok(watcher::Event::Apply(j) | watcher::Event::InitApply(j) | watcher::Event::Delete(j)) => {
                    // With several namespaces the watch covers all of them: drop what is out of scope.
                    is_ours(j) && in_scope.contains(j.namespace().as_deref())
                }
                _ => true,
            };
            futures::future::ready(keep)
        })
        .modify(crate::runtime::runner::lean)
        .reflect(writer)
        .inspect(move |event| first_list.see(event))
        .applied_objects();
    let config = kube::runtime::controller::Config::default().concurrency(ctx.config.concurrency);
    let run = Controller::for_stream(stream, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(counted, error_policy, ctx)
        .for_each(|_| async {})
        .boxed();
    let synced = crate::runtime::cache::FirstList::wait(synced_rx).boxed();
    Controllers { run, synced }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_patch_clears_what_the_next_status_leaves_out() {
        let old = JobStatus {
            active: Some(1),
            ready: Some(1),
            start_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            )),
            ..Default::default()
        };
        let next = JobStatus {
            succeeded: Some(1),
            start_time: old.start_time.clone(),
            ..Default::default()
        };
        let patch = status_patch(Some(&old), &next);
        assert_eq!(patch["active"], serde_json::Value::Null);
        assert!(
            patch
                .as_object()
                .is_some_and(|p| p.contains_key("active") && p.contains_key("ready"))
        );
        assert_eq!(patch["succeeded"], 1);
        assert!(patch["startTime"].is_string());
    }

    #[test]
    fn tasks_that_stopped_unwatched_are_the_latest_past_the_counted_ones() {
        let t = |arn: &str, at: Option<i64>| (arn.to_string(), at.map(|s| (s, 0)));
        // Two counted by the Job before the restart; the third stopped while no controller ran.
        let stopped = vec![t("c", Some(300)), t("a", Some(100)), t("b", Some(200))];
        assert_eq!(uncounted_stops(2, stopped.clone()), vec!["c".to_string()]);
        assert_eq!(uncounted_stops(0, stopped.clone()).len(), 3);
        assert!(uncounted_stops(3, stopped.clone()).is_empty());
        // Fewer listed than counted: older ones aged out of ECS's list; none is taken as new.
        assert!(uncounted_stops(5, stopped).is_empty());
        // A stop time ECS did not give sorts as the oldest.
        let stopped = vec![t("late", Some(50)), t("unknown", None)];
        assert_eq!(uncounted_stops(1, stopped), vec!["late".to_string()]);
    }

    #[test]
    fn families_are_per_owner_and_never_shared() {
        assert_eq!(family("data", "nightly"), "data_nightly");
        assert_ne!(family("a-b", "c"), family("a", "b-c"));
        assert_eq!(family("ns", "a.b"), "ns_a-b");
        assert!(family(&"n".repeat(63), &"x".repeat(253)).len() <= 255);
    }

    #[test]
    fn a_finished_run_reports_its_live_tasks_as_terminating_and_none_active() {
        let mut t = FargateTaskStatus {
            active: 1,
            succeeded: 1,
            failed: 3,
            ..Default::default()
        };
        t.attempts.push(crate::api::task::Attempt {
            task_arn: "a".into(),
            last_status: "RUNNING".into(),
            ..Default::default()
        });
        let failed = State::Failed {
            reason: "BackoffLimitExceeded",
            message: "too many".into(),
        };
        let run = run_of(&t, &failed);
        assert_eq!((run.active, run.terminating, run.ready), (0, 1, 0));
        let running = State::InProgress {
            reason: "Running",
            message: String::new(),
            recheck: Duration::from_secs(3),
        };
        let run = run_of(&t, &running);
        assert_eq!((run.active, run.terminating, run.ready), (1, 0, 1));
        assert_eq!(run.outcome, None);
        let policy = State::Failed {
            reason: "FailurePolicy",
            message: "exit 42".into(),
        };
        assert_eq!(
            run_of(&t, &policy).outcome,
            Some(Outcome::Failed {
                reason: "PodFailurePolicy".into(),
                message: "exit 42".into()
            })
        );
    }
}
