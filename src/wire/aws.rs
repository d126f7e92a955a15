//! The AWS awsJson1_0 wire format: request bytes to a call or a rejection, and outcomes to response bytes.
//!
//! Pure functions: no state, no I/O. The mock runs them on requests; the checker runs the
//! encoders to build requests and reads responses with [`decode_response`].

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Call;
use crate::contract::aws::{
    self, CONTENT_TYPE, MAX_REQUEST_BYTES, SERIALIZATION, TOO_LARGE_BODY, TOO_LARGE_CONTENT_TYPE,
    UNKNOWN_OPERATION, VALIDATION,
};
use crate::contract::{Bound, ErrorSpec, Member, Operation};

/// Header naming the operation.
pub const TARGET_HEADER: &str = "x-amz-target";
/// [`TARGET_HEADER`] as a header name (looked up without parsing the name each time).
pub const TARGET: HeaderName = HeaderName::from_static(TARGET_HEADER);
/// Header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-amzn-requestid";
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// A rejection: which catalogue error, with its rendered message (if the error has one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The catalogue entry.
    pub spec: &'static ErrorSpec,
    /// The message member, exactly; `None` when the body has no message.
    pub message: Option<String>,
    /// Further string members after `message` (`kmsKeyState`).
    pub extra: Vec<(&'static str, String)>,
}

impl AwsError {
    /// The error with its template message (no `%s` arguments).
    pub fn plain(spec: &'static ErrorSpec) -> AwsError {
        AwsError { spec, message: spec.render_message(&[]), extra: Vec::new() }
    }

    /// The error with `args` filled into its template.
    pub fn with(spec: &'static ErrorSpec, args: &[&str]) -> AwsError {
        AwsError { spec, message: spec.render_message(args), extra: Vec::new() }
    }
}

/// A request that passed the framework checks (size, JSON, target): its operation and the
/// members any operation may read, borrowed from the body where JSON escapes allow.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<'a> {
    /// The operation `X-Amz-Target` names.
    pub operation: &'static Operation,
    members: Body<'a>,
}

/// Every member name of every AWS operation: their values are kept while the body is parsed;
/// other members are only checked to be well-formed JSON (a unit test keeps this list complete).
const MEMBER_NAMES: [&str; 4] = ["taskToken", "output", "error", "cause"];

/// The values of [`MEMBER_NAMES`] in a body (a repeated member counts as its last value).
#[derive(Debug, Clone, PartialEq, Default)]
struct Body<'a>([Option<MemberValue<'a>>; MEMBER_NAMES.len()]);

/// A member's value, as far as the member types care: null, a string, or anything else. Every
/// value is read in full, unknown members and nested ones too: strings are decoded, so a lone
/// surrogate anywhere is an error (`serde::de::IgnoredAny` would skip escapes unchecked).
#[derive(Debug, Clone, PartialEq)]
enum MemberValue<'a> {
    Null,
    Str(Cow<'a, str>),
    Other,
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Body<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body<'de>, A::Error> {
                let mut body = Body::default();
                while let Some(Key(member)) = map.next_key()? {
                    match member {
                        Some(i) => body.0[i] = Some(map.next_value()?),
                        None => {
                            map.next_value::<MemberValue<'_>>()?;
                        }
                    }
                }
                Ok(body)
            }
        }
        deserializer.deserialize_any(Object)
    }
}

/// A member name: its index in [`MEMBER_NAMES`], or `None` for any other name.
struct Key(Option<usize>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(Key(MEMBER_NAMES.iter().position(|m| *m == name)))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

impl<'de> Deserialize<'de> for MemberValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Value;
        impl<'de> Visitor<'de> for Value {
            type Value = MemberValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(MemberValue::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(MemberValue::Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(MemberValue::Str(Cow::Owned(s)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MemberValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MemberValue::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MemberValue::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MemberValue::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MemberValue::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MemberValue::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<MemberValue<'de>>()?.is_some() {}
                Ok(MemberValue::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_key::<MemberValue<'de>>()?.is_some() {
                    map.next_value::<MemberValue<'de>>()?;
                }
                Ok(MemberValue::Other)
            }
        }
        deserializer.deserialize_any(Value)
    }
}

/// Size, JSON, then target: the checks that come before authentication.
///
/// ```
/// use bytes::Bytes;
/// use tasktoken::wire::aws;
///
/// let req = http::Request::post("/")
///     .header("X-Amz-Target", "AWSStepFunctions.SendTaskHeartbeat")
///     .body(Bytes::from_static(br#"{"taskToken":"t"}"#))
///     .unwrap();
/// let env = aws::parse_envelope(&req).unwrap();
/// assert_eq!(env.operation.name, "SendTaskHeartbeat");
/// ```
pub fn parse_envelope(req: &Request<Bytes>) -> Result<Envelope<'_>, AwsError> {
    let target = req.headers().get(&TARGET).and_then(|v| v.to_str().ok());
    parse_envelope_with(req.body(), target)
}

/// [`parse_envelope`] of a body whose `X-Amz-Target` (as visible ASCII) was already looked up.
pub(crate) fn parse_envelope_with<'a>(
    body: &'a [u8],
    target: Option<&str>,
) -> Result<Envelope<'a>, AwsError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(AwsError::plain(&aws::REQUEST_TOO_LARGE));
    }
    let members =
        serde_json::from_slice::<Body<'_>>(body).map_err(|_| AwsError::plain(&SERIALIZATION))?;
    let operation = target
        .and_then(|t| aws::CONTRACT.operation_by_wire_name(t))
        .ok_or_else(|| AwsError::plain(&UNKNOWN_OPERATION))?;
    Ok(Envelope { operation, members })
}

/// Member types, then model validation: an envelope to a call.
pub fn parse_call(envelope: Envelope<'_>) -> Result<Call<'_>, AwsError> {
    let Envelope { operation, mut members } = envelope;
    // In the operation's member order (no operation has more members than there are names).
    let mut values: [Option<Cow<'_, str>>; MEMBER_NAMES.len()] = Default::default();
    for (member, value) in operation.members.iter().zip(&mut values) {
        let slot = MEMBER_NAMES.iter().position(|m| *m == member.name);
        match slot.and_then(|i| members.0[i].take()) {
            None | Some(MemberValue::Null) => {}
            Some(MemberValue::Str(s)) => *value = Some(s),
            Some(MemberValue::Other) => return Err(AwsError::plain(&SERIALIZATION)),
        }
    }
    let violations: Vec<String> = operation
        .members
        .iter()
        .zip(&values)
        .filter_map(|(member, value)| violation(member, value.as_deref()))
        .collect();
    if let Some(error) = validation_error(&violations) {
        return Err(error);
    }
    let mut values = values.into_iter();
    let mut next = || values.next().flatten();
    let task_token = next().unwrap_or_default();
    let (output, error, cause) = match operation.action {
        crate::contract::Action::Succeed => (next(), None, None),
        crate::contract::Action::Fail => {
            let error = next();
            (None, error, next())
        }
        crate::contract::Action::Heartbeat => (None, None, None),
    };
    Ok(Call { operation, task_token, output, error, cause })
}

/// Coral's complaint about `value` of `member`, if it breaks the model.
pub(crate) fn violation(member: &Member, value: Option<&str>) -> Option<String> {
    let constraint = match value {
        None if member.required => "Member must not be null".to_owned(),
        None => return None,
        Some(v) => match member.limit.check(v) {
            Ok(()) => return None,
            Err(Bound::TooLong) => {
                format!("Member must have length less than or equal to {}", member.limit.max)
            }
            Err(Bound::TooShort) => {
                format!("Member must have length greater than or equal to {}", member.limit.min)
            }
        },
    };
    Some(format!("Value at '{}' failed to satisfy constraint: {constraint}", member.name))
}

/// The ValidationException listing `violations`, counted and joined in model order.
pub(crate) fn validation_error(violations: &[String]) -> Option<AwsError> {
    let n = violations.len();
    (n > 0).then(|| {
        let message = format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            violations.join("; ")
        );
        AwsError::with(&VALIDATION, &[&message])
    })
}

/// 200 with body `{}`.
pub fn success(request_id: &str) -> Response<Bytes> {
    json_response(StatusCode::OK, Bytes::from_static(b"{}"), request_id)
}

/// The error's response: its status, the JSON headers, `{"__type":…,"message":…}`.
pub fn error_response(error: &AwsError, request_id: &str) -> Response<Bytes> {
    if std::ptr::eq(error.spec, &aws::REQUEST_TOO_LARGE) {
        return too_large();
    }
    let mut body = Vec::with_capacity(128);
    body.extend_from_slice(b"{\"__type\":");
    serde_json::to_writer(&mut body, &error.spec.qualified_code()).expect("string serialises");
    if let Some(message) = &error.message {
        body.extend_from_slice(b",\"message\":");
        serde_json::to_writer(&mut body, message).expect("string serialises");
    }
    for (name, value) in &error.extra {
        body.push(b',');
        serde_json::to_writer(&mut body, name).expect("string serialises");
        body.push(b':');
        serde_json::to_writer(&mut body, value).expect("string serialises");
    }
    body.push(b'}');
    let status = StatusCode::from_u16(error.spec.status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, Bytes::from(body), request_id)
}

/// The front end's 413: plain text, no request id, connection closed.
pub fn too_large() -> Response<Bytes> {
    let mut response = Response::new(Bytes::from_static(TOO_LARGE_BODY.as_bytes()));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(TOO_LARGE_CONTENT_TYPE));
    headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

pub(crate) fn json_response(status: StatusCode, body: Bytes, request_id: &str) -> Response<Bytes> {
    super::json_response(status, body, CONTENT_TYPE, REQUEST_ID, request_id)
}

/// A request for `operation` with `members` (in the order given) as JSON strings: raw UTF-8, or
/// with every non-ASCII character escaped as `\uXXXX` (surrogate pairs for astral ones), the
/// way botocore sends them.
///
/// ```
/// use tasktoken::contract::aws::SEND_TASK_SUCCESS;
/// use tasktoken::wire::aws::encode;
///
/// let req = encode(&SEND_TASK_SUCCESS, &[("taskToken", "t"), ("output", "\"€\"")], true);
/// assert_eq!(req.body().as_ref(), br#"{"taskToken":"t","output":"\"\u20ac\""}"#);
/// ```
pub fn encode(
    operation: &Operation,
    members: &[(&str, &str)],
    escape_non_ascii: bool,
) -> Request<Bytes> {
    let mut body = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&json_string(name, false));
        body.push(':');
        body.push_str(&json_string(value, escape_non_ascii));
    }
    body.push('}');
    encode_raw(operation.wire_name, Bytes::from(body))
}

/// A request with `target` and an arbitrary body (for malformed-input checks).
pub fn encode_raw(target: &str, body: Bytes) -> Request<Bytes> {
    let mut request = Request::new(body);
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/");
    let headers = request.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(target) {
        headers.insert(TARGET, v);
    }
    request
}

/// `value` as a JSON string literal; with `ascii`, non-ASCII characters become `\uXXXX`.
pub fn json_string(value: &str, ascii: bool) -> String {
    if !ascii {
        return serde_json::to_string(value).unwrap_or_default();
    }
    let mut out = String::with_capacity(value.len() * 2 + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// What a response says, read the way the AWS SDKs read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// HTTP 200.
    Success,
    /// An error: the shape name (`__type` after any `namespace#`), the raw `__type`, the
    /// message member, and the status.
    Error {
        /// HTTP status.
        status: u16,
        /// `__type` with namespace and `:url` suffix stripped, or the status as text.
        code: String,
        /// `__type` exactly as sent.
        raw_type: Option<String>,
        /// `message` (or `Message`).
        message: Option<String>,
    },
}

/// Reads a response as botocore does: code from `__type` (suffix after `:` and prefix
/// before `#` removed), message from `message` or `Message`.
pub fn decode_response(status: u16, body: &[u8]) -> Observed {
    if status == 200 {
        return Observed::Success;
    }
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let raw_type =
        value.as_ref().and_then(|v| v.get("__type")).and_then(|t| t.as_str()).map(str::to_owned);
    let code = match &raw_type {
        Some(t) => {
            let t = t.split(':').next().unwrap_or(t);
            t.rsplit('#').next().unwrap_or(t).to_owned()
        }
        None => status.to_string(),
    };
    let message = value
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("Message")))
        .and_then(|m| m.as_str())
        .map(str::to_owned);
    Observed::Error { status, code, raw_type, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(target: &str, body: &str) -> Request<Bytes> {
        Request::post("/")
            .header("X-Amz-Target", target)
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    fn call(target: &str, body: &str) -> Result<Call<'static>, AwsError> {
        parse_envelope(&req(target, body)).and_then(parse_call).map(Call::into_owned)
    }

    #[test]
    fn escaped_output_is_decoded_before_counting() {
        let c = call(
            "AWSStepFunctions.SendTaskSuccess",
            r#"{"taskToken":"t","output":"{\"k\":\"\u20ac\ud83d\ude00\"}"}"#,
        )
        .unwrap();
        assert_eq!(c.output.as_deref(), Some("{\"k\":\"€😀\"}"));
    }

    #[test]
    fn violations_are_listed_in_model_order() {
        let e = call("AWSStepFunctions.SendTaskSuccess", r#"{"taskToken":""}"#).unwrap_err();
        assert_eq!(
            e.message.unwrap(),
            "2 validation errors detected: Value at 'taskToken' failed to satisfy constraint: \
             Member must have length greater than or equal to 1; Value at 'output' failed to \
             satisfy constraint: Member must not be null"
        );
    }

    proptest::proptest! {
        #[test]
        fn ascii_json_strings_decode_back(s in crate::check::strategies::text(50)) {
            let escaped = json_string(&s, true);
            proptest::prop_assert!(escaped.is_ascii());
            let decoded: String = serde_json::from_str(&escaped).unwrap();
            proptest::prop_assert_eq!(decoded, s);
        }
    }

    #[test]
    fn the_body_is_strict_json_everywhere_not_only_in_known_members() {
        let heartbeat = "AWSStepFunctions.SendTaskHeartbeat";
        for body in [
            r#"{"taskToken":"\ud800"}"#,
            r#"{"taskToken":"t","x":"\udc00"}"#,
            r#"{"taskToken":"t","x":{"y":["\ud83d"]}}"#,
            r#"{"taskToken":"t","\ud800":1}"#,
            r#"{"taskToken":"t","x":1e400}"#,
            r#"{"taskToken":"t","x":[1,]}"#,
            r#"{"taskToken":"t"} x"#,
            r#"{"taskToken":"t","taskToken"}"#,
        ] {
            let e = call(heartbeat, body).unwrap_err();
            assert_eq!(e.spec.code, "SerializationException", "{body}");
        }
        let not_utf8 = Request::post("/")
            .header("X-Amz-Target", heartbeat)
            .body(Bytes::from_static(b"{\"taskToken\":\"\xff\"}"))
            .unwrap();
        let e = parse_envelope(&not_utf8).and_then(parse_call).unwrap_err();
        assert_eq!(e.spec.code, "SerializationException");
        let deep = format!("{{\"taskToken\":\"t\",\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert_eq!(call(heartbeat, &deep).unwrap_err().spec.code, "SerializationException");
    }

    #[test]
    fn a_repeated_member_counts_as_its_last_value() {
        let c = call("AWSStepFunctions.SendTaskHeartbeat", r#"{"taskToken":1,"taskToken":"b"}"#);
        assert_eq!(c.unwrap().task_token, "b");
        let e = call("AWSStepFunctions.SendTaskHeartbeat", r#"{"taskToken":"a","taskToken":1}"#);
        assert_eq!(e.unwrap_err().spec.code, "SerializationException");
        let c = call("AWSStepFunctions.SendTaskHeartbeat", r#"{"taskToken":"a","taskToken":null}"#);
        assert_eq!(c.unwrap_err().spec.code, "ValidationException");
        let c = call("AWSStepFunctions.SendTaskHeartbeat", r#"{"task\u0054oken":"\u0041"}"#);
        assert_eq!(c.unwrap().task_token, "A");
    }

    #[test]
    fn member_names_cover_every_operation() {
        for operation in aws::CONTRACT.operations {
            for member in operation.members {
                assert!(MEMBER_NAMES.contains(&member.name), "{}", member.name);
            }
        }
    }

    #[test]
    fn json_comes_before_target_and_types_after() {
        assert_eq!(call("nope", "[]").unwrap_err().spec.code, "SerializationException");
        assert_eq!(call("nope", "{}").unwrap_err().spec.code, "UnknownOperationException");
        let e = call("AWSStepFunctions.SendTaskFailure", r#"{"taskToken":"t","error":1}"#);
        assert_eq!(e.unwrap_err().spec.code, "SerializationException");
        // Unknown members are ignored whatever their type.
        assert!(call("AWSStepFunctions.SendTaskHeartbeat", r#"{"taskToken":"t","x":[1]}"#).is_ok());
    }
}
