//! Secrets from configuration (keys, token secrets): never printed, wiped on drop. Secrets
//! come from files or environment variables, never from command-line values (visible in `ps`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// A configured secret. `Debug` shows a placeholder, so configs can be logged safely.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret's value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Secret {
    /// Reads a secret from a file, trimmed of surrounding whitespace (a trailing newline is
    /// usual). The error names the file, never its content.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let mut text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading secret file {}: {e}", path.display()))?;
        let secret = Self(text.trim().to_string());
        text.zeroize();
        anyhow::ensure!(
            !secret.0.is_empty(),
            "secret file {} is empty",
            path.display()
        );
        Ok(secret)
    }

    /// A secret from environment variable `name`, if set and not empty.
    pub fn from_env(name: &str) -> Option<Self> {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| Self(v.trim().to_string()))
    }
}

/// `scheme://host[:port]` of a URL: user info, path and query are dropped because RPC
/// providers put API keys there, and URLs end up in logs and error messages.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let elided = if host.len() < rest.len() { "/…" } else { "" };
    if scheme.is_empty() {
        format!("{host}{elided}")
    } else {
        format!("{scheme}://{host}{elided}")
    }
}

/// Makes `path` readable and writable by its owner only (0600): database and key files hold
/// what an attacker on the same host must not read.
pub fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Serialized as a placeholder (`--print-config`): the value never leaves the process.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::from("hunter2-0xabc");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-0xabc");
    }

    #[test]
    fn urls_lose_credentials_path_and_query() {
        assert_eq!(
            redact_url("https://user:pw@eth.example.com:8545/v3/KEY?apikey=x"),
            "https://eth.example.com:8545/…"
        );
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
        assert_eq!(redact_url("wss://h/abc"), "wss://h/…");
        assert!(!redact_url("a:b@c/d?e").contains('b'));
    }

    #[test]
    fn secret_files_are_trimmed_and_empty_ones_refused() {
        let dir = std::env::temp_dir().join(format!("quorate-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "0xabc\n").unwrap();
        restrict_to_owner(&path).unwrap();
        assert_eq!(Secret::from_file(&path).unwrap().expose(), "0xabc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "\n").unwrap();
        let err = Secret::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("empty"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
