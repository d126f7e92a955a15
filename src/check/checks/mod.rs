//! The check catalogue: every named check with its group, description and the rule it tests.
//!
//! [`expect`] and [`Want`] are the assertion the check bodies share: the answer they demand
//! is a contract [`ErrorSpec`] (status included) or a success.

/// `check!(id, group, rule, body, description)`: one catalogue entry.
macro_rules! check {
    ($id:literal, $group:expr, $rule:expr, $run:expr, $desc:expr) => {
        Check { id: $id, group: $group, description: $desc.into(), rule: &$rule, run: $run }
    };
}

mod activities;
mod alibaba;
mod aws;
mod identity;
mod lambda;
mod shared;
mod stored;

use bytes::Bytes;
use http::Request;

use super::call::{observe, Seen};
use super::context::{CheckRun, Ctx, Exchanged, Halt};
use super::outcome::Group;
use crate::contract::{ErrorSpec, Provider, Rule};

/// One named check.
pub struct Check {
    /// Id, `<provider>.<group>.<name>`.
    pub id: &'static str,
    /// Its group.
    pub group: Group,
    /// One line: what it checks (numbers in it come from the contract).
    pub description: String,
    /// The rule it tests.
    pub rule: &'static Rule,
    /// The check body.
    pub run: fn(&Ctx<'_>) -> CheckRun,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).field("rule", &self.rule.id).finish()
    }
}

/// Every check of `provider`, in run order.
pub fn catalogue(provider: Provider) -> Vec<Check> {
    match provider {
        Provider::Aws => aws::checks().into_iter().chain(activities::checks()).collect(),
        Provider::Alibaba => alibaba::checks(),
        Provider::Lambda => lambda::checks(),
    }
}

/// What a check demands of an answer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want<'a> {
    /// A success.
    Ok,
    /// The error `spec`, with its catalogue status, and `message` exactly when given.
    Error {
        /// The catalogue entry.
        spec: &'static ErrorSpec,
        /// The exact message, when the rule pins it.
        message: Option<&'a str>,
    },
}

impl Want<'_> {
    /// The error `spec`, whatever its message.
    pub(crate) fn error(spec: &'static ErrorSpec) -> Want<'static> {
        Want::Error { spec, message: None }
    }

    /// Whether `seen` is this answer (code and status; message when pinned).
    pub(crate) fn matches(&self, seen: &Seen) -> bool {
        match self {
            Want::Ok => *seen == Seen::Ok,
            Want::Error { spec, message } => {
                seen.is(spec) && (message.is_none() || seen.message() == *message)
            }
        }
    }

    /// The answer in a few words: `200`, `Code`, or `Code: message`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Want::Ok => "200".into(),
            Want::Error { spec, message: None } => spec.code.into(),
            Want::Error { spec, message: Some(m) } => format!("{}: {m}", spec.code),
        }
    }
}

/// Sends `request` and demands `want`; returns the answer.
pub(crate) fn expect(ctx: &Ctx<'_>, request: Request<Bytes>, want: Want<'_>) -> Result<Seen, Halt> {
    judge(ctx, ctx.send(request)?, want)
}

/// [`expect`] for a request malformed on purpose, sent unsigned (see [`Ctx::send_unsigned`]).
pub(crate) fn expect_unsigned(
    ctx: &Ctx<'_>,
    request: Request<Bytes>,
    want: Want<'_>,
) -> Result<Seen, Halt> {
    judge(ctx, ctx.send_unsigned(request), want)
}

/// Demands `want` of an exchange.
fn judge(ctx: &Ctx<'_>, (request, result): Exchanged, want: Want<'_>) -> Result<Seen, Halt> {
    let seen = observe(ctx.provider, &result);
    if want.matches(&seen) {
        return Ok(seen);
    }
    if let (Want::Error { spec, message }, Seen::Error { status, code: Some(code), .. }) =
        (want, &seen)
    {
        let message_ok = message.is_none() || seen.message() == message;
        if code == spec.code && message_ok {
            return Err(Halt::Fail(ctx.failure(
                format!("{code} came with HTTP {status}"),
                format!("{code} with HTTP {}", spec.status),
                &request,
                &result,
            )));
        }
    }
    let got = match seen.message() {
        Some(m) => format!("{}: {m}", seen.describe()),
        None => seen.describe(),
    };
    Err(Halt::Fail(ctx.failure(format!("got {got}"), want.describe(), &request, &result)))
}

/// Sends `request` and demands a success.
pub(crate) fn expect_ok(ctx: &Ctx<'_>, request: Request<Bytes>) -> Result<(), Halt> {
    expect(ctx, request, Want::Ok).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_id_is_provider_group_name() {
        for provider in Provider::ALL {
            let checks = catalogue(provider);
            assert!(!checks.is_empty());
            let mut seen = std::collections::HashSet::new();
            for check in checks {
                let parts: Vec<&str> = check.id.splitn(3, '.').collect();
                assert_eq!(parts.len(), 3, "{}", check.id);
                assert_eq!(parts[0], provider.name(), "{}", check.id);
                assert_eq!(
                    parts[1],
                    check.group.name(),
                    "{} is in group {:?}",
                    check.id,
                    check.group
                );
                assert!(
                    !parts[2].is_empty()
                        && parts[2]
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                    "{}",
                    check.id
                );
                assert!(seen.insert(check.id), "{} appears twice", check.id);
            }
        }
    }
}
