//! Prometheus metrics (prometheus-client), process-wide: reconciles by kind and outcome, reconcile
//! duration, AWS calls by service, operation and outcome, Kubernetes API writes by kind and operation,
//! requeues, managed objects per kind and Ready state, and leader status.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, Mutex, PoisonError};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindOutcome {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TaskEventLabel {
    pub event: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsCallLabels {
    pub service: String,
    pub operation: String,
    pub outcome: AwsOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RateLimitLabels {
    /// The token bucket (a group of AWS operations).
    pub bucket: String,
    /// The AWS account (role) and Region it belongs to.
    pub place: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KubeWriteLabels {
    pub kind: String,
    pub operation: KubeWrite,
}

/// A write the controller makes to the Kubernetes API about one of its objects.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum KubeWrite {
    /// A server-side apply of `status`.
    status_patch,
    /// The JSON patch that adds the finalizer.
    finalizer_add,
    /// The JSON patch that removes the finalizer.
    finalizer_remove,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum AwsOutcome {
    success,
    throttled,
    client_error,
    server_error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ManagedLabels {
    pub kind: String,
    /// The `Ready` condition's status: True, False or Unknown.
    pub ready: String,
}

/// Every metric of the controller.
pub struct Metrics {
    registry: Mutex<Registry>,
    pub reconciles: Family<KindOutcome, Counter>,
    pub reconcile_duration: Family<KindLabel, Histogram>,
    pub aws_calls: Family<AwsCallLabels, Counter>,
    /// AWS calls a reconcile made that its kind does not declare (a defect of the declarations).
    pub undeclared_aws_calls: Family<AwsCallLabels, Counter>,
    /// The current rate of each AWS rate-limit bucket, calls per second (lowered on throttling).
    pub aws_rate_limits: Family<RateLimitLabels, Gauge<f64, AtomicU64>>,
    /// Write requests sent to the Kubernetes API (whatever their answer), by kind and operation.
    pub kube_writes: Family<KubeWriteLabels, Counter>,
    pub requeues: Family<KindOutcome, Counter>,
    /// FargateTask's ECS tasks: started, and how each ended.
    pub fargate_tasks: Family<TaskEventLabel, Counter>,
    managed: Family<ManagedLabels, Gauge>,
    pub leader: Gauge,
    /// Ready state per object (kind, uid), from which `managed` is computed.
    objects: Mutex<HashMap<(String, String), String>>,
}

pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Self {
        let m = Self {
            registry: Mutex::new(Registry::with_prefix("ecs_controller")),
            reconciles: Family::default(),
            reconcile_duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 14))
            }),
            aws_calls: Family::default(),
            undeclared_aws_calls: Family::default(),
            aws_rate_limits: Family::default(),
            kube_writes: Family::default(),
            requeues: Family::default(),
            fargate_tasks: Family::default(),
            managed: Family::default(),
            leader: Gauge::default(),
            objects: Mutex::default(),
        };
        {
            let mut r = m.registry.lock().unwrap_or_else(PoisonError::into_inner);
            r.register(
                "reconciles",
                "Reconciles by kind and outcome",
                m.reconciles.clone(),
            );
            r.register(
                "reconcile_duration_seconds",
                "Duration of reconciles by kind",
                m.reconcile_duration.clone(),
            );
            r.register(
                "aws_calls",
                "AWS API calls by service, operation and outcome",
                m.aws_calls.clone(),
            );
            r.register(
                "undeclared_aws_calls",
                "AWS API calls made by a reconcile whose kind does not declare the operation (should stay 0)",
                m.undeclared_aws_calls.clone(),
            );
            r.register(
                "aws_rate_limit_per_second",
                "The current rate of each AWS rate-limit bucket by bucket and account/Region, calls per \
                 second (halved when AWS throttles, climbing back while it does not)",
                m.aws_rate_limits.clone(),
            );
            r.register(
                "kube_writes",
                "Kubernetes API write requests (status patches, finalizer patches) by kind and operation",
                m.kube_writes.clone(),
            );
            r.register("requeues", "Requeues by kind and reason", m.requeues.clone());
            r.register(
                "fargate_tasks",
                "ECS tasks of FargateTasks by event: TaskStarted, TaskSucceeded, TaskFailed, TaskMissing, \
                 TaskFailureIgnored (the failure policy ignores it), LaunchFailed (no capacity)",
                m.fargate_tasks.clone(),
            );
            r.register(
                "managed_objects",
                "Objects managed, by kind and Ready status",
                m.managed.clone(),
            );
            r.register(
                "leader",
                "1 while this replica holds the leader Lease (or runs without leader election)",
                m.leader.clone(),
            );
        }
        m
    }

    pub fn reconciled(&self, kind: &str, outcome: &str, seconds: f64) {
        self.reconciles
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.reconcile_duration
            .get_or_create(&KindLabel { kind: kind.into() })
            .observe(seconds);
    }

    /// One event in the life of a FargateTask's ECS task (started, succeeded, failed...).
    pub fn fargate_task(&self, event: &str) {
        self.fargate_tasks
            .get_or_create(&TaskEventLabel { event: event.into() })
            .inc();
    }

    pub fn requeued(&self, kind: &str, reason: &str) {
        self.requeues
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: reason.into(),
            })
            .inc();
    }

    pub fn aws_call(&self, service: &str, operation: &str, outcome: AwsOutcome) {
        self.aws_calls
            .get_or_create(&AwsCallLabels {
                service: service.into(),
                operation: operation.into(),
                outcome,
            })
            .inc();
    }

    pub fn undeclared_aws_call(&self, service: &str, operation: &str) {
        self.undeclared_aws_calls
            .get_or_create(&AwsCallLabels {
                service: service.into(),
                operation: operation.into(),
                outcome: AwsOutcome::client_error,
            })
            .inc();
    }

    pub fn aws_rate_limit(&self, bucket: &str, place: &str, per_second: f64) {
        self.aws_rate_limits
            .get_or_create(&RateLimitLabels {
                bucket: bucket.into(),
                place: place.into(),
            })
            .set(per_second);
    }

    pub fn kube_write(&self, kind: &str, operation: KubeWrite) {
        self.kube_writes
            .get_or_create(&KubeWriteLabels {
                kind: kind.into(),
                operation,
            })
            .inc();
    }

    /// Records an object's Ready status (`None`: the object is gone).
    pub fn object_state(&self, kind: &str, uid: &str, ready: Option<&str>) {
        let mut objects = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (kind.to_string(), uid.to_string());
        match ready {
            Some(r) => objects.insert(key, r.to_string()),
            None => objects.remove(&key),
        };
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        {
            let objects = self.objects.lock().unwrap_or_else(PoisonError::into_inner);
            self.managed.clear();
            for ((kind, _), ready) in objects.iter() {
                self.managed
                    .get_or_create(&ManagedLabels {
                        kind: kind.clone(),
                        ready: ready.clone(),
                    })
                    .inc();
            }
        }
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_with_labels_and_managed_objects() {
        let m = Metrics::new();
        m.aws_call("ECS", "CreateCluster", AwsOutcome::success);
        m.aws_call("ECS", "CreateCluster", AwsOutcome::throttled);
        m.reconciled("EcsCluster", "ready", 0.02);
        m.kube_write("EcsCluster", KubeWrite::status_patch);
        m.kube_write("EcsCluster", KubeWrite::status_patch);
        m.kube_write("EcsCluster", KubeWrite::finalizer_add);
        m.object_state("EcsCluster", "u1", Some("True"));
        m.object_state("EcsCluster", "u2", Some("True"));
        m.object_state("EcsCluster", "u3", Some("False"));
        m.object_state("EcsCluster", "u3", None);
        let text = m.encode();
        assert!(text.contains(r#"ecs_controller_aws_calls_total{service="ECS",operation="CreateCluster",outcome="success"} 1"#), "{text}");
        assert!(text.contains(r#"outcome="throttled"} 1"#), "{text}");
        assert!(
            text.contains(r#"ecs_controller_reconciles_total{kind="EcsCluster",outcome="ready"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ecs_controller_kube_writes_total{kind="EcsCluster",operation="status_patch"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"ecs_controller_kube_writes_total{kind="EcsCluster",operation="finalizer_add"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"ecs_controller_managed_objects{kind="EcsCluster",ready="True"} 2"#),
            "{text}"
        );
        assert!(!text.contains(r#"ready="False"} 1"#), "{text}");
        assert!(
            text.contains("ecs_controller_reconcile_duration_seconds_bucket"),
            "{text}"
        );
    }
}
