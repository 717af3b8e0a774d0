//! Parsing of the commands, the JSON they print and `authorize`'s local refusals (the calls to
//! a real node are covered by the e2e suite).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure

use alloy::primitives::{Address, Bytes, U256};
use clap::Parser;
use quorate_wallet::{SessionGrant, SignedGrant};

use super::grant::{authorize_request, check_valid_for, load_owner_key, Refusal};
use super::*;

/// The subcommand as `main.rs` registers it.
#[derive(Parser, Debug)]
#[command(name = "quorate")]
enum TestCli {
    Wallet(WalletArgs),
}

fn parse(argv: &[&str]) -> Result<WalletCommand, clap::Error> {
    let TestCli::Wallet(args) = TestCli::try_parse_from(
        ["quorate", "wallet"]
            .into_iter()
            .chain(argv.iter().copied()),
    )?;
    Ok(args.command)
}

const OWNER_KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const OTHER_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const WALLET: &str = "0x1111111111111111111111111111111111111111";
const SESSION_KEY: &str = "0x2222222222222222222222222222222222222222";

/// A key file in a fresh temp dir (removed by the caller).
fn key_file(name: &str, key: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("quorate-wallet-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("owner.key");
    std::fs::write(&path, format!("{key}\n")).unwrap();
    path
}

fn session_key_response(max_session_secs: u64) -> pb::SessionKeyResponse {
    pb::SessionKeyResponse {
        session_key: SESSION_KEY.into(),
        chain_id: 31337,
        entry_point: "0x0000000071727De22E5E9d8BAf0edAc6f37da032".into(),
        default_factory: "0x3333333333333333333333333333333333333333".into(),
        max_session_secs,
    }
}

fn wallet_info(owner: Address) -> pb::WalletInfo {
    pb::WalletInfo {
        address: WALLET.into(),
        salt: "0".into(),
        factory: "0x3333333333333333333333333333333333333333".into(),
        owner: owner.to_string(),
        deployed: true,
        workflows_by_status: [("completed".to_owned(), 2), ("active".to_owned(), 1)]
            .into_iter()
            .collect(),
        session: None,
    }
}

fn authorize_args(valid_for: u64, path: &std::path::Path) -> AuthorizeArgs {
    match parse(&[
        "authorize",
        "--salt",
        "7",
        "--valid-for",
        &valid_for.to_string(),
        "--spend-limit",
        "1000000000000000000",
        "--owner-key-file",
        path.to_str().unwrap(),
    ])
    .unwrap()
    {
        WalletCommand::Authorize(a) => a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_command_parses() {
    let ok: &[&[&str]] = &[
        &["get"],
        &["get", "--salt", "1", "--factory", WALLET],
        &["list"],
        &["list", "--factory", WALLET],
        &["list", "--salt", "0x01"],
        &["nonce", "--salt", "3"],
        &["session-key"],
        &[
            "authorize",
            "--valid-for",
            "3600",
            "--spend-limit",
            "0x10",
            "--owner-key-file",
            "owner.key",
        ],
        &["revoke", "--salt", "1"],
        &["--node", "https://node:50051", "--api-key-file", "k", "get"],
        &["--token-file", "jwt", "session-key"],
    ];
    for argv in ok {
        if let Err(e) = parse(argv) {
            panic!("{argv:?}: {e}");
        }
    }
    let bad: &[&[&str]] = &[
        &["get", "0x01"],
        &["session-key", "--salt", "1"],
        &["authorize", "--valid-for", "60", "--spend-limit", "1"],
        &[
            "authorize",
            "--valid-for",
            "-1",
            "--spend-limit",
            "1",
            "--owner-key-file",
            "k",
        ],
        &[
            "authorize",
            "--valid-for",
            "60",
            "--spend-limit",
            "lots",
            "--owner-key-file",
            "k",
        ],
        // The owner key is only ever read from a file.
        &[
            "authorize",
            "--valid-for",
            "60",
            "--spend-limit",
            "1",
            "--owner-key",
            OWNER_KEY,
        ],
        &["--api-key-file", "k", "--token-file", "t", "get"],
    ];
    for argv in bad {
        assert!(parse(argv).is_err(), "{argv:?} parsed");
    }
    assert_eq!(
        parse(&["nonce", "--salt", "3"])
            .unwrap_or_else(|e| panic!("{e}"))
            .clone_sel(),
        WalletSel {
            salt: "3".into(),
            factory: String::new(),
        }
    );
    match parse(&[
        "authorize",
        "--factory",
        WALLET,
        "--valid-for",
        "60",
        "--spend-limit",
        "0x10",
        "--owner-key-file",
        "/run/owner.key",
    ])
    .unwrap()
    {
        WalletCommand::Authorize(a) => {
            assert_eq!(a.wallet.factory, WALLET);
            assert_eq!(a.wallet.salt, "");
            assert_eq!(a.valid_for, 60);
            assert_eq!(a.spend_limit, U256::from(16));
            assert_eq!(a.owner_key_file, std::path::PathBuf::from("/run/owner.key"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse(&["session-key"]).unwrap(),
        WalletCommand::SessionKey
    ));
    assert!(matches!(
        parse(&["revoke"]).unwrap(),
        WalletCommand::Revoke(_)
    ));
    assert!(matches!(parse(&["list"]).unwrap(), WalletCommand::List(_)));
    assert!(matches!(parse(&["get"]).unwrap(), WalletCommand::Get(_)));
}

impl WalletCommand {
    /// The wallet a `get`, `list`, `nonce` or `revoke` names.
    fn clone_sel(&self) -> WalletSel {
        match self {
            Self::Get(w) | Self::List(w) | Self::Nonce(w) | Self::Revoke(w) => w.clone(),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn authorize_refuses_a_zero_or_too_long_duration_locally() {
    assert_eq!(check_valid_for(0, None), Err(Refusal::ValidForZero));
    assert_eq!(check_valid_for(0, Some(3600)), Err(Refusal::ValidForZero));
    assert_eq!(check_valid_for(1, None), Ok(()));
    assert_eq!(check_valid_for(3600, Some(3600)), Ok(()));
    assert_eq!(
        check_valid_for(3601, Some(3600)),
        Err(Refusal::ValidForTooLong {
            valid_for: 3601,
            max: 3600
        })
    );

    let path = key_file("duration", OWNER_KEY);
    let owner = load_owner_key(&path).unwrap();
    let info = wallet_info(owner.address());
    for (valid_for, expected) in [
        (0, Refusal::ValidForZero),
        (
            86_401,
            Refusal::ValidForTooLong {
                valid_for: 86_401,
                max: 86_400,
            },
        ),
    ] {
        let args = authorize_args(valid_for, &path);
        let e = authorize_request(&owner, &args, &session_key_response(86_400), &info, 1_000)
            .unwrap_err();
        assert_eq!(e.downcast_ref::<Refusal>(), Some(&expected), "{e:#}");
        assert!(format!("{e:#}").contains("--valid-for"), "{e:#}");
    }
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn authorize_signs_a_grant_the_node_accepts() {
    let path = key_file("sign", OWNER_KEY);
    let owner = load_owner_key(&path).unwrap();
    let key = session_key_response(86_400);
    let req = authorize_request(
        &owner,
        &authorize_args(3600, &path),
        &key,
        &wallet_info(owner.address()),
        1_000,
    )
    .unwrap();
    assert_eq!(req.salt, "7");
    assert_eq!(req.factory, "");
    assert_eq!(req.session_key, SESSION_KEY);
    assert_eq!(req.valid_until, 4_600);
    assert_eq!(req.spend_limit, "1000000000000000000");
    assert!(
        req.owner_signature.starts_with("0x"),
        "{}",
        req.owner_signature
    );
    assert_eq!(req.owner_signature.len(), 2 + 65 * 2);
    // The check the node makes: signed by the owner, for this wallet, on this chain.
    let signed = SignedGrant {
        grant: SessionGrant {
            key: SESSION_KEY.parse().unwrap(),
            valid_until: req.valid_until,
            spend_limit: req.spend_limit.parse().unwrap(),
        },
        owner_signature: req.owner_signature.parse::<Bytes>().unwrap(),
    };
    signed
        .check(key.chain_id, WALLET.parse().unwrap(), owner.address())
        .unwrap();
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn a_key_that_is_not_the_owners_is_refused_without_echoing_it() {
    let path = key_file("mismatch", OTHER_KEY);
    let key = load_owner_key(&path).unwrap();
    let real_owner = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"
        .parse()
        .unwrap();
    let e = authorize_request(
        &key,
        &authorize_args(60, &path),
        &session_key_response(86_400),
        &wallet_info(real_owner),
        1_000,
    )
    .unwrap_err();
    let message = format!("{e:#} {e:?}");
    assert!(
        matches!(e.downcast_ref::<Refusal>(), Some(Refusal::NotOwner { .. })),
        "{message}"
    );
    assert!(message.contains(&key.address().to_string()), "{message}");
    assert!(message.contains(&real_owner.to_string()), "{message}");
    let hex = OTHER_KEY.trim_start_matches("0x");
    assert!(
        !message.to_lowercase().contains(hex),
        "the error echoes the key: {message}"
    );
    assert!(
        !message.contains(&hex[..16]),
        "the error echoes the key: {message}"
    );

    // A file that holds no key: the error names the file, not what is in it.
    std::fs::write(&path, "not-a-key-0123456789abcdef\n").unwrap();
    let message = format!("{:#}", load_owner_key(&path).unwrap_err());
    assert!(message.contains("owner.key"), "{message}");
    assert!(
        !message.contains("0123456789abcdef"),
        "the error echoes the file: {message}"
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn wallet_json_has_the_proto_fields_and_a_null_session_when_none() {
    let owner: Address = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1"
        .parse()
        .unwrap();
    let mut info = wallet_info(owner);
    let value = output::wallet_info(&info);
    assert_eq!(
        value.to_string(),
        format!(
            r#"{{"address":"{WALLET}","salt":"0","factory":"0x3333333333333333333333333333333333333333","owner":"{owner}","deployed":true,"workflows_by_status":{{"active":1,"completed":2}},"session":null}}"#
        )
    );
    info.session = Some(pb::SessionInfo {
        wallet: WALLET.into(),
        session_key: SESSION_KEY.into(),
        valid_until: 4_600,
        spend_limit: "1000".into(),
        authorized_at_ms: 1_000_000,
        revoked_at_ms: 0,
    });
    let value = output::wallet_info(&info);
    assert_eq!(
        value["session"],
        json!({
            "wallet": WALLET,
            "session_key": SESSION_KEY,
            "valid_until": 4_600,
            "spend_limit": "1000",
            "authorized_at_ms": 1_000_000,
            "revoked_at_ms": 0,
        })
    );
    assert_eq!(value["workflows_by_status"]["completed"], 2);

    let listed = listing([&info].into_iter().map(output::wallet_info), "");
    assert_eq!(listed["items"][0]["address"], WALLET);
    assert_eq!(listed["next_cursor"], serde_json::Value::Null);

    let key = output::session_key(&session_key_response(86_400));
    let keys: Vec<_> = key.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "session_key",
            "chain_id",
            "entry_point",
            "default_factory",
            "max_session_secs"
        ]
    );
    assert_eq!(key["chain_id"], 31337);
}
