//! The command line: `ecs-controller run`, `crd`, `api-reference` and `import`.

use crate::telemetry::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
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
    /// Print the API reference in Markdown (what `docs/api-reference.md` holds).
    ApiReference {
        /// A directory of example manifests (`examples/`): each kind's example is the documents of that
        /// kind in its files.
        #[arg(long)]
        examples: Option<std::path::PathBuf>,
    },
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
        /// `spec.adoption` of the manifest (default: Adopt for describe-task-definition output, whose
        /// family exists; AdoptOrCreate for a task-definition.json, whose family may not exist yet).
        #[arg(long, value_parser = adoption)]
        adoption: Option<crate::api::Adoption>,
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
    /// One `--<kind>-resync-period` flag per kind (from the registry of kinds).
    #[command(flatten)]
    pub kind_resync: KindResync,
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
    /// The controllers' requests to the Kubernetes API in flight at once (a watch counts only until its
    /// response starts; leader election has a client of its own). The API client speaks HTTP/1.1, one
    /// TLS connection per request in flight: this bounds the connections, and the memory each holds,
    /// when every kind reconciles at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub kube_api_concurrency: u16,
    /// Overrides the default rate limits with one for every AWS call of every account and Region: at
    /// most this many calls per second, evenly spaced (0: no limit at all).
    #[arg(long)]
    pub aws_max_rps: Option<u32>,
    /// The share (percent) of AWS's documented request rates the controller uses, per account, Region
    /// and group of operations (ECS's throttling buckets), leaving the rest to other clients of the
    /// account. Halved for a group while AWS throttles it. Ignored with `--aws-max-rps`.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub aws_rate_share: u8,
    /// Longest wait for one AWS request attempt (a hung connection fails after this and is retried).
    #[arg(long, default_value = "20s", value_parser = positive_duration)]
    pub aws_timeout: Duration,
    /// The ConfigMap (`namespace/name`) that maps namespaces to the IAM role whose AWS account their
    /// objects live in (data: `<namespace>: arn:aws:iam::<account>:role/<name>`); watched live.
    #[arg(long, env = "ECS_CONTROLLER_ACCOUNT_MAP", value_parser = namespaced_name)]
    pub account_map: Option<(String, String)>,
    /// Whether objects in namespaces without a mapping use the controller's own AWS identity (`allow`)
    /// or are refused (`deny`, reported as NoAwsAccount). Default: `deny` with `--account-map` (an
    /// unmapped namespace never falls back to the controller's account unless the admin says so),
    /// `allow` without.
    #[arg(long, value_enum)]
    pub default_identity: Option<DefaultIdentity>,
    /// The ExternalId every AssumeRole of `--account-map` carries, when the roles' trust policies require
    /// one (the confused-deputy guard of a shared controller).
    #[arg(long, env = "ECS_CONTROLLER_ASSUME_ROLE_EXTERNAL_ID")]
    pub assume_role_external_id: Option<String>,
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

/// The resync period of each kind, when its flag is given, by kind name. The flags are generated from
/// the registry of kinds ([`crate::runtime::kinds`]), so a new kind gets one without an edit here.
#[derive(Clone, Debug, Default)]
pub struct KindResync {
    pub given: BTreeMap<&'static str, Duration>,
}

impl clap::FromArgMatches for KindResync {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut this = Self::default();
        this.update_from_arg_matches(matches)?;
        Ok(this)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for k in crate::runtime::kinds::all() {
            if let Some(period) = matches
                .try_get_one::<Duration>(&k.resync_flag())
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, e))?
            {
                self.given.insert(k.name, *period);
            }
        }
        Ok(())
    }
}

impl Args for KindResync {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for k in crate::runtime::kinds::all() {
            let default = match k.resync_factor {
                1 => "--resync-period".to_string(),
                n => format!("{n} x --resync-period"),
            };
            cmd = cmd.arg(
                clap::Arg::new(k.resync_flag())
                    .long(k.resync_flag())
                    .value_name("DURATION")
                    .value_parser(positive_duration)
                    .help(format!(
                        "Resync period for {} objects (default: {default})",
                        k.kind
                    )),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DefaultIdentity {
    Allow,
    Deny,
}

impl RunArgs {
    /// Whether unmapped namespaces may use the controller's own identity: as given, else only when no
    /// account mapping is configured.
    pub fn allows_default_identity(&self) -> bool {
        match self.default_identity {
            Some(d) => d == DefaultIdentity::Allow,
            None => self.account_map.is_none(),
        }
    }

    /// How AWS calls are paced: `--aws-max-rps` when given, else AWS's buckets at `--aws-rate-share`.
    pub fn rate_limit(&self) -> crate::aws::RateLimit {
        match self.aws_max_rps {
            Some(0) => crate::aws::RateLimit::Off,
            Some(n) => crate::aws::RateLimit::Total(n),
            None => crate::aws::RateLimit::Documented {
                percent: self.aws_rate_share,
            },
        }
    }
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

/// `Adopt` or `AdoptOrCreate`, as `spec.adoption` spells them.
fn adoption(s: &str) -> Result<crate::api::Adoption, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("{s:?}: expected Adopt or AdoptOrCreate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_args(args: &[&str]) -> RunArgs {
        let mut argv = vec!["ecs-controller", "run"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Run(args)) => *args,
            other => panic!("not a run command: {other:?}"),
        }
    }

    #[test]
    fn every_kind_has_its_resync_flag_and_a_given_one_wins() {
        let args = run_args(&["--resync-period", "1m", "--task-definition-resync-period", "7s"]);
        let resync = crate::runtime::Resync::new(args.resync_period, &args.kind_resync.given);
        assert_eq!(resync.of::<crate::api::TaskDefinition>(), Duration::from_secs(7));
        assert_eq!(resync.of::<crate::api::EcsCluster>(), Duration::from_secs(60));
        for flag in [
            "--cluster-resync-period",
            "--service-resync-period",
            "--scaling-policy-resync-period",
        ] {
            let args = run_args(&[flag, "3s"]);
            assert_eq!(
                args.kind_resync.given.values().copied().collect::<Vec<_>>(),
                [Duration::from_secs(3)]
            );
        }
        assert!(Cli::try_parse_from(["ecs-controller", "run", "--service-resync-period", "0s"]).is_err());
    }

    #[test]
    fn a_kinds_default_resync_is_its_factor_of_the_base_period() {
        let args = run_args(&["--resync-period", "30s"]);
        let resync = crate::runtime::Resync::new(args.resync_period, &args.kind_resync.given);
        assert_eq!(
            resync.of::<crate::api::TaskDefinition>(),
            Duration::from_secs(180)
        );
        assert_eq!(resync.of::<crate::api::FargateService>(), Duration::from_secs(30));
    }

    #[test]
    fn aws_buckets_at_half_by_default_one_flag_overrides_them_all() {
        use crate::aws::RateLimit;
        assert_eq!(run_args(&[]).rate_limit(), RateLimit::Documented { percent: 50 });
        assert_eq!(
            run_args(&["--aws-rate-share", "100"]).rate_limit(),
            RateLimit::Documented { percent: 100 }
        );
        assert_eq!(
            run_args(&["--aws-max-rps", "7", "--aws-rate-share", "10"]).rate_limit(),
            RateLimit::Total(7)
        );
        assert_eq!(run_args(&["--aws-max-rps", "0"]).rate_limit(), RateLimit::Off);
        for bad in ["0", "101"] {
            assert!(Cli::try_parse_from(["ecs-controller", "run", "--aws-rate-share", bad]).is_err());
        }
    }
}
