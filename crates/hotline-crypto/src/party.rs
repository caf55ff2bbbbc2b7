//! Party ids, an officer's private keys ([`PartyKeys`]) and their public halves
//! ([`PartyPublicKeys`]), and the two text formats they are stored in.
//!
//! # The private key file
//!
//! Written by `hotline keygen` on the officer's machine, mode 0600, never sent anywhere:
//!
//! ```text
//! # hotline party key — private: keep it readable by its owner only
//! party us-cisa
//! signing-key PRIVATE+KEY+us-cisa+1a2b3c4d+AQ...
//! age-identity AGE-SECRET-KEY-1...
//! ```
//!
//! # The public key file
//!
//! What the officer hands the hotline's operator to be registered:
//!
//! ```text
//! # hotline party public keys — give this file to the hotline operator
//! party us-cisa
//! vkey us-cisa+1a2b3c4d+AQ...
//! age-recipient age1...
//! ```
//!
//! # Rules shared by both formats
//!
//! - UTF-8 text, one `keyword value` pair per line, separated by a single space; the value has
//!   no spaces. Trailing spaces and a trailing `\r` are ignored.
//! - Blank lines and lines starting with `#` are comments.
//! - Every keyword of the format appears exactly once, in any order; any other line is refused.
//! - `party` is a party id ([`is_valid_party_id`]). The signing key (`signing-key`, a
//!   golang.org/x/mod/sumdb/note private key) or verifier key (`vkey`, a c2sp.org/signed-note
//!   verifier key) must be an Ed25519 key whose *name* is the party id.
//! - `age-identity` is an age X25519 identity (`AGE-SECRET-KEY-1...`, as `age-keygen` writes
//!   it); `age-recipient` an age X25519 recipient (`age1...`).
//!
//! Errors name the file and the line, and never echo a line that may hold a secret.

use std::fmt;
use std::str::FromStr as _;

use age::secrecy::ExposeSecret as _;
use hotline_tlog::note::{Ed25519Signer, Ed25519Verifier, NoteSigner as _, NoteVerifier as _};
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::payload::AgeRecipient;

/// Longest party id.
pub const MAX_PARTY_ID_LEN: usize = 63;

/// Comment line that opens a private key file.
pub const KEY_FILE_HEADER: &str =
    "# hotline party key \u{2014} private: keep it readable by its owner only";
/// Comment line that opens a public key file.
pub const PUBLIC_FILE_HEADER: &str =
    "# hotline party public keys \u{2014} give this file to the hotline operator";

/// Whether `id` is a valid party id: 1 to 63 characters from lowercase ASCII letters, digits
/// and `-`, starting with a letter or a digit (`us-cisa`, `de-bsi`, `nl-ncsc`).
///
/// Party ids name Ed25519 signed-note keys, appear in statements and in URLs, so they are kept
/// to characters that need no escaping anywhere.
pub fn is_valid_party_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_PARTY_ID_LEN
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

fn check_party_id(id: &str) -> Result<(), CryptoError> {
    if is_valid_party_id(id) {
        Ok(())
    } else {
        Err(CryptoError::InvalidPartyId(id.to_owned()))
    }
}

/// An officer's private keys for one party: the Ed25519 key that signs the party's statements
/// (its signed-note key name is the party id) and the age X25519 identity that decrypts
/// payloads sent to the party.
///
/// These never leave the officer's machine: they live in a key file (mode 0600, see
/// [`crate::write_key_file`]) and in the memory of the officer's own processes. Secret parts
/// are zeroed when dropped; `Debug` shows only public halves.
pub struct PartyKeys {
    party: String,
    signer: Ed25519Signer,
    age: age::x25519::Identity,
}

impl fmt::Debug for PartyKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartyKeys")
            .field("party", &self.party)
            .field("vkey", &self.signer.verifier().to_vkey())
            .field("age_recipient", &self.age.to_public().to_string())
            .finish_non_exhaustive()
    }
}

impl PartyKeys {
    /// Fresh random keys for `party`, which must be a valid party id.
    pub fn generate(party: &str) -> Result<PartyKeys, CryptoError> {
        check_party_id(party)?;
        let signer = Ed25519Signer::generate(party)
            .map_err(|_| CryptoError::InvalidPartyId(party.into()))?;
        Ok(PartyKeys {
            party: party.to_owned(),
            signer,
            age: age::x25519::Identity::generate(),
        })
    }

    /// Keys from their parts; the signer's key name must be `party`.
    pub fn new(
        party: &str,
        signer: Ed25519Signer,
        age: age::x25519::Identity,
    ) -> Result<PartyKeys, CryptoError> {
        check_party_id(party)?;
        if signer.name() != party {
            return Err(CryptoError::KeyFile {
                file: "signing key".into(),
                line: None,
                reason: format!(
                    "the signing key is named {:?}, not after the party {party:?}",
                    signer.name()
                ),
            });
        }
        Ok(PartyKeys {
            party: party.to_owned(),
            signer,
            age,
        })
    }

    /// The party id.
    pub fn party(&self) -> &str {
        &self.party
    }

    /// The Ed25519 signed-note signer (key name = party id).
    pub fn signer(&self) -> &Ed25519Signer {
        &self.signer
    }

    /// The age X25519 identity that decrypts payloads sent to this party.
    pub fn age_identity(&self) -> &age::x25519::Identity {
        &self.age
    }

    /// The signed-note verifier of [`Self::signer`].
    pub fn verifier(&self) -> Ed25519Verifier {
        self.signer.verifier()
    }

    /// The age recipient of [`Self::age_identity`].
    pub fn recipient(&self) -> AgeRecipient {
        AgeRecipient::from(self.age.to_public())
    }

    /// The public halves, to hand to the operator.
    pub fn public(&self) -> PartyPublicKeys {
        PartyPublicKeys {
            party: self.party.clone(),
            vkey: self.signer.verifier().to_vkey(),
            age_recipient: self.age.to_public().to_string(),
        }
    }

    /// The private key file text (see the [module docs](self)). Secret: write it with
    /// [`crate::write_key_file`], never log it.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let skey = Zeroizing::new(self.signer.to_skey());
        let identity = self.age.to_string();
        let mut out = Zeroizing::new(String::with_capacity(400));
        out.push_str(KEY_FILE_HEADER);
        out.push_str("\nparty ");
        out.push_str(&self.party);
        out.push_str("\nsigning-key ");
        out.push_str(&skey);
        out.push_str("\nage-identity ");
        out.push_str(identity.expose_secret());
        out.push('\n');
        out
    }

    /// Parses a private key file's text. Strict: see the [module docs](self).
    pub fn from_key_file(text: &str) -> Result<PartyKeys, CryptoError> {
        Self::parse_key_file(text, "key file")
    }

    /// As [`Self::from_key_file`], naming `file` (usually its path) in errors.
    pub fn parse_key_file(text: &str, file: &str) -> Result<PartyKeys, CryptoError> {
        let [party, skey, identity] =
            parse_lines(text, file, &["party", "signing-key", "age-identity"])?;
        let err = |line: usize, reason: String| CryptoError::KeyFile {
            file: file.to_owned(),
            line: Some(line),
            reason,
        };
        if !is_valid_party_id(party.value) {
            return Err(err(
                party.line,
                format!(
                    "party id {:?} is invalid: use 1-63 lowercase ASCII letters, digits and '-', \
                     starting with a letter or digit",
                    party.value
                ),
            ));
        }
        let signer = Ed25519Signer::from_skey(skey.value).map_err(|e| {
            err(
                skey.line,
                format!(
                    "signing-key is not an Ed25519 signed-note private key \
                     (PRIVATE+KEY+<party>+<id>+<key>): {e}"
                ),
            )
        })?;
        if signer.name() != party.value {
            return Err(err(
                skey.line,
                format!(
                    "signing-key belongs to {:?}, but this file is for party {:?}",
                    signer.name(),
                    party.value
                ),
            ));
        }
        let age = age::x25519::Identity::from_str(identity.value).map_err(|e| {
            err(
                identity.line,
                format!("age-identity is not an age X25519 identity (AGE-SECRET-KEY-1...): {e}"),
            )
        })?;
        Ok(PartyKeys {
            party: party.value.to_owned(),
            signer,
            age,
        })
    }

    /// The age identity alone, in the format `age-keygen` writes, so that any age
    /// implementation (`age -d -i FILE`, `rage`) can decrypt this party's payloads. Secret.
    pub fn age_identity_file(&self) -> Zeroizing<String> {
        let identity = self.age.to_string();
        let mut out = Zeroizing::new(String::with_capacity(200));
        out.push_str("# hotline party ");
        out.push_str(&self.party);
        out.push_str(" \u{2014} private age identity\n# public key: ");
        out.push_str(&self.age.to_public().to_string());
        out.push('\n');
        out.push_str(identity.expose_secret());
        out.push('\n');
        out
    }
}

/// The public halves of a party's keys: what an officer hands the operator, and what the
/// operator registers in the log.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartyPublicKeys {
    /// The party id.
    pub party: String,
    /// The Ed25519 signed-note verifier key (`<party>+<id>+<key>`).
    pub vkey: String,
    /// The age X25519 recipient (`age1...`).
    pub age_recipient: String,
}

impl PartyPublicKeys {
    /// Checks and assembles public keys: a valid party id, an Ed25519 verifier key named after
    /// it and an age X25519 recipient.
    pub fn new(party: &str, vkey: &str, age_recipient: &str) -> Result<Self, CryptoError> {
        check_party_id(party)?;
        let keys = PartyPublicKeys {
            party: party.to_owned(),
            vkey: vkey.to_owned(),
            age_recipient: age_recipient.to_owned(),
        };
        let verifier = keys.verifier().map_err(|e| CryptoError::KeyFile {
            file: "verifier key".into(),
            line: None,
            reason: format!("{vkey:?} is not an Ed25519 signed-note verifier key: {e}"),
        })?;
        if verifier.name() != party {
            return Err(CryptoError::KeyFile {
                file: "verifier key".into(),
                line: None,
                reason: format!(
                    "the verifier key is named {:?}, not after the party {party:?}",
                    verifier.name()
                ),
            });
        }
        keys.recipient()?;
        Ok(keys)
    }

    /// The parsed verifier key.
    pub fn verifier(&self) -> Result<Ed25519Verifier, hotline_tlog::note::NoteError> {
        Ed25519Verifier::from_vkey(&self.vkey)
    }

    /// The parsed age recipient.
    pub fn recipient(&self) -> Result<AgeRecipient, CryptoError> {
        crate::payload::parse_recipient(&self.age_recipient)
    }

    /// The public key file text (see the [module docs](self)).
    pub fn to_public_file(&self) -> String {
        format!(
            "{PUBLIC_FILE_HEADER}\nparty {}\nvkey {}\nage-recipient {}\n",
            self.party, self.vkey, self.age_recipient
        )
    }

    /// Parses a public key file's text. Strict: see the [module docs](self).
    pub fn from_public_file(text: &str) -> Result<Self, CryptoError> {
        Self::parse_public_file(text, "public key file")
    }

    /// As [`Self::from_public_file`], naming `file` (usually its path) in errors.
    pub fn parse_public_file(text: &str, file: &str) -> Result<Self, CryptoError> {
        let [party, vkey, recipient] =
            parse_lines(text, file, &["party", "vkey", "age-recipient"])?;
        let err = |line: usize, reason: String| CryptoError::KeyFile {
            file: file.to_owned(),
            line: Some(line),
            reason,
        };
        if !is_valid_party_id(party.value) {
            return Err(err(
                party.line,
                format!(
                    "party id {:?} is invalid: use 1-63 lowercase ASCII letters, digits and '-', \
                     starting with a letter or digit",
                    party.value
                ),
            ));
        }
        let verifier = Ed25519Verifier::from_vkey(vkey.value).map_err(|e| {
            err(
                vkey.line,
                format!(
                    "vkey {:?} is not an Ed25519 signed-note verifier key \
                     (<party>+<id>+<key>): {e}",
                    vkey.value
                ),
            )
        })?;
        if verifier.name() != party.value {
            return Err(err(
                vkey.line,
                format!(
                    "vkey belongs to {:?}, but this file is for party {:?}",
                    verifier.name(),
                    party.value
                ),
            ));
        }
        crate::payload::parse_recipient(recipient.value)
            .map_err(|e| err(recipient.line, e.to_string()))?;
        Ok(PartyPublicKeys {
            party: party.value.to_owned(),
            vkey: vkey.value.to_owned(),
            age_recipient: recipient.value.to_owned(),
        })
    }
}

/// Keywords whose values are secrets.
const PRIVATE_KEYWORDS: [&str; 2] = ["signing-key", "age-identity"];

/// One `keyword value` line.
#[derive(Clone, Copy)]
struct Field<'a> {
    value: &'a str,
    line: usize,
}

/// Splits `text` into exactly one value for each of `keywords`, refusing anything else.
fn parse_lines<'a, const N: usize>(
    text: &'a str,
    file: &str,
    keywords: &[&str; N],
) -> Result<[Field<'a>; N], CryptoError> {
    let err = |line: Option<usize>, reason: String| CryptoError::KeyFile {
        file: file.to_owned(),
        line,
        reason,
    };
    let expected = keywords.join(", ");
    let mut found: [Option<Field<'a>>; N] = [None; N];
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.trim_end_matches([' ', '\t', '\r']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (keyword, value) = line.split_once(' ').unwrap_or((line, ""));
        // Never echo a line that is not a keyword of ours: it may be a pasted secret.
        let shown = if keyword.is_empty() {
            "the line starts with a space".to_owned()
        } else if keyword.len() <= 32
            && keyword.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
        {
            format!("unknown keyword `{keyword}`")
        } else {
            "unrecognised line (not shown, it may hold a secret)".to_owned()
        };
        let Some(slot) = keywords.iter().position(|k| *k == keyword) else {
            if PRIVATE_KEYWORDS.contains(&keyword) {
                return Err(err(
                    Some(line_no),
                    format!(
                        "`{keyword}` is a private key and has no place in this file: \
                         hand over the public key file, never the key file"
                    ),
                ));
            }
            return Err(err(
                Some(line_no),
                format!("{shown}; expected one line each of: {expected}"),
            ));
        };
        if value.is_empty() {
            return Err(err(
                Some(line_no),
                format!("`{keyword}` has no value; expected `{keyword} <value>`"),
            ));
        }
        if value.contains(char::is_whitespace) {
            return Err(err(
                Some(line_no),
                format!("`{keyword}` value contains spaces; expected `{keyword} <value>`"),
            ));
        }
        if let Some(first) = &found[slot] {
            return Err(err(
                Some(line_no),
                format!("second `{keyword}` line (the first is line {})", first.line),
            ));
        }
        found[slot] = Some(Field {
            value,
            line: line_no,
        });
    }
    let mut out = [Field { value: "", line: 0 }; N];
    for (i, f) in found.into_iter().enumerate() {
        match f {
            Some(f) => out[i] = f,
            None => {
                return Err(err(
                    None,
                    format!(
                        "no `{}` line; a complete file has one line each of: {expected}",
                        keywords[i]
                    ),
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_ids() {
        for ok in ["us-cisa", "a", "0", "de-bsi-2", &"a".repeat(63)] {
            assert!(is_valid_party_id(ok), "{ok}");
        }
        for bad in [
            "",
            "-us",
            "US-CISA",
            "us_cisa",
            "us cisa",
            "us+cisa",
            "ü",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_party_id(bad), "{bad}");
        }
        assert!(matches!(
            PartyKeys::generate("Bad"),
            Err(CryptoError::InvalidPartyId(_))
        ));
    }

    #[test]
    fn debug_shows_no_secret() {
        let k = PartyKeys::generate("us-cisa").unwrap();
        let dbg = format!("{k:?}");
        assert!(dbg.contains("us-cisa"));
        assert!(dbg.contains("age1"));
        assert!(!dbg.contains("AGE-SECRET-KEY"), "{dbg}");
        assert!(!dbg.contains("PRIVATE+KEY"), "{dbg}");
        let identity = k.age_identity().to_string();
        assert!(!dbg.contains(identity.expose_secret()));
    }

    #[test]
    fn new_checks_the_key_name() {
        let signer = Ed25519Signer::generate("other").unwrap();
        let err = PartyKeys::new("us-cisa", signer, age::x25519::Identity::generate())
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"other\""), "{err}");
    }

    #[test]
    fn age_identity_file_is_an_identity_file() {
        let k = PartyKeys::generate("us-cisa").unwrap();
        let text = k.age_identity_file();
        let last = text.lines().last().unwrap();
        assert!(last.starts_with("AGE-SECRET-KEY-1"));
        let parsed = age::x25519::Identity::from_str(last).unwrap();
        assert_eq!(parsed.to_public().to_string(), k.public().age_recipient);
        assert!(text.contains(&format!("# public key: {}", k.public().age_recipient)));
    }
}
