//! STIX objects: the common properties (§3.2), the types hotline reads, extensions (§7.3) and
//! custom content (§11).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::{Map, Value};

use crate::check::{Ck, is_object};
use crate::error::{Rule, Subject};
use crate::pattern::{Pattern, parse_pattern};
use crate::tlp::{TLP2_EXTENSION_ID, Tlp};
use crate::types::{StixId, Timestamp, is_property_name, is_type_name, uuid_version};

/// The OASIS Incident Core extension (a property-extension of `incident`).
pub const INCIDENT_CORE_EXTENSION_ID: &str =
    "extension-definition--ef765651-680c-498d-9894-99799f2fa126";

/// hotline's own extension-definition for a new SCO `cryptocurrency-wallet` (`extension_type`
/// `new-sco`) with two required string properties, `address` and `currency`. The UUID is a
/// version 4 UUID generated once for hotline (2025) and fixed forever: the id names the
/// definition, so it must never change. The legacy custom object `x-cryptocurrency-wallet`
/// (as in the Kaseya scenario) is held to the same two properties.
pub const CRYPTOCURRENCY_WALLET_EXTENSION_ID: &str =
    "extension-definition--58479763-65a4-4b09-91ca-170e1dfae8b0";

/// What kind of STIX object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// STIX Domain Object (§4), or a new SDO defined by an extension.
    Sdo,
    /// STIX Relationship Object (§5), or a new SRO defined by an extension.
    Sro,
    /// STIX Cyber-observable Object (§6), or a new SCO defined by an extension.
    Sco,
    /// `marking-definition` (§7.2.1).
    MarkingDefinition,
    /// `language-content` or `extension-definition` (§7.1, §7.3).
    Meta,
    /// A legacy custom object, type `x-…` (§11.2).
    Custom,
}

/// A valid STIX object.
#[derive(Debug, Clone)]
pub struct StixObject {
    /// Its index in the bundle's `objects`.
    pub index: usize,
    /// `id`.
    pub id: StixId,
    /// `type`.
    pub object_type: String,
    /// Kind of object.
    pub category: Category,
    /// `created` (SDOs, SROs, marking definitions; optional for custom objects).
    pub created: Option<Timestamp>,
    /// `modified`.
    pub modified: Option<Timestamp>,
    /// `created_by_ref` (an identity).
    pub created_by_ref: Option<StixId>,
    /// `object_marking_refs` (marking definitions).
    pub object_marking_refs: Vec<StixId>,
    /// What hotline reads of the type-specific properties.
    pub detail: Detail,
    /// The object as received.
    pub json: Map<String, Value>,
}

/// The type-specific properties hotline reads, typed.
#[derive(Debug, Clone)]
pub enum Detail {
    /// `indicator`.
    Indicator {
        /// `pattern`, as written.
        pattern: String,
        /// `pattern_type`.
        pattern_type: String,
        /// The parsed pattern when `pattern_type` is `stix`.
        parsed: Option<Pattern>,
        /// `valid_from`.
        valid_from: Timestamp,
        /// `valid_until`.
        valid_until: Option<Timestamp>,
    },
    /// `relationship`.
    Relationship {
        /// `relationship_type`.
        relationship_type: String,
        /// `source_ref`.
        source_ref: StixId,
        /// `target_ref`.
        target_ref: StixId,
    },
    /// `sighting`.
    Sighting {
        /// `sighting_of_ref`.
        sighting_of_ref: StixId,
        /// `count`.
        count: Option<u32>,
    },
    /// `marking-definition`.
    MarkingDefinition {
        /// `name`.
        name: Option<String>,
        /// The TLP level it defines, if it is a TLP marking.
        tlp: Option<Tlp>,
    },
    /// `ipv4-addr` / `ipv6-addr`: an address or a CIDR block.
    IpAddr {
        /// The address.
        addr: IpAddr,
        /// The CIDR prefix length.
        prefix: Option<u8>,
    },
    /// `domain-name`, `url`, `email-addr`: the `value`.
    Value(String),
    /// `file`.
    File {
        /// `name`.
        name: Option<String>,
        /// `hashes`: algorithm and hex value.
        hashes: Vec<(String, String)>,
    },
    /// `network-traffic`.
    NetworkTraffic {
        /// `protocols`.
        protocols: Vec<String>,
        /// `src_ref`.
        src_ref: Option<StixId>,
        /// `dst_ref`.
        dst_ref: Option<StixId>,
    },
    /// A cryptocurrency wallet (hotline's extension, or `x-cryptocurrency-wallet`).
    CryptocurrencyWallet {
        /// `address`.
        address: String,
        /// `currency`.
        currency: String,
    },
    /// An SDO with a `name` (threat-actor, malware family, identity...).
    Named(String),
    /// Nothing more is read.
    Other,
}

const SDO_TYPES: [&str; 19] = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

const SCO_TYPES: [&str; 18] = [
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

const SDO_COMMON: [&str; 14] = [
    "type",
    "spec_version",
    "id",
    "created_by_ref",
    "created",
    "modified",
    "revoked",
    "labels",
    "confidence",
    "lang",
    "external_references",
    "object_marking_refs",
    "granular_markings",
    "extensions",
];

const SCO_COMMON: [&str; 7] = [
    "type",
    "spec_version",
    "id",
    "object_marking_refs",
    "granular_markings",
    "defanged",
    "extensions",
];

const MARKING_PROPS: [&str; 12] = [
    "type",
    "spec_version",
    "id",
    "created_by_ref",
    "created",
    "external_references",
    "object_marking_refs",
    "granular_markings",
    "extensions",
    "name",
    "definition_type",
    "definition",
];

/// An empty JSON object (for property checks that do not apply).
static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

/// The type of a property in [`SCHEMAS`].
#[derive(Clone, Copy)]
enum P {
    /// A string.
    Str,
    /// An integer (`min`, `max`).
    Int(i64, i64),
    /// A boolean.
    Bool,
    /// A timestamp.
    Time,
    /// A non-empty list of strings.
    Strs,
    /// An identifier of one of these types (any when empty).
    Ref(&'static [&'static str]),
    /// A non-empty list of identifiers of these types (any when empty).
    Refs(&'static [&'static str]),
    /// Hashes (§2.7).
    Hashes,
    /// A dictionary (a JSON object).
    Dict,
    /// Kill chain phases (§2.8).
    KillChain,
    /// A non-empty list of objects.
    Objects,
}

/// A type's properties, checked generically: each with its type, whether required.
struct Schema {
    section: &'static str,
    props: &'static [(&'static str, P, bool)],
    /// At least one of these must be present (empty: no such rule).
    one_of: &'static [&'static str],
}

/// Schemas of the SDOs and SCOs that hotline does not read but checks (§4, §6).
const SCHEMAS: &[(&str, Schema)] = {
    use P::*;
    const SW: &[&str] = &["software"];
    const UA: &[&str] = &["user-account"];
    const EA: &[&str] = &["email-addr"];
    &[
        (
            "attack-pattern",
            Schema {
                section: "§4.1",
                one_of: &[],
                props: &[
                    ("name", Str, true),
                    ("description", Str, false),
                    ("aliases", Strs, false),
                    ("kill_chain_phases", KillChain, false),
                ],
            },
        ),
        (
            "campaign",
            Schema {
                section: "§4.2",
                one_of: &[],
                props: &[
                    ("name", Str, true),
                    ("description", Str, false),
                    ("aliases", Strs, false),
                    ("first_seen", Time, false),
                    ("last_seen", Time, false),
                    ("objective", Str, false),
                ],
            },
        ),
        (
            "course-of-action",
            Schema {
                section: "§4.3",
                one_of: &[],
                props: &[
                    ("name", Str, true),
                    ("description", Str, false),
                    ("action", Dict, false),
                ],
            },
        ),
        (
            "grouping",
            Schema {
                section: "§4.4",
                one_of: &[],
                props: &[
                    ("name", Str, false),
                    ("description", Str, false),
                    ("context", Str, true),
                    ("object_refs", Refs(&[]), true),
                ],
            },
        ),
        (
            "malware-analysis",
            Schema {
                section: "§4.11",
                one_of: &["result", "analysis_sco_refs"],
                props: &[
                    ("product", Str, true),
                    ("version", Str, false),
                    ("host_vm_ref", Ref(SW), false),
                    ("operating_system_ref", Ref(SW), false),
                    ("installed_software_refs", Refs(SW), false),
                    ("configuration_version", Str, false),
                    ("modules", Strs, false),
                    ("analysis_engine_version", Str, false),
                    ("analysis_definition_version", Str, false),
                    ("submitted", Time, false),
                    ("analysis_started", Time, false),
                    ("analysis_ended", Time, false),
                    ("result_name", Str, false),
                    ("result", Str, false),
                    ("analysis_sco_refs", Refs(&[]), false),
                    ("sample_ref", Ref(&[]), false),
                ],
            },
        ),
        (
            "opinion",
            Schema {
                section: "§4.14",
                one_of: &[],
                props: &[
                    ("explanation", Str, false),
                    ("authors", Strs, false),
                    ("opinion", Str, true),
                    ("object_refs", Refs(&[]), true),
                ],
            },
        ),
        (
            "tool",
            Schema {
                section: "§4.18",
                one_of: &[],
                props: &[
                    ("name", Str, true),
                    ("description", Str, false),
                    ("tool_types", Strs, false),
                    ("aliases", Strs, false),
                    ("kill_chain_phases", KillChain, false),
                    ("tool_version", Str, false),
                ],
            },
        ),
        (
            "artifact",
            Schema {
                section: "§6.1",
                one_of: &["payload_bin", "url"],
                props: &[
                    ("mime_type", Str, false),
                    ("payload_bin", Str, false),
                    ("url", Str, false),
                    ("hashes", Hashes, false),
                    ("encryption_algorithm", Str, false),
                    ("decryption_key", Str, false),
                ],
            },
        ),
        (
            "autonomous-system",
            Schema {
                section: "§6.2",
                one_of: &[],
                props: &[
                    ("number", Int(i64::MIN, i64::MAX), true),
                    ("name", Str, false),
                    ("rir", Str, false),
                ],
            },
        ),
        (
            "directory",
            Schema {
                section: "§6.3",
                one_of: &[],
                props: &[
                    ("path", Str, true),
                    ("path_enc", Str, false),
                    ("ctime", Time, false),
                    ("mtime", Time, false),
                    ("atime", Time, false),
                    ("contains_refs", Refs(&["file", "directory"]), false),
                ],
            },
        ),
        (
            "email-message",
            Schema {
                section: "§6.6",
                one_of: &[],
                props: &[
                    ("is_multipart", Bool, true),
                    ("date", Time, false),
                    ("content_type", Str, false),
                    ("from_ref", Ref(EA), false),
                    ("sender_ref", Ref(EA), false),
                    ("to_refs", Refs(EA), false),
                    ("cc_refs", Refs(EA), false),
                    ("bcc_refs", Refs(EA), false),
                    ("message_id", Str, false),
                    ("subject", Str, false),
                    ("received_lines", Strs, false),
                    ("additional_header_fields", Dict, false),
                    ("body", Str, false),
                    ("body_multipart", Objects, false),
                    ("raw_email_ref", Ref(&["artifact"]), false),
                ],
            },
        ),
        (
            "mac-addr",
            Schema {
                section: "§6.10",
                one_of: &[],
                props: &[("value", Str, true)],
            },
        ),
        (
            "mutex",
            Schema {
                section: "§6.11",
                one_of: &[],
                props: &[("name", Str, true)],
            },
        ),
        (
            "process",
            Schema {
                section: "§6.12",
                one_of: &[
                    "extensions",
                    "is_hidden",
                    "pid",
                    "created_time",
                    "cwd",
                    "command_line",
                    "environment_variables",
                    "opened_connection_refs",
                    "creator_user_ref",
                    "image_ref",
                    "parent_ref",
                    "child_refs",
                ],
                props: &[
                    ("is_hidden", Bool, false),
                    ("pid", Int(i64::MIN, i64::MAX), false),
                    ("created_time", Time, false),
                    ("cwd", Str, false),
                    ("command_line", Str, false),
                    ("environment_variables", Dict, false),
                    ("opened_connection_refs", Refs(&["network-traffic"]), false),
                    ("creator_user_ref", Ref(UA), false),
                    ("image_ref", Ref(&["file"]), false),
                    ("parent_ref", Ref(&["process"]), false),
                    ("child_refs", Refs(&["process"]), false),
                ],
            },
        ),
        (
            "software",
            Schema {
                section: "§6.13",
                one_of: &[],
                props: &[
                    ("name", Str, true),
                    ("cpe", Str, false),
                    ("swid", Str, false),
                    ("languages", Strs, false),
                    ("vendor", Str, false),
                    ("version", Str, false),
                ],
            },
        ),
        (
            "user-account",
            Schema {
                section: "§6.16",
                one_of: &[],
                props: &[
                    ("user_id", Str, false),
                    ("credential", Str, false),
                    ("account_login", Str, false),
                    ("account_type", Str, false),
                    ("display_name", Str, false),
                    ("is_service_account", Bool, false),
                    ("is_privileged", Bool, false),
                    ("can_escalate_privs", Bool, false),
                    ("is_disabled", Bool, false),
                    ("account_created", Time, false),
                    ("account_expires", Time, false),
                    ("credential_last_changed", Time, false),
                    ("account_first_login", Time, false),
                    ("account_last_login", Time, false),
                ],
            },
        ),
        (
            "windows-registry-key",
            Schema {
                section: "§6.17",
                one_of: &[],
                props: &[
                    ("key", Str, false),
                    ("values", Objects, false),
                    ("modified_time", Time, false),
                    ("creator_user_ref", Ref(UA), false),
                    ("number_of_subkeys", Int(i64::MIN, i64::MAX), false),
                ],
            },
        ),
        (
            "x509-certificate",
            Schema {
                section: "§6.18",
                one_of: &[
                    "is_self_signed",
                    "hashes",
                    "version",
                    "serial_number",
                    "signature_algorithm",
                    "issuer",
                    "validity_not_before",
                    "validity_not_after",
                    "subject",
                    "subject_public_key_algorithm",
                    "subject_public_key_modulus",
                    "subject_public_key_exponent",
                    "x509_v3_extensions",
                ],
                props: &[
                    ("is_self_signed", Bool, false),
                    ("hashes", Hashes, false),
                    ("version", Str, false),
                    ("serial_number", Str, false),
                    ("signature_algorithm", Str, false),
                    ("issuer", Str, false),
                    ("validity_not_before", Time, false),
                    ("validity_not_after", Time, false),
                    ("subject", Str, false),
                    ("subject_public_key_algorithm", Str, false),
                    ("subject_public_key_modulus", Str, false),
                    (
                        "subject_public_key_exponent",
                        Int(i64::MIN, i64::MAX),
                        false,
                    ),
                    ("x509_v3_extensions", Dict, false),
                ],
            },
        ),
    ]
};

fn schema(ty: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|(t, _)| *t == ty).map(|(_, s)| s)
}

/// Checks an object against its type's [`Schema`].
fn check_schema(ck: &mut Ck<'_>, o: &Map<String, Value>, s: &Schema) {
    let sec = s.section;
    for &(name, kind, required) in s.props {
        let req = required.then_some(sec);
        let Some(v) = o.get(name) else {
            if required {
                ck.missing(name, sec);
            }
            continue;
        };
        let wrong = |ck: &mut Ck<'_>, expected: &'static str| {
            ck.err(
                name,
                Rule::WrongType {
                    section: sec,
                    expected,
                },
            );
        };
        match kind {
            P::Str => {
                ck.string(o, name, req);
            }
            P::Int(min, max) => {
                ck.integer(o, name, sec, required, (min, max));
            }
            P::Bool => {
                ck.boolean(o, name, req);
            }
            P::Time => {
                ck.timestamp(o, name, req);
            }
            P::Strs => {
                ck.strings(o, name, req);
            }
            P::Ref(types) => {
                ck.id_value(
                    v,
                    name,
                    sec,
                    types,
                    "an object of the type this property names",
                );
            }
            P::Refs(types) => {
                ck.references(
                    o,
                    name,
                    req,
                    (sec, types, "objects of the types this property names"),
                );
            }
            P::Hashes => {
                hashes(ck, v, name);
            }
            P::Dict => {
                if !v.is_object() {
                    wrong(ck, "a dictionary");
                }
            }
            P::KillChain | P::Objects => {
                if let Some(items) = ck.list(o, name, req) {
                    for (i, item) in items.iter().enumerate() {
                        let Value::Object(k) = item else {
                            ck.err(
                                &format!("{name}[{i}]"),
                                Rule::WrongType {
                                    section: sec,
                                    expected: "an object",
                                },
                            );
                            continue;
                        };
                        if matches!(kind, P::KillChain) {
                            let mut sub = ck.sub(&format!("{name}[{i}]"));
                            sub.string(k, "kill_chain_name", Some("§2.8"));
                            sub.string(k, "phase_name", Some("§2.8"));
                        }
                    }
                }
            }
        }
    }
    if !s.one_of.is_empty() && !s.one_of.iter().any(|k| o.contains_key(*k)) {
        ck.err(
            "",
            Rule::c(
                sec,
                format!("needs at least one of {}", s.one_of.join(", ")),
            ),
        );
    }
}

/// The type-specific properties of the types whose property set is checked; `None` for the
/// others (any property accepted).
fn specific_props(ty: &str) -> Option<&'static [&'static str]> {
    if let Some(s) = schema(ty) {
        static NAMES: std::sync::LazyLock<Vec<(&'static str, Vec<&'static str>)>> =
            std::sync::LazyLock::new(|| {
                SCHEMAS
                    .iter()
                    .map(|(t, s)| (*t, s.props.iter().map(|p| p.0).collect()))
                    .collect()
            });
        let _ = s;
        return NAMES
            .iter()
            .find(|(t, _)| *t == ty)
            .map(|(_, v)| v.as_slice());
    }
    Some(match ty {
        "indicator" => &[
            "name",
            "description",
            "indicator_types",
            "pattern",
            "pattern_type",
            "pattern_version",
            "valid_from",
            "valid_until",
            "kill_chain_phases",
        ],
        "malware" => &[
            "name",
            "description",
            "malware_types",
            "is_family",
            "aliases",
            "kill_chain_phases",
            "first_seen",
            "last_seen",
            "operating_system_refs",
            "architecture_execution_envs",
            "implementation_languages",
            "capabilities",
            "sample_refs",
        ],
        "threat-actor" => &[
            "name",
            "description",
            "threat_actor_types",
            "aliases",
            "first_seen",
            "last_seen",
            "roles",
            "goals",
            "sophistication",
            "resource_level",
            "primary_motivation",
            "secondary_motivations",
            "personal_motivations",
        ],
        "intrusion-set" => &[
            "name",
            "description",
            "aliases",
            "first_seen",
            "last_seen",
            "goals",
            "resource_level",
            "primary_motivation",
            "secondary_motivations",
        ],
        "infrastructure" => &[
            "name",
            "description",
            "infrastructure_types",
            "aliases",
            "kill_chain_phases",
            "first_seen",
            "last_seen",
        ],
        "vulnerability" => &["name", "description"],
        "identity" => &[
            "name",
            "description",
            "roles",
            "identity_class",
            "sectors",
            "contact_information",
        ],
        "location" => &[
            "name",
            "description",
            "latitude",
            "longitude",
            "precision",
            "region",
            "country",
            "administrative_area",
            "city",
            "street_address",
            "postal_code",
        ],
        "observed-data" => &[
            "first_observed",
            "last_observed",
            "number_observed",
            "objects",
            "object_refs",
        ],
        "report" => &[
            "name",
            "description",
            "report_types",
            "published",
            "object_refs",
        ],
        "note" => &["abstract", "content", "authors", "object_refs"],
        "incident" => &["name", "description", "kill_chain_phases"],
        "relationship" => &[
            "relationship_type",
            "description",
            "source_ref",
            "target_ref",
            "start_time",
            "stop_time",
        ],
        "sighting" => &[
            "description",
            "first_seen",
            "last_seen",
            "count",
            "sighting_of_ref",
            "observed_data_refs",
            "where_sighted_refs",
            "summary",
        ],
        "ipv4-addr" | "ipv6-addr" => &["value", "resolves_to_refs", "belongs_to_refs"],
        "domain-name" => &["value", "resolves_to_refs"],
        "url" => &["value"],
        "email-addr" => &["value", "display_name", "belongs_to_ref"],
        "file" => &[
            "hashes",
            "size",
            "name",
            "name_enc",
            "magic_number_hex",
            "mime_type",
            "ctime",
            "mtime",
            "atime",
            "parent_directory_ref",
            "contains_refs",
            "content_ref",
        ],
        "network-traffic" => &[
            "start",
            "end",
            "is_active",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "src_byte_count",
            "dst_byte_count",
            "src_packets",
            "dst_packets",
            "ipfix",
            "src_payload_ref",
            "dst_payload_ref",
            "encapsulates_refs",
            "encapsulated_by_ref",
        ],
        "marking-definition" => &[],
        _ => return None,
    })
}

/// The predefined SCO extensions (§6), keyed by name rather than by extension-definition id.
const PREDEFINED_SCO_EXTENSIONS: [&str; 12] = [
    "archive-ext",
    "ntfs-ext",
    "pdf-ext",
    "raster-image-ext",
    "windows-pebinary-ext",
    "http-request-ext",
    "icmp-ext",
    "socket-ext",
    "tcp-ext",
    "windows-process-ext",
    "windows-service-ext",
    "unix-account-ext",
];

const EXTENSION_TYPES: [&str; 5] = [
    "new-sdo",
    "new-sco",
    "new-sro",
    "property-extension",
    "toplevel-property-extension",
];

/// Validates one element of `objects`; errors go to `errs`.
pub(crate) fn parse_object(
    index: usize,
    v: &Value,
    errs: &mut Vec<crate::error::StixError>,
) -> Option<StixObject> {
    let subject = v
        .get("id")
        .and_then(Value::as_str)
        .map_or(Subject::Index(index), |s| Subject::Id(s.to_owned()));
    let mut ck = Ck {
        errs,
        subject,
        base: format!("objects[{index}]"),
    };
    let before = ck.errs.len();
    let Value::Object(o) = v else {
        ck.err(
            "",
            Rule::WrongType {
                section: "§8",
                expected: "a JSON object (a STIX object)",
            },
        );
        return None;
    };
    let ty = match o.get("type") {
        None => {
            ck.missing("type", "§3.2");
            return None;
        }
        Some(Value::String(t)) if is_type_name(t) => t.as_str(),
        Some(_) => {
            ck.err("type", Rule::TypeName);
            return None;
        }
    };

    // Extensions first: they decide what an unknown type is.
    let ext = check_extensions(&mut ck, o, ty);
    let category = if SDO_TYPES.contains(&ty) {
        Category::Sdo
    } else if ty == "relationship" || ty == "sighting" {
        Category::Sro
    } else if SCO_TYPES.contains(&ty) {
        Category::Sco
    } else if ty == "marking-definition" {
        Category::MarkingDefinition
    } else if ty == "language-content" || ty == "extension-definition" {
        Category::Meta
    } else if let Some(c) = ext.new_category {
        c
    } else if ty.starts_with("x-") {
        Category::Custom
    } else {
        ck.err("type", Rule::UnknownType(ty.to_owned()));
        return None;
    };

    // id (§2.9).
    let id = match o.get("id") {
        None => {
            ck.missing("id", "§3.2");
            None
        }
        Some(v) => match v.as_str().and_then(StixId::parse) {
            None => {
                ck.err("id", Rule::IdForm);
                None
            }
            Some(id) if id.object_type() != ty => {
                ck.err("id", Rule::IdTypeMismatch);
                None
            }
            Some(id) => {
                let (kind, allowed, ok): (&'static str, &'static str, &[u8]) = match category {
                    Category::Sco | Category::Custom => {
                        ("SCO and custom object", "4 or 5", &[4, 5])
                    }
                    Category::Sdo => ("SDO", "4", &[4]),
                    Category::Sro => ("SRO", "4", &[4]),
                    Category::MarkingDefinition | Category::Meta => ("meta object", "4", &[4]),
                };
                let found = id.uuid_version();
                if ok.contains(&found) {
                    Some(id)
                } else {
                    ck.err(
                        "id",
                        Rule::UuidVersion {
                            kind,
                            allowed,
                            found,
                        },
                    );
                    None
                }
            }
        },
    };

    // spec_version (§3.2): required except on SCOs and custom objects.
    match o.get("spec_version") {
        None if matches!(category, Category::Sco | Category::Custom) => {}
        None => ck.missing("spec_version", "§3.2"),
        Some(v) if v.as_str() == Some("2.1") => {}
        Some(_) => ck.err("spec_version", Rule::SpecVersion),
    }

    // Common properties (§3.2).
    let sdo_like = matches!(category, Category::Sdo | Category::Sro | Category::Meta);
    let created = ck.timestamp(
        o,
        "created",
        (sdo_like || category == Category::MarkingDefinition).then_some("§3.2"),
    );
    let modified = ck.timestamp(o, "modified", sdo_like.then_some("§3.2"));
    ck.order(&created, &modified, "modified", Rule::ModifiedBeforeCreated);
    let sco = category == Category::Sco;
    let created_by_ref = ck.reference(
        if sco { &EMPTY } else { o },
        "created_by_ref",
        None,
        ("§3.2", &["identity"], "an identity"),
    );
    let object_marking_refs = ck.references(
        o,
        "object_marking_refs",
        None,
        (
            "§3.2",
            &["marking-definition"],
            "marking-definition objects",
        ),
    );
    ck.boolean(o, "defanged", None);
    // The SDO/SRO common properties (§3.2); on an SCO they are not properties at all, and the
    // unknown-property check below says so (for the SCO types whose properties are known).
    if !sco {
        ck.boolean(o, "revoked", None);
        ck.strings(o, "labels", None);
        ck.integer(o, "confidence", "§3.2", false, (0, 100));
        if let Some(lang) = ck.string(o, "lang", None)
            && !is_language_tag(lang)
        {
            ck.err(
                "lang",
                Rule::c("§3.2", "lang must be an RFC 5646 language tag"),
            );
        }
        external_references(&mut ck, o);
    }
    granular_markings(&mut ck, o);

    // Property names (§3.1) and unknown properties (§11.1).
    let known: Option<Vec<&str>> = match category {
        Category::MarkingDefinition => Some(MARKING_PROPS.to_vec()),
        _ if ext.toplevel || ext.new_category.is_some() => None,
        Category::Sco => specific_props(ty).map(|p| [&SCO_COMMON[..], p].concat()),
        Category::Sdo | Category::Sro => specific_props(ty).map(|p| [&SDO_COMMON[..], p].concat()),
        Category::Meta | Category::Custom => None,
    };
    for key in o.keys() {
        if !is_property_name(key) {
            ck.err(key, Rule::PropertyName);
        } else if let Some(known) = &known
            && !known.contains(&key.as_str())
            && !key.starts_with("x_")
        {
            ck.err(key, Rule::UnknownProperty(key.clone()));
        }
    }

    let detail = detail(&mut ck, ty, o, &ext, id.as_ref());
    if ck.errs.len() > before {
        return None;
    }
    Some(StixObject {
        index,
        id: id?,
        object_type: ty.to_owned(),
        category,
        created,
        modified,
        created_by_ref,
        object_marking_refs,
        detail,
        json: o.clone(),
    })
}

/// What the `extensions` of an object say.
#[derive(Default)]
struct Extensions {
    /// The category a new-sdo/new-sco/new-sro extension gives the object.
    new_category: Option<Category>,
    /// A toplevel-property-extension is present (extra top-level properties allowed).
    toplevel: bool,
    /// hotline's wallet extension is present.
    wallet: bool,
    /// The TLP 2.0 extension's level.
    tlp2: Option<Tlp>,
    /// The TLP 2.0 extension is present (valid or not).
    has_tlp2: bool,
}

/// §7.3: `extensions` is a dictionary keyed by extension-definition id (or, on SCOs, by the
/// name of a predefined extension); each value is an object.
fn check_extensions(ck: &mut Ck<'_>, o: &Map<String, Value>, ty: &str) -> Extensions {
    let mut out = Extensions::default();
    let Some(v) = o.get("extensions") else {
        return out;
    };
    let Value::Object(exts) = v else {
        ck.err(
            "extensions",
            Rule::WrongType {
                section: "§7.3",
                expected: "a dictionary of extensions",
            },
        );
        return out;
    };
    if exts.is_empty() {
        ck.err(
            "extensions",
            Rule::c("§7.3", "extensions must not be empty"),
        );
    }
    for (key, val) in exts {
        let path = format!("extensions.'{key}'");
        let Value::Object(e) = val else {
            ck.err(
                &path,
                Rule::WrongType {
                    section: "§7.3",
                    expected: "an extension object",
                },
            );
            continue;
        };
        if key.starts_with("extension-definition--") {
            if StixId::parse(key).is_none() {
                ck.err(&path, Rule::IdForm);
                continue;
            }
            let et = match e.get("extension_type").and_then(Value::as_str) {
                Some(t) if EXTENSION_TYPES.contains(&t) => t,
                Some(_) => {
                    ck.err(
                        &format!("{path}.extension_type"),
                        Rule::c(
                            "§7.3",
                            "extension_type must be new-sdo, new-sco, new-sro, property-extension or toplevel-property-extension",
                        ),
                    );
                    continue;
                }
                None => {
                    ck.missing(&format!("{path}.extension_type"), "§7.3");
                    continue;
                }
            };
            match et {
                "new-sdo" => out.new_category = Some(Category::Sdo),
                "new-sco" => out.new_category = Some(Category::Sco),
                "new-sro" => out.new_category = Some(Category::Sro),
                "toplevel-property-extension" => out.toplevel = true,
                _ => {}
            }
            match key.as_str() {
                TLP2_EXTENSION_ID => {
                    out.has_tlp2 = true;
                    out.tlp2 = tlp2_extension(ck, e, &path, ty, et);
                }
                INCIDENT_CORE_EXTENSION_ID => incident_core(ck, e, &path, ty, et),
                CRYPTOCURRENCY_WALLET_EXTENSION_ID => {
                    if et != "new-sco" || ty != "cryptocurrency-wallet" {
                        ck.err(
                            &path,
                            Rule::c(
                                "hotline wallet extension",
                                "defines the new SCO type cryptocurrency-wallet (extension_type new-sco)",
                            ),
                        );
                    }
                    out.wallet = true;
                }
                _ => {}
            }
        } else if !(PREDEFINED_SCO_EXTENSIONS.contains(&key.as_str()) || key.starts_with("x-")) {
            ck.err(
                &path,
                Rule::c(
                    "§7.3",
                    "an extension key must be an extension-definition id or a predefined SCO extension name",
                ),
            );
        }
    }
    out
}

fn tlp2_extension(
    ck: &mut Ck<'_>,
    e: &Map<String, Value>,
    path: &str,
    ty: &str,
    et: &str,
) -> Option<Tlp> {
    if ty != "marking-definition" || et != "property-extension" {
        ck.err(
            path,
            Rule::c(
                "TLP 2.0",
                "the TLP 2.0 extension is a property-extension of marking-definition objects",
            ),
        );
    }
    let t = e
        .get("tlp_2_0")
        .and_then(Value::as_str)
        .and_then(Tlp::from_tlp2_value);
    if t.is_none() {
        ck.err(
            &format!("{path}.tlp_2_0"),
            Rule::c(
                "TLP 2.0",
                "tlp_2_0 must be clear, green, amber, amber+strict or red",
            ),
        );
    }
    for k in e.keys() {
        if k != "extension_type" && k != "tlp_2_0" {
            ck.err(
                &format!("{path}.{k}"),
                Rule::c("TLP 2.0", "the TLP 2.0 extension has no other properties"),
            );
        }
    }
    t
}

const INCIDENT_DETERMINATIONS: [&str; 6] = [
    "blocked",
    "failed-attempt",
    "false-positive",
    "low-value",
    "successful-attempt",
    "suspected",
];

/// The OASIS Incident Core extension, checked loosely: its required properties and the types
/// of the ones hotline may read.
fn incident_core(ck: &mut Ck<'_>, e: &Map<String, Value>, path: &str, ty: &str, et: &str) {
    const S: &str = "Incident Core extension";
    if ty != "incident" || et != "property-extension" {
        ck.err(
            path,
            Rule::c(S, "is a property-extension of incident objects"),
        );
    }
    let mut sub = ck.sub(path);
    match sub.string(e, "determination", Some(S)) {
        Some(d) if !INCIDENT_DETERMINATIONS.contains(&d) => sub.err(
            "determination",
            Rule::c(
                S,
                "determination must be blocked, failed-attempt, false-positive, low-value, successful-attempt or suspected",
            ),
        ),
        _ => {}
    }
    sub.string(e, "investigation_status", Some(S));
    sub.integer(e, "criticality", S, false, (0, 100));
    sub.strings(e, "incident_types", None);
    sub.strings(e, "detection_methods", None);
    for list in [
        "scores",
        "availability_impacts",
        "confidentiality_impacts",
        "external_impacts",
        "integrity_impacts",
        "monetary_impacts",
        "physical_impacts",
        "impacted_entity_counts",
        "impacted_refs",
        "subevents",
        "task_refs",
        "recoverability",
    ] {
        if list == "recoverability" {
            sub.string(e, list, None);
        } else if let Some(items) = sub.list(e, list, None)
            && list.ends_with("_refs")
        {
            for (i, v) in items.iter().enumerate() {
                sub.id_value(v, &format!("{list}[{i}]"), S, &[], "an object");
            }
        }
    }
}

/// §2.5 external references.
fn external_references(ck: &mut Ck<'_>, o: &Map<String, Value>) {
    let Some(items) = ck.list(o, "external_references", None) else {
        return;
    };
    for (i, v) in items.iter().enumerate() {
        let p = format!("external_references[{i}]");
        let Value::Object(r) = v else {
            ck.err(
                &p,
                Rule::WrongType {
                    section: "§2.5",
                    expected: "an external reference object",
                },
            );
            continue;
        };
        let mut sub = ck.sub(&p);
        let source = sub.string(r, "source_name", Some("§2.5"));
        sub.string(r, "description", None);
        sub.string(r, "url", None);
        let ext_id = sub.string(r, "external_id", None);
        if let Some(h) = r.get("hashes") {
            hashes(&mut sub, h, "hashes");
        }
        if !["description", "url", "external_id"]
            .iter()
            .any(|k| r.contains_key(*k))
        {
            sub.err(
                "",
                Rule::c(
                    "§2.5",
                    "an external reference needs description, url or external_id besides source_name",
                ),
            );
        }
        let id_shape = match source {
            Some("cve") => Some(("CVE-", 4)),
            Some("capec") => Some(("CAPEC-", 0)),
            _ => None,
        };
        if let Some((prefix, year_digits)) = id_shape {
            let ok = ext_id.is_some_and(|x| {
                x.strip_prefix(prefix).is_some_and(|rest| {
                    if year_digits == 0 {
                        !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit())
                    } else {
                        rest.split_once('-').is_some_and(|(y, n)| {
                            y.len() == 4
                                && n.len() >= 4
                                && y.bytes().chain(n.bytes()).all(|c| c.is_ascii_digit())
                        })
                    }
                })
            });
            if !ok {
                sub.err(
                    "external_id",
                    Rule::c(
                        "§2.5",
                        format!(
                            "a {} reference needs external_id {prefix}…",
                            source.unwrap_or("")
                        ),
                    ),
                );
            }
        }
    }
}

/// §7.2.3 granular markings, shape only.
fn granular_markings(ck: &mut Ck<'_>, o: &Map<String, Value>) {
    let Some(items) = ck.list(o, "granular_markings", None) else {
        return;
    };
    for (i, v) in items.iter().enumerate() {
        let p = format!("granular_markings[{i}]");
        let Value::Object(g) = v else {
            ck.err(
                &p,
                Rule::WrongType {
                    section: "§7.2.3",
                    expected: "a granular marking object",
                },
            );
            continue;
        };
        let mut sub = ck.sub(&p);
        sub.strings(g, "selectors", Some("§7.2.3"));
        let has_ref = g.contains_key("marking_ref");
        sub.reference(
            g,
            "marking_ref",
            None,
            ("§7.2.3", &["marking-definition"], "a marking-definition"),
        );
        sub.string(g, "lang", None);
        if has_ref == g.contains_key("lang") {
            sub.err(
                "",
                Rule::c(
                    "§7.2.3",
                    "a granular marking has exactly one of marking_ref and lang",
                ),
            );
        }
    }
}

/// §2.7 hashes: a non-empty dictionary from algorithm names to values; the hex lengths of
/// MD5, SHA-1, SHA-256, SHA-512, SHA3-256 and SHA3-512 are checked. Names outside
/// hash-algorithm-ov are allowed (§2.7: they SHOULD come from it or start with `x_`): the
/// vocabulary is open, [`crate::Bundle::notes`] reports them.
fn hashes(ck: &mut Ck<'_>, v: &Value, key: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Value::Object(h) = v else {
        ck.err(
            key,
            Rule::WrongType {
                section: "§2.7",
                expected: "a dictionary of hashes",
            },
        );
        return out;
    };
    if h.is_empty() {
        ck.err(key, Rule::c("§2.7", "hashes must not be empty"));
    }
    for (alg, val) in h {
        let p = format!("{key}.'{alg}'");
        let Some(val) = val.as_str() else {
            ck.err(
                &p,
                Rule::WrongType {
                    section: "§2.7",
                    expected: "a string",
                },
            );
            continue;
        };
        let hex_len = match alg.as_str() {
            "MD5" => Some(32),
            "SHA-1" => Some(40),
            "SHA-256" | "SHA3-256" => Some(64),
            "SHA-512" | "SHA3-512" => Some(128),
            _ => None,
        };
        if let Some(n) = hex_len
            && !(val.len() == n && val.bytes().all(|c| c.is_ascii_hexdigit()))
        {
            ck.err(
                &p,
                Rule::c("§2.7", format!("a {alg} hash is {n} hexadecimal digits")),
            );
            continue;
        }
        out.push((alg.clone(), val.to_owned()));
    }
    out
}

/// RFC 5646, loosely: subtags of 1–8 ASCII letters or digits separated by `-`, the first of
/// 2–3 letters (or `i`/`x` for grandfathered and private-use tags).
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first = parts.next().unwrap_or("");
    let first_ok = ((2..=3).contains(&first.len())
        && first.bytes().all(|c| c.is_ascii_alphabetic()))
        || first == "i"
        || first == "x";
    first_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

fn ip(value: &str, v6: bool) -> Option<(IpAddr, Option<u8>)> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            (a, Some(p.parse::<u8>().ok()?))
        }
        None => (value, None),
    };
    let (addr, max) = if v6 {
        (IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?), 128)
    } else {
        (IpAddr::V4(addr.parse::<Ipv4Addr>().ok()?), 32)
    };
    if prefix.is_some_and(|p| p > max) {
        return None;
    }
    Some((addr, prefix))
}

/// Types with a required `name`.
const NAMED: [&str; 11] = [
    "threat-actor",
    "intrusion-set",
    "infrastructure",
    "vulnerability",
    "identity",
    "incident",
    "report",
    "attack-pattern",
    "campaign",
    "course-of-action",
    "tool",
];

/// The type-specific rules.
fn detail(
    ck: &mut Ck<'_>,
    ty: &str,
    o: &Map<String, Value>,
    ext: &Extensions,
    id: Option<&StixId>,
) -> Detail {
    const ADDR_TYPES: &[&str] = &["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"];
    if NAMED.contains(&ty) {
        let section = match ty {
            "threat-actor" => "§4.17",
            "intrusion-set" => "§4.9",
            "infrastructure" => "§4.8",
            "vulnerability" => "§4.19",
            "identity" => "§4.5",
            "incident" => "§4.6",
            "report" => "§4.16",
            _ => "§4",
        };
        let name = ck.string(o, "name", Some(section)).map(str::to_owned);
        ck.string(o, "description", None);
        for list in [
            "aliases",
            "roles",
            "goals",
            "sectors",
            "threat_actor_types",
            "infrastructure_types",
            "report_types",
            "secondary_motivations",
            "personal_motivations",
        ] {
            ck.strings(o, list, None);
        }
        ck.string(o, "identity_class", None);
        let first = ck.timestamp(o, "first_seen", None);
        let last = ck.timestamp(o, "last_seen", None);
        ck.order(
            &first,
            &last,
            "last_seen",
            Rule::c(
                section,
                "last_seen must be later than or equal to first_seen",
            ),
        );
        if ty == "report" {
            ck.timestamp(o, "published", Some("§4.16"));
            ck.references(o, "object_refs", Some("§4.16"), ("§4.16", &[], "objects"));
        }
        return name.map_or(Detail::Other, Detail::Named);
    }
    if let Some(s) = schema(ty) {
        check_schema(ck, o, s);
        if ty == "artifact" {
            if o.contains_key("payload_bin") && o.contains_key("url") {
                ck.err(
                    "url",
                    Rule::c("§6.1", "payload_bin and url must not both be present"),
                );
            }
            if o.contains_key("url") && !o.contains_key("hashes") {
                ck.missing("hashes", "§6.1 (required with url)");
            }
        }
        if ty == "email-message" {
            let multipart = o.get("is_multipart").and_then(Value::as_bool);
            if multipart == Some(true) && o.contains_key("body") {
                ck.err(
                    "body",
                    Rule::c("§6.6", "body must be absent when is_multipart is true"),
                );
            }
            if multipart == Some(false) && o.contains_key("body_multipart") {
                ck.err(
                    "body_multipart",
                    Rule::c(
                        "§6.6",
                        "body_multipart must be absent when is_multipart is false",
                    ),
                );
            }
        }
        return Detail::Other;
    }
    match ty {
        "indicator" => {
            let pattern = ck.string(o, "pattern", Some("§4.7"));
            let pattern_type = ck.string(o, "pattern_type", Some("§4.7"));
            ck.string(o, "pattern_version", None);
            ck.string(o, "name", None);
            ck.strings(o, "indicator_types", None);
            let from = ck.timestamp(o, "valid_from", Some("§4.7"));
            let until = ck.timestamp(o, "valid_until", None);
            if let (Some(f), Some(u)) = (&from, &until)
                && u <= f
            {
                ck.err(
                    "valid_until",
                    Rule::c("§4.7", "valid_until must be later than valid_from"),
                );
            }
            let mut parsed = None;
            if let (Some(p), Some("stix")) = (pattern, pattern_type) {
                match parse_pattern(p) {
                    Ok(pat) => parsed = Some(pat),
                    Err(e) => ck.err("pattern", Rule::Pattern(e)),
                }
            }
            match (pattern, pattern_type, from) {
                (Some(p), Some(t), Some(f)) => Detail::Indicator {
                    pattern: p.to_owned(),
                    pattern_type: t.to_owned(),
                    parsed,
                    valid_from: f,
                    valid_until: until,
                },
                _ => Detail::Other,
            }
        }
        "malware" => {
            let fam = ck.boolean(o, "is_family", Some("§4.11"));
            let name = ck.string(o, "name", None).map(str::to_owned);
            if fam == Some(true) && !o.contains_key("name") {
                ck.err(
                    "name",
                    Rule::c("§4.11", "name is required when is_family is true"),
                );
            }
            ck.strings(o, "malware_types", None);
            ck.strings(o, "aliases", None);
            ck.references(
                o,
                "sample_refs",
                None,
                ("§4.11", &["file", "artifact"], "file or artifact objects"),
            );
            ck.references(
                o,
                "operating_system_refs",
                None,
                ("§4.11", &["software"], "software objects"),
            );
            name.map_or(Detail::Other, Detail::Named)
        }
        "location" => {
            let lat = ck.number(o, "latitude", "§4.10", (-90.0, 90.0));
            let lon = ck.number(o, "longitude", "§4.10", (-180.0, 180.0));
            ck.number(o, "precision", "§4.10", (0.0, f64::MAX));
            if o.contains_key("latitude") != o.contains_key("longitude") {
                ck.err("", Rule::c("§4.10", "latitude and longitude go together"));
            }
            if o.contains_key("precision") && lat.is_none() {
                ck.err(
                    "precision",
                    Rule::c("§4.10", "precision needs latitude and longitude"),
                );
            }
            for k in ["region", "country", "name", "city", "administrative_area"] {
                ck.string(o, k, None);
            }
            if !(o.contains_key("region")
                || o.contains_key("country")
                || (lat.is_some() && lon.is_some()))
            {
                ck.err(
                    "",
                    Rule::c(
                        "§4.10",
                        "a location needs region, country, or latitude and longitude",
                    ),
                );
            }
            Detail::Other
        }
        "observed-data" => {
            let first = ck.timestamp(o, "first_observed", Some("§4.14"));
            let last = ck.timestamp(o, "last_observed", Some("§4.14"));
            ck.order(
                &first,
                &last,
                "last_observed",
                Rule::c(
                    "§4.14",
                    "last_observed must be later than or equal to first_observed",
                ),
            );
            ck.integer(o, "number_observed", "§4.14", true, (1, 999_999_999));
            match (o.contains_key("objects"), o.contains_key("object_refs")) {
                (true, true) => ck.err(
                    "objects",
                    Rule::c("§4.14", "objects and object_refs must not both be present"),
                ),
                (false, false) => ck.missing("object_refs", "§4.14"),
                _ => {}
            }
            ck.references(o, "object_refs", None, ("§4.14", &[], "objects"));
            Detail::Other
        }
        "note" => {
            ck.string(o, "content", Some("§4.13"));
            ck.string(o, "abstract", None);
            ck.strings(o, "authors", None);
            ck.references(o, "object_refs", Some("§4.13"), ("§4.13", &[], "objects"));
            Detail::Other
        }
        "relationship" => {
            let rt = ck.string(o, "relationship_type", Some("§5.1"));
            if let Some(rt) = rt
                && !is_type_name(rt)
            {
                ck.err(
                    "relationship_type",
                    Rule::c(
                        "§5.1",
                        "relationship_type must be 3–250 characters of a–z, 0–9 and '-'",
                    ),
                );
            }
            const NOT_SRO: &str = "an SDO or SCO (not an SRO, bundle or marking)";
            let src = ck.reference(o, "source_ref", Some("§5.1"), ("§5.1", &[], NOT_SRO));
            let dst = ck.reference(o, "target_ref", Some("§5.1"), ("§5.1", &[], NOT_SRO));
            for (k, r) in [("source_ref", &src), ("target_ref", &dst)] {
                if let Some(r) = r
                    && matches!(
                        r.object_type(),
                        "relationship" | "sighting" | "bundle" | "marking-definition"
                    )
                {
                    ck.err(
                        k,
                        Rule::RefType {
                            section: "§5.1",
                            expected: NOT_SRO,
                        },
                    );
                }
            }
            let start = ck.timestamp(o, "start_time", None);
            let stop = ck.timestamp(o, "stop_time", None);
            if let (Some(a), Some(b)) = (&start, &stop)
                && b <= a
            {
                ck.err(
                    "stop_time",
                    Rule::c("§5.1", "stop_time must be later than start_time"),
                );
            }
            match (rt, src, dst) {
                (Some(rt), Some(s), Some(t)) => Detail::Relationship {
                    relationship_type: rt.to_owned(),
                    source_ref: s,
                    target_ref: t,
                },
                _ => Detail::Other,
            }
        }
        "sighting" => {
            let of = ck.reference(o, "sighting_of_ref", Some("§5.2"), ("§5.2", &[], "an SDO"));
            if let Some(r) = &of
                && !SDO_TYPES.contains(&r.object_type())
            {
                ck.err(
                    "sighting_of_ref",
                    Rule::RefType {
                        section: "§5.2",
                        expected: "an SDO",
                    },
                );
            }
            let count = ck.integer(o, "count", "§5.2", false, (0, 999_999_999));
            let first = ck.timestamp(o, "first_seen", None);
            let last = ck.timestamp(o, "last_seen", None);
            ck.order(
                &first,
                &last,
                "last_seen",
                Rule::c(
                    "§5.2",
                    "last_seen must be later than or equal to first_seen",
                ),
            );
            ck.references(
                o,
                "observed_data_refs",
                None,
                ("§5.2", &["observed-data"], "observed-data objects"),
            );
            ck.references(
                o,
                "where_sighted_refs",
                None,
                (
                    "§5.2",
                    &["identity", "location"],
                    "identity or location objects",
                ),
            );
            ck.boolean(o, "summary", None);
            match of {
                Some(of) => Detail::Sighting {
                    sighting_of_ref: of,
                    count: count.map(|c| c as u32),
                },
                None => Detail::Other,
            }
        }
        "marking-definition" => marking_definition(ck, o, ext, id),
        "ipv4-addr" | "ipv6-addr" => {
            let v6 = ty == "ipv6-addr";
            let section = if v6 { "§6.9" } else { "§6.8" };
            let value = ck.string(o, "value", Some(section));
            ck.references(
                o,
                "resolves_to_refs",
                None,
                (section, &["mac-addr"], "mac-addr objects"),
            );
            ck.references(
                o,
                "belongs_to_refs",
                None,
                (section, &["autonomous-system"], "autonomous-system objects"),
            );
            match value.map(|v| (v, ip(v, v6))) {
                Some((_, Some((addr, prefix)))) => Detail::IpAddr { addr, prefix },
                Some((_, None)) => {
                    ck.err(
                        "value",
                        Rule::c(
                            section,
                            if v6 {
                                "value must be an IPv6 address or CIDR block"
                            } else {
                                "value must be an IPv4 address or CIDR block"
                            },
                        ),
                    );
                    Detail::Other
                }
                None => Detail::Other,
            }
        }
        "domain-name" => {
            let v = ck.string(o, "value", Some("§6.4"));
            ck.references(
                o,
                "resolves_to_refs",
                None,
                (
                    "§6.4",
                    &["ipv4-addr", "ipv6-addr", "domain-name"],
                    "ipv4-addr, ipv6-addr or domain-name objects",
                ),
            );
            match v {
                Some(v) if is_domain(v) => Detail::Value(v.to_owned()),
                Some(_) => {
                    ck.err(
                        "value",
                        Rule::c(
                            "§6.4",
                            "value must be a domain name (labels of letters, digits, '-', '_')",
                        ),
                    );
                    Detail::Other
                }
                None => Detail::Other,
            }
        }
        "url" => match ck.string(o, "value", Some("§6.15")) {
            Some(v) if is_url(v) => Detail::Value(v.to_owned()),
            Some(_) => {
                ck.err(
                    "value",
                    Rule::c(
                        "§6.15",
                        "value must be an absolute URL (RFC 3986: scheme:…)",
                    ),
                );
                Detail::Other
            }
            None => Detail::Other,
        },
        "email-addr" => {
            let v = ck.string(o, "value", Some("§6.5"));
            ck.string(o, "display_name", None);
            ck.reference(
                o,
                "belongs_to_ref",
                None,
                ("§6.5", &["user-account"], "a user-account"),
            );
            match v {
                Some(v)
                    if v.split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty()) =>
                {
                    Detail::Value(v.to_owned())
                }
                Some(_) => {
                    ck.err(
                        "value",
                        Rule::c("§6.5", "value must be an email address (local@domain)"),
                    );
                    Detail::Other
                }
                None => Detail::Other,
            }
        }
        "file" => {
            let hs = o
                .get("hashes")
                .map(|h| hashes(ck, h, "hashes"))
                .unwrap_or_default();
            let name = ck.string(o, "name", None).map(str::to_owned);
            if !o.contains_key("hashes") && !o.contains_key("name") {
                ck.err("", Rule::c("§6.7", "a file needs hashes or name"));
            }
            ck.integer(o, "size", "§6.7", false, (0, i64::MAX));
            for t in ["ctime", "mtime", "atime"] {
                ck.timestamp(o, t, None);
            }
            ck.reference(
                o,
                "parent_directory_ref",
                None,
                ("§6.7", &["directory"], "a directory"),
            );
            ck.reference(
                o,
                "content_ref",
                None,
                ("§6.7", &["artifact"], "an artifact"),
            );
            Detail::File { name, hashes: hs }
        }
        "network-traffic" => {
            let protocols = ck.strings(o, "protocols", Some("§6.12"));
            let src_ref = ck.reference(
                o,
                "src_ref",
                None,
                (
                    "§6.12",
                    ADDR_TYPES,
                    "an ipv4-addr, ipv6-addr, mac-addr or domain-name",
                ),
            );
            let dst_ref = ck.reference(
                o,
                "dst_ref",
                None,
                (
                    "§6.12",
                    ADDR_TYPES,
                    "an ipv4-addr, ipv6-addr, mac-addr or domain-name",
                ),
            );
            if !o.contains_key("src_ref") && !o.contains_key("dst_ref") {
                ck.err(
                    "",
                    Rule::c("§6.12", "network-traffic needs src_ref or dst_ref"),
                );
            }
            ck.integer(o, "src_port", "§6.12", false, (0, 65535));
            ck.integer(o, "dst_port", "§6.12", false, (0, 65535));
            let start = ck.timestamp(o, "start", None);
            let end = ck.timestamp(o, "end", None);
            ck.order(
                &start,
                &end,
                "end",
                Rule::c("§6.12", "end must be later than or equal to start"),
            );
            if ck.boolean(o, "is_active", None) == Some(true) && o.contains_key("end") {
                ck.err(
                    "end",
                    Rule::c("§6.12", "end must be absent while is_active is true"),
                );
            }
            Detail::NetworkTraffic {
                protocols,
                src_ref,
                dst_ref,
            }
        }
        "x-cryptocurrency-wallet" | "cryptocurrency-wallet"
            if ty.starts_with('x') || ext.wallet =>
        {
            const S: &str = "hotline wallet extension";
            let a = ck.string(o, "address", Some(S));
            let c = ck.string(o, "currency", Some(S));
            for (k, v) in [("address", a), ("currency", c)] {
                if v.is_some_and(|v| v.trim().is_empty()) {
                    ck.err(k, Rule::c(S, format!("{k} must not be empty")));
                }
            }
            match (a, c) {
                (Some(a), Some(c)) => Detail::CryptocurrencyWallet {
                    address: a.to_owned(),
                    currency: c.to_owned(),
                },
                _ => Detail::Other,
            }
        }
        _ => Detail::Other,
    }
}

fn marking_definition(
    ck: &mut Ck<'_>,
    o: &Map<String, Value>,
    ext: &Extensions,
    id: Option<&StixId>,
) -> Detail {
    let name = ck.string(o, "name", None).map(str::to_owned);
    let mut tlp = None;
    if !o.contains_key("extensions") {
        let dt = ck.string(o, "definition_type", Some("§7.2.1"));
        let def = o.get("definition");
        match def {
            None => ck.missing("definition", "§7.2.1"),
            Some(d) if !is_object(d) => ck.err(
                "definition",
                Rule::WrongType {
                    section: "§7.2.1",
                    expected: "a marking object",
                },
            ),
            Some(d) => match dt {
                Some("statement") if !d.get("statement").is_some_and(Value::is_string) => {
                    ck.missing("definition.statement", "§7.2.1.3");
                }
                Some("tlp") => {
                    tlp = match d.get("tlp").and_then(Value::as_str) {
                        Some("white") => Some(Tlp::Clear),
                        Some("green") => Some(Tlp::Green),
                        Some("amber") => Some(Tlp::Amber),
                        Some("red") => Some(Tlp::Red),
                        _ => {
                            ck.err(
                                "definition.tlp",
                                Rule::c("§7.2.1.4", "tlp must be white, green, amber or red"),
                            );
                            None
                        }
                    };
                    if let (Some(t), Some(id)) = (tlp, id)
                        && Tlp::from_official_id(id.as_str()) != Some(t)
                    {
                        ck.err(
                            "id",
                            Rule::c(
                                "§7.2.1.4",
                                "a TLP 1.0 marking must use the predefined marking-definition id of its level",
                            ),
                        );
                    }
                }
                _ => {}
            },
        }
    } else if ext.has_tlp2 {
        tlp = ext.tlp2;
        if let (Some(t), Some(id)) = (tlp, id) {
            if id.as_str() != t.tlp2_id() {
                ck.err(
                    "id",
                    Rule::c(
                        "TLP 2.0",
                        format!(
                            "a {} marking must use the official id {}",
                            t.tlp2_name(),
                            t.tlp2_id()
                        ),
                    ),
                );
            }
            if name.as_deref() != Some(t.tlp2_name()) {
                ck.err(
                    "name",
                    Rule::c(
                        "TLP 2.0",
                        format!("the name of this marking is {}", t.tlp2_name()),
                    ),
                );
            }
        }
    }
    Detail::MarkingDefinition { name, tlp }
}

/// A domain name, loosely: dot-separated labels of 1–63 letters, digits, `-` or `_` (or
/// non-ASCII, for internationalized names), not starting or ending with `-`; 253 characters
/// at most.
fn is_domain(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

/// An absolute URL, loosely: `scheme:` (RFC 3986 scheme) and no whitespace.
fn is_url(s: &str) -> bool {
    s.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    }) && !s.chars().any(char::is_whitespace)
}

/// Validates the bundle's own `id`: `bundle--<UUIDv4>`.
pub(crate) fn bundle_id_ok(s: &str) -> bool {
    s.strip_prefix("bundle--")
        .and_then(uuid_version)
        .is_some_and(|v| v == 4)
}
