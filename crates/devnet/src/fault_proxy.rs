//! A loopback JSON-RPC proxy that injects faults, switchable at runtime: pass-through, dropped
//! connections, delays (longer than the client's timeout), HTTP 5xx, corrupted or truncated
//! bodies, and JSON-RPC error answers — on every call, every Nth call, only the next N calls,
//! or only calls whose body contains a marker (e.g. one function selector).
//!
//! It speaks just enough HTTP/1.1 for alloy's reqwest transport (keep-alive, content-length
//! bodies). When the upstream is unreachable (anvil stopped) it drops the connection, as an
//! unreachable endpoint would look to the client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use quorate_domain::sync::lock;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What to do to a call that the plan selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without answering.
    Drop,
    /// Forward, but answer only after this long.
    Delay(Duration),
    /// Answer with this HTTP status and a short text body.
    Http(u16),
    /// A complete HTTP answer whose JSON body is cut in half (valid length, invalid JSON).
    Corrupt,
    /// Announce the full length, send half the body, close (an incomplete HTTP message).
    Truncate,
    /// A well-formed JSON-RPC error answer with this code.
    RpcError(i64),
}

/// Which calls get the fault.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    /// The fault.
    pub fault: Fault,
    /// Only every Nth selected call (1 = every one).
    pub every_nth: u32,
    /// Only this many more faults, then pass-through (`None` = until healed).
    pub remaining: Option<u32>,
    /// Only calls whose request body contains this text (e.g. a 4-byte selector in hex).
    pub matching: Option<String>,
}

impl FaultPlan {
    /// Every call, until healed.
    pub fn always(fault: Fault) -> Self {
        Self {
            fault,
            every_nth: 1,
            remaining: None,
            matching: None,
        }
    }

    /// The next `n` calls, then pass-through.
    pub fn next(fault: Fault, n: u32) -> Self {
        Self {
            remaining: Some(n),
            ..Self::always(fault)
        }
    }

    /// Only calls whose body contains `marker`.
    pub fn matching(mut self, marker: impl Into<String>) -> Self {
        self.matching = Some(marker.into());
        self
    }

    /// Only every `n`th selected call.
    pub fn every(mut self, n: u32) -> Self {
        self.every_nth = n.max(1);
        self
    }
}

#[derive(Default)]
struct State {
    plan: Option<FaultPlan>,
    /// Calls selected by the plan so far (for `every_nth`).
    selected: u64,
    /// Faults injected since the last `set`/`heal`.
    injected: u64,
    /// Calls seen in total.
    calls: u64,
}

/// A running fault proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Listens on a free 127.0.0.1 port and forwards to `upstream`, passing everything through.
    pub async fn start(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let http = alloy::transports::http::reqwest::Client::new();
        let upstream: Arc<str> = upstream.into();
        let state = Arc::new(Mutex::new(State::default()));
        let st = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (http, upstream, st) = (http.clone(), Arc::clone(&upstream), Arc::clone(&st));
                tokio::spawn(async move {
                    // A failed connection only ends that connection; the client sees it.
                    let _ = serve(stream, &http, &upstream, &st).await;
                });
            }
        });
        Ok(Self { url, state, task })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Switches to `plan` (and zeroes the injected count).
    pub fn set(&self, plan: FaultPlan) {
        let mut st = self.lock();
        st.plan = Some(plan);
        st.selected = 0;
        st.injected = 0;
    }

    /// Back to pass-through.
    pub fn heal(&self) {
        let mut st = self.lock();
        st.plan = None;
        st.selected = 0;
    }

    /// Faults injected since the last `set`.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    /// Calls seen so far.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }
}

/// Whether this call gets a fault, and which.
fn decide(state: &Mutex<State>, body: &[u8]) -> Option<Fault> {
    let mut st = lock(state);
    st.calls += 1;
    let plan = st.plan.clone()?;
    if let Some(marker) = &plan.matching {
        let text = String::from_utf8_lossy(body);
        if !text
            .to_ascii_lowercase()
            .contains(&marker.to_ascii_lowercase())
        {
            return None;
        }
    }
    if plan.remaining == Some(0) {
        return None;
    }
    st.selected += 1;
    if st.selected % u64::from(plan.every_nth.max(1)) != 0 {
        return None;
    }
    if let Some(Some(n)) = st.plan.as_mut().map(|p| p.remaining.as_mut()) {
        *n = n.saturating_sub(1);
    }
    st.injected += 1;
    Some(plan.fault)
}

/// A JSON-RPC error answer to `body` (a single call or a batch), echoing the ids.
fn rpc_error_body(body: &[u8], code: i64) -> Vec<u8> {
    let error = |id: &serde_json::Value| {
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": "injected fault" },
        })
    };
    let answer = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(calls)) => {
            serde_json::Value::Array(calls.iter().map(|c| error(&c["id"])).collect())
        }
        Ok(call) => error(&call["id"]),
        Err(_) => error(&serde_json::Value::Null),
    };
    answer.to_string().into_bytes()
}

async fn write_response(
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    status: &str,
    content_length: usize,
    body: &[u8],
) -> Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    );
    write.write_all(head.as_bytes()).await?;
    write.write_all(body).await?;
    write.flush().await?;
    Ok(())
}

/// Serves HTTP/1.1 POSTs on one (keep-alive) connection.
async fn serve(
    stream: TcpStream,
    http: &alloy::transports::http::reqwest::Client,
    upstream: &str,
    state: &Mutex<State>,
) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let fault = decide(state, &body);
        match &fault {
            Some(Fault::Drop) => return Ok(()),
            Some(Fault::Http(code)) => {
                let text = b"injected fault";
                write_response(&mut write, &format!("{code} Injected"), text.len(), text).await?;
                continue;
            }
            Some(Fault::RpcError(code)) => {
                let answer = rpc_error_body(&body, *code);
                write_response(&mut write, "200 OK", answer.len(), &answer).await?;
                continue;
            }
            Some(Fault::Delay(d)) => tokio::time::sleep(*d).await,
            Some(Fault::Corrupt | Fault::Truncate) | None => {}
        }
        let forwarded = http
            .post(upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let response = match forwarded {
            Ok(r) => match r.bytes().await {
                Ok(b) => b,
                Err(_) => return Ok(()),
            },
            // Upstream down: look like it to the client.
            Err(_) => return Ok(()),
        };
        match fault {
            Some(Fault::Corrupt) => {
                let half = &response[..response.len() / 2];
                write_response(&mut write, "200 OK", half.len(), half).await?;
            }
            Some(Fault::Truncate) => {
                let half = &response[..response.len() / 2];
                write_response(&mut write, "200 OK", response.len(), half).await?;
                return Ok(());
            }
            _ => write_response(&mut write, "200 OK", response.len(), &response).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_select_the_calls_they_name() {
        let st = Mutex::new(State::default());
        lock(&st).plan = Some(FaultPlan::next(Fault::Drop, 2).matching("cafe"));
        assert_eq!(decide(&st, b"beef"), None);
        assert_eq!(decide(&st, b"CAFE"), Some(Fault::Drop));
        assert_eq!(decide(&st, b"cafe"), Some(Fault::Drop));
        assert_eq!(decide(&st, b"cafe"), None, "only the next two");
        lock(&st).plan = Some(FaultPlan::always(Fault::Http(503)).every(3));
        lock(&st).selected = 0;
        let hits: Vec<bool> = (0..6).map(|_| decide(&st, b"x").is_some()).collect();
        assert_eq!(hits, [false, false, true, false, false, true]);
    }

    #[test]
    fn rpc_errors_echo_ids() {
        let one: serde_json::Value =
            serde_json::from_slice(&rpc_error_body(br#"{"id":7,"method":"eth_call"}"#, -32603))
                .unwrap_or_default();
        assert_eq!(one["id"], 7);
        assert_eq!(one["error"]["code"], -32603);
        let batch: serde_json::Value =
            serde_json::from_slice(&rpc_error_body(br#"[{"id":1},{"id":2}]"#, -32005))
                .unwrap_or_default();
        assert_eq!(batch[1]["id"], 2);
    }
}
