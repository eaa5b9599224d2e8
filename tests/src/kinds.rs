//! What the controller serves and calls, as the tests need it, derived from the controller's own
//! registry of kinds (`ecs_controller::runtime::kinds`) and its list of AWS operations
//! (`ecs_controller::aws::operations`): the tests that check the CRDs, the chart's RBAC, the Argo CD
//! health checks, the bad-input corpus and the AWS calls follow a new kind without an edit here.

use ecs_controller::aws::operations;
use ecs_controller::runtime::kinds;

/// The API group of every kind.
pub fn group() -> String {
    ecs_controller::api::crds()
        .first()
        .map(|crd| crd.spec.group.clone())
        .unwrap_or_default()
}

/// The kinds, in the registry's (dependency) order.
pub fn kinds() -> Vec<String> {
    kinds::all().into_iter().map(|k| k.kind).collect()
}

/// The kinds' resource plurals, in the order of [`kinds()`] (RBAC rules name them).
pub fn plurals() -> Vec<String> {
    kinds::all().into_iter().map(|k| k.plural).collect()
}

/// The plurals of the namespaced kinds (the workloads; RBAC grants them per namespace when asked).
pub fn namespaced_plurals() -> Vec<String> {
    kinds::all()
        .into_iter()
        .filter(|k| (k.crd)().spec.scope == "Namespaced")
        .map(|k| k.plural)
        .collect()
}

/// The CRD names (`<plural>.<group>`), which `make e2e` installs once and every test shares.
pub fn crd_names() -> Vec<String> {
    let group = group();
    plurals().into_iter().map(|p| format!("{p}.{group}")).collect()
}

/// The bad-input corpus directory of each kind: (`tests/corpus/<name>`, kind).
pub fn corpus_dirs() -> Vec<(&'static str, String)> {
    kinds::all().into_iter().map(|k| (k.name, k.kind)).collect()
}

/// Every AWS operation the controller may call that changes something.
pub fn mutating_aws_operations() -> Vec<&'static str> {
    operations::ALL
        .iter()
        .filter(|o| o.mutating)
        .map(|o| o.name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_agree_with_the_crds_the_controller_prints() {
        let crds = ecs_controller::api::crds();
        let names: Vec<String> = crds.iter().filter_map(|c| c.metadata.name.clone()).collect();
        assert_eq!(crd_names(), names);
        assert_eq!(
            kinds(),
            crds.iter().map(|c| c.spec.names.kind.clone()).collect::<Vec<_>>()
        );
        assert_eq!(group(), "ecs.kubefargate.dev");
    }

    #[test]
    fn every_corpus_directory_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for (dir, kind) in corpus_dirs() {
            assert!(root.join(dir).is_dir(), "tests/corpus/{dir} for {kind}");
        }
    }
}
