//! The faulty targets' request and response toolkit: reading, editing and answering calls.
//!
//! Provider-neutral helpers the defects in `faulty/mod.rs` are written with: a call's
//! [`Kind`] and [`Members`] (read with [`params`], rewritten with [`edit`] and [`edit_json`]),
//! the provider's own answers ([`Out`]), and the emulators' wire forms ([`bare_error_type`],
//! [`xml_error`]).

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use serde_json::{Map, Value};
use tasktoken::contract::alibaba as ali;
use tasktoken::contract::aws;
use tasktoken::contract::lambda as lam;
use tasktoken::contract::ErrorSpec;
use tasktoken::wire::alibaba::{self as ali_wire, AlibabaError};
use tasktoken::wire::aws::{self as aws_wire, AwsError};
use tasktoken::wire::lambda::{self as lam_wire, LambdaError};
use tasktoken::Provider;

pub(super) type Req = Request<Bytes>;
pub(super) type Resp = Response<Bytes>;

/// Every member of the three AWS operations.
pub(super) const AWS_MEMBERS: [&str; 4] = ["taskToken", "output", "error", "cause"];

/// What a call asks, whatever the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Succeed,
    Fail,
    Heartbeat,
    Other,
}

impl Kind {
    pub(super) fn completes(self) -> bool {
        matches!(self, Kind::Succeed | Kind::Fail)
    }
}

// ---- answers ------------------------------------------------------------------------------

/// Builds the provider's own answers, for defects that answer instead of the engine.
pub(super) struct Out<'a> {
    pub(super) provider: Provider,
    pub(super) host: &'a str,
    pub(super) events: &'a AtomicU64,
}

impl Out<'_> {
    pub(super) fn ok(&self) -> Resp {
        match self.provider {
            Provider::Aws => aws_wire::success(&request_id()),
            Provider::Alibaba => {
                ali_wire::success(self.events.fetch_add(1, Ordering::Relaxed), &request_id())
            }
            Provider::Lambda => lam_wire::success(&request_id()),
        }
    }

    pub(super) fn lambda(&self, spec: &'static ErrorSpec, args: &[&str]) -> Resp {
        lam_wire::error_response(&LambdaError::with(spec, args), &request_id())
    }

    pub(super) fn alibaba(&self, spec: &'static ErrorSpec, args: &[&str]) -> Resp {
        ali_wire::error_response(&AlibabaError::with(spec, args), &request_id(), self.host)
    }

    /// The provider's error for a token it never issued.
    pub(super) fn invalid_token(&self) -> Resp {
        match self.provider {
            Provider::Aws => {
                aws_error(&aws::INVALID_TOKEN, aws::INVALID_TOKEN.message.map(Into::into))
            }
            Provider::Alibaba => self.alibaba(&ali::INVALID_ARGUMENT, &[]),
            Provider::Lambda => self.lambda(lam::CONTRACT.outcomes.invalid_token, &[]),
        }
    }

    pub(super) fn invalid_output(&self, detail: &str) -> Resp {
        match self.provider {
            Provider::Aws => aws_wire::error_response(
                &aws_wire::AwsError::with(
                    tasktoken::contract::aws::CONTRACT.outcomes.invalid_output,
                    &[detail],
                ),
                &request_id(),
            ),
            Provider::Alibaba => self.alibaba(&ali::INVALID_ARGUMENT, &[]),
            Provider::Lambda => self.lambda(&lam::INVALID_PARAMETER_VALUE, &[detail]),
        }
    }

    pub(super) fn validation(&self, message: &str) -> Resp {
        aws_error(&aws::VALIDATION, Some(message.to_owned()))
    }

    /// The provider's answer to a member over its limit.
    pub(super) fn too_long(&self, member: &str, max: usize) -> Resp {
        match self.provider {
            Provider::Aws => self.validation(&format!(
                "1 validation error detected: Value at '{member}' failed to satisfy constraint: \
                 Member must have length less than or equal to {max}"
            )),
            Provider::Alibaba => self.alibaba(&ali::INVALID_ARGUMENT, &[]),
            Provider::Lambda => self.lambda(
                &lam::INVALID_PARAMETER_VALUE,
                &[&format!("Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}")],
            ),
        }
    }
}

pub(super) fn aws_error(spec: &'static ErrorSpec, message: Option<String>) -> Resp {
    aws_wire::error_response(&AwsError { spec, message, extra: Vec::new() }, &request_id())
}

pub(super) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(super) fn moto_request_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..52).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])).collect()
}

pub(super) fn json(status: StatusCode, content_type: &'static str, body: String) -> Resp {
    let mut resp = Response::new(Bytes::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(super) fn html(status: StatusCode, title: &str) -> Resp {
    let body =
        format!("<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>");
    json(status, "text/html", body)
}

/// moto's and LocalStack's error wire form: bare `__type`, `application/json`, an error-type
/// header, Python's `json.dumps` spacing.
pub(super) fn bare_error_type(resp: Resp) -> Resp {
    if resp.status() == StatusCode::OK {
        return resp;
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(resp.body()) else { return resp };
    let Some(qualified) = map.get("__type").and_then(Value::as_str) else { return resp };
    let bare = qualified.rsplit('#').next().unwrap_or(qualified).to_owned();
    let mut body = format!("{{\"__type\": {}", Value::from(bare.clone()));
    if let Some(message) = map.get("message") {
        body.push_str(&format!(", \"message\": {message}"));
    }
    body.push('}');
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&bare) {
        parts.headers.insert("x-amzn-errortype", v);
    }
    Response::from_parts(parts, Bytes::from(body))
}

/// An Alibaba JSON error rendered as the POP gateway's XML.
pub(super) fn xml_error(resp: Resp) -> Resp {
    let v: Value = serde_json::from_slice(resp.body()).unwrap_or_default();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>");
    for name in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        let text = xml_escape(v[name].as_str().unwrap_or(""));
        xml.push_str(&format!("<{name}>{text}</{name}>"));
    }
    xml.push_str("</Error>");
    let (mut parts, _) = resp.into_parts();
    parts.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    Response::from_parts(parts, Bytes::from(xml))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

// ---- reading and editing requests ---------------------------------------------------------

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn clone(req: &Req) -> Req {
    tasktoken::testing::clone_request(req)
}

/// The error code in an answer, read as the provider's SDKs read it; `None` for a success.
pub(super) fn code(provider: Provider, resp: &Resp) -> Option<String> {
    let status = resp.status().as_u16();
    match provider {
        Provider::Aws => match aws_wire::decode_response(status, resp.body()) {
            aws_wire::Observed::Success => None,
            aws_wire::Observed::Error { code, .. } => Some(code),
        },
        Provider::Alibaba => match ali_wire::decode_response(status, resp.body()) {
            ali_wire::Observed::Success { .. } => None,
            ali_wire::Observed::Error { code, .. } => code,
        },
        Provider::Lambda => match lam_wire::decode_response(status, resp.headers(), resp.body()) {
            lam_wire::Observed::Success => None,
            lam_wire::Observed::Error { code, .. } => code,
        },
    }
}

pub(super) fn aws_message(resp: &Resp) -> Option<String> {
    match aws_wire::decode_response(resp.status().as_u16(), resp.body()) {
        aws_wire::Observed::Error { message, .. } => message,
        aws_wire::Observed::Success => None,
    }
}

/// The member's name on the provider's wire.
/// The contract's entry for a member by its role (`token`, `output`, `error`, `cause`): the
/// operation that carries it, then the member whose name ends in the role.
pub(super) fn spec(provider: Provider, role: &str) -> &'static tasktoken::contract::Member {
    use tasktoken::contract::Action;
    let action = if matches!(role, "error" | "cause") { Action::Fail } else { Action::Succeed };
    provider
        .contract()
        .operations
        .iter()
        .filter(|op| op.action == action)
        .flat_map(|op| op.members)
        .find(|m| m.name.to_ascii_lowercase().ends_with(role))
        .unwrap_or_else(|| unreachable!("no member {role}"))
}

/// A member's name on `provider`'s wire, by role.
pub(super) fn member(provider: Provider, role: &str) -> &'static str {
    spec(provider, role).name
}

/// A member's largest length, by role (Alibaba: CloudFlow's `Output`).
pub(super) fn max(provider: Provider, role: &str) -> usize {
    spec(provider, role).limit.max
}

pub(super) fn output_max(provider: Provider) -> usize {
    max(provider, "output")
}

pub(super) fn kind(provider: Provider, req: &Req) -> Kind {
    let name = match provider {
        Provider::Aws => header(req.headers(), aws_wire::TARGET_HEADER)
            .and_then(|t| t.strip_prefix(aws::TARGET_PREFIX))
            .map(str::to_owned),
        Provider::Alibaba => params(provider, req).get("Action"),
        Provider::Lambda => lam_wire::route(req.method(), req.uri().path(), &Default::default())
            .ok()
            .map(|r| r.operation.name.to_owned()),
    };
    match name.as_deref() {
        Some("SendTaskSuccess" | "ReportTaskSucceeded" | "SendDurableExecutionCallbackSuccess") => {
            Kind::Succeed
        }
        Some("SendTaskFailure" | "ReportTaskFailed" | "SendDurableExecutionCallbackFailure") => {
            Kind::Fail
        }
        Some("SendTaskHeartbeat" | "SendDurableExecutionCallbackHeartbeat") => Kind::Heartbeat,
        _ => Kind::Other,
    }
}

pub(super) fn token(provider: Provider, req: &Req) -> Option<String> {
    params(provider, req).get(member(provider, "token"))
}

/// A call's string members (AWS JSON body) or parameters (Alibaba), whatever their place.
pub(super) enum Members {
    Json(Map<String, Value>),
    Params(Vec<(String, String)>),
    None,
}

impl Members {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        match self {
            Members::Json(m) => m.get(name).and_then(Value::as_str).map(str::to_owned),
            Members::Params(p) => p.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            Members::None => None,
        }
    }

    pub(super) fn set(&mut self, name: &str, value: &str) {
        match self {
            Members::Json(m) => {
                m.insert(name.to_owned(), Value::from(value));
            }
            Members::Params(p) => match p.iter_mut().find(|(k, _)| k == name) {
                Some((_, v)) => *v = value.to_owned(),
                None => p.push((name.to_owned(), value.to_owned())),
            },
            Members::None => {}
        }
    }

    pub(super) fn remove(&mut self, name: &str) {
        match self {
            Members::Json(m) => {
                m.remove(name);
            }
            Members::Params(p) => p.retain(|(k, _)| k != name),
            Members::None => {}
        }
    }
}

/// The members of a well-formed call: none when the front end rejects the body for its size,
/// or (AWS) when it is not a JSON object of string members, so that defects act only on calls
/// that get past framing and types.
pub(super) fn params(provider: Provider, req: &Req) -> Members {
    if req.body().len() > max_request_bytes(provider) {
        return Members::None;
    }
    match provider {
        Provider::Aws => match serde_json::from_slice::<Value>(req.body()) {
            Ok(Value::Object(m))
                if AWS_MEMBERS
                    .iter()
                    .all(|n| m.get(*n).is_none_or(|v| v.is_string() || v.is_null())) =>
            {
                Members::Json(m)
            }
            _ => Members::None,
        },
        Provider::Alibaba => match ali_wire::parse_params(req) {
            Ok(p) => Members::Params(
                p.0.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
            ),
            Err(_) => Members::None,
        },
        // The id is a path label and the Result a raw body: no members to edit.
        Provider::Lambda => Members::None,
    }
}

/// The request with its members edited: AWS re-serialises the JSON body; Alibaba sends every
/// parameter in a form body. A request whose members cannot be read is left as it is.
pub(super) fn edit(provider: Provider, req: Req, f: impl FnOnce(&mut Members)) -> Req {
    let mut members = params(provider, &req);
    if matches!(members, Members::None) {
        return req;
    }
    f(&mut members);
    let (mut parts, _) = req.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let body = match members {
        Members::Json(m) => Bytes::from(Value::Object(m).to_string()),
        Members::Params(p) => {
            parts.method = http::Method::POST;
            parts.uri = http::Uri::from_static("/");
            parts.headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            Bytes::from(ali_wire::encode_params(p.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        }
        Members::None => unreachable!("checked above"),
    };
    Request::from_parts(parts, body)
}

fn max_request_bytes(provider: Provider) -> usize {
    match provider {
        Provider::Aws => aws::MAX_REQUEST_BYTES,
        Provider::Alibaba => ali::MAX_REQUEST_BYTES,
        Provider::Lambda => lam::MAX_REQUEST_BYTES,
    }
}

/// A JSON request body edited as an object (control API and AWS); others unchanged, and so is
/// a body the front end rejects for its size.
pub(super) fn edit_json(req: Req, f: impl FnOnce(&mut Map<String, Value>)) -> Req {
    if req.body().len() > aws::MAX_REQUEST_BYTES {
        return req;
    }
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(req.body()) else {
        return req;
    };
    f(&mut map);
    let (mut parts, _) = req.into_parts();
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Request::from_parts(parts, Bytes::from(Value::Object(map).to_string()))
}

pub(super) fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

/// `output` cut to at most `max` bytes and still JSON: a JSON string shortened, else `null`.
pub(super) fn truncate_output(output: &str, max: usize) -> String {
    let Ok(Value::String(mut s)) = serde_json::from_str::<Value>(output) else {
        return "null".into();
    };
    while Value::from(s.as_str()).to_string().len() > max {
        s.pop();
    }
    Value::from(s).to_string()
}

/// Length of a string member's raw JSON text, escapes included, as the body carries it.
pub(super) fn raw_string_member_len(body: &[u8], name: &str) -> Option<usize> {
    let key = format!("\"{name}\":\"");
    let start = body.windows(key.len()).position(|w| w == key.as_bytes())? + key.len();
    let mut escaped = false;
    for (i, b) in body[start..].iter().enumerate() {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Query and form pairs, raw, merged so the last of each name wins, all sent in the body.
pub(super) fn last_wins(req: Req) -> Req {
    let form = header(req.headers(), "content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if !form && !req.body().is_empty() {
        return req;
    }
    let query = req.uri().query().unwrap_or("").to_owned();
    let body = String::from_utf8_lossy(req.body()).into_owned();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in query.split('&').chain(body.split('&')).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.retain(|(key, _)| key != k);
        pairs.push((k.to_owned(), v.to_owned()));
    }
    let joined: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let (mut parts, _) = req.into_parts();
    parts.method = http::Method::POST;
    parts.uri = http::Uri::from_static("/");
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts.headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    Request::from_parts(parts, Bytes::from(joined.join("&")))
}
