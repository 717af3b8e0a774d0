//! Encodings of a document into the bytes that are hashed: the [`Codec`] trait and the default
//! [`CanonicalJson`] codec. (An ABI codec is in [`crate::abi`].)
//!
//! # Canonical JSON
//! RFC 8785 (JCS) with one deliberate deviation, for numbers:
//! - objects: keys sorted by their UTF-16 code units, no whitespace, no duplicate keys;
//! - strings: `"` and `\` escaped, the control characters U+0008, U+0009, U+000A, U+000C,
//!   U+000D as `\b \t \n \f \r`, other controls below U+0020 as `\u00xx` (lowercase hex),
//!   everything else as literal UTF-8 — exactly as RFC 8785;
//! - numbers: RFC 8785 prints the IEEE-754 double closest to the number, which would silently
//!   change integers above 2^53 and long decimals. Quorate prints the **exact** value instead:
//!   plain decimal, no exponent, no leading zeros, no trailing fraction zeros, no `.` for whole
//!   values, no sign on zero (`1.50` → `1.5`, `1e3` → `1000`, `-0.0` → `0`,
//!   `2^255` → all 78 digits). For integers of magnitude below 10^21 that fit a double and for
//!   decimals a double holds exactly in its shortest form this coincides with RFC 8785.
//!   Numbers beyond [`crate::number::MAX_INTEGER_DIGITS`] / [`crate::number::MAX_SCALE`]
//!   are refused rather than expanded.

use std::fmt::Write as _;

use serde_json::Value;

use crate::error::CodecError;
use crate::number::Decimal;
use crate::path::{FieldPath, MAX_DEPTH};

/// Turns a document into the bytes whose keccak256 is the response digest.
///
/// Implementations must be deterministic, and should be injective on the documents they
/// accept (two different documents never give the same bytes) and refuse — not drop — data
/// they cannot represent.
pub trait Codec {
    /// A short name for logs and reports (`canonical-json`, `abi`).
    fn name(&self) -> &str;

    /// Encodes a document.
    fn encode(&self, doc: &Value) -> Result<Vec<u8>, CodecError>;
}

/// The default codec: canonical JSON (RFC 8785 with exact numbers; see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CanonicalJson;

impl Codec for CanonicalJson {
    fn name(&self) -> &str {
        "canonical-json"
    }

    fn encode(&self, doc: &Value) -> Result<Vec<u8>, CodecError> {
        canonical_json_string(doc).map(String::into_bytes)
    }
}

/// The canonical JSON text of a document (see the module docs).
pub fn canonical_json_string(doc: &Value) -> Result<String, CodecError> {
    let mut out = String::new();
    write_value(doc, &FieldPath::root(), 0, &mut out)?;
    Ok(out)
}

fn write_value(
    v: &Value,
    path: &FieldPath,
    depth: usize,
    out: &mut String,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep {
            path: path.clone(),
            max: MAX_DEPTH,
        });
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            let d = Decimal::parse_json_number(&n.to_string()).map_err(|source| {
                CodecError::Number {
                    path: path.clone(),
                    source,
                }
            })?;
            out.push_str(&d.canonical_string());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, child) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(child, &path.index(i), depth + 1, out)?;
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(Vec<u16>, &String, &Value)> = m
                .iter()
                .map(|(k, v)| (k.encode_utf16().collect(), k, v))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            out.push('{');
            for (i, (_, k, child)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_value(child, &path.key(k), depth + 1, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonical_json_string(&serde_json::from_str(text).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_strips_whitespace_and_keeps_numbers_exact() {
        assert_eq!(
            canon(r#"{ "b": 1.50, "a": [1e3, -0.0, "x"] }"#),
            r#"{"a":[1000,0,"x"],"b":1.5}"#
        );
        let big = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(canon(&format!("[{big}]")), format!("[{big}]"));
    }

    #[test]
    fn rfc8785_string_escapes_and_utf16_order() {
        assert_eq!(
            canon(r#""a\u0001\n\"\\é\u2028""#),
            "\"a\\u0001\\n\\\"\\\\é\u{2028}\""
        );
        // U+1F600 (surrogates D83D DE00) sorts before U+E000 in UTF-16, unlike in scalar order.
        assert_eq!(
            canon("{\"\u{E000}\":2,\"\u{1F600}\":1}"),
            "{\"\u{1F600}\":1,\"\u{E000}\":2}"
        );
    }
}
