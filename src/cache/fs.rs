//! File operations of the cache, with the checks that keep another user's files and symbolic
//! links out of it. The directory and each file must be owned by this user and must not be a
//! symbolic link, and files must be regular files. Writes go to a temporary file that is then
//! renamed over the entry.
//!
//! Every failure is returned as a sentence for a warning, because the cache never makes a run
//! fail.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The largest entry read. An entry contains one identity token of about 1 KiB.
pub const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// Why a cache file or directory can't be used, worded to follow "not using the token cache: ".
pub type Problem = String;

/// Creates the cache directory if needed (mode 0700 on Unix, whatever the umask), and checks
/// that it is a directory owned by this user and not a symbolic link.
pub fn prepare_dir(dir: &Path) -> Result<(), Problem> {
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => create_dir(dir)?,
        Err(err) => return Err(format!("can't read {}: {err}", dir.display())),
    }
    check_dir(dir)?;
    restrict_dir_mode(dir)
}

/// Checks that an existing cache directory may be used, without changing it.
pub fn check_dir(dir: &Path) -> Result<(), Problem> {
    let metadata =
        fs::symlink_metadata(dir).map_err(|err| format!("can't read {}: {err}", dir.display()))?;
    if metadata.file_type().is_symlink() {
        return Err(format!(
            "{} is a symbolic link; remove it or point POSOS_TOKEN_CACHE_DIR at a directory of yours",
            dir.display()
        ));
    }
    if !metadata.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    check_owner(&metadata, dir)
}

fn create_dir(dir: &Path) -> Result<(), Problem> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .map_err(|err| format!("can't create {}: {err}", parent.display()))?;
    }
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    match builder.create(dir) {
        Ok(()) => set_mode(dir, 0o700),
        // Another run created it at the same moment.
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(format!("can't create {}: {err}", dir.display())),
    }
}

/// Removes any access of group and others from an existing directory that holds only cache
/// files, and keeps the owner's bits, so that a directory the user made read-only stays
/// read-only. A directory open to others that contains other files too, such as /tmp, is left
/// as it is and not used, because changing its mode would break the other programs that use it.
fn restrict_dir_mode(dir: &Path) -> Result<(), Problem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let metadata = fs::symlink_metadata(dir)
            .map_err(|err| format!("can't read {}: {err}", dir.display()))?;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            if !holds_only_cache_files(dir)? {
                return Err(format!(
                    "{} has mode {mode:04o}, so other users can reach it, and it holds other files, so posos-token leaves its mode alone; set POSOS_TOKEN_CACHE_DIR to a directory of its own",
                    dir.display()
                ));
            }
            set_mode(dir, mode & 0o700)?;
            log::info!(
                "changed the mode of the cache directory {} from {mode:04o} to {:04o}",
                dir.display(),
                mode & 0o700
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Returns whether every entry of `dir` is a file that the token cache writes.
#[cfg(unix)]
fn holds_only_cache_files(dir: &Path) -> Result<bool, Problem> {
    let entries =
        fs::read_dir(dir).map_err(|err| format!("can't list {}: {err}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| format!("can't list {}: {err}", dir.display()))?;
        if !super::is_cache_file(&entry.file_name().to_string_lossy()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Sets `mode` explicitly, because the umask changes the mode that a create call requests.
fn set_mode(path: &Path, mode: u32) -> Result<(), Problem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|err| format!("can't set mode {mode:04o} on {}: {err}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Reads an entry file. Returns `Ok(None)` when there is none.
pub fn read_file(path: &Path) -> Result<Option<Vec<u8>>, Problem> {
    let file = match open_no_follow(path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(open_problem(err, path)),
    };
    check_file(&file, path)?;
    // Sized to the file, so that the token is read without reallocations that would leave
    // copies of it in freed memory.
    let size = file.metadata().map_or(0, |metadata| metadata.len());
    let mut bytes = Vec::with_capacity(size.min(MAX_ENTRY_BYTES) as usize + 1);
    file.take(MAX_ENTRY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| format!("can't read {}: {err}", path.display()))?;
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return Err(format!(
            "{} is larger than {} KiB, so it is not a cache entry",
            path.display(),
            MAX_ENTRY_BYTES / 1024
        ));
    }
    Ok(Some(bytes))
}

/// Checks that a file left where an entry will be written is one this run may replace.
/// Renaming over a symbolic link would replace the link, not its target, but the cache
/// refuses such a file in every case instead of guessing why it is there.
pub fn check_replaceable(path: &Path) -> Result<(), Problem> {
    match fs::symlink_metadata(path) {
        Ok(metadata) => check_metadata(&metadata, path),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!("can't read {}: {err}", path.display())),
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, mode 0600 on
/// Unix whatever the umask, renamed over `path`. Readers see the old entry or the new one,
/// never a partial one.
///
/// The data is not synced to disk first: after a crash the entry may be empty, and the next
/// run treats it as damaged and fetches a new token, which costs less than a sync on every
/// fetch.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Problem> {
    check_replaceable(path)?;
    let temporary = temporary_path(path);
    let result = write_new(&temporary, bytes).and_then(|()| {
        fs::rename(&temporary, path)
            .map_err(|err| format!("can't rename a new entry to {}: {err}", path.display()))
    });
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Problem> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    let mut file = open_no_follow(path, &mut options)
        .map_err(|err| format!("can't create {}: {err}", path.display()))?;
    set_private_mode(&file, path)?;
    file.write_all(bytes)
        .map_err(|err| format!("can't write {}: {err}", path.display()))
}

/// Opens (creating it if needed) the lock file of an entry, checked like an entry file.
pub fn open_lock_file(path: &Path) -> Result<File, Problem> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    let file = open_no_follow(path, &mut options).map_err(|err| open_problem(err, path))?;
    check_file(&file, path)?;
    set_private_mode(&file, path)?;
    Ok(file)
}

/// Returns the name of a temporary file next to `path`, unique to this process and moment.
/// The leading dot and the `.tmp` suffix let `cache clear` find leftovers of killed runs.
fn temporary_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()))
}

/// Opens a file without following a symbolic link in its last component (`O_NOFOLLOW`), and
/// without blocking on a FIFO (`O_NONBLOCK`, which has no effect on a regular file).
fn open_no_follow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .mode(0o600);
        options.open(path)
    }
    #[cfg(not(unix))]
    {
        if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(io::Error::other("is a symbolic link"));
        }
        options.open(path)
    }
}

fn open_problem(err: io::Error, path: &Path) -> Problem {
    // O_NOFOLLOW makes opening a symbolic link fail with ELOOP.
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) {
        return format!("{} is a symbolic link", path.display());
    }
    format!("can't open {}: {err}", path.display())
}

/// Checks an open file, so that what is checked is what is read.
fn check_file(file: &File, path: &Path) -> Result<(), Problem> {
    let metadata = file
        .metadata()
        .map_err(|err| format!("can't read {}: {err}", path.display()))?;
    check_metadata(&metadata, path)
}

fn check_metadata(metadata: &fs::Metadata, path: &Path) -> Result<(), Problem> {
    if metadata.file_type().is_symlink() {
        return Err(format!("{} is a symbolic link", path.display()));
    }
    if !metadata.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    check_owner(metadata, path)
}

fn set_private_mode(file: &File, path: &Path) -> Result<(), Problem> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(|err| format!("can't set mode 0600 on {}: {err}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

#[cfg(unix)]
fn check_owner(metadata: &fs::Metadata, path: &Path) -> Result<(), Problem> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and can't fail.
    let euid = unsafe { libc::geteuid() };
    if metadata.uid() != euid {
        return Err(format!(
            "{} is owned by user id {}, not by this user (id {euid})",
            path.display(),
            metadata.uid()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner(_metadata: &fs::Metadata, _path: &Path) -> Result<(), Problem> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(read_file(&path).unwrap().unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[test]
    fn read_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_file(&dir.path().join("none.json")).unwrap().is_none());
    }

    #[test]
    fn read_rejects_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_file(dir.path()).unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn read_rejects_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = read_file(&link).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(write_atomic(&link, b"y").is_err());
        assert_eq!(fs::read(&target).unwrap(), b"x");
    }

    #[test]
    fn read_rejects_oversize_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        fs::write(&path, vec![b' '; MAX_ENTRY_BYTES as usize + 1]).unwrap();
        assert!(read_file(&path).unwrap_err().contains("larger than"));
    }

    #[cfg(unix)]
    #[test]
    fn prepare_dir_sets_mode_0700() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("a/b/cache");
        prepare_dir(&cache).unwrap();
        let mode = fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);

        fs::set_permissions(&cache, fs::Permissions::from_mode(0o755)).unwrap();
        prepare_dir(&cache).unwrap();
        let mode = fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn prepare_dir_keeps_read_only_owner_bits() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        fs::create_dir(&cache).unwrap();
        fs::set_permissions(&cache, fs::Permissions::from_mode(0o555)).unwrap();
        prepare_dir(&cache).unwrap();
        let mode = fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o500);
    }
}
