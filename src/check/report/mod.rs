//! Report renderers: a run's [`Report`] as text for people, JUnit XML for CI, JSON for tools.
//!
//! - [`human::render`]: the terminal report, one line per check, a detail block per failure
//!   and warning (rule, expected, got, minimal case, the exchange, a replay command), and a
//!   summary line.
//! - [`junit::render`] / [`junit::write`]: JUnit XML (`--junit PATH`), one testcase per check.
//! - [`json::render`] / [`json::write`]: the whole report as JSON (`--json PATH`), with a
//!   `schema` field and the summary counts.
//! - [`Progress`]: a progress bar on stderr while checks run (terminals only; see
//!   [`progress_wanted`]).
//!
//! ```
//! use std::time::Duration;
//! use tasktoken::check::{CheckResult, Group, Profile, Report, Verdict};
//! use tasktoken::check::report::{human, json, junit};
//! use tasktoken::{Provenance, Provider};
//!
//! let report = Report {
//!     provider: Provider::Aws,
//!     target: "embedded mock".into(),
//!     tokens: "mock".into(),
//!     profile: Profile::Strict,
//!     seed: 42,
//!     cases: 64,
//!     results: vec![CheckResult {
//!         id: "aws.wire.success-body".into(),
//!         group: Group::Wire,
//!         description: "SendTaskSuccess answers 200 with an empty JSON object".into(),
//!         rule_id: "aws.wire.success".into(),
//!         provenance: Provenance::Observed,
//!         rule_summary: "A success answers 200 with body {}.".into(),
//!         rule_source: "recorded responses".into(),
//!         verdict: Verdict::Pass,
//!         cases: 1,
//!         seed: 42,
//!         elapsed: Duration::from_millis(3),
//!     }],
//!     elapsed: Duration::from_millis(250),
//! };
//!
//! let text = human::render(&report, false);
//! assert!(text.contains("PASS  aws.wire.success-body"));
//! assert!(text.ends_with("1 passed, 0 failed, 0 skipped\n"));
//!
//! let xml = junit::render(&report).unwrap();
//! assert!(xml.contains(r#"<testsuite name="tasktoken aws""#));
//!
//! let value: serde_json::Value = serde_json::from_str(&json::render(&report)).unwrap();
//! assert_eq!(value["schema"], "tasktoken-report/1");
//! assert_eq!(value["conformant"], true);
//! ```

pub mod human;
pub mod json;
pub mod junit;
mod progress;

use std::path::Path;

pub use progress::{progress_wanted, Progress};

use super::outcome::{CheckResult, Profile, Report};

/// The `target` a [`Report`] names when the run checked the embedded mock.
pub const EMBEDDED_MOCK: &str = "embedded mock";

/// The command line that replays one check: the same provider, the check's own seed, only
/// that check, and the target and token source when they are not the defaults.
///
/// ```
/// # use std::time::Duration;
/// # use tasktoken::check::{CheckResult, Group, Profile, Report, Verdict};
/// # use tasktoken::{Provenance, Provider};
/// # let result = CheckResult {
/// #     id: "aws.wire.success-body".into(), group: Group::Wire, description: String::new(),
/// #     rule_id: String::new(), provenance: Provenance::Observed, rule_summary: String::new(),
/// #     rule_source: String::new(), verdict: Verdict::Pass, cases: 1, seed: 7,
/// #     elapsed: Duration::ZERO,
/// # };
/// # let report = Report {
/// #     provider: Provider::Aws, target: "embedded mock".into(), tokens: "mock".into(),
/// #     profile: Profile::Strict, seed: 1, cases: 64, results: vec![], elapsed: Duration::ZERO,
/// # };
/// use tasktoken::check::report::replay_command;
/// assert_eq!(
///     replay_command(&report, &result),
///     "tasktoken check --provider aws --seed 7 --check aws.wire.success-body"
/// );
/// ```
pub fn replay_command(report: &Report, result: &CheckResult) -> String {
    let mut line = format!(
        "tasktoken check --provider {} --seed {} --check {}",
        report.provider,
        result.seed,
        shell_quote(&result.id)
    );
    if report.target != EMBEDDED_MOCK {
        line.push_str(" --target ");
        line.push_str(&shell_quote(&report.target));
    }
    if report.tokens != "mock" {
        line.push_str(" --tokens ");
        line.push_str(&shell_quote(&report.tokens));
    }
    line
}

/// The lowercase name of a profile, as `--profile` spells it.
pub fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Strict => "strict",
        Profile::Relaxed => "relaxed",
    }
}

/// Quotes `word` for a POSIX shell when it has anything but plainly safe characters.
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Writes `contents` to `path`, creating missing parent folders first.
fn write_file(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(shell_quote("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
        assert_eq!(shell_quote("command:mint --n 1"), "'command:mint --n 1'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
