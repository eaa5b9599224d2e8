//! Plan: what one reconcile of a FargateTask does, decided without any I/O. From the spec, the status
//! and the tasks as ECS describes them (SDK types) it records each task's outcome, classifies a stopped
//! task (success, a counted failure, one the failure policy ignores, a capacity shortage at launch),
//! and decides the next step: launch more tasks (the launch is recorded first), stop tasks past the
//! deadline, finish, or wait. Being pure, every branch is tested below on AWS-shaped answers, including
//! what moto cannot produce (exit codes, stop codes, TaskFailedToStart, MISSING).

use super::super::placement::Placed;
use crate::api::task::{
    Attempt, AwsLogs, COMPLETE, ContainerResult, ExitCodeOperator, FAILED, FailureAction, FailurePolicy,
    FargateTaskSpec, PendingLaunch, Phase,
};
use crate::api::{Condition, ConditionStatus, FargateTask, FargateTaskStatus};
use crate::aws::ecs::{NewTasks, Started, tag};
use crate::runtime::conditions::reasons;
use crate::runtime::{Applied, Cleanup, Error, Note, State, ownership};
use aws_sdk_ecs::types as sdk;
use kube::ResourceExt;
use std::time::{Duration, SystemTime};

/// How often running tasks are described (one DescribeTasks per 100 tasks of a cluster, shared by
/// every FargateTask polled at the moment).
pub(super) const POLL: Duration = Duration::from_secs(3);
/// How often a deletion looks whether its stopped tasks are STOPPED.
const RECHECK_STOPPING: Duration = Duration::from_secs(3);
/// RunTask takes at most 8192 characters of overrides.
const MAX_OVERRIDES: usize = 8192;
/// RunTask starts at most 10 tasks a call.
const MAX_PER_LAUNCH: i32 = 10;
/// Stopped tasks kept in `status.attempts` (running ones are always kept).
const STOPPED_KEPT: usize = 20;
/// Defaults, as documented on the spec.
const DEFAULT_COMPLETIONS: i32 = 1;
const DEFAULT_PARALLELISM: i32 = 1;
const DEFAULT_BACKOFF_LIMIT: i32 = 3;
/// A failed task is retried after 10 s, doubled per failure up to 6 minutes (a Job's pod backoff).
const RETRY_BASE: Duration = Duration::from_secs(10);
const RETRY_MAX: Duration = Duration::from_secs(360);

/// Reasons of the conditions and Events of a FargateTask.
pub(super) mod why {
    pub const PENDING: &str = "Pending";
    pub const RUNNING: &str = "Running";
    pub const LAUNCHING: &str = "Launching";
    pub const SUSPENDED: &str = "Suspended";
    pub const BACKING_OFF: &str = "BackingOff";
    pub const COMPLETED: &str = "Completed";
    pub const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    pub const FAILURE_POLICY: &str = "FailurePolicy";
    pub const STOPPING: &str = "StoppingTasks";
    // Events of single tasks.
    pub const TASK_STARTED: &str = "TaskStarted";
    pub const TASK_SUCCEEDED: &str = "TaskSucceeded";
    pub const TASK_FAILED: &str = "TaskFailed";
    pub const TASK_IGNORED: &str = "TaskFailureIgnored";
    pub const LAUNCH_FAILED: &str = "LaunchFailed";
    pub const TASK_MISSING: &str = "TaskMissing";
}

/// The spec's run settings with their defaults.
#[derive(Clone, Copy, Debug)]
struct Settings {
    completions: i32,
    parallelism: i32,
    backoff_limit: i32,
}

fn settings(spec: &FargateTaskSpec) -> Settings {
    let completions = spec.completions.unwrap_or(DEFAULT_COMPLETIONS).max(0);
    Settings {
        completions,
        parallelism: spec.parallelism.unwrap_or(DEFAULT_PARALLELISM).max(1),
        backoff_limit: spec.backoff_limit.unwrap_or(DEFAULT_BACKOFF_LIMIT).max(0),
    }
}

/// The `startedBy` of every task of an object: its uid without dashes (32 characters; ECS allows 36).
pub(in crate::kinds) fn started_by(obj: &FargateTask) -> String {
    obj.metadata.uid.as_deref().unwrap_or_default().replace('-', "")
}

/// The client token of launch number `n`: `<uid>-<n>` (at most 64 characters, as RunTask requires).
fn client_token(obj: &FargateTask, n: i32) -> String {
    let mut token = format!("{}-{n}", obj.metadata.uid.as_deref().unwrap_or_default());
    token.truncate(64);
    token
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn parse_time(s: Option<&str>) -> Option<SystemTime> {
    s.and_then(|s| humantime::parse_rfc3339_weak(s).ok())
}

fn aws_time(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<String> {
    let t = t?;
    let secs = u64::try_from(t.secs()).ok()?;
    Some(rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)))
}

// ---- Finished runs ---------------------------------------------------------------------------------

/// What to do with a run that has finished.
#[derive(Debug)]
pub(super) enum Finished {
    /// `ttlSecondsAfterFinished` has passed: delete the object (reporting the outcome meanwhile).
    Expired(Applied<FargateTaskStatus>),
    /// Report the outcome again (conditions are rewritten on every reconcile).
    Keep(Applied<FargateTaskStatus>),
}

/// `Some` once the run succeeded or failed: nothing is launched or described again.
pub(super) fn finished(obj: &FargateTask, status: &FargateTaskStatus, now: SystemTime) -> Option<Finished> {
    let phase = status.phase?;
    if !matches!(phase, Phase::Succeeded | Phase::Failed) {
        return None;
    }
    let done_at = parse_time(status.completion_time.as_deref()).unwrap_or(now);
    let ttl = obj
        .spec
        .ttl_seconds_after_finished
        .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or_default()));
    let left = ttl.map(|ttl| (done_at + ttl).duration_since(now).unwrap_or(Duration::ZERO));
    let (reason, message) = outcome_of(status);
    let mut applied = conclude(status.clone(), phase, reason, message, Vec::new());
    if left == Some(Duration::ZERO) {
        return Some(Finished::Expired(applied));
    }
    applied.recheck = left;
    Some(Finished::Keep(applied))
}

/// The reason and message a finished run reported (kept in its `Failed` or `Complete` condition).
fn outcome_of(status: &FargateTaskStatus) -> (&'static str, String) {
    let of = |t: &str| {
        crate::api::conditions::find(&status.conditions, t).filter(|c| c.status == ConditionStatus::True)
    };
    if let Some(c) = of(FAILED) {
        let reason = [
            why::BACKOFF_LIMIT_EXCEEDED,
            why::DEADLINE_EXCEEDED,
            why::FAILURE_POLICY,
        ]
        .into_iter()
        .find(|r| *r == c.reason)
        .unwrap_or(why::BACKOFF_LIMIT_EXCEEDED);
        return (reason, c.message.clone());
    }
    let message = of(COMPLETE).map_or_else(|| completed_message(status), |c| c.message.clone());
    (why::COMPLETED, message)
}

fn completed_message(status: &FargateTaskStatus) -> String {
    format!("{} task(s) succeeded, {} failed", status.succeeded, status.failed)
}

/// The conditions and state of a finished run: `Complete` (and Ready) or `Failed` (and Stalled).
fn conclude(
    status: FargateTaskStatus,
    phase: Phase,
    reason: &'static str,
    message: String,
    notes: Vec<Note>,
) -> Applied<FargateTaskStatus> {
    let (state, extra) = if phase == Phase::Succeeded {
        (
            State::Ready {
                reason,
                message: message.clone(),
            },
            Condition::new(COMPLETE, ConditionStatus::True, reason, message),
        )
    } else {
        (
            State::Failed {
                reason,
                message: message.clone(),
            },
            Condition::new(FAILED, ConditionStatus::True, reason, message),
        )
    };
    let mut applied = Applied::new(status, state).with_notes(notes);
    applied.extra_conditions.push(extra);
    applied
}

fn finish(
    mut status: FargateTaskStatus,
    phase: Phase,
    reason: &'static str,
    message: String,
    notes: Vec<Note>,
    now: SystemTime,
) -> Applied<FargateTaskStatus> {
    status.phase = Some(phase);
    status.completion_time = Some(rfc3339(now));
    status.pending_launch = None;
    // Tasks still running are stopped with the run (see [`Next::Stop`]); they no longer count.
    for a in status.attempts.iter_mut().filter(|a| a.outcome.is_none()) {
        a.outcome = Some("Stopped".into());
    }
    status.active = 0;
    status.duration = parse_time(status.start_time.as_deref())
        .and_then(|start| now.duration_since(start).ok())
        .map(|d| {
            humantime::format_duration(Duration::from_secs(d.as_secs()))
                .to_string()
                .replace(' ', "")
        });
    conclude(status, phase, reason, message, notes)
}

// ---- Observing tasks -------------------------------------------------------------------------------

/// The ARNs of the tasks not yet seen stopped.
pub(super) fn active_arns(status: &FargateTaskStatus) -> Vec<String> {
    status
        .attempts
        .iter()
        .filter(|a| a.outcome.is_none())
        .map(|a| a.task_arn.clone())
        .collect()
}

/// How a stopped task counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Succeeded,
    /// Counts against backoffLimit.
    Failed(String),
    /// The failure policy ignores it: retried, not counted.
    Ignored(String),
    /// The failure policy fails the object at once.
    FailTask(String),
    /// ECS could not place or start it for lack of capacity: retried with backoff, not counted.
    NoCapacity(String),
}

/// Classifies a STOPPED task: success when it stopped because its essential containers exited
/// (moto sets no stop code) and every essential container exited 0; a capacity shortage when it
/// failed to start for lack of resources; else the failure policy's first matching rule, or a
/// counted failure.
pub(super) fn classify(task: &sdk::Task, essential: &[String], policy: Option<&FailurePolicy>) -> Verdict {
    let stop_code = task.stop_code().map(|c| c.as_str().to_string());
    let reason = task.stopped_reason().unwrap_or_default();
    let containers = task.containers();
    let is_essential = |name: &str| essential.is_empty() || essential.iter().any(|e| e == name);
    let essentials: Vec<&sdk::Container> = containers
        .iter()
        .filter(|c| is_essential(c.name().unwrap_or_default()))
        .collect();
    let exited_zero = !essentials.is_empty() && essentials.iter().all(|c| c.exit_code() == Some(0));
    let natural = matches!(stop_code.as_deref(), None | Some("EssentialContainerExited"));
    if natural && exited_zero {
        return Verdict::Succeeded;
    }
    let describe = || {
        let exits: Vec<String> = containers
            .iter()
            .filter_map(|c| {
                let code = c.exit_code()?;
                Some(format!("{} exited {code}", c.name().unwrap_or("?")))
            })
            .collect();
        let mut parts = Vec::new();
        if let Some(code) = &stop_code {
            parts.push(code.clone());
        }
        if !reason.is_empty() {
            parts.push(reason.to_string());
        }
        parts.extend(exits);
        if parts.is_empty() {
            "stopped without an exit code".to_string()
        } else {
            parts.join("; ")
        }
    };
    if stop_code.as_deref() == Some("TaskFailedToStart") && is_capacity(reason) {
        return Verdict::NoCapacity(describe());
    }
    for rule in policy.map(|p| p.rules.as_slice()).unwrap_or_default() {
        let by_stop = rule
            .on_stop_codes
            .as_ref()
            .is_some_and(|codes| stop_code.as_ref().is_some_and(|c| codes.contains(c)));
        let by_exit = rule.on_exit_codes.as_ref().is_some_and(|r| {
            containers
                .iter()
                .filter(|c| r.container_name.as_deref().is_none_or(|n| c.name() == Some(n)))
                .filter_map(sdk::Container::exit_code)
                // As in a Job's podFailurePolicy, containers that exited 0 are left out.
                .filter(|code| *code != 0)
                .any(|code| match r.operator {
                    ExitCodeOperator::In => r.values.contains(&code),
                    ExitCodeOperator::NotIn => !r.values.contains(&code),
                })
        });
        if by_stop || by_exit {
            return match rule.action {
                FailureAction::Ignore => Verdict::Ignored(describe()),
                FailureAction::Count => Verdict::Failed(describe()),
                FailureAction::FailTask => Verdict::FailTask(describe()),
            };
        }
    }
    Verdict::Failed(describe())
}

/// Whether a stopped reason or RunTask failure speaks of missing capacity (`RESOURCE:MEMORY`,
/// "Capacity is unavailable at this time", `AGENT`).
fn is_capacity(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("capacity") || r.starts_with("resource:") || r.contains("resource:") || r == "agent"
}

/// What observing the tasks changed: the new status and the Events to publish.
pub(super) struct Observed {
    pub(super) status: FargateTaskStatus,
    pub(super) notes: Vec<Note>,
    /// A failure-policy `FailTask` rule matched: the reason to fail with.
    pub(super) fail_now: Option<String>,
}

/// Records what ECS says of each running task (`None`: ECS no longer knows it, MISSING), and counts
/// the ones that stopped.
pub(super) fn observe(
    obj: &FargateTask,
    mut status: FargateTaskStatus,
    seen: Vec<(String, Option<sdk::Task>)>,
    now: SystemTime,
) -> Observed {
    let mut notes = Vec::new();
    let mut fail_now = None;
    let policy = obj.spec.failure_policy.as_ref();
    let essential = status.essential_containers.clone();
    let logs = status.awslogs.clone();
    for (arn, task) in seen {
        let Some(attempt) = status
            .attempts
            .iter_mut()
            .find(|a| a.task_arn == arn && a.outcome.is_none())
        else {
            continue;
        };
        let verdict = match &task {
            None => {
                attempt.last_status = "MISSING".into();
                Some(Verdict::Failed(
                    "ECS no longer knows the task (MISSING): its outcome is unknown".into(),
                ))
            }
            Some(t) => {
                record(attempt, t, &logs);
                (t.last_status() == Some("STOPPED")).then(|| classify(t, &essential, policy))
            }
        };
        let Some(verdict) = verdict else { continue };
        let id = short_id(&arn);
        let (outcome, note) = match &verdict {
            Verdict::Succeeded => {
                status.succeeded += 1;
                (
                    "Succeeded",
                    Note::new(why::TASK_SUCCEEDED, format!("task {id} succeeded")),
                )
            }
            Verdict::Failed(m) => {
                status.failed += 1;
                status.last_failure_time = Some(rfc3339(now));
                let reason = if task.is_none() {
                    why::TASK_MISSING
                } else {
                    why::TASK_FAILED
                };
                ("Failed", Note::new(reason, format!("task {id} failed: {m}")))
            }
            Verdict::FailTask(m) => {
                status.failed += 1;
                fail_now = Some(format!(
                    "task {id} failed and the failure policy fails the run: {m}"
                ));
                (
                    "Failed",
                    Note::new(why::TASK_FAILED, format!("task {id} failed: {m}")),
                )
            }
            Verdict::Ignored(m) => {
                status.ignored += 1;
                (
                    "Ignored",
                    Note::new(
                        why::TASK_IGNORED,
                        format!("task {id} failed; the failure policy ignores it: {m}"),
                    ),
                )
            }
            Verdict::NoCapacity(m) => {
                status.launch_failures += 1;
                status.last_failure_time = Some(rfc3339(now));
                (
                    "Ignored",
                    Note::new(why::LAUNCH_FAILED, format!("task {id} could not start: {m}")),
                )
            }
        };
        attempt.outcome = Some(outcome.to_string());
        if let Some(code) = essential_exit(attempt, &essential) {
            status.last_exit_code = Some(code);
        }
        notes.push(note);
    }
    status.active = i32::try_from(active_arns(&status).len()).unwrap_or(i32::MAX);
    trim(&mut status.attempts);
    Observed {
        status,
        notes,
        fail_now,
    }
}

/// Copies what ECS reports of a task into its attempt.
fn record(attempt: &mut Attempt, t: &sdk::Task, logs: &[AwsLogs]) {
    attempt.last_status = t.last_status().unwrap_or("UNKNOWN").to_string();
    attempt.stop_code = t.stop_code().map(|c| c.as_str().to_string());
    attempt.stopped_reason = t.stopped_reason().map(str::to_string).filter(|r| !r.is_empty());
    attempt.started_at = aws_time(t.started_at()).or(attempt.started_at.take());
    attempt.stopped_at = aws_time(t.stopped_at()).or(attempt.stopped_at.take());
    let task_id = short_id(&attempt.task_arn).to_string();
    attempt.containers = t
        .containers()
        .iter()
        .map(|c| {
            let name = c.name().unwrap_or_default().to_string();
            let log = logs.iter().find(|l| l.container == name);
            ContainerResult {
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
                log_group: log.map(|l| l.group.clone()),
                log_stream: log
                    .and_then(|l| l.stream_prefix.as_ref())
                    .map(|p| format!("{p}/{name}/{task_id}")),
                name,
            }
        })
        .collect();
}

/// The exit code of the attempt's essential containers: the first non-zero one, else 0 when one
/// reported a code.
fn essential_exit(attempt: &Attempt, essential: &[String]) -> Option<i32> {
    let codes: Vec<i32> = attempt
        .containers
        .iter()
        .filter(|c| essential.is_empty() || essential.contains(&c.name))
        .filter_map(|c| c.exit_code)
        .collect();
    codes.iter().copied().find(|c| *c != 0).or(codes.first().copied())
}

/// Keeps every running attempt and the newest stopped ones.
fn trim(attempts: &mut Vec<Attempt>) {
    let stopped = attempts.iter().filter(|a| a.outcome.is_some()).count();
    let mut drop = stopped.saturating_sub(STOPPED_KEPT);
    attempts.retain(|a| {
        if drop > 0 && a.outcome.is_some() {
            drop -= 1;
            false
        } else {
            true
        }
    });
}

/// The task id, the last segment of its ARN.
pub(super) fn short_id(arn: &str) -> &str {
    crate::runtime::relations::last_segment(arn)
}

// ---- Launching ---------------------------------------------------------------------------------------

/// Records the tasks a launch started (found by `startedBy` after a restart, or answered by
/// RunTask) and clears the pending launch; counts the ones RunTask could not place.
pub(super) fn launched(
    mut status: FargateTaskStatus,
    started: Started,
    now: SystemTime,
) -> (FargateTaskStatus, Vec<Note>) {
    let token = status.pending_launch.take().map(|p| p.client_token);
    let mut notes = Vec::new();
    for t in started.tasks {
        let Some(arn) = t.task_arn().map(str::to_string) else {
            continue;
        };
        if status.attempts.iter().any(|a| a.task_arn == arn) {
            continue;
        }
        notes.push(Note::new(
            why::TASK_STARTED,
            format!("started task {}", short_id(&arn)),
        ));
        let mut attempt = Attempt {
            task_arn: arn,
            client_token: token.clone(),
            ..Attempt::default()
        };
        record(&mut attempt, &t, &status.awslogs);
        status.attempts.push(attempt);
    }
    if !started.failures.is_empty() {
        status.launch_failures += i32::try_from(started.failures.len()).unwrap_or(i32::MAX);
        status.last_failure_time = Some(rfc3339(now));
        let (reason, detail) = &started.failures[0];
        notes.push(Note::new(
            why::LAUNCH_FAILED,
            format!(
                "ECS could not start {} task(s): {reason} {detail}; retrying",
                started.failures.len()
            ),
        ));
    }
    if status.start_time.is_none() && !status.attempts.is_empty() {
        status.start_time = Some(rfc3339(now));
    }
    status.active = i32::try_from(active_arns(&status).len()).unwrap_or(i32::MAX);
    if status.active > 0 {
        status.phase = Some(Phase::Running);
    }
    (status, notes)
}

/// The RunTask request of the pending launch.
pub(super) fn request(
    obj: &FargateTask,
    status: &FargateTaskStatus,
    pending: &PendingLaunch,
    placed: &Placed,
) -> Result<NewTasks, Error> {
    let spec = &obj.spec;
    let invalid = |field: &str, e: &dyn std::fmt::Display| Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: format!("spec.{field}: {e}"),
    };
    let network = spec
        .network_configuration
        .as_ref()
        .map(super::super::placement::network)
        .transpose()
        .map_err(|e| invalid("networkConfiguration", &e))?;
    // RunTask: "A total of 8192 characters are allowed for overrides. This limit includes the JSON
    // formatting characters of the override structure."
    let size = spec
        .overrides
        .as_ref()
        .and_then(|o| serde_json::to_string(o).ok())
        .map_or(0, |j| j.chars().count());
    if size > MAX_OVERRIDES {
        return Err(invalid(
            "overrides",
            &format!(
                "ECS allows at most {MAX_OVERRIDES} characters of overrides (as JSON); these are {size}"
            ),
        ));
    }
    let overrides = spec
        .overrides
        .as_ref()
        .map(overrides)
        .transpose()
        .map_err(|e| invalid("overrides", &e))?;
    let volumes = spec
        .volume_configurations
        .as_ref()
        .map(|v| v.iter().map(volume).collect::<Result<Vec<_>, _>>())
        .transpose()
        .map_err(|e| invalid("volumeConfigurations", &e))?;
    let mut tags: Vec<sdk::Tag> = spec.tags.iter().map(|t| tag(&t.key, &t.value)).collect();
    tags.extend(ownership::ownership_tags(obj));
    // Neither a launch type nor a strategy: the cluster's default strategy places the tasks, and
    // without one ECS would run them on EC2, so FARGATE is named.
    let launch_type = match (&spec.launch_type, &spec.capacity_provider_strategy) {
        (Some(_), _) => Some(sdk::LaunchType::Fargate),
        (None, Some(_)) => None,
        (None, None) => placed
            .default_strategy
            .is_empty()
            .then_some(sdk::LaunchType::Fargate),
    };
    Ok(NewTasks {
        cluster: placed.cluster.clone(),
        task_definition: placed.task_definition.clone(),
        count: pending.count,
        launch_type,
        capacity_provider_strategy: spec
            .capacity_provider_strategy
            .as_deref()
            .map(super::super::placement::strategy),
        platform_version: spec.platform_version.clone(),
        network_configuration: network,
        overrides,
        volume_configurations: volumes,
        enable_execute_command: spec.enable_execute_command,
        propagate_tags: spec.propagate_tags.as_deref().map(sdk::PropagateTags::from),
        group: spec.group.clone(),
        started_by: status.started_by.clone().unwrap_or_else(|| started_by(obj)),
        tags,
        client_token: pending.client_token.clone(),
    })
}

fn overrides(
    o: &crate::api::task::TaskOverride,
) -> Result<sdk::TaskOverride, aws_sdk_ecs::error::BuildError> {
    let containers = o
        .container_overrides
        .iter()
        .map(|c| {
            let environment = c
                .environment
                .iter()
                .map(|kv| {
                    sdk::KeyValuePair::builder()
                        .name(&kv.name)
                        .value(&kv.value)
                        .build()
                })
                .collect::<Vec<_>>();
            let files = c
                .environment_files
                .iter()
                .map(|f| {
                    sdk::EnvironmentFile::builder()
                        .value(&f.value)
                        .r#type(sdk::EnvironmentFileType::from(f.type_.as_str()))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(sdk::ContainerOverride::builder()
                .name(&c.name)
                .set_command(c.command.clone())
                .set_environment((!environment.is_empty()).then_some(environment))
                .set_environment_files((!files.is_empty()).then_some(files))
                .set_cpu(c.cpu)
                .set_memory(c.memory)
                .set_memory_reservation(c.memory_reservation)
                .build())
        })
        .collect::<Result<Vec<_>, aws_sdk_ecs::error::BuildError>>()?;
    let storage = o.ephemeral_storage.as_ref().map(|s| {
        sdk::EphemeralStorage::builder()
            .size_in_gib(s.size_in_gib)
            .build()
    });
    Ok(sdk::TaskOverride::builder()
        .set_container_overrides((!containers.is_empty()).then_some(containers))
        .set_cpu(o.cpu.clone())
        .set_memory(o.memory.clone())
        .set_task_role_arn(o.task_role_arn.clone())
        .set_execution_role_arn(o.execution_role_arn.clone())
        .set_ephemeral_storage(storage)
        .build())
}

fn volume(
    v: &crate::api::task::TaskVolumeConfiguration,
) -> Result<sdk::TaskVolumeConfiguration, aws_sdk_ecs::error::BuildError> {
    let e = &v.managed_ebs_volume;
    let ebs = sdk::TaskManagedEbsVolumeConfiguration::builder()
        .role_arn(&e.role_arn)
        .set_size_in_gib(e.size_in_gi_b)
        .set_volume_type(e.volume_type.clone())
        .set_iops(e.iops)
        .set_throughput(e.throughput)
        .set_encrypted(e.encrypted)
        .set_kms_key_id(e.kms_key_id.clone())
        .set_snapshot_id(e.snapshot_id.clone())
        .set_filesystem_type(e.filesystem_type.as_deref().map(sdk::TaskFilesystemType::from))
        .build()?;
    sdk::TaskVolumeConfiguration::builder()
        .name(&v.name)
        .managed_ebs_volume(ebs)
        .build()
}

// ---- The next step -----------------------------------------------------------------------------------

/// The revision named by `taskDefinitionArn` does not exist (yet): wait for it, as for a cluster.
pub(super) fn no_task_definition(arn: &str) -> State {
    State::Waiting {
        reason: reasons::DEPENDENCY_NOT_READY,
        message: format!("task definition {arn} does not exist"),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

/// `activeDeadlineSeconds`, when set.
fn deadline(obj: &FargateTask) -> Option<Duration> {
    obj.spec
        .active_deadline_seconds
        .and_then(|d| u64::try_from(d).ok())
        .map(Duration::from_secs)
}

/// The time left before the deadline (zero once past); `None` without a deadline or before the run
/// started.
fn time_left(obj: &FargateTask, status: &FargateTaskStatus, now: SystemTime) -> Option<Duration> {
    let start = parse_time(status.start_time.as_deref())?;
    Some(
        (start + deadline(obj)?)
            .duration_since(now)
            .unwrap_or(Duration::ZERO),
    )
}

/// Whether `activeDeadlineSeconds` has passed since the run started.
pub(super) fn past_deadline(obj: &FargateTask, status: &FargateTaskStatus, now: SystemTime) -> bool {
    time_left(obj, status, now) == Some(Duration::ZERO)
}

/// What the reconcile does after observing.
#[derive(Debug)]
pub(super) enum Next {
    /// Write this status and state (a launch recorded first, tasks running, waiting, finished).
    Report(Applied<FargateTaskStatus>),
    /// Stop these tasks, then report (the deadline passed, or a rule failed the run).
    Stop {
        arns: Vec<String>,
        reason: String,
        then: Applied<FargateTaskStatus>,
    },
}

/// Decides the next step from the observed status: finish when enough tasks succeeded or too many
/// failed, stop everything past the deadline, launch what parallelism allows (recording the launch
/// before RunTask is called), or poll the running tasks.
pub(super) fn next(obj: &FargateTask, observed: Observed, now: SystemTime) -> Next {
    let Observed {
        mut status,
        notes,
        fail_now,
    } = observed;
    let s = settings(&obj.spec);
    let name = format!(
        "FargateTask {}/{}",
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    );
    let active = active_arns(&status);
    // Finished by success.
    if status.succeeded >= s.completions {
        let message = completed_message(&status);
        return stop_then(
            active,
            &name,
            "the run completed",
            finish(status, Phase::Succeeded, why::COMPLETED, message, notes, now),
        );
    }
    // Failed by the failure policy or the backoff limit.
    if let Some(message) = fail_now {
        return stop_then(
            active,
            &name,
            "the failure policy failed the run",
            finish(status, Phase::Failed, why::FAILURE_POLICY, message, notes, now),
        );
    }
    if status.failed > s.backoff_limit {
        let message = format!(
            "{} task(s) failed, more than backoffLimit {}",
            status.failed, s.backoff_limit
        );
        return stop_then(
            active,
            &name,
            "backoffLimit exceeded",
            finish(
                status,
                Phase::Failed,
                why::BACKOFF_LIMIT_EXCEEDED,
                message,
                notes,
                now,
            ),
        );
    }
    // Past the deadline.
    let left = time_left(obj, &status, now);
    if left == Some(Duration::ZERO) {
        let message = format!(
            "the run was active longer than activeDeadlineSeconds ({}s)",
            deadline(obj).map_or(0, |d| d.as_secs())
        );
        return stop_then(
            active,
            &name,
            "activeDeadlineSeconds exceeded",
            finish(status, Phase::Failed, why::DEADLINE_EXCEEDED, message, notes, now),
        );
    }
    let poll = left.map_or(POLL, |l| l.min(POLL).max(Duration::from_secs(1)));
    let running = i32::try_from(active.len()).unwrap_or(i32::MAX);
    let phase = if status.attempts.is_empty() && status.succeeded + status.failed == 0 {
        Phase::Pending
    } else {
        Phase::Running
    };
    status.phase = Some(phase);
    let progress = format!(
        "{running} running, {} succeeded, {} failed of {} completions",
        status.succeeded, status.failed, s.completions
    );
    // Launch what is missing, unless suspended or backing off.
    let wanted = s.parallelism.min(s.completions - status.succeeded) - running;
    let suspended = obj.spec.suspend == Some(true);
    let wait_retry = retry_delay(&status, now);
    if wanted > 0 && !suspended && wait_retry.is_none() {
        let count = wanted.min(MAX_PER_LAUNCH);
        status.launches += 1;
        status.pending_launch = Some(PendingLaunch {
            client_token: client_token(obj, status.launches),
            count,
        });
        status.started_by.get_or_insert_with(|| started_by(obj));
        let state = State::InProgress {
            reason: why::LAUNCHING,
            message: format!("launching {count} task(s); {progress}"),
            recheck: Duration::ZERO,
        };
        return Next::Report(Applied::new(status, state).with_notes(notes));
    }
    let state = if running > 0 {
        State::InProgress {
            reason: why::RUNNING,
            message: progress,
            recheck: poll,
        }
    } else if suspended {
        State::Waiting {
            reason: why::SUSPENDED,
            message: format!("suspended: no task is launched until spec.suspend is false; {progress}"),
            recheck: crate::runtime::RECHECK_NOT_FOUND,
        }
    } else if let Some(delay) = wait_retry {
        State::InProgress {
            reason: why::BACKING_OFF,
            message: format!("retrying in {}s after a failure; {progress}", delay.as_secs()),
            recheck: left.map_or(delay, |l| l.min(delay)),
        }
    } else {
        State::InProgress {
            reason: why::PENDING,
            message: progress,
            recheck: poll,
        }
    };
    Next::Report(Applied::new(status, state).with_notes(notes))
}

fn stop_then(active: Vec<String>, name: &str, why: &str, then: Applied<FargateTaskStatus>) -> Next {
    if active.is_empty() {
        return Next::Report(then);
    }
    Next::Stop {
        arns: active,
        reason: format!("stopped by ecs-controller: {name}: {why}"),
        then,
    }
}

/// How long to wait before launching again after a counted failure or a capacity shortage; `None`
/// when a launch may go now.
fn retry_delay(status: &FargateTaskStatus, now: SystemTime) -> Option<Duration> {
    let last = parse_time(status.last_failure_time.as_deref())?;
    let failures = u32::try_from(status.failed + status.launch_failures).unwrap_or(u32::MAX);
    if failures == 0 {
        return None;
    }
    let delay = RETRY_BASE
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
        .min(RETRY_MAX);
    let until = last + delay;
    until.duration_since(now).ok().filter(|d| !d.is_zero())
}

// ---- Deletion ----------------------------------------------------------------------------------------

/// A deletion's next step, from the tasks' last known states.
pub(super) fn removal(obj: &FargateTask, seen: &[(String, Option<sdk::Task>)]) -> (Vec<String>, Cleanup) {
    let to_stop: Vec<String> = seen
        .iter()
        .filter(|(_, t)| {
            t.as_ref()
                .is_some_and(|t| t.last_status() != Some("STOPPED") && t.desired_status() != Some("STOPPED"))
        })
        .map(|(arn, _)| arn.clone())
        .collect();
    let stopping = seen
        .iter()
        .filter(|(_, t)| t.as_ref().is_some_and(|t| t.last_status() != Some("STOPPED")))
        .count();
    if stopping == 0 {
        return (to_stop, Cleanup::Done);
    }
    let wait = Cleanup::Wait {
        reason: why::STOPPING,
        message: format!(
            "stopping {stopping} task(s) of FargateTask {}; the object goes when they are STOPPED",
            obj.name_any()
        ),
        recheck: RECHECK_STOPPING,
    };
    (to_stop, wait)
}

/// The reason given to StopTask when the object is deleted.
/// A FargateTask that runs a Job (the Job controller's, in memory) names the Job, the object the user
/// deleted.
pub(super) fn deletion_reason(obj: &FargateTask) -> String {
    let kind = obj
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))
        .map_or("FargateTask", |o| o.kind.as_str());
    format!(
        "stopped by ecs-controller: {kind} {}/{} was deleted",
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

/// What the outcome of a task depends on in one container of its task definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ContainerFacts {
    pub(super) name: String,
    pub(super) essential: bool,
    /// awslogs group and stream prefix, when the container logs there.
    pub(super) awslogs: Option<(String, Option<String>)>,
}

/// Pins the revision every task of the object runs, with its essential containers and awslogs
/// settings; the run starts now (as a Job's startTime: `activeDeadlineSeconds` counts from here, so a
/// run that never manages to launch still fails at its deadline).
pub(super) fn pin(
    mut status: FargateTaskStatus,
    arn: &str,
    containers: &[ContainerFacts],
    now: SystemTime,
) -> FargateTaskStatus {
    status.start_time.get_or_insert_with(|| rfc3339(now));
    status.task_definition_arn = Some(arn.to_string());
    status.essential_containers = containers
        .iter()
        .filter(|c| c.essential)
        .map(|c| c.name.clone())
        .collect();
    status.awslogs = containers
        .iter()
        .filter_map(|c| {
            let (group, prefix) = c.awslogs.clone()?;
            Some(AwsLogs {
                container: c.name.clone(),
                group,
                stream_prefix: prefix,
            })
        })
        .collect();
    status
}

/// The facts of the containers of a revision as DescribeTaskDefinition answers it.
pub(super) fn facts_of(containers: &[sdk::ContainerDefinition]) -> Vec<ContainerFacts> {
    containers
        .iter()
        .map(|c| ContainerFacts {
            name: c.name().unwrap_or_default().to_string(),
            essential: c.essential() != Some(false),
            awslogs: c
                .log_configuration()
                .filter(|l| l.log_driver().as_str() == "awslogs")
                .and_then(|l| l.options())
                .and_then(|o| {
                    Some((
                        o.get("awslogs-group")?.clone(),
                        o.get("awslogs-stream-prefix").cloned(),
                    ))
                }),
        })
        .collect()
}

#[cfg(test)]
mod tests;

// ---- The selecting FargateProfile ------------------------------------------------------------------

/// The profile's guard rail on the revision a run pins: its `taskRoleArn` must be one the profile
/// allows, unless the run overrides the role (that override is checked in [`with_profile`]). A
/// revision referenced by ARN, registered anywhere, is held to the same rule as the TaskDefinition
/// objects the profile selects.
pub(super) fn check_revision_role(
    obj: &FargateTask,
    p: &crate::api::FargateProfile,
    role: Option<&str>,
) -> Result<(), Error> {
    let overridden = obj
        .spec
        .overrides
        .as_ref()
        .is_some_and(|o| o.task_role_arn.is_some());
    match role {
        Some(role) if !overridden => crate::kinds::profile::check_revision_role(p, role),
        _ => Ok(()),
    }
}

/// The object as its FargateProfile completes it: network, capacity strategy (when it names neither a
/// launch type nor a strategy) and tags it leaves out come from the profile; a task-role override the
/// profile does not allow is refused. (The cluster comes from the profile in [`placement`]; the
/// execution role and logging belong to the task definition.)
///
/// [`placement`]: super::super::placement
pub(super) fn with_profile(obj: &FargateTask, p: &crate::api::FargateProfile) -> Result<FargateTask, Error> {
    use crate::kinds::profile::{check_role, select};
    if let Some(role) = obj
        .spec
        .overrides
        .as_ref()
        .and_then(|o| o.task_role_arn.as_deref())
    {
        check_role(p, "spec.overrides.taskRoleArn", role)?;
    }
    let mut filled = obj.clone();
    let spec = &mut filled.spec;
    select::fill_run(
        p,
        select::RunFields {
            network: &mut spec.network_configuration,
            launch_type: spec.launch_type.as_deref(),
            strategy: &mut spec.capacity_provider_strategy,
            tags: &mut spec.tags,
        },
    );
    Ok(filled)
}
