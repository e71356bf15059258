//! The strings of a value's JSON form, without the rest: a serde [`Serializer`] that writes
//! every string (keys, field and variant names, chars) into a buffer as serde_json writes it,
//! quoted and escaped, and skips numbers, booleans, nulls and punctuation. The redactor
//! searches that buffer instead of the whole JSON text, with no allocation once the buffer has
//! grown.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Serializer};

/// Why a value's strings could not be collected: its `Serialize` failed.
#[derive(Debug)]
pub(super) struct Failed;

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the value did not serialize")
    }
}

impl std::error::Error for Failed {}

impl ser::Error for Failed {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Failed
    }
}

/// Appends every string of `value` to `buf` as its JSON form writes it: `"`, the escaped text,
/// `"`. The buffer holds each string token of the JSON text byte for byte, but for field and
/// variant names (written in the code, the same in every value) shorter than `names_below`
/// and without `=`, `:` or `%`: those the redactor has nothing to find in.
pub(super) fn collect<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>, names_below: usize) -> Result<(), Failed> {
    let start = buf.len();
    let mut strings = Strings { buf, escape: false, pushed: 0, names_below };
    value.serialize(&mut strings)?;
    let pushed = strings.pushed;
    // Copied as they are, the strings are their JSON tokens unless one holds a byte serde_json
    // escapes (`"`, `\`, a control character). The quotes around each string are two such
    // bytes; any more, and the strings are collected again, escaped. One pass over the whole
    // buffer costs less than a look at each string, and few records need the second
    // collection. Counted in bytes, 255 at a time, the pass vectorises (a count in `usize`
    // does not).
    let special: usize = buf[start..]
        .chunks(usize::from(u8::MAX))
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b < 0x20 || b == b'"' || b == b'\\'))))
        .sum();
    if special == 2 * pushed {
        return Ok(());
    }
    buf.truncate(start);
    value.serialize(&mut Strings { buf, escape: true, pushed: 0, names_below })
}

struct Strings<'b> {
    buf: &'b mut Vec<u8>,
    /// Whether strings are written escaped, as serde_json writes them, or copied as they are.
    escape: bool,
    /// Strings written so far.
    pushed: usize,
    /// Names shorter than this are left out (see [`collect`]).
    names_below: usize,
}

impl Strings<'_> {
    fn push(&mut self, s: &str) -> Done {
        self.pushed += 1;
        if self.escape {
            return serde_json::to_writer(&mut *self.buf, s).map_err(|_| Failed);
        }
        self.buf.reserve(s.len() + 2);
        self.buf.push(b'"');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'"');
        Ok(())
    }

    /// A field or variant name: pushed unless it can hold nothing the redactor looks for.
    fn name(&mut self, name: &'static str) -> Done {
        if name.len() < self.names_below && !name.bytes().any(|b| matches!(b, b'=' | b':' | b'%')) {
            return Ok(());
        }
        self.push(name)
    }
}

type Done = Result<(), Failed>;

impl Serializer for &mut Strings<'_> {
    type Ok = ();
    type Error = Failed;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    // Numbers, booleans and nulls are JSON text outside any string; the redactor takes this
    // path only for secrets that cannot be spelled with such text (see `plain_in_json`).
    fn serialize_bool(self, _: bool) -> Done {
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Done {
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Done {
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Done {
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Done {
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Done {
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Done {
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Done {
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Done {
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Done {
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Done {
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        Ok(())
    }
    fn serialize_char(self, c: char) -> Done {
        self.push(c.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, s: &str) -> Done {
        self.push(s)
    }
    // serde_json writes bytes as an array of numbers.
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.name(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Done {
        self.name(variant)?;
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Failed> {
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Failed> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Failed> {
        Ok(self)
    }
    fn serialize_tuple_variant(self, _: &'static str, _: u32, variant: &'static str, _: usize) -> Result<Self, Failed> {
        self.name(variant)?;
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Failed> {
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Failed> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Failed> {
        self.name(variant)?;
        Ok(self)
    }
}

/// The compound serializers whose parts are values alone: each part is collected in turn.
macro_rules! value_parts {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for &mut Strings<'_> {
            type Ok = ();
            type Error = Failed;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

value_parts!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Strings<'_> {
    type Ok = ();
    type Error = Failed;
    // A key that is not a string (a number) is written quoted by serde_json, but as digits,
    // which are left out for the same reason as numbers.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut **self)
    }
    fn end(self) -> Done {
        Ok(())
    }
}

/// The compound serializers whose fields are named: the name is collected, then the value.
macro_rules! named_fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for &mut Strings<'_> {
            type Ok = ();
            type Error = Failed;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
                self.name(key)?;
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

named_fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_written_as_serde_json_writes_it() {
        for text in
            ["", "plain", "a\"b", "back\\slash", "tab\tnew\nline\u{1}\u{1f}", "\u{7f} / é 名 \u{1F600}", "ends\\"]
        {
            let mut buf = vec![];
            collect(text, &mut buf, 0).unwrap();
            assert_eq!(String::from_utf8(buf).unwrap(), serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn a_string_to_escape_after_plain_ones_escapes_it_and_keeps_them() {
        for odd in ["q\"uote", "back\\slash", "ctrl\u{1}", "\n"] {
            let value = serde_json::json!({"a": "plain", "b": ["x", odd, 3], "c": "tail"});
            let mut buf = b"kept".to_vec();
            collect(&value, &mut buf, 0).unwrap();
            let json = |s: &str| serde_json::to_string(s).unwrap();
            let want = format!("kept\"a\"\"plain\"\"b\"\"x\"{}\"c\"\"tail\"", json(odd));
            assert_eq!(String::from_utf8(buf).unwrap(), want, "{odd:?}");
        }
    }

    #[test]
    fn every_string_of_a_value_is_collected_and_nothing_else() {
        #[derive(Serialize)]
        enum Kind {
            Unit,
            Tuple(String, u8),
            Named { inner: char },
        }
        #[derive(Serialize)]
        struct Record {
            text: String,
            n: u64,
            list: Vec<Kind>,
            map: std::collections::BTreeMap<String, Option<String>>,
            #[serde(flatten)]
            flat: std::collections::BTreeMap<String, bool>,
        }
        let record = Record {
            text: "a\"b\\c\nd".into(),
            n: 12345,
            list: vec![Kind::Unit, Kind::Tuple("t".into(), 7), Kind::Named { inner: 'é' }],
            map: [("k".to_owned(), Some("v".to_owned())), ("none".to_owned(), None)].into(),
            flat: [("flag".to_owned(), true)].into(),
        };
        let mut buf = vec![];
        collect(&record, &mut buf, 0).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text, r#""text""a\"b\\c\nd""n""list""Unit""Tuple""t""Named""inner""é""map""k""v""none""flag""#);
        // Field and variant names shorter than 6 left out (`Unit`, `Tuple`, `Named`, `inner`).
        // The record's own field names come as map keys (it has a flattened field, which makes
        // serde write it as a map), and so does `flag`: those are kept, as any map key is.
        let mut short = vec![];
        collect(&record, &mut short, 6).unwrap();
        let short = String::from_utf8(short).unwrap();
        assert_eq!(short, r#""text""a\"b\\c\nd""n""list""t""é""map""k""v""none""flag""#);
    }

    #[test]
    fn a_name_that_could_hold_a_match_is_kept_however_short() {
        #[derive(Serialize)]
        struct Odd {
            #[serde(rename = "t=1")]
            eq: u8,
            #[serde(rename = "a:b")]
            colon: u8,
            #[serde(rename = "%3d")]
            percent: u8,
        }
        let mut buf = vec![];
        collect(&Odd { eq: 1, colon: 2, percent: 3 }, &mut buf, usize::MAX).unwrap();
        assert_eq!(String::from_utf8(buf).unwrap(), r#""t=1""a:b""%3d""#);
    }
}
