//! The witness's configuration file (TOML) and the set of logs it knows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hotline_tlog::cosignature::CosignerV1;
use hotline_tlog::note::NoteError;
use hotline_tlog::{Ed25519Verifier, NoteVerifier};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The witness configuration, as read from TOML (see the crate documentation for the format).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// File holding the witness's private key: one cosignature/v1 signer key,
    /// `PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>`, readable by its owner only.
    pub key_file: PathBuf,
    /// The witness's SQLite database (created if missing).
    pub database: PathBuf,
    /// The logs the witness cosigns for.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogConfig>,
}

/// One known log.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The log's origin line (the first line of its checkpoints).
    pub origin: String,
    /// The log's Ed25519 signed-note verifier keys (`name+id+base64(0x01 || key)`); a checkpoint
    /// must carry a valid signature by at least one of them.
    pub keys: Vec<String>,
}

/// A configuration that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read witness configuration {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not describe a witness configuration.
    #[error("invalid witness configuration: {0}")]
    Toml(#[from] toml::de::Error),
    /// A log's origin is empty or holds a newline.
    #[error("log origin {0:?} is not a valid checkpoint origin line")]
    BadOrigin(String),
    /// The same origin is configured twice.
    #[error("log origin {0:?} is configured twice")]
    DuplicateOrigin(String),
    /// A log has no keys.
    #[error("log {0:?} has no verifier keys")]
    NoKeys(String),
    /// A log key is not an Ed25519 verifier key.
    #[error("log {origin:?}: invalid verifier key: {source}")]
    BadLogKey {
        /// The log.
        origin: String,
        /// Why the key was refused.
        #[source]
        source: NoteError,
    },
    /// The witness key file cannot be read (missing, or readable by others).
    #[error("witness key file: {0}")]
    KeyFile(#[from] hotline_crypto::CryptoError),
    /// The witness key file does not hold a cosignature/v1 signer key.
    #[error("witness key file {path} does not hold a cosignature/v1 signer key: {source}")]
    BadWitnessKey {
        /// The file.
        path: PathBuf,
        /// Why the key was refused.
        #[source]
        source: NoteError,
    },
}

impl WitnessConfig {
    /// Parses TOML text. Relative paths are left as written.
    pub fn parse(text: &str) -> Result<WitnessConfig, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Reads a configuration file; relative `key_file` and `database` paths are resolved
    /// against the file's directory.
    pub fn load(path: &Path) -> Result<WitnessConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut config = WitnessConfig::parse(&text)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        config.key_file = dir.join(&config.key_file);
        config.database = dir.join(&config.database);
        Ok(config)
    }

    /// The known logs, with their keys parsed.
    pub fn known_logs(&self) -> Result<KnownLogs, ConfigError> {
        let mut logs = KnownLogs::default();
        for log in &self.logs {
            if log.origin.is_empty() || log.origin.chars().any(|c| c < ' ') {
                return Err(ConfigError::BadOrigin(log.origin.clone()));
            }
            if logs.get(&log.origin).is_some() {
                return Err(ConfigError::DuplicateOrigin(log.origin.clone()));
            }
            if log.keys.is_empty() {
                return Err(ConfigError::NoKeys(log.origin.clone()));
            }
            let keys = log
                .keys
                .iter()
                .map(|k| Ed25519Verifier::from_vkey(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|source| ConfigError::BadLogKey {
                    origin: log.origin.clone(),
                    source,
                })?;
            logs.insert(&log.origin, keys);
        }
        Ok(logs)
    }

    /// Reads the witness's private key from `key_file` (refused if group or others may read it).
    pub fn load_cosigner(&self) -> Result<CosignerV1, ConfigError> {
        let skey = hotline_crypto::read_secret(&self.key_file)?;
        CosignerV1::from_skey(&skey).map_err(|source| ConfigError::BadWitnessKey {
            path: self.key_file.clone(),
            source,
        })
    }
}

/// The logs a witness knows: origin → trusted verifier keys.
#[derive(Clone, Debug, Default)]
pub struct KnownLogs {
    logs: HashMap<String, Vec<Ed25519Verifier>>,
    by_hash: HashMap<[u8; 32], String>,
}

impl KnownLogs {
    /// Adds (or replaces) a log and its keys.
    pub fn insert(&mut self, origin: &str, keys: Vec<Ed25519Verifier>) {
        self.by_hash
            .insert(Sha256::digest(origin.as_bytes()).into(), origin.to_owned());
        self.logs.insert(origin.to_owned(), keys);
    }

    /// The trusted keys of a log, if it is known.
    pub fn get(&self, origin: &str) -> Option<&[Ed25519Verifier]> {
        self.logs.get(origin).map(Vec::as_slice)
    }

    /// The origin whose SHA-256 is `hash` (the monitoring API names logs this way).
    pub fn origin_by_hash(&self, hash: &[u8; 32]) -> Option<&str> {
        self.by_hash.get(hash).map(String::as_str)
    }

    /// The trusted keys of a log as note verifiers.
    pub(crate) fn verifiers(&self, origin: &str) -> Option<Vec<&dyn NoteVerifier>> {
        self.get(origin)
            .map(|keys| keys.iter().map(|k| k as &dyn NoteVerifier).collect())
    }

    /// Number of known logs.
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    /// Whether no log is known.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_tlog::Ed25519Signer;

    /// The example of the crate documentation, verbatim.
    const DOC_EXAMPLE: &str = r#"
# One line: the witness's cosignature/v1 private key,
# PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>. Mode 0600 (refused otherwise).
key_file = "witness.key"
# The witness's SQLite database, created if missing.
database = "witness.db"

# One table per known log: its origin line and its Ed25519 signed-note verifier keys
# (any of them may sign; signatures by other keys are ignored).
[[log]]
origin = "example.com/behind-the-sofa"
keys = ["example.com/behind-the-sofa+31ea3094+AffSsFu6R2jUBP7SfPk+JmRdXplhKugc0S/F2RiEXUgX"]
"#;

    #[test]
    fn the_documented_example_parses() {
        let lib = include_str!("lib.rs");
        let doc: String = lib
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        assert!(
            doc.contains(DOC_EXAMPLE.trim_start()),
            "lib.rs example differs"
        );
        let c = WitnessConfig::parse(DOC_EXAMPLE).unwrap();
        assert_eq!(c.database, PathBuf::from("witness.db"));
        assert!(
            c.known_logs()
                .unwrap()
                .get("example.com/behind-the-sofa")
                .is_some()
        );
    }

    #[test]
    fn parses_the_documented_format() {
        let log = Ed25519Signer::generate("example.com/log").unwrap();
        let text = format!(
            "key_file = \"witness.key\"\ndatabase = \"witness.db\"\n\n[[log]]\norigin = \"example.com/log\"\nkeys = [\"{}\"]\n",
            log.verifier().to_vkey()
        );
        let c = WitnessConfig::parse(&text).unwrap();
        assert_eq!(c.key_file, PathBuf::from("witness.key"));
        let logs = c.known_logs().unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs.get("example.com/log").unwrap()[0], log.verifier());
        let h: [u8; 32] = Sha256::digest(b"example.com/log").into();
        assert_eq!(logs.origin_by_hash(&h), Some("example.com/log"));

        let dup = format!("{text}\n[[log]]\norigin = \"example.com/log\"\nkeys = []\n");
        assert!(matches!(
            WitnessConfig::parse(&dup).unwrap().known_logs(),
            Err(ConfigError::DuplicateOrigin(_))
        ));
        let bad_key = text.replace("keys = [\"", "keys = [\"x");
        assert!(matches!(
            WitnessConfig::parse(&bad_key).unwrap().known_logs(),
            Err(ConfigError::BadLogKey { .. })
        ));
        assert!(WitnessConfig::parse("key_file = 1").is_err());
        assert!(WitnessConfig::parse(&format!("{text}\nextra = 1\n")).is_err());
    }
}
