//! Wire codecs, one module per provider protocol: pure functions between bytes and calls.

pub mod aws;
