//! Which conditions each outcome writes, following the Kubernetes and kstatus conventions:
//! `Ready` always; `Reconciling=True` while the controller is working towards the spec; `Stalled=True`
//! when it cannot make progress without the user. `Reconciling` and `Stalled` are dropped when false.

use super::State;
use crate::api::conditions::{READY, RECONCILING, STALLED};
use crate::api::{Condition, ConditionStatus};

/// Every condition and Event reason the controller writes, in one place: they are an API (the REASON
/// column, alerts, `kubectl get events --field-selector reason=...`).
pub mod reasons {
    pub const RECONCILING: &str = "Reconciling";
    pub const AWS_ERROR: &str = "AwsError";
    pub const THROTTLED: &str = "Throttled";
    pub const DELETING: &str = "Deleting";
    pub const HAS_DEPENDENTS: &str = "HasDependents";
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    pub const NOT_OWNED: &str = "NotOwned";
    /// The AWS resource must exist (adoption `Adopt`, `ObserveOnly`) and does not.
    pub const NOT_FOUND: &str = "NotFound";
    /// The object's namespace has no usable AWS account mapping.
    pub const NO_AWS_ACCOUNT: &str = "NoAwsAccount";
    /// `ObserveOnly`: the resource exists and is reported, never changed.
    pub const OBSERVED: &str = "Observed";
    /// A setting (region, account) disagrees with the object it refers to.
    pub const REGION_MISMATCH: &str = "RegionMismatch";
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// A task role outside the selecting FargateProfile's `allowedTaskRoleArns`.
    pub const TASK_ROLE_NOT_ALLOWED: &str = "TaskRoleNotAllowed";
    /// The `ecs.kubefargate.dev/fargate-profile` label names a profile that does not select the object.
    pub const PROFILE_MISMATCH: &str = "ProfileMismatch";
    pub const ROLLOUT_FAILED: &str = "RolloutFailed";
    pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";
    pub const ROLLOUT_COMPLETE: &str = "RolloutComplete";
    /// The service's deployment controller is CODE_DEPLOY: CodeDeploy rolls out its task definitions.
    pub const ROLLOUT_BY_CODE_DEPLOY: &str = "RolloutByCodeDeploy";
    /// The service's deployment controller is EXTERNAL: another tool rolls out task sets.
    pub const ROLLOUT_BY_EXTERNAL_CONTROLLER: &str = "RolloutByExternalController";
    /// The AWS resource matches the spec.
    pub const ACTIVE: &str = "Active";
    /// AWS is creating or changing the resource.
    pub const PROVISIONING: &str = "Provisioning";
    pub const CLUSTER_FAILED: &str = "ClusterFailed";
    /// A service is being scaled down and deleted.
    pub const DRAINING: &str = "Draining";
    /// Another object already manages the same AWS resource.
    pub const CONFLICT: &str = "Conflict";
    /// A task-definition revision for the current spec is registered.
    pub const REGISTERED: &str = "Registered";

    // Events: what a reconcile changed in AWS.
    pub const ADOPTED: &str = "Adopted";
    pub const CREATED: &str = "Created";
    pub const UPDATED: &str = "Updated";
    pub const DEREGISTERED: &str = "Deregistered";
    pub const ROLLOUT_STARTED: &str = "RolloutStarted";
    /// Deletion released the object and kept the AWS resource (Retain, ObserveOnly).
    pub const RETAINED: &str = "Retained";
    /// Deletion removed the AWS resource.
    pub const DELETED: &str = "Deleted";
}

/// Before the first AWS call: `Ready=Unknown`, `Reconciling=True`.
pub fn first_visit() -> Vec<Condition> {
    vec![
        Condition::new(
            READY,
            ConditionStatus::Unknown,
            reasons::RECONCILING,
            "the controller has started reconciling",
        ),
        Condition::new(
            RECONCILING,
            ConditionStatus::True,
            reasons::RECONCILING,
            "the controller has started reconciling",
        ),
    ]
}

pub fn for_state(state: &State) -> Vec<Condition> {
    match state {
        State::Ready { reason, message } => vec![Condition::new(
            READY,
            ConditionStatus::True,
            reason,
            message.clone(),
        )],
        State::InProgress { reason, message, .. } | State::Waiting { reason, message, .. } => {
            waiting(reason, message)
        }
        State::Failed { reason, message } => stalled(reason, message),
    }
}

/// Not ready, still working (in progress, waiting for a dependency, deleting, retrying).
pub fn waiting(reason: &str, message: &str) -> Vec<Condition> {
    vec![
        Condition::new(READY, ConditionStatus::False, reason, message),
        Condition::new(RECONCILING, ConditionStatus::True, reason, message),
    ]
}

/// Not ready, and retrying will not help until the spec (or AWS) changes.
pub fn stalled(reason: &str, message: &str) -> Vec<Condition> {
    vec![
        Condition::new(READY, ConditionStatus::False, reason, message),
        Condition::new(STALLED, ConditionStatus::True, reason, message),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ready_drops_reconciling_and_stalled() {
        let c = for_state(&State::Ready {
            reason: "Active",
            message: String::new(),
        });
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].type_.as_str(), c[0].status), (READY, ConditionStatus::True));
    }

    #[test]
    fn in_progress_is_not_ready_and_reconciling() {
        let c = for_state(&State::InProgress {
            reason: "Provisioning",
            message: "m".into(),
            recheck: Duration::ZERO,
        });
        assert_eq!(
            (c[0].type_.as_str(), c[0].status, c[0].reason.as_str()),
            (READY, ConditionStatus::False, "Provisioning")
        );
        assert_eq!(
            (c[1].type_.as_str(), c[1].status),
            (RECONCILING, ConditionStatus::True)
        );
    }

    #[test]
    fn stalled_is_terminal() {
        let c = stalled(reasons::INVALID_SPEC, "bad");
        assert_eq!(
            (c[1].type_.as_str(), c[1].status, c[1].message.as_str()),
            (STALLED, ConditionStatus::True, "bad")
        );
    }
}
