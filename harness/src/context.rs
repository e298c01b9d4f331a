//! The running system as the steps see it. The topology lives outside the cucumber
//! `World` (which holds per-scenario state only); the runner installs this context before
//! the scenarios run and removes it afterwards.

use std::sync::{Arc, RwLock};

use crate::topology::Endpoints;

/// What the steps need to reach the system under test.
#[derive(Debug)]
pub struct RunContext {
    pub endpoints: Endpoints,
    /// Pooled client for every HTTP call the steps make.
    pub http: reqwest::Client,
}

static CURRENT: RwLock<Option<Arc<RunContext>>> = RwLock::new(None);

pub fn install(ctx: RunContext) {
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(ctx));
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
