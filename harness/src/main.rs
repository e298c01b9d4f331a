//! The `qalens` command line. See `qalens --help` and README.md.

use std::process::ExitCode;

use clap::Parser as _;
use qalens::cli::Cli;
use qalens::{Exit, commands};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("qalens: cannot start the async runtime: {e}");
            return Exit::NotRun.into();
        }
    };
    runtime.block_on(commands::dispatch(cli.command)).into()
}
