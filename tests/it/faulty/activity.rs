//! Faulty activity targets: an HTTP proxy in front of a real `MockServer` that injects one defect, since long polls need an async server (wiremock answers synchronously).
//!
//! Requests the defect does not touch are forwarded unchanged, the control API included, so
//! the checker's `mock` token source works through the proxy.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};

use super::proxy::{self, respond, Answer, ProxyTarget};
use hyper::body::Incoming;
use serde_json::{json, Value};
use tasktoken::{Clock, Mock, MockConfig, MockServer};

/// One defect of an activity implementation, each seen in (or modelled on) a real emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityDefect {
    /// None: the proxy forwards everything (the reference run).
    Faithful,
    /// An idle poll answers `{"taskToken":"","input":""}`.
    // Source: research activity-workers.md §2.5 (fakecloud holds 5 s and answers an empty token).
    EmptyTokenWhenIdle,
    /// No long poll: a poll with nothing queued answers `{}` at once.
    // Source: research §2.2 (LocalStack checks once a second instead of holding); §6.3 item 3.
    NoLongPoll,
    /// A delivered task is delivered again to the next poll that would have been idle.
    // Source: research §1.3 (the exactly-once rule) and §2.4 (kumo's timeout-versus-enqueue race).
    Redelivered,
    /// Every third delivered task is lost: its poll answers `{}`.
    // Source: research §1.3 (a dropped answer loses the token) and §6.4 ("the task is lost").
    EveryThirdLost,
    /// Tasks are delivered in swapped pairs (1, 0, 3, 2, …).
    // Source: research §1.7 question 3 (order not documented; our FIFO decision).
    SwappedPairs,
    /// `ActivityDoesNotExist` says `Activity does not exist` (no ARN).
    // Source: research §1.4 (the AWS text names the ARN).
    NotExistWithoutArn,
    /// A malformed ARN is a `ValidationException`.
    // Source: research §1.4 (AWS: `InvalidArn`, "Invalid ARN prefix").
    InvalidArnAsValidation,
    /// A second `CreateActivity` with the same name is `ActivityAlreadyExists`.
    // Source: research §1.2 (the model's ActivityAlreadyExists is for a different encryption configuration only) and §2.1 (moto).
    CreateNotIdempotent,
    /// Deleting a deleted activity is `ActivityDoesNotExist`.
    // Source: research §1.4 (AWS answers 200 twice).
    DeleteNotIdempotent,
    /// `workerName` is not validated (an 81-character one is dropped and the poll is held).
    // Source: research §1.2 (botocore sends an 81-character workerName; the server must refuse it).
    WorkerNameUnchecked,
    /// A held poll blocks every other API request until it ends (polls held 5 s here).
    // Source: localstack#2815 (research §3: polls starving other requests).
    Serialized,
}

/// A faulty activity target: the mock behind, the proxy in front.
pub type ActivityTarget = ProxyTarget;

struct Proxy {
    defect: ActivityDefect,
    upstream: String,
    client: reqwest::Client,
    deliveries: AtomicU64,
    last_delivered: Mutex<Option<Bytes>>,
    stash: Mutex<Vec<Bytes>>,
    created: Mutex<HashSet<String>>,
    deleted: Mutex<HashSet<String>>,
    polls_first: tokio::sync::RwLock<()>,
}

/// Starts the mock (real clock) and the proxy with `defect`.
pub async fn serve(defect: ActivityDefect) -> ActivityTarget {
    // Polls held 1 s, or 5 s where the defect is what a held poll blocks.
    let hold = if defect == ActivityDefect::Serialized { 5 } else { 1 };
    let config = MockConfig { clock: Clock::real(), ..MockConfig::default() }
        .poll_hold(Duration::from_secs(hold));
    let mock = MockServer::start_with(Mock::new(config).unwrap()).await.unwrap();
    let proxy = Arc::new(Proxy {
        defect,
        upstream: mock.uri(),
        client: reqwest::Client::builder().timeout(Duration::from_secs(90)).build().unwrap(),
        deliveries: AtomicU64::new(0),
        last_delivered: Mutex::new(None),
        stash: Mutex::new(Vec::new()),
        created: Mutex::new(HashSet::new()),
        deleted: Mutex::new(HashSet::new()),
        polls_first: tokio::sync::RwLock::new(()),
    });
    proxy::listen(mock, move |req| {
        let proxy = proxy.clone();
        async move { proxy.answer(req).await }
    })
    .await
}

impl Proxy {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let operation = target.strip_prefix("AWSStepFunctions.").unwrap_or("");
        let (_shared, _exclusive) = match self.defect {
            ActivityDefect::Serialized if operation == "GetActivityTask" => {
                (Some(self.polls_first.read().await), None)
            }
            ActivityDefect::Serialized if !operation.is_empty() => {
                (None, Some(self.polls_first.write().await))
            }
            _ => (None, None),
        };
        let members: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answer = match (self.defect, operation) {
            (ActivityDefect::EmptyTokenWhenIdle, "GetActivityTask") => {
                let a = self.forward(&parts, body).await;
                if a.status == 200 && a.body.as_ref() == b"{}" {
                    Answer { body: Bytes::from_static(br#"{"taskToken":"","input":""}"#), ..a }
                } else {
                    a
                }
            }
            (ActivityDefect::NoLongPoll, "GetActivityTask") => {
                let queued = self.queued(&members["activityArn"]).await;
                if queued == Some(0) {
                    ok(b"{}")
                } else {
                    self.forward(&parts, body).await
                }
            }
            (ActivityDefect::Redelivered, "GetActivityTask") => {
                let a = self.forward(&parts, body).await;
                if a.status == 200 && a.body.as_ref() == b"{}" {
                    match self.last_delivered.lock().unwrap().take() {
                        Some(again) => Answer { body: again, ..a },
                        None => a,
                    }
                } else {
                    if a.status == 200 {
                        *self.last_delivered.lock().unwrap() = Some(a.body.clone());
                    }
                    a
                }
            }
            (ActivityDefect::EveryThirdLost, "GetActivityTask") => {
                let a = self.forward(&parts, body).await;
                let delivered = a.status == 200 && a.body.as_ref() != b"{}";
                if delivered && self.deliveries.fetch_add(1, Ordering::SeqCst) % 3 == 2 {
                    Answer { body: Bytes::from_static(b"{}"), ..a }
                } else {
                    a
                }
            }
            (ActivityDefect::SwappedPairs, "GetActivityTask") => {
                if let Some(stashed) = self.stash.lock().unwrap().pop() {
                    return respond(ok(&stashed));
                }
                let first = self.forward(&parts, body.clone()).await;
                let queued = self.queued(&members["activityArn"]).await.unwrap_or(0);
                if first.status == 200 && first.body.as_ref() != b"{}" && queued > 0 {
                    let second = self.forward(&parts, body).await;
                    self.stash.lock().unwrap().push(first.body);
                    second
                } else {
                    first
                }
            }
            (ActivityDefect::NotExistWithoutArn, _) => {
                let a = self.forward(&parts, body).await;
                if String::from_utf8_lossy(&a.body).contains("#ActivityDoesNotExist") {
                    let body = json!({"__type": "com.amazonaws.swf.service.v2.model#ActivityDoesNotExist", "message": "Activity does not exist"});
                    Answer { body: Bytes::from(body.to_string()), ..a }
                } else {
                    a
                }
            }
            (ActivityDefect::InvalidArnAsValidation, _) => {
                let a = self.forward(&parts, body).await;
                if String::from_utf8_lossy(&a.body).contains("#InvalidArn") {
                    let body = json!({"__type": "com.amazon.coral.validate#ValidationException", "message": "1 validation error detected: Value at 'activityArn' failed to satisfy constraint: Member must satisfy regular expression pattern"});
                    Answer { body: Bytes::from(body.to_string()), ..a }
                } else {
                    a
                }
            }
            (ActivityDefect::CreateNotIdempotent, "CreateActivity") => {
                let name = members["name"].as_str().unwrap_or("").to_owned();
                if !self.created.lock().unwrap().insert(name.clone()) {
                    error("ActivityAlreadyExists", &format!("Activity already exists: {name}"))
                } else {
                    self.forward(&parts, body).await
                }
            }
            (ActivityDefect::DeleteNotIdempotent, "DeleteActivity") => {
                let arn = members["activityArn"].as_str().unwrap_or("").to_owned();
                if !self.deleted.lock().unwrap().insert(arn.clone()) {
                    error("ActivityDoesNotExist", &format!("Activity Does Not Exist: '{arn}'"))
                } else {
                    self.forward(&parts, body).await
                }
            }
            (ActivityDefect::WorkerNameUnchecked, "GetActivityTask") => {
                let mut m = members.clone();
                if m["workerName"].as_str().is_some_and(|w| w.chars().count() > 80) {
                    m.as_object_mut().map(|o| o.remove("workerName"));
                }
                self.forward(&parts, Bytes::from(m.to_string())).await
            }
            _ => self.forward(&parts, body).await,
        };
        respond(answer)
    }

    async fn forward(&self, parts: &http::request::Parts, body: Bytes) -> Answer {
        let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        proxy::forward(&self.client, &self.upstream, parts, path, body).await
    }

    /// `queuedTasks` of an activity, from the mock's control API.
    async fn queued(&self, arn: &Value) -> Option<u64> {
        let r = self.client.get(format!("{}/_mock/activities", self.upstream)).send().await.ok()?;
        let v: Value = serde_json::from_slice(&r.bytes().await.ok()?).ok()?;
        v["activities"].as_array()?.iter().find(|a| &a["activityArn"] == arn)?["queuedTasks"]
            .as_u64()
    }
}

fn ok(body: &[u8]) -> Answer {
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", "application/x-amz-json-1.0".parse().unwrap());
    headers.insert("x-amzn-requestid", "3f8a1c2e-0d4b-4c6e-9a7f-1b2c3d4e5f60".parse().unwrap());
    Answer { status: 200, headers, body: Bytes::copy_from_slice(body) }
}

fn error(code: &str, message: &str) -> Answer {
    let body =
        json!({"__type": format!("com.amazonaws.swf.service.v2.model#{code}"), "message": message});
    Answer { status: 400, ..ok(body.to_string().as_bytes()) }
}
