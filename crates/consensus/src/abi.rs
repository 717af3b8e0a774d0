//! An example non-JSON codec: `abi.encode` of a flat document's fields in a declared order,
//! so a contract can rebuild the signed message with `keccak256(abi.encode(...))`.
//!
//! The layout lists each field's name and Solidity type. Every key of the document must be
//! declared (nothing is dropped silently); a declared field may be absent only when marked
//! optional — typically the attestation, which the consensus digest leaves out. Numbers (JSON
//! numbers or numeric strings) become `uint256`/`int256` scaled by `10^decimals`, and must be
//! exact at that scale. Values are encoded as the tuple of the present fields, head/tail as
//! the Solidity ABI specifies (strings are dynamic).

use num_bigint::{BigInt, Sign};
use num_traits::Zero;
use serde_json::Value;

use crate::codec::Codec;
use crate::error::CodecError;
use crate::number::{pow10, Decimal};

/// A Solidity type a field is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbiType {
    /// `uint256`: the number × 10^decimals, which must be a whole number in `0..2^256`.
    Uint256 {
        /// Fixed-point decimals (0 for plain integers).
        decimals: u32,
    },
    /// `int256`: the number × 10^decimals, a whole number in `-2^255..2^255`, two's complement.
    Int256 {
        /// Fixed-point decimals (0 for plain integers).
        decimals: u32,
    },
    /// `bool`.
    Bool,
    /// `address`: a `0x`-prefixed 40-digit hex string.
    Address,
    /// `bytes32`: a `0x`-prefixed 64-digit hex string.
    Bytes32,
    /// `string` (dynamic).
    String,
}

impl AbiType {
    fn solidity(self) -> &'static str {
        match self {
            Self::Uint256 { .. } => "uint256",
            Self::Int256 { .. } => "int256",
            Self::Bool => "bool",
            Self::Address => "address",
            Self::Bytes32 => "bytes32",
            Self::String => "string",
        }
    }
}

/// One declared field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiField {
    /// The object key.
    pub name: String,
    /// Its ABI type.
    pub ty: AbiType,
    /// Whether the field may be absent (then it is not encoded at all).
    pub optional: bool,
}

impl AbiField {
    /// A required field.
    pub fn required(name: impl Into<String>, ty: AbiType) -> Self {
        Self {
            name: name.into(),
            ty,
            optional: false,
        }
    }

    /// An optional field (e.g. an attestation).
    pub fn optional(name: impl Into<String>, ty: AbiType) -> Self {
        Self {
            name: name.into(),
            ty,
            optional: true,
        }
    }
}

/// `abi.encode` of a flat document in a declared field order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiCodec {
    fields: Vec<AbiField>,
}

impl AbiCodec {
    /// A codec for this layout.
    pub fn new(fields: Vec<AbiField>) -> Self {
        Self { fields }
    }

    /// The layout.
    pub fn fields(&self) -> &[AbiField] {
        &self.fields
    }
}

enum Encoded {
    Static([u8; 32]),
    Dynamic(Vec<u8>),
}

impl Codec for AbiCodec {
    fn name(&self) -> &str {
        "abi"
    }

    fn encode(&self, doc: &Value) -> Result<Vec<u8>, CodecError> {
        let Value::Object(map) = doc else {
            return Err(CodecError::NotAnObject {
                found: kind_of(doc),
            });
        };
        if let Some(k) = map
            .keys()
            .find(|k| !self.fields.iter().any(|f| &f.name == *k))
        {
            return Err(CodecError::UndeclaredField { name: k.clone() });
        }
        let mut parts = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            match map.get(&field.name) {
                Some(v) => parts.push(encode_value(field, v)?),
                None if field.optional => {}
                None => {
                    return Err(CodecError::MissingField {
                        name: field.name.clone(),
                    })
                }
            }
        }
        let head_len = 32 * parts.len();
        let mut head = Vec::with_capacity(head_len);
        let mut tail = Vec::new();
        for part in parts {
            match part {
                Encoded::Static(word) => head.extend_from_slice(&word),
                Encoded::Dynamic(bytes) => {
                    head.extend_from_slice(&usize_word(head_len + tail.len()));
                    tail.extend_from_slice(&usize_word(bytes.len()));
                    tail.extend_from_slice(&bytes);
                    let pad = (32 - bytes.len() % 32) % 32;
                    tail.extend(std::iter::repeat_n(0u8, pad));
                }
            }
        }
        head.extend_from_slice(&tail);
        Ok(head)
    }
}

fn usize_word(n: usize) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&(n as u64).to_be_bytes());
    w
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn encode_value(field: &AbiField, v: &Value) -> Result<Encoded, CodecError> {
    let err = |reason: String| CodecError::AbiValue {
        name: field.name.clone(),
        expected: field.ty.solidity().to_owned(),
        reason,
    };
    match field.ty {
        AbiType::Uint256 { decimals } | AbiType::Int256 { decimals } => {
            let d = match v {
                Value::Number(n) => {
                    Decimal::parse_json_number(&n.to_string()).map_err(|e| err(e.to_string()))?
                }
                Value::String(s) => Decimal::parse_numeric_string(s)
                    .ok_or_else(|| err(format!("got the string {s:?}")))?,
                other => return Err(err(format!("got {}", kind_of(other)))),
            };
            let int = scaled_integer(&d, decimals)
                .ok_or_else(|| err(format!("{d} has more than {decimals} decimals")))?;
            let signed = matches!(field.ty, AbiType::Int256 { .. });
            int_word(&int, signed)
                .map(Encoded::Static)
                .ok_or_else(|| err(format!("{d} is out of range")))
        }
        AbiType::Bool => match v {
            Value::Bool(b) => {
                let mut w = [0u8; 32];
                w[31] = u8::from(*b);
                Ok(Encoded::Static(w))
            }
            other => Err(err(format!("got {}", kind_of(other)))),
        },
        AbiType::Address | AbiType::Bytes32 => {
            let Value::String(s) = v else {
                return Err(err(format!("got {}", kind_of(v))));
            };
            let len = if field.ty == AbiType::Address { 20 } else { 32 };
            let bytes = parse_hex(s, len)
                .ok_or_else(|| err(format!("got {s:?}, want 0x and {} hex digits", 2 * len)))?;
            let mut w = [0u8; 32];
            if field.ty == AbiType::Address {
                w[12..].copy_from_slice(&bytes);
            } else {
                w.copy_from_slice(&bytes);
            }
            Ok(Encoded::Static(w))
        }
        AbiType::String => match v {
            Value::String(s) => Ok(Encoded::Dynamic(s.as_bytes().to_vec())),
            other => Err(err(format!("got {}", kind_of(other)))),
        },
    }
}

/// `d × 10^decimals` when that is a whole number.
fn scaled_integer(d: &Decimal, decimals: u32) -> Option<BigInt> {
    let total = d.mantissa() * pow10(decimals);
    let divisor = pow10(d.scale());
    (&total % &divisor).is_zero().then(|| total / divisor)
}

/// The 32-byte big-endian word of an integer (two's complement when signed), if in range.
fn int_word(x: &BigInt, signed: bool) -> Option<[u8; 32]> {
    let bytes = if signed {
        x.to_signed_bytes_be()
    } else {
        if x.sign() == Sign::Minus {
            return None;
        }
        x.magnitude().to_bytes_be()
    };
    if bytes.len() > 32 {
        return None;
    }
    let fill = if signed && x.sign() == Sign::Minus {
        0xff
    } else {
        0
    };
    let mut w = [fill; 32];
    w[32 - bytes.len()..].copy_from_slice(&bytes);
    Some(w)
}

fn parse_hex(s: &str, len: usize) -> Option<Vec<u8>> {
    let digits = s.strip_prefix("0x")?.as_bytes();
    if digits.len() != 2 * len {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    digits
        .chunks(2)
        .map(|pair| match pair {
            [h, l] => Some(nibble(*h)? << 4 | nibble(*l)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn encodes_static_and_dynamic_fields_like_solidity() {
        // abi.encode(uint256(150000000), int256(-1), true, "hi")
        let codec = AbiCodec::new(vec![
            AbiField::required("price", AbiType::Uint256 { decimals: 8 }),
            AbiField::required("delta", AbiType::Int256 { decimals: 0 }),
            AbiField::required("ok", AbiType::Bool),
            AbiField::optional("attestation", AbiType::String),
        ]);
        let out = codec
            .encode(&json!({"price": "1.5", "delta": -1, "ok": true, "attestation": "hi"}))
            .unwrap();
        let words: Vec<String> = out.chunks(32).map(hex).collect();
        assert_eq!(words.len(), 6);
        assert_eq!(words[0], format!("{:064x}", 150_000_000u64));
        assert_eq!(words[1], "f".repeat(64));
        assert_eq!(words[2], format!("{:064x}", 1));
        assert_eq!(words[3], format!("{:064x}", 128)); // offset of the string
        assert_eq!(words[4], format!("{:064x}", 2));
        assert_eq!(words[5], format!("6869{}", "0".repeat(60)));
        // Without the optional attestation: just the three static words.
        assert_eq!(
            codec
                .encode(&json!({"price": 1.5, "delta": -1, "ok": true}))
                .unwrap()
                .len(),
            96
        );
    }

    #[test]
    fn refuses_what_it_cannot_encode_exactly() {
        let codec = AbiCodec::new(vec![
            AbiField::required("p", AbiType::Uint256 { decimals: 2 }),
            AbiField::optional("who", AbiType::Address),
        ]);
        assert!(matches!(
            codec.encode(&json!({"p": 1.234})),
            Err(CodecError::AbiValue { .. })
        ));
        assert!(matches!(
            codec.encode(&json!({"p": -1})),
            Err(CodecError::AbiValue { .. })
        ));
        assert!(matches!(
            codec.encode(&json!({})),
            Err(CodecError::MissingField { .. })
        ));
        assert!(matches!(
            codec.encode(&json!({"p": 1, "x": 1})),
            Err(CodecError::UndeclaredField { .. })
        ));
        assert!(matches!(
            codec.encode(&json!({"p": 1, "who": "0x12"})),
            Err(CodecError::AbiValue { .. })
        ));
        assert!(matches!(
            codec.encode(&json!([1])),
            Err(CodecError::NotAnObject { .. })
        ));
        let addr = format!("0x{}", "ab".repeat(20));
        let out = codec.encode(&json!({"p": 1, "who": addr})).unwrap();
        assert_eq!(
            hex(&out[32..]),
            format!("{}{}", "0".repeat(24), "ab".repeat(20))
        );
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        let big = AbiCodec::new(vec![AbiField::required(
            "n",
            AbiType::Uint256 { decimals: 0 },
        )]);
        assert_eq!(
            hex(&big.encode(&json!({"n": max})).unwrap()),
            "f".repeat(64)
        );
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert!(big.encode(&json!({"n": over})).is_err());
    }
}
