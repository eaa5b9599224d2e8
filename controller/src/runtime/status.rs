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

/// Writes `new` as the object's status unless it equals `old`.
pub async fn write<K, S>(api: &Api<K>, obj: &K, old: &S, new: S) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug,
    S: ManagedStatus,
{
    if &new == old {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": new,
    });
    METRICS.kube_write(&K::kind(&()), KubeWrite::status_patch);
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(patch),
    )
    .await?;
    Ok(())
}
