//! The Job status mapping, one test per rule of docs/jobs-status.md: each transition, each reason, and
//! that a computed status is a fixed point (computing it again from itself changes nothing).

use super::*;
use std::time::Duration;

/// 2026-01-01T00:00:00Z: every time of these tests is a whole number of seconds after it.
const T0: u64 = 1_767_225_600;
const T0_RFC3339: &str = "2026-01-01T00:00:00Z";

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn time(secs: u64) -> Time {
    Time(whole_seconds(at(secs)))
}

fn running(active: i32, ready: i32) -> Run {
    Run {
        start_time: Some(T0_RFC3339.into()),
        active,
        ready,
        ..Run::default()
    }
}

fn failed(reason: &str) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        message: format!("because {reason}"),
    }
}

fn condition<'a>(s: &'a JobStatus, type_: &str) -> Option<&'a JobCondition> {
    s.conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|c| c.type_ == type_)
}

fn types(s: &JobStatus) -> Vec<&str> {
    s.conditions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| c.type_.as_str())
        .collect()
}

/// `job_status` from `current` at `now`, checked to be a fixed point one minute later.
fn next(current: Option<&JobStatus>, run: &Run, now: u64) -> JobStatus {
    let s = job_status(current, run, at(now));
    assert_eq!(
        job_status(Some(&s), run, at(now + 60)),
        s,
        "not a fixed point for {run:?}"
    );
    s
}

// ---- Counters ---------------------------------------------------------------------------------------

#[test]
fn a_running_job_reports_its_counters_and_start_time_and_no_condition() {
    let run = Run {
        succeeded: 1,
        failed: 2,
        terminating: 1,
        ..running(3, 2)
    };
    let s = next(None, &run, 5);
    assert_eq!(s.start_time, Some(time(0)));
    assert_eq!((s.active, s.ready, s.terminating), (Some(3), Some(2), Some(1)));
    assert_eq!((s.succeeded, s.failed), (Some(1), Some(2)));
    assert_eq!(s.conditions, None);
    assert_eq!(s.completion_time, None);
    assert!(!is_finished(Some(&s)));
}

#[test]
fn negative_counts_are_written_as_zero() {
    let run = Run {
        terminating: -1,
        succeeded: -2,
        failed: -3,
        ..running(-4, -5)
    };
    let s = next(None, &run, 5);
    assert_eq!((s.active, s.ready, s.terminating), (None, Some(0), Some(0)));
    assert_eq!((s.succeeded, s.failed), (None, None));
}

#[test]
fn failed_and_succeeded_never_go_below_the_current_status() {
    let before = next(
        None,
        &Run {
            succeeded: 3,
            failed: 2,
            ..running(1, 1)
        },
        5,
    );
    let s = next(
        Some(&before),
        &Run {
            succeeded: 1,
            failed: 0,
            ..running(1, 1)
        },
        10,
    );
    assert_eq!((s.succeeded, s.failed), (Some(3), Some(2)));
    let s = next(
        Some(&s),
        &Run {
            succeeded: 4,
            failed: 5,
            ..running(1, 1)
        },
        15,
    );
    assert_eq!((s.succeeded, s.failed), (Some(4), Some(5)));
}

#[test]
fn ready_is_never_more_than_active() {
    let s = next(None, &running(1, 3), 5);
    assert_eq!((s.active, s.ready), (Some(1), Some(1)));
}

#[test]
fn zero_active_succeeded_and_failed_are_written_absent_as_the_apiserver_returns_them() {
    let s = next(None, &running(0, 0), 5);
    let json = serde_json::to_value(&s).expect("serializes");
    assert_eq!(json.get("active"), None);
    assert_eq!(json.get("succeeded"), None);
    assert_eq!(json.get("failed"), None);
    assert_eq!(json.get("ready"), Some(&serde_json::json!(0)));
    assert_eq!(json.get("terminating"), Some(&serde_json::json!(0)));
    let back: JobStatus = serde_json::from_value(json).expect("parses");
    assert_eq!(back, s);
}

// ---- startTime --------------------------------------------------------------------------------------

#[test]
fn start_time_is_absent_until_the_run_has_one() {
    let s = next(None, &Run::default(), 5);
    assert_eq!(s.start_time, None);
}

#[test]
fn start_time_is_never_moved_once_set() {
    let before = next(None, &running(1, 0), 5);
    let later = Run {
        start_time: Some("2026-01-01T00:10:00Z".into()),
        ..running(1, 1)
    };
    assert_eq!(next(Some(&before), &later, 700).start_time, Some(time(0)));
    let none = Run {
        start_time: None,
        ..running(1, 1)
    };
    assert_eq!(next(Some(&before), &none, 700).start_time, Some(time(0)));
}

#[test]
fn start_time_is_truncated_to_whole_seconds() {
    let run = Run {
        start_time: Some("2026-01-01T00:00:00.750Z".into()),
        ..running(1, 0)
    };
    assert_eq!(next(None, &run, 5).start_time, Some(time(0)));
}

#[test]
fn a_job_finishing_without_a_start_time_gets_now_as_its_start_time() {
    let run = Run {
        start_time: Some("not a time".into()),
        outcome: Some(Outcome::Succeeded),
        ..Run::default()
    };
    let s = next(None, &run, 7);
    assert_eq!(s.start_time, Some(time(7)));
    assert_eq!(s.completion_time, Some(time(7)));
    let run = Run {
        start_time: None,
        ..run
    };
    assert_eq!(next(None, &run, 7).start_time, Some(time(7)));
}

#[test]
fn an_unfinished_job_without_a_start_time_gets_none() {
    let run = Run {
        outcome: Some(failed(reasons::DEADLINE_EXCEEDED)),
        terminating: 1,
        ..Run::default()
    };
    assert_eq!(next(None, &run, 7).start_time, None);
}

// ---- Success ----------------------------------------------------------------------------------------

#[test]
fn success_with_tasks_active_writes_success_criteria_met_only() {
    let run = Run {
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(1, 1)
    };
    let s = next(None, &run, 30);
    assert_eq!(types(&s), [SUCCESS_CRITERIA_MET]);
    let c = condition(&s, SUCCESS_CRITERIA_MET).expect("SuccessCriteriaMet");
    assert_eq!(c.status, "True");
    assert_eq!(c.reason.as_deref(), Some(reasons::COMPLETIONS_REACHED));
    assert_eq!(c.message.as_deref(), Some(COMPLETIONS_REACHED_MESSAGE));
    assert_eq!(c.last_transition_time, Some(time(30)));
    assert_eq!(s.completion_time, None);
    assert!(!is_finished(Some(&s)));
}

#[test]
fn success_with_tasks_terminating_writes_success_criteria_met_only() {
    let run = Run {
        succeeded: 1,
        terminating: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(0, 0)
    };
    let s = next(None, &run, 30);
    assert_eq!(types(&s), [SUCCESS_CRITERIA_MET]);
    assert_eq!(s.terminating, Some(1));
    assert_eq!(s.completion_time, None);
}

#[test]
fn success_completes_once_nothing_is_active_or_terminating() {
    let stopping = Run {
        succeeded: 1,
        terminating: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(0, 0)
    };
    let before = next(None, &stopping, 30);
    let done = Run {
        succeeded: 2,
        terminating: 0,
        ..stopping
    };
    let s = next(Some(&before), &done, 40);
    assert_eq!(types(&s), [SUCCESS_CRITERIA_MET, COMPLETE]);
    let met = condition(&s, SUCCESS_CRITERIA_MET).expect("SuccessCriteriaMet");
    assert_eq!(
        met.last_transition_time,
        Some(time(30)),
        "unchanged condition keeps its time"
    );
    let complete = condition(&s, COMPLETE).expect("Complete");
    assert_eq!(
        (complete.reason.as_ref(), complete.message.as_ref()),
        (met.reason.as_ref(), met.message.as_ref())
    );
    assert_eq!(complete.last_transition_time, Some(time(40)));
    assert_eq!(s.completion_time, Some(time(40)));
    assert_eq!(
        (s.active, s.ready, s.terminating, s.succeeded),
        (None, Some(0), Some(0), Some(2))
    );
    assert!(is_finished(Some(&s)));
}

#[test]
fn success_with_nothing_active_writes_both_conditions_and_completion_time_at_once() {
    let run = Run {
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(0, 0)
    };
    let s = next(None, &run, 30);
    assert_eq!(types(&s), [SUCCESS_CRITERIA_MET, COMPLETE]);
    assert_eq!(s.start_time, Some(time(0)));
    assert_eq!(s.completion_time, Some(time(30)));
}

#[test]
fn completion_time_is_never_before_start_time() {
    let run = Run {
        start_time: Some("2026-01-01T00:01:40Z".into()),
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(0, 0)
    };
    let s = next(None, &run, 30);
    assert_eq!(s.start_time, Some(time(100)));
    assert_eq!(s.completion_time, Some(time(100)));
}

// ---- Failure ----------------------------------------------------------------------------------------

#[test]
fn failure_with_tasks_terminating_writes_failure_target_only_for_each_reason() {
    for reason in [
        reasons::BACKOFF_LIMIT_EXCEEDED,
        reasons::DEADLINE_EXCEEDED,
        reasons::POD_FAILURE_POLICY,
    ] {
        let run = Run {
            failed: 1,
            terminating: 1,
            outcome: Some(failed(reason)),
            ..running(0, 0)
        };
        let s = next(None, &run, 30);
        assert_eq!(types(&s), [FAILURE_TARGET], "{reason}");
        let c = condition(&s, FAILURE_TARGET).expect("FailureTarget");
        assert_eq!(c.reason.as_deref(), Some(reason));
        assert_eq!(c.message, Some(format!("because {reason}")));
        assert_eq!(s.completion_time, None);
        assert!(!is_finished(Some(&s)));
    }
}

#[test]
fn failure_with_tasks_active_writes_failure_target_only() {
    let run = Run {
        outcome: Some(failed(reasons::DEADLINE_EXCEEDED)),
        ..running(2, 2)
    };
    let s = next(None, &run, 30);
    assert_eq!(types(&s), [FAILURE_TARGET]);
    assert_eq!((s.active, s.ready), (Some(2), Some(2)));
}

#[test]
fn failure_fails_once_nothing_is_terminating_with_the_failure_targets_reason_and_no_completion_time() {
    for reason in [
        reasons::BACKOFF_LIMIT_EXCEEDED,
        reasons::DEADLINE_EXCEEDED,
        reasons::POD_FAILURE_POLICY,
    ] {
        let stopping = Run {
            failed: 1,
            terminating: 1,
            outcome: Some(failed(reason)),
            ..running(0, 0)
        };
        let before = next(None, &stopping, 30);
        let s = next(
            Some(&before),
            &Run {
                terminating: 0,
                ..stopping
            },
            40,
        );
        assert_eq!(types(&s), [FAILURE_TARGET, FAILED], "{reason}");
        let target = condition(&s, FAILURE_TARGET).expect("FailureTarget");
        assert_eq!(target.last_transition_time, Some(time(30)));
        let f = condition(&s, FAILED).expect("Failed");
        assert_eq!(
            (f.reason.as_deref(), f.message.as_ref()),
            (Some(reason), target.message.as_ref())
        );
        assert_eq!(f.last_transition_time, Some(time(40)));
        assert_eq!(s.completion_time, None);
        assert!(is_finished(Some(&s)));
    }
}

#[test]
fn failure_with_nothing_active_writes_both_conditions_at_once() {
    let run = Run {
        failed: 4,
        outcome: Some(failed(reasons::BACKOFF_LIMIT_EXCEEDED)),
        ..running(0, 0)
    };
    let s = next(None, &run, 30);
    assert_eq!(types(&s), [FAILURE_TARGET, FAILED]);
    assert_eq!(s.completion_time, None);
    assert_eq!(s.start_time, Some(time(0)));
}

// ---- The first recorded outcome wins, conditions are only added ------------------------------------

#[test]
fn a_recorded_success_is_not_turned_into_a_failure() {
    let run = Run {
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(1, 1)
    };
    let before = next(None, &run, 30);
    let late_failure = Run {
        failed: 1,
        outcome: Some(failed(reasons::DEADLINE_EXCEEDED)),
        ..running(0, 0)
    };
    let s = next(Some(&before), &late_failure, 40);
    assert_eq!(types(&s), [SUCCESS_CRITERIA_MET, COMPLETE]);
    assert_eq!(s.completion_time, Some(time(40)));
}

#[test]
fn a_recorded_failure_is_not_turned_into_a_success() {
    let run = Run {
        terminating: 1,
        outcome: Some(failed(reasons::POD_FAILURE_POLICY)),
        ..running(0, 0)
    };
    let before = next(None, &run, 30);
    let late_success = Run {
        succeeded: 1,
        outcome: Some(Outcome::Succeeded),
        ..running(0, 0)
    };
    let s = next(Some(&before), &late_success, 40);
    assert_eq!(types(&s), [FAILURE_TARGET, FAILED]);
    let f = condition(&s, FAILED).expect("Failed");
    assert_eq!(f.reason.as_deref(), Some(reasons::POD_FAILURE_POLICY));
    assert_eq!(s.completion_time, None);
}

#[test]
fn a_recorded_outcome_stays_when_the_run_has_none() {
    let run = Run {
        terminating: 1,
        outcome: Some(failed(reasons::DEADLINE_EXCEEDED)),
        ..running(0, 0)
    };
    let before = next(None, &run, 30);
    let s = next(
        Some(&before),
        &Run {
            terminating: 1,
            outcome: None,
            ..run.clone()
        },
        40,
    );
    assert_eq!(s, before);
    let s = next(
        Some(&before),
        &Run {
            terminating: 0,
            outcome: None,
            ..run
        },
        50,
    );
    assert_eq!(types(&s), [FAILURE_TARGET, FAILED]);
}

#[test]
fn other_conditions_are_kept_and_a_false_one_becomes_true_in_place() {
    let suspended = JobCondition {
        type_: "Suspended".into(),
        status: "False".into(),
        reason: Some("JobResumed".into()),
        ..JobCondition::default()
    };
    let target = JobCondition {
        type_: FAILURE_TARGET.into(),
        status: "False".into(),
        ..JobCondition::default()
    };
    let current = JobStatus {
        conditions: Some(vec![suspended.clone(), target]),
        ..JobStatus::default()
    };
    let run = Run {
        terminating: 1,
        outcome: Some(failed(reasons::BACKOFF_LIMIT_EXCEEDED)),
        ..running(0, 0)
    };
    let s = next(Some(&current), &run, 30);
    assert_eq!(types(&s), ["Suspended", FAILURE_TARGET]);
    assert_eq!(condition(&s, "Suspended"), Some(&suspended));
    let c = condition(&s, FAILURE_TARGET).expect("FailureTarget");
    assert_eq!(
        (c.status.as_str(), c.last_transition_time.clone()),
        ("True", Some(time(30)))
    );
}

// ---- Finished ---------------------------------------------------------------------------------------

#[test]
fn a_finished_jobs_status_is_never_changed() {
    let done = next(
        None,
        &Run {
            succeeded: 2,
            outcome: Some(Outcome::Succeeded),
            ..running(0, 0)
        },
        30,
    );
    let failed_done = next(
        None,
        &Run {
            failed: 4,
            outcome: Some(failed(reasons::BACKOFF_LIMIT_EXCEEDED)),
            ..running(0, 0)
        },
        30,
    );
    let anything = Run {
        start_time: None,
        succeeded: 0,
        failed: 9,
        terminating: 3,
        outcome: None,
        ..running(5, 5)
    };
    assert_eq!(job_status(Some(&done), &anything, at(99)), done);
    assert_eq!(job_status(Some(&failed_done), &anything, at(99)), failed_done);
}

#[test]
fn is_finished_means_complete_or_failed_true() {
    let with = |type_: &str, status: &str| JobStatus {
        conditions: Some(vec![JobCondition {
            type_: type_.into(),
            status: status.into(),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    };
    assert!(!is_finished(None));
    assert!(!is_finished(Some(&JobStatus::default())));
    assert!(is_finished(Some(&with(COMPLETE, "True"))));
    assert!(is_finished(Some(&with(FAILED, "True"))));
    assert!(!is_finished(Some(&with(FAILED, "False"))));
    assert!(!is_finished(Some(&with(SUCCESS_CRITERIA_MET, "True"))));
    assert!(!is_finished(Some(&with(FAILURE_TARGET, "True"))));
}

#[test]
fn the_same_run_again_changes_nothing_at_any_step() {
    // Parallelism 2: both running, one done, SuccessCriteriaMet while the other stops, Complete.
    let steps = [
        running(2, 0),
        running(2, 2),
        Run {
            succeeded: 1,
            ..running(1, 1)
        },
        Run {
            succeeded: 1,
            terminating: 1,
            outcome: Some(Outcome::Succeeded),
            ..running(0, 0)
        },
        Run {
            succeeded: 1,
            outcome: Some(Outcome::Succeeded),
            ..running(0, 0)
        },
    ];
    let mut current: Option<JobStatus> = None;
    for (i, run) in steps.iter().enumerate() {
        let s = next(current.as_ref(), run, 10 * i as u64);
        if let Some(before) = &current {
            assert_ne!(&s, before, "step {i} changes the status");
        }
        current = Some(s);
    }
    assert!(is_finished(current.as_ref()));
}
