//! STIX 2.1 for hotline evidence. No I/O, no async.
//!
//! Parse = validate: [`Bundle::parse`] returns a bundle of typed objects only when every rule
//! this crate knows holds, and otherwise every broken rule at once ([`StixErrors`]), each
//! naming the object (its `id`, or its index when it has none), the property as a JSON path
//! (`objects[3].pattern`) and the rule, citing the section of STIX 2.1 (OASIS Standard,
//! 10 June 2021) it comes from.
//!
//! What is checked:
//! - the bundle (§8) and the common properties of every object (§3.2): `type` (§3.1), `id`
//!   (§2.9: `<type>--<UUID>`, version 4 for SDOs, SROs and meta objects, 4 or 5 for SCOs and
//!   custom objects), `spec_version` `"2.1"` (required except on SCOs and custom objects),
//!   `created`/`modified` (§2.15 timestamps, `modified` ≥ `created`), `created_by_ref` (an
//!   identity), `object_marking_refs` (marking definitions), `external_references` (§2.5),
//!   `granular_markings` (shape), `labels`, `confidence` (0–100), `lang`, `revoked`;
//! - the SDOs, SROs and SCOs hotline reads ([`Detail`]), with unknown properties refused on
//!   them unless they start with `x_` or a toplevel-property-extension is present (stricter
//!   than §11.1, which deprecates but tolerates other names);
//! - marking definitions, TLP 1.0 (§7.2.1.4) and TLP 2.0 ([`tlp`]), exposed as
//!   [`Bundle::tlp`] and [`Bundle::object_tlp`];
//! - extensions (§7.3): the OASIS Incident Core extension ([`INCIDENT_CORE_EXTENSION_ID`],
//!   loosely) and hotline's cryptocurrency wallet SCO ([`CRYPTOCURRENCY_WALLET_EXTENSION_ID`]);
//!   unknown types are accepted when they start with `x-` or are defined by a new-sdo,
//!   new-sco or new-sro extension;
//! - indicators' STIX patterns, with a real parser ([`pattern`]).
//!
//! The pattern parser is hand-written (a tokenizer and a recursive-descent parser) rather than
//! built with a combinator crate: the grammar is small and LL(1) once left recursion is
//! turned into loops, hand-written code gives exact byte positions and plain error messages,
//! and the crate keeps no dependency beyond serde_json and thiserror.
//!
//! Duplicate JSON keys are refused by [`Bundle::parse`] (a strict reader over serde's
//! visitor); [`Bundle::from_value`] cannot see them, serde_json having kept the last value.
//!
//! Open vocabularies (§10, `-ov`) are not rules: a value outside one is accepted, and
//! [`Bundle::notes`] lists each such value as a [`StixNote`] ([`vocab`]), as
//! `stix2-validator` warns about them.
//!
//! Not checked (TODO): that `mime_type` values are in IANA's media-type registry (§6.1,
//! §6.7), the types
//! and properties of SDOs and SCOs not listed in [`Detail`] beyond the common properties,
//! the `objects` of observed-data (deprecated), that ANDed comparisons of one observation
//! use one object type, and that references resolve inside the bundle (they need not).

mod bundle;
mod check;
mod error;
mod object;
pub mod pattern;
pub mod tlp;
mod types;
pub mod vocab;

pub use bundle::{Bundle, ENVELOPE_BUNDLE_ID, parse_json_strict};
pub use error::{Rule, StixError, StixErrors, Subject};
pub use object::{
    CRYPTOCURRENCY_WALLET_EXTENSION_ID, Category, Detail, INCIDENT_CORE_EXTENSION_ID, StixObject,
};
pub use pattern::{Pattern, PatternError, parse_pattern};
pub use tlp::Tlp;
pub use types::{StixId, Timestamp, is_property_name, is_type_name};
pub use vocab::StixNote;
