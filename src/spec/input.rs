//! Reading the files a user hands the tool (spec, world, corpus, baseline, reports, journals,
//! credentials, target descriptions) with a bound on the bytes read, so that `/dev/zero` or an
//! endless pipe is refused with a message naming the file, not read until memory runs out.
//!
//! The bound is on the bytes read, never on a size the file system reports: FIFOs (`--world
//! <(cat world.json)`) and `/proc` files say 0 and are read as any file is.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// The most bytes read from one kind of input file, with the kind's name for messages. Each
/// is far above what real use makes (see the constants); a file past it is refused whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// The most bytes read.
    pub bytes: u64,
    /// What the file is, for messages: "a spec file".
    pub kind: &'static str,
}

impl Limit {
    /// A spec (`--spec`): the built-in one is 45 KiB.
    pub const SPEC: Limit = Limit { bytes: 16 * MIB, kind: "a spec file" };
    /// A world (`--world`), and the header line of a corpus that holds one: the built-in world
    /// is 2 KiB, and 64 MiB is some 200,000 images.
    pub const WORLD: Limit = Limit { bytes: 64 * MIB, kind: "a world file" };
    /// A `predict` case (`--case` or standard input): a world and one request's parameters.
    pub const CASE: Limit = Limit { bytes: 64 * MIB, kind: "a case" };
    /// A baseline's `corpus.jsonl`: about 1 KiB a case, so `--cases 10000000` (the most) makes
    /// 10 GiB. It is read line by line, so only [`Limit::CORPUS_LINE`] bounds the memory read
    /// text takes; this bounds an endless stream of short lines.
    pub const CORPUS: Limit = Limit { bytes: 16 * GIB, kind: "a corpus" };
    /// One line of a corpus: its header holds a world, the cases are a few KiB each.
    pub const CORPUS_LINE: Limit = Limit { bytes: Limit::WORLD.bytes, kind: "a line of a corpus" };
    /// A baseline's `accepted.toml`: an entry is a few hundred bytes.
    pub const ACCEPTED: Limit = Limit { bytes: 16 * MIB, kind: "an accepted-deviations file" };
    /// One snapshot file of a baseline: a target's share of the cases, up to some 700 bytes a
    /// case (`--rule R24` puts every case in one file), 7 GiB at `--cases 10000000`.
    pub const SNAPSHOT: Limit = Limit { bytes: 16 * GIB, kind: "a snapshot file" };
    /// A shard's JSON report (`merge`): some 2 KiB a case, so 20 GiB for an unsplit run of
    /// `--cases 10000000` (the most). Read as a stream, a case at a time: this bounds only how
    /// long an endless input is read.
    pub const REPORT: Limit = Limit { bytes: 64 * GIB, kind: "a report" };
    /// A journal of live calls (`cleanup`): two short lines a call.
    pub const JOURNAL: Limit = Limit { bytes: GIB, kind: "a journal" };
    /// An AWS credentials or config file: a few lines a profile.
    pub const CREDENTIALS: Limit = Limit { bytes: 4 * MIB, kind: "a credentials or config file" };
    /// A target description (`targets/*.toml`): a few dozen lines.
    pub const TARGET: Limit = Limit { bytes: 4 * MIB, kind: "a target description" };
    /// The README `targets matrix --update` splices the matrix into (this one is 93 KiB).
    pub const README: Limit = Limit { bytes: 64 * MIB, kind: "a README" };
}

/// The limit with its kind: "16 MiB, the limit for a spec file".
impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            b if b >= GIB && b % GIB == 0 => write!(f, "{} GiB", b / GIB),
            b if b >= MIB && b % MIB == 0 => write!(f, "{} MiB", b / MIB),
            b if b >= KIB && b % KIB == 0 => write!(f, "{} KiB", b / KIB),
            b => write!(f, "{b} bytes"),
        }?;
        write!(f, ", the limit for {}", self.kind)
    }
}

/// An input file that cannot be read, or that is larger than its kind's [`Limit`].
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Opening or reading failed (no such file, not UTF-8, ...).
    #[error("{path}: cannot read: {cause}")]
    Read {
        /// The file (`stdin` for standard input).
        path: String,
        /// What the system said.
        cause: io::Error,
    },
    /// More bytes than the limit: the rest was not read.
    #[error("{path}: larger than {limit}")]
    TooLarge {
        /// The file.
        path: String,
        /// The limit it passed.
        limit: Limit,
    },
    /// A line longer than the limit (a file read line by line): the rest was not read.
    #[error("{path}:{line}: line longer than {limit}")]
    LineTooLong {
        /// The file.
        path: String,
        /// The line's number, from 1.
        line: usize,
        /// The limit it passed.
        limit: Limit,
    },
}

impl InputError {
    /// What is wrong, without the file's name: for errors that name the file their own way.
    pub fn reason(&self) -> String {
        match self {
            InputError::Read { cause, .. } => format!("cannot read: {cause}"),
            InputError::TooLarge { limit, .. } => format!("larger than {limit}"),
            InputError::LineTooLong { line, limit, .. } => format!("line {line} longer than {limit}"),
        }
    }

    /// Whether the file does not exist (some files are optional).
    pub fn is_not_found(&self) -> bool {
        matches!(self, InputError::Read { cause, .. } if cause.kind() == io::ErrorKind::NotFound)
    }

    /// As an I/O error, for error types that carry one: the system's error as it was, or the
    /// reason without the file's name (the type names it).
    pub fn into_io(self) -> io::Error {
        match self {
            InputError::Read { cause, .. } => cause,
            other => io::Error::new(io::ErrorKind::FileTooLarge, other.reason()),
        }
    }
}

/// Reads the file at `path` whole as UTF-8 text, at most `limit` bytes of it.
pub fn read_text(path: &Path, limit: Limit) -> Result<String, InputError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|cause| InputError::Read { path: name.clone(), cause })?;
    // Only a hint for the first allocation: the bound is on what is read.
    let hint = file.metadata().map_or(0, |m| m.len()).min(limit.bytes);
    read_text_from(file, &name, limit, hint)
}

/// Reads `reader` to its end as UTF-8 text, at most `limit` bytes of it; `name` names it in
/// errors and `hint` is the size expected, if known (0 if not).
pub fn read_text_from(reader: impl Read, name: &str, limit: Limit, hint: u64) -> Result<String, InputError> {
    let fail = |cause| InputError::Read { path: name.to_owned(), cause };
    let hint = usize::try_from(hint.min(limit.bytes)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    reader.take(limit.bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(fail)?;
    if bytes.len() as u64 > limit.bytes {
        return Err(InputError::TooLarge { path: name.to_owned(), limit });
    }
    // The message `fs::read_to_string` gives.
    String::from_utf8(bytes)
        .map_err(|_| fail(io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")))
}

/// A file read as a stream, for a parser that reads as it goes (a shard report of millions of
/// cases is never held whole): at most its limit and one byte more are read, and
/// [`Bounded::check`] tells afterwards whether it was larger.
pub struct Bounded {
    reader: io::Take<std::fs::File>,
    path: String,
    limit: Limit,
    read: u64,
}

impl Bounded {
    /// Opens the file at `path`, to be read up to `limit`.
    pub fn open(path: &Path, limit: Limit) -> Result<Self, InputError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|cause| InputError::Read { path: name.clone(), cause })?;
        Ok(Bounded { reader: file.take(limit.bytes.saturating_add(1)), path: name, limit, read: 0 })
    }

    /// An error when more than the limit was read: whatever the parser made of the text cut
    /// there, the file is refused as too large.
    pub fn check(&self) -> Result<(), InputError> {
        if self.read > self.limit.bytes {
            return Err(InputError::TooLarge { path: self.path.clone(), limit: self.limit });
        }
        Ok(())
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

/// A file read line by line, with a bound on each line and on the whole.
pub struct Lines {
    reader: BufReader<Bounded>,
    line: Limit,
    number: usize,
}

impl Lines {
    /// Opens the file at `path`: at most `file` bytes in all, `line` bytes a line.
    pub fn open(path: &Path, file: Limit, line: Limit) -> Result<Self, InputError> {
        Ok(Lines { reader: BufReader::new(Bounded::open(path, file)?), line, number: 0 })
    }

    /// The next line without its line ending, and its number (from 1); `None` at the end.
    pub fn next_line(&mut self) -> Option<Result<(usize, String), InputError>> {
        let mut bytes = Vec::new();
        // Room for the line and its ending (`\r\n`), and no more; as bytes, so that a line cut
        // at the limit inside a character is too long, not bad UTF-8.
        let got = (&mut self.reader).take(self.line.bytes.saturating_add(2)).read_until(b'\n', &mut bytes);
        let path = || self.reader.get_ref().path.clone();
        match got {
            Ok(0) => return None,
            Ok(_) => {}
            Err(cause) => return Some(Err(InputError::Read { path: path(), cause })),
        }
        self.number += 1;
        if let Err(e) = self.reader.get_ref().check() {
            return Some(Err(e));
        }
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        if bytes.len() as u64 > self.line.bytes {
            return Some(Err(InputError::LineTooLong { path: path(), line: self.number, limit: self.line }));
        }
        // The message `BufRead::lines` gives.
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "stream did not contain valid UTF-8");
        Some(
            String::from_utf8(bytes)
                .map(|text| (self.number, text))
                .map_err(|_| InputError::Read { path: path(), cause: bad() }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: Limit = Limit { bytes: 8, kind: "a test file" };

    fn write(dir: &tempfile::TempDir, text: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join("input");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_text(&write(&dir, b"12345678"), TINY).unwrap(), "12345678");
        let path = write(&dir, b"123456789");
        let err = read_text(&path, TINY).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { limit: TINY, .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("{}: larger than 8 bytes, the limit for a test file", path.display()));
        assert_eq!(err.reason(), "larger than 8 bytes, the limit for a test file");
        assert_eq!(read_text_from(&b"12345678"[..], "stdin", TINY, 0).unwrap(), "12345678");
        let err = read_text_from(&b"123456789"[..], "stdin", TINY, 0).unwrap_err();
        assert_eq!(err.to_string(), "stdin: larger than 8 bytes, the limit for a test file");
    }

    #[test]
    fn an_endless_source_is_read_only_to_the_limit() {
        let err = read_text_from(io::repeat(b'x'), "endless", TINY, 0).unwrap_err();
        assert!(matches!(err, InputError::TooLarge { .. }), "{err:?}");
        // A size hint that lies (a FIFO says 0, /proc files 0 or 4096) changes nothing.
        assert!(read_text_from(io::repeat(0), "endless", TINY, u64::MAX).is_err());
    }

    #[test]
    fn missing_and_non_utf8_files_are_read_errors_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(&dir.path().join("absent"), TINY).unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
        assert!(err.to_string().contains("absent: cannot read: No such file"), "{err}");
        let err = read_text(&write(&dir, b"\xff"), TINY).unwrap_err();
        assert!(err.to_string().ends_with("cannot read: stream did not contain valid UTF-8"), "{err}");
    }

    #[test]
    fn limits_show_in_their_unit() {
        assert_eq!(Limit::SPEC.to_string(), "16 MiB, the limit for a spec file");
        assert_eq!(Limit::CORPUS.to_string(), "16 GiB, the limit for a corpus");
        assert_eq!(Limit::REPORT.to_string(), "64 GiB, the limit for a report");
        assert_eq!(Limit { bytes: 3 * KIB, kind: "x" }.to_string(), "3 KiB, the limit for x");
        assert_eq!(Limit { bytes: 1000, kind: "x" }.to_string(), "1000 bytes, the limit for x");
    }

    #[test]
    fn a_stream_is_read_to_the_limit_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let drain = |text: &[u8]| {
            let mut stream = Bounded::open(&write(&dir, text), TINY).unwrap();
            let mut got = vec![];
            stream.read_to_end(&mut got).unwrap();
            (got, stream.check())
        };
        let (got, checked) = drain(b"12345678");
        assert_eq!((got.as_slice(), checked.is_ok()), (&b"12345678"[..], true));
        let (got, checked) = drain(b"123456789abc");
        // One byte past the limit is read, so that the limit is known to be passed; no more.
        assert_eq!(got, b"123456789");
        assert!(matches!(checked, Err(InputError::TooLarge { limit: TINY, .. })), "{checked:?}");
        assert!(Bounded::open(&dir.path().join("absent"), TINY).is_err_and(|e| e.is_not_found()));
    }

    #[test]
    fn lines_are_bounded_each_and_in_all() {
        let dir = tempfile::tempdir().unwrap();
        let all = Limit { bytes: 24, kind: "a test file" };
        let read = |text: &[u8]| -> Result<Vec<(usize, String)>, InputError> {
            let mut lines = Lines::open(&write(&dir, text), all, TINY)?;
            std::iter::from_fn(|| lines.next_line()).collect()
        };
        // Lines of exactly the limit, with either ending, and a last one without.
        let got = read(b"12345678\n12345678\r\nabc").unwrap();
        assert_eq!(got, [(1, "12345678".into()), (2, "12345678".into()), (3, "abc".into())]);
        let err = read(b"ok\n123456789\n").unwrap_err();
        assert!(matches!(err, InputError::LineTooLong { line: 2, .. }), "{err:?}");
        // Cut at the limit and its line ending's two bytes, inside a two-byte character: too
        // long all the same, not bad UTF-8.
        let err = read("ok\n123456789\u{e9}\n".as_bytes()).unwrap_err();
        assert!(matches!(err, InputError::LineTooLong { line: 2, .. }), "{err:?}");
        assert!(matches!(read(b"ok\n\xff\n").unwrap_err(), InputError::Read { .. }));
        assert!(err.to_string().ends_with("input:2: line longer than 8 bytes, the limit for a test file"), "{err}");
        // Twenty-four bytes in all is the most; twenty-five is refused, short lines or not.
        assert_eq!(read(b"12345\n12345\n12345\n12345\n").unwrap().len(), 4);
        let err = read(b"12345\n12345\n12345\n12345\n1").unwrap_err();
        assert!(matches!(err, InputError::TooLarge { .. }), "{err:?}");
    }
}
