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
    bin: PathBuf,
    log: PathBuf,
    port: u16,
}

/// The pids whose parent is `parent` (from /proc; empty elsewhere).
fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split
            // after its closing parenthesis.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(parent)
        })
        .collect()
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
        // A fresh log per devnet; restarts append to it.
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut anvil = Self {
            child: None,
            url: format!("http://127.0.0.1:{port}"),
            bin: bin.to_path_buf(),
            log: log.to_path_buf(),
            port,
        };
        anvil.spawn(None)?;
        Ok(anvil)
    }

    /// Kills anvil without a clean shutdown (SIGKILL), as a crash would, and waits until its
    /// port is closed. The npm launcher is a node script that runs the real binary as its
    /// child, so that child is killed first, by its own pid.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        for pid in children_of(child.id()) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = child.kill();
        let _ = child.wait();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts anvil again on the same port (after [`Self::kill`] or [`Self::stop`]), from a
    /// state file in anvil's `--dump-state` format, and waits until it listens.
    pub fn restart(&mut self, load_state: &Path) -> Result<()> {
        self.kill();
        self.spawn(Some(load_state))
    }

    fn spawn(&mut self, load_state: Option<&Path>) -> Result<()> {
        let (bin, log, port) = (self.bin.clone(), self.log.clone(), self.port);
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut cmd = Command::new(&bin);
        cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if let Some(state) = load_state {
            cmd.arg("--load-state").arg(state);
        }
        cmd.stdin(Stdio::null())
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
        self.child = Some(child);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!("anvil exited early ({status}); see {}", log.display());
                }
            }
            if Instant::now() > deadline {
                self.stop();
                bail!(
                    "anvil did not listen on port {port} within 30 s; see {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
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
