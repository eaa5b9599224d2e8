//! What a TaskDefinition reads of other objects: the revisions of its family that FargateServices run
//! or pin, and that unfinished FargateTasks run, which are never deregistered while so.

use crate::api::{FargateService, FargateTask, TaskDefinition};
use crate::runtime::{Context, Error, cache, relations};
use kube::ResourceExt;
use std::collections::BTreeSet;

/// Revisions of `family` that FargateServices in the namespace run or pin, or FargateTasks run, from
/// the caches (an API list per TaskDefinition made deleting N of them cost N lists of N services).
pub(super) async fn revisions_in_use(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = cache::list::<FargateService>(ctx, &ns).await?;
    let tasks = cache::list::<FargateTask>(ctx, &ns).await?;
    Ok(in_use(&services, &tasks, family))
}

/// [`revisions_in_use`], from the API server: before revisions are deregistered on the cache's word
/// (a service created a moment ago may not be in the cache yet). Lists of the moment are shared, and
/// keep only the task definition ARNs of each object: a mass deletion holds several at once.
pub(super) async fn revisions_in_use_confirmed(
    ctx: &Context,
    obj: &TaskDefinition,
    family: &str,
) -> Result<BTreeSet<i32>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let by_services = cache::confirmed::<ArnsOf<FargateService>>(ctx, &ns).await?;
    let mut in_use = relations::revisions_of_family(by_services.iter().flatten().map(String::as_str), family);
    drop(by_services);
    let by_tasks = cache::confirmed::<ArnsOf<FargateTask>>(ctx, &ns).await?;
    in_use.extend(relations::revisions_of_family(
        by_tasks.iter().flatten().map(String::as_str),
        family,
    ));
    Ok(in_use)
}

fn in_use(
    services: &[std::sync::Arc<FargateService>],
    tasks: &[std::sync::Arc<FargateTask>],
    family: &str,
) -> BTreeSet<i32> {
    let mut in_use = relations::revisions_in_use(services.iter().map(AsRef::as_ref), family);
    in_use.extend(relations::revisions_run_by_tasks(
        tasks.iter().map(AsRef::as_ref),
        family,
    ));
    in_use
}

/// What a confirming list keeps of a FargateService or FargateTask: the task definition ARNs it runs
/// or names (a FargateTask's, only until it finishes).
struct ArnsOf<K>(std::marker::PhantomData<K>);

impl cache::Keep for ArnsOf<FargateService> {
    type Of = FargateService;
    type Kept = Vec<String>;
    fn keep(service: FargateService) -> Option<Vec<String>> {
        owned(relations::task_definitions_of_service(&service))
    }
}

impl cache::Keep for ArnsOf<FargateTask> {
    type Of = FargateTask;
    type Kept = Vec<String>;
    fn keep(task: FargateTask) -> Option<Vec<String>> {
        owned(relations::task_definitions_of_task(&task))
    }
}

/// The ARNs, owned; `None` for none (nothing kept of the object).
fn owned<'a>(arns: impl Iterator<Item = &'a str>) -> Option<Vec<String>> {
    let arns: Vec<String> = arns.map(String::from).collect();
    (!arns.is_empty()).then_some(arns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::engine::fixtures::{Expect, Harness};
    use serde_json::{Value, json};

    const SERVICES: &str = "/apis/ecs.kubefargate.dev/v1alpha1/namespaces/ns/fargateservices";
    const TASKS: &str = "/apis/ecs.kubefargate.dev/v1alpha1/namespaces/ns/fargatetasks";

    fn arn(family: &str, revision: u32) -> String {
        format!("arn:aws:ecs:eu-west-1:111111111111:task-definition/{family}:{revision}")
    }

    fn list(kind: &str, items: Vec<Value>, next: Option<&str>) -> Value {
        json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": "9", "continue": next},
            "items": items
        })
    }

    fn service(name: &str, pinned: Option<String>, running: Option<String>) -> Value {
        json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
            "spec": {"clusterRef": {"name": "main"}, "taskDefinitionRef": {"name": "web"}, "taskDefinitionArn": pinned},
            "status": {"taskDefinitionArn": running}
        })
    }

    fn task(name: &str, phase: &str, running: String) -> Value {
        json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateTask",
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}")},
            "spec": {"clusterRef": {"name": "main"}, "taskDefinitionRef": {"name": "web"}},
            "status": {"phase": phase, "taskDefinitionArn": running}
        })
    }

    /// The confirmation before revisions are deregistered reads every page of services and tasks from
    /// the API server, keeping of each only the ARNs it runs or names: the revisions of the family any
    /// of them runs, pins or (unfinished) names, and no other family's, finished task's or page's miss.
    #[tokio::test]
    async fn the_confirmed_revisions_in_use_come_from_every_page_of_services_and_unfinished_tasks() {
        let h = Harness::new("uid-td-confirm");
        let td: TaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"family": "web", "containerDefinitions": []}
        }))
        .expect("a TaskDefinition");
        let expected = [
            Expect::list_at(
                SERVICES,
                list(
                    "FargateService",
                    vec![
                        service("a", None, Some(arn("web", 3))),
                        service("b", Some(arn("web", 1)), Some(arn("web", 1))),
                        service("c", None, Some(arn("api", 7))),
                    ],
                    Some("next"),
                ),
            ),
            Expect::list_at(
                SERVICES,
                list(
                    "FargateService",
                    vec![service("d", Some(arn("web", 5)), None), service("e", None, None)],
                    None,
                ),
            ),
            Expect::list_at(
                TASKS,
                list(
                    "FargateTask",
                    vec![
                        task("t1", "Running", arn("web", 4)),
                        task("t2", "Succeeded", arn("web", 2)),
                    ],
                    None,
                ),
            ),
        ];
        let (in_use, sent) = h
            .serving(expected, revisions_in_use_confirmed(&h.ctx, &td, "web"))
            .await;
        assert_eq!(in_use.expect("confirmed"), BTreeSet::from([1, 3, 4, 5]));
        assert!(sent[1].query.contains("continue=next"), "{}", sent[1]);
    }
}
