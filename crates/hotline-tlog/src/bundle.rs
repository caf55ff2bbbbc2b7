//! Entry bundles (c2sp.org/tlog-tiles): big-endian uint16 length-prefixed entries.

use thiserror::Error;

use crate::tile::TILE_WIDTH;

/// Largest entry the format can carry (a uint16 length prefix). 65,536 bytes is refused.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// An entry bundle that cannot be decoded.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum BundleError {
    /// The bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated in entry {entry} at byte {offset}")]
    Truncated {
        /// Position of the entry in the bundle.
        entry: usize,
        /// Byte offset where it ends early.
        offset: usize,
    },
    /// The bundle holds more than 256 entries.
    #[error("entry bundle holds more than 256 entries")]
    TooManyEntries,
    /// An entry is larger than the format allows.
    #[error("entry of {size} bytes is larger than the 65,535 bytes an entry bundle can carry")]
    EntryTooLarge {
        /// Size of the entry.
        size: usize,
    },
}

/// Appends one entry to a bundle being built.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), BundleError> {
    let len =
        u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge { size: entry.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Encodes entries as a bundle.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, BundleError> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        if i as u64 >= TILE_WIDTH {
            return Err(BundleError::TooManyEntries);
        }
        push_entry(&mut out, e)?;
    }
    Ok(out)
}

/// Decodes a bundle into its entries (borrowed from the input).
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if out.len() as u64 >= TILE_WIDTH {
            return Err(BundleError::TooManyEntries);
        }
        let offset = data.len() - rest.len();
        if rest.len() < 2 {
            return Err(BundleError::Truncated {
                entry: out.len(),
                offset,
            });
        }
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + len {
            return Err(BundleError::Truncated {
                entry: out.len(),
                offset,
            });
        }
        out.push(&rest[2..2 + len]);
        rest = &rest[2 + len..];
    }
    Ok(out)
}

/// Byte length of the first `n` entries of a bundle, so a partial bundle of width `n` can be cut
/// from a wider one. `None` if the bundle has fewer than `n` entries or is malformed.
pub fn bundle_prefix_len(data: &[u8], n: usize) -> Option<usize> {
    let mut offset = 0usize;
    for _ in 0..n {
        let len_bytes = data.get(offset..offset + 2)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        offset = offset.checked_add(2 + len)?;
        if offset > data.len() {
            return None;
        }
    }
    Some(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let big = vec![7u8; MAX_ENTRY_SIZE];
        let entries: Vec<&[u8]> = vec![b"a", b"", &big];
        let b = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(&b[..3], &[0, 1, b'a']);
        assert_eq!(decode_bundle(&b).unwrap(), entries);
        assert_eq!(bundle_prefix_len(&b, 2), Some(5));
        assert_eq!(bundle_prefix_len(&b, 4), None);
        let too_big = vec![0u8; MAX_ENTRY_SIZE + 1];
        assert_eq!(
            encode_bundle([too_big.as_slice()]),
            Err(BundleError::EntryTooLarge { size: 65_536 })
        );
    }

    #[test]
    fn truncated_bundles_are_refused() {
        assert_eq!(
            decode_bundle(&[0]),
            Err(BundleError::Truncated {
                entry: 0,
                offset: 0
            })
        );
        assert_eq!(
            decode_bundle(&[0, 1, b'a', 0, 2, b'b']),
            Err(BundleError::Truncated {
                entry: 1,
                offset: 3
            })
        );
        let many = vec![0u8; 2 * 257];
        assert_eq!(decode_bundle(&many), Err(BundleError::TooManyEntries));
    }
}
