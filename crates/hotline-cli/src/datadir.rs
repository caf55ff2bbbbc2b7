//! The data directory: database, log key files and the process lock.
//!
//! The log itself is kept either in the directory (`hotline.db`, SQLite, the default) or in a
//! PostgreSQL database whose URL the directory records in `database.url` (mode 0600: the URL
//! may hold a password). Keys and the lock always stay in the directory.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use hotline_crypto::{Zeroizing, read_secret, write_secret};
use hotline_store::{postgres, sqlite};
use hotline_tlog::Ed25519Signer;

/// File names inside a data directory.
pub const LOG_KEY: &str = "log.key";
/// The log's verifier key, public.
pub const LOG_VKEY: &str = "log.vkey";
/// The operator's party keys (signs delivered, overdue and directory statements).
pub const OPERATOR_KEY: &str = "operator.key";
/// The operator's API token.
pub const OPERATOR_TOKEN: &str = "operator.token";
/// The PostgreSQL URL of a directory whose log is kept in PostgreSQL (mode 0600).
pub const DATABASE_URL: &str = "database.url";
const LOCK: &str = "hotline.lock";

/// Where a data directory's log is stored.
#[derive(Clone)]
pub enum Store {
    /// The SQLite database in the directory.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`).
    Postgres(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Store::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            Store::Postgres(url) => write!(f, "Postgres({})", postgres::target_of(url)),
        }
    }
}

/// A hotline data directory.
#[derive(Clone)]
pub struct DataDir {
    path: PathBuf,
    /// A PostgreSQL URL given on the command line (`--database`), if any.
    database: Option<String>,
}

impl std::fmt::Debug for DataDir {
    // Never the URL itself: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataDir")
            .field("path", &self.path)
            .field(
                "database",
                &self.database.as_deref().map(postgres::target_of),
            )
            .finish()
    }
}

impl DataDir {
    /// The directory at `path` (not checked).
    pub fn new(path: &Path) -> DataDir {
        DataDir {
            path: path.to_owned(),
            database: None,
        }
    }

    /// The same directory with its log in the PostgreSQL database `url` (`--database`): `init`
    /// creates the log there, and opening checks it is the one the directory records.
    pub fn with_database(mut self, url: Option<String>) -> DataDir {
        self.database = url;
        self
    }

    /// The PostgreSQL URL recorded by `init --database`, if any.
    pub fn recorded_database(&self) -> Result<Option<String>> {
        let path = self.path.join(DATABASE_URL);
        if !path.exists() {
            return Ok(None);
        }
        let url = read_secret(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Some(url.to_string()))
    }

    /// Where the log is: the recorded PostgreSQL database, else `hotline.db`. A `--database`
    /// given for the directory must be the recorded one.
    pub fn store(&self) -> Result<Store> {
        match (self.database.as_deref(), self.recorded_database()?) {
            (Some(given), Some(recorded)) if given.trim() != recorded => bail!(
                "{} keeps its log in PostgreSQL at {} (recorded in {}), but --database names {}; \
                 give the recorded URL or leave --database out",
                self.path.display(),
                postgres::target_of(&recorded),
                self.path.join(DATABASE_URL).display(),
                postgres::target_of(given)
            ),
            (_, Some(recorded)) => Ok(Store::Postgres(recorded)),
            (Some(given), None) => {
                if self.db().exists() {
                    bail!(
                        "{} keeps its log in {}, not in PostgreSQL; leave --database out (or \
                         copy the log with `hotline migrate`)",
                        self.path.display(),
                        self.db().display()
                    );
                }
                Ok(Store::Postgres(given.trim().to_owned()))
            }
            (None, None) => Ok(Store::Sqlite(self.db())),
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

    /// Whether `init` has run here (its log in `hotline.db` or in PostgreSQL).
    pub fn is_initialised(&self) -> bool {
        (self.db().exists() || self.path.join(DATABASE_URL).exists())
            && self.path.join(LOG_KEY).exists()
    }

    /// Creates the directory (mode 0700), the log signing key (mode 0600), the verifier key and
    /// the database (`hotline.db`, or the log's tables in the PostgreSQL database given with
    /// [`DataDir::with_database`], whose URL is then recorded in `database.url`). Refuses to
    /// touch an existing hotline.
    ///
    /// Crash-safe: every file is written under a temporary name, synced and renamed, the
    /// database (or `database.url`) last, and a directory counts as a hotline only once it
    /// exists. A key left by an interrupted `init` (key, no database) was never announced and
    /// signed nothing stored; it is kept aside as `log.key.interrupted-<time>` and a new one is
    /// made. (An `init --database` interrupted after creating the tables but before recording
    /// the URL leaves an empty log in PostgreSQL that a new `init` refuses to overwrite: drop
    /// it, or its schema, first.)
    pub fn init(&self, origin: &str) -> Result<Ed25519Signer> {
        if self.db().exists() || self.path.join(DATABASE_URL).exists() {
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
        let last = match self.database.as_deref() {
            Some(url) => {
                let url = url.trim();
                postgres::create(url, origin, &vkey)?;
                let _ = fs::remove_file(tmp(DATABASE_URL));
                write_secret(&tmp(DATABASE_URL), url)?;
                DATABASE_URL
            }
            None => {
                let db_tmp = tmp(sqlite::DB_FILE);
                for leftover in [db_tmp.clone(), db_tmp.with_extension("tmp-wal")] {
                    let _ = fs::remove_file(leftover);
                }
                sqlite::create(&db_tmp, origin, &vkey)?;
                sqlite::DB_FILE
            }
        };
        for name in [LOG_KEY, LOG_VKEY, last] {
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

    /// Fails, saying what to do, unless `init` has run here.
    pub fn ensure_initialised(&self) -> Result<()> {
        if !self.is_initialised() {
            bail!(
                "{} is not a hotline data directory (run `hotline init --dir {}` first)",
                self.path.display(),
                self.path.display()
            );
        }
        Ok(())
    }

    /// Takes the directory's exclusive lock for as long as the returned file lives.
    pub fn lock(&self) -> Result<File> {
        self.ensure_initialised()?;
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
