//! Status bookkeeping shared by every kind: conditions merged with their transition times, the observed
//! generation, and the write itself, server-side apply under one field manager, only when it changed.

use super::FIELD_MANAGER;
use crate::api::Condition;
use crate::api::conditions::merge;
use crate::metrics::{KubeWrite, METRICS};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// The parts of a status the shared reconcile maintains.
pub trait ManagedStatus: Serialize + Clone + Default + PartialEq + Debug + Send + Sync + 'static {
    fn conditions(&self) -> &[Condition];
    fn set_conditions(&mut self, conditions: Vec<Condition>);
    fn set_observed_generation(&mut self, generation: Option<i64>);
    fn set_last_handled_reconcile_at(&mut self, value: Option<String>);
    /// The AWS account the object's resources live in (recorded at its first successful reconcile).
    fn account_id(&self) -> Option<&str>;
    fn set_account_id(&mut self, account: Option<String>);
}

/// Implements [`ManagedStatus`] for status structs with the standard field names.
#[macro_export]
macro_rules! managed_status {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::runtime::status::ManagedStatus for $t {
            fn conditions(&self) -> &[$crate::api::Condition] {
                &self.conditions
            }
            fn set_conditions(&mut self, conditions: Vec<$crate::api::Condition>) {
                self.conditions = conditions;
            }
            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.observed_generation = generation;
            }
            fn set_last_handled_reconcile_at(&mut self, value: Option<String>) {
                self.last_handled_reconcile_at = value;
            }
            fn account_id(&self) -> Option<&str> {
                self.account_id.as_deref()
            }
            fn set_account_id(&mut self, account: Option<String>) {
                self.account_id = account;
            }
        }
    )+};
}

/// Puts freshly computed conditions (and the generation and request they answer) into `status`.
pub fn stamp<S: ManagedStatus>(
    status: &mut S,
    next: Vec<Condition>,
    generation: Option<i64>,
    handled: Option<String>,
) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let merged = merge(status.conditions(), next, generation, &now);
    status.set_conditions(merged);
    status.set_observed_generation(generation);
    if handled.is_some() {
        status.set_last_handled_reconcile_at(handled);
    }
}

/// The status each object was last written with, kept until the watch cache shows that write.
///
/// A reconcile reads its object from the cache, which may not have seen the status the previous
/// reconcile wrote a moment ago (a requeue can come before the watch event). Built on that stale
/// status, the next write would drop what the previous one recorded (a failed revision, a task just
/// launched). Only this process writes these statuses (and it exits when it stops leading), so the
/// status it wrote last is the newest there is: [`Written::recall`] returns it until the cached
/// object carries the resourceVersion that write produced.
#[derive(Default)]
pub struct Written(std::sync::Mutex<std::collections::HashMap<String, Entry>>);

struct Entry {
    resource_version: Option<String>,
    status: Box<dyn std::any::Any + Send + Sync>,
}

impl Written {
    /// The status last written for `key`, unless the cache (at `cached_version`) already holds it.
    pub fn recall<S: ManagedStatus>(&self, key: &str, cached_version: Option<&str>) -> Option<S> {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = map.get(key)?;
        if entry.resource_version.is_none() || entry.resource_version.as_deref() == cached_version {
            map.remove(key);
            return None;
        }
        entry.status.downcast_ref::<S>().cloned()
    }

    /// Records the status written for `key` and the resourceVersion the write produced.
    pub fn remember<S: ManagedStatus>(&self, key: &str, resource_version: Option<String>, status: S) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.insert(
            key.to_string(),
            Entry {
                resource_version,
                status: Box::new(status),
            },
        );
    }

    /// The watch cache now holds `key` at `resource_version`: a status remembered from the write that
    /// produced that version is no longer needed. Without this, the status of every object written
    /// once stayed here until its next reconcile (its kind's resync, minutes away): a second copy of
    /// every status in the process.
    pub fn seen(&self, key: &str, resource_version: Option<&str>) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = map.get(key)
            && entry.resource_version.is_some()
            && entry.resource_version.as_deref() == resource_version
        {
            map.remove(key);
        }
    }

    /// Forgets `key` (its object is gone).
    pub fn forget(&self, key: &str) {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.remove(key);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().map(|m| m.len()).unwrap_or_default()
    }
}

/// Writes `new` as the object's status unless it equals `old`; returns the resourceVersion of the
/// object after the write (`None` when nothing was written).
pub async fn write<K, S>(api: &Api<K>, obj: &K, old: &S, new: S) -> Result<Option<String>, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    S: ManagedStatus,
{
    if &new == old {
        return Ok(None);
    }
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    METRICS.kube_write(&K::kind(&()), KubeWrite::status_patch);
    let written = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(patch),
        )
        .await?;
    Ok(Some(written.meta().resource_version.clone().unwrap_or_default()))
}
