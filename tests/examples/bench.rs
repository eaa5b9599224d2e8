//! `make bench`: how fast the controller converges, how many AWS calls it spends, and how much memory
//! and CPU it needs, on the real kube-apiserver and moto (release build of the controller).
//!
//! Scenario: N FargateServices with N TaskDefinitions on N/10 EcsClusters, applied at once in one namespace;
//! time until every object is Ready; AWS calls per object; then one resync period of steady state
//! (calls spent, CPU used); the controller's peak resident memory throughout.

#[path = "../tests/e2e/common.rs"]
#[allow(dead_code)]
mod common;

use anyhow::{Context as _, Result, ensure};
use common::*;
use ecs_controller::api::{ConditionStatus, EcsCluster, FargateService, TaskDefinition};
use kube::api::Api;
use serde_json::json;
use std::time::{Duration, Instant};

fn proc_field(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn total_calls(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("ecs_controller_aws_calls_total{"))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

fn calls_by_operation(metrics: &str) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = metrics
        .lines()
        .filter(|l| l.starts_with("ecs_controller_aws_calls_total{") && l.contains("outcome=\"success\""))
        .filter_map(|l| {
            let op = l.split("operation=\"").nth(1)?.split('"').next()?.to_string();
            let v = l.rsplit_once(' ')?.1.parse().ok()?;
            Some((op, v))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::var("BENCH_OBJECTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let resync = Duration::from_secs(20);
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "bench").await?;
    let resync_arg = format!("{}s", resync.as_secs());
    let controller = ControllerProcess::start_with_env(
        &ns.name,
        &["--resync-period", &resync_arg, "--aws-max-rps", "0"],
        &[("RUST_LOG", "info")],
    )?;
    let pid = controller.pid();
    let net_subnets: Vec<String> = env("ECS_TEST_SUBNETS")?.split(',').map(str::to_string).collect();
    let net_sgs: Vec<String> = env("ECS_TEST_SECURITY_GROUPS")?
        .split(',')
        .map(str::to_string)
        .collect();
    let (clusters, tds, services): (Api<EcsCluster>, Api<TaskDefinition>, Api<FargateService>) =
        (ns.api(), ns.api(), ns.api());
    controller.http_base().await?;
    let idle_rss = proc_field(pid, "VmRSS:").unwrap_or(0);

    let n_clusters = n.div_ceil(10);
    let cluster = |i: usize| {
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": format!("c{i}")},
               "spec": {"clusterName": unique(&format!("bench-c{i}")), "capacityProviders": ["FARGATE"],
                        "tags": [{"key": "bench", "value": "yes"}]}})
    };
    let task_definition = |i: usize| {
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition", "metadata": {"name": format!("t{i}")},
               "spec": {"family": unique(&format!("bench-t{i}")), "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                        "requiresCompatibilities": ["FARGATE"],
                        "containerDefinitions": [{"name": "app", "image": "nginx:1", "portMappings": [{"containerPort": 80}]}]}})
    };
    let service = |i: usize| {
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService", "metadata": {"name": format!("s{i}")},
               "spec": {"clusterRef": {"name": format!("c{}", i % n_clusters)}, "taskDefinitionRef": {"name": format!("t{i}")},
                        "desiredCount": 1,
                        "networkConfiguration": {"awsvpcConfiguration": {"subnets": net_subnets, "securityGroups": net_sgs}}}})
    };
    let start = Instant::now();
    for i in 0..n_clusters {
        apply(&clusters, cluster(i)).await?;
    }
    for i in 0..n {
        apply(&tds, task_definition(i)).await?;
        apply(&services, service(i)).await?;
    }
    let applied = start.elapsed();
    let mut peak_rss = 0;
    let ready_within = Duration::from_secs(300);
    for i in 0..n_clusters {
        wait_ready(&clusters, &format!("c{i}"), ConditionStatus::True, ready_within).await?;
    }
    for i in 0..n {
        wait_ready(&tds, &format!("t{i}"), ConditionStatus::True, ready_within).await?;
        wait_ready(&services, &format!("s{i}"), ConditionStatus::True, ready_within).await?;
        peak_rss = peak_rss.max(proc_field(pid, "VmRSS:").unwrap_or(0));
    }
    let converged = start.elapsed();
    // Let the last writes settle (moto's one UpdateService after each CreateService), then measure one
    // steady-state resync period.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let m0 = scrape(&controller).await?;
    let cpu0 = cpu_seconds(pid).unwrap_or(0.0);
    let converge_calls = total_calls(&m0);
    let by_op_converge = calls_by_operation(&m0);
    tokio::time::sleep(resync * 3).await;
    let m1 = scrape(&controller).await?;
    let cpu1 = cpu_seconds(pid).unwrap_or(0.0);
    let steady_calls = (total_calls(&m1) - converge_calls) / 3.0;
    let steady_by_op: Vec<(String, f64)> = calls_by_operation(&m1)
        .into_iter()
        .map(|(op, v)| {
            let before = by_op_converge
                .iter()
                .find(|(o, _)| *o == op)
                .map_or(0.0, |(_, b)| *b);
            (op, (v - before) / 3.0)
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    let hwm = proc_field(pid, "VmHWM:").unwrap_or(peak_rss);

    let objects = 2 * n + n_clusters;
    println!(
        "## ecs-controller benchmark ({objects} objects: {n_clusters} clusters, {n} task definitions, {n} services)"
    );
    println!();
    println!(
        "Controller flags: --resync-period {resync_arg} --aws-max-rps 0 (no pacing), defaults otherwise."
    );
    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| applied in | {:.1} s |", applied.as_secs_f64());
    println!(
        "| all Ready after | {:.1} s ({:.0} objects/s) |",
        converged.as_secs_f64(),
        objects as f64 / converged.as_secs_f64()
    );
    println!(
        "| AWS calls to converge | {converge_calls:.0} ({:.2} per object) |",
        converge_calls / objects as f64
    );
    println!(
        "| AWS calls per resync of all {objects} objects | {steady_calls:.1} ({:.2} per object) |",
        steady_calls / objects as f64
    );
    println!("| CPU per resync of all objects | {:.2} s |", (cpu1 - cpu0) / 3.0);
    println!(
        "| resident memory idle / peak | {:.1} MiB / {:.1} MiB |",
        idle_rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!();
    println!(
        "Calls to converge, by operation: {}",
        by_op_converge
            .iter()
            .map(|(o, v)| format!("{o} {v:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "Calls per steady-state resync, by operation: {}",
        steady_by_op
            .iter()
            .map(|(o, v)| format!("{o} {v:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ensure!(
        steady_by_op.iter().all(|(op, _)| op.starts_with("Describe")),
        "a resync changed something: {steady_by_op:?}"
    );

    for i in 0..n {
        services.delete(&format!("s{i}"), &Default::default()).await?;
    }
    for i in 0..n {
        let name = format!("s{i}");
        eventually("services gone", Duration::from_secs(300), || async {
            Ok(services.get_opt(&name).await?.is_none().then_some(()))
        })
        .await?;
        tds.delete(&format!("t{i}"), &Default::default()).await?;
    }
    for i in 0..n_clusters {
        clusters.delete(&format!("c{i}"), &Default::default()).await?;
    }
    for i in 0..n {
        let t = format!("t{i}");
        eventually("task definitions gone", Duration::from_secs(300), || async {
            Ok(tds.get_opt(&t).await?.is_none().then_some(()))
        })
        .await
        .context("cleanup")?;
    }
    for i in 0..n_clusters {
        let c = format!("c{i}");
        eventually("clusters gone", Duration::from_secs(300), || async {
            Ok(clusters.get_opt(&c).await?.is_none().then_some(()))
        })
        .await
        .context("cleanup")?;
    }
    Ok(())
}
