//! The AWS clients the reconcilers use: one set per identity and region, created on first use and
//! shared, plus the batchers that serve single Describe lookups in batches.
//!
//! Credentials, region and endpoint come from aws-config's default chain, so `AWS_ENDPOINT_URL`
//! (moto, LocalStack), IRSA and EKS Pod Identity work without code here.

use super::error::AwsError;
use super::{accounts, autoscaling, batch, ecs};
use aws_config::{BehaviorVersion, SdkConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
}

/// Where a call goes: the identity (`None`: the controller's own; `Some(role ARN)`: assumed with STS)
/// and the region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub role: Option<String>,
    pub region: String,
}

/// How the AWS clients are set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Overrides the default chain's region.
    pub region: Option<String>,
    /// Longest wait for one request attempt.
    pub attempt_timeout: std::time::Duration,
    /// The namespace → account mapping.
    pub accounts: accounts::Accounts,
}

/// One client set per identity and region, created on first use and shared by all reconcilers, plus
/// the batchers that serve single Describe lookups in batches.
#[derive(Clone, Debug)]
pub struct AwsClients {
    base: SdkConfig,
    default_region: String,
    accounts: accounts::Accounts,
    by_place: Arc<Mutex<HashMap<Place, RegionClients>>>,
    clusters: batch::Batcher<Place, String, aws_sdk_ecs::types::Cluster>,
    services: batch::Batcher<(Place, String), String, aws_sdk_ecs::types::Service>,
    scalable_targets: batch::Batcher<Place, String, aws_sdk_applicationautoscaling::types::ScalableTarget>,
}

impl AwsClients {
    /// Loads the default credential chain. Starts the batching tasks, so it must run inside the Tokio
    /// runtime.
    pub async fn load(options: Options) -> Result<Self, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(options.attempt_timeout)
                .build(),
        );
        if let Some(r) = options.region {
            loader = loader.region(aws_config::Region::new(r));
        }
        let base = loader.load().await;
        let default_region = base
            .region()
            .map(|r| r.to_string())
            .ok_or("no AWS region: set --region or AWS_REGION")?;
        let by_place: Arc<Mutex<HashMap<Place, RegionClients>>> = Arc::default();
        let make = {
            let (base, accounts, by_place) = (base.clone(), options.accounts.clone(), by_place.clone());
            move |place: &Place| clients_at(&base, &accounts, &by_place, place)
        };
        let for_clusters = make.clone();
        let clusters = batch::Batcher::spawn(
            100,
            Arc::new(move |place: Place, names: Vec<String>| {
                let ecs = for_clusters(&place).ecs;
                Box::pin(async move {
                    let found = ecs::describe_clusters(&ecs, &names).await?;
                    Ok(found
                        .into_iter()
                        .filter_map(|c| c.cluster_name().map(str::to_string).map(|n| (n, c)))
                        .collect())
                })
            }),
        );
        let for_services = make.clone();
        let services = batch::Batcher::spawn(
            10,
            Arc::new(move |(place, cluster): (Place, String), names: Vec<String>| {
                let ecs = for_services(&place).ecs;
                Box::pin(async move {
                    let found = ecs::describe_services(&ecs, &cluster, &names).await?;
                    Ok(found
                        .into_iter()
                        .filter_map(|s| s.service_name().map(str::to_string).map(|n| (n, s)))
                        .collect())
                })
            }),
        );
        let for_targets = make;
        let scalable_targets = batch::Batcher::spawn(
            50,
            Arc::new(move |place: Place, ids: Vec<String>| {
                let aas = for_targets(&place).autoscaling;
                Box::pin(async move {
                    let found = autoscaling::describe_scalable_targets(&aas, &ids).await?;
                    Ok(found
                        .into_iter()
                        .map(|t| (t.resource_id().to_string(), t))
                        .collect())
                })
            }),
        );
        Ok(Self {
            base,
            default_region,
            accounts: options.accounts,
            by_place,
            clusters,
            services,
            scalable_targets,
        })
    }

    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The namespace → account mapping.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// The base SDK config (the controller's own identity).
    pub fn base_config(&self) -> &SdkConfig {
        &self.base
    }

    /// The AWS account of `namespace`'s objects: `Err` (a message for the user) when the namespace may
    /// not use AWS.
    pub fn for_namespace(&self, namespace: &str) -> Result<Account<'_>, String> {
        Ok(Account {
            clients: self,
            role: self.accounts.role_for(namespace)?,
        })
    }
}

/// The clients of one identity (all regions).
#[derive(Clone, Debug)]
pub struct Account<'a> {
    clients: &'a AwsClients,
    role: Option<String>,
}

impl Account<'_> {
    pub fn default_region(&self) -> &str {
        &self.clients.default_region
    }

    /// The assumed role (`None`: the controller's own identity).
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    fn place(&self, region: Option<&str>) -> Place {
        Place {
            role: self.role.clone(),
            region: region.unwrap_or(&self.clients.default_region).to_string(),
        }
    }

    /// The clients for `region` (the default region when `None`).
    pub fn region(&self, region: Option<&str>) -> RegionClients {
        let c = self.clients;
        clients_at(&c.base, &c.accounts, &c.by_place, &self.place(region))
    }

    /// One cluster by name (with settings, configuration and tags), looked up together with the other
    /// lookups of the moment. `None` when it does not exist or is INACTIVE.
    pub async fn describe_cluster(
        &self,
        region: Option<&str>,
        name: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Cluster>, AwsError> {
        let c = self
            .clients
            .clusters
            .get(self.place(region), name.to_string())
            .await?;
        Ok(c.filter(|c| c.status() != Some("INACTIVE")))
    }

    /// One service by name (with tags), batched per cluster. `None` when it does not exist or is
    /// INACTIVE.
    pub async fn describe_service(
        &self,
        region: Option<&str>,
        cluster: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Service>, AwsError> {
        let s = self
            .clients
            .services
            .get((self.place(region), cluster.to_string()), name.to_string())
            .await?;
        Ok(s.filter(|s| s.status() != Some("INACTIVE")))
    }
}

impl Account<'_> {
    /// The scalable target of one service (`service/<cluster>/<name>`), batched (50 per call).
    pub async fn describe_scalable_target(
        &self,
        region: Option<&str>,
        resource_id: &str,
    ) -> Result<Option<aws_sdk_applicationautoscaling::types::ScalableTarget>, AwsError> {
        self.clients
            .scalable_targets
            .get(self.place(region), resource_id.to_string())
            .await
    }
}

fn clients_at(
    base: &SdkConfig,
    accounts: &accounts::Accounts,
    by_place: &Mutex<HashMap<Place, RegionClients>>,
    place: &Place,
) -> RegionClients {
    let mut map = by_place.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = map.get(place) {
        return c.clone();
    }
    let conf = accounts.config_for(base, place.role.as_deref());
    let r = aws_config::Region::new(place.region.clone());
    let ecs = aws_sdk_ecs::config::Builder::from(&conf)
        .region(r.clone())
        .build();
    let aas = aws_sdk_applicationautoscaling::config::Builder::from(&conf)
        .region(r)
        .build();
    let clients = RegionClients {
        region: place.region.clone(),
        ecs: aws_sdk_ecs::Client::from_conf(ecs),
        autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(aas),
    };
    // A role not prepared yet (the mapping is loading) gets base clients: not cached, so the assumed
    // ones are used as soon as they exist.
    if place.role.is_none() || accounts.has_config(place.role.as_deref()) {
        map.insert(place.clone(), clients.clone());
    }
    clients
}
