//! `tasktoken serve` as a process: prints the bound address, serves both APIs, honours flags and environment variables, and exits 0 on SIGTERM and SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start(args: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tasktoken"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let uri = line.trim().strip_prefix("tasktoken listening on ").expect(&line).to_owned();
    (child, uri)
}

fn stop(mut child: Child, signal: &str) -> i32 {
    let status = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("serve did not stop within 5 s of {signal}");
}

#[tokio::test]
async fn serve_mints_and_answers_then_stops_on_sigterm() {
    let (child, uri) = start(&["--port", "0", "--clock", "virtual", "--token-length", "1024"], &[]);
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{uri}/_mock/tasks"))
        .body(r#"{"provider":"aws"}"#)
        .send()
        .await
        .unwrap();
    let created: serde_json::Value = serde_json::from_str(&created.text().await.unwrap()).unwrap();
    let token = created["taskToken"].as_str().unwrap();
    assert_eq!(token.len(), 1024);
    let r = client
        .post(&uri)
        .header("X-Amz-Target", "AWSStepFunctions.SendTaskSuccess")
        .body(serde_json::json!({"taskToken": token, "output": "{}"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let clock = client
        .post(format!("{uri}/_mock/clock"))
        .body(r#"{"advanceSeconds":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(clock.status(), 200);
    assert_eq!(stop(child, "-TERM"), 0);
}

#[test]
fn environment_variables_configure_serve_and_sigint_stops_it() {
    let (child, uri) = start(&[], &[("TASKTOKEN_PORT", "0"), ("TASKTOKEN_HOST", "127.0.0.1")]);
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    assert_eq!(stop(child, "-INT"), 0);
}

#[test]
fn bad_configuration_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_tasktoken"))
        .args(["serve", "--port", "0", "--token-length", "30"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token length 30"));
    let out = Command::new(env!("CARGO_BIN_EXE_tasktoken"))
        .args(["serve", "--clock", "sundial"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_signal_sent_the_moment_the_address_is_printed_stops_serve_cleanly() {
    // The handlers are installed before the line is printed; a signal right after it used to
    // find none and kill the process (exit -1).
    for signal in ["-TERM", "-INT", "-TERM", "-INT", "-TERM", "-INT"] {
        let (child, _) = start(&["--port", "0"], &[]);
        assert_eq!(stop(child, signal), 0, "{signal}");
    }
}

/// Mints a Lambda callback on `uri` and posts a Result of `bytes` bytes; the answer's status
/// and `x-amzn-ErrorType`.
async fn lambda_result_of(uri: &str, bytes: usize) -> (u16, String) {
    let client = reqwest::Client::new();
    let created = client
        .post(format!("{uri}/_mock/tasks"))
        .body(r#"{"provider":"lambda"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = serde_json::from_str(&created.text().await.unwrap()).unwrap();
    let id = created["callbackId"].as_str().unwrap();
    let op = &tasktoken::contract::lambda::SEND_CALLBACK_SUCCESS;
    let r = client
        .post(format!("{uri}{}", tasktoken::wire::lambda::path(op, id)))
        .body(vec![b'x'; bytes])
        .send()
        .await
        .unwrap();
    let code = r.headers().get("x-amzn-errortype").map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), code.unwrap_or_default())
}

#[tokio::test]
async fn the_lambda_result_limit_flag_and_variable_are_enforced() {
    let ipve = (400, "InvalidParameterValueException".to_owned());
    let ok = (200, String::new());
    for (args, env) in [
        (&["--port", "0", "--lambda-result-limit", "262144"][..], &[][..]),
        (&["--port", "0"][..], &[("TASKTOKEN_LAMBDA_RESULT_LIMIT", "262144")][..]),
    ] {
        let (child, uri) = start(args, env);
        assert_eq!(lambda_result_of(&uri, 262_144).await, ok, "{args:?} {env:?}");
        assert_eq!(lambda_result_of(&uri, 262_145).await, ipve, "{args:?} {env:?}");
        assert_eq!(stop(child, "-TERM"), 0);
    }
    // The default is botocore 1.44.5's 1 MiB.
    let (child, uri) = start(&["--port", "0"], &[]);
    assert_eq!(lambda_result_of(&uri, 262_145).await, ok);
    assert_eq!(lambda_result_of(&uri, 1_048_576).await, ok);
    assert_eq!(lambda_result_of(&uri, 1_048_577).await, ipve);
    assert_eq!(stop(child, "-TERM"), 0);
}

#[test]
fn an_invalid_lambda_result_limit_is_refused_by_clap() {
    for (args, env) in [
        (&["serve", "--lambda-result-limit", "5"][..], &[][..]),
        (&["serve", "--lambda-result-limit", "1MiB"][..], &[][..]),
        (&["serve"][..], &[("TASKTOKEN_LAMBDA_RESULT_LIMIT", "262145")][..]),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tasktoken"))
            .args(args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--lambda-result-limit"), "{stderr}");
        assert!(stderr.contains("expected 1048576 or 262144"), "{stderr}");
    }
}
