//! Lambda durable callbacks on the wire: restJson1 routes, the id path label, bodies, errors.
//!
//! Both directions: the mock parses requests and writes answers with it, and the checker
//! encodes requests and reads answers the way botocore and the Rust SDK do. The id segment is
//! split off the raw path first and percent-decoded once afterwards, never the other way round.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::contract::lambda::{
    self as contract, LambdaOptions, CALLBACK_ID_MAX, CALLBACK_ID_PATTERN, ERROR_OBJECT_MAX,
    ERROR_OBJECT_STRINGS, ERROR_TYPE_HEADER, PATH_PREFIX, STACK_TRACE,
};
use crate::contract::{ErrorSpec, Operation};

/// What a label keeps unencoded: RFC 3986 unreserved characters (botocore's and smithy-rs's
/// set: `+`, `/` and `=` are encoded).
const LABEL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A Lambda error answer: the catalogue entry and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaError {
    /// The catalogue entry (code, status).
    pub spec: &'static ErrorSpec,
    /// The message as sent.
    pub message: String,
}

impl LambdaError {
    /// `spec` with its message's `%s` filled by `args`.
    pub fn with(spec: &'static ErrorSpec, args: &[&str]) -> LambdaError {
        let message = spec.render_message(args).unwrap_or_default();
        LambdaError { spec, message: message.trim_end().to_owned() }
    }

    /// `spec` with its message as the catalogue has it (an empty `%s`).
    pub fn plain(spec: &'static ErrorSpec) -> LambdaError {
        LambdaError::with(spec, &[])
    }
}

/// The validation error of `options` for `detail` (`Value … at 'callbackId' failed to …`).
pub fn validation(options: &LambdaOptions, detail: &str) -> LambdaError {
    LambdaError::with(options.validation.spec(), &[detail])
}

/// A routed request: which operation, and the callback id as decoded from its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The operation the path names.
    pub operation: &'static Operation,
    /// The path label, percent-decoded once (not yet validated).
    pub id: Vec<u8>,
}

/// The operation named by `method` and the raw (still percent-encoded) `path`.
///
/// ```
/// use tasktoken::contract::lambda::LambdaOptions;
/// use tasktoken::wire::lambda::route;
/// let (post, o) = (http::Method::POST, LambdaOptions::default());
/// let r = route(&post, "/2025-12-01/durable-execution-callbacks/ab%2Bc%2Fd%3D%3D/succeed", &o).unwrap();
/// assert_eq!(r.operation.name, "SendDurableExecutionCallbackSuccess");
/// assert_eq!(r.id, b"ab+c/d==");
/// let raw_slash = route(&post, "/2025-12-01/durable-execution-callbacks/a/b/fail", &o);
/// assert_eq!(raw_slash.unwrap_err().spec.code, "UnknownOperationException");
/// ```
pub fn route(method: &Method, path: &str, options: &LambdaOptions) -> Result<Route, LambdaError> {
    let unknown =
        || LambdaError::with(&contract::UNKNOWN_OPERATION, &[&format!("{method} {path}")]);
    let rest = path.strip_prefix(PATH_PREFIX).ok_or_else(unknown)?;
    let mut segments = rest.split('/');
    let (Some(label), Some(action), None) = (segments.next(), segments.next(), segments.next())
    else {
        return Err(unknown());
    };
    let operation =
        contract::CONTRACT.operation_by_wire_name(action).filter(|_| method == Method::POST);
    let operation = operation.ok_or_else(unknown)?;
    let id = percent_decode_once(label).ok_or_else(|| {
        validation(
            options,
            &format!("Value at 'callbackId' is not a valid percent-encoded label: '{label}'"),
        )
    })?;
    Ok(Route { operation, id })
}

/// Decodes `%XX` escapes once; `None` on a lone `%` or non-hex digits. `+` stays `+`.
fn percent_decode_once(label: &str) -> Option<Vec<u8>> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = label.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let high = hex(*bytes.get(i + 1)?)?;
            let low = hex(*bytes.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The callback id, checked against its length and its pattern (as a whole).
///
/// ```
/// use tasktoken::contract::lambda::LambdaOptions;
/// use tasktoken::wire::lambda::validate_id;
/// let options = LambdaOptions::default();
/// assert_eq!(validate_id(b"ab+c/d==", &options).unwrap(), "ab+c/d==");
/// assert!(validate_id(b"abc===", &options).is_err());
/// assert!(validate_id(b"a b", &options).is_err());
/// assert!(validate_id(b"", &options).is_err());
/// ```
pub fn validate_id<'a>(id: &'a [u8], options: &LambdaOptions) -> Result<&'a str, LambdaError> {
    if id.is_empty() {
        return Err(validation(
            options,
            "Value at 'callbackId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    // The pattern is ASCII only: an id that matches is as many characters as bytes.
    let Some(text) = std::str::from_utf8(id).ok().filter(|t| matches_pattern(t)) else {
        let shown = String::from_utf8_lossy(id);
        // A non-matching id longer than the limit breaks both; the length is named first.
        if shown.chars().count() > CALLBACK_ID_MAX {
            return Err(too_long(options));
        }
        return Err(pattern_error(&shown, options));
    };
    if text.len() > CALLBACK_ID_MAX {
        return Err(too_long(options));
    }
    Ok(text)
}

fn too_long(options: &LambdaOptions) -> LambdaError {
    validation(
        options,
        &format!("Value at 'callbackId' failed to satisfy constraint: Member must have length less than or equal to {CALLBACK_ID_MAX}"),
    )
}

fn pattern_error(shown: &str, options: &LambdaOptions) -> LambdaError {
    validation(
        options,
        &format!("Value '{shown}' at 'callbackId' failed to satisfy constraint: Member must satisfy regular expression pattern: {CALLBACK_ID_PATTERN}"),
    )
}

/// Whether `id` matches `[A-Za-z0-9+/]+={0,2}` as a whole.
pub fn matches_pattern(id: &str) -> bool {
    let body = id.trim_end_matches('=');
    let padding = id.len() - body.len();
    !body.is_empty()
        && padding <= 2
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The Success body's `Result`, checked against the limit in force.
pub fn check_result(body: &[u8], options: &LambdaOptions) -> Result<(), LambdaError> {
    let max = options.result_limit.bytes();
    if body.len() > max {
        return Err(validation(
            options,
            &format!("Value at 'result' failed to satisfy constraint: Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// The Failure body as the ErrorObject text to keep (`{}` for an empty body), checked: a JSON
/// object whose known members have their types and whose fields together fit the limit.
pub fn parse_failure<'b>(body: &'b [u8], options: &LambdaOptions) -> Result<&'b str, LambdaError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok("{}");
    }
    let invalid = |why: &str| {
        validation(options, &format!("Could not parse request body into the ErrorObject: {why}"))
    };
    let text = std::str::from_utf8(body).map_err(|_| invalid("not UTF-8"))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(&e.to_string()))?;
    let object = value.as_object().ok_or_else(|| invalid("not a JSON object"))?;
    let mut size = 0usize;
    for name in ERROR_OBJECT_STRINGS {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => size += s.len(),
            Some(_) => return Err(invalid(&format!("{name} must be a string"))),
        }
    }
    match object.get(STACK_TRACE) {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Array(lines)) => {
            for line in lines {
                match line {
                    serde_json::Value::String(s) => size += s.len(),
                    _ => return Err(invalid("StackTrace must be a list of strings")),
                }
            }
        }
        Some(_) => return Err(invalid("StackTrace must be a list of strings")),
    }
    if size > ERROR_OBJECT_MAX {
        return Err(validation(
            options,
            &format!("The combined size of the error fields must be less than or equal to {ERROR_OBJECT_MAX} bytes"),
        ));
    }
    Ok(text)
}

fn base(status: StatusCode, request_id: &str, body: Bytes) -> Response<Bytes> {
    let id_header = http::HeaderName::from_static("x-amzn-requestid");
    super::json_response(status, body, contract::CONTENT_TYPE, id_header, request_id)
}

/// A success: 200, empty body.
pub fn success(request_id: &str) -> Response<Bytes> {
    base(StatusCode::OK, request_id, Bytes::new())
}

/// An error: its status, `x-amzn-ErrorType`, and `{"Type", "message"|"Message"}` (429s add
/// `Retry-After` and `Reason`).
///
/// ```
/// use tasktoken::contract::lambda;
/// use tasktoken::wire::lambda::{error_response, LambdaError};
/// let r = error_response(&LambdaError::plain(&lambda::CALLBACK_TIMEOUT), "rid");
/// assert_eq!(r.status(), 400);
/// assert_eq!(r.headers()["x-amzn-errortype"], "CallbackTimeoutException");
/// assert!(r.body().starts_with(br#"{"Type":"User","Message":"The callback ID token"#));
/// ```
pub fn error_response(error: &LambdaError, request_id: &str) -> Response<Bytes> {
    let spec = error.spec;
    // Written by hand to keep the model's member order (`Type` first).
    let text = |v: &str| serde_json::Value::from(v).to_string();
    let mut body = format!(
        "{{\"Type\":{},\"{}\":{}",
        text(contract::error_type(spec)),
        contract::message_key(spec),
        text(&error.message)
    );
    let throttled = std::ptr::eq(spec, &contract::TOO_MANY_REQUESTS);
    if throttled {
        body.push_str(&format!(",\"Reason\":{}", text(contract::THROTTLE_REASON)));
    }
    body.push('}');
    let status = StatusCode::from_u16(spec.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = base(status, request_id, Bytes::from(body));
    let headers = response.headers_mut();
    headers.insert(ERROR_TYPE_HEADER, HeaderValue::from_static(spec.code));
    if throttled {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(contract::RETRY_AFTER_SECONDS));
    }
    response
}

/// The path of `operation` on the callback `id`, the id percent-encoded as SDKs do.
///
/// ```
/// use tasktoken::contract::lambda::SEND_CALLBACK_HEARTBEAT;
/// use tasktoken::wire::lambda::path;
/// assert_eq!(
///     path(&SEND_CALLBACK_HEARTBEAT, "ab+c/d=="),
///     "/2025-12-01/durable-execution-callbacks/ab%2Bc%2Fd%3D%3D/heartbeat"
/// );
/// ```
pub fn path(operation: &Operation, id: &str) -> String {
    format!("{PATH_PREFIX}{}/{}", utf8_percent_encode(id, LABEL), operation.wire_name)
}

/// A request as botocore sends it: `POST` to [`path`], the body as given (the Success
/// `Result` raw with no Content-Type; the Failure ErrorObject with `application/json`).
pub fn encode(operation: &Operation, id: &str, body: Bytes) -> Request<Bytes> {
    let mut builder = Request::post(path(operation, id));
    if operation.name == contract::SEND_CALLBACK_FAILURE.name {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    builder.body(body).unwrap_or_default()
}

/// An answer as the SDKs read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// A 2xx.
    Success,
    /// An error.
    Error {
        /// HTTP status.
        status: u16,
        /// The code, as both botocore and the Rust SDK find it; `None` where either of them
        /// cannot (no header nor body code; a 5xx with an empty body; a body that is not a
        /// JSON object).
        code: Option<String>,
        /// `message`, else `Message`.
        message: Option<String>,
        /// The body's `Type`.
        error_type: Option<String>,
        /// Where the code came from.
        code_from: CodeFrom,
    },
}

/// Where a decoded error's code was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeFrom {
    /// The `x-amzn-ErrorType` header, as the contract has it.
    Header,
    /// The body's `code`, `Code` or `__type` (SDKs accept it; the contract sends the header).
    Body,
    /// Nowhere.
    Nowhere,
}

/// Cuts an error code the way the SDKs do: at the first `:`, then after the last `#`.
fn sanitize(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_owned()
}

/// Reads an answer as botocore's RestJSONParser and smithy-rs's json_errors do, keeping only
/// what both agree on.
///
/// ```
/// use tasktoken::wire::lambda::{decode_response, Observed};
/// let mut headers = http::HeaderMap::new();
/// assert_eq!(decode_response(200, &headers, b""), Observed::Success);
/// headers.insert("x-amzn-errortype", "CallbackTimeoutException:http://internal".parse().unwrap());
/// let Observed::Error { code, .. } = decode_response(400, &headers, br#"{"Type":"User","Message":"m"}"#) else { panic!() };
/// assert_eq!(code.as_deref(), Some("CallbackTimeoutException"));
/// ```
pub fn decode_response(status: u16, headers: &HeaderMap, body: &[u8]) -> Observed {
    if (200..300).contains(&status) {
        return Observed::Success;
    }
    let empty = body.iter().all(u8::is_ascii_whitespace);
    let json: Option<serde_json::Map<String, serde_json::Value>> =
        if empty { Some(Default::default()) } else { serde_json::from_slice(body).ok() };
    let field = |name: &str| {
        json.as_ref().and_then(|o| o.get(name)).and_then(|v| v.as_str()).map(str::to_owned)
    };
    let message = field("message").or_else(|| field("Message"));
    let error_type = field("Type");
    let header = headers.get(ERROR_TYPE_HEADER).and_then(|v| v.to_str().ok()).map(sanitize);
    let body_code =
        field("code").or_else(|| field("Code")).or_else(|| field("__type")).map(|c| sanitize(&c));
    // botocore: a 5xx with an empty body is a generic error, whatever the header; the Rust
    // SDK: a body that is not a JSON object gives no code.
    let readable = json.is_some() && !(status >= 500 && empty);
    let (code, code_from) = match (readable, header, body_code) {
        (false, _, _) => (None, CodeFrom::Nowhere),
        (true, Some(h), _) if !h.is_empty() => (Some(h), CodeFrom::Header),
        (true, _, Some(b)) if !b.is_empty() => (Some(b), CodeFrom::Body),
        _ => (None, CodeFrom::Nowhere),
    };
    Observed::Error { status, code, message, error_type, code_from }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_then_decode() {
        let o = LambdaOptions::default();
        let route = |m: &Method, p: &str| route(m, p, &o);
        let r =
            route(&Method::POST, "/2025-12-01/durable-execution-callbacks/a%252Bb/fail").unwrap();
        assert_eq!(r.id, b"a%2Bb");
        let r =
            route(&Method::POST, "/2025-12-01/durable-execution-callbacks/a+b/heartbeat").unwrap();
        assert_eq!(r.id, b"a+b");
        for bad in ["%zz", "%2", "ab%"] {
            let p = format!("{PATH_PREFIX}{bad}/succeed");
            let e = route(&Method::POST, &p).unwrap_err();
            assert_eq!(e.spec.code, "InvalidParameterValueException", "{bad}");
        }
        let e = route(&Method::GET, &format!("{PATH_PREFIX}abc/succeed")).unwrap_err();
        assert_eq!(e.spec.code, "UnknownOperationException");
        let e = route(&Method::POST, &format!("{PATH_PREFIX}abc/complete")).unwrap_err();
        assert_eq!(e.spec.code, "UnknownOperationException");
        let r = route(&Method::POST, &format!("{PATH_PREFIX}/succeed")).unwrap();
        assert!(r.id.is_empty());
    }

    #[test]
    fn pattern_is_anchored() {
        for ok in ["A", "ab+c/d==", "Zz09=", "+/"] {
            assert!(matches_pattern(ok), "{ok}");
        }
        for bad in ["", "=", "==", "a===", "a=b", "a b", "a-b", "é", "a%2B"] {
            assert!(!matches_pattern(bad), "{bad}");
        }
    }

    #[test]
    fn failure_bodies() {
        let o = LambdaOptions::default();
        assert_eq!(parse_failure(b"", &o).unwrap(), "{}");
        let body = br#"{"ErrorMessage":"m","StackTrace":["a"],"Other":1}"#;
        assert_eq!(parse_failure(body, &o).unwrap().as_bytes(), body);
        for bad in
            [&b"[]"[..], b"1", b"\"x\"", b"{", br#"{"ErrorType":1}"#, br#"{"StackTrace":"x"}"#]
        {
            assert!(parse_failure(bad, &o).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn decoding_follows_the_sdks() {
        let mut h = HeaderMap::new();
        let no_header = decode_response(400, &h, br#"{"Type":"User","Message":"m"}"#);
        assert!(matches!(no_header, Observed::Error { code: None, .. }));
        let body_code = decode_response(400, &h, br#"{"__type":"ns#X","message":"m"}"#);
        assert!(
            matches!(body_code, Observed::Error { code: Some(c), code_from: CodeFrom::Body, .. } if c == "X")
        );
        h.insert("x-amzn-errortype", HeaderValue::from_static("ServiceException"));
        assert!(matches!(decode_response(500, &h, b""), Observed::Error { code: None, .. }));
        assert!(matches!(decode_response(400, &h, b"oops"), Observed::Error { code: None, .. }));
        let ok = decode_response(500, &h, br#"{"Type":"Service","Message":"x"}"#);
        assert!(matches!(ok, Observed::Error { code: Some(_), code_from: CodeFrom::Header, .. }));
    }

    #[test]
    fn errors_round_trip_through_the_decoder() {
        for spec in contract::CONTRACT.errors {
            let r = error_response(&LambdaError::with(spec, &["detail"]), "rid");
            let Observed::Error { status, code, message, error_type, .. } =
                decode_response(r.status().as_u16(), r.headers(), r.body())
            else {
                panic!("{}", spec.code)
            };
            assert_eq!((status, code.as_deref()), (spec.status, Some(spec.code)));
            assert!(message.is_some_and(|m| !m.is_empty()), "{}", spec.code);
            assert_eq!(error_type.as_deref(), Some(contract::error_type(spec)));
            assert_eq!(r.headers()[contract::REQUEST_ID_HEADER], "rid");
        }
    }
}
