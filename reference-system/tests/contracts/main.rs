//! Contract verification of the reference system against the bundled contracts
//! (`contracts::bundled::registry()`): orders as a consumer (against wiremock
//! stand-ins that check its requests) and payments and inventory as providers (driven
//! with the contracts' examples, every answer checked).
//!
//! The deliberately broken producer (`renamed-field`) is in its own target,
//! `contracts_broken_producer`, because defects are process-global.
#![allow(clippy::unwrap_used)] // A test fails by panicking; unwrap says where.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
mod support;

mod consumer;
mod provider;
