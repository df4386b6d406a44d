//! One process at a time in a directory: an exclusive lock file.
//!
//! A node's data directory (and a devnet's directory) must be used by one
//! process at a time: two nodes on one sled database, or one signing
//! record, would corrupt it or sign twice. [`DirLock::acquire`] opens
//! `DIR/LOCK`, takes an exclusive, non-blocking `flock` on it and writes
//! the process id into it; a second process (or a second open in the same
//! process) gets [`LockError::InUse`] at once, naming the holder's pid:
//! "another guild node is already using DIR (pid 1234)".
//!
//! The lock belongs to the open file, not to the file's existence: the
//! kernel releases it when the holder exits in any way, `kill -9`
//! included, so a `LOCK` file left behind by a killed process never blocks
//! a restart (its stale pid is simply overwritten). The lock is released
//! when the [`DirLock`] is dropped.
//!
//! On systems without `flock` (not Unix) the lock is not taken; sled's own
//! lock on its database still refuses a second node there.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside the locked directory.
pub const LOCK_FILE: &str = "LOCK";

/// Why a directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process (or another open in this one) holds the lock.
    #[error("another {holder} is already using {}{}", dir.display(), pid_text(*pid))]
    InUse {
        /// What holds it, as said to a person ("guild node").
        holder: &'static str,
        /// The locked directory.
        dir: PathBuf,
        /// The holder's process id, as it wrote it (`None` if it had not
        /// written it yet).
        pid: Option<u32>,
    },
    /// The lock file cannot be opened or written.
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

fn pid_text(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!(" (pid {pid})"),
        None => String::new(),
    }
}

/// An exclusive lock on a directory, held until dropped.
#[derive(Debug)]
pub struct DirLock {
    // Holding the open file is holding the lock.
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process; `holder` names the
    /// kind of process in the error a second one gets ("guild node").
    pub fn acquire(dir: &Path, holder: &'static str) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        // Not truncated on open: the holder's pid stays readable to the
        // process that is refused.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if !try_lock(&file).map_err(io)? {
            return Err(LockError::InUse {
                holder,
                dir: dir.to_path_buf(),
                pid: read_pid(&mut file),
            });
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(format!("{}\n", std::process::id()).as_bytes())
            .map_err(io)?;
        Ok(DirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid in a lock file, if it holds one (at most a few bytes are read).
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// The process id written in `dir`'s lock file, if any (whether or not it
/// is still held).
pub fn holder_pid(dir: &Path) -> Option<u32> {
    let mut file = File::open(dir.join(LOCK_FILE)).ok()?;
    read_pid(&mut file)
}

#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(errno) => Err(errno.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), "guild node").unwrap();
        assert_eq!(holder_pid(dir.path()), Some(std::process::id()));
        let error = DirLock::acquire(dir.path(), "guild node").unwrap_err();
        match &error {
            LockError::InUse { pid, dir: d, .. } => {
                assert_eq!(*pid, Some(std::process::id()));
                assert_eq!(d, dir.path());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            error.to_string(),
            format!(
                "another guild node is already using {} (pid {})",
                dir.path().display(),
                std::process::id()
            )
        );
        drop(first);
        let again = DirLock::acquire(dir.path(), "guild node").unwrap();
        assert_eq!(again.path(), dir.path().join(LOCK_FILE));
    }

    #[test]
    fn a_stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "999999999\n").unwrap();
        let _lock = DirLock::acquire(dir.path(), "guild node").unwrap();
        assert_eq!(holder_pid(dir.path()), Some(std::process::id()));
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let error = DirLock::acquire(&dir.path().join("nope"), "guild node").unwrap_err();
        assert!(matches!(error, LockError::Io { .. }), "{error:?}");
    }
}
