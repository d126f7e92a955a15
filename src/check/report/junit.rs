//! The JUnit XML report, for CI test views: one testsuite per run, one testcase per check.

use std::path::Path;

use quick_junit::{NonSuccessKind, Property, SerializeError, TestCase, TestCaseStatus, TestSuite};

use super::{human, profile_name, write_file};
use crate::check::outcome::{Report, Verdict};

/// Renders `report` as JUnit XML.
///
/// One `testsuites` named `tasktoken` holds one `testsuite` named `tasktoken <provider>`,
/// whose properties are the run's provider, target, token source, profile, seed and cases per
/// property. Each check is a `testcase` named by its id, with classname `<provider>.<group>`,
/// its wall time, and properties `rule` and `provenance`:
///
/// - a failure is a `failure` whose message is the failure message, whose type is the rule
///   id, and whose text is the plain detail block of the human report (rule, provenance,
///   expected, got, minimal case, request, response, replay command);
/// - a warning passes, with the same detail block in its `system-out`;
/// - a skip is `skipped`, with the reason as its message.
pub fn render(report: &Report) -> Result<String, SerializeError> {
    render_all(std::slice::from_ref(report))
}

/// Renders the reports of one run (one per provider) as one JUnit document: a `testsuite`
/// per report, each as [`render`] describes.
pub fn render_all(reports: &[Report]) -> Result<String, SerializeError> {
    let mut junit = quick_junit::Report::new("tasktoken");
    junit.set_time(reports.iter().map(|r| r.elapsed).sum());
    for report in reports {
        junit.add_test_suite(suite(report));
    }
    junit.to_string()
}

/// Renders the reports of one run as JUnit XML into `path`.
pub fn write_all(reports: &[Report], path: &Path) -> std::io::Result<()> {
    let xml = render_all(reports).map_err(std::io::Error::other)?;
    write_file(path, &xml)
}

fn suite(report: &Report) -> TestSuite {
    let provider = report.provider.name();
    let mut suite = TestSuite::new(format!("tasktoken {provider}"));
    suite.set_time(report.elapsed);
    suite.add_properties([
        Property::new("provider", provider),
        Property::new("target", report.target.as_str()),
        Property::new("tokens", report.tokens.as_str()),
        Property::new("profile", profile_name(report.profile)),
        Property::new("seed", report.seed.to_string()),
        Property::new("cases", report.cases.to_string()),
    ]);

    for result in &report.results {
        let status = match &result.verdict {
            Verdict::Pass | Verdict::Warn(_) | Verdict::Info(_) => TestCaseStatus::success(),
            Verdict::Fail(failure) => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status
                    .set_message(failure.message.as_str())
                    .set_type(result.rule_id.as_str())
                    .set_description(human::detail(report, result, false));
                status
            }
            Verdict::Skip { reason, .. } => {
                let mut status = TestCaseStatus::skipped();
                status.set_message(reason.as_str());
                status
            }
        };
        let mut case = TestCase::new(result.id.as_str(), status);
        case.set_classname(format!("{provider}.{}", result.group.name()))
            .set_time(result.elapsed)
            .add_properties([
                Property::new("rule", result.rule_id.as_str()),
                Property::new("provenance", result.provenance.label()),
            ]);
        if let Verdict::Warn(_) | Verdict::Info(_) = result.verdict {
            case.set_system_out(human::detail(report, result, false));
        }
        suite.add_test_case(case);
    }
    suite
}

/// Renders `report` as JUnit XML into `path`, creating missing parent folders.
pub fn write(report: &Report, path: &Path) -> std::io::Result<()> {
    let xml = render(report).map_err(std::io::Error::other)?;
    write_file(path, &xml)
}
