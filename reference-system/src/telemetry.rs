//! Logging: plain lines on stdout, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .try_init();
}

/// Prints the ready line (see [`crate::READY_LINE`]) for `service` listening on `addr`.
pub fn announce_ready(service: &str, addr: std::net::SocketAddr) {
    // Printed directly so that it appears whatever RUST_LOG says.
    println!("{} {service} listening on {addr}", crate::READY_LINE);
}
