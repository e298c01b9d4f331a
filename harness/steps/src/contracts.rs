//! Contracts inside end-to-end scenarios, against the run's registry
//! ([`qalens_engine::checks::registry`]: the system file's `x-qalens.contracts`, or the one an
//! enabled pack bundles): the requests a service sent over a link (as its fault proxy
//! recorded them), a message contract's example published without a required field, and
//! the scenario's responses checked against the OpenAPI document `x-qalens.contracts`
//! names.

use contract_tools::schema::{Contract, Kind};
use cucumber::{then, when};

use super::StepResult;
use crate::StepError;
use crate::world::{Exchange, QaWorld};
use qalens_engine::checks::exchange::header;
use qalens_engine::checks::{contract, fresh_example, openapi, publish_example, registry};
use qalens_engine::clients::inspect::get_json;
use qalens_engine::context::RunContext;
use qalens_engine::nemesis::link_url;
use qalens_proxy::recorder::Recorded;

/// Every request the proxy on the link from `from` to `to` recorded, oldest first.
async fn recorded(ctx: &RunContext, from: &str, to: &str) -> Result<Vec<Recorded>, StepError> {
    let (name, url) = link_url(ctx, from, to)?;
    get_json(ctx, format!("{url}/internal/requests"))
        .await
        .map_err(|e| format!("reading what the proxy on {name} recorded: {e}").into())
}

/// Whether `r` was sent for this scenario: it names the scenario's subject
/// ([`QaWorld::subject`], in its path or body) or, for header contracts, carries the
/// client's id.
fn belongs(r: &Recorded, subject: Option<&str>, client: Option<&str>) -> bool {
    let by_subject = subject.is_some_and(|id| r.path.contains(id) || r.body.contains(id));
    let by_client = client.is_some_and(|c| r.headers.get("x-client-id").is_some_and(|v| v == c));
    by_subject || by_client
}

/// Checks one recorded request against `c`; the violations as text.
fn check_request(c: &Contract, r: &Recorded) -> Result<(), StepError> {
    let missing: Vec<&String> = c
        .required_headers
        .iter()
        .filter(|h| !r.headers.contains_key(h.as_str()))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing required header(s) {missing:?}").into());
    }
    let instance = match c.kind {
        Kind::Headers => serde_json::to_value(&r.headers).map_err(|e| e.to_string())?,
        _ => serde_json::from_str(&r.body).map_err(|e| format!("the body is not JSON: {e}"))?,
    };
    c.validate(&instance).map_err(|v| v.to_string().into())
}

#[then(regex = r"^the request (?:the )?(\S+) sent to (\S+) conforms to contract (\S+) v(\d+)$")]
async fn request_conforms(
    world: &mut QaWorld,
    from: String,
    to: String,
    name: String,
    version: u32,
) -> StepResult {
    let ctx = world.ctx()?;
    let c = contract(&ctx, &name, version)?;
    let c = &c;
    let registry = registry(&ctx)?;
    let subject = world.subject.clone();
    let subject = subject.as_deref();
    let client = world.client.as_ref().map(|c| c.id.clone());
    let all = recorded(&ctx, &from, &to).await?;
    let mine: Vec<&Recorded> = all
        .iter()
        .filter(|r| belongs(r, subject, client.as_deref()))
        .filter(|r| match c.kind {
            Kind::Headers => true,
            _ => registry
                .request_for(&r.method, &r.path)
                .is_some_and(|found| found.name == c.name && found.version == c.version),
        })
        .collect();
    if mine.is_empty() {
        let endpoints: Vec<String> = c
            .endpoints
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect();
        let theirs: Vec<String> = all
            .iter()
            .filter(|r| belongs(r, subject, client.as_deref()))
            .map(ToString::to_string)
            .collect();
        return Err(format!(
            "{from} sent {to} no request for this scenario that {} governs ({}); it sent: {}",
            c.id(),
            endpoints.join(", "),
            if theirs.is_empty() {
                "nothing".to_string()
            } else {
                theirs.join("; ")
            }
        )
        .into());
    }
    let failures: Vec<String> = mine
        .iter()
        .filter_map(|r| check_request(c, r).err().map(|e| format!("{r}\n  {e}")))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} request(s) from {from} to {to} break {}:\n{}",
            failures.len(),
            mine.len(),
            c.id(),
            failures.join("\n")
        )
        .into())
    }
}

#[when(
    expr = "the first example of contract {word} v{int} is published for the client without its {string} field"
)]
async fn publish_broken_example(
    world: &mut QaWorld,
    name: String,
    version: u32,
    field: String,
) -> StepResult {
    let ctx = world.ctx()?;
    let c = &contract(&ctx, &name, version)?;
    let customer = world.client()?.id.clone();
    let example = c
        .examples
        .first()
        .ok_or_else(|| format!("{} has no example", c.id()))?;
    let mut body = fresh_example(example, &customer);
    let removed = body.as_object_mut().and_then(|o| o.remove(&field));
    if removed.is_none() {
        return Err(format!("the example of {} has no field {field:?}", c.id()).into());
    }
    if c.validate(&body).is_ok() {
        return Err(format!(
            "without {field:?} the example still satisfies {}: pick a required field",
            c.id()
        )
        .into());
    }
    let msg = publish_example(&ctx, c, &body).await?;
    world.remember_last(msg);
    Ok(())
}

/// Checks each exchange's response against the run's OpenAPI document: the operation
/// (method and path template), the status, the media type and the JSON body.
fn conform_to_openapi(ctx: &RunContext, exchanges: &[Exchange]) -> StepResult {
    let doc = openapi(ctx)?;
    if exchanges.is_empty() {
        return Err("the scenario has sent no request to check yet".into());
    }
    let failures: Vec<String> = exchanges
        .iter()
        .filter_map(|e| {
            doc.check_response(
                &e.method,
                &e.url,
                e.status,
                header(e, "content-type"),
                &e.body,
            )
            .err()
            .map(|m| format!("{m}\n{e}"))
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} response(s) break {}:\n{}",
            failures.len(),
            exchanges.len(),
            doc.path.display(),
            failures.join("\n")
        )
        .into())
    }
}

#[then(expr = "the response conforms to the OpenAPI document")]
async fn response_conforms_to_openapi(world: &mut QaWorld) -> StepResult {
    conform_to_openapi(&*world.ctx()?, world.last.as_slice())
}

#[then(expr = "every response of the scenario conforms to the OpenAPI document")]
async fn every_response_conforms_to_openapi(world: &mut QaWorld) -> StepResult {
    let sent = world.sent.lock().unwrap_or_else(|e| e.into_inner()).clone();
    conform_to_openapi(&*world.ctx()?, &sent)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn recorded_requests_belong_by_subject_or_client() {
        let id = uuid::Uuid::now_v7();
        let r = Recorded {
            seq: 1,
            method: "POST".into(),
            path: "/ledger/entries".into(),
            headers: BTreeMap::from([("x-client-id".into(), "bob".into())]),
            body: format!(r#"{{"order_id":"{id}"}}"#),
        };
        let id = id.to_string();
        assert!(belongs(&r, Some(&id), None));
        assert!(belongs(&r, None, Some("bob")));
        let other = uuid::Uuid::now_v7().to_string();
        assert!(!belongs(&r, Some(&other), Some("alice")));
    }
}
