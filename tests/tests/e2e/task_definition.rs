//! TaskDefinition end to end: the seed example, revisions without duplicates, crash consistency,
//! history pruning, deletion of only what this object registered, admission validation, import.

use anyhow::{Context as _, Result, ensure};
use aws_sdk_ecs::types::{SortOrder, TaskDefinitionStatus};
use ecs_controller::api::{ConditionStatus, TaskDefinition};
use ecs_controller_e2e::fixtures::register_revision;
use ecs_controller_e2e::harness::*;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn seed(name: &str, family: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecs.kubefargate.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "family": family,
            "cpu": "1024",
            "memory": "2048",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "executionRoleArn": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
            "taskRoleArn": "arn:aws:iam::123456789012:role/webTaskRole",
            "containerDefinitions": [
                {"name": "web", "image": image, "cpu": 256, "memoryReservation": 512, "essential": true,
                 "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                 "environment": [{"name": "MODE", "value": "demo"}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}},
                {"name": "api", "image": "public.ecr.aws/docker/library/python:3.12", "cpu": 768, "memoryReservation": 512,
                 "portMappings": [{"containerPort": 5000, "protocol": "tcp"}],
                 "dependsOn": [{"containerName": "web", "condition": "START"}]}
            ],
            "tags": [{"key": "app", "value": "web"}]
        }
    })
}

/// (ACTIVE, INACTIVE) revision numbers of exactly `family`, as moto lists them.
async fn revisions(ecs: &aws_sdk_ecs::Client, family: &str) -> Result<(Vec<i32>, Vec<i32>)> {
    let mut out = (vec![], vec![]);
    for (status, into) in [
        (TaskDefinitionStatus::Active, &mut out.0),
        (TaskDefinitionStatus::Inactive, &mut out.1),
    ] {
        let list = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(status)
            .sort(SortOrder::Asc)
            .send()
            .await?;
        for arn in list.task_definition_arns() {
            let (f, r) = arn
                .rsplit_once('/')
                .and_then(|(_, fr)| fr.rsplit_once(':'))
                .context("arn")?;
            if f == family {
                into.push(r.parse()?);
            }
        }
        into.sort();
    }
    Ok(out)
}

#[tokio::test]
async fn seed_example_revisions_without_duplicates_and_clean_deletion() -> Result<()> {
    let ecs = ecs().await?;
    // TaskDefinitions resync every 3 s here (their default is 6x the resync period).
    let setup = Setup::builder("e2e-td")
        .args(&["--task-definition-resync-period", "3s"])
        .start()
        .await?;
    let api = &setup.tds;
    let family = unique("e2e-web");

    // A family with the same prefix registered outside the controller: never touched.
    let outside = format!("{family}-outside");
    ecs.register_task_definition()
        .family(&outside)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("x")
                .image("busybox")
                .memory(64)
                .build(),
        )
        .send()
        .await?;

    apply(api, seed("web", &family, "public.ecr.aws/nginx/nginx:1.27")).await?;
    let obj = wait_ready(api, "web", ConditionStatus::True, T).await?;
    assert_eq!(obj.pointer("/status/revision").and_then(|r| r.as_i64()), Some(1));
    assert_eq!(
        obj.pointer("/status/family").and_then(|r| r.as_str()),
        Some(family.as_str())
    );
    let arn = obj
        .pointer("/status/arn")
        .and_then(|a| a.as_str())
        .context("status.arn")?
        .to_string();

    // DescribeTaskDefinition returns exactly the fields of the spec.
    let td = ecs
        .describe_task_definition()
        .task_definition(&arn)
        .send()
        .await?
        .task_definition
        .context("described")?;
    assert_eq!(td.family(), Some(family.as_str()));
    assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("awsvpc"));
    assert_eq!(
        td.requires_compatibilities()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        vec!["FARGATE"]
    );
    assert_eq!(
        td.execution_role_arn(),
        Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole")
    );
    assert_eq!(
        td.task_role_arn(),
        Some("arn:aws:iam::123456789012:role/webTaskRole")
    );
    let containers: Vec<_> = td
        .container_definitions()
        .iter()
        .map(|c| {
            (
                c.name().unwrap_or_default().to_string(),
                c.cpu(),
                c.memory_reservation(),
                c.port_mappings()
                    .iter()
                    .filter_map(|p| p.container_port())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        containers,
        vec![
            ("web".into(), 256, Some(512), vec![8080]),
            ("api".into(), 768, Some(512), vec![5000])
        ]
    );
    let web = &td.container_definitions()[0];
    assert_eq!(web.image(), Some("public.ecr.aws/nginx/nginx:1.27"));
    assert_eq!(web.environment()[0].value(), Some("demo"));
    assert_eq!(
        web.log_configuration()
            .and_then(|l| l.options())
            .and_then(|o| o.get("awslogs-group"))
            .map(String::as_str),
        Some("/ecs/web")
    );
    assert_eq!(
        td.container_definitions()[1].depends_on()[0].container_name(),
        "web"
    );

    // Image change: exactly one new revision, then none across several resyncs (3 s each here).
    apply(api, seed("web", &family, "public.ecr.aws/nginx/nginx:1.28")).await?;
    let obj = eventually("revision 2 Ready", T, || async {
        let obj = wait_ready(api, "web", ConditionStatus::True, T).await?;
        Ok((obj.pointer("/status/revision").and_then(|r| r.as_i64()) == Some(2)).then_some(obj))
    })
    .await?;
    let arn2 = obj
        .pointer("/status/arn")
        .and_then(|a| a.as_str())
        .context("status.arn")?
        .to_string();
    let td2 = ecs
        .describe_task_definition()
        .task_definition(&arn2)
        .send()
        .await?
        .task_definition
        .context("described")?;
    assert_eq!(
        td2.container_definitions()[0].image(),
        Some("public.ecr.aws/nginx/nginx:1.28")
    );
    more_reconciles(&setup.controller, "TaskDefinition", 3.0).await?;
    let (active, inactive) = revisions(&ecs, &family).await?;
    assert_eq!(
        active.len() + inactive.len(),
        2,
        "two spec versions, two registrations: {active:?} {inactive:?}"
    );
    let obj = serde_json::to_value(api.get("web").await?)?;
    assert_eq!(obj.pointer("/status/revision").and_then(|r| r.as_i64()), Some(2));
    assert_eq!(obj.pointer("/status/activeRevisions"), Some(&json!([1, 2])));

    // A tag change needs no new revision.
    let mut tagged = seed("web", &family, "public.ecr.aws/nginx/nginx:1.28");
    tagged["spec"]["tags"] = json!([{"key": "app", "value": "web"}, {"key": "cost-center", "value": "42"}]);
    apply(api, tagged).await?;
    eventually("the tag on revision 2", T, || async {
        let out = ecs.list_tags_for_resource().resource_arn(&arn2).send().await?;
        Ok(out
            .tags()
            .iter()
            .any(|t| t.key() == Some("cost-center") && t.value() == Some("42"))
            .then_some(()))
    })
    .await?;
    let (active, inactive) = revisions(&ecs, &family).await?;
    assert_eq!(active.len() + inactive.len(), 2);

    // Deletion: no ACTIVE revision of the family is left; the other family is untouched.
    delete_and_wait_gone(api, "web", T).await?;
    let (active, _) = revisions(&ecs, &family).await?;
    assert!(active.is_empty(), "ACTIVE revisions left behind: {active:?}");
    let (outside_active, _) = revisions(&ecs, &outside).await?;
    assert_eq!(
        outside_active,
        vec![1],
        "a family registered outside the controller is left alone"
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_between_register_and_status_write_registers_nothing_twice() -> Result<()> {
    let client = kube().await?;
    let ecs = ecs().await?;
    let ns = TestNamespace::create(&client, "e2e-tdcrash").await?;
    let api: Api<TaskDefinition> = ns.api();
    let family = unique("e2e-crash");

    let mut crashing = ControllerProcess::start_with_env(
        &ns.name,
        &[],
        &[("ECS_CONTROLLER_CRASH_AFTER", "RegisterTaskDefinition")],
    )?;
    apply(&api, seed("web", &family, "nginx:1")).await?;
    let code = crashing.wait_exit(T).await?;
    assert_eq!(
        code,
        Some(86),
        "the controller died right after RegisterTaskDefinition"
    );
    let (active, _) = revisions(&ecs, &family).await?;
    assert_eq!(active, vec![1], "the registration happened");
    let obj = serde_json::to_value(api.get("web").await?)?;
    assert!(
        obj.pointer("/status/arn").is_none(),
        "and the status write did not"
    );

    let controller = ControllerProcess::start(&ns.name, &["--task-definition-resync-period", "3s"])?;
    let obj = wait_ready(&api, "web", ConditionStatus::True, T).await?;
    assert_eq!(
        obj.pointer("/status/revision").and_then(|r| r.as_i64()),
        Some(1),
        "the restarted controller adopts revision 1"
    );
    // Several resyncs of the restarted controller, each a chance to register again.
    more_reconciles(&controller, "TaskDefinition", 3.0).await?;
    let (active, inactive) = revisions(&ecs, &family).await?;
    assert_eq!((active, inactive), (vec![1], vec![]), "no second registration");
    delete_and_wait_gone(&api, "web", T).await?;
    Ok(())
}

#[tokio::test]
async fn revision_history_limit_deregisters_older_revisions() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-tdhist").await?;
    let api = &setup.tds;
    let family = unique("e2e-hist");
    for (n, image) in ["nginx:1", "nginx:2", "nginx:3", "nginx:4"]
        .into_iter()
        .enumerate()
    {
        let mut m = seed("web", &family, image);
        m["spec"]["revisionHistoryLimit"] = json!(1);
        apply(api, m).await?;
        let want = i64::try_from(n + 1)?;
        eventually(&format!("revision {want}"), T, || async {
            let obj = wait_ready(api, "web", ConditionStatus::True, T).await?;
            Ok((obj.pointer("/status/revision").and_then(|r| r.as_i64()) == Some(want)).then_some(()))
        })
        .await?;
    }
    let (active, inactive) = revisions(&ecs, &family).await?;
    assert_eq!(
        active,
        vec![3, 4],
        "the current revision and one older one stay ACTIVE"
    );
    assert_eq!(inactive, vec![1, 2]);
    let obj = serde_json::to_value(api.get("web").await?)?;
    assert_eq!(obj.pointer("/status/activeRevisions"), Some(&json!([3, 4])));
    assert_eq!(obj.pointer("/status/inactiveRevisions"), Some(&json!([1, 2])));
    delete_and_wait_gone(api, "web", T).await?;
    // Deletion removes every revision this object registered, the deregistered ones included.
    assert_eq!(
        revisions(&ecs, &family).await?,
        (vec![], vec![]),
        "revisions left behind"
    );
    Ok(())
}

#[tokio::test]
async fn invalid_task_definitions_are_rejected_with_a_message() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-tdinvalid").await?;
    let api: Api<TaskDefinition> = ns.api();
    let with = |patch: &dyn Fn(&mut serde_json::Value)| {
        let mut m = seed("bad", "bad", "nginx");
        patch(&mut m["spec"]);
        m
    };
    let corpus: Vec<(serde_json::Value, &str)> = vec![
        (
            with(&|s| s["memory"] = json!("1024")),
            "cpu/memory is not a Fargate size",
        ),
        (
            with(&|s| s["memory"] = json!("9 GB")),
            "cpu/memory is not a Fargate size",
        ),
        (
            with(&|s| {
                s["cpu"] = json!("0.25 vCPU");
                s["memory"] = json!("4 GB")
            }),
            "cpu/memory is not a Fargate size",
        ),
        (with(&|s| s["cpu"] = json!("lots")), "cpu must be CPU units"),
        (
            with(&|s| s["networkMode"] = json!("bridge")),
            "Fargate requires networkMode: awsvpc",
        ),
        (
            with(&|s| {
                s.as_object_mut().map(|o| o.remove("cpu"));
            }),
            "Fargate requires task-level cpu and memory",
        ),
        (
            with(&|s| s["containerDefinitions"] = json!([])),
            "should have at least 1 items",
        ),
        (
            with(&|s| s["containerDefinitions"][1]["name"] = json!("web")),
            "duplicate entries for key [name=\"web\"]",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["essential"] = json!(false);
                s["containerDefinitions"][1]["essential"] = json!(false)
            }),
            "at least one container must be essential",
        ),
        (
            with(&|s| s["containerDefinitions"][1]["cpu"] = json!(1000)),
            "the containers' cpu adds up to more than the task's cpu",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["memory"] = json!(256);
            }),
            "memoryReservation must be <= memory",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["memory"] = json!(4096);
                s["containerDefinitions"][0]["memoryReservation"] = json!(1024)
            }),
            "more than the task's memory",
        ),
        (
            with(&|s| s["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!(70000)),
            "should be less than or equal to 65535",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["secrets"] =
                    json!([{"name": "X", "valueFrom": "not a parameter!"}])
            }),
            "secret valueFrom must be a Secrets Manager or SSM parameter ARN",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][1]["dependsOn"] =
                    json!([{"containerName": "nope", "condition": "START"}])
            }),
            "dependsOn must name another container",
        ),
        (
            with(&|s| s["pidMode"] = json!("host")),
            "Fargate supports only pidMode: task",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["mountPoints"] =
                    json!([{"sourceVolume": "data", "containerPath": "/d"}])
            }),
            "a mountPoint names a sourceVolume that is not in volumes",
        ),
        (
            with(
                &|s| s["volumes"] = json!([{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12ab", "authorizationConfig": {"iam": "ENABLED"}}}]),
            ),
            "IAM authorization or an access point needs transitEncryption: ENABLED",
        ),
        (
            with(
                &|s| s["volumes"] = json!([{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12ab", "authorizationConfig": {"accessPointId": "fsap-12ab", "iam": "DISABLED"}}}]),
            ),
            "IAM authorization or an access point needs transitEncryption: ENABLED",
        ),
        (
            with(&|s| s["executionRoleArn"] = json!("ecs task execution role")),
            "should match",
        ),
        (
            with(&|s| s["containerDefinitions"][0]["stopTimeout"] = json!(121)),
            "on Fargate, a container's stopTimeout and startTimeout are at most 120 seconds",
        ),
        (with(&|s| s["cpu"] = json!(".25 cores")), "cpu must be CPU units"),
        (
            with(&|s| {
                s["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 8080, "containerPortRange": "8080-8090"}])
            }),
            "a portMapping names containerPort or containerPortRange, not both",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPortRange": "8080-8090", "hostPort": 8080}])
            }),
            "a portMapping with containerPortRange takes no hostPort",
        ),
        (
            with(&|s| {
                s["containerDefinitions"][0]["restartPolicy"] =
                    json!({"enabled": true, "restartAttemptPeriod": 59})
            }),
            "should be greater than or equal to 60",
        ),
        (
            with(&|s| s["tags"] = json!([{"key": "ecs.kubefargate.dev/owner-uid", "value": "x"}])),
            "are reserved",
        ),
    ];
    assert_all_rejected(&api, corpus).await?;
    // The valid forms ECS accepts: "1 vCPU" / "2 GB" and the smallest Fargate size.
    apply(
        &api,
        with(&|s| {
            s["cpu"] = json!("1 vCPU");
            s["memory"] = json!("2 GB")
        }),
    )
    .await?;
    apply(
        &api,
        with(&|s| {
            s["cpu"] = json!("256");
            s["memory"] = json!("512");
            s["containerDefinitions"][0]["cpu"] = json!(128);
            s["containerDefinitions"][1]["cpu"] = json!(128);
            s["containerDefinitions"][0]["memoryReservation"] = json!(256);
            s["containerDefinitions"][1]["memoryReservation"] = json!(256);
        }),
    )
    .await?;
    Ok(())
}

/// Admission never rejects what ECS accepts: the edge each rule leaves to AWS, admitted by the API server
/// (server-side dry run: admission only, nothing stored), with the AWS rule it stands on.
#[tokio::test]
async fn what_ecs_accepts_is_admitted() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-tdadmitted").await?;
    let api: Api<TaskDefinition> = ns.api();
    let with = |patch: &dyn Fn(&mut serde_json::Value)| {
        let mut m = seed("edge", "edge", "nginx");
        patch(&mut m["spec"]);
        m
    };
    let not_fargate = |s: &mut serde_json::Value| {
        s.as_object_mut().map(|o| o.remove("requiresCompatibilities"));
    };
    let cases: Vec<(&str, serde_json::Value)> = vec![
        (
            "RegisterTaskDefinition.taskRoleArn: the short name or full ARN of the IAM role",
            with(&|s| s["taskRoleArn"] = json!("webTaskRole")),
        ),
        (
            "RegisterTaskDefinition.executionRoleArn: a role's short name (IAM names take +=,.@_-)",
            with(&|s| s["executionRoleArn"] = json!("ecs.Task+Exec=Role,v2@team_a-1")),
        ),
        (
            "cpu as vCPUs in any case, a fraction without a leading zero (AWS's task size table)",
            with(&|s| {
                s["cpu"] = json!(".25 vcpu");
                s["memory"] = json!(".5 gb");
                s["containerDefinitions"][0]["cpu"] = json!(128);
                s["containerDefinitions"][1]["cpu"] = json!(128);
                s["containerDefinitions"][0]["memoryReservation"] = json!(256);
                s["containerDefinitions"][1]["memoryReservation"] = json!(256);
            }),
        ),
        (
            "memory as GB without a space (\"1GB\" in RegisterTaskDefinition.memory)",
            with(&|s| {
                s["cpu"] = json!("0.5 VCPU");
                s["memory"] = json!("1GB");
                s["containerDefinitions"][0]["cpu"] = json!(256);
                s["containerDefinitions"][1]["cpu"] = json!(256);
            }),
        ),
        (
            "EFS: transit encryption is required only with IAM authorization or an access point",
            with(&|s| {
                s["volumes"] = json!([{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12ab",
                    "transitEncryption": "DISABLED", "authorizationConfig": {"iam": "DISABLED"}}}])
            }),
        ),
        (
            "EFS: an access point with transit encryption, rootDirectory \"/\"",
            with(&|s| {
                s["volumes"] = json!([{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12ab",
                    "rootDirectory": "/", "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": "fsap-12ab", "iam": "ENABLED"}}}])
            }),
        ),
        (
            "repositoryCredentials.credentialsParameter: the secret's name when it is in the task's Region",
            with(&|s| {
                s["containerDefinitions"][0]["repositoryCredentials"] =
                    json!({"credentialsParameter": "registry/docker-hub"})
            }),
        ),
        (
            "stopTimeout and startTimeout: 120 s is Fargate's maximum",
            with(&|s| {
                s["containerDefinitions"][0]["stopTimeout"] = json!(120);
                s["containerDefinitions"][0]["startTimeout"] = json!(120)
            }),
        ),
        (
            "stopTimeout past 120 s where FARGATE is not required (EC2 sets no maximum)",
            with(&|s| {
                not_fargate(s);
                s["containerDefinitions"][0]["stopTimeout"] = json!(600);
                s["containerDefinitions"][0]["startTimeout"] = json!(300)
            }),
        ),
        (
            "bridge mode, host ports other than the container's, pidMode host, without FARGATE",
            with(&|s| {
                not_fargate(s);
                s["networkMode"] = json!("bridge");
                s["pidMode"] = json!("host");
                s["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 8080, "hostPort": 80}]);
            }),
        ),
        (
            "awsvpc: hostPort equal to containerPort",
            with(&|s| {
                s["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 8080, "hostPort": 8080}])
            }),
        ),
        (
            "memoryReservation equal to memory; containers' cpu adding up to the task's exactly",
            with(&|s| {
                s["containerDefinitions"][0]["memory"] = json!(512);
                s["containerDefinitions"][0]["memoryReservation"] = json!(512);
                s["containerDefinitions"][1]["cpu"] = json!(768);
            }),
        ),
        (
            "the largest Fargate size: 16 vCPU with 120 GB",
            with(&|s| {
                s["cpu"] = json!("16 vCPU");
                s["memory"] = json!("120 GB")
            }),
        ),
        (
            "PortMapping.containerPortRange instead of containerPort (1-65535, first < last)",
            with(&|s| {
                s["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPortRange": "1-65535", "protocol": "udp"}])
            }),
        ),
        (
            "ContainerRestartPolicy: restartAttemptPeriod 60-1800 s, up to 50 ignored exit codes",
            with(&|s| {
                s["containerDefinitions"][0]["restartPolicy"] = json!({"enabled": true,
                    "ignoredExitCodes": (0..50).collect::<Vec<i32>>(), "restartAttemptPeriod": 60});
                s["containerDefinitions"][1]["restartPolicy"] =
                    json!({"enabled": false, "restartAttemptPeriod": 1800});
            }),
        ),
        (
            "systemControls, versionConsistency, interactive, pseudoTerminal, one credentialSpec",
            with(&|s| {
                let c = &mut s["containerDefinitions"][0];
                c["systemControls"] = json!([{"namespace": "net.core.somaxconn", "value": "4096"}]);
                c["versionConsistency"] = json!("disabled");
                c["interactive"] = json!(true);
                c["pseudoTerminal"] = json!(true);
                c["credentialSpecs"] =
                    json!(["credentialspecdomainless:arn:aws:ssm:us-east-1:123456789012:parameter/gmsa"]);
                s["enableFaultInjection"] = json!(true);
            }),
        ),
        (
            "a secret by SSM parameter name",
            with(&|s| {
                s["containerDefinitions"][0]["secrets"] =
                    json!([{"name": "DB", "valueFrom": "/prod/db/password"}])
            }),
        ),
    ];
    let dry_run = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    let mut refused = Vec::new();
    for (rule, manifest) in cases {
        let obj: TaskDefinition = serde_json::from_value(manifest).context(rule)?;
        if let Err(e) = api.create(&dry_run, &obj).await {
            refused.push(format!("{rule}: {e}"));
        }
    }
    ensure!(
        refused.is_empty(),
        "refused what ECS accepts:\n{}",
        refused.join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn import_turns_a_described_task_definition_into_a_working_manifest() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-tdimport").await?;
    let api = &setup.tds;
    let family = unique("e2e-legacy");
    ecs.register_task_definition()
        .family(&family)
        .cpu("512")
        .memory("1024")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("legacy")
                .image("busybox:1.36")
                .essential(true)
                .port_mappings(
                    aws_sdk_ecs::types::PortMapping::builder()
                        .container_port(9000)
                        .build(),
                )
                .build(),
        )
        .send()
        .await?;

    // `aws ecs describe-task-definition` output, as moto's boto3 writes it.
    let python = env("ECS_TEST_PYTHON")?;
    let script = "import boto3, json, sys; print(json.dumps(boto3.client('ecs').describe_task_definition(taskDefinition=sys.argv[1], include=['TAGS']), default=str))";
    let out = std::process::Command::new(&python)
        .args(["-c", script, &family])
        .output()?;
    ensure!(
        out.status.success(),
        "describe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let described = std::env::temp_dir().join(format!("{family}.json"));
    std::fs::write(&described, &out.stdout)?;

    let out = std::process::Command::new(controller_binary())
        .args([
            "import",
            "task-definition",
            described.to_str().context("path")?,
            "-n",
            &setup.ns.name,
        ])
        .output()?;
    ensure!(
        out.status.success(),
        "import: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_yaml::from_slice(&out.stdout)?;
    for read_only in [
        "taskDefinitionArn",
        "revision",
        "status",
        "registeredAt",
        "compatibilities",
        "requiresAttributes",
    ] {
        assert!(
            manifest["spec"].get(read_only).is_none(),
            "{read_only} was dropped"
        );
    }
    let name = manifest
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .context("name")?
        .to_string();
    apply(api, manifest).await?;
    let obj = wait_ready(api, &name, ConditionStatus::True, T).await?;
    // Same family, owned now: a new revision carries the controller's tags.
    assert_eq!(
        obj.pointer("/status/family").and_then(|f| f.as_str()),
        Some(family.as_str())
    );
    assert_eq!(obj.pointer("/status/revision").and_then(|r| r.as_i64()), Some(2));
    let arn = obj
        .pointer("/status/arn")
        .and_then(|a| a.as_str())
        .context("arn")?;
    let td = ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await?
        .task_definition
        .context("described")?;
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));
    assert_eq!(td.container_definitions()[0].image(), Some("busybox:1.36"));
    assert_eq!(
        td.container_definitions()[0].port_mappings()[0].container_port(),
        Some(9000)
    );
    // Deleting the object removes its own revision only; revision 1 was registered outside.
    delete_and_wait_gone(api, &name, T).await?;
    let (active, _) = revisions(&ecs, &family).await?;
    assert_eq!(active, vec![1]);
    Ok(())
}

#[tokio::test]
async fn a_revision_a_service_runs_is_never_deregistered_under_it() -> Result<()> {
    use ecs_controller_e2e::fixtures::{cluster_manifest, network, service_manifest};
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-tdinuse").await?;
    let tds = &setup.tds;
    let clusters = &setup.clusters;
    let services = &setup.services;
    let family = unique("e2e-inuse");
    let mut td = seed("web", &family, "nginx:1");
    td["spec"]["revisionHistoryLimit"] = json!(0);
    apply(tds, td.clone()).await?;
    let rev1 = wait_ready(tds, "web", ConditionStatus::True, T).await?;
    let rev1 = rev1
        .pointer("/status/arn")
        .and_then(|a| a.as_str())
        .context("arn")?
        .to_string();

    // A service pinned to revision 1.
    apply(clusters, cluster_manifest("main", &unique("e2e-inuse"))).await?;
    let mut svc = service_manifest("pinned", "main", "unused", &network()?, 1);
    svc["spec"]
        .as_object_mut()
        .context("spec")?
        .remove("taskDefinitionRef");
    svc["spec"]["taskDefinitionArn"] = json!(rev1);
    apply(services, svc).await?;
    wait_ready(services, "pinned", ConditionStatus::True, T).await?;

    // Revision 2 with a history limit of 0: revision 1 stays, because the service runs it.
    td["spec"]["containerDefinitions"][0]["image"] = json!("nginx:2");
    apply(tds, td).await?;
    eventually("revision 2", T, || async {
        let obj = wait_ready(tds, "web", ConditionStatus::True, T).await?;
        Ok((obj.pointer("/status/revision").and_then(|r| r.as_i64()) == Some(2)).then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (active, _) = revisions(&ecs, &family).await?;
    assert_eq!(active, vec![1, 2], "revision 1 is in use and stays ACTIVE");

    // Deleting the TaskDefinition waits for the service; once the service is gone, it completes.
    tds.delete("web", &Default::default()).await?;
    eventually("the TaskDefinition to wait for its service", T, || async {
        let obj = serde_json::to_value(tds.get("web").await?)?;
        Ok(condition(&obj, ecs_controller::api::conditions::READY)
            .filter(|c| c.reason == "HasDependents")
            .map(|_| ()))
    })
    .await?;
    let (active, _) = revisions(&ecs, &family).await?;
    assert_eq!(active, vec![1], "only the revision in use is left");
    delete_and_wait_gone(services, "pinned", T).await?;
    eventually("the TaskDefinition to go", T, || async {
        Ok(tds.get_opt("web").await?.is_none().then_some(()))
    })
    .await?;
    let (active, _) = revisions(&ecs, &family).await?;
    assert!(active.is_empty(), "{active:?}");
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_task_definition_reads_only_its_own_revisions_not_the_familys_history() -> Result<()> {
    const FOREIGN: usize = 500;
    let ecs = ecs().await?;
    let family = unique("e2e-tdcost");
    // A family with a long history someone else registered and deregistered (normal on real AWS).
    for _ in 0..FOREIGN {
        let arn = register_revision(&ecs, &family, None).await?;
        ecs.deregister_task_definition()
            .task_definition(arn)
            .send()
            .await?;
    }
    let setup = Setup::new("e2e-tdcost").await?;
    let api = &setup.tds;
    apply(api, seed("web", &family, "nginx:1")).await?;
    let obj = wait_ready(api, "web", ConditionStatus::True, T).await?;
    let revision = obj.pointer("/status/revision").and_then(|r| r.as_i64());
    assert_eq!(revision, Some(i64::try_from(FOREIGN)? + 1));
    let before = |op: &str| setup.controller.calls(op);
    let (describes, lists) = (before("DescribeTaskDefinition"), before("ListTaskDefinitions"));
    delete_and_wait_gone(api, "web", T).await?;
    let describes = setup.controller.calls("DescribeTaskDefinition") - describes;
    let lists = setup.controller.calls("ListTaskDefinitions") - lists;
    // Its one revision deregistered and deleted; the foreign history neither listed nor described (the
    // account's ACTIVE revisions were listed once, for the registration).
    ensure!(
        describes == 0 && lists == 0,
        "deletion read the family's history: {describes} DescribeTaskDefinition, {lists} ListTaskDefinitions"
    );
    assert_eq!(setup.controller.calls("DeleteTaskDefinitions"), 1);
    let (active, inactive) = revisions(&ecs, &family).await?;
    assert!(active.is_empty(), "{active:?}");
    assert_eq!(inactive.len(), FOREIGN, "the foreign history is left alone");
    Ok(())
}

/// Fields `import` leaves out on purpose (EC2 only: docs/task-definition-fields.md), by name.
const LEFT_OUT: &[&str] = &[
    "placementConstraints",
    "inferenceAccelerators",
    "resourceRequirements",
    "hostname",
    "dnsServers",
    "dnsSearchDomains",
    "extraHosts",
    "disableNetworking",
    "privileged",
    "dockerSecurityOptions",
    "devices",
    "sharedMemorySize",
    "tmpfs",
    "maxSwap",
    "swappiness",
];

/// The last name of a path such as `spec.containerDefinitions[0].dnsServers`.
fn last_name(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// Every leaf of `want` (objects by key, arrays by position) equal in `have`; the paths that differ.
fn differences(path: &str, want: &serde_json::Value, have: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                match h.get(k) {
                    Some(hv) => differences(&format!("{path}.{k}"), wv, hv, out),
                    None => out.push(format!("{path}.{k}: missing, want {wv}")),
                }
            }
        }
        (Value::Array(w), Value::Array(h)) if w.len() == h.len() => {
            for (n, (wv, hv)) in w.iter().zip(h).enumerate() {
                differences(&format!("{path}[{n}]"), wv, hv, out);
            }
        }
        (w, h) if w == h => {}
        (w, h) => out.push(format!("{path}: {h}, want {w}")),
    }
}

/// Real-world task definitions (tests/real/task-definitions: console and CLI exports with nulls and
/// read-only fields, deploy pipelines' task-definition.json files, AWS documentation shapes: sidecars,
/// FireLens, EFS, secrets, ARM64, ephemeral storage, App Mesh, port ranges...) go through import
/// (warning only about the fields left out on purpose), admission and registration, and what moto
/// registered holds every field of the file, value for value.
#[tokio::test]
async fn real_task_definitions_import_register_and_round_trip() -> Result<()> {
    let setup = Setup::new("e2e-real-td").await?;
    let dir = repo_root().join("tests/real/task-definitions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    ensure!(
        files.len() >= 25,
        "the corpus must stay a corpus: {} files",
        files.len()
    );
    let mut applied = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("?")
            .to_string();
        let text = std::fs::read_to_string(path)?;
        let (yaml, dropped) = ecs_controller::import::task_definition(&text, None, None)
            .map_err(|e| anyhow::anyhow!("{file}: import: {e}"))?;
        let unexpected: Vec<_> = dropped
            .iter()
            .filter(|d| !LEFT_OUT.contains(&last_name(d)))
            .collect();
        ensure!(unexpected.is_empty(), "{file}: import dropped {unexpected:?}");
        let mut manifest: serde_json::Value = serde_yaml::from_str(&yaml)?;
        let (name, family) = (format!("real-{i:02}"), unique(&format!("real-{i:02}")));
        manifest["metadata"]["name"] = json!(name);
        manifest["spec"]["family"] = json!(family);
        // A fresh family: registered, whether the file was described (Adopt) or not.
        manifest["spec"]["adoption"] = json!("AdoptOrCreate");
        apply(&setup.tds, manifest)
            .await
            .with_context(|| format!("{file}: admission"))?;
        // What the file says, as the comparison's reference: the task definition without what ECS
        // writes itself, what import leaves out, the nulls, the family (renamed) and the tags.
        let mut want: serde_json::Value = serde_json::from_str(&text)?;
        if let Some(td) = want.get("taskDefinition").cloned() {
            want = td;
        }
        fn prune(v: &mut serde_json::Value) {
            let empty = |v: &serde_json::Value| {
                v.is_null()
                    || v.as_array().is_some_and(|a| a.is_empty())
                    || v.as_object().is_some_and(|o| o.is_empty())
            };
            match v {
                serde_json::Value::Object(o) => {
                    // ECS takes an empty list as no list; moto drops the task's enableFaultInjection
                    // (docs/moto.md: the fields e2e finds it in the request instead).
                    o.retain(|k, v| {
                        !empty(v) && !LEFT_OUT.contains(&k.as_str()) && k != "enableFaultInjection"
                    });
                    o.values_mut().for_each(prune);
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(prune),
                _ => {}
            }
        }
        prune(&mut want);
        if let Some(o) = want.as_object_mut() {
            for key in ["family", "tags"].iter().chain(ecs_controller::import::READ_ONLY) {
                o.remove(*key);
            }
        }
        applied.push((file, name, want));
    }
    let mut failures = Vec::new();
    for (file, name, want) in applied {
        let obj = wait_ready(&setup.tds, &name, ConditionStatus::True, T)
            .await
            .with_context(|| format!("{file}: registration"))?;
        let arn = obj
            .pointer("/status/arn")
            .and_then(|a| a.as_str())
            .context("arn")?;
        let described = ecs_json("DescribeTaskDefinition", &json!({"taskDefinition": arn})).await?;
        let mut out = Vec::new();
        differences("", &want, &described["taskDefinition"], &mut out);
        if !out.is_empty() {
            failures.push(format!("{file}:\n  {}", out.join("\n  ")));
        }
    }
    ensure!(
        failures.is_empty(),
        "what moto registered differs from the file:\n{}",
        failures.join("\n")
    );
    Ok(())
}
