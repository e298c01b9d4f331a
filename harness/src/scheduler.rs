//! Which scenarios may run at the same time: each scenario claims the components it uses
//! and the ones it disrupts, from its tags (and its rule's and feature's):
//!
//! - `@uses:gateway,redis` (or one tag per component): the components it needs working;
//! - `@disrupts:payments`: the components it stops, pauses, restarts or faults (a link
//!   fault disrupts the link's callee: `the link from orders to payments` disrupts
//!   `payments`); a disrupted component is also used;
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
//! before it ends (`When the scenario no longer uses payments`, [`Grant::no_longer_uses`]),
//! so a long disruptor of one component does not hold the ones it only needed at first.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::system::System;

/// The components of the system this process runs, once a command has loaded it.
static COMPONENTS: std::sync::OnceLock<BTreeSet<String>> = std::sync::OnceLock::new();

/// The components claims may name in `system`: its services, with the entry service
/// folded into the gateway service when the file declares both (`gateway` stands for
/// every replica and the front door).
pub fn components_of(system: &System) -> BTreeSet<String> {
    let folded = system
        .qalens
        .entry
        .as_ref()
        .zip(system.qalens.gateway.as_ref())
        .map(|(entry, gateway)| (entry.service.clone(), gateway.service.clone()));
    system
        .service_names()
        .into_iter()
        .map(|name| match &folded {
            Some((entry, gateway)) if *entry == name => gateway.clone(),
            _ => name,
        })
        .collect()
}

/// Makes `system`'s services the components claims may name (the first system a process
/// loads; every command loads one before it reads a feature file).
pub fn use_system(system: &System) {
    let _ = COMPONENTS.set(components_of(system));
}

/// The components a scenario may name: the services of the system in use (see
/// [`use_system`]), else of the built-in reference system.
pub fn component_names() -> BTreeSet<String> {
    COMPONENTS
        .get_or_init(|| {
            System::reference()
                .map(|s| components_of(&s))
                .unwrap_or_default()
        })
        .clone()
}

/// The component a fault target belongs to, as claims name it: a replica
/// (`gateway-2`) its service, a link (`orders-payments`) its callee.
pub fn service_of(target: &str) -> String {
    let target = target.strip_prefix("link-").unwrap_or(target);
    match target.rsplit_once('-') {
        Some((service, n)) if n.chars().all(|c| c.is_ascii_digit()) => service.to_string(),
        Some((_, callee)) => callee.to_string(),
        None if target == "frontdoor" => "gateway".to_string(),
        None => target.to_string(),
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
    pub const EVERYTHING: Claim = Claim {
        uses: Scope::All,
        disrupts: Scope::All,
    };

    /// Whether it disrupts anything.
    pub fn is_disruptor(&self) -> bool {
        self.disrupts != Scope::Only(BTreeSet::new())
    }

    /// Whether the two may not run at the same time.
    pub fn conflicts(&self, other: &Claim) -> bool {
        self.disrupts.meets(&other.uses) || other.disrupts.meets(&self.uses)
    }
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

/// The claim the tags make (feature, rule and scenario tags together).
pub fn claim<'a>(tags: impl IntoIterator<Item = &'a String>) -> Result<Claim, TagError> {
    let known = component_names();
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
}

impl Scheduler {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            limit: limit.max(1),
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
        // A claim queued ahead holds this one back unless a running disruptor keeps it
        // waiting anyway: then this one may go past it (backfill), since the scenarios
        // that go past it are the ones granted while that disruptor runs, no more.
        let held_by_disruptor = |w: &Claim| {
            s.running
                .iter()
                .any(|(_, r)| r.is_disruptor() && r.conflicts(w))
        };
        let blocked = s.running.iter().any(|(_, c)| c.conflicts(claim))
            || s.waiting[..pos]
                .iter()
                .any(|(_, w)| w.conflicts(claim) && !held_by_disruptor(w));
        if blocked {
            return false;
        }
        let granted = s.waiting.remove(pos);
        s.running.push(granted);
        true
    }

    /// Takes `names` out of the components a granted claim uses (see
    /// [`Grant::no_longer_uses`]) and wakes the scenarios waiting for them.
    fn narrow(&self, ticket: u64, names: &BTreeSet<String>) -> Result<(), String> {
        {
            let known = component_names();
            if let Some(unknown) = names.iter().find(|n| !known.contains(*n)) {
                return Err(format!(
                    "unknown component {unknown:?}; known components: {}",
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                ));
            }
            let mut s = self.lock();
            let Some((_, claim)) = s.running.iter_mut().find(|(t, _)| *t == ticket) else {
                return Err("the scenario holds no claim".to_string());
            };
            if let Some(n) = names.iter().find(|n| claim.disrupts.covers(n)) {
                return Err(format!(
                    "the scenario disrupts {n}: it keeps it until its faults are healed"
                ));
            }
            let uses = match &claim.uses {
                Scope::All => known,
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
    /// needs payments). A component it disrupts is kept until the scenario ends.
    pub fn no_longer_uses(&self, names: &BTreeSet<String>) -> Result<(), String> {
        self.scheduler.narrow(self.ticket, names)
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

    fn c(t: &[&str]) -> Claim {
        claim(&tags(t)).unwrap()
    }

    #[test]
    fn claims_come_from_tags() {
        let none = c(&["@orders"]);
        assert_eq!(none.uses, Scope::All);
        assert_eq!(none.disrupts, Scope::Only(BTreeSet::new()));
        let d = c(&["@disrupts:payments", "@uses:gateway,orders", "@uses:redis"]);
        let set = |v: &[&str]| Scope::Only(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(d.uses, set(&["gateway", "orders", "payments", "redis"]));
        assert_eq!(d.disrupts, set(&["payments"]));
        assert_eq!(c(&["@serial"]).disrupts, Scope::All);
        assert!(is_scheduling_tag("@disrupts:email") && is_scheduling_tag("serial"));
        assert!(!is_scheduling_tag("@partial-failure"));
        assert_eq!(service_of("gateway-2"), "gateway");
        assert_eq!(service_of("orders-payments"), "payments");
        assert_eq!(service_of("link-gateway-redis"), "redis");
        assert_eq!(service_of("rabbitmq"), "rabbitmq");
    }

    #[test]
    fn malformed_and_unknown_claims_are_refused() {
        for bad in ["@uses:", "@disrupts", "@disrupt:payments", "@uses:payment"] {
            let e = claim(&tags(&[bad])).unwrap_err();
            assert_eq!(e.tag, bad);
        }
        let e = claim(&tags(&["@uses:payment"])).unwrap_err();
        assert!(e.message.contains("payments"), "{}", e.message);
    }

    #[test]
    fn conflicts_follow_the_read_write_rule() {
        let user = c(&["@uses:gateway,payments"]);
        let everything = c(&[]);
        let payments_down = c(&["@disrupts:payments", "@uses:gateway,orders"]);
        let broker_down = c(&["@disrupts:rabbitmq", "@uses:orders,email"]);
        let redis_user = c(&["@uses:gateway,redis"]);
        assert!(!user.conflicts(&everything), "users never conflict");
        assert!(payments_down.conflicts(&user));
        assert!(payments_down.conflicts(&everything));
        assert!(
            !payments_down.conflicts(&broker_down),
            "different components overlap"
        );
        assert!(!payments_down.conflicts(&redis_user));
        assert!(broker_down.conflicts(&c(&["@disrupts:orders", "@uses:orders"])));
        assert!(c(&["@serial"]).conflicts(&redis_user));
    }

    #[tokio::test]
    async fn a_disruptor_waits_for_users_and_later_users_wait_for_it() {
        let s = Scheduler::new(16);
        let user = s.acquire(c(&["@uses:payments"])).await;
        let s2 = s.clone();
        let disruptor = tokio::spawn(async move {
            s2.acquire(c(&["@disrupts:payments", "@uses:payments"]))
                .await
        });
        // The disruptor queues first.
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        let s3 = s.clone();
        let late_user = tokio::spawn(async move { s3.acquire(c(&["@uses:payments"])).await });
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
        let s = Scheduler::new(16);
        let broker_down = s
            .acquire(c(&["@disrupts:rabbitmq", "@uses:payments"]))
            .await;
        let s2 = s.clone();
        let user = tokio::spawn(async move { s2.acquire(c(&["@uses:rabbitmq,payments"])).await });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        let s3 = s.clone();
        let payments_down = tokio::spawn(async move {
            s3.acquire(c(&["@disrupts:payments", "@uses:payments"]))
                .await
        });
        while s.lock().waiting.len() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(s.lock().waiting[0].1.disrupts.covers("payments"));
        drop(broker_down);
        let p = tokio::time::timeout(Duration::from_secs(5), payments_down)
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

    #[tokio::test]
    async fn scenarios_go_past_one_a_running_disruptor_keeps_waiting() {
        let s = Scheduler::new(16);
        let broker_down = s
            .acquire(c(&["@disrupts:rabbitmq", "@uses:orders,email"]))
            .await;
        let s2 = s.clone();
        let link_reset = tokio::spawn(async move {
            s2.acquire(c(&["@disrupts:rabbitmq", "@uses:orders,inventory"]))
                .await
        });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        // It conflicts with the link reset queued ahead, not with the broker outage.
        let inventory_down = tokio::time::timeout(
            Duration::from_secs(5),
            s.acquire(c(&["@disrupts:inventory", "@uses:orders"])),
        )
        .await
        .expect("goes past the link reset the broker outage keeps waiting");
        // Once the broker is back only inventory keeps the link reset waiting; a user of
        // both waits for inventory, and then for the link reset queued ahead of it.
        drop(broker_down);
        let s3 = s.clone();
        let user = tokio::spawn(async move { s3.acquire(c(&["@uses:rabbitmq,inventory"])).await });
        tokio::task::yield_now().await;
        assert!(!link_reset.is_finished(), "inventory is still disrupted");
        drop(inventory_down);
        let l = tokio::time::timeout(Duration::from_secs(5), link_reset)
            .await
            .expect("the link reset runs once inventory is back")
            .unwrap();
        assert!(!user.is_finished(), "the user waits for the link reset");
        drop(l);
        tokio::time::timeout(Duration::from_secs(5), user)
            .await
            .expect("then the user")
            .unwrap();
    }

    #[tokio::test]
    async fn a_scenario_gives_back_what_it_no_longer_uses() {
        let s = Scheduler::new(16);
        let broker_down = s
            .acquire(c(&["@disrupts:rabbitmq", "@uses:orders,payments,email"]))
            .await;
        let s2 = s.clone();
        let payments_down = tokio::spawn(async move {
            s2.acquire(c(&["@disrupts:payments", "@uses:gateway,orders"]))
                .await
        });
        while s.lock().waiting.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(
            !payments_down.is_finished(),
            "it waits while payments is used"
        );
        let err = broker_down
            .no_longer_uses(&["rabbitmq".to_string()].into())
            .unwrap_err();
        assert!(err.contains("disrupts rabbitmq"), "{err}");
        assert!(
            broker_down
                .no_longer_uses(&["payment".to_string()].into())
                .is_err()
        );
        broker_down
            .no_longer_uses(&["payments".to_string()].into())
            .unwrap();
        let p = tokio::time::timeout(Duration::from_secs(5), payments_down)
            .await
            .expect("granted once payments was given back")
            .unwrap();
        let s3 = s.clone();
        let orders_down =
            tokio::spawn(async move { s3.acquire(c(&["@disrupts:orders", "@uses:orders"])).await });
        tokio::task::yield_now().await;
        assert!(!orders_down.is_finished(), "orders is still used");
        drop((broker_down, p));
        tokio::time::timeout(Duration::from_secs(5), orders_down)
            .await
            .expect("granted once both ended")
            .unwrap();
        // A scenario that claimed everything gives back all but what it names.
        let everything = s.acquire(c(&[])).await;
        everything
            .no_longer_uses(&["payments".to_string(), "redis".to_string()].into())
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
        let s = Scheduler::new(1);
        let first = s.acquire(c(&["@uses:redis"])).await;
        let s2 = s.clone();
        let second = tokio::spawn(async move { s2.acquire(c(&["@uses:orders"])).await });
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        drop(first);
        tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .expect("granted once the first is released")
            .unwrap();
    }
}
