//! The reconcilers: one file per kind, plus the machinery every kind shares.
//!
//! Every kind implements [`Managed`]: `apply` converges AWS to the spec and reports what it saw,
//! `cleanup` removes the AWS resource. The shared [`reconcile`] owns the rest: the finalizer, turning
//! outcomes and errors into conditions, writing status (server-side apply, only when it changed) and the
//! requeue policy.

pub mod cluster;
pub mod conditions;
pub mod finalizers;
pub mod requeue;
pub mod runner;
pub mod scaling_policy;
pub mod service;
pub mod status;
pub mod task_definition;

use crate::api::{DELETION_POLICY_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION};
use crate::aws::{AwsClients, AwsError};
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

/// The field manager of every write the controller makes.
pub const FIELD_MANAGER: &str = "ecs-controller";

/// What the reconcilers share: clients, settings and per-object backoff state.
pub struct Context {
    pub client: kube::Client,
    pub aws: AwsClients,
    pub config: Config,
    pub backoff: requeue::Backoff,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// How often a Ready object is compared with AWS again (drift detection).
    pub resync_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            resync_period: Duration::from_secs(300),
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
}

impl<S> Applied<S> {
    pub fn new(status: S, state: State) -> Self {
        Self {
            status,
            state,
            extra_conditions: Vec::new(),
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

    /// Adds watches on related kinds, so that a change there (a dependency turning Ready, a dependent
    /// going away) wakes this kind's objects at once instead of at the next resync.
    fn watches(
        controller: Controller<Self>,
        _ctx: &Arc<Context>,
        _scope: &runner::Scope,
    ) -> Controller<Self> {
        controller
    }
}

/// `true` when the user asked to keep the AWS resource on deletion.
pub fn retain_on_delete<K: Resource>(obj: &K) -> bool {
    obj.annotations()
        .get(DELETION_POLICY_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("retain"))
}

/// The shared reconcile of every kind.
pub async fn reconcile<K: Managed>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
    let key = requeue::Backoff::key(obj.as_ref());
    let old = obj.status().cloned().unwrap_or_default();
    let generation = obj.meta().generation;
    let handled = obj.annotations().get(RECONCILE_REQUESTED_ANNOTATION).cloned();

    if obj.meta().deletion_timestamp.is_some() {
        if !finalizers::has(obj.as_ref()) {
            return Ok(Action::await_change());
        }
        let (next, action) = match obj.cleanup(&ctx, &old).await {
            Ok(Cleanup::Done) => {
                finalizers::remove(&api, obj.as_ref()).await?;
                ctx.backoff.reset(&key);
                tracing::info!("deleted from AWS; finalizer removed");
                return Ok(Action::await_change());
            }
            Ok(Cleanup::Wait {
                reason,
                message,
                recheck,
            }) => {
                ctx.backoff.reset(&key);
                (conditions::waiting(reason, &message), Action::requeue(recheck))
            }
            Err(e) => error_outcome(&ctx, &key, e)?,
        };
        let mut status = old.clone();
        status::stamp(&mut status, next, generation, handled);
        status::write(&api, obj.as_ref(), &old, status).await?;
        return Ok(action);
    }

    if !finalizers::has(obj.as_ref()) {
        // First visit: claim the object and say so before touching AWS. Adding the finalizer is a change
        // the watch sees, so the AWS work happens in the reconcile it triggers.
        finalizers::add(&api, obj.as_ref()).await?;
        let mut status = old.clone();
        status::stamp(&mut status, conditions::first_visit(), generation, handled);
        status::write(&api, obj.as_ref(), &old, status).await?;
        return Ok(Action::await_change());
    }

    let (status, action) = match obj.apply(&ctx, old.clone()).await {
        Ok(Applied {
            mut status,
            state,
            extra_conditions,
        }) => {
            ctx.backoff.reset(&key);
            let action = match &state {
                State::Ready { .. } | State::Failed { .. } => Action::requeue(ctx.config.resync_period),
                State::InProgress { recheck, .. } | State::Waiting { recheck, .. } => {
                    Action::requeue(*recheck)
                }
            };
            let mut next = conditions::for_state(&state);
            next.extend(extra_conditions);
            status::stamp(&mut status, next, generation, handled);
            (status, action)
        }
        Err(e) => {
            let (next, action) = error_outcome(&ctx, &key, e)?;
            let mut status = old.clone();
            status::stamp(&mut status, next, generation, handled);
            (status, action)
        }
    };
    status::write(&api, obj.as_ref(), &old, status).await?;
    Ok(action)
}

/// Conditions and requeue for an error `apply` or `cleanup` returned. Kubernetes API errors go back to
/// the controller's error policy (status could not be written anyway).
fn error_outcome(ctx: &Context, key: &str, e: Error) -> Result<(Vec<crate::api::Condition>, Action), Error> {
    match e {
        Error::Kube(_) => Err(e),
        Error::Terminal { reason, ref message } => {
            tracing::warn!(reason, "cannot proceed: {message}");
            Ok((
                conditions::stalled(reason, message),
                Action::requeue(ctx.config.resync_period),
            ))
        }
        Error::Aws(ref aws) => {
            tracing::warn!(kind = ?aws.kind, request_id = aws.request_id.as_deref(), "{aws}");
            let (conds, delay) = requeue::after_aws_error(ctx, key, aws);
            Ok((conds, Action::requeue(delay)))
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
