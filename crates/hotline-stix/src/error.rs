//! Errors: each names the object, the property (a JSON path) and the rule broken.

use std::fmt;

use crate::pattern::PatternError;

/// The object an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// The bundle itself (its `type`, `id` or `objects`), or the input as a whole.
    Bundle,
    /// An object with a usable `id` string.
    Id(String),
    /// An object without a usable `id`: its index in `objects`.
    Index(usize),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Bundle => f.write_str("bundle"),
            Subject::Id(id) => f.write_str(id),
            Subject::Index(i) => write!(f, "objects[{i}]"),
        }
    }
}

/// One broken rule: which object, which property (`objects[3].pattern`), which rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{subject}: {path}: {rule}")]
pub struct StixError {
    /// The object (or the bundle).
    pub subject: Subject,
    /// A JSON path from the top of the input: `objects[3].external_references[0].url`; `$` is
    /// the top level itself.
    pub path: String,
    /// The rule broken.
    pub rule: Rule,
}

/// Every error found in one input (never empty when returned by a parser).
#[derive(Debug, Clone, PartialEq)]
pub struct StixErrors(pub Vec<StixError>);

impl StixErrors {
    /// The errors, in the order found (objects in input order).
    pub fn errors(&self) -> &[StixError] {
        &self.0
    }
}

impl fmt::Display for StixErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StixErrors {}

/// The rules. The text of each cites the section of STIX 2.1 (OASIS Standard, 10 June 2021)
/// it comes from; `§9` is the patterning language, `TLP 2.0` the OASIS TLP 2.0 extension.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rule {
    /// The input is not JSON (or has a duplicate key).
    #[error("not a JSON document: {0}")]
    Json(String),
    /// The top level is not a bundle.
    #[error("§8: the top level must be a STIX bundle object (\"type\": \"bundle\")")]
    NotBundle,
    /// A required property is absent.
    #[error("{0}: required property is missing")]
    Missing(&'static str),
    /// A property has the wrong JSON type.
    #[error("{section}: must be {expected}")]
    WrongType {
        /// Section of the spec.
        section: &'static str,
        /// What was expected (`a string`, `a list of strings`, ...).
        expected: &'static str,
    },
    /// A `type` value outside the allowed characters or lengths.
    #[error(
        "§3.1: type must be 3–250 characters of a–z, 0–9 and '-', start with a letter and not contain '--'"
    )]
    TypeName,
    /// An identifier not of the form `<type>--<UUID>`.
    #[error("§2.9: id must be <type>--<UUID> (RFC 4122, lower case)")]
    IdForm,
    /// An `id` whose prefix is not the object's own type.
    #[error("§2.9: id must start with the object's own type followed by '--'")]
    IdTypeMismatch,
    /// A UUID of a version not allowed for this kind of object.
    #[error("§2.9: the UUID of {kind} ids must be version {allowed}, found version {found}")]
    UuidVersion {
        /// SDO, SCO...
        kind: &'static str,
        /// Allowed versions, as text.
        allowed: &'static str,
        /// The version found.
        found: u8,
    },
    /// `spec_version` not `"2.1"`.
    #[error("§3.2: spec_version must be \"2.1\"")]
    SpecVersion,
    /// A timestamp not in the STIX form.
    #[error("§2.15: timestamp must be RFC 3339 in UTC: YYYY-MM-DDTHH:MM:SS[.s+]Z")]
    Timestamp,
    /// `modified` before `created`.
    #[error("§3.2: modified must be later than or equal to created")]
    ModifiedBeforeCreated,
    /// A reference to an object of a type not allowed here.
    #[error("{section}: must reference {expected}")]
    RefType {
        /// Section of the spec.
        section: &'static str,
        /// The types allowed, as text.
        expected: &'static str,
    },
    /// An empty list.
    #[error("§2.12: a list must not be empty")]
    EmptyList,
    /// An integer out of its range.
    #[error("{section}: must be an integer in {min}..={max}")]
    Range {
        /// Section of the spec.
        section: &'static str,
        /// Lowest allowed.
        min: i64,
        /// Highest allowed.
        max: i64,
    },
    /// A property name outside §3.1.
    #[error("§3.1: property names must be 3–250 ASCII letters, digits or '_'")]
    PropertyName,
    /// A property that is neither defined for the type nor custom.
    #[error(
        "§11.1: {0} is not a property of this type: custom properties must start with x_ or go in extensions"
    )]
    UnknownProperty(String),
    /// An object type that is neither STIX 2.1 nor custom.
    #[error(
        "§11.2: unknown object type {0:?}: custom objects must start with x- or carry a new-sdo/new-sco/new-sro extension-definition"
    )]
    UnknownType(String),
    /// A `pattern` that does not parse.
    #[error("§9: not a STIX pattern: {0}")]
    Pattern(PatternError),
    /// Any other constraint of the spec: section and the rule in words.
    #[error("{section}: {message}")]
    Constraint {
        /// Section of the spec (or of the extension).
        section: &'static str,
        /// The rule.
        message: String,
    },
}

impl Rule {
    /// A [`Rule::Constraint`].
    pub(crate) fn c(section: &'static str, message: impl Into<String>) -> Rule {
        Rule::Constraint {
            section,
            message: message.into(),
        }
    }
}
