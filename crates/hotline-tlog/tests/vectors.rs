//! Known-answer tests: fixed vectors from the specifications and from other implementations'
//! own test suites, checked against hotline-tlog. Each group cites its source; only the data
//! (keys, notes, hashes, paths) is taken, never code.
//!
//! - RFC 6962 trees: the known answers of transparency-dev/merkle (`testonly/constants.go`,
//!   `testonly/reference_test.go`), also used by ct-merkle's `tests/known_answer.rs`.
//! - Certificate Transparency: the real Google "argon2020" log proofs that golang.org/x/mod's
//!   `sumdb/tlog/ct_test.go` fetches, as vendored by tlog_tiles 0.2 (`tests/http_get/`), copied
//!   to `tests/fixtures/ct-argon2020/`.
//! - golang.org/x/mod `sumdb/note/note_test.go` and `example_test.go`: keys, signed notes,
//!   mangled keys, malformed notes.
//! - golang.org/x/mod `sumdb/tlog/note_test.go` (tree notes, i.e. checkpoints) and
//!   `tlog_test.go` (tile paths, converted from sumdb's `tile/H/L/N` to c2sp.org/tlog-tiles'
//!   `tile/L/N`).
//! - C2SP (git mirror of github.com/C2SP/C2SP): the examples of signed-note.md,
//!   tlog-checkpoint.md, tlog-cosignature.md, tlog-tiles.md and tlog-proof.md that the unit
//!   tests do not already cover.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_tlog::bundle::{bundle_prefix_len, decode_bundle, encode_bundle};
use hotline_tlog::checkpoint::{Checkpoint, CheckpointError};
use hotline_tlog::cosignature::{CosignatureV1Verifier, CosignerV1, cosigned_message};
use hotline_tlog::hash::{Hash, leaf_hash};
use hotline_tlog::note::{
    Ed25519Signer, Ed25519Verifier, MAX_SIGNATURES, Note, NoteError, NoteSigner, NoteVerifier,
};
use hotline_tlog::proof::{TlogProof, TlogProofError};
use hotline_tlog::tile::{
    FULL_TILE_BYTES, TileId, TileKind, TileSet, TreeEdge, tile_bytes, tile_hashes,
};
use hotline_tlog::tree::{
    LeafHashes, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};

fn hx(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

// =============================================================================================
// RFC 6962 known answers — transparency-dev/merkle testonly/constants.go and
// testonly/reference_test.go.
// =============================================================================================

/// `LeafInputs()` (hex).
const KAT_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `RootHashes()`: roots of the trees of 0..=8 of those leaves.
const KAT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `NodeHashes()`: every complete subtree of the 8-leaf tree, by level.
const KAT_NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `TestRefInclusionProof`: (index, size, proof).
const KAT_INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `TestRefConsistencyProof`: (size1, size2, proof).
const KAT_CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn kat_leaves() -> Vec<Hash> {
    KAT_LEAVES
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap()))
        .collect()
}

/// The KAT tree built the way hotline builds trees: appended to a `TreeEdge`, one entry at a
/// time, tiles collected; `sets[n]` is the tile set at size `n`.
fn kat_tiles() -> Vec<TileSet> {
    let mut edge = TreeEdge::empty();
    let mut tiles = TileSet::new();
    let mut sets = vec![tiles.clone()];
    for leaf in kat_leaves() {
        for (l, i, t) in edge.append(&[leaf]).tiles {
            tiles.insert(l, i, t);
        }
        sets.push(tiles.clone());
    }
    sets
}

#[test]
fn rfc6962_known_roots_and_nodes() {
    let leaves = kat_leaves();
    let sets = kat_tiles();
    let mut edge = TreeEdge::empty();
    assert_eq!(edge.root(), hx(KAT_ROOTS[0]));
    for (n, want) in KAT_ROOTS.iter().enumerate().skip(1) {
        edge.append(&leaves[n - 1..n]);
        assert_eq!(edge.root(), hx(want), "root of size {n}");
        assert_eq!(root(&sets[n], n as u64).unwrap(), hx(want));
        assert_eq!(root(&LeafHashes(&leaves[..n]), n as u64).unwrap(), hx(want));
    }
    for (level, nodes) in KAT_NODES.iter().enumerate() {
        for (index, want) in nodes.iter().enumerate() {
            let got = hotline_tlog::tree::NodeSource::node(&sets[8], level as u32, index as u64);
            assert_eq!(got.unwrap(), hx(want), "node ({level}, {index})");
        }
    }
}

#[test]
fn rfc6962_known_inclusion_proofs() {
    let leaves = kat_leaves();
    let sets = kat_tiles();
    for &(index, size, want) in KAT_INCLUSION {
        let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
        let got = inclusion_proof(&sets[size as usize], index, size).unwrap();
        assert_eq!(got, want, "inclusion {index} in {size}");
        let r = hx(KAT_ROOTS[size as usize]);
        verify_inclusion(&leaves[index as usize], index, size, &want, &r).unwrap();
    }
}

#[test]
fn rfc6962_known_consistency_proofs() {
    let sets = kat_tiles();
    for &(old, new, want) in KAT_CONSISTENCY {
        let want: Vec<Hash> = want.iter().map(|h| hx(h)).collect();
        let got = consistency_proof(&sets[new as usize], old, new).unwrap();
        assert_eq!(got, want, "consistency {old} -> {new}");
        let (r1, r2) = (hx(KAT_ROOTS[old as usize]), hx(KAT_ROOTS[new as usize]));
        verify_consistency(old, new, &r1, &r2, &want).unwrap();
    }
}

// =============================================================================================
// Certificate Transparency — golang.org/x/mod sumdb/tlog/ct_test.go (Google's argon2020 log),
// responses as vendored by tlog_tiles 0.2 in tests/http_get/.
// =============================================================================================

fn fixture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/ct-argon2020/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hashes_of(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

struct CtFixture {
    size: u64,
    root: Hash,
    leaf: Hash,
    audit_path: Vec<Hash>,
    consistency: Vec<Hash>,
}

/// `get-sth`, entry 10000, its audit path, and the consistency proof from size 3,654,490.
fn ct_fixture() -> CtFixture {
    let sth = fixture("get-sth.json");
    let entries = fixture("get-entries-10000.json");
    let leaf_input = B64
        .decode(entries["entries"][0]["leaf_input"].as_str().unwrap())
        .unwrap();
    let proof = fixture("get-proof-by-hash-10000.json");
    assert_eq!(proof["leaf_index"], 10000);
    CtFixture {
        size: sth["tree_size"].as_u64().unwrap(),
        root: Hash::from_base64(sth["sha256_root_hash"].as_str().unwrap()).unwrap(),
        leaf: leaf_hash(&leaf_input),
        audit_path: hashes_of(&proof["audit_path"]),
        consistency: hashes_of(&fixture("get-sth-consistency-3654490.json")["consistency"]),
    }
}

/// The root of the argon2020 tree at size 3,654,490, as ct_test.go states it.
const CT_OLD_SIZE: u64 = 3_654_490;
const CT_OLD_ROOT: &str = "AuIZ5V6sDUj1vn3Y1K85oOaQ7y+FJJKtyRTl1edIKBQ=";

#[test]
fn certificate_transparency_inclusion_proof() {
    let ct = ct_fixture();
    assert_eq!(ct.size, 961_984_011);
    // The log looked the entry up by this leaf hash (it is in the request's file name).
    assert_eq!(
        ct.leaf.to_base64(),
        "nCs3mfIydh9x4CKyQ+u2xtmpxmFggA5MLymHwNQSlLg="
    );
    verify_inclusion(&ct.leaf, 10_000, ct.size, &ct.audit_path, &ct.root).unwrap();
    for k in 0..ct.audit_path.len() {
        let mut bad = ct.audit_path.clone();
        bad[k].0[31] ^= 0x80;
        assert!(verify_inclusion(&ct.leaf, 10_000, ct.size, &bad, &ct.root).is_err());
    }
    assert!(verify_inclusion(&ct.leaf, 10_001, ct.size, &ct.audit_path, &ct.root).is_err());
    // A size giving the path another shape fails. (A size with the same shape, such as
    // size + 1 here, recomputes the same root: RFC 9162 proofs do not commit to the size; the
    // signed checkpoint binds size and root together.)
    assert!(verify_inclusion(&ct.leaf, 10_000, 10_001, &ct.audit_path, &ct.root).is_err());
    assert!(verify_inclusion(&ct.leaf, 10_000, 1 << 40, &ct.audit_path, &ct.root).is_err());
    assert!(verify_inclusion(&ct.leaf, 10_000, ct.size, &ct.audit_path[1..], &ct.root).is_err());
}

#[test]
fn certificate_transparency_consistency_proof() {
    let ct = ct_fixture();
    let old_root = Hash::from_base64(CT_OLD_ROOT).unwrap();
    verify_consistency(CT_OLD_SIZE, ct.size, &old_root, &ct.root, &ct.consistency).unwrap();
    for k in 0..ct.consistency.len() {
        let mut bad = ct.consistency.clone();
        bad[k].0[0] ^= 1;
        assert!(verify_consistency(CT_OLD_SIZE, ct.size, &old_root, &ct.root, &bad).is_err());
    }
    assert!(
        verify_consistency(
            CT_OLD_SIZE + 1,
            ct.size,
            &old_root,
            &ct.root,
            &ct.consistency
        )
        .is_err()
    );
    assert!(
        verify_consistency(
            CT_OLD_SIZE,
            CT_OLD_SIZE + 1,
            &old_root,
            &ct.root,
            &ct.consistency
        )
        .is_err()
    );
}

/// The real CT proof, carried in a c2sp.org/tlog-proof against a checkpoint of the same tree
/// signed by a test key.
#[test]
fn certificate_transparency_proof_as_tlog_proof() {
    let ct = ct_fixture();
    let origin = "ct.googleapis.com/logs/argon2020";
    let log = Ed25519Signer::new(origin, ed25519_dalek::SigningKey::from_bytes(&[42; 32])).unwrap();
    let cp = Checkpoint {
        origin: origin.into(),
        size: ct.size,
        root: ct.root,
        extensions: vec![],
    };
    let mut note = Note::new(cp.to_text()).unwrap();
    note.sign(&log);
    let proof = TlogProof {
        extra: None,
        index: 10_000,
        path: ct.audit_path.clone(),
        checkpoint: note.to_bytes(),
    };
    let parsed = TlogProof::parse(&proof.to_bytes()).unwrap();
    assert_eq!(parsed, proof);
    let (got, _) = parsed.verify(&ct.leaf, origin, &[&log.verifier()]).unwrap();
    assert_eq!(got, cp);
    assert!(matches!(
        parsed.verify(
            &leaf_hash(b"another certificate"),
            origin,
            &[&log.verifier()]
        ),
        Err(TlogProofError::Inclusion(_))
    ));
}

// =============================================================================================
// golang.org/x/mod sumdb/note: note_test.go and example_test.go.
// =============================================================================================

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> Ed25519Verifier {
    Ed25519Verifier::from_vkey(PETER_VKEY).unwrap()
}

fn enoch() -> Ed25519Verifier {
    Ed25519Verifier::from_vkey(ENOCH_VKEY).unwrap()
}

/// `TestSign` / `ExampleSign`: the exact signed note.
#[test]
fn go_note_sign() {
    let signer = Ed25519Signer::from_skey(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    assert_eq!(signer.to_skey(), PETER_SKEY);
    let mut note = Note::new(GO_TEXT).unwrap();
    note.sign(&signer);
    assert_eq!(
        String::from_utf8(note.to_bytes()).unwrap(),
        format!("{GO_TEXT}\n{PETER_SIG}")
    );
    // "Check that existing signature is replaced by new one."
    let mut note = Note::parse(
        format!(
            "{GO_TEXT}\n\u{2014} PeterNeumann {}\n",
            B64.encode([0xc7, 0x4f, 0x20, 0xa3, 1, 2, 3])
        )
        .as_bytes(),
    )
    .unwrap();
    note.sign(&signer);
    assert_eq!(
        String::from_utf8(note.to_bytes()).unwrap(),
        format!("{GO_TEXT}\n{PETER_SIG}")
    );
    // "Sign with short text": text without a final newline.
    assert_eq!(Note::new("abc"), Err(NoteError::TextWithoutNewline));
    // "Sign with bad name".
    assert!(Ed25519Signer::new("bad name", signer.signing_key().clone()).is_err());
    assert!(Ed25519Signer::new("a+b", signer.signing_key().clone()).is_err());
}

/// `ExampleSign_add_signatures`: EnochRoot's key is generated from an all-zero random source,
/// i.e. the Ed25519 seed of 32 zero bytes.
#[test]
fn go_note_add_signatures_with_the_zero_key() {
    let enoch_signer =
        Ed25519Signer::new("EnochRoot", ed25519_dalek::SigningKey::from_bytes(&[0; 32])).unwrap();
    assert_eq!(enoch_signer.verifier().to_vkey(), ENOCH_VKEY);
    let mut note = Note::parse(format!("{GO_TEXT}\n{PETER_SIG}").as_bytes()).unwrap();
    note.verify(&[&peter()]).unwrap();
    note.sign(&enoch_signer);
    assert_eq!(
        String::from_utf8(note.to_bytes()).unwrap(),
        format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}")
    );
}

/// `TestOpen` / `ExampleOpen`.
#[test]
fn go_note_open() {
    let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(both.as_bytes()).unwrap();
    assert_eq!(note.text(), GO_TEXT);
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(note.signatures()[0].name, "PeterNeumann");
    assert_eq!(note.signatures()[0].key_id, 0xc74f20a3);
    assert_eq!(note.signatures()[1].name, "EnochRoot");
    assert_eq!(note.signatures()[1].key_id, 0xaf0cfe78);
    // One signature verified, one not.
    assert_eq!(note.verify(&[&peter()]).unwrap(), ["PeterNeumann"]);
    // Both verified.
    assert_eq!(
        note.verify(&[&peter(), &enoch()]).unwrap(),
        ["PeterNeumann", "EnochRoot"]
    );
    // Both unverified.
    assert!(matches!(
        note.verify(&[]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
    // Too many signatures.
    let many = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(
        Note::parse(many.as_bytes()),
        Err(NoteError::TooManySignatures)
    );
    // Invalid signature: four base64 characters inserted.
    let peter_bad = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let bad = Note::parse(format!("{GO_TEXT}\n{peter_bad}").as_bytes()).unwrap();
    assert_eq!(
        bad.verify(&[&peter()]),
        Err(NoteError::BadSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
    // Duplicated verified and unverified signatures.
    let enoch_bad = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let dup = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_bad}");
    let dup = Note::parse(dup.as_bytes()).unwrap();
    assert_eq!(dup.verify(&[&peter()]).unwrap(), ["PeterNeumann"]);
    // Invalid encoded message syntax.
    for bad in [
        GO_TEXT.to_owned(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\x01{GO_TEXT}\n{PETER_SIG}"),
        format!(
            "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
    ] {
        assert!(Note::parse(bad.as_bytes()).is_err(), "{bad:?} parsed");
    }
    let mut invalid_utf8 = b"\xff".to_vec();
    invalid_utf8.extend_from_slice(format!("{GO_TEXT}\n{PETER_SIG}").as_bytes());
    assert_eq!(Note::parse(&invalid_utf8), Err(NoteError::InvalidText));
    // A signature under another name, or with another key ID, is not Peter's.
    let misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
    let n = Note::parse(format!("{GO_TEXT}\n{misnamed}").as_bytes()).unwrap();
    assert!(matches!(
        n.verify(&[&peter()]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
    let wrong_hash = PETER_SIG.replace("x08g", "xxxx");
    let n = Note::parse(format!("{GO_TEXT}\n{wrong_hash}").as_bytes()).unwrap();
    assert!(matches!(
        n.verify(&[&peter()]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
}

/// `TestNewVerifier`: every proper substring and every one-byte change of the vkey is refused,
/// as are a wrong-length key and an unknown algorithm (each with a matching key ID).
#[test]
fn go_mangled_verifier_keys_are_refused() {
    assert_eq!(peter().to_vkey(), PETER_VKEY);
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let s = String::from_utf8_lossy(&b[i..j]);
            assert!(Ed25519Verifier::from_vkey(&s).is_err(), "{s} accepted");
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let s = String::from_utf8_lossy(&m);
        assert!(Ed25519Verifier::from_vkey(&s).is_err(), "{s} accepted");
    }
    for bad in [
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ] {
        assert!(Ed25519Verifier::from_vkey(bad).is_err(), "{bad} accepted");
    }
}

/// `TestNewSigner`: the same for the signer key.
#[test]
fn go_mangled_signer_keys_are_refused() {
    let b = PETER_SKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let s = String::from_utf8_lossy(&b[i..j]);
            assert!(Ed25519Signer::from_skey(&s).is_err(), "{s} accepted");
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let s = String::from_utf8_lossy(&m);
        assert!(Ed25519Signer::from_skey(&s).is_err(), "{s} accepted");
    }
}

// =============================================================================================
// golang.org/x/mod sumdb/tlog: note_test.go (tree notes) and tlog_test.go (tile paths).
// =============================================================================================

/// `TestFormatTree` / `TestParseTree`: the go.sum database tree note is a checkpoint whose
/// origin is "go.sum database tree".
#[test]
fn go_tree_note_is_a_checkpoint() {
    let golden =
        "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n";
    let cp = Checkpoint {
        origin: "go.sum database tree".into(),
        size: 123_456_789_012,
        root: leaf_hash(b"hello world"),
        extensions: vec![],
    };
    assert_eq!(cp.to_text(), golden);
    assert_eq!(Checkpoint::parse(golden).unwrap(), cp);
    // Bad trees.
    assert!(matches!(
        Checkpoint::parse(
            "go.sum database tree\n0xabcdef\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"
        ),
        Err(CheckpointError::BadSize(_))
    ));
    assert!(matches!(
        Checkpoint::parse(
            "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\n"
        ),
        Err(CheckpointError::BadRoot(_))
    ));
    // Go's ParseTree ignores junk after the tree; c2sp.org/tlog-checkpoint reads complete lines
    // after the root as extension lines, and text that does not end in a newline is malformed.
    let c = Checkpoint::parse(&format!("{golden}JOE\n")).unwrap();
    assert_eq!(c.extensions, ["JOE"]);
    let c = Checkpoint::parse(&format!("{golden}{}", "JOE\n".repeat(1000))).unwrap();
    assert_eq!(c.extensions.len(), 1000);
    assert_eq!(
        Checkpoint::parse(&format!("{golden}JOE")),
        Err(CheckpointError::TooShort)
    );
    // (Go's "not-" + golden fails only because sumdb fixes the first line; for a checkpoint it
    // is just another origin.)
    assert_eq!(
        Checkpoint::parse(&format!("not-{golden}")).unwrap().origin,
        "not-go.sum database tree"
    );
}

/// `tilePaths` in tlog_test.go, with sumdb's tile height element dropped (c2sp.org/tlog-tiles
/// fixes the height at 8) and `data` spelled `entries`. Go's widths were for heights 4, 3 and 1,
/// so a Go "full" tile (2^H wide) is kept as a full tile here.
#[test]
fn go_tile_paths() {
    let hashes = |level: u8, index: u64, width: u16| TileId {
        kind: TileKind::Hashes { level },
        index,
        width,
    };
    let good = [
        ("tile/0/001", hashes(0, 1, 256)),
        ("tile/0/001.p/5", hashes(0, 1, 5)),
        ("tile/5/x123/x456/078", hashes(5, 123_456_078, 256)),
        ("tile/5/x123/x456/078.p/2", hashes(5, 123_456_078, 2)),
        ("tile/0/x003/x057/500", hashes(0, 3_057_500, 256)),
        (
            "tile/entries/x003/x057/500",
            TileId {
                kind: TileKind::Entries,
                index: 3_057_500,
                width: 256,
            },
        ),
    ];
    for (path, id) in good {
        assert_eq!(TileId::parse(path), Ok(id), "{path}");
        assert_eq!(id.path(), path);
    }
    for bad in ["tile/5/123/456/078", "tile/-1/123/456/078"] {
        assert!(TileId::parse(bad).is_err(), "{bad} accepted");
    }
}

// =============================================================================================
// C2SP examples not covered by the unit tests.
// =============================================================================================

/// signed-note.md, opening example: a text with an empty line, split at the last empty line.
#[test]
fn c2sp_signed_note_text_with_empty_line() {
    let example = "Ognuno sta solo sul cuor della terra\n\
                   trafitto da un raggio di sole:\n\
                   \n\
                   ed \u{e8} subito sera.\n\
                   \n\
                   \u{2014} quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
    let note = Note::parse(example.as_bytes()).unwrap();
    assert_eq!(
        note.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \u{e8} subito sera.\n"
    );
    let sig = &note.signatures()[0];
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(sig.name, "quasimodo.example/salvatore");
    assert_eq!(sig.key_id, 0x367ba04b);
    assert_eq!(sig.signature.len(), 64);
    assert_eq!(note.to_bytes(), example.as_bytes());
    // No trusted key: the text must be ignored.
    assert!(matches!(
        note.verify(&[&peter()]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
}

/// signed-note.md: "Verifiers MUST ignore signatures from unknown keys, even if they share a
/// name or ID (but not both) with a known key", and "MUST accept at least up to 16 signatures".
#[test]
fn c2sp_signed_note_unknown_keys_and_many_signatures() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let known = Ed25519Signer::new("example.com/known", key.clone()).unwrap();
    // Same name, other key (so another ID); same key under another name (another ID too, but
    // we also forge a line with the known ID under another name).
    let same_name = Ed25519Signer::new(
        "example.com/known",
        ed25519_dalek::SigningKey::from_bytes(&[4; 32]),
    )
    .unwrap();
    let mut note = Note::new("text\n").unwrap();
    note.sign(&same_name);
    let mut forged = note.signatures()[0].clone();
    forged.name = "example.com/other".into();
    forged.key_id = known.key_id();
    note.add_signature(forged);
    assert!(matches!(
        note.verify(&[&known.verifier()]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
    note.sign(&known);
    assert_eq!(
        note.verify(&[&known.verifier()]).unwrap(),
        ["example.com/known"]
    );

    // 16 signatures (and up to MAX_SIGNATURES) are accepted, one more is not.
    for total in [16usize, MAX_SIGNATURES, MAX_SIGNATURES + 1] {
        let mut note = Note::new("many\n").unwrap();
        for i in 0..total - 1 {
            let s = Ed25519Signer::new(
                &format!("w{i}.example"),
                ed25519_dalek::SigningKey::from_bytes(&[i as u8; 32]),
            )
            .unwrap();
            note.sign(&s);
        }
        note.sign(&known);
        let parsed = Note::parse(&note.to_bytes());
        if total <= MAX_SIGNATURES {
            assert_eq!(
                parsed.unwrap().verify(&[&known.verifier()]).unwrap(),
                ["example.com/known"]
            );
        } else {
            assert_eq!(parsed, Err(NoteError::TooManySignatures));
        }
    }
    const { assert!(MAX_SIGNATURES >= 16) };
}

const SOFA_TEXT: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const SOFA_LOG_SIG: &str = "\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
const SOFA_WITNESS_SIG: &str = "\u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

/// tlog-checkpoint.md's example, as the signed note it is.
#[test]
fn c2sp_checkpoint_example_note() {
    let example = format!("{SOFA_TEXT}\n{SOFA_LOG_SIG}");
    let note = Note::parse(example.as_bytes()).unwrap();
    assert_eq!(note.to_bytes(), example.as_bytes());
    let cp = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20_852_163);
    assert_eq!(
        cp.root.to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions.is_empty());
    // "The log's key name in its signature line SHOULD match the origin line."
    assert_eq!(note.signatures()[0].name, cp.origin);
    assert_eq!(note.signatures()[0].signature.len(), 64);
}

/// tlog-cosignature.md's example: the witness signature carries the timestamp the spec's
/// signed-message example uses, and its message is the one the spec spells out.
#[test]
fn c2sp_cosignature_example() {
    let example = format!("{SOFA_TEXT}\n{SOFA_LOG_SIG}{SOFA_WITNESS_SIG}");
    let note = Note::parse(example.as_bytes()).unwrap();
    assert_eq!(note.to_bytes(), example.as_bytes());
    let w = &note.signatures()[1];
    assert_eq!(w.name, "witness.example.com/w1");
    assert_eq!(w.key_id, 0x8d66cf3f);
    assert_eq!(w.signature.len(), 8 + 64);
    let timestamp = u64::from_be_bytes(w.signature[..8].try_into().unwrap());
    assert_eq!(timestamp, 1_679_315_147);
    assert_eq!(
        cosigned_message(note.text(), timestamp),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    // Without the witness's key nothing can be verified; another key with the same name does
    // not match its key ID and is ignored.
    let other = CosignerV1::new(
        "witness.example.com/w1",
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap();
    assert_ne!(other.verifier().key_id(), w.key_id);
    assert!(matches!(
        note.verify(&[&other.verifier()]),
        Err(NoteError::NotSignedByKnownKey { .. })
    ));
    // A cosignature made now over the same text, at the spec's timestamp, verifies and
    // reports that timestamp.
    let fresh = other.cosign(note.text(), timestamp);
    assert_eq!(fresh.signature[..8], w.signature[..8]);
    let v = CosignatureV1Verifier::from_vkey(&other.verifier().to_vkey()).unwrap();
    assert_eq!(
        v.verified_timestamp(note.text(), &fresh.signature),
        Some(timestamp)
    );
    assert_eq!(v.verified_timestamp(note.text(), &w.signature), None);
}

/// tlog-proof.md's example (its signature lines are elided with "[...]", so it can be decoded
/// and re-encoded, but its checkpoint cannot be verified).
#[test]
fn c2sp_tlog_proof_example() {
    let example = "c2sp.org/tlog-proof@v1\n\
                   extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n\
                   index 73894\n\
                   gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
                   B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
                   EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n\
                   RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n\
                   AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n\
                   \n\
                   example.com/fancylog\n\
                   109482\n\
                   sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\
                   \n\
                   \u{2014} example.com/fancylog hI2DJw[...]1roloI=\n\
                   \u{2014} witness1.example mJirIklj[...]qY9v2B/5bg==\n\
                   \u{2014} witness2.example TnKKVHLX[...]xwYwrSjgow==\n\
                   \u{2014} witness3.example S4X82uH5[...]3oEcROGLFQ==\n";
    let proof = TlogProof::parse(example.as_bytes()).unwrap();
    assert_eq!(proof.index, 73_894);
    assert_eq!(proof.path.len(), 5);
    assert_eq!(
        proof.path[0].to_base64(),
        "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ="
    );
    assert!(
        proof
            .extra
            .as_ref()
            .unwrap()
            .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz")
    );
    assert_eq!(proof.to_bytes(), example.as_bytes());
    let checkpoint = std::str::from_utf8(&proof.checkpoint).unwrap();
    let text = &checkpoint[..checkpoint.rfind("\n\n").unwrap() + 1];
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!(
        (cp.origin.as_str(), cp.size),
        ("example.com/fancylog", 109_482)
    );
    // The elided signatures are not base64.
    let key = Ed25519Signer::new(
        "example.com/fancylog",
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap();
    assert!(matches!(
        proof.verify(&Hash::default(), "example.com/fancylog", &[&key.verifier()]),
        Err(TlogProofError::Note(NoteError::MalformedSignature { .. }))
    ));
}

/// tlog-tiles.md: "Full tiles MUST be exactly 256 hashes wide, or 8,192 bytes", and entry
/// bundles are "sequences of big-endian uint16 length-prefixed log entries" each hashing "to
/// the corresponding entry in the corresponding level 0 Merkle Tree tile".
#[test]
fn c2sp_tiles_and_entry_bundles() {
    assert_eq!(FULL_TILE_BYTES, 8_192);
    assert_eq!(tile_hashes(&[7u8; 8_192]).unwrap().len(), 256);
    assert_eq!(tile_hashes(&[7u8; 32]).unwrap().len(), 1);
    for bad_len in [0usize, 31, 33, 8_192 + 32] {
        assert!(
            tile_hashes(&vec![7u8; bad_len]).is_none(),
            "{bad_len} bytes"
        );
    }
    let entries: Vec<Vec<u8>> = (0..300u32)
        .map(|i| format!("entry {i}").repeat(i as usize % 7).into_bytes())
        .collect();
    let mut edge = TreeEdge::empty();
    let touched = edge.append(&entries.iter().map(|e| leaf_hash(e)).collect::<Vec<_>>());
    let level0: Vec<Vec<Hash>> = touched
        .tiles
        .iter()
        .filter(|(l, _, _)| *l == 0)
        .map(|(_, _, t)| t.hashes().to_vec())
        .collect();
    assert_eq!(level0.len(), 2); // tile/0/000 and tile/0/001.p/44
    for (tile, chunk) in level0.iter().zip(entries.chunks(256)) {
        let bundle = encode_bundle(chunk.iter().map(Vec::as_slice)).unwrap();
        // Big-endian uint16 length prefixes.
        assert_eq!(
            &bundle[..2],
            &u16::try_from(chunk[0].len()).unwrap().to_be_bytes()
        );
        let decoded = decode_bundle(&bundle).unwrap();
        let hashes: Vec<Hash> = decoded.iter().map(|e| leaf_hash(e)).collect();
        assert_eq!(&hashes, tile);
        assert_eq!(tile_bytes(&hashes).len(), 32 * hashes.len());
        // A partial bundle is a prefix of the full one.
        let cut = bundle_prefix_len(&bundle, 44).unwrap();
        assert_eq!(decode_bundle(&bundle[..cut]).unwrap(), decoded[..44]);
    }
}
