//! Secret and key files: the only I/O this crate does.
//!
//! Rules, for every secret file (party key files, the log's signing key, tokens):
//!
//! - It is created new, with mode 0600 from its first byte (the mode is given to `open`, not
//!   set afterwards), and never replaces an existing file. Its contents and then its directory
//!   are fsynced before the write counts as done; a write that fails removes the partial file.
//! - It is read only if neither group nor others have any permission bit on it; otherwise the
//!   read is refused with the `chmod 600 <path>` that fixes it. The check is made on the open
//!   file (`fstat`), so the file cannot be swapped between check and read.
//! - Secret files are small: anything over [`MAX_SECRET_FILE_SIZE`] is refused unread.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::party::{PartyKeys, PartyPublicKeys};

/// Largest secret or key file this crate reads.
pub const MAX_SECRET_FILE_SIZE: u64 = 64 * 1024;

/// Creates `path` (which must not exist) with mode 0600 and writes a party's private key file
/// to it (see [`crate::party`] for the format).
pub fn write_key_file(path: &Path, keys: &PartyKeys) -> Result<(), CryptoError> {
    create_file(path, keys.to_key_file().as_bytes(), 0o600)
}

/// Reads a party's private key file, refusing one that others can read.
pub fn read_key_file(path: &Path) -> Result<PartyKeys, CryptoError> {
    let text = read_private(path)?;
    PartyKeys::parse_key_file(&text, &path.display().to_string())
}

/// Creates `path` (which must not exist) with mode 0644 and writes a public key file to it.
pub fn write_public_file(path: &Path, keys: &PartyPublicKeys) -> Result<(), CryptoError> {
    create_file(path, keys.to_public_file().as_bytes(), 0o644)
}

/// Reads a public key file (no permission check: it holds nothing secret).
pub fn read_public_file(path: &Path) -> Result<PartyPublicKeys, CryptoError> {
    let f = File::open(path).map_err(|e| CryptoError::io("opening", path, e))?;
    let text = read_limited(f, path)?;
    PartyPublicKeys::parse_public_file(&text, &path.display().to_string())
}

/// Creates `path` (which must not exist) with mode 0600 and writes `secret` and a newline.
pub fn write_secret(path: &Path, secret: &str) -> Result<(), CryptoError> {
    let mut text = Zeroizing::new(String::with_capacity(secret.len() + 1));
    text.push_str(secret);
    text.push('\n');
    create_file(path, text.as_bytes(), 0o600)
}

/// Reads a secret file written by [`write_secret`], without surrounding whitespace, refusing
/// a file that others can read.
pub fn read_secret(path: &Path) -> Result<Zeroizing<String>, CryptoError> {
    let text = read_private(path)?;
    Ok(Zeroizing::new(text.trim().to_owned()))
}

/// Reads a file that must be private to its owner.
fn read_private(path: &Path) -> Result<Zeroizing<String>, CryptoError> {
    let f = File::open(path).map_err(|e| CryptoError::io("opening", path, e))?;
    let meta = f
        .metadata()
        .map_err(|e| CryptoError::io("reading", path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CryptoError::InsecurePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    read_limited(f, path)
}

fn read_limited(f: File, path: &Path) -> Result<Zeroizing<String>, CryptoError> {
    let meta = f
        .metadata()
        .map_err(|e| CryptoError::io("reading", path, e))?;
    if !meta.is_file() {
        return Err(CryptoError::io(
            "reading",
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    if meta.len() > MAX_SECRET_FILE_SIZE {
        return Err(CryptoError::SecretFileTooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit: MAX_SECRET_FILE_SIZE,
        });
    }
    // Room for the whole file up front, so that no reallocation leaves a copy behind.
    let mut text = Zeroizing::new(String::with_capacity(meta.len() as usize + 1));
    f.take(MAX_SECRET_FILE_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|e| CryptoError::io("reading", path, e))?;
    if text.len() as u64 > MAX_SECRET_FILE_SIZE {
        return Err(CryptoError::SecretFileTooLarge {
            path: path.to_owned(),
            size: text.len() as u64,
            limit: MAX_SECRET_FILE_SIZE,
        });
    }
    Ok(text)
}

/// Creates a new file with `mode` from its first byte, writes `bytes`, syncs the file and its
/// directory. Removes the file again if anything after its creation fails.
fn create_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CryptoError> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => CryptoError::AlreadyExists {
                path: path.to_owned(),
            },
            _ => CryptoError::io("creating", path, e),
        })?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| CryptoError::io("writing", path, e));
    drop(f);
    if let Err(e) = written {
        let _ = fs::remove_file(path);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CryptoError::io("syncing the directory of", path, e))
}
