//! The translation on pod templates written as the apiserver stores them (JSON, camelCase): one test
//! per mapping asserting the task definition produced, and for every refusal the exact path.

use super::*;
use serde_json::{Value, json};

const EXEC_ROLE: &str = "arn:aws:iam::123456789012:role/ecsTaskExecution";
const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/report-writer";
const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-password-AbCdEf";
const PARAM_ARN: &str = "arn:aws:ssm:eu-west-1:123456789012:parameter/report/token";

fn defaults() -> Defaults {
    Defaults {
        execution_role_arn: Some(EXEC_ROLE.into()),
        log_group: None,
        region: "eu-west-1".into(),
    }
}

/// A pod template of `spec` (JSON) with `metadata`.
fn template_with(metadata: Value, spec: Value) -> PodTemplateSpec {
    serde_json::from_value(json!({"metadata": metadata, "spec": spec})).expect("template parses")
}

fn template(spec: Value) -> PodTemplateSpec {
    template_with(json!({}), spec)
}

/// One container `main` (busybox) with `extra` merged in.
fn container_with(extra: Value) -> Value {
    let mut c = json!({"name": "main", "image": "busybox:1.36"});
    if let (Some(base), Value::Object(extra)) = (c.as_object_mut(), extra) {
        base.extend(extra);
    }
    c
}

/// A pod of one container `main` with `extra` merged into the container.
fn one(extra: Value) -> PodTemplateSpec {
    template(json!({"containers": [container_with(extra)], "restartPolicy": "Never"}))
}

fn ok_with(t: &PodTemplateSpec, sa: Option<&ServiceAccount>, d: &Defaults) -> Translated {
    translate(t, sa, d).unwrap_or_else(|e| {
        panic!(
            "refused: {:#?}",
            e.iter().map(ToString::to_string).collect::<Vec<_>>()
        )
    })
}

fn ok(t: &PodTemplateSpec) -> Translated {
    ok_with(t, None, &defaults())
}

fn main_of(t: &Translated) -> &ContainerDefinition {
    t.spec
        .container_definitions
        .iter()
        .find(|c| c.name == "main")
        .expect("a container main")
}

fn refusals_with(t: &PodTemplateSpec, d: &Defaults) -> Vec<Refusal> {
    match translate(t, None, d) {
        Ok(t) => panic!("translated: {t:#?}"),
        Err(e) => e,
    }
}

/// The paths refused.
fn refused(t: &PodTemplateSpec) -> Vec<String> {
    refusals_with(t, &defaults())
        .into_iter()
        .map(|r| r.path)
        .collect()
}

/// Refused at exactly `path` (and nowhere else), with a message containing `words`.
fn assert_refused(t: &PodTemplateSpec, path: &str, words: &str) {
    let all = refusals_with(t, &defaults());
    assert!(
        all.iter().all(|r| r.path == path) && all.iter().any(|r| r.message.contains(words)),
        "expected only {path} ({words}), got {:#?}",
        all.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
}

fn service_account(annotations: Value, extra: Value) -> ServiceAccount {
    let mut sa = json!({"metadata": {"name": "report", "annotations": annotations}});
    if let (Some(base), Value::Object(extra)) = (sa.as_object_mut(), extra) {
        base.extend(extra);
    }
    serde_json::from_value(sa).expect("service account parses")
}

// ---- the task ------------------------------------------------------------------------------------

#[test]
fn a_minimal_template_is_a_fargate_task_of_the_smallest_size() {
    let t = ok(&one(json!({})));
    let s = &t.spec;
    assert_eq!(s.network_mode.as_deref(), Some("awsvpc"));
    assert_eq!(s.requires_compatibilities, Some(vec!["FARGATE".to_string()]));
    assert_eq!(
        (s.cpu.as_deref(), s.memory.as_deref()),
        (Some("256"), Some("512"))
    );
    assert_eq!(s.execution_role_arn.as_deref(), Some(EXEC_ROLE));
    assert_eq!((s.family.as_ref(), s.tags.len()), (None, 0));
    assert_eq!(
        (s.task_role_arn.as_ref(), s.runtime_platform.as_ref()),
        (None, None)
    );
    assert_eq!(
        (
            s.volumes.as_ref(),
            s.ephemeral_storage.as_ref(),
            s.pid_mode.as_ref()
        ),
        (None, None, None)
    );
    let c = main_of(&t);
    assert_eq!((c.name.as_str(), c.image.as_str()), ("main", "busybox:1.36"));
    assert_eq!(c.essential, Some(true));
    assert_eq!((c.cpu, c.memory, c.memory_reservation), (None, None, None));
    assert_eq!(c.log_configuration, None);
    assert_eq!(
        t.size,
        Size {
            cpu: 256,
            memory: 512,
            asked_cpu: 0,
            asked_memory: 0
        }
    );
}

#[test]
fn a_template_as_the_apiserver_stores_it_translates_without_refusals() {
    // Every default the apiserver fills into a Job's pod template (pkg/apis/core/v1/defaults.go and
    // the generated SetObjectDefaults_Job): dnsPolicy, restartPolicy, schedulerName, securityContext,
    // terminationGracePeriodSeconds; per container imagePullPolicy, terminationMessagePath/Policy,
    // port protocol, probe timeouts/period/thresholds; the Job's labels; emptyDir for a sourceless volume.
    let defaulted = |name: &str| {
        json!({
            "name": name,
            "image": "registry.example.com/report:2.1",
            "imagePullPolicy": "IfNotPresent",
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        })
    };
    let mut main = defaulted("main");
    main["command"] = json!(["/bin/report"]);
    main["ports"] = json!([{"containerPort": 8080, "protocol": "TCP"}]);
    main["livenessProbe"] = json!({
        "exec": {"command": ["/bin/healthy"]},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
    });
    main["volumeMounts"] = json!([{"name": "scratch", "mountPath": "/scratch"}]);
    let mut latest = defaulted("fetch");
    latest["image"] = json!("busybox:latest");
    latest["imagePullPolicy"] = json!("Always");
    let t = template_with(
        json!({
            "creationTimestamp": null,
            "labels": {
                "batch.kubernetes.io/controller-uid": "7f5e2b8c-1d3a-4e6f-9a7b-2c4d6e8f0a1b",
                "batch.kubernetes.io/job-name": "report",
                "controller-uid": "7f5e2b8c-1d3a-4e6f-9a7b-2c4d6e8f0a1b",
                "job-name": "report",
            },
        }),
        json!({
            "initContainers": [latest],
            "containers": [main],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Never",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
        }),
    );
    let t = ok(&t);
    let c = main_of(&t);
    assert_eq!(c.stop_timeout, Some(30));
    assert_eq!(c.health_check.as_ref().map(|h| h.timeout), Some(Some(2)));
    assert_eq!(t.spec.container_definitions.len(), 2);
}

// ---- containers ----------------------------------------------------------------------------------

#[test]
fn command_becomes_the_entry_point_and_args_the_command() {
    let t = ok(&one(json!({
        "command": ["/bin/sh", "-c"],
        "args": ["echo hi"],
        "workingDir": "/work",
    })));
    let c = main_of(&t);
    assert_eq!(c.entry_point, ["/bin/sh", "-c"]);
    assert_eq!(c.command, ["echo hi"]);
    assert_eq!(c.working_directory.as_deref(), Some("/work"));
}

#[test]
fn env_values_are_copied_with_the_kubelets_expansion_and_the_last_duplicate_wins() {
    let t = ok(&one(json!({
        "env": [
            {"name": "BUCKET", "value": "reports"},
            {"name": "PREFIX", "value": "s3://$(BUCKET)/daily"},
            {"name": "LITERAL", "value": "$$(BUCKET) $(UNDEFINED) $x $"},
            {"name": "EMPTY"},
            {"name": "BUCKET", "value": "archive"},
        ],
        "command": ["/bin/report", "--to=$(PREFIX)", "--bucket=$(BUCKET)"],
        "args": ["$(LITERAL)"],
    })));
    let c = main_of(&t);
    let env: Vec<(&str, &str)> = c
        .environment
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(
        env,
        [
            ("BUCKET", "archive"),
            ("PREFIX", "s3://reports/daily"),
            ("LITERAL", "$(BUCKET) $(UNDEFINED) $x $"),
            ("EMPTY", ""),
        ]
    );
    assert_eq!(
        c.entry_point,
        ["/bin/report", "--to=s3://reports/daily", "--bucket=archive"]
    );
    assert_eq!(c.command, ["$(BUCKET) $(UNDEFINED) $x $"]);
}

#[test]
fn expansion_follows_kubernetes_on_every_edge() {
    let vars = BTreeMap::from([
        ("A".to_string(), "1".to_string()),
        ("É".to_string(), "2".to_string()),
    ]);
    let e = |s: &str| expand(s, &vars).map(|(out, _)| out).unwrap_or_default();
    assert_eq!(e("$(A)$(A)"), "11");
    assert_eq!(e("$$(A)"), "$(A)");
    assert_eq!(e("$$$(A)"), "$1");
    assert_eq!(e("$(A"), "$(A");
    assert_eq!(e("$()"), "$()");
    assert_eq!(e("$É$(É)"), "$É2");
    assert_eq!(e("a$"), "a$");
    assert_eq!(
        expand("$(B) $(A)", &vars).map(|(_, missing)| missing),
        Some(vec!["B".to_string()])
    );
}

#[test]
fn env_value_from_of_every_kind_is_refused_at_its_path() {
    let t = one(json!({"env": [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory"}}},
        {"name": "EMPTY", "valueFrom": {}},
    ]}));
    let at = "spec.template.spec.containers[0].env";
    assert_eq!(
        refused(&t),
        [
            format!("{at}[2].valueFrom.secretKeyRef"),
            format!("{at}[3].valueFrom.configMapKeyRef"),
            format!("{at}[4].valueFrom.fieldRef"),
            format!("{at}[5].valueFrom.resourceFieldRef"),
            format!("{at}[6].valueFrom"),
        ]
    );
    let secret = &refusals_with(&t, &defaults())[0];
    assert!(secret.message.contains("never copied"), "{secret}");
}

#[test]
fn env_from_is_refused() {
    assert_refused(
        &one(json!({"envFrom": [{"secretRef": {"name": "db"}}]})),
        "spec.template.spec.containers[0].envFrom",
        "never copied",
    );
}

#[test]
fn ports_become_port_mappings_and_host_ports_must_match() {
    let t = ok(&one(json!({"ports": [
        {"containerPort": 8080, "protocol": "TCP", "name": "http"},
        {"containerPort": 5353, "protocol": "UDP", "hostPort": 5353},
    ]})));
    type Mapping<'a> = (Option<i32>, Option<&'a str>, Option<&'a str>, Option<i32>);
    let ports: Vec<Mapping> = main_of(&t)
        .port_mappings
        .iter()
        .map(|p| {
            (
                p.container_port,
                p.protocol.as_deref(),
                p.name.as_deref(),
                p.host_port,
            )
        })
        .collect();
    assert_eq!(
        ports,
        [
            (Some(8080), Some("tcp"), Some("http"), None),
            (Some(5353), Some("udp"), None, None)
        ]
    );
    assert_refused(
        &one(json!({"ports": [{"containerPort": 80, "hostPort": 8080}]})),
        "spec.template.spec.containers[0].ports[0].hostPort",
        "awsvpc",
    );
    assert_refused(
        &one(json!({"ports": [{"containerPort": 80}, {"containerPort": 9, "protocol": "SCTP"}]})),
        "spec.template.spec.containers[0].ports[1].protocol",
        "TCP or UDP",
    );
    assert_refused(
        &one(json!({"ports": [{"containerPort": 80, "hostIP": "10.0.0.1"}]})),
        "spec.template.spec.containers[0].ports[0].hostIP",
        "host IP",
    );
}

#[test]
fn image_pull_policy_always_and_if_not_present_are_accepted_never_is_refused() {
    ok(&one(json!({"imagePullPolicy": "Always"})));
    ok(&one(json!({"imagePullPolicy": "IfNotPresent"})));
    assert_refused(
        &one(json!({"imagePullPolicy": "Never"})),
        "spec.template.spec.containers[0].imagePullPolicy",
        "pulls the image for every task",
    );
}

#[test]
fn container_names_and_images_are_checked_against_ecs_rules() {
    assert_refused(
        &one(json!({"name": "a.b"})),
        "spec.template.spec.containers[0].name",
        "letters, digits",
    );
    assert_refused(
        &one(json!({"image": format!("registry.example.com/{}", "x".repeat(250))})),
        "spec.template.spec.containers[0].image",
        "255",
    );
    // With a digest only the part before @ counts.
    ok(&one(
        json!({"image": format!("registry.example.com/{}@sha256:{}", "x".repeat(200), "a".repeat(64))}),
    ));
    assert_refused(
        &one(json!({"image": ""})),
        "spec.template.spec.containers[0].image",
        "needs an image",
    );
}

#[test]
fn an_ecr_image_needs_the_profiles_execution_role() {
    let t = one(json!({"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/report:1"}));
    ok(&t);
    let d = Defaults {
        execution_role_arn: None,
        ..defaults()
    };
    let r = refusals_with(&t, &d);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].path, "spec.template.spec.containers[0].image");
    let public = ok_with(&one(json!({})), None, &d);
    assert_eq!(public.spec.execution_role_arn, None);
}

#[test]
fn fields_without_an_ecs_meaning_are_refused_at_their_paths() {
    let at = "spec.template.spec.containers[0]";
    for (extra, field) in [
        (
            json!({"lifecycle": {"preStop": {"exec": {"command": ["x"]}}}}),
            "lifecycle.preStop",
        ),
        (
            json!({"lifecycle": {"postStart": {"exec": {"command": ["x"]}}}}),
            "lifecycle.postStart",
        ),
        (json!({"stdin": true}), "stdin"),
        (json!({"tty": true}), "tty"),
        (
            json!({"terminationMessagePath": "/tmp/msg"}),
            "terminationMessagePath",
        ),
        (
            json!({"terminationMessagePolicy": "FallbackToLogsOnError"}),
            "terminationMessagePolicy",
        ),
        (
            json!({"volumeDevices": [{"name": "d", "devicePath": "/dev/xvda"}]}),
            "volumeDevices",
        ),
        (json!({"restartPolicy": "Always"}), "restartPolicy"),
    ] {
        assert_eq!(refused(&one(extra)), [format!("{at}.{field}")]);
    }
    // Accepted without effect: false flags, and how an in-place resize would apply.
    ok(&one(
        json!({"stdin": false, "tty": false, "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}),
    ));
}

// ---- resources and size ---------------------------------------------------------------------------

/// A pod of containers with these `(requests, limits)` and init containers of these.
fn sized(apps: &[(Value, Value)], inits: &[(Value, Value, bool)]) -> PodTemplateSpec {
    let containers: Vec<Value> = apps
        .iter()
        .enumerate()
        .map(|(i, (req, lim))| json!({"name": format!("app{i}"), "image": "x", "resources": {"requests": req, "limits": lim}}))
        .collect();
    let init: Vec<Value> = inits
        .iter()
        .enumerate()
        .map(|(i, (req, lim, sidecar))| {
            let mut c = json!({"name": format!("init{i}"), "image": "x", "resources": {"requests": req, "limits": lim}});
            if *sidecar {
                c["restartPolicy"] = json!("Always");
            }
            c
        })
        .collect();
    template(json!({"containers": containers, "initContainers": init}))
}

fn size_of(t: &PodTemplateSpec) -> (u32, u32) {
    let t = ok(t);
    assert_eq!(t.spec.cpu, Some(t.size.cpu.to_string()));
    assert_eq!(t.spec.memory, Some(t.size.memory.to_string()));
    (t.size.cpu, t.size.memory)
}

#[test]
fn container_requests_and_limits_become_ecs_reservations_and_hard_limits() {
    let t = ok(&one(json!({"resources": {
        "requests": {"cpu": "250m", "memory": "300Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }})));
    let c = main_of(&t);
    assert_eq!(
        (c.cpu, c.memory_reservation, c.memory),
        (Some(256), Some(300), Some(1024))
    );
    // Sized on the limits: 1 vCPU, 1 GiB -> 1024 units take at least 2 GiB.
    assert_eq!(
        (t.size.cpu, t.size.memory, t.size.asked_cpu, t.size.asked_memory),
        (1024, 2048, 1024, 1024)
    );
    // A limit alone is also the request (as the apiserver defaults it in the pod).
    let t = ok(&one(
        json!({"resources": {"limits": {"cpu": "500m", "memory": "100M"}}}),
    ));
    let c = main_of(&t);
    assert_eq!(
        (c.cpu, c.memory_reservation, c.memory),
        (Some(512), None, Some(96))
    );
}

#[test]
fn the_size_rounds_up_to_the_next_fargate_combination() {
    let none = json!({});
    assert_eq!(size_of(&sized(&[(none.clone(), none.clone())], &[])), (256, 512));
    assert_eq!(
        size_of(&sized(
            &[(json!({"cpu": "250m", "memory": "512Mi"}), none.clone())],
            &[]
        )),
        (256, 512)
    );
    assert_eq!(
        size_of(&sized(&[(json!({"cpu": "0.3"}), none.clone())], &[])),
        (512, 1024)
    );
    assert_eq!(
        size_of(&sized(&[(json!({"memory": "600Mi"}), none.clone())], &[])),
        (256, 1024)
    );
    assert_eq!(
        size_of(&sized(
            &[(json!({"cpu": "4", "memory": "31Gi"}), none.clone())],
            &[]
        )),
        (8192, 32768)
    );
    assert_eq!(
        size_of(&sized(
            &[(json!({"cpu": "16", "memory": "120Gi"}), none.clone())],
            &[]
        )),
        (16384, 122_880)
    );
}

#[test]
fn app_containers_and_sidecars_add_up_and_init_containers_count_alone() {
    let none = json!({});
    // Two app containers of 1 vCPU / 2 GiB each: 2 vCPU, 4 GiB.
    let app = (json!({"cpu": "1", "memory": "2Gi"}), none.clone());
    assert_eq!(size_of(&sized(&[app.clone(), app.clone()], &[])), (2048, 4096));
    // An init container of 4 vCPU runs alone: it sizes the task, and is not added.
    let big_init = (json!({"cpu": "4"}), none.clone(), false);
    assert_eq!(
        size_of(&sized(
            std::slice::from_ref(&app),
            std::slice::from_ref(&big_init)
        )),
        (4096, 8192)
    );
    // A small init container changes nothing.
    let small_init = (json!({"cpu": "500m", "memory": "1Gi"}), none.clone(), false);
    assert_eq!(
        size_of(&sized(std::slice::from_ref(&app), &[small_init])),
        (1024, 2048)
    );
    // A sidecar runs beside the app container: added.
    let sidecar = (json!({"cpu": "1", "memory": "2Gi"}), none.clone(), true);
    assert_eq!(
        size_of(&sized(std::slice::from_ref(&app), std::slice::from_ref(&sidecar))),
        (2048, 4096)
    );
    // An init container after a sidecar runs beside it: 1 + 4 vCPU -> 8 vCPU.
    assert_eq!(
        size_of(&sized(std::slice::from_ref(&app), &[sidecar, big_init])),
        (8192, 16384)
    );
    // Pod-level resources make the task at least that large.
    let t = template(json!({
        "containers": [{"name": "main", "image": "x"}],
        "resources": {"limits": {"cpu": "2", "memory": "6Gi"}},
    }));
    assert_eq!(size_of(&t), (2048, 6144));
}

#[test]
fn init_containers_keep_their_memory_limit_but_reserve_nothing() {
    let t = ok(&sized(
        &[(json!({"cpu": "1"}), json!({}))],
        &[(
            json!({"cpu": "2", "memory": "1Gi"}),
            json!({"memory": "2Gi"}),
            false,
        )],
    ));
    let init = &t.spec.container_definitions[0];
    assert_eq!(
        (init.cpu, init.memory_reservation, init.memory),
        (None, None, Some(2048))
    );
    let app = &t.spec.container_definitions[1];
    assert_eq!(app.cpu, Some(1024));
    // The containers' cpu never adds up past the task's (ECS refuses that).
    let sum: i32 = t.spec.container_definitions.iter().filter_map(|c| c.cpu).sum();
    assert!(sum <= i32::try_from(t.size.cpu).unwrap_or(0));
}

#[test]
fn past_sixteen_vcpu_or_120_gib_the_largest_asker_is_refused() {
    let none = json!({});
    let t = sized(
        &[
            (json!({"cpu": "1"}), none.clone()),
            (json!({"cpu": "16"}), none.clone()),
        ],
        &[],
    );
    assert_refused(
        &t,
        "spec.template.spec.containers[1].resources.requests[cpu]",
        "16 vCPU",
    );
    let t = sized(&[(json!({"cpu": "17"}), none.clone())], &[]);
    assert_refused(
        &t,
        "spec.template.spec.containers[0].resources.requests[cpu]",
        "17 vCPU",
    );
    let t = sized(&[(json!({"memory": "1Gi"}), json!({"memory": "121Gi"}))], &[]);
    assert_refused(
        &t,
        "spec.template.spec.containers[0].resources.limits[memory]",
        "120 GiB",
    );
    let t = sized(
        &[(none.clone(), none.clone())],
        &[(json!({"cpu": "32"}), none.clone(), false)],
    );
    assert_refused(
        &t,
        "spec.template.spec.initContainers[0].resources.requests[cpu]",
        "32 vCPU",
    );
}

#[test]
fn resources_fargate_does_not_have_and_malformed_quantities_are_refused() {
    assert_refused(
        &one(json!({"resources": {"limits": {"nvidia.com/gpu": "1"}}})),
        "spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]",
        "no GPUs",
    );
    assert_refused(
        &one(json!({"resources": {"requests": {"cpu": "lots"}}})),
        "spec.template.spec.containers[0].resources.requests[cpu]",
        "\"lots\"",
    );
    assert_refused(
        &one(json!({"resources": {"limits": {"memory": "4Mi"}}})),
        "spec.template.spec.containers[0].resources.limits[memory]",
        "6 MiB",
    );
    assert_refused(
        &one(json!({"resources": {"claims": [{"name": "gpu"}]}})),
        "spec.template.spec.containers[0].resources.claims",
        "dynamic resource",
    );
}

#[test]
fn ephemeral_storage_past_20_gib_sizes_the_tasks_storage() {
    let storage = |t: &PodTemplateSpec| ok(t).spec.ephemeral_storage.map(|e| e.size_in_gib);
    assert_eq!(
        storage(&one(
            json!({"resources": {"requests": {"ephemeral-storage": "10Gi"}}})
        )),
        None
    );
    assert_eq!(
        storage(&one(
            json!({"resources": {"limits": {"ephemeral-storage": "20Gi"}}})
        )),
        None
    );
    assert_eq!(
        storage(&one(
            json!({"resources": {"limits": {"ephemeral-storage": "20.5Gi"}}})
        )),
        Some(21)
    );
    assert_eq!(
        storage(&one(
            json!({"resources": {"limits": {"ephemeral-storage": "50G"}}})
        )),
        Some(47)
    );
    // emptyDir size limits count too.
    let t = template(json!({
        "containers": [container_with(json!({"resources": {"requests": {"ephemeral-storage": "10Gi"}}}))],
        "volumes": [{"name": "scratch", "emptyDir": {"sizeLimit": "25Gi"}}],
    }));
    assert_eq!(storage(&t), Some(35));
    assert_refused(
        &one(json!({"resources": {"limits": {"ephemeral-storage": "201Gi"}}})),
        "spec.template.spec.containers[0].resources.limits[ephemeral-storage]",
        "200 GiB",
    );
}

// ---- probes ---------------------------------------------------------------------------------------

#[test]
fn an_exec_probe_becomes_the_ecs_health_check() {
    let t = ok(&one(json!({"livenessProbe": {
        "exec": {"command": ["pgrep", "report"]},
        "initialDelaySeconds": 15, "periodSeconds": 20, "timeoutSeconds": 5, "failureThreshold": 4, "successThreshold": 1,
    }})));
    assert_eq!(
        main_of(&t).health_check,
        Some(td::HealthCheck {
            command: vec!["CMD".into(), "pgrep".into(), "report".into()],
            interval: Some(20),
            timeout: Some(5),
            retries: Some(4),
            start_period: Some(15),
        })
    );
    // Unset fields take Kubernetes' defaults (not ECS's), the 1 s timeout raised to ECS's least, 2.
    let t = ok(&one(json!({"startupProbe": {"exec": {"command": ["true"]}}})));
    let h = main_of(&t).health_check.clone().expect("a health check");
    assert_eq!(
        (h.interval, h.timeout, h.retries, h.start_period),
        (Some(10), Some(2), Some(3), Some(0))
    );
}

#[test]
fn probes_ecs_cannot_run_are_refused_at_their_paths() {
    let at = "spec.template.spec.containers[0]";
    assert_refused(
        &one(json!({"livenessProbe": {"httpGet": {"path": "/", "port": 80}}})),
        &format!("{at}.livenessProbe.httpGet"),
        "exec",
    );
    assert_refused(
        &one(json!({"readinessProbe": {"tcpSocket": {"port": 80}}})),
        &format!("{at}.readinessProbe.tcpSocket"),
        "exec",
    );
    assert_refused(
        &one(json!({"livenessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 301}})),
        &format!("{at}.livenessProbe.periodSeconds"),
        "5-300",
    );
    assert_refused(
        &one(json!({"livenessProbe": {"exec": {"command": ["true"]}, "timeoutSeconds": 61}})),
        &format!("{at}.livenessProbe.timeoutSeconds"),
        "2-60",
    );
    assert_refused(
        &one(json!({"livenessProbe": {"exec": {"command": ["true"]}, "failureThreshold": 11}})),
        &format!("{at}.livenessProbe.failureThreshold"),
        "1-10",
    );
    assert_refused(
        &one(json!({"livenessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 301}})),
        &format!("{at}.livenessProbe.initialDelaySeconds"),
        "0-300",
    );
    assert_refused(
        &one(json!({"readinessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2}})),
        &format!("{at}.readinessProbe.successThreshold"),
        "one success",
    );
    // One health check per container: the liveness probe is it, the others are refused.
    assert_refused(
        &one(json!({
            "livenessProbe": {"exec": {"command": ["true"]}},
            "readinessProbe": {"exec": {"command": ["true"]}},
        })),
        &format!("{at}.readinessProbe"),
        "livenessProbe is it",
    );
}

// ---- security -------------------------------------------------------------------------------------

#[test]
fn security_context_becomes_user_read_only_root_and_capabilities() {
    let t = ok(&one(json!({"securityContext": {
        "readOnlyRootFilesystem": true,
        "runAsUser": 1000,
        "runAsGroup": 3000,
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": true,
        "privileged": false,
        "capabilities": {"add": ["SYS_PTRACE"], "drop": ["ALL", "CAP_NET_RAW"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }})));
    let c = main_of(&t);
    assert_eq!(c.readonly_root_filesystem, Some(true));
    assert_eq!(c.user.as_deref(), Some("1000:3000"));
    assert_eq!(
        c.linux_parameters,
        Some(td::LinuxParameters {
            capabilities: Some(td::KernelCapabilities {
                add: vec!["SYS_PTRACE".into()],
                drop: vec!["ALL".into(), "NET_RAW".into()],
            }),
            init_process_enabled: None,
        })
    );
}

#[test]
fn the_pods_user_applies_to_containers_that_set_none() {
    let t = template(json!({
        "securityContext": {"runAsUser": 1000, "runAsGroup": 2000, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {"name": "main", "image": "x"},
            {"name": "other", "image": "x", "securityContext": {"runAsUser": 1001}},
        ],
    }));
    let t = ok(&t);
    let users: Vec<Option<&str>> = t
        .spec
        .container_definitions
        .iter()
        .map(|c| c.user.as_deref())
        .collect();
    assert_eq!(users, [Some("1000:2000"), Some("1001:2000")]);
}

#[test]
fn security_settings_fargate_cannot_honour_are_refused() {
    let at = "spec.template.spec.containers[0].securityContext";
    for (sc, field, words) in [
        (json!({"privileged": true}), "privileged", "privileged"),
        (
            json!({"allowPrivilegeEscalation": false}),
            "allowPrivilegeEscalation",
            "no_new_privs",
        ),
        (
            json!({"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}}),
            "capabilities.add[1]",
            "only SYS_PTRACE",
        ),
        (
            json!({"capabilities": {"drop": ["NOT_A_CAP"]}}),
            "capabilities.drop[0]",
            "not a capability",
        ),
        (json!({"runAsGroup": 3000}), "runAsGroup", "set runAsUser too"),
        (json!({"runAsNonRoot": true}), "runAsNonRoot", "non-zero uid"),
        (
            json!({"runAsNonRoot": true, "runAsUser": 0}),
            "runAsNonRoot",
            "non-zero uid",
        ),
        (
            json!({"seccompProfile": {"type": "Unconfined"}}),
            "seccompProfile.type",
            "RuntimeDefault",
        ),
        (json!({"procMount": "Unmasked"}), "procMount", "default way"),
        (
            json!({"seLinuxOptions": {"level": "s0"}}),
            "seLinuxOptions",
            "SELinux",
        ),
        (
            json!({"appArmorProfile": {"type": "RuntimeDefault"}}),
            "appArmorProfile",
            "AppArmor",
        ),
    ] {
        assert_refused(
            &one(json!({"securityContext": sc})),
            &format!("{at}.{field}"),
            words,
        );
    }
    let pod = "spec.template.spec.securityContext";
    for (sc, field) in [
        (json!({"fsGroup": 2000}), "fsGroup"),
        (json!({"supplementalGroups": [4000]}), "supplementalGroups"),
        (
            json!({"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]}),
            "sysctls",
        ),
        (json!({"runAsNonRoot": true}), "runAsNonRoot"),
    ] {
        let t = template(json!({"securityContext": sc, "containers": [{"name": "main", "image": "x"}]}));
        assert_eq!(refused(&t), [format!("{pod}.{field}")]);
    }
}

// ---- init containers and sidecars ----------------------------------------------------------------

#[test]
fn init_containers_run_in_order_before_the_app_and_sidecars_beside_it() {
    let t = ok(&template(json!({
        "initContainers": [
            {"name": "migrate", "image": "x"},
            {"name": "proxy", "image": "x", "restartPolicy": "Always"},
            {"name": "warm", "image": "x"},
        ],
        "containers": [{"name": "main", "image": "x"}],
    })));
    let deps = |name: &str| -> (Option<bool>, Vec<(String, String)>) {
        let c = t
            .spec
            .container_definitions
            .iter()
            .find(|c| c.name == name)
            .expect("container");
        let deps = c
            .depends_on
            .iter()
            .map(|d| (d.container_name.clone(), d.condition.clone()))
            .collect();
        (c.essential, deps)
    };
    let dep = |n: &str, c: &str| (n.to_string(), c.to_string());
    assert_eq!(deps("migrate"), (Some(false), vec![]));
    assert_eq!(deps("proxy"), (Some(false), vec![dep("migrate", "SUCCESS")]));
    assert_eq!(deps("warm"), (Some(false), vec![dep("proxy", "START")]));
    assert_eq!(
        deps("main"),
        (
            Some(true),
            vec![
                dep("migrate", "SUCCESS"),
                dep("proxy", "START"),
                dep("warm", "SUCCESS")
            ]
        )
    );
    assert_refused(
        &template(json!({
            "initContainers": [{"name": "i", "image": "x", "restartPolicy": "OnFailure"}],
            "containers": [{"name": "main", "image": "x"}],
        })),
        "spec.template.spec.initContainers[0].restartPolicy",
        "sidecar",
    );
}

#[test]
fn more_than_ten_containers_are_refused() {
    let inits: Vec<Value> = (0..10)
        .map(|i| json!({"name": format!("i{i}"), "image": "x"}))
        .collect();
    let t = template(json!({"initContainers": inits, "containers": [{"name": "main", "image": "x"}]}));
    assert_refused(&t, "spec.template.spec.containers", "ECS allows 10");
}

// ---- volumes --------------------------------------------------------------------------------------

#[test]
fn empty_dir_volumes_become_task_volumes_and_mounts_mount_points() {
    let t = ok(&template(json!({
        "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "out", "emptyDir": {"medium": ""}}],
        "containers": [container_with(json!({"volumeMounts": [
            {"name": "scratch", "mountPath": "/scratch"},
            {"name": "out", "mountPath": "/out", "readOnly": true, "mountPropagation": "None"},
        ]}))],
    })));
    let volumes: Vec<(&str, bool)> = t
        .spec
        .volumes
        .iter()
        .flatten()
        .map(|v| {
            (
                v.name.as_str(),
                v.host.is_none() && v.efs_volume_configuration.is_none(),
            )
        })
        .collect();
    assert_eq!(volumes, [("scratch", true), ("out", true)]);
    assert_eq!(
        main_of(&t).mount_points,
        [
            td::MountPoint {
                source_volume: "scratch".into(),
                container_path: "/scratch".into(),
                read_only: None,
            },
            td::MountPoint {
                source_volume: "out".into(),
                container_path: "/out".into(),
                read_only: Some(true),
            },
        ]
    );
}

#[test]
fn other_volumes_memory_media_and_sub_paths_are_refused_at_their_paths() {
    let t = template(json!({
        "volumes": [
            {"name": "scratch", "emptyDir": {}},
            {"name": "cfg", "configMap": {"name": "cfg"}},
            {"name": "creds", "secret": {"secretName": "creds"}},
            {"name": "host", "hostPath": {"path": "/var/run"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "ram", "emptyDir": {"medium": "Memory"}},
            {"name": "token", "projected": {"sources": []}},
        ],
        "containers": [container_with(json!({"volumeMounts": [
            {"name": "scratch", "mountPath": "/a", "subPath": "x"},
            {"name": "missing", "mountPath": "/b"},
        ]}))],
    }));
    let at = "spec.template.spec";
    assert_eq!(
        refused(&t),
        [
            format!("{at}.volumes[1].configMap"),
            format!("{at}.volumes[2].secret"),
            format!("{at}.volumes[3].hostPath"),
            format!("{at}.volumes[4].persistentVolumeClaim"),
            format!("{at}.volumes[5].emptyDir.medium"),
            format!("{at}.volumes[6].projected"),
            format!("{at}.containers[0].volumeMounts[0].subPath"),
            format!("{at}.containers[0].volumeMounts[1].name"),
        ]
    );
}

// ---- the pod --------------------------------------------------------------------------------------

#[test]
fn the_service_accounts_role_becomes_the_task_role() {
    let sa = service_account(json!({ROLE_ANNOTATION: TASK_ROLE}), json!({}));
    let t = ok_with(&one(json!({})), Some(&sa), &defaults());
    assert_eq!(t.spec.task_role_arn.as_deref(), Some(TASK_ROLE));
    let plain = service_account(json!({}), json!({}));
    assert_eq!(
        ok_with(&one(json!({})), Some(&plain), &defaults())
            .spec
            .task_role_arn,
        None
    );
    let bad = service_account(json!({ROLE_ANNOTATION: "report-writer"}), json!({}));
    let r = translate(&one(json!({})), Some(&bad), &defaults()).expect_err("refused");
    assert_eq!(r[0].path, "spec.template.spec.serviceAccountName");
    let pulls = service_account(json!({}), json!({"imagePullSecrets": [{"name": "regcred"}]}));
    let r = translate(&one(json!({})), Some(&pulls), &defaults()).expect_err("refused");
    assert!(r[0].message.contains("imagePullSecrets"), "{}", r[0]);
}

#[test]
fn the_grace_period_becomes_every_containers_stop_timeout() {
    let t = ok(&template(json!({
        "terminationGracePeriodSeconds": 90,
        "initContainers": [{"name": "init", "image": "x"}],
        "containers": [{"name": "main", "image": "x"}],
    })));
    let timeouts: Vec<Option<i32>> = t
        .spec
        .container_definitions
        .iter()
        .map(|c| c.stop_timeout)
        .collect();
    assert_eq!(timeouts, [Some(90), Some(90)]);
    // Below 2 s the kubelet waits 2 s, Fargate's least.
    let t = ok(&template(
        json!({"terminationGracePeriodSeconds": 0, "containers": [{"name": "main", "image": "x"}]}),
    ));
    assert_eq!(main_of(&t).stop_timeout, Some(2));
    assert_refused(
        &template(
            json!({"terminationGracePeriodSeconds": 121, "containers": [{"name": "main", "image": "x"}]}),
        ),
        "spec.template.spec.terminationGracePeriodSeconds",
        "at most 120",
    );
}

#[test]
fn the_node_selectors_architecture_and_os_become_the_runtime_platform() {
    let platform = |selector: Value| {
        ok(&template(
            json!({"nodeSelector": selector, "containers": [{"name": "main", "image": "x"}]}),
        ))
        .spec
        .runtime_platform
    };
    assert_eq!(
        platform(json!({"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"})),
        Some(td::RuntimePlatform {
            cpu_architecture: Some("ARM64".into()),
            operating_system_family: Some("LINUX".into()),
        })
    );
    assert_eq!(
        platform(json!({"kubernetes.io/arch": "amd64"})).and_then(|p| p.cpu_architecture),
        Some("X86_64".into())
    );
    let t = template(json!({
        "nodeSelector": {"kubernetes.io/arch": "s390x", "disktype": "ssd"},
        "containers": [{"name": "main", "image": "x"}],
    }));
    assert_eq!(
        refused(&t),
        [
            "spec.template.spec.nodeSelector[disktype]",
            "spec.template.spec.nodeSelector[kubernetes.io/arch]",
        ]
    );
}

#[test]
fn scheduling_and_host_fields_are_refused_at_their_paths_and_tolerations_accepted() {
    let at = "spec.template.spec";
    for (extra, field) in [
        (json!({"affinity": {"nodeAffinity": {}}}), "affinity"),
        (json!({"nodeName": "node-1"}), "nodeName"),
        (json!({"hostNetwork": true}), "hostNetwork"),
        (json!({"hostPID": true}), "hostPID"),
        (json!({"hostIPC": true}), "hostIPC"),
        (json!({"priorityClassName": "high"}), "priorityClassName"),
        (json!({"runtimeClassName": "gvisor"}), "runtimeClassName"),
        (json!({"schedulerName": "volcano"}), "schedulerName"),
        (json!({"dnsPolicy": "None"}), "dnsPolicy"),
        (
            json!({"hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db"]}]}),
            "hostAliases",
        ),
        (
            json!({"imagePullSecrets": [{"name": "regcred"}]}),
            "imagePullSecrets",
        ),
        (json!({"activeDeadlineSeconds": 60}), "activeDeadlineSeconds"),
        (
            json!({"automountServiceAccountToken": true}),
            "automountServiceAccountToken",
        ),
        (
            json!({"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]}),
            "topologySpreadConstraints",
        ),
        (json!({"restartPolicy": "Always"}), "restartPolicy"),
    ] {
        let mut spec = json!({"containers": [{"name": "main", "image": "x"}]});
        if let (Some(base), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            base.extend(extra);
        }
        assert_eq!(refused(&template(spec)), [format!("{at}.{field}")]);
    }
    ok(&template(json!({
        "containers": [{"name": "main", "image": "x"}],
        "tolerations": [{"key": "eks.amazonaws.com/compute-type", "operator": "Equal", "value": "fargate", "effect": "NoSchedule"}],
        "restartPolicy": "OnFailure",
        "dnsPolicy": "Default",
        "hostNetwork": false,
        "automountServiceAccountToken": false,
        "serviceAccountName": "report",
    })));
}

#[test]
fn share_process_namespace_becomes_pid_mode_task() {
    let t = ok(&template(
        json!({"shareProcessNamespace": true, "containers": [{"name": "main", "image": "x"}]}),
    ));
    assert_eq!(t.spec.pid_mode.as_deref(), Some("task"));
}

// ---- metadata: secrets and logs ------------------------------------------------------------------

fn with_secrets(secrets: Value, env: Value) -> PodTemplateSpec {
    let annotation = if let Value::String(s) = &secrets {
        s.clone()
    } else {
        secrets.to_string()
    };
    template_with(
        json!({"annotations": {SECRETS_ANNOTATION: annotation}}),
        json!({"containers": [container_with(json!({"env": env}))]}),
    )
}

#[test]
fn the_secrets_annotation_becomes_the_containers_ecs_secrets() {
    let t = ok(&with_secrets(
        json!({"main": {"DB_PASSWORD": SECRET_ARN, "TOKEN": PARAM_ARN}}),
        json!([{"name": "MODE", "value": "full"}]),
    ));
    assert_eq!(
        main_of(&t).secrets,
        [
            td::Secret {
                name: "DB_PASSWORD".into(),
                value_from: SECRET_ARN.into(),
            },
            td::Secret {
                name: "TOKEN".into(),
                value_from: PARAM_ARN.into(),
            },
        ]
    );
}

#[test]
fn a_bad_secrets_annotation_is_refused_at_the_annotation() {
    let at = "spec.template.metadata.annotations[ecs.kubefargate.dev/secrets]";
    assert_refused(&with_secrets(json!("{not json"), json!([])), at, "must be JSON");
    assert_refused(
        &with_secrets(json!({"other": {"A": SECRET_ARN}}), json!([])),
        at,
        "names no container",
    );
    assert_refused(
        &with_secrets(json!({"main": {"A": "arn:aws:s3:::bucket/key"}}), json!([])),
        at,
        "Secrets Manager or SSM",
    );
    assert_refused(
        &with_secrets(
            json!({"main": {"A": SECRET_ARN}}),
            json!([{"name": "A", "value": "x"}]),
        ),
        at,
        "both in env and a secret",
    );
    let no_role = Defaults {
        execution_role_arn: None,
        ..defaults()
    };
    let r = refusals_with(
        &with_secrets(json!({"main": {"A": SECRET_ARN}}), json!([])),
        &no_role,
    );
    assert_eq!(r.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(), [at]);
    // A reference to a secret would stay literal: refused where it is written.
    assert_refused(
        &with_secrets(
            json!({"main": {"A": SECRET_ARN}}),
            json!([{"name": "URL", "value": "db://$(A)@host"}]),
        ),
        "spec.template.spec.containers[0].env[0].value",
        "ECS secret",
    );
}

#[test]
fn unknown_own_annotations_are_refused_and_other_metadata_is_accepted() {
    let t = template_with(
        json!({"annotations": {"ecs.kubefargate.dev/secret": "{}", "kubectl.kubernetes.io/default-container": "main"}}),
        json!({"containers": [{"name": "main", "image": "x"}]}),
    );
    assert_refused(
        &t,
        "spec.template.metadata.annotations[ecs.kubefargate.dev/secret]",
        "not an ecs-controller annotation",
    );
    let t = template_with(
        json!({"finalizers": ["example.com/keep"], "labels": {"app": "report"}}),
        json!({"containers": [{"name": "main", "image": "x"}]}),
    );
    assert_eq!(refused(&t), ["spec.template.metadata.finalizers"]);
}

#[test]
fn every_container_logs_to_the_profiles_group_under_the_jobs_name() {
    let d = Defaults {
        log_group: Some("/ecs/jobs".into()),
        ..defaults()
    };
    let t = template_with(
        json!({"labels": {"batch.kubernetes.io/job-name": "report", "job-name": "report"}}),
        json!({"initContainers": [{"name": "init", "image": "x"}], "containers": [{"name": "main", "image": "x"}]}),
    );
    let t = ok_with(&t, None, &d);
    let expected = td::LogConfiguration {
        log_driver: "awslogs".into(),
        options: BTreeMap::from([
            ("awslogs-group".to_string(), "/ecs/jobs".to_string()),
            ("awslogs-region".to_string(), "eu-west-1".to_string()),
            ("awslogs-stream-prefix".to_string(), "report".to_string()),
        ]),
        secret_options: vec![],
    };
    for c in &t.spec.container_definitions {
        assert_eq!(c.log_configuration.as_ref(), Some(&expected), "{}", c.name);
    }
    // Without the Job's label (a template built by hand): the prefix is "job".
    let t = ok_with(&one(json!({})), None, &d);
    let prefix = main_of(&t)
        .log_configuration
        .as_ref()
        .and_then(|l| l.options.get("awslogs-stream-prefix").cloned());
    assert_eq!(prefix.as_deref(), Some("job"));
    let no_role = Defaults {
        execution_role_arn: None,
        ..d
    };
    let r = refusals_with(&one(json!({})), &no_role);
    assert_eq!((r.len(), r[0].path.as_str()), (1, "spec.template"));
}

// ---- everything at once, and hostile input -------------------------------------------------------

#[test]
fn every_refusal_is_collected_not_just_the_first() {
    let t = template(json!({
        "hostNetwork": true,
        "nodeName": "n",
        "containers": [
            container_with(json!({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]})),
            {"name": "b", "image": "x", "securityContext": {"privileged": true}},
        ],
    }));
    let r = refusals_with(&t, &defaults());
    assert_eq!(r.len(), 4, "{r:#?}");
    assert_eq!(
        r[2].to_string(),
        format!(
            "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef: {}",
            r[2].message
        )
    );
}

#[test]
fn a_template_without_spec_or_containers_is_refused() {
    let t: PodTemplateSpec = serde_json::from_value(json!({"metadata": {}})).expect("parses");
    assert_eq!(refused(&t), ["spec.template.spec"]);
    assert_eq!(
        refused(&template(json!({"containers": []}))),
        ["spec.template.spec.containers"]
    );
}

#[test]
fn ten_thousand_env_vars_are_refused_past_64_kib_without_panic() {
    let env: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("VAR_{i}"), "value": "some value"}))
        .collect();
    let t = template(json!({"containers": [
        {"name": "side", "image": "x", "env": [{"name": "A", "value": "1"}]},
        container_with(json!({"env": env})),
    ]}));
    assert_refused(&t, "spec.template.spec.containers[1].env", "ECS allows 65536");
}

#[test]
fn a_one_mib_env_value_is_refused_without_panic() {
    let t = one(json!({"env": [{"name": "BLOB", "value": "x".repeat(1 << 20)}]}));
    assert_refused(&t, "spec.template.spec.containers[0].env", "65536");
    // A self-referencing expansion does not grow without end.
    let t = one(json!({"env": [
        {"name": "A", "value": "x".repeat(1000)},
        {"name": "A", "value": "$(A)$(A)"},
        {"name": "A", "value": "$(A)$(A)"},
    ]}));
    assert_eq!(main_of(&ok(&t)).environment[0].value.len(), 4000);
    // Doubling 64 times would need 2^64 bytes: refused at the first value past 64 KiB.
    let mut env = vec![json!({"name": "A", "value": "xx"})];
    env.extend((0..64).map(|_| json!({"name": "A", "value": "$(A)$(A)"})));
    assert_refused(
        &one(json!({"env": env})),
        "spec.template.spec.containers[0].env[16].value",
        "expands past 65536",
    );
}

#[test]
fn sizes_and_refusals_read_as_sentences() {
    let s = Size {
        cpu: 512,
        memory: 1024,
        asked_cpu: 308,
        asked_memory: 300,
    };
    assert_eq!(
        s.to_string(),
        "0.5 vCPU and 1024 MiB (the containers ask for 0.301 vCPU and 300 MiB)"
    );
    let r = Refusal {
        path: "spec.template.spec.nodeName".into(),
        message: "Fargate has no nodes".into(),
    };
    assert_eq!(r.to_string(), "spec.template.spec.nodeName: Fargate has no nodes");
}
