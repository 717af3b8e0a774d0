//! Named fields over ABI values: a tuple's parameter names (from a parsed signature) turned
//! into index paths, and the values a configuration names (`event.task.quorumNumbers`,
//! `response`, `signature`) looked up in decoded data.

use alloy::dyn_abi::{DynSolType, DynSolValue, Specifier};
use alloy::json_abi::Param;
use alloy::primitives::U256;

/// One named field and, for tuples, its named components.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// The parameter name (may be empty in a signature, then it cannot be named in a path).
    name: String,
    /// Its type.
    ty: DynSolType,
    /// Components of a tuple type (empty otherwise, arrays of tuples included: paths do not
    /// index into arrays).
    children: Vec<Field>,
}

impl Field {
    /// The field of an ABI parameter.
    pub(crate) fn from_param(p: &Param) -> Result<Self, String> {
        let ty = p
            .resolve()
            .map_err(|e| format!("type of `{}`: {e}", p.name))?;
        let children = if matches!(ty, DynSolType::Tuple(_)) {
            p.components
                .iter()
                .map(Field::from_param)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(Self {
            name: p.name.clone(),
            ty,
            children,
        })
    }

    /// A field of type `ty` named `name`, without components.
    pub(crate) fn plain(name: &str, ty: DynSolType) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            children: Vec::new(),
        }
    }
}

/// A tuple of named fields (an event's parameters, a response struct).
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    /// The fields in order.
    fields: Vec<Field>,
}

impl Shape {
    /// The tuple of `fields`.
    pub(crate) fn new(fields: Vec<Field>) -> Self {
        Self { fields }
    }

    /// The tuple type.
    pub(crate) fn ty(&self) -> DynSolType {
        DynSolType::Tuple(self.fields.iter().map(|f| f.ty.clone()).collect())
    }

    /// The index path and type of a dotted path (`task.quorumNumbers`); the empty path is
    /// the whole tuple.
    pub(crate) fn lookup(&self, path: &str) -> Result<(Vec<usize>, DynSolType), String> {
        if path.is_empty() {
            return Ok((Vec::new(), self.ty()));
        }
        let mut fields = &self.fields;
        let mut indices = Vec::new();
        let mut ty = None;
        for part in path.split('.') {
            let Some(i) = fields.iter().position(|f| f.name == part) else {
                let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                return Err(format!("no field `{part}` in `{path}` (fields: {known:?})"));
            };
            indices.push(i);
            ty = Some(fields[i].ty.clone());
            fields = &fields[i].children;
        }
        Ok((indices, ty.unwrap_or_else(|| self.ty())))
    }
}

/// The value at an index path.
pub(crate) fn at<'a>(value: &'a DynSolValue, indices: &[usize]) -> Option<&'a DynSolValue> {
    indices.iter().try_fold(value, |v, &i| match v {
        DynSolValue::Tuple(items) => items.get(i),
        _ => None,
    })
}

/// Where a configured value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The task's event parameters.
    Event,
    /// The signed response.
    Response,
    /// The `NonSignerStakesAndSignature` of the aggregate.
    Signature,
}

/// A value named in the configuration, resolved against the shapes.
#[derive(Clone, Debug)]
pub(crate) struct ValueRef {
    /// Where it is read.
    source: Source,
    /// Index path inside the source.
    indices: Vec<usize>,
    /// Its type.
    pub(crate) ty: DynSolType,
    /// The text it was written as (for errors).
    pub(crate) text: String,
}

/// The shapes a value may name.
pub(crate) struct Scope<'a> {
    /// The task's event parameters.
    pub(crate) event: &'a Shape,
    /// The response, where it may be named.
    pub(crate) response: Option<&'a Shape>,
    /// The signature's type, where it may be named.
    pub(crate) signature: Option<&'a DynSolType>,
}

impl ValueRef {
    /// Parses `event.<path>`, `response[.<path>]` or `signature`.
    pub(crate) fn parse(text: &str, scope: &Scope<'_>) -> Result<Self, String> {
        let (head, rest) = text.split_once('.').unwrap_or((text, ""));
        let (source, (indices, ty)) = match head {
            "event" if !rest.is_empty() => (Source::Event, scope.event.lookup(rest)?),
            "response" => match scope.response {
                Some(shape) => (Source::Response, shape.lookup(rest)?),
                None => return Err(format!("`{text}`: the response cannot be named here")),
            },
            "signature" if rest.is_empty() => match scope.signature {
                Some(ty) => (Source::Signature, (Vec::new(), ty.clone())),
                None => return Err(format!("`{text}`: the signature cannot be named here")),
            },
            _ => {
                return Err(format!(
                    "`{text}`: expected event.<field>, response[.<field>] or signature"
                ))
            }
        };
        Ok(Self {
            source,
            indices,
            ty,
            text: text.to_owned(),
        })
    }

    /// Its value in `values`.
    pub(crate) fn get<'a>(&self, values: &Values<'a>) -> Result<&'a DynSolValue, String> {
        let root = match self.source {
            Source::Event => Some(values.event),
            Source::Response => values.response,
            Source::Signature => values.signature,
        };
        root.and_then(|r| at(r, &self.indices))
            .ok_or_else(|| format!("`{}` has no value", self.text))
    }
}

/// Decoded data values are read from.
pub(crate) struct Values<'a> {
    /// The task's event parameters (a tuple).
    pub(crate) event: &'a DynSolValue,
    /// The response (a tuple), if there is one.
    pub(crate) response: Option<&'a DynSolValue>,
    /// The `NonSignerStakesAndSignature`, if there is one.
    pub(crate) signature: Option<&'a DynSolValue>,
}

/// An unsigned integer that fits `u64`.
pub(crate) fn as_u64(v: &DynSolValue) -> Option<u64> {
    match v {
        DynSolValue::Uint(n, _) if *n <= U256::from(u64::MAX) => Some(n.to::<u64>()),
        _ => None,
    }
}

/// Bytes, or an array of integers below 256, as bytes.
pub(crate) fn as_byte_list(v: &DynSolValue) -> Option<Vec<u8>> {
    match v {
        DynSolValue::Bytes(b) => Some(b.clone()),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => items
            .iter()
            .map(|i| as_u64(i).and_then(|n| u8::try_from(n).ok()))
            .collect(),
        _ => None,
    }
}

/// A short readable rendering of a value (decimal integers, 0x hex bytes).
pub(crate) fn show(v: &DynSolValue) -> String {
    let list = |items: &[DynSolValue], open: &str, close: &str| {
        let inner: Vec<String> = items.iter().map(show).collect();
        format!("{open}{}{close}", inner.join(", "))
    };
    match v {
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Int(n, _) => n.to_string(),
        DynSolValue::Uint(n, _) => n.to_string(),
        DynSolValue::FixedBytes(w, size) => {
            format!("0x{}", alloy::hex::encode(&w[..(*size).min(32)]))
        }
        DynSolValue::Address(a) => a.to_string(),
        DynSolValue::Bytes(b) => format!("0x{}", alloy::hex::encode(b)),
        DynSolValue::String(s) => format!("{s:?}"),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => list(items, "[", "]"),
        DynSolValue::Tuple(items) => list(items, "(", ")"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sig: &str) -> Shape {
        let f = super::super::signature::parse_function(sig).expect("parses");
        Shape::new(
            f.inputs
                .iter()
                .map(|p| Field::from_param(p).unwrap())
                .collect(),
        )
    }

    #[test]
    fn paths_resolve_to_indices_and_types() {
        let s = shape("f(uint32 id, (uint32 block, bytes quorums) task)");
        let (i, ty) = s.lookup("task.quorums").unwrap();
        assert_eq!(i, vec![1, 1]);
        assert_eq!(ty, DynSolType::Bytes);
        assert!(s
            .lookup("task.nothing")
            .unwrap_err()
            .contains("no field `nothing`"));
        assert!(s.lookup("id.deeper").is_err());
        let value = DynSolValue::Tuple(vec![
            DynSolValue::Uint(U256::from(7), 32),
            DynSolValue::Tuple(vec![
                DynSolValue::Uint(U256::from(9), 32),
                DynSolValue::Bytes(vec![0, 1]),
            ]),
        ]);
        assert_eq!(at(&value, &i), Some(&DynSolValue::Bytes(vec![0, 1])));
        assert_eq!(as_u64(at(&value, &[1, 0]).unwrap()), Some(9));
        assert_eq!(show(&value), "(7, (9, 0x0001))");
    }

    #[test]
    fn value_refs_name_only_what_the_scope_has() {
        let event = shape("f(uint32 id)");
        let scope = Scope {
            event: &event,
            response: None,
            signature: None,
        };
        assert!(ValueRef::parse("event.id", &scope).is_ok());
        assert!(ValueRef::parse("response", &scope).is_err());
        assert!(ValueRef::parse("signature", &scope).is_err());
        assert!(ValueRef::parse("event", &scope).is_err());
        assert!(ValueRef::parse("task.id", &scope).is_err());
    }

    #[test]
    fn byte_lists_come_from_bytes_or_small_integer_arrays() {
        assert_eq!(
            as_byte_list(&DynSolValue::Bytes(vec![50, 67])),
            Some(vec![50, 67])
        );
        let arr = DynSolValue::Array(vec![DynSolValue::Uint(U256::from(300), 16)]);
        assert_eq!(as_byte_list(&arr), None);
        let arr = DynSolValue::Array(vec![DynSolValue::Uint(U256::from(30), 16)]);
        assert_eq!(as_byte_list(&arr), Some(vec![30]));
    }
}
