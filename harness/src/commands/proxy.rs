//! `qalens proxy`: the fault proxy ([`qalens_proxy`]) the topology runs in a container on
//! each proxied link, configured from the environment (`PROXY_UPSTREAM`, `PROXY_BIND`,
//! `PROXY_CONTROL_BIND`). It logs to stdout, filtered by `RUST_LOG` (default `info`), and
//! stops on SIGINT or SIGTERM with exit code 0.

use qalens_proxy::{Application, Config};
use tracing_subscriber::EnvFilter;

/// Runs the proxy until a signal; 2 when it cannot start, 1 when it stops on an error.
pub async fn proxy() -> u8 {
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
            return 2;
        }
    };
    let app = match Application::build(config.clone()).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!(
                "qalens proxy: cannot listen on {} and {}: {e}",
                config.bind, config.control_bind
            );
            return 2;
        }
    };
    match app
        .run_until(async {
            super::interrupted().await;
        })
        .await
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("qalens proxy: {e}");
            1
        }
    }
}
