//! `refsys`: the qalens reference system, one binary with a subcommand per service.
//!
//! ```text
//! refsys gateway   # API gateway in front of the services
//! refsys orders    # order service (SQLite + transactional outbox to RabbitMQ)
//! refsys email     # email consumer (RabbitMQ, idempotent, SQLite)
//! ```
//! Each service reads its configuration from the environment (see README.md); the
//! harness starts them in containers, but they run just as well on a laptop.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "refsys", version, about = "The qalens reference system")]
struct Cli {
    #[command(subcommand)]
    service: Service,
}

#[derive(Subcommand)]
enum Service {
    /// API gateway: edge routing to the services.
    Gateway,
    /// Orders: accepts orders, stores them, publishes events through an outbox.
    Orders,
    /// Email consumer: one email per placed order, deduplicated by message id.
    Email,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    refsys::telemetry::init();
    let cli = Cli::parse();
    let shutdown = refsys::shutdown::signal();
    match cli.service {
        Service::Gateway => {
            let config = refsys::gateway::Config::from_env()?;
            refsys::gateway::Application::build(config)
                .await?
                .run_until(shutdown)
                .await
        }
        Service::Orders => {
            let config = refsys::orders::Config::from_env()?;
            refsys::orders::Application::build(config)
                .await?
                .run_until(shutdown)
                .await
        }
        Service::Email => {
            let config = refsys::email::Config::from_env()?;
            refsys::email::Application::build(config)
                .await?
                .run_until(shutdown)
                .await
        }
    }
}
