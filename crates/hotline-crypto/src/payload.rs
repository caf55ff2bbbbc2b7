//! Payload encryption in the age-encryption.org/v1 binary format (not armored), to X25519
//! recipients only, so that any age implementation (Go's `age`, `rage`, typage) decrypts a
//! payload given the recipient's identity.
//!
//! Limits: a plaintext is at most [`MAX_PAYLOAD_SIZE`] bytes and is encrypted to at most
//! [`MAX_RECIPIENTS`] distinct recipients; a ciphertext of more than [`MAX_CIPHERTEXT_SIZE`]
//! bytes is refused before it is parsed. [`encrypted_size_bound`] bounds the size of what
//! [`encrypt`] produces (the `age` crate adds one random "grease" stanza of up to about 200
//! bytes to every header, so the exact size varies).

use std::fmt;
use std::io::Read as _;
use std::str::FromStr as _;

use crate::error::CryptoError;

/// Largest plaintext payload, in bytes (16 MiB).
pub const MAX_PAYLOAD_SIZE: usize = 16 * 1024 * 1024;

/// Most distinct recipients one payload is encrypted to.
pub const MAX_RECIPIENTS: usize = 64;

/// Room allowed for an age header when bounding a ciphertext's size: far more than
/// [`MAX_RECIPIENTS`] X25519 stanzas (about 100 bytes each) need, leaving room for the
/// "grease" stanzas some implementations add.
pub const MAX_HEADER_SIZE: usize = 64 * 1024;

/// Largest ciphertext [`decrypt`] accepts: [`max_ciphertext_size`] of [`MAX_PAYLOAD_SIZE`].
pub const MAX_CIPHERTEXT_SIZE: usize = max_ciphertext_size(MAX_PAYLOAD_SIZE);

/// The magic first line of every age-encryption.org/v1 file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// age's STREAM chunk size, and the Poly1305 tag each chunk carries.
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;
/// The payload nonce after the header.
const NONCE: usize = 16;
/// `-> X25519 <43 base64>\n<43 base64>\n`
const X25519_STANZA: usize = 3 + 6 + 1 + 43 + 1 + 43 + 1;
/// `--- <43 base64>\n`
const MAC_LINE: usize = 4 + 43 + 1;

/// Size of the STREAM-encrypted body of a `plaintext_len`-byte plaintext (without header and
/// nonce): every 64 KiB chunk gains a 16-byte tag, and an empty plaintext is one empty chunk.
const fn body_size(plaintext_len: usize) -> usize {
    let chunks = if plaintext_len == 0 {
        1
    } else {
        plaintext_len.div_ceil(CHUNK)
    };
    plaintext_len + chunks * TAG
}

/// Largest ciphertext that can hold a plaintext of `max_plaintext` bytes, allowing
/// [`MAX_HEADER_SIZE`] for the header.
pub const fn max_ciphertext_size(max_plaintext: usize) -> usize {
    MAX_HEADER_SIZE + NONCE + body_size(max_plaintext)
}

/// Upper bound of one "grease" stanza as the `age` crate writes them (a tag of at most 15
/// characters, at most four arguments of at most 8, a body of at most 100 bytes: under 200
/// bytes in all).
const GREASE_ALLOWANCE: usize = 256;

/// Most bytes [`encrypt`] produces for a `plaintext_len`-byte plaintext and `recipients`
/// distinct X25519 recipients; the real size is smaller by at most 256 bytes (the random
/// grease stanza).
pub const fn encrypted_size_bound(plaintext_len: usize, recipients: usize) -> usize {
    AGE_MAGIC.len()
        + recipients * X25519_STANZA
        + GREASE_ALLOWANCE
        + MAC_LINE
        + NONCE
        + body_size(plaintext_len)
}

/// An age X25519 recipient (`age1...`): a public key payloads are encrypted to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AgeRecipient(age::x25519::Recipient);

impl AgeRecipient {
    /// The wrapped age recipient.
    pub fn inner(&self) -> &age::x25519::Recipient {
        &self.0
    }
}

impl From<age::x25519::Recipient> for AgeRecipient {
    fn from(r: age::x25519::Recipient) -> Self {
        AgeRecipient(r)
    }
}

impl fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgeRecipient({})", self.0)
    }
}

impl std::str::FromStr for AgeRecipient {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        parse_recipient(s)
    }
}

/// Parses an age X25519 recipient (`age1...`, lowercase Bech32).
pub fn parse_recipient(s: &str) -> Result<AgeRecipient, CryptoError> {
    let invalid = |reason| CryptoError::InvalidRecipient {
        recipient: s.to_owned(),
        reason,
    };
    if s.starts_with("AGE-SECRET-KEY-") {
        // Do not echo it.
        return Err(CryptoError::InvalidRecipient {
            recipient: "AGE-SECRET-KEY-…".into(),
            reason: "this is a private identity, not a recipient; never share it",
        });
    }
    if !s.starts_with("age1") {
        return Err(invalid("it does not start with age1"));
    }
    let r = age::x25519::Recipient::from_str(s).map_err(invalid)?;
    // Bech32 accepts all-uppercase too; keep one canonical spelling.
    if r.to_string() != s {
        return Err(invalid("not in canonical (lowercase) form"));
    }
    Ok(AgeRecipient(r))
}

/// Encrypts `plaintext` to every recipient (duplicates count once) in the binary
/// age-encryption.org/v1 format.
pub fn encrypt(plaintext: &[u8], recipients: &[AgeRecipient]) -> Result<Vec<u8>, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    if plaintext.len() > MAX_PAYLOAD_SIZE {
        return Err(CryptoError::PayloadTooLarge {
            what: "plaintext",
            size: plaintext.len(),
            limit: MAX_PAYLOAD_SIZE,
        });
    }
    let mut distinct: Vec<&AgeRecipient> = Vec::with_capacity(recipients.len());
    for r in recipients {
        if !distinct.contains(&r) {
            distinct.push(r);
        }
    }
    if distinct.len() > MAX_RECIPIENTS {
        return Err(CryptoError::TooManyRecipients {
            count: distinct.len(),
            limit: MAX_RECIPIENTS,
        });
    }
    let encryptor =
        age::Encryptor::with_recipients(distinct.iter().map(|r| &r.0 as &dyn age::Recipient))
            .map_err(|e| CryptoError::Encrypt(e.to_string()))?;
    let mut out = Vec::with_capacity(encrypted_size_bound(plaintext.len(), distinct.len()));
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| CryptoError::Encrypt(e.to_string()))?;
    std::io::Write::write_all(&mut writer, plaintext)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| CryptoError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// Checks, without any key, that `ciphertext` is a well-formed binary age-encryption.org/v1
/// file of at most [`MAX_CIPHERTEXT_SIZE`] bytes, encrypted to public keys (not to a
/// passphrase), whose body has a length that age's 64 KiB chunking can produce. This is what a
/// server that can never decrypt a payload can check before storing it; only a recipient's
/// [`decrypt`] authenticates the content.
pub fn check_age_format(ciphertext: &[u8]) -> Result<(), CryptoError> {
    if ciphertext.len() > MAX_CIPHERTEXT_SIZE {
        return Err(CryptoError::PayloadTooLarge {
            what: "ciphertext",
            size: ciphertext.len(),
            limit: MAX_CIPHERTEXT_SIZE,
        });
    }
    check_magic(ciphertext)?;
    let rest = &ciphertext[payload_start(ciphertext)?..];
    // The body: full chunks of 64 KiB + 16, then a last chunk of 1..=64 KiB plaintext + 16
    // (or a single empty chunk of 16 bytes for an empty plaintext).
    let body = rest.len();
    let full = CHUNK + TAG;
    let ok = match (body / full, body % full) {
        (0, last) => last >= TAG,
        (_, 0) => true,
        (_, last) => last > TAG,
    };
    if !ok {
        return Err(CryptoError::DamagedPayload(format!(
            "its encrypted body of {body} bytes cannot be a whole age payload (truncated?)"
        )));
    }
    Ok(())
}

/// Where the encrypted chunks of an age file begin: after its header and the 16-byte payload
/// nonce.
fn payload_start(file: &[u8]) -> Result<usize, CryptoError> {
    let start = header_len(file)? + NONCE;
    if file.len() < start {
        return Err(CryptoError::DamagedPayload(
            "it is truncated before its content begins".into(),
        ));
    }
    Ok(start)
}

/// The length of the age-encryption.org/v1 header of `file` (magic line, recipient stanzas,
/// MAC line), checking its grammar: each stanza `-> type arg…` with non-empty arguments of
/// visible ASCII, then its body as unpadded base64 in lines of 64 characters ended by a shorter
/// one; then `--- ` and the 43-character base64 MAC. Refuses passphrase (scrypt) stanzas.
///
/// Written here rather than by parsing with `age::Decryptor` (which this replaced on the server
/// path): that parse allocated every stanza and cost ~5% of the server's CPU per statement
/// under `hotline bench submit`. The tests check it agrees with `age`'s own parser on
/// valid files and on many damaged ones.
fn header_len(file: &[u8]) -> Result<usize, CryptoError> {
    let malformed =
        |what: &str| CryptoError::DamagedPayload(format!("its age header is malformed: {what}"));
    let mut at = AGE_MAGIC.len();
    let mut stanzas = 0usize;
    let line = |at: usize| -> Result<&[u8], CryptoError> {
        let rest = file.get(at..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| {
            CryptoError::DamagedPayload("it is truncated before its content begins".into())
        })?;
        Ok(&rest[..end])
    };
    loop {
        let l = line(at)?;
        at += l.len() + 1;
        if let Some(mac) = l.strip_prefix(b"--- ") {
            if stanzas == 0 {
                return Err(malformed("no recipient stanza"));
            }
            if mac.len() != 43 || !is_base64_line(mac) || !canonical_tail(mac) {
                return Err(malformed("the MAC line"));
            }
            return Ok(at);
        }
        let Some(args) = l.strip_prefix(b"-> ") else {
            return Err(malformed("expected a recipient stanza or the MAC line"));
        };
        for (n, arg) in args.split(|&b| b == b' ').enumerate() {
            if arg.is_empty() || !arg.iter().all(|b| (0x21..=0x7e).contains(b)) {
                return Err(malformed("a stanza argument"));
            }
            if n == 0 && arg == b"scrypt" {
                return Err(CryptoError::NotAgeFile(
                    "it is encrypted to a passphrase; hotline payloads are encrypted to the parties' keys",
                ));
            }
        }
        stanzas += 1;
        // The body: full lines of 64 base64 characters, ended by a shorter (maybe empty) one.
        loop {
            let b = line(at)?;
            at += b.len() + 1;
            if b.len() > 64 || !is_base64_line(b) {
                return Err(malformed("a stanza body line"));
            }
            if b.len() < 64 {
                if !canonical_tail(b) {
                    return Err(malformed("a stanza body line"));
                }
                break;
            }
        }
    }
}

/// Unpadded standard base64 characters only.
fn is_base64_line(l: &[u8]) -> bool {
    l.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Whether the last base64 group of `l` is canonical (a length of 1 mod 4 is never valid, and
/// the unused low bits of the last character must be zero), as age's decoder requires.
fn canonical_tail(l: &[u8]) -> bool {
    let value = |b: u8| match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    match (l.len() % 4, l.last()) {
        (0, _) | (_, None) => true,
        (1, _) => false,
        (2, Some(&c)) => value(c) & 0x0f == 0,
        (_, Some(&c)) => value(c) & 0x03 == 0,
    }
}

fn check_magic(ciphertext: &[u8]) -> Result<(), CryptoError> {
    if ciphertext.starts_with(AGE_MAGIC) {
        return Ok(());
    }
    Err(CryptoError::NotAgeFile(
        if ciphertext.starts_with(ARMOR_BEGIN) {
            "it is ASCII-armored; hotline payloads are binary age files (dearmor it first)"
        } else if ciphertext.starts_with(b"age-encryption.org/") {
            "it is a later version of the age format than v1"
        } else {
            "it does not start with the line age-encryption.org/v1"
        },
    ))
}

/// Decrypts a binary age-encryption.org/v1 payload with `identity`, refusing plaintexts over
/// [`MAX_PAYLOAD_SIZE`]. Every chunk is authenticated, so a truncated or altered ciphertext is
/// refused, never partly returned.
pub fn decrypt(
    ciphertext: &[u8],
    identity: &age::x25519::Identity,
) -> Result<Vec<u8>, CryptoError> {
    decrypt_with(ciphertext, &[identity], MAX_PAYLOAD_SIZE)
}

/// As [`decrypt`], trying several identities (a party's current and earlier age keys) and
/// refusing plaintexts over `max_plaintext` bytes.
pub fn decrypt_with(
    ciphertext: &[u8],
    identities: &[&age::x25519::Identity],
    max_plaintext: usize,
) -> Result<Vec<u8>, CryptoError> {
    let max_ciphertext = max_ciphertext_size(max_plaintext);
    if ciphertext.len() > max_ciphertext {
        return Err(CryptoError::PayloadTooLarge {
            what: "ciphertext",
            size: ciphertext.len(),
            limit: max_ciphertext,
        });
    }
    check_magic(ciphertext)?;
    let decryptor =
        age::Decryptor::new_buffered(ciphertext).map_err(|e| map_decrypt_error(e, identities))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| *i as &dyn age::Identity))
        .map_err(|e| map_decrypt_error(e, identities))?;
    let mut plaintext = Vec::new();
    reader
        .take(max_plaintext as u64 + 1)
        .read_to_end(&mut plaintext)
        .map_err(|e| {
            CryptoError::DamagedPayload(match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    format!("it is truncated ({e})")
                }
                _ => format!("its content does not authenticate ({e})"),
            })
        })?;
    if plaintext.len() > max_plaintext {
        return Err(CryptoError::PayloadTooLarge {
            what: "plaintext",
            size: plaintext.len(),
            limit: max_plaintext,
        });
    }
    Ok(plaintext)
}

fn map_decrypt_error(e: age::DecryptError, identities: &[&age::x25519::Identity]) -> CryptoError {
    use age::DecryptError as D;
    match e {
        D::NoMatchingKeys => CryptoError::NotEncryptedToYou {
            recipient: identities
                .iter()
                .map(|i| i.to_public().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        },
        D::InvalidHeader => CryptoError::DamagedPayload("its age header is malformed".into()),
        D::InvalidMac => {
            CryptoError::DamagedPayload("its age header does not match its MAC".into())
        }
        D::DecryptionFailed | D::KeyDecryptionFailed => {
            CryptoError::DamagedPayload("its file key does not decrypt".into())
        }
        // The magic line was checked before parsing: what follows it is malformed.
        D::UnknownFormat => CryptoError::DamagedPayload("its age header is malformed".into()),
        D::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            CryptoError::DamagedPayload("it is truncated before its content begins".into())
        }
        D::Io(io) => CryptoError::DamagedPayload(format!("reading it failed: {io}")),
        other => CryptoError::DamagedPayload(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// age's own reading of the header: its length, or an error.
    fn age_header_len(file: &[u8]) -> Option<usize> {
        let mut rest: &[u8] = file;
        let d = age::Decryptor::new_buffered(&mut rest).ok()?;
        if d.is_scrypt() {
            return None;
        }
        Some(file.len() - rest.len())
    }

    fn sample_files() -> Vec<Vec<u8>> {
        let keys: Vec<_> = (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let recipients: Vec<AgeRecipient> =
            keys.iter().map(|k| AgeRecipient(k.to_public())).collect();
        [(0, 1), (1, 2), (100, 3), (70_000, 1)]
            .iter()
            .map(|&(size, n)| encrypt(&vec![7u8; size], &recipients[..n]).unwrap())
            .collect()
    }

    #[test]
    fn header_length_agrees_with_age_on_valid_files() {
        for f in sample_files() {
            let ours = payload_start(&f).unwrap();
            assert_eq!(Some(ours), age_header_len(&f));
            check_age_format(&f).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Damage anywhere in the header (a changed, inserted or removed byte, or a cut): what
        /// our grammar check accepts, age's parser accepts too, with the same length. (Ours is
        /// stricter in one way, on purpose: age also reads the "legacy" stanzas of early
        /// implementations, whose body lacks its final short line; the spec and every current
        /// age writer, ours included, always end a body with one.)
        #[test]
        fn header_check_agrees_with_age_on_damaged_headers(
            file in 0usize..4,
            op in 0u8..4,
            pos in proptest::prelude::any::<proptest::sample::Index>(),
            byte in proptest::prelude::any::<u8>(),
        ) {
            static FILES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
            let f = &FILES.get_or_init(sample_files)[file];
            let header = header_len(f).unwrap();
            let mut damaged = f.clone();
            // Past the magic line, which check_magic covers.
            let at = AGE_MAGIC.len() + pos.index(header - AGE_MAGIC.len());
            match op {
                0 => damaged[at] = byte,
                1 => damaged.insert(at, byte),
                2 => { damaged.remove(at); }
                _ => damaged.truncate(at),
            }
            let ours = payload_start(&damaged).ok();
            proptest::prop_assert!(
                ours.is_none() || ours == age_header_len(&damaged),
                "{:?}",
                String::from_utf8_lossy(&damaged[..(header + 1).min(damaged.len())])
            );
        }
    }

    #[test]
    fn sizes_are_exact() {
        let id = age::x25519::Identity::generate();
        let id2 = age::x25519::Identity::generate();
        let r = [
            AgeRecipient::from(id.to_public()),
            AgeRecipient::from(id2.to_public()),
        ];
        for len in [
            0,
            1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ] {
            let pt = vec![7u8; len];
            for n in 1..=2 {
                let ct = encrypt(&pt, &r[..n]).unwrap();
                let bound = encrypted_size_bound(len, n);
                assert!(ct.len() <= bound, "len {len}, {n} recipients: {}", ct.len());
                assert!(
                    ct.len() > bound - GREASE_ALLOWANCE,
                    "len {len}, {n}: {}",
                    ct.len()
                );
                assert!(ct.len() <= max_ciphertext_size(len));
            }
        }
    }

    #[test]
    fn recipients_parse_canonically() {
        let id = age::x25519::Identity::generate();
        let s = id.to_public().to_string();
        assert_eq!(parse_recipient(&s).unwrap().to_string(), s);
        assert!(parse_recipient(&s.to_uppercase()).is_err());
        assert!(parse_recipient("age1qqq").is_err());
        assert!(parse_recipient("").is_err());
        let secret = {
            use age::secrecy::ExposeSecret as _;
            id.to_string().expose_secret().to_owned()
        };
        let err = parse_recipient(&secret).unwrap_err().to_string();
        assert!(!err.contains(&secret[20..]), "{err}");
        assert!(err.contains("private identity"), "{err}");
    }

    #[test]
    fn duplicates_count_once() {
        let id = age::x25519::Identity::generate();
        let r = AgeRecipient::from(id.to_public());
        let ct = encrypt(b"x", &[r.clone(), r.clone(), r]).unwrap();
        assert!(ct.len() <= encrypted_size_bound(1, 1));
        assert!(ct.len() > encrypted_size_bound(1, 1) - GREASE_ALLOWANCE);
        assert_eq!(decrypt(&ct, &id).unwrap(), b"x");
    }
}
