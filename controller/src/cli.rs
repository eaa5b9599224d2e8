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
    Run(RunArgs),
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
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub resync_period: Duration,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Only watch this namespace (default: all namespaces).
    #[arg(long, env = "ECS_CONTROLLER_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
}
