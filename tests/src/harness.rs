//! The harness of the end-to-end tests, shared by the `e2e` and `chaos` test binaries and the `bench`
//! example: the real kube-apiserver and moto that `make env-up` started (read from the environment
//! `.local/env` exports), and the real controller binary, one process per test, scoped to the test's own
//! namespace.

use crate::kinds::mutating_aws_operations;
use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::api::conditions::{self, READY};
use ecs_controller::api::{
    Condition, ConditionStatus, EcsCluster, FargateService, FargateTask, ScalingPolicy, TaskDefinition,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Field manager the tests apply manifests with (as a user would with `kubectl apply --server-side`).
pub const TEST_MANAGER: &str = "e2e-user";

pub fn env(name: &str) -> Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set: run the end-to-end tests through `make test` (or source .local/env after `make env-up`)"))
}

/// A name unique to this run and call, safe for Kubernetes and ECS.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        % 1_000_000;
    format!(
        "{prefix}-{t}-{}-{}",
        std::process::id() % 1000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub async fn kube() -> Result<Client> {
    env("KUBECONFIG")?;
    Ok(Client::try_default().await?)
}

pub async fn ecs() -> Result<aws_sdk_ecs::Client> {
    env("AWS_ENDPOINT_URL")?;
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(aws_sdk_ecs::Client::new(&conf))
}

pub async fn aas() -> Result<aws_sdk_applicationautoscaling::Client> {
    env("AWS_ENDPOINT_URL")?;
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(aws_sdk_applicationautoscaling::Client::new(&conf))
}

/// The repository's root directory (charts, docs, gitops files the tests check).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A namespace of the test's own, deleted at the end.
pub struct TestNamespace {
    pub name: String,
    client: Client,
}

impl TestNamespace {
    pub async fn create(client: &Client, prefix: &str) -> Result<Self> {
        let name = unique(prefix);
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?;
        api.create(&PostParams::default(), &ns).await?;
        Ok(Self {
            name,
            client: client.clone(),
        })
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Best effort: the namespace's objects have finalizers the controller (already stopped) would
        // remove, so the namespace may linger in Terminating; it holds nothing of AWS's.
        let _ = Command::new("kubectl")
            .args([
                "delete",
                "namespace",
                &self.name,
                "--wait=false",
                "--ignore-not-found",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A FargateProfile a test applied (cluster-scoped: its namespace's deletion does not take it), deleted
/// when dropped.
pub struct Profile(pub String);

impl Profile {
    /// Applies `manifest` (a FargateProfile named `name`) with kubectl.
    pub fn apply(name: &str, manifest: &serde_json::Value) -> Result<Self> {
        let file = std::env::temp_dir().join(format!("{name}.json"));
        std::fs::write(&file, manifest.to_string())?;
        let (ok, out) = kubectl(&["apply", "-f", &file.to_string_lossy()])?;
        ensure!(ok, "kubectl apply profile: {out}");
        Ok(Self(name.to_string()))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = kubectl(&[
            "delete",
            "fargateprofile",
            &self.0,
            "--ignore-not-found",
            "--wait=false",
        ]);
    }
}

/// The controller binary as a child process, killed when dropped; its log goes to a file.
pub struct ControllerProcess {
    child: Child,
    pub log: PathBuf,
}

pub fn controller_binary() -> PathBuf {
    if let Ok(p) = std::env::var("ECS_CONTROLLER_BIN") {
        return PathBuf::from(p);
    }
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("../target"));
    target.join("debug/ecs-controller")
}

impl ControllerProcess {
    /// Starts `ecs-controller run` for one namespace with a short resync period.
    pub fn start(namespace: &str, extra: &[&str]) -> Result<Self> {
        Self::start_with_env(namespace, extra, &[])
    }

    /// Like [`start`](Self::start), with extra environment variables (failpoints, say).
    pub fn start_with_env(namespace: &str, extra: &[&str], vars: &[(&str, &str)]) -> Result<Self> {
        let bin = controller_binary();
        if !bin.exists() {
            bail!(
                "{} does not exist: build it with `cargo build -p ecs-controller`",
                bin.display()
            );
        }
        let log = std::env::temp_dir().join(format!("{}.controller.log", unique(namespace)));
        let file = std::fs::File::create(&log)?;
        let default_resync: &[&str] = if extra.contains(&"--resync-period") {
            &[]
        } else {
            &["--resync-period", "3s"]
        };
        let child = Command::new(&bin)
            .args(["run", "--watch-namespace", namespace])
            .args(if extra.contains(&"--log-format") {
                &[][..]
            } else {
                &["--log-format", "text"][..]
            })
            .args(["--metrics-bind-address", "127.0.0.1:0"])
            .args(default_resync)
            .args(extra)
            .env("RUST_LOG", "info,ecs_controller=debug")
            .envs(vars.iter().copied())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut process = Self { child, log };
        // A controller that exits at once (bad flags, say) must fail the test here, not later.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = process.child.try_wait()? {
            bail!(
                "the controller exited at start ({status}): {}",
                process.log_text()
            );
        }
        Ok(process)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The base URL of the controller's HTTP server (`/metrics`, `/healthz`, `/readyz`), read from its log.
    pub async fn http_base(&self) -> Result<String> {
        eventually(
            "the controller's HTTP address in its log",
            Duration::from_secs(20),
            || async {
                let log = self.log_text();
                let Some(line) = log.lines().find(|l| l.contains("serving /metrics")) else {
                    return Ok(None);
                };
                // Text logs say `addr=127.0.0.1:PORT`; JSON logs have an "addr" field.
                let addr = match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(v) => v["addr"].as_str().map(str::to_string),
                    Err(_) => line
                        .split("addr=")
                        .nth(1)
                        .and_then(|a| a.split_whitespace().next())
                        .map(str::to_string),
                };
                Ok(addr.map(|a| format!("http://{a}")))
            },
        )
        .await
    }

    /// How many successful AWS calls of `operation` the controller has logged so far.
    pub fn calls(&self, operation: &str) -> usize {
        let needle = format!("operation=\"{operation}\"");
        self.log_text()
            .lines()
            .filter(|l| l.contains("AWS call succeeded") && l.contains(&needle))
            .count()
    }

    /// Successful AWS calls that change something, by operation.
    pub fn mutating_calls(&self) -> Vec<(String, usize)> {
        mutating_aws_operations()
            .into_iter()
            .map(|op| (op.to_string(), self.calls(op)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Waits for the process to exit by itself; returns its exit code.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code());
            }
            if start.elapsed() > timeout {
                bail!("the controller did not exit within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (as Kubernetes does to stop a pod).
    pub fn terminate(&self) -> Result<()> {
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?
            .success();
        ensure!(ok, "kill -TERM failed");
        Ok(())
    }

    /// Stops the process with SIGKILL (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- controller log ({}) ---\n{}",
                self.log.display(),
                self.log_text()
            );
        }
    }
}

/// What most end-to-end tests start with: a namespace of their own, one controller watching it (the
/// defaults of [`ControllerProcess::start`] plus any [`SetupBuilder::args`]), and the typed [`Api`]s of
/// the kinds in that namespace.
///
/// Bind it whole (`let s = Setup::new("e2e-x").await?;`) and borrow from it: a destructuring
/// `let Setup { ns, .. } = ...` would drop the fields it leaves out, the controller among them, at once.
/// Fields drop in declaration order, so the controller stops before its namespace is deleted.
pub struct Setup {
    pub controller: ControllerProcess,
    pub ns: TestNamespace,
    pub client: Client,
    pub clusters: Api<EcsCluster>,
    pub tds: Api<TaskDefinition>,
    pub services: Api<FargateService>,
    pub policies: Api<ScalingPolicy>,
    pub tasks: Api<FargateTask>,
}

impl Setup {
    /// A namespace named after `prefix` (made unique) and a controller with the test defaults.
    pub async fn new(prefix: &str) -> Result<Self> {
        Self::builder(prefix).start().await
    }

    /// Like [`new`](Self::new), for a controller that needs flags of its own.
    pub fn builder(prefix: &str) -> SetupBuilder {
        SetupBuilder {
            prefix: prefix.to_string(),
            args: Vec::new(),
            vars: Vec::new(),
        }
    }
}

/// A [`Setup`] still to be started; see [`Setup::builder`].
pub struct SetupBuilder {
    prefix: String,
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl SetupBuilder {
    /// Extra flags for `ecs-controller run` (as [`ControllerProcess::start`] takes them).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// An environment variable for the controller (`AWS_ENDPOINT_URL` of a [`crate::moto::PrivateMoto`],
    /// say).
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    /// Creates the namespace, then starts the controller in it.
    pub async fn start(self) -> Result<Setup> {
        let client = kube().await?;
        let ns = TestNamespace::create(&client, &self.prefix).await?;
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let controller = ControllerProcess::start_with_env(&ns.name, &args, &vars)?;
        Ok(Setup {
            controller,
            clusters: ns.api(),
            tds: ns.api(),
            services: ns.api(),
            policies: ns.api(),
            tasks: ns.api(),
            ns,
            client,
        })
    }
}

/// Polls `check` until it returns `Some`, or fails with the last observation after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let start = Instant::now();
    let mut last: String;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => last = "condition not met".into(),
            Err(e) => last = format!("{e:#}"),
        }
        if start.elapsed() > timeout {
            bail!("timed out after {timeout:?} waiting for {what}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The conditions of any of our kinds, read generically.
pub fn conditions_of(obj: &serde_json::Value) -> Vec<Condition> {
    obj.pointer("/status/conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default()
}

pub fn condition(obj: &serde_json::Value, type_: &str) -> Option<Condition> {
    conditions::find(&conditions_of(obj), type_).cloned()
}

/// Waits until `Ready` has `status` for the current generation; returns the object as JSON.
pub async fn wait_ready<K>(
    api: &Api<K>,
    name: &str,
    status: ConditionStatus,
    timeout: Duration,
) -> Result<serde_json::Value>
where
    K: Resource + Clone + DeserializeOwned + Debug + serde::Serialize,
{
    eventually(&format!("{name} Ready={status:?}"), timeout, || async {
        let obj = serde_json::to_value(api.get(name).await?)?;
        let generation = obj.pointer("/metadata/generation").and_then(|g| g.as_i64());
        Ok(condition(&obj, READY)
            .filter(|c| c.status == status && c.observed_generation == generation)
            .map(|_| obj.clone()))
    })
    .await
}

/// Server-side applies a manifest as a user would.
pub async fn apply<K>(api: &Api<K>, manifest: serde_json::Value) -> Result<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + serde::Serialize,
{
    let name = manifest
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .context("manifest without a name")?
        .to_string();
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(TEST_MANAGER).force(),
            &Patch::Apply(manifest),
        )
        .await?)
}

/// Deletes an object and waits until it is gone from the API server.
pub async fn delete_and_wait_gone<K>(api: &Api<K>, name: &str, timeout: Duration) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    api.delete(name, &DeleteParams::default()).await?;
    eventually(&format!("{name} to disappear"), timeout, || async {
        Ok(api.get_opt(name).await?.is_none().then_some(()))
    })
    .await
}

/// Runs kubectl and returns (success, stdout + stderr).
pub fn kubectl(args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new("kubectl")
        .args(args)
        .output()
        .context("running kubectl (is it on PATH? source .local/env)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// A plain HTTP/1.0 GET on loopback: (status code, body).
pub async fn http_get(base: &str, path: &str) -> Result<(u16, String)> {
    http_exchange(base, "GET", path, None, &[]).await
}

/// A plain HTTP/1.0 POST of a JSON body on loopback: (status code, body).
pub async fn http_post_json(base: &str, path: &str, body: &str) -> Result<(u16, String)> {
    http_exchange(base, "POST", path, Some(body), &[]).await
}

/// One call of the ECS API to moto in its own JSON (`operation`: `DescribeTaskDefinition`, ...), for
/// comparing what moto holds with JSON as users write it (the SDK's types do not serialize).
pub async fn ecs_json(operation: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    let base = env("AWS_ENDPOINT_URL")?;
    let target = format!("AmazonEC2ContainerServiceV20141113.{operation}");
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";
    let (code, text) = http_exchange(
        &base,
        "POST",
        "/",
        Some(&body.to_string()),
        &[
            ("X-Amz-Target", &target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", auth),
        ],
    )
    .await?;
    ensure!(code == 200, "{operation}: HTTP {code}: {text}");
    Ok(serde_json::from_str(&text)?)
}

/// One HTTP/1.0 request on a new loopback connection (`base` is `http://host:port`), read to the end.
async fn http_exchange(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("connecting to {host}"))?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {host}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        request.push_str("\r\n");
    }
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").context("no HTTP header end")?;
    let code = head.split_whitespace().nth(1).context("no status")?.parse()?;
    Ok((code, body.to_string()))
}

/// The value of one sample in Prometheus text (`name{labels}` exactly as exposed), 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Scrapes `/metrics` of a controller.
/// Reconciles of `kind` the controller has finished since it started (any outcome), from its metrics.
pub async fn reconciles(controller: &ControllerProcess, kind: &str) -> Result<f64> {
    let text = scrape(controller).await?;
    let prefix = format!("ecs_controller_reconciles_total{{kind=\"{kind}\"");
    Ok(text
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum())
}

/// Waits until the controller has finished `more` reconciles of `kind` beyond those it had finished
/// when called (with a short resync period: that many resyncs of the kind's objects).
pub async fn more_reconciles(controller: &ControllerProcess, kind: &str, more: f64) -> Result<()> {
    let target = reconciles(controller, kind).await? + more;
    eventually(
        &format!("{more} more {kind} reconciles"),
        Duration::from_secs(120),
        || async { Ok((reconciles(controller, kind).await? >= target).then_some(())) },
    )
    .await
}

pub async fn scrape(controller: &ControllerProcess) -> Result<String> {
    let base = controller.http_base().await?;
    let (code, body) = http_get(&base, "/metrics").await?;
    ensure!(code == 200, "/metrics answered {code}");
    Ok(body)
}

/// Applies each manifest of an invalid corpus and checks that the API server rejects it with a message
/// containing the expected text; reports every miss at once.
pub async fn assert_all_rejected<K>(api: &Api<K>, corpus: Vec<(serde_json::Value, &str)>) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug + serde::Serialize,
{
    let mut failures = Vec::new();
    for (manifest, want) in corpus {
        match apply(api, manifest.clone()).await {
            Ok(_) => failures.push(format!("accepted: {}", manifest["spec"])),
            Err(e) if !format!("{e:#}").contains(want) => failures.push(format!("{want:?} not in: {e:#}")),
            Err(_) => {}
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Removes every finalizer of an object, as a user lets go of one whose AWS side cannot be reached.
pub fn release_finalizers(namespace: &str, resource: &str) -> Result<()> {
    let (ok, out) = kubectl(&[
        "patch",
        "-n",
        namespace,
        resource,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ])?;
    ensure!(ok, "{out}");
    Ok(())
}
