//! Why a fault could not be applied or healed: [`NemesisError`].

use testcontainers::bollard::errors::Error as DockerError;

use super::clock::MAX_SKEW_SECONDS;
use crate::clients::exec::ExecError;
use crate::topology::{SwitchError, TopologyError};
use crate::wait::Waited;

/// Why a fault could not be applied or healed, or a component's state not read.
#[derive(Debug, thiserror::Error)]
pub enum NemesisError {
    #[error("there is no component {component:?}; components: {}", .known.join(", "))]
    UnknownComponent {
        component: String,
        known: Vec<String>,
    },
    #[error("there is no fault proxy on the link from {from} to {to}; links: {}", .known.join(", "))]
    UnknownLink {
        from: String,
        to: String,
        known: Vec<String>,
    },
    #[error("malformed link name {name}")]
    MalformedLink { name: String },
    #[error("unknown operation {op:?}")]
    UnknownOp { op: String },
    /// `op` is what the step asked for: `stopped`, `paused`, `restarted`...
    #[error("{component} could not be {op}: {cause}")]
    Op {
        component: String,
        op: String,
        cause: OpFailure,
    },
    /// A component started again but not ready, or its new ports not read.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The defects switched on at run time could not be given back to a restarted service.
    #[error("{0}")]
    Switch(SwitchError),
    #[error("{0}")]
    Inspect(DockerError),
    #[error("the fault proxy on {link} did not answer: {cause}")]
    ProxySilent { link: String, cause: reqwest::Error },
    #[error("the fault proxy on {link} answered {status}")]
    ProxyStatus {
        link: String,
        status: reqwest::StatusCode,
    },

    // Clocks.
    #[error("inspecting {component}: {cause}")]
    InspectFor {
        component: String,
        cause: DockerError,
    },
    #[error(
        "the {component} container does not preload libfaketime (LD_PRELOAD naming it and an \
         absolute FAKETIME_TIMESTAMP_FILE in its environment), so its clock cannot be \
         skewed: {}",
        crate::topology::faketime::how_to_enable()
    )]
    NoFaketime { component: String },
    #[error("{0}")]
    Exec(Box<ExecError>),
    #[error(
        "{command} in {component} printed {stdout:?} (exit code {}, stderr {stderr:?})",
        .exit_code.map_or_else(|| "unknown".to_string(), |c| c.to_string())
    )]
    ClockUnreadable {
        command: String,
        component: String,
        stdout: String,
        exit_code: Option<i64>,
        stderr: String,
    },
    #[error("FAKETIME_TIMESTAMP_FILE {file:?} is not an absolute file path")]
    NotAbsolute { file: String },
    #[error("writing {file} in {component}: {cause}")]
    Upload {
        file: String,
        component: String,
        cause: DockerError,
    },
    /// An observation while waiting for a skew to take.
    #[error("its clock is {0:+} s off")]
    ClockOff(i64),
    #[error("{component}'s clock did not move to {offset:+} s within 10 s: {waited}")]
    ClockDidNotMove {
        component: String,
        offset: i64,
        waited: Waited,
    },
    #[error(
        "a clock {amount} {unit} {direction} is too far: at most {MAX_SKEW_SECONDS} seconds \
         (about 100 years) either way"
    )]
    TooFar {
        amount: i64,
        unit: String,
        direction: String,
    },
}

impl NemesisError {
    /// Whether the run's early stop ended a wait inside the operation.
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, NemesisError::ClockDidNotMove { waited, .. } if waited.is_cancelled())
    }
}

/// What Docker answered when an operation on a container failed.
#[derive(Debug, thiserror::Error)]
pub enum OpFailure {
    #[error("{0}")]
    Docker(DockerError),
    /// A broker's clean stop (`rabbitmqctl stop`) could not run.
    #[error("{0}")]
    Exec(Box<ExecError>),
}
