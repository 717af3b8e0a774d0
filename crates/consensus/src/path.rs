//! Field paths, attestation paths, and flattening a document into its leaves.
//!
//! A leaf's path is the list of object keys and array indices from the root. It is written as
//! an RFC 6901 JSON Pointer (`/prices/0/usd`, `~0` for `~`, `~1` for `/`; the root is ``).
//! Leaves are numbers, strings, booleans, nulls, and empty objects/arrays (so structure is
//! compared too: `{"a": {}}` and `{"a": []}` differ at `/a`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::codec::canonical_json_string;
use crate::error::CodecError;
use crate::number::Decimal;

/// The deepest nesting accepted (serde_json's own parser stops at 128 too); keeps every
/// recursive walk in this crate bounded.
pub const MAX_DEPTH: usize = 128;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// The location of a leaf: object keys and array indices from the document root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The root (empty path).
    pub fn root() -> Self {
        Self::default()
    }

    /// A path from segments.
    pub fn new(segments: Vec<Segment>) -> Self {
        Self(segments)
    }

    /// The segments, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut s = self.0.clone();
        s.push(Segment::Key(key.to_owned()));
        Self(s)
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut s = self.0.clone();
        s.push(Segment::Index(index));
        Self(s)
    }

    /// The JSON Pointer text of the path (same as `Display`).
    pub fn pointer(&self) -> String {
        self.to_string()
    }

    /// The value at this path in a document, if any.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        let mut cur = doc;
        for seg in &self.0 {
            cur = match (seg, cur) {
                (Segment::Key(k), Value::Object(m)) => m.get(k)?,
                (Segment::Index(i), Value::Array(a)) => a.get(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// The value at this path, mutably, if any.
    pub fn get_mut<'a>(&self, doc: &'a mut Value) -> Option<&'a mut Value> {
        let mut cur = doc;
        for seg in &self.0 {
            cur = match (seg, cur) {
                (Segment::Key(k), Value::Object(m)) => m.get_mut(k)?,
                (Segment::Index(i), Value::Array(a)) => a.get_mut(*i)?,
                _ => return None,
            };
        }
        Some(cur)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            match seg {
                Segment::Key(k) => write!(f, "/{}", k.replace('~', "~0").replace('/', "~1"))?,
                Segment::Index(i) => write!(f, "/{i}")?,
            }
        }
        Ok(())
    }
}

impl Serialize for FieldPath {
    /// Serialized as its JSON Pointer text.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Which subtrees are attestations: evidence that may differ per operator (signatures, TLS
/// proofs, timestamps of the fetch). They are not compared or normalized, and the consensus
/// digest leaves them out; the full digest includes them.
///
/// A subtree is an attestation when the key leading to it is one of [`Self::keys`] (at any
/// depth) or its JSON Pointer is one of [`Self::pointers`]. The root is never an attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationPaths {
    /// Object key names that mark an attestation at any depth. Default: `attestation`.
    pub keys: BTreeSet<String>,
    /// Exact JSON Pointers of attestation subtrees (e.g. `/meta/proof`).
    pub pointers: BTreeSet<String>,
}

impl Default for AttestationPaths {
    /// Any key named `attestation`.
    fn default() -> Self {
        Self::none().with_key("attestation")
    }
}

impl AttestationPaths {
    /// No attestation paths: everything is compared and digested.
    pub fn none() -> Self {
        Self {
            keys: BTreeSet::new(),
            pointers: BTreeSet::new(),
        }
    }

    /// Adds a key name that marks an attestation at any depth.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.keys.insert(key.into());
        self
    }

    /// Adds the JSON Pointer of one attestation subtree.
    pub fn with_pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointers.insert(pointer.into());
        self
    }

    /// Whether the subtree at `path` is an attestation.
    pub fn matches(&self, path: &FieldPath) -> bool {
        match path.segments().last() {
            None => false,
            Some(Segment::Key(k)) if self.keys.contains(k) => true,
            Some(_) => !self.pointers.is_empty() && self.pointers.contains(&path.pointer()),
        }
    }

    /// A copy of the document without its attestation subtrees (array elements that are
    /// attestations are removed too, shifting later indices).
    pub fn strip(&self, doc: &Value) -> Result<Value, CodecError> {
        self.strip_at(doc, &FieldPath::root(), 0)
    }

    fn strip_at(&self, v: &Value, path: &FieldPath, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(CodecError::TooDeep {
                path: path.clone(),
                max: MAX_DEPTH,
            });
        }
        Ok(match v {
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, child) in m {
                    let p = path.key(k);
                    if !self.matches(&p) {
                        out.insert(k.clone(), self.strip_at(child, &p, depth + 1)?);
                    }
                }
                Value::Object(out)
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for (i, child) in a.iter().enumerate() {
                    let p = path.index(i);
                    if !self.matches(&p) {
                        out.push(self.strip_at(child, &p, depth + 1)?);
                    }
                }
                Value::Array(out)
            }
            other => other.clone(),
        })
    }
}

/// How a leaf takes part in the consensus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Leaf {
    /// A JSON number; `integer` when written without fraction or exponent; `text` as sent.
    Number {
        value: Decimal,
        integer: bool,
        text: String,
    },
    /// A string in numeric syntax (see [`Decimal::parse_numeric_string`]); `text` as sent.
    NumericString { value: Decimal, text: String },
    /// Anything else, by its canonical JSON text; must be identical across agreeing operators.
    Opaque(String),
}

/// Flattens a document into its leaves, skipping attestation subtrees. An object or array
/// that is empty (or holds only attestations) is itself a leaf.
pub(crate) fn flatten(
    doc: &Value,
    attestations: &AttestationPaths,
) -> Result<BTreeMap<FieldPath, Leaf>, CodecError> {
    let mut out = BTreeMap::new();
    walk(doc, FieldPath::root(), attestations, 0, &mut out)?;
    Ok(out)
}

fn walk(
    v: &Value,
    path: FieldPath,
    att: &AttestationPaths,
    depth: usize,
    out: &mut BTreeMap<FieldPath, Leaf>,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::TooDeep {
            path,
            max: MAX_DEPTH,
        });
    }
    match v {
        Value::Object(m) => {
            let mut any_child = false;
            for (k, child) in m {
                let p = path.key(k);
                if !att.matches(&p) {
                    any_child = true;
                    walk(child, p, att, depth + 1, out)?;
                }
            }
            if !any_child {
                out.insert(path, Leaf::Opaque("{}".to_owned()));
            }
        }
        Value::Array(a) => {
            let mut any_child = false;
            for (i, child) in a.iter().enumerate() {
                let p = path.index(i);
                if !att.matches(&p) {
                    any_child = true;
                    walk(child, p, att, depth + 1, out)?;
                }
            }
            if !any_child {
                out.insert(path, Leaf::Opaque("[]".to_owned()));
            }
        }
        Value::Number(n) => {
            let text = n.to_string();
            let value = Decimal::parse_json_number(&text).map_err(|source| CodecError::Number {
                path: path.clone(),
                source,
            })?;
            let integer = !text.contains(['.', 'e', 'E']);
            out.insert(
                path,
                Leaf::Number {
                    value,
                    integer,
                    text,
                },
            );
        }
        Value::String(s) => {
            let leaf = match Decimal::parse_numeric_string(s) {
                Some(value) => Leaf::NumericString {
                    value,
                    text: s.clone(),
                },
                None => Leaf::Opaque(canonical_json_string(v)?),
            };
            out.insert(path, leaf);
        }
        Value::Bool(_) | Value::Null => {
            out.insert(path, Leaf::Opaque(canonical_json_string(v)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_escape_and_index() {
        let p = FieldPath::root().key("a/b").key("c~d").index(3);
        assert_eq!(p.to_string(), "/a~1b/c~0d/3");
        assert_eq!(FieldPath::root().to_string(), "");
    }

    #[test]
    fn flatten_nested_and_skips_attestations() {
        let doc =
            json!({"a": {"b": [1, "2.5", {"c": null}], "attestation": "sig"}, "e": {}, "f": []});
        let leaves = flatten(&doc, &AttestationPaths::default()).unwrap();
        let keys: Vec<String> = leaves.keys().map(ToString::to_string).collect();
        assert_eq!(keys, ["/a/b/0", "/a/b/1", "/a/b/2/c", "/e", "/f"]);
        assert!(matches!(
            leaves[&FieldPath::root().key("a").key("b").index(1)],
            Leaf::NumericString { .. }
        ));
        let only_att = json!({"x": {"attestation": 1}});
        let leaves = flatten(&only_att, &AttestationPaths::default()).unwrap();
        assert_eq!(
            leaves[&FieldPath::root().key("x")],
            Leaf::Opaque("{}".into())
        );
    }

    #[test]
    fn strip_removes_keys_and_pointers() {
        let att = AttestationPaths::default().with_pointer("/meta/proof");
        let doc = json!({"p": 1, "attestation": 2, "meta": {"proof": 3, "src": "x"}});
        assert_eq!(
            att.strip(&doc).unwrap(),
            json!({"p": 1, "meta": {"src": "x"}})
        );
    }
}
