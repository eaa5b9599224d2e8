//! Which AWS account each namespace's objects live in: an admin-owned ConfigMap (in the controller's
//! namespace) maps a namespace to an IAM role the controller assumes with STS. Objects never name a role
//! themselves. A namespace without a mapping uses the controller's own identity only when the admin
//! allows it (`--default-identity allow`).
//!
//! ```yaml
//! apiVersion: v1
//! kind: ConfigMap
//! metadata: {name: ecs-controller-accounts, namespace: ecs-system}
//! data:
//!   team-a: arn:aws:iam::111111111111:role/ecs-controller
//!   team-b: arn:aws:iam::222222222222:role/ecs-controller
//! ```

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

/// The namespace → role mapping, shared by every reconcile and replaced whole when the ConfigMap changes.
///
/// It fails closed: a namespace whose mapping is invalid, or was there and went away with the ConfigMap,
/// is refused (`NoAwsAccount`), never served with the controller's own identity; while the ConfigMap
/// cannot be read, every namespace is refused.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    inner: Arc<RwLock<Inner>>,
    /// Whether a namespace without a mapping may use the controller's own identity.
    allow_default: bool,
    /// `namespace/name` of the ConfigMap, for messages; `None` when no mapping is configured.
    source: Option<String>,
    /// The ExternalId every AssumeRole carries, when the roles' trust policies require one.
    external_id: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Namespace → role ARN, or the reason its entry is unusable.
    roles: BTreeMap<String, Result<String, String>>,
    /// Namespace → the SDK config whose credentials come from assuming its role (with a session name
    /// of its own, so CloudTrail shows which namespace acted; refreshed by the SDK).
    configs: HashMap<String, (String, SdkConfig)>,
    /// Why no namespace may use AWS right now (the ConfigMap could not be read).
    unavailable: Option<String>,
}

impl Accounts {
    pub fn new(source: Option<String>, allow_default: bool) -> Self {
        Self {
            inner: Arc::default(),
            allow_default,
            source,
            external_id: None,
        }
    }

    /// The same, with an ExternalId on every AssumeRole.
    pub fn with_external_id(mut self, external_id: Option<String>) -> Self {
        self.external_id = external_id.filter(|e| !e.is_empty());
        self
    }

    /// The identity of `namespace`'s objects: `Ok(None)` for the controller's own, `Ok(Some(namespace))`
    /// for the role mapped to it (its clients are keyed by namespace), `Err` (a message for the user)
    /// when the namespace may not use AWS at all.
    pub(crate) fn identity_for(&self, namespace: &str) -> Result<Option<String>, NoAwsAccount> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let source = self.source.as_deref().unwrap_or("?");
        if let Some(why) = &inner.unavailable {
            return Err(NoAwsAccount(format!(
                "the AWS account mapping (ConfigMap {source}) cannot be read, so no namespace may use AWS: {why}"
            )));
        }
        match inner.roles.get(namespace) {
            Some(Ok(_)) if inner.configs.contains_key(namespace) => Ok(Some(namespace.to_string())),
            Some(Ok(role)) => Err(NoAwsAccount(format!(
                "the role {role} of namespace {namespace} has no credentials prepared yet"
            ))),
            Some(Err(why)) => Err(NoAwsAccount(format!(
                "the AWS account mapping for namespace {namespace} in ConfigMap {source} is invalid: {why}"
            ))),
            None if self.allow_default => Ok(None),
            None => Err(NoAwsAccount(format!(
                "namespace {namespace} has no AWS account mapping{} and the controller's own identity is \
                 not allowed for unmapped namespaces: ask an admin to map it to an IAM role",
                self.source
                    .as_deref()
                    .map(|s| format!(" in ConfigMap {s}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// The SDK config of an identity (`None`: the base, the controller's own). An identity without a
    /// prepared config gets one without credentials: its calls fail, they never run as the base.
    pub(crate) fn config_for(&self, base: &SdkConfig, identity: Option<&str>) -> SdkConfig {
        let Some(namespace) = identity else {
            return base.clone();
        };
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        match inner.configs.get(namespace) {
            Some((_, conf)) => conf.clone(),
            None => {
                let mut builder = base.to_builder();
                builder.set_credentials_provider(None);
                builder.build()
            }
        }
    }

    /// The AWS account of an assumed identity (from its role ARN); `None` for the base identity or an
    /// unknown one.
    pub(crate) fn account_of(&self, identity: Option<&str>) -> Option<String> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let (role, _) = inner.configs.get(identity?)?;
        role.split(':').nth(4).map(str::to_string)
    }

    /// Whether an assumed-role config exists for `identity`.
    pub(crate) fn has_config(&self, identity: Option<&str>) -> bool {
        identity.is_some_and(|ns| {
            self.inner
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .configs
                .contains_key(ns)
        })
    }

    /// Replaces the mapping with the ConfigMap's `data` (namespace → role ARN), preparing an assume-role
    /// credentials provider for each mapped namespace. Returns the namespaces whose mapping changed.
    pub(crate) async fn replace(&self, base: &SdkConfig, data: &BTreeMap<String, String>) -> Vec<String> {
        let roles: BTreeMap<String, Result<String, String>> = data
            .iter()
            .map(|(ns, role)| (ns.clone(), validate_role(role.trim()).map(str::to_string)))
            .collect();
        let mut configs = HashMap::new();
        for (namespace, role) in roles.iter().filter_map(|(ns, r)| Some((ns, r.as_ref().ok()?))) {
            let known = self
                .inner
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .configs
                .get(namespace)
                .filter(|(r, _)| r == role)
                .cloned();
            let conf = match known {
                Some((_, c)) => c,
                None => assumed(base, role, namespace, self.external_id.as_deref()).await,
            };
            configs.insert(namespace.clone(), (role.clone(), conf));
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let changed = inner
            .roles
            .keys()
            .chain(roles.keys())
            .filter(|ns| inner.roles.get(*ns) != roles.get(*ns))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        inner.roles = roles;
        inner.configs = configs;
        inner.unavailable = None;
        changed
    }

    /// The ConfigMap is gone: the namespaces it mapped are refused (never moved to the controller's own
    /// account) until it is back.
    pub(crate) fn deleted(&self) {
        let source = self.source.clone().unwrap_or_else(|| "?".into());
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        for entry in inner.roles.values_mut() {
            *entry = Err(format!(
                "ConfigMap {source} was deleted; the namespace keeps no AWS account until it is back"
            ));
        }
        inner.configs.clear();
    }

    /// The ConfigMap cannot be read (at start, or its watch fails): every namespace is refused until it
    /// can.
    pub(crate) fn unreadable(&self, why: String) {
        self.inner
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .unavailable = Some(why);
    }
}

/// Loads the mapping from ConfigMap `namespace/name` (a missing ConfigMap maps nothing), then keeps it
/// current in the background; the watch backs off on errors.
pub async fn watch(
    client: kube::Client,
    aws: super::AwsClients,
    namespace: &str,
    name: &str,
) -> Result<(), kube::Error> {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::{WatchStreamExt, watcher};
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, namespace);
    let data = |cm: Option<ConfigMap>| cm.and_then(|c| c.data).unwrap_or_default();
    let source = format!("{namespace}/{name}");
    match api.get_opt(name).await {
        Ok(cm) => {
            let changed = aws.accounts().replace(aws.base_config(), &data(cm)).await;
            tracing::info!(configmap = %source, namespaces = ?changed, "AWS account mapping loaded");
        }
        Err(e) => {
            tracing::warn!(configmap = %source, "cannot read the AWS account mapping: {e}; refusing every namespace until it can be read");
            aws.accounts().unreadable(e.to_string());
        }
    }
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    tokio::spawn(async move {
        let mut events = watcher(api, config).default_backoff().boxed();
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => {
                    let changed = aws.accounts().replace(aws.base_config(), &data(Some(cm))).await;
                    if !changed.is_empty() {
                        tracing::info!(namespaces = ?changed, "AWS account mapping changed");
                    }
                }
                Ok(watcher::Event::Delete(_)) => {
                    tracing::warn!(configmap = %source, "the AWS account mapping was deleted: its namespaces are refused until it is back");
                    aws.accounts().deleted();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(configmap = %source, "watching the AWS account mapping: {e}"),
            }
        }
    });
    Ok(())
}

/// An SDK config whose credentials come from assuming `role` with the base config's identity, in a
/// session named after `namespace`, with `external_id` when given.
async fn assumed(base: &SdkConfig, role: &str, namespace: &str, external_id: Option<&str>) -> SdkConfig {
    let mut builder = AssumeRoleProvider::builder(role).session_name(session_name(namespace));
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(base).build().await;
    base.to_builder()
        .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(provider))
        .build()
}

/// `ecs-controller-<namespace>`, within STS's rules for a session name (2-64 of `[\w+=,.@-]`).
fn session_name(namespace: &str) -> String {
    let mut name = format!("ecs-controller-{namespace}");
    name.retain(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    name.truncate(64);
    name
}

/// A role ARN: `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn validate_role(role: &str) -> Result<&str, String> {
    let parts: Vec<&str> = role.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && parts[5].strip_prefix("role/").is_some_and(|n| !n.is_empty());
    if ok {
        Ok(role)
    } else {
        Err(format!(
            "'{role}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        ))
    }
}

/// Why a namespace's objects may not use AWS (a message for the user: an invalid or missing mapping).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoAwsAccount(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    async fn base() -> SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region("us-east-1")
            .no_credentials()
            .load()
            .await
    }

    #[tokio::test]
    async fn namespaces_map_to_roles_and_unmapped_ones_follow_the_admin() {
        let data: BTreeMap<String, String> = [
            ("team-a", "arn:aws:iam::111111111111:role/ecs"),
            ("team-b", "not-an-arn"),
            ("team-c", "arn:aws:iam::12:role/x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let strict = Accounts::new(Some("ecs-system/accounts".into()), false);
        let changed = strict.replace(&base().await, &data).await;
        assert_eq!(changed, vec!["team-a", "team-b", "team-c"]);
        assert_eq!(strict.identity_for("team-a"), Ok(Some("team-a".into())));
        assert!(strict.has_config(Some("team-a")));
        let bad = strict.identity_for("team-b").unwrap_err();
        assert!(
            bad.0.contains("not an IAM role ARN") && bad.0.contains("ecs-system/accounts"),
            "{bad}"
        );
        assert!(strict.identity_for("team-c").is_err());
        let denied = strict.identity_for("team-d").unwrap_err();
        assert!(denied.0.contains("no AWS account mapping"), "{denied}");

        let lenient = Accounts::new(None, true);
        assert_eq!(lenient.identity_for("team-d"), Ok(None));
        // Replacing with the same data changes nothing; dropping a namespace is a change.
        assert!(strict.replace(&base().await, &data).await.is_empty());
        let mut fewer = data.clone();
        fewer.remove("team-a");
        assert_eq!(strict.replace(&base().await, &fewer).await, vec!["team-a"]);
        assert!(strict.identity_for("team-a").is_err());
    }

    #[tokio::test]
    async fn a_deleted_configmap_refuses_the_namespaces_it_mapped_even_where_the_default_is_allowed() {
        let data: BTreeMap<String, String> = [(
            "team-a".to_string(),
            "arn:aws:iam::111111111111:role/ecs".to_string(),
        )]
        .into();
        let accounts = Accounts::new(Some("ecs-system/accounts".into()), true);
        accounts.replace(&base().await, &data).await;
        accounts.deleted();
        let refused = accounts.identity_for("team-a").unwrap_err();
        assert!(refused.0.contains("was deleted"), "{refused}");
        assert!(!accounts.has_config(Some("team-a")), "its credentials are gone");
        assert_eq!(
            accounts.identity_for("team-z"),
            Ok(None),
            "never mapped: the default, as allowed"
        );
        // Back: served again.
        accounts.replace(&base().await, &data).await;
        assert_eq!(accounts.identity_for("team-a"), Ok(Some("team-a".into())));
    }

    #[tokio::test]
    async fn an_unreadable_configmap_refuses_every_namespace_until_it_is_read() {
        let accounts = Accounts::new(Some("ecs-system/accounts".into()), true);
        accounts.unreadable("403 Forbidden".into());
        for ns in ["team-a", "anything"] {
            let refused = accounts.identity_for(ns).unwrap_err();
            assert!(
                refused.0.contains("cannot be read") && refused.0.contains("403"),
                "{refused}"
            );
        }
        accounts.replace(&base().await, &BTreeMap::new()).await;
        assert_eq!(accounts.identity_for("anything"), Ok(None));
    }

    #[tokio::test]
    async fn an_identity_without_prepared_credentials_never_gets_the_base_identitys() {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region("us-east-1")
            .credentials_provider(aws_sdk_ecs::config::Credentials::for_tests())
            .load()
            .await;
        let accounts = Accounts::new(Some("ecs-system/accounts".into()), true);
        assert!(accounts.config_for(&base, None).credentials_provider().is_some());
        assert!(
            accounts
                .config_for(&base, Some("team-a"))
                .credentials_provider()
                .is_none(),
            "no credentials at all rather than the controller's own"
        );
    }

    #[test]
    fn session_names_name_the_namespace_within_stss_rules() {
        assert_eq!(session_name("team-a"), "ecs-controller-team-a");
        let long = session_name(&"n".repeat(80));
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("ecs-controller-nnn"));
    }

    #[test]
    fn role_arns_need_a_role_name() {
        assert_eq!(
            validate_role("arn:aws:iam::111111111111:role/ecs"),
            Ok("arn:aws:iam::111111111111:role/ecs")
        );
        assert_eq!(validate_role("arn:aws:iam::111111111111:role/"), Err("'arn:aws:iam::111111111111:role/' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)".into()));
    }
}
