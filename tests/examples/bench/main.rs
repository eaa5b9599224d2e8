//! `make bench`: how fast the controller converges, how many AWS calls and Kubernetes writes it spends,
//! and how much memory and CPU it needs, at scale, on the real kube-apiserver and moto, beside the floor
//! (the fewest calls the scenario needs, timed with moto's measured cost per call). Not a test: a missed
//! goal is reported, only a broken invariant fails the run.
//!
//! Phases (one namespace, the release build of the controller; see README "Benchmark"):
//! 1. moto's cost per call, timed directly with the AWS SDK;
//! 2. latency: one FargateService with its EcsCluster and TaskDefinition, applied until Ready and deleted
//!    until gone, repeated;
//! 3. convergence: one EcsCluster, N TaskDefinitions, N FargateServices and N/2 ScalingPolicies applied
//!    at once, until all are Ready and the controller is quiet;
//! 4. restart: a new controller process with a short resync re-verifies everything;
//! 5. steady state: several resync periods with nothing changed;
//! 6. drift: 10% of the services changed in AWS, until the controller has put every one back;
//! 7. deletion: everything deleted at once, until gone;
//! 8. FargateTasks, with a fresh controller process on a cluster of their own: one FargateTask of N
//!    completions (min(N, 1000) in parallel) and N/10 FargateTasks of one task each, run until all are
//!    Complete, then deleted.
//!
//! Usage: `bench [N]` with the environment of `make env-up` (`source .local-bench/env`) and the CRDs
//! installed; settings in `BENCH_*` variables (see [`Config`]). Writes `<BENCH_OUT>/<date>-N<n>.json`
//! and `.md` and prints the Markdown.

mod floor;
mod moto;
mod procfs;
mod prom;
mod report;
mod svg;
mod track;

use anyhow::{Context as _, Result, bail};
use ecs_controller::api::{EcsCluster, FargateService, FargateTask, ScalingPolicy, TaskDefinition};
use ecs_controller_e2e::fixtures;
use ecs_controller_e2e::harness::{
    self, ControllerProcess, TEST_MANAGER, TestNamespace, env, http_get, kube, scrape, unique,
};
use floor::Shape;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource};
use report::{FloorOut, Percentiles, Phase, Results, Snapshot};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use track::{Key, Tracker};

const CLUSTER: &str = "EcsCluster";
const TASK_DEFINITION: &str = "TaskDefinition";
const SERVICE: &str = "FargateService";
const POLICY: &str = "ScalingPolicy";
const TASK: &str = "FargateTask";
/// The most a FargateTask may run at once (the CRD's maximum of `parallelism`).
const MAX_PARALLELISM: usize = 1000;

/// Objects to apply, each with its manifest.
type Manifests = Vec<(Key, serde_json::Value)>;

/// Settings, from `BENCH_*` environment variables (the first argument overrides `BENCH_N`).
struct Config {
    /// `BENCH_N` (100): task definitions and services; half as many ScalingPolicies.
    n: usize,
    /// `BENCH_RESYNC` (30s): the resync period of the restart, steady-state, drift and deletion phases.
    resync: Duration,
    /// `BENCH_CONVERGE_RESYNC` (30m): the resync period while converging (long, so that no periodic
    /// resync mixes into the convergence figures).
    converge_resync: String,
    /// `BENCH_STEADY_PERIODS` (4): resync periods in the steady-state window.
    steady_periods: u32,
    /// `BENCH_LATENCY_RUNS` (20).
    latency_runs: usize,
    /// `BENCH_DRIFT_PERCENT` (10): services changed in AWS, of N (taken among those without a policy).
    drift_percent: f64,
    /// `BENCH_PROBE_READS` (200) and `BENCH_PROBE_WRITES` (20): calls timed per operation in moto;
    /// `BENCH_PROBE_IN_FLIGHT` (8): concurrency of the parallelism measurement.
    probe_reads: usize,
    probe_writes: usize,
    probe_in_flight: usize,
    /// `BENCH_APPLY_CONCURRENCY` (16): applies (and deletes) in flight at once.
    apply_concurrency: usize,
    /// `BENCH_CONTROLLER_ARGS` (none: the shipped defaults): extra flags for `ecs-controller run`
    /// (`--aws-max-rps 0`: no AWS rate limit).
    controller_args: Vec<String>,
    /// `BENCH_RUST_LOG` (info): the controller's log level.
    rust_log: String,
    /// `BENCH_OUT` (bench/results).
    out_dir: PathBuf,
    /// `BENCH_TIMEOUT` (300 + N/2 seconds, plus twice the least time the controller's rate limits allow
    /// converging or deleting in): the longest any phase may take to converge.
    timeout: Duration,
    /// `BENCH_TASKS` (N): completions of the FargateTask phase's one big FargateTask; `0` with
    /// `BENCH_TASK_SINGLES=0` skips the phase.
    task_completions: usize,
    /// `BENCH_TASK_PARALLELISM` (min(tasks, 1000), the CRD's maximum): its parallelism.
    task_parallelism: usize,
    /// `BENCH_TASK_SINGLES` (tasks / 10): FargateTasks of one task each beside it (the cost per object,
    /// where RunTask has nothing to batch).
    task_singles: usize,
    /// `BENCH_TASK_TIMEOUT` (300 + tasks / 2 seconds, plus the tasks' own run time): the longest the
    /// tasks may take to complete.
    task_timeout: Duration,
    /// `BENCH_TASK_STATE_SECONDS` (10): how long each state of a moto task lasts (moto's state manager),
    /// so a task runs 40 s and more, whoever describes it, and many run at once, as real ones do. `0`
    /// keeps moto's default, one state per DescribeTasks (what the end-to-end tests see): then every
    /// reconcile that describes moves the tasks on, a launch's included, and a few dozen run at once
    /// whatever the parallelism.
    task_state_seconds: u64,
}

fn var<T: std::str::FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| anyhow::anyhow!("{name}={v}: {e}")),
        _ => Ok(default),
    }
}

/// `30s`, `5m`, `1h`.
fn duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = number.parse().with_context(|| format!("duration {s:?}"))?;
    Ok(Duration::from_secs(match unit {
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => bail!("duration {s:?}: use s, m or h"),
    }))
}

impl Config {
    fn from_env() -> Result<Self> {
        let n = match std::env::args().nth(1) {
            Some(a) => a.parse().with_context(|| format!("N = {a:?}"))?,
            None => var("BENCH_N", 100usize)?,
        };
        anyhow::ensure!(n >= 2, "N must be at least 2");
        let resync = duration(&var("BENCH_RESYNC", "30s".to_string())?)?;
        let converge_resync = var("BENCH_CONVERGE_RESYNC", "30m".to_string())?;
        duration(&converge_resync)?;
        let task_completions: usize = var("BENCH_TASKS", n)?;
        let task_state_seconds: u64 = var("BENCH_TASK_STATE_SECONDS", 10)?;
        let task_parallelism = var(
            "BENCH_TASK_PARALLELISM",
            task_completions.clamp(1, MAX_PARALLELISM),
        )?;
        anyhow::ensure!(
            (1..=MAX_PARALLELISM).contains(&task_parallelism),
            "BENCH_TASK_PARALLELISM must be 1 to {MAX_PARALLELISM} (the CRD's range)"
        );
        anyhow::ensure!(
            task_completions <= 10_000,
            "BENCH_TASKS may be at most 10000 (the CRD's range of completions)"
        );
        let controller_args: Vec<String> = var("BENCH_CONTROLLER_ARGS", String::new())?
            .split_whitespace()
            .map(str::to_string)
            .collect();
        // At the controller's rate limits, converging or deleting takes at least this long.
        let shape = Shape { n, policies: n / 2 };
        let pacing = floor::Pacing::of_args(&controller_args);
        let paced = floor::converge(shape)
            .paced_seconds(pacing)
            .max(floor::delete(shape).paced_seconds(pacing));
        Ok(Config {
            n,
            resync,
            converge_resync,
            steady_periods: var("BENCH_STEADY_PERIODS", 4u32)?.max(1),
            latency_runs: var("BENCH_LATENCY_RUNS", 20usize)?,
            drift_percent: var("BENCH_DRIFT_PERCENT", 10.0f64)?,
            probe_reads: var("BENCH_PROBE_READS", 200usize)?.max(1),
            probe_writes: var("BENCH_PROBE_WRITES", 20usize)?.max(2),
            probe_in_flight: var("BENCH_PROBE_IN_FLIGHT", 8usize)?.max(1),
            apply_concurrency: var("BENCH_APPLY_CONCURRENCY", 16usize)?.max(1),
            controller_args: controller_args.clone(),
            rust_log: var("BENCH_RUST_LOG", "info".to_string())?,
            out_dir: PathBuf::from(var("BENCH_OUT", "bench/results".to_string())?),
            timeout: Duration::from_secs(var("BENCH_TIMEOUT", 300 + n as u64 / 2 + 2 * paced as u64)?),
            task_parallelism: task_parallelism.min(task_completions.max(1)),
            task_singles: var("BENCH_TASK_SINGLES", task_completions / 10)?,
            task_timeout: Duration::from_secs(var(
                "BENCH_TASK_TIMEOUT",
                300 + task_completions as u64 / 2
                    + 5 * task_state_seconds * task_completions.div_ceil(task_parallelism) as u64,
            )?),
            task_completions,
            task_state_seconds,
        })
    }

    fn policies(&self) -> usize {
        self.n / 2
    }

    fn task_shape(&self) -> floor::TaskShape {
        floor::TaskShape {
            completions: self.task_completions,
            parallelism: self.task_parallelism,
            singles: self.task_singles,
            state_seconds: self.task_state_seconds,
        }
    }

    fn shape(&self) -> Shape {
        Shape {
            n: self.n,
            policies: self.policies(),
        }
    }

    /// How the controller paces AWS calls, from its flags.
    fn pacing(&self) -> floor::Pacing {
        floor::Pacing::of_args(&self.controller_args)
    }
}

/// What every phase shares.
struct Bench {
    cfg: Config,
    timeline: Arc<Timeline>,
    namespace: String,
    apis: HashMap<&'static str, Api<DynamicObject>>,
    tracker: Tracker,
    ecs: aws_sdk_ecs::Client,
    costs: moto::Costs,
    run_id: String,
}

/// What the pictures are drawn from: the controller's AWS calls and RSS, sampled every second, and
/// when each phase started.
struct Timeline {
    t0: Instant,
    /// The controller being sampled: its pid and log (where its /metrics address is).
    current: Mutex<Option<(u32, PathBuf)>>,
    /// (seconds since the run started, pid, AWS calls so far, RSS in KiB).
    samples: Mutex<Vec<(f64, u32, f64, u64)>>,
    /// Phase starts: (seconds since the run started, phase).
    marks: Mutex<Vec<(f64, String)>>,
}

impl Timeline {
    fn new() -> Arc<Self> {
        Arc::new(Timeline {
            t0: Instant::now(),
            current: Mutex::default(),
            samples: Mutex::default(),
            marks: Mutex::default(),
        })
    }

    fn at(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.t0).as_secs_f64()
    }

    /// A phase starts: logged whole, marked in the pictures by its first words (up to a comma).
    fn mark(&self, phase: &str) {
        eprintln!("bench: {phase}");
        let t = self.at(Instant::now());
        let short = phase.split([',', '(']).next().unwrap_or(phase).trim();
        let short = short.strip_prefix("a ").unwrap_or(short);
        let short = short.split(" with ").next().unwrap_or(short);
        self.marks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((t, short.to_string()));
    }

    /// Samples the current controller every second, for as long as the run lasts.
    fn spawn_sampler(self: &Arc<Self>) {
        let timeline = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let current = timeline
                    .current
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let Some((pid, log)) = current else { continue };
                let Some(footprint) = procfs::footprint(pid) else {
                    continue;
                };
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let Some(addr) = log
                    .lines()
                    .find(|l| l.contains("serving /metrics"))
                    .and_then(|l| l.split("addr=").nth(1))
                    .and_then(|a| a.split_whitespace().next())
                else {
                    continue;
                };
                let Ok((200, text)) = http_get(&format!("http://{addr}"), "/metrics").await else {
                    continue;
                };
                let calls = prom::Counters::from_text(&text).aws_total();
                let t = timeline.at(Instant::now());
                timeline
                    .samples
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((t, pid, calls, footprint.rss_kib));
            }
        });
    }

    /// The run's pictures: `ready` holds each kind's Ready times (seconds after the converging
    /// controller started).
    fn svg(&self, title: &str, ready: &BTreeMap<String, Vec<f64>>) -> String {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let marks = self.marks.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let ready_chart = svg::Chart {
            title: "Objects Ready after the controller started (convergence)".into(),
            x_label: "seconds since the controller started".into(),
            y_label: "objects Ready".into(),
            series: ready
                .iter()
                .zip(svg::COLORS.iter().cycle())
                .map(|((kind, times), color)| svg::Series {
                    name: kind.clone(),
                    color,
                    points: svg::cumulative(times),
                })
                .collect(),
            marks: Vec::new(),
        };
        let rate: Vec<(f64, f64)> = samples
            .windows(2)
            .filter(|w| w[0].1 == w[1].1 && w[1].0 > w[0].0)
            .map(|w| (w[1].0, (w[1].2 - w[0].2).max(0.0) / (w[1].0 - w[0].0)))
            .collect();
        let calls_chart = svg::Chart {
            title: "AWS calls per second over the phases".into(),
            x_label: "seconds since the run started".into(),
            y_label: "AWS calls / s".into(),
            series: vec![svg::Series {
                name: "AWS calls".into(),
                color: svg::COLORS[0],
                points: rate,
            }],
            marks: marks.clone(),
        };
        let rss_chart = svg::Chart {
            title: "Controller RSS over time".into(),
            x_label: "seconds since the run started".into(),
            y_label: "MiB".into(),
            series: vec![svg::Series {
                name: "RSS".into(),
                color: svg::COLORS[1],
                points: samples
                    .iter()
                    .map(|(t, _, _, rss)| (*t, *rss as f64 / 1024.0))
                    .collect(),
            }],
            marks,
        };
        svg::render(title, &[ready_chart, calls_chart, rss_chart])
    }
}

fn kinds() -> Vec<(&'static str, ApiResource)> {
    vec![
        (CLUSTER, ApiResource::erase::<EcsCluster>(&())),
        (TASK_DEFINITION, ApiResource::erase::<TaskDefinition>(&())),
        (SERVICE, ApiResource::erase::<FargateService>(&())),
        (POLICY, ApiResource::erase::<ScalingPolicy>(&())),
        (TASK, ApiResource::erase::<FargateTask>(&())),
    ]
}

fn api_version() -> String {
    EcsCluster::api_version(&()).to_string()
}

fn cluster_manifest(name: &str, cluster_name: &str) -> serde_json::Value {
    json!({"apiVersion": api_version(), "kind": CLUSTER, "metadata": {"name": name},
           "spec": {"clusterName": cluster_name, "capacityProviders": ["FARGATE"],
                    "tags": [{"key": "bench", "value": "yes"}]}})
}

fn task_definition_manifest(name: &str, family: &str) -> serde_json::Value {
    json!({"apiVersion": api_version(), "kind": TASK_DEFINITION, "metadata": {"name": name},
           "spec": {"family": family, "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "containerDefinitions": [{"name": "app", "image": "nginx:1",
                                              "portMappings": [{"containerPort": 80}]}]}})
}

fn service_manifest(name: &str, cluster: &str, td: &str) -> Result<serde_json::Value> {
    let list = |v: &str| -> Result<Vec<String>> {
        Ok(env(v)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    };
    Ok(
        json!({"apiVersion": api_version(), "kind": SERVICE, "metadata": {"name": name},
           "spec": {"clusterRef": {"name": cluster}, "taskDefinitionRef": {"name": td}, "desiredCount": 1,
                    "networkConfiguration": {"awsvpcConfiguration": {
                        "subnets": list("ECS_TEST_SUBNETS")?, "securityGroups": list("ECS_TEST_SECURITY_GROUPS")?}}}}),
    )
}

fn policy_manifest(name: &str, service: &str) -> serde_json::Value {
    json!({"apiVersion": api_version(), "kind": POLICY, "metadata": {"name": name},
           "spec": {"serviceRef": {"name": service}, "minCapacity": 1, "maxCapacity": 4,
                    "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                                         "targetTrackingScalingPolicyConfiguration": {"targetValue": 60,
                                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}})
}

fn key(kind: &'static str, name: impl Into<String>) -> Key {
    (kind, name.into())
}

fn since(t0: Instant, t: Option<Instant>) -> Option<f64> {
    t.map(|t| t.saturating_duration_since(t0).as_secs_f64())
}

fn describe(keys: &[Key]) -> String {
    let shown: Vec<String> = keys.iter().take(8).map(|(k, n)| format!("{k}/{n}")).collect();
    format!(
        "{}{}",
        shown.join(", "),
        if keys.len() > 8 {
            format!(" and {} more", keys.len() - 8)
        } else {
            String::new()
        }
    )
}

impl Bench {
    fn start_controller(&self, resync: &str) -> Result<ControllerProcess> {
        let mut args: Vec<&str> = vec!["--resync-period", resync];
        args.extend(self.cfg.controller_args.iter().map(String::as_str));
        let ctl =
            ControllerProcess::start_with_env(&self.namespace, &args, &[("RUST_LOG", &self.cfg.rust_log)])?;
        eprintln!("bench: controller pid {}, log {}", ctl.pid(), ctl.log.display());
        *self
            .timeline
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((ctl.pid(), ctl.log.clone()));
        Ok(ctl)
    }

    /// Waits until the controller's caches are synced (`/readyz`).
    async fn wait_controller_ready(&self, ctl: &ControllerProcess) -> Result<()> {
        let base = ctl.http_base().await?;
        harness::eventually("the controller's /readyz", Duration::from_secs(60), || async {
            let (code, _) = http_get(&base, "/readyz").await?;
            Ok((code == 200).then_some(()))
        })
        .await
    }

    async fn snapshot(&self, ctl: &ControllerProcess) -> Result<Snapshot> {
        let text = scrape(ctl).await.context("scraping the controller's /metrics")?;
        Ok(Snapshot {
            counters: prom::Counters::from_text(&text),
            footprint: procfs::footprint(ctl.pid()).context("the controller process is gone")?,
            events: self.tracker.event_writes(),
            changes: self.tracker.changes(),
            environment_cpu: procfs::environment_cpu(),
            environment_at: Some(Instant::now()),
        })
    }

    /// Waits until the controller makes no AWS call, Kubernetes write or reconcile for `quiet`
    /// (at most `limit`); returns when it last did something.
    async fn settle(&self, ctl: &ControllerProcess, quiet: Duration, limit: Duration) -> Result<Instant> {
        let start = Instant::now();
        let activity = |c: &prom::Counters| c.aws_total() + c.writes_total() + c.reconciles_total();
        let mut last = activity(&prom::Counters::from_text(&scrape(ctl).await?));
        let mut last_change = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = activity(&prom::Counters::from_text(&scrape(ctl).await?));
            if now != last {
                last = now;
                last_change = Instant::now();
            }
            if last_change.elapsed() >= quiet || start.elapsed() >= limit {
                return Ok(last_change);
            }
        }
    }

    async fn apply_all(&self, manifests: Manifests) -> Result<()> {
        let pp = PatchParams::apply(TEST_MANAGER).force();
        futures::stream::iter(manifests)
            .map(|(k, manifest)| {
                let pp = pp.clone();
                async move {
                    let api = self.apis.get(k.0).context("unknown kind")?;
                    self.tracker.applied(&k, Instant::now());
                    api.patch(&k.1, &pp, &Patch::Apply(manifest))
                        .await
                        .with_context(|| format!("applying {}/{}", k.0, k.1))?;
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(self.cfg.apply_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn delete_all(&self, keys: &[Key]) -> Result<()> {
        futures::stream::iter(keys.iter().cloned())
            .map(|k| async move {
                let api = self.apis.get(k.0).context("unknown kind")?;
                self.tracker.delete_sent(&k, Instant::now());
                api.delete(&k.1, &DeleteParams::default())
                    .await
                    .with_context(|| format!("deleting {}/{}", k.0, k.1))?;
                anyhow::Ok(())
            })
            .buffer_unordered(self.cfg.apply_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    fn floor(&self, f: &floor::Floor) -> FloorOut {
        FloorOut::of(f, &self.costs, self.cfg.pacing())
    }

    /// Phase 2: one service with its dependencies, apply to Ready and delete to gone, `runs` times.
    async fn latency(&self, ctl: &ControllerProcess) -> Result<report::Latency> {
        let runs = self.cfg.latency_runs;
        let s0 = self.snapshot(ctl).await?;
        let start = Instant::now();
        let (mut create, mut delete) = (Vec::new(), Vec::new());
        for r in 0..runs {
            let (c, t, s) = (format!("lat{r}-c"), format!("lat{r}-t"), format!("lat{r}-s"));
            let keys = vec![key(CLUSTER, &c), key(TASK_DEFINITION, &t), key(SERVICE, &s)];
            let manifests = vec![
                (
                    keys[0].clone(),
                    cluster_manifest(&c, &format!("{}-lat{r}", self.run_id)),
                ),
                (
                    keys[1].clone(),
                    task_definition_manifest(&t, &format!("{}-lat{r}", self.run_id)),
                ),
                (keys[2].clone(), service_manifest(&s, &c, &t)?),
            ];
            let t0 = Instant::now();
            self.apply_all(manifests).await?;
            let limit = Duration::from_secs(120);
            if let Err(missing) = self.tracker.wait_ready(&keys, limit).await {
                bail!(
                    "latency run {r}: not Ready within {limit:?}: {}",
                    describe(&missing)
                );
            }
            let ready = since(t0, self.tracker.get(&keys[2]).ready_at).unwrap_or(0.0);
            create.push(ready);
            let t1 = Instant::now();
            self.delete_all(&keys).await?;
            if let Err(missing) = self.tracker.wait_gone(&keys, limit).await {
                bail!(
                    "latency run {r}: not gone within {limit:?}: {}",
                    describe(&missing)
                );
            }
            let gone = self
                .tracker
                .objects(&keys)
                .iter()
                .filter_map(|(_, o)| since(t1, o.gone_at))
                .fold(0.0, f64::max);
            delete.push(gone);
        }
        self.settle(ctl, Duration::from_secs(2), Duration::from_secs(30))
            .await?;
        let s1 = self.snapshot(ctl).await?;
        let create_floor = self.floor(&floor::latency_create());
        let delete_floor = self.floor(&floor::latency_delete());
        let mut phase = Phase::between(&s0, &s1, start.elapsed().as_secs_f64());
        phase.floor = Some(self.floor(&floor::latency_create().plus(&floor::latency_delete())));
        Ok(report::Latency {
            runs,
            create: Percentiles::of(create),
            delete: Percentiles::of(delete),
            phase,
            floor_create_seconds: create_floor.seconds,
            floor_delete_seconds: delete_floor.seconds,
            floor_calls_per_run: create_floor.total + delete_floor.total,
        })
    }

    fn scenario(&self) -> Result<(Vec<Key>, Manifests)> {
        let n = self.cfg.n;
        let mut manifests = vec![(
            key(CLUSTER, "c0"),
            cluster_manifest("c0", &format!("{}-c0", self.run_id)),
        )];
        for i in 0..n {
            let (t, s) = (format!("t{i}"), format!("s{i}"));
            manifests.push((
                key(TASK_DEFINITION, &t),
                task_definition_manifest(&t, &format!("{}-t{i}", self.run_id)),
            ));
            manifests.push((key(SERVICE, &s), service_manifest(&s, "c0", &t)?));
            if i < self.cfg.policies() {
                manifests.push((
                    key(POLICY, format!("p{i}")),
                    policy_manifest(&format!("p{i}"), &s),
                ));
            }
        }
        Ok((manifests.iter().map(|(k, _)| k.clone()).collect(), manifests))
    }

    /// Phase 3: everything applied while no controller runs (so the API server's speed at taking
    /// applies is not measured), then a controller started: from its start to all Ready and quiet is
    /// the controller's work alone. Returns the new controller.
    async fn converge(
        &self,
        ctl: ControllerProcess,
        keys: &[Key],
        manifests: Manifests,
    ) -> Result<(ControllerProcess, report::Converge)> {
        let mut ctl = ctl;
        ctl.terminate()?;
        ctl.wait_exit(Duration::from_secs(60)).await?;
        let applying = Instant::now();
        self.apply_all(manifests).await?;
        let apply_seconds = applying.elapsed().as_secs_f64();
        // The counters of a new process start at zero; the harness's own counts are taken now.
        let s0 = Snapshot {
            events: self.tracker.event_writes(),
            changes: self.tracker.changes(),
            environment_cpu: procfs::environment_cpu(),
            environment_at: Some(Instant::now()),
            ..Default::default()
        };
        let start = Instant::now();
        let ctl = self.start_controller(&self.cfg.converge_resync)?;
        if let Err(missing) = self.tracker.wait_ready(keys, self.cfg.timeout).await {
            bail!(
                "{} of {} objects not Ready within {:?}: {}",
                missing.len(),
                keys.len(),
                self.cfg.timeout,
                describe(&missing)
            );
        }
        let objects = self.tracker.objects(keys);
        let all_ready = objects
            .iter()
            .filter_map(|(_, o)| since(start, o.ready_at))
            .fold(0.0, f64::max);
        let at_ready = prom::Counters::from_text(&scrape(&ctl).await?);
        let last = self
            .settle(&ctl, Duration::from_secs(3), Duration::from_secs(120))
            .await?;
        let s1 = self.snapshot(&ctl).await?;
        let mut per_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut all = Vec::new();
        for ((kind, _), o) in &objects {
            if let Some(s) = since(start, o.ready_at) {
                per_kind.entry(kind.to_string()).or_default().push(s);
                all.push(s);
            }
        }
        let mut phase = Phase::between(&s0, &s1, last.saturating_duration_since(start).as_secs_f64());
        let floor = self.floor(&floor::converge(self.cfg.shape()));
        let aws_floor_seconds = floor.seconds;
        phase.floor = Some(floor);
        let converge = report::Converge {
            ready_times: per_kind.clone(),
            apply_seconds,
            all_ready_seconds: all_ready,
            per_object: Percentiles::of(all),
            per_kind: per_kind
                .into_iter()
                .map(|(k, v)| (k, Percentiles::of(v)))
                .collect(),
            calls_after_ready: s1.counters.aws_total() - at_ready.aws_total(),
            phase,
            floor_seconds: aws_floor_seconds,
            aws_floor_seconds,
        };
        Ok((ctl, converge))
    }

    /// Phase 4: a new process re-verifies every object once.
    async fn restart(
        &self,
        ctl: &ControllerProcess,
        before: &Snapshot,
        started: Instant,
        keys: &[Key],
    ) -> Result<report::Restart> {
        let objects = keys.len() as f64;
        harness::eventually(
            "the restarted controller to reconcile every object",
            self.cfg.timeout,
            || async {
                let c = prom::Counters::from_text(&scrape(ctl).await?);
                Ok((c.reconciles_total() >= objects).then_some(()))
            },
        )
        .await?;
        let last = self
            .settle(ctl, Duration::from_secs(3), Duration::from_secs(120))
            .await?;
        let s1 = self.snapshot(ctl).await?;
        let base = Snapshot {
            counters: prom::Counters {
                kube_writes: s1.counters.kube_writes.as_ref().map(|_| BTreeMap::new()),
                ..Default::default()
            },
            footprint: Default::default(),
            events: before.events,
            changes: before.changes.clone(),
            environment_cpu: before.environment_cpu.clone(),
            environment_at: before.environment_at,
        };
        let mut phase = Phase::between(&base, &s1, last.saturating_duration_since(started).as_secs_f64());
        phase.floor = Some(self.floor(&floor::resync_all(self.cfg.shape())));
        Ok(report::Restart { phase })
    }

    /// Phase 5: `steady_periods` resync periods, aligned to the controller's resync ticks (every period
    /// from its start): the window starts and ends half a period between two ticks.
    async fn steady(
        &self,
        ctl: &ControllerProcess,
        started: Instant,
        keys: &[Key],
    ) -> Result<report::Steady> {
        let base = self.cfg.resync;
        let periods = resync_periods(ctl, base);
        // A whole number of every kind's period, at least `steady_periods` base periods.
        let lcm = periods
            .values()
            .map(|p| p.as_secs().max(1))
            .fold(1, |a, b| a / gcd(a, b) * b);
        let least = base * self.cfg.steady_periods;
        let window = match Duration::from_secs(lcm) {
            l if l > Duration::from_secs(3600) => least,
            l => l * least.as_secs().div_ceil(l.as_secs()).max(1) as u32,
        };
        // Half a base period off the ticks (which fall every period from the controller's start).
        let elapsed = started.elapsed().as_secs_f64() / base.as_secs_f64();
        let next = (elapsed - 0.5).ceil().max(0.0) + 0.5;
        let window_start = started + base.mul_f64(next);
        tokio::time::sleep_until(window_start.into()).await;
        let s0 = self.snapshot(ctl).await?;
        let from = Instant::now();
        tokio::time::sleep_until((window_start + window).into()).await;
        let s1 = self.snapshot(ctl).await?;
        let to = Instant::now();
        let seconds = to.saturating_duration_since(from).as_secs_f64();
        let lost = self.tracker.lost_ready_between(keys, from, to);
        let resyncs = resyncs_between(&periods, started, from, to);
        let mut phase = Phase::between(&s0, &s1, seconds);
        let floor = self.floor(&floor::resyncs(self.cfg.shape(), &resyncs));
        let objects = keys.len().max(1) as f64;
        let minutes = seconds / 60.0;
        // Every kind's default period scales with --resync-period (default 5m).
        let scale = base.as_secs_f64() / 300.0;
        let rate = phase.aws_total / objects / minutes;
        let floor_rate = floor.total / objects / minutes;
        phase.floor = Some(floor);
        Ok(report::Steady {
            window_seconds: seconds,
            resync_periods: periods
                .iter()
                .map(|(k, p)| (k.clone(), p.as_secs_f64()))
                .collect(),
            resyncs,
            calls_per_object_per_minute: rate,
            calls_per_object_per_minute_at_5m: rate * scale,
            floor_per_object_per_minute_at_5m: floor_rate * scale,
            lost_ready: lost.len(),
            phase,
        })
    }

    /// Phase 6: `drift_percent` of the services (among those no ScalingPolicy scales) get another desired
    /// count in AWS; until DescribeServices shows every one back at the spec's.
    /// Phase 6b: as a resync of every object starts (the controller's first DescribeServices of it),
    /// the harness changes one service's desiredCount; until AWS shows it. With thousands of objects a
    /// resync waits at AWS's rate limits: the change must not wait behind it.
    async fn change_during_resync(&self, ctl: &ControllerProcess, cluster: &str) -> Result<report::Change> {
        let describes = |c: &prom::Counters| -> f64 {
            c.aws
                .iter()
                .filter(|((_, op, _), _)| op == "DescribeServices")
                .map(|(_, v)| v)
                .sum()
        };
        let before = describes(&prom::Counters::from_text(&scrape(ctl).await?));
        harness::eventually(
            "a resync's first DescribeServices",
            self.cfg.resync * 2,
            || async {
                Ok((describes(&prom::Counters::from_text(&scrape(ctl).await?)) > before).then_some(()))
            },
        )
        .await?;
        let name = format!("s{}", self.cfg.n - 1);
        let api = self.apis.get(SERVICE).context("services")?;
        let sent = Instant::now();
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"desiredCount": 2}})),
        )
        .await
        .with_context(|| format!("changing {name}"))?;
        let seconds = harness::eventually("the change in AWS", Duration::from_secs(120), || async {
            let out = self
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(&name)
                .send()
                .await?;
            Ok(out
                .services()
                .first()
                .filter(|s| s.desired_count() == 2)
                .map(|_| sent.elapsed()))
        })
        .await?;
        let by_then = describes(&prom::Counters::from_text(&scrape(ctl).await?)) - before;
        self.settle(ctl, Duration::from_secs(3), Duration::from_secs(120))
            .await?;
        let all = describes(&prom::Counters::from_text(&scrape(ctl).await?)) - before;
        Ok(report::Change {
            seconds: seconds.as_secs_f64(),
            resync_calls_by_then: by_then,
            resync_calls: all,
        })
    }

    async fn drift(&self, ctl: &ControllerProcess, started: Instant, cluster: &str) -> Result<report::Drift> {
        let n = self.cfg.n;
        let policies = self.cfg.policies();
        let drifted = ((n as f64 * self.cfg.drift_percent / 100.0).round() as usize).clamp(1, n - policies);
        let names: Vec<String> = (policies..policies + drifted).map(|i| format!("s{i}")).collect();
        let s0 = self.snapshot(ctl).await?;
        let from = Instant::now();
        let describes = |c: &prom::Counters| -> f64 {
            c.aws
                .iter()
                .filter(|((_, op, _), _)| op == "DescribeServices")
                .map(|(_, v)| v)
                .sum()
        };
        let before = describes(&s0.counters);
        for name in &names {
            self.ecs
                .update_service()
                .cluster(cluster)
                .service(name)
                .desired_count(3)
                .send()
                .await
                .with_context(|| format!("changing {name} in moto"))?;
        }
        let injected = Instant::now();
        let mut detected: Option<Instant> = None;
        let mut back: BTreeMap<String, Instant> = BTreeMap::new();
        let limit = self.cfg.resync * 2 + Duration::from_secs(120);
        while back.len() < names.len() && injected.elapsed() < limit {
            if detected.is_none() {
                let c = prom::Counters::from_text(&scrape(ctl).await?);
                if describes(&c) > before {
                    detected = Some(Instant::now());
                }
            }
            let pending: Vec<String> = names.iter().filter(|n| !back.contains_key(*n)).cloned().collect();
            for chunk in pending.chunks(10) {
                let out = self
                    .ecs
                    .describe_services()
                    .cluster(cluster)
                    .set_services(Some(chunk.to_vec()))
                    .send()
                    .await
                    .context("describing the drifted services")?;
                let now = Instant::now();
                for s in out.services() {
                    if s.desired_count() == 1
                        && let Some(name) = s.service_name()
                    {
                        back.entry(name.to_string()).or_insert(now);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let last_back = back.values().max().copied();
        self.settle(ctl, Duration::from_secs(3), Duration::from_secs(60))
            .await?;
        let s1 = self.snapshot(ctl).await?;
        let mut phase = Phase::between(&s0, &s1, injected.elapsed().as_secs_f64());
        let during = resyncs_between(
            &resync_periods(ctl, self.cfg.resync),
            started,
            from,
            Instant::now(),
        );
        phase.floor = Some(self.floor(&floor::drift(self.cfg.shape(), &during, drifted)));
        Ok(report::Drift {
            drifted,
            all_back_seconds: since(injected, last_back).unwrap_or(f64::NAN),
            after_detection_seconds: detected
                .zip(last_back)
                .map(|(d, b)| b.saturating_duration_since(d).as_secs_f64()),
            restored: back.len(),
            floor_fix_seconds: self.floor(&floor::drift_fix(drifted)).seconds,
            phase,
        })
    }

    /// Phase 7: everything deleted at once, until gone.
    async fn delete(&self, ctl: &ControllerProcess, keys: &[Key]) -> Result<report::Delete> {
        let s0 = self.snapshot(ctl).await?;
        let start = Instant::now();
        self.delete_all(keys).await?;
        if let Err(missing) = self.tracker.wait_gone(keys, self.cfg.timeout).await {
            bail!(
                "{} of {} objects not gone within {:?}: {}",
                missing.len(),
                keys.len(),
                self.cfg.timeout,
                describe(&missing)
            );
        }
        let objects = self.tracker.objects(keys);
        let all_gone = objects
            .iter()
            .filter_map(|(_, o)| since(start, o.gone_at))
            .fold(0.0, f64::max);
        self.settle(ctl, Duration::from_secs(3), Duration::from_secs(60))
            .await?;
        let s1 = self.snapshot(ctl).await?;
        let mut per_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut all = Vec::new();
        for ((kind, _), o) in &objects {
            if let (Some(d), Some(g)) = (o.delete_sent, o.gone_at) {
                let s = g.saturating_duration_since(d).as_secs_f64();
                per_kind.entry(kind.to_string()).or_default().push(s);
                all.push(s);
            }
        }
        let mut phase = Phase::between(&s0, &s1, all_gone);
        phase.floor = Some(self.floor(&floor::delete(self.cfg.shape())));
        Ok(report::Delete {
            all_gone_seconds: all_gone,
            per_object: Percentiles::of(all),
            per_kind: per_kind
                .into_iter()
                .map(|(k, v)| (k, Percentiles::of(v)))
                .collect(),
            phase,
        })
    }

    /// Phase 8: FargateTasks run to completion, with a fresh controller process (its own peak RSS) on a
    /// cluster and runnable task definition of their own (the scenario's are gone by now): one
    /// FargateTask of `completions` tasks, `parallelism` at once, and `singles` FargateTasks of one task
    /// each, applied at once; until every one is Complete and the controller is quiet; then deleted.
    async fn tasks(&self, ctl: &ControllerProcess) -> Result<report::Tasks> {
        let shape = self.cfg.task_shape();
        let net = fixtures::network()?;
        let base = vec![key(CLUSTER, "tc"), key(TASK_DEFINITION, "tt")];
        self.apply_all(vec![
            (
                base[0].clone(),
                cluster_manifest("tc", &format!("{}-tc", self.run_id)),
            ),
            (
                base[1].clone(),
                fixtures::runnable_task_definition_manifest("tt", &format!("{}-tt", self.run_id)),
            ),
        ])
        .await?;
        let limit = Duration::from_secs(120);
        if let Err(missing) = self.tracker.wait_ready(&base, limit).await {
            bail!(
                "tasks: the cluster and task definition not Ready within {limit:?}: {}",
                describe(&missing)
            );
        }
        self.settle(ctl, Duration::from_secs(2), Duration::from_secs(30))
            .await?;

        let mut manifests: Manifests = Vec::new();
        if shape.completions > 0 {
            let extra = json!({"completions": shape.completions, "parallelism": shape.parallelism});
            manifests.push((
                key(TASK, "job"),
                fixtures::task_manifest("job", "tc", "tt", &net, extra),
            ));
        }
        for i in 0..shape.singles {
            let name = format!("one{i}");
            manifests.push((
                key(TASK, &name),
                fixtures::task_manifest(&name, "tc", "tt", &net, json!({})),
            ));
        }
        let keys: Vec<Key> = manifests.iter().map(|(k, _)| k.clone()).collect();
        let s0 = self.snapshot(ctl).await?;
        let start = Instant::now();
        self.apply_all(manifests).await?;
        let apply_seconds = start.elapsed().as_secs_f64();
        if let Err(missing) = self.tracker.wait_finished(&keys, self.cfg.task_timeout).await {
            let job = self.tracker.get(&key(TASK, "job"));
            bail!(
                "tasks: {} of {} FargateTasks neither Complete nor Failed within {:?} (the big one: at most \
                 {} running, largest object {} bytes; controller log {}): {}",
                missing.len(),
                keys.len(),
                self.cfg.task_timeout,
                job.max_active,
                job.max_bytes,
                ctl.log.display(),
                describe(&missing)
            );
        }
        let objects = self.tracker.objects(&keys);
        let all_complete = objects
            .iter()
            .filter_map(|(_, o)| since(start, o.complete_at.or(o.failed_at)))
            .fold(0.0, f64::max);
        let at_complete = self.snapshot(ctl).await?;
        self.settle(ctl, Duration::from_secs(3), Duration::from_secs(60))
            .await?;
        let s1 = self.snapshot(ctl).await?;
        let failed: Vec<String> = objects
            .iter()
            .filter(|(_, o)| o.failed_at.is_some())
            .map(|((_, n), _)| n.clone())
            .collect();
        let job = objects.iter().find(|((_, n), _)| n == "job").map(|(_, o)| o);
        let singles: Vec<f64> = objects
            .iter()
            .filter(|((_, n), _)| n != "job")
            .filter_map(|(_, o)| {
                o.applied
                    .zip(o.complete_at)
                    .map(|(a, c)| c.saturating_duration_since(a).as_secs_f64())
            })
            .collect();

        // What ECS ran: every object's tasks by its startedBy (moto lists stopped ones too).
        let api = self.apis.get(TASK).context("unknown kind")?;
        let (mut in_aws, mut succeeded, mut extra) = (0usize, 0i64, Vec::new());
        for (k, _) in &objects {
            let obj = api
                .get(&k.1)
                .await
                .with_context(|| format!("reading FargateTask/{}", k.1))?;
            let status = obj.data.get("status").cloned().unwrap_or_default();
            let text = |f: &str| status.get(f).and_then(|v| v.as_str()).map(str::to_string);
            succeeded += status.get("succeeded").and_then(|v| v.as_i64()).unwrap_or(0);
            let (Some(cluster), Some(by)) = (text("clusterArn"), text("startedBy")) else {
                continue;
            };
            let ran = ecs_controller_e2e::probes::tasks_started_by(&self.ecs, &cluster, &by)
                .await
                .with_context(|| format!("listing the tasks of FargateTask/{}", k.1))?
                .len();
            in_aws += ran;
            let wanted = if k.1 == "job" { shape.completions } else { 1 };
            if ran > wanted {
                extra.push(format!("{} ran {ran} tasks for {wanted} completions", k.1));
            }
        }

        let mut phase = Phase::between(&s0, &s1, all_complete);
        let floor = self.floor(&floor::tasks(shape));
        let floor_seconds = floor.seconds;
        phase.floor = Some(floor);
        // FargateTask reconciles between the snapshots, of any outcome or of one.
        let task_reconciles = |outcome: Option<&str>| -> f64 {
            let of = |c: &prom::Counters| -> f64 {
                c.reconciles
                    .iter()
                    .filter(|((k, o), _)| k == TASK && outcome.is_none_or(|want| o == want))
                    .map(|(_, v)| v)
                    .sum()
            };
            of(&s1.counters) - of(&s0.counters)
        };

        // Deletion: every task is STOPPED, so nothing to stop.
        let d0 = self.snapshot(ctl).await?;
        let t0 = Instant::now();
        self.delete_all(&keys).await?;
        if let Err(missing) = self.tracker.wait_gone(&keys, self.cfg.task_timeout).await {
            bail!(
                "tasks: {} of {} FargateTasks not gone within {:?}: {}",
                missing.len(),
                keys.len(),
                self.cfg.task_timeout,
                describe(&missing)
            );
        }
        let all_gone = self
            .tracker
            .objects(&keys)
            .iter()
            .filter_map(|(_, o)| since(t0, o.gone_at))
            .fold(0.0, f64::max);
        self.settle(ctl, Duration::from_secs(3), Duration::from_secs(60))
            .await?;
        let d1 = self.snapshot(ctl).await?;
        let mut delete = Phase::between(&d0, &d1, all_gone);
        delete.floor = Some(self.floor(&floor::Floor::default()));

        self.delete_all(&base).await?;
        if let Err(missing) = self.tracker.wait_gone(&base, limit).await {
            bail!(
                "tasks: the cluster and task definition not gone within {limit:?}: {}",
                describe(&missing)
            );
        }
        Ok(report::Tasks {
            shape,
            objects: keys.len(),
            apply_seconds,
            all_complete_seconds: all_complete,
            job_complete_seconds: job.and_then(|o| since(start, o.complete_at)),
            singles_complete: Percentiles::of(singles),
            failed,
            succeeded,
            tasks_in_aws: in_aws,
            extra_tasks: extra,
            reconciles: task_reconciles(None),
            reconcile_errors: task_reconciles(Some("error")),
            calls_after_complete: s1.counters.aws_total() - at_complete.counters.aws_total(),
            max_running: job.map_or(0, |o| o.max_active),
            job_launches: job.map_or(0, |o| o.launches),
            job_last_launch_seconds: job.and_then(|o| since(start, o.last_launch_at)),
            bytes_seen: objects.iter().map(|(_, o)| o.bytes_seen).sum(),
            max_object_bytes: job.map_or(0, |o| o.max_bytes),
            max_status_bytes: job.map_or(0, |o| o.max_status_bytes),
            floor_seconds,
            floor_poll_rounds: shape.poll_rounds(),
            floor_lifecycle_seconds: shape.lifecycle_seconds(),
            floor_status_writes: floor::task_status_writes(shape),
            phase,
            delete_seconds: all_gone,
            delete,
        })
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Each kind's resync period, from the controller's start-up log line (`resync=Resync { cluster: 30s,
/// task_definition: 180s, service: 30s, scaling_policy: 30s }`); `base` for a kind it does not name.
fn resync_periods(ctl: &ControllerProcess, base: Duration) -> BTreeMap<String, Duration> {
    let periods = parse_resync_periods(&ctl.log_text(), base);
    if periods.is_none() {
        eprintln!("bench: no resync periods in the controller's log; assuming {base:?} for every kind");
    }
    periods.unwrap_or_else(|| {
        [CLUSTER, TASK_DEFINITION, SERVICE, POLICY]
            .iter()
            .map(|k| (k.to_string(), base))
            .collect()
    })
}

/// The resync period of each kind benchmarked, from the start-up line's `resync=Resync { base: 30s,
/// by_kind: {"cluster": 30s, "task-definition": 180s, ...} }`; a kind missing from it gets `base`.
/// `None` without such a line.
fn parse_resync_periods(log: &str, base: Duration) -> Option<BTreeMap<String, Duration>> {
    let (_, rest) = log.split_once("resync=Resync {")?;
    // Up to the end of the by-kind map (the first closing brace): `base: 30s, by_kind: {"cluster": 30s, ...`.
    let (by_kind, _) = rest.split_once('}')?;
    let mut periods: BTreeMap<String, Duration> = [CLUSTER, TASK_DEFINITION, SERVICE, POLICY]
        .iter()
        .map(|k| (k.to_string(), base))
        .collect();
    for field in by_kind.split(',') {
        let Some((name, value)) = field.rsplit_once(':') else {
            continue;
        };
        let name = name
            .rsplit(['{', ' '])
            .next()
            .unwrap_or_default()
            .trim_matches('"');
        let value = value.trim();
        let period = if let Some(ms) = value.strip_suffix("ms") {
            ms.parse::<f64>().ok().map(|v| v / 1000.0)
        } else {
            value.strip_suffix('s').and_then(|s| s.parse::<f64>().ok())
        };
        let kind = match name.replace('-', "_").as_str() {
            "cluster" => CLUSTER,
            "task_definition" => TASK_DEFINITION,
            "service" => SERVICE,
            "scaling_policy" => POLICY,
            _ => continue,
        };
        if let Some(p) = period.filter(|p| *p > 0.0) {
            periods.insert(kind.to_string(), Duration::from_secs_f64(p));
        }
    }
    Some(periods)
}

/// Resync ticks per kind in `(from, to]`, each kind's ticks falling every period from `started`.
fn resyncs_between(
    periods: &BTreeMap<String, Duration>,
    started: Instant,
    from: Instant,
    to: Instant,
) -> BTreeMap<String, u32> {
    periods
        .iter()
        .map(|(kind, p)| {
            let at =
                |t: Instant| (t.saturating_duration_since(started).as_secs_f64() / p.as_secs_f64()).floor();
            (kind.clone(), (at(to) - at(from)).max(0.0) as u32)
        })
        .collect()
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

async fn meta(client: &Client, cfg: &Config) -> report::Meta {
    // The results a run writes are not the code it measured: a second run of the same day rewrites the
    // first one's tracked files in bench/results, which must not mark the tree dirty.
    let dirty = command_output(
        "git",
        &[
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)bench/results",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let moto_version = std::env::var("ECS_TEST_PYTHON")
        .ok()
        .and_then(|py| command_output(&py, &["-c", "import moto; print(moto.__version__)"]))
        .unwrap_or_else(|| "unknown".into());
    let apiserver_version = client
        .apiserver_version()
        .await
        .map(|v| v.git_version)
        .unwrap_or_else(|_| "unknown".into());
    report::Meta {
        date: k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%d %H:%M UTC")
            .to_string(),
        commit: if dirty { format!("{commit}+dirty") } else { commit },
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        moto_version,
        apiserver_version,
        controller_binary: harness::controller_binary().display().to_string(),
        controller_flags: cfg.controller_args.clone(),
    }
}

/// Runs the phases after the moto probe, filling `results`; an error is a broken invariant.
async fn run(bench: &Bench, results: &mut Results) -> Result<()> {
    let cfg = &bench.cfg;
    let violations = &mut results.violations;
    let ctl = bench.start_controller(&cfg.converge_resync)?;
    bench.wait_controller_ready(&ctl).await?;
    results.idle = procfs::footprint(ctl.pid());

    if cfg.latency_runs > 0 {
        bench
            .timeline
            .mark(&format!("latency, {} runs", cfg.latency_runs));
        results.latency = Some(bench.latency(&ctl).await?);
    }

    let (keys, manifests) = bench.scenario()?;
    bench
        .timeline
        .mark(&format!("convergence, {} objects", keys.len()));
    let (ctl, converge) = bench.converge(ctl, &keys, manifests).await?;
    results.peak_rss_mib = procfs::mib(converge.phase.footprint.hwm_kib);
    results.converge = Some(converge);

    bench
        .timeline
        .mark(&format!("restart with --resync-period {}s", cfg.resync.as_secs()));
    let before = Snapshot {
        events: bench.tracker.event_writes(),
        changes: bench.tracker.changes(),
        environment_cpu: procfs::environment_cpu(),
        environment_at: Some(Instant::now()),
        ..Default::default()
    };
    ctl.terminate()?;
    let mut ctl = ctl;
    ctl.wait_exit(Duration::from_secs(60)).await?;
    let started = Instant::now();
    let ctl = bench.start_controller(&format!("{}s", cfg.resync.as_secs()))?;
    let restart = bench.restart(&ctl, &before, started, &keys).await?;
    let lost = bench.tracker.lost_ready_between(&keys, started, Instant::now());
    if !lost.is_empty() {
        violations.push(format!(
            "restart: {} objects lost Ready: {}",
            lost.len(),
            describe(&lost.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>())
        ));
    }
    let changed: Vec<String> = restart
        .phase
        .aws_calls
        .iter()
        .filter(|(op, _)| !floor::read_only(op.split_once('/').map_or(op, |(_, o)| o)))
        .map(|(op, v)| format!("{op} {v}"))
        .collect();
    if !changed.is_empty() {
        violations.push(format!(
            "restart: a restart changed something in AWS: {}",
            changed.join(", ")
        ));
    }
    results.restart = Some(restart);

    bench.timeline.mark(&format!(
        "steady state, at least {} x {}s and a whole number of every kind's resync period",
        cfg.steady_periods,
        cfg.resync.as_secs()
    ));
    let steady = bench.steady(&ctl, started, &keys).await?;
    let changed: Vec<String> = steady
        .phase
        .aws_calls
        .iter()
        .filter(|(op, _)| !floor::read_only(op.split_once('/').map_or(op, |(_, o)| o)))
        .map(|(op, v)| format!("{op} {v}"))
        .collect();
    if !changed.is_empty() {
        violations.push(format!(
            "steady state: a resync changed something in AWS: {}",
            changed.join(", ")
        ));
    }
    if steady.lost_ready > 0 {
        violations.push(format!(
            "steady state: objects lost Ready {} times",
            steady.lost_ready
        ));
    }
    results.steady = Some(steady);

    let cluster = format!("{}-c0", bench.run_id);
    bench.timeline.mark("drift");
    let drift = bench.drift(&ctl, started, &cluster).await?;
    if drift.restored < drift.drifted {
        violations.push(format!(
            "drift: {} of {} services not put back within two resync periods and 2 minutes",
            drift.drifted - drift.restored,
            drift.drifted
        ));
    }
    results.drift = Some(drift);

    bench.timeline.mark("a change during a resync");
    results.change = Some(bench.change_during_resync(&ctl, &cluster).await?);

    bench.timeline.mark("deletion");
    let delete = bench.delete(&ctl, &keys).await?;
    results.peak_rss_mib = results
        .peak_rss_mib
        .max(procfs::mib(delete.phase.footprint.hwm_kib));
    results.delete = Some(delete);
    ctl.terminate()?;
    let mut ctl = ctl;
    ctl.wait_exit(Duration::from_secs(60)).await?;

    let shape = cfg.task_shape();
    if shape.objects() > 0 {
        bench.timeline.mark(&format!(
            "FargateTasks, one of {} completions ({} in parallel) and {} of one task each, fresh controller",
            shape.completions, shape.parallelism, shape.singles
        ));
        let ctl = bench.start_controller(&cfg.converge_resync)?;
        bench.wait_controller_ready(&ctl).await?;
        if shape.state_seconds > 0 {
            moto::set_task_state_seconds(shape.state_seconds).await?;
        }
        let tasks = bench.tasks(&ctl).await;
        if shape.state_seconds > 0 {
            moto::set_task_state_seconds(0).await?;
        }
        let tasks = tasks?;
        if !tasks.failed.is_empty() {
            violations.push(format!(
                "tasks: {} FargateTasks Failed (moto's tasks always exit 0): {}",
                tasks.failed.len(),
                tasks
                    .failed
                    .iter()
                    .take(8)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !tasks.extra_tasks.is_empty() {
            violations.push(format!(
                "tasks: more tasks ran in ECS than completions: {}",
                tasks.extra_tasks.join("; ")
            ));
        }
        results.tasks = Some(tasks);
        ctl.terminate()?;
        let mut ctl = ctl;
        ctl.wait_exit(Duration::from_secs(60)).await?;
    }
    Ok(())
}

fn write_results(results: &Results, dir: &std::path::Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let day = results.meta.date.split_whitespace().next().unwrap_or("undated");
    let mode = match results.settings.pacing {
        Some(floor::Pacing::Off) => "limiter-off",
        Some(floor::Pacing::Documented { share }) if (share - 0.5).abs() < 1e-9 => "defaults",
        _ => "custom-limits",
    };
    let base = dir.join(format!("{day}-N{}-{mode}", results.settings.n));
    let json_path = base.with_extension("json");
    let md_path = base.with_extension("md");
    std::fs::write(&json_path, serde_json::to_string_pretty(results)? + "\n")
        .with_context(|| format!("writing {}", json_path.display()))?;
    std::fs::write(&md_path, results.markdown()).with_context(|| format!("writing {}", md_path.display()))?;
    Ok((json_path, md_path))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cfg = Config::from_env()?;
    let client = kube().await?;
    let meta = meta(&client, &cfg).await;
    let policies = cfg.policies();
    let mut results = Results {
        meta,
        settings: report::Settings {
            n: cfg.n,
            resync_seconds: cfg.resync.as_secs_f64(),
            converge_resync: cfg.converge_resync.clone(),
            steady_periods: cfg.steady_periods,
            latency_runs: cfg.latency_runs,
            drift_percent: cfg.drift_percent,
            apply_concurrency: cfg.apply_concurrency,
            pacing: Some(cfg.pacing()),
            tasks: cfg.task_shape(),
        },
        objects: report::Objects {
            clusters: 1,
            task_definitions: cfg.n,
            services: cfg.n,
            scaling_policies: policies,
            total: 1 + 2 * cfg.n + policies,
        },
        ..Default::default()
    };
    eprintln!("bench: N = {}, timing moto", cfg.n);
    let costs = moto::probe(cfg.probe_reads, cfg.probe_writes, cfg.probe_in_flight)
        .await
        .context("measuring moto's cost per call")?;
    results.moto = costs.clone();

    let ns = TestNamespace::create(&client, "bench").await?;
    let kinds = kinds();
    let tracker = Tracker::start(&client, &ns.name, &kinds).await?;
    let bench = Bench {
        apis: kinds
            .iter()
            .map(|(k, ar)| (*k, Api::namespaced_with(client.clone(), &ns.name, ar)))
            .collect(),
        namespace: ns.name.clone(),
        tracker,
        ecs: harness::ecs().await?,
        costs,
        run_id: unique("b"),
        timeline: Timeline::new(),
        cfg,
    };
    bench.timeline.spawn_sampler();
    if let Err(e) = run(&bench, &mut results).await {
        results.violations.push(format!("{e:#}"));
    }
    results.compute_goals();
    let (json_path, md_path) = write_results(&results, &bench.cfg.out_dir)?;
    let svg_path = md_path.with_extension("svg");
    let ready = results
        .converge
        .as_ref()
        .map(|c| c.ready_times.clone())
        .unwrap_or_default();
    let mode = match results.settings.pacing {
        Some(floor::Pacing::Off) => "no AWS rate limit".to_string(),
        Some(floor::Pacing::Total(r)) => format!("--aws-max-rps {r}"),
        Some(floor::Pacing::Documented { share }) => format!("AWS buckets at {:.0}%", share * 100.0),
        None => String::new(),
    };
    let title = format!(
        "ecs-controller benchmark, N = {}, {mode}, commit {}",
        results.settings.n, results.meta.commit
    );
    std::fs::write(&svg_path, bench.timeline.svg(&title, &ready))
        .with_context(|| format!("writing {}", svg_path.display()))?;
    eprintln!("bench: wrote {}", svg_path.display());
    println!("{}", results.markdown());
    eprintln!("bench: wrote {} and {}", json_path.display(), md_path.display());
    if !results.violations.is_empty() {
        bail!("invariants broken:\n{}", results.violations.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resync_periods_are_read_from_the_start_up_line() {
        let log = "2026-12-03T22:55:59Z INFO ecs_controller: starting resync=Resync { base: 30s, \
                   by_kind: {\"cluster\": 30s, \"profile\": 30s, \"scaling-policy\": 30s, \"service\": \
                   1500ms, \"task\": 30s, \"task-definition\": 180s} } metrics=127.0.0.1:8080\nnext line";
        let periods = parse_resync_periods(log, Duration::from_secs(30)).unwrap_or_default();
        let secs = |k: &str| periods.get(k).map(Duration::as_secs_f64);
        assert_eq!(secs(CLUSTER), Some(30.0));
        assert_eq!(secs(TASK_DEFINITION), Some(180.0));
        assert_eq!(secs(SERVICE), Some(1.5));
        assert_eq!(secs(POLICY), Some(30.0));
        assert_eq!(
            parse_resync_periods("no such line", Duration::from_secs(30)),
            None
        );
    }
}
