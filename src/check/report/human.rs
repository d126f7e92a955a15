//! The terminal report: a line per check, a detail block per failure and warning, and a summary.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Effects, Style};

use super::{profile_name, replay_command};
use crate::check::outcome::{CheckResult, Failure, Report, Verdict};

/// Width of the widest bracketed provenance, `[documented]`.
const PROVENANCE_WIDTH: usize = 12;

/// Renders the whole report for a person.
///
/// A header line names the run (provider, target, token source, profile, seed, cases per
/// property); then one line per check (`PASS`, `FAIL`, `WARN`, `INFO` or `SKIP`, the check id,
/// the rule's provenance in brackets, the description; a skip adds its reason); then a
/// [`detail`] block for each failure, warning and information (where the target differs from
/// one of the mock's decisions); then the summary line
/// (`aws: 23 passed, 1 failed, 2 warnings, 3 skipped in 4.2 s — NOT CONFORMANT`, with
/// `, 1 info` after the skips when there is information) and, last, a
/// plain `23 passed, 1 failed, 3 skipped` line with the same counts, for CI tools that read
/// that form.
///
/// With `color` the verdict tags and the conformance verdict carry ANSI colours; without it
/// the text has no escape codes at all.
pub fn render(report: &Report, color: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}tasktoken check{}: provider {}, target {}, tokens {}, profile {}, seed {}, {} cases per property",
        paint(color, Style::new().bold()),
        reset(color, Style::new().bold()),
        report.provider,
        report.target,
        report.tokens,
        profile_name(report.profile),
        report.seed,
        report.cases,
    );
    out.push('\n');

    let id_width = report.results.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
    for result in &report.results {
        let provenance = format!("[{}]", result.provenance);
        let mut line = format!(
            "{}  {:id_width$}  {:PROVENANCE_WIDTH$}  {}",
            tag(&result.verdict, color),
            result.id,
            provenance,
            result.description,
        );
        if let Verdict::Skip { reason, setup } = &result.verdict {
            let why = if *setup { "setup error" } else { "skipped" };
            let _ = write!(line, " — {why}: {reason}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }

    for result in &report.results {
        if matches!(result.verdict, Verdict::Fail(_) | Verdict::Warn(_) | Verdict::Info(_)) {
            out.push('\n');
            out.push_str(&detail(report, result, color));
        }
    }

    let (passed, failed, warned, skipped) = report.counts();
    let info = match report.infos() {
        0 => String::new(),
        n => format!(", {n} info"),
    };
    let verdict = if report.conformant() {
        format!("{}CONFORMANT{}", paint(color, green().bold()), reset(color, green().bold()))
    } else {
        format!("{}NOT CONFORMANT{}", paint(color, red().bold()), reset(color, red().bold()))
    };
    out.push('\n');
    let _ = writeln!(
        out,
        "{}: {passed} passed, {failed} failed, {warned} {}, {skipped} skipped{info} in {:.1} s — {verdict}",
        report.provider,
        if warned == 1 { "warning" } else { "warnings" },
        report.elapsed.as_secs_f64(),
    );
    let _ = writeln!(out, "{passed} passed, {failed} failed, {skipped} skipped");
    out
}

/// The detail block of one failed, warned or informational check (empty for a pass or a skip).
///
/// It names the rule (id, provenance, summary, source), says what the contract expects and
/// what the target did, gives the minimal failing case when the check shrank one, shows the
/// exchange exactly as stored (indented), and ends with the command that replays the check.
/// The JUnit report uses the same block, without colour, as the failure text.
pub fn detail(report: &Report, result: &CheckResult, color: bool) -> String {
    let failure: &Failure = match &result.verdict {
        Verdict::Fail(f) | Verdict::Warn(f) | Verdict::Info(f) => f,
        Verdict::Pass | Verdict::Skip { .. } => return String::new(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}{}{}",
        tag(&result.verdict, color),
        paint(color, Style::new().bold()),
        result.id,
        reset(color, Style::new().bold()),
    );
    field(
        &mut out,
        "rule",
        &format!("{} [{}] {}", result.rule_id, result.provenance, result.rule_summary),
    );
    field(&mut out, "source", &result.rule_source);
    field(&mut out, "expected", &failure.expected);
    field(&mut out, "got", &failure.message);
    if let Some(case) = &failure.minimal_case {
        field(&mut out, "minimal case", case);
    }
    if let Some(exchange) = &failure.exchange {
        block(&mut out, "request", &exchange.request);
        block(&mut out, "response", &exchange.response);
    }
    field(&mut out, "replay", &replay_command(report, result));
    out
}

/// `  label: value`, or the value indented on the lines below when it spans several lines.
fn field(out: &mut String, label: &str, value: &str) {
    if value.contains('\n') {
        block(out, label, value);
    } else {
        let _ = writeln!(out, "  {label}: {value}");
    }
}

/// `  label:` and then `text` line by line, indented; blank lines stay empty.
fn block(out: &mut String, label: &str, text: &str) {
    let _ = writeln!(out, "  {label}:");
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// The four-letter verdict tag, coloured when asked.
fn tag(verdict: &Verdict, color: bool) -> String {
    let (text, style) = match verdict {
        Verdict::Pass => ("PASS", green()),
        Verdict::Fail(_) => ("FAIL", red().bold()),
        Verdict::Warn(_) => ("WARN", Style::new().fg_color(Some(AnsiColor::Yellow.into()))),
        Verdict::Info(_) => ("INFO", Style::new().fg_color(Some(AnsiColor::Cyan.into()))),
        Verdict::Skip { .. } => ("SKIP", Style::new().effects(Effects::DIMMED)),
    };
    format!("{}{text}{}", paint(color, style), reset(color, style))
}

fn green() -> Style {
    Style::new().fg_color(Some(AnsiColor::Green.into()))
}

fn red() -> Style {
    Style::new().fg_color(Some(AnsiColor::Red.into()))
}

/// The escape code that starts `style`, or nothing without colour.
fn paint(color: bool, style: Style) -> String {
    if color {
        style.render().to_string()
    } else {
        String::new()
    }
}

/// The escape code that ends `style`, or nothing without colour.
fn reset(color: bool, style: Style) -> String {
    if color {
        style.render_reset().to_string()
    } else {
        String::new()
    }
}
