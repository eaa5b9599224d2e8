//! Reads of related objects from the controllers' own caches (the reflector stores every kind's
//! controller keeps anyway) instead of the API server: a resync of N services then costs no API reads,
//! and their AWS lookups start together, so they batch.
//!
//! A cache can lag the API server by a watch event. Reads that decide to wait (a dependency not Ready
//! yet) confirm with the API server before waiting; deletion paths, where a stale answer could leak or
//! remove something, always ask the API server.

use super::{Context, Error};
use kube::api::{Api, ListParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, PoisonError, RwLock};

/// The store of each kind, registered by the runner as it builds the controllers.
#[derive(Default)]
pub struct Stores {
    by_kind: RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>,
}

impl Stores {
    pub fn set<K>(&self, store: Store<K>)
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.by_kind
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(TypeId::of::<K>(), Box::new(store));
    }

    pub fn get<K>(&self) -> Option<Store<K>>
    where
        K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
    {
        self.by_kind
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&TypeId::of::<K>())
            .and_then(|s| s.downcast_ref::<Store<K>>())
            .cloned()
    }
}

impl Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
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
    if let Some(store) = ctx.stores.get::<K>()
        && let Some(obj) = store.get(&ObjectRef::new(name).within(namespace))
        && usable(&obj)
    {
        return Ok(Some(obj.as_ref().clone()));
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api.get_opt(name).await?)
}

/// Every object of the kind in `namespace`, from the cache (from the API server before the cache
/// exists).
pub async fn list<K: Cached>(ctx: &Context, namespace: &str) -> Result<Vec<Arc<K>>, Error> {
    if let Some(store) = ctx.stores.get::<K>() {
        return Ok(store
            .state()
            .into_iter()
            .filter(|o| o.namespace().as_deref() == Some(namespace))
            .collect());
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(Arc::new)
        .collect())
}
