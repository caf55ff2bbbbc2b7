//! Every parser in hotline-tlog meets attacker-controlled bytes (tiles, notes, proofs and keys
//! come from servers and files we do not control). These property tests feed them arbitrary
//! input and mutations of valid input: nothing may panic, and a mutated signed object must never
//! verify. (The project's fuzzing without a nightly toolchain: proptest shrinks any failure to a
//! minimal input and records its seed in `parse_arbitrary.proptest-regressions`.)
#![allow(clippy::unwrap_used, missing_docs)]

use hotline_tlog::bundle::decode_bundle;
use hotline_tlog::cosignature::CosignatureV1Verifier;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tile::TileId;
use hotline_tlog::tree::{LeafHashes, inclusion_proof, root};
use hotline_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note, TlogProof, leaf_hash};
use proptest::prelude::*;

fn signed_proof() -> (Ed25519Signer, Hash, Vec<u8>) {
    let signer = Ed25519Signer::generate("fuzz.example/log").unwrap();
    let leaves: Vec<Hash> = (0..13u8).map(|i| leaf_hash(&[i])).collect();
    let src = LeafHashes(&leaves);
    let cp = Checkpoint {
        origin: "fuzz.example/log".into(),
        size: 13,
        root: root(&src, 13).unwrap(),
        extensions: vec![],
    };
    let mut note = Note::new(cp.to_text()).unwrap();
    note.sign(&signer);
    let proof = TlogProof {
        extra: None,
        index: 5,
        path: inclusion_proof(&src, 5, 13).unwrap(),
        checkpoint: note.to_bytes(),
    };
    (signer, leaves[5], proof.to_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Note::parse(&bytes);
        let _ = TlogProof::parse(&bytes);
        let _ = decode_bundle(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(s);
            let _ = TileId::parse(s);
            let _ = Ed25519Verifier::from_vkey(s);
            let _ = Ed25519Signer::from_skey(s);
            let _ = CosignatureV1Verifier::from_vkey(s);
        }
    }

    #[test]
    fn near_valid_text_never_panics(s in "(tile/(entries|[0-9]{1,3})/(x[0-9]{3}/){0,7}[0-9]{1,4}(\\.p/[0-9]{1,4})?)|([a-z./+]{0,20}\\+[0-9a-f]{0,9}\\+[A-Za-z0-9+/=]{0,60})|([a-z.]{0,12}\n[0-9]{0,22}\n[A-Za-z0-9+/=]{0,50}\n.{0,10})") {
        let _ = TileId::parse(&s);
        let _ = Ed25519Verifier::from_vkey(&s);
        let _ = Checkpoint::parse(&s);
        if let Ok(id) = TileId::parse(&s) {
            // Whatever parses prints back to exactly the same path.
            prop_assert_eq!(id.path(), s);
        }
    }

    #[test]
    fn a_mutated_tlog_proof_never_verifies(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (signer, leaf, bytes) = signed_proof();
        let mut bad = bytes.clone();
        let i = pos.index(bad.len());
        bad[i] ^= 1 << bit;
        let v = signer.verifier();
        let verdict = TlogProof::parse(&bad)
            .and_then(|p| p.verify(&leaf, "fuzz.example/log", &[&v as &dyn NoteVerifier]));
        prop_assert!(verdict.is_err(), "flipping bit {} of byte {} went unnoticed", bit, i);
    }

    #[test]
    fn a_truncated_or_extended_tlog_proof_never_panics(cut in 0usize..700, tail in proptest::collection::vec(any::<u8>(), 0..40)) {
        let (signer, leaf, mut bytes) = signed_proof();
        bytes.truncate(cut.min(bytes.len()));
        bytes.extend(tail);
        let v = signer.verifier();
        let _ = TlogProof::parse(&bytes)
            .and_then(|p| p.verify(&leaf, "fuzz.example/log", &[&v as &dyn NoteVerifier]));
    }
}
