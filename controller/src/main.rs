use clap::Parser;
use ecs_controller::cli::{Cli, Command, Import, RunArgs};
use ecs_controller::reconcile::{self, Context, runner};
use std::process::ExitCode;
use std::sync::Arc;

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
        Command::Import(Import::TaskDefinition { file, namespace }) => {
            let input = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&file)
            };
            let result = input
                .map_err(|e| format!("cannot read {}: {e}", file.display()))
                .and_then(|text| ecs_controller::import::task_definition(&text, namespace.as_deref()));
            match result {
                Ok((yaml, dropped)) => {
                    for path in dropped {
                        eprintln!(
                            "warning: {path} is not modelled by the TaskDefinition spec and was left out"
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

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Kubernetes: {e}"))?;
    let aws = ecs_controller::aws::AwsClients::load(args.region.clone())
        .await
        .map_err(anyhow::Error::msg)?;
    tracing::info!(
        region = aws.default_region(),
        resync_period = %humantime::format_duration(args.resync_period),
        namespace = args.watch_namespace.as_deref().unwrap_or("(all)"),
        "ecs-controller starting"
    );
    let ctx = Arc::new(Context {
        client,
        aws,
        config: reconcile::Config {
            resync_period: args.resync_period,
        },
        backoff: Default::default(),
    });
    runner::run(
        ctx,
        runner::Scope {
            namespace: args.watch_namespace,
        },
    )
    .await;
    tracing::info!("ecs-controller stopped");
    Ok(())
}
