//! Durable file writes and bounded reads.
//!
//! [`write_atomically`] writes a new file beside the target (named
//! `.NAME.<random>.tmp`, mode `0600` on Unix), syncs it, moves it into
//! place and syncs the directory, so that after a crash the path holds the
//! old content or the new, never a mix, and a completed write survives
//! power loss. With [`Existing::Refuse`] an existing file is never
//! replaced, even one that appears while writing (a hard link never
//! replaces; where hard links are unsupported, check-then-rename). The
//! temporary file is removed on every error.
//!
//! [`read_bounded`] reads a whole file of at most a given size; a missing
//! file is `None`, a larger one an error.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// A durable write or bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// The operating system refused.
    #[error("cannot {action} {path}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done, e.g. "sync the directory".
        action: &'static str,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },
    /// [`Existing::Refuse`] and the file exists; it was left alone.
    #[error("{path} already exists")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The file is larger than the reader accepts.
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The bound, in bytes.
        limit: u64,
    },
    /// No randomness for the temporary file's name.
    #[error("the system's random number generator failed: {source}")]
    Randomness {
        /// The generator's error.
        #[source]
        source: getrandom::Error,
    },
}

/// What to do when the target file exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (atomically).
    Replace,
    /// Leave it and fail with [`DurableError::Exists`].
    Refuse,
}

impl Existing {
    /// [`Existing::Replace`] if `replace`, else [`Existing::Refuse`].
    pub fn replace_if(replace: bool) -> Existing {
        if replace {
            Existing::Replace
        } else {
            Existing::Refuse
        }
    }
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> DurableError {
    let path = path.to_path_buf();
    move |source| DurableError::Io {
        path,
        action,
        source,
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Whether anything (a file, a directory, a dangling link) is at `path`.
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Removes a temporary file unless it was moved into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `path` durably and atomically (see the module docs).
/// The directory must exist.
pub fn write_atomically(path: &Path, bytes: &[u8], existing: Existing) -> Result<(), DurableError> {
    let dir = parent_dir(path);
    let file_name = path.file_name().ok_or_else(|| DurableError::Io {
        path: path.to_path_buf(),
        action: "write to",
        source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|source| DurableError::Randomness { source })?;
    let mut temp_name = OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".{}.tmp", hex::encode(suffix)));
    let mut temp = TempFile {
        path: dir.join(temp_name),
        keep: false,
    };

    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&temp.path)
        .map_err(io_error(&temp.path, "create the temporary file"))?;
    #[cfg(unix)]
    {
        // The mode above is filtered by the umask; make sure.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io_error(&temp.path, "restrict the permissions of"))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temp.path, "write the temporary file"))?;
    drop(file);

    match existing {
        Existing::Replace => {
            fs::rename(&temp.path, path)
                .map_err(io_error(path, "move the new file into place at"))?;
            temp.keep = true;
        }
        Existing::Refuse => match fs::hard_link(&temp.path, path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(DurableError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(_) if exists(path) => {
                return Err(DurableError::Exists {
                    path: path.to_path_buf(),
                });
            }
            Err(_) => {
                fs::rename(&temp.path, path)
                    .map_err(io_error(path, "move the new file into place at"))?;
                temp.keep = true;
            }
        },
    }
    drop(temp);
    sync_dir(dir)
}

/// Makes a rename (or a new file) in `dir` durable. A no-op where
/// directories cannot be synced (not Unix).
pub fn sync_dir(dir: &Path) -> Result<(), DurableError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir, "sync the directory"))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads the whole file at `path` if it is at most `limit` bytes; `None` if
/// there is no file.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, DurableError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "read")(e)),
    };
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error(path, "read"))?;
    if bytes.len() as u64 > limit {
        return Err(DurableError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn a_write_replaces_or_refuses_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomically(&path, b"one", Existing::Refuse).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        let err = write_atomically(&path, b"two", Existing::Refuse).unwrap_err();
        assert!(matches!(err, DurableError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomically(&path, b"three", Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        assert_eq!(entries(dir.path()), 1, "temporary files removed");
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        write_atomically(&path, b"x", Existing::Replace).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_write_into_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing/f");
        let err = write_atomically(&path, b"x", Existing::Replace).unwrap_err();
        assert!(matches!(err, DurableError::Io { .. }), "{err}");
        assert_eq!(entries(dir.path()), 0);
    }

    #[test]
    fn reads_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(read_bounded(&path, 4).unwrap(), None);
        fs::write(&path, b"1234").unwrap();
        assert_eq!(read_bounded(&path, 4).unwrap(), Some(b"1234".to_vec()));
        fs::write(&path, b"12345").unwrap();
        let err = read_bounded(&path, 4).unwrap_err();
        assert!(
            matches!(err, DurableError::TooLarge { limit: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn parent_dir_of_a_bare_name_is_the_current_directory() {
        assert_eq!(parent_dir(Path::new("f")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/f")), Path::new("a"));
    }
}
