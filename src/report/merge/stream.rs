//! Shard reports read as streams: the summary and each case record as it is parsed, so that
//! merging shards of millions of cases takes memory for one case at a time, not for the files.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{MergeError, ShardReport};
use crate::report::Summary;
use crate::spec::input::{Bounded, Limit};

/// What is done with each case record as it is read; an `Err` stops the reading with its
/// message.
pub(super) type EachCase<'a> = &'a mut dyn FnMut(Value) -> Result<(), String>;

/// More reports than this are merged with their case records held in memory: a stream each
/// holds a file open, and 256 stays well below the usual limit of 1,024 open files.
const MAX_STREAMS: usize = 256;

/// Reads the report at `path` as a stream: its summary, and each case record handed to
/// `each` when given (skipped unread otherwise).
pub(super) fn scan(path: &Path, each: Option<EachCase<'_>>) -> Result<Summary, MergeError> {
    scan_copying(path, each, None)
}

/// [`scan`], with every byte read also written to `copy` when given.
fn scan_copying(path: &Path, each: Option<EachCase<'_>>, copy: Option<&mut dyn Write>) -> Result<Summary, MergeError> {
    let name = path.display().to_string();
    let read_err = |e: crate::spec::input::InputError| MergeError::Read { path: name.clone(), source: e.into_io() };
    let mut bounded = Bounded::open(path, Limit::REPORT).map_err(read_err)?;
    let parsed = {
        let mut de = serde_json::Deserializer::from_reader(BufReader::new(Tee { inner: &mut bounded, copy }));
        Report { each }.deserialize(&mut de).and_then(|summary| de.end().map(|()| summary))
    };
    // A file past the limit was cut there: that, not the parser's view of the cut, is the error.
    bounded.check().map_err(read_err)?;
    parsed.map_err(|e| MergeError::Json { path: name, message: e.to_string() })
}

/// A reader whose bytes are also written to `copy`.
struct Tee<'c, R> {
    inner: R,
    copy: Option<&'c mut dyn Write>,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(copy) = self.copy.as_mut() {
            copy.write_all(&buf[..n])?;
        }
        Ok(n)
    }
}

/// A copy of a report that cannot be read twice (a pipe, `<(...)`), in the temporary
/// directory, where its case records are read again; removed when dropped.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
}

impl Spool {
    /// A new, empty spool file, open for writing.
    fn create() -> io::Result<(Spool, std::fs::File)> {
        let dir = std::env::temp_dir();
        for n in 0..1000 {
            let path = dir.join(format!("copyimage-conformance-merge-{}-{n}.json", std::process::id()));
            // The owner's alone, as the temporary directory is everyone's.
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(file) => return Ok((Spool { path }, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{}: no free spool name", dir.display())))
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The first read of the report at `path`: its summary, and what a JSON merged report will
/// need of its case records (`with_cases`): their order and number, and, for an input that
/// cannot be read twice (a pipe), a copy of it to read them from again.
pub(super) fn first_read(path: &Path, with_cases: bool) -> Result<(Summary, Records, Option<Spool>), MergeError> {
    if !with_cases {
        return Ok((scan(path, None)?, Records::Skipped, None));
    }
    let mut check = OrderCheck::default();
    let mut note = |case: Value| {
        check.add(&case);
        Ok(())
    };
    if std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        let summary = scan(path, Some(&mut note))?;
        return Ok((summary, check.records(), None));
    }
    let spool_err = |source| MergeError::Spool { path: path.display().to_string(), source };
    let (spool, file) = Spool::create().map_err(spool_err)?;
    let mut copy = io::BufWriter::new(file);
    let summary = scan_copying(path, Some(&mut note), Some(&mut copy))?;
    copy.flush().map_err(spool_err)?;
    Ok((summary, check.records(), Some(spool)))
}

/// The report's top level: `cases` and `summary`, in either order, other members ignored.
struct Report<'a> {
    each: Option<EachCase<'a>>,
}

impl<'de> DeserializeSeed<'de> for Report<'_> {
    type Value = Summary;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Summary, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Report<'_> {
    type Value = Summary;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object with `cases` and `summary`")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Summary, A::Error> {
        let (mut summary, mut cases) = (None, false);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "summary" if summary.is_some() => return Err(de::Error::duplicate_field("summary")),
                "summary" => summary = Some(map.next_value::<Summary>()?),
                "cases" if cases => return Err(de::Error::duplicate_field("cases")),
                "cases" => {
                    cases = true;
                    map.next_value_seed(Cases { each: self.each.take() })?;
                }
                _ => drop(map.next_value::<IgnoredAny>()?),
            }
        }
        if !cases {
            return Err(de::Error::missing_field("cases"));
        }
        summary.ok_or_else(|| de::Error::missing_field("summary"))
    }
}

/// The `cases` array, one record at a time.
struct Cases<'a> {
    each: Option<EachCase<'a>>,
}

impl<'de> DeserializeSeed<'de> for Cases<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Cases<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of case records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.each {
            None => while seq.next_element::<IgnoredAny>()?.is_some() {},
            Some(each) => {
                while let Some(case) = seq.next_element::<Value>()? {
                    each(case).map_err(de::Error::custom)?;
                }
            }
        }
        Ok(())
    }
}

/// Where a case id goes in a merged report: by its length, then the id, so that the
/// generator's numbered ids (`000042`, past a million `1000000`) come in the unsplit run's
/// order.
pub(super) fn id_order(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// Where a case record goes in the merged report: by [`id_order`], records without an id first.
pub(super) fn key(case: &Value) -> Option<(usize, &str)> {
    case.get("id").and_then(Value::as_str).map(id_order)
}

/// [`key`], owned.
fn owned_key(case: &Value) -> Option<(usize, String)> {
    key(case).map(|(len, id)| (len, id.to_owned()))
}

/// The first read's look at a report's case records: how many, and whether in [`key`] order
/// (equal keys allowed).
#[derive(Default)]
pub(super) struct OrderCheck {
    last: Option<Option<(usize, String)>>,
    count: u64,
    out_of_order: bool,
}

impl OrderCheck {
    /// Notes the next record.
    pub(super) fn add(&mut self, case: &Value) {
        let this = owned_key(case);
        if self.last.as_ref().is_some_and(|last| this < *last) {
            self.out_of_order = true;
        }
        self.last = Some(this);
        self.count += 1;
    }

    /// What was seen.
    pub(super) fn records(&self) -> Records {
        let count = self.count;
        if self.out_of_order { Records::Unsorted { count } } else { Records::Sorted { count } }
    }
}

/// How a report's case records are had again for a JSON merged report.
#[derive(Debug)]
pub enum Records {
    /// Not looked at (the merged report holds none).
    Skipped,
    /// In order, so many: read again side by side with the other reports'.
    Sorted {
        /// How many, so that a file changed since shows.
        count: u64,
    },
    /// Out of order, so many: read again into memory and sorted.
    Unsorted {
        /// How many, so that a file changed since shows.
        count: u64,
    },
}

impl Records {
    /// How many records the first read found (none looked at when skipped).
    fn count(&self) -> Option<u64> {
        match self {
            Records::Skipped => None,
            Records::Sorted { count } | Records::Unsorted { count } => Some(*count),
        }
    }
}

/// Writes every report's case records to `out` in [`key`] order (stable: for equal keys, in
/// the order of the reports and of each report's records), a record a line, as the `cases`
/// array of a JSON report; returns how many.
///
/// Reports whose records are each in order are read again side by side, a few records of each
/// held at a time; otherwise (or past [`MAX_STREAMS`] reports) all records are read into memory
/// and sorted, which gives the same order.
pub(super) fn write_cases(out: &mut dyn Write, reports: &[ShardReport]) -> io::Result<usize> {
    let mut put = Put { out, written: 0 };
    if reports.len() <= MAX_STREAMS && reports.iter().all(|r| matches!(r.records, Records::Sorted { .. })) {
        side_by_side(&mut put, reports)?;
    } else {
        in_memory(&mut put, reports)?;
    }
    Ok(put.written)
}

/// Every record in memory, sorted.
fn in_memory(put: &mut Put<'_>, reports: &[ShardReport]) -> io::Result<()> {
    let mut all = vec![];
    for r in reports {
        let before = all.len();
        let mut keep = |case| {
            all.push(case);
            Ok(())
        };
        scan(r.records_file(), Some(&mut keep)).map_err(io::Error::other)?;
        if r.records.count().is_some_and(|count| count != (all.len() - before) as u64) {
            return Err(io::Error::other(MergeError::Changed { path: r.path.clone() }));
        }
    }
    all.sort_by(|a, b| key(a).cmp(&key(b)));
    all.iter().try_for_each(|case| put.case(case))
}

/// What a report's reader sends the writer.
enum Msg {
    Case(Value),
    End,
    Failed(MergeError),
}

/// The reports read again on a thread each, merged through a heap of their next records.
fn side_by_side(put: &mut Put<'_>, reports: &[ShardReport]) -> io::Result<()> {
    // Few records ahead a reader when there are many readers: the memory stays a few hundred.
    let ahead = (1024 / reports.len().max(1)).clamp(1, 64);
    std::thread::scope(|scope| {
        let (mut streams, mut readers) = (Vec::with_capacity(reports.len()), Vec::with_capacity(reports.len()));
        let mut merged = Ok(());
        for r in reports {
            let (tx, rx) = mpsc::sync_channel(ahead);
            let reader = std::thread::Builder::new().name("merge-read".into()).spawn_scoped(scope, move || {
                let sent = scan(
                    r.records_file(),
                    Some(&mut |case| tx.send(Msg::Case(case)).map_err(|_| "stopped".to_owned())),
                );
                // The writer may have stopped already; then no one is told.
                let _ = tx.send(sent.map_or_else(Msg::Failed, |_| Msg::End));
            });
            match reader {
                Ok(reader) => readers.push(reader),
                Err(e) => {
                    merged = Err(io::Error::new(e.kind(), format!("cannot start a thread to read {}: {e}", r.path)));
                    break;
                }
            }
            streams.push(Stream { rx, report: r, got: 0 });
        }
        if merged.is_ok() {
            merged = merge_streams(put, &mut streams);
        }
        // Dropping the receivers stops readers still going; joining them here keeps a reader's
        // panic, already an error (`ReaderLost`), from becoming the scope's.
        drop(streams);
        for reader in readers {
            let _ = reader.join();
        }
        merged
    })
}

/// Writes the streams' records, the least next one by key each time, the earliest report's
/// among equals: what a stable sort of them all gives.
fn merge_streams(put: &mut Put<'_>, streams: &mut [Stream<'_>]) -> io::Result<()> {
    let mut heads: Vec<Option<Value>> = Vec::with_capacity(streams.len());
    let mut heap = BinaryHeap::new();
    for (k, stream) in streams.iter_mut().enumerate() {
        let head = stream.next()?;
        if let Some(case) = &head {
            heap.push(Reverse((owned_key(case), k)));
        }
        heads.push(head);
    }
    while let Some(Reverse((at, k))) = heap.pop() {
        let case = heads[k].take().expect("a record for each heap entry");
        put.case(&case)?;
        if let Some(case) = streams[k].next()? {
            let next = owned_key(&case);
            if next < at {
                return Err(streams[k].changed());
            }
            heap.push(Reverse((next, k)));
            heads[k] = Some(case);
        }
    }
    Ok(())
}

/// One report's records as its reader sends them, checked against the first read.
struct Stream<'r> {
    rx: mpsc::Receiver<Msg>,
    report: &'r ShardReport,
    got: u64,
}

impl Stream<'_> {
    /// The next record; `None` at the end.
    fn next(&mut self) -> io::Result<Option<Value>> {
        match self.rx.recv() {
            Ok(Msg::Case(case)) => {
                self.got += 1;
                Ok(Some(case))
            }
            Ok(Msg::End) if self.report.records.count() == Some(self.got) => Ok(None),
            Ok(Msg::End) => Err(self.changed()),
            Ok(Msg::Failed(e)) => Err(io::Error::other(e)),
            // The reader ended without a word: it panicked.
            Err(mpsc::RecvError) => Err(io::Error::other(MergeError::ReaderLost { path: self.report.path.clone() })),
        }
    }

    fn changed(&self) -> io::Error {
        io::Error::other(MergeError::Changed { path: self.report.path.clone() })
    }
}

/// The `cases` array's writer: a record a line, compact.
struct Put<'w> {
    out: &'w mut dyn Write,
    written: usize,
}

impl Put<'_> {
    fn case(&mut self, case: &Value) -> io::Result<()> {
        self.out.write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *self.out, case)?;
        self.written += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Shard, ShardBy};

    /// A shard report file holding `cases`, read back as `merge` reads it.
    fn report(dir: &Path, name: &str, cases: &[Value]) -> ShardReport {
        let path = dir.join(name);
        let summary = serde_json::to_value(Summary::default()).unwrap();
        std::fs::write(&path, serde_json::json!({ "cases": cases, "summary": summary }).to_string()).unwrap();
        let (_, records, spool) = first_read(&path, true).unwrap();
        assert!(spool.is_none(), "a file is read again, not copied");
        let shard = Shard { index: 1, count: 1, by: ShardBy::Count };
        ShardReport { path: name.into(), file: path, shard, summary: Summary::default(), records, spool }
    }

    fn written(reports: &[ShardReport]) -> String {
        let mut out = vec![];
        write_cases(&mut out, reports).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every record in memory, a stable sort by key: what the merged report holds.
    fn sorted_in_memory(all: &[&[Value]]) -> String {
        let mut cases: Vec<&Value> = all.iter().flat_map(|c| c.iter()).collect();
        cases.sort_by(|a, b| key(a).cmp(&key(b)));
        cases.iter().enumerate().map(|(i, c)| format!("{}{c}", if i == 0 { "\n" } else { ",\n" })).collect()
    }

    fn c(id: &str, n: u32) -> Value {
        serde_json::json!({ "id": id, "n": n, "b": [1, {"z": 1, "a": 2}] })
    }

    #[test]
    fn streamed_reports_merge_into_the_order_a_stable_sort_gives() {
        let dir = tempfile::tempdir().unwrap();
        // Interleaved ids, an id in two reports and twice in one, records without an id, and
        // ids past a million, which come after 999999 as in the unsplit run.
        let one = [serde_json::json!({"no": "id"}), c("000000", 1), c("000003", 2), c("000003", 3), c("999999", 4)];
        let two = [c("000001", 5), c("000003", 6), c("000004", 7), c("1000000", 8)];
        let three: [Value; 0] = [];
        let four = [serde_json::json!(7), c("000002", 9), c("1000001", 10)];
        let reports = [
            report(dir.path(), "1.json", &one),
            report(dir.path(), "2.json", &two),
            report(dir.path(), "3.json", &three),
            report(dir.path(), "4.json", &four),
        ];
        assert!(reports.iter().all(|r| matches!(r.records, Records::Sorted { .. })), "{reports:?}");
        let merged = written(&reports);
        assert_eq!(merged, sorted_in_memory(&[&one, &two, &three, &four]));
        assert!(merged.find("\"999999\"").unwrap() < merged.find("\"1000000\"").unwrap());
        // Another order of the same reports: among equal ids, the earlier report first.
        let swapped = [report(dir.path(), "2.json", &two), report(dir.path(), "1.json", &one)];
        assert_eq!(written(&swapped), sorted_in_memory(&[&two, &one]));
    }

    #[test]
    fn a_report_out_of_id_order_is_sorted_in_memory_to_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let backwards = [c("000005", 1), c("000002", 2), c("000002", 3), c("000000", 4)];
        let other = [c("000001", 5), c("000002", 6)];
        let reports = [report(dir.path(), "b.json", &backwards), report(dir.path(), "o.json", &other)];
        assert!(matches!(reports[0].records, Records::Unsorted { count: 4 }));
        assert_eq!(written(&reports), sorted_in_memory(&[&backwards, &other]));
    }

    #[test]
    fn more_reports_than_streams_are_sorted_in_memory_to_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<[Value; 2]> =
            (0..=MAX_STREAMS).map(|k| [c(&format!("{k:06}"), 1), c(&format!("{:06}", 1000 - k), 2)]).collect();
        let reports: Vec<ShardReport> =
            cases.iter().enumerate().map(|(k, two)| report(dir.path(), &format!("{k}.json"), two)).collect();
        assert!(reports.iter().all(|r| matches!(r.records, Records::Sorted { .. })));
        let all: Vec<&[Value]> = cases.iter().map(|two| two.as_slice()).collect();
        assert_eq!(written(&reports), sorted_in_memory(&all));
    }

    #[test]
    fn a_report_changed_or_gone_since_it_was_read_fails_the_write_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let summary = serde_json::to_value(Summary::default()).unwrap();
        let first = [c("000001", 1), c("000003", 2)];
        let fails = |reports: &[ShardReport], with: &str| {
            let err = write_cases(&mut vec![], reports).unwrap_err();
            let inner = err.get_ref().and_then(|e| e.downcast_ref::<MergeError>());
            assert!(inner.is_some(), "a typed error: {err:?}");
            assert!(err.to_string().contains(with), "{err}");
        };
        let reports = [report(dir.path(), "1.json", &first)];
        let rewrite = |cases: Value| {
            let text = serde_json::json!({ "cases": cases, "summary": summary }).to_string();
            std::fs::write(&reports[0].file, text).unwrap();
        };
        rewrite(serde_json::json!([c("000001", 1)]));
        fails(&reports, "1.json: changed since merge first read it");
        rewrite(serde_json::json!([c("000001", 1), c("000003", 2), c("000004", 3)]));
        fails(&reports, "1.json: changed since merge first read it");
        rewrite(serde_json::json!([c("000003", 1), c("000001", 2)]));
        fails(&reports, "1.json: changed since merge first read it");
        std::fs::write(&reports[0].file, "{\"cases\": [{\"id\": \"000001\"}, oops").unwrap();
        fails(&reports, "1.json: not a report of `run --format json`");
        std::fs::remove_file(&reports[0].file).unwrap();
        fails(&reports, "1.json: cannot read");
    }

    #[test]
    fn a_report_that_cannot_be_read_twice_is_copied_on_the_first_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let summary = serde_json::to_value(Summary::default()).unwrap();
        let records = [c("000002", 1), c("000001", 2)];
        let text = serde_json::json!({ "cases": records, "summary": summary }).to_string();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
        };
        let (_, counted, spool) = first_read(&fifo, true).unwrap();
        writer.join().unwrap();
        let spool = spool.expect("a FIFO is copied");
        let copy = spool.path().to_owned();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777, 0o600, "the owner's alone");
        assert!(matches!(counted, Records::Unsorted { count: 2 }), "{counted:?}");
        let shard = Shard { index: 1, count: 1, by: ShardBy::Count };
        let report = ShardReport {
            path: "fifo".into(),
            file: fifo,
            shard,
            summary: Summary::default(),
            records: counted,
            spool: Some(spool),
        };
        // Written from the copy, within a time limit: the FIFO, read again, would wait for a
        // writer forever.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // The report, and with it its copy, is gone before the answer is sent.
            let merged = written(&[report]);
            let _ = tx.send(merged);
        });
        let merged = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("written without waiting on the FIFO");
        assert_eq!(merged, sorted_in_memory(&[&records]));
        assert!(!copy.exists(), "the copy is removed with the report");
    }
}
