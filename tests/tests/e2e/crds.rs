//! The checked-in CRDs and API reference are exactly what the code generates.

use std::path::PathBuf;

#[test]
fn checked_in_crds_are_current() -> anyhow::Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds/ecs.kubefargate.dev.yaml");
    let on_disk = std::fs::read_to_string(&path)?;
    let generated = ecs_controller::api::crds_yaml()?;
    assert!(
        on_disk == generated,
        "{} is stale: run `make crds` and commit the result",
        path.display()
    );
    Ok(())
}

#[test]
fn checked_in_api_reference_is_current() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("docs/api-reference.md");
    let on_disk = std::fs::read_to_string(&path)?;
    let examples = ecs_controller::api::reference::examples_in(&root.join("examples"))?;
    let generated = ecs_controller::api::reference::markdown(&examples);
    assert!(
        on_disk == generated,
        "{} is stale: run `make crds` and commit the result",
        path.display()
    );
    Ok(())
}
