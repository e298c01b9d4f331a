//! Why a topology could not be started, found, read or torn down: [`TopologyError`].

use std::path::PathBuf;
use std::time::Duration;

use qalens_model::system::routes::RoutesError;
use testcontainers::bollard::errors::Error as DockerError;

use crate::cleanup::CleanupError;
use crate::error::Chain;
use crate::tokens::TokenError;

/// Why a topology could not be started, found, read or torn down. The message is
/// complete (see [`crate::error`]): a context and its cause, `starting api: creating
/// container qalens-1-api: Docker responded with ...`.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The Docker engine refused a request made without more context.
    #[error("{}", Chain(.0))]
    Docker(DockerError),
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    #[error(transparent)]
    Image(#[from] qalens_model::images::ImageError),

    // Defects.
    #[error("running {} defects: {}", .bin.display(), Chain(.cause))]
    RunningDefects { bin: PathBuf, cause: std::io::Error },
    #[error("{} defects failed: {stderr}", .bin.display())]
    DefectsFailed { bin: PathBuf, stderr: String },
    #[error(
        "{} has no defect hook with a start-up variable (x-qalens.hooks.defects.env): defects \
         cannot be switched on",
        .file.display()
    )]
    NoDefectHook { file: PathBuf },
    #[error("unknown defect {name:?}; known defects: {}", .known.join(", "))]
    UnknownDefect { name: String, known: Vec<String> },

    // Links.
    #[error("QALENS_LINKS={spec}: {cause}")]
    LinksEnv { spec: String, cause: UnknownLink },

    // Starting.
    #[error("creating network {network}: {}", Chain(.cause))]
    CreateNetwork { network: String, cause: DockerError },
    #[error("creating container {host}: {}", Chain(.cause))]
    CreateContainer { host: String, cause: DockerError },
    #[error("starting container {host}: {}", Chain(.cause))]
    StartContainer { host: String, cause: DockerError },
    #[error("waiting for {dep}: {}", Chain(.cause))]
    WaitingFor {
        dep: String,
        cause: tokio::sync::watch::error::RecvError,
    },
    #[error("{name} depends on {dep}, which failed")]
    DependencyFailed { name: String, dep: String },
    #[error("starting {name}: {cause}")]
    Starting {
        name: String,
        cause: Box<TopologyError>,
    },

    // Ready checks.
    #[error("{name} was not ready within {deadline:?} ({waiting})")]
    NotReady {
        name: String,
        deadline: Duration,
        /// What it was waiting for: `healthcheck [...]`, `waiting for "ready" on Stdout`.
        waiting: String,
    },
    #[error("inspecting {name}: {}", Chain(.cause))]
    Inspecting { name: String, cause: DockerError },
    #[error(
        "{name} is not running (exit code {})",
        .exit_code.map_or("unknown".into(), |c| c.to_string())
    )]
    NotRunning {
        name: String,
        exit_code: Option<i64>,
    },
    #[error("reading the log of {name}: {}", Chain(.cause))]
    ReadingLog { name: String, cause: DockerError },
    #[error("the log of {name} ended without {log:?}")]
    LogEnded { name: String, log: String },
    #[error(
        "{name} is unhealthy: its healthcheck {test:?} failed {failures} time(s) in a row \
         (last: {last})"
    )]
    Unhealthy {
        name: String,
        test: Vec<String>,
        failures: u32,
        last: String,
    },

    // Endpoints.
    #[error("inspecting container {id}: {}", Chain(.cause))]
    InspectContainer { id: String, cause: DockerError },
    #[error("x-qalens.identity: {0}")]
    Identity(TokenError),
    #[error("x-qalens.routes: {0}")]
    Routes(RoutesError),
    #[error("the topology has no {container}")]
    NoContainer { container: String },
    #[error("{container} has no host port for {port} (is it running?)")]
    NoHostPort { container: String, port: u16 },
    #[error("the system file has no service {service}")]
    NoService { service: String },
    #[error("a published address without a port")]
    NoPortInAddress,
    #[error(
        "the system file names no inspection endpoint for {service:?} \
         (x-qalens.hooks.inspection)"
    )]
    NoInspection { service: String },

    // A running topology.
    #[error(
        "no topology {run_id} runs on this Docker engine; start one with `qalens up --detach` \
         and pass the run id it prints (or its --env-file)"
    )]
    NoTopology { run_id: String },
    #[error("topology {run_id} is not complete; `qalens down {run_id}` and start another: {cause}")]
    Incomplete {
        run_id: String,
        cause: Box<TopologyError>,
    },
    #[error("{name} did not come back: {cause}")]
    DidNotComeBack {
        name: String,
        cause: Box<TopologyError>,
    },
    #[error("tearing down {run_id}: {cause}")]
    Teardown { run_id: String, cause: CleanupError },
}

impl From<DockerError> for TopologyError {
    fn from(e: DockerError) -> Self {
        TopologyError::Docker(e)
    }
}

/// A link name that `x-qalens.links` does not declare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown link {name:?}; the links of {} are: {} (or all, none)",
    .file.display(),
    .known.join(", ")
)]
pub struct UnknownLink {
    pub name: String,
    /// The system file.
    pub file: PathBuf,
    pub known: Vec<String>,
}
