//! Wires the reconcilers into kube-runtime controllers: one watch per kind, filtered so that only
//! changes the controller must act on (spec, deletion, finalizers, the reconcile-request annotation)
//! start a reconcile (its own status writes do not), a periodic resync per kind that reconciles every
//! object at once (so their Describe calls batch), and a shutdown that lets in-flight reconciles finish.

use super::{Context, Managed, error_policy, reconcile};
use crate::api::{EcsCluster, FargateService, RECONCILE_REQUESTED_ANNOTATION, ScalingPolicy, TaskDefinition};
use futures::future::{BoxFuture, Shared};
use futures::{Future, StreamExt};
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// Which objects this controller instance manages.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only these namespaces (all namespaces when empty).
    pub namespaces: Vec<String>,
    /// Only objects whose labels match (the managed kinds only; referenced objects are read anyway).
    pub label_selector: Option<String>,
}

impl Scope {
    fn contains(&self, namespace: Option<&str>) -> bool {
        self.namespaces.is_empty() || namespace.is_some_and(|ns| self.namespaces.iter().any(|n| n == ns))
    }
}

/// A future that resolves when the controllers should stop (SIGTERM, lost leadership).
pub type Shutdown = Shared<BoxFuture<'static, ()>>;

/// Runs every controller until `shutdown` resolves; in-flight reconciles finish first. `synced` is
/// called once every kind's cache holds its first full list.
pub async fn run(
    ctx: Arc<Context>,
    scope: Scope,
    shutdown: Shutdown,
    synced: impl FnOnce() + Send + 'static,
) {
    let (c, c_ready) = controller::<EcsCluster>(ctx.clone(), &scope, shutdown.clone());
    let (t, t_ready) = controller::<TaskDefinition>(ctx.clone(), &scope, shutdown.clone());
    let (s, s_ready) = controller::<FargateService>(ctx.clone(), &scope, shutdown.clone());
    let (p, p_ready) = controller::<ScalingPolicy>(ctx.clone(), &scope, shutdown);
    tokio::spawn(async move {
        futures::join!(c_ready, t_ready, s_ready, p_ready);
        synced();
    });
    futures::join!(c, t, s, p);
}

/// The hash of what a reconcile depends on; events that leave it unchanged (status writes) are dropped.
pub fn change_key<K: Resource>(obj: &K) -> Option<u64> {
    let meta = obj.meta();
    let mut h = DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    meta.finalizers.hash(&mut h);
    obj.annotations().get(RECONCILE_REQUESTED_ANNOTATION).hash(&mut h);
    Some(h.finish())
}

/// An `Api` over the namespaces this instance manages: the namespace itself when there is one, all
/// namespaces otherwise (several namespaces are filtered on the client side).
pub fn namespaced_api<K>(ctx: &Context, scope: &Scope) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match scope.namespaces.as_slice() {
        [ns] => Api::namespaced(ctx.client.clone(), ns),
        _ => Api::all(ctx.client.clone()),
    }
}

/// A stream that ticks every `period`, starting one period from now.
fn ticks(period: Duration) -> impl futures::Stream<Item = ()> + Send + 'static {
    futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(period).await;
        Some(((), ()))
    })
}

fn controller<K: Managed>(
    ctx: Arc<Context>,
    scope: &Scope,
    shutdown: Shutdown,
) -> (
    impl Future<Output = ()> + use<K>,
    impl Future<Output = ()> + use<K>,
) {
    let kind = K::kind(&());
    let mut wc = watcher::Config::default().any_semantic();
    if let Some(selector) = &scope.label_selector {
        wc = wc.labels(selector);
    }
    let (reader, writer) = reflector::store();
    ctx.stores.set::<K>(reader.clone());
    let in_scope = scope.clone();
    // The first complete list (InitDone) means the cache is synced. (The store's own
    // `wait_until_ready` serves one waiter at a time, and the controller already waits on it.)
    let (synced_tx, synced_rx) = tokio::sync::oneshot::channel::<()>();
    let mut synced_tx = Some(synced_tx);
    let stream = watcher(namespaced_api::<K>(&ctx, scope), wc)
        .default_backoff()
        .filter(move |event| {
            // With several namespaces the watch covers all of them: drop what is out of scope.
            if matches!(event, Ok(watcher::Event::InitDone))
                && let Some(tx) = synced_tx.take()
            {
                let _ = tx.send(());
            }
            let keep = match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o) | watcher::Event::Delete(o)) => {
                    in_scope.contains(o.namespace().as_deref())
                }
                _ => true,
            };
            futures::future::ready(keep)
        })
        // managedFields are most of an object's size and nothing here reads them: keep the caches lean.
        .modify(|o| o.managed_fields_mut().clear())
        .reflect(writer)
        .applied_objects()
        .predicate_filter(change_key::<K>, Default::default());
    let synced_kind = kind.clone();
    let synced = async move {
        let _ = synced_rx.await;
        tracing::debug!(kind = %synced_kind, "cache synced");
    };
    let period = ctx.config.resync.of(&kind);
    let config = controller::Config::default().concurrency(ctx.config.concurrency);
    let run = K::watches(Controller::for_stream(stream, reader), &ctx, scope)
        .with_config(config)
        .reconcile_all_on(ticks(period))
        .graceful_shutdown_on(shutdown)
        .run(
            |obj, ctx| {
                let span = tracing::info_span!(
                    "reconcile",
                    kind = %K::kind(&()),
                    object = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
                );
                async move {
                    tracing::debug!("reconcile started");
                    reconcile(obj, ctx).await
                }
                .instrument(span)
            },
            error_policy::<K>,
            ctx,
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(kind = %K::kind(&()), "controller: {e}");
            }
        });
    (run, synced)
}
