//! Helpers for the tests that run the real `qalens` binary and inspect Docker.
#![allow(dead_code)]

pub mod formatter;
pub mod junit;
pub mod messages;

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use qalens_engine::cleanup::{self, RunResources};

pub fn fixtures(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn qalens(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qalens"));
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The resources in Docker owned by process `pid`.
pub fn owned_by(pid: u32) -> Vec<RunResources> {
    runtime().block_on(async {
        let docker = cleanup::docker().await.expect("docker");
        cleanup::list_runs(&docker)
            .await
            .expect("list runs")
            .into_iter()
            .filter(|r| r.owner.split(':').next() == Some(pid.to_string().as_str()))
            .collect()
    })
}

/// Waits (up to 120 s) until process `child` owns at least `containers` containers.
pub fn wait_for_containers(child: &mut Child, containers: usize) {
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        let n: usize = owned_by(child.id())
            .iter()
            .map(|r| r.containers.len())
            .sum();
        if n >= containers {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("qalens exited ({status}) before it had {containers} containers");
        }
        assert!(
            Instant::now() < end,
            "qalens never had {containers} containers"
        );
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

/// Runs the `messages` fixture (one scenario fails on purpose) with `flag` writing its
/// report to `name` in a new directory; returns the report's path and the run's output.
/// The caller holds a [`topology_slot`].
pub fn run_messages_fixture(flag: &str, name: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "qalens-{}-{}",
        flag.trim_start_matches('-'),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join(name);
    let (status, out) = finish(
        qalens(&[
            "run",
            fixtures("messages").to_str().unwrap(),
            flag,
            report.to_str().unwrap(),
        ])
        .spawn()
        .unwrap(),
    );
    assert_eq!(
        status.code(),
        Some(1),
        "one scenario fails on purpose:\n{out}"
    );
    (report, out)
}

pub fn finish(child: Child) -> (ExitStatus, String) {
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

pub fn assert_nothing_left(pid: u32, output: &str) {
    let left = owned_by(pid);
    assert!(
        left.is_empty(),
        "run left resources behind: {left:?}\n{output}"
    );
}

pub fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} failed");
}

/// A child's stdout and stderr, read line by line as they come.
pub struct Lines {
    rx: std::sync::mpsc::Receiver<String>,
    seen: std::cell::RefCell<String>,
}

impl Lines {
    /// Takes the child's piped stdout and stderr.
    pub fn of(child: &mut Child) -> Self {
        use std::io::BufRead as _;
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(line);
            }
        });
        Self {
            rx,
            seen: Default::default(),
        }
    }

    /// Waits until a line containing `needle` arrives; false at the deadline or when the
    /// child closed its output.
    pub fn wait_for(&self, needle: &str, deadline: Duration) -> bool {
        let end = Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.borrow_mut().push_str(&line);
                    self.seen.borrow_mut().push('\n');
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// Everything read so far.
    pub fn text(&self) -> String {
        self.seen.borrow().clone()
    }

    /// Everything, once the child has closed its output.
    pub fn rest(&self) -> String {
        while let Ok(line) = self.rx.recv() {
            self.seen.borrow_mut().push_str(&line);
            self.seen.borrow_mut().push('\n');
        }
        self.text()
    }
}

/// Topologies that tests of one binary may start at once. Two still shows that runs on
/// one machine do not collide; five at once (one per cleanup test) starve a 2-core
/// machine until a component misses its 90 s start-up deadline.
const TOPOLOGY_SLOTS: usize = 2;

static SLOTS: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

/// Holds one of [`TOPOLOGY_SLOTS`] until dropped.
pub struct TopologySlot;

/// Waits for a free topology slot.
pub fn topology_slot() -> TopologySlot {
    let (lock, freed) = &SLOTS;
    let mut taken = lock.lock().unwrap_or_else(|e| e.into_inner());
    while *taken >= TOPOLOGY_SLOTS {
        taken = freed.wait(taken).unwrap_or_else(|e| e.into_inner());
    }
    *taken += 1;
    TopologySlot
}

impl Drop for TopologySlot {
    fn drop(&mut self) {
        let (lock, freed) = &SLOTS;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}
