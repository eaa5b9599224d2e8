//! The plan of a FargateTask on AWS-shaped answers: tasks built with the SDK's own builders as
//! DescribeTasks and RunTask return them, including what moto cannot produce (exit codes, stop codes,
//! TaskFailedToStart, a task ECS no longer knows).

use super::*;
use crate::api::task::{ExitCodeRule, FailurePolicyRule};
use aws_sdk_ecs::primitives::DateTime;
use sdk::TaskStopCode as Stop;

const UID: &str = "0f5e2b8c-1d3a-4e6f-9a7b-2c4d6e8f0a1b";
/// [`UID`] without its dashes, as ECS `startedBy` gets it.
const STARTED_BY: &str = "0f5e2b8c1d3a4e6f9a7b2c4d6e8f0a1b";
const CLUSTER: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/batch";
const TD: &str = "arn:aws:ecs:us-east-1:123456789012:task-definition/report:3";
const LOG_GROUP: &str = "/ecs/report";
/// 2026-01-01T00:00:00Z: every time of these tests is a whole number of seconds after it.
const T0: u64 = 1_767_225_600;

const TASK_A: &str = "5e1a9c0b7d2f4e6a8b3c1d0e9f8a7b6c";
const TASK_B: &str = "7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";
const TASK_C: &str = "c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8";
const TASK_D: &str = "d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn aws_at(secs: u64) -> DateTime {
    DateTime::from_secs(i64::try_from(T0 + secs).expect("fits"))
}

fn arn(id: &str) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task/batch/{id}")
}

/// A FargateTask `jobs/report` with `extra` merged into a minimal spec.
fn obj_with(extra: serde_json::Value) -> FargateTask {
    let mut spec = serde_json::json!({
        "clusterRef": {"name": "batch"},
        "taskDefinitionRef": {"name": "report"},
    });
    if let (Some(base), serde_json::Value::Object(extra)) = (spec.as_object_mut(), extra) {
        base.extend(extra);
    }
    let mut o = FargateTask::new("report", serde_json::from_value(spec).expect("spec parses"));
    o.metadata.namespace = Some("jobs".into());
    o.metadata.uid = Some(UID.into());
    o.metadata.generation = Some(1);
    o
}

fn obj() -> FargateTask {
    obj_with(serde_json::json!({}))
}

// ---- ECS answers ----------------------------------------------------------------------------------

fn container(name: &str, exit_code: Option<i32>) -> sdk::Container {
    sdk::Container::builder()
        .name(name)
        .set_exit_code(exit_code)
        .last_status(if exit_code.is_some() { "STOPPED" } else { "RUNNING" })
        .build()
}

/// A task as DescribeTasks returns it while it runs.
fn running(id: &str) -> sdk::Task {
    sdk::Task::builder()
        .task_arn(arn(id))
        .cluster_arn(CLUSTER)
        .task_definition_arn(TD)
        .started_by(STARTED_BY)
        .last_status("RUNNING")
        .desired_status("RUNNING")
        .launch_type(sdk::LaunchType::Fargate)
        .started_at(aws_at(20))
        .containers(container("app", None))
        .containers(container("log-router", None))
        .build()
}

/// A STOPPED task as DescribeTasks returns it; `containers` are names and exit codes.
fn stopped(id: &str, code: Option<Stop>, reason: &str, containers: &[(&str, Option<i32>)]) -> sdk::Task {
    sdk::Task::builder()
        .task_arn(arn(id))
        .cluster_arn(CLUSTER)
        .task_definition_arn(TD)
        .started_by(STARTED_BY)
        .last_status("STOPPED")
        .desired_status("STOPPED")
        .launch_type(sdk::LaunchType::Fargate)
        .set_stop_code(code)
        .stopped_reason(reason)
        .started_at(aws_at(20))
        .stopped_at(aws_at(80))
        .set_containers(Some(
            containers
                .iter()
                .map(|(name, exit)| container(name, *exit))
                .collect(),
        ))
        .build()
}

/// What real ECS answers for a task whose only essential container exited.
fn exited(id: &str, app: i32, sidecar: Option<i32>) -> sdk::Task {
    stopped(
        id,
        Some(Stop::EssentialContainerExited),
        "Essential container in task exited",
        &[("app", Some(app)), ("log-router", sidecar)],
    )
}

fn app_only() -> Vec<String> {
    vec!["app".into()]
}

// ---- Failure policies -----------------------------------------------------------------------------

fn on_stop_codes(action: FailureAction, codes: &[&str]) -> FailurePolicyRule {
    FailurePolicyRule {
        action,
        on_stop_codes: Some(codes.iter().map(|c| (*c).to_string()).collect()),
        on_exit_codes: None,
    }
}

fn on_exit_codes(
    action: FailureAction,
    container: Option<&str>,
    operator: ExitCodeOperator,
    values: &[i32],
) -> FailurePolicyRule {
    FailurePolicyRule {
        action,
        on_stop_codes: None,
        on_exit_codes: Some(ExitCodeRule {
            container_name: container.map(str::to_string),
            operator,
            values: values.to_vec(),
        }),
    }
}

fn policy(rules: Vec<FailurePolicyRule>) -> FailurePolicy {
    FailurePolicy { rules }
}

// ---- Statuses -------------------------------------------------------------------------------------

/// The revision pinned as the driver pins it: `app` (essential, awslogs with a stream prefix) and a
/// `log-router` sidecar (not essential, no awslogs).
fn pinned() -> FargateTaskStatus {
    let facts = [
        ContainerFacts {
            name: "app".into(),
            essential: true,
            awslogs: Some((LOG_GROUP.into(), Some("report".into()))),
        },
        ContainerFacts {
            name: "log-router".into(),
            essential: false,
            awslogs: None,
        },
    ];
    pin(FargateTaskStatus::default(), TD, &facts, at(0))
}

fn attempt(id: &str, last_status: &str) -> Attempt {
    Attempt {
        task_arn: arn(id),
        client_token: Some(format!("{UID}-1")),
        last_status: last_status.into(),
        ..Attempt::default()
    }
}

fn stopped_attempt(id: &str, outcome: &str) -> Attempt {
    Attempt {
        outcome: Some(outcome.into()),
        ..attempt(id, "STOPPED")
    }
}

/// A run started at `at(0)` by one launch, with these tasks running.
fn running_status(ids: &[&str]) -> FargateTaskStatus {
    FargateTaskStatus {
        phase: Some(Phase::Running),
        start_time: Some(rfc3339(at(0))),
        started_by: Some(STARTED_BY.into()),
        cluster_arn: Some(CLUSTER.into()),
        region: Some("us-east-1".into()),
        launches: 1,
        active: i32::try_from(ids.len()).expect("few"),
        attempts: ids.iter().map(|id| attempt(id, "RUNNING")).collect(),
        ..pinned()
    }
}

fn quiet(status: FargateTaskStatus) -> Observed {
    Observed {
        status,
        notes: Vec::new(),
        fail_now: None,
    }
}

fn reasons_of(notes: &[Note]) -> Vec<&'static str> {
    notes.iter().map(|n| n.reason).collect()
}

fn report(next: Next) -> Applied<FargateTaskStatus> {
    match next {
        Next::Report(applied) => applied,
        Next::Stop { arns, .. } => panic!("expected a report, got a stop of {arns:?}"),
    }
}

fn stop(next: Next) -> (Vec<String>, String, Applied<FargateTaskStatus>) {
    match next {
        Next::Stop { arns, reason, then } => (arns, reason, then),
        Next::Report(a) => panic!("expected a stop, got a report in {:?}", a.state),
    }
}

fn state_reason(state: &State) -> &'static str {
    match state {
        State::Ready { reason, .. }
        | State::InProgress { reason, .. }
        | State::Waiting { reason, .. }
        | State::Failed { reason, .. } => reason,
    }
}

fn recheck_of(state: &State) -> Option<Duration> {
    match state {
        State::InProgress { recheck, .. } | State::Waiting { recheck, .. } => Some(*recheck),
        State::Ready { .. } | State::Failed { .. } => None,
    }
}

fn only_condition(a: &Applied<FargateTaskStatus>) -> &Condition {
    match a.extra_conditions.as_slice() {
        [c] => c,
        other => panic!("expected one extra condition, got {other:?}"),
    }
}

// ---- classify ---------------------------------------------------------------------------------------

#[test]
fn a_task_whose_essential_container_exited_0_succeeded() {
    let t = exited(TASK_A, 0, Some(0));
    assert_eq!(classify(&t, &app_only(), None), Verdict::Succeeded);
}

#[test]
fn without_a_stop_code_as_moto_answers_a_clean_exit_still_succeeds() {
    let t = stopped(TASK_A, None, "", &[("app", Some(0))]);
    assert_eq!(classify(&t, &app_only(), None), Verdict::Succeeded);
}

#[test]
fn every_essential_container_must_exit_0() {
    let t = stopped(
        TASK_A,
        Some(Stop::EssentialContainerExited),
        "Essential container in task exited",
        &[("migrate", Some(0)), ("app", Some(2))],
    );
    let both = ["migrate".to_string(), "app".to_string()];
    assert!(
        matches!(classify(&t, &both, None), Verdict::Failed(m) if m.contains("app exited 2")),
        "one essential container exiting 2 fails the task"
    );
    let no_exit_code = stopped(
        TASK_A,
        Some(Stop::EssentialContainerExited),
        "Essential container in task exited",
        &[("app", None)],
    );
    assert!(
        matches!(classify(&no_exit_code, &app_only(), None), Verdict::Failed(_)),
        "an essential container without an exit code is no success"
    );
}

#[test]
fn a_non_essential_sidecar_killed_with_137_does_not_fail_the_task() {
    let t = exited(TASK_A, 0, Some(137));
    assert_eq!(classify(&t, &app_only(), None), Verdict::Succeeded);
    // The same answer when every container counts (no essential list known): the sidecar fails it.
    assert!(
        matches!(classify(&t, &[], None), Verdict::Failed(m) if m.contains("log-router exited 137")),
        "without the essential list every container must exit 0"
    );
}

#[test]
fn a_non_zero_exit_of_the_essential_container_is_a_counted_failure() {
    let t = exited(TASK_A, 1, Some(0));
    match classify(&t, &app_only(), None) {
        Verdict::Failed(m) => {
            assert!(m.contains("EssentialContainerExited"), "{m}");
            assert!(m.contains("app exited 1"), "{m}");
        }
        other => panic!("expected a counted failure, got {other:?}"),
    }
}

#[test]
fn a_spot_interruption_is_ignored_by_an_ignore_rule_on_its_stop_code() {
    let t = stopped(
        TASK_A,
        Some(Stop::SpotInterruption),
        "Your Spot Task was interrupted.",
        &[("app", Some(143)), ("log-router", Some(0))],
    );
    let p = policy(vec![on_stop_codes(FailureAction::Ignore, &["SpotInterruption"])]);
    let verdict = classify(&t, &app_only(), Some(&p));
    assert!(
        matches!(&verdict, Verdict::Ignored(m) if m.contains("SpotInterruption")),
        "{verdict:?}"
    );
}

#[test]
fn a_spot_interruption_without_a_rule_for_it_is_a_counted_failure() {
    // Even when the app handled SIGTERM and exited 0: the task did not end by itself.
    let t = stopped(
        TASK_A,
        Some(Stop::SpotInterruption),
        "Your Spot Task was interrupted.",
        &[("app", Some(0))],
    );
    assert!(matches!(classify(&t, &app_only(), None), Verdict::Failed(_)));
    let other_code = policy(vec![on_stop_codes(FailureAction::Ignore, &["TerminationNotice"])]);
    assert!(matches!(
        classify(&t, &app_only(), Some(&other_code)),
        Verdict::Failed(_)
    ));
}

#[test]
fn a_fail_task_rule_on_exit_42_of_app_matches_only_that_container_and_code() {
    let p = policy(vec![on_exit_codes(
        FailureAction::FailTask,
        Some("app"),
        ExitCodeOperator::In,
        &[42],
    )]);
    let app_42 = exited(TASK_A, 42, Some(0));
    let verdict = classify(&app_42, &app_only(), Some(&p));
    assert!(
        matches!(&verdict, Verdict::FailTask(m) if m.contains("app exited 42")),
        "{verdict:?}"
    );
    let app_43 = exited(TASK_A, 43, Some(0));
    assert!(matches!(
        classify(&app_43, &app_only(), Some(&p)),
        Verdict::Failed(_)
    ));
    // 42 from the sidecar while the app failed with 1: the rule names the app only.
    let sidecar_42 = exited(TASK_A, 1, Some(42));
    assert!(matches!(
        classify(&sidecar_42, &app_only(), Some(&p)),
        Verdict::Failed(_)
    ));
}

#[test]
fn a_not_in_rule_matches_an_exit_code_outside_its_values() {
    let p = policy(vec![on_exit_codes(
        FailureAction::FailTask,
        Some("app"),
        ExitCodeOperator::NotIn,
        &[1, 2],
    )]);
    let t = stopped(
        TASK_A,
        Some(Stop::EssentialContainerExited),
        "",
        &[("app", Some(3))],
    );
    assert!(matches!(
        classify(&t, &app_only(), Some(&p)),
        Verdict::FailTask(_)
    ));
    let retryable = stopped(
        TASK_A,
        Some(Stop::EssentialContainerExited),
        "",
        &[("app", Some(2))],
    );
    assert!(matches!(
        classify(&retryable, &app_only(), Some(&p)),
        Verdict::Failed(_)
    ));
}

#[test]
fn a_container_that_exited_0_does_not_satisfy_a_not_in_rule() {
    // "Fail the run on any exit code but the retryable 1": the app exits 1, and the log router,
    // stopped with the task, exits 0 on SIGTERM. Kubernetes leaves containers that exited 0 out of
    // onExitCodes, so this is one counted failure, retried; here the 0 matches NotIn [1].
    let p = policy(vec![on_exit_codes(
        FailureAction::FailTask,
        None,
        ExitCodeOperator::NotIn,
        &[1],
    )]);
    let t = exited(TASK_A, 1, Some(0));
    let verdict = classify(&t, &app_only(), Some(&p));
    assert!(matches!(verdict, Verdict::Failed(_)), "{verdict:?}");
}

#[test]
fn a_task_that_failed_to_start_for_lack_of_capacity_is_a_capacity_shortage() {
    const NO_FARGATE: &str =
        "Capacity is unavailable at this time. Please try again later or in a different availability zone";
    for reason in ["RESOURCE:MEMORY", NO_FARGATE] {
        let t = stopped(TASK_A, Some(Stop::TaskFailedToStart), reason, &[("app", None)]);
        // Even a rule that would fail the run on TaskFailedToStart does not apply to a shortage.
        let p = policy(vec![on_stop_codes(
            FailureAction::FailTask,
            &["TaskFailedToStart"],
        )]);
        let verdict = classify(&t, &app_only(), Some(&p));
        assert!(
            matches!(&verdict, Verdict::NoCapacity(m) if m.contains(reason)),
            "{reason}: {verdict:?}"
        );
    }
}

#[test]
fn a_task_that_failed_to_start_on_an_image_pull_error_is_a_counted_failure() {
    let t = stopped(
        TASK_A,
        Some(Stop::TaskFailedToStart),
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref \
         123456789012.dkr.ecr.us-east-1.amazonaws.com/report:v9: not found",
        &[("app", None)],
    );
    let verdict = classify(&t, &app_only(), None);
    assert!(
        matches!(&verdict, Verdict::Failed(m) if m.contains("CannotPullContainerError")),
        "{verdict:?}"
    );
}

#[test]
fn the_first_matching_rule_wins() {
    // Interrupted on Spot while the app was killed: both rules match.
    let t = stopped(
        TASK_A,
        Some(Stop::SpotInterruption),
        "Your Spot Task was interrupted.",
        &[("app", Some(137))],
    );
    let ignore = on_stop_codes(FailureAction::Ignore, &["SpotInterruption"]);
    let fail = on_exit_codes(FailureAction::FailTask, Some("app"), ExitCodeOperator::In, &[137]);
    let count = on_exit_codes(FailureAction::Count, None, ExitCodeOperator::In, &[137]);
    let verdict = |rules: Vec<FailurePolicyRule>| classify(&t, &app_only(), Some(&policy(rules)));
    assert!(matches!(
        verdict(vec![ignore.clone(), fail.clone()]),
        Verdict::Ignored(_)
    ));
    assert!(matches!(
        verdict(vec![fail, ignore.clone()]),
        Verdict::FailTask(_)
    ));
    assert!(matches!(verdict(vec![count, ignore]), Verdict::Failed(_)));
}

// ---- observe ----------------------------------------------------------------------------------------

#[test]
fn a_task_described_running_updates_its_attempt_and_stays_active() {
    let mut status = running_status(&[TASK_A]);
    status.attempts[0].last_status = "PROVISIONING".into();
    let o = observe(&obj(), status, vec![(arn(TASK_A), Some(running(TASK_A)))], at(30));
    let a = &o.status.attempts[0];
    assert_eq!(a.last_status, "RUNNING");
    assert_eq!(a.outcome, None);
    assert_eq!(a.started_at.as_deref(), Some(rfc3339(at(20)).as_str()));
    assert_eq!(o.status.active, 1);
    assert_eq!((o.status.succeeded, o.status.failed, o.status.ignored), (0, 0, 0));
    assert_eq!(active_arns(&o.status), [arn(TASK_A)]);
    assert!(o.notes.is_empty());
    assert!(o.fail_now.is_none());
}

#[test]
fn a_task_stopped_with_success_is_counted_with_its_exit_code_and_log_stream() {
    let o = observe(
        &obj(),
        running_status(&[TASK_A, TASK_B]),
        vec![
            (arn(TASK_A), Some(exited(TASK_A, 0, Some(137)))),
            (arn(TASK_B), Some(running(TASK_B))),
        ],
        at(90),
    );
    assert_eq!(o.status.succeeded, 1);
    assert_eq!(o.status.failed, 0);
    assert_eq!(o.status.active, 1, "task B still runs");
    assert_eq!(o.status.last_exit_code, Some(0));
    assert_eq!(o.status.last_failure_time, None);
    let a = &o.status.attempts[0];
    assert_eq!(a.outcome.as_deref(), Some("Succeeded"));
    assert_eq!(a.last_status, "STOPPED");
    assert_eq!(a.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(
        a.stopped_reason.as_deref(),
        Some("Essential container in task exited")
    );
    assert_eq!(a.stopped_at.as_deref(), Some(rfc3339(at(80)).as_str()));
    let app = a
        .containers
        .iter()
        .find(|c| c.name == "app")
        .expect("app recorded");
    assert_eq!(app.exit_code, Some(0));
    assert_eq!(app.log_group.as_deref(), Some(LOG_GROUP));
    assert_eq!(
        app.log_stream.as_deref(),
        Some(format!("report/app/{TASK_A}").as_str())
    );
    let sidecar = a
        .containers
        .iter()
        .find(|c| c.name == "log-router")
        .expect("sidecar recorded");
    assert_eq!(sidecar.exit_code, Some(137));
    assert_eq!(
        (sidecar.log_group.as_deref(), sidecar.log_stream.as_deref()),
        (None, None),
        "the sidecar does not log with awslogs"
    );
    assert_eq!(reasons_of(&o.notes), [why::TASK_SUCCEEDED]);
    assert_eq!(o.notes[0].message, format!("task {TASK_A} succeeded"));
}

#[test]
fn a_task_stopped_with_a_failure_is_counted_and_the_backoff_starts() {
    let o = observe(
        &obj(),
        running_status(&[TASK_A]),
        vec![(arn(TASK_A), Some(exited(TASK_A, 3, Some(0))))],
        at(90),
    );
    assert_eq!((o.status.succeeded, o.status.failed), (0, 1));
    assert_eq!(
        o.status.last_exit_code,
        Some(3),
        "the app's code, not the sidecar's"
    );
    assert_eq!(
        o.status.last_failure_time.as_deref(),
        Some(rfc3339(at(90)).as_str())
    );
    assert_eq!(o.status.attempts[0].outcome.as_deref(), Some("Failed"));
    assert_eq!(o.status.active, 0);
    assert_eq!(reasons_of(&o.notes), [why::TASK_FAILED]);
}

#[test]
fn a_task_ecs_no_longer_knows_is_a_counted_failure_marked_missing() {
    let o = observe(
        &obj(),
        running_status(&[TASK_A, TASK_B]),
        vec![(arn(TASK_A), None), (arn(TASK_B), Some(running(TASK_B)))],
        at(90),
    );
    let a = &o.status.attempts[0];
    assert_eq!(a.last_status, "MISSING");
    assert_eq!(a.outcome.as_deref(), Some("Failed"));
    assert_eq!(o.status.failed, 1);
    assert_eq!(o.status.succeeded, 0);
    assert_eq!(
        o.status.last_failure_time.as_deref(),
        Some(rfc3339(at(90)).as_str())
    );
    assert_eq!(active_arns(&o.status), [arn(TASK_B)]);
    assert_eq!(reasons_of(&o.notes), [why::TASK_MISSING]);
}

#[test]
fn a_failure_the_policy_ignores_counts_in_ignored_not_failed() {
    let o = obj_with(serde_json::json!({
        "failurePolicy": {"rules": [{"action": "Ignore", "onStopCodes": ["SpotInterruption"]}]},
    }));
    let spot = stopped(
        TASK_A,
        Some(Stop::SpotInterruption),
        "Your Spot Task was interrupted.",
        &[("app", Some(143))],
    );
    let observed = observe(
        &o,
        running_status(&[TASK_A]),
        vec![(arn(TASK_A), Some(spot))],
        at(90),
    );
    assert_eq!(observed.status.ignored, 1);
    assert_eq!(observed.status.failed, 0);
    assert_eq!(
        observed.status.last_failure_time, None,
        "an ignored failure does not back off"
    );
    assert_eq!(observed.status.attempts[0].outcome.as_deref(), Some("Ignored"));
    assert_eq!(reasons_of(&observed.notes), [why::TASK_IGNORED]);
    assert!(observed.fail_now.is_none());
}

#[test]
fn a_task_that_could_not_start_for_capacity_counts_as_a_launch_failure() {
    let t = stopped(
        TASK_A,
        Some(Stop::TaskFailedToStart),
        "Capacity is unavailable at this time",
        &[("app", None)],
    );
    let o = observe(
        &obj(),
        running_status(&[TASK_A]),
        vec![(arn(TASK_A), Some(t))],
        at(90),
    );
    assert_eq!(o.status.launch_failures, 1);
    assert_eq!((o.status.failed, o.status.ignored), (0, 0));
    assert_eq!(
        o.status.last_failure_time.as_deref(),
        Some(rfc3339(at(90)).as_str())
    );
    assert_eq!(reasons_of(&o.notes), [why::LAUNCH_FAILED]);
}

#[test]
fn a_fail_task_rule_fails_the_run_and_stops_the_other_tasks() {
    let o = obj_with(serde_json::json!({
        "backoffLimit": 6,
        "failurePolicy": {"rules": [{
            "action": "FailTask",
            "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]},
        }]},
    }));
    let observed = observe(
        &o,
        running_status(&[TASK_A, TASK_B]),
        vec![
            (arn(TASK_A), Some(exited(TASK_A, 42, Some(0)))),
            (arn(TASK_B), Some(running(TASK_B))),
        ],
        at(90),
    );
    assert_eq!(observed.status.failed, 1);
    let fail_now = observed.fail_now.clone().expect("the rule fails the run");
    assert!(fail_now.contains(TASK_A), "{fail_now}");
    let (arns, _, then) = stop(next(&o, observed, at(90)));
    assert_eq!(arns, [arn(TASK_B)]);
    assert_eq!(then.status.phase, Some(Phase::Failed));
    assert_eq!(state_reason(&then.state), why::FAILURE_POLICY);
    let c = only_condition(&then);
    assert_eq!(
        (c.type_.as_str(), c.status, c.reason.as_str()),
        (FAILED, ConditionStatus::True, why::FAILURE_POLICY)
    );
}

#[test]
fn a_task_already_counted_is_not_counted_again() {
    let mut status = running_status(&[]);
    status.attempts.push(stopped_attempt(TASK_A, "Succeeded"));
    status.succeeded = 1;
    let o = observe(
        &obj(),
        status,
        vec![(arn(TASK_A), Some(exited(TASK_A, 0, None)))],
        at(90),
    );
    assert_eq!(o.status.succeeded, 1);
    assert!(o.notes.is_empty());
}

#[test]
fn trimming_keeps_every_running_attempt_and_the_newest_20_stopped() {
    let old: Vec<String> = (0..20).map(|n| format!("{n:032x}")).collect();
    let mut status = running_status(&[TASK_A]);
    status
        .attempts
        .extend(old.iter().map(|id| stopped_attempt(id, "Succeeded")));
    status.attempts.push(attempt(TASK_B, "RUNNING"));
    status.attempts.push(attempt(TASK_C, "RUNNING"));
    status.succeeded = 20;
    // Task C stops: 21 stopped attempts, one too many.
    let o = observe(
        &obj(),
        status,
        vec![
            (arn(TASK_A), Some(running(TASK_A))),
            (arn(TASK_B), Some(running(TASK_B))),
            (arn(TASK_C), Some(exited(TASK_C, 0, None))),
        ],
        at(90),
    );
    let kept: Vec<&str> = o.status.attempts.iter().map(|a| a.task_arn.as_str()).collect();
    let mut expected = vec![arn(TASK_A)];
    expected.extend(old[1..].iter().map(|id| arn(id)));
    expected.extend([arn(TASK_B), arn(TASK_C)]);
    assert_eq!(kept, expected, "the oldest stopped attempt goes");
    assert_eq!(
        o.status.attempts.iter().filter(|a| a.outcome.is_some()).count(),
        20
    );
    assert_eq!(o.status.succeeded, 21, "a trimmed attempt still counts");
    assert_eq!(o.status.active, 2);
}

// ---- launched -------------------------------------------------------------------------------------

fn provisioning(id: &str) -> sdk::Task {
    sdk::Task::builder()
        .task_arn(arn(id))
        .cluster_arn(CLUSTER)
        .task_definition_arn(TD)
        .started_by(STARTED_BY)
        .last_status("PROVISIONING")
        .desired_status("RUNNING")
        .containers(container("app", None))
        .build()
}

fn pending_status(count: i32) -> FargateTaskStatus {
    FargateTaskStatus {
        phase: Some(Phase::Pending),
        launches: 1,
        started_by: Some(STARTED_BY.into()),
        pending_launch: Some(PendingLaunch {
            client_token: format!("{UID}-1"),
            count,
        }),
        ..pinned()
    }
}

#[test]
fn launched_records_the_tasks_with_the_launch_token_and_starts_the_run() {
    let started = Started {
        tasks: vec![provisioning(TASK_A), provisioning(TASK_B)],
        failures: Vec::new(),
    };
    let (status, notes) = launched(pending_status(2), started, at(5));
    let arns: Vec<&str> = status.attempts.iter().map(|a| a.task_arn.as_str()).collect();
    assert_eq!(arns, [arn(TASK_A), arn(TASK_B)]);
    for a in &status.attempts {
        assert_eq!(a.client_token.as_deref(), Some(format!("{UID}-1").as_str()));
        assert_eq!(a.last_status, "PROVISIONING");
        assert_eq!(a.outcome, None);
        assert_eq!(
            a.containers[0].log_stream.as_deref(),
            Some(format!("report/app/{}", short_id(&a.task_arn)).as_str())
        );
    }
    assert_eq!(status.pending_launch, None);
    assert_eq!(
        status.start_time.as_deref(),
        Some(rfc3339(at(0)).as_str()),
        "the run started when it was pinned, not at its first launch"
    );
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.active, 2);
    assert_eq!(reasons_of(&notes), [why::TASK_STARTED, why::TASK_STARTED]);
    assert_eq!(notes[0].message, format!("started task {TASK_A}"));

    // A later launch keeps the run's start time.
    let mut later = status;
    later.pending_launch = Some(PendingLaunch {
        client_token: format!("{UID}-2"),
        count: 1,
    });
    let (later, _) = launched(
        later,
        Started {
            tasks: vec![provisioning(TASK_C)],
            failures: Vec::new(),
        },
        at(300),
    );
    assert_eq!(later.start_time.as_deref(), Some(rfc3339(at(0)).as_str()));
    assert_eq!(
        later.attempts[2].client_token.as_deref(),
        Some(format!("{UID}-2").as_str())
    );
    assert_eq!(later.active, 3);
}

#[test]
fn run_task_failures_count_as_launch_failures_and_start_the_backoff() {
    let started = Started {
        tasks: vec![provisioning(TASK_A)],
        failures: vec![
            ("RESOURCE:MEMORY".into(), String::new()),
            ("Capacity is unavailable at this time".into(), String::new()),
        ],
    };
    let (status, notes) = launched(pending_status(3), started, at(5));
    assert_eq!(status.launch_failures, 2);
    assert_eq!(status.failed, 0, "not counted against backoffLimit");
    assert_eq!(status.last_failure_time.as_deref(), Some(rfc3339(at(5)).as_str()));
    assert_eq!(status.pending_launch, None);
    assert_eq!(status.attempts.len(), 1);
    assert_eq!(reasons_of(&notes), [why::TASK_STARTED, why::LAUNCH_FAILED]);
    assert!(
        notes[1].message.contains("2 task(s)") && notes[1].message.contains("RESOURCE:MEMORY"),
        "{}",
        notes[1].message
    );
}

#[test]
fn a_launch_that_started_nothing_leaves_the_run_pending() {
    let started = Started {
        tasks: Vec::new(),
        failures: vec![("RESOURCE:MEMORY".into(), String::new())],
    };
    let (status, _) = launched(pending_status(1), started, at(5));
    assert_eq!(status.phase, Some(Phase::Pending));
    assert_eq!(status.start_time.as_deref(), Some(rfc3339(at(0)).as_str()));
    assert_eq!(status.active, 0);
}

#[test]
fn a_task_already_recorded_is_not_added_twice() {
    // After a restart ListTasks by startedBy finds every running task of the object, old ones too.
    let mut status = running_status(&[TASK_A]);
    status.pending_launch = Some(PendingLaunch {
        client_token: format!("{UID}-2"),
        count: 1,
    });
    let started = Started {
        tasks: vec![running(TASK_A), provisioning(TASK_B)],
        failures: Vec::new(),
    };
    let (status, notes) = launched(status, started, at(60));
    let arns: Vec<&str> = status.attempts.iter().map(|a| a.task_arn.as_str()).collect();
    assert_eq!(arns, [arn(TASK_A), arn(TASK_B)]);
    assert_eq!(
        status.attempts[0].client_token.as_deref(),
        Some(format!("{UID}-1").as_str()),
        "the first task keeps the token of its own launch"
    );
    assert_eq!(reasons_of(&notes), [why::TASK_STARTED]);
    assert_eq!(status.active, 2);
}

// ---- next -----------------------------------------------------------------------------------------

#[test]
fn the_first_launch_asks_for_parallelism_tasks_with_a_recorded_token() {
    let o = obj_with(serde_json::json!({"completions": 5, "parallelism": 3}));
    let a = report(next(&o, quiet(pinned()), at(0)));
    assert_eq!(
        a.status.pending_launch,
        Some(PendingLaunch {
            client_token: format!("{UID}-1"),
            count: 3,
        })
    );
    assert_eq!(a.status.launches, 1);
    assert_eq!(a.status.started_by.as_deref(), Some(STARTED_BY));
    assert_eq!(a.status.phase, Some(Phase::Pending));
    assert!(
        matches!(&a.state, State::InProgress { reason, recheck, .. }
            if *reason == why::LAUNCHING && recheck.is_zero()),
        "{:?}",
        a.state
    );
}

#[test]
fn a_launch_fills_only_what_parallelism_and_the_missing_completions_leave() {
    let o = obj_with(serde_json::json!({"completions": 5, "parallelism": 3}));
    let mut status = running_status(&[TASK_A, TASK_B]);
    status.attempts.push(stopped_attempt(TASK_C, "Succeeded"));
    status.attempts.push(stopped_attempt(TASK_D, "Succeeded"));
    status.succeeded = 2;
    let a = report(next(&o, quiet(status), at(60)));
    assert_eq!(
        a.status.pending_launch,
        Some(PendingLaunch {
            client_token: format!("{UID}-2"),
            count: 1,
        })
    );
    assert_eq!(a.status.phase, Some(Phase::Running));

    // Near the end the completions still missing bound the launch: 3 succeeded and 1 running
    // leave one task to launch, though parallelism allows two more.
    let mut status = running_status(&[TASK_A]);
    status.attempts.extend(
        [TASK_B, TASK_C, TASK_D]
            .iter()
            .map(|id| stopped_attempt(id, "Succeeded")),
    );
    status.succeeded = 3;
    let a = report(next(&o, quiet(status), at(60)));
    assert_eq!(a.status.pending_launch.map(|p| p.count), Some(1));
}

#[test]
fn no_launch_while_parallelism_is_used_up_the_running_tasks_are_polled() {
    let o = obj_with(serde_json::json!({"completions": 5, "parallelism": 2}));
    let a = report(next(&o, quiet(running_status(&[TASK_A, TASK_B])), at(60)));
    assert_eq!(a.status.pending_launch, None);
    assert_eq!(a.status.launches, 1);
    assert!(
        matches!(&a.state, State::InProgress { reason, recheck, .. }
            if *reason == why::RUNNING && *recheck == POLL),
        "{:?}",
        a.state
    );
}

#[test]
fn a_launch_asks_for_at_most_10_tasks() {
    let o = obj_with(serde_json::json!({"completions": 40, "parallelism": 25}));
    let a = report(next(&o, quiet(pinned()), at(0)));
    let pending = a.status.pending_launch.expect("a launch");
    assert_eq!(pending.count, 10);
    // With those 10 running, the next launch asks for 10 more.
    let mut status = running_status(&[]);
    status.attempts = (0..10)
        .map(|n| attempt(&format!("{n:032x}"), "RUNNING"))
        .collect();
    let a = report(next(&o, quiet(status), at(10)));
    assert_eq!(a.status.pending_launch.expect("a launch").count, 10);
}

#[test]
fn a_suspended_run_launches_nothing() {
    let o = obj_with(serde_json::json!({"completions": 3, "parallelism": 3, "suspend": true}));
    let a = report(next(&o, quiet(pinned()), at(0)));
    assert_eq!(a.status.pending_launch, None);
    assert_eq!(a.status.launches, 0);
    assert!(
        matches!(&a.state, State::Waiting { reason, .. } if *reason == why::SUSPENDED),
        "{:?}",
        a.state
    );
}

#[test]
fn after_a_counted_failure_the_next_launch_waits_10_seconds() {
    let mut status = running_status(&[]);
    status.attempts.push(stopped_attempt(TASK_A, "Failed"));
    status.failed = 1;
    status.last_failure_time = Some(rfc3339(at(100)));
    let a = report(next(&obj(), quiet(status.clone()), at(104)));
    assert_eq!(a.status.pending_launch, None, "backing off");
    assert_eq!(state_reason(&a.state), why::BACKING_OFF);
    assert_eq!(recheck_of(&a.state), Some(Duration::from_secs(6)));
    let a = report(next(&obj(), quiet(status), at(110)));
    assert_eq!(
        a.status.pending_launch,
        Some(PendingLaunch {
            client_token: format!("{UID}-2"),
            count: 1,
        })
    );
    assert_eq!(state_reason(&a.state), why::LAUNCHING);
}

#[test]
fn the_backoff_doubles_with_each_failure() {
    let mut status = running_status(&[]);
    status.failed = 1;
    status.launch_failures = 1;
    status.last_failure_time = Some(rfc3339(at(100)));
    let a = report(next(&obj(), quiet(status.clone()), at(115)));
    assert_eq!(state_reason(&a.state), why::BACKING_OFF, "two failures: 20 s");
    assert_eq!(recheck_of(&a.state), Some(Duration::from_secs(5)));
    let a = report(next(&obj(), quiet(status), at(120)));
    assert!(a.status.pending_launch.is_some());
}

#[test]
fn enough_successes_complete_the_run() {
    let o = obj_with(serde_json::json!({"completions": 2, "parallelism": 2}));
    let mut status = running_status(&[]);
    status.attempts = vec![
        stopped_attempt(TASK_A, "Succeeded"),
        stopped_attempt(TASK_B, "Failed"),
        stopped_attempt(TASK_C, "Succeeded"),
    ];
    status.succeeded = 2;
    status.failed = 1;
    let a = report(next(&o, quiet(status), at(133)));
    assert_eq!(a.status.phase, Some(Phase::Succeeded));
    assert_eq!(
        a.status.completion_time.as_deref(),
        Some(rfc3339(at(133)).as_str())
    );
    let duration = a.status.duration.as_deref().expect("a duration");
    assert_eq!(
        humantime::parse_duration(duration).expect("a duration humantime reads"),
        Duration::from_secs(133),
        "{duration}"
    );
    assert_eq!(a.status.active, 0);
    assert_eq!(a.status.pending_launch, None);
    assert!(
        matches!(&a.state, State::Ready { reason, .. } if *reason == why::COMPLETED),
        "{:?}",
        a.state
    );
    let c = only_condition(&a);
    assert_eq!(
        (c.type_.as_str(), c.status, c.reason.as_str(), c.message.as_str()),
        (
            COMPLETE,
            ConditionStatus::True,
            why::COMPLETED,
            "2 task(s) succeeded, 1 failed"
        )
    );
}

#[test]
fn more_failures_than_backoff_limit_fail_the_run_and_stop_the_running_tasks() {
    let o = obj_with(serde_json::json!({"completions": 3, "parallelism": 2, "backoffLimit": 1}));
    let mut status = running_status(&[TASK_A]);
    status.attempts.push(stopped_attempt(TASK_B, "Failed"));
    status.failed = 1;
    status.last_failure_time = Some(rfc3339(at(50)));
    // At the limit the run goes on.
    let a = report(next(&o, quiet(status.clone()), at(60)));
    assert_eq!(a.status.phase, Some(Phase::Running));

    status.attempts.push(stopped_attempt(TASK_C, "Failed"));
    status.failed = 2;
    let (arns, reason, then) = stop(next(&o, quiet(status), at(60)));
    assert_eq!(arns, [arn(TASK_A)]);
    assert!(reason.contains("FargateTask jobs/report"), "{reason}");
    assert_eq!(then.status.phase, Some(Phase::Failed));
    assert_eq!(
        then.state,
        State::Failed {
            reason: why::BACKOFF_LIMIT_EXCEEDED,
            message: "2 task(s) failed, more than backoffLimit 1".into(),
        }
    );
    let c = only_condition(&then);
    assert_eq!(
        (c.type_.as_str(), c.status, c.reason.as_str()),
        (FAILED, ConditionStatus::True, why::BACKOFF_LIMIT_EXCEEDED)
    );
    assert_eq!(then.status.attempts[0].outcome.as_deref(), Some("Stopped"));
    assert_eq!(then.status.active, 0);
    assert!(then.status.completion_time.is_some());
}

#[test]
fn past_the_active_deadline_the_run_stops_its_tasks_and_fails() {
    let o = obj_with(serde_json::json!({"activeDeadlineSeconds": 60}));
    // One second before the deadline the poll comes back at the deadline.
    let a = report(next(&o, quiet(running_status(&[TASK_A])), at(59)));
    assert_eq!(state_reason(&a.state), why::RUNNING);
    assert_eq!(recheck_of(&a.state), Some(Duration::from_secs(1)));

    let (arns, reason, then) = stop(next(&o, quiet(running_status(&[TASK_A])), at(61)));
    assert_eq!(arns, [arn(TASK_A)]);
    assert!(reason.contains("activeDeadlineSeconds"), "{reason}");
    assert_eq!(then.status.phase, Some(Phase::Failed));
    assert_eq!(state_reason(&then.state), why::DEADLINE_EXCEEDED);
    assert_eq!(only_condition(&then).reason, why::DEADLINE_EXCEEDED);
    assert_eq!(then.status.pending_launch, None);
}

#[test]
fn past_the_deadline_with_nothing_running_the_run_fails_without_a_stop() {
    let o = obj_with(serde_json::json!({"activeDeadlineSeconds": 60}));
    let mut status = running_status(&[]);
    status.attempts.push(stopped_attempt(TASK_A, "Failed"));
    status.failed = 1;
    status.last_failure_time = Some(rfc3339(at(55)));
    let a = report(next(&o, quiet(status), at(90)));
    assert_eq!(state_reason(&a.state), why::DEADLINE_EXCEEDED);
    assert_eq!(a.status.phase, Some(Phase::Failed));
}

#[test]
fn the_client_token_is_the_uid_and_launch_number_within_64_characters() {
    let mut long = obj();
    long.metadata.uid = Some("f".repeat(80));
    let a = report(next(&long, quiet(pinned()), at(0)));
    let token = a.status.pending_launch.expect("a launch").client_token;
    assert!(token.len() <= 64, "{} characters: {token}", token.len());

    let mut status = running_status(&[]);
    status.launches = 7;
    let a = report(next(&obj(), quiet(status), at(0)));
    let token = a.status.pending_launch.expect("a launch").client_token;
    assert_eq!(token, format!("{UID}-8"));
    assert!(token.len() <= 64);
}

// ---- finished -------------------------------------------------------------------------------------

fn succeeded_at(secs: u64) -> FargateTaskStatus {
    FargateTaskStatus {
        phase: Some(Phase::Succeeded),
        succeeded: 1,
        completion_time: Some(rfc3339(at(secs))),
        conditions: vec![Condition::new(
            COMPLETE,
            ConditionStatus::True,
            why::COMPLETED,
            "1 task(s) succeeded, 0 failed",
        )],
        ..running_status(&[])
    }
}

#[test]
fn a_run_still_going_is_not_finished() {
    assert!(finished(&obj(), &running_status(&[TASK_A]), at(10)).is_none());
    assert!(finished(&obj(), &FargateTaskStatus::default(), at(10)).is_none());
}

#[test]
fn a_succeeded_run_without_ttl_is_kept_without_a_recheck() {
    match finished(&obj(), &succeeded_at(100), at(5000)) {
        Some(Finished::Keep(a)) => {
            assert_eq!(a.recheck, None);
            assert_eq!(
                a.state,
                State::Ready {
                    reason: why::COMPLETED,
                    message: "1 task(s) succeeded, 0 failed".into(),
                }
            );
            assert_eq!(only_condition(&a).type_, COMPLETE);
        }
        other => panic!("expected Keep, got {other:?}"),
    }
}

#[test]
fn a_finished_run_is_kept_until_its_ttl_passed_then_expires() {
    let o = obj_with(serde_json::json!({"ttlSecondsAfterFinished": 100}));
    match finished(&o, &succeeded_at(100), at(130)) {
        Some(Finished::Keep(a)) => assert_eq!(a.recheck, Some(Duration::from_secs(70))),
        other => panic!("expected Keep, got {other:?}"),
    }
    for now in [200, 1000] {
        match finished(&o, &succeeded_at(100), at(now)) {
            Some(Finished::Expired(a)) => assert_eq!(state_reason(&a.state), why::COMPLETED),
            other => panic!("at {now}: expected Expired, got {other:?}"),
        }
    }
}

#[test]
fn a_failed_run_reports_its_failure_reason_again() {
    let status = FargateTaskStatus {
        phase: Some(Phase::Failed),
        failed: 0,
        completion_time: Some(rfc3339(at(61))),
        conditions: vec![Condition::new(
            FAILED,
            ConditionStatus::True,
            why::DEADLINE_EXCEEDED,
            "the run was active longer than activeDeadlineSeconds (60s)",
        )],
        ..running_status(&[])
    };
    match finished(&obj(), &status, at(500)) {
        Some(Finished::Keep(a)) => {
            assert_eq!(
                a.state,
                State::Failed {
                    reason: why::DEADLINE_EXCEEDED,
                    message: "the run was active longer than activeDeadlineSeconds (60s)".into(),
                }
            );
            assert_eq!(only_condition(&a).type_, FAILED);
        }
        other => panic!("expected Keep, got {other:?}"),
    }
}

// ---- removal --------------------------------------------------------------------------------------

#[test]
fn deletion_stops_the_running_tasks_and_waits_for_them() {
    let mut stopping = running(TASK_B);
    stopping.desired_status = Some("STOPPED".into());
    let seen = [
        (arn(TASK_A), Some(running(TASK_A))),
        (arn(TASK_B), Some(stopping)),
        (arn(TASK_C), Some(exited(TASK_C, 0, None))),
        (arn(TASK_D), None),
    ];
    let (to_stop, next) = removal(&obj(), &seen);
    assert_eq!(to_stop, [arn(TASK_A)], "B is already being stopped");
    assert_eq!(
        next,
        Cleanup::Wait {
            reason: why::STOPPING,
            message: "stopping 2 task(s) of FargateTask report; the object goes when they are STOPPED".into(),
            recheck: RECHECK_STOPPING,
        }
    );
}

#[test]
fn deletion_is_done_when_every_task_is_stopped_or_missing() {
    let seen = [(arn(TASK_C), Some(exited(TASK_C, 1, None))), (arn(TASK_D), None)];
    assert_eq!(removal(&obj(), &seen), (Vec::new(), Cleanup::Done));
}

// ---- request --------------------------------------------------------------------------------------

#[test]
fn the_run_task_request_carries_the_spec_the_ownership_tags_and_the_token() {
    let o = obj_with(serde_json::json!({
        "completions": 5,
        "parallelism": 3,
        "overrides": {
            "containerOverrides": [{
                "name": "app",
                "command": ["report", "--day", "2026-01-01"],
                "environment": [{"name": "MODE", "value": "full"}],
            }],
            "cpu": "1024",
            "memory": "2048",
            "taskRoleArn": "arn:aws:iam::123456789012:role/report-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/report-exec",
        },
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0e1f2a3b"], "assignPublicIp": "DISABLED",
        }},
        "capacityProviderStrategy": [
            {"capacityProvider": "FARGATE_SPOT", "weight": 3},
            {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        ],
        "platformVersion": "1.4.0",
        "propagateTags": "TASK_DEFINITION",
        "group": "nightly",
        "tags": [{"key": "team", "value": "data"}],
    }));
    let a = report(next(&o, quiet(pinned()), at(0)));
    let pending = a.status.pending_launch.clone().expect("a launch");
    let r = request(
        &o,
        &a.status,
        &pending,
        &Placed {
            cluster: CLUSTER.into(),
            region: "us-east-1".into(),
            task_definition: TD.into(),
            default_strategy: Vec::new(),
            ..Placed::default()
        },
    )
    .expect("a valid request");

    assert_eq!((r.cluster.as_str(), r.task_definition.as_str()), (CLUSTER, TD));
    assert_eq!(r.count, 3);
    assert_eq!(r.client_token, format!("{UID}-1"));
    assert_eq!(r.started_by, STARTED_BY);
    assert_eq!(r.started_by.len(), 32);
    assert_eq!(r.launch_type, None, "the strategy places the tasks");
    let strategy: Vec<(&str, i32, i32)> = r
        .capacity_provider_strategy
        .as_deref()
        .expect("a strategy")
        .iter()
        .map(|i| (i.capacity_provider(), i.weight(), i.base()))
        .collect();
    assert_eq!(strategy, [("FARGATE_SPOT", 3, 0), ("FARGATE", 1, 1)]);
    assert_eq!(r.platform_version.as_deref(), Some("1.4.0"));
    assert_eq!(r.propagate_tags, Some(sdk::PropagateTags::TaskDefinition));
    assert_eq!(r.group.as_deref(), Some("nightly"));

    let vpc = r
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration())
        .expect("awsvpc");
    assert_eq!(vpc.subnets(), ["subnet-0a1b2c3d"]);
    assert_eq!(vpc.security_groups(), ["sg-0e1f2a3b"]);
    assert_eq!(vpc.assign_public_ip(), Some(&sdk::AssignPublicIp::Disabled));

    let ov = r.overrides.as_ref().expect("overrides");
    assert_eq!((ov.cpu(), ov.memory()), (Some("1024"), Some("2048")));
    assert_eq!(
        ov.task_role_arn(),
        Some("arn:aws:iam::123456789012:role/report-task")
    );
    assert_eq!(
        ov.execution_role_arn(),
        Some("arn:aws:iam::123456789012:role/report-exec")
    );
    let [app] = ov.container_overrides() else {
        panic!("one container override: {:?}", ov.container_overrides());
    };
    assert_eq!(app.name(), Some("app"));
    assert_eq!(app.command(), ["report", "--day", "2026-01-01"]);
    let env: Vec<(Option<&str>, Option<&str>)> = app
        .environment()
        .iter()
        .map(|kv| (kv.name(), kv.value()))
        .collect();
    assert_eq!(env, [(Some("MODE"), Some("full"))]);

    let tags: Vec<(Option<&str>, Option<&str>)> = r.tags.iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(
        tags,
        [
            (Some("team"), Some("data")),
            (Some("ecs.kubefargate.dev/owner-uid"), Some(UID)),
            (Some("ecs.kubefargate.dev/namespace"), Some("jobs")),
            (Some("ecs.kubefargate.dev/name"), Some("report")),
        ]
    );
}

#[test]
fn a_minimal_spec_with_a_launch_type_asks_for_fargate_and_sends_no_overrides() {
    let o = obj_with(serde_json::json!({"launchType": "FARGATE"}));
    let pending = PendingLaunch {
        client_token: format!("{UID}-4"),
        count: 1,
    };
    // A status written before startedBy was recorded still gets the object's startedBy.
    let r = request(
        &o,
        &pinned(),
        &pending,
        &Placed {
            cluster: CLUSTER.into(),
            region: "us-east-1".into(),
            task_definition: TD.into(),
            default_strategy: Vec::new(),
            ..Placed::default()
        },
    )
    .expect("a valid request");
    assert_eq!(r.launch_type, Some(sdk::LaunchType::Fargate));
    assert!(r.capacity_provider_strategy.is_none());
    assert!(r.overrides.is_none());
    assert!(r.network_configuration.is_none());
    assert_eq!(r.started_by, STARTED_BY);
    assert_eq!(r.client_token, format!("{UID}-4"));
    assert_eq!(r.tags.len(), 3, "the ownership tags only");
}

// ---- pin / facts_of -------------------------------------------------------------------------------

fn awslogs(group: &str, prefix: Option<&str>) -> sdk::LogConfiguration {
    let b = sdk::LogConfiguration::builder()
        .log_driver(sdk::LogDriver::Awslogs)
        .options("awslogs-group", group)
        .options("awslogs-region", "us-east-1");
    let b = match prefix {
        Some(p) => b.options("awslogs-stream-prefix", p),
        None => b,
    };
    b.build().expect("a log configuration")
}

#[test]
fn facts_of_reads_essential_containers_and_awslogs_as_describe_task_definition_answers() {
    let defs = [
        // `essential` left out: ECS's default is true.
        sdk::ContainerDefinition::builder()
            .name("app")
            .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/report:v9")
            .log_configuration(awslogs(LOG_GROUP, Some("report")))
            .build(),
        sdk::ContainerDefinition::builder()
            .name("migrate")
            .essential(true)
            .log_configuration(awslogs("/ecs/migrate", None))
            .build(),
        sdk::ContainerDefinition::builder()
            .name("log-router")
            .essential(false)
            .log_configuration(
                sdk::LogConfiguration::builder()
                    .log_driver(sdk::LogDriver::Awsfirelens)
                    .options("awslogs-group", "/ignored")
                    .build()
                    .expect("a log configuration"),
            )
            .build(),
    ];
    let facts = facts_of(&defs);
    assert_eq!(
        facts,
        [
            ContainerFacts {
                name: "app".into(),
                essential: true,
                awslogs: Some((LOG_GROUP.into(), Some("report".into()))),
            },
            ContainerFacts {
                name: "migrate".into(),
                essential: true,
                awslogs: Some(("/ecs/migrate".into(), None)),
            },
            ContainerFacts {
                name: "log-router".into(),
                essential: false,
                awslogs: None,
            },
        ]
    );

    let status = pin(FargateTaskStatus::default(), TD, &facts, at(0));
    assert_eq!(status.task_definition_arn.as_deref(), Some(TD));
    assert_eq!(status.essential_containers, ["app", "migrate"]);
    assert_eq!(
        status.awslogs,
        [
            AwsLogs {
                container: "app".into(),
                group: LOG_GROUP.into(),
                stream_prefix: Some("report".into()),
            },
            AwsLogs {
                container: "migrate".into(),
                group: "/ecs/migrate".into(),
                stream_prefix: None,
            },
        ]
    );
}

#[test]
fn a_pinned_revision_decides_which_containers_count() {
    // The sidecar of the pinned revision is not essential: its 137 does not fail the task.
    let essential = pinned().essential_containers;
    assert_eq!(
        classify(&exited(TASK_A, 0, Some(137)), &essential, None),
        Verdict::Succeeded
    );
    // A container without a stream prefix gets a group and no stream.
    let status = pin(
        running_status(&[TASK_A]),
        TD,
        &[ContainerFacts {
            name: "app".into(),
            essential: true,
            awslogs: Some((LOG_GROUP.into(), None)),
        }],
        at(0),
    );
    let o = observe(&obj(), status, vec![(arn(TASK_A), Some(running(TASK_A)))], at(30));
    let app = &o.status.attempts[0].containers[0];
    assert_eq!(
        (app.log_group.as_deref(), app.log_stream.as_deref()),
        (Some(LOG_GROUP), None)
    );
}

#[test]
fn started_by_is_the_uid_without_dashes() {
    assert_eq!(started_by(&obj()), STARTED_BY);
    assert_eq!(started_by(&obj()).len(), 32, "ECS allows 36 characters");
    assert!(deletion_reason(&obj()).contains("FargateTask jobs/report was deleted"));
}

#[test]
fn the_stop_reason_of_a_jobs_task_names_the_job() {
    let mut o = obj();
    o.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "batch/v1".into(),
            kind: "Job".into(),
            name: "report".into(),
            uid: "u".into(),
            controller: Some(true),
            ..Default::default()
        },
    ]);
    assert!(deletion_reason(&o).contains("Job jobs/report was deleted"));
}

#[test]
fn a_run_that_never_launches_fails_at_its_deadline_counted_from_the_pin() {
    let mut o = obj();
    o.spec.active_deadline_seconds = Some(60);
    let status = pinned();
    assert!(!past_deadline(&o, &status, at(59)));
    assert!(past_deadline(&o, &status, at(60)));
    let observed = observe(&o, status, Vec::new(), at(61));
    match next(&o, observed, at(61)) {
        Next::Report(a) => {
            assert_eq!(a.status.phase, Some(Phase::Failed));
            assert!(matches!(a.state, State::Failed { reason, .. } if reason == why::DEADLINE_EXCEEDED));
        }
        other => panic!("expected a failed report, got {other:?}"),
    }
}

#[test]
fn overrides_longer_than_ecs_allows_are_refused_before_run_task() {
    let mut o = obj();
    o.spec.overrides = Some(crate::api::task::TaskOverride {
        container_overrides: vec![crate::api::task::ContainerOverride {
            name: "app".into(),
            command: Some(vec!["x".repeat(9000)]),
            ..Default::default()
        }],
        ..Default::default()
    });
    let pending = PendingLaunch {
        client_token: format!("{UID}-1"),
        count: 1,
    };
    let placed = Placed {
        cluster: CLUSTER.into(),
        region: "us-east-1".into(),
        task_definition: TD.into(),
        default_strategy: Vec::new(),
        ..Placed::default()
    };
    match request(&o, &pinned(), &pending, &placed) {
        Err(Error::Terminal { reason, message }) => {
            assert_eq!(reason, reasons::INVALID_SPEC);
            assert!(
                message.contains("spec.overrides") && message.contains("8192"),
                "{message}"
            );
        }
        other => panic!("expected InvalidSpec, got {other:?}"),
    }
}

mod profile {
    use super::*;
    use crate::api::cluster::{CapacityProvider, CapacityProviderStrategyItem};
    use crate::api::profile::{FargateProfile, FargateProfileSpec, Selector};

    fn profile() -> FargateProfile {
        FargateProfile::new(
            "batch",
            FargateProfileSpec {
                cluster_arn: Some("arn:aws:ecs:us-east-1:111122223333:cluster/main".into()),
                selectors: vec![Selector {
                    namespace: "jobs".into(),
                    labels: Default::default(),
                }],
                subnets: Some(vec!["subnet-1".into()]),
                security_groups: Some(vec!["sg-1".into()]),
                capacity_provider_strategy: Some(vec![CapacityProviderStrategyItem {
                    capacity_provider: CapacityProvider::FargateSpot,
                    weight: Some(1),
                    base: None,
                }]),
                allowed_task_role_arns: Some(vec!["arn:aws:iam::111122223333:role/batch-*".into()]),
                tags: vec![crate::api::Tag {
                    key: "cost-center".into(),
                    value: "data".into(),
                }],
                ..Default::default()
            },
        )
    }

    #[test]
    fn what_the_spec_leaves_out_comes_from_the_profile() {
        let obj = obj();
        let filled = with_profile(&obj, &profile()).map(|t| t.spec);
        let spec = filled.as_ref().ok();
        let subnets = spec
            .and_then(|s| s.network_configuration.as_ref())
            .map(|n| n.awsvpc_configuration.subnets.clone());
        assert_eq!(subnets, Some(vec!["subnet-1".to_string()]));
        assert_eq!(
            spec.and_then(|s| s.capacity_provider_strategy.as_ref())
                .map(|s| s[0].capacity_provider),
            Some(CapacityProvider::FargateSpot)
        );
        assert_eq!(spec.map(|s| s.tags.len()), Some(1));
    }

    #[test]
    fn what_the_spec_sets_wins() {
        let own = obj_with(serde_json::json!({
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-own"]}},
        }));
        let filled = with_profile(&own, &profile()).map(|t| t.spec);
        let spec = filled.as_ref().ok();
        assert_eq!(
            spec.and_then(|s| s.network_configuration.as_ref())
                .map(|n| n.awsvpc_configuration.subnets.clone()),
            Some(vec!["subnet-own".to_string()])
        );
        // A launch type and a strategy may not both be sent: the profile's strategy stays out.
        assert_eq!(spec.map(|s| s.capacity_provider_strategy.is_none()), Some(true));
    }

    #[test]
    fn a_task_role_the_profile_does_not_allow_is_refused() {
        let with_role = |role: &str| obj_with(serde_json::json!({"overrides": {"taskRoleArn": role}}));
        assert!(with_profile(&with_role("arn:aws:iam::111122223333:role/batch-etl"), &profile()).is_ok());
        match with_profile(&with_role("arn:aws:iam::111122223333:role/admin"), &profile()) {
            Err(Error::Terminal { reason, message }) => {
                assert_eq!(reason, reasons::TASK_ROLE_NOT_ALLOWED);
                assert!(message.contains("spec.overrides.taskRoleArn"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn the_role_of_a_revision_referenced_by_arn_is_held_to_the_profile_unless_the_run_overrides_it() {
        let allowed = "arn:aws:iam::111122223333:role/batch-etl";
        let admin = "arn:aws:iam::111122223333:role/admin";
        let plain = obj();
        assert!(check_revision_role(&plain, &profile(), None).is_ok());
        assert!(check_revision_role(&plain, &profile(), Some(allowed)).is_ok());
        match check_revision_role(&plain, &profile(), Some(admin)) {
            Err(Error::Terminal { reason, message }) => {
                assert_eq!(reason, reasons::TASK_ROLE_NOT_ALLOWED);
                assert!(
                    message.contains("the task definition's taskRoleArn is"),
                    "{message}"
                );
                assert!(message.contains("role/admin"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        // ECS runs the override's role instead (checked by with_profile).
        let overridden = obj_with(serde_json::json!({"overrides": {"taskRoleArn": allowed}}));
        assert!(check_revision_role(&overridden, &profile(), Some(admin)).is_ok());
        // A profile without allowedTaskRoleArns allows any role.
        let mut open = profile();
        open.spec.allowed_task_role_arns = None;
        assert!(check_revision_role(&plain, &open, Some(admin)).is_ok());
    }
}
