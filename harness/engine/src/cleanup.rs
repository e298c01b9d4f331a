//! No container outlives its run.
//!
//! Every container and network a run creates carries the label `qalens=<run id>` and the
//! label `qalens.owner=<pid>:<process start time>` of the process that created it. A run
//! removes its own at the end (success, failure, panic, Ctrl-C/SIGTERM); at start it
//! sweeps the leftovers of runs whose owner process is gone (SIGKILL, power loss). A
//! topology kept on purpose (`qalens up`, `--keep-on-failure`) carries `qalens.keep=true`
//! and is removed only by `qalens down`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use testcontainers::bollard::Docker;
use testcontainers::bollard::errors::Error as DockerError;
use testcontainers::bollard::models::ContainerSummary;
use testcontainers::bollard::query_parameters::{
    ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
};

use crate::error::Chain;

/// Why Docker resources could not be found or removed. The message is complete (see
/// [`crate::error`]).
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// The Docker engine refused a request made without more context.
    #[error("{}", Chain(.0))]
    Docker(DockerError),
    #[error("cannot configure a Docker client (is DOCKER_HOST valid?): {}", Chain(.0))]
    Configure(DockerError),
    #[error(
        "no Docker engine answers ({0}).\n\
         qalens runs the system under test in Docker. Start an engine and try again:\n\
         - on Debian as root: `ci/ensure-docker` (installs docker.io and starts dockerd), or\n\
         - `sudo systemctl start docker`, or\n\
         - point DOCKER_HOST at a reachable engine."
    )]
    NoEngine(DockerError),
    #[error("listing the containers of {run_id}: {}", Chain(.cause))]
    Listing { run_id: String, cause: DockerError },
    /// The first removal the engine refused.
    #[error("removing run {run_id}: {}", Chain(.cause))]
    Removing { run_id: String, cause: DockerError },
    #[error(
        "swept {swept} run(s); could not remove: {}",
        .failed.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Sweep {
        swept: usize,
        failed: Vec<CleanupError>,
    },
}

impl From<DockerError> for CleanupError {
    fn from(e: DockerError) -> Self {
        CleanupError::Docker(e)
    }
}

/// Label carrying the run id; every qalens resource has it.
pub(crate) const RUN_LABEL: &str = "qalens";
/// Label naming the owning process as `<pid>:<start time>`.
pub(crate) const OWNER_LABEL: &str = "qalens.owner";
/// Label set on topologies kept on purpose; the sweep leaves them alone.
pub(crate) const KEEP_LABEL: &str = "qalens.keep";

/// Label carrying the absolute path of the system file a topology was started from, so
/// `qalens run --attach RUN_ID` finds the file again from the run id alone.
pub const SYSTEM_LABEL: &str = "qalens.system";

/// The [`SYSTEM_LABEL`] of a topology started from `file` (made absolute, not resolved:
/// as `qalens up --env-file` records it).
pub(crate) fn system_label(file: &Path) -> (String, String) {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    (SYSTEM_LABEL.to_string(), file.display().to_string())
}

/// The system file [`SYSTEM_LABEL`] records among `labels`, if any.
pub(crate) fn system_file_in(labels: &HashMap<String, String>) -> Option<PathBuf> {
    labels
        .get(SYSTEM_LABEL)
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
}

/// The system file run `run_id` was started from, as its containers record it; `None`
/// when it has no container or they carry no record (started by an older qalens).
pub async fn system_file_of(
    docker: &Docker,
    run_id: &str,
) -> Result<Option<PathBuf>, CleanupError> {
    let containers = containers_of(docker, run_id).await?;
    Ok(containers
        .iter()
        .find_map(|c| system_file_in(c.labels.as_ref()?)))
}

/// Every container of run `run_id`, running or not.
async fn containers_of(
    docker: &Docker,
    run_id: &str,
) -> Result<Vec<ContainerSummary>, CleanupError> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{RUN_LABEL}={run_id}")])]);
    docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(|cause| CleanupError::Listing {
            run_id: run_id.to_string(),
            cause,
        })
}

/// A short random run id such as `qalens-3f9a1c2e`; also the prefix of every name.
pub(crate) fn new_run_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("qalens-{}", &id[..8])
}

/// This process as `<pid>:<start time in clock ticks since boot>`; the start time tells a
/// live owner from a recycled pid.
pub(crate) fn owner_token() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", process_start_time(pid).unwrap_or_default())
}

fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it are plain.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split(' ').nth(19)?.parse().ok()
}

/// Whether the process named by an owner token is still alive.
pub(crate) fn owner_alive(token: &str) -> bool {
    let Some((pid, start)) = token.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(start)) = (pid.parse::<u32>(), start.parse::<u64>()) else {
        return false;
    };
    process_start_time(pid) == Some(start)
}

/// The labels to put on every resource of run `run_id`.
pub(crate) fn labels(run_id: &str, keep: bool) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(RUN_LABEL.to_string(), run_id.to_string());
    labels.insert(OWNER_LABEL.to_string(), owner_token());
    if keep {
        labels.insert(KEEP_LABEL.to_string(), "true".to_string());
    }
    labels
}

/// Connects to the Docker engine, or says how to start one.
pub async fn docker() -> Result<Docker, CleanupError> {
    let docker = Docker::connect_with_local_defaults().map_err(CleanupError::Configure)?;
    if let Err(e) = docker.ping().await {
        return Err(CleanupError::NoEngine(e));
    }
    Ok(docker)
}

/// A run found in Docker by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResources {
    pub run_id: String,
    pub owner: String,
    pub keep: bool,
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

/// Every qalens run that has containers or networks, by run id.
pub async fn list_runs(docker: &Docker) -> Result<Vec<RunResources>, CleanupError> {
    let filters = HashMap::from([("label".to_string(), vec![RUN_LABEL.to_string()])]);
    let containers = docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters.clone()),
            ..Default::default()
        }))
        .await?;
    let networks = docker
        .list_networks(Some(ListNetworksOptions {
            filters: Some(filters),
        }))
        .await?;
    let mut runs: BTreeMap<String, RunResources> = BTreeMap::new();
    let mut entry = |labels: &HashMap<String, String>| {
        let run_id = labels.get(RUN_LABEL).cloned().unwrap_or_default();
        runs.entry(run_id.clone())
            .or_insert_with(|| RunResources {
                run_id,
                owner: labels.get(OWNER_LABEL).cloned().unwrap_or_default(),
                keep: labels.get(KEEP_LABEL).is_some_and(|v| v == "true"),
                containers: vec![],
                networks: vec![],
            })
            .run_id
            .clone()
    };
    let mut by_run: Vec<(String, bool, String)> = vec![];
    for c in containers {
        let labels = c.labels.unwrap_or_default();
        let run = entry(&labels);
        by_run.push((run, true, c.id.unwrap_or_default()));
    }
    for n in networks {
        let labels = n.labels.unwrap_or_default();
        let run = entry(&labels);
        by_run.push((run, false, n.id.unwrap_or_default()));
    }
    for (run, is_container, id) in by_run {
        let r = runs.get_mut(&run).expect("entry created above");
        if is_container {
            r.containers.push(id);
        } else {
            r.networks.push(id);
        }
    }
    Ok(runs.into_values().collect())
}

/// The label that names a container's component (`api`, `gateway-2`).
pub(crate) const COMPONENT_LABEL: &str = "qalens.component";

/// The containers of run `run_id` (running or not), by component name.
pub async fn components_of(
    docker: &Docker,
    run_id: &str,
) -> Result<BTreeMap<String, String>, CleanupError> {
    Ok(containers_of(docker, run_id)
        .await?
        .into_iter()
        .filter_map(|c| {
            let component = c.labels?.get(COMPONENT_LABEL)?.clone();
            Some((component, c.id?))
        })
        .collect())
}

/// Removes every container (forcefully, with its volumes) and then every network of run
/// `run_id`. Returns how many of each were removed.
pub async fn remove_run(docker: &Docker, run_id: &str) -> Result<(usize, usize), CleanupError> {
    let Some(run) = list_runs(docker)
        .await?
        .into_iter()
        .find(|r| r.run_id == run_id)
    else {
        return Ok((0, 0));
    };
    remove_resources(docker, &run).await
}

/// Removes run `run_id` and keeps removing until nothing of it has appeared for
/// `settle`: container creations a dropped start-up had already sent to the engine may
/// complete after the first removal. Gives up after 30 s. Returns what it removed.
pub async fn remove_run_settled(
    docker: &Docker,
    run_id: &str,
    settle: std::time::Duration,
) -> Result<(usize, usize), CleanupError> {
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut quiet_since = tokio::time::Instant::now();
    let mut total = (0, 0);
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        ticks.tick().await;
        let (c, n) = remove_run(docker, run_id).await?;
        if c + n > 0 {
            total = (total.0 + c, total.1 + n);
            quiet_since = tokio::time::Instant::now();
        }
        let now = tokio::time::Instant::now();
        if now.duration_since(quiet_since) >= settle || now >= end {
            return Ok(total);
        }
    }
}

async fn remove_resources(
    docker: &Docker,
    run: &RunResources,
) -> Result<(usize, usize), CleanupError> {
    // Containers leave their networks first: force-removing many containers of one
    // network at once can leave the engine (20.10) an endpoint of a container that no
    // longer exists, and such a network cannot be removed until the daemon restarts.
    futures::future::join_all(run.networks.iter().map(|id| disconnect_all(docker, id))).await;
    let removals = run.containers.iter().map(|id| async move {
        docker
            .remove_container(
                id,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    ..Default::default()
                }),
            )
            .await
    });
    let results = futures::future::join_all(removals).await;
    let mut first_error = None;
    let mut containers = 0;
    for r in results {
        match r {
            Ok(()) => containers += 1,
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let mut networks = 0;
    for id in &run.networks {
        match remove_network(docker, id).await {
            Ok(true) => networks += 1,
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(cause) => Err(CleanupError::Removing {
            run_id: run.run_id.clone(),
            cause,
        }),
        None => Ok((containers, networks)),
    }
}

/// How long a network may keep endpoints of containers already removed.
const NETWORK_RELEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes network `id`: `Ok(true)` if removed, `Ok(false)` if it was already gone. The
/// engine may still hold an endpoint of a container it has just removed ("has active
/// endpoints", 403): such endpoints are disconnected by force and the removal retried
/// for up to [`NETWORK_RELEASE`].
async fn remove_network(
    docker: &Docker,
    id: &str,
) -> Result<bool, testcontainers::bollard::errors::Error> {
    use testcontainers::bollard::errors::Error;
    let end = tokio::time::Instant::now() + NETWORK_RELEASE;
    let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
    loop {
        ticks.tick().await;
        match docker.remove_network(id).await {
            Ok(()) => return Ok(true),
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(Error::DockerResponseServerError {
                status_code: 403, ..
            }) if tokio::time::Instant::now() < end => disconnect_all(docker, id).await,
            Err(e) => return Err(e),
        }
    }
}

/// Disconnects by force every container network `id` still has, all at once (best
/// effort: what fails is left to the removals after it).
async fn disconnect_all(docker: &Docker, id: &str) {
    use testcontainers::bollard::models::NetworkDisconnectRequest;
    use testcontainers::bollard::query_parameters::InspectNetworkOptions;
    let Ok(network) = docker
        .inspect_network(id, None::<InspectNetworkOptions>)
        .await
    else {
        return;
    };
    let containers = network.containers.unwrap_or_default().into_keys();
    futures::future::join_all(containers.map(|container| {
        docker.disconnect_network(
            id,
            NetworkDisconnectRequest {
                container,
                force: Some(true),
            },
        )
    }))
    .await;
}

fn is_not_found(e: &testcontainers::bollard::errors::Error) -> bool {
    matches!(
        e,
        testcontainers::bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Removes every run this process owns (after an interrupted self-test, say).
pub async fn remove_owned(docker: &Docker) -> Result<Vec<String>, CleanupError> {
    let me = owner_token();
    let mut removed = vec![];
    for run in list_runs(docker).await? {
        if run.owner == me {
            remove_resources(docker, &run).await?;
            removed.push(run.run_id);
        }
    }
    Ok(removed)
}

/// Removes the resources of every run whose owner process is gone and that was not kept
/// on purpose, until nothing more of it appears for `STALE_SETTLE`: a process killed
/// while starting its topology may have container creations in flight that the engine
/// completes after the first removal. Returns the run ids swept.
pub async fn sweep_stale(docker: &Docker) -> Result<Vec<String>, CleanupError> {
    let stale: Vec<RunResources> = list_runs(docker)
        .await?
        .into_iter()
        .filter(|run| !run.keep && !owner_alive(&run.owner))
        .collect();
    // All at once, so N dead runs cost one settling time, not N; one run the engine
    // refuses to remove does not keep the others.
    let results = futures::future::join_all(
        stale
            .iter()
            .map(|run| remove_run_settled(docker, &run.run_id, STALE_SETTLE)),
    )
    .await;
    let (mut swept, mut failed) = (vec![], vec![]);
    for (run, result) in stale.into_iter().zip(results) {
        match result {
            Ok(_) => swept.push(run.run_id),
            Err(e) => failed.push(e),
        }
    }
    match failed.is_empty() {
        true => Ok(swept),
        false => Err(CleanupError::Sweep {
            swept: swept.len(),
            failed,
        }),
    }
}

/// How long a swept run must stay empty before the sweep is done with it.
const STALE_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not() {
        let me = owner_token();
        assert!(owner_alive(&me), "{me}");
        let (pid, start) = me.split_once(':').unwrap();
        let recycled = format!("{pid}:{}", start.parse::<u64>().unwrap() + 1);
        assert!(!owner_alive(&recycled));
        assert!(!owner_alive("not-a-token"));
        assert!(!owner_alive("4294967295:1"));
    }

    #[test]
    fn run_ids_are_unique_and_prefixed() {
        let a = new_run_id();
        let b = new_run_id();
        assert!(a.starts_with("qalens-") && a.len() == 15, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn the_system_label_round_trips_as_an_absolute_path() {
        let (key, value) = system_label(Path::new("examples/shop/qalens.yml"));
        assert_eq!(key, SYSTEM_LABEL);
        let expected = std::env::current_dir()
            .unwrap()
            .join("examples/shop/qalens.yml");
        assert_eq!(value, expected.display().to_string());
        let mut on_container: HashMap<String, String> = labels("qalens-1", false)
            .into_iter()
            .chain([(key, value)])
            .collect();
        assert_eq!(system_file_in(&on_container), Some(expected));
        on_container.remove(SYSTEM_LABEL);
        assert_eq!(system_file_in(&on_container), None);
    }

    #[test]
    fn labels_name_the_run_and_owner() {
        let l = labels("qalens-1", true);
        assert_eq!(l[RUN_LABEL], "qalens-1");
        assert_eq!(l[OWNER_LABEL], owner_token());
        assert_eq!(l[KEEP_LABEL], "true");
        assert!(!labels("qalens-1", false).contains_key(KEEP_LABEL));
    }
}
