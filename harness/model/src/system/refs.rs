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

    /// The callee of a link: a service, or one replica of a numbered service
    /// (`gateway-2`), that declares the port.
    fn callee(&self, key: &str, sp: &ServicePort) -> Check {
        match self.system.callee(&sp.service) {
            Some((service, Some(_))) => self.port(
                key,
                &ServicePort {
                    service: service.name.clone(),
                    port: sp.port,
                },
            ),
            _ => self.port(key, sp),
        }
    }

    /// `path`, relative to the file's directory, is a regular file (not a directory, a
    /// FIFO or a device, which qalens would block on or read without end).
    fn file(&self, key: &str, path: &std::path::Path, what: &str) -> Check {
        let full = self.system.dir.join(path);
        let why = match std::fs::metadata(&full) {
            Ok(m) if m.is_file() => return Ok(()),
            Ok(m) if m.is_dir() => "is a directory, not a file".to_string(),
            Ok(_) => "is not a regular file (a FIFO, a socket or a device)".to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "does not exist".to_string(),
            Err(e) => format!("cannot be read: {e}"),
        };
        Err(self
            .error(ErrorKind::Invalid(format!(
                "{what} {} {why}",
                full.display()
            )))
            .key(key))
    }

    fn invalid(&self, key: &str, msg: impl std::fmt::Display) -> SystemError {
        self.error(ErrorKind::Invalid(msg.to_string())).key(key)
    }
}

pub(super) fn check(system: &System) -> Check {
    let c = Checker { system };
    let q = &system.qalens;
    if system.services.is_empty() {
        return Err(c.invalid(
            "services",
            "the file declares no services: qalens needs at least one to start",
        ));
    }
    names(&c)?;
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
        if let Some(env) = &g.replica_env {
            super::compose::check_env_name(env)
                .map_err(|e| c.invalid("x-qalens.gateway.replica_env", e))?;
        }
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
            let key = format!("x-qalens.broker.queues[{i}]");
            if queue.name.trim().is_empty() {
                return Err(c.invalid(&format!("{key}.name"), "a queue needs a name"));
            }
            for (what, name) in std::iter::once(("name", &queue.name))
                .chain(queue.dead_letter.iter().map(|d| ("dead_letter", d)))
            {
                if name.len() > 255 {
                    return Err(c.invalid(
                        &format!("{key}.{what}"),
                        "a queue name is at most 255 bytes (AMQP's limit)",
                    ));
                }
            }
            if queue
                .dead_letter
                .as_ref()
                .is_some_and(|d| d.trim().is_empty())
            {
                return Err(c.invalid(
                    &format!("{key}.dead_letter"),
                    "the dead-letter queue's name is empty: name it, or leave the key out",
                ));
            }
            if queue.delivery_limit == Some(0) {
                return Err(c.invalid(
                    &format!("{key}.delivery_limit"),
                    "a delivery limit is at least 1 (the first delivery)",
                ));
            }
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
        c.callee(&format!("{key}.to"), &link.to)?;
        if !link_names.insert(link.name()) {
            return Err(c.invalid(&key, format!("link {} is declared twice", link.name())));
        }
        let target = link.to.to_string();
        match (&link.rewire, link.takeover) {
            (Some(_), true) => {
                return Err(c.invalid(
                    &format!("{key}.takeover"),
                    "give `rewire` or `takeover: true`, not both: a link reaches its proxy \
                     through the caller's variable or through the callee's name",
                ));
            }
            (None, false) => {
                return Err(c.invalid(
                    &key,
                    format!(
                        "the link needs `rewire: VARIABLE` (a variable of {} that holds \
                         {target}) or `takeover: true` (the proxy answers to the callee's \
                         name, for a caller that reads {target} from a configuration file)",
                        link.from
                    ),
                ));
            }
            (None, true) => takeover(&c, i, &key)?,
            (Some(rewire), false) => match system.services[&link.from].environment.get(rewire) {
                Some(v) if v.contains(&target) => {}
                Some(v) => {
                    return Err(c.invalid(
                        &format!("{key}.rewire"),
                        format!(
                            "{}'s {rewire} is {v:?}, which does not contain {target}: \
                                 qalens rewires the link by replacing {target} in it with \
                                 the proxy's address; if {} reads {target} from a \
                                 configuration file, write `takeover: true` instead",
                            link.from, link.from
                        ),
                    ));
                }
                None => {
                    return Err(c.invalid(
                        &format!("{key}.rewire"),
                        format!(
                            "service {:?} has no environment variable {rewire}; if it \
                                 reads {target} from a configuration file, write \
                                 `takeover: true` instead",
                            link.from
                        ),
                    ));
                }
            },
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
        match super::parse_duration(&limit.window) {
            Err(e) => return Err(c.invalid(&format!("{key}.window"), e)),
            Ok(w) if w < std::time::Duration::from_secs(1) => {
                return Err(c.invalid(
                    &format!("{key}.window"),
                    "a rate-limit window is at least 1s",
                ));
            }
            Ok(_) => {}
        }
        check_route(&limit.route).map_err(|e| c.invalid(&format!("{key}.route"), e))?;
    }
    if let Some(hooks) = &q.hooks {
        if let Some(d) = &hooks.defects {
            if let Some(env) = &d.env {
                super::compose::check_env_name(env)
                    .map_err(|e| c.invalid("x-qalens.hooks.defects.env", e))?;
            }
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
    for (service, ready) in &q.ready {
        c.service(&format!("x-qalens.ready.{service}"), service)?;
        if ready.log.trim().is_empty() {
            return Err(c.invalid(
                &format!("x-qalens.ready.{service}.log"),
                "the ready line is empty, so any output would count as ready: give the line \
                 the service prints once it is ready",
            ));
        }
    }
    if let Some(id) = &q.identity {
        let given = [id.jwt.is_some(), id.token.is_some(), id.command.is_some()];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(c.invalid(
                "x-qalens.identity",
                "give exactly one of jwt, token or command",
            ));
        }
        if let Some(token) = &id.token
            && (token.is_empty() || !token.chars().all(|ch| ch.is_ascii_graphic()))
        {
            return Err(c.invalid(
                "x-qalens.identity.token",
                "the static token must be printable ASCII without spaces or line breaks \
                 (it goes into an Authorization header), and not empty",
            ));
        }
        if let Some(jwt) = &id.jwt {
            if let Some(claim) = ["exp", "nbf", "iat"]
                .into_iter()
                .find(|k| jwt.claims.contains_key(*k))
            {
                return Err(c.invalid(
                    &format!("x-qalens.identity.jwt.claims.{claim}"),
                    format!(
                        "the claim {claim} cannot be set here: the token steps set the \
                         token's times themselves (an expired token, a token that expired \
                         5 seconds ago)"
                    ),
                ));
            }
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
                    super::keys::private_key(jwt.alg, &c.system.dir, key)
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
        if id
            .command
            .as_ref()
            .is_some_and(|cmd| cmd.first().is_none_or(|p| p.trim().is_empty()))
        {
            return Err(c.invalid("x-qalens.identity.command", "the command is empty"));
        }
        for (i, scope) in id.scopes.iter().enumerate() {
            let key = format!("x-qalens.identity.scopes[{i}]");
            check_scope(scope).map_err(|e| c.invalid(&key, e))?;
            if scope.contains(' ') {
                return Err(c.invalid(
                    &key,
                    format!("{scope:?} holds a space: list each scope as an item of its own"),
                ));
            }
        }
    }
    match &q.routes {
        Some(Routes::OpenApi(o)) => {
            let key = "x-qalens.routes.openapi";
            c.file(key, &o.openapi, "OpenAPI document")?;
            // Read and parsed now, so a file that is no OpenAPI document (the system file
            // itself, /etc/passwd) fails here and not half-way through a run.
            super::routes::documented(
                q.routes.as_ref().unwrap_or(&Routes::List(vec![])),
                &system.dir,
            )
            .map_err(|e| c.invalid(key, e))?;
        }
        Some(Routes::List(routes)) => {
            for (i, r) in routes.iter().enumerate() {
                check_route(&format!("{} {}", r.method, r.path))
                    .map_err(|e| c.invalid(&format!("x-qalens.routes[{i}]"), e))?;
                if let Some(scope) = &r.scope {
                    let key = format!("x-qalens.routes[{i}].scope");
                    if r.public {
                        return Err(c.invalid(
                            &key,
                            "a public route needs no scope: leave `scope` out, or `public`",
                        ));
                    }
                    check_scope(scope).map_err(|e| c.invalid(&key, e))?;
                }
            }
        }
        None => {}
    }
    if let Some(path) = &q.contracts {
        let full = system.dir.join(path);
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

/// A `takeover` link (`links[i]`): its callee is not its caller, and no other takeover
/// link claims the same name (a whole service and one of its replicas overlap).
fn takeover(c: &Checker, i: usize, key: &str) -> Check {
    let links = &c.system.qalens.links;
    let link = &links[i];
    let Some((service, n)) = c.system.callee(&link.to.service) else {
        return Ok(());
    };
    if service.name == link.from {
        return Err(c.invalid(
            &format!("{key}.to"),
            format!(
                "{} cannot take over a name of its own caller {}",
                link.to, link.from
            ),
        ));
    }
    for (j, other) in links.iter().enumerate().take(i) {
        if !other.takeover {
            continue;
        }
        let Some((other_service, m)) = c.system.callee(&other.to.service) else {
            continue;
        };
        let overlap = other_service.name == service.name && (n.is_none() || m.is_none() || n == m);
        if overlap {
            return Err(c.invalid(
                &format!("{key}.to"),
                format!(
                    "links[{j}] already takes over {}: a takeover puts one proxy in front \
                     of the callee for every caller, so declare one link to it ({} and {} \
                     both reach it through that proxy)",
                    other.to.service, other.from, link.from
                ),
            ));
        }
    }
    Ok(())
}

/// A `depends_on` cycle (`a -> b -> a`), if there is one: nothing in it could start.
/// Iterative, so a chain of thousands of services costs no stack.
fn dependency_cycle(system: &System) -> Option<Vec<String>> {
    use std::collections::BTreeMap;
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    let mut state: BTreeMap<&str, State> = BTreeMap::new();
    for root in system.services.keys() {
        if state.contains_key(root.as_str()) {
            continue;
        }
        // The path from `root`, each with the index of its next dependency to visit.
        let mut path: Vec<(&str, usize)> = vec![(root, 0)];
        state.insert(root, State::OnPath);
        while let Some((name, next)) = path.last_mut() {
            let deps = system
                .services
                .get(*name)
                .map_or(&[][..], |s| &s.depends_on[..]);
            let Some((dep, _)) = deps.get(*next) else {
                state.insert(name, State::Done);
                path.pop();
                continue;
            };
            *next += 1;
            match state.get(dep.as_str()) {
                Some(State::Done) => {}
                Some(State::OnPath) => {
                    let at = path.iter().position(|(n, _)| *n == dep)?;
                    let mut cycle: Vec<String> =
                        path[at..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(dep.clone());
                    return Some(cycle);
                }
                None => {
                    state.insert(dep, State::OnPath);
                    path.push((dep, 0));
                }
            }
        }
    }
    None
}

/// Every service name is one Docker accepts, and no two containers or aliases share a
/// name: a service `web-1` beside a replicated `web`, or an alias that is another
/// service's name, would make Docker's DNS answer for the wrong container.
fn names(c: &Checker) -> Check {
    let mut owner: std::collections::BTreeMap<String, (&str, String)> = Default::default();
    for (name, s) in &c.system.services {
        super::compose::check_name(name).map_err(|e| {
            c.error(ErrorKind::Invalid(format!("service name: {e}")))
                .service(name)
        })?;
        let mut claimed = vec![(name.clone(), "its name".to_string())];
        for (n, replica) in s.replica_names() {
            if let Some(n) = n {
                super::compose::check_name(&replica).map_err(|e| {
                    c.error(ErrorKind::Invalid(format!("replica name: {e}")))
                        .service(name)
                })?;
                claimed.push((replica, format!("its replica {n}")));
            }
        }
        claimed.extend(
            s.aliases
                .iter()
                .map(|a| (a.clone(), format!("its alias {a:?}"))),
        );
        for (claim, how) in claimed {
            if let Some((other, other_how)) = owner.get(&claim)
                && *other != name.as_str()
            {
                let key = if how.starts_with("its alias") {
                    Some("networks")
                } else {
                    None
                };
                let err = c
                    .error(ErrorKind::Invalid(format!(
                        "the name {claim:?} is {how} and also {} of service {other:?}: \
                         Docker's DNS cannot tell the two apart; rename one",
                        other_how.replacen("its ", "", 1)
                    )))
                    .service(name);
                return Err(match key {
                    Some(k) => err.key(k),
                    None => err,
                });
            }
            owner.entry(claim).or_insert((name, how));
        }
    }
    Ok(())
}

/// Why a route is not `METHOD /path`; each variant holds the route as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RouteError {
    #[error("{0:?} is not METHOD /path (GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS)")]
    NotMethodPath(String),
    /// The path goes into a request line as it is.
    #[error(
        "the path of {0:?} holds a space, a control or a non-ASCII character: write it as \
         it goes into a request (percent-encoded)"
    )]
    NotPrintableAscii(String),
}

/// Why a route's scope is not one or more scope tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ScopeError {
    #[error("the scope is empty: name the scope a token needs, or leave `scope` out")]
    Empty,
    /// The word that is not a scope token.
    #[error(
        "{0:?} is not a scope: printable ASCII without `\"` or `\\`, scopes separated by spaces"
    )]
    NotAToken(String),
}

/// A route's scope: one or more scope tokens (RFC 6749 3.3: printable ASCII but `"` and
/// `\`), separated by spaces.
fn check_scope(scope: &str) -> Result<(), ScopeError> {
    if scope.trim().is_empty() {
        return Err(ScopeError::Empty);
    }
    match scope.split(' ').filter(|w| !w.is_empty()).find(|w| {
        !w.chars()
            .all(|ch| ch.is_ascii_graphic() && ch != '"' && ch != '\\')
    }) {
        Some(w) => Err(ScopeError::NotAToken(w.to_string())),
        None => Ok(()),
    }
}

/// `METHOD /path`.
fn check_route(route: &str) -> Result<(), RouteError> {
    const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
    match route.split_once(' ') {
        Some((m, p)) if METHODS.contains(&m) && p.starts_with('/') => {
            if p.chars().all(|ch| ch.is_ascii_graphic()) {
                Ok(())
            } else {
                Err(RouteError::NotPrintableAscii(route.to_string()))
            }
        }
        _ => Err(RouteError::NotMethodPath(route.to_string())),
    }
}
