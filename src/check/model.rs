//! The sequential model of one task: what each call must get, given what came before.
//!
//! It is written independently of the mock's store, so the two can disagree.

/// What the model says a call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// 200.
    Ok,
    /// The "task closed" error.
    Closed,
    /// The output is not JSON (the task stays pending).
    InvalidOutput,
}

/// A model call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelCall {
    /// Success; `valid_json` says whether the output parses.
    Succeed {
        /// Whether the output is valid JSON.
        valid_json: bool,
    },
    /// Failure.
    Fail,
    /// Heartbeat.
    Heartbeat,
}

/// One task: pending until the first completion; then every call gets "closed".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelTask {
    closed: bool,
    /// Heartbeats accepted.
    pub heartbeats: u32,
}

impl ModelTask {
    /// Applies `call`; returns what it must get.
    ///
    /// ```
    /// use tasktoken::check::model::{Expect, ModelCall, ModelTask};
    /// let mut t = ModelTask::default();
    /// assert_eq!(t.apply(&ModelCall::Succeed { valid_json: false }), Expect::InvalidOutput);
    /// assert_eq!(t.apply(&ModelCall::Fail), Expect::Ok);
    /// assert_eq!(t.apply(&ModelCall::Heartbeat), Expect::Closed);
    /// ```
    pub fn apply(&mut self, call: &ModelCall) -> Expect {
        if self.closed {
            return Expect::Closed;
        }
        match call {
            ModelCall::Succeed { valid_json: false } => Expect::InvalidOutput,
            ModelCall::Succeed { valid_json: true } | ModelCall::Fail => {
                self.closed = true;
                Expect::Ok
            }
            ModelCall::Heartbeat => {
                self.heartbeats += 1;
                Expect::Ok
            }
        }
    }

    /// Whether a completion took effect.
    pub fn closed(&self) -> bool {
        self.closed
    }
}
