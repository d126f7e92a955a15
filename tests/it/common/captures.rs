//! The official-SDK wire captures in `fixtures/captures/`, parsed back into the requests the SDKs sent, with their credentials and signing times.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use percent_encoding::percent_decode_str;
use tasktoken::auth::alibaba::{self, AlibabaAuthError};
use tasktoken::auth::aws::{self, AwsAuthError};
use tasktoken::auth::{KeyPair, Keys};
use time::macros::format_description;

/// Which verifier a capture is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    AwsSigV4,
    AlibabaRpc,
    AlibabaAcs3,
}

/// One capture file, parsed.
#[derive(Debug)]
pub struct Capture {
    pub name: String,
    pub kind: Kind,
    pub request: http::Request<Bytes>,
    pub access_key_id: String,
    pub secret: String,
    /// The capture's own signing time (X-Amz-Date / Timestamp / x-acs-date).
    pub signed_at: SystemTime,
}

impl Capture {
    pub fn keys(&self) -> Keys {
        Keys::new([KeyPair::new(&self.access_key_id, &self.secret)])
    }

    /// The clock a few seconds after the capture was signed.
    pub fn now(&self) -> SystemTime {
        self.signed_at + Duration::from_secs(3)
    }

    pub fn header(&self, name: &str) -> &str {
        self.request.headers()[name].to_str().unwrap()
    }

    /// All Alibaba RPC parameters: the query, then the form body (`+` is a space there).
    pub fn rpc_params(&self) -> Vec<(String, String)> {
        let mut params = self.query_params();
        params.extend(decode_pairs(std::str::from_utf8(self.request.body()).unwrap(), true));
        params
    }

    pub fn query_params(&self) -> Vec<(String, String)> {
        decode_pairs(self.request.uri().query().unwrap_or_default(), false)
    }

    pub fn verify_aws(
        &self,
        request: &http::Request<Bytes>,
        keys: &Keys,
        now: SystemTime,
    ) -> Result<(), AwsAuthError> {
        aws::verify(request, keys, now)
    }

    pub fn verify_rpc(
        &self,
        params: &[(String, String)],
        keys: &Keys,
        now: SystemTime,
    ) -> Result<(), AlibabaAuthError> {
        alibaba::verify_rpc(self.request.method().as_str(), params, keys, now)
    }

    /// Verifies the capture as it is, with the given keys and clock, by its own kind.
    pub fn verify_as_captured(&self, keys: &Keys, now: SystemTime) -> Result<(), String> {
        match self.kind {
            Kind::AwsSigV4 => {
                self.verify_aws(&self.request, keys, now).map_err(|e| format!("{e:?}"))
            }
            Kind::AlibabaRpc => {
                self.verify_rpc(&self.rpc_params(), keys, now).map_err(|e| format!("{e:?}"))
            }
            Kind::AlibabaAcs3 => {
                alibaba::verify_acs3(&self.request, keys, now).map_err(|e| format!("{e:?}"))
            }
        }
    }
}

pub fn decode_pairs(text: &str, plus_is_space: bool) -> Vec<(String, String)> {
    let decode = |part: &str| {
        let part = if plus_is_space { part.replace('+', " ") } else { part.to_owned() };
        percent_decode_str(&part).decode_utf8().unwrap().into_owned()
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// The text between `after` and the next `until` on the same line of `text`.
pub fn between<'a>(text: &'a str, after: &str, until: &str) -> &'a str {
    let start = text.find(after).unwrap_or_else(|| panic!("no {after:?}")) + after.len();
    let rest = &text[start..];
    &rest[..rest.find(until).unwrap_or(rest.len())]
}

pub fn parse_capture(path: &Path) -> Capture {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let raw = between(&text, "## Raw request", "\n\n## Decoded");
    let raw = &raw[raw.find('\n').unwrap() + 1..]; // drop the rest of the heading line
    let (head, body) = raw.split_once("\n\n").expect("headers, blank line, body");
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap().split(' ');
    let (method, target, version) =
        (request_line.next().unwrap(), request_line.next().unwrap(), request_line.next().unwrap());
    assert_eq!(version, "HTTP/1.1", "{name}");
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        let (header, value) =
            line.split_once(": ").unwrap_or_else(|| panic!("{name}: header line {line:?}"));
        builder = builder.header(header, value);
    }
    let request = builder.body(Bytes::copy_from_slice(body.as_bytes())).unwrap();
    let content_length: usize =
        request.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(request.body().len(), content_length, "{name}: body length vs Content-Length");

    let (kind, access_key_id, secret) = if text.contains("access_key_id='") {
        let kind = if alibaba::is_acs3(&request) { Kind::AlibabaAcs3 } else { Kind::AlibabaRpc };
        (kind, between(&text, "access_key_id='", "'"), between(&text, "access_key_secret='", "'"))
    } else {
        (Kind::AwsSigV4, between(&text, "access key ", ","), between(&text, "secret key ", "\n"))
    };
    let mut capture = Capture {
        name,
        kind,
        request,
        access_key_id: access_key_id.to_owned(),
        secret: secret.to_owned(),
        signed_at: UNIX_EPOCH,
    };
    let seconds = match kind {
        Kind::AwsSigV4 => time::PrimitiveDateTime::parse(
            capture.header("x-amz-date"),
            format_description!("[year][month][day]T[hour][minute][second]Z"),
        ),
        Kind::AlibabaRpc | Kind::AlibabaAcs3 => {
            let timestamp = match kind {
                Kind::AlibabaRpc => {
                    capture.rpc_params().into_iter().find(|(k, _)| k == "Timestamp").unwrap().1
                }
                _ => capture.header("x-acs-date").to_owned(),
            };
            time::PrimitiveDateTime::parse(
                &timestamp,
                format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
            )
        }
    }
    .unwrap()
    .assume_utc()
    .unix_timestamp();
    capture.signed_at = UNIX_EPOCH + Duration::from_secs(seconds.try_into().unwrap());
    capture
}

pub fn captures() -> Vec<Capture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/captures");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    paths.iter().map(|path| parse_capture(path)).collect()
}

pub fn of_kind(kind: Kind) -> Vec<Capture> {
    captures().into_iter().filter(|c| c.kind == kind).collect()
}
