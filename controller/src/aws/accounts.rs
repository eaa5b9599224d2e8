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
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    inner: Arc<RwLock<Inner>>,
    /// Whether a namespace without a mapping may use the controller's own identity.
    allow_default: bool,
    /// `namespace/name` of the ConfigMap, for messages; `None` when no mapping is configured.
    source: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Namespace → role ARN, or the reason its entry is unusable.
    roles: BTreeMap<String, Result<String, String>>,
    /// Role ARN → the SDK config whose credentials come from assuming it (refreshed by the SDK).
    configs: HashMap<String, SdkConfig>,
}

impl Accounts {
    pub fn new(source: Option<String>, allow_default: bool) -> Self {
        Self {
            inner: Arc::default(),
            allow_default,
            source,
        }
    }

    /// The role for `namespace`'s objects: `Ok(None)` for the controller's own identity, `Err` (a message
    /// for the user) when the namespace may not use AWS at all.
    pub(crate) fn role_for(&self, namespace: &str) -> Result<Option<String>, NoAwsAccount> {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        match inner.roles.get(namespace) {
            Some(Ok(role)) => Ok(Some(role.clone())),
            Some(Err(why)) => Err(NoAwsAccount(format!(
                "the AWS account mapping for namespace {namespace} in ConfigMap {} is invalid: {why}",
                self.source.as_deref().unwrap_or("?")
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

    /// The SDK config for `role` (`None`: the base, the controller's own identity).
    pub(crate) fn config_for(&self, base: &SdkConfig, role: Option<&str>) -> SdkConfig {
        let Some(role) = role else {
            return base.clone();
        };
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner.configs.get(role).cloned().unwrap_or_else(|| base.clone())
    }

    /// Whether an assumed-role config exists for `role`.
    pub(crate) fn has_config(&self, role: Option<&str>) -> bool {
        role.is_some_and(|r| {
            self.inner
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .configs
                .contains_key(r)
        })
    }

    /// Replaces the mapping with the ConfigMap's `data` (namespace → role ARN), preparing an assume-role
    /// credentials provider for each new role. Returns the namespaces whose mapping changed.
    pub(crate) async fn replace(&self, base: &SdkConfig, data: &BTreeMap<String, String>) -> Vec<String> {
        let roles: BTreeMap<String, Result<String, String>> = data
            .iter()
            .map(|(ns, role)| (ns.clone(), validate_role(role.trim()).map(str::to_string)))
            .collect();
        let mut configs = HashMap::new();
        for role in roles.values().flatten() {
            let known = self
                .inner
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .configs
                .get(role)
                .cloned();
            let conf = match known {
                Some(c) => c,
                None => assumed(base, role).await,
            };
            configs.insert(role.clone(), conf);
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let changed = inner
            .roles
            .keys()
            .chain(roles.keys())
            .filter(|ns| inner.roles.get(*ns) != roles.get(*ns))
            .cloned()
            .collect();
        inner.roles = roles;
        inner.configs = configs;
        changed
    }
}

/// Loads the mapping from ConfigMap `namespace/name` (a missing ConfigMap maps nothing), then keeps it
/// current in the background.
pub async fn watch(
    client: kube::Client,
    aws: super::AwsClients,
    namespace: &str,
    name: &str,
) -> Result<(), kube::Error> {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::runtime::watcher;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, namespace);
    let data = |cm: Option<ConfigMap>| cm.and_then(|c| c.data).unwrap_or_default();
    let initial = data(api.get_opt(name).await?);
    let changed = aws.accounts().replace(aws.base_config(), &initial).await;
    tracing::info!(configmap = %format!("{namespace}/{name}"), namespaces = ?changed, "AWS account mapping loaded");
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    tokio::spawn(async move {
        let mut events = watcher(api, config).boxed();
        while let Some(event) = events.next().await {
            let data = match event {
                Ok(watcher::Event::Apply(cm) | watcher::Event::InitApply(cm)) => data(Some(cm)),
                Ok(watcher::Event::Delete(_)) => BTreeMap::new(),
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!("watching the AWS account mapping: {e}");
                    continue;
                }
            };
            let changed = aws.accounts().replace(aws.base_config(), &data).await;
            if !changed.is_empty() {
                tracing::info!(namespaces = ?changed, "AWS account mapping changed");
            }
        }
    });
    Ok(())
}

/// An SDK config whose credentials come from assuming `role` with the base config's identity.
async fn assumed(base: &SdkConfig, role: &str) -> SdkConfig {
    let provider = AssumeRoleProvider::builder(role)
        .session_name("ecs-controller")
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(aws_sdk_ecs::config::SharedCredentialsProvider::new(provider))
        .build()
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
        assert_eq!(
            strict.role_for("team-a"),
            Ok(Some("arn:aws:iam::111111111111:role/ecs".into()))
        );
        let bad = strict.role_for("team-b").unwrap_err();
        assert!(
            bad.0.contains("not an IAM role ARN") && bad.0.contains("ecs-system/accounts"),
            "{bad}"
        );
        assert!(strict.role_for("team-c").is_err());
        let denied = strict.role_for("team-d").unwrap_err();
        assert!(denied.0.contains("no AWS account mapping"), "{denied}");

        let lenient = Accounts::new(None, true);
        assert_eq!(lenient.role_for("team-d"), Ok(None));
        // Replacing with the same data changes nothing; dropping a namespace is a change.
        assert!(strict.replace(&base().await, &data).await.is_empty());
        let mut fewer = data.clone();
        fewer.remove("team-a");
        assert_eq!(strict.replace(&base().await, &fewer).await, vec!["team-a"]);
        assert!(strict.role_for("team-a").is_err());
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
