//! The data directory: database, log key files and the process lock.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use hotline_store::sqlite;
use hotline_tlog::Ed25519Signer;

/// File names inside a data directory.
pub const LOG_KEY: &str = "log.key";
/// The log's verifier key, public.
pub const LOG_VKEY: &str = "log.vkey";
const LOCK: &str = "hotline.lock";

/// A hotline data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    path: PathBuf,
}

impl DataDir {
    /// The directory at `path` (not checked).
    pub fn new(path: &Path) -> DataDir {
        DataDir {
            path: path.to_owned(),
        }
    }

    /// Path of the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Path of the database.
    pub fn db(&self) -> PathBuf {
        self.path.join(sqlite::DB_FILE)
    }

    /// Whether `init` has run here.
    pub fn is_initialised(&self) -> bool {
        self.db().exists() && self.path.join(LOG_KEY).exists()
    }

    /// Creates the directory (mode 0700), the log signing key (mode 0600), the verifier key and
    /// the database. Refuses to touch an existing hotline.
    pub fn init(&self, origin: &str) -> Result<Ed25519Signer> {
        if self.db().exists() || self.path.join(LOG_KEY).exists() {
            bail!(
                "{} already holds a hotline; refusing to overwrite it (choose another --dir)",
                self.path.display()
            );
        }
        fs::create_dir_all(&self.path)
            .with_context(|| format!("creating {}", self.path.display()))?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", self.path.display()))?;
        let signer = Ed25519Signer::generate(origin)
            .with_context(|| format!("origin {origin:?} cannot be a key name"))?;
        write_secret(&self.path.join(LOG_KEY), &signer.to_skey())?;
        let vkey = signer.verifier().to_vkey();
        fs::write(self.path.join(LOG_VKEY), format!("{vkey}\n"))
            .with_context(|| format!("writing {}", self.path.join(LOG_VKEY).display()))?;
        sqlite::create(&self.db(), origin, &vkey)?;
        Ok(signer)
    }

    /// Reads the log signing key, refusing a key file others can read.
    pub fn log_signer(&self) -> Result<Ed25519Signer> {
        let path = self.path.join(LOG_KEY);
        let text = read_secret(&path)?;
        Ed25519Signer::from_skey(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// Takes the directory's exclusive lock for as long as the returned file lives.
    pub fn lock(&self) -> Result<File> {
        if !self.is_initialised() {
            bail!(
                "{} is not a hotline data directory (run `hotline init --dir {}` first)",
                self.path.display(),
                self.path.display()
            );
        }
        let path = self.path.join(LOCK);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        match f.try_lock() {
            Ok(()) => Ok(f),
            Err(fs::TryLockError::WouldBlock) => bail!(
                "{} is in use by another hotline process (serve or bench); stop it first",
                self.path.display()
            ),
            Err(fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
    }
}

/// Writes a secret to a new file readable only by its owner.
pub fn write_secret(path: &Path, secret: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(secret.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads a secret file, refusing one that others may read.
pub fn read_secret(path: &Path) -> Result<String> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_owned())
}
