//! Linearizability of a recorded history of calls on one token against the single-task model.
//!
//! The model is a write-once register with heartbeats.
//!
//! A history is linearizable when some completion `w` (or none) can be the winner such that:
//! no other completion answered 200; every call answered "closed" can be placed after `w`
//! (it returned after `w` was invoked); every heartbeat answered 200 can be placed before
//! `w` (it was invoked before `w` returned); and one instant inside `w`'s own interval fits
//! all of those at once. Calls whose outcome is unknown (transport errors, timeouts) may
//! have taken effect or not. Where the task's state is readable, it must be `w`'s.

use serde::Serialize;

/// What a call did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CallKind {
    /// A completion carrying what it would store.
    Complete(Stored),
    /// A heartbeat.
    Heartbeat,
}

/// What a call got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CallResult {
    /// 200.
    Ok,
    /// The "task closed" error (`TaskTimedOut`, `TaskAlreadyCompleted`).
    Closed,
    /// A transport error or time-out: it may or may not have taken effect.
    Unknown,
}

/// A task's final state, as a completion would leave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Stored {
    /// Succeeded with this output.
    Succeeded(String),
    /// Failed with this error and cause.
    Failed(Option<String>, Option<String>),
}

/// One call: kind, invocation and return times (any monotonic unit), result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Call {
    /// What it asked.
    pub kind: CallKind,
    /// When it was sent.
    pub invoked: u64,
    /// When its answer was complete.
    pub returned: u64,
    /// What it got.
    pub result: CallResult,
}

/// The task's state read after the race: `None` for pending, or what was stored.
pub type Observed = Option<Stored>;

/// `Ok(winner index)` when the history is linearizable, else why not.
///
/// ```
/// use tasktoken::check::history::{check, Call, CallKind, CallResult, Stored};
///
/// let done = |r, i, t| Call { kind: CallKind::Complete(Stored::Succeeded("1".into())), invoked: i, returned: t, result: r };
/// // Two 200s for one token: never linearizable.
/// assert!(check(&[done(CallResult::Ok, 0, 5), done(CallResult::Ok, 1, 6)], None).is_err());
/// // One winner, one loser that returned after the winner was invoked: fine.
/// assert_eq!(check(&[done(CallResult::Ok, 0, 5), done(CallResult::Closed, 1, 6)], None), Ok(Some(0)));
/// ```
pub fn check(calls: &[Call], state: Option<&Observed>) -> Result<Option<usize>, String> {
    let oks: Vec<usize> = calls
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, CallKind::Complete(_)) && c.result == CallResult::Ok)
        .map(|(i, _)| i)
        .collect();
    if oks.len() > 1 {
        return Err(format!(
            "{} completions on one token answered 200 (calls {:?})",
            oks.len(),
            oks
        ));
    }
    let candidates: Vec<Option<usize>> = if let Some(&w) = oks.first() {
        vec![Some(w)]
    } else {
        let mut c: Vec<Option<usize>> = calls
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                matches!(c.kind, CallKind::Complete(_)) && c.result == CallResult::Unknown
            })
            .map(|(i, _)| Some(i))
            .collect();
        c.insert(0, None);
        c
    };
    let mut reasons = Vec::new();
    for candidate in candidates {
        match fits(calls, candidate, state) {
            Ok(()) => return Ok(candidate),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(reasons.join("; "))
}

fn fits(calls: &[Call], winner: Option<usize>, state: Option<&Observed>) -> Result<(), String> {
    let Some(w) = winner else {
        if let Some(i) = calls.iter().position(|c| c.result == CallResult::Closed) {
            return Err(format!("call {i} answered closed, but no completion took effect"));
        }
        if let Some(Some(stored)) = state {
            return Err(format!("the task shows {stored:?}, but no completion took effect"));
        }
        return Ok(());
    };
    let win = &calls[w];
    let CallKind::Complete(stored) = &win.kind else { unreachable!("winners are completions") };
    if let Some(observed) = state {
        if observed.as_ref() != Some(stored) {
            return Err(format!(
                "winner {w} would store {stored:?}, but the task shows {observed:?}"
            ));
        }
    }
    // The instant t at which w takes effect: inside w's interval, after every 200 heartbeat
    // was invoked, before every closed answer returned.
    let mut low = win.invoked;
    let mut high = win.returned;
    for (i, c) in calls.iter().enumerate() {
        if i == w {
            continue;
        }
        match (&c.kind, c.result) {
            (CallKind::Heartbeat, CallResult::Ok) => low = low.max(c.invoked),
            (_, CallResult::Closed) => high = high.min(c.returned),
            _ => {}
        }
    }
    if low > high {
        return Err(format!(
            "no instant fits winner {w}: it must take effect after a heartbeat that answered 200 \
             was sent and before a call that answered closed returned"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(kind: CallKind, invoked: u64, returned: u64, result: CallResult) -> Call {
        Call { kind, invoked, returned, result }
    }
    fn ok(v: &str) -> CallKind {
        CallKind::Complete(Stored::Succeeded(v.into()))
    }

    #[test]
    fn a_closed_answer_before_the_winner_started_is_a_violation() {
        // Call 1 returned "closed" at 2, but the only winner was sent at 5.
        let h = [c(ok("a"), 5, 9, CallResult::Ok), c(ok("b"), 0, 2, CallResult::Closed)];
        assert!(check(&h, None).is_err());
    }

    #[test]
    fn a_heartbeat_ok_after_the_winner_returned_is_a_violation() {
        let h = [c(ok("a"), 0, 2, CallResult::Ok), c(CallKind::Heartbeat, 5, 6, CallResult::Ok)];
        assert!(check(&h, None).is_err());
        let h = [c(ok("a"), 0, 9, CallResult::Ok), c(CallKind::Heartbeat, 5, 6, CallResult::Ok)];
        assert_eq!(check(&h, None), Ok(Some(0)));
    }

    #[test]
    fn unknown_outcomes_may_be_the_winner() {
        let h = [c(ok("a"), 0, 9, CallResult::Unknown), c(ok("b"), 1, 5, CallResult::Closed)];
        assert_eq!(check(&h, Some(&Some(Stored::Succeeded("a".into())))), Ok(Some(0)));
        assert!(check(&h, Some(&Some(Stored::Succeeded("b".into())))).is_err());
        assert!(check(&h, Some(&None)).is_err());
    }

    #[test]
    fn the_stored_state_must_be_the_winners() {
        let h = [c(ok("a"), 0, 2, CallResult::Ok)];
        assert!(check(&h, Some(&Some(Stored::Succeeded("x".into())))).is_err());
        assert!(check(&h, Some(&None)).is_err());
    }
}
