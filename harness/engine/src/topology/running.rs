//! [`Running`]: the view of a running topology that every run uses, whether this process
//! started it ([`super::Topology`]) or another did (`qalens run --attach`).

use std::collections::BTreeMap;
use std::time::Duration;

use testcontainers::bollard::Docker;

use std::sync::Arc;

use super::endpoints::{self, FromFiles};
use super::{Endpoints, SwitchError, TopologyError, put_defects};
use crate::cleanup;
use qalens_model::system::System;

/// A topology that is running, as a run sees it: its containers by component name, found
/// again through the engine. [`Topology`](super::Topology) has one for the topology it started;
/// [`Running::attach`] builds one for a topology another process started.
pub struct Running {
    run_id: String,
    docker: Docker,
    /// Container id by component name (`api`, `gateway-2`, `link-api-ledger`).
    containers: BTreeMap<String, String>,
    /// The system file it was started from.
    system: Arc<System>,
    /// What its endpoints take from the files the system file names, read once.
    files: FromFiles,
    /// Defects switched on at run time by [`Running::switch_defects`].
    switched: std::sync::Mutex<Vec<String>>,
}

impl Running {
    /// Finds the running topology `run_id` of `system` by its labels (as `qalens up
    /// --detach` left it).
    pub async fn attach(
        docker: &Docker,
        run_id: &str,
        system: Arc<System>,
    ) -> Result<Self, TopologyError> {
        let containers = cleanup::components_of(docker, run_id).await?;
        if containers.is_empty() {
            return Err(TopologyError::NoTopology {
                run_id: run_id.to_string(),
            });
        }
        let running = Self::new(docker, run_id, containers, system)?;
        // Fail now, not in the first step, when a component is down or a port missing.
        if let Err(cause) = running.current_endpoints().await {
            return Err(TopologyError::Incomplete {
                run_id: run_id.to_string(),
                cause: Box::new(cause),
            });
        }
        Ok(running)
    }

    /// The view of run `run_id`'s `containers`; reads the files its system file names
    /// (an identity key, an OpenAPI document) once, here.
    pub(super) fn new(
        docker: &Docker,
        run_id: &str,
        containers: BTreeMap<String, String>,
        system: Arc<System>,
    ) -> Result<Self, TopologyError> {
        Ok(Self {
            run_id: run_id.to_string(),
            docker: docker.clone(),
            containers,
            files: FromFiles::read(&system)?,
            system,
            switched: Default::default(),
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The system file it was started from.
    pub fn system(&self) -> &Arc<System> {
        &self.system
    }

    /// The endpoints as they are now: a container that was stopped and started again
    /// gets new host ports. Only the ports are read again, not the system's files.
    pub async fn current_endpoints(&self) -> Result<Endpoints, TopologyError> {
        endpoints::read(
            &self.docker,
            &self.run_id,
            &self.containers,
            &self.system,
            &self.files,
        )
        .await
    }

    /// Container id by component name.
    pub fn container_ids(&self) -> BTreeMap<String, String> {
        self.containers.clone()
    }

    /// Every component name, sorted.
    pub fn components(&self) -> Vec<String> {
        self.containers.keys().cloned().collect()
    }

    /// The last `tail` lines of a component's logs (stdout and stderr).
    pub async fn logs(&self, component: &str, tail: usize) -> String {
        use futures::StreamExt as _;
        use testcontainers::bollard::query_parameters::LogsOptions;
        let Some(id) = self.containers.get(component) else {
            return String::new();
        };
        let mut stream = self.docker.logs(
            id,
            Some(LogsOptions {
                stdout: true,
                stderr: true,
                tail: tail.to_string(),
                ..Default::default()
            }),
        );
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(out) => text.push_str(&String::from_utf8_lossy(&out.into_bytes())),
                Err(e) => {
                    text.push_str(&format!("(reading the logs failed: {e})\n"));
                    break;
                }
            }
        }
        text
    }

    /// Switches on exactly `defects` in every reference service at run time. Fails with
    /// [`SwitchError::NeedsRestart`] for defects that act only at start-up.
    pub async fn switch_defects(&self, defects: &[String]) -> Result<(), SwitchError> {
        let http = reqwest::Client::new();
        let endpoints = self
            .current_endpoints()
            .await
            .map_err(|e| SwitchError::Failed(e.to_string()))?;
        for (component, url) in &endpoints.controls {
            put_defects(&http, component, url, defects).await?;
        }
        *self.switched.lock().unwrap_or_else(|e| e.into_inner()) = defects.to_vec();
        Ok(())
    }

    /// The defects last switched on at run time (a restarted service must get them again).
    pub fn switched_defects(&self) -> Vec<String> {
        self.switched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts every container that is not running (a crash in an earlier run on this
    /// topology) and waits until each passes its ready check again.
    pub async fn revive(&self) -> Result<Vec<String>, TopologyError> {
        use testcontainers::bollard::query_parameters::{
            InspectContainerOptions, StartContainerOptions,
        };
        let mut revived = vec![];
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i32);
        for (name, id) in &self.containers {
            let info = self
                .docker
                .inspect_container(id, None::<InspectContainerOptions>)
                .await?;
            if info.state.and_then(|s| s.running) == Some(true) {
                continue;
            }
            self.docker
                .start_container(id, None::<StartContainerOptions>)
                .await?;
            revived.push(name.clone());
        }
        for name in &revived {
            super::wait_ready(
                &self.docker,
                &self.system,
                &self.containers[name],
                name,
                Duration::from_secs(60),
                since,
            )
            .await
            .map_err(|cause| TopologyError::DidNotComeBack {
                name: name.clone(),
                cause: Box::new(cause),
            })?;
        }
        Ok(revived)
    }
}
