//! Which scenarios may run at the same time: each scenario claims the components it uses
//! and the ones it disrupts, from its tags (and its rule's and feature's):
//!
//! - `@uses:gateway,redis` (or one tag per component): the components it needs working;
//! - `@disrupts:db`: the components it stops, pauses, restarts or faults (a link
//!   fault disrupts the link's callee: `the link from api to db` disrupts
//!   `db`); a disrupted component is also used;
//! - `@serial`: it disrupts every component (alone with everything);
//! - no `@uses` tag: it uses every component.
//!
//! The [`Scheduler`] is a read/write lock per component, all of a scenario's locks
//! granted at once: a disruptor of X runs alone with respect to every scenario that uses
//! or disrupts X, and scenarios that disturb different components overlap. A waiting
//! scenario is granted as soon as its claim conflicts with no running scenario and with
//! no scenario queued ahead of it that could run now (so a disruptor is never starved by
//! a stream of users), and while fewer than the concurrency limit run. A scenario queued
//! ahead that a running disruptor keeps waiting anyway does not hold back the ones behind
//! it (backfill: while the broker is down, the partial failures that do not need it
//! run); it waits at most for the scenarios granted while that disruptor ran. Disruptors queue ahead of users: they
//! mostly conflict with one another, so they are the run's critical path. Nothing is held while
//! waiting, so nothing deadlocks. A scenario may give back components it no longer uses
//! before it ends (`When the scenario no longer uses gateway`, [`Grant::no_longer_uses`]),
//! so a long disruptor of one component does not hold the ones it only needed at first.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use qalens_model::system::System;

/// The names claims may use, and how fault targets map onto them.
#[derive(Debug, Clone, Default)]
pub struct Components {
    /// The services, with the entry service folded into the gateway service.
    names: BTreeSet<String>,
    /// Entry service to gateway service, when the file declares both.
    folded: Option<(String, String)>,
}

impl Components {
    /// The components claims may name in `system`: its services, with the entry service
    /// folded into the gateway service when the file declares both (the gateway stands
    /// for every replica and the front door).
    pub fn of(system: &System) -> Self {
        let folded = system
            .qalens
            .entry
            .as_ref()
            .zip(system.qalens.gateway.as_ref())
            .map(|(entry, gateway)| (entry.service.clone(), gateway.service.clone()));
        let names = system
            .service_names()
            .into_iter()
            .map(|name| match &folded {
                Some((entry, gateway)) if *entry == name => gateway.clone(),
                _ => name,
            })
            .collect();
        Self { names, folded }
    }

    /// The component a fault target belongs to: a service (the entry service its
    /// gateway), a replica (`gateway-2`) its service, a link (`link-api-ledger` or
    /// `api-ledger`) its callee. Service names may contain `-`: a name the system has
    /// wins over reading the target as a replica or a link.
    pub fn service_of(&self, target: &str) -> String {
        let fold = |name: &str| match &self.folded {
            Some((entry, gateway)) if entry == name => gateway.clone(),
            _ => name.to_string(),
        };
        let known = |name: &str| self.names.contains(name) || fold(name) != name;
        if known(target) {
            return fold(target);
        }
        let bare = target.strip_prefix("link-").unwrap_or(target);
        if let Some((service, n)) = bare.rsplit_once('-')
            && n.chars().all(|c| c.is_ascii_digit())
            && known(service)
        {
            return fold(service);
        }
        // A link `from-to`: the longest known callee that ends it, a service or one of
        // its replicas (`frontdoor-gateway-2`).
        let replica_of = |name: &str| {
            name.rsplit_once('-')
                .filter(|(service, n)| n.chars().all(|c| c.is_ascii_digit()) && known(service))
                .map(|(service, _)| service.to_string())
        };
        let callee = bare
            .match_indices('-')
            .map(|(i, _)| &bare[i + 1..])
            .find_map(|callee| {
                if known(callee) {
                    Some(callee.to_string())
                } else {
                    replica_of(callee)
                }
            });
        match callee {
            Some(callee) => fold(&callee),
            None => match bare.rsplit_once('-') {
                Some((service, n)) if n.chars().all(|c| c.is_ascii_digit()) => fold(service),
                Some((_, callee)) => fold(callee),
                None => fold(bare),
            },
        }
    }
}

/// Some components, or all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(BTreeSet<String>),
}

impl Scope {
    /// Whether the component named is in it.
    pub fn covers(&self, name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(s) => s.contains(name),
        }
    }

    fn meets(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, Scope::All) => true,
            (Scope::All, Scope::Only(s)) | (Scope::Only(s), Scope::All) => !s.is_empty(),
            (Scope::Only(a), Scope::Only(b)) => !a.is_disjoint(b),
        }
    }
}

/// What one scenario claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// Every component it needs (the disrupted ones included).
    pub uses: Scope,
    /// The components it disrupts.
    pub disrupts: Scope,
}

impl Claim {
    /// Alone with everything (`@serial`).
    pub(crate) const EVERYTHING: Claim = Claim {
        uses: Scope::All,
        disrupts: Scope::All,
    };

    /// Whether it disrupts anything.
    pub fn is_disruptor(&self) -> bool {
        self.disrupts != Scope::Only(BTreeSet::new())
    }

    /// Whether it has `component` to itself: it disrupts it (or everything), so no
    /// scenario that uses or disrupts `component` runs while it holds its grant. Only such
    /// a scenario may reset shared state of `component`, such as a broker's queues.
    pub fn holds_alone(&self, component: &str) -> bool {
        self.disrupts.covers(component)
    }

    /// Whether the two may not run at the same time.
    pub(crate) fn conflicts(&self, other: &Claim) -> bool {
        self.disrupts.meets(&other.uses) || other.disrupts.meets(&self.uses)
    }
}

/// Why a scenario cannot give components back ([`Grant::no_longer_uses`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiveBackError {
    #[error("unknown component {name:?}; known components: {}", .known.join(", "))]
    UnknownComponent { name: String, known: Vec<String> },
    #[error("the scenario holds no claim")]
    NoClaim,
    #[error("the scenario disrupts {name}: it keeps it until its faults are healed")]
    Disrupted { name: String },
}

/// A tag that is not a well-formed claim on known components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagError {
    pub tag: String,
    pub message: String,
}

/// Which claim tag a tag is (`uses`/`disrupts`), if it looks like one at all: a tag that
/// starts with either word (or its singular, a likely typo) is checked.
fn claim_kind(tag: &str) -> Option<(&str, Option<&str>)> {
    let tag = tag.trim_start_matches('@');
    let (word, rest) = match tag.split_once(':') {
        Some((w, r)) => (w, Some(r)),
        None => (tag, None),
    };
    ["uses", "use", "disrupts", "disrupt"]
        .contains(&word)
        .then_some((word, rest))
}

/// Whether a tag is about scheduling (`@serial`, `@uses:...`, `@disrupts:...`) rather
/// than a lens.
pub fn is_scheduling_tag(tag: &str) -> bool {
    tag.trim_start_matches('@') == "serial" || claim_kind(tag).is_some()
}

impl Components {
    /// The names claims may use.
    pub fn names(&self) -> &BTreeSet<String> {
        &self.names
    }

    /// The claim the tags make (feature, rule and scenario tags together).
    pub fn claim<'a>(&self, tags: impl IntoIterator<Item = &'a String>) -> Result<Claim, TagError> {
        claim_among(&self.names, tags)
    }

    /// The claim the scheduler grants a scenario with these tags: [`Components::claim`],
    /// or everything when the tags are malformed (`qalens check` and the lint before a
    /// run refuse those, so none is left in a run).
    pub fn claim_or_everything<'a>(&self, tags: impl IntoIterator<Item = &'a String>) -> Claim {
        self.claim(tags).unwrap_or(Claim::EVERYTHING)
    }
}

/// [`Components::claim`] with `known` as the components a tag may name.
fn claim_among<'a>(
    known: &BTreeSet<String>,
    tags: impl IntoIterator<Item = &'a String>,
) -> Result<Claim, TagError> {
    let mut uses = BTreeSet::new();
    let mut disrupts = BTreeSet::new();
    let (mut declared_uses, mut serial) = (false, false);
    for tag in tags {
        if tag.trim_start_matches('@') == "serial" {
            serial = true;
            continue;
        }
        let Some((word, list)) = claim_kind(tag) else {
            continue;
        };
        let err = |message: String| TagError {
            tag: tag.clone(),
            message,
        };
        let into = match word {
            "uses" => &mut uses,
            "disrupts" => &mut disrupts,
            _ => {
                return Err(err(format!(
                    "`{tag}`: the claim tags are `@uses:COMPONENT,...` and `@disrupts:COMPONENT,...`"
                )));
            }
        };
        let list = list.unwrap_or_default();
        if list.is_empty() {
            return Err(err(format!(
                "`{tag}` names no component: write `@{word}:COMPONENT[,COMPONENT...]`"
            )));
        }
        for name in list.split(',') {
            if !known.contains(name) {
                return Err(err(format!(
                    "`{tag}`: unknown component {name:?}; known components: {}",
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            into.insert(name.to_string());
        }
        declared_uses |= word == "uses";
    }
    if serial {
        return Ok(Claim::EVERYTHING);
    }
    let uses = if declared_uses {
        uses.extend(disrupts.iter().cloned());
        Scope::Only(uses)
    } else {
        Scope::All
    };
    Ok(Claim {
        uses,
        disrupts: Scope::Only(disrupts),
    })
}

#[derive(Debug, Default)]
struct State {
    /// Granted claims, by ticket.
    running: Vec<(u64, Claim)>,
    /// Claims not granted yet: disruptors first, then users, each oldest first.
    waiting: Vec<(u64, Claim)>,
    next_ticket: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct Scheduler {
    state: Mutex<State>,
    changed: Notify,
    /// Scenarios granted at once at most.
    limit: usize,
    /// The components claims may name.
    components: Components,
}

impl Scheduler {
    pub fn new(limit: usize, components: Components) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            limit: limit.max(1),
            components,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `claim` may run, then holds it until the [`Grant`] is dropped.
    pub async fn acquire(self: &Arc<Self>, claim: Claim) -> Grant {
        let ticket = {
            let mut s = self.lock();
            let t = s.next_ticket;
            s.next_ticket += 1;
            // Disruptors queue before users (each kind in arrival order): every scenario is
            // started at once, and a user queued ahead of a disruptor would hold it back
            // while users that came later overtake it; disruptors mostly conflict with
            // each other, so they are the run's critical path.
            let at = if claim.is_disruptor() {
                s.waiting
                    .iter()
                    .position(|(_, c)| !c.is_disruptor())
                    .unwrap_or(s.waiting.len())
            } else {
                s.waiting.len()
            };
            s.waiting.insert(at, (t, claim));
            t
        };
        // Dropped before granted (the scenario was cancelled): leave the queue.
        let mut pending = Pending {
            scheduler: self.clone(),
            ticket: Some(ticket),
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.try_grant(ticket) {
                pending.ticket = None;
                return Grant {
                    scheduler: self.clone(),
                    ticket,
                };
            }
            changed.await;
        }
    }

    fn try_grant(&self, ticket: u64) -> bool {
        let mut s = self.lock();
        if s.running.len() >= self.limit {
            return false;
        }
        let Some(pos) = s.waiting.iter().position(|(t, _)| *t == ticket) else {
            return false;
        };
        let claim = &s.waiting[pos].1;
        // A claim queued ahead holds this one back unless a running disruptor that was
        // queued before it keeps it waiting anyway: then this one may go past it
        // (backfill), since the scenarios that go past it are the ones granted while
        // that disruptor runs, no more. A disruptor that itself went past it does not
        // count, or alternating disruptors could keep it waiting for ever.
        let held_by_disruptor = |w_ticket: u64, w: &Claim| {
            s.running
                .iter()
                .any(|(t, r)| *t < w_ticket && r.is_disruptor() && r.conflicts(w))
        };
        let blocked = s.running.iter().any(|(_, c)| c.conflicts(claim))
            || s.waiting[..pos]
                .iter()
                .any(|(t, w)| w.conflicts(claim) && !held_by_disruptor(*t, w));
        if blocked {
            return false;
        }
        let granted = s.waiting.remove(pos);
        s.running.push(granted);
        true
    }

    /// Takes `names` out of the components a granted claim uses (see
    /// [`Grant::no_longer_uses`]) and wakes the scenarios waiting for them.
    fn narrow(
        &self,
        ticket: u64,
        known: &BTreeSet<String>,
        names: &BTreeSet<String>,
    ) -> Result<(), GiveBackError> {
        {
            if let Some(unknown) = names.iter().find(|n| !known.contains(*n)) {
                return Err(GiveBackError::UnknownComponent {
                    name: unknown.clone(),
                    known: known.iter().cloned().collect(),
                });
            }
            let mut s = self.lock();
            let Some((_, claim)) = s.running.iter_mut().find(|(t, _)| *t == ticket) else {
                return Err(GiveBackError::NoClaim);
            };
            if let Some(n) = names.iter().find(|n| claim.disrupts.covers(n)) {
                return Err(GiveBackError::Disrupted { name: n.clone() });
            }
            let uses = match &claim.uses {
                Scope::All => known.clone(),
                Scope::Only(uses) => uses.clone(),
            };
            claim.uses = Scope::Only(uses.difference(names).cloned().collect());
        }
        self.changed.notify_waiters();
        Ok(())
    }

    fn release(&self, ticket: u64) {
        {
            let mut s = self.lock();
            s.running.retain(|(t, _)| *t != ticket);
            s.waiting.retain(|(t, _)| *t != ticket);
        }
        self.changed.notify_waiters();
    }
}

/// A claim being waited for; leaves the queue if dropped before it was granted.
struct Pending {
    scheduler: Arc<Scheduler>,
    ticket: Option<u64>,
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(t) = self.ticket {
            self.scheduler.release(t);
        }
    }
}

/// A granted claim; dropping it lets the scenarios it blocked run.
#[derive(Debug)]
pub struct Grant {
    scheduler: Arc<Scheduler>,
    ticket: u64,
}

impl Grant {
    /// Gives back components the scenario no longer uses, before it ends, so scenarios
    /// that disrupt them may start (a broker outage that has placed its order no longer
    /// needs the services the order went through). A component it disrupts is kept
    /// until the scenario ends.
    pub fn no_longer_uses(&self, names: &BTreeSet<String>) -> Result<(), GiveBackError> {
        self.no_longer_uses_among(&self.scheduler.components.names, names)
    }

    /// [`Grant::no_longer_uses`] with `known` as the components it may name.
    fn no_longer_uses_among(
        &self,
        known: &BTreeSet<String>,
        names: &BTreeSet<String>,
    ) -> Result<(), GiveBackError> {
        self.scheduler.narrow(self.ticket, known, names)
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        self.scheduler.release(self.ticket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    /// Made-up components: the tests do not depend on any system file.
    fn known() -> BTreeSet<String> {
        [
            "api", "ledger", "stock", "mailer", "gateway", "redis", "rabbitmq",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn c(t: &[&str]) -> Claim {
        claim_among(&known(), &tags(t)).unwrap()
    }

    #[test]
    fn claims_come_from_tags() {
        let none = c(&["@checkout"]);
        assert_eq!(none.uses, Scope::All);
        assert_eq!(none.disrupts, Scope::Only(BTreeSet::new()));
        let d = c(&["@disrupts:ledger", "@uses:gateway,api", "@uses:redis"]);
        let set = |v: &[&str]| Scope::Only(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(d.uses, set(&["gateway", "api", "ledger", "redis"]));
        assert_eq!(d.disrupts, set(&["ledger"]));
        assert_eq!(c(&["@serial"]).disrupts, Scope::All);
        assert!(is_scheduling_tag("@disrupts:mailer") && is_scheduling_tag("serial"));
        assert!(!is_scheduling_tag("@partial-failure"));
    }

    #[test]
    fn only_a_disruptor_holds_a_component_alone() {
        let alone = c(&["@disrupts:rabbitmq", "@uses:api"]);
        assert!(alone.holds_alone("rabbitmq") && !alone.holds_alone("api"));
        assert!(c(&["@serial"]).holds_alone("rabbitmq"));
        // A user, and a scenario without claims (it uses everything), share the broker.
        assert!(!c(&["@uses:rabbitmq,api"]).holds_alone("rabbitmq"));
        assert!(!c(&["@checkout"]).holds_alone("rabbitmq"));
        // Which is why nothing that uses it runs meanwhile.
        for other in [
            &["@uses:rabbitmq"][..],
            &["@checkout"],
            &["@disrupts:rabbitmq"],
        ] {
            assert!(alone.conflicts(&c(other)), "{other:?}");
        }
        assert!(!alone.conflicts(&c(&["@uses:api,ledger"])));
    }

    #[test]
    fn fault_targets_map_to_the_components_claims_name() {
        let components = Components {
            names: ["gateway", "api", "ledger", "order-store", "redis"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            folded: Some(("edge".into(), "gateway".into())),
        };
        let of = |t: &str| components.service_of(t);
        assert_eq!(of("gateway-2"), "gateway");
        assert_eq!(of("edge"), "gateway");
        assert_eq!(of("api-ledger"), "ledger");
        assert_eq!(of("link-gateway-redis"), "redis");
        assert_eq!(of("redis"), "redis");
        // A service whose name holds a `-` is itself, and the callee of a link to it.
        assert_eq!(of("order-store"), "order-store");
        assert_eq!(of("link-api-order-store"), "order-store");
        assert_eq!(of("order-store-1"), "order-store");
        // A link to one replica (a takeover of `gateway-2`) disrupts the replica's service.
        assert_eq!(of("link-edge-gateway-2"), "gateway");
        assert_eq!(of("api-order-store-3"), "order-store");
    }

    #[test]
    fn malformed_and_unknown_claims_are_refused() {
        for bad in ["@uses:", "@disrupts", "@disrupt:ledger", "@uses:ledgr"] {
            let e = claim_among(&known(), &tags(&[bad])).unwrap_err();
            assert_eq!(e.tag, bad);
        }
        let e = claim_among(&known(), &tags(&["@uses:ledgr"])).unwrap_err();
        assert!(e.message.contains("ledger"), "{}", e.message);
    }

    #[test]
    fn conflicts_follow_the_read_write_rule() {
        let user = c(&["@uses:gateway,ledger"]);
        let everything = c(&[]);
        let ledger_down = c(&["@disrupts:ledger", "@uses:gateway,api"]);
        let broker_down = c(&["@disrupts:rabbitmq", "@uses:api,mailer"]);
        let redis_user = c(&["@uses:gateway,redis"]);
        assert!(!user.conflicts(&everything), "users never conflict");
        assert!(ledger_down.conflicts(&user));
        assert!(ledger_down.conflicts(&everything));
        assert!(
            !ledger_down.conflicts(&broker_down),
            "different components overlap"
        );
        assert!(!ledger_down.conflicts(&redis_user));
        assert!(broker_down.conflicts(&c(&["@disrupts:api", "@uses:api"])));
        assert!(c(&["@serial"]).conflicts(&redis_user));
    }

    #[tokio::test]
    async fn a_disruptor_waits_for_users_and_later_users_wait_for_it() {
        let s = Scheduler::new(16, Components::default());
        let user = s.acquire(c(&["@uses:ledger"])).await;
        let s2 = s.clone();
        let disruptor =
            tokio::spawn(async move { s2.acquire(c(&["@disrupts:ledger", "@uses:ledger"])).await });
        // The disruptor queues first.
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        let s3 = s.clone();
        let late_user = tokio::spawn(async move { s3.acquire(c(&["@uses:ledger"])).await });
        // Another component is free meanwhile.
        let other = tokio::time::timeout(Duration::from_secs(5), s.acquire(c(&["@uses:redis"])))
            .await
            .expect("a user of another component is not blocked");
        assert!(!disruptor.is_finished() && !late_user.is_finished());
        drop(user);
        let d = tokio::time::timeout(Duration::from_secs(5), disruptor)
            .await
            .expect("the disruptor runs once the user is done")
            .unwrap();
        assert!(
            !late_user.is_finished(),
            "a later user waits for the disruptor"
        );
        drop(d);
        tokio::time::timeout(Duration::from_secs(5), late_user)
            .await
            .expect("the later user runs after the disruptor")
            .unwrap();
        drop(other);
    }

    #[tokio::test]
    async fn a_waiting_disruptor_goes_ahead_of_waiting_users() {
        let s = Scheduler::new(16, Components::default());
        let broker_down = s.acquire(c(&["@disrupts:rabbitmq", "@uses:ledger"])).await;
        let s2 = s.clone();
        let user = tokio::spawn(async move { s2.acquire(c(&["@uses:rabbitmq,ledger"])).await });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        let s3 = s.clone();
        let ledger_down =
            tokio::spawn(async move { s3.acquire(c(&["@disrupts:ledger", "@uses:ledger"])).await });
        while s.lock().waiting.len() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(s.lock().waiting[0].1.disrupts.covers("ledger"));
        drop(broker_down);
        let p = tokio::time::timeout(Duration::from_secs(5), ledger_down)
            .await
            .expect("the disruptor that came later runs first")
            .unwrap();
        assert!(!user.is_finished(), "the user waits for the disruptor");
        drop(p);
        tokio::time::timeout(Duration::from_secs(5), user)
            .await
            .expect("then the user")
            .unwrap();
    }

    /// A broker outage running, a link reset (rabbitmq too) queued behind it, and a stock
    /// outage granted past the link reset: it conflicts with the link reset queued ahead,
    /// not with the broker outage that keeps that one waiting.
    async fn stock_down_went_past_a_link_reset()
    -> (Arc<Scheduler>, Grant, tokio::task::JoinHandle<Grant>, Grant) {
        let s = Scheduler::new(16, Components::default());
        let broker_down = s
            .acquire(c(&["@disrupts:rabbitmq", "@uses:api,mailer"]))
            .await;
        let s2 = s.clone();
        let link_reset = tokio::spawn(async move {
            s2.acquire(c(&["@disrupts:rabbitmq", "@uses:api,stock"]))
                .await
        });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        let stock_down = tokio::time::timeout(
            Duration::from_secs(5),
            s.acquire(c(&["@disrupts:stock", "@uses:api"])),
        )
        .await
        .expect("goes past the link reset the broker outage keeps waiting");
        (s, broker_down, link_reset, stock_down)
    }

    #[tokio::test]
    async fn scenarios_go_past_one_a_running_disruptor_keeps_waiting() {
        let (s, broker_down, link_reset, stock_down) = stock_down_went_past_a_link_reset().await;
        // Once the broker is back only stock keeps the link reset waiting; a user of
        // both waits for stock, and then for the link reset queued ahead of it.
        drop(broker_down);
        let s3 = s.clone();
        let user = tokio::spawn(async move { s3.acquire(c(&["@uses:rabbitmq,stock"])).await });
        tokio::task::yield_now().await;
        assert!(!link_reset.is_finished(), "stock is still disrupted");
        drop(stock_down);
        let l = tokio::time::timeout(Duration::from_secs(5), link_reset)
            .await
            .expect("the link reset runs once stock is back")
            .unwrap();
        assert!(!user.is_finished(), "the user waits for the link reset");
        drop(l);
        tokio::time::timeout(Duration::from_secs(5), user)
            .await
            .expect("then the user")
            .unwrap();
    }

    #[tokio::test]
    async fn a_disruptor_that_went_past_a_claim_does_not_let_more_go_past_it() {
        let (s, broker_down, link_reset, stock_down) = stock_down_went_past_a_link_reset().await;
        // The broker outage ends: now only the stock outage, which went past the link
        // reset, keeps it waiting. Another broker outage must not go past it too.
        drop(broker_down);
        let s3 = s.clone();
        let second_broker_down =
            tokio::spawn(
                async move { s3.acquire(c(&["@disrupts:rabbitmq", "@uses:mailer"])).await },
            );
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            !second_broker_down.is_finished(),
            "a later disruptor went past the link reset a backfilled one keeps waiting"
        );
        drop(stock_down);
        let l = tokio::time::timeout(Duration::from_secs(5), link_reset)
            .await
            .expect("the link reset runs once stock is back")
            .unwrap();
        drop(l);
        tokio::time::timeout(Duration::from_secs(5), second_broker_down)
            .await
            .expect("then the second broker outage")
            .unwrap();
    }

    #[tokio::test]
    async fn a_scenario_gives_back_what_it_no_longer_uses() {
        let s = Scheduler::new(16, Components::default());
        let broker_down = s
            .acquire(c(&["@disrupts:rabbitmq", "@uses:api,ledger,mailer"]))
            .await;
        let s2 = s.clone();
        let ledger_down = tokio::spawn(async move {
            s2.acquire(c(&["@disrupts:ledger", "@uses:gateway,api"]))
                .await
        });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(!ledger_down.is_finished(), "it waits while ledger is used");
        let err = broker_down
            .no_longer_uses_among(&known(), &["rabbitmq".to_string()].into())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the scenario disrupts rabbitmq: it keeps it until its faults are healed"
        );
        assert!(
            broker_down
                .no_longer_uses_among(&known(), &["ledge".to_string()].into())
                .is_err()
        );
        broker_down
            .no_longer_uses_among(&known(), &["ledger".to_string()].into())
            .unwrap();
        let p = tokio::time::timeout(Duration::from_secs(5), ledger_down)
            .await
            .expect("granted once ledger was given back")
            .unwrap();
        let s3 = s.clone();
        let api_down =
            tokio::spawn(async move { s3.acquire(c(&["@disrupts:api", "@uses:api"])).await });
        tokio::task::yield_now().await;
        assert!(!api_down.is_finished(), "api is still used");
        drop((broker_down, p));
        tokio::time::timeout(Duration::from_secs(5), api_down)
            .await
            .expect("granted once both ended")
            .unwrap();
        // A scenario that claimed everything gives back all but what it names.
        let everything = s.acquire(c(&[])).await;
        everything
            .no_longer_uses_among(
                &known(),
                &["ledger".to_string(), "redis".to_string()].into(),
            )
            .unwrap();
        tokio::time::timeout(
            Duration::from_secs(5),
            s.acquire(c(&["@disrupts:redis", "@uses:gateway"])),
        )
        .await
        .expect("redis was given back");
    }

    #[tokio::test]
    async fn the_limit_bounds_granted_claims() {
        let s = Scheduler::new(1, Components::default());
        let first = s.acquire(c(&["@uses:redis"])).await;
        let s2 = s.clone();
        let second = tokio::spawn(async move { s2.acquire(c(&["@uses:api"])).await });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("granted once the first is released")
            .unwrap();
    }
}
