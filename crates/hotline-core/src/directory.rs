//! The party directory as the log states it: every registration, key rotation and revocation,
//! so the key a statement was checked against is provable at any point of the log.

use std::collections::BTreeMap;

use hotline_tlog::Ed25519Verifier;

use crate::vocab::{PartyId, PartyKind, RevocationReason};

/// A party's keys between two directory statements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyEpoch {
    /// The signing key.
    pub verifier: Ed25519Verifier,
    /// age recipients payloads for the party are encrypted to.
    pub recipients: Vec<String>,
    /// Log index of the statement that introduced these keys.
    pub from: u64,
    /// Log index of the statement that replaced or revoked them.
    pub until: Option<u64>,
}

/// One party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyEntry {
    /// Id.
    pub id: PartyId,
    /// Display name.
    pub name: String,
    /// ISO 3166-1 alpha-2.
    pub jurisdiction: String,
    /// Kind of organisation.
    pub kind: PartyKind,
    /// Duty contact.
    pub contact: String,
    /// Keys over time, oldest first.
    pub epochs: Vec<KeyEpoch>,
    /// When and why the party was revoked.
    pub revoked: Option<(u64, RevocationReason)>,
}

impl PartyEntry {
    /// The keys the party signs with now; `None` once revoked.
    pub fn current(&self) -> Option<&KeyEpoch> {
        if self.revoked.is_some() {
            return None;
        }
        self.epochs.last()
    }

    /// The keys that were current just before log index `index`.
    pub fn keys_before(&self, index: u64) -> Option<&KeyEpoch> {
        if self.revoked.is_some_and(|(at, _)| at < index) {
            return None;
        }
        self.epochs
            .iter()
            .rev()
            .find(|e| e.from < index && e.until.is_none_or(|u| u >= index))
    }
}

/// All parties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    parties: BTreeMap<PartyId, PartyEntry>,
}

impl Directory {
    /// The party with this id.
    pub fn get(&self, id: &PartyId) -> Option<&PartyEntry> {
        self.parties.get(id)
    }

    /// Every party, by id.
    pub fn iter(&self) -> impl Iterator<Item = &PartyEntry> {
        self.parties.values()
    }

    /// Number of parties (the operator included).
    pub fn len(&self) -> usize {
        self.parties.len()
    }

    /// Whether no party is registered (not even the operator).
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty()
    }

    pub(crate) fn register(&mut self, entry: PartyEntry) {
        self.parties.insert(entry.id.clone(), entry);
    }

    pub(crate) fn rotate(&mut self, id: &PartyId, epoch: KeyEpoch) {
        if let Some(p) = self.parties.get_mut(id) {
            if let Some(last) = p.epochs.last_mut() {
                last.until = Some(epoch.from);
            }
            p.epochs.push(epoch);
        }
    }

    pub(crate) fn revoke(&mut self, id: &PartyId, index: u64, reason: RevocationReason) {
        if let Some(p) = self.parties.get_mut(id) {
            if let Some(last) = p.epochs.last_mut() {
                last.until = Some(index);
            }
            p.revoked = Some((index, reason));
        }
    }
}
