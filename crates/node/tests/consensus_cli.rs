//! `quorate consensus` end to end: the built binary on temporary input files.

// Test code: a failed unwrap is a failed test (helpers are not `#[test]` fns).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const OP1: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
const OP2: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";
const OP3: &str = "0x3333333333333333333333333333333333333333333333333333333333333333";

/// A temporary input file, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "quorate-consensus-cli-{}-{name}.json",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(args: &[&str], file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorate"))
        .arg("consensus")
        .args(args)
        .arg(file)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn prices(p1: &str, p2: &str, p3: &str) -> String {
    format!(
        r#"[
          {{"operator": "{OP1}", "data": {{"px": {p1}, "n": "7", "attestation": "a1"}}, "stake": "10"}},
          {{"operator": "{OP2}", "data": {{"px": {p2}, "n": "7", "attestation": "a2"}}, "stake": 20}},
          {{"operator": "{OP3}", "data": {{"px": {p3}, "n": "7"}}}}
        ]"#
    )
}

fn is_digest(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 66 && s.starts_with("0x") && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[test]
fn success_prints_the_outcome() {
    let f = TempFile::new("ok", &prices("100.5", "101.25", "99"));
    let o = run(&["--tolerance", "5"], &f.0);
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["normalized"]["px"].to_string(), "100.50");
    assert_eq!(out["normalized"]["n"], "7");
    assert_eq!(out["normalized"]["attestation"], "a1");
    assert!(is_digest(&out["consensus_digest"]) && is_digest(&out["full_digest"]));
    assert_ne!(out["consensus_digest"], out["full_digest"]);
    assert_eq!(out["agreeing"].as_array().unwrap().len(), 3);
    assert_eq!(out["excluded"], Value::Array(vec![]));
    assert_eq!(out["adjustments"][0]["path"], "/px");
    assert_eq!(out["stats"]["fast_path"], false);
    assert_eq!(out["stats"]["fields_normalized"], 1);
}

#[test]
fn exclusion_policy_and_example_file() {
    let example =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/consensus-prices.json");
    let o = run(&["--tolerance", "1", "--policy", "exclude:0.67"], &example);
    assert!(o.status.success(), "{}", stderr(&o));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    let excluded = out["excluded"].as_array().unwrap();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["issues"][0]["path"], "/prices/0/price");
    // Integers beyond 2^53 (here ~2^86) stay exact.
    assert_eq!(
        out["normalized"]["total_supply_wei"].to_string(),
        "120450211983746512873461242"
    );

    let o = run(
        &["--tolerance", "1", "--policy", "exclude-stake:0.9"],
        &example,
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("stake"), "{}", stderr(&o));
}

#[test]
fn no_consensus_exits_3_naming_field_and_operator() {
    let f = TempFile::new("strict", &prices("100", "101", "150"));
    let o = run(&["--tolerance", "5"], &f.0);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("/px") && err.contains(OP3), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_inputs_exit_1_with_a_message() {
    let dup = format!(
        r#"[{{"operator": "{OP1}", "data": {{}}}}, {{"operator": "{OP1}", "data": {{}}}}]"#
    );
    let zero = format!(r#"[{{"operator": "0x{}", "data": {{}}}}]"#, "0".repeat(64));
    let cases: Vec<(&str, String, &str)> = vec![
        ("invalid-json", "[{".to_owned(), "not valid JSON"),
        (
            "non-array",
            r#"{"operator": "x"}"#.to_owned(),
            "expected a JSON array",
        ),
        ("empty", "[]".to_owned(), "empty"),
        ("duplicate", dup, "already responded"),
        (
            "bad-id",
            r#"[{"operator": "0x12", "data": {}}]"#.to_owned(),
            "bad operator id",
        ),
        ("zero-id", zero, "bad operator id"),
        (
            "no-data",
            format!(r#"[{{"operator": "{OP1}"}}]"#),
            "missing \"data\"",
        ),
        (
            "bad-stake",
            format!(r#"[{{"operator": "{OP1}", "data": {{}}, "stake": "-1"}}]"#),
            "bad stake",
        ),
        (
            "huge-number",
            format!(r#"[{{"operator": "{OP1}", "data": {{"x": 1e999}}}}]"#),
            "too large",
        ),
    ];
    for (name, contents, message) in cases {
        let f = TempFile::new(name, &contents);
        let o = run(&["--tolerance", "5"], &f.0);
        assert_eq!(o.status.code(), Some(1), "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{name}: {}", stderr(&o));
        assert!(o.stdout.is_empty(), "{name}");
    }
    let missing = Path::new("/nonexistent/quorate-consensus.json");
    let o = run(&["--tolerance", "5"], missing);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot read"), "{}", stderr(&o));

    let f = TempFile::new("no-stake", &prices("1", "1", "1"));
    let o = run(&["--tolerance", "5", "--policy", "exclude-stake:0.5"], &f.0);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no stake") && stderr(&o).contains(OP3),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let f = TempFile::new("args", &prices("1", "1", "1"));
    for args in [
        &["--tolerance", "-1"][..],
        &["--tolerance", "abc"],
        &["--tolerance", "1", "--policy", "exclude:2"],
        &["--tolerance", "1", "--policy", "majority"],
    ] {
        let o = run(args, &f.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).is_empty());
    }
}
