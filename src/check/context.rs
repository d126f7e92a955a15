//! What a check runs with: the target, the token source, the seed, and the helpers it calls.
//!
//! The helpers send a (signed) request, mint tokens, let time pass, and run a property with
//! shrinking; a check stops early with a [`Halt`].

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Request;
use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};

use super::outcome::Failure;
use super::target::{exchange, Received, Target, TransportError};
use super::tokens::{Capabilities, LiveToken, SourceError, TaskRequest, TaskState, TokenSource};
use crate::auth::{Credentials, SignError};
use crate::contract::alibaba::Flavour;
use crate::contract::lambda::LambdaOptions;
use crate::contract::{Limit, Member, Provider};

/// Why a check stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// The target broke the rule.
    Fail(Failure),
    /// The check cannot run here.
    Skip(SkipReason),
    /// The token source or the harness failed (not the target's fault).
    Setup(SetupError),
}

/// Why a check cannot run against this target and token source (not a failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// The token source lacks a capability the check needs.
    #[error("token source {source_name} cannot {what}")]
    Cannot {
        /// The source, as `--tokens` spells it.
        source_name: String,
        /// What it cannot do (`read task state`).
        what: &'static str,
    },
    /// The source reported no state for a task it made.
    #[error("the token source reports no state for this task")]
    NoState,
}

/// The token source or the harness failed: the run is incomplete (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The token source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A request could not be signed with the credentials given.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// proptest gave up (too many rejected cases, say).
    #[error("property aborted: {0}")]
    Aborted(String),
    /// A task sending a racing request panicked.
    #[error("a race task panicked")]
    Panicked,
    /// The catalogue names something the contract lacks (a bug in the checker).
    #[error("the check catalogue disagrees with the contract: {0}")]
    Catalogue(String),
}

impl From<SourceError> for Halt {
    fn from(e: SourceError) -> Halt {
        Halt::Setup(e.into())
    }
}

impl From<SignError> for Halt {
    fn from(e: SignError) -> Halt {
        Halt::Setup(e.into())
    }
}

impl From<Failure> for Halt {
    fn from(f: Failure) -> Halt {
        Halt::Fail(f)
    }
}

/// The result of a check body: cases run, or why it stopped.
pub type CheckRun = Result<u32, Halt>;

/// A request as sent and what came back.
pub type Exchanged = (Request<Bytes>, Result<Received, TransportError>);

/// The context of one check.
pub struct Ctx<'a> {
    /// The provider checked.
    pub provider: Provider,
    /// The async runtime requests run on.
    pub runtime: &'a tokio::runtime::Handle,
    /// The endpoint.
    pub target: &'a Target,
    /// Where live tokens come from.
    pub tokens: &'a TokenSource,
    /// Cases per property.
    pub cases: u32,
    /// The run's seed (each check derives its own generator from it and its id).
    pub seed: u64,
    /// The check's id.
    pub check_id: &'a str,
    /// Signing credentials, if any.
    pub credentials: Option<&'a Credentials>,
    /// When the check must give up.
    pub deadline: Instant,
    /// Which Alibaba service's limits the target applies.
    pub alibaba_flavour: Flavour,
    /// Lambda's answers the target gives where the sources leave a choice.
    pub lambda: LambdaOptions,
    last_failure: Mutex<Option<Failure>>,
}

impl<'a> Ctx<'a> {
    /// A context; `budget` bounds the check's wall time.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        provider: Provider,
        runtime: &'a tokio::runtime::Handle,
        target: &'a Target,
        tokens: &'a TokenSource,
        cases: u32,
        seed: u64,
        check_id: &'a str,
        credentials: Option<&'a Credentials>,
        budget: Duration,
    ) -> Ctx<'a> {
        Ctx {
            provider,
            runtime,
            target,
            tokens,
            cases,
            seed,
            check_id,
            credentials,
            deadline: Instant::now() + budget,
            alibaba_flavour: Flavour::default(),
            lambda: LambdaOptions::default(),
            last_failure: Mutex::new(None),
        }
    }

    /// The token source's capabilities.
    pub fn can(&self) -> Capabilities {
        self.tokens.capabilities()
    }

    /// Skips unless `ok`.
    pub fn require(&self, ok: bool, what: &'static str) -> Result<(), Halt> {
        if ok {
            Ok(())
        } else {
            Err(Halt::Skip(SkipReason::Cannot { source_name: self.tokens.name(), what }))
        }
    }

    /// Sends a request, signed when credentials are configured, and returns it with the answer;
    /// a request that cannot be signed is a setup error, not sent.
    pub fn send(&self, request: Request<Bytes>) -> Result<Exchanged, Halt> {
        Ok(self.send_unsigned(self.sign(request)?))
    }

    /// Sends a request as it is, never signed: for the checks whose requests are malformed on
    /// purpose (parameters a signer cannot read, an oversized body), which the contract's
    /// check order rejects before it looks at a signature.
    pub fn send_unsigned(&self, request: Request<Bytes>) -> Exchanged {
        if Instant::now() > self.deadline {
            let budget = TransportError::Connection("check time budget exhausted".into());
            return (request, Err(budget));
        }
        let copy = clone_request(&request);
        let result = self.runtime.block_on(self.target.send(copy));
        (request, result)
    }

    /// Signs `request` for the provider when credentials are configured.
    pub fn sign(&self, request: Request<Bytes>) -> Result<Request<Bytes>, SignError> {
        match self.credentials {
            Some(c) => super::call::sign(self.provider, self.target, request, c, SystemTime::now()),
            None => Ok(request),
        }
    }

    /// `member`'s limit on this target: the contract's, with Alibaba's flavour and Lambda's
    /// Result limit applied.
    pub fn limit(&self, member: &Member) -> Limit {
        match self.provider {
            Provider::Aws => member.limit,
            Provider::Alibaba => self.alibaba_flavour.limit(member),
            Provider::Lambda => self.lambda.limit(member),
        }
    }

    /// A fresh live token.
    pub fn mint(&self, request: TaskRequest) -> Result<LiveToken, Halt> {
        Ok(self.runtime.block_on(self.tokens.mint(&request))?)
    }

    /// A fresh live token with no deadlines.
    pub fn live(&self) -> Result<LiveToken, Halt> {
        self.mint(TaskRequest::default())
    }

    /// The task's state, where the source can read it.
    pub fn state(&self, token: &LiveToken) -> Result<Option<TaskState>, Halt> {
        Ok(self.runtime.block_on(self.tokens.state(token))?)
    }

    /// Lets `seconds` pass on the target: moves its clock, or sleeps.
    ///
    /// Only checks of the `timeouts` group may let time pass: the runner runs those one at a
    /// time where the clock is shared.
    pub fn wait(&self, seconds: u64) -> Result<(), Halt> {
        debug_assert_eq!(
            self.check_id.split('.').nth(1),
            Some("timeouts"),
            "{}: only timeouts checks let time pass",
            self.check_id
        );
        if self.can().advance_clock {
            Ok(self.runtime.block_on(self.tokens.advance(seconds))?)
        } else {
            std::thread::sleep(Duration::from_secs(seconds));
            Ok(())
        }
    }

    /// A failure carrying the exchange.
    pub fn failure(
        &self,
        message: impl Into<String>,
        expected: impl Into<String>,
        request: &Request<Bytes>,
        result: &Result<Received, TransportError>,
    ) -> Failure {
        Failure {
            message: message.into(),
            expected: expected.into(),
            minimal_case: None,
            exchange: Some(Box::new(exchange(request, result))),
            transport_error: result.is_err(),
        }
    }

    /// Runs `test` on `cases` values of `strategy`, shrinking a failure to a minimal case.
    /// The generator is seeded from the run's seed and the check id, so a seed replays.
    pub fn property<S>(&self, strategy: S, test: impl Fn(&S::Value) -> Result<(), Halt>) -> CheckRun
    where
        S: Strategy,
        S::Value: std::fmt::Debug,
    {
        self.property_cases(self.cases, strategy, test)
    }

    /// [`Ctx::property`] with an explicit number of cases.
    pub fn property_cases<S>(
        &self,
        cases: u32,
        strategy: S,
        test: impl Fn(&S::Value) -> Result<(), Halt>,
    ) -> CheckRun
    where
        S: Strategy,
        S::Value: std::fmt::Debug,
    {
        let config = ProptestConfig {
            cases,
            failure_persistence: None,
            max_shrink_iters: 256,
            // Milliseconds. Shrinking a fast property ends long before this; one whose every
            // failing try waits out a bound (a lost task waits for the check's patience) would
            // otherwise spend many such waits on a smaller counterexample.
            max_shrink_time: 5_000,
            max_global_rejects: 64,
            ..ProptestConfig::default()
        };
        let mut runner = TestRunner::new_with_rng(config, self.rng());
        let halt: Mutex<Option<Halt>> = Mutex::new(None);
        let halted = || halt.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        let result = runner.run(&strategy, |value| {
            if halted() || Instant::now() > self.deadline {
                return Err(TestCaseError::reject("halted"));
            }
            match test(&value) {
                Ok(()) => Ok(()),
                Err(Halt::Fail(f)) if !f.transport_error => {
                    let message = f.message.clone();
                    *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
                    Err(TestCaseError::fail(message))
                }
                Err(other) => {
                    // Transport failures, setup problems and skips: stop at once, no
                    // shrinking (shrinking a hang only multiplies the waiting).
                    let other = match other {
                        Halt::Fail(mut f) => {
                            f.minimal_case = Some(format!("{value:#?}"));
                            Halt::Fail(f)
                        }
                        other => other,
                    };
                    *halt.lock().unwrap_or_else(|e| e.into_inner()) = Some(other);
                    Err(TestCaseError::reject("halted"))
                }
            }
        });
        if let Some(h) = halt.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(h);
        }
        match result {
            Ok(()) => Ok(cases),
            Err(TestError::Fail(_, minimal)) => {
                let mut failure = self
                    .last_failure
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_else(|| Failure {
                        message: "property failed".into(),
                        expected: String::new(),
                        minimal_case: None,
                        exchange: None,
                        transport_error: false,
                    });
                failure.minimal_case = Some(format!("{minimal:#?}"));
                Err(Halt::Fail(failure))
            }
            Err(TestError::Abort(reason)) => {
                Err(Halt::Setup(SetupError::Aborted(reason.to_string())))
            }
        }
    }

    fn rng(&self) -> TestRng {
        let mut bytes = [0u8; 32];
        let id_hash = fnv1a(self.check_id.as_bytes());
        bytes[..8].copy_from_slice(&self.seed.to_le_bytes());
        bytes[8..16].copy_from_slice(&id_hash.to_le_bytes());
        bytes[16..24].copy_from_slice(&(self.seed ^ id_hash.rotate_left(17)).to_le_bytes());
        bytes[24..].copy_from_slice(&u64::from(self.cases).to_le_bytes());
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
    }
}

/// A stable 64-bit hash of `bytes` (FNV-1a), for deriving per-check seeds.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// A copy of a buffered request.
pub fn clone_request(request: &Request<Bytes>) -> Request<Bytes> {
    let mut builder = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .version(request.version());
    if let Some(headers) = builder.headers_mut() {
        *headers = request.headers().clone();
    }
    builder.body(request.body().clone()).unwrap_or_else(|_| Request::new(request.body().clone()))
}
