//! Checks that let time pass on one shared virtual clock never expire each other's deadlines.
//!
//! The embedded mock has one clock; the `timeouts` checks move it. Run side by side, one
//! check's advance would time out another's task early, so the runner serialises them.

use tasktoken::check::report::Progress;
use tasktoken::check::{run_blocking, CheckConfig, Verdict};
use tasktoken::Provider;

#[test]
fn timeouts_checks_on_four_workers_all_pass_against_the_embedded_mock() {
    for round in 0..3 {
        let mut config = CheckConfig::new(Provider::Aws);
        config.select = vec!["timeouts".into()];
        config.concurrency = 4;
        let report = run_blocking(&config, &Progress::new(0, false)).unwrap();
        assert_eq!(report.results.len(), 4);
        for r in &report.results {
            assert!(matches!(r.verdict, Verdict::Pass), "round {round}: {} {:?}", r.id, r.verdict);
        }
    }
}
