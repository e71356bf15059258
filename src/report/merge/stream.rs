//! Shard reports read as streams: the summary and each case record as it is parsed, so that
//! merging shards of millions of cases takes memory for one case at a time, not for the files.

use std::io::{self, BufReader, Write};
use std::path::Path;
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

/// How many case records a report's reader may be ahead of the writer.
const AHEAD: usize = 64;

/// Reads the report at `path` as a stream: its summary, and each case record handed to
/// `each` when given (skipped unread otherwise).
pub(super) fn scan(path: &Path, each: Option<EachCase<'_>>) -> Result<Summary, MergeError> {
    let name = path.display().to_string();
    let read_err = |e: crate::spec::input::InputError| MergeError::Read { path: name.clone(), source: e.into_io() };
    let mut bounded = Bounded::open(path, Limit::REPORT).map_err(read_err)?;
    let parsed = {
        let mut de = serde_json::Deserializer::from_reader(BufReader::new(&mut bounded));
        Report { each }.deserialize(&mut de).and_then(|summary| de.end().map(|()| summary))
    };
    // A file past the limit was cut there: that, not the parser's view of the cut, is the error.
    bounded.check().map_err(read_err)?;
    parsed.map_err(|e| MergeError::Json { path: name, message: e.to_string() })
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

/// A case record's id, by which the merged report orders them: `None` (first) when it has
/// none.
pub(super) fn id(case: &Value) -> Option<&str> {
    case.get("id").and_then(Value::as_str)
}

/// An `EachCase` that notes whether the records come in id order (equal ids allowed), into
/// `sorted`.
pub(super) fn order_check(sorted: &mut bool) -> impl FnMut(Value) -> Result<(), String> + '_ {
    let mut last: Option<Option<String>> = None;
    move |case| {
        let this = id(&case).map(str::to_owned);
        if last.as_ref().is_some_and(|l| this < *l) {
            *sorted = false;
        }
        last = Some(this);
        Ok(())
    }
}

/// Writes every report's case records to `out` in id order (stable: for equal ids, in the
/// order of the reports and of each report's records), a record a line, as the `cases` array
/// of a JSON report; returns how many.
///
/// Reports whose records are each in id order are read again side by side, one record of each
/// held at a time; otherwise (or past [`MAX_STREAMS`] reports) all records are read into
/// memory and sorted, which gives the same order.
pub(super) fn write_cases(out: &mut dyn Write, reports: &[ShardReport]) -> io::Result<usize> {
    let mut put = Put { out, written: 0 };
    if reports.len() > MAX_STREAMS || !reports.iter().all(|r| r.sorted) {
        let mut all = vec![];
        for r in reports {
            let mut keep = |case| {
                all.push(case);
                Ok(())
            };
            scan(&r.file, Some(&mut keep)).map_err(again)?;
        }
        all.sort_by(|a, b| id(a).cmp(&id(b)));
        for case in &all {
            put.case(case)?;
        }
        return Ok(put.written);
    }
    std::thread::scope(|scope| {
        let mut heads = Vec::with_capacity(reports.len());
        for r in reports {
            let (tx, rx) = mpsc::sync_channel::<Result<Value, String>>(AHEAD);
            scope.spawn(move || {
                let sent = scan(&r.file, Some(&mut |case| tx.send(Ok(case)).map_err(|_| "stopped".to_owned())));
                if let Err(e) = sent {
                    // The writer may have stopped already; then no one is told.
                    let _ = tx.send(Err(e.to_string()));
                }
            });
            heads.push((next(&rx)?, rx));
        }
        // The least head by id, the earliest report among equals: what a stable sort takes.
        while let Some(k) = (0..heads.len()).filter(|&k| heads[k].0.is_some()).min_by(|&a, &b| {
            let id_of = |k: usize| heads[k].0.as_ref().and_then(id);
            id_of(a).cmp(&id_of(b)).then(a.cmp(&b))
        }) {
            let case = heads[k].0.take().expect("a head that was found");
            put.case(&case)?;
            heads[k].0 = next(&heads[k].1)?;
        }
        // Dropping the receivers stops readers still going, before the scope waits for them.
        drop(heads);
        Ok(put.written)
    })
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

/// A report's next record from its reader; `None` at its end.
fn next(rx: &mpsc::Receiver<Result<Value, String>>) -> io::Result<Option<Value>> {
    match rx.recv() {
        Ok(Ok(case)) => Ok(Some(case)),
        Ok(Err(e)) => Err(io::Error::other(e)),
        Err(mpsc::RecvError) => Ok(None),
    }
}

/// A report that read before and now fails (changed or removed since): an I/O error of the
/// write, naming it.
fn again(e: MergeError) -> io::Error {
    io::Error::other(e.to_string())
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
        let mut sorted = true;
        scan(&path, Some(&mut order_check(&mut sorted))).unwrap();
        let shard = Shard { index: 1, count: 1, by: ShardBy::Count };
        ShardReport { path: name.into(), file: path, shard, summary: Summary::default(), sorted }
    }

    fn written(reports: &[ShardReport]) -> String {
        let mut out = vec![];
        write_cases(&mut out, reports).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What merging did before it streamed: every record in memory, a stable sort by id.
    fn sorted_in_memory(all: &[&[Value]]) -> String {
        let mut cases: Vec<&Value> = all.iter().flat_map(|c| c.iter()).collect();
        cases.sort_by(|a, b| id(a).cmp(&id(b)));
        cases.iter().enumerate().map(|(i, c)| format!("{}{c}", if i == 0 { "\n" } else { ",\n" })).collect()
    }

    #[test]
    fn streamed_reports_merge_into_the_order_a_stable_sort_gives() {
        let dir = tempfile::tempdir().unwrap();
        let c = |id: &str, n: u32| serde_json::json!({ "id": id, "n": n, "b": [1, {"z": 1, "a": 2}] });
        // Interleaved ids, an id in two reports and twice in one, records without an id.
        let one = [serde_json::json!({"no": "id"}), c("000000", 1), c("000003", 2), c("000003", 3), c("000006", 4)];
        let two = [c("000001", 5), c("000003", 6), c("000004", 7)];
        let three: [Value; 0] = [];
        let four = [serde_json::json!(7), c("000002", 8), c("000009", 9)];
        let reports = [
            report(dir.path(), "1.json", &one),
            report(dir.path(), "2.json", &two),
            report(dir.path(), "3.json", &three),
            report(dir.path(), "4.json", &four),
        ];
        assert!(reports.iter().all(|r| r.sorted));
        assert_eq!(written(&reports), sorted_in_memory(&[&one, &two, &three, &four]));
        // Another order of the same reports: among equal ids, the earlier report first.
        let swapped = [report(dir.path(), "2.json", &two), report(dir.path(), "1.json", &one)];
        assert_eq!(written(&swapped), sorted_in_memory(&[&two, &one]));
    }

    #[test]
    fn a_report_out_of_id_order_is_sorted_in_memory_to_the_same_order() {
        let dir = tempfile::tempdir().unwrap();
        let c = |id: &str| serde_json::json!({ "id": id });
        let backwards = [c("000005"), c("000002"), c("000002"), c("000000")];
        let other = [c("000001"), c("000002")];
        let reports = [report(dir.path(), "b.json", &backwards), report(dir.path(), "o.json", &other)];
        assert!(!reports[0].sorted && reports[1].sorted);
        assert_eq!(written(&reports), sorted_in_memory(&[&backwards, &other]));
    }

    #[test]
    fn a_report_gone_since_it_was_read_fails_the_write_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let reports = [report(dir.path(), "1.json", &[serde_json::json!({"id": "000001"})])];
        std::fs::write(&reports[0].file, "{\"cases\": [{\"id\": \"000001\"}, oops").unwrap();
        let err = write_cases(&mut vec![], &reports).unwrap_err();
        assert!(err.to_string().contains("1.json: not a report of `run --format json`"), "{err}");
        std::fs::remove_file(&reports[0].file).unwrap();
        let err = write_cases(&mut vec![], &reports).unwrap_err();
        assert!(err.to_string().contains("1.json: cannot read"), "{err}");
    }
}
