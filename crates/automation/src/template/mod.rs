//! `{{ … }}` substitution in workflow step inputs.
//!
//! Step inputs (URLs, headers, bodies, GraphQL variables, code inputs) may reference:
//! - `{{secrets.NAME}}`: a workflow secret ([`SecretLookup`]);
//! - `{{trigger.data.field}}`, `{{node_name.data.items[0].price}}`: a field of the trigger's or
//!   an earlier node's output, from [`TemplateContext::values`]. `.0` indexes arrays like `[0]`.
//!
//! Spaces just inside the braces are allowed (`{{ trigger.data.x }}`). Path segments are
//! `[A-Za-z0-9_-]+`; keys with other characters cannot be referenced. There is no escape for a
//! literal `{{`: one without a matching `}}` is an error rather than silently sent as-is, since a
//! typo'd reference would otherwise reach the remote service verbatim. `secrets` is a reserved
//! top-level name.
//!
//! Rendering yields two strings: [`Rendered::value`] with secrets substituted, to send, and
//! [`Rendered::redacted`] with `***` in their place, to store and log. The redacted text is also
//! passed through a [`Redactor`] of the used secrets, so a secret that reaches it another way (an
//! upstream node echoing it, or typed literally into the template) is caught too.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::secrets::{Redactor, SecretName, SecretValue, REDACTION};

pub use json::{render_json, RenderedJson};
use path::{display_path, parse_path, Segment};

mod json;
mod path;

/// Top-level name under which secrets are referenced.
const SECRETS_ROOT: &str = "secrets";
/// How much of a malformed reference an error repeats; errors are shown to users and logged.
const ERROR_ECHO_LEN: usize = 64;

/// Where `{{secrets.NAME}}` references are resolved.
pub trait SecretLookup {
    /// The secret called `name`, if the workflow may use one by that name.
    fn secret(&self, name: &SecretName) -> Option<&SecretValue>;
}

impl SecretLookup for HashMap<SecretName, SecretValue> {
    fn secret(&self, name: &SecretName) -> Option<&SecretValue> {
        self.get(name)
    }
}

impl SecretLookup for BTreeMap<SecretName, SecretValue> {
    fn secret(&self, name: &SecretName) -> Option<&SecretValue> {
        self.get(name)
    }
}

/// A [`SecretLookup`] with no secrets, for steps rendered without access to any.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

impl SecretLookup for NoSecrets {
    fn secret(&self, _name: &SecretName) -> Option<&SecretValue> {
        None
    }
}

/// What references resolve against.
#[derive(Clone, Copy)]
pub struct TemplateContext<'a> {
    /// Top-level names (`trigger`, each earlier node's name) to their JSON output.
    pub values: &'a Map<String, Value>,
    /// The secrets this execution may use.
    pub secrets: &'a dyn SecretLookup,
}

/// A rendered string.
pub struct Rendered {
    /// The text with secrets substituted: send it, never store or log it. Zeroized on drop.
    pub value: Zeroizing<String>,
    /// The text with `***` for every secret: safe to store in the execution record and to log.
    pub redacted: String,
    /// Names of the secrets used, each once, in order of first use.
    pub used_secrets: Vec<SecretName>,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("value", &"<redacted>")
            .field("redacted", &self.redacted)
            .field("used_secrets", &self.used_secrets)
            .finish()
    }
}

/// Why a template could not be rendered. Never contains a secret value.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// A `{{` with no `}}` after it.
    #[error("unterminated '{{{{' at byte {offset}")]
    Unterminated {
        /// Byte offset of the `{{` in the template.
        offset: usize,
    },
    /// `{{}}` or `{{   }}`.
    #[error("empty reference '{{{{}}}}' at byte {offset}")]
    EmptyReference {
        /// Byte offset of the `{{` in the template.
        offset: usize,
    },
    /// A reference that is not a valid path.
    #[error("invalid reference '{reference}' at byte {offset}: {reason}")]
    BadPath {
        /// The reference text (cut to 64 chars).
        reference: String,
        /// Byte offset of the `{{` in the template.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The first segment names neither the trigger nor an earlier node.
    #[error("unknown reference: no trigger or node named '{node}'")]
    UnknownNode {
        /// The unknown name.
        node: String,
    },
    /// The node exists but the path does not lead to a value.
    #[error("node '{node}' has no field '{path}'")]
    MissingField {
        /// The node (or `trigger`).
        node: String,
        /// The path up to and including the first missing segment, e.g. `data.items[3]`.
        path: String,
    },
    /// `{{secrets.NAME}}` where the workflow has no secret `NAME`.
    #[error("unknown secret '{name}'")]
    UnknownSecret {
        /// The secret's name (never its value).
        name: SecretName,
    },
    /// The rendered output would exceed the caller's limit.
    #[error("rendered output exceeds the maximum of {max_len} bytes")]
    OutputTooLong {
        /// The limit passed to [`render`] / [`render_json`].
        max_len: usize,
    },
}

/// The root names (`trigger`, `secrets`, a step's name) of every `{{…}}` reference in
/// `template`, checking the syntax without resolving anything: workflow validation uses it to
/// refuse references to steps that do not exist before anything is stored.
pub fn reference_roots(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut roots = Vec::new();
    for raw in split(template)? {
        let Raw::Reference { inner, offset } = raw else {
            continue;
        };
        let reference = inner.trim();
        if reference.is_empty() {
            return Err(TemplateError::EmptyReference { offset });
        }
        let (root, _) = parse_path(reference).map_err(|reason| TemplateError::BadPath {
            reference: reference.chars().take(ERROR_ECHO_LEN).collect(),
            offset,
            reason,
        })?;
        roots.push(root.to_owned());
    }
    Ok(roots)
}

/// A piece of a template before anything is resolved.
enum Raw<'t> {
    /// Literal text.
    Text(&'t str),
    /// The inside of a `{{…}}` that starts at byte `offset`.
    Reference {
        /// Between the braces, untrimmed.
        inner: &'t str,
        /// Where its `{{` is.
        offset: usize,
    },
}

/// Splits `template` at its `{{…}}` references; a `{{` without `}}` is an error.
fn split(template: &str) -> Result<Vec<Raw<'_>>, TemplateError> {
    let mut raws = Vec::new();
    let mut pos = 0;
    while let Some(found) = template.get(pos..).and_then(|rest| rest.find("{{")) {
        let open = pos + found;
        if open > pos {
            raws.push(Raw::Text(template.get(pos..open).unwrap_or_default()));
        }
        let inner_start = open + 2;
        let close = template
            .get(inner_start..)
            .and_then(|rest| rest.find("}}"))
            .map(|i| inner_start + i)
            .ok_or(TemplateError::Unterminated { offset: open })?;
        let inner = template.get(inner_start..close).unwrap_or_default();
        raws.push(Raw::Reference {
            inner,
            offset: open,
        });
        pos = close + 2;
    }
    let rest = template.get(pos..).unwrap_or_default();
    if !rest.is_empty() {
        raws.push(Raw::Text(rest));
    }
    Ok(raws)
}

/// Renders one template string.
///
/// `max_len` bounds the byte length of [`Rendered::value`] (the text sent); it is checked before
/// the output is assembled, so a template cannot make us allocate more than that for it.
pub fn render(
    template: &str,
    ctx: &TemplateContext<'_>,
    max_len: usize,
) -> Result<Rendered, TemplateError> {
    let mut renderer = Renderer::new(ctx, max_len);
    let (value, redacted) = renderer.render_str(template)?;
    let redactor = Redactor::new(renderer.used_values.iter().copied());
    let redacted = if redactor.is_empty() {
        redacted
    } else {
        redactor.redact(&redacted)
    };
    Ok(Rendered {
        value,
        redacted,
        used_secrets: renderer.used,
    })
}

/// One piece of the output, collected before assembly so the secret-bearing buffer is allocated
/// once at its final size (a growing buffer leaves unzeroized copies behind when it reallocates).
enum Piece<'t, 'a> {
    Text(&'t str),
    Data(Cow<'a, str>),
    Secret(&'a SecretValue),
}

/// Rendering state shared by all strings of one [`render`] / [`render_json`] call.
struct Renderer<'c, 'a> {
    ctx: &'c TemplateContext<'a>,
    max_len: usize,
    total: usize,
    used: Vec<SecretName>,
    used_values: Vec<&'a SecretValue>,
}

impl<'c, 'a> Renderer<'c, 'a> {
    fn new(ctx: &'c TemplateContext<'a>, max_len: usize) -> Self {
        Self {
            ctx,
            max_len,
            total: 0,
            used: Vec::new(),
            used_values: Vec::new(),
        }
    }

    fn render_value(&mut self, template: &Value) -> Result<(Value, Value), TemplateError> {
        Ok(match template {
            Value::String(s) => {
                let (mut value, redacted) = self.render_str(s)?;
                (
                    Value::String(std::mem::take(&mut *value)),
                    Value::String(redacted),
                )
            }
            Value::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                let mut redacted = Vec::with_capacity(items.len());
                for item in items {
                    let (v, r) = self.render_value(item)?;
                    values.push(v);
                    redacted.push(r);
                }
                (Value::Array(values), Value::Array(redacted))
            }
            Value::Object(map) => {
                let mut values = Map::new();
                let mut redacted = Map::new();
                for (k, item) in map {
                    let (v, r) = self.render_value(item)?;
                    values.insert(k.clone(), v);
                    redacted.insert(k.clone(), r);
                }
                (Value::Object(values), Value::Object(redacted))
            }
            other => (other.clone(), other.clone()),
        })
    }

    /// Renders one string into (value, redacted-before-the-final-redactor-pass).
    fn render_str(&mut self, template: &str) -> Result<(Zeroizing<String>, String), TemplateError> {
        let pieces = self.parse(template)?;
        let len: usize = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.len(),
                Piece::Data(d) => d.len(),
                Piece::Secret(s) => s.len(),
            })
            .sum();
        let mut value = Zeroizing::new(String::with_capacity(len));
        let mut redacted = String::with_capacity(len);
        for piece in &pieces {
            match piece {
                Piece::Text(t) => {
                    value.push_str(t);
                    redacted.push_str(t);
                }
                Piece::Data(d) => {
                    value.push_str(d);
                    redacted.push_str(d);
                }
                Piece::Secret(s) => {
                    value.push_str(s.expose());
                    redacted.push_str(REDACTION);
                }
            }
        }
        Ok((value, redacted))
    }

    /// Splits a template into pieces, resolving references and enforcing the length budget.
    fn parse<'t>(&mut self, template: &'t str) -> Result<Vec<Piece<'t, 'a>>, TemplateError> {
        let mut pieces = Vec::new();
        for raw in split(template)? {
            let piece = match raw {
                Raw::Text(text) => Piece::Text(text),
                Raw::Reference { inner, offset } => self.resolve(inner, offset)?,
            };
            self.charge(match &piece {
                Piece::Text(t) => t.len(),
                Piece::Data(d) => d.len(),
                Piece::Secret(s) => s.len(),
            })?;
            pieces.push(piece);
        }
        Ok(pieces)
    }

    /// Counts `len` output bytes against the budget.
    fn charge(&mut self, len: usize) -> Result<(), TemplateError> {
        self.total = self
            .total
            .checked_add(len)
            .filter(|total| *total <= self.max_len)
            .ok_or(TemplateError::OutputTooLong {
                max_len: self.max_len,
            })?;
        Ok(())
    }

    /// Resolves the text between `{{` and `}}`.
    fn resolve(&mut self, inner: &str, offset: usize) -> Result<Piece<'static, 'a>, TemplateError> {
        let reference = inner.trim();
        if reference.is_empty() {
            return Err(TemplateError::EmptyReference { offset });
        }
        let bad = |reason| TemplateError::BadPath {
            reference: reference.chars().take(ERROR_ECHO_LEN).collect(),
            offset,
            reason,
        };
        let (root, segments) = parse_path(reference).map_err(bad)?;
        if root == SECRETS_ROOT {
            let name = match segments.as_slice() {
                [Segment::Key(name)] => {
                    SecretName::parse(name).map_err(|_| bad("invalid secret name"))?
                }
                _ => return Err(bad("a secret reference is exactly 'secrets.NAME'")),
            };
            let ctx = self.ctx;
            let secret = ctx
                .secrets
                .secret(&name)
                .ok_or_else(|| TemplateError::UnknownSecret { name: name.clone() })?;
            if !self.used.contains(&name) {
                self.used.push(name);
                self.used_values.push(secret);
            }
            return Ok(Piece::Secret(secret));
        }
        let values = self.ctx.values;
        let mut current = values.get(root).ok_or_else(|| TemplateError::UnknownNode {
            node: root.to_owned(),
        })?;
        for (i, segment) in segments.iter().enumerate() {
            let next = match (segment, current) {
                (Segment::Key(key), Value::Object(map)) => map.get(*key),
                (Segment::Key(key), Value::Array(items)) => {
                    key.parse::<usize>().ok().and_then(|i| items.get(i))
                }
                (Segment::Index(i), Value::Array(items)) => items.get(*i),
                _ => None,
            };
            current = next.ok_or_else(|| TemplateError::MissingField {
                node: root.to_owned(),
                path: display_path(segments.get(..=i).unwrap_or_default()),
            })?;
        }
        Ok(Piece::Data(match current {
            Value::String(s) => Cow::Borrowed(s.as_str()),
            other => Cow::Owned(other.to_string()),
        }))
    }
}

#[cfg(test)]
mod tests;
