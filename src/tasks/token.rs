//! Self-authenticating task tokens: minted like real ones, recognised without storing their text.
//!
//! An AWS token is standard base64 of `01 00 <mark> <version> <provider> <task id: 8 bytes>
//! <nonce: up to 16 random bytes> <filler> <MAC: 16 bytes>`. The MAC is HMAC-SHA256
//! (truncated) over the header and the nonce under a key private to one mock instance; the
//! filler is expanded from the MAC, so every byte of the token is bound to the key while
//! verifying hashes 29 bytes rather than the whole token (hundreds of bytes). Tokens of 256
//! characters or more are two base64 segments joined, the first ending in `=`, as real tokens
//! are: a client that mangles an inner `=` is caught. Any forged, truncated or altered token
//! fails the MAC or the filler comparison.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::contract::Provider;

/// Default length of a minted AWS token, in characters (real ones are 660 to 700).
pub const DEFAULT_AWS_TOKEN_LEN: usize = 680;
/// Shortest AWS token the mock mints.
pub const MIN_AWS_TOKEN_LEN: usize = 40;
/// Longest AWS token the mock mints (the contract's maximum `taskToken` length).
pub const MAX_AWS_TOKEN_LEN: usize = 2048;

const MAC_LEN: usize = 16;
/// Bytes before the filler: marker, version, provider, task id.
const HEADER_LEN: usize = 3 + 1 + 1 + 8;
/// Random bytes after the header that the MAC covers (fewer in the shortest tokens).
const NONCE_LEN: usize = 16;
/// Most bytes a token decodes to.
const MAX_AWS_TOKEN_BYTES: usize = MAX_AWS_TOKEN_LEN / 4 * 3;
const ALIBABA_MAC_LEN: usize = 20;
/// base64 of `v1#`.
const ALIBABA_PREFIX: &str = "djEj";
/// Longest Alibaba token looked at (flow names are at most 128 characters).
const MAX_ALIBABA_TOKEN_LEN: usize = 1024;
const FIXED_LEN: usize = HEADER_LEN + MAC_LEN;
const FIRST_SEGMENT_BYTES: usize = 134; // 180 base64 characters, the last one `=`
const FIRST_SEGMENT_CHARS: usize = 180;
const TWO_SEGMENT_MARK: u8 = (FIRST_SEGMENT_BYTES - 3) as u8;
const TWO_SEGMENTS_FROM: usize = 256;
/// Version 2: the MAC covers the header and nonce, and the filler is expanded from it.
const VERSION: u8 = 2;
const AWS_TAG: u8 = 1;
const LAMBDA_TAG: u8 = 3;
/// Length of a minted Lambda callback id, in characters.
pub const LAMBDA_ID_LEN: usize = 212;
/// Bytes a Lambda callback id decodes to: one more than a multiple of 3, so it ends in `==`.
const LAMBDA_ID_BYTES: usize = 157;

/// A token length the mock cannot mint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("token length {0} is not a multiple of 4 between {MIN_AWS_TOKEN_LEN} and {MAX_AWS_TOKEN_LEN} (tokens are padded standard base64)")]
pub struct TokenLengthError(pub usize);

/// Checks that `len` is a token length the mock can mint.
pub fn check_token_length(len: usize) -> Result<usize, TokenLengthError> {
    if (MIN_AWS_TOKEN_LEN..=MAX_AWS_TOKEN_LEN).contains(&len) && len % 4 == 0 {
        Ok(len)
    } else {
        Err(TokenLengthError(len))
    }
}

/// Mints and verifies tokens under one secret key.
///
/// ```
/// use tasktoken::tasks::TokenCodec;
/// use tasktoken::Provider;
///
/// let codec = TokenCodec::random();
/// let token = codec.mint_aws(42, 680).unwrap();
/// assert_eq!(token.len(), 680);
/// assert!(token.starts_with("AQ"));
/// assert_eq!(codec.verify(&token), Some((Provider::Aws, 42)));
///
/// let mut forged = token.into_bytes();
/// forged[300] = if forged[300] == b'A' { b'B' } else { b'A' };
/// assert_eq!(codec.verify(std::str::from_utf8(&forged).unwrap()), None);
/// ```
#[derive(Clone)]
pub struct TokenCodec {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCodec { .. }")
    }
}

impl TokenCodec {
    /// A codec with a fresh random key: tokens of another instance are not recognised.
    pub fn random() -> TokenCodec {
        let mut key = [0u8; 32];
        fill_random(&mut key);
        TokenCodec::with_key(&key)
    }

    /// A codec with a fixed key (reproducible across restarts).
    pub fn with_key(key: &[u8]) -> TokenCodec {
        TokenCodec {
            mac: Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length"),
        }
    }

    /// Mints an AWS token of exactly `len` characters for task `id`.
    pub fn mint_aws(&self, id: u64, len: usize) -> Result<String, TokenLengthError> {
        let len = check_token_length(len)?;
        let two_segments = len >= TWO_SEGMENTS_FROM;
        let total = if two_segments {
            FIRST_SEGMENT_BYTES + (len - FIRST_SEGMENT_CHARS) / 4 * 3
        } else {
            len / 4 * 3
        };
        let mut bytes = vec![0u8; total];
        bytes[0] = 0x01;
        bytes[1] = 0x00;
        bytes[2] = if two_segments { TWO_SEGMENT_MARK } else { 0 };
        bytes[3] = VERSION;
        bytes[4] = AWS_TAG;
        bytes[5..HEADER_LEN].copy_from_slice(&id.to_be_bytes());
        let (signed, rest) = bytes.split_at_mut(signed_len(total));
        fill_random(&mut signed[HEADER_LEN..]);
        let tag = self.tag(signed);
        let (filler, mac) = rest.split_at_mut(rest.len() - MAC_LEN);
        mac.copy_from_slice(&tag[..MAC_LEN]);
        expand_filler(mac, filler);
        let token = if two_segments {
            let mut s = STANDARD.encode(&bytes[..FIRST_SEGMENT_BYTES]);
            STANDARD.encode_string(&bytes[FIRST_SEGMENT_BYTES..], &mut s);
            s
        } else {
            STANDARD.encode(&bytes)
        };
        debug_assert_eq!(token.len(), len);
        Ok(token)
    }

    /// Mints a Lambda callback id for task `id`: [`LAMBDA_ID_LEN`] characters of standard
    /// base64 ending in `==`, with at least one `+` and one `/`, so that every SDK call
    /// percent-encodes its path label.
    ///
    /// ```
    /// use tasktoken::tasks::TokenCodec;
    /// use tasktoken::Provider;
    ///
    /// let codec = TokenCodec::random();
    /// let id = codec.mint_lambda(9);
    /// assert_eq!(id.len(), 212);
    /// assert!(id.ends_with("==") && id.contains('+') && id.contains('/'));
    /// assert_eq!(codec.verify(&id), Some((Provider::Lambda, 9)));
    /// ```
    pub fn mint_lambda(&self, id: u64) -> String {
        let mut bytes = [0u8; LAMBDA_ID_BYTES];
        bytes[0] = 0x01;
        bytes[3] = VERSION;
        bytes[4] = LAMBDA_TAG;
        bytes[5..HEADER_LEN].copy_from_slice(&id.to_be_bytes());
        let mut text = String::new();
        // About 19 in 20 ids have both at the first try; a broken random source that never
        // gives them ends after a few tries with an id that lacks one.
        for _ in 0..16 {
            let (signed, rest) = bytes.split_at_mut(signed_len(LAMBDA_ID_BYTES));
            fill_random(&mut signed[HEADER_LEN..]);
            let tag = self.tag(signed);
            let (filler, mac) = rest.split_at_mut(rest.len() - MAC_LEN);
            mac.copy_from_slice(&tag[..MAC_LEN]);
            expand_filler(mac, filler);
            text = STANDARD.encode(bytes);
            if text.contains('+') && text.contains('/') {
                break;
            }
        }
        text
    }

    /// Mints an Alibaba token for task `id` of flow `flow` scheduled as event `event_id`.
    ///
    /// ```
    /// use tasktoken::tasks::TokenCodec;
    /// use tasktoken::Provider;
    ///
    /// let codec = TokenCodec::random();
    /// let token = codec.mint_alibaba(7, "MyFlow", 2);
    /// assert!(token.starts_with("djEjTXlGbG93I")); // base64 of "v1#MyFlow#…"
    /// assert_eq!(codec.verify(&token), Some((Provider::Alibaba, 7)));
    /// ```
    pub fn mint_alibaba(&self, id: u64, flow: &str, event_id: u64) -> String {
        let mut r = [0u8; 10];
        fill_random(&mut r);
        let execution = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            u32::from_be_bytes([r[0], r[1], r[2], r[3]]),
            u16::from_be_bytes([r[4], r[5]]),
            u16::from_be_bytes([r[6], r[7]]) & 0x0fff,
            (u16::from_be_bytes([r[8], r[9]]) & 0x3fff) | 0x8000,
            id & 0xffff_ffff_ffff
        );
        let text = format!("v1#{flow}#{execution}#{event_id}");
        let tag = self.tag(text.as_bytes());
        let plain = format!("{text}#{}", STANDARD.encode(&tag[..ALIBABA_MAC_LEN]));
        STANDARD.encode(plain)
    }

    /// The provider and task id of a token this codec minted; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<(Provider, u64)> {
        if token.starts_with(ALIBABA_PREFIX) {
            return self.verify_alibaba(token).map(|id| (Provider::Alibaba, id));
        }
        if !(MIN_AWS_TOKEN_LEN..=MAX_AWS_TOKEN_LEN).contains(&token.len()) || !token.is_ascii() {
            return None;
        }
        let raw = token.as_bytes();
        let two_segments = raw.len() > FIRST_SEGMENT_CHARS && raw[FIRST_SEGMENT_CHARS - 1] == b'=';
        let mut buf = [0u8; MAX_AWS_TOKEN_BYTES];
        let n = if two_segments {
            let first = decode_into(&raw[..FIRST_SEGMENT_CHARS], &mut buf)?;
            if first != FIRST_SEGMENT_BYTES {
                return None;
            }
            first + decode_into(&raw[FIRST_SEGMENT_CHARS..], &mut buf[first..])?
        } else {
            decode_into(raw, &mut buf)?
        };
        let bytes = &buf[..n];
        if n < FIXED_LEN
            || bytes[0] != 0x01
            || bytes[1] != 0x00
            || bytes[2] != if two_segments { TWO_SEGMENT_MARK } else { 0 }
            || bytes[3] != VERSION
        {
            return None;
        }
        let provider = provider_from_tag(bytes[4])?;
        let (signed, rest) = bytes.split_at(signed_len(n));
        let (filler, mac) = rest.split_at(rest.len() - MAC_LEN);
        let mut check = self.mac.clone();
        check.update(signed);
        check.verify_truncated_left(mac).ok()?;
        if !filler_matches(mac, filler) {
            return None;
        }
        let id = u64::from_be_bytes(bytes[5..HEADER_LEN].try_into().ok()?);
        Some((provider, id))
    }

    fn verify_alibaba(&self, token: &str) -> Option<u64> {
        if token.len() > MAX_ALIBABA_TOKEN_LEN {
            return None;
        }
        let mut buf = [0u8; MAX_ALIBABA_TOKEN_LEN / 4 * 3];
        let n = decode_into(token.as_bytes(), &mut buf)?;
        let plain = std::str::from_utf8(&buf[..n]).ok()?;
        let (text, mac) = plain.rsplit_once('#')?;
        let mut parts = text.split('#');
        let (version, _flow, execution, event) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if version != "v1" || parts.next().is_some() || event.parse::<u64>().is_err() {
            return None;
        }
        let mut sent = [0u8; 32];
        if decode_into(mac.as_bytes(), &mut sent)? != ALIBABA_MAC_LEN {
            return None;
        }
        let mut check = self.mac.clone();
        check.update(text.as_bytes());
        check.verify_truncated_left(&sent[..ALIBABA_MAC_LEN]).ok()?;
        let id_hex = execution.rsplit('-').next()?;
        u64::from_str_radix(id_hex, 16).ok()
    }

    fn tag(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }
}

/// Decodes padded standard base64 `text` into `out`; the length written, or `None` when
/// `text` is not canonical padded base64 or would not fit. The same verdicts and bytes as the
/// `base64` crate's `STANDARD` (a test checks that), at about a quarter of the time: every
/// completion verifies a token, so this is on the hot path.
fn decode_into(text: &[u8], out: &mut [u8]) -> Option<usize> {
    let engine = base64_simd::STANDARD;
    if engine.decoded_length(text).ok()? > out.len() {
        return None;
    }
    engine.decode(text, base64_simd::Out::from_slice(out)).ok().map(|decoded| decoded.len())
}

/// Bytes the MAC covers in a token of `total` bytes: the header and the nonce.
fn signed_len(total: usize) -> usize {
    HEADER_LEN + NONCE_LEN.min(total - FIXED_LEN)
}

/// The filler's generator, seeded by the MAC (splitmix64, 8 bytes a step): a forger who
/// cannot make the MAC cannot make the filler either, and checking it costs no hashing.
struct FillerStream(u64);

impl FillerStream {
    fn new(mac: &[u8]) -> FillerStream {
        FillerStream(mac.chunks(8).fold(0, |seed, chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            seed.rotate_left(17) ^ u64::from_le_bytes(word)
        }))
    }

    fn next_word(&mut self) -> [u8; 8] {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)).to_le_bytes()
    }
}

fn expand_filler(mac: &[u8], filler: &mut [u8]) {
    let mut stream = FillerStream::new(mac);
    for chunk in filler.chunks_mut(8) {
        let word = stream.next_word();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}

/// Compared as whole words: comparing 8-byte slices calls `memcmp` for each, which made
/// `verify` slower than hashing the whole token.
fn filler_matches(mac: &[u8], filler: &[u8]) -> bool {
    let mut stream = FillerStream::new(mac);
    let mut chunks = filler.chunks_exact(8);
    let mut diff = 0u64;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        diff |= word ^ u64::from_le_bytes(stream.next_word());
    }
    let tail = chunks.remainder();
    diff == 0 && tail == &stream.next_word()[..tail.len()]
}

fn provider_from_tag(tag: u8) -> Option<Provider> {
    // Alibaba tokens have their own text format; the binary layout is AWS's and Lambda's.
    match tag {
        AWS_TAG => Some(Provider::Aws),
        LAMBDA_TAG => Some(Provider::Lambda),
        _ => None,
    }
}

fn fill_random(buf: &mut [u8]) {
    // The OS generator only fails on broken systems; a zero filler still yields unique,
    // authenticated tokens (the MAC covers the id).
    if getrandom::fill(buf).is_err() {
        buf.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mintable_length_round_trips() {
        let codec = TokenCodec::random();
        for len in (MIN_AWS_TOKEN_LEN..=MAX_AWS_TOKEN_LEN).step_by(4) {
            let t = codec.mint_aws(len as u64, len).unwrap();
            assert_eq!(t.len(), len);
            assert!(t.starts_with("AQ"), "{t}");
            assert_eq!(codec.verify(&t), Some((Provider::Aws, len as u64)), "len {len}");
            if len >= TWO_SEGMENTS_FROM {
                assert_eq!(&t[179..180], "=", "inner = at len {len}");
            }
        }
    }

    #[test]
    fn alibaba_tokens_look_real_and_resist_tampering() {
        let codec = TokenCodec::random();
        let t = codec.mint_alibaba(123_456, "WaitForCallbackWorkflow", 2);
        assert!((120..=136).contains(&t.len()), "{} {t}", t.len());
        let plain = String::from_utf8(STANDARD.decode(&t).unwrap()).unwrap();
        assert!(plain.starts_with("v1#WaitForCallbackWorkflow#"), "{plain}");
        assert_eq!(codec.verify(&t), Some((Provider::Alibaba, 123_456)));
        let forged = STANDARD.encode(plain.replacen("#2#", "#3#", 1));
        assert_eq!(codec.verify(&forged), None);
        assert_eq!(TokenCodec::random().verify(&t), None);
        assert_eq!(codec.verify(&t[..t.len() - 4]), None);
    }

    #[test]
    fn any_changed_byte_is_rejected_at_every_length() {
        let codec = TokenCodec::random();
        for len in [40, 44, 48, 80, 252, 256, 680, 2048] {
            let token = codec.mint_aws(9, len).unwrap();
            let mut raw = token.clone().into_bytes();
            for i in 0..raw.len() {
                if raw[i] == b'=' {
                    continue;
                }
                let original = raw[i];
                raw[i] = if original == b'A' { b'B' } else { b'A' };
                let changed = std::str::from_utf8(&raw).unwrap();
                // A change in a last character's unused bits decodes to the same bytes, and
                // base64 rejects it as non-canonical; either way it must not verify as another
                // token.
                assert_ne!(codec.verify(changed), Some((Provider::Aws, 9)), "len {len}, char {i}");
                raw[i] = original;
            }
            assert_eq!(codec.verify(&token), Some((Provider::Aws, 9)));
        }
    }

    #[test]
    fn the_fast_decoder_agrees_with_the_base64_crate() {
        // Strings over the alphabet, padding and a few strays, at lengths around the blocks.
        const CHARS: &[u8] = b"AQgw+/=Zz09 -_\x00";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = [0u8; 64];
        for round in 0..200_000 {
            let len = (next() % 24) as usize;
            let text: Vec<u8> =
                (0..len).map(|_| CHARS[(next() % CHARS.len() as u64) as usize]).collect();
            let expected = STANDARD.decode(&text).ok();
            let got = decode_into(&text, &mut out).map(|n| out[..n].to_vec());
            assert_eq!(got, expected, "round {round}: {:?}", String::from_utf8_lossy(&text));
        }
        // A one-segment token, and an output too small for it.
        let codec = TokenCodec::random();
        let token = codec.mint_aws(3, 252).unwrap();
        let mut big = [0u8; MAX_AWS_TOKEN_BYTES];
        let n = decode_into(token.as_bytes(), &mut big).unwrap();
        assert_eq!(big[..n], STANDARD.decode(&token).unwrap()[..]);
        assert_eq!(decode_into(token.as_bytes(), &mut out), None);
    }

    #[test]
    fn other_keys_truncation_and_lengths_are_rejected() {
        let a = TokenCodec::random();
        let b = TokenCodec::random();
        let t = a.mint_aws(7, 680).unwrap();
        assert_eq!(b.verify(&t), None);
        assert_eq!(a.verify(&t[..676]), None);
        assert_eq!(a.verify(&t[4..]), None);
        assert!(a.mint_aws(1, 681).is_err());
        assert!(a.mint_aws(1, 2052).is_err());
        assert!(a.mint_aws(1, 36).is_err());
    }
}
