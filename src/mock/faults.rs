//! Fault injection and throttling: a chosen catalogue error, latency or a connection reset for the next N requests (or a fraction of them), and the documented quota.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::contract::Provider;

/// One fault rule, as the control API (`POST /_mock/faults`) takes it.
///
/// ```
/// let spec: tasktoken::mock::FaultSpec = serde_json::from_str(
///     r#"{"provider":"alibaba","error":"ResourceThrottled","count":3}"#,
/// ).unwrap();
/// assert_eq!(spec.count, Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    /// Which provider API it applies to.
    pub provider: Provider,
    /// Only requests for this operation (`SendTaskSuccess`, `ReportTaskFailed`); all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Answer with this catalogue error code instead of processing the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Delay the answer by this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Close the connection without an answer (after processing nothing).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// Apply to the next N matching requests, then retire; forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Apply to this fraction (0 to 1) of matching requests; all when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl FaultSpec {
    /// Checks the rule: a known error code, a probability in range, something to do, and
    /// not an error and a reset at once.
    pub fn validate(&self) -> Result<(), FaultError> {
        let contract = self.provider.contract();
        if let Some(code) = &self.error {
            if contract.error(code).is_none() {
                return Err(FaultError::UnknownError {
                    code: code.clone(),
                    provider: self.provider,
                });
            }
        }
        if self.error.is_some() && self.reset {
            return Err(FaultError::ErrorAndReset);
        }
        if self.error.is_none() && !self.reset && self.latency_ms.is_none() {
            return Err(FaultError::NothingToDo);
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultError::Probability(p));
            }
        }
        if let Some(op) = &self.operation {
            if !contract.has_operation(op) {
                return Err(FaultError::UnknownOperation {
                    operation: op.clone(),
                    provider: self.provider,
                });
            }
        }
        Ok(())
    }
}

/// Why a fault rule was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// The error code is not in the provider's catalogue.
    #[error("{code} is not in the {provider} catalogue: {codes}", codes = catalogue(*.provider))]
    UnknownError {
        /// The code given.
        code: String,
        /// The rule's provider.
        provider: Provider,
    },
    /// Both an error and a reset.
    #[error("give error or reset, not both")]
    ErrorAndReset,
    /// Neither an error, a reset nor a latency.
    #[error("give error, reset or latencyMs")]
    NothingToDo,
    /// A probability outside 0..=1.
    #[error("probability must be between 0 and 1 (got {0})")]
    Probability(f64),
    /// The operation is not one of the provider's.
    #[error("{operation} is not a {provider} operation")]
    UnknownOperation {
        /// The operation given.
        operation: String,
        /// The rule's provider.
        provider: Provider,
    },
}

fn catalogue(provider: Provider) -> String {
    provider.contract().errors.iter().map(|e| e.code).collect::<Vec<_>>().join(", ")
}

/// A fault rule with its id and how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    /// Id, for the listing.
    pub id: u64,
    /// The rule.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// Requests it applied to so far.
    pub fired: u64,
}

/// What a fired fault asks of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    /// Answer with this error code.
    pub error: Option<String>,
    /// What the transport must do.
    pub effect: Effect,
}

/// What the transport must do besides sending the response (latency, a reset), as an
/// injected fault asks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effect {
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Close the connection instead of answering.
    pub reset: bool,
}

/// The fault rules of one mock.
#[derive(Debug, Default)]
pub struct Faults {
    armed: AtomicBool,
    next_id: AtomicU64,
    rules: Mutex<Vec<ActiveFault>>,
}

impl Faults {
    /// Adds a rule; returns its id.
    pub fn add(&self, spec: FaultSpec) -> Result<u64, FaultError> {
        spec.validate()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        rules.push(ActiveFault { id, spec, fired: 0 });
        self.armed.store(true, Ordering::Release);
        Ok(id)
    }

    /// The rules still active.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.armed.store(false, Ordering::Release);
    }

    /// The first rule matching a request for `operation` of `provider` that fires.
    ///
    /// A rule without an operation passes over an operation that cannot answer its error: one
    /// that another operation of the provider lists and this one does not (a KMS error on a
    /// heartbeat, which neither Step Functions nor Lambda lists for it).
    pub fn fire(&self, provider: Provider, operation: &str) -> Option<Firing> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let operations = provider.contract().operations;
        let listed =
            |op: &crate::contract::Operation, code: &str| op.errors.iter().any(|e| e.code == code);
        let answerable = |code: &str| {
            let this = operations.iter().find(|op| op.name == operation);
            let elsewhere = operations.iter().any(|op| listed(op, code));
            !elsewhere || this.is_none_or(|op| listed(op, code))
        };
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let index = rules.iter().position(|r| {
            r.spec.provider == provider
                && r.spec.operation.as_deref().is_none_or(|op| op == operation)
                && (r.spec.operation.is_some() || r.spec.error.as_deref().is_none_or(answerable))
                && r.spec.probability.is_none_or(|p| fastrand::f64() < p)
        })?;
        let rule = &mut rules[index];
        rule.fired += 1;
        let firing = Firing {
            error: rule.spec.error.clone(),
            effect: Effect {
                delay: rule.spec.latency_ms.map(Duration::from_millis),
                reset: rule.spec.reset,
            },
        };
        if rule.spec.count.is_some_and(|n| rule.fired >= n) {
            rules.remove(index);
            if rules.is_empty() {
                self.armed.store(false, Ordering::Release);
            }
        }
        Some(firing)
    }
}

/// A token bucket on the mock's clock.
#[derive(Debug)]
pub(crate) struct Throttle {
    capacity: f64,
    refill_per_ms: f64,
    state: Mutex<(f64, u64)>,
}

impl Throttle {
    /// A full bucket of `capacity`, refilled at `per_second`, starting at `now_ms`.
    pub fn new(capacity: u32, per_second: u32, now_ms: u64) -> Throttle {
        Throttle {
            capacity: f64::from(capacity),
            refill_per_ms: f64::from(per_second) / 1000.0,
            state: Mutex::new((f64::from(capacity), now_ms)),
        }
    }

    /// Takes a token if there is one.
    pub fn allow(&self, now_ms: u64) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, last) = *state;
        let elapsed = now_ms.saturating_sub(last) as f64;
        let tokens = (tokens + elapsed * self.refill_per_ms).min(self.capacity);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now_ms.max(last));
            true
        } else {
            *state = (tokens, now_ms.max(last));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn counted_faults_retire() {
        let f = Faults::default();
        f.add(spec(r#"{"provider":"aws","error":"KmsThrottlingException","count":2,"operation":"SendTaskSuccess"}"#)).unwrap();
        assert!(f.fire(Provider::Aws, "SendTaskHeartbeat").is_none());
        assert!(f.fire(Provider::Alibaba, "SendTaskSuccess").is_none());
        assert!(f.fire(Provider::Aws, "SendTaskSuccess").is_some());
        assert!(f.fire(Provider::Aws, "SendTaskSuccess").is_some());
        assert!(f.fire(Provider::Aws, "SendTaskSuccess").is_none());
        assert!(f.list().is_empty());
    }

    #[test]
    fn a_rule_without_an_operation_skips_operations_that_cannot_answer_its_error() {
        for (provider, kms, heartbeat, success) in [
            (
                "lambda",
                "KMSDisabledException",
                "SendDurableExecutionCallbackHeartbeat",
                "SendDurableExecutionCallbackSuccess",
            ),
            ("aws", "KmsThrottlingException", "SendTaskHeartbeat", "SendTaskSuccess"),
        ] {
            let f = Faults::default();
            f.add(spec(&format!(r#"{{"provider":"{provider}","error":"{kms}","count":1}}"#)))
                .unwrap();
            let p: Provider = provider.parse().unwrap();
            assert!(f.fire(p, heartbeat).is_none(), "{provider}");
            assert_eq!(f.fire(p, success).and_then(|x| x.error).as_deref(), Some(kms));
            // Errors no operation lists (throttling, the framework's) fire on every one.
            f.add(spec(&format!(r#"{{"provider":"{provider}","latencyMs":1,"count":1}}"#)))
                .unwrap();
            assert!(f.fire(p, heartbeat).is_some(), "{provider}");
        }
        let f = Faults::default();
        f.add(spec(r#"{"provider":"aws","error":"ThrottlingException","count":1}"#)).unwrap();
        assert!(f.fire(Provider::Aws, "SendTaskHeartbeat").is_some());
    }

    #[test]
    fn bad_rules_are_refused() {
        let f = Faults::default();
        assert!(f.add(spec(r#"{"provider":"aws","error":"TaskAlreadyCompleted"}"#)).is_err());
        assert!(f.add(spec(r#"{"provider":"aws","error":"InvalidToken","reset":true}"#)).is_err());
        assert!(f.add(spec(r#"{"provider":"aws"}"#)).is_err());
        assert!(f.add(spec(r#"{"provider":"alibaba","latencyMs":5,"probability":1.5}"#)).is_err());
        assert!(f
            .add(spec(r#"{"provider":"alibaba","reset":true,"operation":"SendTaskSuccess"}"#))
            .is_err());
    }

    #[test]
    fn the_bucket_holds_ten_and_refills_two_a_second() {
        let t = Throttle::new(10, 2, 0);
        assert_eq!((0..12).filter(|_| t.allow(0)).count(), 10);
        assert!(!t.allow(499));
        assert!(t.allow(500));
        assert!(!t.allow(500));
        assert_eq!((0..20).filter(|_| t.allow(100_000)).count(), 10);
    }
}
