//! The officer's configuration file: which hotline, as which party, with which key and token,
//! so nobody repeats flags.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "HOTLINE_CONFIG";

/// Contents of the configuration file (TOML). Relative paths are relative to the file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Server URL.
    pub server: String,
    /// The officer's party id.
    pub party: String,
    /// The party's private key file (mode 0600).
    pub key: PathBuf,
    /// File holding the party's API token (mode 0600).
    pub token: PathBuf,
    /// Where receipts are kept (default: `receipts` next to this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<PathBuf>,
}

/// A loaded configuration with its paths resolved.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file it came from.
    pub path: PathBuf,
    /// Its contents, paths made absolute.
    pub config: Config,
}

impl Loaded {
    /// The directory receipts go to.
    pub fn receipts_dir(&self) -> PathBuf {
        self.config.receipts.clone().unwrap_or_else(|| {
            self.path
                .parent()
                .unwrap_or_else(|| Path::new("."))
                .join("receipts")
        })
    }
}

/// The configuration file to use: `--config`, else `$HOTLINE_CONFIG`, else
/// `~/.config/hotline/config.toml`.
pub fn config_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_owned();
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".config/hotline/config.toml")
}

/// Loads the configuration.
pub fn load(flag: Option<&Path>) -> Result<Loaded> {
    let path = config_path(flag);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading the configuration {} (create it with `hotline config init`, or pass --config)",
            path.display()
        )
    })?;
    let mut config: Config = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", path.display()))?;
    let base = path.parent().unwrap_or_else(|| Path::new(".")).to_owned();
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_owned()
        } else {
            base.join(p)
        }
    };
    config.key = resolve(&config.key);
    config.token = resolve(&config.token);
    config.receipts = config.receipts.as_deref().map(resolve);
    if !hotline_crypto::is_valid_party_id(&config.party) {
        bail!(
            "{}: party {:?} is not a valid party id",
            path.display(),
            config.party
        );
    }
    Ok(Loaded { path, config })
}

/// Writes a new configuration file (refusing to overwrite one).
pub fn write(path: &Path, config: &Config) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite it",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let text = toml::to_string_pretty(config)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
