//! Jobs and CronJobs on Fargate, end to end: the real 1.35 apiserver (which validates every Job status
//! write), kube-controller-manager (the CronJob controller makes the Jobs; its Job controller skips
//! ours), moto (each DescribeTasks moves a task one state; STOPPED with exit 0 after about 12 s).
//!
//! Each test creates a FargateProfile selecting only its own namespace (cluster-scoped: deleted at the
//! end), so concurrent tests never select each other's workloads.

use anyhow::{Context as _, Result, ensure};
use ecs_controller::api::ConditionStatus;
use ecs_controller_e2e::fixtures::{Network, cluster_manifest, expand_placeholders, network};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::moto::{PrivateMoto, TaskProgression};
use ecs_controller_e2e::probes::tasks_started_by;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(120);
const MANAGED_BY: &str = "ecs.kubefargate.dev/fargate";
const ROLE: &str = "arn:aws:iam::123456789012:role/batch-etl";

/// An EcsCluster `main` (Ready) and a profile selecting the namespace's Jobs labelled run-on=fargate.
async fn base(setup: &Setup, prefix: &str) -> Result<(Profile, String)> {
    base_on(setup, prefix, &network()?).await
}

/// [`base`] with the network of another moto than the shared one.
async fn base_on(setup: &Setup, prefix: &str, net: &Network) -> Result<(Profile, String)> {
    apply(&setup.clusters, cluster_manifest("main", &unique(prefix))).await?;
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let name = unique(prefix);
    let profile = json!({
        "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateProfile", "metadata": {"name": name},
        "spec": {"clusterRef": {"namespace": setup.ns.name, "name": "main"},
                 "selectors": [{"namespace": setup.ns.name, "labels": {"run-on": "fargate"}}],
                 "subnets": [net.subnets[0]], "securityGroups": net.security_groups,
                 "executionRoleArn": "arn:aws:iam::123456789012:role/ecs-exec",
                 "logging": {"logGroup": "/ecs/batch"},
                 "allowedTaskRoleArns": ["arn:aws:iam::123456789012:role/batch-*"],
                 "tags": [{"key": "cost-center", "value": "data"}]}});
    let arn = cluster
        .pointer("/status/arn")
        .and_then(Value::as_str)
        .context("cluster arn")?
        .to_string();
    Ok((Profile::apply(&name, &profile)?, arn))
}

fn job(name: &str, labels: Value, pod: Value) -> Result<Job> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {"managedBy": MANAGED_BY, "backoffLimit": 1,
                 "template": {"metadata": {"labels": labels}, "spec": pod}}
    }))?)
}

fn pod(extra: Value) -> Value {
    let mut p = json!({"restartPolicy": "Never", "containers": [{
        "name": "app", "image": "busybox:1.37", "command": ["sh", "-c"], "args": ["echo done"],
        "env": [{"name": "MODE", "value": "nightly"}],
        "resources": {"requests": {"cpu": "300m", "memory": "700Mi"}}}]});
    if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    p
}

/// Waits until the Job has condition `type_` True; returns it.
async fn wait_job(api: &Api<Job>, name: &str, type_: &str, timeout: Duration) -> Result<Job> {
    eventually(&format!("Job {name} {type_}=True"), timeout, || async {
        let j = api.get(name).await?;
        let found = j
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == "True"));
        Ok(found.then_some(j))
    })
    .await
}

/// Waits until the finished Job carries no finalizer of the controller (it goes at the reconcile after
/// the terminal status write).
async fn no_finalizer(api: &Api<Job>, name: &str) -> Result<()> {
    eventually(
        &format!("Job {name} without the controller's finalizer"),
        Duration::from_secs(30),
        || async {
            let j = api.get(name).await?;
            let ours = j
                .metadata
                .finalizers
                .unwrap_or_default()
                .iter()
                .any(|f| f.starts_with("ecs.kubefargate.dev"));
            Ok((!ours).then_some(()))
        },
    )
    .await
}

fn condition_of(j: &Job, type_: &str) -> Option<(String, String)> {
    j.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| {
            (
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            )
        })
}

#[tokio::test]
async fn a_labelled_job_runs_on_fargate_as_its_pod_template_says_and_completes() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-job").await?;
    let (_profile, cluster) = base(&setup, "e2e-job").await?;
    let jobs: Api<Job> = setup.ns.api();
    let sas: Api<ServiceAccount> = setup.ns.api();
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "etl",
            "annotations": {"eks.amazonaws.com/role-arn": ROLE}}}))?,
    )
    .await?;
    let labels = json!({"run-on": "fargate"});
    jobs.create(
        &PostParams::default(),
        &job("nightly", labels, pod(json!({"serviceAccountName": "etl"})))?,
    )
    .await?;

    // `kubectl wait` reads the Job as it reads any Job.
    let (ok, out) = kubectl(&[
        "wait",
        "-n",
        &setup.ns.name,
        "--for=condition=complete",
        "job/nightly",
        "--timeout=120s",
    ])?;
    ensure!(ok, "kubectl wait: {out}");
    let j = jobs.get("nightly").await?;
    let s = j.status.clone().context("status")?;
    assert_eq!(s.succeeded, Some(1));
    assert_eq!(s.active.unwrap_or(0), 0);
    assert!(s.start_time.is_some() && s.completion_time.is_some());
    assert!(condition_of(&j, "SuccessCriteriaMet").is_some());
    // Finished: the finalizer goes at the reconcile after the terminal status write (TTL and garbage
    // collection need not wait for the controller).
    no_finalizer(&jobs, "nightly").await?;

    // The task ran the revision translated from the pod template, in the profile's network.
    let uid = j.metadata.uid.clone().context("uid")?;
    let started_by = uid.replace('-', "");
    // (moto's ListTasks without desiredStatus lists every task, finished or not.)
    let arns = tasks_started_by(&ecs, &cluster, &started_by).await?;
    ensure!(arns.len() == 1, "one task for the Job, got {arns:?}");
    let tasks = ecs
        .describe_tasks()
        .cluster(&cluster)
        .set_tasks(Some(arns))
        .send()
        .await?;
    let task = tasks.tasks().first().context("the task")?;
    let td_arn = task.task_definition_arn().context("its revision")?;
    let family = format!("{}_nightly", setup.ns.name);
    ensure!(td_arn.contains(&format!("task-definition/{family}:")), "{td_arn}");
    let td = ecs
        .describe_task_definition()
        .task_definition(td_arn)
        .send()
        .await?;
    let td = td.task_definition().context("revision")?;
    // 300m / 700Mi round up to Fargate's smallest size that holds them: 512 CPU units, 1024 MiB.
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));
    assert_eq!(td.task_role_arn(), Some(ROLE));
    assert_eq!(
        td.execution_role_arn(),
        Some("arn:aws:iam::123456789012:role/ecs-exec")
    );
    assert_eq!(td.network_mode(), Some(&aws_sdk_ecs::types::NetworkMode::Awsvpc));
    let c = td.container_definitions().first().context("container")?;
    assert_eq!(c.image(), Some("busybox:1.37"));
    assert_eq!(c.entry_point(), ["sh", "-c"]);
    assert_eq!(c.command(), ["echo done"]);
    let env: Vec<_> = c.environment().iter().map(|e| (e.name(), e.value())).collect();
    assert_eq!(env, vec![(Some("MODE"), Some("nightly"))]);
    let logs = c.log_configuration().context("awslogs from the profile")?;
    assert_eq!(
        logs.options()
            .and_then(|o| o.get("awslogs-group"))
            .map(String::as_str),
        Some("/ecs/batch")
    );
    let subnets = task
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .filter(|d| d.name() == Some("subnetId"))
        .filter_map(|d| d.value())
        .collect::<Vec<_>>();
    assert_eq!(subnets, vec![network()?.subnets[0].as_str()]);
    Ok(())
}

#[tokio::test]
async fn a_job_no_profile_selects_fails_at_once_and_one_asking_for_a_role_or_field_outside_the_rules_fails_naming_it()
-> Result<()> {
    let setup = Setup::new("e2e-job-refused").await?;
    let (_profile, _) = base(&setup, "e2e-job-refused").await?;
    let jobs: Api<Job> = setup.ns.api();
    let sas: Api<ServiceAccount> = setup.ns.api();
    sas.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "admin",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/admin"}}}))?,
    )
    .await?;
    let fargate = json!({"run-on": "fargate"});
    jobs.create(
        &PostParams::default(),
        &job("unselected", json!({"run-on": "ec2"}), pod(json!({})))?,
    )
    .await?;
    jobs.create(
        &PostParams::default(),
        &job(
            "admin",
            fargate.clone(),
            pod(json!({"serviceAccountName": "admin"})),
        )?,
    )
    .await?;
    let mut bad = pod(json!({"volumes": [{"name": "cfg", "configMap": {"name": "x"}}]}));
    bad["containers"][0]["env"] =
        json!([{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}]);
    jobs.create(&PostParams::default(), &job("unsupported", fargate, bad)?)
        .await?;

    let j = wait_job(&jobs, "unselected", "Failed", T).await?;
    let (reason, message) = condition_of(&j, "Failed").context("Failed")?;
    assert_eq!(reason, "NoFargateProfile");
    assert!(message.contains(&setup.ns.name), "{message}");
    let j = wait_job(&jobs, "admin", "Failed", T).await?;
    let (reason, message) = condition_of(&j, "Failed").context("Failed")?;
    assert_eq!(reason, "TaskRoleNotAllowed");
    assert!(message.contains("role/admin"), "{message}");
    let j = wait_job(&jobs, "unsupported", "Failed", T).await?;
    let (reason, message) = condition_of(&j, "Failed").context("Failed")?;
    assert_eq!(reason, "UnsupportedPodTemplate");
    for path in [
        "spec.template.spec.volumes[0].configMap",
        "spec.template.spec.containers[0].env[0].valueFrom",
    ] {
        assert!(message.contains(path), "{path} in: {message}");
    }
    // None of them ran anything, and none keeps a finalizer.
    for name in ["unselected", "admin", "unsupported"] {
        let j = jobs.get(name).await?;
        assert_eq!(j.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0), 0);
        no_finalizer(&jobs, name).await?;
    }
    Ok(())
}

#[tokio::test]
async fn deleting_a_running_job_stops_its_task() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-job-delete").await?;
    let (_profile, cluster) = base(&setup, "e2e-job-delete").await?;
    let jobs: Api<Job> = setup.ns.api();
    jobs.create(
        &PostParams::default(),
        &job("long", json!({"run-on": "fargate"}), pod(json!({})))?,
    )
    .await?;
    let running = eventually("the Job's task is active", T, || async {
        let j = jobs.get("long").await?;
        Ok((j.status.as_ref().and_then(|s| s.active).unwrap_or(0) == 1).then_some(j))
    })
    .await?;
    let started_by = running.metadata.uid.clone().context("uid")?.replace('-', "");
    jobs.delete("long", &DeleteParams::background()).await?;
    eventually("the Job is gone", T, || async {
        Ok(jobs.get_opt("long").await?.is_none().then_some(()))
    })
    .await?;
    // Its task was stopped by the controller, not left to finish.
    let arns = tasks_started_by(&ecs, &cluster, &started_by).await?;
    ensure!(arns.len() == 1, "one task for the Job, got {arns:?}");
    let described = ecs
        .describe_tasks()
        .cluster(&cluster)
        .set_tasks(Some(arns))
        .send()
        .await?;
    ensure!(
        described
            .tasks()
            .iter()
            .all(|t| t.desired_status() == Some("STOPPED")),
        "a task of the deleted Job still runs"
    );
    let reasons: Vec<_> = described
        .tasks()
        .iter()
        .filter_map(|t| t.stopped_reason())
        .collect();
    ensure!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("Job {}/long was deleted", setup.ns.name))),
        "stopped because the Job was deleted: {reasons:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_cronjob_runs_every_minute_on_fargate_and_forbid_waits_while_a_task_runs() -> Result<()> {
    // Holding a task RUNNING takes moto's state manager, global to a server: this test has its own moto.
    let moto = PrivateMoto::start().await?;
    moto.tasks(TaskProgression::Held).await?;
    let setup = Setup::builder("e2e-cronjob")
        .env("AWS_ENDPOINT_URL", &moto.url)
        .start()
        .await?;
    let (_profile, _) = base_on(&setup, "e2e-cronjob", &moto.network).await?;
    let cronjobs: Api<CronJob> = setup.ns.api();
    let labels = json!({"run-on": "fargate"});
    let cron: CronJob = serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"metadata": {"labels": labels},
                                 "spec": {"managedBy": MANAGED_BY, "backoffLimit": 0,
                                          "template": {"metadata": {"labels": labels}, "spec": pod(json!({}))}}}}
    }))?;
    cronjobs.create(&PostParams::default(), &cron).await?;
    let jobs: Api<Job> = setup.ns.api();
    let active = |j: &Job| j.status.as_ref().and_then(|s| s.active).unwrap_or(0);
    // The first scheduled run starts its task, which moto holds RUNNING.
    let first = eventually(
        "the CronJob's first Job with its task running",
        Duration::from_secs(120),
        || async {
            let list = jobs.list(&ListParams::default()).await?;
            Ok(list.items.iter().find(|j| active(j) == 1).cloned())
        },
    )
    .await?;
    // At the next minute the CronJob controller finds it active and, under Forbid, starts nothing: it
    // says so in an Event on the CronJob.
    let events: Api<k8s_openapi::api::core::v1::Event> = setup.ns.api();
    eventually(
        "the CronJob controller's JobAlreadyActive event",
        Duration::from_secs(90),
        || async {
            let list = events.list(&ListParams::default()).await?;
            Ok(list
                .items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("JobAlreadyActive")
                        && e.involved_object.name.as_deref() == Some("tick")
                })
                .then_some(()))
        },
    )
    .await?;
    let list = jobs.list(&ListParams::default()).await?;
    ensure!(
        list.items.len() == 1,
        "Forbid: no second Job while the first runs, got {:?}",
        list.items
            .iter()
            .map(|j| j.metadata.name.clone())
            .collect::<Vec<_>>()
    );
    ensure!(
        active(
            &jobs
                .get(first.metadata.name.as_deref().unwrap_or_default())
                .await?
        ) == 1,
        "the first Job is still running"
    );
    // Released, the task stops with exit 0: the first Job completes, and the run Forbid held back
    // starts (no startingDeadlineSeconds: a missed schedule still runs) and completes too.
    moto.tasks(TaskProgression::Immediate).await?;
    let done = eventually(
        "two of the CronJob's Jobs Complete",
        Duration::from_secs(120),
        || async {
            let list = jobs.list(&ListParams::default()).await?;
            let complete: Vec<String> = list
                .items
                .iter()
                .filter(|j| condition_of(j, "Complete").is_some())
                .map(|j| j.metadata.name.clone().unwrap_or_default())
                .collect();
            Ok((complete.len() >= 2).then_some(complete))
        },
    )
    .await?;
    ensure!(done.iter().all(|n| n.starts_with("tick-")), "{done:?}");
    ensure!(
        done.contains(&first.metadata.name.clone().unwrap_or_default()),
        "{done:?}"
    );
    // The runs share one family (one per owner): its revision was registered once.
    let ecs = moto.ecs().await?;
    let family = format!("{}_tick", setup.ns.name);
    let revisions = ecs.list_task_definitions().family_prefix(&family).send().await?;
    assert_eq!(
        revisions.task_definition_arns().len(),
        1,
        "{:?}",
        revisions.task_definition_arns()
    );
    Ok(())
}

#[tokio::test]
async fn a_restarted_controller_follows_the_running_task_of_a_job_launches_no_other_and_ttl_deletes_it()
-> Result<()> {
    let ecs = ecs().await?;
    let mut setup = Setup::new("e2e-job-restart").await?;
    let (_profile, cluster) = base(&setup, "e2e-job-restart").await?;
    let jobs: Api<Job> = setup.ns.api();
    let mut follow = job("follow", json!({"run-on": "fargate"}), pod(json!({})))?;
    // Kubernetes' TTL controller deletes it once finished: the controller's finalizer must not hold it.
    if let Some(s) = follow.spec.as_mut() {
        s.ttl_seconds_after_finished = Some(5);
    }
    jobs.create(&PostParams::default(), &follow).await?;
    let running = eventually("the Job's task is active", T, || async {
        let j = jobs.get("follow").await?;
        Ok((j.status.as_ref().and_then(|s| s.active).unwrap_or(0) == 1).then_some(j))
    })
    .await?;
    // A new process knows nothing of the run: it rebuilds it from the Job's status and the tasks ECS
    // lists by startedBy, and follows that task to the end instead of launching another.
    setup.controller.kill();
    setup.controller = ControllerProcess::start(&setup.ns.name, &[])?;
    let done = wait_job(&jobs, "follow", "Complete", T).await?;
    let s = done.status.context("status")?;
    assert_eq!((s.succeeded, s.failed.unwrap_or(0)), (Some(1), 0));
    let started_by = running.metadata.uid.context("uid")?.replace('-', "");
    let tasks = tasks_started_by(&ecs, &cluster, &started_by).await?;
    ensure!(
        tasks.len() == 1,
        "one task for the Job across the restart, got {tasks:?}"
    );
    eventually(
        "the finished Job deleted by its ttlSecondsAfterFinished",
        Duration::from_secs(60),
        || async { Ok(jobs.get_opt("follow").await?.is_none().then_some(())) },
    )
    .await?;
    Ok(())
}

/// A case of `tests/corpus/jobs/`: a Job the apiserver accepts and the controller must fail at once.
struct HostileJob {
    file: String,
    job: Job,
    reason: String,
    path: String,
}

/// Reads `tests/corpus/jobs/*.yaml`: `# expect: failed <Reason> <field path>`, then `# why: <text>`.
fn hostile_jobs() -> Result<Vec<HostileJob>> {
    let dir = repo_root().join("tests/corpus/jobs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.display().to_string();
        let raw = std::fs::read_to_string(&path)?;
        let mut lines = raw.lines();
        let expect = lines
            .next()
            .and_then(|l| l.strip_prefix("# expect: failed "))
            .with_context(|| format!("{file}: first line `# expect: failed <Reason> <path>`"))?;
        ensure!(
            lines
                .next()
                .is_some_and(|l| l.starts_with("# why: ") && l.len() > 8),
            "{file}: second line `# why: <text>`"
        );
        let (reason, field) = expect
            .split_once(' ')
            .with_context(|| format!("{file}: reason and path"))?;
        let text = expand_placeholders(&raw, &Default::default())?;
        let job: Job = serde_yaml::from_str(&text).with_context(|| file.clone())?;
        ensure!(
            is_labelled_ours(&job),
            "{file}: a Job of ours the profile selects"
        );
        cases.push(HostileJob {
            file,
            job,
            reason: reason.to_string(),
            path: field.to_string(),
        });
    }
    Ok(cases)
}

fn is_labelled_ours(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.managed_by.as_deref()) == Some(MANAGED_BY)
        && job
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("run-on"))
            .map(String::as_str)
            == Some("fargate")
}

#[tokio::test]
async fn a_corpus_of_hostile_jobs_fails_each_naming_its_field_without_an_aws_change_or_a_loop() -> Result<()>
{
    let setup = Setup::new("e2e-job-corpus").await?;
    let (_profile, _) = base(&setup, "e2e-job-corpus").await?;
    let before = setup.controller.mutating_calls();
    let cases = hostile_jobs()?;
    ensure!(cases.len() >= 15, "the corpus: {} cases", cases.len());
    let jobs: Api<Job> = setup.ns.api();
    for c in &cases {
        jobs.create(&PostParams::default(), &c.job)
            .await
            .with_context(|| format!("{}: the apiserver must accept it", c.file))?;
    }
    for c in &cases {
        let name = c.job.metadata.name.as_deref().unwrap_or_default();
        let j = wait_job(&jobs, name, "Failed", T)
            .await
            .with_context(|| c.file.clone())?;
        let (reason, message) = condition_of(&j, "Failed").context("Failed")?;
        ensure!(
            reason == c.reason && message.contains(&c.path),
            "{}: want {} at {}, got {reason}: {message}",
            c.file,
            c.reason,
            c.path
        );
        let s = j.status.unwrap_or_default();
        ensure!(
            s.succeeded.unwrap_or(0) == 0 && s.active.unwrap_or(0) == 0,
            "{}: nothing ran",
            c.file
        );
        no_finalizer(&jobs, name).await?;
    }
    // Nothing reached AWS beyond the base's own calls (no revision registered, no task run)...
    assert_eq!(setup.controller.mutating_calls(), before);
    // ... and nothing keeps the controller busy: failed Jobs wait for a change.
    let settled = reconciles(&setup.controller, "Job").await?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let later = reconciles(&setup.controller, "Job").await?;
    ensure!(
        later - settled <= 2.0,
        "no loop over failed Jobs: {settled} -> {later} reconciles in 10 s"
    );
    Ok(())
}

#[tokio::test]
async fn a_running_job_keeps_its_profile_and_a_profiles_deletion_applies_to_jobs_that_start_afterwards()
-> Result<()> {
    let setup = Setup::new("e2e-job-pinned").await?;
    let (profile, _) = base(&setup, "e2e-job-pinned").await?;
    let jobs: Api<Job> = setup.ns.api();
    let fargate = json!({"run-on": "fargate"});
    jobs.create(
        &PostParams::default(),
        &job("before", fargate.clone(), pod(json!({})))?,
    )
    .await?;
    eventually("the Job's task is active", T, || async {
        let j = jobs.get("before").await?;
        Ok((j.status.as_ref().and_then(|s| s.active).unwrap_or(0) == 1).then_some(()))
    })
    .await?;
    let (ok, out) = kubectl(&["delete", "fargateprofile", &profile.0, "--wait=true"])?;
    ensure!(ok, "kubectl delete profile: {out}");
    // The run started under the profile finishes under it (its task is followed, not abandoned).
    let done = wait_job(&jobs, "before", "Complete", T).await?;
    ensure!(condition_of(&done, "Failed").is_none(), "{:?}", done.status);
    // A Job created afterwards meets no profile.
    jobs.create(&PostParams::default(), &job("after", fargate, pod(json!({})))?)
        .await?;
    let j = wait_job(&jobs, "after", "Failed", T).await?;
    assert_eq!(
        condition_of(&j, "Failed").map(|(r, _)| r).as_deref(),
        Some("NoFargateProfile")
    );
    Ok(())
}
