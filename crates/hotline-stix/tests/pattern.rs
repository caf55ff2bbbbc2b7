//! The STIX patterning language: the example patterns of STIX 2.1 §9 parse, malformed ones are
//! refused with the byte position of the problem.
#![allow(clippy::unwrap_used, missing_docs)]

use hotline_stix::parse_pattern;
use hotline_stix::pattern::{
    ComparisonExpr, Literal, ObservationExpr, Operand, Operator, PathStep, Qualifier,
};

/// Patterns from the examples of STIX 2.1 §9 (and the Kaseya scenario).
const SPEC_EXAMPLES: &[&str] = &[
    r"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    r"[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']",
    r"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']",
    r"[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
    r"[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar'] WITHIN 5 SECONDS",
    r"[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
    r"[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\xd4\\xc3\\xb2\\xa1\\x02\\x00\\x04\\x00']",
    r"[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\Windows\\System32']",
    r"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
    r"[file:mime_type = 'image/bmp' AND file:magic_number_hex = h'ffd8']",
    r"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
    r"[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
    r"[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
    r"[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
    r"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
    r"[windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\CryptoLocker\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\Software\\Microsoft\\CurrentVersion\\Run\\CryptoLocker_0388']",
    r"[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']",
    r"[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
    r"[x-usb-device:usbdrive.serial_number = '575833344d43353635303031']",
    r"[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
    r"[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
    r"([file:name = 'foo.dll'] AND [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']",
    r"[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
    r"[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.000Z'",
    r"[file:size IN (1, 2, 3)] AND [file:name NOT LIKE 'foo%'] OR [file:name NOT = 'bar']",
    r"[EXISTS windows-registry-key:values] AND [NOT EXISTS file:name]",
    r"[network-traffic:src_port >= +1024 AND network-traffic:dst_port <= 65535 AND network-traffic:src_byte_count != -1]",
    r"[file:contents = b'aGVsbG8=' AND file:x_ratio < .5 AND file:x_list[-1] == 'x' AND file:name <> 'y']",
    r"[x-custom:x_flag = true] /* a comment */ // and a line comment",
    r"[ipv4-addr:value = '203.0.113.57']",
    r"[file:hashes.'SHA-256' = '5b9a6f2a1c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789ab']",
];

#[test]
fn the_spec_examples_parse() {
    for p in SPEC_EXAMPLES {
        if let Err(e) = parse_pattern(p) {
            panic!("{p}: {e}");
        }
    }
}

#[test]
fn precedence_and_qualifiers() {
    // FOLLOWEDBY binds loosest, then OR, then AND; qualifiers bind to one observation.
    let p =
        parse_pattern("[a:b = 1] AND [a:b = 2] OR [a:b = 3] FOLLOWEDBY [a:b = 4] WITHIN 5 SECONDS")
            .unwrap();
    let ObservationExpr::FollowedBy(left, right) = p.expr else {
        panic!("{:?}", p.expr)
    };
    assert!(
        matches!(*left, ObservationExpr::Or(ref l, _) if matches!(**l, ObservationExpr::And(..)))
    );
    assert!(matches!(*right, ObservationExpr::Qualified(_, Qualifier::Within(s)) if s == 5.0));

    let p = parse_pattern("[a:b = 1] REPEATS 2 TIMES WITHIN 3.5 SECONDS").unwrap();
    let ObservationExpr::Qualified(inner, Qualifier::Within(s)) = p.expr else {
        panic!()
    };
    assert_eq!(s, 3.5);
    assert!(matches!(
        *inner,
        ObservationExpr::Qualified(_, Qualifier::Repeats(2))
    ));

    // Inside brackets, AND binds tighter than OR.
    let p = parse_pattern("[a:b = 1 OR a:c = 2 AND a:d = 3]").unwrap();
    let ObservationExpr::Observation(ComparisonExpr::Or(_, r)) = p.expr else {
        panic!()
    };
    assert!(matches!(*r, ComparisonExpr::And(..)));
}

#[test]
fn paths_and_literals_are_typed() {
    let p = parse_pattern(
        r"[file:extensions.'windows-pebinary-ext'.sections[*].name NOT IN ('a\'b', 'c\\d', h'00ff', t'2020-02-29T00:00:00Z')]",
    )
    .unwrap();
    let ObservationExpr::Observation(ComparisonExpr::Test(t)) = p.expr else {
        panic!()
    };
    assert_eq!(t.path.object_type, "file");
    assert_eq!(
        t.path.steps,
        [
            PathStep::Property("extensions".into()),
            PathStep::Property("windows-pebinary-ext".into()),
            PathStep::Property("sections".into()),
            PathStep::AnyIndex,
            PathStep::Property("name".into()),
        ]
    );
    assert_eq!(
        t.path.to_string(),
        "file:extensions.'windows-pebinary-ext'.sections[*].name"
    );
    assert!(t.negated);
    assert_eq!(t.op, Operator::In);
    assert_eq!(
        t.value,
        Some(Operand::Set(vec![
            Literal::String("a'b".into()),
            Literal::String(r"c\d".into()),
            Literal::Hex(vec![0, 255]),
            Literal::Timestamp("2020-02-29T00:00:00Z".into()),
        ]))
    );
}

#[test]
fn malformed_patterns_are_refused_with_a_position() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "expected '[' or '('"),
        ("[file:name = 'x'", 16, "expected ']'"),
        ("[file:name = 'x']]", 17, "unexpected ']'"),
        ("[file:name 'x']", 11, "expected a comparison operator"),
        ("[file:name = 'unterminated]", 13, "unterminated string"),
        (r"[file:name = 'a\b']", 15, "may be escaped"),
        ("[file:hashes.SHA-256 = 'x']", 13, "must be quoted"),
        ("[file:name = 'x'] WITHIN 0 SECONDS", 25, "positive number"),
        ("[file:name = 'x'] WITHIN 5 MINUTES", 27, "expected SECONDS"),
        (
            "[file:name = 'x'] REPEATS 1.5 TIMES",
            26,
            "positive integer",
        ),
        ("[file:name LIKE 5]", 16, "does not take"),
        ("[file:size IN 5]", 14, "'(' to start the set"),
        (
            "[file:name = 'x'] and [file:name = 'y']",
            18,
            "unexpected identifier",
        ),
        (
            "[file:magic_number_hex = h'abc']",
            25,
            "even number of hex digits",
        ),
        (
            "[file:created = t'2014-13-01T00:00:00Z']",
            16,
            "timestamp literal",
        ),
        (
            "[file:name = 'x'] START '2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            24,
            "START takes a timestamp",
        ),
        ("[file:size > true]", 13, "does not take"),
        (
            "[file:name = 'x'] FOLLOWEDBY",
            28,
            "found the end of the pattern",
        ),
        ("[file:size = 01]", 13, "leading zeros"),
        ("[:name = 'x']", 1, "expected an object path"),
        ("[file:x = b'abc']", 10, "base64"),
        ("[file:name = 'x' # ]", 17, "unexpected character"),
        ("[file = 'x']", 6, "expected ':'"),
        ("[file:name[x] = 'x']", 11, "list index"),
        ("[file:name = 'x'] /* open", 18, "unterminated comment"),
    ];
    for (p, pos, words) in cases {
        match parse_pattern(p) {
            Ok(ast) => panic!("{p:?} accepted: {ast:?}"),
            Err(e) => {
                assert!(
                    e.pos == *pos && e.message.contains(words),
                    "{p:?}: got {e}, want at byte {pos}: {words}"
                );
            }
        }
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let p = format!("{}[a:b = 1]{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = parse_pattern(&p).unwrap_err();
    assert!(e.message.contains("nesting too deep"));
    let p = format!("[{}a:b = 1{}]", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse_pattern(&p).is_err());
}
