//! c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`: a witness's timestamped statement
//! that a checkpoint is consistent with everything it saw before.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::note::{
    ALG_COSIGNATURE_V1, NoteError, NoteSignature, NoteVerifier, format_skey, format_vkey,
    generate_signing_key, is_valid_key_name, key_id, parse_skey, parse_vkey,
};

/// The message a v1 cosignature signs.
pub fn cosigned_message(checkpoint_text: &str, timestamp: u64) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(checkpoint_text.as_bytes());
    m
}

/// A witness's cosigning key.
pub struct CosignerV1 {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for CosignerV1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CosignerV1({}+{:08x})", self.name, self.key_id)
    }
}

impl CosignerV1 {
    /// A cosigner for `name` from a private key.
    pub fn new(name: &str, key: SigningKey) -> Result<CosignerV1, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName(name.to_owned()));
        }
        Ok(CosignerV1 {
            name: name.to_owned(),
            key_id: key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// A fresh random cosigner key.
    pub fn generate(name: &str) -> Result<CosignerV1, NoteError> {
        CosignerV1::new(name, generate_signing_key())
    }

    /// Parses `PRIVATE+KEY+name+hex(id)+base64(0x04 || seed)`.
    pub fn from_skey(skey: &str) -> Result<CosignerV1, NoteError> {
        let (name, alg, key) = parse_skey(skey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedKeyType(alg));
        }
        CosignerV1::new(&name, key)
    }

    /// The secret key string.
    pub fn to_skey(&self) -> String {
        format_skey(&self.name, ALG_COSIGNATURE_V1, &self.key)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureV1Verifier {
        CosignatureV1Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Cosigns checkpoint text at `timestamp` (seconds since the Unix epoch, at most 2^63-1).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let sig = self.key.sign(&cosigned_message(
            checkpoint_text,
            timestamp & (u64::MAX >> 1),
        ));
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(&(timestamp & (u64::MAX >> 1)).to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: raw,
        }
    }
}

/// Verifies v1 cosignatures of one witness.
#[derive(Clone, PartialEq, Eq)]
pub struct CosignatureV1Verifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl fmt::Debug for CosignatureV1Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl CosignatureV1Verifier {
    /// Parses a vkey with signature type 0x04.
    pub fn from_vkey(vkey: &str) -> Result<CosignatureV1Verifier, NoteError> {
        let (name, alg, key) = parse_vkey(vkey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedKeyType(alg));
        }
        if key.is_weak() {
            return Err(NoteError::WeakKey(name));
        }
        Ok(CosignatureV1Verifier {
            key_id: key_id(&name, ALG_COSIGNATURE_V1, key.as_bytes()),
            name,
            key,
        })
    }

    /// The vkey string (type 0x04).
    pub fn to_vkey(&self) -> String {
        format_vkey(&self.name, ALG_COSIGNATURE_V1, &self.key)
    }

    /// The timestamp of a cosignature by this key, if it verifies over `checkpoint_text`.
    pub fn verified_timestamp(&self, checkpoint_text: &str, signature: &[u8]) -> Option<u64> {
        if signature.len() != 72 {
            return None;
        }
        let ts = u64::from_be_bytes(signature[..8].try_into().ok()?);
        if ts > u64::MAX >> 1 {
            return None;
        }
        let sig = Signature::from_slice(&signature[8..]).ok()?;
        // The same rule as signed-note signatures (see `Ed25519Verifier`): Go's.
        ed25519_dalek::Verifier::verify(&self.key, &cosigned_message(checkpoint_text, ts), &sig)
            .ok()?;
        Some(ts)
    }
}

impl NoteVerifier for CosignatureV1Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.key_id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| self.verified_timestamp(t, signature))
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Ed25519Signer, Note};

    #[test]
    fn message_layout_matches_the_spec() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        assert_eq!(
            String::from_utf8(cosigned_message(text, 1679315147)).unwrap(),
            format!("cosignature/v1\ntime 1679315147\n{text}")
        );
    }

    #[test]
    fn cosign_and_verify() {
        let log = Ed25519Signer::generate("example.com/log").unwrap();
        let w = CosignerV1::generate("witness.example/w1").unwrap();
        let wv = CosignatureV1Verifier::from_vkey(&w.verifier().to_vkey()).unwrap();
        assert_eq!(CosignerV1::from_skey(&w.to_skey()).unwrap().verifier(), wv);
        let mut n = Note::new("example.com/log\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
            .unwrap();
        n.sign(&log);
        n.add_signature(w.cosign(n.text(), 1_700_000_000));
        let parsed = Note::parse(&n.to_bytes()).unwrap();
        let names = parsed.verify(&[&log.verifier(), &wv]).unwrap();
        assert_eq!(names, vec!["example.com/log", "witness.example/w1"]);
        let sig = parsed
            .signature_by("witness.example/w1", wv.key_id())
            .unwrap();
        assert_eq!(
            wv.verified_timestamp(parsed.text(), &sig.signature),
            Some(1_700_000_000)
        );
        // The Ed25519 key ID and the cosignature key ID differ for the same key material.
        let same_key_log = Ed25519Signer::new("witness.example/w1", w.key.clone()).unwrap();
        assert_ne!(same_key_log.verifier().key_id(), wv.key_id());
        // A cosignature over another checkpoint does not verify.
        assert_eq!(
            wv.verified_timestamp("example.com/log\n2\nx\n", &sig.signature),
            None
        );
    }
}
