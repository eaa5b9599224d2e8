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

/// The ARNs of the tasks started with `started_by` in `cluster`, as ListTasks gives them. (moto lists
/// stopped tasks too, and ListTasks does not move a task along its lifecycle as DescribeTasks does.)
pub async fn tasks_started_by(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut next = None;
    loop {
        let page = ecs
            .list_tasks()
            .cluster(cluster)
            .started_by(started_by)
            .set_next_token(next)
            .send()
            .await?;
        arns.extend(page.task_arns().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(arns),
        }
    }
}
