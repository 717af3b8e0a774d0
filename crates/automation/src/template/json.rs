//! Rendering JSON documents (bodies, GraphQL variables) leaf by leaf.

use std::fmt;

use serde_json::Value;
use zeroize::Zeroize;

use super::{Renderer, TemplateContext, TemplateError};
use crate::secrets::{Redactor, SecretName};

/// A rendered JSON document: every string leaf rendered, keys and other leaves unchanged.
pub struct RenderedJson {
    /// The document with secrets substituted: send it, never store or log it. Its strings are
    /// zeroized on drop.
    pub value: Value,
    /// The document with `***` for every secret: safe to store and log.
    pub redacted: Value,
    /// Names of the secrets used, each once, in order of first use.
    pub used_secrets: Vec<SecretName>,
}

impl Drop for RenderedJson {
    fn drop(&mut self) {
        wipe_strings(&mut self.value);
    }
}

impl fmt::Debug for RenderedJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedJson")
            .field("value", &"<redacted>")
            .field("redacted", &self.redacted)
            .field("used_secrets", &self.used_secrets)
            .finish()
    }
}

/// Renders every string leaf of a JSON document (object keys are left as written).
///
/// `max_len` bounds the total byte length of all rendered string leaves.
pub fn render_json(
    template: &Value,
    ctx: &TemplateContext<'_>,
    max_len: usize,
) -> Result<RenderedJson, TemplateError> {
    let mut renderer = Renderer::new(ctx, max_len);
    let (value, mut redacted) = renderer.render_value(template)?;
    let redactor = Redactor::new(renderer.used_values.iter().copied());
    if !redactor.is_empty() {
        redact_strings(&mut redacted, &redactor);
    }
    Ok(RenderedJson {
        value,
        redacted,
        used_secrets: renderer.used,
    })
}

/// Zeroizes every string leaf of a document that held secrets.
fn wipe_strings(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe_strings),
        Value::Object(map) => map.values_mut().for_each(wipe_strings),
        _ => {}
    }
}

/// Applies the final redactor pass to every string leaf.
fn redact_strings(value: &mut Value, redactor: &Redactor) {
    match value {
        Value::String(s) => *s = redactor.redact(s),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_strings(v, redactor)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_strings(v, redactor)),
        _ => {}
    }
}
