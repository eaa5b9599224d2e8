//! What every kind shares: the context of a reconcile, the outcome types a kind returns, and the engine
//! ([`engine`]) that turns them into finalizers, conditions, status writes, Events and requeues.
//!
//! Every kind implements [`Managed`]: `apply` converges AWS to the spec and reports what it saw,
//! `cleanup` removes the AWS resource. The kinds themselves live in [`crate::kinds`], one folder each.

pub(crate) mod cache;
pub(crate) mod conditions;
pub(crate) mod engine;
pub mod events;
pub(crate) mod finalizers;
pub mod kinds;
pub(crate) mod ownership;
pub(crate) mod relations;
pub(crate) mod requeue;
pub mod runner;
mod slots;
pub(crate) mod status;

use crate::aws::{AwsClients, AwsError};
use events::Events;
use kube::Resource;
use kube::runtime::controller::Controller;
use serde::Serialize;
use serde::de::DeserializeOwned;
use status::ManagedStatus;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use engine::{error_policy, reconcile};

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
    /// The statuses written that the caches may not show yet.
    pub written: status::Written,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// How often Ready objects of each kind are compared with AWS again (drift detection).
    pub resync: Resync,
    /// Reconciles running at once, per kind.
    pub concurrency: u16,
}

/// Resync periods per kind: the kind's flag when given, else its default (a multiple of the base
/// period, see [`kinds::KindInfo`]).
#[derive(Clone, Debug)]
pub struct Resync {
    base: Duration,
    by_kind: std::collections::BTreeMap<&'static str, Duration>,
}

impl Resync {
    /// The periods of every registered kind from the base period and the flags given (by kind name).
    pub fn new(base: Duration, given: &std::collections::BTreeMap<&'static str, Duration>) -> Self {
        let by_kind = kinds::all()
            .iter()
            .map(|k| {
                let period = given
                    .get(k.name)
                    .copied()
                    .unwrap_or_else(|| k.default_resync(base));
                (k.name, period)
            })
            .collect();
        Self { base, by_kind }
    }

    /// The period of kind `K`.
    pub fn of<K: Managed>(&self) -> Duration {
        self.named(K::NAME)
    }

    /// The period of the kind named `name` in the registry.
    pub fn named(&self, name: &str) -> Duration {
        self.by_kind.get(name).copied().unwrap_or(self.base)
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

/// What a kind's dereference step found: everything the next steps need, or a state to wait in (a
/// referenced object not Ready yet, a resource that must exist and does not). The one shape of "not
/// ready yet" every kind uses; errors stay in the `Result` around it.
#[derive(Debug)]
pub enum Deref<T> {
    Ready(T),
    Wait(State),
}

/// The result of a successful `apply`: the new status facts, the state, and any conditions of the
/// kind's own (a service's `Progressing`) to write beside `Ready`.
#[derive(Debug)]
pub struct Applied<S> {
    pub status: S,
    pub state: State,
    pub extra_conditions: Vec<crate::api::Condition>,
    /// What the reconcile changed in AWS, published as Events.
    pub notes: Vec<Note>,
    /// Look again after this long even when Ready or Failed (a finished FargateTask's TTL).
    pub recheck: Option<Duration>,
}

impl<S> Applied<S> {
    pub fn new(status: S, state: State) -> Self {
        Self {
            status,
            state,
            extra_conditions: Vec::new(),
            notes: Vec::new(),
            recheck: None,
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

    /// The kind's short name in flags and file names, e.g. `cluster` (`--cluster-resync-period`).
    const NAME: &'static str;
    /// The default resync period, as a multiple of `--resync-period`.
    const RESYNC_FACTOR: u32 = 1;
    /// Every AWS operation this kind's reconciles may call (see [`crate::aws::operations`]).
    const OPERATIONS: &'static [crate::aws::operations::Operation];

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

/// The AWS account of an object, from its namespace's mapping; `NoAwsAccount` (stalled until the
/// mapping changes) when the namespace may not use AWS.
pub fn aws_for<'a, K: Resource>(ctx: &'a Context, obj: &K) -> Result<crate::aws::Account<'a>, Error> {
    ctx.aws
        .for_namespace(obj.meta().namespace.as_deref().unwrap_or_default())
        .map_err(|no| Error::Terminal {
            reason: conditions::reasons::NO_AWS_ACCOUNT,
            message: no.0,
        })
}
