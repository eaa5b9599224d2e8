//! The AWS clients the reconcilers use: one set per identity and region, created on first use and
//! shared, plus the batchers that serve single Describe lookups in batches. Everything they call goes
//! through the one [`Gateway`] of their [`AwsClients`], so the rate limit is a property of the clients,
//! not of the process.
//!
//! Credentials, region and endpoint come from aws-config's default chain, so `AWS_ENDPOINT_URL`
//! (moto, LocalStack), IRSA and EKS Pod Identity work without code here.

use super::error::AwsError;
use super::gateway::{Gateway, RateLimit};
use super::listings::Listings;
use super::operations::Operation;
use super::revisions::{self, Family, Known};
use super::{Lane, accounts, autoscaling, batch, ecs};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError};

/// The SDK client of one AWS service with the gateway its calls go through. It derefs to the SDK
/// client, so requests are built as usual (`ecs.describe_clusters()...send()`); [`Self::call`] sends
/// them through the gateway.
#[derive(Clone, Debug)]
pub(crate) struct ServiceClient<C> {
    sdk: C,
    gateway: Gateway,
}

/// An ECS client whose calls are paced by the rate limit of the [`AwsClients`] that made it.
pub(crate) type EcsClient = ServiceClient<aws_sdk_ecs::Client>;
/// An Application Auto Scaling client whose calls are paced by the rate limit of the [`AwsClients`]
/// that made it.
pub(crate) type AutoScalingClient = ServiceClient<aws_sdk_applicationautoscaling::Client>;

impl<C> ServiceClient<C> {
    pub(crate) fn new(sdk: C, gateway: Gateway) -> Self {
        Self { sdk, gateway }
    }

    /// Runs one call (`request`: a `send()` of this client, not polled yet) through the gateway.
    ///
    /// The request is boxed here, before anything awaits it: an SDK call's future is 20-40 KB, and
    /// held by value it would be part of every reconcile's state (its largest part: a service's
    /// reconcile future was 89 KB), allocated for each reconcile in flight for as long as it runs.
    pub(crate) fn call<'a, T, E>(
        &'a self,
        op: Operation,
        request: impl Future<Output = Result<T, SdkError<E>>> + 'a,
    ) -> impl Future<Output = Result<T, AwsError>> + 'a
    where
        T: aws_sdk_ecs::operation::RequestId + 'a,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.gateway.call(op, Box::pin(request))
    }
}

impl<C> Deref for ServiceClient<C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.sdk
    }
}

/// How long a DeleteTaskDefinitions call with room left waits for the deletions announced to it (at
/// ECS's documented 1 DeregisterTaskDefinition a second, at half of it, 10 deregistrations take 20 s).
const DELETION_HOLD: std::time::Duration = std::time::Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The ACTIVE revisions this process knows of, per place: read on first use, `None` when the account's
/// list is too long to keep.
type KnownRevisions = Arc<Mutex<HashMap<Place, Arc<tokio::sync::OnceCell<Option<Arc<Mutex<Known>>>>>>>>;

/// Services found absent by a look-up ahead of their creation ([`Account::look_up_service_ahead`]), by
/// place, cluster and name; each is taken by the one CreateService it saves a look-up for.
type Absences = Arc<Mutex<std::collections::HashSet<(Place, String, String)>>>;

/// At most this many absences are remembered (about 100 bytes each); a look-up beyond it is not kept,
/// and its service is looked up again before its creation.
const MAX_ABSENCES: usize = 20_000;

/// A deletion of task definition revisions announced to the batch of its calls
/// ([`Account::expect_deletion`]).
pub(crate) type AnnouncedDeletion = batch::Expected<Place>;

/// The clients of one region.
#[derive(Clone, Debug)]
pub(crate) struct RegionClients {
    pub(crate) region: String,
    pub(crate) ecs: EcsClient,
    pub(crate) autoscaling: AutoScalingClient,
}

/// Where a call goes: the identity (`None`: the controller's own; `Some(namespace)`: the role mapped to
/// that namespace, assumed with STS in a session of its own) and the region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Place {
    pub(crate) role: Option<String>,
    pub(crate) region: String,
}

/// How the AWS clients are set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Overrides the default chain's region.
    pub region: Option<String>,
    /// Longest wait for one request attempt.
    pub attempt_timeout: std::time::Duration,
    /// How AWS calls are paced.
    pub rate_limit: RateLimit,
    /// The namespace → account mapping.
    pub accounts: accounts::Accounts,
}

/// One client set per identity and region, created on first use and shared by all reconcilers, plus
/// the batchers that serve single Describe lookups in batches. Clones share the clients and the rate
/// limit.
#[derive(Clone, Debug)]
pub struct AwsClients {
    base: SdkConfig,
    default_region: String,
    accounts: accounts::Accounts,
    gateway: Gateway,
    by_place: Arc<Mutex<HashMap<Place, RegionClients>>>,
    clusters: batch::Batcher<Place, String, aws_sdk_ecs::types::Cluster>,
    services: batch::Batcher<(Place, String), String, aws_sdk_ecs::types::Service>,
    scalable_targets: batch::Batcher<Place, String, aws_sdk_applicationautoscaling::types::ScalableTarget>,
    tasks: batch::Batcher<(Place, String), String, aws_sdk_ecs::types::Task>,
    scaling_policies:
        batch::Batcher<Place, String, Vec<aws_sdk_applicationautoscaling::types::ScalingPolicy>>,
    scheduled_actions:
        batch::Batcher<Place, String, Vec<aws_sdk_applicationautoscaling::types::ScheduledAction>>,
    /// The last listing of the namespace's policies and scheduled actions, for the rest of the resync
    /// it was made in (see [`super::listings`]).
    policy_listings: Arc<Listings<aws_sdk_applicationautoscaling::types::ScalingPolicy>>,
    action_listings: Arc<Listings<aws_sdk_applicationautoscaling::types::ScheduledAction>>,
    active_revisions: batch::Batcher<Place, String, Vec<String>>,
    /// Revisions to delete, by ARN: `None` when deleted, else ECS's reason.
    deletions: batch::Batcher<Place, String, Option<String>>,
    /// The ACTIVE revisions this process knows of, per place (see [`revisions`]).
    revisions: KnownRevisions,
    /// Services looked up ahead of their creation and found absent.
    absences: Absences,
    /// The account of the controller's own identity (STS GetCallerIdentity, asked once when needed).
    base_account: Arc<tokio::sync::OnceCell<String>>,
}

impl AwsClients {
    /// Loads the default credential chain. Starts the batching tasks, so it must run inside the Tokio
    /// runtime.
    pub async fn load(options: Options) -> Result<Self, NoRegion> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(options.attempt_timeout)
                .build(),
        );
        if let Some(r) = &options.region {
            loader = loader.region(aws_config::Region::new(r.clone()));
        }
        Self::with_config(loader.load().await, options)
    }

    /// The clients over `base` (the controller's own identity). Starts the batching tasks, so it must
    /// run inside the Tokio runtime.
    pub(crate) fn with_config(base: SdkConfig, options: Options) -> Result<Self, NoRegion> {
        let default_region = base.region().map(|r| r.to_string()).ok_or(NoRegion)?;
        let gateway = Gateway::new(options.rate_limit);
        let by_place: Arc<Mutex<HashMap<Place, RegionClients>>> = Arc::default();
        let make = {
            let (base, accounts, gateway, by_place) = (
                base.clone(),
                options.accounts.clone(),
                gateway.clone(),
                by_place.clone(),
            );
            move |place: &Place| clients_at(&base, &accounts, &gateway, &by_place, place)
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
        let for_tasks = make.clone();
        let tasks = batch::Batcher::spawn(
            100,
            Arc::new(move |(place, cluster): (Place, String), arns: Vec<String>| {
                let ecs = for_tasks(&place).ecs;
                Box::pin(async move {
                    let found = ecs::describe_tasks(&ecs, &cluster, &arns).await?;
                    Ok(found
                        .into_iter()
                        .filter_map(|t| t.task_arn().map(str::to_string).map(|a| (a, t)))
                        .collect())
                })
            }),
        );
        // Policies and scheduled actions: per target, or the whole namespace in pages when a resync
        // asks for many targets at once (see `autoscaling::per_target`); all ids of a moment in one batch.
        let listing_pages = ListingPages::default();
        let autoscaling = |c: RegionClients| c.autoscaling;
        let (policy_listings, action_listings) = (Arc::default(), Arc::default());
        let scaling_policies = per_target_batcher(
            make.clone(),
            autoscaling,
            listing_pages.clone(),
            Some(Arc::clone(&policy_listings)),
            "policies",
            |aas, id| async move { autoscaling::describe_policies(&aas, &id).await },
            // The namespace's policies: at most 50 per target of 3000 per account, so listed whole.
            |aas, _| async move { autoscaling::list_policies(&aas).await.map(Some) },
            |p| p.resource_id(),
        );
        let scheduled_actions = per_target_batcher(
            make.clone(),
            autoscaling,
            listing_pages.clone(),
            Some(Arc::clone(&action_listings)),
            "scheduled actions",
            |aas, id| async move { autoscaling::describe_scheduled_actions(&aas, &id).await },
            |aas, _| async move { autoscaling::list_scheduled_actions(&aas).await.map(Some) },
            |a| a.resource_id(),
        );
        // A family's ACTIVE revisions: per family, or the account's whole list in pages when many
        // families are asked for at once (a burst of new task definitions, a mass deletion).
        let active_revisions = per_target_batcher(
            make.clone(),
            |c: RegionClients| c.ecs,
            listing_pages,
            None,
            "task definition revisions",
            |ecs, family| async move { ecs::list_active_revisions(&ecs, &family).await },
            |ecs, max_pages| async move { ecs::list_all_active_revisions(&ecs, max_pages).await },
            |arn: &String| ecs::family_of(arn).unwrap_or_default(),
        );
        // DeleteTaskDefinitions takes 10 revisions a call, whichever objects they belong to: the
        // deletions of the moment (a mass deletion) share calls (ECS allows 1 call a second), and a call
        // waits for the deletions announced while their DeregisterTaskDefinition calls are paced.
        let for_deletions = make.clone();
        let deletions = batch::Batcher::holding(
            10,
            DELETION_HOLD,
            Arc::new(move |place: Place, arns: Vec<String>| {
                let ecs = for_deletions(&place).ecs;
                Box::pin(async move { ecs::delete_task_definitions(&ecs, &arns).await })
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
            gateway,
            by_place,
            clusters,
            services,
            scalable_targets,
            tasks,
            scaling_policies,
            scheduled_actions,
            policy_listings,
            action_listings,
            active_revisions,
            deletions,
            revisions: KnownRevisions::default(),
            absences: Absences::default(),
            base_account: Arc::default(),
        })
    }

    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The namespace → account mapping.
    pub(crate) fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// The base SDK config (the controller's own identity).
    pub(crate) fn base_config(&self) -> &SdkConfig {
        &self.base
    }

    /// The AWS account of `namespace`'s objects: `Err` (a message for the user) when the namespace may
    /// not use AWS.
    pub(crate) fn for_namespace(&self, namespace: &str) -> Result<Account<'_>, accounts::NoAwsAccount> {
        Ok(Account {
            clients: self,
            role: self.accounts.identity_for(namespace)?,
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
    pub(crate) fn default_region(&self) -> &str {
        &self.clients.default_region
    }

    fn place(&self, region: Option<&str>) -> Place {
        Place {
            role: self.role.clone(),
            region: region.unwrap_or(&self.clients.default_region).to_string(),
        }
    }

    /// The clients for `region` (the default region when `None`).
    pub(crate) fn region(&self, region: Option<&str>) -> RegionClients {
        let c = self.clients;
        clients_at(&c.base, &c.accounts, &c.gateway, &c.by_place, &self.place(region))
    }

    /// The AWS account this identity acts in: the mapped role's (from its ARN), or the controller's own
    /// (STS GetCallerIdentity, once per process; it needs no IAM permission).
    pub(crate) async fn account_id(&self) -> Result<String, AwsError> {
        if self.role.is_some() {
            return self
                .clients
                .accounts
                .account_of(self.role.as_deref())
                .ok_or_else(|| AwsError {
                    service: "STS",
                    operation: "AssumeRole",
                    kind: super::ErrorKind::Retryable,
                    code: None,
                    message: "the mapped role has no credentials prepared yet".into(),
                    request_id: None,
                });
        }
        let base = &self.clients.base;
        self.clients
            .base_account
            .get_or_try_init(|| async {
                let sts = aws_sdk_sts::Client::new(base);
                let me = sts.get_caller_identity().send().await.map_err(|e| AwsError {
                    service: "STS",
                    operation: "GetCallerIdentity",
                    kind: super::ErrorKind::Retryable,
                    code: None,
                    message: aws_sdk_sts::error::DisplayErrorContext(&e).to_string(),
                    request_id: None,
                })?;
                me.account.ok_or_else(|| AwsError {
                    service: "STS",
                    operation: "GetCallerIdentity",
                    kind: super::ErrorKind::Retryable,
                    code: None,
                    message: "no account in the answer".into(),
                    request_id: None,
                })
            })
            .await
            .cloned()
    }

    /// One cluster by name (with settings, configuration and tags), looked up together with the other
    /// lookups of the moment. `None` when it does not exist or is INACTIVE.
    pub(crate) async fn describe_cluster(
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
    pub(crate) async fn describe_service(
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

    /// Looks a service up ahead of its creation, while it still waits for what it needs (its task
    /// definition): the services that wait together (a burst at startup, waiting for their task
    /// definitions registered at ECS's pace) share their DescribeServices calls, where each look-up
    /// made right before its CreateService would be a call of its own. An absence is remembered for
    /// [`take_service_absence`](Self::take_service_absence); a service already remembered absent is
    /// not looked up again.
    pub(crate) async fn look_up_service_ahead(
        &self,
        region: Option<&str>,
        cluster: &str,
        name: &str,
    ) -> Result<(), AwsError> {
        let key = self.absence_key(region, cluster, name);
        if lock(&self.clients.absences).contains(&key) {
            return Ok(());
        }
        let found = self.describe_service(region, cluster, name).await?;
        let mut absences = lock(&self.clients.absences);
        match found {
            None if absences.len() < MAX_ABSENCES => {
                absences.insert(key);
            }
            None => {}
            Some(_) => {
                absences.remove(&key);
            }
        }
        Ok(())
    }

    /// Whether a look-up ahead found the service absent, forgetting it: the CreateService this allows
    /// without a look-up of its own is the one use of that answer. A service created in between by
    /// someone else makes ECS refuse the create ("Creation of service was not idempotent"), and the
    /// caller looks it up then.
    pub(crate) fn take_service_absence(&self, region: Option<&str>, cluster: &str, name: &str) -> bool {
        let key = self.absence_key(region, cluster, name);
        lock(&self.clients.absences).remove(&key)
    }

    fn absence_key(&self, region: Option<&str>, cluster: &str, name: &str) -> (Place, String, String) {
        (self.place(region), cluster.to_string(), name.to_string())
    }

    /// One task by ARN, batched per cluster (100 per call) with the other tasks polled at the moment.
    /// `None` when ECS does not know it (MISSING).
    pub(crate) async fn describe_task(
        &self,
        region: Option<&str>,
        cluster: &str,
        arn: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Task>, AwsError> {
        self.clients
            .tasks
            .get((self.place(region), cluster.to_string()), arn.to_string())
            .await
    }

    /// The scaling policies on one service's scalable target, read with those the other reconciles
    /// of the moment ask for (see [`autoscaling::per_target`]).
    pub(crate) async fn describe_scaling_policies(
        &self,
        region: Option<&str>,
        resource_id: &str,
    ) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScalingPolicy>, AwsError> {
        let place = self.place(region);
        if let Some(listed) = self.clients.policy_listings.answer(&place, resource_id).await {
            return Ok(listed);
        }
        let found = self
            .clients
            .scaling_policies
            .get(place, resource_id.to_string())
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// The scheduled actions on one service's scalable target, read as
    /// [`describe_scaling_policies`](Self::describe_scaling_policies) reads policies.
    pub(crate) async fn describe_scheduled_actions(
        &self,
        region: Option<&str>,
        resource_id: &str,
    ) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScheduledAction>, AwsError> {
        let place = self.place(region);
        if let Some(listed) = self.clients.action_listings.answer(&place, resource_id).await {
            return Ok(listed);
        }
        let found = self
            .clients
            .scheduled_actions
            .get(place, resource_id.to_string())
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// This process changed the policies or scheduled actions of target `resource_id` (a write was
    /// answered): the listings made before now no longer answer for it.
    pub(crate) fn wrote_scalable_target(&self, region: Option<&str>, resource_id: &str) {
        let place = self.place(region);
        self.clients.policy_listings.wrote(&place, resource_id);
        self.clients.action_listings.wrote(&place, resource_id);
    }

    /// The ARNs of `family`'s ACTIVE revisions, newest first; the lookups of the moment are served
    /// together (one ListTaskDefinitions per family, or the account's list when that takes fewer calls).
    pub(crate) async fn active_revisions(
        &self,
        region: Option<&str>,
        family: &str,
    ) -> Result<Vec<String>, AwsError> {
        let mut arns = self
            .clients
            .active_revisions
            .get(self.place(region), family.to_string())
            .await?
            .unwrap_or_default();
        arns.sort_by_key(|a| std::cmp::Reverse(ecs::revision_of(a)));
        Ok(arns)
    }

    /// What this process knows of `family` in `region` (see [`revisions`]): its ACTIVE revisions, and
    /// the number the next registration should get. The first call of a place reads the account's list;
    /// where that is too long to keep, each call lists the family (and `next` is `None`).
    pub(crate) async fn family(&self, region: Option<&str>, family: &str) -> Result<Family, AwsError> {
        match self.known_revisions(region).await? {
            Some(known) => {
                let uncertain = lock(&known).uncertain(family);
                if uncertain {
                    // A registration's answer was lost: what ECS holds now is listed first.
                    self.relist(region, family).await?;
                }
                let family = lock(&known).family(family);
                Ok(family)
            }
            None => Ok(Family {
                arns: self.active_revisions(region, family).await?,
                next: None,
            }),
        }
    }

    /// Lists `family`'s ACTIVE revisions from ECS now (newest first), and keeps what it found.
    pub(crate) async fn relist(&self, region: Option<&str>, family: &str) -> Result<Vec<String>, AwsError> {
        let arns = self.active_revisions(region, family).await?;
        if let Some(known) = self.known_revisions_now(region) {
            lock(&known).listed(family, &arns);
        }
        Ok(arns)
    }

    /// Marks `family` as one a registration is sent into: until its answer is kept
    /// ([`registered`](Self::registered)), the family is listed from ECS before it is trusted.
    pub(crate) fn registering(&self, region: Option<&str>, family: &str) {
        if let Some(known) = self.known_revisions_now(region) {
            lock(&known).registering(family);
        }
    }

    /// Keeps a revision this process registered (or found ACTIVE).
    pub(crate) fn registered(&self, region: Option<&str>, arn: &str) {
        if let Some(known) = self.known_revisions_now(region) {
            lock(&known).registered(arn.to_string());
        }
    }

    /// Forgets a revision this process deregistered (or found not ACTIVE).
    pub(crate) fn deregistered(&self, region: Option<&str>, arn: &str) {
        if let Some(known) = self.known_revisions_now(region) {
            lock(&known).deregistered(arn);
        }
    }

    fn revisions_cell(&self, region: Option<&str>) -> Arc<tokio::sync::OnceCell<Option<Arc<Mutex<Known>>>>> {
        lock(&self.clients.revisions)
            .entry(self.place(region))
            .or_default()
            .clone()
    }

    async fn known_revisions(&self, region: Option<&str>) -> Result<Option<Arc<Mutex<Known>>>, AwsError> {
        let cell = self.revisions_cell(region);
        let known = cell
            .get_or_try_init(|| async {
                let ecs = self.region(region).ecs;
                let listing = ecs::list_all_active_revisions(&ecs, revisions::MAX_PAGES).await?;
                if listing.is_none() {
                    tracing::info!(
                        pages = revisions::MAX_PAGES,
                        "the account's ACTIVE task definition revisions fill more pages than are kept: each \
                         family is listed when needed"
                    );
                }
                Ok::<_, AwsError>(listing.map(|(arns, _)| Arc::new(Mutex::new(Known::from_listing(arns)))))
            })
            .await?;
        Ok(known.clone())
    }

    fn known_revisions_now(&self, region: Option<&str>) -> Option<Arc<Mutex<Known>>> {
        self.revisions_cell(region).get().cloned().flatten()
    }

    /// Announces a deletion of revisions to come ([`delete_task_definitions`](Self::delete_task_definitions)
    /// in `region`), made once their deregistration is through: the deletions under way share their
    /// calls while the guard lives.
    pub(crate) fn expect_deletion(&self, region: Option<&str>) -> AnnouncedDeletion {
        self.clients.deletions.expect(self.place(region))
    }

    /// Deletes INACTIVE revisions, with the deletions of other objects of the moment (10 a call), and
    /// ends the announcement `expected` of it. A revision ECS did not delete fails the whole (so the
    /// deletion is retried, never dropped).
    pub(crate) async fn delete_task_definitions(
        &self,
        region: Option<&str>,
        arns: &[String],
        expected: Option<AnnouncedDeletion>,
    ) -> Result<(), AwsError> {
        let place = self.place(region);
        let requests: Vec<_> = arns
            .iter()
            .map(|arn| {
                let answer = self.clients.deletions.request(place.clone(), arn.clone());
                async move { Ok::<_, AwsError>((arn, answer.await?)) }
            })
            .collect();
        // Every revision is queued: the batch need not wait for this deletion any longer.
        drop(expected);
        let answers = futures::future::try_join_all(requests).await?;
        match answers.into_iter().find_map(|(arn, answer)| match answer {
            Some(None) => None,
            Some(Some(reason)) => Some((arn, reason)),
            None => Some((arn, "no answer for it".to_string())),
        }) {
            None => Ok(()),
            Some((arn, reason)) => Err(AwsError {
                service: super::operations::Service::Ecs.name(),
                operation: "DeleteTaskDefinitions",
                kind: super::ErrorKind::Retryable,
                code: None,
                message: format!("{arn}: {reason}"),
                request_id: None,
            }),
        }
    }

    /// The scalable target of one service (`service/<cluster>/<name>`), batched (50 per call).
    pub(crate) async fn describe_scalable_target(
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

/// The page count of the last listing of each item kind (`"policies"`, ...), per place.
type ListingPages = Arc<Mutex<HashMap<(Place, &'static str), Arc<AtomicUsize>>>>;

/// A batcher of one item kind per id (Application Auto Scaling's policies or scheduled actions per
/// target, ECS's ACTIVE revisions per task definition family; see [`autoscaling::per_target`]): `one`
/// reads an id's items, `all` lists the place's; `client` picks the service's client; the page count of
/// the last listing is kept per place and kind in `pages`. With `listings`, a listing a batch of a
/// resync's reads makes is kept there for the rest of its resync, and such a batch counts the reads the
/// resync is still expected to make (see [`Listings::to_come`]) as reads the listing would answer.
#[allow(
    clippy::too_many_arguments,
    reason = "the clients, the pages and listings kept, and how to read, list and group"
)]
fn per_target_batcher<C, T, One, OneFut, All, AllFut>(
    clients: impl Fn(&Place) -> RegionClients + Send + Sync + 'static,
    client: fn(RegionClients) -> C,
    pages: ListingPages,
    listings: Option<Arc<Listings<T>>>,
    kind: &'static str,
    one: One,
    all: All,
    id_of: fn(&T) -> &str,
) -> batch::Batcher<Place, String, Vec<T>>
where
    C: Clone + Send + Sync + 'static,
    T: Clone + Send + 'static,
    One: Fn(C, String) -> OneFut + Clone + Send + Sync + 'static,
    OneFut: Future<Output = Result<Vec<T>, AwsError>> + Send + 'static,
    All: Fn(C, usize) -> AllFut + Clone + Send + Sync + 'static,
    AllFut: Future<Output = Result<Option<(Vec<T>, usize)>, AwsError>> + Send + 'static,
{
    batch::Batcher::spawn(
        usize::MAX,
        Arc::new(move |place: Place, ids: Vec<String>| {
            let c = client(clients(&place));
            let listing_pages = pages
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry((place.clone(), kind))
                .or_insert_with(|| Arc::new(AtomicUsize::new(1)))
                .clone();
            let (one, all, listings) = (one.clone(), all.clone(), listings.clone());
            // Before any call: a listing kept answers only reads of resyncs that began before it did.
            let began = tokio::time::Instant::now();
            // Only a resync's listing is kept: reads of reconciles a change started never use one, and
            // a mass change (a cold start) would hold the namespace's items for nothing.
            let listings = listings.filter(|_| super::lane() == Lane::Routine);
            let to_come = listings.as_ref().map_or(0, |l| l.to_come(&place));
            let demand = ids.len() + to_come;
            Box::pin(async move {
                let each = c.clone();
                // Dropped once the listing is kept (or given up): the reads waiting for it look again.
                let mut listing = None;
                let answered = autoscaling::per_target(
                    ids,
                    demand,
                    &listing_pages,
                    |id| one(each.clone(), id),
                    |max_pages| {
                        listing = listings.as_ref().map(|l| l.listing(&place, began));
                        all(c, max_pages)
                    },
                    id_of,
                    |items| {
                        if let Some(listings) = &listings {
                            listings.keep(&place, began, items);
                        }
                    },
                )
                .await;
                drop(listing);
                answered
            })
        }),
    )
}

/// The clients of `place`, from the cache or made now (with `gateway`, so they share its rate limit).
fn clients_at(
    base: &SdkConfig,
    accounts: &accounts::Accounts,
    gateway: &Gateway,
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
    // AWS throttles per account and Region: so do the gateway's buckets (namespaces mapped to roles of
    // one account share them; the controller's own identity counts as an account of its own).
    let account = accounts
        .account_of(place.role.as_deref())
        .unwrap_or_else(|| "controller".to_string());
    let gateway = gateway.at(&format!("{account}@{}", place.region));
    let clients = RegionClients {
        region: place.region.clone(),
        ecs: ServiceClient::new(aws_sdk_ecs::Client::from_conf(ecs), gateway.clone()),
        autoscaling: ServiceClient::new(
            aws_sdk_applicationautoscaling::Client::from_conf(aas),
            gateway.clone(),
        ),
    };
    // An identity without prepared credentials gets clients without any (never the base identity's):
    // not cached, so the assumed ones are used as soon as they exist.
    if place.role.is_none() || accounts.has_config(place.role.as_deref()) {
        map.insert(place.clone(), clients.clone());
    }
    clients
}

/// The AWS SDK's chain named no region, and neither did `--region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no AWS region: set --region or AWS_REGION")]
pub struct NoRegion;

/// The account of the offline clients' own identity.
#[cfg(test)]
pub(crate) const OFFLINE_ACCOUNT: &str = "000000000000";

#[cfg(test)]
impl AwsClients {
    /// Clients that never reach AWS, for unit tests of the code around the AWS calls (the engine): a
    /// fixed region, no credentials, the controller's own identity for every namespace, no rate limit,
    /// and batchers that refuse every lookup. Deterministic: reads no environment and no profile file.
    pub(crate) fn offline(region: &str) -> Self {
        fn refuse<G: Send + 'static, K: Send + 'static, V: Send + 'static>() -> batch::Fetch<G, K, V> {
            Arc::new(
                |_: G, _: Vec<K>| -> futures::future::BoxFuture<'static, Result<Vec<(K, V)>, AwsError>> {
                    Box::pin(async {
                        Err(AwsError {
                            service: "none",
                            operation: "offline",
                            kind: super::ErrorKind::Terminal,
                            code: None,
                            message: "offline AWS clients make no call".into(),
                            request_id: None,
                        })
                    })
                },
            )
        }
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Self {
            base,
            default_region: region.to_string(),
            accounts: accounts::Accounts::new(None, true),
            gateway: Gateway::new(RateLimit::Off),
            by_place: Arc::default(),
            clusters: batch::Batcher::spawn(100, refuse()),
            services: batch::Batcher::spawn(10, refuse()),
            scalable_targets: batch::Batcher::spawn(50, refuse()),
            tasks: batch::Batcher::spawn(100, refuse()),
            scaling_policies: batch::Batcher::spawn(usize::MAX, refuse()),
            scheduled_actions: batch::Batcher::spawn(usize::MAX, refuse()),
            policy_listings: Arc::default(),
            action_listings: Arc::default(),
            active_revisions: batch::Batcher::spawn(usize::MAX, refuse()),
            deletions: batch::Batcher::spawn(10, refuse()),
            revisions: KnownRevisions::default(),
            absences: Absences::default(),
            base_account: Arc::new(tokio::sync::OnceCell::new_with(Some(OFFLINE_ACCOUNT.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::gateway::tests::instant_answer;
    use crate::aws::operations::{DESCRIBE_CLUSTERS, DESCRIBE_SCALABLE_TARGETS};
    use aws_sdk_applicationautoscaling::operation::describe_scalable_targets::{
        DescribeScalableTargetsError, DescribeScalableTargetsOutput,
    };
    use std::time::Duration;
    use tokio::time::Instant;

    /// Clients over a config without credentials (nothing here reaches AWS).
    async fn clients(rate_limit: RateLimit) -> AwsClients {
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region("us-east-1")
            .no_credentials()
            .load()
            .await;
        let options = Options {
            region: None,
            attempt_timeout: Duration::from_secs(1),
            rate_limit,
            accounts: accounts::Accounts::new(None, true),
        };
        AwsClients::with_config(base, options).expect("clients")
    }

    /// Makes `n` calls through `one` and `n` through `other` at the same time; returns how long they
    /// took together.
    async fn side_by_side(one: &EcsClient, other: &EcsClient, n: usize) -> Duration {
        let start = Instant::now();
        let call = |c: &EcsClient| {
            let c = c.clone();
            async move {
                let answer = c.call(DESCRIBE_CLUSTERS, instant_answer()).await;
                assert!(answer.is_ok(), "{answer:?}");
            }
        };
        futures::future::join_all((0..n).flat_map(|_| [call(one), call(other)])).await;
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn every_client_of_one_aws_clients_shares_its_rate_limit() {
        let aws = clients(RateLimit::Total(4)).await;
        let account = aws
            .for_namespace("team-a")
            .expect("the default identity is allowed");
        let (east, west) = (account.region(None), account.region(Some("eu-west-1")));
        assert_eq!(
            (east.region.as_str(), west.region.as_str()),
            ("us-east-1", "eu-west-1")
        );
        // 8 calls through the ECS clients of two regions: 4 per second together, so 7 × 250 ms.
        assert_eq!(
            side_by_side(&east.ecs, &west.ecs, 4).await,
            Duration::from_millis(7 * 250)
        );
        // Application Auto Scaling calls take their slots from the same budget.
        let start = Instant::now();
        let aas = west.autoscaling.call(
            DESCRIBE_SCALABLE_TARGETS,
            std::future::ready(Ok::<_, SdkError<DescribeScalableTargetsError>>(
                DescribeScalableTargetsOutput::builder().build(),
            )),
        );
        let (aas, ecs) = tokio::join!(aas, east.ecs.call(DESCRIBE_CLUSTERS, instant_answer()));
        assert!(aas.is_ok() && ecs.is_ok());
        assert_eq!(start.elapsed(), Duration::from_millis(2 * 250));
    }

    #[tokio::test(start_paused = true)]
    async fn by_default_each_region_has_aws_buckets_of_its_own() {
        let aws = clients(RateLimit::Documented { percent: 100 }).await;
        let account = aws.for_namespace("x").expect("account");
        let (east, west) = (account.region(None), account.region(Some("eu-west-1")));
        // ECS's cluster-read bucket: 50 at once, then 20 per second. 60 calls in each Region: the 10
        // past the burst take 10 × 50 ms, in both Regions at once (one shared bucket: 70 × 50 ms).
        assert_eq!(
            side_by_side(&east.ecs, &west.ecs, 60).await,
            Duration::from_millis(10 * 50)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn separate_aws_clients_have_separate_limits_and_zero_has_none() {
        let (a, b) = (
            clients(RateLimit::Total(4)).await,
            clients(RateLimit::Total(4)).await,
        );
        let (a, b) = (
            a.for_namespace("x").expect("account").region(None),
            b.for_namespace("x").expect("account").region(None),
        );
        // Two calls each under two limits of 4/s: 250 ms, not the 750 ms of one shared limit.
        assert_eq!(side_by_side(&a.ecs, &b.ecs, 2).await, Duration::from_millis(250));

        let unlimited = clients(RateLimit::Off).await;
        let r = unlimited.for_namespace("x").expect("account").region(None);
        assert_eq!(side_by_side(&r.ecs, &r.ecs, 100).await, Duration::ZERO);
    }
}
