//! Reads of AWS state (moto's) that tests assert on and that more than one test file needs: the truth
//! the controller's status is checked against.

use anyhow::Result;
use aws_sdk_ecs::types::Service;

/// The ECS service `name` in `cluster` (a name or an ARN), with its tags; `None` when ECS has none.
pub async fn describe_service(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await?;
    Ok(out.services().first().cloned())
}
