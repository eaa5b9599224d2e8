//! The status condition type shared by every kind, shaped like `metav1.Condition` so `kubectl wait`,
//! kstatus (Flux) and Argo CD read it without help.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types the controller writes.
pub const READY: &str = "Ready";
/// kstatus: the controller is working towards the desired state.
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the controller cannot make progress without a change from the user (terminal error).
pub const STALLED: &str = "Stalled";
/// The rollout of a service is in progress.
pub const PROGRESSING: &str = "Progressing";

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// One observation of the object's state, as in `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// The `metadata.generation` this condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// A CamelCase reason, e.g. `Active`, `DependencyNotReady`, `AwsError`.
    pub reason: String,
    /// A human readable message; AWS errors carry the AWS message.
    #[serde(default)]
    pub message: String,
}

impl Condition {
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_: type_.to_string(),
            status,
            observed_generation: None,
            last_transition_time: String::new(),
            reason: reason.to_string(),
            message: message.into(),
        }
    }
}

/// Finds a condition by type.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Merges freshly computed conditions into the previous ones: a condition whose status did not change
/// keeps its `lastTransitionTime`, so rewriting the same state is a no-op. Types absent from `next` are
/// dropped (a condition the controller no longer asserts must not linger).
pub fn merge(
    previous: &[Condition],
    next: Vec<Condition>,
    generation: Option<i64>,
    now: &str,
) -> Vec<Condition> {
    next.into_iter()
        .map(|mut c| {
            c.observed_generation = generation;
            c.last_transition_time = match find(previous, &c.type_) {
                Some(old) if old.status == c.status && !old.last_transition_time.is_empty() => {
                    old.last_transition_time.clone()
                }
                _ => now.to_string(),
            };
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_transition_time_while_status_holds() {
        let old = vec![Condition {
            last_transition_time: "2026-01-01T00:00:00Z".into(),
            ..Condition::new(READY, ConditionStatus::True, "Active", "ok")
        }];
        let next = vec![Condition::new(READY, ConditionStatus::True, "Active", "still ok")];
        let merged = merge(&old, next, Some(3), "2026-02-02T00:00:00Z");
        assert_eq!(merged[0].last_transition_time, "2026-01-01T00:00:00Z");
        assert_eq!(merged[0].observed_generation, Some(3));
        assert_eq!(merged[0].message, "still ok");
    }

    #[test]
    fn merge_stamps_a_transition() {
        let old = vec![Condition {
            last_transition_time: "2026-01-01T00:00:00Z".into(),
            ..Condition::new(READY, ConditionStatus::Unknown, "Creating", "")
        }];
        let next = vec![
            Condition::new(READY, ConditionStatus::True, "Active", ""),
            Condition::new(STALLED, ConditionStatus::False, "Active", ""),
        ];
        let merged = merge(&old, next, Some(1), "2026-02-02T00:00:00Z");
        assert_eq!(merged[0].last_transition_time, "2026-02-02T00:00:00Z");
        assert_eq!(merged[1].last_transition_time, "2026-02-02T00:00:00Z");
    }
}
