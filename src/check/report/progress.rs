//! The progress bar on stderr while checks run, drawn only for a person at a terminal.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::check::outcome::{CheckResult, Verdict};

/// The bar's layout: spinner, elapsed time, bar, count, the check being run.
const TEMPLATE: &str = "{spinner} {elapsed:>3} [{bar:30}] {pos}/{len} {wide_msg}";

/// True when a progress bar would help: stderr is a terminal and `CI` is not set.
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// A progress bar over a run's checks, on stderr.
///
/// When disabled it draws nothing and every method is a no-op, so callers need not branch.
/// It is `Send + Sync`: checks running on worker threads may report through a shared
/// reference.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total_checks` checks; `enabled` is usually [`progress_wanted`] unless
    /// `--no-progress` was given.
    pub fn new(total_checks: u64, enabled: bool) -> Self {
        if !enabled {
            return Progress { bar: ProgressBar::hidden() };
        }
        let bar = ProgressBar::with_draw_target(Some(total_checks), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    /// A check has started: show its id.
    pub fn started(&self, check_id: &str) {
        self.bar.set_message(check_id.to_owned());
    }

    /// A check has finished: advance the bar, and print a line above it for a failure or a
    /// warning, so they are seen before the run ends.
    pub fn finished(&self, result: &CheckResult) {
        match &result.verdict {
            Verdict::Fail(f) => self.bar.println(format!("FAIL {}: {}", result.id, f.message)),
            Verdict::Warn(f) => self.bar.println(format!("WARN {}: {}", result.id, f.message)),
            Verdict::Info(f) => self.bar.println(format!("INFO {}: {}", result.id, f.message)),
            Verdict::Pass | Verdict::Skip { .. } => {}
        }
        self.bar.inc(1);
    }

    /// The run is over: remove the bar, leaving the terminal for the report.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::Progress;

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Progress>();
    }

    #[test]
    fn disabled_bar_is_inert() {
        let progress = Progress::new(3, false);
        progress.started("aws.wire.success-body");
        progress.finish();
        assert!(progress.bar.is_hidden());
    }
}
