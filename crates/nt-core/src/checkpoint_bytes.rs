//! The bytes of a checkpoint file, the same whichever twin writes it: identical content gives identical
//! files, from one process to the next and from Rust to Python.
//!
//! Two things would otherwise differ. The safetensors library writes the metadata in a hash map's order,
//! which changes between processes: the header's metadata is rewritten with its keys sorted (what
//! `neural_trader.checkpoint.stable_bytes` does on the Python side). And the `config` value is JSON text:
//! it is written as Python's `json.dumps(config, sort_keys=True)` writes it (keys sorted, `", "` and
//! `": "` separators, non-ASCII escaped, floats as Python's `repr`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use crate::error::{Error, Result};

/// `value` as Python's `json.dumps(value, sort_keys=True)` writes it.
///
/// ```
/// use nt_core::checkpoint_bytes::python_json;
/// let v: serde_json::Value = serde_json::from_str(r#"{"b": [1, 2.5e-7], "a": "é", "c": 1.0}"#).unwrap();
/// assert_eq!(python_json(&v), r#"{"a": "\u00e9", "b": [1, 2.5e-07], "c": 1.0}"#);
/// ```
pub fn python_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&python_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (k, key) in keys.into_iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, &map[key]);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Python's `json.dumps` (`ensure_ascii=True`) writes it: everything outside
/// printable ASCII escaped, as UTF-16 units.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// A finite float as Python's `repr`: the shortest digits that round-trip, positional for decimal
/// exponents -5 < e < 16 (with `.0` on whole numbers), else `d.ddde±XX`.
fn python_float(f: f64) -> String {
    if !f.is_finite() {
        // JSON has no such values; configs are validated to be finite before they are written.
        return if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.25e-7", "3e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-5 < exp && exp < 16) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if digits.len() <= point {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{body}")
}

/// The bytes of a safetensors file with its `__metadata__` rewritten as `metadata` in sorted key order
/// (the same entries the file holds, so the header keeps its length and padding); the tensor entries and
/// data are untouched.
pub fn with_sorted_metadata(
    bytes: Vec<u8>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    const START: &[u8] = b"{\"__metadata__\":";
    let sorted = serde_json::to_string(metadata)
        .map_err(|e| Error::Checkpoint(format!("cannot serialise metadata: {e}")))?;
    let at = 8 + START.len();
    let end = at + sorted.len();
    let header_len = bytes
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes)
        .and_then(|n| usize::try_from(n).ok());
    let fits = header_len.is_some_and(|n| end < 8 + n)
        && bytes.get(8..at) == Some(START)
        && matches!(bytes.get(end), Some(b',' | b'}'));
    if !fits {
        return Err(Error::Checkpoint(
            "unexpected safetensors header layout: cannot order its metadata".into(),
        ));
    }
    let mut bytes = bytes;
    bytes[at..end].copy_from_slice(sorted.as_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_written_as_pythons_repr() {
        for (f, want) in [
            (0.2, "0.2"),
            (0.0, "0.0"),
            (1.0, "1.0"),
            (-3.5, "-3.5"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (0.00012345, "0.00012345"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (-2.5e22, "-2.5e+22"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-7, "1e-07"),
            (5e-324, "5e-324"),
        ] {
            assert_eq!(python_float(f), want, "{f:e}");
        }
    }

    #[test]
    fn strings_escape_as_python_does() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\u{1}\u{7f}é😀");
        assert_eq!(out, r#""a\"b\\c\n\u0001\u007f\u00e9\ud83d\ude00""#);
    }
}
