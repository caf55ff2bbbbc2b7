//! Parsing never panics, whatever the input.
#![allow(clippy::unwrap_used, missing_docs)]

use hotline_stix::{Bundle, parse_pattern};
use proptest::prelude::*;
use serde_json::{Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "indicator",
            "bundle",
            "identity",
            "malware",
            "file",
            "ipv4-addr",
            "relationship",
            "sighting",
            "marking-definition",
            "x-thing",
            "2021-07-03T09:00:00Z",
            "indicator--a5c52003-3759-4490-a8d5-67046ad7f175",
            "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            "[a:b = 1]",
            "stix",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "type",
                    "id",
                    "objects",
                    "spec_version",
                    "created",
                    "modified",
                    "pattern",
                    "pattern_type",
                    "valid_from",
                    "value",
                    "hashes",
                    "extensions",
                    "name",
                    "object_marking_refs",
                    "created_by_ref",
                    "x_y",
                    "other",
                ])
                .prop_map(str::to_owned),
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bundle_parse_never_panics(objects in prop::collection::vec(arb_json(), 0..6), top in arb_json()) {
        let b = json!({"type": "bundle", "id": "bundle--0463e379-dbda-4557-b8cb-d9175db73489", "objects": objects});
        let _ = Bundle::from_value(&b);
        let _ = Bundle::parse(b.to_string().as_bytes());
        let _ = Bundle::from_value(&top);
    }

    #[test]
    fn bundle_parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = Bundle::parse(&bytes);
    }

    #[test]
    fn pattern_parse_never_panics(s in "\\PC{0,80}") {
        let _ = parse_pattern(&s);
    }

    #[test]
    fn pattern_parse_never_panics_on_pattern_like_text(
        s in "[\\[\\]()':.*=<>!,a-zA-Z0-9 _-]{0,60}|(\\[|\\(| AND | OR | FOLLOWEDBY |file:name|'x'|t'|h'|b'| = | IN |\\)|\\]| WITHIN | SECONDS| REPEATS |\\d|-|\\.){0,20}"
    ) {
        if let Err(e) = parse_pattern(&s) {
            prop_assert!(e.pos <= s.len());
        }
    }
}
