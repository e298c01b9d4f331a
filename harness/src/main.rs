//! The `qalens` command line. See `qalens --help` and README.md.

fn main() -> std::process::ExitCode {
    qalens::cli::main()
}
