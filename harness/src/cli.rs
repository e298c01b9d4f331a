//! The `qalens` command line, as clap reads it: the commands, their flags and their help.
//! `main.rs` parses it; [`crate::commands::dispatch`] runs the command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::runner::{DEFAULT_FEATURES, RunOptions};

#[derive(Parser, Debug)]
#[command(
    name = "qalens",
    version,
    about = "Chaos and contract test harness for microservice systems"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the topology, run feature files against it, tear it down.
    Run {
        #[command(flatten)]
        options: RunOptions,
        /// Run against a topology already running (`qalens up --detach`): its run id, or
        /// the file `qalens up --env-file` wrote. Nothing is started or removed; the
        /// system file the topology was started from is used.
        #[arg(long, value_name = "RUN_ID|ENV_FILE")]
        attach: Option<String>,
        #[command(flatten)]
        system: SystemArg,
    },
    /// Start the topology and print its endpoints as JSON; stops on Ctrl-C unless --detach.
    Up {
        /// Also write the endpoints to this file.
        #[arg(long, value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Leave the topology running and return; `qalens down RUN_ID` removes it.
        #[arg(long)]
        detach: bool,
        #[command(flatten)]
        system: SystemArg,
    },
    /// Remove the containers and networks of the given runs (or of every run with --all).
    Down {
        run_ids: Vec<String>,
        #[arg(long)]
        all: bool,
    },
    /// Remove the leftovers of runs whose process died.
    Sweep,
    /// Measure the latency the gateway adds (p50/p99 against calling the service directly).
    Bench {
        /// Requests per path.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Also write the figures as JSON here.
        #[arg(long, value_name = "PATH")]
        json: Option<PathBuf>,
        #[command(flatten)]
        system: SystemArg,
    },
    /// Lint feature files without Docker: parse errors, undefined and ambiguous steps,
    /// numbers out of their step's range, names the system file lacks (exit 1); text
    /// that looks lost (a misspelt keyword, a step outside a scenario) and scenarios that
    /// check nothing are warnings. And the system file (exit 2 when it cannot be used;
    /// its images are checked when a Docker engine answers).
    Check {
        /// Feature files or directories (default: features).
        #[arg(default_value = DEFAULT_FEATURES, hide_default_value = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        system: SystemArg,
        /// Treat warnings as problems: exit 1 when there is any (CI uses this).
        #[arg(long)]
        strict: bool,
    },
    /// Run the suite against the correct system and once per known defect; fail on a
    /// false alarm or a blind spot.
    Selftest(SelftestArgs),
    /// Print a bearer token the system's gateway accepts, from the system file's identity
    /// (x-qalens.identity: a JWT signed with its secret or key, its static token, or what
    /// its token command prints). The reference system signs HS256 with QALENS_JWT_SECRET
    /// or its default.
    Token(TokenArgs),
    /// Contracts between the services (contracts/schemas): list them, or compare two
    /// versions of them for breaking changes.
    Contracts {
        #[command(subcommand)]
        action: ContractsAction,
    },
    /// Print the step catalog.
    Steps {
        /// As JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        system: SystemArg,
    },
    /// Run the fault proxy the topology puts on each link (configured by environment).
    ///
    /// Forwards TCP to PROXY_UPSTREAM (host:port) from PROXY_BIND (default 0.0.0.0:8080),
    /// with its control API on PROXY_CONTROL_BIND (default 0.0.0.0:9090).
    Proxy,
}

/// `--system FILE`, taken by every command that reads the system file.
#[derive(Args, Debug, Clone, Default)]
pub struct SystemArg {
    /// The system file: a Compose file with an x-qalens section (default: the built-in
    /// reference system, reference-system/qalens.yml); its format is in
    /// docs/system-file.md of the qalens repository.
    #[arg(long = "system", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// `qalens selftest`.
#[derive(Args, Debug)]
pub struct SelftestArgs {
    /// Feature files or directories (default: features).
    #[arg(default_value = DEFAULT_FEATURES, hide_default_value = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long)]
    pub tags: Option<String>,
    /// Only these defects (repeatable; default: every defect `refsys` knows).
    #[arg(long = "defect", value_name = "NAME")]
    pub defects: Vec<String>,
    /// Write the matrix as JSON here.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the matrix as a Markdown table here.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
    /// Write the matrix as a self-contained HTML page here, each cell linking to the
    /// scenario that caught the defect in its run's HTML report (written beside it,
    /// in `selftest/`).
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Run every scenario against every defect (the full matrix) instead of stopping
    /// each defect at the first scenario that catches it.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub system: SystemArg,
}

/// `qalens token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    #[arg(long)]
    pub client: String,
    #[arg(long, value_enum, default_value_t = TierArg::Free)]
    pub tier: TierArg,
    /// Space-separated scopes (default: the file's x-qalens.identity.scopes, then the
    /// scopes an enabled pack adds, such as the reference pack's non-admin scopes; none
    /// without either).
    #[arg(long)]
    pub scope: Option<String>,
    /// Lifetime in seconds (a JWT's `exp`; a static or command token is as it is).
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    #[command(flatten)]
    pub system: SystemArg,
}

#[derive(Subcommand, Debug)]
pub enum ContractsAction {
    /// Every bundled contract: name, version, kind, producers, consumers, where it is used.
    List,
    /// Classify every change from OLD to NEW as compatible or breaking; exit 1 when a
    /// breaking change comes without a version bump (any breaking change between two
    /// OpenAPI documents), 2 when a side cannot be read.
    Diff {
        /// A contracts directory (with index.json), an index.json, one schema file, or an
        /// OpenAPI 3.0/3.1 document (YAML or JSON with a top-level `openapi` key; then NEW
        /// must be one too).
        old: PathBuf,
        new: PathBuf,
        /// For single schema files not listed in a sibling index.json.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Judge every change by a schema registry's compatibility mode instead of each
        /// contract's kind (backward = request, forward = response, full = both; the
        /// transitive forms also check every earlier version); a version bump then excuses
        /// nothing. Exit 1 on any breaking change.
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// The registry's lenient reading: an optional property added to or removed from an
        /// object that allows unknown properties is neutral. By default it is compared with
        /// what governed that name before (a typed property added to an open object
        /// narrows it; one removed widens it).
        #[arg(long)]
        lenient: bool,
    },
}

/// A client's tier, as `--tier` takes it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierArg {
    Free,
    Paid,
}

impl From<TierArg> for contract_tools::jwt::Tier {
    fn from(t: TierArg) -> Self {
        match t {
            TierArg::Free => Self::Free,
            TierArg::Paid => Self::Paid,
        }
    }
}

/// A compatibility mode, as `contracts diff --mode` takes it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
    None,
}

impl From<ModeArg> for contract_tools::diff::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Backward => Self::Backward,
            ModeArg::BackwardTransitive => Self::BackwardTransitive,
            ModeArg::Forward => Self::Forward,
            ModeArg::ForwardTransitive => Self::ForwardTransitive,
            ModeArg::Full => Self::Full,
            ModeArg::FullTransitive => Self::FullTransitive,
            ModeArg::None => Self::None,
        }
    }
}

/// A contract's kind, as `contracts diff --kind` takes it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindArg {
    Request,
    Response,
    Message,
    Headers,
}

impl From<KindArg> for contract_tools::diff::Kind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Request => Self::Request,
            KindArg::Response => Self::Response,
            KindArg::Message => Self::Message,
            KindArg::Headers => Self::Headers,
        }
    }
}
