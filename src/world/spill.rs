//! `Spill`: an append-only temporary file holding the packed texts of the copies an endpoint's
//! world makes (names, descriptions, tags: ~160 bytes a copy that only DescribeImages and a
//! duplicate-name check read back), so that a long run does not keep them in memory. The file
//! is removed as soon as it is created: it lives as long as the process holds it open and
//! never outlasts the run, whatever way the run ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Bytes gathered before they are written out: one write per ~400 copies.
const BUFFERED: usize = 64 * 1024;

/// The file, shared by the clones of a world (each clone keeps its own positions in it).
#[derive(Debug)]
pub(super) struct Spill {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    file: File,
    /// Bytes written to the file; what was appended since is in `pending`.
    written: u64,
    pending: Vec<u8>,
    /// The first failure to read or write, kept: the endpoint answers with it from then on.
    error: Option<String>,
}

impl Spill {
    /// A new, already unlinked file in the system's temporary directory.
    pub(super) fn create() -> io::Result<Spill> {
        Self::create_in(std::env::temp_dir())
    }

    fn create_in(dir: PathBuf) -> io::Result<Spill> {
        static CREATED: AtomicU64 = AtomicU64::new(0);
        let n = CREATED.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("copyimage-conformance-texts-{}-{n}", std::process::id()));
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(Spill { inner: Mutex::new(Inner { file, written: 0, pending: Vec::new(), error: None }) })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding the lock; should something, the bytes are still whole.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `bytes` and gives their position, or `None` when the file cannot take them (the
    /// caller keeps them in memory then).
    pub(super) fn append(&self, bytes: &[u8]) -> Option<u64> {
        let mut inner = self.lock();
        let at = inner.written + inner.pending.len() as u64;
        inner.pending.extend_from_slice(bytes);
        if inner.pending.len() >= BUFFERED && inner.flush().is_err() {
            let kept = inner.pending.len() - bytes.len();
            inner.pending.truncate(kept);
            return None;
        }
        Some(at)
    }

    /// The `len` bytes at `at`; a failure is also kept (see [`Spill::error`]).
    pub(super) fn read(&self, at: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut inner = self.lock();
        let result = inner.read(at, len);
        if let Err(e) = &result
            && inner.error.is_none()
        {
            inner.error = Some(format!("cannot read back the texts of the copies made: {e}"));
        }
        result
    }

    /// The first failure to read the file back, if any.
    pub(super) fn error(&self) -> Option<String> {
        self.lock().error.clone()
    }
}

impl Inner {
    fn flush(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.written))?;
        self.file.write_all(&self.pending)?;
        self.written += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    fn read(&mut self, at: u64, len: usize) -> io::Result<Vec<u8>> {
        let end = at + len as u64;
        if at >= self.written {
            let from = usize::try_from(at - self.written).map_err(io::Error::other)?;
            return self.pending.get(from..from + len).map(<[u8]>::to_vec).ok_or_else(|| beyond(end));
        }
        if end > self.written {
            // Written in one append, so never split between the file and `pending`.
            self.flush()?;
        }
        let mut out = vec![0; len];
        self.file.seek(SeekFrom::Start(at))?;
        self.file.read_exact(&mut out)?;
        Ok(out)
    }
}

fn beyond(end: u64) -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, format!("byte {end} was never written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_bytes_read_back_from_the_buffer_and_the_file() {
        let dir = std::env::temp_dir();
        let spill = Spill::create_in(dir.clone()).unwrap();
        let listed = |d: &PathBuf| {
            std::fs::read_dir(d)
                .unwrap()
                .filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().starts_with(&format!("copyimage-conformance-texts-{}-", std::process::id()))
                })
                .count()
        };
        assert_eq!(listed(&dir), 0, "the file is unlinked at once");
        let chunk: Vec<u8> = (0..=255).collect();
        let at: Vec<u64> = (0..600).map(|_| spill.append(&chunk).unwrap()).collect();
        assert_eq!(at[1], 256);
        assert!(spill.lock().written > 0 && !spill.lock().pending.is_empty(), "some in the file, some buffered");
        for &p in [at[0], at[300], at[599]].iter() {
            assert_eq!(spill.read(p, 256).unwrap(), chunk);
        }
        assert_eq!(spill.read(at[2] + 10, 5).unwrap(), [10, 11, 12, 13, 14]);
        assert!(spill.error().is_none());
        let e = spill.read(600 * 256 - 1, 2).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(spill.error().is_some_and(|e| e.contains("cannot read back")), "a failure is kept");
    }
}
