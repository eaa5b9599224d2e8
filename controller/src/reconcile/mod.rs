//! The reconcilers: one file per kind, plus the machinery every kind shares.
//!
//! Every kind implements [`Managed`]: `apply` converges AWS to the spec and reports what it saw,
//! `cleanup` removes the AWS resource. The shared [`reconcile`] owns the rest: the finalizer, turning
//! outcomes and errors into conditions, writing status (server-side apply, only when it changed) and the
//! requeue policy.

pub mod cache;
pub mod cluster;
pub mod conditions;
pub mod events;
pub mod finalizers;
pub mod ownership;
pub mod requeue;
pub mod runner;
pub mod scaling_policy;
pub mod service;
pub mod status;
pub mod task_definition;

use crate::api::{DELETION_POLICY_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION};
use crate::aws::{AwsClients, AwsError};
use crate::metrics::METRICS;
use events::{EventType, Events};
use kube::api::Api;
use kube::runtime::controller::{Action, Controller};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use status::ManagedStatus;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How often a resource that must exist but does not (adoption `Adopt`, `ObserveOnly`) is looked for.
pub const RECHECK_NOT_FOUND: Duration = Duration::from_secs(30);

/// The field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "ecs-controller";

/// What the reconcilers share: clients, settings and per-object backoff state.
pub struct Context {
    pub client: kube::Client,
    pub aws: AwsClients,
    pub config: Config,
    pub backoff: requeue::Backoff,
    /// Publishes Kubernetes Events on the objects (a repeat is a count on the first).
    pub events: Events,
    /// The controllers' caches, for reads of related objects.
    pub stores: cache::Stores,
    /// Each kind's watch events, for the controllers of the kinds that react to them.
    pub feeds: cache::Feeds,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// How often Ready objects of each kind are compared with AWS again (drift detection).
    pub resync: Resync,
    /// Reconciles running at once, per kind.
    pub concurrency: u16,
}

/// Resync periods per kind.
#[derive(Clone, Debug)]
pub struct Resync {
    pub cluster: Duration,
    pub task_definition: Duration,
    pub service: Duration,
    pub scaling_policy: Duration,
}

impl Resync {
    /// The period of `kind`.
    pub fn of(&self, kind: &str) -> Duration {
        match kind {
            "EcsCluster" => self.cluster,
            "TaskDefinition" => self.task_definition,
            "FargateService" => self.service,
            _ => self.scaling_policy,
        }
    }
}

/// Why a reconcile could not finish.
#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The spec cannot work as written (or the AWS resource belongs to someone else): needs the user.
    #[error("{message}")]
    Terminal { reason: &'static str, message: String },
}

/// Where `apply` left the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// AWS matches the spec.
    Ready { reason: &'static str, message: String },
    /// AWS is converging (creating, provisioning, rolling out): look again soon.
    InProgress {
        reason: &'static str,
        message: String,
        recheck: Duration,
    },
    /// Waiting for another object (a reference not Ready yet): woken by its watch, or after `recheck`.
    Waiting {
        reason: &'static str,
        message: String,
        recheck: Duration,
    },
    /// AWS settled in a state that needs a change from the user (a rollout the circuit breaker rolled
    /// back, say): looked at again at the resync period, or when the spec changes.
    Failed { reason: &'static str, message: String },
}

/// The result of a successful `apply`: the new status facts, the state, and any conditions of the
/// kind's own (a service's `Progressing`) to write beside `Ready`.
pub struct Applied<S> {
    pub status: S,
    pub state: State,
    pub extra_conditions: Vec<crate::api::Condition>,
    /// What the reconcile changed in AWS, published as Events.
    pub notes: Vec<Note>,
}

impl<S> Applied<S> {
    pub fn new(status: S, state: State) -> Self {
        Self {
            status,
            state,
            extra_conditions: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn with_notes(mut self, notes: Vec<Note>) -> Self {
        self.notes = notes;
        self
    }
}

/// A change made in AWS, told to the user as a Kubernetes Event (`Normal`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// CamelCase, e.g. `Created`, `Updated`, `RolloutStarted`.
    pub reason: &'static str,
    pub message: String,
}

impl Note {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}

/// The result of a successful `cleanup`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// Nothing is left in AWS: the finalizer may go.
    Done,
    /// Deletion is under way or blocked (dependents): look again after `recheck`.
    Wait {
        reason: &'static str,
        message: String,
        recheck: Duration,
    },
}

/// One kind the controller manages in AWS.
pub trait Managed:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Status: ManagedStatus;

    fn status(&self) -> Option<&Self::Status>;

    /// The object's adoption, deletion and management policies.
    fn policies(&self) -> &crate::api::Policies;

    /// Converges AWS to the spec. `status` is the previous status, to be updated with what AWS reports.
    fn apply(
        &self,
        ctx: &Context,
        status: Self::Status,
    ) -> impl Future<Output = Result<Applied<Self::Status>, Error>> + Send;

    /// Removes what the object owns in AWS.
    fn cleanup(
        &self,
        ctx: &Context,
        status: &Self::Status,
    ) -> impl Future<Output = Result<Cleanup, Error>> + Send;

    /// Adds triggers from related kinds (their feeds in [`cache::Feeds`]), so that a change there (a
    /// dependency turning Ready, a dependent going away) wakes this kind's objects at once instead of
    /// at the next resync.
    fn watches(controller: Controller<Self>, _ctx: &Arc<Context>) -> Controller<Self> {
        controller
    }
}

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

/// The AWS account of an object, from its namespace's mapping; `NoAwsAccount` (stalled until the
/// mapping changes) when the namespace may not use AWS.
pub fn aws_for<'a, K: Resource>(ctx: &'a Context, obj: &K) -> Result<crate::aws::Account<'a>, Error> {
    ctx.aws
        .for_namespace(obj.meta().namespace.as_deref().unwrap_or_default())
        .map_err(|message| Error::Terminal {
            reason: conditions::reasons::NO_AWS_ACCOUNT,
            message,
        })
}

/// The shared reconcile of every kind, timed and counted in the metrics.
pub async fn reconcile<K: Managed>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let kind = K::kind(&());
    let start = std::time::Instant::now();
    let result = reconcile_inner(obj.as_ref(), &ctx).await;
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
    let old = obj.status().cloned().unwrap_or_default();
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
            None => obj.cleanup(ctx, &old).await,
        };
        let (next, action, outcome) = match cleanup {
            Ok(Cleanup::Done) => {
                finalizers::remove(&api, obj).await?;
                ctx.backoff.reset(&key);
                METRICS.object_state(&kind, &uid, None);
                let (reason, message) = match kept {
                    Some(why) => (
                        "Retained",
                        format!("{why}: the AWS resource is left in AWS; the object can go"),
                    ),
                    None => ("Deleted", "removed from AWS; the object can go".to_string()),
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

    let (status, action, notes, outcome) = match obj.apply(ctx, old.clone()).await {
        Ok(Applied {
            mut status,
            state,
            extra_conditions,
            notes,
        }) => {
            ctx.backoff.reset(&key);
            // Ready and failed objects wait for a change or their kind's periodic resync.
            let (action, outcome) = match &state {
                State::Ready { .. } => (Action::await_change(), "ready"),
                State::Failed { .. } => (Action::await_change(), "failed"),
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
    status::write(api, obj, old, new).await?;
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
