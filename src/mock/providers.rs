//! The registry: every provider the mock serves, each an adapter module beside this file.

mod alibaba;
mod aws;
mod lambda;

use super::adapter::Registration;

/// The providers the engine serves, most specific route first: the first whose `claims`
/// accepts a request's head answers it (the last claims whatever no other does).
pub(crate) static PROVIDERS: &[Registration] =
    &[lambda::REGISTRATION, aws::REGISTRATION, alibaba::REGISTRATION];
