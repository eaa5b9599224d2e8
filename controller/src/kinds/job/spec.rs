//! The Job's own fields (not its pod template): how each maps to the FargateTask run settings, and
//! the ones that have no ECS meaning, refused at their path (never silently dropped).

use super::translate::Refusal;
use crate::api::FargateTaskSpec;
use crate::api::task::{ExitCodeOperator, ExitCodeRule, FailureAction, FailurePolicy, FailurePolicyRule};
use k8s_openapi::api::batch::v1::{JobSpec, PodFailurePolicy};

/// The ECS stop codes of a task stopped by a disruption rather than by its own failure: a Fargate Spot
/// reclaim (`SpotInterruption`) and a task AWS retires for maintenance (`TerminationNotice`). What
/// Kubernetes marks `DisruptionTarget` on a pod (preemption, eviction, a node going away).
const DISRUPTION_STOP_CODES: [&str; 2] = ["SpotInterruption", "TerminationNotice"];

/// The FargateTask settings a Job's spec asks for (the Job API's defaults where it leaves one out), or
/// every field that has no ECS meaning.
pub(crate) fn run_settings(spec: &JobSpec) -> Result<FargateTaskSpec, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let mut refuse = |path: &str, message: &str| {
        refusals.push(Refusal {
            path: path.to_string(),
            message: message.to_string(),
        })
    };
    if spec.completion_mode.as_deref() == Some("Indexed") {
        refuse(
            "spec.completionMode",
            "Indexed: an ECS task has no completion index (JOB_COMPLETION_INDEX, per-index hostnames); \
             use NonIndexed, or one Job per index",
        );
    }
    // The apiserver takes these with Indexed only; named too, so the message lists every field to change.
    if spec.backoff_limit_per_index.is_some() {
        refuse(
            "spec.backoffLimitPerIndex",
            "comes with completionMode Indexed, not run on Fargate",
        );
    }
    if spec.max_failed_indexes.is_some() {
        refuse(
            "spec.maxFailedIndexes",
            "comes with completionMode Indexed, not run on Fargate",
        );
    }
    if spec.success_policy.is_some() {
        refuse(
            "spec.successPolicy",
            "comes with completionMode Indexed, not run on Fargate",
        );
    }
    let failure_policy = match &spec.pod_failure_policy {
        Some(p) => failure_policy(p, &mut refuse),
        None => None,
    };
    if !refusals.is_empty() {
        return Err(refusals);
    }
    Ok(FargateTaskSpec {
        completions: Some(spec.completions.unwrap_or(1)),
        parallelism: Some(spec.parallelism.unwrap_or(1)),
        // The Job API's default backoffLimit is 6.
        backoff_limit: Some(spec.backoff_limit.unwrap_or(6)),
        active_deadline_seconds: spec.active_deadline_seconds,
        suspend: spec.suspend,
        failure_policy,
        ..Default::default()
    })
}

/// A podFailurePolicy as a FargateTask failure policy: actions FailJob -> FailTask, Ignore, Count;
/// `onExitCodes` as they are; `onPodConditions` of type `DisruptionTarget` as the ECS stop codes of a
/// disruption. Anything else (FailIndex, other condition types) is refused at its path.
fn failure_policy(p: &PodFailurePolicy, refuse: &mut impl FnMut(&str, &str)) -> Option<FailurePolicy> {
    let mut rules = Vec::new();
    for (i, r) in p.rules.iter().enumerate() {
        let at = format!("spec.podFailurePolicy.rules[{i}]");
        let action = match r.action.as_str() {
            "FailJob" => FailureAction::FailTask,
            "Ignore" => FailureAction::Ignore,
            "Count" => FailureAction::Count,
            other => {
                refuse(
                    &format!("{at}.action"),
                    &format!("{other}: FailIndex comes with completionMode Indexed, not run on Fargate"),
                );
                continue;
            }
        };
        let on_exit_codes = r.on_exit_codes.as_ref().and_then(|codes| {
            let operator = match codes.operator.as_str() {
                "In" => ExitCodeOperator::In,
                "NotIn" => ExitCodeOperator::NotIn,
                other => {
                    refuse(
                        &format!("{at}.onExitCodes.operator"),
                        &format!("{other}: In or NotIn"),
                    );
                    return None;
                }
            };
            Some(ExitCodeRule {
                container_name: codes.container_name.clone(),
                operator,
                values: codes.values.clone(),
            })
        });
        let mut on_stop_codes = None;
        for (j, c) in r.on_pod_conditions.iter().flatten().enumerate() {
            match (c.type_.as_str(), c.status.as_deref().unwrap_or("True")) {
                ("DisruptionTarget", "True") => {
                    on_stop_codes = Some(DISRUPTION_STOP_CODES.iter().map(|s| s.to_string()).collect());
                }
                (type_, status) => refuse(
                    &format!("{at}.onPodConditions[{j}]"),
                    &format!(
                        "{type_}={status}: a task has no pod conditions; only DisruptionTarget=True maps \
                         (to the ECS stop codes {})",
                        DISRUPTION_STOP_CODES.join(", ")
                    ),
                ),
            }
        }
        if on_exit_codes.is_some() || on_stop_codes.is_some() {
            rules.push(FailurePolicyRule {
                action,
                on_stop_codes,
                on_exit_codes,
            });
        }
    }
    (!rules.is_empty()).then_some(FailurePolicy { rules })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn spec(v: Value) -> JobSpec {
        let mut base = json!({"template": {}});
        if let (Some(b), Some(e)) = (base.as_object_mut(), v.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(base).expect("a JobSpec")
    }

    fn refused(v: Value) -> Vec<String> {
        match run_settings(&spec(v)) {
            Ok(s) => panic!("accepted: {s:?}"),
            Err(r) => r.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_job_apis_defaults_apply_where_the_spec_is_silent() {
        let s = run_settings(&spec(json!({}))).expect("accepted");
        assert_eq!(
            (
                s.completions,
                s.parallelism,
                s.backoff_limit,
                s.active_deadline_seconds,
                s.suspend
            ),
            (Some(1), Some(1), Some(6), None, None)
        );
        assert_eq!(s.failure_policy, None);
        let s = run_settings(&spec(
            json!({"completions": 5, "parallelism": 2, "backoffLimit": 0,
            "activeDeadlineSeconds": 60, "suspend": true, "completionMode": "NonIndexed",
            "podReplacementPolicy": "Failed", "ttlSecondsAfterFinished": 10}),
        ))
        .expect("accepted");
        assert_eq!(
            (
                s.completions,
                s.parallelism,
                s.backoff_limit,
                s.active_deadline_seconds,
                s.suspend
            ),
            (Some(5), Some(2), Some(0), Some(60), Some(true))
        );
    }

    #[test]
    fn indexed_jobs_and_their_fields_are_refused_at_their_paths() {
        let r = refused(
            json!({"completionMode": "Indexed", "completions": 3, "backoffLimitPerIndex": 1,
            "maxFailedIndexes": 1, "successPolicy": {"rules": [{"succeededCount": 1}]}}),
        );
        for path in [
            "spec.completionMode: Indexed",
            "spec.backoffLimitPerIndex:",
            "spec.maxFailedIndexes:",
            "spec.successPolicy:",
        ] {
            assert!(r.iter().any(|m| m.starts_with(path)), "{path} in {r:?}");
        }
    }

    #[test]
    fn exit_code_rules_map_as_they_are_and_disruption_to_the_ecs_stop_codes() {
        let s = run_settings(&spec(json!({"podFailurePolicy": {"rules": [
            {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [0, 1]}}
        ]}})))
        .expect("accepted");
        let rules = s.failure_policy.expect("a policy").rules;
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].action, FailureAction::FailTask);
        let codes = rules[0].on_exit_codes.as_ref().expect("exit codes");
        assert_eq!(
            (
                codes.container_name.as_deref(),
                codes.operator,
                codes.values.clone()
            ),
            (Some("main"), ExitCodeOperator::In, vec![42])
        );
        assert_eq!(rules[1].action, FailureAction::Ignore);
        assert_eq!(
            rules[1].on_stop_codes.as_deref(),
            Some(&["SpotInterruption".to_string(), "TerminationNotice".to_string()][..])
        );
        assert_eq!(rules[1].on_exit_codes, None);
        assert_eq!(
            (
                rules[2].action,
                rules[2].on_exit_codes.as_ref().map(|c| c.operator)
            ),
            (FailureAction::Count, Some(ExitCodeOperator::NotIn))
        );
    }

    #[test]
    fn rules_without_an_ecs_meaning_are_refused_never_dropped() {
        let r = refused(json!({"podFailurePolicy": {"rules": [
            {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [1]}},
            {"action": "Ignore", "onPodConditions": [{"type": "ConfigIssue"}]},
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "False"}]}
        ]}}));
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(
            r[0].starts_with("spec.podFailurePolicy.rules[0].action: FailIndex"),
            "{r:?}"
        );
        assert!(
            r[1].starts_with("spec.podFailurePolicy.rules[1].onPodConditions[0]: ConfigIssue=True"),
            "{r:?}"
        );
        assert!(
            r[2].starts_with("spec.podFailurePolicy.rules[2].onPodConditions[0]: DisruptionTarget=False"),
            "{r:?}"
        );
    }
}
