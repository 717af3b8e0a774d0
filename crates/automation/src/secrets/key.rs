//! The node's secret-encryption key.

use std::fmt;
use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use rand_core::{OsRng, RngCore};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::SecretError;

/// Length of a [`SecretKey`] in bytes (XChaCha20-Poly1305 uses 256-bit keys).
pub const SECRET_KEY_LEN: usize = 32;

/// What the key text must look like; shared by every decoding error so the operator knows the
/// accepted formats without us echoing what they gave.
const FORMAT_HINT: &str =
    "expected 32 bytes as 64 hex digits (optionally 0x-prefixed) or as base64";

/// Largest key file we read: a key is at most ~70 chars, so anything far bigger is the wrong file
/// and we refuse it rather than read it into memory.
const MAX_KEY_FILE_LEN: u64 = 1024;

/// The 256-bit key that encrypts every workflow secret at rest.
///
/// Zeroized on drop; `Debug` prints `SecretKey(<redacted>)`; no `Display`, no `Serialize`, no
/// `Clone` (one owner, handed to [`super::SecretCipher::new`]). Errors from its constructors
/// never contain key material, not even a single offending character.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; SECRET_KEY_LEN]);

impl SecretKey {
    /// Wraps raw key bytes (e.g. from a KMS).
    pub fn from_bytes(bytes: [u8; SECRET_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// Draws a fresh key from the operating system's RNG (for a `quorate secret keygen`
    /// command). Fails only if the OS RNG fails; we return that rather than panic.
    pub fn generate() -> Result<Self, SecretError> {
        let mut bytes = [0u8; SECRET_KEY_LEN];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|_| SecretError::Rng)?;
        let key = Self(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// The key as 64 lowercase hex digits, the format `keygen` writes and
    /// [`SecretKey::from_file`] reads. Zeroized when the caller drops it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    /// The raw key bytes, for the cipher.
    pub(super) fn as_bytes(&self) -> &[u8; SECRET_KEY_LEN] {
        &self.0
    }

    /// Reads a key file holding the key as hex (with or without `0x`) or base64, surrounding
    /// whitespace ignored.
    ///
    /// On unix the file must not be readable or writable by group or others (mode `0600` or
    /// stricter), the same rule ssh applies to private keys: a world-readable key protects
    /// nothing. The mode is checked on the opened file, so a swap between check and read cannot
    /// slip a different file past it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, SecretError> {
        let path = path.as_ref();
        let err = |reason: String| SecretError::KeyFile {
            path: path.to_path_buf(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| err(format!("cannot stat: {e}")))?;
        if !meta.is_file() {
            return Err(err("not a regular file".to_owned()));
        }
        check_mode(&meta).map_err(err)?;
        // Sized up front: a growing buffer would leave unzeroized copies of the key behind.
        let mut text = Zeroizing::new(String::with_capacity(MAX_KEY_FILE_LEN as usize + 1));
        file.take(MAX_KEY_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(|e| err(format!("cannot read: {e}")))?;
        if text.len() as u64 > MAX_KEY_FILE_LEN {
            return Err(err(format!(
                "file is larger than {MAX_KEY_FILE_LEN} bytes; {FORMAT_HINT}"
            )));
        }
        decode_key(&text).map_err(|reason| err(reason.to_owned()))
    }

    /// Reads the key from an environment variable, in the same formats as
    /// [`SecretKey::from_file`].
    pub fn from_env(var_name: &str) -> Result<Self, SecretError> {
        let err = |reason: String| SecretError::KeyEnv {
            var: var_name.to_owned(),
            reason,
        };
        let text = match std::env::var(var_name) {
            Ok(v) => Zeroizing::new(v),
            Err(std::env::VarError::NotPresent) => return Err(err("not set".to_owned())),
            // The OsString in NotUnicode is key material: drop it without printing.
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(err(format!("not valid UTF-8; {FORMAT_HINT}")))
            }
        };
        decode_key(&text).map_err(|reason| err(reason.to_owned()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// Refuses key files that group or others can access, naming the mode and the fix.
#[cfg(unix)]
fn check_mode(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "file mode is {mode:04o}, which lets group or others access the key; \
             restrict it with `chmod 600` on the file"
        ));
    }
    Ok(())
}

/// Non-unix platforms have no mode bits to check; their ACLs are the operator's job.
#[cfg(not(unix))]
fn check_mode(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}

/// Decodes key text. Returns only fixed reason strings: the decoders' own errors name the
/// offending character and its position, which would leak part of the key into logs.
fn decode_key(text: &str) -> Result<SecretKey, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "empty; expected 32 bytes as 64 hex digits (optionally 0x-prefixed) or as base64",
        );
    }
    let hex_digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"));
    let bytes: Zeroizing<Vec<u8>> =
        if let Some(digits) = hex_digits {
            // An explicit 0x prefix means hex; no fallback to base64.
            Zeroizing::new(hex::decode(digits).map_err(|_| {
                "0x-prefixed value is not valid hex; expected 64 hex digits after 0x"
            })?)
        } else if text.len() == 2 * SECRET_KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            // 64 hex digits are also valid base64 (of 48 bytes), so hex must be tried first.
            Zeroizing::new(hex::decode(text).map_err(|_| "invalid hex")?)
        } else {
            let standard = base64::engine::general_purpose::STANDARD.decode(text);
            let decoded = match standard {
                Ok(b) => b,
                Err(_) => base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(text)
                    .map_err(|_| {
                        "neither 64 hex digits nor valid base64; \
                     expected 32 bytes as 64 hex digits (optionally 0x-prefixed) or as base64"
                    })?,
            };
            Zeroizing::new(decoded)
        };
    let array: [u8; SECRET_KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
        "wrong key length; expected 32 bytes as 64 hex digits (optionally 0x-prefixed) or as base64"
    })?;
    Ok(SecretKey(array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const KEY: [u8; 32] = [
        0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f,
        0x90, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff, 0x01,
    ];

    fn key_file(contents: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f.flush().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let _ = mode;
        f
    }

    /// Asserts an error's Display and Debug do not contain the key in any encoding we accept.
    fn assert_no_key_material(err: &SecretError, key_text: &str) {
        let shown = format!("{err} {err:?}");
        let trimmed = key_text.trim().trim_start_matches("0x");
        // Any 8-char window of the key text would be a leak.
        let chars: Vec<char> = trimmed.chars().collect();
        for w in chars.windows(8) {
            let w: String = w.iter().collect();
            assert!(!shown.contains(&w), "error leaks key material: {shown}");
        }
    }

    #[test]
    fn key_file_hex_0x_hex_and_base64_accepted() {
        let hex_text = hex::encode(KEY);
        let b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
        let b64_nopad = base64::engine::general_purpose::STANDARD_NO_PAD.encode(KEY);
        for text in [
            hex_text.clone(),
            format!("0x{hex_text}\n"),
            format!("  {}\n", hex_text.to_uppercase()),
            format!("{b64}\n"),
            b64_nopad,
        ] {
            let f = key_file(&text, 0o600);
            let key = SecretKey::from_file(f.path()).unwrap();
            assert_eq!(key.as_bytes(), &KEY, "format {text:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_refused_with_mode_and_fix() {
        let text = hex::encode(KEY);
        for mode in [0o644, 0o640, 0o604, 0o660, 0o666] {
            let f = key_file(&text, mode);
            let err = SecretKey::from_file(f.path()).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, SecretError::KeyFile { .. }));
            assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
            assert!(msg.contains("chmod 600"), "{msg}");
            assert_no_key_material(&err, &text);
        }
        let f = key_file(&text, 0o400);
        assert!(SecretKey::from_file(f.path()).is_ok());
    }

    #[test]
    fn key_file_wrong_length_or_garbage_refused_without_leaking() {
        let short = hex::encode(&KEY[..31]);
        let long = format!("{}00", hex::encode(KEY));
        let bad_hex = format!("0x{}zz", &hex::encode(KEY)[..62]);
        let b64_short = base64::engine::general_purpose::STANDARD.encode(&KEY[..16]);
        let garbage = "this is not a key at all, just some words!".to_owned();
        for text in [
            short,
            long,
            bad_hex,
            b64_short,
            garbage,
            String::new(),
            "  \n".into(),
        ] {
            let f = key_file(&text, 0o600);
            let err = SecretKey::from_file(f.path()).unwrap_err();
            assert!(matches!(err, SecretError::KeyFile { .. }), "{err:?}");
            assert_no_key_material(&err, &text);
        }
    }

    #[test]
    fn key_file_missing_and_directory_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = SecretKey::from_file(dir.path().join("nope")).unwrap_err();
        assert!(err.to_string().contains("cannot open"), "{err}");
        let err = SecretKey::from_file(dir.path()).unwrap_err();
        assert!(matches!(err, SecretError::KeyFile { .. }));
    }

    #[test]
    fn key_from_env_accepts_and_refuses_without_leaking() {
        // Unique names: tests run in parallel threads of one process.
        let good = "QUORATE_TEST_SECRET_KEY_GOOD_7f3a";
        let bad = "QUORATE_TEST_SECRET_KEY_BAD_7f3a";
        let text = format!("0x{}", hex::encode(KEY));
        std::env::set_var(good, &text);
        assert_eq!(SecretKey::from_env(good).unwrap().as_bytes(), &KEY);
        let bad_text = hex::encode(&KEY[..20]);
        std::env::set_var(bad, &bad_text);
        let err = SecretKey::from_env(bad).unwrap_err();
        assert!(matches!(err, SecretError::KeyEnv { .. }));
        assert_no_key_material(&err, &bad_text);
        let err = SecretKey::from_env("QUORATE_TEST_SECRET_KEY_UNSET_7f3a").unwrap_err();
        assert!(err.to_string().contains("not set"));
    }

    #[test]
    fn generate_round_trips_through_hex_and_differs() {
        let a = SecretKey::generate().unwrap();
        let b = SecretKey::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        let f = key_file(&a.to_hex(), 0o600);
        assert_eq!(
            SecretKey::from_file(f.path()).unwrap().as_bytes(),
            a.as_bytes()
        );
    }

    #[test]
    fn debug_never_shows_key() {
        let key = SecretKey::from_bytes(KEY);
        let shown = format!("{key:?} {key:#?}");
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(!shown.contains(&hex::encode(KEY)[..8]));
        assert!(!shown.contains("161")); // first byte in decimal, as a derived Debug would print
    }
}
