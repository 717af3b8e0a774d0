//! Solidity signatures with named tuple components, as a configuration writes them:
//! `NewTaskCreated(uint32 indexed taskIndex, (uint32 block, bytes quorums) task)`.
//!
//! alloy's human-readable parser takes tuple components without names only, and names are
//! what configured paths (`task.quorums`) refer to; so this small parser builds the JSON-ABI
//! items itself. Types are checked by resolving them afterwards.

use alloy::json_abi::{Error as AbiError, Event, EventParam, Function, Param, StateMutability};

/// A cursor over a signature.
struct Parser<'a> {
    /// The signature.
    text: &'a str,
    /// Byte offset of the next character.
    pos: usize,
}

/// One parsed parameter.
struct Parsed {
    /// The parameter.
    param: Param,
    /// Whether it was marked `indexed`.
    indexed: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at offset {} of `{}`", self.pos, self.text)
    }

    fn skip_space(&mut self) {
        while let Some(c) = self.text[self.pos..]
            .chars()
            .next()
            .filter(|c| c.is_whitespace())
        {
            self.pos += c.len_utf8();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.text[self.pos..].starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}`")))
        }
    }

    /// An identifier (`[A-Za-z0-9_$]+`), possibly empty.
    fn word(&mut self) -> &'a str {
        self.skip_space();
        let start = self.pos;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(rest.len());
        self.pos += len;
        &self.text[start..start + len]
    }

    /// Array suffixes (`[]`, `[2]`…) after a type.
    fn array_suffix(&mut self) -> Result<String, String> {
        let mut out = String::new();
        while self.eat('[') {
            let size = self.word();
            if !size.chars().all(|c| c.is_ascii_digit()) {
                return Err(self.err("expected an array size"));
            }
            self.expect(']')?;
            out.push('[');
            out.push_str(size);
            out.push(']');
        }
        Ok(out)
    }

    /// `( param, … )`.
    fn params(&mut self) -> Result<Vec<Parsed>, String> {
        self.expect('(')?;
        let mut out = Vec::new();
        if self.eat(')') {
            return Ok(out);
        }
        loop {
            out.push(self.param()?);
            if self.eat(')') {
                return Ok(out);
            }
            self.expect(',')?;
        }
    }

    /// `type [indexed] [name]`.
    fn param(&mut self) -> Result<Parsed, String> {
        self.skip_space();
        let (ty, components) = if self.text[self.pos..].starts_with('(') {
            let components = self.params()?.into_iter().map(|p| p.param).collect();
            (format!("tuple{}", self.array_suffix()?), components)
        } else {
            let base = self.word();
            if base.is_empty() {
                return Err(self.err("expected a type"));
            }
            let base = match base {
                "uint" => "uint256",
                "int" => "int256",
                other => other,
            };
            (format!("{base}{}", self.array_suffix()?), Vec::new())
        };
        let mut name = self.word();
        for modifier in ["memory", "calldata", "storage"] {
            if name == modifier {
                name = self.word();
            }
        }
        let indexed = name == "indexed";
        if indexed {
            name = self.word();
        }
        Ok(Parsed {
            param: Param {
                ty,
                name: name.to_owned(),
                components,
                internal_type: None,
            },
            indexed,
        })
    }

    /// `name(params)`.
    fn item(&mut self, keyword: &str) -> Result<(String, Vec<Parsed>), String> {
        let mut name = self.word();
        if name == keyword {
            name = self.word();
        }
        if name.is_empty() {
            return Err(self.err("expected a name"));
        }
        Ok((name.to_owned(), self.params()?))
    }

    fn end(&mut self) -> Result<(), String> {
        self.skip_space();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(self.err("unexpected text"))
        }
    }
}

/// `[event] Name(type [indexed] name, …)`.
pub(crate) fn parse_event(text: &str) -> Result<Event, String> {
    let mut p = Parser::new(text.trim());
    let (name, params) = p.item("event")?;
    p.end()?;
    let inputs = params
        .into_iter()
        .map(|x| EventParam {
            ty: x.param.ty,
            name: x.param.name,
            indexed: x.indexed,
            components: x.param.components,
            internal_type: None,
        })
        .collect();
    Ok(Event {
        name,
        inputs,
        anonymous: false,
    })
}

/// `[function] name(params) [external|view|…] [returns (params)]`.
pub(crate) fn parse_function(text: &str) -> Result<Function, String> {
    let mut p = Parser::new(text.trim());
    let (name, params) = p.item("function")?;
    let mut outputs = Vec::new();
    loop {
        let word = p.word();
        match word {
            "" => break,
            "returns" => outputs = p.params()?.into_iter().map(|x| x.param).collect(),
            "external" | "public" | "view" | "pure" | "payable" | "nonpayable" => {}
            _ => return Err(p.err(&format!("unexpected `{word}`"))),
        }
    }
    p.end()?;
    Ok(Function {
        name,
        inputs: params.into_iter().map(|x| x.param).collect(),
        outputs,
        state_mutability: StateMutability::NonPayable,
    })
}

/// `[error] Name(params)`.
pub(crate) fn parse_error(text: &str) -> Result<AbiError, String> {
    let mut p = Parser::new(text.trim());
    let (name, params) = p.item("error")?;
    p.end()?;
    Ok(AbiError {
        name,
        inputs: params.into_iter().map(|x| x.param).collect(),
    })
}

/// `type name`, e.g. a response type `(uint32 taskIndex, bytes result) response`.
pub(crate) fn parse_param(text: &str) -> Result<Param, String> {
    let mut p = Parser::new(text.trim());
    let parsed = p.param()?;
    p.end()?;
    Ok(parsed.param)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::{SolCall, SolEvent};

    alloy::sol! {
        struct Inner { uint32 block; bytes quorums; }
        event Created(uint32 indexed id, Inner task, uint256[2][] extra);
        function respond(Inner calldata task, (uint8, bool)[] memory flags) external returns (bytes32);
    }

    #[test]
    fn selectors_match_solidity_and_names_are_kept() {
        let e = parse_event(
            "event Created(uint32 indexed id, (uint32 block, bytes quorums) task, uint256[2][] extra)",
        )
        .unwrap();
        assert_eq!(e.selector(), Created::SIGNATURE_HASH);
        assert!(e.inputs[0].indexed);
        assert_eq!(e.inputs[1].components[1].name, "quorums");
        let f = parse_function(
            "function respond((uint32 block, bytes quorums) calldata task, (uint8, bool)[] memory flags) external returns (bytes32)",
        )
        .unwrap();
        assert_eq!(f.selector(), respondCall::SELECTOR);
        assert_eq!(f.outputs.len(), 1);
        assert_eq!(
            parse_param("(uint a, bytes b) r").unwrap().components[0].ty,
            "uint256"
        );
    }

    #[test]
    fn malformed_signatures_say_where() {
        assert!(parse_event("Created(uint32 indexed")
            .unwrap_err()
            .contains("offset"));
        assert!(parse_function("f(uint32) junk")
            .unwrap_err()
            .contains("junk"));
        assert!(parse_error("(").is_err());
        assert!(parse_param("uint32[x] a").is_err());
    }
}
