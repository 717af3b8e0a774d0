//! Scrubbing secret values out of text that will be stored or logged.

use std::fmt;
use std::ops::Range;

use zeroize::Zeroizing;

use super::SecretValue;

/// What a redacted secret is replaced with.
pub const REDACTION: &str = "***";

/// Replaces every occurrence of a set of secret values in text with [`REDACTION`].
///
/// Built per execution from the secrets that execution used, and applied to everything it stores
/// or logs (step outputs, HTTP error bodies that echo a URL, `console.log` lines of code steps).
///
/// Overlaps are handled by covering: every occurrence of every value is found, including
/// overlapping ones, and each maximal run of overlapping occurrences becomes one `***`. So with
/// values `abcd` and `cdef`, `xabcdefx` becomes `x***x`, not `x***efx`, which would leave a piece
/// of `cdef` behind. Adjacent (non-overlapping) occurrences stay separate: `kk` with value `k`
/// becomes `******`. Empty values are ignored (they would match everywhere). The copies held here
/// are zeroized on drop.
pub struct Redactor {
    /// Distinct non-empty values, longest first so a longer value is tried before its prefixes.
    values: Vec<Zeroizing<String>>,
}

impl Redactor {
    /// Builds a redactor from the values to hide.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a SecretValue>) -> Self {
        let mut values: Vec<Zeroizing<String>> = values
            .into_iter()
            .filter(|v| !v.is_empty())
            .map(|v| Zeroizing::new(v.expose().to_owned()))
            .collect();
        values.sort_by(|a, b| {
            b.len()
                .cmp(&a.len())
                .then_with(|| a.as_str().cmp(b.as_str()))
        });
        values.dedup_by(|a, b| a.as_str() == b.as_str());
        Self { values }
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Returns `text` with every occurrence of every value replaced by [`REDACTION`].
    pub fn redact(&self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_owned();
        }
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for value in &self.values {
            let value = value.as_str();
            let mut from = 0;
            // str::match_indices skips overlapping matches ("aa" in "aaa" once), which would
            // leave a fragment; restart one character after each match instead.
            while let Some(found) = text.get(from..).and_then(|rest| rest.find(value)) {
                let start = from + found;
                ranges.push(start..start + value.len());
                let step = value.chars().next().map_or(1, char::len_utf8);
                from = start + step;
            }
        }
        if ranges.is_empty() {
            return text.to_owned();
        }
        ranges.sort_by_key(|r| (r.start, r.end));
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        let mut iter = ranges.into_iter().peekable();
        while let Some(first) = iter.next() {
            let mut end = first.end;
            // Merge occurrences that overlap this run (start strictly inside it).
            while let Some(next) = iter.peek() {
                if next.start < end {
                    end = end.max(next.end);
                    iter.next();
                } else {
                    break;
                }
            }
            // Ranges are match boundaries of valid UTF-8 patterns, hence char boundaries.
            out.push_str(text.get(pos..first.start).unwrap_or_default());
            out.push_str(REDACTION);
            pos = end;
        }
        out.push_str(text.get(pos..).unwrap_or_default());
        out
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} values, <redacted>)", self.values.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn redactor(values: &[&str]) -> Redactor {
        let values: Vec<SecretValue> = values
            .iter()
            .map(|v| SecretValue::new((*v).to_owned()).unwrap())
            .collect();
        Redactor::new(&values)
    }

    #[test]
    fn replaces_every_occurrence() {
        let r = redactor(&["hunter2"]);
        assert_eq!(
            r.redact("GET https://x/?key=hunter2 failed: key hunter2 invalid"),
            "GET https://x/?key=*** failed: key *** invalid"
        );
        assert_eq!(r.redact("no secrets here"), "no secrets here");
        assert_eq!(r.redact("hunter2hunter2"), "******");
    }

    #[test]
    fn overlapping_and_nested_secrets_leave_no_fragment() {
        let r = redactor(&["abcd", "cdef"]);
        assert_eq!(r.redact("xabcdefx"), "x***x");
        let r = redactor(&["token", "tok"]);
        assert_eq!(r.redact("token tok toke"), "*** *** ***e");
        let r = redactor(&["aa"]);
        assert_eq!(r.redact("aaa"), "***");
        let r = redactor(&["ab", "ba"]);
        assert_eq!(r.redact("abab"), "***");
    }

    #[test]
    fn empty_values_ignored_and_unicode_safe() {
        let r = redactor(&["", "ключ"]);
        assert_eq!(r.redact("a ключключ b"), "a ****** b");
        assert!(redactor(&[""]).is_empty());
        assert_eq!(redactor(&[""]).redact("abc"), "abc");
    }

    #[test]
    fn debug_hides_values() {
        assert!(!format!("{:?}", redactor(&["hunter2"])).contains("hunter2"));
    }

    proptest! {
        /// No value of 4+ chars survives redaction, whatever the text around it, as long as the
        /// value cannot be rebuilt from `*` (the marker itself).
        #[test]
        fn no_value_survives(
            values in proptest::collection::vec("[a-c]{1,6}", 1..4),
            parts in proptest::collection::vec("[a-c ]{0,8}", 0..6),
        ) {
            let r = redactor(&values.iter().map(String::as_str).collect::<Vec<_>>());
            let mut text = String::new();
            for (i, p) in parts.iter().enumerate() {
                text.push_str(p);
                text.push_str(&values[i % values.len()]);
            }
            let out = r.redact(&text);
            for v in &values {
                prop_assert!(!out.contains(v.as_str()), "{v:?} in {out:?} from {text:?}");
            }
        }

        #[test]
        fn never_panics(values in proptest::collection::vec(any::<String>(), 0..4), text in any::<String>()) {
            let _ = redactor(&values.iter().map(String::as_str).collect::<Vec<_>>()).redact(&text);
        }
    }
}
