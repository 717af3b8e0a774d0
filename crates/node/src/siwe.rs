//! EIP-4361 (Sign-In with Ethereum) messages: built by the node, parsed strictly when they
//! come back signed. Only the subset the node issues is accepted (statement, URI, version 1,
//! chain id, nonce, issued-at and expiration-time; no not-before, request id or resources),
//! so a message that parses is exactly one the node could have built.

use alloy_primitives::Address;

/// Why a signed-in message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiweError {
    /// A line is missing or not the one expected at that position.
    #[error("sign-in message line {line}: expected {expected}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What the line should be.
        expected: &'static str,
    },
    /// A field does not parse.
    #[error("sign-in message field {field}: {reason}")]
    Field {
        /// The EIP-4361 field name.
        field: &'static str,
        /// Why it does not parse.
        reason: String,
    },
    /// The message parsed but is not in canonical form (extra text, other address case).
    #[error("sign-in message is not in the form the node issues")]
    NotCanonical,
}

/// The fields of an EIP-4361 message the node issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    /// RFC 3986 authority requesting the sign-in (the node's `siwe_domain`).
    pub domain: String,
    /// The wallet signing in (written in EIP-55 checksum form).
    pub address: Address,
    /// Human-readable statement shown by the wallet.
    pub statement: String,
    /// URI the sign-in is for (the node's `siwe_uri`).
    pub uri: String,
    /// Message version: always 1.
    pub version: u32,
    /// EIP-155 chain id the session is bound to.
    pub chain_id: u64,
    /// Server-issued single-use nonce (at least 8 alphanumeric characters).
    pub nonce: String,
    /// When the node issued the message (Unix ms; written as RFC 3339).
    pub issued_at_ms: u64,
    /// When the message stops being exchangeable (Unix ms; written as RFC 3339).
    pub expiration_ms: u64,
}

const PREAMBLE: &str = " wants you to sign in with your Ethereum account:";

impl std::fmt::Display for SiweMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{PREAMBLE}\n{}\n\n{}\n\nURI: {}\nVersion: {}\nChain ID: {}\nNonce: {}\nIssued At: {}\nExpiration Time: {}",
            self.domain,
            self.address.to_checksum(None),
            self.statement,
            self.uri,
            self.version,
            self.chain_id,
            self.nonce,
            rfc3339(self.issued_at_ms),
            rfc3339(self.expiration_ms),
        )
    }
}

fn field<'a>(lines: &[&'a str], index: usize, prefix: &'static str) -> Result<&'a str, SiweError> {
    lines
        .get(index)
        .and_then(|l| l.strip_prefix(prefix))
        .ok_or(SiweError::Line {
            line: index + 1,
            expected: prefix,
        })
}

fn bad(field: &'static str, reason: impl ToString) -> SiweError {
    SiweError::Field {
        field,
        reason: reason.to_string(),
    }
}

impl SiweMessage {
    /// Parses a message strictly: every line in EIP-4361 order, and the text must be exactly
    /// what [`Display`](std::fmt::Display) writes for the parsed fields.
    pub fn parse(text: &str) -> Result<Self, SiweError> {
        let lines: Vec<&str> = text.split('\n').collect();
        if lines.len() != 11 {
            return Err(SiweError::NotCanonical);
        }
        let domain = lines[0].strip_suffix(PREAMBLE).ok_or(SiweError::Line {
            line: 1,
            expected: "<domain> wants you to sign in with your Ethereum account:",
        })?;
        let address: Address = lines[1].parse().map_err(|e| bad("address", e))?;
        let empty = |i: usize| {
            if lines[i].is_empty() {
                Ok(())
            } else {
                Err(SiweError::Line {
                    line: i + 1,
                    expected: "an empty line",
                })
            }
        };
        empty(2)?;
        empty(4)?;
        let version = field(&lines, 6, "Version: ")?;
        if version != "1" {
            return Err(bad("version", format!("{version:?} is not 1")));
        }
        let chain_id = field(&lines, 7, "Chain ID: ")?
            .parse()
            .map_err(|e| bad("chain id", e))?;
        let nonce = field(&lines, 8, "Nonce: ")?;
        if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad("nonce", "needs at least 8 alphanumeric characters"));
        }
        let message = Self {
            domain: domain.to_string(),
            address,
            statement: lines[3].to_string(),
            uri: field(&lines, 5, "URI: ")?.to_string(),
            version: 1,
            chain_id,
            nonce: nonce.to_string(),
            issued_at_ms: parse_rfc3339(field(&lines, 9, "Issued At: ")?)
                .ok_or_else(|| bad("issued-at", "not an RFC 3339 UTC time"))?,
            expiration_ms: parse_rfc3339(field(&lines, 10, "Expiration Time: ")?)
                .ok_or_else(|| bad("expiration-time", "not an RFC 3339 UTC time"))?,
        };
        if message.to_string() != text {
            return Err(SiweError::NotCanonical);
        }
        Ok(message)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix ms as RFC 3339 UTC with milliseconds: `2026-12-03T13:20:48.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        ms % 1000
    )
}

/// Parses exactly the form [`rfc3339`] writes.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    // Bytes, not string slices: a multi-byte character must not panic a slice boundary.
    let b = s.as_bytes();
    let separators = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ];
    if b.len() != 24 || separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    let ms = u64::try_from(secs).ok()?.checked_mul(1000)? + milli as u64;
    // Dates like 02-31 would roll over: refuse anything that does not print back the same.
    (rfc3339(ms) == s).then_some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SiweMessage {
        SiweMessage {
            domain: "node.example.com".into(),
            address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
                .parse()
                .unwrap(),
            statement: "Sign in to the quorate node.".into(),
            uri: "https://node.example.com".into(),
            version: 1,
            chain_id: 31337,
            nonce: "0123456789abcdef".into(),
            issued_at_ms: 1_764_768_048_123,
            expiration_ms: 1_764_768_348_123,
        }
    }

    #[test]
    fn times_round_trip_and_match_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_768_048_123), "2025-12-03T13:20:48.123Z");
        for ms in [0, 951_782_400_000, 1_764_768_048_123, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
        assert_eq!(parse_rfc3339("2025-02-31T00:00:00.000Z"), None);
        assert_eq!(parse_rfc3339("2025-12-03T13:20:48Z"), None);
        assert_eq!(parse_rfc3339("2025-12-03T13:20:48.123+01:00"), None);
    }

    #[test]
    fn issued_message_parses_back_to_its_fields() {
        let m = sample();
        let text = m.to_string();
        assert!(text.starts_with(
            "node.example.com wants you to sign in with your Ethereum account:\n0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n\n"
        ));
        assert!(text.contains("\nVersion: 1\nChain ID: 31337\nNonce: 0123456789abcdef\n"));
        assert!(text.ends_with("Expiration Time: 2025-12-03T13:25:48.123Z"));
        assert_eq!(SiweMessage::parse(&text).unwrap(), m);
    }

    #[test]
    fn altered_or_extended_messages_are_refused() {
        let text = sample().to_string();
        let cases = [
            text.replace("Version: 1", "Version: 2"),
            text.replace(
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            text.replace("Nonce: 0123456789abcdef", "Nonce: short"),
            text.replace("Chain ID: 31337", "Chain ID: x"),
            text.replace(".123Z\nExpiration", "Z\nExpiration"),
            format!("{text}\nResources:"),
            format!("{text}\n"),
            text.replace(" wants you", " would like you"),
            String::new(),
        ];
        for case in cases {
            assert!(SiweMessage::parse(&case).is_err(), "accepted {case:?}");
        }
    }
}
