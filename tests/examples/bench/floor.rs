//! The floor: the fewest AWS calls each phase of the scenario needs, and the least time moto needs to
//! answer them (its cost per call measured in the same run), so the report shows how close to the
//! floor the controller gets. Every count is stated with its reason in `README.md` and the report.

use crate::moto::Costs;
use ecs_controller_e2e::kinds::kinds;
use std::collections::BTreeMap;

const AAS_OPS: &[&str] = &[
    "RegisterScalableTarget",
    "DeregisterScalableTarget",
    "DescribeScalableTargets",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "DescribeScalingPolicies",
    "PutScheduledAction",
    "DeleteScheduledAction",
    "DescribeScheduledActions",
];

/// The AWS service label the controller's metric gives an operation.
pub fn service_of(op: &str) -> &'static str {
    if AAS_OPS.contains(&op) {
        "ApplicationAutoScaling"
    } else {
        "ECS"
    }
}

/// A call that only reads.
pub fn read_only(op: &str) -> bool {
    op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get")
}

/// What the scenario holds: one cluster, `n` task definitions and services, `policies` ScalingPolicies
/// (one target-tracking policy each, no scheduled actions) on the first `policies` services.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub n: usize,
    pub policies: usize,
}

fn per(items: usize, batch: usize) -> f64 {
    items.div_ceil(batch) as f64
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Floor {
    /// Calls by operation.
    pub calls: BTreeMap<String, f64>,
    /// Operations that must follow each other (each waits for the previous one's answer).
    pub chain: Vec<String>,
}

impl Floor {
    fn new(calls: &[(&str, f64)], chain: &[&str]) -> Self {
        Floor {
            calls: calls
                .iter()
                .filter(|(_, n)| *n > 0.0)
                .map(|(op, n)| (op.to_string(), *n))
                .collect(),
            chain: chain.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Both floors' calls (chains one after the other).
    pub fn plus(&self, other: &Floor) -> Floor {
        let mut f = self.clone();
        for (op, n) in &other.calls {
            *f.calls.entry(op.clone()).or_default() += n;
        }
        f.chain.extend(other.chain.iter().cloned());
        f
    }

    pub fn total(&self) -> f64 {
        self.calls.values().sum()
    }

    pub fn of_service(&self, service: &str) -> f64 {
        self.calls
            .iter()
            .filter(|(op, _)| service_of(op) == service)
            .map(|(_, n)| n)
            .sum()
    }

    /// The least time moto needs for these calls: their summed cost spread over moto's effective
    /// parallelism, no less than the chain of calls that must follow each other, nor than the calls
    /// at the controller's AWS rate limits (`pacing`).
    pub fn seconds(&self, costs: &Costs, pacing: Pacing) -> f64 {
        let work: f64 = self.calls.iter().map(|(op, n)| n * costs.mean(op)).sum();
        let chain: f64 = self.chain.iter().map(|op| costs.mean(op)).sum();
        (work / costs.parallelism.max(1.0))
            .max(chain)
            .max(self.paced_seconds(pacing))
    }

    /// The least time these calls take at the controller's rate limits: at one limit for all, their
    /// number over the rate; with AWS's buckets, the slowest bucket's calls past its burst over its
    /// refill rate (the controller starts with full buckets).
    pub fn paced_seconds(&self, pacing: Pacing) -> f64 {
        match pacing {
            Pacing::Off => 0.0,
            Pacing::Total(r) => self.total() / r,
            Pacing::Documented { share } => {
                let mut per_bucket: BTreeMap<&str, (f64, f64, f64)> = BTreeMap::new();
                for (op, n) in &self.calls {
                    for l in ecs_controller::aws::limits::of_name(service_of(op), op) {
                        let b = per_bucket.entry(l.bucket).or_insert((
                            0.0,
                            (f64::from(l.burst) * share).floor().max(1.0),
                            l.per_second * share,
                        ));
                        b.0 += n;
                    }
                }
                per_bucket
                    .values()
                    .map(|(calls, burst, rate)| (calls - burst).max(0.0) / rate)
                    .fold(0.0, f64::max)
            }
        }
    }
}

/// How the controller paces its AWS calls (from its flags, as `ecs-controller run` reads them).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub enum Pacing {
    /// `--aws-max-rps 0`.
    Off,
    /// `--aws-max-rps N`.
    Total(f64),
    /// The default: AWS's buckets at `--aws-rate-share` (a fraction here).
    Documented { share: f64 },
}

impl Pacing {
    /// From the controller's flags.
    pub fn of_args(args: &[String]) -> Pacing {
        let flag = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1).cloned())
                .or_else(|| {
                    args.iter()
                        .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
                })
                .and_then(|v| v.parse::<f64>().ok())
        };
        match flag("--aws-max-rps") {
            Some(r) if r > 0.0 => Pacing::Total(r),
            Some(_) => Pacing::Off,
            None => Pacing::Documented {
                share: flag("--aws-rate-share").unwrap_or(50.0) / 100.0,
            },
        }
    }

    /// As the report states it.
    pub fn describe(self) -> String {
        match self {
            Pacing::Off => "no AWS rate limit (`--aws-max-rps 0`)".to_string(),
            Pacing::Total(r) => format!("one AWS rate limit of {r} calls/s (`--aws-max-rps {r}`)"),
            Pacing::Documented { share } => format!(
                "the shipped defaults: AWS's throttling buckets at {:.0}% (`--aws-rate-share`)",
                share * 100.0
            ),
        }
    }
}

/// Applying everything at once: CreateCluster 1; RegisterTaskDefinition 1 per task definition (its
/// answer is the revision); CreateService 1 per service and one DescribeServices per 10 services to see
/// the rollout complete (CreateService answers while ECS still starts the tasks); RegisterScalableTarget
/// and PutScalingPolicy 1 each per ScalingPolicy. Look-ups before creating (for idempotency) are not
/// in the floor: they are the price of crash safety, and the report shows them beside it.
pub fn converge(s: Shape) -> Floor {
    Floor::new(
        &[
            ("CreateCluster", 1.0),
            ("RegisterTaskDefinition", s.n as f64),
            ("CreateService", s.n as f64),
            ("DescribeServices", per(s.n, 10)),
            ("RegisterScalableTarget", s.policies as f64),
            ("PutScalingPolicy", s.policies as f64),
        ],
        &[
            "CreateCluster",
            "CreateService",
            "DescribeServices",
            "RegisterScalableTarget",
            "PutScalingPolicy",
        ],
    )
}

/// One resync of one kind with nothing changed: drift detection needs reads, at each API's largest
/// batch: DescribeClusters (100 names), DescribeServices (10 names per cluster), ListTaskDefinitions (100
/// ARNs a page; a registered revision is immutable, so deregistration is the drift that matters),
/// DescribeScalableTargets (50 resource ids), DescribeScalingPolicies and DescribeScheduledActions (50
/// a page for the namespace).
pub fn resync(s: Shape, kind: &str) -> Floor {
    let aas = |items: usize| {
        if s.policies == 0 {
            0.0
        } else {
            per(items.max(1), 50)
        }
    };
    match kind {
        "EcsCluster" => Floor::new(&[("DescribeClusters", 1.0)], &[]),
        "FargateService" => Floor::new(&[("DescribeServices", per(s.n, 10))], &[]),
        "TaskDefinition" => Floor::new(&[("ListTaskDefinitions", per(s.n, 100))], &[]),
        "ScalingPolicy" => Floor::new(
            &[
                ("DescribeScalableTargets", aas(s.policies)),
                ("DescribeScalingPolicies", aas(s.policies)),
                ("DescribeScheduledActions", aas(0)),
            ],
            &[],
        ),
        _ => Floor::default(),
    }
}

/// Resyncs by kind: `resyncs` of each kind.
pub fn resyncs(s: Shape, resyncs: &BTreeMap<String, u32>) -> Floor {
    resyncs.iter().fold(Floor::default(), |acc, (kind, n)| {
        let mut one = resync(s, kind);
        for v in one.calls.values_mut() {
            *v *= f64::from(*n);
        }
        one.calls.retain(|_, v| *v > 0.0);
        acc.plus(&one)
    })
}

/// One resync of every kind (what a restart re-verifies).
pub fn resync_all(s: Shape) -> Floor {
    kinds()
        .iter()
        .fold(Floor::default(), |acc, k| acc.plus(&resync(s, k)))
}

/// `drifted` services changed behind the controller's back: the resyncs that happen meanwhile (among
/// them the one that sees the drift) and one UpdateService each.
pub fn drift(s: Shape, during: &BTreeMap<String, u32>, drifted: usize) -> Floor {
    let mut f = resyncs(s, during);
    f.calls.insert("UpdateService".into(), drifted as f64);
    f.chain = vec!["DescribeServices".into(), "UpdateService".into()];
    f
}

/// The part of [`drift`] after the resync that sees the drift: the UpdateService calls.
pub fn drift_fix(drifted: usize) -> Floor {
    Floor::new(&[("UpdateService", drifted as f64)], &["UpdateService"])
}

/// Deleting everything at once: DeregisterScalableTarget 1 per ScalingPolicy (AWS deletes the target's
/// policies with it); DeleteService 1 per service (force: no scale to 0 first) and one DescribeServices
/// per 10 to see them INACTIVE; DeregisterTaskDefinition 1 per revision and DeleteTaskDefinitions per 10;
/// DeleteCluster 1.
pub fn delete(s: Shape) -> Floor {
    Floor::new(
        &[
            ("DeregisterScalableTarget", s.policies as f64),
            ("DeleteService", s.n as f64),
            ("DescribeServices", per(s.n, 10)),
            ("DeregisterTaskDefinition", s.n as f64),
            ("DeleteTaskDefinitions", per(s.n, 10)),
            ("DeleteCluster", 1.0),
        ],
        &[
            "DeregisterScalableTarget",
            "DeleteService",
            "DescribeServices",
            "DeleteCluster",
        ],
    )
}

/// One service with its cluster and task definition, created: CreateCluster and RegisterTaskDefinition
/// (at the same time), CreateService, DescribeServices.
pub fn latency_create() -> Floor {
    Floor::new(
        &[
            ("CreateCluster", 1.0),
            ("RegisterTaskDefinition", 1.0),
            ("CreateService", 1.0),
            ("DescribeServices", 1.0),
        ],
        &["CreateCluster", "CreateService", "DescribeServices"],
    )
}

/// The same three deleted: DeleteService, DescribeServices (INACTIVE), DeleteCluster; the task
/// definition's DeregisterTaskDefinition and DeleteTaskDefinitions meanwhile.
pub fn latency_delete() -> Floor {
    Floor::new(
        &[
            ("DeleteService", 1.0),
            ("DescribeServices", 1.0),
            ("DeregisterTaskDefinition", 1.0),
            ("DeleteTaskDefinitions", 1.0),
            ("DeleteCluster", 1.0),
        ],
        &["DeleteService", "DescribeServices", "DeleteCluster"],
    )
}

/// Kubernetes writes an object needs to converge: its finalizer, and one status write saying Ready.
pub const KUBE_WRITES_PER_OBJECT: f64 = 2.0;

/// How often the controller polls running tasks (`POLL` in `controller/src/kinds/task/plan.rs`).
pub const TASK_POLL_SECONDS: f64 = 3.0;
/// States a moto task goes through after RUNNING: DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED
/// (`docs/moto.md`). By default each DescribeTasks moves it one, so it is STOPPED on the fourth.
pub const STATES_TO_STOP: usize = 4;

/// The FargateTask phase: one FargateTask of `completions` tasks, `parallelism` at once, beside
/// `singles` FargateTasks of one task each, on one cluster; `state_seconds` is how long each moto task
/// state lasts (0: moto's default, one state per DescribeTasks).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct TaskShape {
    pub completions: usize,
    pub parallelism: usize,
    pub singles: usize,
    pub state_seconds: u64,
}

impl TaskShape {
    pub fn tasks(&self) -> usize {
        self.completions + self.singles
    }

    pub fn objects(&self) -> usize {
        usize::from(self.completions > 0) + self.singles
    }

    /// Tasks of the big FargateTask launched together in each wave: `parallelism` at a time, the next
    /// wave once a wave has stopped.
    fn waves(&self) -> Vec<usize> {
        let p = self.parallelism.max(1);
        (0..self.completions.div_ceil(p))
            .map(|w| p.min(self.completions - w * p))
            .collect()
    }

    /// Tasks running in each wave: the single-task FargateTasks all run in the first.
    pub fn running_per_wave(&self) -> Vec<usize> {
        let mut waves = self.waves();
        match waves.first_mut() {
            Some(first) => *first += self.singles,
            None if self.singles > 0 => waves.push(self.singles),
            None => {}
        }
        waves
    }

    /// Polls a task needs until it is seen STOPPED: 4 by default (one state per DescribeTasks); with
    /// states of `state_seconds`, a state changes at the first poll more than that after the last change,
    /// so at least ceil(state_seconds / 3) polls per state.
    pub fn polls_per_task(&self) -> usize {
        let per_state = (self.state_seconds as f64 / TASK_POLL_SECONDS).ceil().max(1.0) as usize;
        STATES_TO_STOP * per_state
    }

    /// Polls of the running tasks in the floor: [`polls_per_task`](Self::polls_per_task) per wave.
    pub fn poll_rounds(&self) -> usize {
        self.running_per_wave().len() * self.polls_per_task()
    }

    /// The least time at the controller's 3 s poll: every wave's tasks are seen STOPPED on the last of
    /// its polls after their launch.
    pub fn lifecycle_seconds(&self) -> f64 {
        self.poll_rounds() as f64 * TASK_POLL_SECONDS
    }
}

/// Running the phase's tasks to completion: RunTask 1 per 10 tasks of a wave of the big FargateTask
/// (RunTask starts at most 10 a call) and 1 per single-task FargateTask (one task: nothing to batch);
/// DescribeTasks 1 per 100 running tasks per poll (the controller batches DescribeTasks across the
/// FargateTasks of a cluster), [`TaskShape::polls_per_task`] polls per wave (by default moto stops a task
/// on its fourth DescribeTasks). ListTasks (only to find the tasks of a launch recorded before a restart)
/// and StopTask (the tasks stop by themselves) are not in it. Each wave is a chain: RunTask, then its
/// DescribeTasks polls.
pub fn tasks(t: TaskShape) -> Floor {
    let run = t.waves().iter().map(|w| per(*w, 10)).sum::<f64>() + t.singles as f64;
    let polls = t.polls_per_task();
    let describe: f64 = t
        .running_per_wave()
        .iter()
        .map(|running| polls as f64 * per(*running, 100))
        .sum();
    let mut chain = Vec::new();
    for _ in t.running_per_wave() {
        chain.push("RunTask");
        chain.extend(std::iter::repeat_n("DescribeTasks", polls));
    }
    Floor::new(&[("RunTask", run), ("DescribeTasks", describe)], &chain)
}

/// Kubernetes status writes a FargateTask needs, crash-safe (each launch is recorded in status before
/// its RunTask): one per launch (the write that records a launch also records the tasks of the one
/// before), one for the last launch's tasks and one for Complete. The big FargateTask launches once per
/// 10 tasks; a single-task FargateTask once.
pub fn task_status_writes(t: TaskShape) -> f64 {
    let big = if t.completions > 0 {
        t.waves().iter().map(|w| per(*w, 10)).sum::<f64>() + 2.0
    } else {
        0.0
    };
    big + 3.0 * t.singles as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_floor_counts_waves_and_batches() {
        // N = 2000: parallelism 1000 (two waves), 200 single-task FargateTasks in the first.
        let t = TaskShape {
            completions: 2000,
            parallelism: 1000,
            singles: 200,
            state_seconds: 0,
        };
        assert_eq!(t.running_per_wave(), vec![1200, 1000]);
        let f = tasks(t);
        assert_eq!(f.calls["RunTask"], 200.0 + 200.0);
        assert_eq!(f.calls["DescribeTasks"], 4.0 * 12.0 + 4.0 * 10.0);
        assert_eq!(t.poll_rounds(), 8);
        // N = 100: one wave of 100 and 10 singles.
        let t = TaskShape {
            completions: 100,
            parallelism: 100,
            singles: 10,
            state_seconds: 0,
        };
        let f = tasks(t);
        assert_eq!(f.calls["RunTask"], 10.0 + 10.0);
        assert_eq!(f.calls["DescribeTasks"], 4.0 * 2.0);
        assert_eq!(task_status_writes(t), 12.0 + 30.0);
        assert_eq!(t.lifecycle_seconds(), 12.0);
        // States of 10 s: 4 polls each (at 3, 6, 9, 12 s), 16 polls a task.
        let t = TaskShape {
            state_seconds: 10,
            ..t
        };
        assert_eq!(t.polls_per_task(), 16);
        assert_eq!(tasks(t).calls["DescribeTasks"], 16.0 * 2.0);
        assert_eq!(t.lifecycle_seconds(), 48.0);
    }
}
