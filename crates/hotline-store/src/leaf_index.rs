//! The in-memory index from leaf hash to log index, used to answer "is this entry already in
//! the log?" without a per-entry database row.
//!
//! Why in memory: a B-tree keyed by random hashes rewrites most of its pages on every batch,
//! which would cap appends far below the tile writes themselves. The leaf hashes are already
//! stored once, in the level-0 tiles, so the index is derived state: rebuilt from those tiles
//! at start-up and extended after every durable commit. It keys on the first 8 bytes of the
//! leaf hash (16 bytes per entry); a hit is confirmed against the full leaf hash by the caller,
//! and the rare different leaves sharing a prefix are kept side by side.

use std::collections::HashMap;

use foldhash::fast::RandomState;

use hotline_tlog::Hash;

/// Leaf-hash prefix → log indexes.
///
/// The maps hash with foldhash seeded per process: entries are chosen by parties, and a fixed
/// hash would let one grind leaf hashes into a single bucket.
#[derive(Debug, Default)]
pub struct LeafIndex {
    first: HashMap<u64, u64, RandomState>,
    more: HashMap<u64, Vec<u64>, RandomState>,
    prefix_bits: u32,
}

impl LeafIndex {
    /// An empty index keyed on 64-bit prefixes.
    pub fn new() -> LeafIndex {
        LeafIndex::with_prefix_bits(64)
    }

    /// An empty index keyed on `bits`-bit prefixes (tests use few bits to force collisions).
    pub fn with_prefix_bits(bits: u32) -> LeafIndex {
        LeafIndex {
            first: HashMap::default(),
            more: HashMap::default(),
            prefix_bits: bits.clamp(1, 64),
        }
    }

    fn key(&self, leaf: &Hash) -> u64 {
        let p = u64::from_be_bytes(leaf.0[..8].try_into().unwrap_or([0; 8]));
        if self.prefix_bits == 64 {
            p
        } else {
            p >> (64 - self.prefix_bits)
        }
    }

    /// Reserves room for `n` more leaves.
    pub fn reserve(&mut self, n: usize) {
        self.first.reserve(n);
    }

    /// Records that `leaf` is at `index`. The caller has checked it is not already present.
    pub fn insert(&mut self, leaf: &Hash, index: u64) {
        let k = self.key(leaf);
        if let Some(&existing) = self.first.get(&k) {
            if existing != index {
                self.more.entry(k).or_default().push(index);
            }
        } else {
            self.first.insert(k, index);
        }
    }

    /// Finds `leaf` or records it: returns the index of an earlier entry with this leaf hash
    /// (`is_leaf_at(c)` confirms a candidate `c`), or records `leaf` at `index` and returns
    /// `None`. One hash-table probe for the common case of a new leaf.
    pub fn find_or_insert<E>(
        &mut self,
        leaf: &Hash,
        index: u64,
        mut is_leaf_at: impl FnMut(u64) -> Result<bool, E>,
    ) -> Result<Option<u64>, E> {
        use std::collections::hash_map::Entry;
        let k = self.key(leaf);
        match self.first.entry(k) {
            Entry::Vacant(v) => {
                v.insert(index);
                Ok(None)
            }
            Entry::Occupied(o) => {
                let first = *o.get();
                if is_leaf_at(first)? {
                    return Ok(Some(first));
                }
                let more = self.more.entry(k).or_default();
                for &c in more.iter() {
                    if is_leaf_at(c)? {
                        return Ok(Some(c));
                    }
                }
                more.push(index);
                Ok(None)
            }
        }
    }

    /// Indexes whose leaf hash shares `leaf`'s prefix; the caller confirms which, if any,
    /// holds exactly `leaf`.
    pub fn candidates(&self, leaf: &Hash) -> impl Iterator<Item = u64> + '_ {
        let k = self.key(leaf);
        self.first
            .get(&k)
            .copied()
            .into_iter()
            .chain(self.more.get(&k).into_iter().flatten().copied())
    }

    /// Number of indexed leaves.
    pub fn len(&self) -> usize {
        self.first.len() + self.more.values().map(Vec::len).sum::<usize>()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use hotline_tlog::leaf_hash;

    #[test]
    fn colliding_prefixes_keep_every_candidate() {
        let mut idx = LeafIndex::with_prefix_bits(2);
        let leaves: Vec<Hash> = (0..100u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for (i, l) in leaves.iter().enumerate() {
            idx.insert(l, i as u64);
        }
        assert_eq!(idx.len(), 100);
        for (i, l) in leaves.iter().enumerate() {
            assert!(idx.candidates(l).any(|c| c == i as u64));
        }
        let unknown = leaf_hash(b"not there");
        // With 2-bit prefixes an unknown leaf has candidates, none of which hold it.
        assert!(
            idx.candidates(&unknown)
                .all(|c| leaves[c as usize] != unknown)
        );
    }

    #[test]
    fn find_or_insert_confirms_candidates() {
        let mut idx = LeafIndex::with_prefix_bits(1);
        let leaves: Vec<Hash> = (0..50u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for (i, l) in leaves.iter().enumerate() {
            let found = idx
                .find_or_insert(l, i as u64, |c| Ok::<_, ()>(leaves[c as usize] == *l))
                .unwrap();
            assert_eq!(found, None, "leaf {i} is new");
        }
        for (i, l) in leaves.iter().enumerate() {
            let found = idx
                .find_or_insert(l, 999, |c| Ok::<_, ()>(leaves.get(c as usize) == Some(l)))
                .unwrap();
            assert_eq!(found, Some(i as u64));
        }
        assert_eq!(idx.len(), 50);
    }

    #[test]
    fn full_prefixes_find_exactly_the_leaf() {
        let mut idx = LeafIndex::new();
        let a = leaf_hash(b"a");
        idx.insert(&a, 7);
        assert_eq!(idx.candidates(&a).collect::<Vec<_>>(), vec![7]);
        assert_eq!(idx.candidates(&leaf_hash(b"b")).count(), 0);
    }
}
