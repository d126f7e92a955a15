//! What the benches share: a `tasktoken serve` child process, the RSS reader, the body clients.
//!
//! Each bench includes this file with `mod common;`, so each compiles its own copy and uses
//! only part of it (`throughput` runs the mock in process and needs only [`rss_kb`]); hence
//! the `dead_code` allowance below.
#![allow(dead_code)]

pub mod bodies;

use std::fmt;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// The first line `tasktoken serve` prints, before the address it bound
/// (`src/cli.rs`: `tasktoken listening on http://127.0.0.1:PORT`).
pub const LISTENING: &str = "tasktoken listening on ";

/// How long [`ServeProcess::stop`] waits after SIGTERM before SIGKILL (the server drains its
/// connections for up to 5 s).
const STOP_WITHIN: Duration = Duration::from_secs(15);

/// `VmRSS` of process `pid` in kB, from `/proc/<pid>/status` (Linux only; `None` elsewhere or
/// once the process is gone).
pub fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// How a [`ServeProcess`] ended.
#[derive(Debug, Clone, Copy)]
pub enum Stopped {
    /// It exited by itself after SIGTERM, with this status.
    Exited(ExitStatus),
    /// It was still running [`STOP_WITHIN`] after SIGTERM and was killed.
    Killed,
}

impl Stopped {
    /// Exited with status 0 after SIGTERM.
    pub fn clean(&self) -> bool {
        matches!(self, Stopped::Exited(status) if status.success())
    }
}

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stopped::Exited(status) if status.success() => write!(f, "stopped cleanly ({status})"),
            Stopped::Exited(status) => write!(f, "FAILED to stop cleanly: {status}"),
            Stopped::Killed => {
                write!(f, "FAILED: still running {} s after SIGTERM; killed", STOP_WITHIN.as_secs())
            }
        }
    }
}

/// A `tasktoken serve` child on 127.0.0.1 (stdout read for its address, stderr discarded):
/// stopped with SIGTERM and waited for on drop.
pub struct ServeProcess {
    child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, as printed.
    pub base: String,
    /// Descriptors the idle server holds (listener, epoll, stdio, ...).
    pub idle_fds: usize,
    stopped: Option<Stopped>,
}

impl ServeProcess {
    /// Starts `tasktoken serve` with `args` and waits for its listening line.
    pub fn spawn(args: &[&str]) -> Result<ServeProcess, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tasktoken"));
        command.arg("serve").args(args);
        ServeProcess::spawn_command(command)
    }

    /// Starts `command`, a server that prints [`LISTENING`] and its address first as
    /// `tasktoken serve` does, and waits for that line.
    pub fn spawn_command(mut command: Command) -> Result<ServeProcess, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start {command:?}: {e}"))?;
        let pid = child.id();
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line);
        let base = line.trim().strip_prefix(LISTENING).map(str::to_owned);
        let mut server = ServeProcess {
            child,
            pid,
            addr: ([127, 0, 0, 1], 0).into(),
            base: String::new(),
            idle_fds: 0,
            stopped: None,
        };
        let (Ok(_), Some(base)) = (read, base) else {
            server.stop();
            return Err(format!("{command:?} printed {line:?}, not its address"));
        };
        server.addr = base
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("cannot parse the address in {base:?}"))?;
        server.base = base;
        server.idle_fds = server.open_fds();
        Ok(server)
    }

    /// The server's `VmRSS` in kB (0 once it cannot be read).
    pub fn rss_kb(&self) -> u64 {
        rss_kb(self.pid).unwrap_or(0)
    }

    /// Descriptors the server holds now: a count of its accepted connections, plus `idle_fds`.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid)).map_or(0, |d| d.count())
    }

    /// Whether the process still runs (not exited, not a zombie).
    pub fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')').map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            })
            .is_some_and(|dead| !dead)
    }

    /// Waits (bounded) until the server holds no more connections than when it started.
    pub async fn settle(&self, within: Duration) -> bool {
        self.settle_to(within, 0).await
    }

    /// Waits (bounded) until the server holds at most `extra` connections more than when it
    /// started (a prober's own connection, say).
    pub async fn settle_to(&self, within: Duration, extra: usize) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if self.open_fds() <= self.idle_fds + extra {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// SIGTERM, then a wait of up to [`STOP_WITHIN`], then SIGKILL. Returns how it ended;
    /// idempotent.
    pub fn stop(&mut self) -> Stopped {
        if let Some(how) = self.stopped {
            return how;
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let deadline = std::time::Instant::now() + STOP_WITHIN;
        let how = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Stopped::Exited(status),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break Stopped::Killed;
                }
            }
        };
        self.stopped = Some(how);
        how
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The environment variable `name` parsed, or `default` when unset (or, with a warning,
/// unparsable).
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(raw) => raw.trim().parse().unwrap_or_else(|_| {
            eprintln!("{name}={raw:?} is not valid; using the default");
            default
        }),
        Err(_) => default,
    }
}

/// The one-minute load average, from `/proc/loadavg` (Linux only).
pub fn load_average() -> Option<String> {
    let loadavg = std::fs::read_to_string("/proc/loadavg").ok()?;
    loadavg.split_whitespace().next().map(str::to_owned)
}

/// The median of `values` (NaN when empty).
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}

/// `PASS` or `FAIL`.
pub fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "FAIL"
    }
}
