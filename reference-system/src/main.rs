//! `refsys`: the qalens reference system, one binary with a subcommand per service.
//!
//! ```text
//! refsys gateway   # API gateway in front of the services
//! refsys orders    # order service (SQLite + transactional outbox to RabbitMQ)
//! refsys email     # email consumer (RabbitMQ, idempotent, SQLite)
//! refsys payments  # payments (idempotent charges and refunds, SQLite)
//! refsys inventory # inventory (stock and reservations per order, SQLite)
//! ```
//! Each service reads its configuration from the environment (see
//! `docs/reference-system.md` at the repository root); the harness starts them in
//! containers, but they run just as well on a laptop.

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
    /// Email consumer: one email per confirmed order, deduplicated by message id.
    Email,
    /// Analytics consumer: counts order events by type, deduplicated by message id.
    Analytics,
    /// Print the defects `REFSYS_DEFECTS` can switch on, one per line: its name, then the
    /// lens (feature tag) meant to catch it.
    Defects,
    /// Payments: idempotent charges and refunds per order.
    Payments,
    /// Inventory: stock per SKU, one reservation per order, released at most once.
    Inventory,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    refsys::telemetry::init();
    let cli = Cli::parse();
    refsys::defects::init_from_env().map_err(anyhow::Error::msg)?;
    let shutdown = refsys::shutdown::signal();
    if !matches!(cli.service, Service::Defects) {
        spawn_control(refsys::defects::control_router()).await?;
    }
    match cli.service {
        Service::Gateway => {
            refsys::server::run(refsys::gateway::Config::from_env()?, shutdown).await
        }
        Service::Orders => refsys::server::run(refsys::orders::Config::from_env()?, shutdown).await,
        Service::Defects => {
            for d in refsys::defects::Defect::ALL {
                println!("{} {}", d.name(), d.lens());
            }
            Ok(())
        }
        Service::Analytics => {
            refsys::server::run(refsys::analytics::Config::from_env()?, shutdown).await
        }
        Service::Payments => {
            refsys::server::run(refsys::payments::Config::from_env()?, shutdown).await
        }
        Service::Inventory => {
            refsys::server::run(refsys::inventory::Config::from_env()?, shutdown).await
        }
        Service::Email => refsys::server::run(refsys::email::Config::from_env()?, shutdown).await,
    }
}

/// Serves the defects' control API on `REFSYS_CONTROL_BIND` (default
/// `0.0.0.0:9090`), a port that neither the gateway routes nor the front door proxies.
async fn spawn_control(router: axum::Router) -> anyhow::Result<()> {
    let bind: std::net::SocketAddr = refsys::config::parse_or(
        "REFSYS_CONTROL_BIND",
        std::net::SocketAddr::from(([0, 0, 0, 0], 9090)),
    )?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "control API stopped");
        }
    });
    Ok(())
}
