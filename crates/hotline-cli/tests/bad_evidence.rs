//! Invalid STIX evidence. The server never sees a payload's plaintext, so only the officer's
//! client can check that `--evidence` is a STIX 2.1 bundle: `hotline send` refuses one that is
//! not, with a message naming the file and the problem, before anything is signed or sent.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::path::PathBuf;

use util::Sandbox;

fn log_size(url: &str) -> u64 {
    let text = reqwest::blocking::get(format!("{url}/log/checkpoint"))
        .unwrap()
        .text()
        .unwrap();
    text.lines().nth(1).unwrap().parse().unwrap()
}

fn send_args(evidence: &str) -> Vec<&str> {
    vec![
        "--config",
        "us-cisa/config.toml",
        "send",
        "--to",
        "ru-nkcki",
        "--title",
        "REvil infrastructure",
        "--evidence",
        evidence,
    ]
}

#[test]
fn send_refuses_evidence_that_is_not_a_stix_bundle_and_sends_nothing() {
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        "hotline.test.example/log",
    ]);
    let server = sb.serve("hl");
    let url = server.url.clone();
    util::register_party(&sb, &url, "us-cisa", "US");
    util::register_party(&sb, &url, "ru-nkcki", "RU");

    let cases = [
        ("not-json.json", "indicator: 198.51.100.7", "is not JSON"),
        ("array.json", "[]", "evidence must be a STIX bundle object"),
        (
            "indicator.json",
            r#"{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#,
            r#"evidence must be a STIX 2.1 bundle ("type": "bundle")"#,
        ),
        (
            "no-objects.json",
            r#"{"type": "bundle", "id": "bundle--0463e379-dbda-4557-b8cb-d9175db73489"}"#,
            r#"the bundle has no "objects" array"#,
        ),
        (
            "untyped.json",
            r#"{"type": "bundle", "objects": [{"id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}]}"#,
            "object 0 has no type",
        ),
        (
            "no-id.json",
            r#"{"type": "bundle", "objects": [{"type": "indicator"}]}"#,
            "object 0 (indicator) has no id",
        ),
        (
            "wrong-id.json",
            r#"{"type": "bundle", "objects": [{"type": "indicator", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}]}"#,
            r#"the id must start with its type "indicator" followed by --"#,
        ),
        (
            "not-uuid.json",
            r#"{"type": "bundle", "objects": [{"type": "indicator", "spec_version": "2.1", "id": "indicator--revil-c2"}]}"#,
            "the id must end with a UUID",
        ),
        (
            "stix20.json",
            r#"{"type": "bundle", "objects": [{"type": "malware", "spec_version": "2.0", "id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}]}"#,
            "hotline takes STIX 2.1",
        ),
        (
            "no-spec-version.json",
            r#"{"type": "bundle", "objects": [{"type": "threat-actor", "id": "threat-actor--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}]}"#,
            r#"a threat-actor needs "spec_version": "2.1""#,
        ),
    ];
    for (file, content, phrase) in cases {
        std::fs::write(sb.path(file), content).unwrap();
        let before = log_size(&url);
        let err = sb.run_err(&send_args(file));
        assert!(
            err.contains(file),
            "{file}: the error does not name the file: {err}"
        );
        assert!(
            err.contains(phrase),
            "{file}: the error does not say {phrase:?}: {err}"
        );
        assert_eq!(log_size(&url), before, "{file}: something was sent");
    }

    // A STIX 2.1 bundle goes through.
    let good = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenario/kaseya-2021/evidence.json")
        .display()
        .to_string();
    let before = log_size(&url);
    sb.run_ok(&send_args(&good));
    assert_eq!(log_size(&url), before + 1);
}

/// `hotline stix validate`: broken rules fail with each one named; a value outside an open
/// vocabulary is no error, only a note (text and `--json`).
#[test]
fn stix_validate_names_broken_rules_and_notes_open_vocabulary_values() {
    let sb = Sandbox::new();
    let indicator = |types: &str, created: &str| {
        format!(
            r#"{{"type": "bundle", "id": "bundle--1d0c5a52-8e4a-4e1a-9f61-7c9b0b1c2d3e", "objects": [
  {{"type": "indicator", "spec_version": "2.1",
   "id": "indicator--f5d1e3b2-6c2a-4d8e-9a5b-0c1d2e3f4a5b",
   "created": "{created}", "modified": "2021-07-03T10:00:00.000Z",
   "indicator_types": {types}, "pattern": "[ipv4-addr:value = '198.51.100.7']",
   "pattern_type": "stix", "valid_from": "2021-07-03T10:00:00Z"}}]}}"#
        )
    };
    let ok = "2021-07-03T10:00:00.000Z";
    std::fs::write(
        sb.path("plain.json"),
        indicator(r#"["malicious-activity"]"#, ok),
    )
    .unwrap();
    std::fs::write(
        sb.path("open.json"),
        indicator(r#"["malicious-activity", "ransomware-c2"]"#, ok),
    )
    .unwrap();
    std::fs::write(
        sb.path("broken.json"),
        indicator(r#"["ransomware-c2"]"#, "2021-07-04T10:00:00.000Z"),
    )
    .unwrap();

    let out = sb.run_ok(&["stix", "validate", "plain.json"]);
    assert!(
        out.contains("valid STIX 2.1, 1 objects") && !out.contains("note"),
        "{out}"
    );
    let out = sb.run_ok(&["stix", "validate", "open.json"]);
    assert!(
        out.contains("valid STIX 2.1") && out.contains("1 note(s)"),
        "{out}"
    );
    assert!(
        out.contains(
            "note: indicator--f5d1e3b2-6c2a-4d8e-9a5b-0c1d2e3f4a5b: objects[0].indicator_types[1]: \
             \"ransomware-c2\" is not in indicator-type-ov"
        ),
        "{out}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&sb.run_ok(&["--json", "stix", "validate", "open.json"])).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["notes"][0]["vocabulary"], "indicator-type-ov", "{v}");
    assert_eq!(v["notes"][0]["value"], "ransomware-c2", "{v}");
    assert_eq!(v["notes"].as_array().unwrap().len(), 1, "{v}");
    // A broken rule is an error whatever the vocabulary values.
    let err = sb.run_err(&["stix", "validate", "broken.json"]);
    assert!(
        err.contains("modified must be later than or equal to created")
            && err.contains("1 STIX error(s)"),
        "{err}"
    );
}
