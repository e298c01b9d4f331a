//! Security lenses, phrased in HTTP terms so they work on any system behind a gateway:
//!
//! - object-level authorization: a resource one client created is not readable (nor
//!   changeable) by another client, while its owner still can;
//! - identity binding: a request whose body or query names another principal than its
//!   token is refused;
//! - path confusion: raw-path rewrites of every route in the gateway's route table (dot
//!   segments toward another route, encoded slashes and dots, doubled slashes, case
//!   changes, `;` suffixes, backslashes, NUL) never reach a route whose scope the token
//!   lacks and never answer 2xx without a token. They are written to the socket byte for
//!   byte ([`send_raw`](qalens_engine::clients::raw::send_raw)): an HTTP client library would normalise `..` and `\` away
//!   before they reach the system (the tests below show reqwest doing it);
//! - token expiry: the credential step `the client presents a token that expired N
//!   seconds ago` lives in `identity.rs`.

use std::time::Duration;

use cucumber::gherkin::Step;
use cucumber::{then, when};

use super::StepResult;
use crate::StepError;
use crate::world::{Client, Exchange, QaWorld, Resource, hinted};
use qalens_engine::checks::exchange::{created, header};
use qalens_engine::clients::http::{Call, Target};

/// Placeholder in paths and bodies for the id (token subject) of the client a step names.
const CLIENT: &str = "{client}";
/// Placeholder in paths for the id of the resource created last.
const ID: &str = "{id}";

/// The client the feature called `name`, with its latest credentials.
fn named(world: &QaWorld, name: &str) -> Result<Client, StepError> {
    let client = world.clients.get(name).cloned().ok_or_else(|| {
        format!("no client {name:?} in this scenario: add `Given a free client \"{name}\"`")
    })?;
    // A credential or scope step changed the current client after it was named.
    Ok(match &world.client {
        Some(current) if current.id == client.id => current.clone(),
        _ => client,
    })
}

/// Sends `method path` (and `body`, as JSON, and one extra `header`) through the front
/// door as client `name`, and records the exchange as the last one.
async fn send_as(
    world: &mut QaWorld,
    name: &str,
    method: &str,
    path: &str,
    body: Option<String>,
    header: Option<(&str, &str)>,
) -> Result<Exchange, StepError> {
    let mut call = call_as(world, name, method, path)?;
    if let Some((h, v)) = header {
        call = call.header(h, v);
    }
    if let Some(b) = body {
        // `{message_id}` and the other values earlier steps made.
        call.body = Some(world.fill(&b));
        call = call.header("content-type", "application/json");
    }
    let ex = call.send().await?;
    world.batch = vec![ex.clone()];
    world.last = Some(ex.clone());
    Ok(ex)
}

/// `method path` through the front door as client `name`, not sent yet.
fn call_as(world: &mut QaWorld, name: &str, method: &str, path: &str) -> Result<Call, StepError> {
    let client = named(world, name)?;
    let saved = world.client.replace(client);
    let call = world.call(method, Target::FrontDoor, path);
    world.client = saved;
    call
}

fn docstring(step: &Step) -> Result<String, StepError> {
    step.docstring
        .clone()
        .map(|d| d.trim().to_string())
        .ok_or_else(|| {
            "this step needs the request body as a doc string (\"\"\" ... \"\"\")".into()
        })
}

/// Sends, as client `name`, the step's doc string to `path` (with one extra `header`),
/// with `{client}` in both replaced by the client id `named`.
async fn send_naming(
    world: &mut QaWorld,
    step: &Step,
    name: &str,
    method: &str,
    path: &str,
    named: &str,
    header: Option<(&str, &str)>,
) -> Result<Exchange, StepError> {
    let body = docstring(step)?.replace(CLIENT, named);
    let path = path.replace(CLIENT, named);
    send_as(world, name, method, &path, Some(body), header).await
}

/// As [`send_naming`] with the client's own id, and one extra header whose value is
/// made unique to the scenario (as client names are): an idempotency key new in every
/// run and the same for every client of one scenario.
async fn send_own_with_header(
    world: &mut QaWorld,
    step: &Step,
    name: &str,
    method: &str,
    path: &str,
    (header, value): (&str, &str),
) -> Result<Exchange, StepError> {
    let id = named(world, name)?.id;
    let value = world.scoped(value);
    send_naming(world, step, name, method, path, &id, Some((header, &value))).await
}

#[when(expr = "client {string} creates a resource with {word} {string} and the body:")]
async fn creates(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    let id = named(world, &name)?.id;
    let ex = send_naming(world, step, &name, &method, &path, &id, None).await?;
    remember_created(world, &name, &path, &ex)
}

/// Keeps what client `name` created with `path` as the scenario's resource, or fails
/// unless the answer was 2xx.
fn remember_created(world: &mut QaWorld, name: &str, path: &str, ex: &Exchange) -> StepResult {
    if !(200..300).contains(&ex.status) {
        return Err(StepError::expected_of(
            format!("client {name:?} to create a resource (2xx)"),
            ex.status.to_string(),
            ex,
        ));
    }
    world.resource = Some(created(path, ex)?);
    Ok(())
}

/// As [`creates`], with one extra header whose value is unique to the scenario
/// ([`send_own_with_header`]).
#[when(
    expr = "client {string} creates a resource with {word} {string}, the header {string} set to {string}, and the body:"
)]
async fn creates_with_header(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
    header: String,
    value: String,
) -> StepResult {
    let header = (header.as_str(), value.as_str());
    let ex = send_own_with_header(world, step, &name, &method, &path, header).await?;
    remember_created(world, &name, &path, &ex)
}

/// Sends, as client `name`, the doc string as JSON body (`{client}` becomes the client's
/// own id) with one extra header, its value made unique to the scenario as in
/// [`creates_with_header`]: the same key another client of the scenario used.
#[when(
    expr = "client {string} sends {word} {string}, the header {string} set to {string}, and the body:"
)]
async fn sends_with_header(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
    header: String,
    value: String,
) -> StepResult {
    let header = (header.as_str(), value.as_str());
    send_own_with_header(world, step, &name, &method, &path, header).await?;
    Ok(())
}

/// Whether `ex` hands out `resource`: its id in the body or in a `Location` header.
fn reveals(ex: &Exchange, resource: &Resource) -> bool {
    // `created` never keeps an empty id, which every body would "contain".
    ex.body.contains(&resource.id)
        || header(ex, "location").is_some_and(|l| l.contains(&resource.id))
}

/// The last response, whatever its status, does not hand out the created resource: a
/// refusal, or a resource of the sender's own.
#[then(expr = "the response does not reveal the resource")]
async fn does_not_reveal(world: &mut QaWorld) -> StepResult {
    let resource = world
        .resource
        .as_ref()
        .ok_or("no resource was created before this step")?;
    let last = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    if reveals(last, resource) {
        Err(format!(
            "the response hands out another client's resource {}\n{}",
            resource.path,
            world.last_exchange()
        )
        .into())
    } else {
        Ok(())
    }
}

/// `path` with `{id}` replaced by the created resource's id, or the resource itself. A
/// path without `{id}` needs no resource: it is any path of the system.
fn resource_path(world: &QaWorld, path: Option<&str>) -> Result<String, StepError> {
    if let Some(p) = path
        && !p.contains(ID)
    {
        return Ok(p.to_string());
    }
    let resource = world.resource.as_ref().ok_or(
        "no resource was created before this step: start with `When client \"a\" creates a resource with POST ...`",
    )?;
    Ok(match path {
        Some(p) => p.replace(ID, &resource.id),
        None => resource.path.clone(),
    })
}

async fn can(world: &mut QaWorld, name: &str, method: &str, path: Option<&str>) -> StepResult {
    let path = resource_path(world, path)?;
    let ex = send_as(world, name, method, &path, None, None).await?;
    if (200..300).contains(&ex.status) {
        return Ok(());
    }
    let client = named(world, name)?;
    let hint = world.refused_hint(Some(&client), std::slice::from_ref(&ex));
    Err(StepError::expected_of(
        format!("client {name:?} to be allowed {method} {path} (2xx)"),
        hinted(ex.status.to_string(), hint),
        &ex,
    ))
}

/// Statuses that refuse a client another client's resource: 404 (preferred: it does not
/// even reveal that the resource exists) or 403; 405 too for a method other than GET.
fn refused(method: &str, status: u16) -> bool {
    matches!(status, 403 | 404) || (status == 405 && method != "GET")
}

async fn cannot(world: &mut QaWorld, name: &str, method: &str, path: Option<&str>) -> StepResult {
    let path = resource_path(world, path)?;
    let ex = send_as(world, name, method, &path, None, None).await?;
    if refused(method, ex.status) {
        Ok(())
    } else {
        Err(StepError::expected_of(
            format!("client {name:?} to be refused {method} {path} (404 or 403)"),
            ex.status.to_string(),
            &ex,
        ))
    }
}

#[then(expr = "client {string} can {word} it")]
async fn can_it(world: &mut QaWorld, name: String, method: String) -> StepResult {
    can(world, &name, &method, None).await
}

#[then(expr = "client {string} can {word} {string}")]
async fn can_path(world: &mut QaWorld, name: String, method: String, path: String) -> StepResult {
    can(world, &name, &method, Some(&path)).await
}

/// Waits until `name` gets a 2xx for `method path`, for resources another part of the
/// system creates in the background (a charge made by the order's saga).
#[then(expr = "within {int} seconds client {string} can {word} {string}")]
async fn can_path_within(
    world: &mut QaWorld,
    seconds: u64,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    let path = resource_path(world, Some(&path))?;
    let call = call_as(world, &name, &method, &path)?;
    let outcome = qalens_engine::wait::until(Duration::from_secs(seconds), || {
        let call = call.clone();
        async move {
            let ex = call.send().await.map_err(|e| e.to_string())?;
            if (200..300).contains(&ex.status) {
                Ok(Some(ex))
            } else {
                Err(format!("{}\n{ex}", ex.status))
            }
        }
    })
    .await;
    match outcome {
        Ok(ex) => {
            world.batch = vec![ex.clone()];
            world.last = Some(ex);
            Ok(())
        }
        Err(waited) => Err(waited
            .map(|last| {
                format!(
                    "expected client {name:?} to be allowed {method} {path} (2xx) within {seconds} s, last saw {last}"
                )
            })
            .into()),
    }
}

#[then(expr = "client {string} cannot {word} it")]
async fn cannot_it(world: &mut QaWorld, name: String, method: String) -> StepResult {
    cannot(world, &name, &method, None).await
}

#[then(expr = "client {string} cannot {word} {string}")]
async fn cannot_path(
    world: &mut QaWorld,
    name: String,
    method: String,
    path: String,
) -> StepResult {
    cannot(world, &name, &method, Some(&path)).await
}

/// An id of the same shape as `id` that no resource has.
fn missing_id(id: &str) -> String {
    match uuid::Uuid::parse_str(id) {
        Ok(_) => uuid::Uuid::new_v4().to_string(),
        Err(_) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            format!("9{}", "0".repeat(id.len().min(17)))
        }
        Err(_) => format!("{id}-missing"),
    }
}

#[then(expr = "to client {string} it looks like a resource that does not exist")]
async fn looks_missing(world: &mut QaWorld, name: String) -> StepResult {
    let resource = world
        .resource
        .clone()
        .ok_or("no resource was created before this step")?;
    let other = missing_id(&resource.id);
    let missing_path = resource.path.replace(&resource.id, &other);
    let missing = send_as(world, &name, "GET", &missing_path, None, None).await?;
    let theirs = send_as(world, &name, "GET", &resource.path, None, None).await?;
    let same_body =
        theirs.body.replace(&resource.id, "{id}") == missing.body.replace(&other, "{id}");
    if refused("GET", theirs.status) && theirs.status == missing.status && same_body {
        Ok(())
    } else {
        Err(format!(
            "expected client {name:?} to get the same refusal for another client's resource as for one that does not exist (status and body, ids aside)\nanother client's resource:\n{theirs}\na resource that does not exist:\n{missing}"
        ).into())
    }
}

#[when(expr = "client {string} sends {word} {string} naming client {string}")]
async fn sends_naming(
    world: &mut QaWorld,
    name: String,
    method: String,
    path: String,
    other: String,
) -> StepResult {
    let other = named(world, &other)?.id;
    send_as(
        world,
        &name,
        &method,
        &path.replace(CLIENT, &other),
        None,
        None,
    )
    .await?;
    Ok(())
}

#[when(expr = "client {string} sends {word} {string} with a body naming client {string}:")]
async fn sends_body_naming(
    world: &mut QaWorld,
    step: &Step,
    name: String,
    method: String,
    path: String,
    other: String,
) -> StepResult {
    let other = named(world, &other)?.id;
    send_naming(world, step, &name, &method, &path, &other, None).await?;
    Ok(())
}

#[then(expr = "the request was refused with a 4xx status and created nothing")]
async fn refused_4xx(world: &mut QaWorld) -> StepResult {
    let last = world
        .last
        .as_ref()
        .ok_or("no request was sent before this step")?;
    if !(400..500).contains(&last.status) {
        return Err(StepError::expected_after(
            "a 4xx refusal",
            last.status.to_string(),
            world.last.as_ref(),
        ));
    }
    if let Some(location) = header(last, "location") {
        return Err(format!(
            "the refusal points at a created resource (Location: {location})\n{}",
            world.last_exchange()
        )
        .into());
    }
    Ok(())
}

mod paths;

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    #[test]
    fn only_a_path_with_an_id_needs_a_created_resource() {
        let mut world = QaWorld::new();
        assert_eq!(
            resource_path(&world, Some("/ledger/jobs/42")).unwrap(),
            "/ledger/jobs/42"
        );
        let e = resource_path(&world, Some("/carts/{id}")).unwrap_err();
        assert!(e.to_string().contains("no resource was created"), "{e}");
        assert!(resource_path(&world, None).is_err());
        world.resource = Some(Resource {
            path: "/carts/7".into(),
            id: "7".into(),
        });
        assert_eq!(
            resource_path(&world, Some("/carts/{id}/summary")).unwrap(),
            "/carts/7/summary"
        );
        assert_eq!(resource_path(&world, None).unwrap(), "/carts/7");
    }

    #[test]
    fn missing_ids_keep_the_shape() {
        let id = uuid::Uuid::new_v4().to_string();
        assert!(uuid::Uuid::parse_str(&missing_id(&id)).is_ok());
        assert_ne!(missing_id(&id), id);
        assert_eq!(missing_id("42"), "900");
        assert_eq!(missing_id("abc"), "abc-missing");
    }

    #[test]
    fn locations_and_ids_name_the_created_resource() {
        let ex = |headers: Vec<(String, String)>, body: &str| Exchange {
            method: "POST".into(),
            url: "http://x/carts".into(),
            request_body: None,
            status: 201,
            headers,
            body: body.into(),
            elapsed: Duration::ZERO,
            sent_at: Instant::now(),
        };
        let r = created("/carts", &ex(vec![], r#"{"id":"abc"}"#)).unwrap();
        assert_eq!((r.path.as_str(), r.id.as_str()), ("/carts/abc", "abc"));
        let r = created(
            "/carts",
            &ex(
                vec![("location".into(), "http://h:1/things/7".into())],
                "{}",
            ),
        )
        .unwrap();
        assert_eq!((r.path.as_str(), r.id.as_str()), ("/things/7", "7"));
        assert!(created("/carts", &ex(vec![], "{}")).is_err());
    }
}
