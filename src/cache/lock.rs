//! The per-entry lock that lets parallel runs share one fetch: the run that takes the
//! exclusive lock fetches, and the others wait for it and then read its entry.
//!
//! The lock is an advisory lock (`flock` on Unix, `LockFileEx` on Windows) on a separate
//! `.lock` file, so that renaming a new entry into place never disturbs it. The operating
//! system releases it when the process ends, even when the process is killed.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::fs::{self as cache_fs, Problem};

/// The first pause between attempts; each later pause doubles, up to `MAX_POLL`.
const FIRST_POLL: Duration = Duration::from_millis(1);

/// The maximum pause between attempts, which bounds how late a waiter notices the release.
const MAX_POLL: Duration = Duration::from_millis(16);

/// An exclusive lock on an entry, released when dropped.
#[derive(Debug)]
pub struct EntryLock {
    file: File,
}

impl Drop for EntryLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// The outcome of trying to lock an entry.
#[derive(Debug)]
pub enum Locked {
    /// The lock was free.
    Immediately(EntryLock),
    /// Another run held the lock, and released it before the deadline.
    AfterWaiting(EntryLock),
}

/// Takes the exclusive lock on `path`, polling until `deadline`.
pub fn acquire(path: &Path, deadline: Instant) -> Result<Locked, Problem> {
    let file = cache_fs::open_lock_file(path)?;
    let mut pause = FIRST_POLL;
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                let lock = EntryLock { file };
                return Ok(if waited {
                    Locked::AfterWaiting(lock)
                } else {
                    Locked::Immediately(lock)
                });
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(err)) => {
                return Err(format!("can't lock {}: {err}", path.display()));
            }
        }

        if !waited {
            log::info!(
                "waiting for another posos-token run that is fetching the same token (lock {})",
                path.display()
            );
            waited = true;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(format!(
                "another run held {} for the whole wait",
                path.display()
            ));
        }
        thread::sleep(pause.min(remaining));
        pause = (pause * 2).min(MAX_POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.lock");
        let first = acquire(&path, Instant::now()).unwrap();
        assert!(matches!(first, Locked::Immediately(_)));

        let waiter_path = path.clone();
        let waiter = thread::spawn(move || {
            acquire(&waiter_path, Instant::now() + Duration::from_secs(10)).unwrap()
        });
        thread::sleep(Duration::from_millis(50));
        drop(first);
        assert!(matches!(waiter.join().unwrap(), Locked::AfterWaiting(_)));
    }

    #[test]
    fn lock_gives_up_at_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.lock");
        let _held = acquire(&path, Instant::now()).unwrap();
        let err = acquire(&path, Instant::now() + Duration::from_millis(30)).unwrap_err();
        assert!(err.contains("for the whole wait"), "{err}");
    }
}
