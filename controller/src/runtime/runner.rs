//! Wires the reconcilers into kube-runtime controllers: one watch per kind (its events also feed the
//! other kinds' controllers that react to it, see [`super::cache::Feeds`]), filtered so that only
//! changes the controller must act on (spec, deletion, finalizers, the reconcile-request annotation)
//! start a reconcile (its own status writes do not), a periodic resync per kind that reconciles every
//! object at once (so their Describe calls batch), and a shutdown that lets in-flight reconciles finish.

use super::cache::FirstList;
use super::kinds::{self, Controllers};
use super::slots::Slots;
use super::{Context, Managed, error_policy, reconcile};
use crate::api::RECONCILE_REQUESTED_ANNOTATION;
use futures::future::{BoxFuture, FutureExt, Shared};
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
    pub(crate) fn contains(&self, namespace: Option<&str>) -> bool {
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
    let (mut runs, mut synced_all): (Vec<_>, Vec<_>) = kinds::all()
        .iter()
        .map(|k| {
            let c = k.controller(ctx.clone(), &scope, shutdown.clone());
            (c.run, c.synced)
        })
        .unzip();
    // Jobs with spec.managedBy: ecs.kubefargate.dev/fargate (not a kind of ours: no CRD, no engine).
    let jobs = crate::kinds::job::controller(ctx.clone(), &scope, shutdown.clone());
    runs.push(jobs.run);
    synced_all.push(jobs.synced);
    tokio::spawn(async move {
        futures::future::join_all(synced_all).await;
        synced();
    });
    futures::future::join_all(runs).await;
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

/// An object's key among its kind's reconcile slots.
fn slot_key<K: Resource>(obj: &K) -> String {
    format!(
        "{}/{}",
        obj.meta().namespace.as_deref().unwrap_or_default(),
        obj.meta().name.as_deref().unwrap_or_default()
    )
}

/// Passes a watch's objects on to the kind's subscribers (other kinds' controllers): the cached object
/// itself when it was created or changed, and when it was deleted, its last state marked gone
/// ([`gone`]). When the watch lists again (at start, and after it lost its place: 410 Gone, a
/// desync), the cache swaps the listed objects in only at the list's end, so they are passed on as
/// listed, and the objects the cache held before that the list no longer has are passed on gone:
/// they were deleted while the watch was down, and no DELETED event will say so.
struct Feed<K: Managed> {
    publisher: super::cache::Publisher<K>,
    cached: reflector::Store<K>,
    /// While the watch lists: what the cache held when the list began.
    before: Option<Vec<Arc<K>>>,
}

impl<K: Managed> Feed<K> {
    fn new(publisher: super::cache::Publisher<K>, cached: reflector::Store<K>) -> Self {
        Feed {
            publisher,
            cached,
            before: None,
        }
    }

    /// One watch event, after the cache applied it.
    fn see(&mut self, event: &Result<watcher::Event<K>, watcher::Error>) {
        if !self.publisher.is_wanted() {
            return;
        }
        match event {
            Ok(watcher::Event::Apply(o)) => {
                let obj = self
                    .cached
                    .get(&reflector::ObjectRef::from_obj(o))
                    .unwrap_or_else(|| Arc::new(o.clone()));
                self.publisher.publish(&obj);
            }
            Ok(watcher::Event::Init) => self.before = Some(self.cached.state()),
            Ok(watcher::Event::InitApply(o)) => self.publisher.publish(&Arc::new(o.clone())),
            Ok(watcher::Event::InitDone) => {
                for old in self.before.take().unwrap_or_default() {
                    if self
                        .cached
                        .get(&reflector::ObjectRef::from_obj(old.as_ref()))
                        .is_none()
                    {
                        self.publisher.publish(&Arc::new(gone(K::clone(&old))));
                    }
                }
            }
            Ok(watcher::Event::Delete(o)) => self.publisher.publish(&Arc::new(gone(o.clone()))),
            Err(_) => {}
        }
    }
}

/// Once the cache holds an object at the version a status write produced (the watch event has just
/// been applied to it), or the object is gone, the status remembered from that write is let go.
fn settle_written<K: Resource>(
    written: &super::status::Written,
    event: &Result<watcher::Event<K>, watcher::Error>,
) {
    match event {
        Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
            written.seen(
                &super::requeue::Backoff::key(o),
                o.meta().resource_version.as_deref(),
            );
        }
        Ok(watcher::Event::Delete(o)) => written.forget(&super::requeue::Backoff::key(o)),
        _ => {}
    }
}

/// A deleted object as its subscribers are to read it: being deleted, with no finalizer left. The
/// watch's DELETED event carries the object's last stored state, which still lists the finalizer whose
/// removal deleted it (the API server deletes rather than stores an object left with none), so without
/// this a subscriber waiting for "our finalizer is off" never saw it happen. No stored object is in
/// this state ([`super::relations::gone`]).
fn gone<K: Resource>(mut obj: K) -> K {
    let meta = obj.meta_mut();
    meta.finalizers = None;
    if meta.deletion_timestamp.is_none() {
        meta.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ));
    }
    obj
}

/// Drops from a watched object what no reconcile reads and most of its size is: managedFields, and
/// the copy of the whole object `kubectl apply` keeps in an annotation. The caches hold every object
/// of every kind, so this is most of the controller's memory at scale.
///
/// What is left is then copied: a parsed list keeps the capacity its growth left (room for four
/// elements when one came, as serde cannot know a JSON array's length), and a clone allocates each
/// list at its length. A task definition with one container took 6.5 KB of heap parsed and 3.5 KB
/// cloned (its container is 800 bytes, and four were reserved); a FargateService 3.6 and 3.3 KB.
pub(crate) fn lean<K: Resource + Clone>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED_ANNOTATION);
    }
    *obj = obj.clone();
}

/// Objects per page of the watches' lists, and of the lists that confirm a cache's answer.
pub(crate) const LIST_PAGE_SIZE: u32 = 100;

/// Where client-side `kubectl apply` keeps the last applied configuration.
const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

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

/// A failpoint for restart tests: with `ECS_CONTROLLER_DELAY_WATCH=<Kind>:<seconds>` the watch of that
/// kind starts late, so its cache syncs after the other kinds' (as a slow first list would).
fn watch_delay(kind: &str) -> Duration {
    kind_seconds("ECS_CONTROLLER_DELAY_WATCH", kind)
}

/// A failpoint for tests of decisions taken on a cache that lags: with
/// `ECS_CONTROLLER_LAG_WATCH=<Kind>:<seconds>` every change the watch of that kind sees after its first
/// list reaches the cache (and the kind's own controller) that much later, one after the other.
fn watch_lag(kind: &str) -> Duration {
    kind_seconds("ECS_CONTROLLER_LAG_WATCH", kind)
}

/// The seconds of a `<Kind>:<seconds>` environment variable when it names `kind`; zero otherwise.
fn kind_seconds(var: &str, kind: &str) -> Duration {
    std::env::var(var)
        .ok()
        .and_then(|v| {
            let (k, secs) = v.split_once(':')?;
            (k == kind).then(|| secs.parse().ok()).flatten()
        })
        .map(Duration::from_secs)
        .unwrap_or_default()
}

/// A stream that ticks every `period`, starting one period from now.
fn ticks(period: Duration) -> impl futures::Stream<Item = ()> + Send + 'static {
    futures::stream::unfold((), move |()| async move {
        tokio::time::sleep(period).await;
        Some(((), ()))
    })
}

/// [`controller`] with its futures boxed, for the registry of kinds.
pub(super) fn boxed_controller<K: Managed>(
    ctx: Arc<Context>,
    scope: &Scope,
    shutdown: Shutdown,
) -> Controllers {
    let (run, synced) = controller::<K>(ctx, scope, shutdown);
    Controllers {
        run: run.boxed(),
        synced: synced.boxed(),
    }
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
    // Lists in pages, consistent (the API server serves them from its watch cache): a list at
    // `resourceVersion=0` ("any") would come as one body of every object, the controller's largest
    // allocation at start.
    let mut wc = watcher::Config::default().page_size(LIST_PAGE_SIZE);
    if let Some(selector) = &scope.label_selector {
        wc = wc.labels(selector);
    }
    let (reader, writer) = reflector::store();
    // kube-runtime's own limit would serve reconciles first come first served: ours serves changes
    // before resyncs (see `slots`).
    let slots = Slots::new(ctx.config.concurrency);
    // The first complete list (InitDone) means the cache is synced: other kinds' reads wait for it.
    let (first_list, synced_rx) = FirstList::new();
    ctx.stores.set::<K>(reader.clone(), synced_rx.clone());
    let (publisher, cached) = (ctx.feeds.publisher::<K>(), reader.clone());
    let in_scope = scope.clone();
    let api = namespaced_api::<K>(&ctx, scope);
    let (delay, lag) = (watch_delay(&kind), watch_lag(&kind));
    let stream = futures::stream::once(tokio::time::sleep(delay))
        .flat_map(move |()| watcher(api.clone(), wc.clone()))
        .default_backoff()
        .then(move |event| async move {
            if !lag.is_zero() && matches!(event, Ok(watcher::Event::Apply(_) | watcher::Event::Delete(_))) {
                tokio::time::sleep(lag).await;
            }
            event
        })
        .filter(move |event| {
            // With several namespaces the watch covers all of them: drop what is out of scope.
            let keep = match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o) | watcher::Event::Delete(o)) => {
                    in_scope.contains(o.namespace().as_deref())
                }
                _ => true,
            };
            futures::future::ready(keep)
        })
        .modify(lean)
        .reflect(writer)
        .inspect({
            let ctx = ctx.clone();
            move |event| settle_written(&ctx.written, event)
        })
        .inspect(move |event| first_list.see(event))
        .inspect({
            let mut feed = Feed::new(publisher, cached);
            move |event| feed.see(event)
        })
        .applied_objects()
        .predicate_filter(change_key::<K>, Default::default())
        .inspect({
            let slots = slots.clone();
            move |o| {
                if let Ok(o) = o {
                    slots.changed(&slot_key(o));
                }
            }
        });
    let synced_kind = kind.clone();
    let synced = async move {
        FirstList::wait(synced_rx).await;
        tracing::debug!(kind = %synced_kind, "cache synced");
    };
    let period = ctx.config.resync.of::<K>();
    let config = controller::Config::default();
    let resync = {
        let (slots, all) = (slots.clone(), reader.clone());
        ticks(period).inspect(move |()| slots.resync(all.state().iter().map(|o| slot_key(o.as_ref()))))
    };
    let latest = reader.clone();
    let stop = shutdown.clone();
    let run = K::watches(Controller::for_stream(stream, reader), &ctx)
        .with_config(config)
        .reconcile_all_on(resync)
        .graceful_shutdown_on(shutdown)
        .run(
            move |obj, ctx| {
                let (slots, latest, stop) = (slots.clone(), latest.clone(), stop.clone());
                // Its span is made when it starts: kube-runtime runs a task for every reconcile it
                // handed out (all of a resync's, every object's at start), and a span lives in the
                // subscriber's registry with its formatted fields (about 300 bytes) until it ends.
                async move {
                    // On shutdown, a reconcile still waiting for its slot is dropped rather than run:
                    // kube-runtime waits for every reconcile it handed out (all of a resync's), and
                    // the next process (or leader) resyncs anyway.
                    let slot = tokio::select! {
                        slot = slots.take(slot_key(obj.as_ref())) => slot,
                        () = stop => return Ok(controller::Action::await_change()),
                    };
                    // The object may have changed while the reconcile waited for its slot.
                    let Some(obj) = latest.get(&reflector::ObjectRef::from_obj(obj.as_ref())) else {
                        return Ok(controller::Action::await_change());
                    };
                    let span = tracing::info_span!(
                        "reconcile",
                        kind = %K::kind(&()),
                        object = %format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any()),
                        lane = ?slot.lane,
                    );
                    span.in_scope(|| tracing::debug!("reconcile started"));
                    // Boxed: the reconcile's state is allocated when it starts, not while it waits.
                    let reconcile = crate::aws::in_resync(slot.resync_began, reconcile(obj, ctx));
                    crate::aws::in_lane(slot.lane, Box::pin(reconcile))
                        .instrument(span)
                        .await
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta};

    #[test]
    fn a_remembered_status_is_let_go_once_the_cache_holds_the_version_its_write_produced() {
        use crate::api::TaskDefinitionStatus;
        let written = crate::runtime::status::Written::default();
        let at = |version: &str| {
            let mut cm = ConfigMap::default();
            cm.metadata.uid = Some("uid-1".into());
            cm.metadata.resource_version = Some(version.into());
            cm
        };
        written.remember("uid-1", Some("7".into()), TaskDefinitionStatus::default());
        // An older version (the watch is behind the write), and events of other objects: kept.
        settle_written(&written, &Ok(watcher::Event::Apply(at("6"))));
        let mut other = at("7");
        other.metadata.uid = Some("uid-2".into());
        settle_written(&written, &Ok(watcher::Event::Apply(other)));
        assert_eq!(written.len(), 1);
        assert!(
            written
                .recall::<TaskDefinitionStatus>("uid-1", Some("6"))
                .is_some(),
            "still the newest status while the cache is behind"
        );
        // The write's own version reaches the cache: nothing left to remember.
        settle_written(&written, &Ok(watcher::Event::Apply(at("7"))));
        assert_eq!(written.len(), 0);
        // A relist that shows it, or the object's deletion, lets go as well.
        written.remember("uid-1", Some("9".into()), TaskDefinitionStatus::default());
        settle_written(&written, &Ok(watcher::Event::InitApply(at("9"))));
        assert_eq!(written.len(), 0);
        written.remember("uid-1", Some("10".into()), TaskDefinitionStatus::default());
        settle_written(&written, &Ok(watcher::Event::Delete(at("10"))));
        assert_eq!(written.len(), 0);
        // A write whose version is unknown is not let go by a version match.
        written.remember("uid-1", None, TaskDefinitionStatus::default());
        settle_written(
            &written,
            &Ok(watcher::Event::Apply(ConfigMap {
                metadata: ObjectMeta {
                    uid: Some("uid-1".into()),
                    ..ObjectMeta::default()
                },
                ..ConfigMap::default()
            })),
        );
        assert_eq!(written.len(), 1);
    }

    #[test]
    fn a_cached_object_holds_its_lists_at_their_length() {
        use crate::api::TaskDefinition;
        // Parsed from text, as the watches parse (a `serde_json::Value` knows each array's length).
        let mut td: TaskDefinition = serde_json::from_str(
            &serde_json::json!({
                "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
                "metadata": {"name": "web", "finalizers": ["f"]},
                "spec": {"family": "web", "requiresCompatibilities": ["FARGATE"],
                         "containerDefinitions": [{"name": "app", "image": "nginx:1",
                                                   "portMappings": [{"containerPort": 80}]}]}
            })
            .to_string(),
        )
        .expect("a task definition");
        lean(&mut td);
        let container = &td.spec.container_definitions;
        assert_eq!((container.len(), container.capacity()), (1, 1), "containers");
        let ports = &container[0].port_mappings;
        assert_eq!((ports.len(), ports.capacity()), (1, 1), "port mappings");
        let finalizers = td.metadata.finalizers.as_ref().map(|f| (f.len(), f.capacity()));
        assert_eq!(finalizers, Some((1, 1)), "finalizers");
    }

    #[test]
    fn cached_objects_lose_managed_fields_and_the_last_applied_copy_only() {
        let mut cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                annotations: Some(
                    [
                        (LAST_APPLIED_ANNOTATION.to_string(), "{\"big\": true}".to_string()),
                        (RECONCILE_REQUESTED_ANNOTATION.to_string(), "1".to_string()),
                    ]
                    .into(),
                ),
                managed_fields: Some(vec![ManagedFieldsEntry::default(); 3]),
                finalizers: Some(vec!["f".into()]),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        lean(&mut cm);
        assert_eq!(cm.metadata.managed_fields, None);
        let annotations = cm.metadata.annotations.unwrap_or_default();
        assert_eq!(annotations.len(), 1);
        assert_eq!(
            annotations
                .get(RECONCILE_REQUESTED_ANNOTATION)
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(cm.metadata.finalizers, Some(vec!["f".to_string()]));
    }

    #[test]
    fn a_deleted_object_reaches_the_subscribers_gone_though_its_last_state_lists_our_finalizer() {
        use crate::api::{FINALIZER, FargateService, FargateServiceSpec};
        use futures::StreamExt as _;
        let feeds = crate::runtime::cache::Feeds::default();
        let mut subscriber = feeds.subscribe::<FargateService>();
        let (cached, _writer) = reflector::store::<FargateService>();
        let mut feed = Feed::new(feeds.publisher::<FargateService>(), cached);
        // What kube-apiserver 1.35 sends when our finalizer's removal deleted the object: its last
        // stored state, deletion timestamp and our finalizer included.
        let named = |name: &str| Some(crate::api::service::LocalRef { name: name.into() });
        let mut last = FargateService::new(
            "web",
            FargateServiceSpec {
                cluster_ref: named("main"),
                task_definition_ref: named("web"),
                ..FargateServiceSpec::default()
            },
        );
        last.metadata.namespace = Some("shop".into());
        last.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
        last.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        feed.see(&Ok(watcher::Event::Delete(last.clone())));
        let published = futures::executor::block_on(subscriber.next());
        let published = published.as_deref().map(|s| &s.metadata);
        assert!(
            published.is_some_and(super::super::relations::gone),
            "{published:?}"
        );
        // The cluster and the task definition it kept are woken by it.
        let published = futures::executor::block_on(async {
            feed.see(&Ok(watcher::Event::Delete(last)));
            subscriber.next().await
        });
        let published = published.as_deref();
        assert!(
            published
                .and_then(super::super::relations::cluster_freed_by)
                .is_some()
        );
        assert!(
            published
                .and_then(super::super::relations::task_definition_freed_by)
                .is_some()
        );
    }

    #[test]
    fn a_relist_passes_on_what_it_listed_and_what_went_while_the_watch_was_down_as_gone() {
        use crate::api::{FargateService, FargateServiceSpec};
        use futures::StreamExt as _;
        let feeds = crate::runtime::cache::Feeds::default();
        let subscriber = feeds.subscribe::<FargateService>();
        let (cached, mut writer) = reflector::store::<FargateService>();
        let mut feed = Feed::new(feeds.publisher::<FargateService>(), cached);
        let service = |name: &str, desired: i32| {
            let mut s = FargateService::new(
                name,
                FargateServiceSpec {
                    desired_count: Some(desired),
                    ..FargateServiceSpec::default()
                },
            );
            s.metadata.namespace = Some("shop".into());
            s.metadata.uid = Some(format!("uid-{name}"));
            s
        };
        // As `reflect` then `inspect` do: the cache applies each event, then the feed sees it.
        let mut watch = |event: watcher::Event<FargateService>| {
            writer.apply_watcher_event(&event);
            feed.see(&Ok(event));
        };
        for event in [
            watcher::Event::Init,
            watcher::Event::InitApply(service("a", 1)),
            watcher::Event::InitApply(service("b", 1)),
            watcher::Event::InitDone,
        ] {
            watch(event);
        }
        // The watch lost its place; meanwhile `a` changed and `b` was deleted.
        for event in [
            watcher::Event::Init,
            watcher::Event::InitApply(service("a", 3)),
            watcher::Event::InitDone,
        ] {
            watch(event);
        }
        drop(feed);
        drop(feeds);
        let published: Vec<_> = futures::executor::block_on(subscriber.collect::<Vec<_>>());
        let seen: Vec<(String, Option<i32>, bool)> = published
            .iter()
            .map(|s| {
                (
                    s.metadata.name.clone().unwrap_or_default(),
                    s.spec.desired_count,
                    super::super::relations::gone(&s.metadata),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("a".to_string(), Some(1), false),
                ("b".to_string(), Some(1), false),
                ("a".to_string(), Some(3), false),
                ("b".to_string(), Some(1), true),
            ]
        );
    }
}
