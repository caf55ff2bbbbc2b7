//! The benchmarks of issue 4 run end to end on small sizes and check what they report:
//! `hotline bench audit` creates a log of exactly the requested statements of every kind that
//! the audit then accepts whole (reused on the next invocation), and `hotline bench witness`
//! gets every statement under a checkpoint both local witnesses cosigned and verifies a sample
//! of cosigned receipts under the policy.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use util::Sandbox;

#[test]
fn bench_audit_creates_reuses_and_audits_a_log_of_every_kind() {
    let sb = Sandbox::new();
    let run = |statements: &str| -> serde_json::Value {
        let out = sb.run_ok(&[
            "--json",
            "bench",
            "audit",
            "--dir",
            "ba",
            "--statements",
            statements,
            "--parties",
            "5",
            "--runs",
            "1",
        ]);
        serde_json::from_str(&out).unwrap()
    };
    let first = run("3000");
    assert_eq!(first["statements"], 3000, "{first}");
    assert!(
        first["created_in_seconds"].as_f64().unwrap() > 0.0,
        "{first}"
    );
    assert!(first["cases"].as_u64().unwrap() > 600, "{first}");
    assert!(first["audit_per_second"].as_f64().unwrap() > 0.0, "{first}");
    assert!(first["ed25519_batch_per_core"].as_f64().unwrap() > 0.0);
    // The same directory again: the log is reused as it is, not created or grown.
    let again = run("9999");
    assert_eq!(again["statements"], 3000, "{again}");
    assert!(again["created_in_seconds"].is_null(), "{again}");
    // A bad option is refused by name.
    let err = sb.run_err(&["bench", "audit", "--dir", "ba", "--runs", "0"]);
    assert!(err.contains("--runs must be at least 1"), "{err}");
}

#[test]
fn bench_witness_gets_every_statement_cosigned_and_verifies_receipts() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&[
        "--json",
        "bench",
        "witness",
        "--dir",
        "bw",
        "--statements",
        "120",
        "--rate",
        "120",
        "--clients",
        "4",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["witnesses"], 2, "{v}");
    assert_eq!(v["statements"], 120, "{v}");
    assert!(v["verified_receipts"].as_u64().unwrap() >= 10, "{v}");
    assert!(v["cosigned_checkpoints"].as_u64().unwrap() >= 1, "{v}");
    let cosigned = v["cosigned_ms"]["p50"].as_f64().unwrap();
    let receipt = v["receipt_ms"]["p50"].as_f64().unwrap();
    assert!(
        cosigned >= receipt,
        "a cosignature comes after the log's own signature: {v}"
    );
    // Both witnesses kept their state on disk.
    assert!(sb.path("bw/witness0.db").exists() && sb.path("bw/witness1.db").exists());
    let err = sb.run_err(&["bench", "witness", "--dir", "bw", "--statements", "10"]);
    assert!(err.contains("already holds a log"), "{err}");
}
