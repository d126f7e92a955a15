//! Byte-exact results: outputs, errors and causes a normalising store would change come back as sent.
//!
//! A target that keeps the output after a JSON round trip (whitespace dropped, `\u00e9` made
//! `é`, `1.50` made `1.5`, keys sorted, duplicate keys merged) or trims and re-ends its text
//! passes any check whose values survive that. This property sends values that do not: JSON
//! texts from [`json_document`] and free text from [`untrimmed_text`], read each back through
//! the token source and compares bytes, shrinking to the smallest value the target changes.

use proptest::prelude::*;

use super::shared::member;
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt, SkipReason};
use crate::check::strategies::{json_document, untrimmed_text};
use crate::contract::{Action, Operation};
use crate::tasks::Status;

/// What a case completes its task with.
#[derive(Debug, Clone)]
enum Completion {
    /// A success with this output.
    Succeed(String),
    /// A failure with this error and cause.
    Fail(String, String),
}

/// The operation of `provider`'s contract that does `action`.
fn operation(ctx: &Ctx<'_>, action: Action) -> Result<&'static Operation, Halt> {
    ctx.provider.contract().operations.iter().copied().find(|op| op.action == action).ok_or_else(
        || {
            Halt::Setup(crate::check::context::SetupError::Catalogue(format!(
                "{} has no {action:?} operation",
                ctx.provider
            )))
        },
    )
}

/// Where `a` and `b` first differ, in bytes.
fn first_difference(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// The stored output, error and cause are the ones sent, byte for byte.
pub fn result_byte_exact(ctx: &Ctx<'_>) -> CheckRun {
    ctx.require(ctx.can().read_state, "read task state")?;
    let fail = operation(ctx, Action::Fail)?;
    let succeed = operation(ctx, Action::Succeed)?;
    // Values stay far inside the contract's limits: the widest error the strategy makes is 12
    // pieces of at most 2 characters, and outputs are a few kilobytes.
    let error = ctx.limit(member(fail, fail.members[1].name)?);
    let output = ctx.limit(member(succeed, succeed.members[1].name)?);
    let completion = prop_oneof![
        2 => json_document().prop_map(Completion::Succeed),
        1 => (untrimmed_text(error.max.min(24)), untrimmed_text(64))
            .prop_map(|(e, c)| Completion::Fail(e, c)),
    ];
    ctx.property((completion, any::<bool>()), |(completion, escaped)| {
        let t = ctx.live()?;
        let call = match completion {
            Completion::Succeed(o) if o.len() <= output.max => {
                Call::Succeed { token: &t.token, output: o }
            }
            Completion::Succeed(_) => return Ok(()),
            Completion::Fail(e, c) => Call::Fail { token: &t.token, error: Some(e), cause: Some(c) },
        };
        let (req, res) = ctx.send(request(ctx.provider, call, *escaped))?;
        if observe(ctx.provider, &res) != Seen::Ok {
            return Err(Halt::Fail(ctx.failure(
                format!("the completion was refused: {}", observe(ctx.provider, &res).describe()),
                "200 (the value is valid and within the limits)",
                &req,
                &res,
            )));
        }
        let state = ctx.state(&t)?.ok_or(Halt::Skip(SkipReason::NoState))?;
        let (status, sent, stored) = match completion {
            Completion::Succeed(o) => {
                (Status::Succeeded, vec![("output", o)], vec![state.output.clone()])
            }
            Completion::Fail(e, c) => (
                Status::Failed,
                vec![("error", e), ("cause", c)],
                vec![state.error.clone(), state.cause.clone()],
            ),
        };
        if state.status != status {
            return Err(Halt::Fail(ctx.failure(
                format!("the task shows {:?} after the completion", state.status),
                format!("{status:?}"),
                &req,
                &res,
            )));
        }
        for ((name, sent), stored) in sent.into_iter().zip(stored) {
            if stored.as_deref() != Some(sent.as_str()) {
                let at = stored.as_deref().map_or(0, |s| first_difference(s, sent));
                return Err(Halt::Fail(ctx.failure(
                    format!(
                        "the task stores {name} {stored:?} ({} bytes), which differs from the {} bytes sent from byte {at}",
                        stored.as_deref().map_or(0, str::len),
                        sent.len()
                    ),
                    format!("{name} stored byte for byte: {sent:?}"),
                    &req,
                    &res,
                )));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_is_a_byte_offset() {
        assert_eq!(first_difference("{\"a\": 1}", "{\"a\":1}"), 5);
        assert_eq!(first_difference("abc", "abc"), 3);
        assert_eq!(first_difference("ab", "abc"), 2);
    }
}
