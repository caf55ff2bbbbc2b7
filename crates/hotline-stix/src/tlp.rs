//! Traffic Light Protocol markings: TLP 2.0 through the OASIS extension
//! `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d`, and the four TLP 1.0
//! marking definitions STIX 2.1 predefines (§7.2.1.4).
//!
//! The TLP 2.0 ids and names are those of the OASIS schema
//! `cti-stix-common-objects/extension-definition-specifications/tlp-2.0/marking-definition.json`.

use std::fmt;

/// The OASIS TLP 2.0 marking extension.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// A TLP level, least restrictive first (so `max` is the most restrictive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR (TLP 1.0: WHITE).
    Clear,
    /// TLP:GREEN.
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:AMBER+STRICT (TLP 2.0 only).
    AmberStrict,
    /// TLP:RED.
    Red,
}

impl Tlp {
    /// All levels, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The official TLP 2.0 marking-definition id of this level.
    pub fn tlp2_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The `name` of the official TLP 2.0 marking definition (`TLP:AMBER+STRICT`).
    pub fn tlp2_name(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The `tlp_2_0` value of the extension (`amber+strict`).
    pub fn tlp2_value(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The level of a `tlp_2_0` value.
    pub fn from_tlp2_value(s: &str) -> Option<Tlp> {
        Tlp::ALL.into_iter().find(|t| t.tlp2_value() == s)
    }

    /// The level of an official marking-definition id: TLP 2.0, or one of the four TLP 1.0
    /// definitions predefined by STIX 2.1 §7.2.1.4 (WHITE read as CLEAR).
    pub fn from_official_id(id: &str) -> Option<Tlp> {
        if let Some(t) = Tlp::ALL.into_iter().find(|t| t.tlp2_id() == id) {
            return Some(t);
        }
        TLP1_IDS.iter().find(|(i, _)| *i == id).map(|&(_, t)| t)
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tlp2_name())
    }
}

/// STIX 2.1 §7.2.1.4: the TLP 1.0 marking definitions every consumer knows.
const TLP1_IDS: [(&str, Tlp); 4] = [
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];
