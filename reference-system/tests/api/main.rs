//! The reference services over their real HTTP surface, each on port 0 with its own
//! SQLite file. One test binary for the crate (see helpers.rs).
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

mod email;
mod gateway;
mod helpers;
mod inventory;
mod orders;
mod payments;
mod ratelimit;
mod saga;
