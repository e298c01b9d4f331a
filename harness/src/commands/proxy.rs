//! `qalens proxy`: the fault proxy ([`qalens_proxy`]) the topology runs in a container on
//! each proxied link, configured from the environment (`PROXY_UPSTREAM`, `PROXY_BIND`,
//! `PROXY_CONTROL_BIND`, `PROXY_PASSTHROUGH`). It logs to stdout, filtered by `RUST_LOG` (default `info`), and
//! stops on SIGINT or SIGTERM with exit code 0.

use qalens_proxy::{Application, Config};

use crate::exit::Exit;
use tracing_subscriber::EnvFilter;

/// Runs the proxy until a signal; [`Exit::NotRun`] when it cannot start, [`Exit::Failed`]
/// when it stops on an error.
pub(crate) async fn proxy() -> Exit {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .try_init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("qalens proxy: {e}");
            return Exit::NotRun;
        }
    };
    let app = match Application::build(config.clone()).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!(
                "qalens proxy: cannot listen on {} and {}: {e}",
                config.bind, config.control_bind
            );
            return Exit::NotRun;
        }
    };
    match app
        .run_until(async {
            super::interrupted().await;
        })
        .await
    {
        Ok(()) => Exit::Passed,
        Err(e) => {
            eprintln!("qalens proxy: {e}");
            Exit::Failed
        }
    }
}
