//! Installing and running the npm build of `anvil` in a project-local folder.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The npm package version this repository is tested with.
const ANVIL_NPM: &str = "@foundry-rs/anvil@1.7.1";

/// Path of the anvil launcher under `.tools/anvil`, installing it with npm when missing.
pub fn ensure_installed(root: &Path) -> Result<PathBuf> {
    let prefix = root.join(".tools").join("anvil");
    let bin = prefix.join("node_modules").join(".bin").join("anvil");
    if bin.exists() {
        return Ok(bin);
    }
    eprintln!("devnet: installing {ANVIL_NPM} into {}", prefix.display());
    std::fs::create_dir_all(&prefix)?;
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(ANVIL_NPM)
        .status()
        .context("running npm (is Node.js installed?)")?;
    if !status.success() || !bin.exists() {
        bail!(
            "npm install {ANVIL_NPM} failed ({status}); {} is missing",
            bin.display()
        );
    }
    Ok(bin)
}

/// A running anvil; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Anvil {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

/// A port nobody listens on right now (the OS picks it; tiny race accepted on a dev box).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Anvil {
    /// Starts anvil on 127.0.0.1 at a free port, logging to `log`, and waits until it listens.
    pub fn start(bin: &Path, log: &Path) -> Result<Self> {
        let port = free_port()?;
        let log_file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file);
        // Own process group: a terminal Ctrl-C reaches only us, and we stop anvil ourselves
        // after the summary is written.
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut anvil = Self {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(child) = anvil.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("anvil exited early ({status}); see {}", log.display());
                }
            }
            if Instant::now() > deadline {
                anvil.stop();
                bail!(
                    "anvil did not listen on port {port} within 30 s; see {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(anvil)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops anvil: SIGTERM first so it exits cleanly, SIGKILL after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}
