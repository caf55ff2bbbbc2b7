//! RFC 9942 COSE Receipts of inclusion for the RFC9162_SHA256 verifiable data structure, signed
//! with the log's Ed25519 key. No I/O.
//!
//! A receipt is a tagged COSE_Sign1 (RFC 9052 §4.2, tag 18) whose
//!
//! - protected header is the map `{1 (alg): -8 (EdDSA), 4 (kid): key ID, 395 (vds): 1
//!   (RFC9162_SHA256)}` in core deterministic order (RFC 8949 §4.2.1);
//! - unprotected header is `{396 (vdp): {-1 (inclusion proofs): [bstr .cbor [tree_size,
//!   leaf_index, inclusion_path]]}}`, with exactly one inclusion proof, its path ordered
//!   from the leaf's sibling up (RFC 9162 §2.1.3.1, as [`crate::tree::inclusion_proof`] returns
//!   it);
//! - payload is detached (`nil`): it is the Merkle tree hash of the tree of `tree_size`
//!   leaves, which the verifier recomputes from the leaf and the proof (RFC 9942 §4.4
//!   "Profiles": detached payloads force verifiers to recompute the root);
//! - signature is Ed25519 over the `Sig_structure` `["Signature1", protected, h'', root]`
//!   (RFC 9052 §4.4), external AAD empty.
//!
//! `kid` is the 4-byte, big-endian signed-note key ID of the log key
//! (c2sp.org/signed-note: the first 4 bytes of SHA-256(name || "\n" || 0x01 || public key)), the
//! value that identifies the same key in the log's checkpoint signature lines.
//!
//! Section numbers are those of draft-ietf-cose-merkle-tree-proofs-18, the text that became
//! RFC 9942; the section titles are quoted where it matters.
//!
//! Only the log holds the key, so only the server can sign receipts ([`sign_inclusion_receipt`]);
//! anyone holding the log's verifier key checks them ([`verify_inclusion_receipt`]). The
//! Sig_structure begins with the byte 0x84, which no signed-note text (UTF-8) can begin with, so a
//! receipt signature can never be replayed as a checkpoint or cosignature signature, and the
//! reverse.

use std::io::Cursor;

use ciborium::value::{Integer, Value};
use thiserror::Error;

use crate::hash::{HASH_SIZE, Hash};
use crate::note::{Ed25519Signer, Ed25519Verifier, NoteSigner, NoteVerifier};
use crate::tree::{VerifyError, verify_inclusion};

/// CBOR tag of a COSE_Sign1 (RFC 9052 §2).
pub const COSE_SIGN1_TAG: u64 = 18;
/// COSE header parameter `alg` (RFC 9052 §3.1).
pub const HEADER_ALG: i64 = 1;
/// COSE header parameter `crit` (RFC 9052 §3.1).
pub const HEADER_CRIT: i64 = 2;
/// COSE header parameter `kid` (RFC 9052 §3.1).
pub const HEADER_KID: i64 = 4;
/// COSE header parameter `receipts` (RFC 9942 §2, IANA COSE Header Parameters).
pub const HEADER_RECEIPTS: i64 = 394;
/// COSE header parameter `vds`, the verifiable data structure (RFC 9942 §2).
pub const HEADER_VDS: i64 = 395;
/// COSE header parameter `vdp`, the verifiable data structure proofs (RFC 9942 §2).
pub const HEADER_VDP: i64 = 396;
/// `vds` value of RFC9162_SHA256 (RFC 9942 §5.1; COSE Verifiable Data Structure Algorithms).
pub const VDS_RFC9162_SHA256: i64 = 1;
/// Key of the inclusion proofs in the `vdp` map for RFC9162_SHA256 (RFC 9942 §5.2.1; COSE
/// Verifiable Data Structure Proofs registry).
pub const VDP_INCLUSION: i64 = -1;
/// COSE algorithm `EdDSA` (RFC 9053 §2.2), the one receipts are signed with.
pub const ALG_EDDSA: i64 = -8;
/// COSE algorithm `Ed25519` (RFC 9864 §2.2, the fully specified replacement of `EdDSA`);
/// accepted when verifying.
pub const ALG_ED25519: i64 = -19;
/// Context string of a COSE_Sign1 `Sig_structure` (RFC 9052 §4.4).
pub const SIGNATURE1_CONTEXT: &str = "Signature1";

/// Longest inclusion path accepted (a tree of at most 2^64 leaves).
const MAX_PATH: usize = 64;

/// Why a receipt could not be built or was refused.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum CoseError {
    /// The bytes are not one well-formed CBOR data item.
    #[error("receipt is not a single well-formed CBOR item: {0}")]
    Cbor(String),
    /// The structure is not a tagged COSE_Sign1 receipt of inclusion as RFC 9942 defines it.
    #[error("malformed COSE receipt: {0}")]
    Malformed(&'static str),
    /// The `alg` is not Ed25519.
    #[error("unsupported COSE algorithm {0} (expected EdDSA -8 or Ed25519 -19)")]
    UnsupportedAlg(i128),
    /// The `vds` is not RFC9162_SHA256.
    #[error("unsupported verifiable data structure {0} (expected RFC9162_SHA256 = 1)")]
    UnsupportedVds(i128),
    /// The `kid` is not the expected log key's.
    #[error("receipt kid {got} is not the log key's {expected}")]
    WrongKid {
        /// The expected key ID, hex.
        expected: String,
        /// The receipt's, hex.
        got: String,
    },
    /// The inclusion proof does not lead from the leaf to a root of the stated tree.
    #[error("inclusion proof does not verify: {0}")]
    Proof(#[from] VerifyError),
    /// The signature over the recomputed root does not verify.
    #[error("receipt signature does not verify")]
    BadSignature,
}

/// A receipt of inclusion whose proof and signature have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionReceipt {
    /// Key ID of the signing key.
    pub kid: Vec<u8>,
    /// Size of the tree the proof is against.
    pub tree_size: u64,
    /// Index of the leaf.
    pub leaf_index: u64,
    /// Inclusion path, from the leaf's sibling up.
    pub path: Vec<Hash>,
    /// The root the signature covers (recomputed from the leaf and the path).
    pub root: Hash,
}

/// The `kid` receipts signed by the key of `verifier` carry: its signed-note key ID, big-endian.
pub fn receipt_kid(verifier: &Ed25519Verifier) -> [u8; 4] {
    NoteVerifier::key_id(verifier).to_be_bytes()
}

fn int(v: i64) -> Value {
    Value::Integer(Integer::from(v))
}

fn to_cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing a `Value` to a `Vec` cannot fail.
    ciborium::into_writer(v, &mut out).unwrap_or_default();
    out
}

/// The serialized protected header of a receipt: `{1: -8, 4: kid, 395: 1}`, keys in core
/// deterministic order (RFC 8949 §4.2.1).
pub fn protected_header(kid: &[u8]) -> Vec<u8> {
    to_cbor(&Value::Map(vec![
        (int(HEADER_ALG), int(ALG_EDDSA)),
        (int(HEADER_KID), Value::Bytes(kid.to_vec())),
        (int(HEADER_VDS), int(VDS_RFC9162_SHA256)),
    ]))
}

/// The bytes an Ed25519 key signs for a receipt with serialized protected header `protected`
/// over `root`: the COSE_Sign1 `Sig_structure` (RFC 9052 §4.4) with empty external AAD and the
/// detached payload `root`.
pub fn to_be_signed(protected: &[u8], root: &Hash) -> Vec<u8> {
    to_cbor(&Value::Array(vec![
        Value::Text(SIGNATURE1_CONTEXT.to_owned()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(root.0.to_vec()),
    ]))
}

/// The serialized `inclusion-proof` content: `[tree_size, leaf_index, [+ bstr]]` (RFC 9942
/// §5.2).
fn inclusion_proof_cbor(tree_size: u64, leaf_index: u64, path: &[Hash]) -> Vec<u8> {
    to_cbor(&Value::Array(vec![
        Value::Integer(Integer::from(tree_size)),
        Value::Integer(Integer::from(leaf_index)),
        Value::Array(path.iter().map(|h| Value::Bytes(h.0.to_vec())).collect()),
    ]))
}

/// Encodes a receipt from its parts and a signature over
/// `to_be_signed(&protected_header(kid), root)`. Does not check anything: see
/// [`sign_inclusion_receipt`].
pub fn encode_receipt(
    kid: &[u8],
    tree_size: u64,
    leaf_index: u64,
    path: &[Hash],
    signature: &[u8; 64],
) -> Vec<u8> {
    let proof = inclusion_proof_cbor(tree_size, leaf_index, path);
    let vdp = Value::Map(vec![(
        int(VDP_INCLUSION),
        Value::Array(vec![Value::Bytes(proof)]),
    )]);
    to_cbor(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected_header(kid)),
            Value::Map(vec![(int(HEADER_VDP), vdp)]),
            Value::Null,
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// Signs a receipt that `leaf` is at `leaf_index` in the tree of `tree_size` leaves with root
/// `root`, with the log key. The proof is checked first: the key never signs a root the proof
/// does not lead to.
pub fn sign_inclusion_receipt(
    signer: &Ed25519Signer,
    leaf: &Hash,
    leaf_index: u64,
    tree_size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<Vec<u8>, CoseError> {
    verify_inclusion(leaf, leaf_index, tree_size, path, root)?;
    let kid = receipt_kid(&signer.verifier());
    let tbs = to_be_signed(&protected_header(&kid), root);
    let sig: [u8; 64] = NoteSigner::sign(signer, &tbs)
        .try_into()
        .map_err(|_| CoseError::BadSignature)?;
    Ok(encode_receipt(&kid, tree_size, leaf_index, path, &sig))
}

/// Decodes one CBOR item that fills `bytes` exactly.
fn decode_one(bytes: &[u8]) -> Result<Value, CoseError> {
    let mut cur = Cursor::new(bytes);
    let v: Value = ciborium::from_reader(&mut cur).map_err(|e| CoseError::Cbor(e.to_string()))?;
    if cur.position() != bytes.len() as u64 {
        return Err(CoseError::Malformed("trailing bytes after the CBOR item"));
    }
    Ok(v)
}

/// The entries of a header map, refusing a duplicate label (RFC 9052 §3).
fn header_map(v: Value) -> Result<Vec<(Value, Value)>, CoseError> {
    let Value::Map(entries) = v else {
        return Err(CoseError::Malformed("header is not a map"));
    };
    for (i, (k, _)) in entries.iter().enumerate() {
        if entries[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(CoseError::Malformed("duplicate header label"));
        }
    }
    Ok(entries)
}

fn get(map: &[(Value, Value)], label: i64) -> Option<&Value> {
    let key = int(label);
    map.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

fn as_int(v: &Value) -> Option<i128> {
    match v {
        Value::Integer(i) => Some(i128::from(*i)),
        _ => None,
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Decodes a receipt of inclusion and verifies it against `leaf` (the RFC 9162 leaf hash of the
/// entry) and the log's key: the structure is RFC 9942's, `alg` is Ed25519, `vds` is
/// RFC9162_SHA256, `kid` is the key's, the one inclusion proof leads from `leaf` to a root, and
/// the signature over that root verifies. A payload, if attached rather than detached, must be
/// that root. A `crit` header is refused (no critical extension is understood).
pub fn verify_inclusion_receipt(
    receipt: &[u8],
    leaf: &Hash,
    log_key: &Ed25519Verifier,
) -> Result<InclusionReceipt, CoseError> {
    let Value::Tag(COSE_SIGN1_TAG, inner) = decode_one(receipt)? else {
        return Err(CoseError::Malformed("not a COSE_Sign1 tagged 18"));
    };
    let Value::Array(parts) = *inner else {
        return Err(CoseError::Malformed("COSE_Sign1 is not an array"));
    };
    let [protected, unprotected, payload, signature] = <[Value; 4]>::try_from(parts)
        .map_err(|_| CoseError::Malformed("COSE_Sign1 does not have 4 elements"))?;
    let Value::Bytes(protected_bytes) = protected else {
        return Err(CoseError::Malformed("protected header is not a bstr"));
    };
    let Value::Bytes(signature) = signature else {
        return Err(CoseError::Malformed("signature is not a bstr"));
    };
    let payload = match payload {
        Value::Null => None,
        Value::Bytes(b) => Some(b),
        _ => return Err(CoseError::Malformed("payload is neither nil nor a bstr")),
    };

    // Protected header: alg, kid, vds (RFC 9942 §5.2.1: alg and vds REQUIRED).
    let prot = if protected_bytes.is_empty() {
        Vec::new()
    } else {
        header_map(decode_one(&protected_bytes)?)?
    };
    let unprot = header_map(unprotected)?;
    if prot
        .iter()
        .any(|(k, _)| unprot.iter().any(|(k2, _)| k2 == k))
    {
        return Err(CoseError::Malformed(
            "a label is in both the protected and unprotected header",
        ));
    }
    if get(&prot, HEADER_CRIT).is_some() || get(&unprot, HEADER_CRIT).is_some() {
        return Err(CoseError::Malformed("crit header parameter not supported"));
    }
    let alg = get(&prot, HEADER_ALG)
        .and_then(as_int)
        .ok_or(CoseError::Malformed("protected header has no integer alg"))?;
    if alg != i128::from(ALG_EDDSA) && alg != i128::from(ALG_ED25519) {
        return Err(CoseError::UnsupportedAlg(alg));
    }
    let vds = get(&prot, HEADER_VDS)
        .and_then(as_int)
        .ok_or(CoseError::Malformed("protected header has no integer vds"))?;
    if vds != i128::from(VDS_RFC9162_SHA256) {
        return Err(CoseError::UnsupportedVds(vds));
    }
    let Some(Value::Bytes(kid)) = get(&prot, HEADER_KID) else {
        return Err(CoseError::Malformed("protected header has no bstr kid"));
    };
    let expected = receipt_kid(log_key);
    if kid.as_slice() != expected {
        return Err(CoseError::WrongKid {
            expected: hex(&expected),
            got: hex(kid),
        });
    }

    // Unprotected header: vdp {-1: [+ bstr .cbor inclusion-proof]}.
    let vdp = get(&unprot, HEADER_VDP)
        .cloned()
        .ok_or(CoseError::Malformed("unprotected header has no vdp (396)"))?;
    let vdp = header_map(vdp)?;
    let Some(Value::Array(proofs)) = get(&vdp, VDP_INCLUSION) else {
        return Err(CoseError::Malformed(
            "vdp has no inclusion proofs array (-1)",
        ));
    };
    let [Value::Bytes(proof)] = proofs.as_slice() else {
        return Err(CoseError::Malformed(
            "expected exactly one inclusion proof, a bstr",
        ));
    };
    let Value::Array(fields) = decode_one(proof)? else {
        return Err(CoseError::Malformed("inclusion proof is not an array"));
    };
    let [size, index, path] = fields.as_slice() else {
        return Err(CoseError::Malformed(
            "inclusion proof does not have 3 elements",
        ));
    };
    let tree_size = as_u64(size).ok_or(CoseError::Malformed("tree_size is not a uint"))?;
    let leaf_index = as_u64(index).ok_or(CoseError::Malformed("leaf_index is not a uint"))?;
    let Value::Array(path) = path else {
        return Err(CoseError::Malformed("inclusion_path is not an array"));
    };
    if path.len() > MAX_PATH {
        return Err(CoseError::Malformed("inclusion_path too long"));
    }
    let path = path
        .iter()
        .map(|h| match h {
            Value::Bytes(b) if b.len() == HASH_SIZE => Hash::from_slice(b),
            _ => None,
        })
        .collect::<Option<Vec<Hash>>>()
        .ok_or(CoseError::Malformed(
            "inclusion_path holds something other than 32-byte hashes",
        ))?;

    // First the proof, then the signature over the root it leads to (RFC 9942 §5.2.1).
    let root = crate::tree::root_from_inclusion_proof(leaf, leaf_index, tree_size, &path)?;
    if let Some(p) = payload
        && p != root.0
    {
        return Err(CoseError::Malformed(
            "attached payload is not the recomputed root",
        ));
    }
    let tbs = to_be_signed(&protected_bytes, &root);
    if !NoteVerifier::verify(log_key, &tbs, &signature) {
        return Err(CoseError::BadSignature);
    }
    Ok(InclusionReceipt {
        kid: kid.clone(),
        tree_size,
        leaf_index,
        path,
        root,
    })
}
