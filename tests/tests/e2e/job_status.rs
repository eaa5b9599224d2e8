//! The Job statuses ecs-controller computes (`job_status`, docs/jobs-status.md) are accepted by the real
//! 1.35 apiserver, step by step, for Jobs with `spec.managedBy` set: success with parallelism 2, failure
//! by backoff limit, deadline exceeded, and an outcome that arrives with nothing active (the interim and
//! the terminal condition in one write). Each step is a replace of `/status` from the status read back,
//! and the read-back status must be what was written and a fixed point of `job_status`. Statuses a naive
//! mapping would write are shown to be rejected, so these tests can fail. No controller runs: the
//! apiserver's validation is what is tested.

use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::testing::{Outcome, Run, is_finished, job_status, reasons};
use ecs_controller_e2e::harness::{TestNamespace, kube};
use k8s_openapi::api::batch::v1::{Job, JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use std::time::{Duration, SystemTime};

const MANAGED_BY: &str = "ecs.kubefargate.dev/fargate";

/// A Job the built-in Job controller skips, with `extra` merged into its spec.
async fn create_job(api: &Api<Job>, name: &str, extra: serde_json::Value) -> Result<Job> {
    let mut spec = serde_json::json!({
        "managedBy": MANAGED_BY,
        "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "public.ecr.aws/docker/library/busybox:1.37"}],
        }},
    });
    if let (Some(base), serde_json::Value::Object(extra)) = (spec.as_object_mut(), extra) {
        base.extend(extra);
    }
    let job: Job = serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "spec": spec}))?;
    let created = api.create(&PostParams::default(), &job).await?;
    let managed_by = created.spec.as_ref().and_then(|s| s.managed_by.as_deref());
    ensure!(
        managed_by == Some(MANAGED_BY),
        "spec.managedBy was not kept: {managed_by:?}"
    );
    Ok(created)
}

/// Now, as the caller hands it over: RFC 3339 in whole seconds.
fn start_time() -> Result<String> {
    Ok(Timestamp::from_second(Timestamp::now().as_second())?.to_string())
}

/// Replaces the Job's status with `status` (from the Job as it is now).
async fn put_status(api: &Api<Job>, name: &str, status: JobStatus) -> Result<JobStatus, kube::Error> {
    let mut job = api.get_status(name).await?;
    job.status = Some(status);
    let written = api.replace_status(name, &PostParams::default(), &job).await?;
    Ok(written.status.unwrap_or_default())
}

/// One step: the next status for `run`, written; the apiserver must accept it and return it unchanged,
/// and computing it again from what was read back must change nothing.
async fn step(api: &Api<Job>, name: &str, what: &str, run: &Run) -> Result<JobStatus> {
    let current = api.get_status(name).await?.status;
    let now = SystemTime::now();
    let next = job_status(current.as_ref(), run, now);
    let back = put_status(api, name, next.clone())
        .await
        .with_context(|| format!("{name}: the apiserver rejected step {what:?}: {next:?}"))?;
    ensure!(
        back == next,
        "{name} {what}: read back {back:?}\n  wrote {next:?}"
    );
    let again = job_status(Some(&back), run, now + Duration::from_secs(60));
    ensure!(again == back, "{name} {what}: not a fixed point: {again:?}");
    Ok(back)
}

fn types(s: &JobStatus) -> Vec<&str> {
    s.conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| c.type_.as_str())
        .collect()
}

fn condition<'a>(s: &'a JobStatus, type_: &str) -> Result<&'a JobCondition> {
    s.conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == type_)
        .with_context(|| format!("no {type_} condition in {s:?}"))
}

fn failed(reason: &str, message: &str) -> Option<Outcome> {
    Some(Outcome::Failed {
        reason: reason.into(),
        message: message.into(),
    })
}

#[tokio::test]
async fn job_status_success_with_parallelism_2_is_accepted_step_by_step() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "job-status").await?;
    let api: Api<Job> = ns.api();
    create_job(&api, "ok", serde_json::json!({"parallelism": 2})).await?;
    let start = Some(start_time()?);
    let run = |active, ready, terminating, succeeded, outcome| Run {
        start_time: start.clone(),
        active,
        ready,
        terminating,
        succeeded,
        failed: 0,
        outcome,
    };

    let s = step(&api, "ok", "launched", &run(2, 0, 0, 0, None)).await?;
    ensure!(s.start_time.is_some() && s.conditions.is_none());
    step(&api, "ok", "running", &run(2, 2, 0, 0, None)).await?;
    step(&api, "ok", "one done", &run(1, 1, 0, 1, None)).await?;
    let s = step(
        &api,
        "ok",
        "other stopping",
        &run(0, 0, 1, 1, Some(Outcome::Succeeded)),
    )
    .await?;
    ensure!(
        types(&s) == ["SuccessCriteriaMet"] && s.terminating == Some(1),
        "{s:?}"
    );
    ensure!(s.completion_time.is_none() && !is_finished(Some(&s)));
    let s = step(
        &api,
        "ok",
        "all stopped",
        &run(0, 0, 0, 1, Some(Outcome::Succeeded)),
    )
    .await?;
    ensure!(types(&s) == ["SuccessCriteriaMet", "Complete"], "{s:?}");
    ensure!(condition(&s, "Complete")?.reason.as_deref() == Some(reasons::COMPLETIONS_REACHED));
    ensure!(
        s.completion_time.is_some() && s.completion_time >= s.start_time,
        "{s:?}"
    );
    ensure!(is_finished(Some(&s)));
    // Finished: whatever the run says now, the status stays.
    step(
        &api,
        "ok",
        "after finishing",
        &run(1, 1, 1, 0, failed(reasons::DEADLINE_EXCEEDED, "late")),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn job_status_failure_by_backoff_limit_is_accepted_step_by_step() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "job-status").await?;
    let api: Api<Job> = ns.api();
    create_job(
        &api,
        "backoff",
        serde_json::json!({"parallelism": 2, "backoffLimit": 1}),
    )
    .await?;
    let start = Some(start_time()?);
    let run = |active, ready, terminating, failed, outcome| Run {
        start_time: start.clone(),
        active,
        ready,
        terminating,
        succeeded: 0,
        failed,
        outcome,
    };
    let why = "Job has reached the specified backoff limit";

    step(&api, "backoff", "running", &run(2, 2, 0, 0, None)).await?;
    step(&api, "backoff", "one failed, retried", &run(2, 1, 0, 1, None)).await?;
    let s = step(
        &api,
        "backoff",
        "limit passed, other stopping",
        &run(0, 0, 1, 2, failed(reasons::BACKOFF_LIMIT_EXCEEDED, why)),
    )
    .await?;
    ensure!(types(&s) == ["FailureTarget"], "{s:?}");
    let s = step(
        &api,
        "backoff",
        "all stopped",
        &run(0, 0, 0, 2, failed(reasons::BACKOFF_LIMIT_EXCEEDED, why)),
    )
    .await?;
    ensure!(types(&s) == ["FailureTarget", "Failed"], "{s:?}");
    let f = condition(&s, "Failed")?;
    ensure!(
        f.reason.as_deref() == Some(reasons::BACKOFF_LIMIT_EXCEEDED) && f.message.as_deref() == Some(why)
    );
    ensure!(s.completion_time.is_none() && s.failed == Some(2) && is_finished(Some(&s)));
    Ok(())
}

#[tokio::test]
async fn job_status_deadline_exceeded_is_accepted_step_by_step() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "job-status").await?;
    let api: Api<Job> = ns.api();
    create_job(&api, "deadline", serde_json::json!({"activeDeadlineSeconds": 1})).await?;
    let start = Some(start_time()?);
    let run = |active, ready, terminating, outcome| Run {
        start_time: start.clone(),
        active,
        ready,
        terminating,
        succeeded: 0,
        failed: 0,
        outcome,
    };
    let why = "Job was active longer than specified deadline";

    step(&api, "deadline", "running", &run(1, 1, 0, None)).await?;
    let s = step(
        &api,
        "deadline",
        "stopping",
        &run(0, 0, 1, failed(reasons::DEADLINE_EXCEEDED, why)),
    )
    .await?;
    ensure!(types(&s) == ["FailureTarget"], "{s:?}");
    let s = step(
        &api,
        "deadline",
        "stopped",
        &run(0, 0, 0, failed(reasons::DEADLINE_EXCEEDED, why)),
    )
    .await?;
    ensure!(types(&s) == ["FailureTarget", "Failed"], "{s:?}");
    ensure!(condition(&s, "Failed")?.reason.as_deref() == Some(reasons::DEADLINE_EXCEEDED));
    ensure!(s.completion_time.is_none() && is_finished(Some(&s)));
    Ok(())
}

#[tokio::test]
async fn job_status_outcome_with_nothing_active_writes_both_conditions_in_one_accepted_write() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "job-status").await?;
    let api: Api<Job> = ns.api();
    create_job(&api, "quick", serde_json::json!({})).await?;
    create_job(&api, "policy", serde_json::json!({})).await?;
    let start = Some(start_time()?);

    // The first status write of each Job finishes it (the task ran and stopped between two polls).
    let run = Run {
        start_time: start.clone(),
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..Run::default()
    };
    let s = step(&api, "quick", "done", &run).await?;
    ensure!(types(&s) == ["SuccessCriteriaMet", "Complete"], "{s:?}");
    ensure!(s.start_time.is_some() && s.completion_time.is_some() && is_finished(Some(&s)));

    let outcome = failed(
        reasons::POD_FAILURE_POLICY,
        "Container main exited with code 42 (FailJob)",
    );
    let run = Run {
        start_time: start,
        failed: 1,
        outcome,
        ..Run::default()
    };
    let s = step(&api, "policy", "failed", &run).await?;
    ensure!(types(&s) == ["FailureTarget", "Failed"], "{s:?}");
    ensure!(condition(&s, "Failed")?.reason.as_deref() == Some(reasons::POD_FAILURE_POLICY));
    ensure!(s.completion_time.is_none() && is_finished(Some(&s)));
    Ok(())
}

/// What a naive mapping would write at the end of a run, and the apiserver's answer.
struct Naive {
    what: &'static str,
    status: JobStatus,
    rejected_with: &'static str,
}

fn true_condition(type_: &str, reason: &str, at: &Time) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        last_transition_time: Some(at.clone()),
        ..JobCondition::default()
    }
}

#[tokio::test]
async fn job_status_naive_statuses_are_rejected_and_ours_accepted() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "job-status").await?;
    let api: Api<Job> = ns.api();
    create_job(&api, "naive", serde_json::json!({"parallelism": 2})).await?;
    let start = Some(start_time()?);
    let running = step(
        &api,
        "naive",
        "running",
        &Run {
            start_time: start.clone(),
            active: 2,
            ready: 2,
            ..Run::default()
        },
    )
    .await?;

    let now = Time(Timestamp::from_second(Timestamp::now().as_second())?);
    let ended = |conditions: Vec<JobCondition>, completion: Option<Time>, terminating: i32| JobStatus {
        active: None,
        ready: Some(0),
        terminating: Some(terminating),
        succeeded: Some(1),
        conditions: Some(conditions),
        completion_time: completion,
        ..running.clone()
    };
    let naive = [
        Naive {
            what: "Complete without SuccessCriteriaMet",
            status: ended(
                vec![true_condition("Complete", reasons::COMPLETIONS_REACHED, &now)],
                Some(now.clone()),
                0,
            ),
            rejected_with: "cannot set Complete=True condition without the SuccessCriteriaMet=true condition",
        },
        Naive {
            what: "Failed without FailureTarget",
            status: ended(
                vec![true_condition("Failed", reasons::BACKOFF_LIMIT_EXCEEDED, &now)],
                None,
                0,
            ),
            rejected_with: "cannot set Failed=True condition without the FailureTarget=true condition",
        },
        Naive {
            what: "completionTime on a failed Job",
            status: ended(
                vec![
                    true_condition("FailureTarget", reasons::BACKOFF_LIMIT_EXCEEDED, &now),
                    true_condition("Failed", reasons::BACKOFF_LIMIT_EXCEEDED, &now),
                ],
                Some(now.clone()),
                0,
            ),
            rejected_with: "cannot set completionTime when there is no Complete=True condition",
        },
        Naive {
            what: "Complete while a task is still stopping",
            status: ended(
                vec![
                    true_condition("SuccessCriteriaMet", reasons::COMPLETIONS_REACHED, &now),
                    true_condition("Complete", reasons::COMPLETIONS_REACHED, &now),
                ],
                Some(now.clone()),
                1,
            ),
            rejected_with: "terminating>0 is invalid for finished job",
        },
    ];
    let mut failures = Vec::new();
    for n in naive {
        match put_status(&api, "naive", n.status).await {
            Ok(s) => failures.push(format!("{}: accepted: {s:?}", n.what)),
            Err(kube::Error::Api(e)) => {
                println!("{}: HTTP {} {}: {}", n.what, e.code, e.reason, e.message);
                if e.code != 422 || !e.message.contains(n.rejected_with) {
                    failures.push(format!(
                        "{}: {:?} not in HTTP {} {}",
                        n.what, n.rejected_with, e.code, e.message
                    ));
                }
            }
            Err(e) => bail!("{}: {e}", n.what),
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));

    // The same ends through job_status are accepted: the success of the second row, then Complete.
    let run = Run {
        start_time: start,
        succeeded: 1,
        terminating: 1,
        outcome: Some(Outcome::Succeeded),
        ..Run::default()
    };
    let s = step(&api, "naive", "stopping", &run).await?;
    ensure!(types(&s) == ["SuccessCriteriaMet"], "{s:?}");
    let s = step(
        &api,
        "naive",
        "stopped",
        &Run {
            terminating: 0,
            ..run
        },
    )
    .await?;
    ensure!(is_finished(Some(&s)));
    Ok(())
}
