//! The STIX bundle (§8) and TLP lookups.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::check::Ck;
use crate::error::{Rule, StixError, StixErrors, Subject};
use crate::object::{Detail, StixObject, bundle_id_ok, parse_object};
use crate::tlp::Tlp;
use crate::types::{StixId, is_property_name};

/// A valid STIX 2.1 bundle: every object passed every rule this crate knows.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// `id` (`bundle--<UUIDv4>`).
    pub id: StixId,
    /// `objects`, in order (empty when the bundle has none).
    pub objects: Vec<StixObject>,
}

impl Bundle {
    /// Parses and validates a bundle from JSON text. Duplicate keys in any JSON object are
    /// refused (two parsers could read different values).
    pub fn parse(bytes: &[u8]) -> Result<Bundle, StixErrors> {
        let v = match serde_json::from_slice::<StrictValue>(bytes) {
            Ok(v) => v.0,
            Err(e) => {
                return Err(StixErrors(vec![StixError {
                    subject: Subject::Bundle,
                    path: "$".into(),
                    rule: Rule::Json(e.to_string()),
                }]));
            }
        };
        Bundle::from_value(&v)
    }

    /// Validates the objects of a TAXII 2.1 envelope (`{"objects": [...]}`, with optional
    /// `more` and `next`) — or of a STIX bundle, which TAXII clients also send — read as JSON.
    /// An envelope has no id: the bundle returned carries [`ENVELOPE_BUNDLE_ID`]. Error paths
    /// are those of the input (`objects[3].pattern`).
    pub fn from_envelope(v: &Value) -> Result<Bundle, StixErrors> {
        let Value::Object(o) = v else {
            return Err(StixErrors(vec![StixError {
                subject: Subject::Bundle,
                path: "$".into(),
                rule: Rule::c(
                    "TAXII 2.1 §3.7",
                    "the body must be a TAXII envelope or a STIX bundle (a JSON object)",
                ),
            }]));
        };
        if o.contains_key("type") {
            return Bundle::from_value(v);
        }
        let mut errs = Vec::new();
        for key in o.keys() {
            if !matches!(key.as_str(), "objects" | "more" | "next") {
                errs.push(StixError {
                    subject: Subject::Bundle,
                    path: key.clone(),
                    rule: Rule::c(
                        "TAXII 2.1 §3.7",
                        format!("{key:?} is not a property of an envelope (objects, more, next)"),
                    ),
                });
            }
        }
        if !matches!(o.get("objects"), Some(Value::Array(a)) if !a.is_empty()) {
            errs.push(StixError {
                subject: Subject::Bundle,
                path: "objects".into(),
                rule: Rule::c(
                    "TAXII 2.1 §3.7",
                    "an envelope to add must have a non-empty list of objects",
                ),
            });
        }
        let mut wrapped = Map::new();
        wrapped.insert("type".into(), Value::String("bundle".into()));
        wrapped.insert("id".into(), Value::String(ENVELOPE_BUNDLE_ID.into()));
        wrapped.insert(
            "objects".into(),
            o.get("objects")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        );
        match Bundle::from_value(&Value::Object(wrapped)) {
            Ok(b) if errs.is_empty() => Ok(b),
            Ok(_) => Err(StixErrors(errs)),
            Err(StixErrors(more)) => {
                errs.extend(more.into_iter().filter(|e| e.path != "objects"));
                Err(StixErrors(errs))
            }
        }
    }

    /// Values outside the open vocabularies their properties use (§10): allowed, so never an
    /// error, but worth telling whoever sends them ([`crate::vocab`]).
    pub fn notes(&self) -> Vec<crate::StixNote> {
        crate::vocab::notes(&self.objects)
    }

    /// Validates a bundle already read as JSON (duplicate keys, if any, are already lost).
    pub fn from_value(v: &Value) -> Result<Bundle, StixErrors> {
        let mut errs = Vec::new();
        let mut ck = Ck {
            errs: &mut errs,
            subject: Subject::Bundle,
            base: "$".into(),
        };
        let Value::Object(o) = v else {
            ck.err("$", Rule::NotBundle);
            return Err(StixErrors(errs));
        };
        if o.get("type").and_then(Value::as_str) != Some("bundle") {
            ck.err("type", Rule::NotBundle);
            return Err(StixErrors(errs));
        }
        let id = match o.get("id") {
            None => {
                ck.missing("id", "§8");
                None
            }
            Some(v) => match v
                .as_str()
                .filter(|s| bundle_id_ok(s))
                .and_then(StixId::parse)
            {
                Some(id) => Some(id),
                None => {
                    ck.err("id", Rule::c("§8", "id must be bundle--<UUIDv4>"));
                    None
                }
            },
        };
        for key in o.keys() {
            if !matches!(key.as_str(), "type" | "id" | "objects") {
                if !is_property_name(key) {
                    ck.err(key, Rule::PropertyName);
                } else if !key.starts_with("x_") {
                    ck.err(key, Rule::UnknownProperty(key.clone()));
                }
            }
        }
        let items = ck.list(o, "objects", None).cloned().unwrap_or_default();
        let mut objects = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(obj) = parse_object(i, item, &mut errs) {
                objects.push(obj);
            }
        }
        match id {
            Some(id) if errs.is_empty() => Ok(Bundle { id, objects }),
            _ => Err(StixErrors(errs)),
        }
    }

    /// The objects with this id (several when the bundle holds several versions).
    pub fn get<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a StixObject> + 'a {
        self.objects.iter().filter(move |o| o.id.as_str() == id)
    }

    /// The TLP level a marking-definition id stands for: a TLP marking definition in this
    /// bundle, or an official TLP 2.0 / STIX-predefined TLP 1.0 id.
    pub fn marking_tlp(&self, marking_id: &str) -> Option<Tlp> {
        self.get(marking_id)
            .find_map(|o| match &o.detail {
                Detail::MarkingDefinition { tlp, .. } => *tlp,
                _ => None,
            })
            .or_else(|| Tlp::from_official_id(marking_id))
    }

    /// The most restrictive TLP level among the markings of one object (its
    /// `object_marking_refs` and the `marking_ref`s of its granular markings).
    pub fn object_tlp(&self, obj: &StixObject) -> Option<Tlp> {
        let granular = obj
            .json
            .get("granular_markings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("marking_ref").and_then(Value::as_str));
        obj.object_marking_refs
            .iter()
            .map(StixId::as_str)
            .chain(granular)
            .filter_map(|m| self.marking_tlp(m))
            .max()
    }

    /// The TLP of the bundle: the most restrictive level marking any of its objects, `None`
    /// when no object carries a TLP marking. (A TLP marking definition that no object
    /// references marks nothing, so it does not count.)
    pub fn tlp(&self) -> Option<Tlp> {
        self.objects.iter().filter_map(|o| self.object_tlp(o)).max()
    }
}

/// The id given to the [`Bundle`] of a TAXII envelope, which has none.
pub const ENVELOPE_BUNDLE_ID: &str = "bundle--00000000-0000-4000-8000-000000000000";

/// Reads JSON text as a `serde_json::Value` with duplicate object keys refused (two parsers
/// could read different values) and nesting limited to `max_depth` arrays and objects; the
/// error says which rule broke and where.
pub fn parse_json_strict(bytes: &[u8], max_depth: usize) -> Result<Value, String> {
    if let Some((at, depth)) = too_deep(bytes, max_depth) {
        return Err(format!(
            "nesting deeper than {max_depth} levels (level {depth} at byte {at})"
        ));
    }
    serde_json::from_slice::<StrictValue>(bytes)
        .map(|v| v.0)
        .map_err(|e| e.to_string())
}

/// The byte offset and depth where arrays and objects nest deeper than `max`, if they do
/// (brackets inside strings do not count).
fn too_deep(bytes: &[u8], max: usize) -> Option<(usize, usize)> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some((i, depth));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// A `serde_json::Value` read with duplicate object keys refused.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(b)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(n.into())))
    }
    fn visit_u64<E>(self, n: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(n.into())))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<StrictValue, E> {
        Number::from_f64(n)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("a number out of range"))
    }
    fn visit_str<E>(self, s: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(s)))
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(StrictValue(Value::Array(out)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(de::Error::custom(format!("duplicate key {k:?}")));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(StrictValue(Value::Object(out)))
    }
}
