//! Soak test: a `tasktoken serve` process under mixed concurrent load on all three providers, many completions racing on shared tokens, checked round by round.
//!
//! Run: `TASKTOKEN_SOAK_SECS=600 cargo bench --bench soak` (default 60 s). Outside the
//! default test run. Every round mints AWS, Alibaba and Lambda tasks, fires 8 racing completions
//! (mixed success and failure, random payloads; plus 2 heartbeats on AWS and Lambda) at each token at
//! once, then checks: exactly one winner per token; the stored result is the winner's, byte
//! for byte; the journal holds exactly the round's requests and its 200 completions name
//! each task once, with the winner's body; then activity workers' traffic (6 pollers, 40
//! tasks scheduled while they poll: each task to exactly one poll, input byte for byte);
//! then the mock is reset. The server's resident
//! memory is sampled after every round and must stay flat (the last tenth of the run within
//! 25% + 4 MB of the second tenth, after allocator warm-up). Exits non-zero on any violation.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tasktoken::Provider;

use common::ServeProcess;

const TOKENS_PER_PROVIDER: usize = 150;
/// The providers every round mints tokens of.
const PROVIDERS: [&str; 3] = ["aws", "alibaba", "lambda"];
const RACERS: usize = 8;

#[derive(Debug, Clone)]
struct Racer {
    provider: &'static str,
    token: String,
    task_id: String,
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Success(String),
    Failure(String, String),
    Heartbeat,
}

fn payload(rng: &mut fastrand::Rng) -> String {
    let len = rng.usize(0..200);
    let text: String = (0..len)
        .map(|_| match rng.u8(0..4) {
            0 => rng.alphanumeric(),
            1 => char::from_u32(rng.u32(0xa1..0x7ff)).unwrap_or('é'),
            2 => char::from_u32(rng.u32(0x4e00..0x9fff)).unwrap_or('€'),
            _ => char::from_u32(rng.u32(0x1f600..0x1f64f)).unwrap_or('😀'),
        })
        .collect();
    serde_json::to_string(&json!({"n": rng.u64(..), "text": text})).unwrap()
}

/// The status, body and `x-amzn-ErrorType` (Lambda's errors carry their code only there).
async fn send(
    client: &reqwest::Client,
    base: &str,
    r: &Racer,
) -> Result<(u16, String, String), String> {
    use tasktoken::contract::lambda as l;
    let lambda = |operation, body: String| {
        client
            .post(format!("{base}{}", tasktoken::wire::lambda::path(operation, &r.token)))
            .body(body)
    };
    let request = match (&r.kind, r.provider) {
        (Kind::Success(o), "lambda") => lambda(&l::SEND_CALLBACK_SUCCESS, o.clone()),
        (Kind::Failure(e, c), "lambda") => lambda(
            &l::SEND_CALLBACK_FAILURE,
            json!({"ErrorType": e, "ErrorMessage": c}).to_string(),
        )
        .header("Content-Type", "application/json"),
        (Kind::Heartbeat, "lambda") => lambda(&l::SEND_CALLBACK_HEARTBEAT, String::new()),
        (Kind::Success(o), "aws") => client
            .post(base)
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
            .header("Content-Type", "application/x-amz-json-1.0")
            .body(json!({"taskToken": r.token, "output": o}).to_string()),
        (Kind::Failure(e, c), "aws") => client
            .post(base)
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskFailure")
            .header("Content-Type", "application/x-amz-json-1.0")
            .body(json!({"taskToken": r.token, "error": e, "cause": c}).to_string()),
        (Kind::Heartbeat, _) => client
            .post(base)
            .header("X-Amz-Target", "AWSStepFunctions.SendTaskHeartbeat")
            .header("Content-Type", "application/x-amz-json-1.0")
            .body(json!({"taskToken": r.token}).to_string()),
        (kind, _) => {
            let (action, form) = match kind {
                Kind::Success(o) => ("ReportTaskSucceeded", vec![("Output", o.as_str())]),
                Kind::Failure(e, c) => {
                    ("ReportTaskFailed", vec![("Error", e.as_str()), ("Cause", c.as_str())])
                }
                Kind::Heartbeat => unreachable!(),
            };
            let query = tasktoken::wire::alibaba::encode_params([
                ("Action", action),
                ("Version", "2019-03-15"),
                ("Format", "json"),
                ("TaskToken", r.token.as_str()),
            ]);
            client
                .post(format!("{base}/?{query}"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(tasktoken::wire::alibaba::encode_params(form))
        }
    };
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, response.text().await.map_err(|e| e.to_string())?, error_type))
}

/// The (output, error, cause) a journalled request body of `operation` carries.
fn journal_fields(
    provider: &str,
    operation: &str,
    body: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    if provider == "lambda" {
        if operation.ends_with("Success") {
            return (Some(body.to_owned()), None, None);
        }
        let v: Value = serde_json::from_str(body).unwrap_or_default();
        let f = |k: &str| v[k].as_str().map(str::to_owned);
        (None, f("ErrorType"), f("ErrorMessage"))
    } else if provider == "aws" {
        let v: Value = serde_json::from_str(body).unwrap_or_default();
        let f = |k: &str| v[k].as_str().map(str::to_owned);
        (f("output"), f("error"), f("cause"))
    } else {
        let url = reqwest::Url::parse(&format!("http://x/?{body}")).expect("a form body");
        let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
        (pairs.get("Output").cloned(), pairs.get("Error").cloned(), pairs.get("Cause").cloned())
    }
}

/// The (output, error, cause) a winner sent.
fn winner_fields(kind: &Kind) -> (Option<String>, Option<String>, Option<String>) {
    match kind {
        Kind::Success(o) => (Some(o.clone()), None, None),
        Kind::Failure(e, c) => (None, Some(e.clone()), Some(c.clone())),
        Kind::Heartbeat => (None, None, None),
    }
}

async fn json_get(client: &reqwest::Client, url: String) -> Value {
    let text = client.get(url).send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn mint(client: &reqwest::Client, base: &str, provider: &str) -> (String, String) {
    let body = json!({"provider": provider}).to_string();
    let text = client
        .post(format!("{base}/_mock/tasks"))
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    (v["taskToken"].as_str().unwrap().to_owned(), v["taskId"].as_str().unwrap().to_owned())
}

/// One round; returns the number of provider requests sent, or the violations found.
async fn round(
    client: &reqwest::Client,
    base: &str,
    rng: &mut fastrand::Rng,
) -> Result<usize, Vec<String>> {
    let mut racers = Vec::new();
    for provider in PROVIDERS {
        for _ in 0..TOKENS_PER_PROVIDER {
            let (token, task_id) = mint(client, base, provider).await;
            for i in 0..RACERS + if provider == "alibaba" { 0 } else { 2 } {
                let kind = if i >= RACERS {
                    Kind::Heartbeat
                } else if rng.bool() {
                    Kind::Success(payload(rng))
                } else {
                    Kind::Failure(format!("E{}", rng.u16(..)), payload(rng))
                };
                racers.push(Racer {
                    provider,
                    token: token.clone(),
                    task_id: task_id.clone(),
                    kind,
                });
            }
        }
    }
    rng.shuffle(&mut racers);
    let barrier = Arc::new(tokio::sync::Barrier::new(racers.len()));
    let mut handles = Vec::new();
    for r in racers.clone() {
        let (client, base, barrier) = (client.clone(), base.to_owned(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            send(&client, &base, &r).await
        }));
    }
    let mut violations = Vec::new();
    let mut winners: HashMap<String, Vec<Racer>> = HashMap::new();
    for (r, h) in racers.iter().zip(handles) {
        match h.await.unwrap() {
            Ok((200, _, _)) if !matches!(r.kind, Kind::Heartbeat) => {
                winners.entry(r.task_id.clone()).or_default().push(r.clone())
            }
            Ok((200, _, _)) => {}
            Ok((400, body, error_type))
                if Provider::ALL.iter().any(|p| {
                    let closed = p.contract().outcomes.closed.code;
                    body.contains(closed) || error_type == closed
                }) => {}
            Ok((status, body, _)) => violations.push(format!("unexpected answer {status}: {body}")),
            Err(e) => violations.push(format!("transport error: {e}")),
        }
    }
    let tasks: std::collections::HashSet<&String> = racers.iter().map(|r| &r.task_id).collect();
    for task_id in &tasks {
        let won = winners.get(*task_id).map_or(0, Vec::len);
        if won != 1 {
            violations.push(format!("task {task_id}: {won} winners"));
            continue;
        }
        let winner = &winners[*task_id][0];
        let view = json_get(client, format!("{base}/_mock/tasks/{task_id}")).await;
        let lambda = winner.provider == "lambda";
        let result = view["resultBase64"].as_str().and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        });
        let ok = match &winner.kind {
            Kind::Success(o) if lambda => {
                view["status"] == "SUCCEEDED" && result.as_deref() == Some(o.as_bytes())
            }
            Kind::Failure(e, c) if lambda => {
                view["status"] == "FAILED"
                    && view["errorObject"]["ErrorType"].as_str() == Some(e)
                    && view["errorObject"]["ErrorMessage"].as_str() == Some(c)
            }
            Kind::Success(o) => view["status"] == "SUCCEEDED" && view["output"].as_str() == Some(o),
            Kind::Failure(e, c) => {
                view["status"] == "FAILED"
                    && view["error"].as_str() == Some(e)
                    && view["cause"].as_str() == Some(c)
            }
            Kind::Heartbeat => false,
        };
        if !ok {
            violations.push(format!(
                "task {task_id}: stored {view} is not the winner's {:?}",
                winner.kind
            ));
        }
    }
    let journal = json_get(client, format!("{base}/_mock/journal")).await;
    let entries = journal["entries"].as_array().cloned().unwrap_or_default();
    if journal["dropped"] != 0 || entries.len() != racers.len() {
        violations.push(format!(
            "journal holds {} entries ({} dropped) for {} requests",
            entries.len(),
            journal["dropped"],
            racers.len()
        ));
    }
    let mut journal_winners: HashMap<String, usize> = HashMap::new();
    for e in &entries {
        let operation = e["operation"].as_str().unwrap_or("");
        let completion = !operation.ends_with("Heartbeat");
        if e["status"] == 200 && completion {
            let id = e["taskId"].as_str().unwrap_or("").to_owned();
            *journal_winners.entry(id.clone()).or_default() += 1;
            let body = e["body"].as_str().unwrap_or("");
            let Some(w) = winners.get(&id).and_then(|w| w.first()) else {
                violations.push(format!("journal names task {id}, which had no winner"));
                continue;
            };
            if journal_fields(w.provider, operation, body) != winner_fields(&w.kind) {
                violations
                    .push(format!("journal entry for task {id} does not carry the winner's body"));
            }
        }
    }
    if journal_winners.len() != tasks.len() || journal_winners.values().any(|n| *n != 1) {
        violations.push(format!(
            "journal names {} winning tasks for {} tasks",
            journal_winners.len(),
            tasks.len()
        ));
    }
    let polls = activity_phase(client, base, rng, &mut violations).await;
    let reset = client.post(format!("{base}/_mock/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    if violations.is_empty() {
        Ok(racers.len() + polls)
    } else {
        Err(violations)
    }
}

/// Activity tasks per round, and the pollers that share them.
const ACTIVITY_TASKS: usize = 40;
const POLLERS: usize = 6;

/// Activity workers' traffic: `POLLERS` concurrent `GetActivityTask` loops and
/// `ACTIVITY_TASKS` tasks scheduled while they poll; every task must reach exactly one poll,
/// its input byte for byte. Pollers still held at the end are released by extra tasks (the
/// reset that follows forgets those not taken). Returns the polls sent.
async fn activity_phase(
    client: &reqwest::Client,
    base: &str,
    rng: &mut fastrand::Rng,
    violations: &mut Vec<String>,
) -> usize {
    let created = client
        .post(format!("{base}/_mock/activities"))
        .body(json!({"name": "soak"}).to_string())
        .send()
        .await
        .unwrap();
    let arn: Value = serde_json::from_str(&created.text().await.unwrap()).unwrap();
    let arn = arn["activityArn"].as_str().unwrap().to_owned();
    let got = Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pollers: Vec<_> = (0..POLLERS)
        .map(|i| {
            let (client, base, arn, got, sent) =
                (client.clone(), base.to_owned(), arn.clone(), got.clone(), sent.clone());
            tokio::spawn(async move {
                while got.lock().unwrap().iter().filter(|(_, i)| i != "\"release\"").count()
                    < ACTIVITY_TASKS
                {
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let r = client
                        .post(&base)
                        .header("X-Amz-Target", "AWSStepFunctions.GetActivityTask")
                        .header("Content-Type", "application/x-amz-json-1.0")
                        .body(
                            json!({"activityArn": arn, "workerName": format!("w{i}")}).to_string(),
                        )
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    let status = r.status().as_u16();
                    let v: Value =
                        serde_json::from_str(&r.text().await.map_err(|e| e.to_string())?)
                            .map_err(|e| e.to_string())?;
                    if status != 200 {
                        return Err(format!("a poll answered {status}: {v}"));
                    }
                    if let (Some(t), Some(input)) = (v["taskToken"].as_str(), v["input"].as_str()) {
                        got.lock().unwrap().push((t.to_owned(), input.to_owned()));
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    let mut inputs = Vec::new();
    for i in 0..ACTIVITY_TASKS {
        let input = json!({"i": i, "p": payload(rng)}).to_string();
        let body = json!({"provider": "aws", "activityArn": arn, "input": input});
        client.post(format!("{base}/_mock/tasks")).body(body.to_string()).send().await.unwrap();
        inputs.push(input);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < ACTIVITY_TASKS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for _ in 0..POLLERS {
        let body = json!({"provider": "aws", "activityArn": arn, "input": "\"release\""});
        client.post(format!("{base}/_mock/tasks")).body(body.to_string()).send().await.unwrap();
    }
    for p in pollers {
        if let Err(e) = p.await.unwrap() {
            violations.push(format!("activity poller: {e}"));
        }
    }
    let got = got.lock().unwrap().clone();
    let tokens: std::collections::HashSet<&String> = got.iter().map(|(t, _)| t).collect();
    if tokens.len() != got.len() {
        violations.push(format!(
            "{} deliveries of {} distinct activity tasks",
            got.len(),
            tokens.len()
        ));
    }
    let mut received: Vec<&String> =
        got.iter().map(|(_, i)| i).filter(|i| i.as_str() != "\"release\"").collect();
    received.sort();
    let mut wanted: Vec<&String> = inputs.iter().collect();
    wanted.sort();
    if received != wanted {
        violations.push(format!(
            "activity tasks: {} of {} received as scheduled",
            received.iter().filter(|i| wanted.contains(i)).count(),
            ACTIVITY_TASKS
        ));
    }
    sent.load(std::sync::atomic::Ordering::Relaxed)
}

fn main() {
    let seconds: u64 =
        std::env::var("TASKTOKEN_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut server =
        ServeProcess::spawn(&["--port", "0", "--journal-capacity", "100000", "--poll-hold", "5"])
            .expect("start tasktoken serve");
    let base = server.base.clone();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().unwrap();
    let mut rng = fastrand::Rng::with_seed(seconds);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let (mut rounds, mut requests, mut failures) = (0u64, 0usize, 0usize);
    let mut rss = Vec::new();
    let mut next_report = started + Duration::from_secs(10);
    while Instant::now() < deadline && rounds < 1_000_000 {
        match runtime.block_on(round(&client, &base, &mut rng)) {
            Ok(n) => requests += n,
            Err(v) => {
                failures += v.len();
                for line in v.iter().take(5) {
                    eprintln!("violation: {line}");
                }
            }
        }
        rounds += 1;
        rss.push(server.rss_kb());
        if Instant::now() >= next_report {
            println!(
                "{:>5.0} s  rounds {rounds:>6}  requests {requests:>9}  server RSS {:>6} kB  violations {failures}",
                started.elapsed().as_secs_f64(),
                rss.last().copied().unwrap_or(0)
            );
            next_report += Duration::from_secs(10);
        }
    }
    let stopped = server.stop();
    let elapsed = started.elapsed().as_secs_f64();
    // Baseline after warm-up (the allocator's arenas fill during the first rounds): the
    // second tenth of the samples, against the last tenth.
    let tenth = (rss.len() / 10).max(1);
    let early_window = &rss[tenth.min(rss.len() - 1)..(2 * tenth).min(rss.len())];
    let early = early_window.iter().sum::<u64>() / early_window.len().max(1) as u64;
    let late = rss[rss.len() - tenth..].iter().sum::<u64>() / tenth as u64;
    let peak = rss.iter().copied().max().unwrap_or(0);
    println!("== soak summary ==");
    println!(
        "duration {elapsed:.0} s, rounds {rounds}, provider requests {requests} ({:.0}/s)",
        requests as f64 / elapsed
    );
    println!(
        "tokens {} (each with {RACERS} racing completions), violations {failures}",
        rounds as usize * PROVIDERS.len() * TOKENS_PER_PROVIDER
    );
    println!("server RSS: second tenth {early} kB, last tenth {late} kB, peak {peak} kB; serve {stopped}");
    let flat = late <= early + early / 4 + 4096;
    println!(
        "memory flat (last tenth within 25% + 4 MB of the second): {}",
        if flat { "yes" } else { "NO" }
    );
    if failures > 0 || !flat || !stopped.clean() {
        std::process::exit(1);
    }
}
