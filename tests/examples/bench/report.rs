//! The results: one JSON document and a Markdown rendering of it.

use crate::floor::{Floor, TaskShape, service_of};
use crate::moto::Costs;
use crate::procfs::{Footprint, mib};
use crate::prom::{Counters, delta};
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Meta {
    pub date: String,
    pub commit: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub moto_version: String,
    pub apiserver_version: String,
    pub controller_binary: String,
    pub controller_flags: Vec<String>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Settings {
    pub n: usize,
    pub resync_seconds: f64,
    pub converge_resync: String,
    pub steady_periods: u32,
    pub latency_runs: usize,
    pub drift_percent: f64,
    pub apply_concurrency: usize,
    pub pacing: Option<crate::floor::Pacing>,
    /// The FargateTask phase: the big FargateTask's completions and parallelism, the single-task ones.
    pub tasks: TaskShape,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Objects {
    pub clusters: usize,
    pub task_definitions: usize,
    pub services: usize,
    pub scaling_policies: usize,
    pub total: usize,
}

/// p50 / p99 / max in seconds, nearest rank.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Percentiles {
    pub count: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let at = |p: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
            v[rank - 1]
        };
        Percentiles {
            count: v.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: v.last().copied().unwrap_or(0.0),
        }
    }

    fn md(&self) -> String {
        format!("{} / {}", secs(self.p50), secs(self.p99))
    }
}

/// What the controller spent in one phase, and the floor beside it.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Phase {
    pub seconds: f64,
    /// AWS calls by `Service/Operation` (every outcome).
    pub aws_calls: BTreeMap<String, f64>,
    /// Calls that did not succeed, by `Service/Operation/outcome`.
    pub aws_failures: BTreeMap<String, f64>,
    pub aws_total: f64,
    pub ecs_calls: f64,
    pub autoscaling_calls: f64,
    /// The controller's status and finalizer writes by `Kind/operation`; absent when the controller does
    /// not expose `ecs_controller_kube_writes_total`.
    pub kube_writes: Option<BTreeMap<String, f64>>,
    pub kube_writes_total: Option<f64>,
    /// Event writes (creates and series updates) by the controller.
    pub events: f64,
    /// Versions of the benchmark's objects the watches saw, by kind (writes that changed something,
    /// whoever made them).
    pub object_changes: BTreeMap<String, u64>,
    pub reconciles: f64,
    /// Reconciles by kind (every outcome).
    pub reconciles_by_kind: BTreeMap<String, f64>,
    pub cpu_seconds: f64,
    /// CPU seconds the environment's processes used in the phase, by process (what the controller
    /// made them do, and the harness's own watches and lists).
    pub environment_cpu: BTreeMap<String, f64>,
    /// The seconds between the two readings of `environment_cpu`.
    pub environment_seconds: f64,
    /// The controller at the end of the phase (high-water mark since the process started).
    pub footprint: Footprint,
    pub floor: Option<FloorOut>,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct FloorOut {
    pub calls: BTreeMap<String, f64>,
    pub total: f64,
    pub ecs_calls: f64,
    pub seconds: f64,
}

impl FloorOut {
    pub fn of(f: &Floor, costs: &Costs, pacing: crate::floor::Pacing) -> Self {
        FloorOut {
            calls: f.calls.clone(),
            total: f.total(),
            ecs_calls: f.of_service("ECS"),
            seconds: f.seconds(costs, pacing),
        }
    }
}

/// A point in time: the controller's counters and footprint, and what the harness saw.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub counters: Counters,
    pub footprint: Footprint,
    pub events: f64,
    pub changes: BTreeMap<String, u64>,
    /// CPU seconds of the environment's processes (kube-apiserver, etcd, moto, ...) so far...
    pub environment_cpu: BTreeMap<String, f64>,
    /// ... read at this moment.
    pub environment_at: Option<std::time::Instant>,
}

impl Phase {
    pub fn between(a: &Snapshot, b: &Snapshot, seconds: f64) -> Self {
        let aws = delta(&a.counters.aws, &b.counters.aws);
        let mut aws_calls: BTreeMap<String, f64> = BTreeMap::new();
        let mut aws_failures = BTreeMap::new();
        for ((service, op, outcome), v) in &aws {
            *aws_calls.entry(format!("{service}/{op}")).or_default() += v;
            if outcome != "success" {
                aws_failures.insert(format!("{service}/{op}/{outcome}"), *v);
            }
        }
        let of = |svc: &str| -> f64 { aws.iter().filter(|((s, _, _), _)| s == svc).map(|(_, v)| v).sum() };
        let kube_writes = match (&a.counters.kube_writes, &b.counters.kube_writes) {
            (Some(x), Some(y)) => Some(
                delta(x, y)
                    .into_iter()
                    .map(|((k, op), v)| (format!("{k}/{op}"), v))
                    .collect::<BTreeMap<_, _>>(),
            ),
            _ => None,
        };
        let object_changes = b
            .changes
            .iter()
            .map(|(k, v)| (k.clone(), v - a.changes.get(k).copied().unwrap_or(0)))
            .filter(|(_, v)| *v > 0)
            .collect();
        let by_kind = |c: &Counters| {
            let mut m: BTreeMap<String, f64> = BTreeMap::new();
            for ((kind, _), n) in &c.reconciles {
                *m.entry(kind.clone()).or_default() += n;
            }
            m
        };
        let before = by_kind(&a.counters);
        let reconciles_by_kind = by_kind(&b.counters)
            .into_iter()
            .map(|(k, n)| {
                let d = n - before.get(&k).copied().unwrap_or(0.0);
                (k, d)
            })
            .filter(|(_, d)| *d > 0.0)
            .collect();
        // `+ 0.0`: an empty sum is -0.0.
        Phase {
            seconds,
            aws_total: aws.values().sum::<f64>() + 0.0,
            ecs_calls: of("ECS"),
            autoscaling_calls: of("ApplicationAutoScaling"),
            aws_calls,
            aws_failures,
            kube_writes_total: kube_writes.as_ref().map(|w| w.values().sum::<f64>() + 0.0),
            kube_writes,
            events: b.events - a.events,
            object_changes,
            reconciles: b.counters.reconciles_total() - a.counters.reconciles_total(),
            reconciles_by_kind,
            cpu_seconds: b.footprint.cpu_seconds - a.footprint.cpu_seconds,
            environment_cpu: b
                .environment_cpu
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v - a.environment_cpu.get(k)?)))
                .collect(),
            environment_seconds: match (a.environment_at, b.environment_at) {
                (Some(a), Some(b)) => b.saturating_duration_since(a).as_secs_f64(),
                _ => 0.0,
            },
            footprint: b.footprint,
            floor: None,
        }
    }

    /// Calls of an operation (any service).
    pub fn calls(&self, op: &str) -> f64 {
        self.aws_calls
            .get(&format!("{}/{op}", service_of(op)))
            .copied()
            .unwrap_or(0.0)
    }

    /// Writes of one operation summed over the kinds (`None`: metric not exposed).
    pub fn writes(&self, operation: &str) -> Option<f64> {
        self.kube_writes.as_ref().map(|w| {
            w.iter()
                .filter(|(k, _)| k.ends_with(&format!("/{operation}")))
                .map(|(_, v)| v)
                .sum()
        })
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Latency {
    pub runs: usize,
    /// Apply of cluster, task definition and service to the service Ready.
    pub create: Percentiles,
    /// Delete of the three to all gone.
    pub delete: Percentiles,
    pub phase: Phase,
    pub floor_create_seconds: f64,
    pub floor_delete_seconds: f64,
    pub floor_calls_per_run: f64,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Converge {
    /// Each kind's Ready times, seconds after the controller started (for the pictures).
    #[serde(skip)]
    pub ready_times: BTreeMap<String, Vec<f64>>,
    pub apply_seconds: f64,
    /// First apply sent to the last object Ready (as the watches saw it).
    pub all_ready_seconds: f64,
    /// Per object, its apply sent to a watch seeing Ready=True for its generation.
    pub per_object: Percentiles,
    pub per_kind: BTreeMap<String, Percentiles>,
    /// Until the controller went quiet (no AWS call, write or reconcile for a few seconds).
    pub phase: Phase,
    /// Calls made after every object was Ready, before it went quiet (included in `phase`).
    pub calls_after_ready: f64,
    /// The time floor: the AWS floor's time, and no less than applying took.
    pub floor_seconds: f64,
    /// The AWS floor's time alone.
    pub aws_floor_seconds: f64,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Restart {
    /// Start of the new process to its last AWS call, write or reconcile of the re-verification.
    pub phase: Phase,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Steady {
    pub window_seconds: f64,
    /// Each kind's resync period in seconds (from the controller's start-up log), and its resyncs in
    /// the window (a multiple of every period, so each kind resyncs a whole number of times).
    pub resync_periods: BTreeMap<String, f64>,
    pub resyncs: BTreeMap<String, u32>,
    pub calls_per_object_per_minute: f64,
    /// Scaled to the default `--resync-period 5m` (every kind's period scales with it).
    pub calls_per_object_per_minute_at_5m: f64,
    pub floor_per_object_per_minute_at_5m: f64,
    pub lost_ready: usize,
    /// AWS calls and writes over the whole window; its floor is the window's resyncs.
    pub phase: Phase,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Drift {
    pub drifted: usize,
    /// End of the injection to the last drifted service back, as DescribeServices shows it.
    pub all_back_seconds: f64,
    /// The controller's first DescribeServices after the injection to the last service back.
    pub after_detection_seconds: Option<f64>,
    pub restored: usize,
    pub floor_fix_seconds: f64,
    pub phase: Phase,
}

/// A user's change made as a resync of every object started.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Change {
    /// The change sent to its UpdateService seen in AWS (DescribeServices, polled every 100 ms).
    pub seconds: f64,
    /// The resync's DescribeServices calls made by then, of those it made in all.
    pub resync_calls_by_then: f64,
    pub resync_calls: f64,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Delete {
    pub all_gone_seconds: f64,
    pub per_object: Percentiles,
    pub per_kind: BTreeMap<String, Percentiles>,
    pub phase: Phase,
}

/// The FargateTask phase (a fresh controller process, on a cluster of its own).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Tasks {
    pub shape: TaskShape,
    /// FargateTasks applied: the big one and the single-task ones.
    pub objects: usize,
    pub apply_seconds: f64,
    /// First apply sent to the last FargateTask Complete (or Failed), as the watch saw it.
    pub all_complete_seconds: f64,
    /// The big FargateTask, apply to Complete.
    pub job_complete_seconds: Option<f64>,
    /// Each single-task FargateTask, its apply to Complete.
    pub singles_complete: Percentiles,
    /// FargateTasks that Failed (a broken invariant: moto's tasks exit 0).
    pub failed: Vec<String>,
    /// `status.succeeded` summed over the objects.
    pub succeeded: i64,
    /// Tasks ECS ran (ListTasks by each object's startedBy), and the objects that ran more than their
    /// completions (a broken invariant).
    pub tasks_in_aws: usize,
    pub extra_tasks: Vec<String>,
    /// FargateTask reconciles (each describes its running tasks: a poll, or a launch).
    pub reconciles: f64,
    pub reconcile_errors: f64,
    /// AWS calls after the last Complete, before the controller went quiet (included in `phase`).
    pub calls_after_complete: f64,
    /// The big FargateTask: the most tasks its status listed running, the largest object and status
    /// (JSON bytes) the watch saw.
    pub max_running: i64,
    pub max_object_bytes: usize,
    pub max_status_bytes: usize,
    /// The big FargateTask's launches (one RunTask each, one per reconcile), and when the watch saw
    /// the last one recorded (from the first apply).
    pub job_launches: i64,
    pub job_last_launch_seconds: Option<f64>,
    /// The JSON bytes of every FargateTask version the watch saw, summed: what the status writes cost
    /// the kube-apiserver and etcd.
    pub bytes_seen: u64,
    /// The AWS floor's time (calls alone), the floor's polls (4 per wave) and their time at the
    /// controller's 3 s poll, and the status writes of a crash-safe run.
    pub floor_seconds: f64,
    pub floor_poll_rounds: usize,
    pub floor_lifecycle_seconds: f64,
    pub floor_status_writes: f64,
    /// Apply to all Complete and the controller quiet.
    pub phase: Phase,
    /// Deleting the finished FargateTasks, until gone.
    pub delete_seconds: f64,
    pub delete: Phase,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Goal {
    pub goal: String,
    pub target: String,
    pub measured: String,
    pub floor: String,
    pub pass: bool,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Results {
    pub meta: Meta,
    pub settings: Settings,
    pub objects: Objects,
    pub moto: Costs,
    pub idle: Option<Footprint>,
    pub latency: Option<Latency>,
    pub converge: Option<Converge>,
    pub restart: Option<Restart>,
    pub steady: Option<Steady>,
    pub drift: Option<Drift>,
    pub change: Option<Change>,
    pub delete: Option<Delete>,
    pub tasks: Option<Tasks>,
    /// Peak RSS of the controller of phases 2 to 7 (the FargateTask phase's process is its own).
    pub peak_rss_mib: f64,
    pub goals: Vec<Goal>,
    /// Broken invariants: the run failed.
    pub violations: Vec<String>,
}

fn secs(s: f64) -> String {
    if s < 0.1 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

fn num(v: f64) -> String {
    // No "-0" for a counter that did not move.
    let v = if v == 0.0 { 0.0 } else { v };
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), num)
}

impl Results {
    pub fn compute_goals(&mut self) {
        let objects = self.objects.total.max(1) as f64;
        let mut goals = Vec::new();
        if let Some(c) = &self.converge {
            let ratio = c.all_ready_seconds / c.floor_seconds.max(1e-9);
            goals.push(Goal {
                goal: "converge within 1.5x of the floor".into(),
                target: "<= 1.5x".into(),
                measured: format!("{} ({ratio:.2}x)", secs(c.all_ready_seconds)),
                floor: secs(c.floor_seconds),
                pass: ratio <= 1.5,
            });
            let per_object = c.phase.ecs_calls / objects;
            let floor = c.phase.floor.as_ref().map_or(0.0, |f| f.ecs_calls / objects);
            goals.push(Goal {
                goal: "ECS calls per object to converge".into(),
                target: "<= 1.2".into(),
                measured: format!("{per_object:.2}"),
                floor: format!("{floor:.2}"),
                pass: per_object <= 1.2,
            });
        }
        if let Some(d) = &self.delete {
            let per_object = d.phase.aws_total / objects;
            let floor = d.phase.floor.as_ref().map_or(0.0, |f| f.total / objects);
            goals.push(Goal {
                goal: "AWS calls per object to delete".into(),
                target: "<= 1.5".into(),
                measured: format!("{per_object:.2}"),
                floor: format!("{floor:.2}"),
                pass: per_object <= 1.5,
            });
            let reconciles = d.phase.reconciles / objects;
            goals.push(Goal {
                goal: "reconciles per object to delete".into(),
                target: "< 3".into(),
                measured: format!("{reconciles:.2}"),
                floor: "-".into(),
                pass: reconciles < 3.0,
            });
        }
        if let Some(s) = &self.steady {
            let floor = s.floor_per_object_per_minute_at_5m;
            goals.push(Goal {
                goal: "AWS calls per object per minute at steady state (default 5 m resync)".into(),
                target: "<= 0.05".into(),
                measured: format!("{:.3}", s.calls_per_object_per_minute_at_5m),
                floor: format!("{floor:.3}"),
                pass: s.calls_per_object_per_minute_at_5m <= 0.05,
            });
            let writes = s.phase.kube_writes_total;
            goals.push(Goal {
                goal: "Kubernetes writes at steady state (status, finalizers, events)".into(),
                target: "0".into(),
                measured: format!("{} + {} events", opt(writes), num(s.phase.events)),
                floor: "0".into(),
                pass: writes.unwrap_or(0.0) == 0.0 && s.phase.events == 0.0,
            });
        }
        if let Some(c) = &self.change {
            goals.push(Goal {
                goal: "a spec change made as a full resync starts reaches AWS".into(),
                target: "<= 5 s".into(),
                measured: secs(c.seconds),
                floor: "-".into(),
                pass: c.seconds <= 5.0,
            });
        }
        // Peak RSS: under 20 MiB at N = 100, under 64 MiB at N = 2000 (in between: the line joining them).
        let n = self.settings.n as f64;
        let rss_goal = if n <= 100.0 {
            20.0
        } else {
            20.0 + (64.0 - 20.0) * ((n - 100.0) / 1900.0).min(1.0)
        };
        goals.push(Goal {
            goal: "controller peak RSS (20 MiB at N = 100, 64 MiB at N = 2000)".into(),
            target: format!("< {rss_goal:.0} MiB"),
            measured: format!("{:.1} MiB", self.peak_rss_mib),
            floor: "-".into(),
            pass: self.peak_rss_mib < rss_goal,
        });
        if let Some(t) = &self.tasks {
            let peak = mib(t.phase.footprint.hwm_kib.max(t.delete.footprint.hwm_kib));
            goals.push(Goal {
                goal: format!(
                    "controller peak RSS, FargateTask phase ({} tasks, fresh process)",
                    t.shape.tasks()
                ),
                target: "< 64 MiB".into(),
                measured: format!("{peak:.1} MiB"),
                floor: "-".into(),
                pass: peak < 64.0,
            });
        }
        self.goals = goals;
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.meta;
        let o = &self.objects;
        let _ = writeln!(md, "# ecs-controller benchmark, N = {}\n", self.settings.n);
        let _ = writeln!(
            md,
            "{} · commit `{}` · {} x {} · moto {} · kube-apiserver {}\n",
            m.date, m.commit, m.cpus, m.cpu_model, m.moto_version, m.apiserver_version
        );
        let _ = writeln!(
            md,
            "{} objects applied at once: {} EcsCluster, {} TaskDefinitions, {} FargateServices, {} ScalingPolicies \
             (one target-tracking policy each). Controller (release build) flags: `{}`; convergence and latency \
             with `--resync-period {}`, restart, steady state, drift and deletion with `--resync-period {}s`.\n",
            o.total,
            o.clusters,
            o.task_definitions,
            o.services,
            o.scaling_policies,
            m.controller_flags.join(" "),
            self.settings.converge_resync,
            self.settings.resync_seconds
        );
        if self.violations.is_empty() {
            let _ = writeln!(md, "Invariants: all held.\n");
        } else {
            let _ = writeln!(md, "**Invariants broken (the run failed):**\n");
            for v in &self.violations {
                let _ = writeln!(md, "- {v}");
            }
            md.push('\n');
        }

        let _ = writeln!(md, "## Goals\n");
        let _ = writeln!(md, "| goal | target | measured | floor | |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for g in &self.goals {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                g.goal,
                g.target,
                g.measured,
                g.floor,
                if g.pass { "pass" } else { "**miss**" }
            );
        }
        md.push('\n');

        if let Some(c) = &self.converge {
            let _ = writeln!(
                md,
                "## Convergence: everything applied while no controller runs, then the controller started\n"
            );
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let _ = writeln!(
                md,
                "| applied in ({} at a time, no controller running; not part of the measure) | {} | |",
                self.settings.apply_concurrency,
                secs(c.apply_seconds)
            );
            let _ = writeln!(
                md,
                "| all Ready after the controller started | {} | {} |",
                secs(c.all_ready_seconds),
                secs(c.floor_seconds)
            );
            let _ = writeln!(
                md,
                "| per object, controller start to Ready, p50 / p99 | {} | |",
                c.per_object.md()
            );
            for (kind, p) in &c.per_kind {
                let _ = writeln!(md, "| {kind}, p50 / p99 | {} | |", p.md());
            }
            self.phase_rows(&mut md, &c.phase);
            let _ = writeln!(
                md,
                "| AWS calls after all Ready (included above) | {} | |",
                num(c.calls_after_ready)
            );
            let objects = o.total.max(1) as f64;
            if let Some(w) = c.phase.kube_writes_total {
                let _ = writeln!(
                    md,
                    "| Kubernetes writes per object (status + finalizer) | {:.2} (status {}, finalizer {}) | {} |",
                    w / objects,
                    opt(c.phase.writes("status_patch")),
                    opt(c.phase.writes("finalizer_add")),
                    num(crate::floor::KUBE_WRITES_PER_OBJECT)
                );
            }
            let _ = writeln!(md, "| events per object | {:.2} | 0 |", c.phase.events / objects);
            md.push('\n');
        }

        let _ = writeln!(md, "## AWS calls by operation\n");
        let _ = writeln!(
            md,
            "Floors in parentheses. Steady state: the whole window (see below); latency: per run.\n"
        );
        let _ = writeln!(
            md,
            "| operation | converge | restart | steady state | drift | delete | tasks | latency / run |"
        );
        let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
        let mut ops: Vec<String> = Vec::new();
        let phases: Vec<(Option<&Phase>, f64)> = vec![
            (self.converge.as_ref().map(|c| &c.phase), 1.0),
            (self.restart.as_ref().map(|r| &r.phase), 1.0),
            (self.steady.as_ref().map(|s| &s.phase), 1.0),
            (self.drift.as_ref().map(|d| &d.phase), 1.0),
            (self.delete.as_ref().map(|d| &d.phase), 1.0),
            (self.tasks.as_ref().map(|t| &t.phase), 1.0),
            (
                self.latency.as_ref().map(|l| &l.phase),
                self.latency.as_ref().map_or(1.0, |l| l.runs.max(1) as f64),
            ),
        ];
        for (p, _) in &phases {
            if let Some(p) = p {
                for k in p.aws_calls.keys() {
                    if !ops.contains(k) {
                        ops.push(k.clone());
                    }
                }
                for k in p.floor.iter().flat_map(|f| f.calls.keys()) {
                    let k = format!("{}/{k}", service_of(k));
                    if !ops.contains(&k) {
                        ops.push(k);
                    }
                }
            }
        }
        ops.sort();
        let cell = |p: Option<&Phase>, div: f64, floor: Option<&FloorOut>, op: &str| -> String {
            let Some(p) = p else { return "-".into() };
            let v = p.aws_calls.get(op).copied().unwrap_or(0.0) / div;
            let short = op.split_once('/').map_or(op, |(_, o)| o);
            let f = floor.and_then(|f| f.calls.get(short)).copied().unwrap_or(0.0);
            if v == 0.0 && f == 0.0 {
                String::new()
            } else {
                format!("{} ({})", num(v), num(f))
            }
        };
        for op in &ops {
            let mut row = format!("| {op} ");
            for (p, div) in &phases {
                let _ = write!(row, "| {} ", cell(*p, *div, p.and_then(|p| p.floor.as_ref()), op));
            }
            row.push('|');
            let _ = writeln!(md, "{row}");
        }
        let mut total = "| **total** ".to_string();
        for (p, div) in &phases {
            match p {
                Some(p) => {
                    // Floors are per run already where measurements are divided (latency).
                    let floor = p.floor.as_ref().map(|f| f.total);
                    let _ = write!(total, "| **{}** ({}) ", num(p.aws_total / div), opt(floor));
                }
                None => total.push_str("| - "),
            }
        }
        total.push('|');
        let _ = writeln!(md, "{total}\n");
        let failures: BTreeMap<String, f64> = phases
            .iter()
            .filter_map(|(p, _)| *p)
            .flat_map(|p| p.aws_failures.clone())
            .fold(BTreeMap::new(), |mut acc, (k, v)| {
                *acc.entry(k).or_default() += v;
                acc
            });
        if !failures.is_empty() {
            let _ = writeln!(
                md,
                "Calls that failed (included above): {}\n",
                failures
                    .iter()
                    .map(|(k, v)| format!("{k} {}", num(*v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }

        if let Some(r) = &self.restart {
            let _ = writeln!(
                md,
                "## Restart: a new controller process re-verifies everything\n"
            );
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let _ = writeln!(md, "| re-verified in | {} | |", secs(r.phase.seconds));
            self.phase_rows(&mut md, &r.phase);
            md.push('\n');
        }

        if let Some(s) = &self.steady {
            let _ = writeln!(md, "## Steady state\n");
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let mut by_period: BTreeMap<u64, (Vec<&str>, u32)> = BTreeMap::new();
            for (kind, period) in &s.resync_periods {
                let e = by_period.entry(period.round() as u64).or_default();
                e.0.push(kind);
                e.1 = s.resyncs.get(kind).copied().unwrap_or(0);
            }
            let resyncs = by_period
                .iter()
                .map(|(period, (kinds, n))| format!("{n} of {} (every {period} s)", kinds.join(", ")))
                .collect::<Vec<_>>()
                .join("; ");
            let _ = writeln!(
                md,
                "| window, resyncs in it | {}: {resyncs} | |",
                secs(s.window_seconds)
            );
            let floor = s.phase.floor.as_ref().map_or(0.0, |f| f.total);
            let objects = o.total.max(1) as f64;
            let minutes = s.window_seconds / 60.0;
            let scale = self.settings.resync_seconds / 300.0;
            let _ = writeln!(
                md,
                "| AWS calls per object per minute, at these periods / scaled to the default 5 m | {:.3} / {:.3} | {:.3} / {:.3} |",
                s.calls_per_object_per_minute,
                s.calls_per_object_per_minute_at_5m,
                floor / objects / minutes,
                floor / objects / minutes * scale
            );
            let _ = writeln!(md, "| objects that lost Ready | {} | 0 |", s.lost_ready);
            self.phase_rows(&mut md, &s.phase);
            md.push('\n');
        }

        if let Some(d) = &self.drift {
            let _ = writeln!(
                md,
                "## Drift: {} services changed in AWS behind the controller's back\n",
                d.drifted
            );
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let _ = writeln!(
                md,
                "| all back after (waits for the next resync) | {} | |",
                secs(d.all_back_seconds)
            );
            let _ = writeln!(
                md,
                "| from the resync that saw them | {} | {} |",
                d.after_detection_seconds.map_or_else(|| "n/a".into(), secs),
                secs(d.floor_fix_seconds)
            );
            let _ = writeln!(md, "| services restored | {} / {} | |", d.restored, d.drifted);
            let _ = writeln!(
                md,
                "| UpdateService calls | {} | {} |",
                num(d.phase.calls("UpdateService")),
                d.drifted
            );
            self.phase_rows(&mut md, &d.phase);
            md.push('\n');
        }

        if let Some(c) = &self.change {
            let _ = writeln!(
                md,
                "## A change during a resync: one service's desiredCount changed as a resync of every object starts\n"
            );
            let _ = writeln!(md, "| measure | value | |");
            let _ = writeln!(md, "|---|---|---|");
            let _ = writeln!(md, "| the change in AWS after | {} | |", secs(c.seconds));
            let _ = writeln!(
                md,
                "| the resync's DescribeServices calls by then, of all | {} of {} | |",
                num(c.resync_calls_by_then),
                num(c.resync_calls)
            );
            md.push('\n');
        }

        if let Some(d) = &self.delete {
            let _ = writeln!(md, "## Deletion: everything deleted at once\n");
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let floor = d.phase.floor.as_ref().map_or(0.0, |f| f.seconds);
            let _ = writeln!(
                md,
                "| all gone after | {} | {} |",
                secs(d.all_gone_seconds),
                secs(floor)
            );
            let _ = writeln!(
                md,
                "| per object, delete to gone, p50 / p99 | {} | |",
                d.per_object.md()
            );
            for (kind, p) in &d.per_kind {
                let _ = writeln!(md, "| {kind}, p50 / p99 | {} | |", p.md());
            }
            self.phase_rows(&mut md, &d.phase);
            md.push('\n');
        }

        if let Some(t) = &self.tasks {
            self.tasks_section(&mut md, t);
        }

        if let Some(l) = &self.latency {
            let _ = writeln!(
                md,
                "## Latency: one FargateService with its EcsCluster and TaskDefinition, {} runs\n",
                l.runs
            );
            let _ = writeln!(md, "| measure | value | floor |");
            let _ = writeln!(md, "|---|---|---|");
            let _ = writeln!(
                md,
                "| apply to service Ready, p50 / p99 | {} | {} |",
                l.create.md(),
                secs(l.floor_create_seconds)
            );
            let _ = writeln!(
                md,
                "| delete to all gone, p50 / p99 | {} | {} |",
                l.delete.md(),
                secs(l.floor_delete_seconds)
            );
            let _ = writeln!(
                md,
                "| AWS calls per run (create + delete) | {} | {} |",
                num(l.phase.aws_total / l.runs.max(1) as f64),
                num(l.floor_calls_per_run)
            );
            md.push('\n');
        }

        let _ = writeln!(
            md,
            "## moto's cost per call (measured in this run, one call at a time)\n"
        );
        let _ = writeln!(
            md,
            "Effective parallelism: {:.2} (DescribeClusters per second with {} in flight over one at a time). \
             A floor's time is the sum of its calls' costs divided by that, and no less than the calls that \
             must follow each other{}.\n",
            self.moto.parallelism,
            self.moto.in_flight,
            self.settings.pacing.map_or(String::new(), |p| format!(
                ", nor than the calls at the controller's rate limits ({})",
                p.describe()
            ))
        );
        let _ = writeln!(md, "| operation | calls timed | mean |");
        let _ = writeln!(md, "|---|---|---|");
        for (op, c) in &self.moto.ops {
            let _ = writeln!(md, "| {op} | {} | {:.1} ms |", c.calls, c.mean() * 1000.0);
        }
        md.push('\n');
        if let Some(idle) = &self.idle {
            let _ = writeln!(
                md,
                "Controller idle at start: {:.1} MiB resident ({:.1} MiB of mapped files: code, libraries; \
                 {:.1} MiB anonymous). Peak over the run: {:.1} MiB.",
                mib(idle.rss_kib),
                mib(idle.file_kib),
                mib(idle.anon_kib),
                self.peak_rss_mib
            );
        }
        md
    }

    fn tasks_section(&self, md: &mut String, t: &Tasks) {
        let s = &t.shape;
        let tasks = s.tasks().max(1) as f64;
        let objects = t.objects.max(1) as f64;
        let _ = writeln!(md, "## FargateTasks: {} tasks run to completion\n", s.tasks());
        let lifecycle = if s.state_seconds == 0 {
            "moto moves a task one state per DescribeTasks (STOPPED on the fourth)".to_string()
        } else {
            format!(
                "each state of a moto task lasts {} s (moto's state manager; STOPPED after 4 states)",
                s.state_seconds
            )
        };
        let _ = writeln!(
            md,
            "One FargateTask of {} completions, {} in parallel, and {} FargateTasks of one task each, applied \
             at once on a cluster of their own, with a fresh controller process (`--resync-period {}`); \
             {lifecycle}, and its containers exit 0. Per task: of the {} tasks.\n",
            s.completions,
            s.parallelism,
            s.singles,
            self.settings.converge_resync,
            s.tasks()
        );
        let _ = writeln!(md, "| measure | value | floor |");
        let _ = writeln!(md, "|---|---|---|");
        let _ = writeln!(
            md,
            "| applied in ({} at a time) | {} | |",
            self.settings.apply_concurrency,
            secs(t.apply_seconds)
        );
        let _ = writeln!(
            md,
            "| all Complete after | {} | {} at the controller's 3 s poll ({} polls); AWS calls alone {} |",
            secs(t.all_complete_seconds),
            secs(t.floor_lifecycle_seconds),
            t.floor_poll_rounds,
            secs(t.floor_seconds)
        );
        if let Some(j) = t.job_complete_seconds {
            let _ = writeln!(
                md,
                "| the FargateTask of {} completions, apply to Complete | {} | |",
                s.completions,
                secs(j)
            );
        }
        if t.singles_complete.count > 0 {
            let _ = writeln!(
                md,
                "| single-task FargateTasks, apply to Complete, p50 / p99 | {} | |",
                t.singles_complete.md()
            );
        }
        let _ = writeln!(
            md,
            "| tasks succeeded (status) / run in ECS (ListTasks by startedBy) | {} / {} | {} |",
            t.succeeded,
            t.tasks_in_aws,
            s.tasks()
        );
        let floor = |op: &str| {
            t.phase
                .floor
                .as_ref()
                .and_then(|f| f.calls.get(op))
                .copied()
                .unwrap_or(0.0)
        };
        for op in ["RunTask", "DescribeTasks", "ListTasks", "StopTask"] {
            let v = t.phase.calls(op);
            let _ = writeln!(
                md,
                "| {op} calls (per task) | {} ({:.3}) | {} ({:.3}) |",
                num(v),
                v / tasks,
                num(floor(op)),
                floor(op) / tasks
            );
        }
        let others = t.phase.aws_total
            - ["RunTask", "DescribeTasks", "ListTasks", "StopTask"]
                .iter()
                .map(|op| t.phase.calls(op))
                .sum::<f64>();
        if others > 0.0 {
            let _ = writeln!(
                md,
                "| other AWS calls: the EcsCluster and TaskDefinition, woken by FargateTasks that finish (per task) | {} ({:.3}) | 0 |",
                num(others),
                others / tasks
            );
        }
        let describes = t.phase.calls("DescribeTasks");
        if describes > 0.0 && s.state_seconds == 0 {
            // Each task is described exactly 4 times (moto stops it on the fourth): the ARNs sent.
            let arns = crate::floor::STATES_TO_STOP as f64 * tasks;
            let _ = writeln!(
                md,
                "| tasks per DescribeTasks call (each task is described {} times) | {:.1} | {} |",
                crate::floor::STATES_TO_STOP,
                arns / describes,
                num((arns / floor("DescribeTasks").max(1.0)).min(100.0))
            );
        }
        let _ = writeln!(
            md,
            "| FargateTask reconciles (each one polls its running tasks; per object) | {} ({:.1}) | {} poll rounds |",
            num(t.reconciles),
            t.reconciles / objects,
            t.floor_poll_rounds
        );
        if t.reconcile_errors > 0.0 {
            let _ = writeln!(
                md,
                "| FargateTask reconciles that failed | {} | 0 |",
                num(t.reconcile_errors)
            );
        }
        let _ = writeln!(
            md,
            "| AWS calls after all Complete (included above) | {} | 0 |",
            num(t.calls_after_complete)
        );
        if s.completions > 0 {
            let _ = writeln!(
                md,
                "| the big FargateTask: most tasks running at once / largest status / largest object | {} / {:.1} KiB / {:.1} KiB | {} |",
                t.max_running,
                t.max_status_bytes as f64 / 1024.0,
                t.max_object_bytes as f64 / 1024.0,
                s.parallelism
            );
        }
        if let (true, Some(last)) = (t.job_launches > 0, t.job_last_launch_seconds) {
            let _ = writeln!(
                md,
                "| the big FargateTask: launches (RunTask of up to 10, one per reconcile), the last recorded after / tasks launched per second | {}, {} / {:.1} | |",
                t.job_launches,
                secs(last),
                s.completions as f64 / last.max(1e-9)
            );
        }
        let _ = writeln!(
            md,
            "| FargateTask versions the watch saw, their JSON summed (per task) | {:.1} MiB ({:.1} KiB) | |",
            t.bytes_seen as f64 / 1024.0 / 1024.0,
            t.bytes_seen as f64 / 1024.0 / tasks
        );
        if let Some(w) = t.phase.writes("status_patch") {
            let _ = writeln!(
                md,
                "| status patches per task (per object) | {:.2} ({:.1}) | {:.2} ({:.1}) |",
                w / tasks,
                w / objects,
                t.floor_status_writes / tasks,
                t.floor_status_writes / objects
            );
        }
        let _ = writeln!(md, "| events per task | {:.2} | |", t.phase.events / tasks);
        self.phase_rows_per(md, &t.phase, objects);
        let _ = writeln!(
            md,
            "| deleted (all STOPPED) in / AWS calls / status and finalizer writes | {} / {} / {} + {} | - / 0 / |",
            secs(t.delete_seconds),
            num(t.delete.aws_total),
            opt(t.delete.writes("status_patch")),
            opt(t.delete.writes("finalizer_remove"))
        );
        md.push('\n');
    }

    fn phase_rows(&self, md: &mut String, p: &Phase) {
        self.phase_rows_per(md, p, self.objects.total.max(1) as f64);
    }

    /// The rows every phase reports, per object of `objects`.
    fn phase_rows_per(&self, md: &mut String, p: &Phase, objects: f64) {
        let floor_total = p.floor.as_ref().map(|f| num(f.total)).unwrap_or_default();
        let _ = writeln!(
            md,
            "| AWS calls (per object) | {} ({:.2}; ECS {}, Auto Scaling {}) | {floor_total} |",
            num(p.aws_total),
            p.aws_total / objects,
            num(p.ecs_calls),
            num(p.autoscaling_calls)
        );
        let _ = writeln!(
            md,
            "| Kubernetes writes: status / finalizer / events | {} / {} / {} |  |",
            opt(p.writes("status_patch")),
            opt(match (p.writes("finalizer_add"), p.writes("finalizer_remove")) {
                (Some(a), Some(r)) => Some(a + r),
                _ => None,
            }),
            num(p.events)
        );
        let changes: u64 = p.object_changes.values().sum();
        let _ = writeln!(md, "| object versions the watches saw | {changes} | |");
        let kinds: Vec<String> = p
            .reconciles_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {}", num(*n)))
            .collect();
        let _ = writeln!(
            md,
            "| reconciles (per object; by kind) | {} ({:.2}; {}) | |",
            num(p.reconciles),
            p.reconciles / objects,
            kinds.join(", ")
        );
        let _ = writeln!(
            md,
            "| controller CPU / RSS at end (mapped files + anonymous) / peak RSS | {:.2} s / {:.1} MiB ({:.1} + {:.1}) / {:.1} MiB | |",
            p.cpu_seconds,
            mib(p.footprint.rss_kib),
            mib(p.footprint.file_kib),
            mib(p.footprint.anon_kib),
            mib(p.footprint.hwm_kib)
        );
        if !p.environment_cpu.is_empty() {
            let busy: Vec<String> = p
                .environment_cpu
                .iter()
                .map(|(name, cpu)| {
                    let share = if p.environment_seconds > 0.0 {
                        100.0 * cpu / p.environment_seconds
                    } else {
                        0.0
                    };
                    format!("{name} {cpu:.1} s ({share:.0}%)")
                })
                .collect();
            let _ = writeln!(
                md,
                "| CPU of the environment's processes (% of one core over the {:.1} s from the phase's start to its end and a few quiet seconds) | {} | |",
                p.environment_seconds,
                busy.join(", ")
            );
        }
    }
}
