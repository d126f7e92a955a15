//! The check catalogue: every named check with its group, description and the contract rule it tests.

/// `check!(id, group, rule, body, description)`: one catalogue entry.
macro_rules! check {
    ($id:literal, $group:expr, $rule:expr, $run:expr, $desc:literal) => {
        Check { id: $id, group: $group, description: $desc, rule: &$rule, run: $run }
    };
}

mod alibaba;
mod aws;
mod shared;

use bytes::Bytes;
use http::Request;

use super::context::{CheckRun, Ctx, Halt};
use super::outcome::Group;
use super::wire::{observe, Seen};
use crate::contract::{Provider, Rule};

/// One named check.
pub struct Check {
    /// Id, `<provider>.<group>.<name>`.
    pub id: &'static str,
    /// Its group.
    pub group: Group,
    /// One line: what it checks.
    pub description: &'static str,
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
        Provider::Aws => aws::checks(),
        Provider::Alibaba => alibaba::checks(),
    }
}

/// Sends `request` and demands `code` (and `message`, when given); returns the answer.
pub(crate) fn expect(
    ctx: &Ctx<'_>,
    request: Request<Bytes>,
    code: &str,
    message: Option<&str>,
) -> Result<Seen, Halt> {
    let (request, result) = ctx.send(request);
    let seen = observe(ctx.provider, &result);
    // A success is a success answer, not an error whose code happens to read "200"; an
    // error must come with its catalogue status.
    let code_ok = if code == "200" { seen == Seen::Ok } else { seen.code() == code };
    let status = match &seen {
        Seen::Error { status, .. } => Some(*status),
        _ => None,
    };
    let want_status = ctx.provider.contract().error(code).map(|e| e.status);
    let status_ok = want_status.is_none() || status == want_status;
    let message_ok = message.is_none() || seen.message() == message;
    if code_ok && message_ok && status_ok {
        return Ok(seen);
    }
    if code_ok && message_ok {
        let want = want_status.unwrap_or_default();
        return Err(Halt::Fail(ctx.failure(
            format!("{code} came with HTTP {}", status.unwrap_or_default()),
            format!("{code} with HTTP {want}"),
            &request,
            &result,
        )));
    }
    let expected = match message {
        Some(m) => format!("{code}: {m}"),
        None => code.to_owned(),
    };
    let got = match seen.message() {
        Some(m) => format!("{}: {m}", seen.code()),
        None => seen.code(),
    };
    Err(Halt::Fail(ctx.failure(format!("got {got}"), expected, &request, &result)))
}

/// Sends `request` and demands a success.
pub(crate) fn expect_ok(ctx: &Ctx<'_>, request: Request<Bytes>) -> Result<(), Halt> {
    expect(ctx, request, "200", None).map(|_| ())
}
