//! Status: the status of a Job that ecs-controller runs (`spec.managedBy: ecs.kubefargate.dev/fargate`),
//! computed without any I/O from what its ECS tasks look like now. The 1.35 apiserver checks every status
//! write of a Job against the previous one (docs/jobs-status.md lists the rules with their place in the
//! Kubernetes source); [`job_status`] only produces transitions those rules accept: the interim
//! condition (SuccessCriteriaMet / FailureTarget) before or with the terminal one (Complete / Failed),
//! the terminal one only when no task is active or terminating, startTime and completionTime never moved,
//! counters never lowered, and a finished Job's status never changed again. The end-to-end test
//! `tests/tests/e2e/job_status.rs` writes these statuses to a real apiserver.

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use std::time::{SystemTime, UNIX_EPOCH};

/// The Job API's condition reasons (`k8s.io/api/batch/v1`, `JobReason*`): clients read them, the
/// apiserver does not check them. Failed and Complete repeat the reason of the interim condition.
pub mod reasons {
    /// More tasks failed than `backoffLimit` allows.
    pub const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
    /// `activeDeadlineSeconds` passed since `startTime`.
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    /// A failure policy rule with the action FailJob matched a failed task.
    pub const POD_FAILURE_POLICY: &str = "PodFailurePolicy";
    /// `succeeded` reached `completions`.
    pub const COMPLETIONS_REACHED: &str = "CompletionsReached";
}

/// The message of SuccessCriteriaMet and Complete (the built-in controller's, with tasks for pods).
const COMPLETIONS_REACHED_MESSAGE: &str = "Reached expected number of succeeded tasks";

/// Condition types of a Job.
const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
const COMPLETE: &str = "Complete";
const FAILURE_TARGET: &str = "FailureTarget";
const FAILED: &str = "Failed";
const TRUE: &str = "True";

/// What the Job's ECS tasks look like now (computed by the caller from the FargateTask-style plan).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// RFC 3339, set when the first launch was decided.
    pub start_time: Option<String>,
    /// Tasks not stopped and not being stopped.
    pub active: i32,
    /// Tasks RUNNING.
    pub ready: i32,
    /// Tasks being stopped (desiredStatus STOPPED, not yet STOPPED).
    pub terminating: i32,
    /// Counted outcomes.
    pub succeeded: i32,
    pub failed: i32,
    /// The decided end of the run.
    pub outcome: Option<Outcome>,
}

/// How a run ended, as decided by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// `reason` is one of [`reasons`]: BackoffLimitExceeded, DeadlineExceeded or PodFailurePolicy.
    Failed {
        reason: String,
        message: String,
    },
}

/// Whether the Job has finished: Complete=True or Failed=True. Its status is then never changed again.
pub fn is_finished(status: Option<&JobStatus>) -> bool {
    status.is_some_and(|s| is_true(s, COMPLETE) || is_true(s, FAILED))
}

/// The next status to write, such that the transition from `current` passes the apiserver's validation.
/// Equal to `current` when nothing changed (so the caller writes only when it differs).
pub fn job_status(current: Option<&JobStatus>, run: &Run, now: SystemTime) -> JobStatus {
    if let Some(current) = current.filter(|s| is_finished(Some(s))) {
        return current.clone();
    }
    let mut next = current.cloned().unwrap_or_default();
    let now = whole_seconds(now);

    // The outcome already recorded wins: SuccessCriteriaMet excludes FailureTarget and Failed,
    // FailureTarget excludes Complete, and neither can be removed.
    let outcome = if is_true(&next, SUCCESS_CRITERIA_MET) {
        Some(Outcome::Succeeded)
    } else if let Some(target) = true_condition(&next, FAILURE_TARGET) {
        Some(Outcome::Failed {
            reason: target.reason.clone().unwrap_or_default(),
            message: target.message.clone().unwrap_or_default(),
        })
    } else {
        run.outcome.clone()
    };

    let active = run.active.max(0);
    let terminating = run.terminating.max(0);
    let finishing = outcome.is_some() && active == 0 && terminating == 0;

    // startTime is never moved once set; a finished Job must have one.
    if next.start_time.is_none() {
        let started = run
            .start_time
            .as_deref()
            .and_then(|s| s.parse::<Timestamp>().ok());
        next.start_time = started
            .map(whole_seconds_of)
            .or(finishing.then_some(now))
            .map(Time);
    }

    next.active = nonzero(active);
    next.ready = Some(run.ready.clamp(0, active));
    next.terminating = Some(terminating);
    next.succeeded = nonzero(run.succeeded.max(next.succeeded.unwrap_or(0)));
    next.failed = nonzero(run.failed.max(next.failed.unwrap_or(0)));

    match outcome {
        None => {}
        Some(Outcome::Succeeded) => {
            let (reason, message) = (reasons::COMPLETIONS_REACHED, COMPLETIONS_REACHED_MESSAGE);
            let (reason, message) = ensure_true(&mut next, SUCCESS_CRITERIA_MET, reason, message, now);
            if finishing {
                ensure_true(&mut next, COMPLETE, &reason, &message, now);
                let started = next.start_time.as_ref().map_or(now, |t| t.0);
                next.completion_time = Some(Time(now.max(started)));
            }
        }
        Some(Outcome::Failed { reason, message }) => {
            let (reason, message) = ensure_true(&mut next, FAILURE_TARGET, &reason, &message, now);
            if finishing {
                ensure_true(&mut next, FAILED, &reason, &message, now);
            }
        }
    }
    next
}

fn true_condition<'a>(status: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    status
        .conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == type_ && c.status == TRUE)
}

fn is_true(status: &JobStatus, type_: &str) -> bool {
    true_condition(status, type_).is_some()
}

/// Makes condition `type_` True and returns its reason and message. One already True is kept as it is
/// (times, reason, message); one present with another status is replaced in place; otherwise appended.
fn ensure_true(
    status: &mut JobStatus,
    type_: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> (String, String) {
    if let Some(c) = true_condition(status, type_) {
        return (
            c.reason.clone().unwrap_or_default(),
            c.message.clone().unwrap_or_default(),
        );
    }
    let condition = JobCondition {
        type_: type_.to_owned(),
        status: TRUE.to_owned(),
        reason: nonempty(reason),
        message: nonempty(message),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => *existing = condition,
        None => conditions.push(condition),
    }
    (reason.to_owned(), message.to_owned())
}

/// The apiserver omits zero `active`, `succeeded` and `failed` (and empty strings): written the same way,
/// a status read back compares equal to the one computed from it.
fn nonzero(n: i32) -> Option<i32> {
    (n != 0).then_some(n)
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// Times are serialized in whole seconds; computing them so keeps a status equal to its read-back.
fn whole_seconds(t: SystemTime) -> Timestamp {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    Timestamp::from_second(secs).unwrap_or(Timestamp::MAX)
}

fn whole_seconds_of(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second()).unwrap_or(t)
}

#[cfg(test)]
mod tests;
