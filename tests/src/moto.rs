//! moto's own controls: its state manager (how fast a task moves through its lifecycle) and a moto_server
//! of a test's own, for tests that change state global to a server (the shared moto that `make env-up`
//! starts serves every end-to-end test at once).

use crate::fixtures::Network;
use crate::harness::{env, eventually, http_get, http_post_json, unique};
use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How a moto task moves from one state to the next (moto's state manager, model `ecs::task`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskProgression {
    /// moto's default: one state per DescribeTasks (STOPPED on the fourth).
    PerDescribe,
    /// Each state lasts this many seconds, however often it is described.
    Seconds(u64),
    /// Tasks stay in their state (RUNNING once started) until the progression changes.
    Held,
    /// The next describe moves a task straight to its last state (STOPPED).
    Immediate,
}

/// Sets how the tasks of the moto at `base` (`http://host:port`) progress; global to that server.
pub async fn set_task_progression(base: &str, progression: TaskProgression) -> Result<()> {
    let (path, body) = match progression {
        TaskProgression::PerDescribe => (
            "/moto-api/state-manager/unset-transition",
            json!({"model_name": "ecs::task"}),
        ),
        TaskProgression::Seconds(s) => (
            "/moto-api/state-manager/set-transition",
            json!({"model_name": "ecs::task", "transition": {"progression": "time", "seconds": s}}),
        ),
        // moto's "manual" progression moves a state after `times` describes: far more than any test makes.
        TaskProgression::Held => (
            "/moto-api/state-manager/set-transition",
            json!({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}),
        ),
        TaskProgression::Immediate => (
            "/moto-api/state-manager/set-transition",
            json!({"model_name": "ecs::task", "transition": {"progression": "immediate"}}),
        ),
    };
    let (code, response) = http_post_json(base, path, &body.to_string()).await?;
    ensure!((200..300).contains(&code), "moto {path}: {code} {response}");
    Ok(())
}

/// A moto_server of the test's own on a free loopback port, seeded with the same network as the shared
/// one (`hack/moto-seed.py`); killed when dropped. Point a controller at it with
/// `AWS_ENDPOINT_URL` = [`url`](Self::url).
pub struct PrivateMoto {
    child: Child,
    pub url: String,
    pub network: Network,
}

impl PrivateMoto {
    /// Starts the moto_server next to the Python that `make env-up` installed (`ECS_TEST_PYTHON`).
    pub async fn start() -> Result<Self> {
        let python = PathBuf::from(env("ECS_TEST_PYTHON")?);
        let bin = python.with_file_name("moto_server");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::env::temp_dir().join(format!("{}.moto.log", unique("moto")));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // As the shared moto runs: a service's tasks count as running at once.
            .env("MOTO_ECS_SERVICE_RUNNING", "1")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let url = format!("http://127.0.0.1:{port}");
        let mut moto = Self {
            child,
            url,
            network: Network {
                subnets: Vec::new(),
                security_groups: Vec::new(),
            },
        };
        eventually(
            &format!("moto at {} (log {})", moto.url, log.display()),
            Duration::from_secs(60),
            || async {
                Ok(http_get(&moto.url, "/moto-api/")
                    .await
                    .is_ok_and(|(code, _)| code == 200)
                    .then_some(()))
            },
        )
        .await?;
        let seed = Command::new(&python)
            .arg(crate::harness::repo_root().join("hack/moto-seed.py"))
            .env("AWS_ENDPOINT_URL", &moto.url)
            .output()
            .context("running hack/moto-seed.py")?;
        ensure!(
            seed.status.success(),
            "moto-seed.py: {}",
            String::from_utf8_lossy(&seed.stderr)
        );
        let printed = String::from_utf8_lossy(&seed.stdout);
        let value = |key: &str| -> Vec<String> {
            printed
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        moto.network = Network {
            subnets: value("ECS_TEST_SUBNETS"),
            security_groups: value("ECS_TEST_SECURITY_GROUPS"),
        };
        ensure!(
            !moto.network.subnets.is_empty() && !moto.network.security_groups.is_empty(),
            "moto-seed.py printed no network: {printed}"
        );
        Ok(moto)
    }

    /// An ECS client for this moto.
    pub async fn ecs(&self) -> Result<aws_sdk_ecs::Client> {
        let conf = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let conf = aws_sdk_ecs::config::Builder::from(&conf)
            .endpoint_url(&self.url)
            .build();
        Ok(aws_sdk_ecs::Client::from_conf(conf))
    }

    /// Sets how this moto's tasks progress.
    pub async fn tasks(&self, progression: TaskProgression) -> Result<()> {
        set_task_progression(&self.url, progression).await
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
