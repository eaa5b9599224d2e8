//! Leader election on a Lease (kube-lease-manager): with several replicas only the holder reconciles.
//! A follower waits (and is ready: it knows its role); the leader runs the controllers; a leader that
//! loses the Lease exits at once, so it never writes after another replica took over; on SIGTERM the
//! leader lets in-flight reconciles finish and releases the Lease so a follower takes over at once.

use crate::metrics::METRICS;
use crate::runtime::runner::Shutdown;
use crate::server::Readiness;
use anyhow::Context as _;
use kube_lease_manager::LeaseManagerBuilder;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

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

    work(shutdown).await;
    loss.abort();
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
