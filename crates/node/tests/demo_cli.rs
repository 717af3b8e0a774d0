//! `quorate demo` runs the pipeline end to end and reports a summary that adds up.

use std::process::Command;

#[test]
fn small_demo_aggregates_every_task_and_rejects_every_forgery() {
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args([
            "demo",
            "--operators",
            "12",
            "--tasks",
            "30",
            "--forge-every",
            "5",
            "--in-flight",
            "4",
        ])
        .output()
        .expect("run quorate demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tasks aggregated        30 / 30"),
        "{stdout}"
    );
    // Every forged signature is rejected as invalid, and there were some.
    let line = stdout
        .lines()
        .find(|l| l.contains("signatures rejected"))
        .expect("rejected line");
    let words: Vec<&str> = line
        .split(|c: char| c == '(' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let invalid_at = words
        .iter()
        .position(|w| *w == "invalid")
        .expect("invalid count");
    let (invalid, forged) = (words[invalid_at - 1], words[invalid_at + 2]);
    assert_eq!(invalid, forged, "{line}");
    assert_ne!(forged, "0", "{line}");
    assert!(stdout.contains("accepted 30 aggregates"), "{stdout}");
}

#[test]
fn demo_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["demo", "--quorums", "0"])
        .output()
        .expect("run quorate demo");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--quorums"));
}
