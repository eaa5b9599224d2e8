//! The TaskDefinition spec as the SDK's RegisterTaskDefinition input, field by field, and the hash that
//! identifies the spec a revision came from.

use crate::api::task_definition as spec;
use crate::aws::ecs::NewTaskDefinition;
use crate::runtime::Error;
use crate::runtime::conditions::reasons;
use aws_sdk_ecs::error::BuildError;
use aws_sdk_ecs::types as sdk;
use sha2::{Digest, Sha256};

/// A hash of everything that shapes a revision. Tags and `revisionHistoryLimit` are left out: changing
/// them needs no new revision.
pub(super) fn spec_hash(s: &spec::TaskDefinitionSpec) -> String {
    let mut shaping = s.clone();
    shaping.tags.clear();
    shaping.revision_history_limit = None;
    // Where and how the family is managed is not part of a revision.
    shaping.region = None;
    shaping.policies = Default::default();
    // Environment variables and secrets are sets by name: a reorder is not a change (a stable sort
    // keeps the order of repeated names, which may matter).
    for c in &mut shaping.container_definitions {
        c.environment.sort_by(|a, b| a.name.cmp(&b.name));
        c.secrets.sort_by(|a, b| a.name.cmp(&b.name));
    }
    // serde_json writes struct fields in declaration order and maps sorted (BTreeMap): stable bytes.
    let bytes = serde_json::to_vec(&shaping).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

pub(super) fn registration(
    family: &str,
    s: &spec::TaskDefinitionSpec,
    tags: Vec<sdk::Tag>,
) -> Result<NewTaskDefinition, BuildError> {
    Ok(NewTaskDefinition {
        family: family.to_string(),
        cpu: s.cpu.clone(),
        memory: s.memory.clone(),
        network_mode: s.network_mode.as_deref().map(sdk::NetworkMode::from),
        requires_compatibilities: s
            .requires_compatibilities
            .as_ref()
            .map(|c| c.iter().map(|c| sdk::Compatibility::from(c.as_str())).collect()),
        execution_role_arn: s.execution_role_arn.clone(),
        task_role_arn: s.task_role_arn.clone(),
        runtime_platform: s.runtime_platform.as_ref().map(|r| {
            sdk::RuntimePlatform::builder()
                .set_cpu_architecture(r.cpu_architecture.as_deref().map(sdk::CpuArchitecture::from))
                .set_operating_system_family(r.operating_system_family.as_deref().map(sdk::OsFamily::from))
                .build()
        }),
        ephemeral_storage: s.ephemeral_storage.as_ref().map(|e| {
            sdk::EphemeralStorage::builder()
                .size_in_gib(e.size_in_gib)
                .build()
        }),
        pid_mode: s.pid_mode.as_deref().map(sdk::PidMode::from),
        ipc_mode: s.ipc_mode.as_deref().map(sdk::IpcMode::from),
        proxy_configuration: s.proxy_configuration.as_ref().map(proxy).transpose()?,
        enable_fault_injection: s.enable_fault_injection,
        volumes: s
            .volumes
            .as_ref()
            .map(|v| v.iter().map(volume).collect::<Result<_, _>>())
            .transpose()?,
        container_definitions: s
            .container_definitions
            .iter()
            .map(container)
            .collect::<Result<_, _>>()?,
        tags,
    })
}

fn kv(p: &spec::KeyValuePair) -> sdk::KeyValuePair {
    sdk::KeyValuePair::builder().name(&p.name).value(&p.value).build()
}

fn some_vec<T, U>(v: &[T], f: impl Fn(&T) -> U) -> Option<Vec<U>> {
    (!v.is_empty()).then(|| v.iter().map(f).collect())
}

fn some_try_vec<T, U>(
    v: &[T],
    f: impl Fn(&T) -> Result<U, BuildError>,
) -> Result<Option<Vec<U>>, BuildError> {
    if v.is_empty() {
        Ok(None)
    } else {
        v.iter().map(f).collect::<Result<Vec<_>, _>>().map(Some)
    }
}

fn proxy(p: &spec::ProxyConfiguration) -> Result<sdk::ProxyConfiguration, BuildError> {
    sdk::ProxyConfiguration::builder()
        .set_type(p.type_.as_deref().map(sdk::ProxyConfigurationType::from))
        .container_name(&p.container_name)
        .set_properties(some_vec(&p.properties, kv))
        .build()
}

fn volume(v: &spec::Volume) -> Result<sdk::Volume, BuildError> {
    Ok(sdk::Volume::builder()
        .name(&v.name)
        .set_host(v.host.as_ref().map(|h| {
            sdk::HostVolumeProperties::builder()
                .set_source_path(h.source_path.clone())
                .build()
        }))
        .set_efs_volume_configuration(
            v.efs_volume_configuration
                .as_ref()
                .map(|e| {
                    sdk::EfsVolumeConfiguration::builder()
                        .file_system_id(&e.file_system_id)
                        .set_root_directory(e.root_directory.clone())
                        .set_transit_encryption(
                            e.transit_encryption
                                .as_deref()
                                .map(sdk::EfsTransitEncryption::from),
                        )
                        .set_transit_encryption_port(e.transit_encryption_port)
                        .set_authorization_config(e.authorization_config.as_ref().map(|a| {
                            sdk::EfsAuthorizationConfig::builder()
                                .set_access_point_id(a.access_point_id.clone())
                                .set_iam(a.iam.as_deref().map(sdk::EfsAuthorizationConfigIam::from))
                                .build()
                        }))
                        .build()
                })
                .transpose()?,
        )
        .set_configured_at_launch(v.configured_at_launch)
        .build())
}

fn secret(s: &spec::Secret) -> Result<sdk::Secret, BuildError> {
    sdk::Secret::builder()
        .name(&s.name)
        .value_from(&s.value_from)
        .build()
}

/// A `logConfiguration` as ECS takes it (containers, and a service's Service Connect proxy).
pub(crate) fn log_configuration(l: &spec::LogConfiguration) -> Result<sdk::LogConfiguration, BuildError> {
    sdk::LogConfiguration::builder()
        .log_driver(sdk::LogDriver::from(l.log_driver.as_str()))
        .set_options((!l.options.is_empty()).then(|| l.options.clone().into_iter().collect()))
        .set_secret_options(some_try_vec(&l.secret_options, secret)?)
        .build()
}

fn container(c: &spec::ContainerDefinition) -> Result<sdk::ContainerDefinition, BuildError> {
    Ok(sdk::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .set_repository_credentials(
            c.repository_credentials
                .as_ref()
                .map(|r| {
                    sdk::RepositoryCredentials::builder()
                        .credentials_parameter(&r.credentials_parameter)
                        .build()
                })
                .transpose()?,
        )
        .set_cpu(c.cpu)
        .set_memory(c.memory)
        .set_memory_reservation(c.memory_reservation)
        .set_essential(c.essential)
        .set_port_mappings(some_vec(&c.port_mappings, |p| {
            sdk::PortMapping::builder()
                .set_container_port(p.container_port)
                .set_container_port_range(p.container_port_range.clone())
                .set_host_port(p.host_port)
                .set_protocol(p.protocol.as_deref().map(sdk::TransportProtocol::from))
                .set_name(p.name.clone())
                .set_app_protocol(p.app_protocol.as_deref().map(sdk::ApplicationProtocol::from))
                .build()
        }))
        .set_environment(some_vec(&c.environment, kv))
        .set_environment_files(some_try_vec(&c.environment_files, |f| {
            sdk::EnvironmentFile::builder()
                .value(&f.value)
                .r#type(sdk::EnvironmentFileType::from(f.type_.as_str()))
                .build()
        })?)
        .set_secrets(some_try_vec(&c.secrets, secret)?)
        .set_command(some_vec(&c.command, String::clone))
        .set_entry_point(some_vec(&c.entry_point, String::clone))
        .set_working_directory(c.working_directory.clone())
        .set_health_check(
            c.health_check
                .as_ref()
                .map(|h| {
                    sdk::HealthCheck::builder()
                        .set_command(Some(h.command.clone()))
                        .set_interval(h.interval)
                        .set_timeout(h.timeout)
                        .set_retries(h.retries)
                        .set_start_period(h.start_period)
                        .build()
                })
                .transpose()?,
        )
        .set_log_configuration(c.log_configuration.as_ref().map(log_configuration).transpose()?)
        .set_firelens_configuration(
            c.firelens_configuration
                .as_ref()
                .map(|f| {
                    sdk::FirelensConfiguration::builder()
                        .r#type(sdk::FirelensConfigurationType::from(f.type_.as_str()))
                        .set_options((!f.options.is_empty()).then(|| f.options.clone().into_iter().collect()))
                        .build()
                })
                .transpose()?,
        )
        .set_depends_on(some_try_vec(&c.depends_on, |d| {
            sdk::ContainerDependency::builder()
                .container_name(&d.container_name)
                .condition(sdk::ContainerCondition::from(d.condition.as_str()))
                .build()
        })?)
        .set_links(some_vec(&c.links, String::clone))
        .set_mount_points(some_vec(&c.mount_points, |m| {
            sdk::MountPoint::builder()
                .source_volume(&m.source_volume)
                .container_path(&m.container_path)
                .set_read_only(m.read_only)
                .build()
        }))
        .set_volumes_from(some_vec(&c.volumes_from, |v| {
            sdk::VolumeFrom::builder()
                .source_container(&v.source_container)
                .set_read_only(v.read_only)
                .build()
        }))
        .set_ulimits(some_try_vec(&c.ulimits, |u| {
            sdk::Ulimit::builder()
                .name(sdk::UlimitName::from(u.name.as_str()))
                .soft_limit(u.soft_limit)
                .hard_limit(u.hard_limit)
                .build()
        })?)
        .set_linux_parameters(c.linux_parameters.as_ref().map(|l| {
            sdk::LinuxParameters::builder()
                .set_capabilities(l.capabilities.as_ref().map(|k| {
                    sdk::KernelCapabilities::builder()
                        .set_add(some_vec(&k.add, String::clone))
                        .set_drop(some_vec(&k.drop, String::clone))
                        .build()
                }))
                .set_init_process_enabled(l.init_process_enabled)
                .build()
        }))
        .set_readonly_root_filesystem(c.readonly_root_filesystem)
        .set_user(c.user.clone())
        .set_stop_timeout(c.stop_timeout)
        .set_start_timeout(c.start_timeout)
        .set_docker_labels(
            (!c.docker_labels.is_empty()).then(|| c.docker_labels.clone().into_iter().collect()),
        )
        .set_restart_policy(
            c.restart_policy
                .as_ref()
                .map(|r| {
                    sdk::ContainerRestartPolicy::builder()
                        .enabled(r.enabled)
                        .set_ignored_exit_codes(some_vec(&r.ignored_exit_codes, |c| *c))
                        .set_restart_attempt_period(r.restart_attempt_period)
                        .build()
                })
                .transpose()?,
        )
        .set_system_controls(some_vec(&c.system_controls, |s| {
            sdk::SystemControl::builder()
                .namespace(&s.namespace)
                .value(&s.value)
                .build()
        }))
        .set_version_consistency(
            c.version_consistency
                .as_deref()
                .map(sdk::VersionConsistency::from),
        )
        .set_interactive(c.interactive)
        .set_pseudo_terminal(c.pseudo_terminal)
        .set_credential_specs(some_vec(&c.credential_specs, String::clone))
        .build())
}

/// ECS's limit on the size of a task definition (the JSON of the request).
const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;

/// A spec ECS would refuse (or accept and never run), found before any call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum InvalidSpec {
    #[error(
        "the task definition is {size} bytes; ECS allows {max} (move large values to \
         Secrets Manager or SSM parameters, or environmentFiles)",
        max = MAX_TASK_DEFINITION_BYTES
    )]
    TooLarge { size: usize },
    /// The containers of the cycle, the first repeated at the end.
    #[error("containers depend on each other in a cycle: {}", .0.join(" -> "))]
    DependencyCycle(Vec<String>),
}

/// Needs the user: `InvalidSpec`, terminal.
impl From<InvalidSpec> for Error {
    fn from(e: InvalidSpec) -> Self {
        Error::Terminal {
            reason: reasons::INVALID_SPEC,
            message: e.to_string(),
        }
    }
}

/// What admission cannot check and ECS would refuse (or accept and never run): the task definition's
/// size, and containers whose `dependsOn` form a cycle.
pub(super) fn check(s: &spec::TaskDefinitionSpec) -> Result<(), InvalidSpec> {
    let size = serde_json::to_vec(s).map(|b| b.len()).unwrap_or(0);
    if size > MAX_TASK_DEFINITION_BYTES {
        return Err(InvalidSpec::TooLarge { size });
    }
    // Depth-first search over container -> the containers it depends on.
    let deps = |name: &str| -> Vec<&str> {
        s.container_definitions
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.depends_on.iter().map(|d| d.container_name.as_str()).collect())
            .unwrap_or_default()
    };
    fn visit<'a>(
        name: &'a str,
        deps: &dyn Fn(&str) -> Vec<&'a str>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Result<(), InvalidSpec> {
        if let Some(i) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<String> = path[i..].iter().map(|p| p.to_string()).collect();
            cycle.push(name.to_string());
            return Err(InvalidSpec::DependencyCycle(cycle));
        }
        if done.contains(name) {
            return Ok(());
        }
        path.push(name);
        for d in deps(name) {
            visit(d, deps, path, done)?;
        }
        path.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = std::collections::BTreeSet::new();
    for c in &s.container_definitions {
        visit(&c.name, &deps, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_cycles_and_oversized_definitions_are_refused() {
        let with_deps = |deps: serde_json::Value| -> spec::TaskDefinitionSpec {
            serde_json::from_value(serde_json::json!({"containerDefinitions": deps})).expect("spec parses")
        };
        let ok = with_deps(serde_json::json!([
            {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "dependsOn": [{"containerName": "c", "condition": "START"}]},
            {"name": "c", "image": "x"}]));
        assert_eq!(check(&ok), Ok(()));
        let cycle = with_deps(serde_json::json!([
            {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "dependsOn": [{"containerName": "c", "condition": "START"}]},
            {"name": "c", "image": "x", "dependsOn": [{"containerName": "a", "condition": "HEALTHY"}]}]));
        let err = check(&cycle).unwrap_err().to_string();
        assert!(err.contains("a -> b -> c -> a"), "{err}");
        let mut big = sample();
        big.container_definitions[0].image = "x".repeat(MAX_TASK_DEFINITION_BYTES);
        assert!(check(&big).unwrap_err().to_string().contains("ECS allows 65536"));
        assert_eq!(check(&sample()), Ok(()));
    }

    fn sample() -> spec::TaskDefinitionSpec {
        serde_json::from_value(serde_json::json!({
            "cpu": "1024", "memory": "2048", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "containerDefinitions": [{"name": "app", "image": "nginx:1", "cpu": 256,
                "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}}],
            "tags": [{"key": "a", "value": "1"}],
        }))
        .expect("sample spec parses")
    }

    #[test]
    fn hash_takes_environment_and_secrets_as_sets_by_name() {
        let mut a = sample();
        a.container_definitions[0].environment = vec![
            spec::KeyValuePair {
                name: "B".into(),
                value: "2".into(),
            },
            spec::KeyValuePair {
                name: "A".into(),
                value: "1".into(),
            },
        ];
        let mut b = a.clone();
        b.container_definitions[0].environment.reverse();
        assert_eq!(spec_hash(&a), spec_hash(&b), "reordered: the same revision");
        b.container_definitions[0].environment[0].value = "changed".into();
        assert_ne!(spec_hash(&a), spec_hash(&b), "a value changed: a new revision");
        let mut c = a.clone();
        c.container_definitions[0].secrets.push(spec::Secret {
            name: "A_SECRET".into(),
            value_from: "/a".into(),
        });
        let mut d = c.clone();
        d.container_definitions[0].secrets.reverse();
        assert_eq!(spec_hash(&c), spec_hash(&d));
    }

    #[test]
    fn hash_ignores_tags_and_history_but_not_the_image() {
        let a = sample();
        let mut b = a.clone();
        b.tags.clear();
        b.revision_history_limit = Some(9);
        assert_eq!(spec_hash(&a), spec_hash(&b));
        b.container_definitions[0].image = "nginx:2".into();
        assert_ne!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 32);
    }

    #[test]
    fn registration_carries_every_field_set() {
        let r = registration("web", &sample(), vec![]).expect("builds");
        assert_eq!(r.family, "web");
        assert_eq!(r.network_mode, Some(sdk::NetworkMode::Awsvpc));
        let c = &r.container_definitions[0];
        assert_eq!(
            (c.name(), c.image(), c.cpu()),
            (Some("app"), Some("nginx:1"), 256)
        );
        assert_eq!(c.port_mappings()[0].container_port(), Some(8080));
        assert_eq!(
            c.secrets()[0].value_from(),
            "arn:aws:ssm:us-east-1:123456789012:parameter/db"
        );
        assert_eq!(
            c.log_configuration().map(|l| l.log_driver().as_str()),
            Some("awslogs")
        );
        // What the user left out stays out (no defaults invented here).
        assert_eq!(c.memory(), None);
        assert_eq!(c.essential(), None);
        assert!(c.environment().is_empty());
    }
}
