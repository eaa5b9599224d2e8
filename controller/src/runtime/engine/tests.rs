//! Unit tests of the engine every kind shares, without a cluster or AWS: each test reconciles a test-only
//! kind whose `apply` and `cleanup` return scripted outcomes, against a mocked API server that checks
//! the exact requests (finalizer patches, status writes, Events) in order. See `fixtures.rs`.

use super::fixtures::{Expect, Harness, Sent, WRITTEN_VERSION, Widget, WidgetStatus, requeue_after};
use crate::api::conditions::{READY, RECONCILING, STALLED};
use crate::api::{DELETION_POLICY_ANNOTATION, DeletionPolicy, FINALIZER, ManagementPolicy};
use crate::aws::OFFLINE_ACCOUNT;
use crate::aws::{AwsError, ErrorKind};
use crate::runtime::conditions::{self, reasons};
use crate::runtime::{Applied, Cleanup, Error, Note, State, requeue, runner, status};
use kube::Resource;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// A scripted `apply` that finds AWS as the spec wants it.
fn ready(status: WidgetStatus) -> Result<Applied<WidgetStatus>, Error> {
    Ok(Applied::new(
        status,
        State::Ready {
            reason: reasons::ACTIVE,
            message: "the widget matches the spec".into(),
        },
    ))
}

/// A status as the engine writes it for `conditions` at `generation`.
fn stamped(conditions: Vec<crate::api::Condition>, generation: i64) -> WidgetStatus {
    let mut s = WidgetStatus::default();
    status::stamp(&mut s, conditions, Some(generation), None);
    s
}

/// The status of a Ready object at generation 1, in the offline clients' account.
fn ready_status() -> WidgetStatus {
    let mut s = stamped(
        conditions::for_state(&State::Ready {
            reason: reasons::ACTIVE,
            message: "the widget matches the spec".into(),
        }),
        1,
    );
    s.account_id = Some(OFFLINE_ACCOUNT.into());
    s
}

fn aws_error(kind: ErrorKind, code: &str) -> Error {
    Error::Aws(AwsError {
        service: "ECS",
        operation: "DescribeClusters",
        kind,
        code: Some(code.into()),
        message: format!("{code} from AWS"),
        request_id: Some("req-1".into()),
    })
}

/// The status a status patch wrote (checking that it is a server-side apply under our field manager).
fn written_status(sent: &Sent) -> WidgetStatus {
    assert_eq!(sent.content_type, "application/apply-patch+yaml", "{sent}");
    assert!(sent.query.contains("fieldManager=ecs-controller"), "{sent}");
    assert!(sent.query.contains("force=true"), "{sent}");
    assert_eq!(sent.body["apiVersion"], "test.kubefargate.dev/v1", "{sent}");
    assert_eq!(sent.body["kind"], "Widget", "{sent}");
    serde_json::from_value(sent.body["status"].clone()).expect("a WidgetStatus")
}

/// `(status, reason, message)` of one condition, `None` when absent.
fn condition(s: &WidgetStatus, type_: &str) -> Option<(String, String, String)> {
    crate::api::conditions::find(&s.conditions, type_)
        .map(|c| (format!("{:?}", c.status), c.reason.clone(), c.message.clone()))
}

fn condition_status(s: &WidgetStatus, type_: &str) -> Option<(String, String)> {
    condition(s, type_).map(|(status, reason, _)| (status, reason))
}

fn some(status: &str, reason: &str) -> Option<(String, String)> {
    Some((status.to_string(), reason.to_string()))
}

/// `(type, reason, note)` of a published Event, checking that it is about the test's object.
fn event(sent: &Sent) -> (String, String, String) {
    let e = &sent.body;
    assert_eq!(e["regarding"]["kind"], "Widget", "{sent}");
    assert_eq!(e["regarding"]["name"], "w", "{sent}");
    assert_eq!(e["regarding"]["namespace"], "ns", "{sent}");
    assert_eq!(e["reportingController"], "ecs-controller", "{sent}");
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (text(&e["type"]), text(&e["reason"]), text(&e["note"]))
}

#[tokio::test]
async fn the_first_visit_adds_the_finalizer_and_writes_ready_unknown_without_calling_apply() {
    let h = Harness::new("first-visit");
    let obj = h.widget().with_generation(3);

    let (result, sent) = h
        .run(&obj, [Expect::finalizer_patch(), Expect::status_patch()])
        .await;

    assert_eq!(result.expect("first visit"), Action::await_change());
    assert_eq!(sent[0].content_type, "application/json-patch+json");
    assert_eq!(
        sent[0].body,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ])
    );
    let status = written_status(&sent[1]);
    assert_eq!(
        condition_status(&status, READY),
        some("Unknown", reasons::RECONCILING)
    );
    assert_eq!(
        condition_status(&status, RECONCILING),
        some("True", reasons::RECONCILING)
    );
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(h.script.applied(), 0, "the AWS work waits for the next reconcile");
}

#[tokio::test]
async fn the_first_visit_keeps_the_finalizers_of_others() {
    let h = Harness::new("first-visit-others");
    let mut obj = h.widget();
    obj.meta_mut().finalizers = Some(vec!["example.com/other".into()]);

    let (result, sent) = h
        .run(&obj, [Expect::finalizer_patch(), Expect::status_patch()])
        .await;

    assert_eq!(result.expect("first visit"), Action::await_change());
    assert_eq!(
        sent[0].body,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": ["example.com/other"]},
            {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
        ])
    );
}

#[tokio::test]
async fn a_ready_apply_writes_ready_true_with_the_generation_and_publishes_one_event() {
    let h = Harness::new("ready");
    let obj = h
        .widget()
        .finalized()
        .with_generation(2)
        .with_status(stamped(conditions::first_visit(), 1));
    h.script.on_apply(ready);

    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    assert_eq!(result.expect("ready"), Action::await_change());
    assert_eq!(h.script.applied(), 1);
    let status = written_status(&sent[0]);
    assert_eq!(
        condition(&status, READY),
        Some((
            "True".into(),
            reasons::ACTIVE.into(),
            "the widget matches the spec".into()
        ))
    );
    assert_eq!(condition(&status, RECONCILING), None, "Reconciling is dropped");
    assert_eq!(status.observed_generation, Some(2));
    assert!(status.conditions.iter().all(|c| c.observed_generation == Some(2)));
    assert_eq!(
        event(&sent[1]),
        (
            "Normal".into(),
            reasons::ACTIVE.into(),
            "the widget matches the spec".into()
        )
    );
}

#[tokio::test]
async fn the_same_ready_apply_again_writes_nothing_and_publishes_nothing() {
    let h = Harness::new("unchanged");
    let obj = h
        .widget()
        .finalized()
        .with_status(stamped(conditions::first_visit(), 1));
    h.script.on_apply(ready);
    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;
    result.expect("ready");

    // The watch brings the object back with the status just written; a resync reconciles it again.
    let obj = obj.with_status(written_status(&sent[0]));
    h.script.on_apply(ready);
    let (result, sent) = h.run(&obj, []).await;

    assert_eq!(result.expect("ready again"), Action::await_change());
    assert!(sent.is_empty());
    assert_eq!(h.script.applied(), 2, "a resync still compares with AWS");
}

#[tokio::test]
async fn a_note_from_apply_publishes_a_normal_event() {
    let h = Harness::new("note");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script
        .on_apply(|status| Ok(ready(status)?.with_notes(vec![Note::new(reasons::UPDATED, "tags updated")])));

    // The status is unchanged: the note is the only request.
    let (result, sent) = h.run(&obj, [Expect::event()]).await;

    assert_eq!(result.expect("ready"), Action::await_change());
    assert_eq!(
        event(&sent[0]),
        ("Normal".into(), reasons::UPDATED.into(), "tags updated".into())
    );
}

#[tokio::test]
async fn notes_are_published_before_the_ready_transition() {
    let h = Harness::new("note-and-transition");
    let obj = h
        .widget()
        .finalized()
        .with_status(stamped(conditions::first_visit(), 1));
    h.script.on_apply(|status| {
        Ok(ready(status)?.with_notes(vec![Note::new(reasons::CREATED, "created the widget")]))
    });

    let (result, sent) = h
        .run(&obj, [Expect::status_patch(), Expect::event(), Expect::event()])
        .await;

    result.expect("ready");
    assert_eq!(event(&sent[1]).1, reasons::CREATED);
    assert_eq!(event(&sent[2]).1, reasons::ACTIVE);
}

#[tokio::test]
async fn an_in_progress_apply_requeues_after_its_recheck() {
    let h = Harness::new("in-progress");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script.on_apply(|status| {
        Ok(Applied::new(
            status,
            State::InProgress {
                reason: reasons::PROVISIONING,
                message: "AWS is provisioning the widget".into(),
                recheck: Duration::from_secs(7),
            },
        ))
    });

    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    assert_eq!(
        result.expect("in progress"),
        Action::requeue(Duration::from_secs(7))
    );
    let status = written_status(&sent[0]);
    assert_eq!(
        condition_status(&status, READY),
        some("False", reasons::PROVISIONING)
    );
    assert_eq!(
        condition_status(&status, RECONCILING),
        some("True", reasons::PROVISIONING)
    );
    assert_eq!(event(&sent[1]).0, "Normal", "converging is no warning");
}

#[tokio::test]
async fn deletion_with_the_default_policy_calls_cleanup_and_removes_the_finalizer_once_done() {
    let h = Harness::new("delete");
    let mut obj = h.widget();
    obj.meta_mut().finalizers = Some(vec!["example.com/other".into()]);
    let obj = obj.finalized().with_status(ready_status()).deleting();
    h.script.on_cleanup(Ok(Cleanup::Done));

    let (result, sent) = h.run(&obj, [Expect::finalizer_patch(), Expect::event()]).await;

    assert_eq!(result.expect("deleted"), Action::await_change());
    assert_eq!(h.script.cleaned(), 1);
    assert_eq!(h.script.applied(), 0);
    assert_eq!(sent[0].content_type, "application/json-patch+json");
    assert_eq!(
        sent[0].body,
        json!([
            {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/1"},
        ]),
        "only our finalizer goes, and only if it is still where we saw it"
    );
    assert_eq!(
        event(&sent[1]),
        (
            "Normal".into(),
            reasons::DELETED.into(),
            "removed from AWS; the object can go".into()
        )
    );
}

#[tokio::test]
async fn a_finalizer_already_gone_on_removal_still_completes_the_deletion() {
    let h = Harness::new("delete-gone");
    let obj = h.widget().finalized().with_status(ready_status()).deleting();
    h.script.on_cleanup(Ok(Cleanup::Done));

    let (result, sent) = h
        .run(&obj, [Expect::finalizer_patch().failing(404), Expect::event()])
        .await;

    assert_eq!(result.expect("deleted"), Action::await_change());
    assert_eq!(event(&sent[1]).1, reasons::DELETED);
}

/// Deletes `obj` (whose policy keeps the AWS resource) and checks that cleanup is never called, the
/// finalizer goes, and a `Retained` Event says why.
async fn assert_retained(h: &Harness, obj: Widget, why: &str) {
    let obj = obj.finalized().with_status(ready_status()).deleting();

    let (result, sent) = h.run(&obj, [Expect::finalizer_patch(), Expect::event()]).await;

    assert_eq!(result.expect("retained"), Action::await_change());
    assert_eq!(h.script.cleaned(), 0, "the AWS resource stays");
    assert_eq!(
        sent[0].body,
        json!([
            {"op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/0"},
        ])
    );
    assert_eq!(
        event(&sent[1]),
        (
            "Normal".into(),
            reasons::RETAINED.into(),
            format!("{why}: the AWS resource is left in AWS; the object can go")
        )
    );
}

#[tokio::test]
async fn deletion_with_deletion_policy_retain_never_calls_cleanup_and_releases_the_object() {
    let h = Harness::new("retain");
    let mut obj = h.widget();
    obj.spec.policies.deletion_policy = Some(DeletionPolicy::Retain);
    assert_retained(&h, obj, "deletionPolicy is Retain").await;
}

#[tokio::test]
async fn deletion_with_management_policy_observe_only_never_calls_cleanup_and_releases_the_object() {
    let h = Harness::new("observe-only");
    let mut obj = h.widget();
    obj.spec.policies.management_policy = Some(ManagementPolicy::ObserveOnly);
    // ObserveOnly wins even over an explicit Delete: the controller never writes to AWS.
    obj.spec.policies.deletion_policy = Some(DeletionPolicy::Delete);
    assert_retained(&h, obj, "managementPolicy is ObserveOnly").await;
}

#[tokio::test]
async fn deletion_with_the_retain_annotation_never_calls_cleanup_and_releases_the_object() {
    let h = Harness::new("retain-annotation");
    let mut obj = h.widget();
    obj.meta_mut().annotations =
        Some([(DELETION_POLICY_ANNOTATION.to_string(), "Retain".to_string())].into());
    assert_retained(&h, obj, "the deletion-policy annotation is retain").await;
}

#[tokio::test]
async fn cleanup_wait_keeps_the_finalizer_says_why_and_requeues_after_its_recheck() {
    let h = Harness::new("cleanup-wait");
    let obj = h.widget().finalized().with_status(ready_status()).deleting();
    h.script.on_cleanup(Ok(Cleanup::Wait {
        reason: reasons::HAS_DEPENDENTS,
        message: "2 services still run in it".into(),
        recheck: Duration::from_secs(15),
    }));

    // No finalizer patch: only the status and the Ready transition.
    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    assert_eq!(result.expect("waiting"), Action::requeue(Duration::from_secs(15)));
    assert_eq!(h.script.cleaned(), 1);
    let status = written_status(&sent[0]);
    assert_eq!(
        condition(&status, READY),
        Some((
            "False".into(),
            reasons::HAS_DEPENDENTS.into(),
            "2 services still run in it".into()
        ))
    );
    assert_eq!(
        condition_status(&status, RECONCILING),
        some("True", reasons::HAS_DEPENDENTS)
    );
    assert_eq!(
        event(&sent[1]),
        (
            "Normal".into(),
            reasons::HAS_DEPENDENTS.into(),
            "2 services still run in it".into()
        )
    );
}

#[tokio::test]
async fn a_terminal_error_stalls_with_its_reason_and_waits_for_a_change() {
    let h = Harness::new("terminal");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script.on_apply(|_| {
        Err(Error::Terminal {
            reason: reasons::INVALID_SPEC,
            message: "size must be even".into(),
        })
    });

    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    assert_eq!(result.expect("stalled"), Action::await_change(), "no hot retry");
    let status = written_status(&sent[0]);
    assert_eq!(
        condition(&status, READY),
        Some((
            "False".into(),
            reasons::INVALID_SPEC.into(),
            "size must be even".into()
        ))
    );
    assert_eq!(
        condition_status(&status, STALLED),
        some("True", reasons::INVALID_SPEC)
    );
    assert_eq!(condition(&status, RECONCILING), None);
    assert_eq!(
        event(&sent[1]),
        (
            "Warning".into(),
            reasons::INVALID_SPEC.into(),
            "size must be even".into()
        )
    );
}

#[tokio::test]
async fn an_aws_throttle_backs_off_and_an_unchanged_object_triggered_again_is_held_without_apply() {
    let h = Harness::new("throttled");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script
        .on_apply(|_| Err(aws_error(ErrorKind::Throttled, "ThrottlingException")));

    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    let first = requeue_after(&result.expect("backing off")).expect("a requeue");
    assert!(
        (Duration::from_secs(8)..=Duration::from_secs(12)).contains(&first),
        "the first throttled retry is 10 s +-20%, not {first:?}"
    );
    let status = written_status(&sent[0]);
    assert_eq!(
        condition_status(&status, READY),
        some("False", reasons::THROTTLED)
    );
    assert_eq!(
        condition_status(&status, RECONCILING),
        some("True", reasons::THROTTLED)
    );
    let (type_, reason, note) = event(&sent[1]);
    assert_eq!((type_.as_str(), reason.as_str()), ("Warning", reasons::THROTTLED));
    assert!(note.contains("ThrottlingException from AWS"), "{note}");

    // A resync during the backoff: same object, nothing scripted; apply must not run.
    let (result, sent) = h.run(&obj, []).await;
    let held = requeue_after(&result.expect("held")).expect("a requeue");
    assert!(
        held > Duration::ZERO && held <= first,
        "held for what is left of {first:?}, not {held:?}"
    );
    assert!(sent.is_empty());
    assert_eq!(h.script.applied(), 1);
}

#[tokio::test]
async fn a_spec_change_during_the_backoff_is_not_held() {
    let h = Harness::new("throttled-then-changed");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script
        .on_apply(|_| Err(aws_error(ErrorKind::Throttled, "ThrottlingException")));
    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;
    assert!(requeue_after(&result.expect("backing off")).is_some());

    // The user edits the spec: a new generation is tried at once.
    let changed = obj
        .clone()
        .with_status(written_status(&sent[0]))
        .with_generation(2);
    h.script.on_apply(ready);
    let (result, sent) = h.run(&changed, [Expect::status_patch(), Expect::event()]).await;

    assert_eq!(result.expect("ready"), Action::await_change());
    assert_eq!(h.script.applied(), 2);
    assert_eq!(
        condition_status(&written_status(&sent[0]), READY),
        some("True", reasons::ACTIVE)
    );
    assert_eq!(event(&sent[1]).1, reasons::ACTIVE);
    // Success ends the backoff.
    let key = requeue::Backoff::key(&changed);
    assert_eq!(h.ctx.backoff.hold(&key, runner::change_key(&obj)), None);
}

#[tokio::test]
async fn a_retryable_aws_error_requeues_with_the_short_retry_backoff() {
    let h = Harness::new("retryable");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script
        .on_apply(|_| Err(aws_error(ErrorKind::Retryable, "ServerException")));

    let (result, sent) = h.run(&obj, [Expect::status_patch(), Expect::event()]).await;

    let delay = requeue_after(&result.expect("backing off")).expect("a requeue");
    assert!(
        (Duration::from_millis(1600)..=Duration::from_millis(2400)).contains(&delay),
        "the first retry is 2 s +-20%, not {delay:?}"
    );
    let status = written_status(&sent[0]);
    assert_eq!(
        condition_status(&status, READY),
        some("False", reasons::AWS_ERROR)
    );
    assert_eq!(condition(&status, STALLED), None, "a retryable error is no stall");
    assert_eq!(event(&sent[1]).0, "Warning");
}

#[tokio::test]
async fn a_kube_error_from_apply_goes_to_the_error_policy_without_writing_anything() {
    let h = Harness::new("kube-error");
    let obj = h.widget().finalized().with_status(ready_status());
    h.script.on_apply(|_| {
        Err(Error::Kube(kube::Error::Api(
            kube::core::Status::failure("the server is busy", "TooManyRequests")
                .with_code(429)
                .boxed(),
        )))
    });

    let (result, sent) = h.run(&obj, []).await;

    let err = result.expect_err("a Kubernetes error propagates");
    assert!(
        matches!(&err, Error::Kube(kube::Error::Api(s)) if s.code == 429),
        "{err:?}"
    );
    assert!(sent.is_empty(), "no status write, no Event");
    let obj = Arc::new(obj);
    let first = requeue_after(&super::error_policy(obj.clone(), &err, h.ctx.clone())).expect("a retry");
    let second = requeue_after(&super::error_policy(obj, &err, h.ctx.clone())).expect("a retry");
    assert!(
        (Duration::from_millis(1600)..=Duration::from_millis(2400)).contains(&first),
        "{first:?}"
    );
    assert!(
        (Duration::from_millis(3200)..=Duration::from_millis(4800)).contains(&second),
        "the error policy backs off: {second:?}"
    );
}

#[tokio::test]
async fn a_conflict_on_the_finalizer_patch_propagates_and_writes_no_status() {
    let h = Harness::new("finalizer-conflict");
    let obj = h.widget();

    let (result, _) = h.run(&obj, [Expect::finalizer_patch().failing(409)]).await;

    let err = result.expect_err("the conflict goes to the error policy");
    assert!(
        matches!(&err, Error::Kube(kube::Error::Api(s)) if s.code == 409),
        "{err:?}"
    );
    assert_eq!(h.script.applied(), 0);
}

#[tokio::test]
async fn a_failed_event_is_not_a_failed_reconcile() {
    let h = Harness::new("event-fails");
    let obj = h
        .widget()
        .finalized()
        .with_status(stamped(conditions::first_visit(), 1));
    h.script.on_apply(ready);

    let (result, _) = h
        .run(&obj, [Expect::status_patch(), Expect::event().failing(403)])
        .await;

    assert_eq!(result.expect("ready despite the Event"), Action::await_change());
}

#[tokio::test]
async fn a_reconcile_from_a_cache_that_has_not_seen_the_last_status_write_builds_on_that_write() {
    let h = Harness::new("stale-cache");
    // The cache still holds the object as it was before the first write (resourceVersion 1).
    let stale = h.widget().finalized();
    let progress = |status: WidgetStatus, step: &str| {
        let mut status = status;
        status.last_handled_reconcile_at = Some(step.into());
        Ok(Applied::new(
            status,
            State::InProgress {
                reason: reasons::PROVISIONING,
                message: "creating".into(),
                recheck: Duration::ZERO,
            },
        ))
    };
    h.script.on_apply(move |status| progress(status, "first"));
    let (_, sent) = h.run(&stale, [Expect::status_patch(), Expect::event()]).await;
    let first = written_status(&sent[0]);
    assert_eq!(first.last_handled_reconcile_at.as_deref(), Some("first"));

    // Requeued at once, before the watch delivered the write: apply sees what was written, and the
    // unchanged outcome writes nothing (a status built on the stale one would be patched again).
    let seen = Arc::new(std::sync::Mutex::new(None));
    let record = seen.clone();
    h.script.on_apply(move |status| {
        *record.lock().expect("lock") = status.last_handled_reconcile_at.clone();
        progress(status, "first")
    });
    let (_, sent) = h.run(&stale, []).await;
    assert!(sent.is_empty(), "{sent:?}");
    assert_eq!(seen.lock().expect("lock").as_deref(), Some("first"));

    // Once the cache holds the written version, the object's own status is what counts again.
    let mut cached = first.clone();
    cached.last_handled_reconcile_at = Some("from-cache".into());
    let mut caught_up = stale.clone().with_status(cached);
    caught_up.metadata.resource_version = Some(WRITTEN_VERSION.into());
    let record = seen.clone();
    h.script.on_apply(move |status| {
        *record.lock().expect("lock") = status.last_handled_reconcile_at.clone();
        progress(status, "second")
    });
    let (_, sent) = h.run(&caught_up, [Expect::status_patch()]).await;
    assert_eq!(
        seen.lock().expect("lock").as_deref(),
        Some("from-cache"),
        "the cache's status"
    );
    assert_eq!(
        written_status(&sent[0]).last_handled_reconcile_at.as_deref(),
        Some("second")
    );
    assert_eq!(h.ctx.written.len(), 1, "the newest write is remembered");
}

#[tokio::test]
async fn the_account_is_recorded_at_the_first_apply_and_another_account_is_refused() {
    let h = Harness::new("account");
    let fresh = h
        .widget()
        .finalized()
        .with_status(stamped(conditions::first_visit(), 1));
    h.script.on_apply(ready);
    let (_, sent) = h.run(&fresh, [Expect::status_patch(), Expect::event()]).await;
    assert_eq!(
        written_status(&sent[0]).account_id.as_deref(),
        Some(OFFLINE_ACCOUNT)
    );

    // Its resources live in another account than the namespace maps to now: neither apply nor
    // cleanup runs, and the object is Stalled with NoAwsAccount, keeping the recorded account.
    let h = Harness::new("account-moved");
    let mut elsewhere = ready_status();
    elsewhere.account_id = Some("111111111111".into());
    let moved = h.widget().finalized().with_status(elsewhere);
    let (result, sent) = h.run(&moved, [Expect::status_patch(), Expect::event()]).await;
    assert_eq!(result.expect("stalled"), Action::await_change());
    assert_eq!(h.script.applied(), 0, "no AWS work in the other account");
    let status = written_status(&sent[0]);
    assert_eq!(
        condition_status(&status, STALLED),
        some("True", reasons::NO_AWS_ACCOUNT)
    );
    let message = condition(&status, READY).map(|(_, _, m)| m).unwrap_or_default();
    assert!(
        message.contains("111111111111") && message.contains(OFFLINE_ACCOUNT),
        "{message}"
    );
    assert_eq!(status.account_id.as_deref(), Some("111111111111"));
    // Deleting it: no cleanup in the other account either (the status says so already: nothing new
    // to write).
    let (result, _) = h.run(&moved.clone().deleting(), []).await;
    assert_eq!(result.expect("stalled"), Action::await_change());
    assert_eq!(h.script.cleaned(), 0, "nor a deletion in the other account");
}

/// The size of the future an async fn of two arguments returns, without calling it.
fn future_size<A, B, F: std::future::Future>(_: impl Fn(A, B) -> F) -> usize {
    std::mem::size_of::<F>()
}

/// Each reconcile in flight is one allocation of its future's size (runner.rs boxes it), up to
/// `--concurrency` per kind. An AWS SDK call's future (20-40 KB) held by value in it made a service's
/// reconcile 89 KB and a cluster's 56 KB (this test's build: 91 and 56 KB); boxed where it is sent
/// (`aws::ServiceClient::call`), they are 13-20 KB. The bound catches a request held by value again.
#[test]
fn a_reconcile_future_holds_no_aws_request_by_value() {
    use crate::api::{
        cluster::EcsCluster, scaling_policy::ScalingPolicy, service::FargateService, task::FargateTask,
        task_definition::TaskDefinition,
    };
    const BOUND: usize = 32 * 1024;
    let sizes = [
        ("EcsCluster", future_size(super::reconcile::<EcsCluster>)),
        ("TaskDefinition", future_size(super::reconcile::<TaskDefinition>)),
        ("FargateService", future_size(super::reconcile::<FargateService>)),
        ("ScalingPolicy", future_size(super::reconcile::<ScalingPolicy>)),
        ("FargateTask", future_size(super::reconcile::<FargateTask>)),
    ];
    for (kind, size) in sizes {
        assert!(
            size <= BOUND,
            "a {kind} reconcile's future is {size} bytes (bound {BOUND})"
        );
    }
}

/// A widget as the API server lists it: with managedFields and `kubectl apply`'s copy of itself.
fn listed(name: &str) -> Value {
    json!({
        "apiVersion": "test.kubefargate.dev/v1",
        "kind": "Widget",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": format!("uid-{name}"),
            "resourceVersion": "7",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{\"kind\":\"Widget\"}",
                "team": "a"
            },
            "managedFields": [{
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "apiVersion": "test.kubefargate.dev/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:annotations": {".": {}}}}
            }]
        },
        "spec": {}
    })
}

/// The lists that confirm a cache's answer before something is deleted read a page of objects at a time
/// and keep none of their managedFields: a whole namespace parsed at once (managedFields included) was
/// 2 MB of a 6.4 MB heap peak deleting 100 services and their task definitions together.
#[tokio::test]
async fn a_list_from_the_api_server_is_read_in_pages_and_kept_lean() {
    let h = Harness::new("uid-list-pages");
    let first = json!({
        "apiVersion": "test.kubefargate.dev/v1", "kind": "WidgetList",
        "metadata": {"resourceVersion": "9", "continue": "page-2"},
        "items": [listed("a"), listed("b")]
    });
    let last = json!({
        "apiVersion": "test.kubefargate.dev/v1", "kind": "WidgetList",
        "metadata": {"resourceVersion": "9"},
        "items": [listed("c")]
    });
    let (listed, sent) = h
        .serving(
            [Expect::list(first), Expect::list(last)],
            crate::runtime::cache::list_from_api::<Widget>(&h.ctx, "ns"),
        )
        .await;
    let listed = listed.expect("the list");
    let names: Vec<_> = listed
        .iter()
        .map(|w| w.meta().name.clone().unwrap_or_default())
        .collect();
    assert_eq!(names, ["a", "b", "c"], "every page's objects, in order");
    for w in listed.iter() {
        assert_eq!(w.meta().managed_fields, None, "managedFields dropped");
        let annotations = w.meta().annotations.clone().unwrap_or_default();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            ["team"],
            "only the last-applied copy dropped"
        );
    }
    let page_size = format!("limit={}", runner::LIST_PAGE_SIZE);
    assert!(
        sent[0].query.contains(&page_size),
        "a page at a time: {}",
        sent[0]
    );
    assert!(!sent[0].query.contains("continue="), "{}", sent[0]);
    assert!(sent[1].query.contains(&page_size), "{}", sent[1]);
    assert!(
        sent[1].query.contains("continue=page-2"),
        "the next page where the last ended: {}",
        sent[1]
    );
}
