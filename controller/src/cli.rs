//! The command line: `ecs-controller run` and `ecs-controller crd`.

use crate::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "ecs-controller",
    version,
    about = "Declare AWS ECS and Fargate in Kubernetes"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the controller against the current kubeconfig (or in-cluster config) and AWS.
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions as YAML (what `crds/` holds).
    Crd,
    /// Convert an existing AWS resource description into a manifest.
    #[command(subcommand)]
    Import(Import),
}

#[derive(Subcommand, Debug)]
pub enum Import {
    /// From `aws ecs describe-task-definition` output (or a task-definition.json) to a TaskDefinition.
    TaskDefinition {
        /// The JSON file; `-` reads standard input.
        file: std::path::PathBuf,
        /// Namespace to put in the manifest.
        #[arg(long, short = 'n')]
        namespace: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// AWS region for objects that name none (default: the AWS SDK's chain, e.g. AWS_REGION).
    #[arg(long, env = "ECS_CONTROLLER_REGION")]
    pub region: Option<String>,
    /// How often a Ready object is compared with AWS again (drift detection), e.g. 30s, 5m.
    #[arg(long, default_value = "5m", value_parser = positive_duration)]
    pub resync_period: Duration,
    /// Resync period for EcsClusters (default: --resync-period).
    #[arg(long, value_parser = positive_duration)]
    pub cluster_resync_period: Option<Duration>,
    /// Resync period for TaskDefinitions (default: 6 x --resync-period: revisions are immutable in ECS,
    /// so only a deregistration behind the controller's back can drift).
    #[arg(long, value_parser = positive_duration)]
    pub task_definition_resync_period: Option<Duration>,
    /// Resync period for FargateServices (default: --resync-period).
    #[arg(long, value_parser = positive_duration)]
    pub service_resync_period: Option<Duration>,
    /// Resync period for ScalingPolicies (default: --resync-period).
    #[arg(long, value_parser = positive_duration)]
    pub scaling_policy_resync_period: Option<Duration>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Only watch these namespaces (repeat the flag or separate with commas; default: all namespaces).
    #[arg(long, env = "ECS_CONTROLLER_WATCH_NAMESPACE", value_delimiter = ',')]
    pub watch_namespace: Vec<String>,
    /// Only manage objects matching this label selector (e.g. `shard=a`), so several controllers can
    /// split one cluster.
    #[arg(long, env = "ECS_CONTROLLER_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// Reconciles running at once, per kind. A resync reconciles every object of a kind together, and
    /// only lookups in flight at the same moment share a Describe call: keep this well above 10.
    #[arg(long, default_value_t = 32)]
    pub concurrency: u16,
    /// Most AWS API calls per second, all kinds together (0: no limit).
    #[arg(long, default_value_t = 20)]
    pub aws_max_rps: u32,
    /// Longest wait for one AWS request attempt (a hung connection fails after this and is retried).
    #[arg(long, default_value = "20s", value_parser = positive_duration)]
    pub aws_timeout: Duration,
    /// The ConfigMap (`namespace/name`) that maps namespaces to the IAM role whose AWS account their
    /// objects live in (data: `<namespace>: arn:aws:iam::<account>:role/<name>`); watched live.
    #[arg(long, env = "ECS_CONTROLLER_ACCOUNT_MAP", value_parser = namespaced_name)]
    pub account_map: Option<(String, String)>,
    /// Whether objects in namespaces without a mapping use the controller's own AWS identity (`allow`)
    /// or are refused (`deny`, reported as NoAwsAccount).
    #[arg(long, value_enum, default_value_t = DefaultIdentity::Allow)]
    pub default_identity: DefaultIdentity,
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_bind_address: std::net::SocketAddr,
    /// Run only while holding a Lease, so that one of several replicas reconciles.
    #[arg(long, env = "ECS_CONTROLLER_LEADER_ELECT")]
    pub leader_elect: bool,
    /// Namespace of the leader-election Lease (default: $POD_NAMESPACE, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "ecs-controller")]
    pub leader_election_lease_name: String,
    /// This replica's identity in the Lease (default: $POD_NAME, else hostname and pid).
    #[arg(long, env = "POD_NAME")]
    pub leader_election_identity: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DefaultIdentity {
    Allow,
    Deny,
}

/// `namespace/name`.
fn namespaced_name(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err("expected namespace/name".into()),
    }
}

/// A duration like `30s` or `5m`, at least one second (a zero resync period would reconcile in a loop).
fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d < Duration::from_secs(1) {
        return Err("must be at least 1s".into());
    }
    Ok(d)
}
