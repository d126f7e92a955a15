//! How long the default conformance suite takes against the embedded mock, both providers: the README's main job, timed.
//!
//! Run: `cargo bench --bench suite` (release build; `TASKTOKEN_SUITE_RUNS`, default 3). Each
//! run is `tasktoken check` with its defaults (76 checks, 32 cases per property, 2 checks at
//! once) for AWS then Alibaba; the target is under 2 s on a 2-core machine.

use std::time::{Duration, Instant};

use tasktoken::check::report::Progress;
use tasktoken::check::{run_blocking, CheckConfig};
use tasktoken::Provider;

fn main() {
    let runs: usize =
        std::env::var("TASKTOKEN_SUITE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let mut totals = Vec::new();
    for run in 1..=runs.max(1) {
        let started = Instant::now();
        let mut line = format!("run {run}:");
        for provider in Provider::ALL {
            let began = Instant::now();
            let mut config = CheckConfig::new(provider);
            config.seed = Some(run as u64);
            let report = run_blocking(&config, &Progress::new(0, false)).expect("the suite runs");
            let (pass, fail, warn, skip) = report.counts();
            line += &format!(
                "  {provider} {:.2} s ({pass} pass, {fail} fail, {warn} warn, {skip} skip)",
                began.elapsed().as_secs_f64()
            );
            assert!(report.conformant(), "the reference mock must be conformant");
        }
        let total = started.elapsed();
        println!("{line}  total {:.2} s", total.as_secs_f64());
        totals.push(total);
    }
    totals.sort();
    let median = totals[totals.len() / 2];
    let verdict = if median < Duration::from_secs(2) { "PASS" } else { "FAIL" };
    println!(
        "median of {} runs: {:.2} s (target under 2 s: {verdict})",
        totals.len(),
        median.as_secs_f64()
    );
}
