//! The container image, run as the Helm chart runs it. `make image` builds it (buildah, vfs storage under
//! `ECS_TEST_IMAGE_STORE`); this test renders the chart with `helm template` and starts the rendered
//! Deployment's image with podman, translating the rendered container into podman flags: its args and
//! env (fieldRefs filled with this test's pod name and namespace), `runAsUser`/`runAsGroup`,
//! `readOnlyRootFilesystem`, dropped capabilities and no privilege escalation. What a cluster would
//! give the pod instead is added and said: the kubeconfig (for the service-account token) and the AWS
//! endpoint and credentials (for IRSA or Pod Identity). Host network, as the local apiserver and moto
//! listen on loopback.

use super::helm::{template, yaml_docs};
use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::api::{ConditionStatus, EcsCluster};
use ecs_controller_e2e::fixtures::cluster_manifest;
use ecs_controller_e2e::harness::*;
use kube::api::Api;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// podman with the image store `make image` built into (vfs, as these machines need).
struct Podman {
    store: String,
    conf: std::path::PathBuf,
}

impl Podman {
    fn new(store: &str) -> Result<Self> {
        // podman's default ulimits cannot be set in this sandbox (setrlimit: Operation not permitted).
        let conf = std::path::Path::new(store).join("containers.conf");
        std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n")?;
        Ok(Self {
            store: store.to_string(),
            conf,
        })
    }

    fn run(&self, args: &[&str]) -> Result<Output> {
        Command::new("podman")
            .env("CONTAINERS_CONF", &self.conf)
            .args(["--root", &format!("{}/storage", self.store)])
            .args(["--runroot", &format!("{}/run", self.store)])
            .args(["--storage-driver", "vfs", "--runtime", "/usr/sbin/runc"])
            .args(["--cgroup-manager", "cgroupfs", "--events-backend", "none"])
            .args(args)
            .output()
            .context("running podman (make image installs it)")
    }

    fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args)?;
        ensure!(
            out.status.success(),
            "podman {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Removes the container when the test ends, however it ends.
struct Container<'a> {
    podman: &'a Podman,
    name: String,
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let _ = self.podman.run(&["rm", "-f", "-t", "0", &self.name]);
    }
}

/// A file removed when the test ends.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A TCP port nobody listens on now.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[tokio::test]
async fn the_image_runs_as_the_chart_renders_it_reconciles_and_stops_on_sigterm() -> Result<()> {
    let store = env("ECS_TEST_IMAGE_STORE")?;
    let podman = Podman::new(&store)?;
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-image").await?;
    let port = free_port()?;

    // The chart, rendered for this namespace only (so this controller leaves other tests' objects
    // alone) and with a free metrics port (the host network is shared).
    let rendered = template(
        "e2e",
        &ns.name,
        &[
            "--set",
            &format!("controller.watchNamespaces={{{}}}", ns.name),
            "--set",
            &format!("metrics.port={port}"),
        ],
    )?;
    let docs = yaml_docs(&rendered)?;
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .context("the chart renders no Deployment")?;
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let image = container["image"].as_str().context("image")?;
    let pod_name = "ecs-controller-e2e-image";

    let mut flags: Vec<String> = vec!["--network".into(), "host".into()];
    // Security context: the container's settings over the pod's.
    let setting = |key: &str| {
        let c = &container["securityContext"][key];
        if c.is_null() {
            pod["securityContext"][key].clone()
        } else {
            c.clone()
        }
    };
    if let (Some(user), group) = (setting("runAsUser").as_i64(), setting("runAsGroup").as_i64()) {
        flags.push("--user".into());
        flags.push(group.map_or(user.to_string(), |g| format!("{user}:{g}")));
    }
    if setting("readOnlyRootFilesystem") == Value::Bool(true) {
        flags.push("--read-only".into());
    }
    if setting("allowPrivilegeEscalation") == Value::Bool(false) {
        flags.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    for cap in container["securityContext"]["capabilities"]["drop"]
        .as_array()
        .into_iter()
        .flatten()
    {
        flags.extend(["--cap-drop".into(), cap.as_str().unwrap_or_default().to_string()]);
    }
    // Environment: values as rendered, field references as the kubelet would fill them.
    for e in container["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().context("env name")?;
        let value = match (&e["value"], e["valueFrom"]["fieldRef"]["fieldPath"].as_str()) {
            (Value::String(v), _) => v.clone(),
            (_, Some("metadata.name")) => pod_name.to_string(),
            (_, Some("metadata.namespace")) => ns.name.clone(),
            (_, other) => bail!("env {name}: a source this test cannot fill ({other:?})"),
        };
        flags.extend(["--env".into(), format!("{name}={value}")]);
    }
    // What the cluster would provide: API access (for the service-account token) and AWS (for IRSA).
    // The kubeconfig is copied readable for the image's user, as a projected token would be.
    let kubeconfig = std::path::Path::new(&store).join(format!("{}.kubeconfig", ns.name));
    std::fs::copy(env("KUBECONFIG")?, &kubeconfig)?;
    std::fs::set_permissions(&kubeconfig, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    let _kubeconfig = Removed(kubeconfig.clone());
    flags.extend([
        "--volume".into(),
        format!("{}:/var/run/ecs-e2e/kubeconfig:ro", kubeconfig.display()),
        "--env".into(),
        "KUBECONFIG=/var/run/ecs-e2e/kubeconfig".into(),
    ]);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_EC2_METADATA_DISABLED",
    ] {
        flags.extend(["--env".into(), format!("{var}={}", env(var)?)]);
    }
    let args: Vec<String> = container["args"]
        .as_array()
        .context("args")?
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect();

    let name = unique("ecs-e2e-image");
    let mut run: Vec<&str> = vec!["run", "--detach", "--name", &name];
    run.extend(flags.iter().map(String::as_str));
    run.push(image);
    run.extend(args.iter().map(String::as_str));
    podman.ok(&run)?;
    let _container = Container {
        podman: &podman,
        name: name.clone(),
    };
    // The controller logs to stderr; `podman logs` passes that on as its own stderr.
    let logs = || {
        podman.run(&["logs", &name]).map_or_else(
            |e| format!("(no log: {e})"),
            |o| {
                format!(
                    "controller log:\n{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            },
        )
    };

    // Up: /readyz answers on the rendered port.
    let base = format!("http://127.0.0.1:{port}");
    eventually("/readyz to answer 200", Duration::from_secs(60), || async {
        Ok((http_get(&base, "/readyz").await?.0 == 200).then_some(()))
    })
    .await
    .with_context(logs)?;

    // Non-root, read-only root file system.
    let pid = podman.ok(&["inspect", "--format", "{{.State.Pid}}", &name])?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .context("Uid in /proc/<pid>/status")?;
    ensure!(
        uid == "65532",
        "the controller runs as uid {uid}, not the chart's 65532"
    );
    let read_only = podman.ok(&["inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", &name])?;
    ensure!(
        read_only == "true",
        "the root file system is not read-only: {read_only}"
    );

    // It does its job: an EcsCluster in its namespace becomes Ready.
    let clusters: Api<EcsCluster> = ns.api();
    apply(&clusters, cluster_manifest("img", &unique("e2e-image"))).await?;
    wait_ready(&clusters, "img", ConditionStatus::True, Duration::from_secs(60))
        .await
        .with_context(logs)?;

    // SIGTERM (what the kubelet sends): it exits 0 within the grace period.
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    let started = Instant::now();
    podman.ok(&["stop", "--time", &grace.to_string(), &name])?;
    let took = started.elapsed();
    let code = podman.ok(&["inspect", "--format", "{{.State.ExitCode}}", &name])?;
    ensure!(code == "0", "exit code {code} after SIGTERM; log:\n{}", logs());
    ensure!(
        took < Duration::from_secs(grace),
        "took {took:?} to stop (grace period {grace}s): it was killed, not stopped"
    );

    let size: u64 = podman
        .ok(&["image", "inspect", "--format", "{{.Size}}", image])?
        .parse()?;
    eprintln!(
        "image {image}: {:.1} MiB; stopped in {took:?} after SIGTERM",
        size as f64 / 1048576.0
    );
    ensure!(
        size < 64 << 20,
        "the image is {size} bytes; it should be the binary and its libraries"
    );
    Ok(())
}
