//! Cross-references: every service a key names exists and declares the port it is reached
//! on, every file the section names exists, and each part says one consistent thing.

use super::error::{ErrorKind, SystemError};
use super::qalens::{JwtAlg, Routes, ServicePort};
use super::{Condition, System};

struct Checker<'a> {
    system: &'a System,
}

type Check = Result<(), SystemError>;

impl Checker<'_> {
    fn error(&self, kind: ErrorKind) -> SystemError {
        SystemError::new(&self.system.file, kind)
    }

    fn unknown(&self, name: &str) -> ErrorKind {
        ErrorKind::UnknownService {
            name: name.to_string(),
            known: self.system.service_names(),
        }
    }

    /// `name` is a service of the file.
    fn service(&self, key: &str, name: &str) -> Check {
        if self.system.services.contains_key(name) {
            Ok(())
        } else {
            Err(self.error(self.unknown(name)).key(key))
        }
    }

    /// The service exists and declares the port in `ports` or `expose`.
    fn port(&self, key: &str, sp: &ServicePort) -> Check {
        self.service(key, &sp.service)?;
        if self.system.services[&sp.service].ports.contains(&sp.port) {
            Ok(())
        } else {
            Err(self
                .error(ErrorKind::Invalid(format!(
                    "{sp}: service {:?} does not declare port {} in `ports` or `expose`",
                    sp.service, sp.port
                )))
                .key(key))
        }
    }

    fn file(&self, key: &str, path: &std::path::Path, what: &str) -> Check {
        let full = self.system.dir.join(path);
        if full.exists() {
            Ok(())
        } else {
            Err(self
                .error(ErrorKind::Invalid(format!(
                    "{what} {} does not exist",
                    full.display()
                )))
                .key(key))
        }
    }

    fn invalid(&self, key: &str, msg: impl Into<String>) -> SystemError {
        self.error(ErrorKind::Invalid(msg.into())).key(key)
    }
}

pub(super) fn check(system: &System) -> Check {
    let c = Checker { system };
    let q = &system.qalens;
    for (name, s) in &system.services {
        for (dep, condition) in &s.depends_on {
            let key = format!("depends_on.{dep}");
            if !system.services.contains_key(dep) {
                return Err(c.error(c.unknown(dep)).service(name).key(key));
            }
            let has_ready = system.services[dep].healthcheck.is_some() || q.ready.contains_key(dep);
            if *condition == Condition::Healthy && !has_ready {
                return Err(c
                    .error(ErrorKind::Invalid(format!(
                        "service_healthy needs a ready check on {dep:?}: a `healthcheck` or \
                         an `x-qalens.ready.{dep}` log line"
                    )))
                    .service(name)
                    .key(key));
            }
        }
    }
    if let Some(cycle) = dependency_cycle(system) {
        return Err(c
            .invalid(
                &format!("depends_on.{}", cycle[1]),
                format!("depends_on has a cycle: {}", cycle.join(" -> ")),
            )
            .service(&cycle[0]));
    }
    if let Some(entry) = &q.entry {
        c.port("x-qalens.entry", entry)?;
    }
    if let Some(g) = &q.gateway {
        c.port(
            "x-qalens.gateway",
            &ServicePort {
                service: g.service.clone(),
                port: g.port,
            },
        )?;
    }
    if let Some(b) = &q.broker {
        let at = |port| ServicePort {
            service: b.service.clone(),
            port,
        };
        c.port("x-qalens.broker.port", &at(b.port))?;
        if let Some(m) = b.management_port {
            c.port("x-qalens.broker.management_port", &at(m))?;
        }
        if !b.amqp.contains("{host}") || !b.amqp.contains("{port}") {
            return Err(c.invalid(
                "x-qalens.broker.amqp",
                "the AMQP URL needs {host} and {port}",
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, queue) in b.queues.iter().enumerate() {
            if !names.insert(&queue.name) {
                return Err(c.invalid(
                    &format!("x-qalens.broker.queues[{i}].name"),
                    format!("queue {:?} is declared twice", queue.name),
                ));
            }
        }
    }
    let mut link_names = std::collections::BTreeSet::new();
    for (i, link) in q.links.iter().enumerate() {
        let key = format!("x-qalens.links[{i}]");
        c.service(&format!("{key}.from"), &link.from)?;
        c.port(&format!("{key}.to"), &link.to)?;
        if !link_names.insert(link.name()) {
            return Err(c.invalid(&key, format!("link {} is declared twice", link.name())));
        }
        let target = link.to.to_string();
        match system.services[&link.from].environment.get(&link.rewire) {
            Some(v) if v.contains(&target) => {}
            Some(v) => {
                return Err(c.invalid(
                    &format!("{key}.rewire"),
                    format!(
                        "{}'s {} is {v:?}, which does not contain {target}: qalens rewires \
                         the link by replacing {target} in it with the proxy's address",
                        link.from, link.rewire
                    ),
                ));
            }
            None => {
                return Err(c.invalid(
                    &format!("{key}.rewire"),
                    format!(
                        "service {:?} has no environment variable {}",
                        link.from, link.rewire
                    ),
                ));
            }
        }
    }
    for (i, limit) in q.rate_limits.iter().enumerate() {
        let key = format!("x-qalens.rate_limits[{i}]");
        if let Some(s) = &limit.shared_across {
            c.service(&format!("{key}.shared_across"), s)?;
        }
        if limit.limit.value().is_none() {
            return Err(c.invalid(&format!("{key}.limit"), "the limit must be a whole number"));
        }
        if super::parse_duration(&limit.window).is_none() {
            return Err(c.invalid(
                &format!("{key}.window"),
                format!("{:?} is not a duration like 60s or 1m", limit.window),
            ));
        }
        check_route(&limit.route).map_err(|e| c.invalid(&format!("{key}.route"), e))?;
    }
    if let Some(hooks) = &q.hooks {
        if let Some(d) = &hooks.defects {
            for (i, s) in d.services.iter().enumerate() {
                let key = format!("x-qalens.hooks.defects.services[{i}]");
                c.port(
                    &key,
                    &ServicePort {
                        service: s.clone(),
                        port: d.port,
                    },
                )?;
            }
        }
        for (i, sp) in hooks.inspection.iter().enumerate() {
            c.port(&format!("x-qalens.hooks.inspection[{i}]"), sp)?;
        }
    }
    for service in q.ready.keys() {
        c.service(&format!("x-qalens.ready.{service}"), service)?;
    }
    if let Some(id) = &q.identity {
        let given = [id.jwt.is_some(), id.token.is_some(), id.command.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(c.invalid(
                "x-qalens.identity",
                "give exactly one of jwt, token or command",
            ));
        }
        if let Some(jwt) = &id.jwt {
            match (jwt.alg, &jwt.secret, &jwt.private_key) {
                (JwtAlg::HS256, Some(s), None) if !s.is_empty() => {}
                (JwtAlg::HS256, _, _) => {
                    return Err(c.invalid(
                        "x-qalens.identity.jwt",
                        "HS256 needs a non-empty `secret` and no `private_key`",
                    ));
                }
                (_, None, Some(key)) => {
                    c.file("x-qalens.identity.jwt.private_key", key, "private key")?;
                    // The key must be one the algorithm signs with, before anything starts.
                    crate::tokens::Issuer::from_system(Some(id), &c.system.dir, &c.system.file)
                        .map_err(|e| c.invalid("x-qalens.identity.jwt.private_key", e))?;
                }
                (alg, _, _) => {
                    return Err(c.invalid(
                        "x-qalens.identity.jwt",
                        format!("{alg:?} needs a `private_key` file and no `secret`"),
                    ));
                }
            }
        }
        if id.command.as_ref().is_some_and(Vec::is_empty) {
            return Err(c.invalid("x-qalens.identity.command", "the command is empty"));
        }
    }
    match &q.routes {
        Some(Routes::OpenApi(o)) => {
            c.file("x-qalens.routes.openapi", &o.openapi, "OpenAPI document")?
        }
        Some(Routes::List(routes)) => {
            for (i, r) in routes.iter().enumerate() {
                check_route(&format!("{} {}", r.method, r.path))
                    .map_err(|e| c.invalid(&format!("x-qalens.routes[{i}]"), e))?;
            }
        }
        None => {}
    }
    if let Some(path) = &q.contracts {
        let full = c.system.dir.join(path);
        if full.is_file() {
            // An OpenAPI document: it must load, every $ref resolve, every schema compile.
            contract_tools::openapi::OpenApi::load(&full)
                .map_err(|e| c.invalid("x-qalens.contracts", e.to_string()))?;
        } else if path
            .extension()
            .is_some_and(|e| ["yaml", "yml", "json"].contains(&&*e.to_string_lossy()))
        {
            c.file("x-qalens.contracts", path, "OpenAPI document")?;
        } else {
            c.file(
                "x-qalens.contracts",
                &path.join("index.json"),
                "contracts index",
            )?;
        }
    }
    Ok(())
}

/// A `depends_on` cycle (`a -> b -> a`), if there is one: nothing in it could start.
fn dependency_cycle(system: &System) -> Option<Vec<String>> {
    fn visit<'a>(
        system: &'a System,
        name: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == name) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if !done.insert(name) {
            return None;
        }
        path.push(name);
        for (dep, _) in &system.services.get(name)?.depends_on {
            if let Some(cycle) = visit(system, dep, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = std::collections::BTreeSet::new();
    system
        .services
        .keys()
        .find_map(|name| visit(system, name, &mut vec![], &mut done))
}

/// `METHOD /path`.
fn check_route(route: &str) -> Result<(), String> {
    const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match route.split_once(' ') {
        Some((m, p)) if METHODS.contains(&m) && p.starts_with('/') => Ok(()),
        _ => Err(format!(
            "{route:?} is not METHOD /path (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)"
        )),
    }
}
