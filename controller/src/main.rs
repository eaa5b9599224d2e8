//! The `ecs-controller` binary: parses the flags and runs a command: `crd` and `import` print YAML,
//! `run` wires the library together (Kubernetes client, AWS clients with their rate limit, metrics
//! server, leader election) and runs the controllers until SIGTERM.

use clap::Parser;
use ecs_controller::cli::{Cli, Command, Import, RunArgs};
use ecs_controller::leader;
use ecs_controller::runtime::{self, Context, runner};
use ecs_controller::server::{self, Readiness};
use futures::FutureExt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match ecs_controller::api::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot render the CRDs: {e}");
                ExitCode::FAILURE
            }
        },
        Command::ApiReference { examples } => {
            let found = match examples {
                Some(dir) => ecs_controller::api::reference::examples_in(&dir),
                None => Ok(Default::default()),
            };
            match found {
                Ok(examples) => {
                    print!("{}", ecs_controller::api::reference::markdown(&examples));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot read the examples: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Import(Import::TaskDefinition {
            file,
            namespace,
            adoption,
        }) => {
            let input = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            };
            let result = match input {
                Ok(text) => ecs_controller::import::task_definition(&text, namespace.as_deref(), adoption)
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read {}: {e}", file.display())),
            };
            match result {
                Ok((yaml, dropped)) => {
                    for path in dropped {
                        eprintln!(
                            "warning: {path} is not modelled by the TaskDefinition spec (EC2 only: docs/task-definition-fields.md) and was left out"
                        );
                    }
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => {
            let args = *args;
            tune_malloc();
            ecs_controller::telemetry::init(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Longest a Kubernetes API request of the controllers may wait for its response to start (kube's
/// retries of 429/503/504 included), so that a hung connection or a long back-off frees its slot.
/// A watch's response starts at once; its events stream after, unbounded.
const KUBE_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Clients of the Kubernetes API, as `kube::Client::try_default` builds them. The controllers' (the
/// first) has at most `concurrency` requests in flight, each given [`KUBE_REQUEST_TIMEOUT`]: kube's
/// client speaks HTTP/1.1 and opens a TLS connection per request in flight, kept in its pool after, so
/// 32 reconciles per kind writing status at once held over 70 connections and about 3 MiB of buffers
/// for no speed the API server could use. A slot is taken when a request is sent and given back when
/// its response starts (`ConcurrencyLimit` releases it as the response future resolves, not at the end
/// of the body), so long-lived watches never starve the rest. Leader election gets the second client,
/// without a limit: a Lease renewal must never queue behind the controllers' writes.
async fn kube_clients(concurrency: u16) -> Result<(kube::Client, kube::Client), kube::Error> {
    let config = kube::Config::infer().await.map_err(kube::Error::InferConfig)?;
    let lease = kube::Client::try_from(config.clone())?;
    let timeout = tower::timeout::TimeoutLayer::new(KUBE_REQUEST_TIMEOUT);
    let limit = tower::limit::ConcurrencyLimitLayer::new(usize::from(concurrency));
    let work = kube::client::ClientBuilder::try_from(config)?
        .with_layer(&timeout)
        .with_layer(&limit)
        .build();
    Ok((work, lease))
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let (client, lease_client) = kube_clients(args.kube_api_concurrency)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Kubernetes: {e}"))?;
    let accounts = ecs_controller::aws::accounts::Accounts::new(
        args.account_map.as_ref().map(|(ns, name)| format!("{ns}/{name}")),
        args.allows_default_identity(),
    )
    .with_external_id(args.assume_role_external_id.clone());
    let aws = ecs_controller::aws::AwsClients::load(ecs_controller::aws::Options {
        region: args.region.clone(),
        attempt_timeout: args.aws_timeout,
        rate_limit: args.rate_limit(),
        accounts,
    })
    .await?;
    if let Some((ns, name)) = &args.account_map {
        ecs_controller::aws::accounts::watch(client.clone(), aws.clone(), ns, name).await?;
    }
    let identity = args
        .leader_election_identity
        .clone()
        .unwrap_or_else(default_identity);
    let resync = runtime::Resync::new(args.resync_period, &args.kind_resync.given);
    tracing::info!(
        region = aws.default_region(),
        resync = ?resync,
        namespaces = ?args.watch_namespace,
        label_selector = args.label_selector.as_deref().unwrap_or(""),
        identity = %identity,
        "ecs-controller starting"
    );

    let readiness = Arc::new(Readiness::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_bind_address)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.metrics_bind_address))?;
    tokio::spawn(server::serve(listener, readiness.clone()));
    tokio::spawn(release_free_memory(Duration::from_secs(5)));

    let events = runtime::events::Events::new(client.clone(), "ecs-controller", identity.clone());
    let ctx = Arc::new(Context {
        client: client.clone(),
        aws,
        config: runtime::Config {
            resync,
            concurrency: args.concurrency,
        },
        backoff: Default::default(),
        written: Default::default(),
        events,
        stores: Default::default(),
        feeds: Default::default(),
    });
    let scope = runner::Scope {
        namespaces: args.watch_namespace.clone(),
        label_selector: args.label_selector.clone(),
    };
    let shutdown: runner::Shutdown = shutdown_signal().boxed().shared();
    let synced = {
        let readiness = readiness.clone();
        move || {
            tracing::info!("caches synced");
            readiness.caches_synced.store(true, Ordering::SeqCst);
        }
    };
    if args.leader_elect {
        let lease = leader::LeaseConfig {
            namespace: args
                .leader_election_namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            name: args.leader_election_lease_name.clone(),
            identity,
            // Renewed every 5 s (duration - grace); the leader stops when it saw no renewal for 13 s,
            // a follower takes over after 15 s without one (client-go's defaults: 15 s / 10 s).
            duration_seconds: 15,
            grace_seconds: 10,
        };
        leader::run_as_leader(lease_client, lease, readiness, shutdown, |shutdown| {
            runner::run(ctx, scope, shutdown, synced)
        })
        .await?;
    } else {
        ecs_controller::metrics::METRICS.leader.set(1);
        readiness.role_known.store(true, Ordering::SeqCst);
        runner::run(ctx, scope, shutdown, synced).await;
    }
    tracing::info!("ecs-controller stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM ({e}); Ctrl-C only");
            let _ = ctrl_c.await;
        }
    }
    tracing::info!("shutting down: finishing in-flight reconciles");
}

/// `hostname-pid`, unique enough among replicas.
fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ecs-controller".into());
    format!("{host}-{}", std::process::id())
}

/// Gives the free pages of the heap back to the kernel every `every`. glibc returns freed memory only
/// from the top of a heap: what a burst frees below memory still in use (the watch events, statuses
/// and AWS answers of thousands of reconciles) stays resident, and the next burst's allocations do not
/// always fit in it. malloc_trim(0) releases every whole free page. Measured at N = 1000 (2001 objects
/// applied before the controller starts, converged, then deleted at once; `--aws-max-rps 0`): with
/// this task and `runner::settle_written`, peak RSS when all is Ready 44.2 -> 39.8 MB (anonymous
/// 30.6 -> 23.8) and after the delete 47.3 -> 42.3 MB (anonymous 33.4 -> 21.0); the trim alone,
/// called from a debugger every 5 s, gave 47.3 -> 45.0. A trim of this heap takes a few milliseconds.
async fn release_free_memory(every: Duration) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // SAFETY: malloc_trim takes each arena's lock and releases only pages no allocation uses.
            unsafe {
                libc::malloc_trim(0);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = every;
}

/// glibc's allocator, tuned for a process whose heap is many small objects that live long (the caches)
/// and bursts of large buffers that do not (a watch's page of objects, a hash table as it grows).
///
/// Two arenas instead of one per thread that allocates (up to 8 per core). Objects the watches decode
/// on one thread are freed on another; with an arena per thread the freed memory stays spread over
/// several heaps. Measured with `make bench` at N = 2000: peak RSS 64.7 MiB with glibc's default,
/// 55.1 MiB with one arena (but 10-30% more CPU: threads wait for its lock), 56.5 MiB with two and no
/// more CPU than the default. `MALLOC_ARENA_MAX`, when set, wins.
///
/// A fixed mmap threshold of 64 KiB. glibc serves a block of 128 KiB or more with its own mapping,
/// returned to the kernel when freed, but by default it then raises that threshold to the size of
/// the block freed (up to 32 MiB): after the first large buffer is freed, the next ones of that size
/// come from the heap, where a long-lived object allocated after them keeps their pages resident. A
/// threshold set here is not moved. MALLOC_MMAP_THRESHOLD_, when set, wins.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unless_set("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, 2);
        unless_set("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// `mallopt(param, value)`, unless glibc's environment variable `var` for the same setting is set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn unless_set(var: &str, param: libc::c_int, value: libc::c_int) {
    if std::env::var_os(var).is_none() {
        // SAFETY: mallopt only changes allocator settings; it is called before any thread exists.
        unsafe {
            libc::mallopt(param, value);
        }
    }
}

/// The smallest block glibc serves from a mapping of its own (see [`tune_malloc`]).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 64 << 10;

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    /// Bytes glibc holds in blocks mapped on their own.
    fn mapped_blocks() -> usize {
        // SAFETY: mallinfo2 only reads the allocator's counters.
        unsafe { libc::mallinfo2() }.hblkhd
    }

    // The only test in this binary: no other thread allocates while it reads the counters.
    #[test]
    fn a_large_buffer_freed_does_not_send_the_next_ones_to_the_heap() {
        super::tune_malloc();
        // glibc's default would now raise its threshold to 4 MiB.
        drop(std::hint::black_box(vec![0u8; 4 << 20]));
        let before = mapped_blocks();
        let buffer = std::hint::black_box(vec![1u8; 256 << 10]);
        let during = mapped_blocks();
        drop(buffer);
        assert!(
            during >= before + (256 << 10),
            "a 256 KiB buffer came from the heap: mapped blocks {before} -> {during} bytes"
        );
    }
}
