//! A wiremock `Respond` that answers with the mock engine, so the contract mounts beside a user's other mocks.

use bytes::Bytes;
use wiremock::{Respond, ResponseTemplate};

use super::adapter::Head;
use super::Mock;

/// Answers wiremock requests exactly as the mock server would.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use tasktoken::{Mock, MockConfig, Provider, TaskSpec};
/// use wiremock::{matchers::method, MockServer};
///
/// let server = MockServer::start().await;
/// let mock = Mock::new(MockConfig::default()).unwrap();
/// wiremock::Mock::given(method("POST")).respond_with(mock.responder()).mount(&server).await;
///
/// let task = mock.create_task(TaskSpec::new(Provider::Aws)).unwrap();
/// let response = reqwest::Client::new()
///     .post(server.uri())
///     .header("X-Amz-Target", "AWSStepFunctions.SendTaskHeartbeat")
///     .body(format!(r#"{{"taskToken":"{}"}}"#, task.task_token))
///     .send()
///     .await
///     .unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(mock.task(task.task_id).unwrap().heartbeats, 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ContractResponder {
    mock: Mock,
}

impl ContractResponder {
    /// A responder for `mock`.
    pub fn new(mock: Mock) -> ContractResponder {
        ContractResponder { mock }
    }

    /// The engine behind it.
    pub fn mock(&self) -> &Mock {
        &self.mock
    }
}

impl Respond for ContractResponder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let mut builder =
            http::Request::builder().method(request.method.clone()).uri(request.url.as_str());
        if let Some(headers) = builder.headers_mut() {
            *headers = request.headers.clone();
        }
        let (response, effect) = match builder.body(Bytes::from(request.body.clone())) {
            Ok(req) => self.mock.answer_now(self.mock.route(&Head::of(&req)), req),
            Err(_) => return ResponseTemplate::new(400),
        };
        // wiremock cannot drop a connection: an injected reset is answered 500 with no body.
        if effect.reset {
            return ResponseTemplate::new(500);
        }
        let mut template = ResponseTemplate::new(response.status().as_u16());
        if let Some(delay) = effect.delay {
            template = template.set_delay(delay);
        }
        for (name, value) in response.headers() {
            template = template.append_header(name.clone(), value.clone());
        }
        template.set_body_bytes(response.into_body().to_vec())
    }
}
