//! The run's shared state as steps and adapters reach it: a [`Run`] is made once per
//! `qalens run` (or self-test variant), handed to every scenario's World in the before
//! hook and passed to the clients, the nemesis and the checks as a parameter. Nothing
//! here is process-wide: two runs in one process never see each other.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use testcontainers::bollard::Docker;

use crate::contracts::RunContracts;
use crate::faults::FaultLog;
use crate::scheduler::Components;
use crate::topology::Endpoints;
use qalens_model::system::System;

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
    /// read once per run ([`crate::contracts::load_contracts`]), or those an enabled pack
    /// bundles; `None` when there are none.
    pub contracts: Option<RunContracts>,
    /// Defects switched on at run time; a service started again gets them again.
    pub switched_defects: Vec<String>,
}

/// One run: its context (replaced when a restart moves a port) and the faults it applied.
#[derive(Debug)]
pub struct Run {
    current: RwLock<Arc<RunContext>>,
    faults: FaultLog,
    components: Components,
}

impl Run {
    pub fn new(ctx: RunContext) -> Arc<Self> {
        let components = Components::of(&ctx.system);
        Arc::new(Self {
            current: RwLock::new(Arc::new(ctx)),
            faults: FaultLog::default(),
            components,
        })
    }

    /// The context as it is now.
    pub fn context(&self) -> Arc<RunContext> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the context with `f` applied to a copy (after a restart moved a port).
    pub(crate) fn update(&self, f: impl FnOnce(&mut RunContext)) {
        let mut guard = self.current.write().unwrap_or_else(|e| e.into_inner());
        let mut next = RunContext::clone(&guard);
        f(&mut next);
        *guard = Arc::new(next);
    }

    /// Every fault the run applied, as spans in time.
    pub fn faults(&self) -> &FaultLog {
        &self.faults
    }

    /// The components claims may name in this run's system.
    pub fn components(&self) -> &Components {
        &self.components
    }
}
