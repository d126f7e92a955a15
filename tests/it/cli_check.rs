//! `tasktoken check` as a process: a secret never shows, unsignable credentials exit 2.
//!
//! A `--secret-key` appears in no stdout, trace log, JUnit or JSON report; credentials that
//! cannot sign a request are a setup error.

use std::process::Command;

/// A secret no output could contain by accident.
const MARKER: &str = "tt-secret-marker-5f1c9a0e77d24b8c";

fn check(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tasktoken"))
        .arg("check")
        .args(args)
        .env_remove("TASKTOKEN_SECRET_KEY")
        .env_remove("TASKTOKEN_ACCESS_KEY_ID")
        .output()
        .unwrap()
}

#[test]
fn the_secret_key_appears_in_no_output_log_or_report() {
    let dir = std::env::temp_dir().join(format!("tasktoken-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (junit, json) = (dir.join("report.xml"), dir.join("report.json"));
    let out = check(&[
        "--secret-key",
        MARKER,
        "--access-key-id",
        "AKID",
        "--log",
        "trace",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--cases",
        "4",
        "--no-progress",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let junit = std::fs::read_to_string(&junit).unwrap();
    let json = std::fs::read_to_string(&json).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Signed requests against the embedded mock: both providers conformant, and the run did
    // produce what is searched (trace logs, both reports).
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        &stderr[stderr.len().saturating_sub(4000)..]
    );
    assert!(stderr.contains("TRACE"), "no trace logs on stderr");
    assert!(stdout.contains("aws.state.duplicate-success") && stdout.contains("alibaba."));
    assert!(junit.contains("<testsuite") && json.contains("\"results\""));
    for (name, text) in
        [("stdout", &*stdout), ("stderr", &*stderr), ("JUnit", &junit), ("JSON", &json)]
    {
        assert!(!text.contains(MARKER), "the secret appears in {name}");
    }
}

#[test]
fn credentials_that_cannot_sign_are_a_setup_error_exit_2() {
    let out = check(&[
        "--provider",
        "aws",
        "--access-key-id",
        "AKID",
        "--secret-key",
        MARKER,
        "--region",
        "us-east-1\nbad",
        "--no-progress",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("error: the credentials given cannot sign requests: cannot sign the request"),
        "{stderr}"
    );
    assert!(!stderr.contains(MARKER) && !String::from_utf8_lossy(&out.stdout).contains(MARKER));
}
