//! The last listing of a whole namespace's items per place (the scaling policies or scheduled actions
//! of every scalable target of an account and Region), kept to answer the reads of the resync it was
//! made in.
//!
//! A resync of 1000 ScalingPolicies reads the policies of 1000 targets, `--concurrency` reconciles at a
//! time. Only the first reads of the resync arrive together, enough of them to pay for a listing of the
//! namespace (20 pages of 50 policies) rather than a call per target ([`super::autoscaling::per_target`]);
//! the later ones trickle in as slots free up, a few per batch, and would each be read alone: 1000
//! calls per resync where 20 do. A reconcile a resync started ([`super::resync_began`]) is answered
//! from a listing that began after that resync did instead: what it reads is AWS as it was after the
//! resync began, which is what a resync looks for. Reads of a reconcile started by a change (a watch
//! event, a retry) never are, and neither is a target this process wrote to after the listing began
//! ([`Listings::wrote`]): that one is read again.

use super::clients::Place;
use std::collections::HashMap;
#[cfg(test)]
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;
use tokio::time::Instant;

/// The listings of one item kind, one per place.
#[derive(Debug)]
pub(crate) struct Listings<T> {
    by_place: Mutex<HashMap<Place, AtPlace<T>>>,
}

impl<T> Default for Listings<T> {
    fn default() -> Self {
        Self {
            by_place: Mutex::default(),
        }
    }
}

/// What is known at one place: the last listing, the writes since, and how many reads resyncs make.
#[derive(Debug)]
struct AtPlace<T> {
    listing: Option<Listing<T>>,
    /// A listing being made: when it began, and a receiver that sees its sender dropped when it is
    /// done (kept, given up or failed).
    in_flight: Option<(Instant, watch::Receiver<()>)>,
    /// Targets this process wrote to, with when the write was answered; a listing that began before
    /// that does not answer for them. Entries older than the last listing are dropped with it.
    written: HashMap<String, Instant>,
    /// The resync whose reads are being counted (by when it began), and the count so far.
    resync: Option<Instant>,
    reads: usize,
    /// The reads the resync before it made: how many reads the current one is expected to make.
    last_reads: usize,
}

impl<T> Default for AtPlace<T> {
    fn default() -> Self {
        Self {
            listing: None,
            in_flight: None,
            written: HashMap::new(),
            resync: None,
            reads: 0,
            last_reads: 0,
        }
    }
}

#[derive(Debug)]
struct Listing<T> {
    /// When the listing's first call was about to be made (no later than it was).
    began: Instant,
    /// Every target's items, grouped by target; a target without items is not in it.
    items: HashMap<String, Vec<T>>,
}

/// What a listing can do for one read.
enum Read<T> {
    /// The target's items.
    Listed(Vec<T>),
    /// A listing that would answer is being made: wait for it to be done, then look again.
    Wait(watch::Receiver<()>),
    /// Nothing: read the target from AWS.
    Ask,
}

impl<T: Clone> Listings<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<Place, AtPlace<T>>> {
        self.by_place.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The items of `target` at `place` for a reconcile a resync started ([`super::resync_began`]),
    /// from a listing that began after that resync did and after this process last wrote to the
    /// target, waiting for one being made; `None` when there is none (or the reconcile is not a
    /// resync's): the target is to be read from AWS. Counts the read as one of its resync's.
    pub(crate) async fn answer(&self, place: &Place, target: &str) -> Option<Vec<T>> {
        let since = super::resync_began()?;
        self.count(place, since);
        loop {
            match self.read(place, target, since) {
                Read::Listed(items) => return Some(items),
                // Err: the listing is done (its sender dropped); look again.
                Read::Wait(mut done) => while done.changed().await.is_ok() {},
                Read::Ask => return None,
            }
        }
    }

    /// Counts a read of the resync that began at `since`.
    fn count(&self, place: &Place, since: Instant) {
        let mut by_place = self.lock();
        let at = by_place.entry(place.clone()).or_default();
        if at.resync.is_none_or(|counted| counted < since) {
            if at.resync.is_some() {
                at.last_reads = at.reads;
            }
            at.resync = Some(since);
            at.reads = 0;
        }
        at.reads += 1;
    }

    fn read(&self, place: &Place, target: &str, since: Instant) -> Read<T> {
        let mut by_place = self.lock();
        let Some(at) = by_place.get_mut(place) else {
            return Read::Ask;
        };
        // A listing older than the resync belongs to an earlier one: let go.
        if at.listing.as_ref().is_some_and(|l| l.began < since) {
            at.listing = None;
        }
        let written = at.written.get(target).copied();
        if let Some(listing) = &at.listing
            && written.is_none_or(|w| w < listing.began)
        {
            let items = listing.items.get(target).cloned().unwrap_or_default();
            // The resync made as many reads as the one before: let the listing go now rather than
            // hold it until the next resync (1000 policies are about 2 MB).
            if at.last_reads > 0 && at.reads >= at.last_reads {
                at.listing = None;
            }
            return Read::Listed(items);
        }
        match &at.in_flight {
            Some((began, done))
                if *began >= since && written.is_none_or(|w| w < *began) && done.has_changed().is_ok() =>
            {
                Read::Wait(done.clone())
            }
            _ => Read::Ask,
        }
    }

    /// How many more reads the resync being counted at `place` is expected to make: as many as the
    /// resync before it made, less those it made so far.
    pub(crate) fn to_come(&self, place: &Place) -> usize {
        self.lock()
            .get(place)
            .map_or(0, |at| at.last_reads.saturating_sub(at.reads))
    }

    /// A listing of every target at `place` is made, beginning at `began`: reads it would answer wait
    /// for it until the sender returned is dropped (after [`keep`](Self::keep), or on giving up).
    pub(crate) fn listing(&self, place: &Place, began: Instant) -> watch::Sender<()> {
        let (done, waiting) = watch::channel(());
        self.lock().entry(place.clone()).or_default().in_flight = Some((began, waiting));
        done
    }

    /// Keeps a listing of every target at `place` that began at `began`, unless a newer one is kept.
    pub(crate) fn keep(&self, place: &Place, began: Instant, items: HashMap<String, Vec<T>>) {
        let mut by_place = self.lock();
        let at = by_place.entry(place.clone()).or_default();
        if at.listing.as_ref().is_some_and(|newer| newer.began > began) {
            return;
        }
        at.written.retain(|_, w| *w >= began);
        at.listing = Some(Listing { began, items });
    }

    /// This process's write to `target` at `place` was answered: the listings that began before now
    /// do not answer for the target.
    pub(crate) fn wrote(&self, place: &Place, target: &str) {
        let mut by_place = self.lock();
        let at = by_place.entry(place.clone()).or_default();
        at.written.insert(target.to_string(), Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn place() -> Place {
        Place {
            role: None,
            region: "us-east-1".into(),
        }
    }

    fn elsewhere() -> Place {
        Place {
            role: None,
            region: "eu-west-1".into(),
        }
    }

    fn items(pairs: &[(&str, u32)]) -> HashMap<String, Vec<u32>> {
        let mut by_target: HashMap<String, Vec<u32>> = HashMap::new();
        for (target, n) in pairs {
            by_target.entry(target.to_string()).or_default().push(*n);
        }
        by_target
    }

    /// A read of `target` by a reconcile of the resync that began at `since`.
    async fn ask(listings: &Listings<u32>, at: &Place, target: &str, since: Instant) -> Option<Vec<u32>> {
        super::super::in_resync(Some(since), listings.answer(at, target)).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_answers_the_reads_of_the_resync_it_began_in_and_no_earlier_one() {
        let listings = Listings::default();
        let resync = Instant::now();
        assert_eq!(
            ask(&listings, &place(), "a", resync).await,
            None,
            "nothing listed yet"
        );
        tokio::time::advance(Duration::from_millis(10)).await;
        listings.keep(&place(), Instant::now(), items(&[("a", 1), ("a", 2), ("b", 3)]));
        assert_eq!(ask(&listings, &place(), "a", resync).await, Some(vec![1, 2]));
        assert_eq!(
            ask(&listings, &place(), "c", resync).await,
            Some(vec![]),
            "a target missing from a listing of the whole namespace has no items"
        );
        assert_eq!(
            ask(&listings, &elsewhere(), "a", resync).await,
            None,
            "another place's"
        );
        assert_eq!(
            listings.answer(&place(), "a").await,
            None,
            "a reconcile a change started reads from AWS"
        );
        // The next resync begins after the listing did: the listing is too old for its reads.
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(ask(&listings, &place(), "a", Instant::now()).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_target_written_after_the_listing_began_is_read_again_until_a_newer_listing() {
        let listings = Listings::default();
        let resync = Instant::now();
        listings.keep(&place(), Instant::now(), items(&[("a", 1), ("b", 2)]));
        tokio::time::advance(Duration::from_millis(10)).await;
        listings.wrote(&place(), "a");
        assert_eq!(
            ask(&listings, &place(), "a", resync).await,
            None,
            "written after the listing began"
        );
        assert_eq!(ask(&listings, &place(), "b", resync).await, Some(vec![2]));
        // A listing that began before the write was answered still does not answer for it...
        let before_write = Instant::now() - Duration::from_millis(5);
        listings.keep(&place(), before_write, items(&[("a", 1), ("b", 2)]));
        assert_eq!(ask(&listings, &place(), "a", resync).await, None);
        // ...one that began after it does.
        tokio::time::advance(Duration::from_millis(10)).await;
        listings.keep(&place(), Instant::now(), items(&[("a", 4), ("b", 2)]));
        assert_eq!(ask(&listings, &place(), "a", resync).await, Some(vec![4]));
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_listing_never_replaces_a_newer_one() {
        let listings = Listings::default();
        let older = Instant::now();
        tokio::time::advance(Duration::from_millis(10)).await;
        let newer = Instant::now();
        listings.keep(&place(), newer, items(&[("a", 2)]));
        listings.keep(&place(), older, items(&[("a", 1)]));
        assert_eq!(ask(&listings, &place(), "a", newer).await, Some(vec![2]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_waits_for_the_listing_being_made_for_its_resync() {
        let listings = Arc::new(Listings::default());
        let resync = Instant::now();
        let done = listings.listing(&place(), Instant::now());
        let reader = tokio::spawn({
            let listings = listings.clone();
            async move { ask(&listings, &place(), "a", resync).await }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!reader.is_finished(), "the read waits while the listing is made");
        listings.keep(&place(), resync, items(&[("a", 7)]));
        drop(done);
        assert_eq!(reader.await.ok().flatten(), Some(vec![7]));
        // A listing that gives up (nothing kept) lets its waiters read from AWS; so does one that
        // began before their resync.
        let next = Instant::now();
        tokio::time::advance(Duration::from_millis(1)).await;
        let gave_up = listings.listing(&place(), Instant::now());
        let reader = tokio::spawn({
            let listings = listings.clone();
            async move { ask(&listings, &place(), "a", next).await }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(gave_up);
        assert_eq!(reader.await.ok().flatten(), None);
        let _older = listings.listing(&place(), next - Duration::from_millis(1));
        let later = Instant::now();
        assert_eq!(
            ask(&listings, &place(), "a", later).await,
            None,
            "no wait for an older listing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_listing_is_let_go_once_its_resync_made_as_many_reads_as_the_one_before() {
        let listings = Listings::default();
        let first = Instant::now();
        for target in ["a", "b"] {
            ask(&listings, &place(), target, first).await;
        }
        tokio::time::advance(Duration::from_secs(30)).await;
        let second = Instant::now();
        listings.keep(&place(), second, items(&[("a", 1), ("b", 2)]));
        assert_eq!(ask(&listings, &place(), "a", second).await, Some(vec![1]));
        assert_eq!(
            ask(&listings, &place(), "b", second).await,
            Some(vec![2]),
            "the second of two"
        );
        assert_eq!(
            ask(&listings, &place(), "a", second).await,
            None,
            "a read beyond the expected ones goes to AWS: the listing was let go"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_resync_is_expected_to_read_as_much_as_the_one_before() {
        let listings: Listings<u32> = Listings::default();
        let first = Instant::now();
        for target in ["a", "b", "c"] {
            ask(&listings, &place(), target, first).await;
        }
        assert_eq!(listings.to_come(&place()), 0, "nothing known of earlier resyncs");
        tokio::time::advance(Duration::from_secs(30)).await;
        let second = Instant::now();
        ask(&listings, &place(), "a", second).await;
        assert_eq!(listings.to_come(&place()), 2, "three reads last time, one made");
        for target in ["b", "c", "d"] {
            ask(&listings, &place(), target, second).await;
        }
        assert_eq!(listings.to_come(&place()), 0);
        // A late read of the first resync (its reconcile waited) does not start a count of its own.
        ask(&listings, &place(), "e", first).await;
        tokio::time::advance(Duration::from_secs(30)).await;
        ask(&listings, &place(), "a", Instant::now()).await;
        assert_eq!(listings.to_come(&place()), 4, "five reads last time, one made");
        assert_eq!(listings.to_come(&elsewhere()), 0, "counted per place");
    }
}
