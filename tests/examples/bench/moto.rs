//! What one call costs moto in this run: the benchmark times the scenario's operations directly with
//! the AWS SDK (sequentially, on a throwaway cluster it creates and deletes), and how much faster moto
//! answers with several calls in flight (its effective parallelism). The floors turn these into time.

use anyhow::{Context as _, Result};
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
};
use ecs_controller_e2e::harness::{env, unique};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct OpCost {
    pub calls: u32,
    pub total_seconds: f64,
}

impl OpCost {
    pub fn mean(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.total_seconds / f64::from(self.calls)
        }
    }
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Costs {
    /// Sequential cost per operation.
    pub ops: BTreeMap<String, OpCost>,
    /// Calls in flight for the parallelism measurement.
    pub in_flight: usize,
    /// DescribeClusters per second with `in_flight` calls at once over the sequential rate.
    pub parallelism: f64,
}

/// The operation timed in place of one the probe does not time (none, as long as the probe covers
/// every operation of the floors).
pub const FALLBACK_OP: &str = "DescribeClusters";

impl Costs {
    /// Mean seconds one call of `op` takes moto (falls back to DescribeClusters).
    pub fn mean(&self, op: &str) -> f64 {
        self.ops
            .get(op)
            .or_else(|| self.ops.get(FALLBACK_OP))
            .map_or(0.0, OpCost::mean)
    }

    async fn time<T, E, F>(&mut self, op: &str, call: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, E>>,
        E: std::error::Error + Send + Sync + 'static,
    {
        let start = Instant::now();
        let out = call.await.with_context(|| format!("moto probe: {op}"))?;
        let c = self.ops.entry(op.to_string()).or_default();
        c.calls += 1;
        c.total_seconds += start.elapsed().as_secs_f64();
        Ok(out)
    }
}

pub async fn aas() -> Result<aws_sdk_applicationautoscaling::Client> {
    env("AWS_ENDPOINT_URL")?;
    let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(aws_sdk_applicationautoscaling::Client::new(&conf))
}

pub fn network() -> Result<NetworkConfiguration> {
    let list = |name: &str| -> Result<Vec<String>> {
        Ok(env(name)?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(list("ECS_TEST_SUBNETS")?))
        .set_security_groups(Some(list("ECS_TEST_SECURITY_GROUPS")?))
        .build()
        .context("awsvpc configuration")?;
    Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
}

/// Times `reads` DescribeClusters one at a time and again `in_flight` at a time, and `writes` calls of
/// each operation the scenario's floors count, on resources of its own that it deletes again.
pub async fn probe(reads: usize, writes: usize, in_flight: usize) -> Result<Costs> {
    let ecs = ecs_controller_e2e::harness::ecs().await?;
    let aas = aas().await?;
    let mut c = Costs {
        in_flight,
        ..Default::default()
    };
    let writes = writes.max(2);
    let half = writes / 2;

    let clusters: Vec<String> = (0..3).map(|_| unique("bench-probe")).collect();
    for name in &clusters {
        c.time("CreateCluster", ecs.create_cluster().cluster_name(name).send())
            .await?;
    }
    let cluster = clusters[0].clone();

    // Reads, one at a time, then several at once.
    for _ in 0..reads {
        c.time(
            "DescribeClusters",
            ecs.describe_clusters().clusters(&cluster).send(),
        )
        .await?;
    }
    let start = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..reads)
        .map(|_| ecs.describe_clusters().clusters(&cluster).send())
        .buffer_unordered(in_flight.max(1))
        .collect()
        .await;
    for r in results {
        r.context("moto probe: DescribeClusters in parallel")?;
    }
    let parallel_rate = reads as f64 / start.elapsed().as_secs_f64();
    let sequential_rate = 1.0 / c.mean("DescribeClusters").max(1e-9);
    c.parallelism = (parallel_rate / sequential_rate).max(1.0);

    // The writes and reads of the scenario, on services of the probe's own.
    let network = network()?;
    let mut task_definitions = Vec::new();
    for i in 0..writes {
        let out = c
            .time(
                "RegisterTaskDefinition",
                ecs.register_task_definition()
                    .family(unique(&format!("bench-probe-{i}")))
                    .cpu("256")
                    .memory("512")
                    .network_mode(NetworkMode::Awsvpc)
                    .requires_compatibilities(Compatibility::Fargate)
                    .container_definitions(
                        ContainerDefinition::builder()
                            .name("app")
                            .image("nginx:1")
                            .build(),
                    )
                    .send(),
            )
            .await?;
        let arn = out
            .task_definition
            .and_then(|t| t.task_definition_arn)
            .context("moto probe: RegisterTaskDefinition returned no ARN")?;
        task_definitions.push(arn);
    }
    let mut services = Vec::new();
    for (i, td) in task_definitions.iter().enumerate() {
        let name = format!("probe-{i}");
        c.time(
            "CreateService",
            ecs.create_service()
                .cluster(&cluster)
                .service_name(&name)
                .task_definition(td)
                .desired_count(1)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network.clone())
                .send(),
        )
        .await?;
        services.push(name);
    }
    for i in 0..writes {
        let batch: Vec<String> = services
            .iter()
            .cycle()
            .skip(i)
            .take(10.min(services.len()))
            .cloned()
            .collect();
        c.time(
            "DescribeServices",
            ecs.describe_services()
                .cluster(&cluster)
                .set_services(Some(batch))
                .send(),
        )
        .await?;
    }
    for td in &task_definitions {
        c.time(
            "DescribeTaskDefinition",
            ecs.describe_task_definition().task_definition(td).send(),
        )
        .await?;
        c.time(
            "ListTaskDefinitions",
            ecs.list_task_definitions().max_results(100).send(),
        )
        .await?;
    }
    for s in &services {
        c.time(
            "UpdateService",
            ecs.update_service()
                .cluster(&cluster)
                .service(s)
                .desired_count(2)
                .send(),
        )
        .await?;
    }

    // Tasks (the FargateTask phase): RunTask of 10 (moto answers 500 for a container without memory),
    // DescribeTasks of up to 100 (each moves the tasks described one state), ListTasks by startedBy,
    // StopTask.
    let runnable = ecs
        .register_task_definition()
        .family(unique("bench-probe-run"))
        .cpu("256")
        .memory("512")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox:1.37")
                .memory(256)
                .build(),
        )
        .send()
        .await
        .context("moto probe: RegisterTaskDefinition of a runnable task definition")?
        .task_definition
        .and_then(|t| t.task_definition_arn)
        .context("moto probe: RegisterTaskDefinition returned no ARN")?;
    let started_by = unique("probe");
    let mut tasks = Vec::new();
    for _ in 0..half {
        let out = c
            .time(
                "RunTask",
                ecs.run_task()
                    .cluster(&cluster)
                    .task_definition(&runnable)
                    .count(10)
                    .launch_type(LaunchType::Fargate)
                    .network_configuration(network.clone())
                    .started_by(&started_by)
                    .send(),
            )
            .await?;
        tasks.extend(
            out.tasks()
                .iter()
                .filter_map(|t| t.task_arn().map(str::to_string)),
        );
    }
    for i in 0..writes {
        let batch: Vec<String> = tasks
            .iter()
            .cycle()
            .skip(i)
            .take(100.min(tasks.len()))
            .cloned()
            .collect();
        c.time(
            "DescribeTasks",
            ecs.describe_tasks()
                .cluster(&cluster)
                .set_tasks(Some(batch))
                .send(),
        )
        .await?;
    }
    for t in tasks.iter().take(half) {
        c.time(
            "ListTasks",
            ecs.list_tasks().cluster(&cluster).started_by(&started_by).send(),
        )
        .await?;
        c.time(
            "StopTask",
            ecs.stop_task()
                .cluster(&cluster)
                .task(t)
                .reason("bench probe")
                .send(),
        )
        .await?;
    }
    task_definitions.push(runnable);

    let resource = |s: &str| format!("service/{cluster}/{s}");
    let policy = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(60.0)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                .build()
                .context("predefined metric")?,
        )
        .build()
        .context("target tracking configuration")?;
    for s in services.iter().take(half) {
        c.time(
            "RegisterScalableTarget",
            aas.register_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .min_capacity(1)
                .max_capacity(4)
                .send(),
        )
        .await?;
        c.time(
            "PutScalingPolicy",
            aas.put_scaling_policy()
                .policy_name("cpu")
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(policy.clone())
                .send(),
        )
        .await?;
    }
    for s in services.iter().take(half) {
        c.time(
            "DescribeScalableTargets",
            aas.describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_ids(resource(s))
                .send(),
        )
        .await?;
        c.time(
            "DescribeScalingPolicies",
            aas.describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .send(),
        )
        .await?;
        c.time(
            "DescribeScheduledActions",
            aas.describe_scheduled_actions()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .send(),
        )
        .await?;
    }

    // And away again: deletions are part of the scenario too.
    for s in services.iter().take(half) {
        c.time(
            "DeleteScalingPolicy",
            aas.delete_scaling_policy()
                .policy_name("cpu")
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send(),
        )
        .await?;
        c.time(
            "DeregisterScalableTarget",
            aas.deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource(s))
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send(),
        )
        .await?;
    }
    for s in &services {
        c.time(
            "DeleteService",
            ecs.delete_service()
                .cluster(&cluster)
                .service(s)
                .force(true)
                .send(),
        )
        .await?;
    }
    for td in &task_definitions {
        c.time(
            "DeregisterTaskDefinition",
            ecs.deregister_task_definition().task_definition(td).send(),
        )
        .await?;
    }
    for chunk in task_definitions.chunks(10) {
        c.time(
            "DeleteTaskDefinitions",
            ecs.delete_task_definitions()
                .set_task_definitions(Some(chunk.to_vec()))
                .send(),
        )
        .await?;
    }
    for name in &clusters {
        c.time("DeleteCluster", ecs.delete_cluster().cluster(name).send())
            .await?;
    }
    Ok(c)
}

/// Sets how long each state of a moto task lasts, through moto's state manager (global to the moto
/// server: the benchmark's environment is its own): `0` restores moto's default, one state per
/// DescribeTasks.
pub async fn set_task_state_seconds(seconds: u64) -> Result<()> {
    use ecs_controller_e2e::moto::{TaskProgression, set_task_progression};
    let progression = match seconds {
        0 => TaskProgression::PerDescribe,
        s => TaskProgression::Seconds(s),
    };
    set_task_progression(&env("AWS_ENDPOINT_URL")?, progression).await
}
