//! Leader election on a Lease (kube-lease-manager): with several replicas only the holder reconciles.
//! A follower waits (and is ready: it knows its role); the leader runs the controllers; a leader that
//! loses the Lease exits at once, so it never writes after another replica took over; on SIGTERM the
//! leader lets in-flight reconciles finish and releases the Lease so a follower takes over at once.
//!
//! kube-lease-manager reports a Lease taken by someone else, but not renewals that fail: a leader cut
//! off from the API server (and not from AWS) would go on writing to AWS after another replica took
//! over. So the leader also keeps a local renew deadline, as client-go does: it reads its Lease back
//! every second, and when the last renewal it saw is older than the Lease duration minus a margin
//! it exits, before any follower can see the Lease expire.

use crate::metrics::METRICS;
use crate::runtime::runner::Shutdown;
use crate::server::Readiness;
use anyhow::Context as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube_lease_manager::LeaseManagerBuilder;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How often the leader reads its Lease back (each read bounded by the same time).
const RENEW_CHECK: Duration = Duration::from_secs(1);
/// How long before the Lease could expire (for a follower) the leader stops.
const RENEW_MARGIN: Duration = Duration::from_secs(2);

/// How the Lease is held.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// Seconds a Lease stays valid without renewal: a dead leader is replaced within this time.
    pub duration_seconds: u64,
    /// Seconds before expiry at which the holder renews.
    pub grace_seconds: u64,
}

/// Waits for the Lease, then runs `work` until `shutdown`; returns once the Lease is released.
pub async fn run_as_leader<F, Fut>(
    client: kube::Client,
    lease: LeaseConfig,
    readiness: Arc<Readiness>,
    shutdown: Shutdown,
    work: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Shutdown) -> Fut,
    Fut: Future<Output = ()>,
{
    let leases: Api<Lease> = Api::namespaced(client.clone(), &lease.namespace);
    let manager = LeaseManagerBuilder::new(client, &lease.name)
        .with_namespace(&lease.namespace)
        .with_identity(&lease.identity)
        .with_duration(lease.duration_seconds)
        .with_grace(lease.grace_seconds)
        .build()
        .await
        .context("cannot set up leader election")?;
    let (mut leading, handle) = manager.watch().await;
    METRICS.leader.set(0);
    // A follower runs no controllers: it is ready once it knows its role.
    readiness.caches_synced.store(true, Ordering::SeqCst);
    readiness.role_known.store(true, Ordering::SeqCst);
    tracing::info!(lease = %lease.name, namespace = %lease.namespace, identity = %lease.identity, "waiting to lead");

    loop {
        if *leading.borrow_and_update() {
            break;
        }
        tokio::select! {
            changed = leading.changed() => changed.context("the lease manager stopped")?,
            () = shutdown.clone() => {
                drop(leading);
                let _ = handle.await;
                return Ok(());
            }
        }
    }
    tracing::info!(identity = %lease.identity, "acquired the lease: leading");
    METRICS.leader.set(1);
    readiness.caches_synced.store(false, Ordering::SeqCst);

    // Lost the lease while leading: stop writing at once.
    let mut watch_loss = leading.clone();
    let stop_watching = shutdown.clone();
    let loss = tokio::spawn(async move {
        tokio::select! {
            () = async {
                while watch_loss.changed().await.is_ok() {
                    if !*watch_loss.borrow_and_update() {
                        break;
                    }
                }
            } => {
                tracing::error!("lost the leader lease: exiting so that only the new leader writes");
                std::process::exit(1);
            }
            () = stop_watching => {}
        }
    });

    let deadline = tokio::spawn(renew_deadline(leases, lease.clone(), shutdown.clone()));

    work(shutdown).await;
    loss.abort();
    deadline.abort();
    drop(leading);
    // Closing the channel makes the lease manager release the Lease.
    match handle.await {
        Ok(Ok(_)) => tracing::info!("released the leader lease"),
        Ok(Err(e)) => tracing::warn!("could not release the leader lease: {e}"),
        Err(e) => tracing::warn!("the lease manager task failed: {e}"),
    }
    METRICS.leader.set(0);
    Ok(())
}

/// Exits the process when no renewal of the Lease by this replica was seen within the Lease duration
/// minus [`RENEW_MARGIN`]: the API server is out of reach (or too slow), and a follower may take the
/// Lease soon. The renewal time is read from the Lease itself, written from this process's clock.
async fn renew_deadline(leases: Api<Lease>, lease: LeaseConfig, shutdown: Shutdown) {
    let budget = Duration::from_secs(lease.duration_seconds).saturating_sub(RENEW_MARGIN);
    // Just acquired: renewed now.
    let mut deadline = tokio::time::Instant::now() + budget;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {
                tracing::error!(
                    lease = %lease.name,
                    "no renewal of the leader lease seen for {budget:?}: exiting before another replica can take over"
                );
                METRICS.leader.set(0);
                std::process::exit(1);
            }
            () = shutdown.clone() => return,
            () = tokio::time::sleep(RENEW_CHECK) => {
                let Ok(Ok(current)) = tokio::time::timeout(RENEW_CHECK, leases.get(&lease.name)).await else {
                    continue;
                };
                if let Some(renewed) = renewed_by(&current, &lease.identity) {
                    deadline = tokio::time::Instant::now() + budget.saturating_sub(renewed);
                }
            }
        }
    }
}

/// How long ago `identity` last renewed `lease`, when it holds it.
fn renewed_by(lease: &Lease, identity: &str) -> Option<Duration> {
    let spec = lease.spec.as_ref()?;
    if spec.holder_identity.as_deref() != Some(identity) {
        return None;
    }
    let renewed = spec.renew_time.as_ref()?.0;
    let age = k8s_openapi::jiff::Timestamp::now().duration_since(renewed);
    Some(Duration::try_from(age).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(holder: &str, renewed_secs_ago: i64) -> Lease {
        let at = k8s_openapi::jiff::Timestamp::now()
            - k8s_openapi::jiff::SignedDuration::from_secs(renewed_secs_ago);
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: Some(MicroTime(at)),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn only_a_renewal_by_this_replica_counts_and_its_age_is_measured() {
        let age = renewed_by(&lease("me", 4), "me").unwrap_or_default();
        assert!(
            (Duration::from_secs(4)..Duration::from_secs(5)).contains(&age),
            "{age:?}"
        );
        assert_eq!(renewed_by(&lease("other", 0), "me"), None);
        assert_eq!(renewed_by(&Lease::default(), "me"), None);
        // A renewal time ahead of this clock counts as just now.
        assert_eq!(renewed_by(&lease("me", -3), "me"), Some(Duration::ZERO));
    }
}
