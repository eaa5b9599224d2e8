//! Wires the reconcilers into kube-runtime controllers: one watch per kind, filtered so that only
//! changes the controller must act on (spec, deletion, finalizers, the reconcile-request annotation)
//! start a reconcile; its own status writes do not.

use super::{Context, Managed, error_policy, reconcile};
use crate::api::{EcsCluster, FargateService, RECONCILE_REQUESTED_ANNOTATION, ScalingPolicy, TaskDefinition};
use futures::{Future, StreamExt};
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tracing::Instrument;

/// Which objects this controller instance manages.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// Only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
}

/// Runs every controller until a shutdown signal; in-flight reconciles finish first.
pub async fn run(ctx: Arc<Context>, scope: Scope) {
    futures::join!(
        controller::<EcsCluster>(ctx.clone(), &scope),
        controller::<TaskDefinition>(ctx.clone(), &scope),
        controller::<FargateService>(ctx.clone(), &scope),
        controller::<ScalingPolicy>(ctx.clone(), &scope),
    );
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

/// An `Api` over the namespaces this instance manages.
pub fn namespaced_api<K>(ctx: &Context, scope: &Scope) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match &scope.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    }
}

fn controller<K: Managed>(ctx: Arc<Context>, scope: &Scope) -> impl Future<Output = ()> {
    let (reader, writer) = reflector::store();
    let stream = watcher(
        namespaced_api::<K>(&ctx, scope),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .predicate_filter(change_key::<K>, Default::default());
    K::watches(Controller::for_stream(stream, reader), &ctx, scope)
        .shutdown_on_signal()
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
        })
}
