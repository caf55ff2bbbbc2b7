//! The data directory: database, log key files and the process lock.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use hotline_crypto::{Zeroizing, read_secret, write_secret};
use hotline_store::sqlite;
use hotline_tlog::Ed25519Signer;

/// File names inside a data directory.
pub const LOG_KEY: &str = "log.key";
/// The log's verifier key, public.
pub const LOG_VKEY: &str = "log.vkey";
/// The operator's party keys (signs delivered, overdue and directory statements).
pub const OPERATOR_KEY: &str = "operator.key";
/// The operator's API token.
pub const OPERATOR_TOKEN: &str = "operator.token";
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
    ///
    /// Crash-safe: every file is written under a temporary name, synced and renamed, the
    /// database last, and a directory counts as a hotline only once its database exists. A key
    /// left by an interrupted `init` (key, no database) was never announced and signed nothing
    /// stored; it is kept aside as `log.key.interrupted-<time>` and a new one is made.
    pub fn init(&self, origin: &str) -> Result<Ed25519Signer> {
        if self.db().exists() {
            bail!(
                "{} already holds a hotline; refusing to overwrite it (choose another --dir)",
                self.path.display()
            );
        }
        let signer = Ed25519Signer::generate(origin)
            .with_context(|| format!("origin {origin:?} cannot be a key name"))?;
        fs::create_dir_all(&self.path)
            .with_context(|| format!("creating {}", self.path.display()))?;
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", self.path.display()))?;
        let key = self.path.join(LOG_KEY);
        if key.exists() {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = self.path.join(format!("{LOG_KEY}.interrupted-{stamp}"));
            fs::rename(&key, &aside).with_context(|| format!("moving aside {}", key.display()))?;
            eprintln!(
                "note: {} held a log key but no database (an interrupted init); kept it as {}",
                self.path.display(),
                aside.display()
            );
        }
        let vkey = signer.verifier().to_vkey();
        let tmp = |name: &str| self.path.join(format!("{name}.tmp"));
        // A leftover from an interrupted run is replaced; mode 0600 from the first byte.
        let _ = fs::remove_file(tmp(LOG_KEY));
        write_secret(&tmp(LOG_KEY), &Zeroizing::new(signer.to_skey()))?;
        fs::write(tmp(LOG_VKEY), format!("{vkey}\n"))
            .with_context(|| format!("writing {}", tmp(LOG_VKEY).display()))?;
        let db_tmp = tmp(sqlite::DB_FILE);
        for leftover in [db_tmp.clone(), db_tmp.with_extension("tmp-wal")] {
            let _ = fs::remove_file(leftover);
        }
        sqlite::create(&db_tmp, origin, &vkey)?;
        for name in [LOG_KEY, LOG_VKEY, sqlite::DB_FILE] {
            fs::rename(tmp(name), self.path.join(name))
                .with_context(|| format!("renaming {}", tmp(name).display()))?;
        }
        File::open(&self.path)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", self.path.display()))?;
        Ok(signer)
    }

    /// Whether this directory holds a hotline (parties, cases) rather than a bare log.
    pub fn is_hotline(&self) -> bool {
        self.path.join(OPERATOR_KEY).exists()
    }

    /// Reads the operator's keys.
    pub fn operator_keys(&self) -> Result<hotline_crypto::PartyKeys> {
        let path = self.path.join(OPERATOR_KEY);
        hotline_crypto::read_key_file(&path).with_context(|| format!("reading {}", path.display()))
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
