//! The JSON report, for tools: the whole [`Report`] plus a schema tag and the summary counts.

use std::path::Path;

use serde::Serialize;

use super::write_file;
use crate::check::outcome::Report;

/// The value of the top-level `schema` field; bumped when a field changes meaning or goes away.
pub const SCHEMA: &str = "tasktoken-report/1";

/// The JSON document: schema and summary first, then every field of the [`Report`].
#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    passed: usize,
    failed: usize,
    warnings: usize,
    skipped: usize,
    /// Results where the target differs from one of the mock's decisions (verdict `info`).
    info: usize,
    conformant: bool,
    #[serde(flatten)]
    report: &'a Report,
}

/// Renders `report` as pretty-printed JSON.
///
/// The top level has `schema` (`tasktoken-report/1`); the counts `passed`, `failed`,
/// `warnings`, `skipped`, `info` and `conformant`; then the report's own fields (`provider`,
/// `target`, `tokens`, `profile`, `seed`, `cases`, `results`, `elapsed` in milliseconds).
/// Each result carries its `verdict` (`pass`, `fail`, `warn`, `info`, `skip`) beside its other
/// fields.
pub fn render(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(&document(report))
        .expect("a Report has string keys and finite numbers only");
    text.push('\n');
    text
}

fn document(report: &Report) -> Document<'_> {
    let (passed, failed, warnings, skipped) = report.counts();
    Document {
        schema: SCHEMA,
        passed,
        failed,
        warnings,
        skipped,
        info: report.infos(),
        conformant: report.conformant(),
        report,
    }
}

/// The `schema` of a run over several providers.
pub const RUN_SCHEMA: &str = "tasktoken-run/1";

/// Renders the reports of one run (one per provider): `{"schema":"tasktoken-run/1",
/// "conformant":…, "reports":[<report document>…]}`, each document as [`render`] makes it.
pub fn render_all(reports: &[Report]) -> String {
    let value = serde_json::json!({
        "schema": RUN_SCHEMA,
        "conformant": reports.iter().all(Report::conformant),
        "reports": reports.iter().map(document).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&value).expect("reports serialise");
    text.push('\n');
    text
}

/// Renders the reports of one run as JSON into `path`.
pub fn write_all(reports: &[Report], path: &Path) -> std::io::Result<()> {
    write_file(path, &render_all(reports))
}

/// Renders `report` as JSON into `path`, creating missing parent folders.
pub fn write(report: &Report, path: &Path) -> std::io::Result<()> {
    write_file(path, &render(report))
}
