//! Files and directories that hold secrets: created readable by their owner only, and checked
//! when found.
//!
//! A password hash, an encrypted key or an API token is no business of other users of the
//! machine. Such a file is created with mode 0600 from its first byte (not written and then
//! narrowed, which leaves a window), and its directory with 0700. SQLite gives a database's
//! `-wal` and `-shm` files the main file's mode, so creating the main file first covers them.
//! A file or directory found with looser modes (made by hand, or by an older version) is kept
//! as it is, with a warning naming the command that fixes it: changing a person's modes behind
//! their back would surprise more than it helps. Elsewhere than on Unix this does nothing.

use std::fs::File;
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents, those created with mode 0700; warns if `dir` was
/// there already with looser modes.
///
/// # Errors
///
/// If a directory cannot be created.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        warn_if_loose(dir);
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates `path` for writing, empty, with mode 0600; fails if it exists.
///
/// # Errors
///
/// If the file exists or cannot be created.
pub fn create_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes sure `path` exists before another library opens it: created empty with mode 0600 if
/// missing, checked (with a warning if looser) if present.
///
/// # Errors
///
/// If the file cannot be created.
pub fn prepare_file(path: &Path) -> io::Result<()> {
    match create_file(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            warn_if_loose(path);
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The mode bits of `path` that let others than its owner in, if any (Unix only).
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Warns when `path` can be read or entered by others than its owner.
pub fn warn_if_loose(path: &Path) {
    if let Some(mode) = loose_mode(path) {
        let wanted = if path.is_dir() { "700" } else { "600" };
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "holds secrets but others may read it; run `chmod {wanted} {}`",
            path.display()
        );
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_and_directories_are_created_for_their_owner_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let file = dir.join("secret");
        prepare_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(loose_mode(&file), None);
        assert!(create_file(&file).is_err(), "never overwrites");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_file(&file).unwrap();
        assert_eq!(
            loose_mode(&file),
            Some(0o644),
            "found looser: kept, reported"
        );
    }
}
