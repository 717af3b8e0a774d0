//! Template tests: every reference form, the value/redacted split, errors, and proptests.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const MAX: usize = 1 << 16;

fn values() -> Map<String, Value> {
    let v = json!({
        "trigger": { "data": { "field": "hello", "n": 42, "ok": true, "none": null,
                               "obj": { "a": 1 }, "list": [1, "two"] } },
        "fetch_price": { "data": { "items": [ { "price": 12.5, "name": "ETH" },
                                              { "price": 3, "name": "BTC" } ] } },
        "node-2": { "data": "plain" }
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn secrets(pairs: &[(&str, &str)]) -> HashMap<SecretName, SecretValue> {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                SecretName::parse(n).unwrap(),
                SecretValue::new((*v).to_owned()).unwrap(),
            )
        })
        .collect()
}

fn run(template: &str) -> Result<Rendered, TemplateError> {
    let values = values();
    let secrets = secrets(&[("API_KEY", "sk_live_abc123"), ("OTHER", "zzz")]);
    let ctx = TemplateContext {
        values: &values,
        secrets: &secrets,
    };
    render(template, &ctx, MAX)
}

fn ok(template: &str) -> String {
    let r = run(template).unwrap();
    assert_eq!(r.value.as_str(), r.redacted, "no secrets, so both agree");
    r.redacted
}

#[test]
fn plain_text_passes_through() {
    for t in [
        "",
        "no braces",
        "single { brace } and }} close",
        "{ {x} }",
        "ünï {",
    ] {
        assert_eq!(ok(t), t);
    }
}

#[test]
fn each_reference_form() {
    assert_eq!(ok("{{trigger.data.field}}"), "hello");
    assert_eq!(ok("{{ trigger.data.field }}"), "hello");
    assert_eq!(ok("{{\ttrigger.data.field  }}"), "hello");
    assert_eq!(ok("p={{fetch_price.data.items[0].price}}"), "p=12.5");
    assert_eq!(ok("{{fetch_price.data.items.1.name}}"), "BTC");
    assert_eq!(ok("{{node-2.data}}"), "plain");
    assert_eq!(
        ok("{{trigger.data.list[1]}}/{{trigger.data.list.0}}"),
        "two/1"
    );
}

#[test]
fn non_strings_render_as_json() {
    assert_eq!(ok("{{trigger.data.n}}"), "42");
    assert_eq!(ok("{{trigger.data.ok}}"), "true");
    assert_eq!(ok("{{trigger.data.none}}"), "null");
    assert_eq!(ok("{{trigger.data.obj}}"), r#"{"a":1}"#);
    assert_eq!(ok("{{trigger.data.list}}"), r#"[1,"two"]"#);
    // Compared as JSON: key order depends on serde_json's `preserve_order`, which the
    // workspace build turns on through the node.
    let rendered: serde_json::Value =
        serde_json::from_str(&ok("{{fetch_price.data.items[1]}}")).unwrap();
    assert_eq!(rendered, serde_json::json!({ "name": "BTC", "price": 3 }));
}

#[test]
fn secrets_go_to_value_only() {
    let r =
        run("https://api.x/?key={{secrets.API_KEY}}&k2={{ secrets.API_KEY }}&o={{secrets.OTHER}}")
            .unwrap();
    assert_eq!(
        r.value.as_str(),
        "https://api.x/?key=sk_live_abc123&k2=sk_live_abc123&o=zzz"
    );
    assert_eq!(r.redacted, "https://api.x/?key=***&k2=***&o=***");
    let names: Vec<&str> = r.used_secrets.iter().map(SecretName::as_str).collect();
    assert_eq!(names, ["API_KEY", "OTHER"]);
    let shown = format!("{r:?}");
    assert!(!shown.contains("sk_live"), "{shown}");
}

#[test]
fn secret_typed_literally_or_echoed_by_data_is_redacted() {
    let mut values = values();
    values.insert(
        "echo".into(),
        json!({ "data": "upstream said sk_live_abc123" }),
    );
    let secrets = secrets(&[("API_KEY", "sk_live_abc123")]);
    let ctx = TemplateContext {
        values: &values,
        secrets: &secrets,
    };
    let r = render(
        "{{secrets.API_KEY}} sk_live_abc123 {{echo.data}}",
        &ctx,
        MAX,
    )
    .unwrap();
    assert_eq!(r.redacted, "*** *** upstream said ***");
}

#[test]
fn unknown_references_name_the_reference() {
    let e = run("{{fetch_price.data.x}}").unwrap_err();
    assert_eq!(e.to_string(), "node 'fetch_price' has no field 'data.x'");
    let e = run("{{fetch_price.data.items[7].price}}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "node 'fetch_price' has no field 'data.items[7]'"
    );
    let e = run("{{trigger.data.field.deeper}}").unwrap_err();
    assert!(
        matches!(e, TemplateError::MissingField { ref path, .. } if path == "data.field.deeper")
    );
    let e = run("{{trigger.data.obj[0]}}").unwrap_err();
    assert!(matches!(e, TemplateError::MissingField { .. }));
    let e = run("{{nope.data}}").unwrap_err();
    assert_eq!(
        e,
        TemplateError::UnknownNode {
            node: "nope".into()
        }
    );
}

#[test]
fn unknown_secret_names_it_without_values() {
    let e = run("{{secrets.MISSING}}").unwrap_err();
    assert_eq!(e.to_string(), "unknown secret 'MISSING'");
    for bad in [
        "{{secrets}}",
        "{{secrets.A.B}}",
        "{{secrets[0]}}",
        "{{secrets.a-b}}",
    ] {
        assert!(
            matches!(run(bad), Err(TemplateError::BadPath { .. })),
            "{bad}"
        );
    }
}

#[test]
fn syntax_errors() {
    assert_eq!(
        run("a {{trigger.data").unwrap_err(),
        TemplateError::Unterminated { offset: 2 }
    );
    assert_eq!(
        run("{{").unwrap_err(),
        TemplateError::Unterminated { offset: 0 }
    );
    assert_eq!(
        run("x{{}}").unwrap_err(),
        TemplateError::EmptyReference { offset: 1 }
    );
    assert_eq!(
        run("{{   }}").unwrap_err(),
        TemplateError::EmptyReference { offset: 0 }
    );
    for bad in [
        "{{trigger..data}}",
        "{{trigger.}}",
        "{{.trigger}}",
        "{{trigger.data[}}",
        "{{trigger.data[x]}}",
        "{{trigger.data[1}}",
        "{{trigger data}}",
        "{{trigger.data.list[99999999999999999999999]}}",
        "{{{trigger.data.field}}}",
        "{{a {{b}}",
    ] {
        assert!(
            matches!(run(bad), Err(TemplateError::BadPath { .. })),
            "{bad}: {:?}",
            run(bad)
        );
    }
}

#[test]
fn max_len_bounds_the_sent_value() {
    let values = values();
    let secrets = secrets(&[("API_KEY", "sk_live_abc123")]);
    let ctx = TemplateContext {
        values: &values,
        secrets: &secrets,
    };
    assert_eq!(render("hello", &ctx, 5).unwrap().value.as_str(), "hello");
    assert_eq!(
        render("hello!", &ctx, 5).unwrap_err(),
        TemplateError::OutputTooLong { max_len: 5 }
    );
    // 14-byte secret into a 13-byte budget: refused though the redacted form is short.
    assert!(render("{{secrets.API_KEY}}", &ctx, 13).is_err());
    assert!(render("{{secrets.API_KEY}}", &ctx, 14).is_ok());
    assert!(render("{{trigger.data.field}}", &ctx, 4).is_err());
    assert!(render("", &ctx, 0).is_ok());
}

#[test]
fn render_json_renders_string_leaves() {
    let values = values();
    let secrets = secrets(&[("API_KEY", "sk_live_abc123")]);
    let ctx = TemplateContext {
        values: &values,
        secrets: &secrets,
    };
    let body = json!({
        "query": "query($p: Float) { x }",
        "variables": { "p": "{{fetch_price.data.items[0].price}}", "auth": "Bearer {{secrets.API_KEY}}" },
        "list": ["{{trigger.data.field}}", 7, null, true],
        "{{not_rendered}}": "keys are literal"
    });
    let r = render_json(&body, &ctx, MAX).unwrap();
    assert_eq!(r.value["variables"]["p"], json!("12.5"));
    assert_eq!(r.value["variables"]["auth"], json!("Bearer sk_live_abc123"));
    assert_eq!(r.redacted["variables"]["auth"], json!("Bearer ***"));
    assert_eq!(r.value["list"], json!(["hello", 7, null, true]));
    assert_eq!(r.redacted["{{not_rendered}}"], json!("keys are literal"));
    assert!(!r.redacted.to_string().contains("sk_live"));
    assert!(!format!("{r:?}").contains("sk_live"));
    assert_eq!(r.used_secrets, vec![SecretName::parse("API_KEY").unwrap()]);
    // The budget is shared by all leaves.
    let two = json!(["{{secrets.API_KEY}}", "{{secrets.API_KEY}}"]);
    assert!(render_json(&two, &ctx, 28).is_ok());
    assert!(render_json(&two, &ctx, 27).is_err());
    assert!(matches!(
        render_json(&json!({"a": ["{{nope.x}}"]}), &ctx, MAX),
        Err(TemplateError::UnknownNode { .. })
    ));
}

#[test]
fn no_secrets_lookup() {
    let values = values();
    let ctx = TemplateContext {
        values: &values,
        secrets: &NoSecrets,
    };
    assert!(matches!(
        render("{{secrets.API_KEY}}", &ctx, MAX),
        Err(TemplateError::UnknownSecret { .. })
    ));
}

/// A template piece for the structured proptest.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ./:?=&{}-]{0,8}",
        Just("{{secrets.S}}".to_owned()),
        Just("{{ secrets.S }}".to_owned()),
        Just("{{secrets.T}}".to_owned()),
        Just("{{trigger.data.echo}}".to_owned()),
        Just("{{trigger.data.list[0]}}".to_owned()),
        Just("SECRET_LITERAL".to_owned()),
    ]
}

proptest! {
    #[test]
    fn redacted_never_contains_a_secret(
        secret in "[A-Za-z0-9_!@#%^&()+=-]{4,24}",
        other in "[A-Za-z0-9]{4,8}",
        pieces in proptest::collection::vec(piece(), 0..8),
    ) {
        let template: String = pieces.concat().replace("SECRET_LITERAL", &secret);
        let mut values = Map::new();
        values.insert("trigger".into(), json!({ "data": {
            "echo": format!("echo {secret} end"),
            "list": [secret.clone()],
        }}));
        let secrets = secrets(&[("S", &secret), ("T", &other)]);
        let ctx = TemplateContext { values: &values, secrets: &secrets };
        match render(&template, &ctx, MAX) {
            Ok(r) => {
                // Only secrets the template uses are known to the renderer; the execution's own
                // Redactor covers the rest.
                let used = |n: &str| r.used_secrets.iter().any(|u| u.as_str() == n);
                if used("S") {
                    prop_assert!(!r.redacted.contains(&secret), "{:?} leaks {:?}", r.redacted, secret);
                    prop_assert!(r.value.contains(&secret));
                }
                if used("T") {
                    prop_assert!(!r.redacted.contains(&other));
                }
                prop_assert!(!used("S") || template.contains("secrets.S"));
            }
            Err(e) => {
                // A secret is never looked up into an error. A template that types the value
                // itself may see its own text echoed (`{{a#^#{{secrets.S}}` is a bad path); in
                // an execution the runner's redactor of every secret covers that.
                let shown = format!("{e} {e:?}");
                prop_assert!(template.contains(&secret) || !shown.contains(&secret));
            }
        }
        let json_template = json!({ "a": template, "b": [template] });
        if let Ok(r) = render_json(&json_template, &ctx, MAX) {
            if r.used_secrets.iter().any(|u| u.as_str() == "S") {
                prop_assert!(!r.redacted.to_string().contains(&secret));
            }
        }
    }

    #[test]
    fn never_panics_on_arbitrary_input(template in any::<String>(), max_len in 0usize..256) {
        let values = values();
        let secrets = secrets(&[("API_KEY", "sk_live_abc123")]);
        let ctx = TemplateContext { values: &values, secrets: &secrets };
        let _ = render(&template, &ctx, max_len);
        let _ = render_json(&json!([template]), &ctx, max_len);
    }

    #[test]
    fn never_panics_on_brace_heavy_input(template in "[{}a-z0-9_.\\[\\] -]{0,40}") {
        let values = values();
        let secrets = secrets(&[("API_KEY", "sk_live_abc123")]);
        let ctx = TemplateContext { values: &values, secrets: &secrets };
        if let Ok(r) = render(&template, &ctx, MAX) {
            prop_assert!(!r.redacted.contains("sk_live_abc123"));
        }
    }

    #[test]
    fn text_without_braces_is_unchanged(template in "[^{]*") {
        let r = run(&template).unwrap();
        prop_assert_eq!(r.value.as_str(), template.as_str());
        prop_assert_eq!(r.redacted, template);
    }
}
