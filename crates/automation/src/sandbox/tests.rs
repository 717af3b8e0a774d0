#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;
use serde_json::json;
use std::time::Instant;

fn sb() -> Sandbox {
    Sandbox::new(SandboxLimits::default()).unwrap()
}

fn no_vars() -> Map<String, Value> {
    Map::new()
}

fn vars(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("vars must be an object"),
    }
}

fn run(code: &str) -> Result<CodeOutcome, SandboxError> {
    sb().run_code(code, &no_vars())
}

fn assert_works_after(s: &Sandbox) {
    let out = s.run_code("return 1 + 1;", &no_vars()).unwrap();
    assert_eq!(out.value, json!(2));
}

#[test]
fn returns_values_and_undefined_is_null() {
    assert_eq!(
        run("return {a: [1, 'x', null, true]};").unwrap().value,
        json!({"a": [1, "x", null, true]})
    );
    assert_eq!(run("let x = 1;").unwrap().value, Value::Null);
    assert_eq!(run("return [1, () => 1];").unwrap().value, json!([1, null]));
    assert!(matches!(
        run("return () => 1;"),
        Err(SandboxError::NotJson { .. })
    ));
    assert!(matches!(
        run("return Symbol('s');"),
        Err(SandboxError::NotJson { .. })
    ));
    assert!(matches!(
        run("return 10n;"),
        Err(SandboxError::NotJson { .. })
    ));
    assert!(matches!(
        run("const a = {}; a.a = a; return a;"),
        Err(SandboxError::NotJson { .. })
    ));
}

#[test]
fn infinite_loop_times_out_and_next_run_works() {
    let limits = SandboxLimits {
        timeout: Duration::from_millis(200),
        ..SandboxLimits::default()
    };
    let s = Sandbox::new(limits).unwrap();
    for code in [
        "while (true) {}",
        "for (;;) { try { while (true) {} } catch (e) {} }",
        "function f() { try { while(true){} } finally { f(); } } f();",
    ] {
        let start = Instant::now();
        let err = s.run_code(code, &no_vars()).unwrap_err();
        assert!(
            matches!(err, SandboxError::Timeout { .. }),
            "{code}: {err:?}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{code} took {:?}",
            start.elapsed()
        );
    }
    assert_works_after(&s);
}

#[test]
fn promise_job_loop_and_regex_backtracking_time_out() {
    let limits = SandboxLimits {
        timeout: Duration::from_millis(200),
        ..SandboxLimits::default()
    };
    let s = Sandbox::new(limits).unwrap();
    let start = Instant::now();
    let err = s
        .run_code("return new Promise(r => { function spin() { Promise.resolve().then(spin); } spin(); });", &no_vars())
        .unwrap_err();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err:?}");
    let err = s
        .run_code("return /^(a+)+$/.test('a'.repeat(40) + 'b');", &no_vars())
        .unwrap_err();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err:?}");
    let err = s
        .run_code(
            "return Array.prototype.indexOf.call({length: 2**40}, 1);",
            &no_vars(),
        )
        .unwrap_err();
    // Refused up front by the length guard (indexOf itself does poll).
    assert!(
        matches!(
            err,
            SandboxError::Timeout { .. } | SandboxError::Exception { .. }
        ),
        "{err:?}"
    );
    // Sorting a large array with a JS comparator is polled too.
    let err = s
        .run_code(
            "const a = Array.from({length: 200000}, (_, i) => i); \
             while (true) a.sort((x, y) => y - x);",
            &no_vars(),
        )
        .unwrap_err();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_works_after(&s);
}

#[test]
fn native_array_loops_cannot_dodge_the_timeout() {
    // These QuickJS natives loop over `length` without polling the interrupt
    // handler; without the bootstrap guard each one spins for minutes.
    let s = sb();
    for code in [
        "return new Array(2**32-1).join('').length;",
        "return String(new Array(2**32-1)).length;",
        "return Array.prototype.join.call({length: 2**40}, '').length;",
        "return Array.prototype.reverse.call({length: 2**40}).length;",
        "return Array.prototype.splice.call({length: 2**40}, 0, 1).length;",
        "return Array.prototype.copyWithin.call({length: 2**40}, 0, 1).length;",
        "return [].concat({length: 2**40, [Symbol.isConcatSpreadable]: true}).length;",
        "return new Array(2**32-1).sort().length;",
        "let n = 0; return Array.prototype.join.call({get length() { return n++ ? 2**40 : 1; }}, '');",
        "let n = 0; return Array.prototype.join.call({length: {valueOf() { return n++ ? 2**40 : 1; }}}, '');",
        "Object.defineProperty(Object.prototype, 'value', {get() { return 1; }}); \
         let n = 0; return Array.prototype.join.call({get length() { return n++ ? 2**40 : 1; }}, '');",
        "return typeof Proxy === 'undefined' ? Array.prototype.join.call(null) : 'proxy present';",
    ] {
        let start = Instant::now();
        let err = s.run_code(code, &no_vars()).unwrap_err();
        assert!(matches!(err, SandboxError::Exception { .. } | SandboxError::Timeout { .. }), "{code}: {err:?}");
        assert!(start.elapsed() < Duration::from_secs(3), "{code} took {:?}", start.elapsed());
    }
    // Ordinary array use is unaffected.
    let out = s
        .run_code(
            "return [[3,1,2].sort(), [1,2,3].map(x => x * 2), Array.prototype.map.call('ab', c => c + c), \
             [1,[2,[3]]].flat(9), [1,2].concat([3], 4), Array.prototype.slice.call({length: 2, 0: 'a', 1: 'b'}), \
             [].push.name];",
            &no_vars(),
        )
        .unwrap();
    assert_eq!(
        out.value,
        json!([
            [1, 2, 3],
            [2, 4, 6],
            ["aa", "bb"],
            [1, 2, 3],
            [1, 2, 3, 4],
            ["a", "b"],
            "push"
        ])
    );
}

#[test]
fn memory_bomb_is_out_of_memory_and_next_run_works() {
    // Generous timeout: unoptimized QuickJS in debug builds on a loaded
    // machine needs a while to fill 16 MiB with small objects.
    let s = Sandbox::new(SandboxLimits {
        timeout: Duration::from_secs(20),
        ..SandboxLimits::default()
    })
    .unwrap();
    for code in [
        "const a = []; while (true) a.push({x: a.length, s: 'y'.repeat(100)});",
        "let s = 'x'; while (true) s = (s + s).slice(1) + 'y';",
        "return 'x'.repeat(1 << 29);",
        "return new ArrayBuffer(1 << 30);",
    ] {
        let err = s.run_code(code, &no_vars()).unwrap_err();
        assert!(
            matches!(err, SandboxError::OutOfMemory { .. }),
            "{code}: {err:?}"
        );
        assert_works_after(&s);
    }
    // QuickJS's OOM error is catchable; the script only gets to keep running
    // within the same heap cap, so that is fine (and still bounded by time).
    let out = s
        .run_code("let a = []; try { while (true) a.push([a.length]); } catch (e) { a = null; return 'caught'; }", &no_vars())
        .unwrap();
    assert_eq!(out.value, json!("caught"));
    assert_works_after(&s);
}

#[test]
fn unbounded_recursion_is_typed_error() {
    let s = sb();
    for code in [
        "function f() { return f() + 1; } return f();",
        "const o = {}; o.toString = function() { return String(this) }; return '' + o;",
        "let a = []; for (let i = 0; i < 100000; i++) a = [a]; return a;",
    ] {
        let err = s.run_code(code, &no_vars()).unwrap_err();
        assert!(
            matches!(err, SandboxError::StackOverflow { .. }),
            "{code}: {err:?}"
        );
    }
    // Deeply nested source is refused by the parser, not by a Rust crash.
    let deep = format!("return {}1{};", "(".repeat(20000), ")".repeat(20000));
    let err = s.run_code(&deep, &no_vars()).unwrap_err();
    assert!(
        matches!(
            err,
            SandboxError::StackOverflow { .. } | SandboxError::Exception { .. }
        ),
        "{err:?}"
    );
    assert_works_after(&s);
}

#[test]
fn host_capabilities_are_unavailable() {
    let s = sb();
    for name in [
        "require",
        "fetch",
        "std",
        "os",
        "process",
        "XMLHttpRequest",
        "setTimeout",
        "print",
        "scriptArgs",
    ] {
        let out = s
            .run_code(&format!("return typeof {name};"), &no_vars())
            .unwrap();
        assert_eq!(out.value, json!("undefined"), "{name}");
        let err = s
            .run_code(&format!("return {name}('x');"), &no_vars())
            .unwrap_err();
        match err {
            SandboxError::Exception { message } => {
                assert!(message.contains("ReferenceError"), "{name}: {message}")
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let err = s.run_code("return import('x');", &no_vars()).unwrap_err();
    assert!(matches!(err, SandboxError::Exception { .. }), "{err:?}");
    let err = s.run_code("import x from 'x';", &no_vars()).unwrap_err();
    assert!(matches!(err, SandboxError::Exception { .. }), "{err:?}");
    // Escaping the function body via the Function constructor source is
    // harmless: still inside the sandbox.
    let r = s.run_code("}); globalThis.pwned = 1; (function(){", &no_vars());
    assert!(r.is_err() || r.unwrap().value == Value::Null);
}

#[test]
fn vars_are_injected_and_round_trip() {
    let v = vars(json!({
        "obj": {"a": {"b": [1, 2, {"c": "d"}]}, "__proto__": {"polluted": true}},
        "arr": [1, "two", null, false, 3.5],
        "quotes": "it's \"quoted\" `tpl` ${x} \\ </script><script>alert(1)</script>",
        "uni": "héllo 🌍 \u{2028}\u{2029} 日本",
        "n": -12345678901i64,
        "$dollar": true,
        "_u": null,
    }));
    let out = sb()
        .run_code(
            "return {obj, arr, quotes, uni, n, $dollar, _u, polluted: ({}).polluted === undefined, len: uni.length};",
            &v,
        )
        .unwrap();
    assert_eq!(out.value["obj"], v["obj"]);
    assert_eq!(out.value["arr"], v["arr"]);
    assert_eq!(out.value["quotes"], v["quotes"]);
    assert_eq!(out.value["uni"], v["uni"]);
    assert_eq!(out.value["n"], v["n"]);
    assert_eq!(out.value["$dollar"], json!(true));
    assert_eq!(out.value["_u"], Value::Null);
    assert_eq!(out.value["polluted"], json!(true));
}

#[test]
fn hostile_var_names_are_refused() {
    let s = sb();
    for name in [
        "a b",
        "1a",
        "",
        "x;alert(1)",
        "__proto__",
        "constructor",
        "toString",
        "JSON",
        "Object",
        "globalThis",
        "console",
        "undefined",
        "Function",
        "eval",
        "this",
        "class",
        "arguments",
        "naïve",
        "a-b",
    ] {
        let mut m = Map::new();
        m.insert(name.to_owned(), json!(1));
        let err = s.run_code("return 1;", &m).unwrap_err();
        assert!(
            matches!(err, SandboxError::BadVariableName { .. }),
            "{name:?}: {err:?}"
        );
    }
    let mut m = Map::new();
    m.insert("value".into(), json!(1));
    let err = s.filter("true", &[json!(1)], &m).unwrap_err();
    assert!(matches!(err, SandboxError::BadVariableName { .. }));
    // ... but `value` is an ordinary name outside filters.
    assert_eq!(s.run_code("return value;", &m).unwrap().value, json!(1));
}

#[test]
fn console_is_captured_and_truncated() {
    let out = sb()
        .run_code(
            "console.log('a', 1, {b: [2]}, null, undefined); console.error('err'); console.log(() => 1, 10n); return 0;",
            &no_vars(),
        )
        .unwrap();
    assert_eq!(
        out.log,
        "a 1 {\"b\":[2]} null undefined\nerr\n[function] 10"
    );

    let limits = SandboxLimits {
        max_log_bytes: 100,
        ..SandboxLimits::default()
    };
    let out = Sandbox::new(limits)
        .unwrap()
        .run_code(
            "for (let i = 0; i < 1000; i++) console.log('line ' + i + ' 🌍'); return 1;",
            &no_vars(),
        )
        .unwrap();
    assert!(out.log.ends_with(LOG_TRUNCATED_MARKER), "{}", out.log);
    assert!(out.log.len() <= 100 + LOG_TRUNCATED_MARKER.len());
    assert!(out.log.starts_with("line 0 🌍\nline 1"));
    // Tampering with builtins does not break logging.
    let out = sb()
        .run_code(
            "JSON.stringify = () => 'hijacked'; String = null; console.log({a: 1}); return 1;",
            &no_vars(),
        )
        .unwrap();
    assert_eq!(out.log, "{\"a\":1}");
}

#[test]
fn output_and_code_size_limits() {
    let s = sb();
    let err = s
        .run_code("return 'x'.repeat(300 * 1024);", &no_vars())
        .unwrap_err();
    assert!(
        matches!(err, SandboxError::OutputTooLarge { .. }),
        "{err:?}"
    );
    let big = format!("return 1;{}", " ".repeat(64 * 1024));
    assert!(matches!(
        s.run_code(&big, &no_vars()),
        Err(SandboxError::CodeTooLarge { .. })
    ));
    assert!(matches!(
        s.eval_bool(&big, &no_vars()),
        Err(SandboxError::CodeTooLarge { .. })
    ));
    assert!(matches!(
        s.filter(&big, &[], &no_vars()),
        Err(SandboxError::CodeTooLarge { .. })
    ));
}

#[test]
fn promises_resolve_reject_and_never_settle() {
    let s = sb();
    assert_eq!(
        s.run_code(
            "return Promise.resolve(1).then(x => ({x: x + 1}));",
            &no_vars()
        )
        .unwrap()
        .value,
        json!({"x": 2})
    );
    let err = s
        .run_code("return Promise.reject(new TypeError('nope'));", &no_vars())
        .unwrap_err();
    assert!(
        matches!(&err, SandboxError::Exception { message } if message.contains("TypeError: nope")),
        "{err:?}"
    );
    let err = s
        .run_code("return new Promise(() => {});", &no_vars())
        .unwrap_err();
    assert!(matches!(err, SandboxError::UnsettledPromise));
}

#[test]
fn exceptions_carry_message() {
    let err = run("throw new Error('boom');").unwrap_err();
    assert!(
        matches!(&err, SandboxError::Exception { message } if message.starts_with("Error: boom")),
        "{err:?}"
    );
    let err = run("throw {code: 42};").unwrap_err();
    assert!(
        matches!(&err, SandboxError::Exception { message } if message.contains("42")),
        "{err:?}"
    );
    let err = run("return (;").unwrap_err();
    assert!(
        matches!(&err, SandboxError::Exception { message } if message.contains("SyntaxError")),
        "{err:?}"
    );
}

#[test]
fn eval_bool_is_strict() {
    let s = sb();
    let v = vars(json!({"amount": 10, "name": "bob"}));
    assert!(s.eval_bool("amount > 5 && name === 'bob'", &v).unwrap());
    assert!(!s.eval_bool("amount > 50 // trailing comment", &v).unwrap());
    for (expr, got) in [
        ("1", "number"),
        ("'true'", "string"),
        ("null", "null"),
        ("undefined", "undefined"),
        ("[]", "array"),
        ("({})", "object"),
        ("Promise.resolve(true)", "promise"),
    ] {
        match s.eval_bool(expr, &v) {
            Err(SandboxError::NotBoolean {
                got: g,
                index: None,
            }) => assert_eq!(g, got, "{expr}"),
            other => panic!("{expr}: {other:?}"),
        }
    }
    assert!(matches!(
        s.eval_bool("nope.x", &v),
        Err(SandboxError::Exception { .. })
    ));
}

#[test]
fn filter_binds_value_and_index() {
    let s = sb();
    let items = vec![
        json!({"n": 1}),
        json!({"n": 5}),
        json!({"n": 10}),
        json!("str"),
    ];
    let v = vars(json!({"min": 4}));
    let kept = s
        .filter(
            "typeof value === 'object' && value.n >= min && index !== 2",
            &items,
            &v,
        )
        .unwrap();
    assert_eq!(kept, vec![json!({"n": 5})]);
    assert_eq!(s.filter("true", &[], &v).unwrap(), Vec::<Value>::new());
    match s.filter("value.n", &items, &v) {
        Err(SandboxError::NotBoolean {
            got,
            index: Some(0),
        }) => assert_eq!(got, "number"),
        other => panic!("{other:?}"),
    }
    // A predicate that tampers with builtins cannot corrupt the verdict.
    let kept = s
        .filter(
            "(String.prototype.concat = null, Array.isArray = null, index % 2 === 0)",
            &items,
            &v,
        )
        .unwrap();
    assert_eq!(kept, vec![items[0].clone(), items[2].clone()]);
}

#[test]
fn no_state_leaks_between_calls() {
    let s = sb();
    s.run_code(
        "globalThis.leak = 42; Object.prototype.evil = 1; Array.prototype.push = null; return 0;",
        &no_vars(),
    )
    .unwrap();
    let out = s
        .run_code(
            "return [typeof leak, typeof ({}).evil, typeof [].push];",
            &no_vars(),
        )
        .unwrap();
    assert_eq!(out.value, json!(["undefined", "undefined", "function"]));
}

#[test]
fn limits_validate_and_deserialize() {
    assert!(SandboxLimits::default().validate().is_ok());
    let zero = SandboxLimits {
        timeout: Duration::ZERO,
        ..SandboxLimits::default()
    };
    assert!(matches!(
        Sandbox::new(zero),
        Err(SandboxError::BadLimits { .. })
    ));
    let huge_stack = SandboxLimits {
        max_stack_bytes: 64 << 20,
        ..SandboxLimits::default()
    };
    assert!(matches!(
        huge_stack.validate(),
        Err(SandboxError::BadLimits { .. })
    ));
    let l: SandboxLimits =
        serde_json::from_value(json!({"timeout_ms": 250, "max_log_bytes": 10})).unwrap();
    assert_eq!(l.timeout, Duration::from_millis(250));
    assert_eq!(l.max_log_bytes, 10);
    assert_eq!(l.memory_bytes, SandboxLimits::default().memory_bytes);
    assert!(serde_json::from_value::<SandboxLimits>(json!({"timeout": 1})).is_err());
}

#[test]
fn one_sandbox_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sandbox>();
    let s = std::sync::Arc::new(
        Sandbox::new(SandboxLimits {
            timeout: Duration::from_millis(300),
            ..SandboxLimits::default()
        })
        .unwrap(),
    );
    let handles: Vec<_> = (0..6)
        .map(|i| {
            let s = std::sync::Arc::clone(&s);
            std::thread::spawn(move || {
                let v = vars(json!({"i": i}));
                for _ in 0..5 {
                    match i % 3 {
                        0 => assert_eq!(
                            s.run_code("globalThis.t = i; return i * 2;", &v)
                                .unwrap()
                                .value,
                            json!(i * 2)
                        ),
                        1 => assert!(matches!(
                            s.run_code("while(1){}", &v),
                            Err(SandboxError::Timeout { .. })
                        )),
                        _ => assert!(matches!(
                            s.run_code("const a=[]; while(1) a.push('x'.repeat(65536) + i);", &v),
                            Err(SandboxError::OutOfMemory { .. })
                        )),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_inputs_never_panic(
        code in prop_oneof![
            ".{0,200}",
            "(return |console\\.log\\(|while\\(|\\{|\\}|\\(|\\)|\\[|\\]|'|\"|`|;|x|1|\\+|new |Promise|await |async |=>| ){0,40}",
        ],
        names in proptest::collection::vec("[a-zA-Z_$][a-zA-Z0-9_$]{0,6}|.{0,6}", 0..4),
        vals in proptest::collection::vec(any::<i64>().prop_map(Value::from), 0..4),
    ) {
        let s = Sandbox::new(SandboxLimits { timeout: Duration::from_millis(50), ..SandboxLimits::default() }).unwrap();
        let m: Map<String, Value> = names.into_iter().zip(vals).collect();
        let _ = s.run_code(&code, &m);
        let _ = s.eval_bool(&code, &m);
        let _ = s.filter(&code, &[json!(1), json!("a")], &m);
    }
}
