//! Reads of related objects from the controllers' own caches (the reflector stores every kind's
//! controller keeps anyway) instead of the API server: a resync of N services then costs no API reads,
//! and their AWS lookups start together, so they batch.
//!
//! A cache can lag the API server by a watch event. Reads that decide to wait (a dependency not Ready
//! yet) confirm with the API server before waiting; deletion paths, where a stale answer could leak or
//! remove something, always ask the API server.
//!
//! [`Feeds`] pass each kind's watch events on to the other kinds' controllers, so that nothing is
//! watched twice.

use super::{Context, Error};
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender};
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// The store of each kind, registered by the runner as it builds the controllers, with whether it
/// holds its first complete list yet. kube-runtime holds a controller only until its own store is
/// ready; a read of another kind's store must wait for that one too, or a reconcile right after a
/// start or a leader change sees an empty list (no scaling policy, no services) and acts on it.
#[derive(Default)]
pub struct Stores {
    by_kind: RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
    /// The latest list from the API server per (kind, namespace), shared by callers that asked while
    /// it was being made or before it started (see [`list_from_api`]).
    confirmations: Mutex<HashMap<(TypeId, String), ConfirmationSlot>>,
}

/// The last list of one (kind, namespace), locked while a new one is being made.
type ConfirmationSlot = Arc<tokio::sync::Mutex<Option<Confirmed>>>;

/// One list from the API server: when it started, and its objects while any caller still holds them.
struct Confirmed {
    started: tokio::time::Instant,
    objects: Box<dyn Any + Send + Sync>,
}

/// A kind's store and its synced flag.
struct Entry<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static> {
    store: Store<K>,
    synced: tokio::sync::watch::Receiver<bool>,
}

impl Stores {
    /// Registers kind `K`'s store; `synced` turns true once it holds its first complete list.
    pub fn set<K>(&self, store: Store<K>, synced: tokio::sync::watch::Receiver<bool>)
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.by_kind
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(TypeId::of::<K>(), Box::new(Entry { store, synced }));
    }

    fn entry<K>(&self) -> Option<(Store<K>, tokio::sync::watch::Receiver<bool>)>
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.by_kind
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&TypeId::of::<K>())
            .and_then(|s| s.downcast_ref::<Entry<K>>())
            .map(|e| (e.store.clone(), e.synced.clone()))
    }

    /// Kind `K`'s store once it is synced: waits up to `wait` for the first complete list; `None`
    /// when there is no store or it is still not synced (the caller asks the API server instead).
    pub async fn synced<K>(&self, wait: Duration) -> Option<Store<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        let (store, mut synced) = self.entry::<K>()?;
        if *synced.borrow() {
            return Some(store);
        }
        match tokio::time::timeout(wait, synced.wait_for(|s| *s)).await {
            Ok(Ok(_)) => Some(store),
            _ => None,
        }
    }
}

/// Whether a watch's cache holds its first complete list: [`FirstList::see`] each event after the
/// store took it (on InitDone the store holds the whole list); [`FirstList::wait`] resolves then. The
/// store's own `wait_until_ready` serves one waiter at a time, and the controller already waits on it.
pub(crate) struct FirstList(tokio::sync::watch::Sender<bool>);

impl FirstList {
    /// The flag, and a receiver for [`Stores::set`] or [`FirstList::wait`].
    pub(crate) fn new() -> (Self, tokio::sync::watch::Receiver<bool>) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (Self(tx), rx)
    }

    pub(crate) fn see<K>(
        &self,
        event: &Result<kube::runtime::watcher::Event<K>, kube::runtime::watcher::Error>,
    ) {
        if matches!(event, Ok(kube::runtime::watcher::Event::InitDone)) {
            self.0.send_replace(true);
        }
    }

    /// Resolves once the first complete list is in.
    pub(crate) async fn wait(mut synced: tokio::sync::watch::Receiver<bool>) {
        let _ = synced.wait_for(|s| *s).await;
    }
}

/// How long a read of another kind waits for that kind's cache to sync before asking the API server.
pub(crate) const SYNC_WAIT: Duration = Duration::from_secs(10);

impl Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

/// Each kind's watch events, passed on to the controllers of other kinds that react to them (a
/// cluster waiting for its services to go, say). Every kind is then listed, watched, decoded and
/// cached once, however many controllers look at it: with its own watches, each of those would
/// list and decode every object again.
#[derive(Default)]
pub struct Feeds {
    by_kind: Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

type Subscribers<K> = Arc<Mutex<Vec<UnboundedSender<Arc<K>>>>>;

impl Feeds {
    fn subscribers<K: Send + Sync + 'static>(&self) -> Subscribers<K> {
        self.by_kind
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(TypeId::of::<K>())
            .or_insert_with(|| Box::new(Subscribers::<K>::default()))
            .downcast_ref::<Subscribers<K>>()
            .cloned()
            .unwrap_or_default()
    }

    /// Every object of kind `K` the watch sees from now on: created, changed, and deleted (the
    /// object as it was last seen).
    pub fn subscribe<K: Send + Sync + 'static>(&self) -> UnboundedReceiver<Arc<K>> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        self.subscribers::<K>()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tx);
        rx
    }

    /// The sending side of kind `K`'s feed, for its watch.
    pub fn publisher<K: Send + Sync + 'static>(&self) -> Publisher<K> {
        Publisher(self.subscribers::<K>())
    }
}

impl Debug for Feeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Feeds")
    }
}

/// Passes one kind's objects to its subscribers.
pub struct Publisher<K>(Subscribers<K>);

impl<K> Publisher<K> {
    /// Whether anyone listens (so the watch need not look the object up).
    pub fn is_wanted(&self) -> bool {
        !self.0.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    pub fn publish(&self, obj: &Arc<K>) {
        let mut subscribers = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A subscriber that has stopped (its controller shut down) is dropped.
        subscribers.retain(|tx| tx.unbounded_send(obj.clone()).is_ok());
    }
}

/// Kinds the caches serve.
pub trait Cached:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}
impl<K> Cached for K where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// `namespace/name` from the cache when `usable` accepts what the cache holds, else from the API server
/// (so a cache that lags never makes a reconcile wait for something that already happened).
pub async fn get<K: Cached>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    usable: impl Fn(&K) -> bool,
) -> Result<Option<K>, Error> {
    if let Some(store) = ctx.stores.synced::<K>(SYNC_WAIT).await
        && let Some(obj) = store.get(&ObjectRef::new(name).within(namespace))
        && usable(&obj)
    {
        return Ok(Some(obj.as_ref().clone()));
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api.get_opt(name).await?)
}

/// Every object of the kind in `namespace`, from the cache once it is synced (from the API server
/// before: an unsynced cache would answer "none"). A destructive decision taken on an empty answer
/// confirms it with [`list_from_api`].
pub async fn list<K: Cached>(ctx: &Context, namespace: &str) -> Result<Vec<Arc<K>>, Error> {
    if let Some(store) = ctx.stores.synced::<K>(SYNC_WAIT).await {
        return Ok(store
            .state()
            .into_iter()
            .filter(|o| o.namespace().as_deref() == Some(namespace))
            .collect());
    }
    Ok(list_from_api(ctx, namespace).await?.as_ref().clone())
}

/// Every object of the kind in `namespace`, from the API server, lean: for the empty answers a
/// deletion or a reset would act on. See [`confirmed`].
pub async fn list_from_api<K: Cached>(ctx: &Context, namespace: &str) -> Result<Arc<Vec<Arc<K>>>, Error> {
    confirmed::<Whole<K>>(ctx, namespace).await
}

/// What a list from the API server keeps of each object, as it reads it: a decision that reads a field
/// or two of every object need not hold a namespace of whole objects (a deletion of N task definitions
/// holds several of these lists at once, each of N services).
pub trait Keep: Send + Sync + 'static {
    /// The kind listed.
    type Of: Cached;
    /// What is kept of each object.
    type Kept: Send + Sync + 'static;
    /// The part of `obj` kept, `None` to keep nothing of it.
    fn keep(obj: Self::Of) -> Option<Self::Kept>;
}

/// Each object whole, but lean (see [`super::runner::lean`]).
pub struct Whole<K>(std::marker::PhantomData<K>);

impl<K: Cached> Keep for Whole<K> {
    type Of = K;
    type Kept = Arc<K>;
    fn keep(mut obj: K) -> Option<Arc<K>> {
        super::runner::lean(&mut obj);
        Some(Arc::new(obj))
    }
}

/// What `P` keeps of every object of its kind in `namespace`, from the API server. Callers at the same
/// moment share one list: a caller takes the answer of a list that started no earlier than it asked (as
/// fresh as its own would be), so many reconciles deciding together (a mass deletion) cost one list
/// per wave instead of one each. The answer is kept only while a caller holds it.
pub async fn confirmed<P: Keep>(ctx: &Context, namespace: &str) -> Result<Arc<Vec<P::Kept>>, Error> {
    let asked = tokio::time::Instant::now();
    let slot = ctx
        .stores
        .confirmations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry((TypeId::of::<P>(), namespace.to_string()))
        .or_default()
        .clone();
    let mut last = slot.lock().await;
    if let Some(done) = last.as_ref()
        && done.started >= asked
        && let Some(kept) = done
            .objects
            .downcast_ref::<std::sync::Weak<Vec<P::Kept>>>()
            .and_then(std::sync::Weak::upgrade)
    {
        return Ok(kept);
    }
    let started = tokio::time::Instant::now();
    let kept = Arc::new(list_pages::<P>(ctx, namespace).await?);
    // Kept only while a caller still holds it: no copy of a whole namespace stays behind.
    *last = Some(Confirmed {
        started,
        objects: Box::new(Arc::downgrade(&kept)),
    });
    Ok(kept)
}

/// What `P` keeps of every object of its kind in `namespace`, read a page at a time, each object
/// reduced as it is parsed: the API server sends managedFields and `kubectl apply`'s copy of the object
/// with each, most of its size once parsed, and `Api::list` would parse a whole namespace of them
/// before any could be dropped (2 MB of a 6.4 MB heap peak deleting 100 services and their task
/// definitions at once).
async fn list_pages<P: Keep>(ctx: &Context, namespace: &str) -> Result<Vec<P::Kept>, Error> {
    let url = Api::<P::Of>::namespaced(ctx.client.clone(), namespace)
        .resource_url()
        .to_string();
    let mut kept = Vec::new();
    let mut continue_token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(super::runner::LIST_PAGE_SIZE);
        params.continue_token = continue_token.take();
        let mut request = kube::core::Request::new(url.as_str())
            .list(&params)
            .map_err(kube::Error::BuildRequest)?;
        request.extensions_mut().insert("list");
        let page: Page<P> = ctx.client.request(request).await?;
        kept.extend(page.items.map(|i| i.0).unwrap_or_default());
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => continue_token = Some(token),
            _ => return Ok(kept),
        }
    }
}

/// A page of a list, what `P` keeps of its objects taken one by one as they are parsed.
#[derive(serde::Deserialize)]
#[serde(bound = "P: Keep")]
struct Page<P: Keep> {
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta,
    /// `null` in a list of nothing from some API servers.
    #[serde(default)]
    items: Option<Items<P>>,
}

struct Items<P: Keep>(Vec<P::Kept>);

impl<'de, P: Keep> serde::Deserialize<'de> for Items<P> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Each<P>(std::marker::PhantomData<P>);
        impl<'de, P: Keep> serde::de::Visitor<'de> for Each<P> {
            type Value = Items<P>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of objects")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut kept = Vec::new();
                while let Some(obj) = seq.next_element::<P::Of>()? {
                    kept.extend(P::keep(obj));
                }
                Ok(Items(kept))
            }
        }
        deserializer.deserialize_seq(Each(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test(start_paused = true)]
    async fn another_kinds_store_is_read_only_once_synced() {
        use k8s_openapi::api::core::v1::ConfigMap;
        let stores = Stores::default();
        let wait = Duration::from_secs(10);
        assert!(stores.synced::<ConfigMap>(wait).await.is_none(), "no store yet");
        let (reader, _writer) = kube::runtime::reflector::store::<ConfigMap>();
        let (tx, rx) = tokio::sync::watch::channel(false);
        stores.set::<ConfigMap>(reader, rx);
        let started = tokio::time::Instant::now();
        assert!(
            stores.synced::<ConfigMap>(wait).await.is_none(),
            "an unsynced store is not read"
        );
        assert_eq!(started.elapsed(), wait, "it waited for the sync first");
        // A reader waiting when the first list completes gets the store at once.
        let waiting = stores.synced::<ConfigMap>(wait);
        let sync = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.send_replace(true);
        };
        let started = tokio::time::Instant::now();
        let (store, ()) = futures::join!(waiting, sync);
        assert!(store.is_some());
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_feed_reaches_every_subscriber_and_forgets_those_that_stopped() {
        let feeds = Feeds::default();
        let publisher = feeds.publisher::<String>();
        assert!(!publisher.is_wanted(), "nobody listens yet");
        let mut a = feeds.subscribe::<String>();
        let b = feeds.subscribe::<String>();
        // Another kind's feed is separate.
        let mut other = feeds.subscribe::<u32>();
        assert!(publisher.is_wanted());
        publisher.publish(&Arc::new("one".to_string()));
        drop(b);
        publisher.publish(&Arc::new("two".to_string()));
        assert_eq!(a.next().await.as_deref().map(String::as_str), Some("one"));
        assert_eq!(a.next().await.as_deref().map(String::as_str), Some("two"));
        assert_eq!(
            publisher.0.lock().map(|s| s.len()).unwrap_or_default(),
            1,
            "b was dropped"
        );
        drop(feeds);
        drop(publisher);
        assert_eq!(a.next().await, None, "the feed ends with its publisher");
        assert_eq!(other.next().await, None);
    }
}
