//! API credentials: bearer tokens a party's client presents to the hotline server.
//!
//! A token is [`TOKEN_PREFIX`] followed by 32 random bytes in base64url without padding
//! (43 characters), 51 characters in all; it matches the regular expression
//! `hotline_[A-Za-z0-9_-]{43}`, which is what a secret scanner should look for. The prefix
//! makes a leaked token recognisable; the 256 random bits make guessing it hopeless.
//!
//! The server stores only [`hash_token`] (SHA-256 of the whole token string). With 256 bits
//! of entropy a plain SHA-256 is enough: a slow password hash would buy nothing. Looking a
//! presented token up by its hash needs no secret comparison; where a hash *is* compared
//! with a stored one, use [`token_matches`] or [`hashes_equal`] (constant time).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::CryptoError;

/// What every hotline API token starts with.
pub const TOKEN_PREFIX: &str = "hotline_";
/// Random bytes in a token.
pub const TOKEN_RANDOM_BYTES: usize = 32;
/// Length of a token string: the prefix and 43 base64url characters.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 43;

/// API credentials (a namespace: tokens are handled as strings, see the [module docs](self)).
pub enum ApiToken {}

impl ApiToken {
    /// A fresh token and its SHA-256. Show the token to its owner once; store only the hash.
    pub fn generate() -> (Zeroizing<String>, [u8; 32]) {
        let mut random = [0u8; TOKEN_RANDOM_BYTES];
        rand::fill(&mut random);
        let mut token = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        token.push_str(TOKEN_PREFIX);
        B64URL.encode_string(random, &mut token);
        random.zeroize();
        let hash = hash_token(&token);
        (token, hash)
    }

    /// Checks that `token` has the shape of a hotline token (prefix, length, alphabet), so a
    /// server can tell a caller "that is not a hotline token" apart from "unknown token".
    pub fn check_format(token: &str) -> Result<(), CryptoError> {
        let Some(rest) = token.strip_prefix(TOKEN_PREFIX) else {
            return Err(CryptoError::InvalidToken("it does not start with hotline_"));
        };
        if token.len() != TOKEN_LEN {
            return Err(CryptoError::InvalidToken(
                "wrong length (a token is 51 characters)",
            ));
        }
        let mut decoded = Zeroizing::new([0u8; TOKEN_RANDOM_BYTES + 2]);
        match B64URL.decode_slice(rest, &mut decoded[..]) {
            Ok(TOKEN_RANDOM_BYTES) => Ok(()),
            _ => Err(CryptoError::InvalidToken(
                "not base64url (A-Z, a-z, 0-9, '-', '_') after the prefix",
            )),
        }
    }
}

/// SHA-256 of a token string: what the server stores instead of the token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `token` hashes to `stored`, compared in constant time.
pub fn token_matches(token: &str, stored: &[u8; 32]) -> bool {
    hashes_equal(&hash_token(token), stored)
}

/// Constant-time equality of two 32-byte hashes.
pub fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let (t, h) = ApiToken::generate();
        assert_eq!(t.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 51);
        assert!(t.starts_with("hotline_"));
        assert!(
            t[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        ApiToken::check_format(&t).unwrap();
        assert_eq!(h, hash_token(&t));
        assert!(token_matches(&t, &h));
        let (t2, h2) = ApiToken::generate();
        assert_ne!(*t, *t2);
        assert!(!token_matches(&t2, &h));
        assert!(!hashes_equal(&h, &h2));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (t, _) = ApiToken::generate();
        for bad in [
            "".to_owned(),
            t[1..].to_owned(),
            format!("{}x", &*t),
            t[..t.len() - 1].to_owned(),
            format!("hotline_{}", "+".repeat(43)),
            format!("hotline_{}", "=".repeat(43)),
        ] {
            assert!(ApiToken::check_format(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_is_sha256_of_the_string() {
        // FIPS 180-2 test vector: SHA-256("abc").
        assert_eq!(
            hash_token("abc"),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
                0xf2, 0x00, 0x15, 0xad
            ]
        );
    }
}
