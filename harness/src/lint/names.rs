//! Names and numbers in steps checked against the system file in use, beside those
//! [`super::system_names`] checks: the container a clock step skews (it must exist and
//! preload libfaketime in its environment), the gateway
//! replica a step addresses (1 to the gateway's `deploy.replicas`), and the contract and
//! version a contract step names.

use std::sync::LazyLock;

use cucumber::codegen::Regex;
use cucumber::gherkin;

use super::Problem;
use qalens_model::input::shorten;
use qalens_model::system::System;

struct Patterns {
    clock: Regex,
    replica: Regex,
    all_replicas: Regex,
    contract: Regex,
}

fn patterns() -> &'static Patterns {
    static P: LazyLock<Patterns> = LazyLock::new(|| {
        let re = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("{p}: {e}"));
        Patterns {
            clock: re(r"^the clock of the (\S+) container is "),
            replica: re(r"\bon gateway replica (\d+)|\bto gateway replica (\d+)$"),
            all_replicas: re(r"^the responses came from all (\d+) gateway replicas$"),
            contract: re(r"\bcontract (\S+) v(\d+)\b"),
        }
    });
    &P
}

/// What the system file in use declares that steps name: read once per check.
pub(super) struct Known<'s> {
    system: &'s System,
    containers: Vec<String>,
    /// The gateway's service and its number of replicas.
    gateway: Option<(&'s str, usize)>,
    /// `(name, version)` of each contract (`None`: the file names no contracts).
    contracts: Option<Vec<(String, u32)>>,
    /// The containers whose service's environment does not preload libfaketime, with
    /// that service: a clock step cannot skew them.
    without_faketime: std::collections::BTreeMap<String, String>,
}

impl<'s> Known<'s> {
    pub(super) fn of(system: &'s System) -> Self {
        let containers = system
            .services
            .values()
            .flat_map(|s| s.replica_names().into_iter().map(|(_, n)| n))
            .collect();
        let gateway = system.qalens.gateway.as_ref().map(|g| {
            let replicas = system
                .services
                .get(&g.service)
                .map_or(1, |s| usize::from(s.replicas));
            (g.service.as_str(), replicas)
        });
        let ids = |r: &contract_tools::schema::Registry| -> Vec<(String, u32)> {
            r.contracts()
                .iter()
                .map(|c| (c.name.clone(), c.version))
                .collect()
        };
        // The steps that name a contract read JSON Schemas: from the file's directory, else
        // (also when the file names an OpenAPI document) from an enabled pack.
        let contracts = match qalens_engine::contracts::load_contracts(system) {
            Ok(Some(qalens_engine::contracts::RunContracts::Schemas(r))) => Some(ids(&r)),
            _ => None,
        }
        .or_else(|| qalens_steps::packs::default_registry(system).map(ids));
        let without_faketime = system
            .services
            .values()
            .filter(|s| {
                let env: Vec<String> = s
                    .environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                qalens_engine::topology::faketime::timestamp_file(&env).is_none()
            })
            .flat_map(|s| {
                s.replica_names()
                    .into_iter()
                    .map(|(_, container)| (container, s.name.clone()))
            })
            .collect();
        Self {
            system,
            containers,
            gateway,
            contracts,
            without_faketime,
        }
    }
}

/// Checks the steps of `feature` (expanded, read from `path`) against what the system
/// file declares.
pub(super) fn check(
    known: &Known<'_>,
    path: &str,
    feature: &gherkin::Feature,
    problems: &mut Vec<Problem>,
) {
    let p = patterns();
    let file = known.system.file.display();
    let (containers, gateway, contracts) = (&known.containers, known.gateway, &known.contracts);
    let steps = feature
        .background
        .iter()
        .chain(feature.rules.iter().filter_map(|r| r.background.as_ref()))
        .flat_map(|b| b.steps.iter())
        .chain(
            feature
                .scenarios
                .iter()
                .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()))
                .flat_map(|s| s.steps.iter()),
        );
    let mut seen = std::collections::HashSet::new();
    for step in steps {
        let text = &step.value;
        let mut found = vec![];
        if let Some(c) = p.clock.captures(text) {
            if !containers.iter().any(|k| *k == c[1]) {
                found.push(format!(
                    "{file} has no container `{}` to skew the clock of; its containers are {}",
                    shorten(&c[1], 60),
                    containers.join(", ")
                ));
            } else if let Some(service) = known.without_faketime.get(&c[1]) {
                found.push(format!(
                    "the clock of {} cannot be skewed: its service {service:?} in {file} does \
                     not preload libfaketime; {}",
                    &c[1],
                    qalens_engine::topology::faketime::how_to_enable()
                ));
            }
        }
        let replica = p
            .replica
            .captures(text)
            .and_then(|c| c.get(1).or_else(|| c.get(2)))
            .map(|m| (m.as_str(), false))
            .or_else(|| {
                p.all_replicas
                    .captures(text)
                    .and_then(|c| c.get(1))
                    .map(|m| (m.as_str(), true))
            });
        if let Some((n, all)) = replica {
            // Without a gateway, the step's catalog need says so (`serves`).
            match gateway {
                None => {}
                Some((service, count)) => {
                    let fits = n.parse::<usize>().ok().is_some_and(|n| {
                        if all {
                            n == count
                        } else {
                            (1..=count).contains(&n)
                        }
                    });
                    if !fits {
                        found.push(if all {
                            format!(
                                "the gateway {service} has {count} replica(s) in {file}, not {}",
                                shorten(n, 20)
                            )
                        } else {
                            format!(
                                "there is no gateway replica {}: the gateway {service} has replicas 1 to {count} in {file} (deploy.replicas)",
                                shorten(n, 20)
                            )
                        });
                    }
                }
            }
        }
        if let Some(c) = p.contract.captures(text) {
            let (name, version) = (&c[1], &c[2]);
            match &contracts {
                None => found.push(format!(
                    "{file} names no contracts (x-qalens.contracts: a directory with an index.json)"
                )),
                Some(known) => {
                    if !known
                        .iter()
                        .any(|(n, v)| n == name && version.parse() == Ok(*v))
                    {
                        found.push(format!(
                            "there is no contract {} v{} in {file}'s contracts; they are {}",
                            shorten(name, 60),
                            shorten(version, 20),
                            known
                                .iter()
                                .map(|(n, v)| format!("{n} v{v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                }
            }
        }
        for message in found {
            let problem = Problem {
                at: format!("{path}:{}", step.position.line),
                message,
            };
            // Outline rows that fill a step in alike give one problem, not one per row.
            if seen.insert(problem.to_string()) {
                problems.push(problem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn clock_containers_replica_numbers_and_contracts_are_checked_against_the_system() {
        let reference = qalens_model::system::REFERENCE_FILE;
        let system = System::load_with(Path::new(reference), &|v| {
            (v == "QALENS_REFSYS_BIN").then(|| reference.to_string())
        })
        .unwrap();
        let text = "Feature: f\n  Scenario: s\n\
            \x20   When the clock of the gateway-1 container is 5 minutes ahead\n\
            \x20   And the clock of the nosuch container is 5 minutes ahead\n\
            \x20   And the client sends GET \"/x\" to gateway replica 3\n\
            \x20   And the client sends GET \"/x\" to gateway replica 0\n\
            \x20   And the client sends GET \"/x\" to gateway replica 99\n\
            \x20   And the client sends the declared limit of GET requests to \"/limited/fixed\" on gateway replica 4\n\
            \x20   Then the responses came from all 4 gateway replicas\n\
            \x20   And the request api sent to ledger conforms to contract ReservationRequest v1\n\
            \x20   And the request api sent to ledger conforms to contract ReservationRequest v9\n\
            \x20   And the request api sent to ledger conforms to contract Nope v1\n";
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap();
        let mut problems = vec![];
        check(&Known::of(&system), "f.feature", &feature, &mut problems);
        let at: Vec<&str> = problems.iter().map(|p| p.at.as_str()).collect();
        assert_eq!(
            at,
            [
                "f.feature:4",
                "f.feature:6",
                "f.feature:7",
                "f.feature:8",
                "f.feature:9",
                "f.feature:11",
                "f.feature:12"
            ],
            "{problems:#?}"
        );
        assert!(problems[0].message.contains("no container `nosuch`"));
        assert!(problems[1].message.contains("replicas 1 to 3"));
        assert!(
            problems[3]
                .message
                .contains("there is no gateway replica 4")
        );
        assert!(problems[4].message.contains("has 3 replica(s)"));
        assert!(
            problems[5]
                .message
                .contains("no contract ReservationRequest v9")
        );
    }
}

#[cfg(test)]
mod faketime_tests {
    use std::path::PathBuf;

    use super::*;

    /// The shop's services do not preload libfaketime: a clock step on one of them is
    /// located before anything starts, saying what to add, instead of failing at run time.
    #[test]
    fn a_clock_step_on_a_container_without_libfaketime_is_located() {
        let file =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/nginx-shop/qalens.yml");
        let shop = System::load_with(&file, &|_| None).unwrap();
        let text = "Feature: f\n  Scenario: s\n\
            \x20   When the clock of the gateway-2 container is 5 minutes ahead\n";
        let feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default()).unwrap();
        let mut problems = vec![];
        check(&Known::of(&shop), "f.feature", &feature, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert_eq!(problems[0].at, "f.feature:3");
        let m = &problems[0].message;
        assert!(
            m.starts_with("the clock of gateway-2 cannot be skewed: its service \"gateway\" in "),
            "{m}"
        );
        assert!(
            m.contains("LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"),
            "{m}"
        );
    }
}
