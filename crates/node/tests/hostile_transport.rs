//! Exposure and transport against real `quorate node` processes: a node that would accept
//! anyone (no client authentication outside `--dev` on loopback, plaintext off loopback, a
//! short JWT secret) refuses to start with a clear message and a non-zero exit; TLS serves
//! TLS clients only; operator listeners can require client certificates; the operator and
//! client services can be split across listeners.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::Code;

/// Runs `quorate node ARGS` expecting it to exit on its own; returns (success, stderr).
fn run_to_exit(args: &[&str], envs: &[(&str, &str)]) -> (bool, String) {
    let mut child = Command::new(BIN)
        .arg("node")
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("quorate node {args:?} kept running; it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exposed_nodes_without_client_auth_refuse_to_start() {
    let dir = Scratch::new("expose");
    let db = dir.0.join("node.redb");
    let db = db.to_str().unwrap();
    let avs = dir.0.join("avs.toml");
    std::fs::write(&avs, "").unwrap();
    // Chain mode without API keys or a JWT secret.
    let (ok, err) = run_to_exit(
        &[
            "--rpc-url",
            "http://127.0.0.1:9",
            "--avs",
            avs.to_str().unwrap(),
            "--db",
            db,
        ],
        &[],
    );
    assert!(!ok);
    assert!(
        err.contains("refusing to start without client authentication")
            && err.contains("chain mode"),
        "{err}"
    );
    // --dev on a non-loopback address, even with --insecure.
    let (ok, err) = run_to_exit(
        &[
            "--dev",
            "--grpc-addr",
            "0.0.0.0:0",
            "--insecure",
            "--db",
            db,
        ],
        &[],
    );
    assert!(!ok);
    assert!(err.contains("without client authentication"), "{err}");
    // A JWT secret shorter than 32 bytes.
    let (ok, err) = run_to_exit(
        &["--dev", "--db", db],
        &[("QUORATE_JWT_SECRET", "short-secret")],
    );
    assert!(!ok);
    assert!(err.contains("at least 32"), "{err}");
    assert!(!err.contains("short-secret"), "the secret leaked: {err}");
    // The submitter key is no longer a flag (it would show in `ps`).
    let (ok, err) = run_to_exit(&["--dev", "--submitter-key", "0x01", "--db", db], &[]);
    assert!(!ok);
    assert!(err.contains("--submitter-key"), "{err}");
    // --dev on loopback still runs with no credentials at all.
    let node = start_node(&dir.0.join("dev.redb"), &["--simulated-operators", "0"]);
    assert!(node.banner.contains("grpc=http://127.0.0.1:"));
}

#[test]
fn plaintext_off_loopback_needs_insecure() {
    let dir = Scratch::new("plaintext");
    let secret = dir.0.join("jwt");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef\n").unwrap();
    let secret = secret.to_str().unwrap();
    let db = dir.0.join("node.redb");
    let db = db.to_str().unwrap();
    let args = [
        "--rpc-url",
        "http://127.0.0.1:9",
        "--avs",
        "/nonexistent/avs.toml",
        "--jwt-secret-file",
        secret,
        "--grpc-addr",
        "0.0.0.0:0",
        "--http-addr",
        "127.0.0.1:0",
        "--db",
        db,
    ];
    let (ok, err) = run_to_exit(&args, &[]);
    assert!(!ok);
    assert!(
        err.contains("refusing plaintext gRPC") && err.contains("--insecure"),
        "{err}"
    );
    // With --insecure the exposure check passes; this node then fails later, on its missing
    // AVS configuration, which shows it got past the check.
    let mut insecure = args.to_vec();
    insecure.push("--insecure");
    let (ok, err) = run_to_exit(&insecure, &[]);
    assert!(!ok);
    assert!(!err.contains("refusing"), "{err}");
    assert!(err.contains("avs.toml"), "{err}");
}

/// A CA, a server certificate for localhost / 127.0.0.1 and a client certificate, as PEM
/// files in `dir`: (ca, server cert, server key, client cert, client key).
fn certificates(dir: &Path) -> [PathBuf; 5] {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["operator".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let files = [
        ("ca.pem", ca.as_ref().pem()),
        ("server.pem", server.pem()),
        ("server.key", server_key.serialize_pem()),
        ("client.pem", client.pem()),
        ("client.key", client_key.serialize_pem()),
    ];
    files.map(|(name, pem)| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    })
}

async fn tls_channel(
    url: &str,
    ca: &Path,
    identity: Option<(&Path, &Path)>,
) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).unwrap()))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(cert).unwrap(),
            std::fs::read(key).unwrap(),
        ));
    }
    Channel::from_shared(url.to_string())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

fn list_all() -> pb::ListTasksRequest {
    pb::ListTasksRequest {
        status: 0,
        creator: String::new(),
        page_token: String::new(),
        limit: 10,
        full: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_tls_clients_only() {
    let dir = Scratch::new("tls");
    let [ca, cert, key, ..] = certificates(&dir.0);
    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--simulated-operators",
            "0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        node.grpc.starts_with("https://127.0.0.1:"),
        "{}",
        node.banner
    );
    let channel = tls_channel(&node.grpc, &ca, None).await.unwrap();
    let mut c = pb::client_service_client::ClientServiceClient::new(channel);
    let t = c
        .create_task(create_req(1, 67, 60_000))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.creator, "dev");
    // A plaintext HTTP/2 client gets no gRPC answer from the TLS port.
    let plain_url = node.grpc.replace("https://", "http://");
    let plain = match pb::client_service_client::ClientServiceClient::connect(plain_url).await {
        Ok(mut p) => p.list_tasks(list_all()).await.map(|_| ()),
        Err(e) => Err(tonic::Status::unavailable(e.to_string())),
    };
    let status = plain.expect_err("plaintext client was served by a TLS port");
    assert_ne!(status.code(), Code::Ok);
    // The TLS client keeps working.
    c.list_tasks(list_all()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_listener_is_separate_and_requires_client_certificates() {
    let dir = Scratch::new("mtls");
    let [ca, cert, key, client_cert, client_key] = certificates(&dir.0);
    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--simulated-operators",
            "0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tls-client-ca",
            ca.to_str().unwrap(),
            "--operator-grpc-addr",
            "127.0.0.1:0",
        ],
    );
    let operator_url = node
        .banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("operator_grpc="))
        .unwrap_or_else(|| panic!("no operator_grpc in {}", node.banner))
        .to_string();
    let subscribe = || pb::SubscribeTasksRequest {
        operator_id: vec![0; 32],
        cursor: 0,
        ..Default::default()
    };
    // Without a client certificate the operator listener refuses the TLS session: the call
    // fails in the transport (the server's CertificateRequired alert, or the closed
    // connection, depending on timing), never with an answer from the service.
    let anonymous = match tls_channel(&operator_url, &ca, None).await {
        Err(e) => Err(e),
        Ok(ch) => pb::operator_service_client::OperatorServiceClient::new(ch)
            .subscribe_tasks(subscribe())
            .await
            .map(|_| ())
            .map_err(|s| format!("{s:?}")),
    };
    let refused = anonymous.expect_err("an operator without a certificate was served");
    assert!(
        refused.contains("tonic::transport::Error"),
        "refused by the service, not the TLS layer: {refused}"
    );
    // With one, the connection is served (the unsigned request itself is then refused).
    let ch = tls_channel(&operator_url, &ca, Some((&client_cert, &client_key)))
        .await
        .unwrap();
    let refused = pb::operator_service_client::OperatorServiceClient::new(ch.clone())
        .subscribe_tasks(subscribe())
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused.code(),
            Code::Unauthenticated | Code::InvalidArgument | Code::PermissionDenied
        ),
        "{refused:?}"
    );
    // The client service is not on the operator listener, the operator service not on the
    // main one; clients need no certificate on the main one.
    let on_operator = pb::client_service_client::ClientServiceClient::new(ch)
        .list_tasks(list_all())
        .await
        .unwrap_err();
    assert_eq!(on_operator.code(), Code::Unimplemented);
    let main = tls_channel(&node.grpc, &ca, None).await.unwrap();
    pb::client_service_client::ClientServiceClient::new(main.clone())
        .list_tasks(list_all())
        .await
        .unwrap();
    let on_main = pb::operator_service_client::OperatorServiceClient::new(main)
        .subscribe_tasks(subscribe())
        .await
        .unwrap_err();
    assert_eq!(on_main.code(), Code::Unimplemented);
}

#[test]
fn the_database_file_is_private() {
    let dir = Scratch::new("perm");
    let db = dir.0.join("node.redb");
    let _node = start_node(&db, &["--simulated-operators", "0"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "database mode {:o}", mode & 0o777);
    }
}

/// The whole path over TLS: operator processes on the certificate-checked operator listener,
/// `quorate task create --wait` on the main one; the task is aggregated and submitted.
#[test]
fn operators_and_clients_work_over_tls_with_split_listeners() {
    let dir = Scratch::new("tls-e2e");
    let [ca, cert, key, client_cert, client_key] = certificates(&dir.0);
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let node = start_node(
        &dir.0.join("node.redb"),
        &[
            "--simulated-operators",
            "0",
            "--tls-cert",
            &path(&cert),
            "--tls-key",
            &path(&key),
            "--tls-client-ca",
            &path(&ca),
            "--operator-grpc-addr",
            "127.0.0.1:0",
        ],
    );
    let operator_url = node
        .banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("operator_grpc="))
        .unwrap()
        .to_string();
    let _operators: Vec<Proc> = (0..3)
        .map(|i| {
            Proc(
                Command::new(BIN)
                    .args(["operator", "run", "--node", &operator_url])
                    .args(["--dev-index", &i.to_string()])
                    .args(["--tls-ca", &path(&ca)])
                    .args(["--tls-client-cert", &path(&client_cert)])
                    .args(["--tls-client-key", &path(&client_key)])
                    .env("RUST_LOG", "error")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    let out = Command::new(BIN)
        .args(["task", "--node", &node.grpc, "--tls-ca", &path(&ca)])
        .args(["create", "--payload", "7", "--quorum", "0:67"])
        .args(["--expiry-ms", "20000", "--wait"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.contains("\"status\":\"submitted\""), "{stdout}");
}
