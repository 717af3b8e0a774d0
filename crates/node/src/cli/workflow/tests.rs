//! Parsing of the commands, the local checks, and the example workflows in
//! `docs/examples/workflows` (validated here so they cannot rot).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser};

use super::input::{
    check_secret_name, check_trigger_data, load_spec, read_secret_value, strip_trailing_newline,
    validate_spec,
};
use super::*;

/// The three subcommands as `main.rs` registers them.
#[derive(Parser, Debug)]
#[command(name = "quorate")]
enum TestCli {
    Workflow(WorkflowArgs),
    Execution(ExecutionArgs),
    Secret(SecretArgs),
}

fn parse(argv: &[&str]) -> Result<TestCli, clap::Error> {
    TestCli::try_parse_from(std::iter::once("quorate").chain(argv.iter().copied()))
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples/workflows")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn every_example_workflow_validates() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = validate_spec(&text, now()) {
            panic!("{}: {e:#}", path.display());
        }
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    for expected in [
        "block-price-alert.json",
        "cron-report.json",
        "event-transfer.json",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} is missing");
    }
}

#[test]
fn examples_cover_the_documented_shapes() {
    let read = |name: &str| {
        let text = std::fs::read_to_string(examples_dir().join(name)).unwrap();
        validate_spec(&text, now()).unwrap()
    };
    let kinds = |spec: &quorate_automation::WorkflowSpec| {
        spec.nodes
            .iter()
            .map(|n| n.kind.label())
            .collect::<Vec<_>>()
    };
    let block = read("block-price-alert.json");
    assert_eq!(block.trigger.kind(), "block");
    assert_eq!(
        kinds(&block),
        ["rest_api", "branch", "custom_code", "custom_code"]
    );
    let text = serde_json::to_string(&block).unwrap();
    assert!(text.contains("Bearer {{secrets.API_KEY}}"));
    let cron = read("cron-report.json");
    assert_eq!(cron.trigger.kind(), "cron");
    assert_eq!(kinds(&cron), ["graphql", "filter", "custom_code"]);
    let event = read("event-transfer.json");
    assert_eq!(event.trigger.kind(), "event");
    assert_eq!(kinds(&event), ["contract_read", "custom_code"]);
    assert!(serde_json::to_string(&event)
        .unwrap()
        .contains("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"));
}

#[test]
fn a_bad_workflow_file_fails_locally_with_the_engines_message() {
    let dir = std::env::temp_dir().join(format!("quorate-wf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        r#"{"name":"bad","trigger":{"type":"manual"},
            "nodes":[{"id":"a","name":"a","type":"custom_code","source":"return 1;"}],
            "edges":[{"source":"a","target":"ghost"}]}"#,
    )
    .unwrap();
    let message = format!("{:#}", load_spec(&path, true).unwrap_err());
    assert!(message.contains("bad.json"), "{message}");
    assert!(message.contains("unknown node 'ghost'"), "{message}");
    // The escape hatch for nodes with other limits sends the file unchecked.
    assert!(load_spec(&path, false).is_ok());

    std::fs::write(
        &path,
        r#"{"name":"typo","trigger":{"type":"manual"},"nodez":[]}"#,
    )
    .unwrap();
    let message = format!("{:#}", load_spec(&path, true).unwrap_err());
    assert!(message.contains("not a valid workflow"), "{message}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn secret_set_has_no_value_flag_or_argument() {
    assert!(parse(&["secret", "set", "API_KEY", "--value", "hunter2"]).is_err());
    assert!(parse(&["secret", "set", "API_KEY", "hunter2"]).is_err());
    assert!(parse(&["secret", "set", "API_KEY=hunter2", "--value=hunter2"]).is_err());
    // Introspection: the only positional is NAME and no option is called anything like value
    // except the file it is read from.
    let cli = TestCli::command();
    let set = cli
        .find_subcommand("secret")
        .and_then(|s| s.find_subcommand("set"))
        .unwrap();
    let positionals: Vec<_> = set
        .get_positionals()
        .map(|a| a.get_id().to_string())
        .collect();
    assert_eq!(positionals, ["name"]);
    let value_like: Vec<_> = set
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|long| long.contains("value") || long.contains("secret"))
        .collect();
    assert_eq!(value_like, ["value-file"]);

    match parse(&[
        "secret",
        "set",
        "API_KEY",
        "--workflow",
        "wf1",
        "--value-file",
        "/run/key",
    ])
    .unwrap()
    {
        TestCli::Secret(SecretArgs {
            command:
                SecretCommand::Set {
                    name,
                    workflow,
                    value_file,
                },
            ..
        }) => {
            assert_eq!(name, "API_KEY");
            assert_eq!(workflow.as_deref(), Some("wf1"));
            assert_eq!(value_file, Some(PathBuf::from("/run/key")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_command_parses() {
    let ok: &[&[&str]] = &[
        &["workflow", "create", "wf.json"],
        &["workflow", "create", "wf.json", "--no-local-check"],
        &["workflow", "get", "wf1"],
        &["workflow", "list"],
        &["workflow", "list", "--cursor", "c1", "--limit", "10"],
        &["workflow", "cancel", "wf1"],
        &["workflow", "delete", "wf1"],
        &["workflow", "trigger", "wf1"],
        &[
            "workflow",
            "trigger",
            "wf1",
            "--blocking",
            "--data",
            r#"{"x":1}"#,
        ],
        &["workflow", "count"],
        &["execution", "list", "wf1", "--cursor", "c", "--limit", "5"],
        &["execution", "get", "wf1", "ex1"],
        &["execution", "status", "wf1", "ex1"],
        &["execution", "stats"],
        &["execution", "stats", "--days", "30", "--workflow", "wf1"],
        &["execution", "count"],
        &["execution", "count", "--workflow", "wf1"],
        &["secret", "set", "API_KEY"],
        &["secret", "list"],
        &["secret", "list", "--workflow", "wf1"],
        &["secret", "delete", "API_KEY", "--workflow", "wf1"],
        &[
            "workflow",
            "--node",
            "https://node:50051",
            "--tls-ca",
            "ca.pem",
            "--api-key-file",
            "key",
            "list",
        ],
        &["secret", "--token-file", "jwt", "list"],
    ];
    for argv in ok {
        if let Err(e) = parse(argv) {
            panic!("{argv:?}: {e}");
        }
    }
    let bad: &[&[&str]] = &[
        &["workflow", "create"],
        &["workflow", "list", "--limit", "many"],
        &["execution", "get", "wf1"],
        &["execution", "stats", "--days", "-1"],
        &["secret", "delete"],
        &[
            "workflow",
            "--api-key-file",
            "k",
            "--token-file",
            "t",
            "count",
        ],
    ];
    for argv in bad {
        assert!(parse(argv).is_err(), "{argv:?} parsed");
    }
    match parse(&["execution", "get", "wf1", "ex1"]).unwrap() {
        TestCli::Execution(ExecutionArgs {
            command:
                ExecutionCommand::Get {
                    workflow_id,
                    execution_id,
                },
            ..
        }) => assert_eq!(
            (workflow_id.as_str(), execution_id.as_str()),
            ("wf1", "ex1")
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn secret_values_lose_one_trailing_newline_only() {
    assert_eq!(strip_trailing_newline("abc\n"), "abc");
    assert_eq!(strip_trailing_newline("abc\r\n"), "abc");
    assert_eq!(strip_trailing_newline("abc\n\n"), "abc\n");
    assert_eq!(strip_trailing_newline(" abc "), " abc ");

    let dir = std::env::temp_dir().join(format!("quorate-secret-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("value");
    std::fs::write(&path, "s3cr3t-value\n").unwrap();
    assert_eq!(
        read_secret_value(Some(&path)).unwrap().expose(),
        "s3cr3t-value"
    );
    std::fs::write(&path, "\n").unwrap();
    let e = format!("{:#}", read_secret_value(Some(&path)).unwrap_err());
    assert!(e.contains("empty"), "{e}");
    std::fs::write(&path, "x".repeat(5000)).unwrap();
    let e = format!("{:#}", read_secret_value(Some(&path)).unwrap_err());
    assert!(!e.contains("xxxx"), "the error echoes the value: {e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn local_checks_refuse_bad_names_and_trigger_data() {
    assert!(check_secret_name("API_KEY").is_ok());
    assert!(check_secret_name("bad-name").is_err());
    assert!(check_secret_name("").is_err());
    assert!(check_trigger_data(r#"{"amount": 5}"#).is_ok());
    assert!(check_trigger_data("[1, 2]").is_err());
    assert!(check_trigger_data("{not json").is_err());
}

#[test]
fn json_fields_from_the_node_are_embedded() {
    use super::output::embedded;
    assert_eq!(embedded(""), serde_json::Value::Null);
    assert_eq!(embedded(r#"{"a":1}"#)["a"], 1);
    assert_eq!(embedded("not json"), "not json");
}
