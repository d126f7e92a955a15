//! Token identity: a live token changed anywhere, in case, length or one character, is a token never issued.
//!
//! A target that finds tasks by a prefix of the token (a `VARCHAR(255)` column), by a
//! case-insensitive comparison (a default collation) or by any part of the token short of all
//! of it answers some altered token as if it were the live one. These checks alter a long live
//! token (2048 characters where the source can mint it) at the positions such an index cuts,
//! and at random positions as a property, and demand the never-issued answer each time; then
//! the real token must still complete its untouched task.

use proptest::prelude::*;

use super::shared::{limit_error, member};
use super::Want;
use crate::check::call::{observe, request, Call, Seen};
use crate::check::context::{CheckRun, Ctx, Halt};
use crate::check::outcome::Failure;
use crate::check::tokens::{LiveToken, TaskRequest};
use crate::contract::{Bound, Provider};
use crate::tasks::Status;

/// The token length the identity checks ask for: the longest `taskToken` AWS allows. Sources
/// that cannot mint a length give what the target issues.
pub const TOKEN_LENGTH: usize = 2048;

/// Where a prefix index or a sampled comparison is cut: checked wherever the token is longer.
pub const CUTS: [usize; 6] = [64, 128, 255, 256, 512, 1024];

/// The characters a substitution draws from (the standard base64 alphabet, in which both
/// providers' tokens are written).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The output an altered token tries to complete its task with.
const ALTERED_OUTPUT: &str = "{\"altered\":true}";

/// The positions altered: first, middle, last, and each of [`CUTS`] inside the token.
pub fn positions(len: usize) -> Vec<usize> {
    let mut p: Vec<usize> = [0, len / 2, len.saturating_sub(1)]
        .into_iter()
        .chain(CUTS.into_iter().filter(|c| *c < len))
        .collect();
    p.sort_unstable();
    p.dedup();
    p
}

/// `chars` with the character at `at` replaced by the alphabet's `pick`-th (the next one when
/// that is the same character), and what was done, in words.
fn substituted(chars: &[char], at: usize, pick: usize) -> (String, String) {
    let original = chars[at];
    let mut k = pick % ALPHABET.len();
    if char::from(ALPHABET[k]) == original {
        k = (k + 1) % ALPHABET.len();
    }
    let c = char::from(ALPHABET[k]);
    let mut altered = chars.to_vec();
    altered[at] = c;
    (altered.into_iter().collect(), format!("character {at} changed from {original:?} to {c:?}"))
}

/// The first letter at or after `at` (wrapping round), where the token has one.
fn letter_from(chars: &[char], at: usize) -> Option<usize> {
    let n = chars.len();
    (0..n).map(|k| (at + k) % n).find(|i| chars[*i].is_ascii_alphabetic())
}

/// `chars` with the case of the letter at `i` flipped; `None` when it is not a letter.
fn case_flipped(chars: &[char], i: usize) -> Option<(String, String)> {
    let original = *chars.get(i).filter(|c| c.is_ascii_alphabetic())?;
    let flipped = if original.is_ascii_uppercase() {
        original.to_ascii_lowercase()
    } else {
        original.to_ascii_uppercase()
    };
    let mut altered = chars.to_vec();
    altered[i] = flipped;
    Some((altered.into_iter().collect(), format!("character {i} case-flipped to {flipped:?}")))
}

/// What a token the service never issued gets: the invalid-token error, or the member's
/// length error where the alteration took it past the contract's limit.
fn never_issued(ctx: &Ctx<'_>, token: &str) -> Result<(Want<'static>, Option<String>), Halt> {
    // A Lambda id is a path label with a pattern: an alteration that breaks the pattern (an `A`
    // after the padding) gets the validation error, a well-formed one the unknown-id error.
    if ctx.provider == Provider::Lambda {
        let spec = match crate::wire::lambda::validate_id(token.as_bytes(), &ctx.lambda) {
            Ok(_) => ctx.lambda.unknown_id.spec(),
            Err(e) => e.spec,
        };
        return Ok((Want::error(spec), None));
    }
    // The token is the first member of every operation.
    let operation = ctx.provider.contract().operations[0];
    let token_member = member(operation, operation.members[0].name)?;
    let limit = ctx.limit(token_member);
    Ok(match limit.check(token).err() {
        None => (Want::error(ctx.provider.contract().outcomes.invalid_token), None),
        Some(bound @ (Bound::TooLong | Bound::TooShort)) => {
            let (spec, message) = limit_error(ctx.provider, token_member, limit, bound);
            (Want::error(spec), message)
        }
    })
}

/// Sends a completion with `altered` and demands the never-issued answer.
fn probe(ctx: &Ctx<'_>, altered: &str, what: &str) -> Result<(), Halt> {
    let (want, message) = never_issued(ctx, altered)?;
    let want = match (want, &message) {
        (Want::Error { spec, .. }, Some(m)) => Want::Error { spec, message: Some(m.as_str()) },
        (w, _) => w,
    };
    let call = Call::Succeed { token: altered, output: ALTERED_OUTPUT };
    let (req, res) = ctx.send(request(ctx.provider, call, false))?;
    let seen = observe(ctx.provider, &res);
    if want.matches(&seen) {
        return Ok(());
    }
    let got = match seen.message() {
        Some(m) => format!("{}: {m}", seen.describe()),
        None => seen.describe(),
    };
    Err(Halt::Fail(ctx.failure(
        format!("the live token with {what} got {got}"),
        format!("{} (a token the service never issued); the task untouched", want.describe()),
        &req,
        &res,
    )))
}

/// After the altered calls: the task is still pending (where the source reads state), the real
/// token completes it, and the stored output is the real one.
fn untouched(ctx: &Ctx<'_>, t: &LiveToken) -> Result<(), Halt> {
    let before = ctx.state(t)?;
    let output = "{\"real\":true}";
    let (req, res) =
        ctx.send(request(ctx.provider, Call::Succeed { token: &t.token, output }, false))?;
    if let Some(state) = before {
        if state.status != Status::Pending || state.output.is_some() || state.error.is_some() {
            return Err(Halt::Fail(ctx.failure(
                format!(
                    "after the altered tokens were refused the task shows {:?} with output {:?}",
                    state.status, state.output
                ),
                "the task still PENDING, with nothing stored",
                &req,
                &res,
            )));
        }
    }
    let seen = observe(ctx.provider, &res);
    if seen != Seen::Ok {
        return Err(Halt::Fail(ctx.failure(
            format!("the real token, after the altered ones, got {}", seen.describe()),
            "200: the altered tokens left the task untouched",
            &req,
            &res,
        )));
    }
    if let Some(state) = ctx.state(t)? {
        if state.output.as_deref() != Some(output) {
            return Err(Halt::Fail(ctx.failure(
                format!("the task stores {:?}, not the real token's output", state.output),
                format!("{output} (the altered tokens' {ALTERED_OUTPUT} never applied)"),
                &req,
                &res,
            )));
        }
    }
    Ok(())
}

/// A long live token altered at first, middle, last and each cut: one character substituted,
/// its case flipped, truncated there, and extended by one character; every one gets the
/// never-issued answer, and the task stays untouched.
pub fn altered_tokens(ctx: &Ctx<'_>) -> CheckRun {
    let long = TaskRequest { token_length: Some(TOKEN_LENGTH), ..TaskRequest::default() };
    let t = ctx.mint(long)?;
    let chars: Vec<char> = t.token.chars().collect();
    let n = chars.len();
    if n < 2 {
        return Err(no_exchange(
            format!("the source issued a {n}-character token"),
            "a token of at least 2 characters to alter",
        ));
    }
    let mut variants: Vec<(String, String)> = Vec::new();
    for (k, at) in positions(n).into_iter().enumerate() {
        variants.push(substituted(&chars, at, k * 7 + 1));
        variants.extend(letter_from(&chars, at).and_then(|i| case_flipped(&chars, i)));
    }
    let cuts = CUTS.into_iter().chain([n / 2, n - 1]).filter(|c| *c > 0 && *c < n);
    for cut in cuts {
        variants.push((chars[..cut].iter().collect(), format!("only its first {cut} characters")));
    }
    variants.push((format!("{}A", t.token), "an `A` appended".to_owned()));
    // A padded Lambda id extended where its pattern allows it: before the `=` padding.
    let body = t.token.trim_end_matches('=');
    if ctx.provider == Provider::Lambda && body.len() < t.token.len() {
        let padding = &t.token[body.len()..];
        variants.push((format!("{body}A{padding}"), "an `A` inserted before the padding".into()));
    }
    let count = variants.len() as u32;
    for (altered, what) in &variants {
        probe(ctx, altered, what)?;
    }
    untouched(ctx, &t)?;
    // Extension where the long token sat at the length limit: also on a token of the source's
    // default length, which an extension keeps within it.
    let short = ctx.live()?;
    if short.token.chars().count() < n {
        probe(ctx, &format!("{}A", short.token), "an `A` appended (default length)")?;
        untouched(ctx, &short)?;
    }
    Ok(count)
}

/// Random positions and replacements (or case flips, where the character there is a letter) on
/// one long live token, shrinking to the lowest position the target confuses; then the real
/// token completes its untouched task.
pub fn altered_token_positions(ctx: &Ctx<'_>) -> CheckRun {
    let long = TaskRequest { token_length: Some(TOKEN_LENGTH), ..TaskRequest::default() };
    let t = ctx.mint(long)?;
    let chars: Vec<char> = t.token.chars().collect();
    if chars.is_empty() {
        return Err(no_exchange("the source issued an empty token", "a token to alter"));
    }
    let strategy = (0..chars.len(), 0..ALPHABET.len(), any::<bool>());
    let cases = ctx.property(strategy, |(at, pick, flip)| {
        let (altered, what) = match flip.then(|| case_flipped(&chars, *at)).flatten() {
            Some(flipped) => flipped,
            None => substituted(&chars, *at, *pick),
        };
        probe(ctx, &altered, &what)
    })?;
    untouched(ctx, &t)?;
    Ok(cases)
}

/// A failure with no exchange to show (what the source issued, say).
fn no_exchange(message: impl Into<String>, expected: impl Into<String>) -> Halt {
    Halt::Fail(Failure {
        message: message.into(),
        expected: expected.into(),
        minimal_case: None,
        exchange: None,
        transport_error: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_cover_the_cuts_inside_the_token() {
        assert_eq!(positions(2048), vec![0, 64, 128, 255, 256, 512, 1024, 2047]);
        assert_eq!(positions(268), vec![0, 64, 128, 134, 255, 256, 267]);
        assert_eq!(positions(1), vec![0]);
    }

    #[test]
    fn alterations_change_the_token_and_say_where() {
        let chars: Vec<char> = "AQCDabc=".chars().collect();
        let (s, what) = substituted(&chars, 0, 0);
        assert_eq!(s, "BQCDabc=");
        assert!(what.contains("character 0"), "{what}");
        assert_eq!(letter_from(&chars, 7), Some(0));
        let (s, what) = case_flipped(&chars, 0).unwrap();
        assert_eq!(s, "aQCDabc=");
        assert!(what.contains("character 0"), "{what}");
        assert!(case_flipped(&chars, 7).is_none());
        assert_eq!(letter_from(&['1', '='], 0), None);
    }
}
