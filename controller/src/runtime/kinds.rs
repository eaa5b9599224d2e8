//! THE list of kinds. Everything that enumerates kinds is derived from [`all`]: the controllers the
//! runner starts, the resync flags (`--<kind>-resync-period`), the CRDs (`ecs-controller crd`), the
//! declared AWS operations (metrics, IAM policy check), and the kind lists of the tests. Adding a kind
//! is one line here (plus its `api/` file, its `kinds/` folder, its relations and its operations).

use super::runner::{self, Scope, Shutdown};
use super::{Context, Managed};
use crate::api::{EcsCluster, FargateService, FargateTask, ScalingPolicy, TaskDefinition};
use crate::aws::operations::Operation;
use futures::future::BoxFuture;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResourceExt, Resource};
use std::sync::Arc;
use std::time::Duration;

/// Every kind the controller manages, in a stable order (the order of `crds/`).
pub fn all() -> Vec<KindInfo> {
    vec![
        KindInfo::of::<EcsCluster>(),
        KindInfo::of::<TaskDefinition>(),
        KindInfo::of::<FargateService>(),
        KindInfo::of::<ScalingPolicy>(),
        KindInfo::of::<FargateTask>(),
        KindInfo::profile(),
    ]
}

/// What the rest of the program needs to know of one kind.
#[derive(Clone)]
pub struct KindInfo {
    /// `EcsCluster`.
    pub kind: String,
    /// `ecsclusters`.
    pub plural: String,
    /// `cluster`: the kind's short name in flags (`--cluster-resync-period`) and file names.
    pub name: &'static str,
    /// Default resync period as a multiple of `--resync-period`.
    pub resync_factor: u32,
    /// The AWS operations its reconciles may call.
    pub operations: &'static [Operation],
    /// Its CustomResourceDefinition.
    pub crd: fn() -> CustomResourceDefinition,
    controller: fn(Arc<Context>, &Scope, Shutdown) -> Controllers,
}

/// A kind's controller: the future that runs it, and one that resolves when its cache is synced.
pub struct Controllers {
    pub run: BoxFuture<'static, ()>,
    pub synced: BoxFuture<'static, ()>,
}

impl KindInfo {
    /// FargateProfile: cluster-scoped and owning nothing in AWS, so it has its own small controller
    /// (status only) instead of the shared engine.
    fn profile() -> Self {
        use crate::api::profile::FargateProfile;
        Self {
            kind: FargateProfile::kind(&()).into_owned(),
            plural: FargateProfile::plural(&()).into_owned(),
            name: crate::kinds::profile::NAME,
            resync_factor: 1,
            operations: &[],
            crd: crate::kinds::profile::crd,
            controller: crate::kinds::profile::controller,
        }
    }

    fn of<K: Managed + CustomResourceExt>() -> Self {
        Self {
            kind: K::kind(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            name: K::NAME,
            resync_factor: K::RESYNC_FACTOR,
            operations: K::OPERATIONS,
            crd: K::crd,
            controller: runner::boxed_controller::<K>,
        }
    }

    /// Builds the kind's controller.
    pub fn controller(&self, ctx: Arc<Context>, scope: &Scope, shutdown: Shutdown) -> Controllers {
        (self.controller)(ctx, scope, shutdown)
    }

    /// The flag that overrides the kind's resync period.
    pub fn resync_flag(&self) -> String {
        format!("{}-resync-period", self.name)
    }

    /// The resync period when its flag is not given.
    pub fn default_resync(&self, base: Duration) -> Duration {
        base.saturating_mul(self.resync_factor)
    }
}

impl std::fmt::Debug for KindInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KindInfo")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::operations::ALL;
    use std::collections::BTreeSet;

    #[test]
    fn kinds_have_distinct_names_flags_and_plurals() {
        let kinds = all();
        let distinct = |f: fn(&KindInfo) -> String| kinds.iter().map(f).collect::<BTreeSet<_>>().len();
        assert_eq!(distinct(|k| k.kind.clone()), kinds.len());
        assert_eq!(distinct(|k| k.plural.clone()), kinds.len());
        assert_eq!(distinct(|k| k.name.to_string()), kinds.len());
        for k in &kinds {
            let kebab = k.name.chars().all(|c| c.is_ascii_lowercase() || c == '-');
            assert!(kebab && !k.name.is_empty(), "{k:?}: a flag-safe name");
            assert!(k.resync_factor >= 1, "{k:?}");
            assert_eq!((k.crd)().spec.names.kind, k.kind);
        }
    }

    #[test]
    fn every_operation_is_declared_by_some_kind_and_every_declaration_is_an_operation() {
        let declared: BTreeSet<_> = all().iter().flat_map(|k| k.operations.iter().copied()).collect();
        let known: BTreeSet<_> = ALL.iter().copied().collect();
        assert_eq!(declared, known);
    }
}
