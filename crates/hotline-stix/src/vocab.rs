//! STIX 2.1 open vocabularies (§10, the `-ov` ones) and the notes hotline gives about values
//! outside them.
//!
//! An open vocabulary lists the values a property should take, and any other string is still
//! allowed (§10 calls them open for that reason; the closed ones are the `-enum`s). So a value
//! outside the list never makes an object invalid — [`crate::Bundle::parse`] accepts it, as
//! `stix2-validator` does (it warns) — but tools that know only the listed values may not
//! recognise it, which a liaison officer wants to hear before sending evidence. Hence a
//! [`StixNote`]: what [`crate::Bundle::notes`] returns and `hotline stix validate` prints,
//! never an error. The closed enumerations of §10 (`-enum`) are rules, checked by the parser.
//!
//! The lists are those of STIX 2.1 (OASIS Standard, 10 June 2021), §10; the differential
//! test (`crates/hotline-cli/tests/taxii_interop.rs`) compares them, and which property uses
//! which, with `stix2-validator`'s, and every note with its warnings.

use std::fmt;

use serde_json::Value;

use crate::error::Subject;
use crate::object::StixObject;

/// An open vocabulary: its name in the spec and its values.
#[derive(Debug)]
pub struct OpenVocabulary {
    /// `indicator-type-ov`, …
    pub name: &'static str,
    /// The values the spec lists.
    pub values: &'static [&'static str],
}

macro_rules! vocab {
    ($id:ident, $name:literal, [$($v:literal),* $(,)?]) => {
        const $id: OpenVocabulary = OpenVocabulary { name: $name, values: &[$($v),*] };
    };
}

vocab!(
    ACCOUNT_TYPE,
    "account-type-ov",
    [
        "facebook",
        "ldap",
        "nis",
        "openid",
        "radius",
        "skype",
        "tacacs",
        "twitter",
        "unix",
        "windows-local",
        "windows-domain",
    ]
);
vocab!(
    ATTACK_MOTIVATION,
    "attack-motivation-ov",
    [
        "accidental",
        "coercion",
        "dominance",
        "ideology",
        "notoriety",
        "organizational-gain",
        "personal-gain",
        "personal-satisfaction",
        "revenge",
        "unpredictable",
    ]
);
vocab!(
    ATTACK_RESOURCE_LEVEL,
    "attack-resource-level-ov",
    [
        "individual",
        "club",
        "contest",
        "team",
        "organization",
        "government",
    ]
);
vocab!(
    GROUPING_CONTEXT,
    "grouping-context-ov",
    ["suspicious-activity", "malware-analysis", "unspecified",]
);
vocab!(
    HASH_ALGORITHM,
    "hash-algorithm-ov",
    [
        "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
    ]
);
vocab!(
    IDENTITY_CLASS,
    "identity-class-ov",
    [
        "individual",
        "group",
        "system",
        "organization",
        "class",
        "unknown",
    ]
);
vocab!(
    IMPLEMENTATION_LANGUAGE,
    "implementation-language-ov",
    [
        "applescript",
        "bash",
        "c",
        "c++",
        "c#",
        "go",
        "java",
        "javascript",
        "lua",
        "objective-c",
        "perl",
        "php",
        "powershell",
        "python",
        "ruby",
        "scala",
        "swift",
        "typescript",
        "visual-basic",
        "x86-32",
        "x86-64",
    ]
);
vocab!(
    INDICATOR_TYPE,
    "indicator-type-ov",
    [
        "anomalous-activity",
        "anonymization",
        "benign",
        "compromised",
        "malicious-activity",
        "attribution",
        "unknown",
    ]
);
vocab!(
    INDUSTRY_SECTOR,
    "industry-sector-ov",
    [
        "agriculture",
        "aerospace",
        "automotive",
        "chemical",
        "commercial",
        "communications",
        "construction",
        "defense",
        "education",
        "energy",
        "entertainment",
        "financial-services",
        "government",
        "emergency-services",
        "government-local",
        "government-national",
        "government-public-services",
        "government-regional",
        "healthcare",
        "hospitality-leisure",
        "infrastructure",
        "dams",
        "nuclear",
        "water",
        "insurance",
        "manufacturing",
        "mining",
        "non-profit",
        "pharmaceuticals",
        "retail",
        "technology",
        "telecommunications",
        "transportation",
        "utilities",
    ]
);
vocab!(
    INFRASTRUCTURE_TYPE,
    "infrastructure-type-ov",
    [
        "amplification",
        "anonymization",
        "botnet",
        "command-and-control",
        "control-system",
        "exfiltration",
        "firewall",
        "hosting-malware",
        "hosting-target-lists",
        "phishing",
        "reconnaissance",
        "routers-switches",
        "staging",
        "workstation",
        "unknown",
    ]
);
vocab!(
    MALWARE_RESULT,
    "malware-result-ov",
    ["malicious", "suspicious", "benign", "unknown",]
);
vocab!(
    MALWARE_CAPABILITIES,
    "malware-capabilities-ov",
    [
        "accesses-remote-machines",
        "anti-debugging",
        "anti-disassembly",
        "anti-emulation",
        "anti-memory-forensics",
        "anti-sandbox",
        "anti-vm",
        "captures-input-peripherals",
        "captures-output-peripherals",
        "captures-system-state-data",
        "cleans-traces-of-infection",
        "commits-fraud",
        "communicates-with-c2",
        "compromises-data-availability",
        "compromises-data-integrity",
        "compromises-system-availability",
        "controls-local-machine",
        "degrades-security-software",
        "degrades-system-updates",
        "determines-c2-server",
        "emails-spam",
        "escalates-privileges",
        "evades-av",
        "exfiltrates-data",
        "fingerprints-host",
        "hides-artifacts",
        "hides-executing-code",
        "infects-files",
        "infects-remote-machines",
        "installs-other-components",
        "persists-after-system-reboot",
        "prevents-artifact-access",
        "prevents-artifact-deletion",
        "probes-network-environment",
        "self-modifies",
        "steals-authentication-credentials",
        "violates-system-operational-integrity",
    ]
);
vocab!(
    MALWARE_TYPE,
    "malware-type-ov",
    [
        "adware",
        "backdoor",
        "bot",
        "bootkit",
        "ddos",
        "downloader",
        "dropper",
        "exploit-kit",
        "keylogger",
        "ransomware",
        "remote-access-trojan",
        "resource-exploitation",
        "rogue-security-software",
        "rootkit",
        "screen-capture",
        "spyware",
        "trojan",
        "unknown",
        "virus",
        "webshell",
        "wiper",
        "worm",
    ]
);
vocab!(
    PATTERN_TYPE,
    "pattern-type-ov",
    ["stix", "pcre", "sigma", "snort", "suricata", "yara",]
);
vocab!(
    PROCESSOR_ARCHITECTURE,
    "processor-architecture-ov",
    [
        "alpha", "arm", "ia-64", "mips", "powerpc", "sparc", "x86", "x86-64",
    ]
);
vocab!(
    REGION,
    "region-ov",
    [
        "africa",
        "eastern-africa",
        "middle-africa",
        "northern-africa",
        "southern-africa",
        "western-africa",
        "americas",
        "latin-america-caribbean",
        "south-america",
        "caribbean",
        "central-america",
        "northern-america",
        "asia",
        "central-asia",
        "eastern-asia",
        "southern-asia",
        "south-eastern-asia",
        "western-asia",
        "europe",
        "eastern-europe",
        "northern-europe",
        "southern-europe",
        "western-europe",
        "oceania",
        "antarctica",
        "australia-new-zealand",
        "melanesia",
        "micronesia",
        "polynesia",
    ]
);
vocab!(
    REPORT_TYPE,
    "report-type-ov",
    [
        "attack-pattern",
        "campaign",
        "identity",
        "indicator",
        "intrusion-set",
        "malware",
        "observed-data",
        "threat-actor",
        "threat-report",
        "tool",
        "vulnerability",
    ]
);
vocab!(
    THREAT_ACTOR_TYPE,
    "threat-actor-type-ov",
    [
        "activist",
        "competitor",
        "crime-syndicate",
        "criminal",
        "hacker",
        "insider-accidental",
        "insider-disgruntled",
        "nation-state",
        "sensationalist",
        "spy",
        "terrorist",
        "unknown",
    ]
);
vocab!(
    THREAT_ACTOR_ROLE,
    "threat-actor-role-ov",
    [
        "agent",
        "director",
        "independent",
        "infrastructure-architect",
        "infrastructure-operator",
        "malware-author",
        "sponsor",
    ]
);
vocab!(
    THREAT_ACTOR_SOPHISTICATION,
    "threat-actor-sophistication-ov",
    [
        "none",
        "minimal",
        "intermediate",
        "advanced",
        "expert",
        "innovator",
        "strategic",
    ]
);
vocab!(
    TOOL_TYPE,
    "tool-type-ov",
    [
        "denial-of-service",
        "exploitation",
        "information-gathering",
        "network-capture",
        "credential-exploitation",
        "remote-access",
        "vulnerability-scanning",
        "unknown",
    ]
);
vocab!(
    WINDOWS_PEBINARY_TYPE,
    "windows-pebinary-type-ov",
    ["dll", "exe", "sys"]
);

/// Which top-level property of which object type takes values of which open vocabulary
/// (a string, or a list of strings). Hashes (every `hashes` dictionary, at any depth, and
/// `file_header_hashes`) and the `pe_type` of a file's `windows-pebinary-ext` are found by
/// [`notes`] itself.
pub const USES: &[(&str, &str, &OpenVocabulary)] = &[
    ("user-account", "account_type", &ACCOUNT_TYPE),
    ("intrusion-set", "primary_motivation", &ATTACK_MOTIVATION),
    ("intrusion-set", "secondary_motivations", &ATTACK_MOTIVATION),
    ("threat-actor", "primary_motivation", &ATTACK_MOTIVATION),
    ("threat-actor", "secondary_motivations", &ATTACK_MOTIVATION),
    ("threat-actor", "personal_motivations", &ATTACK_MOTIVATION),
    ("intrusion-set", "resource_level", &ATTACK_RESOURCE_LEVEL),
    ("threat-actor", "resource_level", &ATTACK_RESOURCE_LEVEL),
    ("grouping", "context", &GROUPING_CONTEXT),
    ("identity", "identity_class", &IDENTITY_CLASS),
    ("identity", "sectors", &INDUSTRY_SECTOR),
    (
        "malware",
        "implementation_languages",
        &IMPLEMENTATION_LANGUAGE,
    ),
    (
        "malware",
        "architecture_execution_envs",
        &PROCESSOR_ARCHITECTURE,
    ),
    ("malware", "capabilities", &MALWARE_CAPABILITIES),
    ("malware", "malware_types", &MALWARE_TYPE),
    ("malware-analysis", "result", &MALWARE_RESULT),
    ("indicator", "indicator_types", &INDICATOR_TYPE),
    ("indicator", "pattern_type", &PATTERN_TYPE),
    (
        "infrastructure",
        "infrastructure_types",
        &INFRASTRUCTURE_TYPE,
    ),
    ("location", "region", &REGION),
    ("report", "report_types", &REPORT_TYPE),
    ("threat-actor", "threat_actor_types", &THREAT_ACTOR_TYPE),
    ("threat-actor", "roles", &THREAT_ACTOR_ROLE),
    (
        "threat-actor",
        "sophistication",
        &THREAT_ACTOR_SOPHISTICATION,
    ),
    ("tool", "tool_types", &TOOL_TYPE),
];

/// Every open vocabulary of §10, for the differential test and documentation.
pub const VOCABULARIES: &[&OpenVocabulary] = &[
    &ACCOUNT_TYPE,
    &ATTACK_MOTIVATION,
    &ATTACK_RESOURCE_LEVEL,
    &GROUPING_CONTEXT,
    &HASH_ALGORITHM,
    &IDENTITY_CLASS,
    &IMPLEMENTATION_LANGUAGE,
    &INDICATOR_TYPE,
    &INDUSTRY_SECTOR,
    &INFRASTRUCTURE_TYPE,
    &MALWARE_RESULT,
    &MALWARE_CAPABILITIES,
    &MALWARE_TYPE,
    &PATTERN_TYPE,
    &PROCESSOR_ARCHITECTURE,
    &REGION,
    &REPORT_TYPE,
    &THREAT_ACTOR_TYPE,
    &THREAT_ACTOR_ROLE,
    &THREAT_ACTOR_SOPHISTICATION,
    &TOOL_TYPE,
    &WINDOWS_PEBINARY_TYPE,
];

/// A value outside the open vocabulary its property uses: allowed, but worth knowing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixNote {
    /// The object.
    pub subject: Subject,
    /// The JSON path of the value: `objects[2].indicator_types[1]`, `objects[0].hashes.'sha256'`.
    pub path: String,
    /// The value (for hashes, the algorithm's name).
    pub value: String,
    /// The vocabulary, e.g. `indicator-type-ov`.
    pub vocabulary: &'static str,
}

impl fmt::Display for StixNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {:?} is not in {} (STIX 2.1 §10); allowed, as the vocabulary is open, but \
             tools that know only its values may not recognise it",
            self.subject, self.path, self.value, self.vocabulary
        )
    }
}

/// The notes about `objects` (already valid), in object order.
pub(crate) fn notes(objects: &[StixObject]) -> Vec<StixNote> {
    let mut out = Vec::new();
    for o in objects {
        let subject = Subject::Id(o.id.as_str().to_owned());
        let base = format!("objects[{}]", o.index);
        let mut note = |path: String, value: &str, vocab: &OpenVocabulary| {
            if !vocab.values.contains(&value) {
                out.push(StixNote {
                    subject: subject.clone(),
                    path,
                    value: value.to_owned(),
                    vocabulary: vocab.name,
                });
            }
        };
        for (ty, prop, vocab) in USES {
            if o.object_type != *ty {
                continue;
            }
            match o.json.get(*prop) {
                Some(Value::String(s)) => note(format!("{base}.{prop}"), s, vocab),
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(s) = item.as_str() {
                            note(format!("{base}.{prop}[{i}]"), s, vocab);
                        }
                    }
                }
                _ => {}
            }
        }
        if o.object_type == "file"
            && let Some(Value::String(pe)) = o
                .json
                .get("extensions")
                .and_then(|e| e.get("windows-pebinary-ext"))
                .and_then(|e| e.get("pe_type"))
        {
            note(
                format!("{base}.extensions.'windows-pebinary-ext'.pe_type"),
                pe,
                &WINDOWS_PEBINARY_TYPE,
            );
        }
        for (key, v) in &o.json {
            hash_names(v, key, &format!("{base}.{key}"), &mut note);
        }
    }
    out
}

/// Finds every hashes dictionary (`hashes`, `file_header_hashes`) at or below `v` and notes
/// algorithm names outside hash-algorithm-ov that are not custom (`x_`, §2.7).
fn hash_names(
    v: &Value,
    key: &str,
    path: &str,
    note: &mut impl FnMut(String, &str, &OpenVocabulary),
) {
    match v {
        Value::Object(m) if key == "hashes" || key == "file_header_hashes" => {
            for alg in m.keys() {
                if !alg.starts_with("x_") {
                    note(format!("{path}.'{alg}'"), alg, &HASH_ALGORITHM);
                }
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let p = if crate::types::is_property_name(k) {
                    format!("{path}.{k}")
                } else {
                    format!("{path}.'{k}'")
                };
                hash_names(v, k, &p, note);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                hash_names(v, "", &format!("{path}[{i}]"), note);
            }
        }
        _ => {}
    }
}
