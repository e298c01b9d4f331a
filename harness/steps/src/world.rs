//! Per-scenario state. Anything a scenario creates is named after its scenario id, so
//! concurrent scenarios on the shared topology never see each other's data.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use qalens_engine::clients::amqp::{self, Outgoing};
use qalens_engine::clients::http::{Call, Target, authorization_of};
use qalens_engine::context::{Run, RunContext};

use crate::StepError;

pub use qalens_engine::clients::{Client, Credentials, Exchange, Mark, Resource, SentLog};

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct QaWorld {
    /// The run the scenario belongs to, handed over by the runner's before hook.
    pub run: Option<Arc<Run>>,
    /// Unique per scenario, e.g. `s3f9a1c2e`; prefixes every name the scenario creates.
    pub scenario_id: String,
    /// The mark every HTTP request of the scenario carries: its trace and a baggage
    /// entry naming [`QaWorld::scenario_id`].
    pub mark: Mark,
    /// The client the scenario acts as.
    pub client: Option<Client>,
    /// The last HTTP exchange, shown when a check fails.
    pub last: Option<Exchange>,
    /// Every exchange of the last batch of requests, in the order they were sent.
    pub batch: Vec<Exchange>,
    /// The id of what the scenario's last domain step was about (a pack sets it, for
    /// example to the id of the resource it created): recorded traffic that names it
    /// belongs to this scenario.
    pub subject: Option<String>,
    /// The last message the scenario published (not counting a pack's sentinels).
    pub message: Option<Outgoing>,
    /// The keys ([`qalens_engine::clients::amqp::KEY_HEADER`]) of the last burst of messages.
    pub burst: Vec<String>,
    /// Every message the scenario published straight into a queue the system file
    /// declares, oldest first: where a failure message looks for them.
    pub queued: Vec<Queued>,
    /// Faults in effect, undone at the end of the scenario.
    pub faults: Vec<qalens_engine::nemesis::Applied>,
    /// Per-scenario state of the packs, one value per type ([`Extensions`]).
    pub ext: Extensions,
    /// Every client of the scenario by the name the feature gave it (`"eve"`), for steps
    /// that act as one of several clients (`When client "eve" ...`).
    pub clients: std::collections::BTreeMap<String, Client>,
    /// The resource the scenario created last with `When client ... creates a resource`.
    pub resource: Option<Resource>,
    /// The last path-rewrite sweep: each route's plain path and each rewrite, with what
    /// it presented and its exchange.
    pub rewrites: RewriteSweep,
    /// The tokens the last scoped route sweep presented, one per exchange of
    /// [`QaWorld::batch`]; empty after any other sweep.
    pub scoped: ScopedSweep,
    /// The components the scenario holds ([`qalens_engine::scheduler`]); released after its
    /// faults are healed.
    pub grant: Option<qalens_engine::scheduler::Grant>,
    /// Every exchange the scenario's calls through the entry point made, oldest first
    /// (recorded by [`qalens_engine::clients::http::Call::send`]), for checks over the whole
    /// scenario such as its responses against an OpenAPI document.
    pub sent: SentLog,
    /// Values earlier steps made for the scenario, by the name that stands for them in
    /// later paths and bodies: `product` is written `{product}` ([`QaWorld::fill`]).
    pub values: std::collections::BTreeMap<String, String>,
    /// The last requests sent at once, with who sent each.
    pub race: Race,
}

/// A message the scenario published straight into a declared queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub queue: String,
    /// Its key ([`qalens_engine::clients::amqp::KEY_HEADER`]).
    pub key: String,
    /// The start of its body, as a failure message shows it.
    pub body: String,
    /// When it was published.
    pub at: std::time::Instant,
    /// The redeliveries the broker had counted from `queue` just before (the management
    /// API's statistics), when the system file declares the management API.
    pub redeliveries_before: Option<u64>,
}

/// The placeholder for the scenario's last message id in paths and bodies
/// ([`QaWorld::fill`]).
pub const MESSAGE_ID: &str = "message_id";

/// `message` with `hint`, if any, as its second line: under the line that says what failed,
/// above the exchanges it shows.
pub fn hinted(message: impl Into<String>, hint: Option<String>) -> String {
    let message = message.into();
    let Some(hint) = hint else {
        return message;
    };
    match message.split_once('\n') {
        Some((first, rest)) => format!("{first}\n{hint}\n{rest}"),
        None => format!("{message}\n{hint}"),
    }
}

/// The last requests a scenario sent at once: the path they were sent to and, for each
/// answer in sending order, the name of the client that sent it.
#[derive(Debug, Default)]
pub struct Race {
    pub path: String,
    pub answers: Vec<(String, Exchange)>,
}

/// The requests of a path-rewrite sweep, in sending order.
#[derive(Debug, Default, Clone)]
pub struct RewriteSweep {
    /// Each route's own path, not rewritten, with the credentials its rewrites present:
    /// a route that lets them through on its plain path has another fault than path
    /// confusion.
    pub controls: Vec<SweepRequest>,
    pub rewrites: Vec<SweepRequest>,
}

/// A route sweep whose token the step chose per route: what each request presented.
#[derive(Debug, Default, Clone)]
pub struct ScopedSweep {
    /// What a 2xx answer shows about the gateway, for the first line of a failure.
    pub fault: &'static str,
    /// For each exchange of the batch: the scope its route needs and the scopes of the
    /// token it presented.
    pub presented: Vec<(String, String)>,
}

/// One request of a path-rewrite sweep.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// What it tried: `a ; suffix`, `dot segments via /limited/fixed`; `its plain path`.
    pub trick: String,
    /// The route it aims at: its method and prefix.
    pub method: String,
    pub route: String,
    /// The scope that route needs (space-separated; empty without a token).
    pub needs: String,
    /// The route it starts under, for a rewrite through another route.
    pub via: Option<String>,
    /// The scope of the token it presented; `None`: it presented no token.
    pub holding: Option<String>,
    pub exchange: Exchange,
}

/// Typed per-scenario state for packs: one value per type, created on first use, dropped
/// with the scenario. Generic code never looks inside.
#[derive(Default)]
pub struct Extensions(HashMap<TypeId, Box<dyn Any + Send + Sync>>);

impl Extensions {
    /// The value of type `T`, created with `T::default()` on first use.
    pub fn get_or_default<T: Default + Send + Sync + 'static>(&mut self) -> &mut T {
        self.0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut::<T>()
            .unwrap_or_else(|| unreachable!("the map is keyed by type"))
    }

    /// The value of type `T`, if a step created it.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref::<T>()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Extensions({} value(s))", self.0.len())
    }
}

impl Default for QaWorld {
    fn default() -> Self {
        Self::new()
    }
}

impl QaWorld {
    pub fn new() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let scenario_id = format!("s{}", &id[..8]);
        Self {
            run: None,
            mark: Mark::new(&scenario_id),
            scenario_id,
            client: None,
            last: None,
            batch: vec![],
            subject: None,
            message: None,
            burst: vec![],
            queued: vec![],
            faults: vec![],
            ext: Extensions::default(),
            clients: Default::default(),
            resource: None,
            rewrites: RewriteSweep::default(),
            scoped: ScopedSweep::default(),
            grant: None,
            sent: SentLog::default(),
            values: Default::default(),
            race: Default::default(),
        }
    }

    /// `text` with every `{name}` of [`QaWorld::values`] replaced by its value.
    pub fn fill(&self, text: &str) -> String {
        self.values
            .iter()
            .fold(text.to_string(), |t, (name, value)| {
                t.replace(&format!("{{{name}}}"), value)
            })
    }

    /// `text` filled in for a message about to be published with `message_id`:
    /// `{message_id}` is that message's own id, the other placeholders as in
    /// [`QaWorld::fill`].
    pub fn fill_for_message(&self, text: &str, message_id: &str) -> String {
        self.fill(&text.replace(&format!("{{{MESSAGE_ID}}}"), message_id))
    }

    /// `name` made unique to this scenario.
    pub fn scoped(&self, name: &str) -> String {
        format!("{name}-{}", self.scenario_id)
    }

    /// The client, or an error telling the writer which step to add.
    pub fn client(&self) -> Result<&Client, StepError> {
        self.client.as_ref().ok_or(StepError::NoClient)
    }

    /// The last exchange, for failure messages.
    pub fn last_exchange(&self) -> String {
        match &self.last {
            Some(e) => format!("last HTTP exchange:\n{e}"),
            None => "no HTTP exchange yet".into(),
        }
    }

    /// The run the scenario belongs to.
    pub fn run(&self) -> Result<Arc<Run>, StepError> {
        self.run.clone().ok_or(StepError::NoRun)
    }

    /// The run's context as it is now.
    pub fn ctx(&self) -> Result<Arc<RunContext>, StepError> {
        Ok(self.run()?.context())
    }

    /// The Authorization header value the scenario's client presents, if any (see
    /// [`authorization_of`]).
    pub fn authorization(&self) -> Result<Option<String>, StepError> {
        match &self.client {
            Some(client) => Ok(authorization_of(&*self.ctx()?, client)?),
            None => Ok(None),
        }
    }

    /// When a request of `batch` sent with `client`'s valid token (a positive control) got
    /// 401: what to check in x-qalens.identity, naming what the token carried
    /// ([`qalens_engine::tokens::Issuer::refused_hint`]). `None` for any other answer or
    /// credentials.
    pub fn refused_hint(&self, client: Option<&Client>, batch: &[Exchange]) -> Option<String> {
        let client = client.filter(|c| c.credentials == Credentials::Valid)?;
        batch.iter().find(|e| e.status == 401)?;
        let ctx = self.ctx().ok()?;
        let authorization = authorization_of(&ctx, client).ok()??;
        ctx.endpoints.identity.refused_hint(&authorization)
    }

    /// A call as the scenario's client (its credentials included) with its mark,
    /// recorded in [`QaWorld::sent`] when it goes to the entry point. `{name}`
    /// placeholders of [`QaWorld::values`] in `path` are filled in (`{message_id}`,
    /// `{product}`).
    pub fn call(&self, method: &str, target: Target, path: &str) -> Result<Call, StepError> {
        Ok(Call::with_authorization(
            &*self.ctx()?,
            self.authorization()?,
            &self.sent,
            &self.mark,
            method,
            target,
            &self.fill(path),
        )?)
    }

    /// Sends `call` and records it as the last exchange and a batch of one.
    pub async fn send_one(&mut self, call: Call) -> Result<(), StepError> {
        let ex = call.send().await?;
        self.batch = vec![ex.clone()];
        self.last = Some(ex);
        Ok(())
    }

    /// Publishes `msg` and makes it the scenario's last message: `{message_id}` stands
    /// for its message id in later paths and bodies.
    pub async fn publish_as_last(&mut self, msg: Outgoing) -> Result<(), StepError> {
        amqp::publish(&*self.ctx()?, &msg).await?;
        self.remember_last(msg);
        Ok(())
    }

    /// Makes `msg` (published) the scenario's last message.
    pub fn remember_last(&mut self, msg: Outgoing) {
        match &msg.message_id {
            Some(id) => self.values.insert(MESSAGE_ID.into(), id.clone()),
            None => self.values.remove(MESSAGE_ID),
        };
        self.message = Some(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_message_id_fills_later_paths_and_bodies() {
        let mut world = QaWorld::new();
        // Before any message, the placeholder stays as written.
        assert_eq!(world.fill("/ledger/{message_id}"), "/ledger/{message_id}");
        let msg = Outgoing::json("", "jobs", "m-1", b"job m-1".to_vec());
        world.remember_last(msg.clone());
        assert_eq!(world.fill("/ledger/jobs/{message_id}"), "/ledger/jobs/m-1");
        assert_eq!(
            world.fill(r#"{"ref": "{message_id}"}"#),
            r#"{"ref": "m-1"}"#
        );
        // A message about to be published sees its own id, not the last one's.
        assert_eq!(world.fill_for_message("job {message_id}", "m-2"), "job m-2");
        // One published without a message id leaves none to stand in.
        world.remember_last(Outgoing {
            message_id: None,
            ..msg
        });
        assert_eq!(world.fill("/ledger/{message_id}"), "/ledger/{message_id}");
    }

    #[test]
    fn a_hint_goes_under_the_first_line_of_a_message() {
        let hint = || Some("check x-qalens.identity".to_string());
        assert_eq!(
            hinted("request 1 of 5 answered 401\nGET /x", hint()),
            "request 1 of 5 answered 401\ncheck x-qalens.identity\nGET /x"
        );
        assert_eq!(hinted("401", hint()), "401\ncheck x-qalens.identity");
        assert_eq!(hinted("401\nGET /x", None), "401\nGET /x");
    }
}
