//! Bundles: the Kaseya scenario evidence, and a table of invalid objects, each asserting the
//! object, the property path and the rule.
#![allow(clippy::unwrap_used, missing_docs)]

use hotline_stix::{Bundle, Detail, Subject, Tlp};
use serde_json::{Value, json};

const EVIDENCE: &str = include_str!("../../../scenario/kaseya-2021/evidence.json");

#[test]
fn scenario_evidence_parses_with_no_errors_and_is_amber() {
    let b = Bundle::parse(EVIDENCE.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.objects.len(), 24);
    assert_eq!(b.tlp(), Some(Tlp::Amber));
    let patterns = b
        .objects
        .iter()
        .filter(|o| {
            matches!(
                &o.detail,
                Detail::Indicator {
                    parsed: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(patterns, 3);
    let ind = b
        .get("indicator--a5c52003-3759-4490-a8d5-67046ad7f175")
        .next()
        .unwrap();
    assert_eq!(b.object_tlp(ind), Some(Tlp::Amber));
    let ta = b
        .get("threat-actor--431bbf04-efa3-4189-a007-3d06933a673d")
        .next()
        .unwrap();
    assert_eq!(b.object_tlp(ta), None);
    assert!(b.objects.iter().any(|o| matches!(
        &o.detail,
        Detail::CryptocurrencyWallet { currency, .. } if currency == "BTC"
    )));
}

#[test]
fn official_tlp2_ids_resolve_without_a_definition_in_the_bundle() {
    for t in Tlp::ALL {
        assert_eq!(Tlp::from_official_id(t.tlp2_id()), Some(t));
    }
    let b = Bundle::from_value(&bundle(vec![json!({
        "type": "identity", "spec_version": "2.1",
        "id": "identity--446f0fd0-1937-4bb2-ac3e-c740abe00e79",
        "created": "2021-07-03T09:00:00.000Z", "modified": "2021-07-03T09:00:00.000Z",
        "name": "x",
        "object_marking_refs": [Tlp::Red.tlp2_id(), Tlp::Green.tlp2_id()]
    })]))
    .unwrap();
    assert_eq!(b.tlp(), Some(Tlp::Red));
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": "bundle--0463e379-dbda-4557-b8cb-d9175db73489", "objects": objects})
}

const IND: &str = "indicator--a5c52003-3759-4490-a8d5-67046ad7f175";

fn indicator() -> Value {
    json!({
        "type": "indicator", "spec_version": "2.1", "id": IND,
        "created": "2021-07-03T09:00:00.000Z", "modified": "2021-07-03T09:00:00.000Z",
        "pattern": "[ipv4-addr:value = '203.0.113.57']", "pattern_type": "stix",
        "valid_from": "2021-07-03T09:00:00Z"
    })
}

fn with(mut v: Value, key: &str, val: Value) -> Value {
    v[key] = val;
    v
}

fn without(mut v: Value, key: &str) -> Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

/// (object, expected subject, expected path, expected words in the rule text)
fn cases() -> Vec<(Value, Subject, &'static str, &'static str)> {
    let id = || Subject::Id(IND.to_owned());
    vec![
        (
            without(indicator(), "id"),
            Subject::Index(0),
            "objects[0].id",
            "required property is missing",
        ),
        (
            with(indicator(), "id", json!("indicator--1234")),
            id0("indicator--1234"),
            "objects[0].id",
            "§2.9: id must be <type>--<UUID>",
        ),
        (
            with(
                indicator(),
                "id",
                json!("malware--a5c52003-3759-4490-a8d5-67046ad7f175"),
            ),
            id0("malware--a5c52003-3759-4490-a8d5-67046ad7f175"),
            "objects[0].id",
            "the object's own type",
        ),
        (
            with(
                indicator(),
                "id",
                json!("indicator--a5c52003-3759-5490-a8d5-67046ad7f175"),
            ),
            id0("indicator--a5c52003-3759-5490-a8d5-67046ad7f175"),
            "objects[0].id",
            "must be version 4, found version 5",
        ),
        (
            with(indicator(), "type", json!("In")),
            id(),
            "objects[0].type",
            "§3.1: type must be 3–250",
        ),
        (
            without(indicator(), "spec_version"),
            id(),
            "objects[0].spec_version",
            "§3.2: required property is missing",
        ),
        (
            with(indicator(), "spec_version", json!("2.0")),
            id(),
            "objects[0].spec_version",
            "§3.2: spec_version must be \"2.1\"",
        ),
        (
            with(indicator(), "created", json!("2021-07-03 09:00:00")),
            id(),
            "objects[0].created",
            "§2.15: timestamp must be RFC 3339",
        ),
        (
            with(indicator(), "created", json!("2021-07-03T09:00:00+00:00")),
            id(),
            "objects[0].created",
            "§2.15",
        ),
        (
            with(indicator(), "created", json!("2021-02-30T09:00:00Z")),
            id(),
            "objects[0].created",
            "§2.15",
        ),
        (
            with(indicator(), "modified", json!("2021-07-02T09:00:00.000Z")),
            id(),
            "objects[0].modified",
            "§3.2: modified must be later than or equal to created",
        ),
        (
            with(
                indicator(),
                "created_by_ref",
                json!("malware--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800"),
            ),
            id(),
            "objects[0].created_by_ref",
            "must reference an identity",
        ),
        (
            with(
                indicator(),
                "object_marking_refs",
                json!(["identity--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800"]),
            ),
            id(),
            "objects[0].object_marking_refs[0]",
            "marking-definition",
        ),
        (
            with(indicator(), "object_marking_refs", json!([])),
            id(),
            "objects[0].object_marking_refs",
            "§2.12: a list must not be empty",
        ),
        (
            with(indicator(), "confidence", json!(101)),
            id(),
            "objects[0].confidence",
            "must be an integer in 0..=100",
        ),
        (
            with(indicator(), "labels", json!(["ok", 3])),
            id(),
            "objects[0].labels[1]",
            "must be a string",
        ),
        (
            with(indicator(), "revoked", json!("no")),
            id(),
            "objects[0].revoked",
            "boolean",
        ),
        (
            with(indicator(), "lang", json!("english language")),
            id(),
            "objects[0].lang",
            "RFC 5646",
        ),
        (
            with(
                indicator(),
                "external_references",
                json!([{"source_name": "cve"}]),
            ),
            id(),
            "objects[0].external_references[0]",
            "§2.5: an external reference needs description, url or external_id",
        ),
        (
            with(
                indicator(),
                "external_references",
                json!([{"url": "https://x.example"}]),
            ),
            id(),
            "objects[0].external_references[0].source_name",
            "§2.5: required",
        ),
        (
            with(
                indicator(),
                "external_references",
                json!([{"source_name": "cve", "external_id": "2021-30116"}]),
            ),
            id(),
            "objects[0].external_references[0].external_id",
            "CVE-",
        ),
        (
            with(indicator(), "severity", json!("high")),
            id(),
            "objects[0].severity",
            "§11.1: severity is not a property",
        ),
        (
            with(indicator(), "x_severity", json!("high")),
            Subject::Bundle,
            "",
            "",
        ),
        (
            with(
                indicator(),
                "pattern",
                json!("[ipv4-addr:value = '203.0.113.57'"),
            ),
            id(),
            "objects[0].pattern",
            "§9: not a STIX pattern: at byte 33: expected ']'",
        ),
        (
            with(indicator(), "pattern", json!("ipv4-addr:value = '1.2.3.4'")),
            id(),
            "objects[0].pattern",
            "§9",
        ),
        (
            with(indicator(), "pattern_type", json!("sigma")),
            Subject::Bundle,
            "",
            "",
        ),
        (
            without(indicator(), "valid_from"),
            id(),
            "objects[0].valid_from",
            "§4.7: required",
        ),
        (
            with(indicator(), "valid_until", json!("2021-07-03T09:00:00Z")),
            id(),
            "objects[0].valid_until",
            "§4.7: valid_until must be later than valid_from",
        ),
        (
            json!({"type": "malware", "spec_version": "2.1", "id": "malware--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "is_family": true}),
            id0("malware--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800"),
            "objects[0].name",
            "§4.11: name is required when is_family is true",
        ),
        (
            json!({"type": "malware", "spec_version": "2.1", "id": "malware--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "name": "x"}),
            id0("malware--d0e1adc9-ea7e-4fc3-887e-d3ab0a93c800"),
            "objects[0].is_family",
            "§4.11: required",
        ),
        (
            json!({"type": "threat-actor", "spec_version": "2.1", "id": "threat-actor--431bbf04-efa3-4189-a007-3d06933a673d", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z"}),
            id0("threat-actor--431bbf04-efa3-4189-a007-3d06933a673d"),
            "objects[0].name",
            "§4.17: required",
        ),
        (
            json!({"type": "location", "spec_version": "2.1", "id": "location--5d5aff06-8db5-45d8-87f6-6026b7793bf1", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "latitude": 55.7}),
            id0("location--5d5aff06-8db5-45d8-87f6-6026b7793bf1"),
            "objects[0]",
            "§4.10: latitude and longitude go together",
        ),
        (
            json!({"type": "observed-data", "spec_version": "2.1", "id": "observed-data--2bc7a031-fdca-4501-8dd6-effa117266c8", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "first_observed": "2021-07-02T16:00:00Z", "last_observed": "2021-07-02T20:00:00Z", "number_observed": 0, "object_refs": ["ipv4-addr--305c9bcb-fd6d-5452-b933-a8180952a226"]}),
            id0("observed-data--2bc7a031-fdca-4501-8dd6-effa117266c8"),
            "objects[0].number_observed",
            "§4.14: must be an integer in 1..=999999999",
        ),
        (
            json!({"type": "report", "spec_version": "2.1", "id": "report--2bc7a031-fdca-4501-8dd6-effa117266c8", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "name": "r", "published": "2021-07-03T09:00:00Z", "object_refs": []}),
            id0("report--2bc7a031-fdca-4501-8dd6-effa117266c8"),
            "objects[0].object_refs",
            "§2.12: a list must not be empty",
        ),
        (
            json!({"type": "relationship", "spec_version": "2.1", "id": "relationship--2d9f2476-d862-4413-914e-9ce63349fa0a", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "relationship_type": "uses", "source_ref": "threat-actor--431bbf04-efa3-4189-a007-3d06933a673d"}),
            id0("relationship--2d9f2476-d862-4413-914e-9ce63349fa0a"),
            "objects[0].target_ref",
            "§5.1: required",
        ),
        (
            json!({"type": "sighting", "spec_version": "2.1", "id": "sighting--2d9f2476-d862-4413-914e-9ce63349fa0a", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "sighting_of_ref": "ipv4-addr--305c9bcb-fd6d-5452-b933-a8180952a226"}),
            id0("sighting--2d9f2476-d862-4413-914e-9ce63349fa0a"),
            "objects[0].sighting_of_ref",
            "§5.2: must reference an SDO",
        ),
        (
            json!({"type": "sighting", "spec_version": "2.1", "id": "sighting--2d9f2476-d862-4413-914e-9ce63349fa0a", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "sighting_of_ref": IND, "count": 1_000_000_000}),
            id0("sighting--2d9f2476-d862-4413-914e-9ce63349fa0a"),
            "objects[0].count",
            "§5.2: must be an integer in 0..=999999999",
        ),
        (
            json!({"type": "ipv4-addr", "id": "ipv4-addr--305c9bcb-fd6d-5452-b933-a8180952a226", "value": "203.0.113.300"}),
            id0("ipv4-addr--305c9bcb-fd6d-5452-b933-a8180952a226"),
            "objects[0].value",
            "§6.8: value must be an IPv4 address or CIDR block",
        ),
        (
            json!({"type": "ipv6-addr", "id": "ipv6-addr--305c9bcb-fd6d-5452-b933-a8180952a226", "value": "2001:db8::/129"}),
            id0("ipv6-addr--305c9bcb-fd6d-5452-b933-a8180952a226"),
            "objects[0].value",
            "§6.9",
        ),
        (
            json!({"type": "file", "id": "file--42b63bb4-c865-5392-addb-5b5c7114a8d7", "hashes": {"SHA-256": "abc"}}),
            id0("file--42b63bb4-c865-5392-addb-5b5c7114a8d7"),
            "objects[0].hashes.'SHA-256'",
            "§2.7: a SHA-256 hash is 64 hexadecimal digits",
        ),
        (
            json!({"type": "file", "id": "file--42b63bb4-c865-5392-addb-5b5c7114a8d7", "hashes": {"sha256": "5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"}}),
            // An algorithm outside hash-algorithm-ov: allowed (the vocabulary is open), noted.
            id0("file--42b63bb4-c865-5392-addb-5b5c7114a8d7"),
            "",
            "",
        ),
        (
            json!({"type": "email-addr", "id": "email-addr--42b63bb4-c865-5392-addb-5b5c7114a8d7", "value": "nobody"}),
            id0("email-addr--42b63bb4-c865-5392-addb-5b5c7114a8d7"),
            "objects[0].value",
            "§6.5",
        ),
        (
            json!({"type": "network-traffic", "id": "network-traffic--42b63bb4-c865-5392-addb-5b5c7114a8d7", "protocols": ["tcp"], "src_ref": "file--42b63bb4-c865-5392-addb-5b5c7114a8d7"}),
            id0("network-traffic--42b63bb4-c865-5392-addb-5b5c7114a8d7"),
            "objects[0].src_ref",
            "§6.12: must reference an ipv4-addr",
        ),
        (
            json!({"type": "network-traffic", "id": "network-traffic--42b63bb4-c865-5392-addb-5b5c7114a8d7", "dst_ref": "ipv4-addr--305c9bcb-fd6d-5452-b933-a8180952a226"}),
            id0("network-traffic--42b63bb4-c865-5392-addb-5b5c7114a8d7"),
            "objects[0].protocols",
            "§6.12: required",
        ),
        (
            json!({"type": "cryptocurrency-wallet", "id": "cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227", "address": "bc1q"}),
            id0("cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227"),
            "objects[0].type",
            "§11.2: unknown object type",
        ),
        (
            json!({"type": "cryptocurrency-wallet", "id": "cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227", "address": "bc1q",
                "extensions": {hotline_stix::CRYPTOCURRENCY_WALLET_EXTENSION_ID: {"extension_type": "new-sco"}}}),
            id0("cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227"),
            "objects[0].currency",
            "hotline wallet extension: required",
        ),
        (
            json!({"type": "x-cryptocurrency-wallet", "id": "x-cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227", "currency": "BTC"}),
            id0("x-cryptocurrency-wallet--29549141-7910-4b4d-a28f-12f5b3639227"),
            "objects[0].address",
            "hotline wallet extension: required",
        ),
        (
            json!({"type": "incident", "spec_version": "2.1", "id": "incident--29549141-7910-4b4d-a28f-12f5b3639227", "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "name": "VSA",
                "extensions": {hotline_stix::INCIDENT_CORE_EXTENSION_ID: {"extension_type": "property-extension", "determination": "maybe", "investigation_status": "new"}}}),
            id0("incident--29549141-7910-4b4d-a28f-12f5b3639227"),
            "objects[0].extensions.'extension-definition--ef765651-680c-498d-9894-99799f2fa126'.determination",
            "Incident Core extension: determination must be",
        ),
        (
            json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--0463e379-dbda-4557-b8cb-d9175db73489", "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER",
                "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "amber"}}}),
            id0("marking-definition--0463e379-dbda-4557-b8cb-d9175db73489"),
            "objects[0].id",
            "TLP 2.0: a TLP:AMBER marking must use the official id marking-definition--55d920b0",
        ),
        (
            json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER",
                "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "orange"}}}),
            id0("marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"),
            "objects[0].extensions.'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d'.tlp_2_0",
            "TLP 2.0: tlp_2_0 must be",
        ),
        (
            json!({"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--0463e379-dbda-4557-b8cb-d9175db73489", "created": "2022-10-01T00:00:00.000Z"}),
            id0("marking-definition--0463e379-dbda-4557-b8cb-d9175db73489"),
            "objects[0].definition_type",
            "§7.2.1: required",
        ),
        (
            json!("indicator"),
            Subject::Index(0),
            "objects[0]",
            "§8: must be a JSON object",
        ),
    ]
}

fn id0(s: &str) -> Subject {
    Subject::Id(s.to_owned())
}

#[test]
fn invalid_objects_are_reported_with_object_path_and_rule() {
    for (i, (obj, subject, path, words)) in cases().into_iter().enumerate() {
        let r = Bundle::from_value(&bundle(vec![obj.clone()]));
        if path.is_empty() {
            // A valid variation.
            assert!(r.is_ok(), "case {i}: {obj}: {}", r.err().unwrap());
            continue;
        }
        let errs = r
            .err()
            .unwrap_or_else(|| panic!("case {i}: accepted {obj}"));
        let hit = errs
            .errors()
            .iter()
            .find(|e| e.path == path && e.subject == subject && e.rule.to_string().contains(words));
        assert!(
            hit.is_some(),
            "case {i}: expected {subject} {path} {words:?}, got:\n{errs}"
        );
    }
}

#[test]
fn the_bundle_itself_is_checked() {
    let e = Bundle::parse(b"[]").unwrap_err();
    assert_eq!(e.errors()[0].subject, Subject::Bundle);
    assert!(
        e.to_string()
            .contains("§8: the top level must be a STIX bundle")
    );

    let e = Bundle::parse(br#"{"type": "bundle", "id": "bundle--1"}"#).unwrap_err();
    assert_eq!(e.errors()[0].path, "id");

    let e = Bundle::parse(br#"{"type": "bundle", "type": "bundle"}"#).unwrap_err();
    assert!(e.to_string().contains("duplicate key"), "{e}");

    let e = Bundle::parse(b"{not json").unwrap_err();
    assert!(e.to_string().contains("not a JSON document"));

    let e = Bundle::from_value(&json!({"type": "bundle", "id": "bundle--0463e379-dbda-4557-b8cb-d9175db73489", "spec_version": "2.1"})).unwrap_err();
    assert_eq!(e.errors()[0].path, "spec_version");
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let a = with(indicator(), "confidence", json!(-1));
    let b = without(
        with(
            indicator(),
            "id",
            json!("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"),
        ),
        "pattern",
    );
    let e = Bundle::from_value(&bundle(vec![a, b])).unwrap_err();
    let paths: Vec<_> = e.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["objects[0].confidence", "objects[1].pattern"]);
    assert_eq!(e.to_string().lines().count(), 2);
}

/// Values outside open vocabularies (§10) are accepted, each with a note naming the object, the
/// path, the value and the vocabulary; values inside them, and custom `x_` hashes, are not noted.
#[test]
fn values_outside_open_vocabularies_are_accepted_with_a_note() {
    let ta = "threat-actor--2d9f2476-d862-4413-914e-9ce63349fa0a";
    let file = "file--42b63bb4-c865-5392-addb-5b5c7114a8d7";
    let ind = "indicator--0b6a6a1c-8a0b-4a4b-9c65-1c0f6f3e4d5a";
    let ua = "user-account--0d5b424b-93b8-5cd8-ac36-306e1789d63c";
    let b = bundle(vec![
        json!({"type": "threat-actor", "spec_version": "2.1", "id": ta,
            "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z", "name": "REvil",
            "threat_actor_types": ["crime-syndicate", "ransomware-gang"],
            "roles": ["agent"], "sophistication": "expert", "primary_motivation": "greed",
            "external_references": [{"source_name": "x", "url": "https://x.example/",
                "hashes": {"SHA-256": "5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab"}}]}),
        json!({"type": "file", "id": file, "name": "agent.exe",
            "hashes": {"SHA-256": "5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab",
                "sha256": "5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab",
                "x_imphash": "f34d5f2d4577ed6d9ceec516c1f5a744"},
            "extensions": {"windows-pebinary-ext": {"pe_type": "driver"}}}),
        json!({"type": "indicator", "spec_version": "2.1", "id": ind,
            "created": "2021-07-03T09:00:00Z", "modified": "2021-07-03T09:00:00Z",
            "indicator_types": ["malicious-activity"], "pattern": "[ipv4-addr:value = '198.51.100.7']",
            "pattern_type": "stix", "valid_from": "2021-07-03T09:00:00Z"}),
        json!({"type": "user-account", "id": ua, "user_id": "1001", "account_type": "Unix"}),
    ]);
    let parsed = Bundle::from_value(&b).unwrap_or_else(|e| panic!("{e}"));
    let notes: Vec<(String, String, String, &str)> = parsed
        .notes()
        .into_iter()
        .map(|n| (n.subject.to_string(), n.path, n.value, n.vocabulary))
        .collect();
    let n = |id: &str, path: &str, value: &str, vocab| {
        (id.to_owned(), path.to_owned(), value.to_owned(), vocab)
    };
    assert_eq!(
        notes,
        vec![
            n(
                ta,
                "objects[0].primary_motivation",
                "greed",
                "attack-motivation-ov"
            ),
            n(
                ta,
                "objects[0].threat_actor_types[1]",
                "ransomware-gang",
                "threat-actor-type-ov"
            ),
            n(
                file,
                "objects[1].extensions.'windows-pebinary-ext'.pe_type",
                "driver",
                "windows-pebinary-type-ov"
            ),
            n(
                file,
                "objects[1].hashes.'sha256'",
                "sha256",
                "hash-algorithm-ov"
            ),
            n(ua, "objects[3].account_type", "Unix", "account-type-ov"),
        ]
    );
    let text = parsed.notes()[0].to_string();
    assert!(
        text.contains("\"greed\" is not in attack-motivation-ov") && text.contains("allowed"),
        "{text}"
    );
    // Every value of every vocabulary is known to itself: no note.
    for v in hotline_stix::vocab::VOCABULARIES {
        assert!(!v.values.is_empty(), "{}", v.name);
        let mut sorted = v.values.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), v.values.len(), "{} repeats a value", v.name);
    }
}
