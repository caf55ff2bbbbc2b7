//! RFC 9942 COSE receipts of inclusion (`hotline_tlog::cose`), checked with an independent
//! COSE implementation: google/coset decodes every receipt we sign (tag, headers, detached
//! payload, inclusion proof, Sig_structure and signature), and a receipt coset builds and signs
//! passes our verifier. Tampering (a flipped path byte, a wrong leaf, a wrong key, a wrong tree
//! size) is refused.

#![allow(clippy::unwrap_used)]

use coset::cbor::value::Value;
use coset::iana;
use coset::{
    CoseSign1, CoseSign1Builder, HeaderBuilder, Label, RegisteredLabelWithPrivate,
    TaggedCborSerializable,
};
use ed25519_dalek::{Signature, SigningKey, Verifier as _};
use hotline_tlog::cose::{
    ALG_EDDSA, CoseError, HEADER_VDP, HEADER_VDS, VDP_INCLUSION, VDS_RFC9162_SHA256, receipt_kid,
    sign_inclusion_receipt, verify_inclusion_receipt,
};
use hotline_tlog::tree::{LeafHashes, VerifyError, inclusion_proof, root};
use hotline_tlog::{Ed25519Signer, Hash, leaf_hash};

fn signer(seed: u8) -> Ed25519Signer {
    Ed25519Signer::new("log.example.org", SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

fn receipt_for(s: &Ed25519Signer, leaves: &[Hash], index: u64) -> (Vec<u8>, Hash) {
    let size = leaves.len() as u64;
    let src = LeafHashes(leaves);
    let path = inclusion_proof(&src, index, size).unwrap();
    let r = root(&src, size).unwrap();
    let receipt =
        sign_inclusion_receipt(s, &leaves[index as usize], index, size, &path, &r).unwrap();
    (receipt, r)
}

fn int_label(v: i64) -> Label {
    Label::Int(v)
}

/// The constants are the registered values (RFC 9942 §2, §5; RFC 9053 §2.2).
#[test]
fn registered_values() {
    assert_eq!(HEADER_VDS, 395);
    assert_eq!(HEADER_VDP, 396);
    assert_eq!(VDS_RFC9162_SHA256, 1);
    assert_eq!(VDP_INCLUSION, -1);
    assert_eq!(ALG_EDDSA, iana::Algorithm::EdDSA as i64);
}

/// Everything coset sees in a receipt we signed, checked against the spec's structure.
#[test]
fn coset_decodes_our_receipts() {
    let s = signer(7);
    let vkey = s.verifier();
    for size in [1u64, 2, 3, 5, 8, 13, 20] {
        let ls = leaves(size);
        let src = LeafHashes(&ls);
        for index in 0..size {
            let (receipt, r) = receipt_for(&s, &ls, index);
            // RFC 9942 §4.3 "Usage": receipts MUST be tagged COSE_Sign1 (tag 18 = 0xd2).
            assert_eq!(receipt[0], 0xd2);
            let sign1 = CoseSign1::from_tagged_slice(&receipt).unwrap();

            // Protected: alg EdDSA (-8), kid, vds (395) = RFC9162_SHA256 (1).
            let prot = &sign1.protected.header;
            assert_eq!(
                prot.alg,
                Some(RegisteredLabelWithPrivate::Assigned(iana::Algorithm::EdDSA))
            );
            assert_eq!(prot.key_id, receipt_kid(&vkey).to_vec());
            assert_eq!(prot.rest, vec![(int_label(395), Value::Integer(1.into()))]);
            assert!(prot.crit.is_empty() && prot.content_type.is_none());
            // Deterministic encoding: {1: -8, 4: h'kid', 395: 1}.
            let mut expected = vec![0xa3, 0x01, 0x27, 0x04, 0x44];
            expected.extend_from_slice(&receipt_kid(&vkey));
            expected.extend_from_slice(&[0x19, 0x01, 0x8b, 0x01]);
            assert_eq!(
                sign1.protected.original_data.as_deref(),
                Some(&expected[..])
            );

            // Unprotected: only vdp (396) = {-1: [bstr .cbor [size, index, path]]}.
            let unprot = &sign1.unprotected;
            assert!(unprot.alg.is_none() && unprot.key_id.is_empty());
            assert_eq!(unprot.rest.len(), 1);
            let (label, vdp) = &unprot.rest[0];
            assert_eq!(*label, int_label(396));
            let vdp = vdp.as_map().unwrap();
            assert_eq!(vdp.len(), 1);
            assert_eq!(vdp[0].0, Value::Integer((-1).into()));
            let proofs = vdp[0].1.as_array().unwrap();
            assert_eq!(proofs.len(), 1);
            let proof_bytes = proofs[0].as_bytes().unwrap();
            let proof: Value = coset::cbor::from_reader(proof_bytes.as_slice()).unwrap();
            let proof = proof.as_array().unwrap();
            assert_eq!(proof.len(), 3);
            assert_eq!(proof[0], Value::Integer(size.into()));
            assert_eq!(proof[1], Value::Integer(index.into()));
            let path: Vec<Hash> = proof[2]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| Hash::from_slice(b.as_bytes().unwrap()).unwrap())
                .collect();
            assert_eq!(path, inclusion_proof(&src, index, size).unwrap());

            // Detached payload (RFC 9942 §4.4 "Profiles"): the root is not in the receipt.
            assert!(sign1.payload.is_none());

            // The path leads from the leaf to the root of the tree of `size` leaves, the root
            // computed from all the leaves.
            let recomputed = hotline_tlog::tree::root_from_inclusion_proof(
                &ls[index as usize],
                index,
                size,
                &path,
            )
            .unwrap();
            assert_eq!(recomputed, r);

            // coset's Sig_structure over the detached root, verified with ed25519-dalek.
            sign1
                .verify_detached_signature(&r.0, b"", |sig, tbs| {
                    let sig = Signature::from_slice(sig).map_err(|_| ())?;
                    vkey.public_key().verify(tbs, &sig).map_err(|_| ())
                })
                .unwrap();

            // And our verifier agrees.
            let got = verify_inclusion_receipt(&receipt, &ls[index as usize], &vkey).unwrap();
            assert_eq!((got.tree_size, got.leaf_index, got.root), (size, index, r));
            assert_eq!(got.path, path);
        }
    }
}

/// A receipt built and signed by coset passes our verifier (both algorithm identifiers).
#[test]
fn our_verifier_accepts_coset_receipts() {
    let s = signer(9);
    let vkey = s.verifier();
    let ls = leaves(11);
    let src = LeafHashes(&ls);
    let (size, index) = (11u64, 6u64);
    let path = inclusion_proof(&src, index, size).unwrap();
    let r = root(&src, size).unwrap();
    let proof = {
        let v = Value::Array(vec![
            Value::Integer(size.into()),
            Value::Integer(index.into()),
            Value::Array(path.iter().map(|h| Value::Bytes(h.0.to_vec())).collect()),
        ]);
        let mut out = Vec::new();
        coset::cbor::into_writer(&v, &mut out).unwrap();
        out
    };
    for alg in [iana::Algorithm::EdDSA, iana::Algorithm::Ed25519] {
        let protected = HeaderBuilder::new()
            .algorithm(alg)
            .key_id(receipt_kid(&vkey).to_vec())
            .value(395, Value::Integer(1.into()))
            .build();
        let unprotected = HeaderBuilder::new()
            .value(
                396,
                Value::Map(vec![(
                    Value::Integer((-1).into()),
                    Value::Array(vec![Value::Bytes(proof.clone())]),
                )]),
            )
            .build();
        let receipt = CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .create_detached_signature(&r.0, b"", |tbs| {
                use ed25519_dalek::Signer as _;
                s.signing_key().sign(tbs).to_bytes().to_vec()
            })
            .build()
            .to_tagged_vec()
            .unwrap();
        let got = verify_inclusion_receipt(&receipt, &ls[index as usize], &vkey).unwrap();
        assert_eq!(got.root, r);
        // Untagged: refused (receipts MUST be tagged).
        assert!(matches!(
            verify_inclusion_receipt(&receipt[1..], &ls[index as usize], &vkey),
            Err(CoseError::Malformed(_))
        ));
    }
}

#[test]
fn tampering_is_refused() {
    let s = signer(7);
    let vkey = s.verifier();
    let ls = leaves(13);
    let (index, size) = (5u64, 13u64);
    let (receipt, _) = receipt_for(&s, &ls, index);
    let leaf = ls[index as usize];
    verify_inclusion_receipt(&receipt, &leaf, &vkey).unwrap();

    // A flipped byte in each inclusion path hash: the proof leads to another root, which the
    // signature does not cover.
    let path = inclusion_proof(&LeafHashes(&ls), index, size).unwrap();
    assert!(!path.is_empty());
    for h in &path {
        let at = receipt
            .windows(32)
            .position(|w| w == h.0)
            .expect("path hash in receipt");
        for offset in [0, 17, 31] {
            let mut bad = receipt.clone();
            bad[at + offset] ^= 0x01;
            assert_eq!(
                verify_inclusion_receipt(&bad, &leaf, &vkey),
                Err(CoseError::BadSignature)
            );
        }
    }

    // Another leaf, or the same leaf claimed at another index.
    for other in [ls[4], ls[6], leaf_hash(b"not in the log")] {
        assert_eq!(
            verify_inclusion_receipt(&receipt, &other, &vkey),
            Err(CoseError::BadSignature)
        );
    }

    // A flipped signature byte.
    let mut bad = receipt.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x80;
    assert_eq!(
        verify_inclusion_receipt(&bad, &leaf, &vkey),
        Err(CoseError::BadSignature)
    );

    // Another key with the same name: another kid.
    assert!(matches!(
        verify_inclusion_receipt(&receipt, &leaf, &signer(8).verifier()),
        Err(CoseError::WrongKid { .. })
    ));

    // The vds changed to another (unregistered) value in the protected header.
    let vds_at = receipt
        .windows(4)
        .position(|w| w == [0x19, 0x01, 0x8b, 0x01])
        .unwrap();
    let mut bad = receipt.clone();
    bad[vds_at + 3] = 0x02;
    assert_eq!(
        verify_inclusion_receipt(&bad, &leaf, &vkey),
        Err(CoseError::UnsupportedVds(2))
    );

    // Trailing garbage.
    let mut bad = receipt.clone();
    bad.push(0);
    assert!(matches!(
        verify_inclusion_receipt(&bad, &leaf, &vkey),
        Err(CoseError::Malformed(_))
    ));

    // Signing refuses a root the proof does not lead to.
    let src = LeafHashes(&ls);
    let r = root(&src, size).unwrap();
    assert_eq!(
        sign_inclusion_receipt(&s, &ls[4], index, size, &path, &r),
        Err(CoseError::Proof(VerifyError::RootMismatch))
    );
}
