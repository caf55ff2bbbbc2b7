//! c2sp.org/signed-note: text signed by one or more keys, with Ed25519 signers and verifiers
//! and the verifier-key (`vkey`) and signer-key (`skey`, as golang.org/x/mod/sumdb/note writes
//! them) encodings.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Signature type byte of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures (c2sp.org/tlog-cosignature).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines a note may carry (the spec requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 100;

const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, a key or a signature was refused.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum NoteError {
    /// The note is not valid UTF-8 or holds control characters other than newline.
    #[error("note is not valid UTF-8 text without control characters")]
    InvalidText,
    /// The note has no blank line followed by signature lines.
    #[error("note has no signature block (a blank line followed by signature lines)")]
    NoSignatureBlock,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignature {
        /// 1-based signature line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURES`].
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// The note text does not end in a newline.
    #[error("note text must end with a newline")]
    TextWithoutNewline,
    /// A signature by a known key does not verify.
    #[error("signature by known key {name} ({key_id:08x}) does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature by any known key.
    #[error("note is not signed by any of the expected keys ({expected})")]
    NotSignedByKnownKey {
        /// Names of the keys that would have been accepted.
        expected: String,
    },
    /// A key name is empty or contains spaces or `+`.
    #[error("invalid key name {0:?}: must be non-empty without spaces or '+'")]
    InvalidKeyName(String),
    /// An Ed25519 public key of small order (it would verify forged signatures).
    #[error(
        "the Ed25519 key of {0:?} is of small order (a weak key no honest signer has); refused"
    )]
    WeakKey(String),
    /// A vkey or skey string is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A key of a signature type this implementation does not handle.
    #[error("unsupported key type 0x{0:02x}")]
    UnsupportedKeyType(u8),
}

/// A key name is valid if non-empty and free of Unicode spaces and `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key ID: `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([alg]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One signature line of a note.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({} {:08x})", self.name, self.key_id)
    }
}

impl NoteSignature {
    /// The signature line without its trailing newline: `— name base64(id || sig)`.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, B64.encode(raw))
    }
}

/// Something that checks one kind of note signature.
pub trait NoteVerifier {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Whether `signature` is valid over the note `text` (which includes its final newline).
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// Something that signs note text.
pub trait NoteSigner {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Signs the note text (including its final newline).
    fn sign(&self, text: &[u8]) -> Vec<u8>;
}

/// A parsed signed note. Parsing checks only the structure; [`Note::verify`] checks signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note with `text` and no signatures yet. The text must end in a newline and be free of
    /// control characters other than newline.
    pub fn new(text: impl Into<String>) -> Result<Note, NoteError> {
        let text = text.into();
        check_text(&text)?;
        if !text.ends_with('\n') {
            return Err(NoteError::TextWithoutNewline);
        }
        Ok(Note {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. The text is separated from the signatures by the last blank line.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::InvalidText)?;
        check_text(s)?;
        let split = s.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, sigs) = (&s[..split + 1], &s[split + 2..]);
        if sigs.is_empty() || !sigs.ends_with('\n') {
            return Err(NoteError::NoSignatureBlock);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            let line_no = i + 1;
            if signatures.len() >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let bad = |reason| NoteError::MalformedSignature {
                line: line_no,
                reason,
            };
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or_else(|| bad("does not start with an em dash and a space"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or_else(|| bad("missing space between key name and signature"))?;
            if !is_valid_key_name(name) {
                return Err(bad("invalid key name"));
            }
            let raw = B64
                .decode(b64)
                .map_err(|_| bad("signature is not valid base64"))?;
            if raw.len() < 5 {
                return Err(bad("signature is shorter than a key ID and one byte"));
            }
            signatures.push(NoteSignature {
                name: name.to_owned(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, known or not, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Signs the note with `signer`, replacing an earlier signature by the same key.
    pub fn sign(&mut self, signer: &dyn NoteSigner) {
        let sig = NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            signature: signer.sign(self.text.as_bytes()),
        };
        self.add_signature(sig);
    }

    /// Adds a signature line (e.g. a cosignature obtained elsewhere), replacing one by the same
    /// key (name and ID).
    pub fn add_signature(&mut self, sig: NoteSignature) {
        self.signatures
            .retain(|s| !(s.name == sig.name && s.key_id == sig.key_id));
        self.signatures.push(sig);
    }

    /// The signature by the key with this name and ID, if any.
    pub fn signature_by(&self, name: &str, key_id: u32) -> Option<&NoteSignature> {
        self.signatures
            .iter()
            .find(|s| s.name == name && s.key_id == key_id)
    }

    /// Encodes the signed note.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.line());
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Verifies the note against known keys, as c2sp.org/signed-note requires: signatures by
    /// unknown keys are ignored, a known key's signature must verify, and at least one must.
    /// Returns the names of the known keys whose signatures verified.
    pub fn verify(&self, known: &[&dyn NoteVerifier]) -> Result<Vec<String>, NoteError> {
        let mut verified: Vec<String> = Vec::new();
        // Keys (name and ID) already checked: a repeated line by the same key is skipped, as
        // golang.org/x/mod/sumdb/note does. Two known keys sharing a name (a rotated key) are
        // both checked.
        let mut checked: Vec<(&str, u32)> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = known
                .iter()
                .find(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            else {
                continue;
            };
            if checked.contains(&(sig.name.as_str(), sig.key_id)) {
                continue;
            }
            checked.push((sig.name.as_str(), sig.key_id));
            if !v.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if !verified.contains(&sig.name) {
                verified.push(sig.name.clone());
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NotSignedByKnownKey {
                expected: known
                    .iter()
                    .map(|v| v.name().to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(verified)
    }
}

fn check_text(s: &str) -> Result<(), NoteError> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::InvalidText);
    }
    Ok(())
}

/// An Ed25519 note verifier (signature type 0x01), or the verifying half of a cosigner key
/// when constructed with [`ALG_COSIGNATURE_V1`] (see [`crate::cosignature`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Ed25519Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for Ed25519Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl Ed25519Verifier {
    /// A verifier for `name` and a public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Ed25519Verifier, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        // A key of small order verifies forged signatures on some messages; no honest signer
        // has one. Refused here, once, so that `verify` can use the cofactorless rule alone.
        if key.is_weak() {
            return Err(NoteError::WeakKey(name.to_owned()));
        }
        Ok(Ed25519Verifier {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, key.as_bytes()),
            key,
        })
    }

    /// Parses a verifier key string `name+hex(id)+base64(0x01 || key)`.
    pub fn from_vkey(vkey: &str) -> Result<Ed25519Verifier, NoteError> {
        let (name, alg, key) = parse_vkey(vkey)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedKeyType(alg));
        }
        Ed25519Verifier::new(&name, key)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        format_vkey(&self.name, ALG_ED25519, &self.key)
    }

    /// The public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        // RFC 8032 §5.1.7 without the cofactor, with a canonical `s`, comparing the encoding of
        // the recomputed R: exactly Go's crypto/ed25519.Verify, which golang.org/x/mod/sumdb/note
        // (our interop oracle) uses, so hotline and any Go verifier accept the same
        // signatures. `verify_strict` additionally decompresses R to refuse small-order R,
        // which Go accepts; that decompression was ~6% of the server's CPU per statement.
        ed25519_dalek::Verifier::verify(&self.key, text, &sig).is_ok()
    }
}

/// An Ed25519 note signer.
#[derive(Clone)]
pub struct Ed25519Signer {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Signer({}+{:08x})", self.name, self.key_id)
    }
}

impl Ed25519Signer {
    /// A signer for `name` from a private key.
    pub fn new(name: &str, key: SigningKey) -> Result<Ed25519Signer, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        Ok(Ed25519Signer {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// A fresh random key for `name`.
    pub fn generate(name: &str) -> Result<Ed25519Signer, NoteError> {
        Ed25519Signer::new(name, generate_signing_key())
    }

    /// Parses a signer key string `PRIVATE+KEY+name+hex(id)+base64(0x01 || seed)` as written
    /// by golang.org/x/mod/sumdb/note.
    pub fn from_skey(skey: &str) -> Result<Ed25519Signer, NoteError> {
        let (name, alg, key) = parse_skey(skey)?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnsupportedKeyType(alg));
        }
        Ed25519Signer::new(&name, key)
    }

    /// The signer key string (secret: store it in a file only its owner can read).
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, ALG_ED25519, &self.key)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The private key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn sign(&self, text: &[u8]) -> Vec<u8> {
        self.key.sign(text).to_bytes().to_vec()
    }
}

/// A fresh Ed25519 private key from the operating system's random source.
pub fn generate_signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    SigningKey::from_bytes(&seed)
}

pub(crate) fn format_vkey(name: &str, alg: u8, key: &VerifyingKey) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, alg, key.as_bytes()),
        B64.encode(raw)
    )
}

pub(crate) fn format_skey(name: &str, alg: u8, key: &SigningKey) -> String {
    let mut raw = vec![alg];
    raw.extend_from_slice(key.as_bytes());
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, alg, key.verifying_key().as_bytes()),
        B64.encode(raw)
    )
}

/// Parses `name+hex(id)+base64(type || key)` and checks the ID matches.
pub(crate) fn parse_vkey(vkey: &str) -> Result<(String, u8, VerifyingKey), NoteError> {
    let vkey = vkey.trim();
    // Names never contain '+', but base64 key material may: split from the left.
    let mut parts = vkey.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey(
            "a verifier key has three parts: name+keyid+base64",
        ));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| NoteError::MalformedKey("key material is not valid base64"))?;
    let (&alg, key) = raw
        .split_first()
        .ok_or(NoteError::MalformedKey("key material is empty"))?;
    let key_bytes: [u8; 32] = key
        .try_into()
        .map_err(|_| NoteError::MalformedKey("an Ed25519 public key has 32 bytes"))?;
    let key = VerifyingKey::from_bytes(&key_bytes)
        .map_err(|_| NoteError::MalformedKey("not a valid Ed25519 public key"))?;
    check_id(id_hex, key_id(name, alg, &key_bytes))?;
    Ok((name.to_owned(), alg, key))
}

/// Parses `PRIVATE+KEY+name+hex(id)+base64(type || seed)` and checks the ID matches.
pub(crate) fn parse_skey(skey: &str) -> Result<(String, u8, SigningKey), NoteError> {
    let rest = skey
        .trim()
        .strip_prefix("PRIVATE+KEY+")
        .ok_or(NoteError::MalformedKey(
            "a signer key starts with PRIVATE+KEY+",
        ))?;
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::MalformedKey(
            "a signer key has the form PRIVATE+KEY+name+keyid+base64",
        ));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    let raw = B64
        .decode(b64)
        .map_err(|_| NoteError::MalformedKey("key material is not valid base64"))?;
    let (&alg, seed) = raw
        .split_first()
        .ok_or(NoteError::MalformedKey("key material is empty"))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| NoteError::MalformedKey("an Ed25519 private key has a 32-byte seed"))?;
    let key = SigningKey::from_bytes(&seed);
    check_id(id_hex, key_id(name, alg, key.verifying_key().as_bytes()))?;
    Ok((name.to_owned(), alg, key))
}

fn check_id(id_hex: &str, expected: u32) -> Result<(), NoteError> {
    if id_hex.len() != 8 {
        return Err(NoteError::MalformedKey("key ID must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16)
        .map_err(|_| NoteError::MalformedKey("key ID must be 8 hex digits"))?;
    if id != expected {
        return Err(NoteError::MalformedKey(
            "key ID does not match the key name and key",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn verifies_the_spec_example() {
        let v = Ed25519Verifier::from_vkey(SPEC_VKEY).unwrap();
        assert_eq!(v.to_vkey(), SPEC_VKEY);
        let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
        assert_eq!(note.text(), "This is an example message.\n");
        assert_eq!(note.verify(&[&v]).unwrap(), vec!["example.com/foo"]);
        assert_eq!(note.to_bytes(), SPEC_NOTE.as_bytes());
        // One flipped bit in the text.
        let tampered = SPEC_NOTE.replace("example message", "examplf message");
        let note = Note::parse(tampered.as_bytes()).unwrap();
        assert_eq!(
            note.verify(&[&v]),
            Err(NoteError::BadSignature {
                name: "example.com/foo".into(),
                key_id: 0x530d903a
            })
        );
    }

    #[test]
    fn sign_and_verify_round_trip_with_skey() {
        let s = Ed25519Signer::generate("hotline.example/log").unwrap();
        let s2 = Ed25519Signer::from_skey(&s.to_skey()).unwrap();
        assert_eq!(s2.verifier(), s.verifier());
        let mut n = Note::new("hello\nworld\n").unwrap();
        n.sign(&s);
        let bytes = n.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        parsed.verify(&[&s.verifier()]).unwrap();
        // Unknown keys are ignored; no known key means rejection.
        let other = Ed25519Signer::generate("other.example").unwrap();
        assert!(matches!(
            parsed.verify(&[&other.verifier()]),
            Err(NoteError::NotSignedByKnownKey { .. })
        ));
        let mut both = parsed.clone();
        both.sign(&other);
        assert_eq!(
            both.verify(&[&s.verifier()]).unwrap(),
            vec!["hotline.example/log"]
        );
        assert_eq!(both.signatures().len(), 2);
        // Re-signing with the same key replaces, never duplicates.
        both.sign(&s);
        assert_eq!(both.signatures().len(), 2);
    }

    #[test]
    fn malformed_notes_are_refused() {
        assert_eq!(Note::parse(b"no sigs\n"), Err(NoteError::NoSignatureBlock));
        assert_eq!(Note::parse(b"x\n\n"), Err(NoteError::NoSignatureBlock));
        assert_eq!(
            Note::parse(b"a\tb\n\n\xe2\x80\x94 k AAAAAAA=\n"),
            Err(NoteError::InvalidText)
        );
        assert_eq!(Note::parse(b"\xff\n\n"), Err(NoteError::InvalidText));
        assert!(matches!(
            Note::parse("x\n\n- k AAAAAAA=\n".as_bytes()),
            Err(NoteError::MalformedSignature { line: 1, .. })
        ));
        assert!(matches!(
            Note::parse("x\n\n\u{2014} k AAAA\n".as_bytes()),
            Err(NoteError::MalformedSignature { line: 1, .. })
        ));
        assert!(matches!(
            Note::parse("x\n\n\u{2014} k+1 AAAAAAA=\n".as_bytes()),
            Err(NoteError::MalformedSignature { line: 1, .. })
        ));
        let many: String = std::iter::once("x\n\n".to_owned())
            .chain((0..101).map(|_| "\u{2014} k AAAAAAA=\n".to_owned()))
            .collect();
        assert_eq!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures)
        );
        assert_eq!(Note::new("no newline"), Err(NoteError::TextWithoutNewline));
    }

    #[test]
    fn text_may_contain_blank_lines() {
        let s = Ed25519Signer::generate("k").unwrap();
        let mut n = Note::new("a\n\nb\n").unwrap();
        n.sign(&s);
        let p = Note::parse(&n.to_bytes()).unwrap();
        assert_eq!(p.text(), "a\n\nb\n");
        p.verify(&[&s.verifier()]).unwrap();
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(Ed25519Verifier::from_vkey("nope").is_err());
        assert!(Ed25519Verifier::from_vkey(&SPEC_VKEY.replace("530d903a", "530d903b")).is_err());
        assert!(
            Ed25519Verifier::from_vkey("a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
                .is_err()
        );
        assert!(Ed25519Signer::from_skey("PRIVATE+KEY+x+00000000+AA==").is_err());
        assert!(Ed25519Signer::generate("has space").is_err());
    }
}
