//! The running system as the steps see it. The topology lives outside the cucumber
//! `World` (which holds per-scenario state only); the runner installs this context before
//! the scenarios run and removes it afterwards.

use std::sync::{Arc, RwLock};

use std::collections::BTreeMap;

use testcontainers::bollard::Docker;

use crate::system::System;
use crate::topology::Endpoints;

/// What the steps need to reach the system under test.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub endpoints: Endpoints,
    /// Pooled client for every HTTP call the steps make.
    pub http: reqwest::Client,
    /// The Docker engine, for faults.
    pub docker: Docker,
    /// Container id by component name (`api`, `gateway-2`).
    pub containers: BTreeMap<String, String>,
    /// The system file the topology was started from.
    pub system: Arc<System>,
    /// The contracts `x-qalens.contracts` names (JSON Schemas or an OpenAPI document),
    /// read once per run ([`crate::checks::load_contracts`]) and shared by its every
    /// `run_on` (`None` when the file names none: an enabled pack may bundle its own).
    pub contracts: Option<crate::checks::RunContracts>,
    /// Defects switched on at run time; a service started again gets them again.
    pub switched_defects: Vec<String>,
}

static CURRENT: RwLock<Option<Arc<RunContext>>> = RwLock::new(None);

pub fn install(ctx: RunContext) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(ctx));
}

/// Replaces the context with `f` applied to a copy (after a restart moved a port).
pub fn update(f: impl FnOnce(&mut RunContext)) -> Result<(), String> {
    let mut guard = CURRENT.write().unwrap_or_else(|e| e.into_inner());
    let current = guard.as_ref().ok_or("no system under test is running")?;
    let mut next = RunContext::clone(current);
    f(&mut next);
    *guard = Some(Arc::new(next));
    Ok(())
}

pub fn clear() {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = None;
}

/// The context of the run in progress; an error outside a run.
pub fn current() -> Result<Arc<RunContext>, String> {
    CURRENT
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .ok_or_else(|| {
            "no system under test is running (steps run only inside `qalens run`)".to_string()
        })
}
