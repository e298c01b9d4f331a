//! `qalens bench`: the latency the gateway adds. The same request (the enabled pack's
//! probe, [`qalens_steps::packs::bench_probe`]) goes, interleaved, straight to the service that
//! answers it, through one gateway replica (auth, rate limit, breaker, proxy) and through the front door (nginx
//! plus a replica). Figures are percentiles of the same run, so the ratios are what
//! count, not the absolute numbers on a noisy machine.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use contract_tools::jwt::Tier;
use serde::Serialize;

use crate::runner;
use std::sync::Arc;

use qalens_engine::topology::TopologyOptions;
use qalens_model::system::System;

/// How long the bench's token is valid (seconds): longer than any bench run.
const BENCH_TOKEN_TTL: u64 = 24 * 3600;

/// Percentiles of one path, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Latency {
    pub(crate) path: &'static str,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchReport {
    pub(crate) requests: usize,
    pub(crate) direct: Latency,
    pub(crate) gateway: Latency,
    pub(crate) frontdoor: Latency,
}

impl BenchReport {
    pub(crate) fn render(&self) -> String {
        let row = |l: &Latency| {
            format!(
                "  {:<28} p50 {:>7.2} ms   p99 {:>7.2} ms   p50 x{:.2} of direct, +{:.2} ms\n",
                l.path,
                l.p50_us as f64 / 1000.0,
                l.p99_us as f64 / 1000.0,
                l.p50_us as f64 / self.direct.p50_us.max(1) as f64,
                (l.p50_us as f64 - self.direct.p50_us as f64) / 1000.0,
            )
        };
        format!(
            "gateway latency, {} requests per path (interleaved):\n{}{}{}",
            self.requests,
            row(&self.direct),
            row(&self.gateway),
            row(&self.frontdoor)
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0, |d| d.as_micros() as u64)
}

fn latency(path: &'static str, mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    Latency {
        path,
        p50_us: percentile(&samples, 0.50),
        p99_us: percentile(&samples, 0.99),
    }
}

async fn timed(http: &reqwest::Client, url: &str, auth: Option<&str>) -> anyhow::Result<Duration> {
    let mut req = http.get(url);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let started = Instant::now();
    let res = req.send().await?;
    let status = res.status();
    res.bytes().await?;
    let took = started.elapsed();
    anyhow::ensure!(status.is_success(), "GET {url} answered {status}");
    Ok(took)
}

/// Starts a topology, measures `requests` requests per path after a warm-up, tears down.
pub(crate) async fn run(requests: usize, system: Arc<System>) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(
        (10..=4_000).contains(&requests),
        "--requests must be 10 to 4000 (the paid quota is 10,000 a minute)"
    );
    let docker = runner::docker_swept().await?;
    let topo = runner::start(&docker, TopologyOptions::from_env(system.clone())?, false).await?;
    let outcome = measure(topo.endpoints(), &system, requests).await;
    let teardown = topo.teardown().await;
    let report = outcome?;
    teardown?;
    Ok(report)
}

async fn measure(
    e: &qalens_engine::topology::Endpoints,
    system: &System,
    requests: usize,
) -> anyhow::Result<BenchReport> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let probe = qalens_steps::packs::bench_probe(system).context(
        "qalens bench needs a pack that names a path to time (x-qalens.packs: [reference])",
    )?;
    // From the system file's identity, whichever mode (None: the system has none).
    let who = qalens_engine::tokens::Who {
        client: "qalens-bench",
        tier: Tier::Paid,
        scope: probe.scope,
    };
    let auth = e
        .identity
        .valid(&who, qalens_engine::tokens::now() + BENCH_TOKEN_TTL)
        .await
        .map_err(|err| anyhow::anyhow!("x-qalens.identity: {err}"))?;
    let path = probe.path;
    let direct = e
        .service(probe.service, probe.port)
        .with_context(|| format!("{} publishes no port {}", probe.service, probe.port))?;
    let direct_url = format!("http://{direct}{path}");
    let gateway_url = format!("{}{path}", e.gateways[0]);
    let frontdoor_url = format!("{}{path}", e.gateway);
    // The default policy allows a paid client 10,000 requests a minute per replica
    // pool; stay well inside it so no measurement is a 429.
    for _ in 0..20 {
        timed(&http, &direct_url, None).await?;
        timed(&http, &gateway_url, auth.as_deref()).await?;
        timed(&http, &frontdoor_url, auth.as_deref()).await?;
    }
    let (mut d, mut g, mut f) = (vec![], vec![], vec![]);
    for _ in 0..requests {
        d.push(timed(&http, &direct_url, None).await?);
        g.push(timed(&http, &gateway_url, auth.as_deref()).await?);
        f.push(timed(&http, &frontdoor_url, auth.as_deref()).await?);
    }
    Ok(BenchReport {
        requests,
        direct: latency("straight to the service", d),
        gateway: latency("through gateway replica 1", g),
        frontdoor: latency("through the front door", f),
    })
}
