//! The engine every kind shares: the finalizer, the first visit, deletion (with `Retain` and
//! `ObserveOnly`), the per-object backoff hold, turning a kind's outcome or error into conditions, the
//! status write (only when it changed) and the Events (on changes in AWS and on `Ready` transitions).
//! A kind only says what AWS should look like ([`Managed::apply`]) and how to remove it
//! ([`Managed::cleanup`]).

use super::events::EventType;
use super::{Applied, Cleanup, Context, Error, Managed, Note, State};
use super::{conditions, finalizers, requeue, runner, status};
use crate::api::{DELETION_POLICY_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION};
use crate::metrics::METRICS;
use crate::runtime::conditions::reasons;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use status::ManagedStatus;
use std::sync::Arc;
use std::time::Duration;

/// Why the AWS resource stays when the object is deleted, if it does: `deletionPolicy: Retain` (or the
/// older annotation), or `managementPolicy: ObserveOnly` (which never writes to AWS).
pub fn kept_on_delete<K: Managed>(obj: &K) -> Option<&'static str> {
    let policies = obj.policies();
    if policies.observe_only() {
        Some("managementPolicy is ObserveOnly")
    } else if policies.deletion_policy == Some(crate::api::DeletionPolicy::Retain) {
        Some("deletionPolicy is Retain")
    } else if policies.deletion_policy.is_none()
        && obj
            .annotations()
            .get(DELETION_POLICY_ANNOTATION)
            .is_some_and(|v| v.eq_ignore_ascii_case("retain"))
    {
        Some("the deletion-policy annotation is retain")
    } else {
        None
    }
}

/// The shared reconcile of every kind, timed and counted in the metrics.
pub async fn reconcile<K: Managed>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let kind = K::kind(&());
    let start = std::time::Instant::now();
    let result =
        crate::aws::operations::declared_by(K::OPERATIONS, reconcile_inner(obj.as_ref(), &ctx)).await;
    let outcome = match &result {
        Ok((outcome, _)) => *outcome,
        Err(_) => "error",
    };
    METRICS.reconciled(&kind, outcome, start.elapsed().as_secs_f64());
    result.map(|(_, action)| action)
}

async fn reconcile_inner<K: Managed>(obj: &K, ctx: &Context) -> Result<(&'static str, Action), Error> {
    let kind = K::kind(&());
    let uid = obj.meta().uid.clone().unwrap_or_default();
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let key = requeue::Backoff::key(obj);
    // The status last written, when the cache does not show it yet.
    let old = ctx
        .written
        .recall::<K::Status>(&key, obj.meta().resource_version.as_deref())
        .or_else(|| obj.status().cloned())
        .unwrap_or_default();
    let generation = obj.meta().generation;
    let handled = obj.annotations().get(RECONCILE_REQUESTED_ANNOTATION).cloned();
    let change = runner::change_key(obj);
    if let Some(wait) = ctx.backoff.hold(&key, change) {
        // Triggered again (a resync) while backing off from an error, and unchanged: wait.
        return Ok(("backoff", Action::requeue(wait)));
    }

    if obj.meta().deletion_timestamp.is_some() {
        if !finalizers::has(obj) {
            return Ok(("deleted", Action::await_change()));
        }
        let kept = kept_on_delete(obj);
        let cleanup = match kept {
            Some(_) => Ok(Cleanup::Done),
            None => match same_account(ctx, obj, &old).await {
                Ok(_) => obj.cleanup(ctx, &old).await,
                Err(e) => Err(e),
            },
        };
        let (next, action, outcome) = match cleanup {
            Ok(Cleanup::Done) => {
                finalizers::remove(&api, obj).await?;
                ctx.backoff.reset(&key);
                ctx.written.forget(&key);
                METRICS.object_state(&kind, &uid, None);
                let (reason, message) = match kept {
                    Some(why) => (
                        reasons::RETAINED,
                        format!("{why}: the AWS resource is left in AWS; the object can go"),
                    ),
                    None => (
                        reasons::DELETED,
                        "removed from AWS; the object can go".to_string(),
                    ),
                };
                tracing::info!("{message}; finalizer removed");
                publish(ctx, obj, EventType::Normal, reason, &message).await;
                return Ok(("deleted", Action::await_change()));
            }
            Ok(Cleanup::Wait {
                reason,
                message,
                recheck,
            }) => {
                ctx.backoff.reset(&key);
                (
                    conditions::waiting(reason, &message),
                    requeue(&kind, "deleting", recheck),
                    "deleting",
                )
            }
            Err(e) => {
                let (c, a) = error_outcome(ctx, &kind, &key, e)?;
                ctx.backoff.remember_change(&key, change);
                (c, a, "error")
            }
        };
        let mut status = old.clone();
        status::stamp(&mut status, next, generation, handled);
        finish(ctx, &api, obj, &old, status, &[]).await?;
        return Ok((outcome, action));
    }

    if !finalizers::has(obj) {
        // First visit: claim the object and say so before touching AWS. Adding the finalizer is a change
        // the watch sees, so the AWS work happens in the reconcile it triggers.
        finalizers::add(&api, obj).await?;
        let mut status = old.clone();
        status::stamp(&mut status, conditions::first_visit(), generation, handled);
        finish(ctx, &api, obj, &old, status, &[]).await?;
        return Ok(("first_visit", Action::await_change()));
    }

    let applied = match same_account(ctx, obj, &old).await {
        Ok(account) => obj.apply(ctx, old.clone()).await.map(|mut applied| {
            if applied.status.account_id().is_none() {
                applied.status.set_account_id(account);
            }
            applied
        }),
        Err(e) => Err(e),
    };
    let (status, action, notes, outcome) = match applied {
        Ok(Applied {
            mut status,
            state,
            extra_conditions,
            notes,
            recheck,
        }) => {
            ctx.backoff.reset(&key);
            // Ready and failed objects wait for a change or their kind's periodic resync (or the
            // recheck the kind asked for).
            let settled = |outcome| match recheck {
                Some(after) => (requeue(&kind, outcome, after), outcome),
                None => (Action::await_change(), outcome),
            };
            let (action, outcome) = match &state {
                State::Ready { .. } => settled("ready"),
                State::Failed { .. } => settled("failed"),
                State::InProgress { recheck, .. } => (requeue(&kind, "in_progress", *recheck), "in_progress"),
                State::Waiting { recheck, .. } => (requeue(&kind, "waiting", *recheck), "waiting"),
            };
            let mut next = conditions::for_state(&state);
            next.extend(extra_conditions);
            status::stamp(&mut status, next, generation, handled);
            (status, action, notes, outcome)
        }
        Err(e) => {
            let (next, action) = error_outcome(ctx, &kind, &key, e)?;
            ctx.backoff.remember_change(&key, change);
            let mut status = old.clone();
            status::stamp(&mut status, next, generation, handled);
            (status, action, Vec::new(), "error")
        }
    };
    finish(ctx, &api, obj, &old, status, &notes).await?;
    Ok((outcome, action))
}

/// The AWS account the object's namespace maps to now (`None` when it maps to none: the kind reports
/// that), refused when the object's resources live in another one (a changed account mapping must not
/// recreate them elsewhere and orphan the originals).
async fn same_account<K: Managed>(ctx: &Context, obj: &K, old: &K::Status) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let Ok(account) = ctx.aws.for_namespace(&ns) else {
        return Ok(None);
    };
    let id = account.account_id().await?;
    match old.account_id() {
        Some(recorded) if recorded != id => Err(Error::Terminal {
            reason: reasons::NO_AWS_ACCOUNT,
            message: format!(
                "this object's AWS resources live in account {recorded}, but namespace {ns} now maps to \
                 account {id}: refusing to act in another account (restore the mapping, or delete the object \
                 with deletionPolicy Retain and create it anew)"
            ),
        }),
        _ => Ok(Some(id)),
    }
}

/// Writes the status (when it changed), records the Ready state in the metrics, and publishes the
/// Events: one per change made in AWS, and one when `Ready` changes status or reason (never one per
/// resync: an unchanged status publishes nothing).
async fn finish<K: Managed>(
    ctx: &Context,
    api: &Api<K>,
    obj: &K,
    old: &K::Status,
    new: K::Status,
    notes: &[Note],
) -> Result<(), Error> {
    let ready_of = |s: &K::Status| {
        crate::api::conditions::find(s.conditions(), crate::api::conditions::READY)
            .map(|c| (c.status, c.reason.clone(), c.message.clone()))
    };
    let (before, after) = (ready_of(old), ready_of(&new));
    let stalled = crate::api::conditions::find(new.conditions(), crate::api::conditions::STALLED).is_some();
    let remembered = new.clone();
    if let Some(version) = status::write(api, obj, old, new).await? {
        ctx.written
            .remember(&requeue::Backoff::key(obj), Some(version), remembered);
    }
    let kind = K::kind(&());
    if let Some((ready, _, _)) = &after {
        METRICS.object_state(
            &kind,
            obj.meta().uid.as_deref().unwrap_or_default(),
            Some(&format!("{ready:?}")),
        );
    }
    for n in notes {
        publish(ctx, obj, EventType::Normal, n.reason, &n.message).await;
    }
    if let Some((ready, reason, message)) = after
        && before.as_ref().map(|(s, r, _)| (s, r)) != Some((&ready, &reason))
        && ready != crate::api::ConditionStatus::Unknown
    {
        let warning = ready == crate::api::ConditionStatus::False
            && (stalled
                || reason == conditions::reasons::AWS_ERROR
                || reason == conditions::reasons::THROTTLED);
        let type_ = if warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(ctx, obj, type_, &reason, &message).await;
    }
    Ok(())
}

/// Publishes one Event; a failure to publish is logged, never fatal.
async fn publish<K: Managed>(ctx: &Context, obj: &K, type_: EventType, reason: &str, message: &str) {
    if let Err(e) = ctx
        .events
        .publish(&obj.object_ref(&()), type_, reason, message)
        .await
    {
        tracing::warn!("could not publish event {reason}: {e}");
    }
}

/// A timed requeue, counted in the metrics by kind and reason.
fn requeue(kind: &str, reason: &str, after: Duration) -> Action {
    METRICS.requeued(kind, reason);
    Action::requeue(after)
}

/// Conditions and requeue for an error `apply` or `cleanup` returned. Kubernetes API errors go back to
/// the controller's error policy (status could not be written anyway).
fn error_outcome(
    ctx: &Context,
    kind: &str,
    key: &str,
    e: Error,
) -> Result<(Vec<crate::api::Condition>, Action), Error> {
    match e {
        Error::Kube(_) => Err(e),
        Error::Terminal { reason, ref message } => {
            tracing::warn!(reason, "cannot proceed: {message}");
            // Not retried hot: the next spec change or the periodic resync looks again.
            Ok((conditions::stalled(reason, message), Action::await_change()))
        }
        Error::Aws(ref aws) => {
            tracing::warn!(kind = ?aws.kind, request_id = aws.request_id.as_deref(), "{aws}");
            let (conds, delay) = requeue::after_aws_error(ctx, key, aws);
            Ok((
                conds,
                delay.map_or_else(Action::await_change, |d| requeue(kind, "error", d)),
            ))
        }
    }
}

/// The controller's error policy: Kubernetes API failures are retried with the per-object backoff.
pub fn error_policy<K: Managed>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(name = %obj.name_any(), "reconcile failed: {err}");
    Action::requeue(
        ctx.backoff
            .next(&requeue::Backoff::key(obj.as_ref()), requeue::Pace::Retry),
    )
}

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod tests;
