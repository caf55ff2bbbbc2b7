//! c2sp.org/tlog-checkpoint: the note text naming a log's origin, size and root.

use thiserror::Error;

use crate::hash::Hash;

/// A checkpoint body (the text of the signed note).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at that size.
    pub root: Hash,
    /// Optional extension lines (without newlines).
    pub extensions: Vec<String>,
}

/// A checkpoint text that does not follow the format.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum CheckpointError {
    /// Fewer than three lines, or text not ending in a newline.
    #[error("checkpoint must have at least three newline-terminated lines")]
    TooShort,
    /// Empty origin line.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// The size line is not a canonical decimal.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root {0:?} is not the base64 of a 32-byte hash")]
    BadRoot(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
}

impl Checkpoint {
    /// Parses checkpoint text (the note text, including its final newline).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::TooShort)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooShort);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let canonical = !size.is_empty()
            && size.len() <= 20
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size_n: u64 = size
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or_else(|| CheckpointError::BadSize(size.chars().take(40).collect()))?;
        let root_h = Hash::from_base64(root)
            .ok_or_else(|| CheckpointError::BadRoot(root.chars().take(60).collect()))?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            extensions.push(line.to_owned());
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size: size_n,
            root: root_h,
            extensions,
        })
    }

    /// The note text of the checkpoint.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).unwrap();
        assert_eq!(c.origin, "example.com/behind-the-sofa");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.to_text(), text);
    }

    #[test]
    fn refuses_malformed_checkpoints() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        assert_eq!(Checkpoint::parse("a\n1\n"), Err(CheckpointError::TooShort));
        assert_eq!(
            Checkpoint::parse(&format!("a\n1\n{root}")),
            Err(CheckpointError::TooShort)
        );
        assert_eq!(
            Checkpoint::parse(&format!("\n1\n{root}\n")),
            Err(CheckpointError::EmptyOrigin)
        );
        assert!(matches!(
            Checkpoint::parse(&format!("a\n01\n{root}\n")),
            Err(CheckpointError::BadSize(_))
        ));
        assert!(matches!(
            Checkpoint::parse(&format!("a\n-1\n{root}\n")),
            Err(CheckpointError::BadSize(_))
        ));
        assert!(matches!(
            Checkpoint::parse("a\n1\nAAAA\n"),
            Err(CheckpointError::BadRoot(_))
        ));
        assert_eq!(
            Checkpoint::parse(&format!("a\n1\n{root}\n\n")),
            Err(CheckpointError::EmptyExtension(1))
        );
        let c = Checkpoint::parse(&format!("a\n0\n{root}\next\n")).unwrap();
        assert_eq!(c.extensions, vec!["ext"]);
    }
}
