//! Service Connect on a FargateService: the spec checked against its task definition's named ports and
//! its cluster's default namespace, built as ECS takes it, and compared with what ECS reports. Pure.

use super::dereference::Resolved;
use crate::api::service::{FargateServiceSpec, ServiceConnectConfiguration as SpecConnect};
use crate::runtime::Error;
use crate::runtime::conditions::reasons;
use aws_sdk_ecs::types as sdk;

fn invalid(message: String) -> Error {
    Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message,
    }
}

/// Refuses what ECS would refuse, naming the field, when the referenced objects show it: a `portName`
/// that is not a named port mapping of the task definition (ECS, ServiceConnectService.portName: "must
/// match the name of one of the portMappings from all the containers in the task definition"), and an
/// enabled configuration without a namespace on a cluster with no `serviceConnectDefaults` (ECS takes
/// the cluster's default namespace when the service names none).
pub(super) fn check(spec: &SpecConnect, refs: &Resolved) -> Result<(), Error> {
    if let Some(names) = &refs.port_names {
        for (i, s) in spec.services.iter().flatten().enumerate() {
            if !names.contains(&s.port_name) {
                let known = if names.is_empty() {
                    "it names no port mappings".to_string()
                } else {
                    format!("its named ports: {}", names.join(", "))
                };
                return Err(invalid(format!(
                    "spec.serviceConnectConfiguration.services[{i}].portName: {:?} is not the name of a \
                     port mapping of the task definition ({known})",
                    s.port_name
                )));
            }
        }
    }
    if spec.enabled && spec.namespace.is_none() && refs.service_connect_default.is_none() {
        return Err(invalid(
            "spec.serviceConnectConfiguration.namespace: required, the cluster has no \
             serviceConnectDefaults namespace to take instead"
                .into(),
        ));
    }
    Ok(())
}

/// The spec's Service Connect configuration as CreateService and UpdateService take it.
pub(super) fn configuration(spec: &SpecConnect) -> Result<sdk::ServiceConnectConfiguration, Error> {
    let build = |what: &str, e: aws_sdk_ecs::error::BuildError| {
        invalid(format!("spec.serviceConnectConfiguration.{what}: {e}"))
    };
    let services = spec
        .services
        .iter()
        .flatten()
        .map(|s| {
            let aliases = s
                .client_aliases
                .iter()
                .flatten()
                .map(|a| {
                    let rules = a
                        .test_traffic_rules
                        .as_ref()
                        .map(|r| {
                            let value = r
                                .header
                                .value
                                .as_ref()
                                .map(|v| {
                                    sdk::ServiceConnectTestTrafficHeaderMatchRules::builder()
                                        .exact(&v.exact)
                                        .build()
                                })
                                .transpose()?;
                            let header = sdk::ServiceConnectTestTrafficHeaderRules::builder()
                                .name(&r.header.name)
                                .set_value(value)
                                .build()?;
                            Ok(sdk::ServiceConnectTestTrafficRules::builder()
                                .header(header)
                                .build())
                        })
                        .transpose()
                        .map_err(|e| build("services[].clientAliases[].testTrafficRules", e))?;
                    sdk::ServiceConnectClientAlias::builder()
                        .port(a.port)
                        .set_dns_name(a.dns_name.clone())
                        .set_test_traffic_rules(rules)
                        .build()
                        .map_err(|e| build("services[].clientAliases[]", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            sdk::ServiceConnectService::builder()
                .port_name(&s.port_name)
                .set_discovery_name(s.discovery_name.clone())
                .set_client_aliases(s.client_aliases.is_some().then_some(aliases))
                .set_ingress_port_override(s.ingress_port_override)
                .set_timeout(s.timeout.as_ref().map(|t| {
                    sdk::TimeoutConfiguration::builder()
                        .set_idle_timeout_seconds(t.idle_timeout_seconds)
                        .set_per_request_timeout_seconds(t.per_request_timeout_seconds)
                        .build()
                }))
                .set_tls(s.tls.as_ref().map(|t| {
                    sdk::ServiceConnectTlsConfiguration::builder()
                        .issuer_certificate_authority(
                            sdk::ServiceConnectTlsCertificateAuthority::builder()
                                .aws_pca_authority_arn(&t.issuer_certificate_authority.aws_pca_authority_arn)
                                .build(),
                        )
                        .set_kms_key(t.kms_key.clone())
                        .set_role_arn(t.role_arn.clone())
                        .build()
                }))
                .build()
                .map_err(|e| build("services[]", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let log = spec
        .log_configuration
        .as_ref()
        .map(crate::kinds::task_definition::input::log_configuration)
        .transpose()
        .map_err(|e| build("logConfiguration", e))?;
    let access = spec
        .access_log_configuration
        .as_ref()
        .map(|a| {
            sdk::ServiceConnectAccessLogConfiguration::builder()
                .format(sdk::ServiceConnectAccessLoggingFormat::from(a.format.as_str()))
                .set_include_query_parameters(
                    a.include_query_parameters
                        .as_deref()
                        .map(sdk::ServiceConnectIncludeQueryParameters::from),
                )
                .build()
        })
        .transpose()
        .map_err(|e| build("accessLogConfiguration", e))?;
    Ok(sdk::ServiceConnectConfiguration::builder()
        .enabled(spec.enabled)
        .set_namespace(spec.namespace.clone())
        .set_services(spec.services.is_some().then_some(services))
        .set_log_configuration(log)
        .set_access_log_configuration(access)
        .build())
}

/// What of a Service Connect configuration ECS reports back as sent: on/off, and each endpoint's port
/// name, discovery name and client aliases (ECS fills in defaults, such as the discovery name, and
/// reports the namespace as an ARN, so those are compared only when the spec sets them).
/// An endpoint as compared: its port name and its client aliases (port, DNS name).
type Endpoint = (String, Vec<(i32, Option<String>)>);

fn key(c: &sdk::ServiceConnectConfiguration) -> (bool, Vec<Endpoint>) {
    let mut services: Vec<_> = c
        .services()
        .iter()
        .map(|s| {
            let mut aliases: Vec<_> = s
                .client_aliases()
                .iter()
                .map(|a| (a.port(), a.dns_name().map(str::to_string)))
                .collect();
            aliases.sort();
            (s.port_name().to_string(), aliases)
        })
        .collect();
    services.sort();
    (c.enabled(), services)
}

/// The Service Connect configuration to send with an update: the spec's, when it differs from what the
/// primary deployment reports (in the fields ECS echoes, see [`key`]) or from what was last sent
/// (`status.serviceConnectConfigurationApplied`: a new namespace name, timeouts, TLS); where ECS
/// reports none (moto), from what was last sent only. Left out of the spec: not managed.
pub(super) fn to_send(
    spec: &FargateServiceSpec,
    reported: Option<&sdk::ServiceConnectConfiguration>,
    applied: Option<&str>,
) -> Result<Option<sdk::ServiceConnectConfiguration>, Error> {
    let Some(want) = &spec.service_connect_configuration else {
        return Ok(None);
    };
    let built = configuration(want)?;
    let changed_since_sent = applied.is_some_and(|a| Some(a) != hash(spec).as_deref());
    let differs = match reported {
        Some(r) => key(&built) != key(r) || changed_since_sent,
        None => applied.is_none() || changed_since_sent,
    };
    Ok(differs.then_some(built))
}

/// The hash of the spec's Service Connect configuration, recorded when sent.
pub(super) fn hash(spec: &FargateServiceSpec) -> Option<String> {
    super::plan::field_hash(spec.service_connect_configuration.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::{ServiceConnectClientAlias, ServiceConnectService, ServiceConnectTimeout};

    fn spec(namespace: Option<&str>) -> SpecConnect {
        SpecConnect {
            enabled: true,
            namespace: namespace.map(str::to_string),
            services: Some(vec![ServiceConnectService {
                port_name: "http".into(),
                client_aliases: Some(vec![ServiceConnectClientAlias {
                    port: 80,
                    dns_name: Some("web".into()),
                    ..Default::default()
                }]),
                timeout: Some(ServiceConnectTimeout {
                    idle_timeout_seconds: Some(60),
                    per_request_timeout_seconds: None,
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn refs(port_names: Option<Vec<&str>>, default: Option<&str>) -> Resolved {
        Resolved {
            target: super::super::dereference::Target {
                cluster: "c".into(),
                region: None,
                name: "web".into(),
            },
            task_definition: "arn:aws:ecs:us-east-1:1:task-definition/web:1".into(),
            scaled_by: None,
            default_strategy: Vec::new(),
            port_names: port_names.map(|n| n.into_iter().map(str::to_string).collect()),
            service_connect_default: default.map(str::to_string),
        }
    }

    fn message(r: Result<(), Error>) -> String {
        match r {
            Err(Error::Terminal { message, .. }) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_port_name_the_task_definition_does_not_name_is_refused_naming_the_field() {
        let m = message(check(&spec(Some("svc")), &refs(Some(vec!["api"]), None)));
        assert!(m.contains("services[0].portName") && m.contains("api"), "{m}");
        assert!(check(&spec(Some("svc")), &refs(Some(vec!["api", "http"]), None)).is_ok());
        // A revision given by ARN is not looked into: ECS judges.
        assert!(check(&spec(Some("svc")), &refs(None, None)).is_ok());
    }

    #[test]
    fn without_a_namespace_the_clusters_default_is_needed() {
        let m = message(check(&spec(None), &refs(None, None)));
        assert!(m.contains("serviceConnectConfiguration.namespace"), "{m}");
        assert!(check(&spec(None), &refs(None, Some("svc"))).is_ok());
        // Turned off, no namespace is needed.
        let off = SpecConnect {
            enabled: false,
            ..Default::default()
        };
        assert!(check(&off, &refs(None, None)).is_ok());
    }

    fn with(c: SpecConnect) -> FargateServiceSpec {
        FargateServiceSpec {
            service_connect_configuration: Some(Box::new(c)),
            ..Default::default()
        }
    }

    #[test]
    fn sent_once_then_compared_with_the_primary_deployment_and_with_what_was_sent() {
        let s = with(spec(Some("svc")));
        let sent = to_send(&s, None, None).expect("valid").expect("first: sent");
        assert_eq!(sent.namespace(), Some("svc"));
        assert_eq!(sent.services()[0].client_aliases()[0].dns_name(), Some("web"));
        let applied = hash(&s);
        // moto reports nothing: what was sent is compared.
        assert_eq!(to_send(&s, None, applied.as_deref()).expect("valid"), None);
        // Real ECS reports the namespace as an ARN and fills in the discovery name: no change.
        let mut reported = sent.clone();
        reported.namespace = Some("arn:aws:servicediscovery:us-east-1:1:namespace/ns-1".into());
        if let Some(svc) = reported.services.as_mut().and_then(|s| s.first_mut()) {
            svc.discovery_name = Some("http".into());
        }
        assert_eq!(
            to_send(&s, Some(&reported), applied.as_deref()).expect("valid"),
            None
        );
        // An adopted service (nothing sent yet) whose configuration matches is left alone.
        assert_eq!(to_send(&s, Some(&reported), None).expect("valid"), None);
        // Someone removed the alias in AWS: sent again.
        let mut drifted = reported.clone();
        if let Some(svc) = drifted.services.as_mut().and_then(|s| s.first_mut()) {
            svc.client_aliases = None;
        }
        assert!(
            to_send(&s, Some(&drifted), applied.as_deref())
                .expect("valid")
                .is_some()
        );
        // The spec's timeout changed (ECS's echo alone would not show it): sent.
        let mut longer = spec(Some("svc"));
        if let Some(svc) = longer.services.as_mut().and_then(|s| s.first_mut()) {
            svc.timeout = Some(ServiceConnectTimeout {
                idle_timeout_seconds: Some(300),
                per_request_timeout_seconds: None,
            });
        }
        assert!(
            to_send(&with(longer), Some(&reported), applied.as_deref())
                .expect("valid")
                .is_some()
        );
        // Left out: not managed.
        assert_eq!(
            to_send(&FargateServiceSpec::default(), Some(&reported), None).expect("valid"),
            None
        );
    }
}
