//! Report files written beside their path and renamed into place once whole, so that a report
//! on disk is never half-written: a run or merge that fails or is killed leaves no file that a
//! later `merge` (or a CI step that uploads it) would take for a report.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A report file being written: [`Staged::commit`] puts it in place; dropped without, the
/// partial file is removed (a report written in place stays as far as it got).
#[must_use = "a staged report is put in place only by `commit`"]
pub struct Staged {
    /// The file written and the path it goes to; `None` when written in place.
    partial: Option<(Partial, File, PathBuf)>,
}

/// What happens to a file already at the report's path while the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Before {
    /// It stays until the new report is whole: `merge` may be reading it (`--output` naming one
    /// of its shards).
    Kept,
    /// It goes at once, as a run's report replaces an earlier run's: a run that fails leaves no
    /// report of another run behind.
    Removed,
}

impl Staged {
    /// Opens a report to `path`, and the writer to write it with.
    ///
    /// A link to a regular file is followed (its target is replaced). What is not a regular
    /// file (a FIFO), what lies under `/dev` or `/proc` (`/dev/stdout`, whatever it points
    /// to), a path ending in `/`, and a path beside which no file can be made (a read-only
    /// directory) are written in place, as reports were before they were staged.
    pub fn create(path: &Path, before: Before) -> io::Result<(Staged, Box<dyn Write>)> {
        let followed = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
            && fs::metadata(path).is_ok_and(|m| m.is_file());
        let target = if followed { fs::canonicalize(path)? } else { path.to_owned() };
        let old = fs::metadata(&target).ok();
        let staging = (stageable(&target) && !special(path)).then(|| Partial::create(&target, old.as_ref())).flatten();
        let Some((partial, file)) = staging else {
            let file = File::create(path)?;
            return Ok((Staged { partial: None }, Box::new(BufWriter::new(file))));
        };
        if let Some(old) = old {
            // The old file's permissions exactly (the partial file was made with them, less
            // the umask), whether it goes now or later.
            let _ = fs::set_permissions(&partial.0, old.permissions());
            if before == Before::Removed {
                match fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    // Not removable (a single-file bind mount): emptied, and replaced by a copy
                    // at the end.
                    Err(_) => drop(File::create(&target)?),
                }
            }
        }
        let writer = file.try_clone()?;
        Ok((Staged { partial: Some((partial, file, target)) }, Box::new(BufWriter::new(writer))))
    }

    /// Puts the report in place, once its writer is flushed and dropped: synced, then renamed
    /// onto its path or, where that cannot be (a single-file bind mount), copied in.
    pub fn commit(self) -> io::Result<()> {
        let Some((partial, file, target)) = self.partial else { return Ok(()) };
        file.sync_all()?;
        if fs::rename(&partial.0, &target).is_err() {
            fs::copy(&partial.0, &target)?;
        }
        Ok(())
    }
}

/// Whether `path` is written by way of a partial file: a new file or a regular one. Anything
/// else (`/dev/stdout`, a FIFO) is opened and written in place: renaming onto it would replace
/// the device with a file.
fn stageable(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) => m.file_type().is_file(),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// Whether `path` is a device's or a process's (under `/dev` or `/proc`, links followed):
/// `/dev/stdout` points at whatever standard output is, a regular file included, and that file
/// must be written as it is open, not replaced.
fn special(path: &Path) -> bool {
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let under = |p: &Path| p.starts_with("/dev") || p.starts_with("/proc");
    under(path) || fs::canonicalize(parent).is_ok_and(|p| under(&p)) || path.to_string_lossy().ends_with('/')
}

/// A partial report's file beside its target, removed unless it was renamed into place.
struct Partial(PathBuf);

impl Partial {
    /// A new partial file beside `target`, as private as the file it replaces (`old`), if any;
    /// `None` where none can be made.
    fn create(target: &Path, old: Option<&fs::Metadata>) -> Option<(Partial, File)> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let name = target.file_name()?.to_string_lossy().into_owned();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = target.with_file_name(format!(".{name}.{}-{nanos}.partial", std::process::id()));
        let mode = old.map_or(0o666, |m| m.permissions().mode() & 0o777);
        let file = fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&path).ok()?;
        Some((Partial(path), file))
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // Gone already once renamed.
        let _ = fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// An earlier report, `old`, at `report.json` in `dir`, with `mode`.
    fn earlier_report(dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join("report.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn a_report_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = earlier_report(dir.path(), 0o640);
        let (staged, mut out) = Staged::create(&path, Before::Kept).unwrap();
        out.write_all(b"new").unwrap();
        out.flush().unwrap();
        drop(out);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old", "kept until the new one is whole");
        staged.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(entries(dir.path()), ["report.json"]);
        // Failed half-way: the old report stays (Kept) or is gone (Removed), and no partial file.
        let (staged, mut out) = Staged::create(&path, Before::Kept).unwrap();
        out.write_all(b"half").unwrap();
        drop((staged, out));
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let (staged, mut out) = Staged::create(&path, Before::Removed).unwrap();
        assert!(!path.exists(), "an earlier run's report goes at once");
        out.write_all(b"half").unwrap();
        drop((staged, out));
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn device_paths_and_trailing_slashes_are_not_staged() {
        assert!(special(Path::new("/dev/stdout")) && special(Path::new("/dev/fd/1")));
        assert!(special(Path::new("/proc/self/fd/1")) && special(Path::new("report.json/")));
        assert!(!special(Path::new("report.json")) && !special(Path::new("/tmp/report.json")));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        assert!(Staged::create(Path::new(&format!("{}/", path.display())), Before::Kept).is_err());
        assert_eq!(entries(dir.path()), Vec::<String>::new(), "refused at once, as before");
    }

    #[test]
    fn the_partial_file_is_as_private_as_the_report_it_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = earlier_report(dir.path(), 0o600);
        let (staged, out) = Staged::create(&path, Before::Kept).unwrap();
        let partial = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p != &path).unwrap();
        assert_eq!(fs::metadata(&partial).unwrap().permissions().mode() & 0o777, 0o600);
        drop((staged, out));
    }

    #[test]
    fn a_fifo_is_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read_to_string(fifo).unwrap())
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let (staged, mut out) = Staged::create(&fifo, Before::Removed).unwrap();
                out.write_all(b"through").unwrap();
                drop(out);
                staged.commit().unwrap();
                let _ = tx.send(());
            })
        };
        // Within a time limit: a FIFO replaced by a file would leave its reader waiting.
        rx.recv_timeout(std::time::Duration::from_secs(30)).expect("written through the FIFO");
        writer.join().unwrap();
        assert_eq!(reader.join().unwrap(), "through");
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still the FIFO");
        assert_eq!(entries(dir.path()), ["fifo"]);
    }
}
