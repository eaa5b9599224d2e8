//! The checked-in CRDs are exactly what the code generates.

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
