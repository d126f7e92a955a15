//! Replay protection for Alibaba signatures: a nonce is accepted once per AccessKey ID while its request could verify.
//!
//! An RPC v1 request carries `SignatureNonce` (an ACS3 one `x-acs-signature-nonce`) so that a
//! captured request cannot be sent again: Alibaba's gateway answers a nonce already used with
//! the same AccessKey ID with `SignatureNonceUsed` (see `docs/sources.md`, "Alibaba:
//! SignatureNonce"). A signed request verifies while its signing time is within
//! [`super::MAX_CLOCK_SKEW_SECONDS`] of the clock, so a nonce is
//! remembered until its request's signing time plus that window, and forgotten then: a replay
//! after that is refused as skewed anyway.
//!
//! Memory is bounded twice: by the window (entries expire on the caller's clock, the mock's
//! virtual clock included) and by a hard cap on entries ([`DEFAULT_MAX_NONCES`] unless told).
//! Each entry is a 16-byte digest of the key id and the nonce (a nonce may be as long as the
//! request) and its expiry. At the cap, the entry closest to expiry is forgotten to make room:
//! the mock keeps serving, and only a replay of that forgotten nonce could pass (logged).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::MAX_CLOCK_SKEW_SECONDS;

/// Entries a [`Nonces`] holds at most by default: a client signing 55 requests a second for the
/// whole 30-minute span a nonce can live (15 minutes either way of the clock). About 80 bytes
/// each, so 8 MB at the cap.
pub const DEFAULT_MAX_NONCES: usize = 100_000;

/// The nonce was already used with this AccessKey ID, and the request could still verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the signature nonce was already used with this access key")]
pub struct NonceUsed;

/// The nonces seen per AccessKey ID, each until its request's signing time plus the window.
///
/// ```
/// use tasktoken::auth::nonces::{NonceUsed, Nonces};
///
/// let nonces = Nonces::default();
/// let signed_at = 1_800_000_000; // Unix seconds
/// assert_eq!(nonces.claim("LTAIexample", "n-1", signed_at, signed_at + 1), Ok(()));
/// assert_eq!(nonces.claim("LTAIexample", "n-1", signed_at, signed_at + 2), Err(NonceUsed));
/// // Another key may use the same nonce.
/// assert_eq!(nonces.claim("LTAIother", "n-1", signed_at, signed_at + 2), Ok(()));
/// // Past the window the entry is gone (and the request would be refused as skewed).
/// assert_eq!(nonces.claim("LTAIexample", "n-1", signed_at, signed_at + 15 * 60 + 1), Ok(()));
/// ```
#[derive(Debug)]
pub struct Nonces {
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Digest of (key id, nonce) to the last second its request could verify.
    expiry: HashMap<[u8; 16], i64>,
    /// The same entries by expiry, soonest first (stale ones skipped when popped).
    by_expiry: BinaryHeap<Reverse<(i64, [u8; 16])>>,
}

impl Default for Nonces {
    fn default() -> Nonces {
        Nonces::with_capacity(DEFAULT_MAX_NONCES)
    }
}

impl Nonces {
    /// A cache of at most `max` nonces (at least one).
    pub fn with_capacity(max: usize) -> Nonces {
        Nonces { max: max.max(1), inner: Mutex::new(Inner::default()) }
    }

    /// Records `nonce` for `access_key_id`, signed at `signed_at`, judged at `now` (both Unix
    /// seconds); [`NonceUsed`] if it is held already. Call it only for requests whose
    /// signature verified: a forged request must not use up a client's nonce.
    pub fn claim(
        &self,
        access_key_id: &str,
        nonce: &str,
        signed_at: i64,
        now: i64,
    ) -> Result<(), NonceUsed> {
        let key = digest(access_key_id, nonce);
        let expires = signed_at.saturating_add(MAX_CLOCK_SKEW_SECONDS);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.expire(now);
        if inner.expiry.contains_key(&key) {
            return Err(NonceUsed);
        }
        if inner.expiry.len() >= self.max {
            tracing::warn!(
                max = self.max,
                "signature nonce cache full; forgetting the nonce closest to expiry"
            );
            inner.evict_one();
        }
        inner.expiry.insert(key, expires);
        inner.by_expiry.push(Reverse((expires, key)));
        Ok(())
    }

    /// How many nonces are held (expired ones included until the next claim).
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).expiry.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Drops every entry whose request can no longer verify at `now`.
    fn expire(&mut self, now: i64) {
        while let Some(&Reverse((expires, key))) = self.by_expiry.peek() {
            if expires >= now {
                break;
            }
            self.by_expiry.pop();
            self.remove_if(key, expires);
        }
    }

    /// Forgets the live entry closest to expiry.
    fn evict_one(&mut self) {
        while let Some(Reverse((expires, key))) = self.by_expiry.pop() {
            if self.remove_if(key, expires) {
                return;
            }
        }
    }

    /// Removes `key` if its entry is the one that expires at `expires` (not a newer one).
    fn remove_if(&mut self, key: [u8; 16], expires: i64) -> bool {
        if self.expiry.get(&key) == Some(&expires) {
            self.expiry.remove(&key);
            true
        } else {
            false
        }
    }
}

/// The first 16 bytes of SHA-256 over the key id's length, the key id and the nonce.
fn digest(access_key_id: &str, nonce: &str) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update((access_key_id.len() as u64).to_le_bytes());
    hash.update(access_key_id.as_bytes());
    hash.update(nonce.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash.finalize()[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_800_000_000;

    #[test]
    fn a_nonce_is_held_until_its_signing_time_plus_the_window() {
        let nonces = Nonces::default();
        assert_eq!(nonces.claim("k", "n", T, T), Ok(()));
        assert_eq!(nonces.claim("k", "n", T, T + MAX_CLOCK_SKEW_SECONDS), Err(NonceUsed));
        assert_eq!(nonces.claim("k", "n", T, T + MAX_CLOCK_SKEW_SECONDS + 1), Ok(()));
    }

    #[test]
    fn a_request_signed_ahead_of_the_clock_is_held_longer() {
        let nonces = Nonces::default();
        // Signed 10 minutes ahead: it verifies until 25 minutes from now.
        let ahead = T + 600;
        assert_eq!(nonces.claim("k", "n", ahead, T), Ok(()));
        assert_eq!(nonces.claim("k", "n", ahead, T + 1400), Err(NonceUsed));
        assert_eq!(nonces.claim("k", "n", ahead, T + 1501), Ok(()));
    }

    #[test]
    fn key_and_nonce_boundaries_do_not_collide() {
        let nonces = Nonces::default();
        assert_eq!(nonces.claim("ab", "c", T, T), Ok(()));
        assert_eq!(nonces.claim("a", "bc", T, T), Ok(()));
    }

    #[test]
    fn expired_entries_are_dropped_and_the_cap_holds() {
        let nonces = Nonces::with_capacity(3);
        for (i, n) in ["a", "b", "c"].iter().enumerate() {
            assert_eq!(nonces.claim("k", n, T + i as i64, T), Ok(()));
        }
        assert_eq!(nonces.len(), 3);
        // Full: the one closest to expiry ("a") makes room.
        assert_eq!(nonces.claim("k", "d", T + 5, T), Ok(()));
        assert_eq!(nonces.len(), 3);
        assert_eq!(nonces.claim("k", "b", T + 1, T), Err(NonceUsed));
        assert_eq!(nonces.claim("k", "d", T + 5, T), Err(NonceUsed));
        // Past every window but d's: only d is left after the next claim.
        assert_eq!(nonces.claim("k", "e", T + 2000, T + MAX_CLOCK_SKEW_SECONDS + 3), Ok(()));
        assert_eq!(nonces.len(), 2);
    }
}
