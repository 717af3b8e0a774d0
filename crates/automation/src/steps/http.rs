//! REST and GraphQL steps: render, send through the HTTP port with the step timeout, decode.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::{StepContext, StepError, StepFailure, StepOutput};
use crate::model::{GraphqlNode, RestApiNode};
use crate::ports::{HttpRequest, HttpResponse};
use crate::runner::cap;

/// How much of an error response's body an error message keeps.
const ERROR_BODY_PREVIEW: usize = 512;

/// An HTTP request: rendered URL, headers and body. Output: `{ status, headers, body }`, the
/// body parsed as JSON when it is JSON, else as text. A status of 400 or more fails the step.
pub(super) async fn rest(
    node: &RestApiNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let url = context.render(&node.url)?;
    let headers = render_headers(&node.headers, context)?;
    let body = node
        .body
        .as_deref()
        .map(|b| context.render(b))
        .transpose()?;
    let inputs = json!({
        "method": node.method.to_ascii_uppercase(),
        "url": url.redacted,
        "headers": headers.iter().map(|(k, v)| (k.clone(), Value::String(v.1.clone()))).collect::<Map<_, _>>(),
        "body": body.as_ref().map(|b| b.redacted.clone()),
    });
    let request = HttpRequest {
        method: node.method.to_ascii_uppercase(),
        url: parse_url(&url.value).map_err(|error| StepFailure::new(inputs.clone(), error))?,
        headers: headers
            .into_iter()
            .map(|(k, (value, _))| (k, value))
            .collect(),
        body: body.map(|b| b.value.as_bytes().to_vec()),
    };
    let response = send(request, context)
        .await
        .map_err(|error| StepFailure::new(inputs.clone(), error))?;
    if response.status >= 400 {
        let error = StepError::Status {
            status: response.status,
            body: body_preview(&response.body),
        };
        return Err(StepFailure::new(inputs, error));
    }
    let headers: Map<String, Value> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let data = json!({ "status": response.status, "headers": headers, "body": decode_body(&response.body) });
    Ok(StepOutput {
        inputs,
        data,
        log: String::new(),
        chosen_condition: None,
    })
}

/// A GraphQL query POSTed as JSON; the output is the response's `data`. A response with a
/// non-empty `errors` array fails the step.
pub(super) async fn graphql(
    node: &GraphqlNode,
    context: &StepContext<'_>,
) -> Result<StepOutput, StepFailure> {
    let url = context.render(&node.url)?;
    let headers = render_headers(&node.headers, context)?;
    let query = context.render(&node.query)?;
    let variables = crate::template::render_json(
        &Value::Object(node.variables.clone()),
        &crate::template::TemplateContext {
            values: context.values,
            secrets: context.secrets,
        },
        context.limits.max_rendered_bytes,
    )?;
    let inputs = json!({
        "url": url.redacted,
        "headers": headers.iter().map(|(k, v)| (k.clone(), Value::String(v.1.clone()))).collect::<Map<_, _>>(),
        "query": query.redacted,
        "variables": variables.redacted,
    });
    let fail = |error: StepError| StepFailure::new(inputs.clone(), error);
    let body = json!({ "query": query.value.as_str(), "variables": variables.value });
    let mut header_list: Vec<(String, String)> = headers
        .into_iter()
        .map(|(k, (value, _))| (k, value))
        .collect();
    header_list.push(("content-type".into(), "application/json".into()));
    let request = HttpRequest {
        method: "POST".into(),
        url: parse_url(&url.value).map_err(fail)?,
        headers: header_list,
        body: Some(serde_json::to_vec(&body).map_err(|e| {
            fail(StepError::BadResponse {
                reason: e.to_string(),
            })
        })?),
    };
    let response = send(request, context).await.map_err(fail)?;
    let parsed: Value = serde_json::from_slice(&response.body).map_err(|_| {
        fail(StepError::BadResponse {
            reason: format!(
                "status {}, not JSON: {}",
                response.status,
                body_preview(&response.body)
            ),
        })
    })?;
    if let Some(errors) = parsed
        .get("errors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    {
        let errors = cap(
            &Value::Array(errors.clone()).to_string(),
            ERROR_BODY_PREVIEW,
        );
        return Err(fail(StepError::Graphql { errors }));
    }
    if response.status >= 400 {
        return Err(fail(StepError::Status {
            status: response.status,
            body: body_preview(&response.body),
        }));
    }
    let data = parsed.get("data").cloned().unwrap_or(Value::Null);
    Ok(StepOutput {
        inputs,
        data,
        log: String::new(),
        chosen_condition: None,
    })
}

/// Rendered headers: name → (value with secrets, value with `***`).
fn render_headers(
    headers: &BTreeMap<String, String>,
    context: &StepContext<'_>,
) -> Result<BTreeMap<String, (String, String)>, StepError> {
    headers
        .iter()
        .map(|(name, value)| {
            let rendered = context.render(value)?;
            Ok((
                name.clone(),
                (rendered.value.as_str().to_owned(), rendered.redacted),
            ))
        })
        .collect()
}

/// Parses a rendered URL; only absolute http(s) URLs are sent.
fn parse_url(text: &str) -> Result<url::Url, StepError> {
    let url = url::Url::parse(text.trim()).map_err(|e| StepError::BadUrl {
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(StepError::BadUrl {
            reason: format!("scheme '{other}' is not http(s)"),
        }),
    }
}

/// Sends with the step timeout on top of the client's own.
async fn send(request: HttpRequest, context: &StepContext<'_>) -> Result<HttpResponse, StepError> {
    let timeout = context.limits.step_timeout();
    match tokio::time::timeout(timeout, context.http.send(request)).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(StepError::Timeout {
            millis: context.limits.step_timeout_ms,
        }),
    }
}

/// JSON when the body parses as JSON, else the body as (lossy) text.
fn decode_body(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn body_preview(body: &[u8]) -> String {
    cap(&String::from_utf8_lossy(body), ERROR_BODY_PREVIEW)
}
