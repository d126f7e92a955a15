//! The contract model: every rule with its provenance, limits with their unit, error catalogues and check order, as data.
//!
//! One source of truth. The mock enforces these tables, the conformance checks expect
//! them, and the generated documentation prints them. A provider is a [`Contract`]
//! value; AWS Step Functions is [`aws::CONTRACT`].
//!
//! ```
//! use tasktoken::contract::{aws, Provenance, Unit};
//!
//! let output = aws::SEND_TASK_SUCCESS.member("output").unwrap();
//! assert_eq!(output.limit.max, 262_144);
//! assert_eq!(output.limit.unit, Unit::Utf8Bytes);
//! assert_eq!(aws::TASK_TIMED_OUT.rule.provenance, Provenance::Observed);
//! ```

/// `rule!(NAME, "id", Provenance, "summary", "source")`: one [`Rule`] as a `pub static`.
macro_rules! rule {
    ($name:ident, $id:literal, $prov:expr, $summary:literal, $source:literal) => {
        #[doc = $summary]
        pub static $name: Rule =
            Rule { id: $id, summary: $summary, provenance: $prov, source: $source };
    };
}

pub mod alibaba;
pub mod aws;
pub mod lambda;
pub mod sources;

use std::fmt;

use serde::Serialize;

/// Where a rule comes from. Shown next to every rule in reports and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// A real endpoint was seen doing this (recorded response, real-cloud test, pasted log).
    Observed,
    /// The API reference or the service model says so; nobody recorded it.
    Documented,
    /// Concluded about the service from evidence that does not show it directly (the same
    /// framework on another service, a catalogue entry without its trigger, a consequence of an
    /// observed or documented rule). Binding under `strict`, advisory under `relaxed`.
    Inferred,
    /// The mock's own choice where the sources say nothing about the service. A target that
    /// chooses otherwise is not wrong: never a failure under any profile, reported as
    /// information with the rule.
    Decision,
}

impl Provenance {
    /// The lowercase label used in reports and docs.
    pub fn label(self) -> &'static str {
        match self {
            Provenance::Observed => "observed",
            Provenance::Documented => "documented",
            Provenance::Inferred => "inferred",
            Provenance::Decision => "decision",
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One rule of a contract: an id, what it says, its provenance and a short source.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable id, such as `aws.limit.output`. Checks and reports refer to rules by id.
    pub id: &'static str,
    /// One sentence: what the rule says.
    pub summary: &'static str,
    /// Observed, documented, inferred or the mock's decision.
    pub provenance: Provenance,
    /// Where it comes from (a section of the research notes, a page, a test).
    pub source: &'static str,
}

/// The unit a length limit is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Unicode scalar values of the decoded string (Rust `char`s; Smithy's `length` trait).
    Characters,
    /// Bytes of the decoded string encoded as UTF-8 (after JSON unescaping or form decoding).
    Utf8Bytes,
    /// Bytes on the wire, before any decoding.
    WireBytes,
}

impl Unit {
    /// How long `value` is in this unit.
    ///
    /// ```
    /// use tasktoken::contract::Unit;
    /// assert_eq!(Unit::Characters.measure("€😀"), 2);
    /// assert_eq!(Unit::Utf8Bytes.measure("€😀"), 7);
    /// ```
    pub fn measure(self, value: &str) -> usize {
        match self {
            Unit::Characters => value.chars().count(),
            Unit::Utf8Bytes | Unit::WireBytes => value.len(),
        }
    }

    /// The unit's name as docs print it.
    pub fn label(self) -> &'static str {
        match self {
            Unit::Characters => "characters",
            Unit::Utf8Bytes => "UTF-8 bytes",
            Unit::WireBytes => "bytes on the wire",
        }
    }
}

/// An inclusive length range in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// Smallest accepted length.
    pub min: usize,
    /// Largest accepted length.
    pub max: usize,
    /// What is counted.
    pub unit: Unit,
}

/// Which side of a [`Limit`] a value falls off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Shorter than `min`.
    TooShort,
    /// Longer than `max`.
    TooLong,
}

impl Limit {
    /// `Ok` when `value` is within the limit, else which bound it breaks.
    pub fn check(&self, value: &str) -> Result<(), Bound> {
        // `n` bytes of UTF-8 hold between n/4 (rounded up) and n characters: a value whose
        // bytes fit both bounds is within them without counting its characters.
        if matches!(self.unit, Unit::Characters)
            && value.len() <= self.max
            && value.len().div_ceil(4) >= self.min
        {
            return Ok(());
        }
        let n = self.unit.measure(value);
        if n < self.min {
            Err(Bound::TooShort)
        } else if n > self.max {
            Err(Bound::TooLong)
        } else {
            Ok(())
        }
    }
}

/// A request member (AWS JSON member, Alibaba parameter) of an operation.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Name on the wire (`taskToken`, `TaskToken`).
    pub name: &'static str,
    /// Whether a request without it is rejected.
    pub required: bool,
    /// Its length limit.
    pub limit: Limit,
    /// The error a value over `limit.max` gets, where it is not the protocol's usual
    /// validation error (Alibaba's `Output`: `EntityTooLarge`, not `InvalidArgument`).
    pub too_long: Option<&'static ErrorSpec>,
    /// The rule that sets the limit.
    pub rule: &'static Rule,
}

/// What an operation does to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Completes the task successfully with an output.
    Succeed,
    /// Completes the task as failed, with an optional error and cause.
    Fail,
    /// Keeps a pending task alive (restarts its heartbeat deadline).
    Heartbeat,
}

/// One operation of a provider's API.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The operation's name (`SendTaskSuccess`).
    pub name: &'static str,
    /// How a request names it: the `X-Amz-Target` value, or the `Action` parameter.
    pub wire_name: &'static str,
    /// What it does to the task.
    pub action: Action,
    /// Members in model order (the order validation messages list them in).
    pub members: &'static [Member],
    /// The errors the API reference lists for it.
    pub errors: &'static [&'static ErrorSpec],
}

impl Operation {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

/// One entry of an error catalogue.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ErrorSpec {
    /// The error code (`TaskTimedOut`, `TaskAlreadyCompleted`).
    pub code: &'static str,
    /// HTTP status.
    pub status: u16,
    /// AWS `__type` namespace (`com.amazonaws.swf.service.v2.model`); empty where the wire has none.
    pub namespace: &'static str,
    /// Exact message template, `%s` filled in at run time; `None` when the body has no message.
    pub message: Option<&'static str>,
    /// The rule: when it is returned, with provenance and source.
    pub rule: &'static Rule,
}

impl ErrorSpec {
    /// The message with each `%s` replaced, in order, by `args`.
    ///
    /// ```
    /// use tasktoken::contract::aws;
    /// assert_eq!(
    ///     aws::INVALID_OUTPUT.render_message(&["x"]).unwrap(),
    ///     "Invalid Output: 'x'"
    /// );
    /// ```
    pub fn render_message(&self, args: &[&str]) -> Option<String> {
        let template = self.message?;
        let mut out = String::with_capacity(template.len());
        let mut args = args.iter();
        let mut rest = template;
        while let Some(i) = rest.find("%s") {
            out.push_str(&rest[..i]);
            out.push_str(args.next().copied().unwrap_or(""));
            rest = &rest[i + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// `namespace#Code`, or the bare code when there is no namespace.
    pub fn qualified_code(&self) -> String {
        if self.namespace.is_empty() {
            self.code.to_owned()
        } else {
            format!("{}#{}", self.namespace, self.code)
        }
    }
}

/// One step of request processing; a contract lists them in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStep {
    /// Whole request size against the wire limit.
    BodySize,
    /// The body parses (as a JSON object, or as form parameters).
    Parse,
    /// The operation is known (target header, `Action`, `Version`).
    Operation,
    /// Signature, when strict authentication is on.
    Authentication,
    /// Each known member has the right type.
    MemberTypes,
    /// Required members present, lengths within limits.
    Validation,
    /// The token is one this service issued.
    Token,
    /// The task is still open.
    TaskState,
    /// The output is valid JSON and within the provider's payload limit.
    Output,
}

impl CheckStep {
    /// The kebab-case name.
    pub fn label(self) -> &'static str {
        match self {
            CheckStep::BodySize => "body-size",
            CheckStep::Parse => "parse",
            CheckStep::Operation => "operation",
            CheckStep::Authentication => "authentication",
            CheckStep::MemberTypes => "member-types",
            CheckStep::Validation => "validation",
            CheckStep::Token => "token",
            CheckStep::TaskState => "task-state",
            CheckStep::Output => "output",
        }
    }
}

/// The providers this crate models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// AWS Step Functions (awsJson1_0).
    Aws,
    /// Alibaba Cloud CloudFlow / Serverless Workflow (`fnf`, RPC style).
    Alibaba,
    /// AWS Lambda durable execution callbacks (restJson1).
    Lambda,
}

impl Provider {
    /// Lowercase name (`aws`, `alibaba`, `lambda`), as the control API and CLI spell it.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Alibaba => "alibaba",
            Provider::Lambda => "lambda",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A provider name that is not one of [`Provider::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {0:?} (expected one of: {names})", names = Provider::names())]
pub struct UnknownProvider(pub String);

impl std::str::FromStr for Provider {
    type Err = UnknownProvider;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownProvider(s.to_owned()))
    }
}

/// Which catalogue error answers each outcome of the task store. The mock answers with
/// these, the checks expect them, and the docs print them.
#[derive(Debug, Serialize)]
pub struct Outcomes {
    /// A token the service never issued (forged, altered, truncated).
    pub invalid_token: &'static ErrorSpec,
    /// A call on a task that is already closed (completed, failed or timed out).
    pub closed: &'static ErrorSpec,
    /// A call on a task that was deleted (its execution stopped or deleted).
    pub deleted: &'static ErrorSpec,
    /// An output that is not valid JSON.
    pub invalid_output: &'static ErrorSpec,
    /// A member out of its range (unless the member names its own [`Member::too_long`]).
    pub out_of_range: &'static ErrorSpec,
    /// A required member missing.
    pub missing: &'static ErrorSpec,
    /// A request over [`Contract::max_request_bytes`].
    pub too_large: &'static ErrorSpec,
}

/// How a task view names the deadline that closed a task (`timedOutBy`).
#[derive(Debug, Serialize)]
pub struct TimeoutLabels {
    /// The overall timeout (`task`; Lambda's `Callback.Timeout`).
    pub task: &'static str,
    /// The heartbeat timeout (`heartbeat`; Lambda's `Callback.Heartbeat`).
    pub heartbeat: &'static str,
}

/// How a provider's wire looks, in words: the rows of the docs' comparison that no table
/// above derives.
#[derive(Debug, Serialize)]
pub struct Traits {
    /// The API style and how a request names its operation.
    pub api_style: &'static str,
    /// The body of a successful answer.
    pub success_body: &'static str,
    /// The body of an error answer.
    pub error_body: &'static str,
    /// How requests are signed.
    pub signature: &'static str,
    /// The documented request quota, if the contract has one.
    pub quota: Option<&'static Rule>,
}

/// A provider's whole contract.
#[derive(Debug, Serialize)]
pub struct Contract {
    /// Which provider.
    pub provider: Provider,
    /// Human name of the service.
    pub service: &'static str,
    /// Protocol summary (method, path, content type, signing).
    pub protocol: &'static str,
    /// Operations.
    pub operations: &'static [&'static Operation],
    /// The full error catalogue.
    pub errors: &'static [&'static ErrorSpec],
    /// Largest accepted request, in bytes on the wire.
    pub max_request_bytes: usize,
    /// The rule behind `max_request_bytes`.
    pub request_size_rule: &'static Rule,
    /// The order in which checks apply, each step with the rule that places it.
    pub check_order: &'static [(CheckStep, &'static Rule)],
    /// Task semantics and wire rules not attached to a member or error.
    pub rules: &'static [&'static Rule],
    /// The error for each store outcome.
    pub outcomes: Outcomes,
    /// Whether a success's output must be JSON (Lambda's Result is an opaque blob).
    pub output_is_json: bool,
    /// The error a timed-out task shows in its view (`States.Timeout`, `FnF.TaskTimeout`).
    pub timeout_error: &'static str,
    /// How a timed-out task's view names the deadline that closed it.
    pub timed_out_by: TimeoutLabels,
    /// The wire in words, for the docs.
    pub traits: Traits,
    /// The long-poll API through which workers receive tokens, where the provider has one
    /// (Step Functions activities).
    pub activities: Option<&'static ActivityApi>,
}

/// A provider's long-poll task API: workers register nothing, poll an activity for a task
/// and get its token and input (Step Functions `GetActivityTask` and its set-up calls).
#[derive(Debug, Serialize)]
pub struct ActivityApi {
    /// Its operations, set-up calls first and the poll last.
    pub operations: &'static [&'static ActivityOperation],
    /// The errors only this API answers.
    pub errors: &'static [&'static ErrorSpec],
    /// Its rules, in the order the docs print them.
    pub rules: &'static [&'static Rule],
    /// The longest the service holds an idle poll, in seconds.
    pub max_hold_seconds: u64,
    /// Largest task input, in UTF-8 bytes.
    pub max_input_bytes: usize,
}

/// One operation of an [`ActivityApi`].
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct ActivityOperation {
    /// The operation's name (`GetActivityTask`).
    pub name: &'static str,
    /// How a request names it (the `X-Amz-Target` value).
    pub wire_name: &'static str,
    /// String members in model order, with their limits.
    pub members: &'static [Member],
    /// The errors the model lists for it.
    pub errors: &'static [&'static ErrorSpec],
    /// What it does, as a rule.
    pub rule: &'static Rule,
}

impl ActivityOperation {
    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

impl ActivityApi {
    /// The operation a request names.
    pub fn operation_by_wire_name(&self, wire_name: &str) -> Option<&'static ActivityOperation> {
        self.operations.iter().copied().find(|op| op.wire_name == wire_name)
    }
}

impl Contract {
    /// The operation a request names (`X-Amz-Target` value or `Action`).
    pub fn operation_by_wire_name(&self, wire_name: &str) -> Option<&'static Operation> {
        self.operations.iter().copied().find(|op| op.wire_name == wire_name)
    }

    /// The catalogue entry for `code` (the activity API's errors included).
    pub fn error(&self, code: &str) -> Option<&'static ErrorSpec> {
        let activity_errors = self.activities.map(|a| a.errors).unwrap_or_default();
        self.errors.iter().chain(activity_errors).copied().find(|e| e.code == code)
    }

    /// Whether `name` is an operation of this provider (the activity API's included).
    pub fn has_operation(&self, name: &str) -> bool {
        self.operations.iter().any(|o| o.name == name)
            || self.activities.is_some_and(|a| a.operations.iter().any(|o| o.name == name))
    }

    /// Every rule of the contract: semantics, limits, errors, order; each once, by id.
    pub fn all_rules(&self) -> Vec<&'static Rule> {
        let mut out: Vec<&'static Rule> = Vec::new();
        let mut push = |r: &'static Rule| {
            if !out.iter().any(|x| x.id == r.id) {
                out.push(r);
            }
        };
        self.rules.iter().for_each(|r| push(r));
        push(self.request_size_rule);
        for op in self.operations {
            op.members.iter().for_each(|m| push(m.rule));
        }
        self.errors.iter().for_each(|e| push(e.rule));
        self.check_order.iter().for_each(|(_, r)| push(r));
        if let Some(api) = self.activities {
            api.rules.iter().for_each(|r| push(r));
            for op in api.operations {
                push(op.rule);
                op.members.iter().for_each(|m| push(m.rule));
            }
            api.errors.iter().for_each(|e| push(e.rule));
        }
        out
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&'static Rule> {
        self.all_rules().into_iter().find(|r| r.id == id)
    }
}

impl Provider {
    /// This provider's contract.
    pub fn contract(self) -> &'static Contract {
        match self {
            Provider::Aws => &aws::CONTRACT,
            Provider::Alibaba => &alibaba::CONTRACT,
            Provider::Lambda => &lambda::CONTRACT,
        }
    }

    /// Every provider.
    pub const ALL: [Provider; 3] = [Provider::Aws, Provider::Alibaba, Provider::Lambda];

    /// The error a timed-out task shows in its view (`States.Timeout`, `FnF.TaskTimeout`).
    pub fn timeout_error(self) -> &'static str {
        self.contract().timeout_error
    }

    /// The names of every provider, comma-separated (for messages).
    pub fn names() -> String {
        Provider::ALL.map(Provider::name).join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_carry_their_provider() {
        for provider in Provider::ALL {
            let rules = provider.contract().all_rules();
            let prefix = format!("{provider}.");
            assert!(rules.iter().all(|r| r.id.starts_with(&prefix)), "{provider}");
            let mut ids: Vec<_> = rules.iter().map(|r| r.id).collect();
            ids.sort_unstable();
            let n = ids.len();
            ids.dedup();
            assert_eq!(n, ids.len(), "{provider}: duplicate rule ids");
        }
    }

    #[test]
    fn every_listed_error_is_in_the_catalogue() {
        for provider in Provider::ALL {
            let contract = provider.contract();
            let outcomes = &contract.outcomes;
            let semantic = [
                outcomes.invalid_token,
                outcomes.closed,
                outcomes.deleted,
                outcomes.invalid_output,
            ];
            for spec in contract.operations.iter().flat_map(|op| op.errors.iter()).chain(&semantic)
            {
                assert!(
                    contract.errors.iter().any(|e| std::ptr::eq(*e, *spec)),
                    "{provider}: {}",
                    spec.code
                );
            }
        }
    }

    #[test]
    fn provider_names_parse_back() {
        for provider in Provider::ALL {
            assert_eq!(provider.name().parse::<Provider>(), Ok(provider));
        }
        let err = "gcp".parse::<Provider>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown provider \"gcp\" (expected one of: aws, alibaba, lambda)"
        );
    }

    #[test]
    fn a_character_limit_judges_as_counting_would() {
        // Values of 1- to 4-byte characters around each bound.
        let pieces = ["a", "é", "€", "😀"];
        for (min, max) in [(1, 1), (1, 4), (2, 3), (3, 8), (5, 5)] {
            let limit = Limit { min, max, unit: Unit::Characters };
            for len in 0..=10 {
                for seed in 0..16_usize {
                    let value: String =
                        (0..len).map(|i| pieces[(seed >> (i % 4)).wrapping_add(i) % 4]).collect();
                    let n = value.chars().count();
                    let counted = if n < min {
                        Err(Bound::TooShort)
                    } else if n > max {
                        Err(Bound::TooLong)
                    } else {
                        Ok(())
                    };
                    assert_eq!(limit.check(&value), counted, "{min}..={max}: {value:?}");
                }
            }
        }
    }
}
