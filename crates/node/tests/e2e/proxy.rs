//! A loopback JSON-RPC proxy that counts calls per method, for clients (like eigensdk-rs's
//! readers) that only take a URL and build their own provider.

use std::sync::Arc;

use anyhow::Result;
use quorate_chain_adapter::CallCounter;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; its task ends with the runtime.
pub struct CountingProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Calls forwarded so far.
    pub counter: CallCounter,
}

impl CountingProxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream`.
    pub async fn start(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let counter = CallCounter::new();
        let http = alloy::transports::http::reqwest::Client::new();
        let upstream: Arc<str> = upstream.into();
        let c = counter.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (http, upstream, c) = (http.clone(), Arc::clone(&upstream), c.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &http, &upstream, &c).await;
                });
            }
        });
        Ok(Self { url, counter })
    }
}

/// Serves HTTP/1.1 POSTs on one (keep-alive) connection.
async fn serve(
    stream: TcpStream,
    http: &alloy::transports::http::reqwest::Client,
    upstream: &str,
    counter: &CallCounter,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut length = 0usize;
        let mut close = false;
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:") && lower.contains("close") {
                close = true;
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Array(calls)) => {
                for call in &calls {
                    counter.record(call["method"].as_str().unwrap_or("?"));
                }
            }
            Ok(call) => counter.record(call["method"].as_str().unwrap_or("?")),
            Err(_) => counter.record("(unparsable)"),
        }
        let response = http
            .post(upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?
            .bytes()
            .await?;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            response.len()
        );
        write.write_all(head.as_bytes()).await?;
        write.write_all(&response).await?;
        if close {
            return Ok(());
        }
    }
}
