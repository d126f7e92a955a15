//! The Alibaba RPC wire format: query and form parameters to a call or a rejection, and outcomes to JSON response bytes.
//!
//! Pure functions: no state, no I/O. The mock runs the parsers; the checker builds requests
//! with [`encode_params`] and reads answers with [`decode_response`].

use std::borrow::Cow;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use super::Call;
use crate::contract::alibaba::{
    self, Flavour, API_VERSION, CONTENT_TYPE, ENTITY_TOO_LARGE, INVALID_ARGUMENT,
    MAX_REQUEST_BYTES, MISSING_REQUIRED_PARAMS, UNSUPPORTED_MEDIA_TYPE,
};
use crate::contract::{Action, Bound, ErrorSpec, Operation};

/// Header carrying the request id on every answer.
pub const REQUEST_ID_HEADER: &str = "x-acs-request-id";
const REQUEST_ID: http::HeaderName = http::HeaderName::from_static(REQUEST_ID_HEADER);

/// A rejection: the catalogue entry and its rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaError {
    /// The catalogue entry.
    pub spec: &'static ErrorSpec,
    /// `Message`, exactly.
    pub message: String,
}

impl AlibabaError {
    /// The error with `args` filled into its template.
    pub fn with(spec: &'static ErrorSpec, args: &[&str]) -> AlibabaError {
        AlibabaError { spec, message: spec.render_message(args).unwrap_or_default() }
    }

    /// The error with its template as is.
    pub fn plain(spec: &'static ErrorSpec) -> AlibabaError {
        AlibabaError::with(spec, &[])
    }
}

/// Request parameters, query then body, decoded, in arrival order; borrowed from the request
/// where no decoding was needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Params<'_> {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_ref())
    }
}

/// Size, media type and parameter syntax: the request's parameters, merged and decoded.
///
/// ```
/// use bytes::Bytes;
/// use tasktoken::wire::alibaba;
///
/// let req = http::Request::post("/?Action=ReportTaskSucceeded&TaskToken=a%2Bb")
///     .header("Content-Type", "application/x-www-form-urlencoded")
///     .body(Bytes::from_static(b"Output=%7B%22a%22%3A%22b+c%22%7D"))
///     .unwrap();
/// let params = alibaba::parse_params(&req).unwrap();
/// assert_eq!(params.get("TaskToken"), Some("a+b"));
/// assert_eq!(params.get("Output"), Some(r#"{"a":"b c"}"#));
/// ```
pub fn parse_params(req: &Request<Bytes>) -> Result<Params<'_>, AlibabaError> {
    let body = req.body();
    if body.len() > MAX_REQUEST_BYTES {
        return Err(too_large(MAX_REQUEST_BYTES));
    }
    let mut pairs = Vec::new();
    if let Some(query) = req.uri().query() {
        decode_form(query, &mut pairs)?;
    }
    if !body.is_empty() {
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim());
        let is = |expected: &str| content_type.is_some_and(|c| c.eq_ignore_ascii_case(expected));
        if is("application/x-www-form-urlencoded") {
            let text = std::str::from_utf8(body).map_err(|_| invalid())?;
            decode_form(text, &mut pairs)?;
        } else if is("application/json") {
            decode_json(body, &mut pairs)?;
        } else {
            return Err(AlibabaError::plain(&UNSUPPORTED_MEDIA_TYPE));
        }
    }
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(invalid());
        }
    }
    Ok(Params(pairs))
}

/// `Action` then `Version`: which operation the request names. The parameters decide; an
/// ACS3-signed request names them in the `x-acs-action` and `x-acs-version` headers instead.
pub fn parse_operation(
    params: &Params<'_>,
    headers: &http::HeaderMap,
) -> Result<&'static Operation, AlibabaError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let action =
        params.get("Action").or_else(|| header("x-acs-action")).ok_or_else(|| missing("Action"))?;
    let operation = alibaba::CONTRACT
        .operation_by_wire_name(action)
        .ok_or_else(|| AlibabaError::with(&alibaba::ACTION_NOT_SUPPORTED, &[action]))?;
    let version = params
        .get("Version")
        .or_else(|| header("x-acs-version"))
        .ok_or_else(|| missing("Version"))?;
    if version != API_VERSION {
        return Err(AlibabaError::with(&alibaba::API_VERSION_NOT_SUPPORTED, &[version]));
    }
    Ok(operation)
}

/// Required parameters (in model order), then ranges in `flavour`'s limits: the call.
pub fn parse_call<'a>(
    operation: &'static Operation,
    params: &'a Params<'_>,
    flavour: Flavour,
) -> Result<Call<'a>, AlibabaError> {
    for member in operation.members {
        if member.required && params.get(member.name).is_none() {
            return Err(missing(member.name));
        }
    }
    for member in operation.members {
        let Some(value) = params.get(member.name) else { continue };
        let limit = flavour.limit(member);
        match (limit.check(value), member.too_long) {
            (Ok(()), _) => {}
            (Err(Bound::TooLong), Some(spec)) => {
                return Err(AlibabaError::with(spec, &[&limit.max.to_string()]))
            }
            (Err(_), _) => return Err(invalid()),
        }
    }
    let get = |name: &str| params.get(name).map(Cow::Borrowed);
    let (output, error, cause) = match operation.action {
        Action::Succeed => (get(alibaba::OUTPUT), None, None),
        Action::Fail => (None, get("Error"), get("Cause")),
        Action::Heartbeat => (None, None, None),
    };
    Ok(Call { operation, task_token: get("TaskToken").unwrap_or_default(), output, error, cause })
}

/// `InvalidArgument`, `Parameter error.`
pub fn invalid() -> AlibabaError {
    AlibabaError::plain(&INVALID_ARGUMENT)
}

/// `MissingRequiredParams` naming `name`.
pub fn missing(name: &str) -> AlibabaError {
    AlibabaError::with(&MISSING_REQUIRED_PARAMS, &[name])
}

/// `EntityTooLarge` with `limit` in the message.
pub fn too_large(limit: usize) -> AlibabaError {
    AlibabaError::with(&ENTITY_TOO_LARGE, &[&limit.to_string()])
}

/// 200 `{"EventId":n,"RequestId":"…"}`.
pub fn success(event_id: u64, request_id: &str) -> Response<Bytes> {
    let mut body = Vec::with_capacity(96);
    body.extend_from_slice(b"{\"EventId\":");
    body.extend_from_slice(event_id.to_string().as_bytes());
    body.extend_from_slice(b",\"RequestId\":");
    push_json(&mut body, request_id);
    body.push(b'}');
    json_response(StatusCode::OK, Bytes::from(body), request_id)
}

/// The error's answer: its status and `{"RequestId","HostId","Code","Message","Recommend"}`.
pub fn error_response(error: &AlibabaError, request_id: &str, host: &str) -> Response<Bytes> {
    let code = error.spec.code;
    let mut body = Vec::with_capacity(256);
    body.extend_from_slice(b"{\"RequestId\":");
    push_json(&mut body, request_id);
    body.extend_from_slice(b",\"HostId\":");
    push_json(&mut body, host);
    body.extend_from_slice(b",\"Code\":");
    push_json(&mut body, code);
    body.extend_from_slice(b",\"Message\":");
    push_json(&mut body, &error.message);
    body.extend_from_slice(b",\"Recommend\":");
    push_json(
        &mut body,
        &format!("https://api.aliyun.com/troubleshoot?q={code}&product=fnf&requestId={request_id}"),
    );
    body.push(b'}');
    let status = StatusCode::from_u16(error.spec.status).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, Bytes::from(body), request_id)
}

fn push_json(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("strings serialise");
}

fn json_response(status: StatusCode, body: Bytes, request_id: &str) -> Response<Bytes> {
    super::json_response(status, body, CONTENT_TYPE, REQUEST_ID, request_id)
}

/// Splits `a=b&c=d` into decoded pairs (`+` is a space); bad escapes or non-UTF-8 are
/// `InvalidArgument`.
fn decode_form<'a>(
    text: &'a str,
    out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
) -> Result<(), AlibabaError> {
    for part in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(())
}

/// Strict form decoding of one key or value: `+` is a space, `%XY` needs two hex digits, and
/// the result must be UTF-8; anything else is `InvalidArgument`. Written out rather than taken
/// from `percent-encoding` or `form_urlencoded`, which pass malformed escapes through as
/// literal text by design; a component without escapes is borrowed as it is.
fn decode_component(s: &str) -> Result<Cow<'_, str>, AlibabaError> {
    let bytes = s.as_bytes();
    let Some(first) = bytes.iter().position(|b| *b == b'%' || *b == b'+') else {
        return Ok(Cow::Borrowed(s));
    };
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let digit = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
                let (Some(high), Some(low)) = (digit(i + 1), digit(i + 2)) else {
                    return Err(invalid());
                };
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map(Cow::Owned).map_err(|_| invalid())
}

/// A JSON object body: each member a parameter (strings as they are, numbers and booleans
/// as their JSON text); anything else is `InvalidArgument`.
fn decode_json(
    body: &[u8],
    out: &mut Vec<(Cow<'_, str>, Cow<'_, str>)>,
) -> Result<(), AlibabaError> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return Err(invalid());
    };
    for (k, v) in map {
        let v = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(invalid()),
        };
        out.push((Cow::Owned(k), Cow::Owned(v)));
    }
    Ok(())
}

/// A request for `operation` as the Tea SDK sends it: `Action`, `Format`, `Version` and
/// `query` in the query string, `form` as a form-urlencoded body.
///
/// ```
/// use tasktoken::contract::alibaba::REPORT_TASK_FAILED;
/// use tasktoken::wire::alibaba::encode;
///
/// let req = encode(&REPORT_TASK_FAILED, &[("TaskToken", "a+b")], &[("Error", "E x")]);
/// assert_eq!(req.uri(), "/?Action=ReportTaskFailed&Format=json&Version=2019-03-15&TaskToken=a%2Bb");
/// assert_eq!(req.body().as_ref(), b"Error=E%20x");
/// ```
pub fn encode(
    operation: &Operation,
    query: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Request<Bytes> {
    let mut all =
        vec![("Action", operation.wire_name), ("Format", "json"), ("Version", API_VERSION)];
    all.extend_from_slice(query);
    let uri = format!("/?{}", encode_params(all));
    let mut request = Request::new(Bytes::from(encode_params(form.iter().copied())));
    *request.method_mut() = http::Method::POST;
    if let Ok(uri) = uri.parse() {
        *request.uri_mut() = uri;
    }
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    request
}

/// RFC 3986 unreserved characters, which percent-encoding leaves alone.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `k=v&…` with RFC 3986 percent-encoding (space is `%20`), for a query string or a form body.
pub fn encode_params<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(utf8_percent_encode(k, UNRESERVED));
        out.push('=');
        out.extend(utf8_percent_encode(v, UNRESERVED));
    }
    out
}

/// What an answer says, read the way the Tea SDK reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// 2xx with a JSON body and no `Code`.
    Success {
        /// `EventId`, if it is an integer.
        event_id: Option<i64>,
        /// `RequestId`.
        request_id: Option<String>,
    },
    /// Anything else.
    Error {
        /// HTTP status.
        status: u16,
        /// `Code` (or `code`); `None` when the body is not JSON or has none.
        code: Option<String>,
        /// `Message` (or `message`).
        message: Option<String>,
        /// `RequestId` (or `requestId`).
        request_id: Option<String>,
    },
}

/// Reads an answer: success is 2xx with a JSON object body without `Code`.
pub fn decode_response(status: u16, body: &[u8]) -> Observed {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let field = |a: &str, b: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(a).or_else(|| v.get(b)))
            .and_then(|x| x.as_str())
            .map(str::to_owned)
    };
    let code = field("Code", "code");
    if (200..300).contains(&status)
        && code.is_none()
        && value.as_ref().is_some_and(Value::is_object)
    {
        return Observed::Success {
            event_id: value.as_ref().and_then(|v| v.get("EventId")).and_then(Value::as_i64),
            request_id: field("RequestId", "requestId"),
        };
    }
    Observed::Error {
        status,
        code,
        message: field("Message", "message"),
        request_id: field("RequestId", "requestId"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    #[test]
    fn form_components_decode_strictly() {
        let ok = |s: &str| decode_component(s).map(|c| c.into_owned()).ok();
        assert_eq!(ok("abc"), Some("abc".into()));
        assert!(matches!(decode_component("abc"), Ok(Cow::Borrowed("abc"))));
        assert_eq!(ok("a+b%2Bc%2b"), Some("a b+c+".into()));
        assert_eq!(ok("%E2%82%AC%F0%9F%98%80"), Some("\u{20ac}\u{1f600}".into()));
        assert_eq!(ok("%25%2525"), Some("%%25".into()));
        for bad in ["%", "%4", "a%G0", "%0g", "%%", "%FF", "%C3", "%ED%A0%80", "x%2"] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// Where the lenient crate decoder sees only well-formed escapes, both agree.
        #[test]
        fn form_components_agree_with_percent_encoding(
            s in "([a-zA-Z0-9+%._~-]|%[0-9a-fA-F]{2}|\\PC){0,40}"
        ) {
            let well_formed = s.match_indices('%').all(|(i, _)| {
                let hex = |j: usize| s.as_bytes().get(j).is_some_and(u8::is_ascii_hexdigit);
                hex(i + 1) && hex(i + 2)
            });
            let spaced = s.replace('+', " ");
            let lenient = percent_encoding::percent_decode_str(&spaced).decode_utf8();
            match decode_component(&s) {
                Ok(decoded) => {
                    proptest::prop_assert!(well_formed);
                    proptest::prop_assert_eq!(decoded.into_owned(), lenient.unwrap().into_owned());
                }
                Err(_) => proptest::prop_assert!(!well_formed || lenient.is_err()),
            }
        }

        /// Every string survives the encoder and the decoder.
        #[test]
        fn encoded_components_decode_back(s in "\\PC{0,40}") {
            let encoded = encode_params([("k", s.as_str())]);
            let value = encoded.strip_prefix("k=").unwrap();
            proptest::prop_assert_eq!(decode_component(value).unwrap().into_owned(), s);
        }
    }

    fn req(query: &str, body: &'static str) -> Request<Bytes> {
        Request::post(format!("/?{query}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap()
    }

    #[test]
    fn bad_escapes_duplicates_and_bad_utf8_are_invalid_argument() {
        for (q, b) in
            [("a=%zz", ""), ("a=%e2%82", ""), ("a=1&a=1", ""), ("a=1", "a=2"), ("a=%", "")]
        {
            assert_eq!(
                parse_params(&req(q, b)).unwrap_err().spec.code,
                "InvalidArgument",
                "{q} {b}"
            );
        }
    }

    #[test]
    fn operation_then_version() {
        let p = |q: &str| {
            parse_params(&req(q, ""))
                .and_then(|p| parse_operation(&p, &HeaderMap::new()).map(|_| ()))
        };
        assert_eq!(
            p("Version=x").unwrap_err().message,
            "The HTTP query 'Action' must be specified."
        );
        assert_eq!(p("Action=Nope&Version=x").unwrap_err().spec.code, "ActionNotSupported");
        assert_eq!(
            p("Action=ReportTaskFailed").unwrap_err().message,
            "The HTTP query 'Version' must be specified."
        );
        assert_eq!(
            p("Action=ReportTaskFailed&Version=2020-01-01").unwrap_err().message,
            "The requested API version '2020-01-01' is not supported yet. Please check."
        );
        assert!(p("Action=ReportTaskFailed&Version=2019-03-15").is_ok());
    }

    #[test]
    fn encode_is_rfc3986() {
        assert_eq!(encode_params([("a b", "x+y/~*")]), "a%20b=x%2By%2F~%2A");
    }
}
