//! Property checkers: each reads one property of a JSON object, records an error when it
//! breaks a rule, and returns the typed value when it does not.

use serde_json::{Map, Value};

use crate::error::{Rule, StixError, Subject};
use crate::types::{StixId, Timestamp};

/// The error sink for one object: its subject and the JSON path of the object.
pub(crate) struct Ck<'a> {
    pub errs: &'a mut Vec<StixError>,
    pub subject: Subject,
    /// The path of the object: `objects[3]`, or `$` for the bundle.
    pub base: String,
}

impl Ck<'_> {
    /// The path of a property of the object.
    pub fn path(&self, prop: &str) -> String {
        if self.base == "$" {
            prop.to_owned()
        } else if prop.is_empty() {
            self.base.clone()
        } else {
            format!("{}.{prop}", self.base)
        }
    }

    /// A sink for a nested object at `prop`.
    pub fn sub(&mut self, prop: &str) -> Ck<'_> {
        let base = self.path(prop);
        Ck {
            errs: &mut *self.errs,
            subject: self.subject.clone(),
            base,
        }
    }

    /// Records an error at property `prop` (a path below the object, may be empty).
    pub fn err(&mut self, prop: &str, rule: Rule) {
        let path = self.path(prop);
        self.errs.push(StixError {
            subject: self.subject.clone(),
            path,
            rule,
        });
    }

    /// Records a missing required property.
    pub fn missing(&mut self, prop: &str, section: &'static str) {
        self.err(prop, Rule::Missing(section));
    }

    /// A string property.
    pub fn string<'v>(
        &mut self,
        o: &'v Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
    ) -> Option<&'v str> {
        match o.get(key) {
            None => {
                if let Some(section) = required {
                    self.missing(key, section);
                }
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.err(
                    key,
                    Rule::WrongType {
                        section: required.unwrap_or("§2.14"),
                        expected: "a string",
                    },
                );
                None
            }
        }
    }

    /// A boolean property.
    pub fn boolean(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
    ) -> Option<bool> {
        match o.get(key) {
            None => {
                if let Some(section) = required {
                    self.missing(key, section);
                }
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.err(
                    key,
                    Rule::WrongType {
                        section: required.unwrap_or("§2.2"),
                        expected: "a boolean (true or false)",
                    },
                );
                None
            }
        }
    }

    /// An integer property in `min..=max`.
    pub fn integer(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        section: &'static str,
        required: bool,
        (min, max): (i64, i64),
    ) -> Option<i64> {
        match o.get(key) {
            None => {
                if required {
                    self.missing(key, section);
                }
                None
            }
            Some(v) => match v.as_i64().filter(|n| (min..=max).contains(n)) {
                Some(n) => Some(n),
                None => {
                    self.err(key, Rule::Range { section, min, max });
                    None
                }
            },
        }
    }

    /// A number property in `min..=max`.
    pub fn number(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        section: &'static str,
        (min, max): (f64, f64),
    ) -> Option<f64> {
        let v = o.get(key)?;
        match v.as_f64().filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(n),
            None => {
                self.err(
                    key,
                    Rule::c(section, format!("must be a number in {min}..={max}")),
                );
                None
            }
        }
    }

    /// A timestamp property.
    pub fn timestamp(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
    ) -> Option<Timestamp> {
        match o.get(key) {
            None => {
                if let Some(section) = required {
                    self.missing(key, section);
                }
                None
            }
            Some(v) => match v.as_str().and_then(Timestamp::parse) {
                Some(t) => Some(t),
                None => {
                    self.err(key, Rule::Timestamp);
                    None
                }
            },
        }
    }

    /// Records an error when `later` is before `earlier` (both present).
    pub fn order(
        &mut self,
        earlier: &Option<Timestamp>,
        later: &Option<Timestamp>,
        key: &str,
        rule: Rule,
    ) {
        if let (Some(a), Some(b)) = (earlier, later)
            && b < a
        {
            self.err(key, rule);
        }
    }

    /// A non-empty list; `None` (with an error) when not a list or empty.
    pub fn list<'v>(
        &mut self,
        o: &'v Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
    ) -> Option<&'v Vec<Value>> {
        match o.get(key) {
            None => {
                if let Some(section) = required {
                    self.missing(key, section);
                }
                None
            }
            Some(Value::Array(a)) if a.is_empty() => {
                self.err(key, Rule::EmptyList);
                None
            }
            Some(Value::Array(a)) => Some(a),
            Some(_) => {
                self.err(
                    key,
                    Rule::WrongType {
                        section: "§2.12",
                        expected: "a list",
                    },
                );
                None
            }
        }
    }

    /// A non-empty list of strings.
    pub fn strings(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let Some(items) = self.list(o, key, required) else {
            return out;
        };
        for (i, v) in items.iter().enumerate() {
            match v.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => self.err(
                    &format!("{key}[{i}]"),
                    Rule::WrongType {
                        section: "§2.12",
                        expected: "a string",
                    },
                ),
            }
        }
        out
    }

    /// One identifier at `prop` whose type is in `types` (any type when empty).
    pub fn id_value(
        &mut self,
        v: &Value,
        prop: &str,
        section: &'static str,
        types: &[&str],
        expected: &'static str,
    ) -> Option<StixId> {
        let Some(id) = v.as_str().and_then(StixId::parse) else {
            self.err(prop, Rule::IdForm);
            return None;
        };
        if !types.is_empty() && !types.contains(&id.object_type()) {
            self.err(prop, Rule::RefType { section, expected });
            return None;
        }
        Some(id)
    }

    /// An identifier property.
    pub fn reference(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
        (section, types, expected): (&'static str, &[&str], &'static str),
    ) -> Option<StixId> {
        match o.get(key) {
            None => {
                if let Some(s) = required {
                    self.missing(key, s);
                }
                None
            }
            Some(v) => self.id_value(v, key, section, types, expected),
        }
    }

    /// A non-empty list of identifiers.
    pub fn references(
        &mut self,
        o: &Map<String, Value>,
        key: &str,
        required: Option<&'static str>,
        (section, types, expected): (&'static str, &[&str], &'static str),
    ) -> Vec<StixId> {
        let mut out = Vec::new();
        let Some(items) = self.list(o, key, required) else {
            return out;
        };
        for (i, v) in items.iter().enumerate() {
            if let Some(id) = self.id_value(v, &format!("{key}[{i}]"), section, types, expected) {
                out.push(id);
            }
        }
        out
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn is_object(v: &Value) -> bool {
    matches!(v, Value::Object(_))
}
