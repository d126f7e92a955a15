//! How a mock is set up: [`MockConfig`] and the keys of strict mode.

use std::time::Duration;

#[cfg(feature = "strict-auth")]
use crate::auth::Keys;
use crate::contract::alibaba::Flavour;
use crate::contract::lambda::LambdaOptions;
use crate::tasks::token::DEFAULT_AWS_TOKEN_LEN;
use crate::tasks::Clock;

/// How a mock is set up.
///
/// ```
/// use tasktoken::{Clock, MockConfig};
/// let config = MockConfig::default().token_length(2048).clock(Clock::real());
/// assert_eq!(config.token_length, 2048);
/// ```
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The clock deadlines run on (default: virtual, starting now).
    pub clock: Clock,
    /// Length of minted AWS tokens (default 680).
    pub token_length: usize,
    /// Entries the journal keeps (default 1000; 0 turns it off).
    pub journal_capacity: usize,
    /// Most tasks held at once (default 5,000,000, about 210 MB while pending).
    pub max_tasks: usize,
    /// Token key; random when `None`.
    pub token_key: Option<Vec<u8>>,
    /// How long a client may take to send a request body once its headers are in.
    pub body_read_timeout: Duration,
    /// How long a client may take to send a request head; also how long a keep-alive
    /// connection may sit idle.
    pub header_read_timeout: Duration,
    /// Most connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Which Alibaba service's limits apply (default CloudFlow: `Output` up to 65536 bytes).
    pub alibaba_flavour: Flavour,
    /// Apply the documented Alibaba quota (bucket of 10, refilled at 2 per second).
    pub throttle: bool,
    /// Lambda's answers where the sources disagree or are silent: the Result limit, the
    /// validation error, the error for an unknown id.
    pub lambda: LambdaOptions,
    /// How long an idle `GetActivityTask` is held before it answers `{}` (default 60 s, as
    /// AWS; measured on the mock's clock, and never longer than this much real time).
    pub poll_hold: Duration,
    /// Strict mode: verify request signatures with these keys (off when `None`).
    #[cfg(feature = "strict-auth")]
    pub auth: Option<StrictAuth>,
    /// Strict mode: the one region SigV4 scopes may name; `None` (the default) accepts any,
    /// as a mock standing for every region.
    #[cfg(feature = "strict-auth")]
    pub aws_region: Option<String>,
}

/// The key pairs strict mode accepts, per provider; signatures are judged by the mock's clock.
#[cfg(feature = "strict-auth")]
#[derive(Debug, Clone, Default)]
pub struct StrictAuth {
    /// AWS access keys (SigV4: Step Functions' `states` and Lambda's `lambda`).
    pub aws: Keys,
    /// Alibaba AccessKey pairs (RPC v1 HMAC-SHA1 or ACS3-HMAC-SHA256).
    pub alibaba: Keys,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            clock: Clock::virtual_now(),
            token_length: DEFAULT_AWS_TOKEN_LEN,
            journal_capacity: Self::DEFAULT_JOURNAL_CAPACITY,
            max_tasks: Self::DEFAULT_MAX_TASKS,
            token_key: None,
            body_read_timeout: Duration::from_secs(Self::DEFAULT_READ_TIMEOUT_SECS),
            header_read_timeout: Duration::from_secs(Self::DEFAULT_READ_TIMEOUT_SECS),
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
            alibaba_flavour: Flavour::CloudFlow,
            throttle: false,
            lambda: LambdaOptions::default(),
            poll_hold: Duration::from_secs(Self::DEFAULT_POLL_HOLD_SECS),
            #[cfg(feature = "strict-auth")]
            auth: None,
            #[cfg(feature = "strict-auth")]
            aws_region: None,
        }
    }
}

impl MockConfig {
    /// Default journal capacity.
    pub const DEFAULT_JOURNAL_CAPACITY: usize = 1000;
    /// Default cap on tasks held at once.
    pub const DEFAULT_MAX_TASKS: usize = 5_000_000;
    /// Default header and body read timeout, in seconds.
    pub const DEFAULT_READ_TIMEOUT_SECS: u64 = 30;
    /// Default hold of an idle `GetActivityTask`, in seconds (AWS's maximum).
    pub const DEFAULT_POLL_HOLD_SECS: u64 = 60;
    /// Default cap on open connections.
    pub const DEFAULT_MAX_CONNECTIONS: usize = 16_384;

    /// Sets the clock.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets the default token length.
    pub fn token_length(mut self, len: usize) -> Self {
        self.token_length = len;
        self
    }

    /// Sets the journal capacity.
    pub fn journal_capacity(mut self, n: usize) -> Self {
        self.journal_capacity = n;
        self
    }

    /// Caps the number of tasks held.
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = n;
        self
    }

    /// Sets the Alibaba flavour.
    pub fn alibaba_flavour(mut self, flavour: Flavour) -> Self {
        self.alibaba_flavour = flavour;
        self
    }

    /// Sets Lambda's answers where the sources leave a choice.
    pub fn lambda(mut self, options: LambdaOptions) -> Self {
        self.lambda = options;
        self
    }

    /// Turns strict signature checking on with these keys.
    #[cfg(feature = "strict-auth")]
    pub fn strict_auth(mut self, auth: StrictAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sets how long an idle `GetActivityTask` is held.
    pub fn poll_hold(mut self, hold: Duration) -> Self {
        self.poll_hold = hold;
        self
    }

    /// In strict mode, accepts SigV4 scopes for `region` only (a request signed for another
    /// region is `InvalidSignatureException`, `Credential should be scoped to a valid region. `).
    #[cfg(feature = "strict-auth")]
    pub fn aws_region(mut self, region: impl Into<String>) -> Self {
        self.aws_region = Some(region.into());
        self
    }

    /// Turns the documented Alibaba quota on or off.
    pub fn throttle(mut self, on: bool) -> Self {
        self.throttle = on;
        self
    }
}
