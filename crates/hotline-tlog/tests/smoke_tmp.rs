#[test]
fn t() { let _ = tlog_tiles::record_hash(b""); let _ = signed_note::key_id("a", b"b"); let _ = ct_merkle::indices_for_inclusion_proof(3, 1); }
