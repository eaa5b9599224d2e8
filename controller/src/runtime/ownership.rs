//! Who owns an AWS resource, and whether this object may take it: the ownership tags the controller
//! writes on everything it creates, read back and weighed against `spec.adoption`.

use super::Error;
use super::conditions::reasons;
use crate::api::{Adoption, OWNER_NAME_TAG, OWNER_NAMESPACE_TAG, OWNER_UID_TAG, Policies};
use kube::Resource;

/// The owner an AWS resource's tags name, seen from one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Tagged with this object's uid.
    This,
    /// No ownership tags (made outside ecs-controller), or tags naming this object's namespace and name
    /// with another uid (an earlier object of the same name deleted with `Retain`): may be adopted.
    Unowned { previous_uid: Option<String> },
    /// Owned by another object: never touched.
    Other { namespace: String, name: String },
}

/// Reads the ownership tags (`(key, value)` pairs) of a resource.
pub fn owner_of<'a, K: Resource>(obj: &K, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Owner {
    let (mut uid, mut namespace, mut name) = (None, None, None);
    for (k, v) in tags {
        match k {
            OWNER_UID_TAG => uid = Some(v),
            OWNER_NAMESPACE_TAG => namespace = Some(v),
            OWNER_NAME_TAG => name = Some(v),
            _ => {}
        }
    }
    let meta = obj.meta();
    match uid {
        None => Owner::Unowned { previous_uid: None },
        Some(u) if Some(u) == meta.uid.as_deref() => Owner::This,
        Some(u) if namespace == meta.namespace.as_deref() && name == meta.name.as_deref() => Owner::Unowned {
            previous_uid: Some(u.to_string()),
        },
        Some(_) => Owner::Other {
            namespace: namespace.unwrap_or("?").to_string(),
            name: name.unwrap_or("?").to_string(),
        },
    }
}

/// [`owner_of`] an ECS resource's tags.
pub fn owner_of_ecs<K: Resource>(obj: &K, tags: &[aws_sdk_ecs::types::Tag]) -> Owner {
    owner_of(obj, tags.iter().filter_map(|t| Some((t.key()?, t.value()?))))
}

/// What a reconcile may do with an existing resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours already: manage it.
    Owned,
    /// Not ours, and the spec asks for adoption: take it over (write the ownership tags) and manage it.
    Adopt,
}

/// Decides whether this object may manage an existing resource (`what`, e.g. "ECS cluster web"), or
/// stops with `NotOwned` (terminal: only a spec change or someone else's deletion moves it on).
pub fn claim<K: Resource<DynamicType = ()>>(
    policies: &Policies,
    owner: &Owner,
    what: &str,
) -> Result<Claim, Error> {
    match (owner, policies.adoption) {
        (Owner::This, _) => Ok(Claim::Owned),
        (Owner::Unowned { .. }, Some(Adoption::Adopt | Adoption::AdoptOrCreate)) => Ok(Claim::Adopt),
        (Owner::Unowned { previous_uid }, None) => Err(Error::Terminal {
            reason: reasons::NOT_OWNED,
            message: format!(
                "{what} already exists and is not managed by this object ({}); it is left untouched: \
                 set spec.adoption: Adopt to take it over, or choose another name",
                match previous_uid {
                    Some(u) => format!("its tags name an earlier object of this name, uid {u}"),
                    None => "it has no ecs-controller ownership tags".to_string(),
                }
            ),
        }),
        (Owner::Other { namespace, name }, _) => Err(Error::Terminal {
            reason: reasons::NOT_OWNED,
            message: format!(
                "{what} already exists and belongs to {} {namespace}/{name}; it is left untouched \
                 (an object owned by another is never adopted): choose another name",
                K::kind(&())
            ),
        }),
    }
}

/// With `adoption: Adopt`, a missing resource is waited for, never created.
pub fn may_create(policies: &Policies) -> bool {
    policies.adoption != Some(Adoption::Adopt)
}

/// The ownership tags of `obj`, written on every AWS resource it creates.
pub fn ownership_tags<K: Resource>(obj: &K) -> Vec<aws_sdk_ecs::types::Tag> {
    vec![
        crate::aws::ecs::tag(OWNER_UID_TAG, obj.meta().uid.as_deref().unwrap_or_default()),
        crate::aws::ecs::tag(
            OWNER_NAMESPACE_TAG,
            obj.meta().namespace.as_deref().unwrap_or_default(),
        ),
        crate::aws::ecs::tag(OWNER_NAME_TAG, obj.meta().name.as_deref().unwrap_or_default()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::EcsCluster;
    use kube::api::ObjectMeta;

    fn obj() -> EcsCluster {
        let mut c = EcsCluster::new("web", Default::default());
        c.metadata = ObjectMeta {
            name: Some("web".into()),
            namespace: Some("team-a".into()),
            uid: Some("u1".into()),
            ..Default::default()
        };
        c
    }

    fn tags<'a>(uid: &'a str, ns: &'a str, name: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            (OWNER_UID_TAG, uid),
            (OWNER_NAMESPACE_TAG, ns),
            (OWNER_NAME_TAG, name),
            ("team", "x"),
        ]
    }

    #[test]
    fn owners_are_read_from_the_tags() {
        let o = obj();
        assert_eq!(owner_of(&o, tags("u1", "team-a", "web")), Owner::This);
        assert_eq!(
            owner_of(&o, vec![("team", "x")]),
            Owner::Unowned { previous_uid: None }
        );
        assert_eq!(
            owner_of(&o, tags("u0", "team-a", "web")),
            Owner::Unowned {
                previous_uid: Some("u0".into())
            }
        );
        assert_eq!(
            owner_of(&o, tags("u2", "team-b", "web")),
            Owner::Other {
                namespace: "team-b".into(),
                name: "web".into()
            }
        );
    }

    #[test]
    fn only_unowned_resources_are_adopted_and_only_when_asked() {
        let adopt = Policies {
            adoption: Some(Adoption::Adopt),
            ..Default::default()
        };
        let none = Policies::default();
        let unowned = Owner::Unowned { previous_uid: None };
        let other = Owner::Other {
            namespace: "team-b".into(),
            name: "web".into(),
        };
        assert_eq!(
            claim::<EcsCluster>(&none, &Owner::This, "c").ok(),
            Some(Claim::Owned)
        );
        assert_eq!(
            claim::<EcsCluster>(&adopt, &unowned, "c").ok(),
            Some(Claim::Adopt)
        );
        let refused = claim::<EcsCluster>(&none, &unowned, "ECS cluster web");
        assert!(
            matches!(&refused, Err(Error::Terminal { reason, message }) if *reason == reasons::NOT_OWNED && message.contains("spec.adoption")),
            "{refused:?}"
        );
        let foreign = claim::<EcsCluster>(&adopt, &other, "ECS cluster web");
        assert!(
            matches!(&foreign, Err(Error::Terminal { reason, message }) if *reason == reasons::NOT_OWNED && message.contains("team-b/web")),
            "{foreign:?}"
        );
        assert!(!may_create(&adopt));
        assert!(may_create(&none));
        assert!(may_create(&Policies {
            adoption: Some(Adoption::AdoptOrCreate),
            ..Default::default()
        }));
    }
}
