//! Pure: which FargateProfile selects a workload, whether a task role passes its guard rail, and the
//! fields a profile fills in. Unit-tested below without a cluster.

use crate::api::Tag;
use crate::api::profile::{FargateProfile, PROFILE_LABEL, Selector};
use kube::ResourceExt;
use std::collections::BTreeMap;

/// `*` (any run of characters) and `?` (one character) wildcards, as EKS's selectors take them.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point (the last `*`): linear in practice, never recursive.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `selector` selects a workload in `namespace` with `labels` (EKS: the namespace matches and
/// the workload carries every label of the selector).
pub(crate) fn selects(selector: &Selector, namespace: &str, labels: &BTreeMap<String, String>) -> bool {
    glob(&selector.namespace, namespace)
        && selector
            .labels
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|have| glob(v, have)))
}

/// Which profile a workload runs under.
#[derive(Debug, PartialEq)]
pub(crate) enum Selection<'a> {
    /// No profile selects it: today's behaviour (its own spec says everything).
    None,
    Profile(&'a FargateProfile),
    /// Its `ecs.kubefargate.dev/fargate-profile` label names a profile that does not select it.
    Mismatch {
        named: String,
        selecting: Vec<String>,
    },
}

/// The profile of a workload in `namespace` with `labels`: of the profiles that select it, the one its
/// `ecs.kubefargate.dev/fargate-profile` label names, else the first by name (EKS picks one at random;
/// here the choice is stable). A label naming a profile that does not select the workload is an error
/// to report, not a silent fallback.
pub(crate) fn select<'a>(
    profiles: impl IntoIterator<Item = &'a FargateProfile>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
) -> Selection<'a> {
    let mut selecting: Vec<&FargateProfile> = profiles
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.spec.selectors.iter().any(|s| selects(s, namespace, labels)))
        .collect();
    selecting.sort_by_key(|p| p.name_any());
    match labels.get(PROFILE_LABEL) {
        Some(named) => match selecting.iter().find(|p| p.name_any() == *named) {
            Some(p) => Selection::Profile(p),
            None => Selection::Mismatch {
                named: named.clone(),
                selecting: selecting.iter().map(|p| p.name_any()).collect(),
            },
        },
        None => selecting
            .first()
            .map_or(Selection::None, |p| Selection::Profile(p)),
    }
}

/// Whether the profile lets a workload use task role `arn` (no list: any role).
pub(crate) fn role_allowed(profile: &FargateProfile, arn: &str) -> bool {
    profile
        .spec
        .allowed_task_role_arns
        .as_ref()
        .is_none_or(|allowed| allowed.iter().any(|pattern| glob(pattern, arn)))
}

/// The workload's tags with the profile's added under them (a workload's own key wins).
pub(crate) fn tags(own: &[Tag], profile: &FargateProfile) -> Vec<Tag> {
    let mut out = own.to_vec();
    for t in &profile.spec.tags {
        if !own.iter().any(|o| o.key == t.key) {
            out.push(t.clone());
        }
    }
    out
}

/// The awsvpc configuration the profile gives workloads that set none.
pub(crate) fn network(profile: &FargateProfile) -> Option<crate::api::service::NetworkConfiguration> {
    let subnets = profile.spec.subnets.clone()?;
    Some(crate::api::service::NetworkConfiguration {
        awsvpc_configuration: crate::api::service::AwsVpcConfiguration {
            subnets,
            security_groups: profile.spec.security_groups.clone().unwrap_or_default(),
            assign_public_ip: profile.spec.assign_public_ip.clone(),
        },
    })
}

/// The fields of a workload that runs tasks (FargateTask, FargateService) a profile fills in.
pub(crate) struct RunFields<'a> {
    pub(crate) network: &'a mut Option<crate::api::service::NetworkConfiguration>,
    pub(crate) launch_type: Option<&'a str>,
    pub(crate) strategy: &'a mut Option<Vec<crate::api::cluster::CapacityProviderStrategyItem>>,
    pub(crate) tags: &'a mut Vec<Tag>,
}

/// Fills what a workload that runs tasks leaves out: the network, the capacity strategy (when it names
/// neither a launch type nor a strategy: ECS takes one or the other) and tags (its own keys win).
pub(crate) fn fill_run(p: &FargateProfile, f: RunFields<'_>) {
    if f.network.is_none() {
        *f.network = network(p);
    }
    if f.launch_type.is_none() && f.strategy.is_none() {
        f.strategy.clone_from(&p.spec.capacity_provider_strategy);
    }
    *f.tags = tags(f.tags, p);
}

/// The awslogs configuration the profile gives containers that set none.
pub(crate) fn log_configuration(
    profile: &FargateProfile,
    region: &str,
) -> Option<crate::api::task_definition::LogConfiguration> {
    let logging = profile.spec.logging.as_ref()?;
    let mut options = BTreeMap::from([
        ("awslogs-group".to_string(), logging.log_group.clone()),
        ("awslogs-region".to_string(), region.to_string()),
        (
            "awslogs-stream-prefix".to_string(),
            logging.stream_prefix.clone().unwrap_or_else(|| "ecs".into()),
        ),
    ]);
    if logging.create_group == Some(true) {
        options.insert("awslogs-create-group".into(), "true".into());
    }
    Some(crate::api::task_definition::LogConfiguration {
        log_driver: "awslogs".into(),
        options,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::profile::FargateProfileSpec;

    fn profile(name: &str, selectors: &[(&str, &[(&str, &str)])]) -> FargateProfile {
        let mut p = FargateProfile::new(
            name,
            FargateProfileSpec {
                selectors: selectors
                    .iter()
                    .map(|(ns, labels)| Selector {
                        namespace: ns.to_string(),
                        labels: labels
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    })
                    .collect(),
                ..Default::default()
            },
        );
        p.metadata.uid = Some(format!("uid-{name}"));
        p
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn chosen(s: Selection<'_>) -> Option<String> {
        match s {
            Selection::Profile(p) => Some(p.name_any()),
            _ => None,
        }
    }

    #[test]
    fn wildcards_match_as_on_eks() {
        assert!(glob("data", "data"));
        assert!(!glob("data", "data2"));
        assert!(glob("data-*", "data-prod"));
        assert!(glob("data-*", "data-"));
        assert!(!glob("data-*", "data"));
        assert!(glob("*", ""));
        assert!(glob("team-?", "team-a"));
        assert!(!glob("team-?", "team-ab"));
        assert!(glob("*-batch-*", "eu-batch-1"));
        assert!(glob(
            "arn:aws:iam::111122223333:role/batch-*",
            "arn:aws:iam::111122223333:role/batch-etl"
        ));
        assert!(!glob(
            "arn:aws:iam::111122223333:role/batch-*",
            "arn:aws:iam::111122223333:role/admin"
        ));
        // Many stars on a long text stay fast (no exponential backtracking).
        let long = "a".repeat(5000);
        assert!(!glob(&format!("{}b", "*a".repeat(50)), &long));
    }

    #[test]
    fn a_selector_needs_the_namespace_and_every_label() {
        let p = profile("batch", &[("data", &[("run-on", "fargate"), ("tier", "*")])]);
        let s = &p.spec.selectors[0];
        assert!(selects(
            s,
            "data",
            &labels(&[("run-on", "fargate"), ("tier", "x"), ("other", "1")])
        ));
        assert!(!selects(s, "data", &labels(&[("run-on", "fargate")])));
        assert!(!selects(
            s,
            "jobs",
            &labels(&[("run-on", "fargate"), ("tier", "x")])
        ));
        assert!(!selects(s, "data", &labels(&[("run-on", "ec2"), ("tier", "x")])));
        let whole = profile("ns", &[("jobs", &[])]);
        assert!(selects(&whole.spec.selectors[0], "jobs", &labels(&[])));
    }

    #[test]
    fn selection_is_the_labelled_profile_else_the_first_by_name() {
        let (b, a, other) = (
            profile("b-profile", &[("jobs", &[])]),
            profile("a-profile", &[("jobs", &[])]),
            profile("other", &[("data", &[])]),
        );
        let all = [&b, &a, &other];
        assert_eq!(
            chosen(select(all, "jobs", &labels(&[]))),
            Some("a-profile".into())
        );
        let named = labels(&[(PROFILE_LABEL, "b-profile")]);
        assert_eq!(chosen(select(all, "jobs", &named)), Some("b-profile".into()));
        assert_eq!(select(all, "web", &labels(&[])), Selection::None);
        // A label naming a profile that does not select the workload is reported, not ignored.
        let wrong = labels(&[(PROFILE_LABEL, "other")]);
        assert_eq!(
            select(all, "jobs", &wrong),
            Selection::Mismatch {
                named: "other".into(),
                selecting: vec!["a-profile".into(), "b-profile".into()]
            }
        );
    }

    #[test]
    fn a_profile_being_deleted_selects_nothing() {
        let mut p = profile("batch", &[("jobs", &[])]);
        p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
        assert_eq!(select([&p], "jobs", &labels(&[])), Selection::None);
    }

    #[test]
    fn task_roles_pass_only_the_allowed_patterns() {
        let mut p = profile("batch", &[("jobs", &[])]);
        assert!(role_allowed(&p, "arn:aws:iam::111122223333:role/anything"));
        p.spec.allowed_task_role_arns = Some(vec!["arn:aws:iam::111122223333:role/batch-*".into()]);
        assert!(role_allowed(&p, "arn:aws:iam::111122223333:role/batch-etl"));
        assert!(!role_allowed(&p, "arn:aws:iam::111122223333:role/admin"));
        assert!(!role_allowed(&p, "arn:aws:iam::444455556666:role/batch-etl"));
        p.spec.allowed_task_role_arns = Some(vec![]);
        assert!(!role_allowed(&p, "arn:aws:iam::111122223333:role/batch-etl"));
    }

    #[test]
    fn the_workloads_own_tags_win() {
        let mut p = profile("batch", &[("jobs", &[])]);
        let tag = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        p.spec.tags = vec![tag("cost-center", "data"), tag("team", "platform")];
        let merged = tags(&[tag("team", "etl")], &p);
        assert_eq!(merged, vec![tag("team", "etl"), tag("cost-center", "data")]);
    }

    #[test]
    fn network_and_logging_come_from_the_profile_when_it_has_them() {
        let mut p = profile("batch", &[("jobs", &[])]);
        assert_eq!(network(&p), None);
        assert_eq!(log_configuration(&p, "eu-west-1"), None);
        p.spec.subnets = Some(vec!["subnet-1".into()]);
        p.spec.security_groups = Some(vec!["sg-1".into()]);
        p.spec.logging = Some(crate::api::profile::Logging {
            log_group: "/ecs/batch".into(),
            stream_prefix: None,
            create_group: Some(true),
        });
        let n = network(&p).map(|n| n.awsvpc_configuration);
        assert_eq!(
            n.as_ref().map(|n| n.subnets.clone()),
            Some(vec!["subnet-1".to_string()])
        );
        assert_eq!(n.map(|n| n.security_groups), Some(vec!["sg-1".to_string()]));
        let logs = log_configuration(&p, "eu-west-1").map(|l| l.options);
        assert_eq!(
            logs,
            Some(BTreeMap::from([
                ("awslogs-create-group".to_string(), "true".to_string()),
                ("awslogs-group".to_string(), "/ecs/batch".to_string()),
                ("awslogs-region".to_string(), "eu-west-1".to_string()),
                ("awslogs-stream-prefix".to_string(), "ecs".to_string()),
            ]))
        );
    }
}
