//! What this process knows of the ACTIVE task definition revisions of each account and Region, so that
//! a TaskDefinition's look-up and deletion need no ListTaskDefinitions of their own.
//!
//! The account's list is read once (the first time a family is asked for, after the process started
//! leading), then kept up to date with what this process registers and deregisters. It holds every
//! revision a crash of an earlier process left out of status, and every one this process made, so a
//! retry still finds its own work. What it cannot hold is a revision registered by someone else since
//! it was read: that shows in the number RegisterTaskDefinition gives the new revision (not the next
//! of those known), and the family is then listed again (see the TaskDefinition kind). An account
//! with a long history (more than [`MAX_PAGES`] pages) is not read whole: its families are listed
//! each time, as before.

use std::collections::{BTreeMap, HashMap, HashSet};

/// The most pages (100 revisions each) read for an account and Region's list.
pub(crate) const MAX_PAGES: usize = 50;

/// The ACTIVE revisions of one account and Region, by family.
#[derive(Debug, Default)]
pub(crate) struct Known {
    families: HashMap<String, Revisions>,
    /// Families with a registration whose answer never came (a dropped connection, a timeout): it may
    /// have happened, so the family is listed from ECS before it is trusted again.
    uncertain: HashSet<String>,
}

#[derive(Debug, Default)]
struct Revisions {
    /// Revision number → ARN.
    active: BTreeMap<i32, String>,
    /// The highest revision number seen, ACTIVE or not since (ECS does not number a revision twice).
    highest: i32,
}

/// One family as this process knows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Family {
    /// The ARNs of its ACTIVE revisions, newest first.
    pub(crate) arns: Vec<String>,
    /// The revision number a registration should get if nobody else registered into the family since
    /// its list was read (`None`: nothing is known, the family was listed from ECS just now).
    pub(crate) next: Option<i32>,
}

impl Known {
    /// From the account's list of ACTIVE revision ARNs.
    pub(crate) fn from_listing(arns: impl IntoIterator<Item = String>) -> Self {
        let mut known = Self::default();
        for arn in arns {
            known.registered(arn);
        }
        known
    }

    /// Whether the family must be listed from ECS first (see [`registering`](Self::registering)).
    pub(crate) fn uncertain(&self, family: &str) -> bool {
        self.uncertain.contains(family)
    }

    /// A registration into `family` is about to be sent: until its answer is recorded
    /// ([`registered`](Self::registered)) or the family listed again, the family is not trusted.
    pub(crate) fn registering(&mut self, family: &str) {
        self.uncertain.insert(family.to_string());
    }

    pub(crate) fn family(&self, family: &str) -> Family {
        let revisions = self.families.get(family);
        Family {
            arns: revisions
                .map(|r| r.active.values().rev().cloned().collect())
                .unwrap_or_default(),
            next: Some(revisions.map_or(0, |r| r.highest).saturating_add(1)),
        }
    }

    /// A revision became ACTIVE (registered by this process, or found).
    pub(crate) fn registered(&mut self, arn: String) {
        if let Some((family, revision)) = split(&arn) {
            self.uncertain.remove(family);
            let revisions = self.families.entry(family.to_string()).or_default();
            revisions.highest = revisions.highest.max(revision);
            revisions.active.insert(revision, arn);
        }
    }

    /// A revision was deregistered, or found not to be ACTIVE.
    pub(crate) fn deregistered(&mut self, arn: &str) {
        if let Some((family, revision)) = split(arn)
            && let Some(revisions) = self.families.get_mut(family)
        {
            revisions.active.remove(&revision);
        }
    }

    /// The family's ACTIVE revisions as ECS listed them just now (ARNs of other families ignored).
    pub(crate) fn listed(&mut self, family: &str, arns: &[String]) {
        self.uncertain.remove(family);
        if let Some(revisions) = self.families.get_mut(family) {
            revisions.active.clear();
        }
        for arn in arns {
            if super::ecs::family_of(arn) == Some(family) {
                self.registered(arn.clone());
            }
        }
    }
}

/// The family and revision number of a revision ARN.
fn split(arn: &str) -> Option<(&str, i32)> {
    Some((super::ecs::family_of(arn)?, super::ecs::revision_of(arn)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn(family: &str, revision: i32) -> String {
        format!("arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:{revision}")
    }

    #[test]
    fn a_family_is_known_from_the_listing_and_what_the_process_changed_since() {
        let mut known = Known::from_listing([arn("web", 3), arn("web", 7), arn("api", 1)]);
        assert_eq!(
            known.family("web"),
            Family {
                arns: vec![arn("web", 7), arn("web", 3)],
                next: Some(8)
            }
        );
        assert_eq!(
            known.family("new"),
            Family {
                arns: vec![],
                next: Some(1)
            }
        );
        known.registered(arn("new", 1));
        known.deregistered(&arn("web", 7));
        known.deregistered(&arn("api", 1));
        assert_eq!(known.family("new").arns, [arn("new", 1)]);
        assert_eq!(known.family("new").next, Some(2));
        assert_eq!(known.family("web").arns, [arn("web", 3)]);
        // ECS numbers on past a deregistered revision.
        assert_eq!(known.family("web").next, Some(8));
        assert_eq!(known.family("api").next, Some(2));
        // Listed again: ECS's word replaces what was known of the family (another family's ARNs left out).
        known.listed("web", &[arn("web", 9), arn("web", 3), arn("webapp", 2)]);
        assert_eq!(known.family("web").arns, [arn("web", 9), arn("web", 3)]);
        assert_eq!(known.family("web").next, Some(10));
        assert_eq!(known.family("webapp").arns, Vec::<String>::new());
    }

    #[test]
    fn a_registration_without_an_answer_makes_its_family_uncertain_until_it_is_listed() {
        let mut known = Known::from_listing([arn("web", 1)]);
        known.registering("web");
        assert!(known.uncertain("web") && !known.uncertain("api"));
        // The answer came: certain again.
        known.registered(arn("web", 2));
        assert!(!known.uncertain("web"));
        // No answer (the connection dropped after ECS registered revision 3): uncertain until listed.
        known.registering("web");
        assert!(known.uncertain("web"));
        known.listed("web", &[arn("web", 3), arn("web", 2), arn("web", 1)]);
        assert!(!known.uncertain("web"));
        assert_eq!(known.family("web").arns[0], arn("web", 3));
    }
}
