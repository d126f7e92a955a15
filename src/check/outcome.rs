//! What a conformance run produces: a verdict per check, with its rule, case and exchange.
//!
//! A failure carries the minimal failing case and the exchange that shows it; a setup error
//! is a skip marked `setup`.

use std::time::Duration;

use serde::Serialize;

use crate::contract::{Provenance, Provider};

/// The groups checks come in; `--check` and `--exclude` accept a group name too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Success and error envelopes, headers, content types.
    Wire,
    /// Length limits, required members, precedence, driven by proptest.
    Validation,
    /// The task state machine: first completion wins, random sequences against the model.
    State,
    /// Task and heartbeat deadlines (needs a token source that can make them).
    Timeouts,
    /// Concurrent completions on one token, checked for linearizability.
    Races,
    /// Malformed input gets the provider's error, not a 5xx or a hang.
    Robustness,
    /// The activity API: long polls, exactly-once hand-off, activity errors (AWS).
    Activities,
}

impl Group {
    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Group::Wire => "wire",
            Group::Validation => "validation",
            Group::State => "state",
            Group::Timeouts => "timeouts",
            Group::Races => "races",
            Group::Robustness => "robustness",
            Group::Activities => "activities",
        }
    }
}

/// `strict`: a broken inferred rule is a failure; `relaxed`: it is a warning. Under both, a
/// target that differs from one of the mock's own decisions gets [`Verdict::Info`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Every rule is binding.
    #[default]
    Strict,
    /// Inferred rules are advisory.
    Relaxed,
}

impl Profile {
    /// What breaking a rule of `provenance` makes of `failure` under this profile: a failure,
    /// a warning (inferred, relaxed), or information (the mock's decision, any profile).
    ///
    /// ```
    /// use tasktoken::check::{Failure, Profile, Verdict};
    /// use tasktoken::Provenance;
    /// let f = Failure { message: "m".into(), expected: "e".into(), minimal_case: None,
    ///     exchange: None, transport_error: false };
    /// assert_eq!(Profile::Strict.verdict(Provenance::Inferred, f.clone()).label(), "fail");
    /// assert_eq!(Profile::Relaxed.verdict(Provenance::Inferred, f.clone()).label(), "warn");
    /// assert_eq!(Profile::Strict.verdict(Provenance::Decision, f).label(), "info");
    /// ```
    pub fn verdict(self, provenance: Provenance, failure: Failure) -> Verdict {
        match (provenance, self) {
            (Provenance::Decision, _) => Verdict::Info(failure),
            (Provenance::Inferred, Profile::Relaxed) => Verdict::Warn(failure),
            _ => Verdict::Fail(failure),
        }
    }
}

/// One HTTP exchange, rendered for people: the request as sent and the response as received
/// (or the transport error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// Request line, headers, blank line, body (long bodies shortened in the middle).
    pub request: String,
    /// Status line, headers, blank line, body; or `transport error: …`.
    pub response: String,
}

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// One line: what went wrong.
    pub message: String,
    /// What the contract says should have happened.
    pub expected: String,
    /// The minimal failing input after shrinking (its `Debug` form), for property checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal_case: Option<String>,
    /// The exchange that showed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Box<Exchange>>,
    /// The target gave no usable answer (time-out, reset, oversized): not shrunk further.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub transport_error: bool,
}

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// The target follows the rule on every case tried.
    Pass,
    /// The target broke the rule.
    Fail(Failure),
    /// The target broke an inferred rule under the relaxed profile.
    Warn(Failure),
    /// The target chose otherwise where the mock made its own decision (a `decision` rule):
    /// information, never a failure, shown with the rule so a reader sees where the mock chose.
    Info(Failure),
    /// Not run: the token source or the target cannot support it (the reason says which), or,
    /// with `setup`, the token source or the harness failed (the run is incomplete: exit 2).
    Skip {
        /// Why.
        reason: String,
        /// The token source or the harness failed, not a missing capability.
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        setup: bool,
    },
}

impl Verdict {
    /// `pass`, `fail`, `warn`, `info` or `skip`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Warn(_) => "warn",
            Verdict::Info(_) => "info",
            Verdict::Skip { .. } => "skip",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// Check id, such as `aws.wire.success-body`.
    pub id: String,
    /// Its group.
    pub group: Group,
    /// One line: what it checks.
    pub description: String,
    /// The contract rule it tests.
    pub rule_id: String,
    /// That rule's provenance.
    pub provenance: Provenance,
    /// That rule, in one sentence.
    pub rule_summary: String,
    /// Where the rule comes from.
    pub rule_source: String,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Cases run (1 for example-based checks).
    pub cases: u32,
    /// The seed that replays this check exactly (`--seed`).
    pub seed: u64,
    /// Wall time spent.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The provider checked.
    pub provider: Provider,
    /// The endpoint checked (`embedded mock` when none was given).
    pub target: String,
    /// The token source used.
    pub tokens: String,
    /// The profile.
    pub profile: Profile,
    /// The run's seed.
    pub seed: u64,
    /// Cases per property.
    pub cases: u32,
    /// One result per check, in catalogue order.
    pub results: Vec<CheckResult>,
    /// Wall time of the run.
    #[serde(serialize_with = "millis")]
    pub elapsed: Duration,
}

impl Report {
    /// True when no check failed (warnings and skips allowed).
    pub fn conformant(&self) -> bool {
        !self.results.iter().any(|r| matches!(r.verdict, Verdict::Fail(_)))
    }

    /// Checks that could not run because the token source or the harness failed (skipped
    /// with `setup`): the run is incomplete, exit code 2.
    pub fn setup_errors(&self) -> Vec<&CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(&r.verdict, Verdict::Skip { setup: true, .. }))
            .collect()
    }

    /// How many results have each verdict: (pass, fail, warn, skip); [`Report::infos`] counts
    /// the fifth, `info`.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        (self.count("pass"), self.count("fail"), self.count("warn"), self.count("skip"))
    }

    /// How many results are information: the target differs from one of the mock's decisions.
    pub fn infos(&self) -> usize {
        self.count("info")
    }

    fn count(&self, label: &str) -> usize {
        self.results.iter().filter(|r| r.verdict.label() == label).count()
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setup_error_is_a_skip_marked_with_a_field() {
        let setup = Verdict::Skip { reason: "token source mock: down".into(), setup: true };
        let skip = Verdict::Skip { reason: "cannot read task state".into(), setup: false };
        assert_eq!(
            serde_json::to_value(&setup).unwrap(),
            serde_json::json!({"verdict": "skip", "reason": "token source mock: down", "setup": true})
        );
        assert_eq!(
            serde_json::to_value(&skip).unwrap(),
            serde_json::json!({"verdict": "skip", "reason": "cannot read task state"})
        );
        assert_eq!(setup.label(), "skip");
    }
}
