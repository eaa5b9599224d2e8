//! Application Auto Scaling calls for ECS services (namespace `ecs`, dimension
//! `ecs:service:DesiredCount`), each one request through the paced [`AutoScalingClient`], so the
//! reconcilers never build SDK requests or read SDK errors themselves. Inputs and outputs are the SDK's
//! own types.

use super::operations as op;
use super::{AutoScalingClient, AwsError, ErrorKind};
use aws_sdk_applicationautoscaling::types::{
    PolicyType, PredictiveScalingPolicyConfiguration, ScalableDimension, ScalableTarget,
    ScalableTargetAction, ScalingPolicy, ScheduledAction, ServiceNamespace, StepScalingPolicyConfiguration,
    SuspendedState, TargetTrackingScalingPolicyConfiguration,
};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

fn ns() -> ServiceNamespace {
    ServiceNamespace::Ecs
}

fn dimension() -> ScalableDimension {
    ScalableDimension::EcsServiceDesiredCount
}

/// The scalable targets of up to 50 services in one call.
pub(crate) async fn describe_scalable_targets(
    aas: &AutoScalingClient,
    resource_ids: &[String],
) -> Result<Vec<ScalableTarget>, AwsError> {
    let mut targets = Vec::new();
    let mut token = None;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCALABLE_TARGETS,
                aas.describe_scalable_targets()
                    .service_namespace(ns())
                    .set_resource_ids(Some(resource_ids.to_vec()))
                    .scalable_dimension(dimension())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        targets.extend(
            out.scalable_targets
                .unwrap_or_default()
                .into_iter()
                .filter(|t| resource_ids.iter().any(|id| id == t.resource_id())),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(targets)
}

/// Registers (or updates) the scalable target.
pub(crate) async fn register_scalable_target(
    aas: &AutoScalingClient,
    resource_id: &str,
    min: i32,
    max: i32,
    suspended: Option<SuspendedState>,
) -> Result<Option<String>, AwsError> {
    let out = aas
        .call(
            op::REGISTER_SCALABLE_TARGET,
            aas.register_scalable_target()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .min_capacity(min)
                .max_capacity(max)
                .set_suspended_state(suspended)
                .send(),
        )
        .await?;
    Ok(out.scalable_target_arn)
}

/// Deregisters the scalable target; one that is already gone counts as done.
pub(crate) async fn deregister_scalable_target(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DEREGISTER_SCALABLE_TARGET,
            aas.deregister_scalable_target()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Application Auto Scaling answers a ValidationException "No scalable target found..." (or "No scaling
/// policy found...") for what does not exist.
fn is_missing(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ValidationException") && e.message.starts_with("No ")
}

/// Every scaling policy on the service's scalable target.
pub(crate) async fn describe_policies(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<Vec<ScalingPolicy>, AwsError> {
    Ok(policies(aas, Some(resource_id)).await?.0)
}

/// The scaling policies of every ECS service of the account and region, and how many calls (pages of
/// 50) that took.
pub(crate) async fn list_policies(aas: &AutoScalingClient) -> Result<(Vec<ScalingPolicy>, usize), AwsError> {
    policies(aas, None).await
}

/// The policies of one target (`Some(resource_id)`) or of the whole `ecs` namespace, page by page
/// (AWS takes a scalable dimension only with a resource id, so the namespace is listed without one and
/// filtered here), with the number of calls.
async fn policies(
    aas: &AutoScalingClient,
    resource_id: Option<&str>,
) -> Result<(Vec<ScalingPolicy>, usize), AwsError> {
    let mut policies = Vec::new();
    let mut token = None;
    let mut calls = 0;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCALING_POLICIES,
                aas.describe_scaling_policies()
                    .service_namespace(ns())
                    .set_resource_id(resource_id.map(str::to_string))
                    .set_scalable_dimension(resource_id.map(|_| dimension()))
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        calls += 1;
        // Filter exactly: some implementations match resource ids by substring.
        policies.extend(out.scaling_policies.unwrap_or_default().into_iter().filter(|p| {
            p.scalable_dimension() == &dimension() && resource_id.is_none_or(|id| p.resource_id() == id)
        }));
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok((policies, calls))
}

/// The most items Application Auto Scaling's Describe calls answer per page.
const PAGE: i32 = 50;

/// The configuration of one policy: target tracking, step scaling or predictive scaling.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PolicyConfig {
    TargetTracking(TargetTrackingScalingPolicyConfiguration),
    Step(StepScalingPolicyConfiguration),
    Predictive(PredictiveScalingPolicyConfiguration),
}

/// Creates or replaces (same name, in place) a scaling policy; returns its ARN.
pub(crate) async fn put_scaling_policy(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
    config: PolicyConfig,
) -> Result<String, AwsError> {
    let req = aas
        .put_scaling_policy()
        .policy_name(name)
        .service_namespace(ns())
        .resource_id(resource_id)
        .scalable_dimension(dimension());
    let req = match config {
        PolicyConfig::TargetTracking(c) => req
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(c),
        PolicyConfig::Step(c) => req
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(c),
        PolicyConfig::Predictive(c) => req
            .policy_type(PolicyType::PredictiveScaling)
            .predictive_scaling_policy_configuration(c),
    };
    let out = aas.call(op::PUT_SCALING_POLICY, req.send()).await?;
    Ok(out.policy_arn)
}

pub(crate) async fn delete_scaling_policy(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DELETE_SCALING_POLICY,
            aas.delete_scaling_policy()
                .policy_name(name)
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every scheduled action on the service's scalable target.
pub(crate) async fn describe_scheduled_actions(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<Vec<ScheduledAction>, AwsError> {
    Ok(scheduled_actions(aas, Some(resource_id)).await?.0)
}

/// The scheduled actions of every ECS service of the account and region, and how many calls (pages of
/// 50) that took.
pub(crate) async fn list_scheduled_actions(
    aas: &AutoScalingClient,
) -> Result<(Vec<ScheduledAction>, usize), AwsError> {
    scheduled_actions(aas, None).await
}

/// The scheduled actions of one target or of the whole `ecs` namespace, as [`policies`] reads policies.
async fn scheduled_actions(
    aas: &AutoScalingClient,
    resource_id: Option<&str>,
) -> Result<(Vec<ScheduledAction>, usize), AwsError> {
    let mut actions = Vec::new();
    let mut token = None;
    let mut calls = 0;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCHEDULED_ACTIONS,
                aas.describe_scheduled_actions()
                    .service_namespace(ns())
                    .set_resource_id(resource_id.map(str::to_string))
                    .set_scalable_dimension(resource_id.map(|_| dimension()))
                    .max_results(PAGE)
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        calls += 1;
        actions.extend(out.scheduled_actions.unwrap_or_default().into_iter().filter(|a| {
            a.scalable_dimension() == Some(&dimension()) && resource_id.is_none_or(|id| a.resource_id() == id)
        }));
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok((actions, calls))
}

/// The items (policies or scheduled actions) of several targets, read at once for the reconciles of the
/// moment: one paged call per target, or one listing of the account's whole `ecs` namespace when that
/// takes no more calls than the reads it answers, `demand` (at least the ids asked for; more when the
/// listing is kept for reads still to come, see `super::listings`), judged by the pages the last listing
/// took, `listing_pages` (updated here). The listing is given the most pages worth reading (one per
/// read); one that would take more gives up (`None`), and the ids are read one by one. Every id is
/// answered, with no items when it has none; a listing made is handed, grouped by target, to `keep`.
#[allow(
    clippy::too_many_arguments,
    reason = "one batch's ids, its demand, and how to read, list, group and keep"
)]
pub(crate) async fn per_target<T, One, OneFut, All, AllFut>(
    ids: Vec<String>,
    demand: usize,
    listing_pages: &AtomicUsize,
    one: One,
    all: All,
    id_of: fn(&T) -> &str,
    keep: impl FnOnce(HashMap<String, Vec<T>>),
) -> Result<Vec<(String, Vec<T>)>, AwsError>
where
    T: Clone,
    One: Fn(String) -> OneFut,
    OneFut: Future<Output = Result<Vec<T>, AwsError>>,
    All: FnOnce(usize) -> AllFut,
    AllFut: Future<Output = Result<Option<(Vec<T>, usize)>, AwsError>>,
{
    let demand = demand.max(ids.len());
    if demand >= 2
        && demand >= listing_pages.load(Ordering::Relaxed)
        && let Some((items, pages)) = match all(demand).await? {
            Some(listing) => Some(listing),
            None => {
                listing_pages.store(demand + 1, Ordering::Relaxed);
                None
            }
        }
    {
        listing_pages.store(pages, Ordering::Relaxed);
        let mut by_target: HashMap<String, Vec<T>> = HashMap::new();
        for item in items {
            by_target.entry(id_of(&item).to_string()).or_default().push(item);
        }
        let answered = ids
            .into_iter()
            .map(|id| {
                let items = by_target.get(&id).cloned().unwrap_or_default();
                (id, items)
            })
            .collect();
        keep(by_target);
        return Ok(answered);
    }
    futures::future::try_join_all(ids.into_iter().map(|id| {
        let read = one(id.clone());
        async move { Ok((id, read.await?)) }
    }))
    .await
}

/// Everything PutScheduledAction takes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewScheduledAction {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub start_time: Option<aws_smithy_types::DateTime>,
    pub end_time: Option<aws_smithy_types::DateTime>,
    /// The capacity bounds the action sets; `None`: none sent.
    pub action: Option<ScalableTargetAction>,
}

pub(crate) async fn put_scheduled_action(
    aas: &AutoScalingClient,
    resource_id: &str,
    a: NewScheduledAction,
) -> Result<(), AwsError> {
    aas.call(
        op::PUT_SCHEDULED_ACTION,
        aas.put_scheduled_action()
            .service_namespace(ns())
            .resource_id(resource_id)
            .scalable_dimension(dimension())
            .scheduled_action_name(a.name)
            .schedule(a.schedule)
            .set_timezone(a.timezone)
            .set_start_time(a.start_time)
            .set_end_time(a.end_time)
            .set_scalable_target_action(a.action)
            .send(),
    )
    .await
    .map(drop)
}

pub(crate) async fn delete_scheduled_action(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DELETE_SCHEDULED_ACTION,
            aas.delete_scheduled_action()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .scheduled_action_name(name)
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    /// Items `(resource id, n)`; the listing holds items of ids nobody asked for too.
    type Item = (String, u32);

    fn listing() -> Vec<Item> {
        ["a", "b", "b", "zz-foreign", "c"]
            .iter()
            .enumerate()
            .map(|(n, id)| (id.to_string(), n as u32))
            .collect()
    }

    async fn read(
        ids: &[&str],
        pages: &AtomicUsize,
        calls: &Mutex<Vec<String>>,
    ) -> BTreeMap<String, Vec<u32>> {
        read_for(ids, ids.len(), pages, calls, &Mutex::new(None)).await
    }

    /// As [`read`], for `demand` reads; a listing made is kept in `kept` (its targets and item counts).
    async fn read_for(
        ids: &[&str],
        demand: usize,
        pages: &AtomicUsize,
        calls: &Mutex<Vec<String>>,
        kept: &Mutex<Option<BTreeMap<String, usize>>>,
    ) -> BTreeMap<String, Vec<u32>> {
        let log = |what: String| {
            calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(what)
        };
        let answered = per_target(
            ids.iter().map(|s| s.to_string()).collect(),
            demand,
            pages,
            |id| {
                log(format!("one {id}"));
                let items: Vec<Item> = listing().into_iter().filter(|(i, _)| *i == id).collect();
                async move { Ok(items) }
            },
            |max_pages| {
                log(format!("all (up to {max_pages} pages)"));
                // The listing takes 3 pages: it gives up when fewer are worth reading.
                async move { Ok((max_pages >= 3).then(|| (listing(), 3))) }
            },
            |item: &Item| item.0.as_str(),
            |listing| {
                let counts = listing.into_iter().map(|(id, items)| (id, items.len())).collect();
                *kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(counts);
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        answered
            .into_iter()
            .map(|(id, items)| (id, items.into_iter().map(|(_, n)| n).collect()))
            .collect()
    }

    #[tokio::test]
    async fn many_targets_are_read_in_one_listing_and_few_one_by_one() {
        let pages = AtomicUsize::new(1);
        let calls = Mutex::new(Vec::new());
        // One target: one call for it, never the whole namespace.
        let one = read(&["b"], &pages, &calls).await;
        assert_eq!(one, BTreeMap::from([("b".into(), vec![1, 2])]));
        // A resync asking for four targets: one listing (which took 3 pages), every id answered, one
        // without items included, and the foreign items left out.
        let many = read(&["a", "b", "c", "d"], &pages, &calls).await;
        assert_eq!(
            many,
            BTreeMap::from([
                ("a".into(), vec![0]),
                ("b".into(), vec![1, 2]),
                ("c".into(), vec![4]),
                ("d".into(), vec![]),
            ])
        );
        assert_eq!(pages.load(Ordering::Relaxed), 3);
        // Two targets now cost less one by one than the 3-page listing.
        read(&["a", "c"], &pages, &calls).await;
        let calls = calls
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(calls, ["one b", "all (up to 4 pages)", "one a", "one c"]);
    }

    #[tokio::test]
    async fn a_first_listing_longer_than_the_ids_gives_up_and_reads_them_one_by_one() {
        // Nothing known yet (a new process): two ids are worth a listing of two pages at most; this
        // one takes 3, so it gives up and both are read one by one, and the next two ids are too.
        let pages = AtomicUsize::new(1);
        let calls = Mutex::new(Vec::new());
        let two = read(&["a", "d"], &pages, &calls).await;
        assert_eq!(two, BTreeMap::from([("a".into(), vec![0]), ("d".into(), vec![])]));
        assert_eq!(pages.load(Ordering::Relaxed), 3);
        read(&["b", "c"], &pages, &calls).await;
        let calls = calls
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(calls, ["all (up to 2 pages)", "one a", "one d", "one b", "one c"]);
    }

    #[tokio::test]
    async fn reads_still_to_come_pay_for_a_listing_that_is_kept_for_them() {
        // The listing takes 3 pages; one target read now, but a resync's 4 more reads expected: one
        // listing, kept whole (the foreign target's items too) for the reads to come.
        let pages = AtomicUsize::new(3);
        let calls = Mutex::new(Vec::new());
        let kept = Mutex::new(None);
        let one = read_for(&["b"], 5, &pages, &calls, &kept).await;
        assert_eq!(one, BTreeMap::from([("b".into(), vec![1, 2])]));
        let kept = kept
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(
            kept,
            Some(BTreeMap::from([
                ("a".into(), 1),
                ("b".into(), 2),
                ("c".into(), 1),
                ("zz-foreign".into(), 1)
            ]))
        );
        // Without reads to come, the same one target is read alone, and nothing is kept.
        let none = Mutex::new(None);
        read_for(&["b"], 1, &pages, &calls, &none).await;
        assert_eq!(
            none.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            None
        );
        let calls = calls
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(calls, ["all (up to 5 pages)", "one b"]);
    }
}
