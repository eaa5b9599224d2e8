//! FargateTask end to end against moto: a run to `Complete` (with what RunTask was sent, Events and
//! the TTL), parallelism and completions, the deadline, deletion of a running task, a crash between
//! RunTask and the status write, and the cluster and task definition waiting for a running task.
//!
//! moto runs tasks: each DescribeTasks moves a task one state, STOPPED on the fourth (about 12 s at the
//! controller's 3 s poll), and its containers always exit 0. Failures are unit-tested on AWS-shaped
//! answers (`controller/src/kinds/task/plan/tests.rs`).

use anyhow::{Context as _, Result, ensure};
use ecs_controller::api::task::{COMPLETE, FAILED};
use ecs_controller::api::{ConditionStatus, FargateTask};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, network, runnable_task_definition_manifest, task_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::tasks_started_by;
use kube::api::Api;
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);

/// The cluster and runnable task definition every test here starts with, Ready.
async fn base(setup: &Setup, prefix: &str) -> Result<(String, String)> {
    let cluster_name = unique(prefix);
    apply(&setup.clusters, cluster_manifest("main", &cluster_name)).await?;
    apply(
        &setup.tds,
        runnable_task_definition_manifest("job", &unique(prefix)),
    )
    .await?;
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let td = wait_ready(&setup.tds, "job", ConditionStatus::True, T).await?;
    let arn = |v: &Value| {
        v.pointer("/status/arn")
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok((
        arn(&cluster).context("cluster arn")?,
        arn(&td).context("task definition arn")?,
    ))
}

/// Waits until the FargateTask has condition `type_` True; returns the object.
async fn wait_condition(api: &Api<FargateTask>, name: &str, type_: &str, timeout: Duration) -> Result<Value> {
    eventually(&format!("{name} {type_}=True"), timeout, || async {
        let obj = serde_json::to_value(api.get(name).await?)?;
        Ok(condition(&obj, type_)
            .filter(|c| c.status == ConditionStatus::True)
            .map(|_| obj.clone()))
    })
    .await
}

fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or_default()
}

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

#[tokio::test]
async fn a_task_runs_to_complete_with_what_the_spec_says_then_its_ttl_deletes_it() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-task").await?;
    let net = network()?;
    let (cluster_arn, td_arn) = base(&setup, "e2e-task").await?;
    let extra = json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}],
                       "ttlSecondsAfterFinished": 8});
    apply(&setup.tasks, task_manifest("migrate", "main", "job", &net, extra)).await?;

    // `kubectl wait --for=condition=Complete` reads it as it reads a Job.
    let (ok, out) = kubectl(&[
        "wait",
        "-n",
        &setup.ns.name,
        "--for=condition=Complete",
        "fargatetask/migrate",
        "--timeout=90s",
    ])?;
    ensure!(ok, "kubectl wait: {out}");
    let obj = serde_json::to_value(setup.tasks.get("migrate").await?)?;
    assert_eq!(text(&obj, "/status/phase"), "Succeeded");
    assert_eq!(int(&obj, "/status/succeeded"), 1);
    assert_eq!(int(&obj, "/status/failed"), 0);
    assert_eq!(int(&obj, "/status/active"), 0);
    assert_eq!(
        text(&obj, "/status/taskDefinitionArn"),
        td_arn,
        "the revision is pinned"
    );
    let ready = condition(&obj, "Ready").context("Ready")?;
    assert_eq!(
        (ready.status, ready.reason.as_str()),
        (ConditionStatus::True, "Completed")
    );
    assert!(condition(&obj, "Reconciling").is_none() && condition(&obj, "Stalled").is_none());
    assert!(!text(&obj, "/status/startTime").is_empty() && !text(&obj, "/status/completionTime").is_empty());
    assert!(!text(&obj, "/status/duration").is_empty());
    let attempt = obj.pointer("/status/attempts/0").context("one attempt")?;
    assert_eq!(text(attempt, "/lastStatus"), "STOPPED");
    assert_eq!(text(attempt, "/outcome"), "Succeeded");
    assert_eq!(int(attempt, "/containers/0/exitCode"), 0);
    let task_id = text(attempt, "/taskArn")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        text(attempt, "/containers/0/logGroup"),
        text(&obj, "/status/awslogs/0/group")
    );
    assert_eq!(
        text(attempt, "/containers/0/logStream"),
        format!("run/app/{task_id}")
    );

    // What RunTask was sent, as moto keeps it: one task, started by the object, with its overrides,
    // strategy and tags (ownership tags included).
    let started_by = text(&obj, "/status/startedBy").to_string();
    assert_eq!(started_by.len(), 32, "the uid without dashes");
    let arns = tasks_started_by(&ecs, &cluster_arn, &started_by).await?;
    assert_eq!(arns.len(), 1, "exactly one task: {arns:?}");
    let described = ecs
        .describe_tasks()
        .cluster(&cluster_arn)
        .tasks(&arns[0])
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await?;
    let task = described.tasks().first().context("the task")?;
    assert_eq!(task.task_definition_arn(), Some(td_arn.as_str()));
    assert_eq!(task.capacity_provider_name(), Some("FARGATE_SPOT"));
    let command = task
        .overrides()
        .and_then(|o| o.container_overrides().first())
        .map(|c| c.command().to_vec());
    assert_eq!(command, Some(vec!["sh".into(), "-c".into(), "echo done".into()]));
    let tag = |k: &str| {
        task.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("run").as_deref(), Some("migrate"));
    assert_eq!(tag("ecs.kubefargate.dev/name").as_deref(), Some("migrate"));

    // Events on the attempt's start and end.
    let (ok, events) = kubectl(&[
        "get",
        "events",
        "-n",
        &setup.ns.name,
        "--field-selector",
        "involvedObject.name=migrate",
        "-o",
        "jsonpath={.items[*].reason}",
    ])?;
    ensure!(ok, "kubectl get events: {events}");
    for reason in ["TaskStarted", "TaskSucceeded", "Completed"] {
        assert!(events.contains(reason), "event {reason} in {events}");
    }

    // Metrics count the task's start and success.
    let metrics = scrape(&setup.controller).await?;
    for event in ["TaskStarted", "TaskSucceeded"] {
        let series = format!("ecs_controller_fargate_tasks_total{{event=\"{event}\"}}");
        assert_eq!(metric(&metrics, &series), 1.0, "{series}");
    }

    // ttlSecondsAfterFinished: 8 deletes the finished object (and its finalizer lets it go).
    eventually(
        "the TTL to delete the finished FargateTask",
        Duration::from_secs(40),
        || async { Ok(setup.tasks.get_opt("migrate").await?.is_none().then_some(())) },
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn parallelism_3_and_completions_5_run_five_tasks_never_more_than_three_at_once() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-task-par").await?;
    let net = network()?;
    let (cluster_arn, _) = base(&setup, "e2e-task-par").await?;
    apply(
        &setup.tasks,
        task_manifest(
            "batch",
            "main",
            "job",
            &net,
            json!({"completions": 5, "parallelism": 3}),
        ),
    )
    .await?;
    // Watch the status until Complete, remembering the most tasks it ever had running.
    let deadline = std::time::Instant::now() + Duration::from_secs(150);
    let mut most_running = 0;
    let obj = loop {
        let obj = serde_json::to_value(setup.tasks.get("batch").await?)?;
        let running = obj
            .pointer("/status/attempts")
            .and_then(Value::as_array)
            .map_or(0, |a| a.iter().filter(|a| a.get("outcome").is_none()).count());
        most_running = most_running.max(running);
        if condition(&obj, COMPLETE).is_some() {
            break obj;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "not Complete in time: {obj}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(int(&obj, "/status/succeeded"), 5);
    assert_eq!(most_running, 3, "parallelism 3 runs three at once, never more");
    let attempts = obj
        .pointer("/status/attempts")
        .and_then(Value::as_array)
        .context("attempts")?;
    assert_eq!(attempts.len(), 5);
    // Three in the first RunTask (one client token), the rest as tasks finished.
    let first_token = text(&attempts[0], "/clientToken");
    assert_eq!(
        attempts
            .iter()
            .filter(|a| text(a, "/clientToken") == first_token)
            .count(),
        3
    );
    let arns = tasks_started_by(&ecs, &cluster_arn, text(&obj, "/status/startedBy")).await?;
    assert_eq!(arns.len(), 5, "exactly five tasks in AWS: {arns:?}");
    Ok(())
}

#[tokio::test]
async fn active_deadline_seconds_stops_the_running_task_and_fails_the_run() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-task-dl").await?;
    let net = network()?;
    let (cluster_arn, _) = base(&setup, "e2e-task-dl").await?;
    // moto's task needs four polls (about 12 s) to stop by itself; the deadline comes first.
    apply(
        &setup.tasks,
        task_manifest("slow", "main", "job", &net, json!({"activeDeadlineSeconds": 2})),
    )
    .await?;
    let obj = wait_condition(&setup.tasks, "slow", FAILED, T).await?;
    let failed = condition(&obj, FAILED).context("Failed")?;
    assert_eq!(failed.reason, "DeadlineExceeded");
    let stalled = condition(&obj, "Stalled").context("Stalled")?;
    assert_eq!(stalled.status, ConditionStatus::True);
    assert_eq!(text(&obj, "/status/phase"), "Failed");
    assert_eq!(int(&obj, "/status/succeeded"), 0);
    let arns = tasks_started_by(&ecs, &cluster_arn, text(&obj, "/status/startedBy")).await?;
    assert_eq!(arns.len(), 1);
    let described = ecs
        .describe_tasks()
        .cluster(&cluster_arn)
        .tasks(&arns[0])
        .send()
        .await?;
    let task = described.tasks().first().context("the task")?;
    assert_eq!(task.desired_status(), Some("STOPPED"), "StopTask was called");
    assert!(
        task.stopped_reason()
            .unwrap_or_default()
            .contains("activeDeadlineSeconds"),
        "the stop reason names the deadline: {:?}",
        task.stopped_reason()
    );
    Ok(())
}

#[tokio::test]
async fn deleting_a_running_task_stops_it_and_retain_leaves_it_running() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-task-del").await?;
    let net = network()?;
    let (cluster_arn, _) = base(&setup, "e2e-task-del").await?;
    // Three completions one at a time: the run lasts well beyond the deletion below.
    let extra = json!({"completions": 3});
    apply(
        &setup.tasks,
        task_manifest("doomed", "main", "job", &net, extra.clone()),
    )
    .await?;
    let mut retained = extra.clone();
    retained["deletionPolicy"] = json!("Retain");
    apply(&setup.tasks, task_manifest("kept", "main", "job", &net, retained)).await?;
    let mut started_by = Vec::new();
    for name in ["doomed", "kept"] {
        let obj = eventually(&format!("{name}'s first task"), T, || async {
            let obj = serde_json::to_value(setup.tasks.get(name).await?)?;
            Ok((int(&obj, "/status/active") == 1).then_some(obj))
        })
        .await?;
        started_by.push(text(&obj, "/status/startedBy").to_string());
    }
    delete_and_wait_gone(&setup.tasks, "doomed", T).await?;
    delete_and_wait_gone(&setup.tasks, "kept", T).await?;
    let doomed = tasks_started_by(&ecs, &cluster_arn, &started_by[0]).await?;
    let kept = tasks_started_by(&ecs, &cluster_arn, &started_by[1]).await?;
    assert_eq!((doomed.len(), kept.len()), (1, 1), "one task each");
    let described = ecs
        .describe_tasks()
        .cluster(&cluster_arn)
        .tasks(&doomed[0])
        .tasks(&kept[0])
        .send()
        .await?;
    let of = |arn: &str| {
        described
            .tasks()
            .iter()
            .find(|t| t.task_arn() == Some(arn))
            .cloned()
    };
    let doomed = of(&doomed[0]).context("the deleted object's task")?;
    assert_eq!(doomed.last_status(), Some("STOPPED"));
    assert!(
        doomed
            .stopped_reason()
            .unwrap_or_default()
            .contains("was deleted")
    );
    let kept = of(&kept[0]).context("the retained object's task")?;
    assert_eq!(
        kept.desired_status(),
        Some("RUNNING"),
        "Retain leaves the task running"
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_between_run_task_and_the_status_write_launches_no_second_task() -> Result<()> {
    let ecs = ecs().await?;
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-task-crash").await?;
    let net = network()?;
    // The first controller exits right after its RunTask answer, before writing the task's ARN.
    let mut first = ControllerProcess::start_with_env(
        &ns.name,
        &[],
        &[("ECS_CONTROLLER_FAILPOINT", "crash-after-run-task")],
    )?;
    let (clusters, tds, tasks): (
        Api<ecs_controller::api::EcsCluster>,
        Api<ecs_controller::api::TaskDefinition>,
        Api<FargateTask>,
    ) = (ns.api(), ns.api(), ns.api());
    apply(&clusters, cluster_manifest("main", &unique("e2e-task-crash"))).await?;
    apply(
        &tds,
        runnable_task_definition_manifest("job", &unique("e2e-task-crash")),
    )
    .await?;
    apply(&tasks, task_manifest("once", "main", "job", &net, json!({}))).await?;
    let code = first.wait_exit(T).await?;
    assert_eq!(code, Some(3), "the failpoint fired: {}", first.log_text());
    let obj = serde_json::to_value(tasks.get("once").await?)?;
    assert!(
        obj.pointer("/status/pendingLaunch").is_some(),
        "the launch was recorded first: {obj}"
    );
    assert_eq!(int(&obj, "/status/active"), 0, "no ARN was recorded");

    // A new controller finds the task by startedBy and follows it to Complete.
    let second = ControllerProcess::start(&ns.name, &[])?;
    let obj = wait_condition(&tasks, "once", COMPLETE, T).await?;
    let cluster_arn = text(&obj, "/status/clusterArn").to_string();
    let arns = tasks_started_by(&ecs, &cluster_arn, text(&obj, "/status/startedBy")).await?;
    assert_eq!(arns.len(), 1, "exactly one task in AWS: {arns:?}");
    assert_eq!(
        second.calls("RunTask"),
        0,
        "the second controller launched nothing"
    );
    assert_eq!(int(&obj, "/status/launches"), 1);
    assert_eq!(int(&obj, "/status/succeeded"), 1);
    // Clean up while a controller runs, so no finalizer is left behind.
    delete_and_wait_gone(&tasks, "once", T).await?;
    delete_and_wait_gone(&tds, "job", T).await?;
    delete_and_wait_gone(&clusters, "main", T).await?;
    drop(second);
    Ok(())
}

#[tokio::test]
async fn the_cluster_and_the_task_definition_wait_for_a_running_task_before_they_go() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-task-hold").await?;
    let net = network()?;
    let (_, td_arn) = base(&setup, "e2e-task-hold").await?;
    apply(
        &setup.tasks,
        task_manifest("long", "main", "job", &net, json!({"completions": 2})),
    )
    .await?;
    eventually("the first task", T, || async {
        let obj = serde_json::to_value(setup.tasks.get("long").await?)?;
        Ok((int(&obj, "/status/active") == 1).then_some(()))
    })
    .await?;
    setup.clusters.delete("main", &Default::default()).await?;
    setup.tds.delete("job", &Default::default()).await?;
    for (what, api) in [
        ("EcsCluster main", "ecsclusters/main"),
        ("TaskDefinition job", "taskdefinitions/job"),
    ] {
        eventually(&format!("{what} to wait for the task"), T, || async {
            let (ok, out) = kubectl(&[
                "get", "-n", &setup.ns.name, api, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].reason} {.status.conditions[?(@.type==\"Ready\")].message}",
            ])?;
            Ok((ok && out.contains("HasDependents")).then_some(()))
        })
        .await?;
    }
    // The revision stays registered while the task runs it.
    let td = ecs
        .describe_task_definition()
        .task_definition(&td_arn)
        .send()
        .await?;
    assert_eq!(
        td.task_definition().and_then(|t| t.status()).map(|s| s.as_str()),
        Some("ACTIVE")
    );
    let obj = serde_json::to_value(setup.tasks.get("long").await?)?;
    ensure!(
        condition(&obj, COMPLETE).is_none(),
        "the run is still going: {obj}"
    );
    // When the run completes, both go.
    wait_condition(&setup.tasks, "long", COMPLETE, Duration::from_secs(120)).await?;
    eventually("the cluster and task definition to go", T, || async {
        Ok(
            (setup.clusters.get_opt("main").await?.is_none() && setup.tds.get_opt("job").await?.is_none())
                .then_some(()),
        )
    })
    .await?;
    Ok(())
}

/// What moto cannot produce, through the fault proxy's response-rewriting mode: every STOPPED task in a
/// DescribeTasks answer exits with the code its group names (`exit-<code>`), as a failing container
/// would. A run fails once more tasks failed than `backoffLimit` allows; a failure-policy `FailTask`
/// rule fails it at the first matching exit.
#[tokio::test]
async fn failed_tasks_count_against_the_backoff_limit_and_a_fail_task_rule_fails_the_run_at_once()
-> Result<()> {
    use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-task-fail").await?;
    let net = network()?;
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    proxy.rewrite("DescribeTasks", |answer| {
        let Some(tasks) = answer.get_mut("tasks").and_then(Value::as_array_mut) else {
            return;
        };
        for task in tasks.iter_mut().filter(|t| t["lastStatus"] == "STOPPED") {
            let Some(code) = task["group"]
                .as_str()
                .and_then(|g| g.strip_prefix("exit-"))
                .and_then(|c| c.parse::<i64>().ok())
            else {
                continue;
            };
            task["stopCode"] = json!("EssentialContainerExited");
            task["stoppedReason"] = json!("Essential container in task exited");
            if let Some(containers) = task["containers"].as_array_mut() {
                for c in containers {
                    c["exitCode"] = json!(code);
                }
            }
        }
    });
    let url = proxy.url();
    let controller = ControllerProcess::start_with_env(&ns.name, &[], &[("AWS_ENDPOINT_URL", url.as_str())])?;
    let (clusters, tds, tasks): (
        Api<ecs_controller::api::EcsCluster>,
        Api<ecs_controller::api::TaskDefinition>,
        Api<FargateTask>,
    ) = (ns.api(), ns.api(), ns.api());
    apply(&clusters, cluster_manifest("main", &unique("e2e-task-fail"))).await?;
    apply(
        &tds,
        runnable_task_definition_manifest("job", &unique("e2e-task-fail")),
    )
    .await?;
    apply(
        &tasks,
        task_manifest(
            "exits1",
            "main",
            "job",
            &net,
            json!({"group": "exit-1", "backoffLimit": 1}),
        ),
    )
    .await?;
    let rule = json!({"rules": [{"action": "FailTask", "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]}}]});
    apply(
        &tasks,
        task_manifest(
            "exits42",
            "main",
            "job",
            &net,
            json!({"group": "exit-42", "backoffLimit": 5, "failurePolicy": rule}),
        ),
    )
    .await?;

    let fast = wait_condition(&tasks, "exits42", FAILED, T).await?;
    let failed = condition(&fast, FAILED).context("Failed")?;
    assert_eq!(failed.reason, "FailurePolicy");
    assert!(failed.message.contains("exited 42"), "{}", failed.message);
    assert_eq!(
        int(&fast, "/status/failed"),
        1,
        "failed at the first task, backoffLimit 5 notwithstanding"
    );
    assert_eq!(int(&fast, "/status/lastExitCode"), 42);

    // Two failures (the second after the 10 s backoff) exceed backoffLimit 1.
    let slow = wait_condition(&tasks, "exits1", FAILED, Duration::from_secs(120)).await?;
    let failed = condition(&slow, FAILED).context("Failed")?;
    assert_eq!(failed.reason, "BackoffLimitExceeded");
    assert_eq!(int(&slow, "/status/failed"), 2);
    assert_eq!(int(&slow, "/status/succeeded"), 0);
    let attempts = slow
        .pointer("/status/attempts")
        .and_then(Value::as_array)
        .context("attempts")?;
    assert_eq!(attempts.len(), 2);
    for a in attempts {
        assert_eq!(text(a, "/outcome"), "Failed");
        assert_eq!(text(a, "/stopCode"), "EssentialContainerExited");
        assert_eq!(int(a, "/containers/0/exitCode"), 1);
    }
    assert!(condition(&slow, "Stalled").is_some_and(|c| c.status == ConditionStatus::True));
    let metrics = scrape(&controller).await?;
    assert_eq!(
        metric(
            &metrics,
            "ecs_controller_fargate_tasks_total{event=\"TaskFailed\"}"
        ),
        3.0
    );

    delete_and_wait_gone(&tasks, "exits1", T).await?;
    delete_and_wait_gone(&tasks, "exits42", T).await?;
    delete_and_wait_gone(&tds, "job", T).await?;
    delete_and_wait_gone(&clusters, "main", T).await?;
    Ok(())
}
