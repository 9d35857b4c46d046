//! Files: atomic writes and regular-file reads, as `neural_trader/files.py` does them on the Python side.
//!
//! A write goes to a temporary file beside the target, `.{name}.tmp-{pid}-{n}` (the name the Python side
//! uses too), is fsynced and renamed over the target: a crash mid-save leaves the previous file. A save
//! killed between creating its temporary file and the rename leaves that file behind; the next save to
//! the same path removes the ones whose process no longer runs. A read takes only a regular file, and no
//! more than its size.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Reads the whole of a regular file, refusing anything else before opening it (see
/// [`crate::Checkpoint::read`]). The size is checked again on the open file, so a file swapped for a device
/// between the two checks is refused too; reading stops at the size seen then.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let not_regular = || {
        Error::Checkpoint(format!(
            "{} is not a regular file (a directory, FIFO or device is never a checkpoint)",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let len = usize::try_from(meta.len())
        .map_err(|_| Error::Checkpoint(format!("{} is too large to read", path.display())))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| {
        Error::Checkpoint(format!(
            "{}: cannot allocate {len} bytes to read it",
            path.display()
        ))
    })?;
    file.take(meta.len())
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Distinguishes the temporary files of concurrent saves within one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` through a temporary file in the same directory, fsync and rename. Each save
/// creates its own temporary file (process id and a counter, created exclusively), so concurrent saves
/// to one path, from threads or processes, never write into the same temporary file: the result is one
/// of the complete files.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Checkpoint(format!("{} is not a file path", path.display())))?;
    // The rename would replace a device, FIFO or directory entry (as root: `/dev/full` itself).
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(Error::Checkpoint(format!(
                "refusing to replace {}: it exists and is not a regular file",
                path.display()
            )));
        }
    }
    let name = name.to_string_lossy();
    remove_stale_temporaries(&dir, &name);
    let (tmp, mut file) = create_temporary(&dir, &name).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself; not every platform can open a directory, so this is best effort.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Creates `.{name}.tmp-{pid}-{n}` in `dir` with `create_new` (`O_EXCL`), trying the next `n` if a file
/// of that name is left over from a killed process whose id was reused.
fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut attempts = 0;
    loop {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 64 => {
                attempts += 1
            }
            Err(e) => return Err(e),
        }
    }
}

/// Removes the temporary files `.{name}.tmp-{pid}-{n}` in `dir` left by processes that no longer run.
/// Files of this process (concurrent saves) and of live processes are kept, and so is anything in
/// doubt: a process table that cannot be read, a name that is not exactly the pattern, an entry that is
/// not a regular file. Failures are ignored: the save itself reports a folder it cannot write.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(leftover_pid)
        else {
            continue;
        };
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && pid != std::process::id() && !process_runs(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The `pid` of a temporary file's suffix `{pid}-{n}` (decimal digits each), or `None`.
fn leftover_pid(suffix: &str) -> Option<u32> {
    let (pid, n) = suffix.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` runs, from the process table in `/proc`; `true` (keep its files) when there is
/// no readable process table.
fn process_runs(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("nt-core-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The id of a process that has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn leftovers_of_dead_processes_are_removed_and_the_rest_kept() {
        let dir = scratch("leftovers");
        let target = dir.join("model.safetensors");
        let dead = dead_pid();
        let parent = std::os::unix::process::parent_id();
        let names = [
            format!(".model.safetensors.tmp-{dead}-0"),   // removed
            format!(".model.safetensors.tmp-{dead}-17"),  // removed
            format!(".model.safetensors.tmp-{parent}-0"), // a live process: kept
            format!(".model.safetensors.tmp-{}-999", std::process::id()), // this one: kept
            format!(".other.bin.tmp-{dead}-0"),           // another path's: kept
            format!(".model.safetensors.tmp-{dead}-0x"),  // not the pattern: kept
            format!(".model.safetensors.tmp-{dead}"),     // not the pattern: kept
        ];
        for name in &names {
            std::fs::write(dir.join(name), b"partial").unwrap();
        }
        std::fs::create_dir(dir.join(format!(".model.safetensors.tmp-{dead}-5"))).unwrap();
        write_atomic(&target, b"data").unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut kept: Vec<String> = names[2..].to_vec();
        kept.push(format!(".model.safetensors.tmp-{dead}-5")); // a folder: never removed
        kept.push("model.safetensors".into());
        kept.sort();
        assert_eq!(left, kept);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leftover_names_parse_strictly() {
        assert_eq!(leftover_pid("123-0"), Some(123));
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "12-x",
            "x-1",
            "1-2-3",
            "+1-2",
            "99999999999-0",
        ] {
            assert_eq!(leftover_pid(bad), None, "{bad}");
        }
    }

    #[test]
    fn write_refuses_to_replace_a_directory() {
        let dir = scratch("dir");
        let target = dir.join("model.safetensors");
        std::fs::create_dir(&target).unwrap();
        let err = write_atomic(&target, b"data").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert!(target.is_dir());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn concurrent_saves_to_one_path_leave_one_complete_file() {
        let dir = scratch("concurrent");
        let target = dir.join("model.safetensors");
        let payloads: Vec<Vec<u8>> = (0..8u8).map(|k| vec![k; 1 << 16]).collect();
        for _ in 0..20 {
            std::thread::scope(|s| {
                for p in &payloads {
                    let target = &target;
                    s.spawn(move || write_atomic(target, p).unwrap());
                }
            });
            let got = std::fs::read(&target).unwrap();
            assert!(payloads.contains(&got), "a mix of saves");
            let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert_eq!(names.len(), 1, "temporary files left behind");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
