//! Act: the FargateTask's AWS I/O and nothing else. Describes its tasks (through the account's batched
//! DescribeTasks, shared with every FargateTask polled at the moment), launches them with RunTask,
//! finds the ones a launch started after a restart (ListTasks by `startedBy`), stops them, and deletes
//! a finished object whose TTL passed.

use super::plan;
use crate::api::FargateTask;
use crate::aws::Account;
use crate::aws::ecs::{self as ecs_api, NewTasks, Started};
use crate::runtime::{Context, Error};
use aws_sdk_ecs::types as sdk;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions};
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex, PoisonError};

/// Client tokens of launches this process recorded in a status and has not sent yet. A pending launch
/// whose token is here cannot have reached RunTask, so it needs no look-up by `startedBy`; any other
/// pending launch (recorded before a restart or by another replica, or one whose RunTask answer was
/// lost) is looked up first.
static UNSENT: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Notes that a launch with `token` is recorded and not sent.
pub(super) fn recorded(token: &str) {
    UNSENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(token.to_string());
}

/// Whether the launch with `token` may have reached RunTask already; from now on it may.
fn maybe_sent(token: &str) -> bool {
    !UNSENT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(token)
}

/// What ECS says of each task (`None`: MISSING), described together with every other task polled now.
pub(super) async fn describe(
    aws: &Account<'_>,
    region: &str,
    cluster: &str,
    arns: Vec<String>,
) -> Result<Vec<(String, Option<sdk::Task>)>, Error> {
    let seen = futures::future::join_all(
        arns.iter()
            .map(|arn| aws.describe_task(Some(region), cluster, arn)),
    )
    .await;
    arns.into_iter().zip(seen).map(|(arn, t)| Ok((arn, t?))).collect()
}

/// Starts the tasks of a pending launch: first, unless this process recorded the launch and has not
/// sent it, the tasks a previous RunTask with this token started are looked up by `startedBy` (ECS
/// honours client tokens; moto does not, and the look-up covers both); RunTask only when none is found.
///
/// Tasks the object already recorded (`known`) do not count as found: only new ones show that this
/// launch went out. Otherwise RunTask is sent with the launch's own token, which ECS dedupes if an
/// earlier attempt did reach it.
pub(super) async fn launch(
    aws: &Account<'_>,
    region: &str,
    request: NewTasks,
    known: &[String],
) -> Result<Started, Error> {
    let ecs = &aws.region(Some(region)).ecs;
    if maybe_sent(&request.client_token) {
        let mut found = ecs_api::list_tasks_started_by(ecs, &request.cluster, &request.started_by).await?;
        found.retain(|arn| !known.contains(arn));
        if !found.is_empty() {
            tracing::info!(
                tasks = found.len(),
                "found tasks of a launch recorded before: not launching again"
            );
            let tasks = describe(aws, region, &request.cluster, found).await?;
            return Ok(Started {
                tasks: tasks.into_iter().filter_map(|(_, t)| t).collect(),
                failures: Vec::new(),
            });
        }
    }
    if failpoint_crash_after_run_task() {
        let started = ecs_api::run_task(ecs, request).await?;
        tracing::error!(
            tasks = started.tasks.len(),
            "failpoint ECS_CONTROLLER_FAILPOINT=crash-after-run-task: exiting before the status write"
        );
        std::process::exit(3);
    }
    tracing::info!(count = request.count, cluster = %request.cluster, "launching ECS tasks");
    Ok(ecs_api::run_task(ecs, request).await?)
}

/// A failpoint for the crash-recovery test: `ECS_CONTROLLER_FAILPOINT=crash-after-run-task` makes the
/// process exit right after its first RunTask answer, before the task ARNs are written to status.
fn failpoint_crash_after_run_task() -> bool {
    std::env::var("ECS_CONTROLLER_FAILPOINT").is_ok_and(|v| v == "crash-after-run-task")
}

/// The tasks of the object ECS still runs, found by `startedBy` (a deletion while a launch was pending).
pub(super) async fn started_by(
    aws: &Account<'_>,
    region: &str,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>, Error> {
    let ecs = &aws.region(Some(region)).ecs;
    Ok(ecs_api::list_tasks_started_by(ecs, cluster, started_by).await?)
}

/// Stops tasks (StopTask is idempotent; a task ECS no longer knows is stopped).
pub(super) async fn stop(
    aws: &Account<'_>,
    region: &str,
    cluster: &str,
    arns: &[String],
    reason: &str,
) -> Result<(), Error> {
    let ecs = &aws.region(Some(region)).ecs;
    for arn in arns {
        tracing::info!(task = %plan::short_id(arn), "stopping ECS task");
        ecs_api::stop_task(ecs, cluster, arn, reason).await?;
    }
    Ok(())
}

/// The container facts and task role of a revision, from DescribeTaskDefinition (a revision no object
/// of this namespace registered); `None` when ECS does not know it.
pub(super) async fn containers(
    aws: &Account<'_>,
    region: &str,
    arn: &str,
) -> Result<Option<(Vec<plan::ContainerFacts>, Option<String>)>, Error> {
    let ecs = &aws.region(Some(region)).ecs;
    let described = ecs_api::describe_any_task_definition(ecs, arn).await?;
    Ok(described.map(|(td, _)| {
        (
            plan::facts_of(td.container_definitions()),
            td.task_role_arn().map(str::to_string),
        )
    }))
}

/// Deletes a finished object whose `ttlSecondsAfterFinished` passed (only this version of it: a
/// replaced object of the same name is left alone).
pub(super) async fn delete_object(ctx: &Context, obj: &FargateTask) -> Result<(), Error> {
    let api: Api<FargateTask> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: obj.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api.delete(&obj.name_any(), &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
