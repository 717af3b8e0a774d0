//! Secret-key strings: never panics; an accepted key is non-zero, below r, and its decimal
//! form parses back to the same scalar; errors never echo the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorate_bls::{KeyError, SecretKey};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match SecretKey::parse(s) {
        Ok(key) => {
            let scalar = key.expose_scalar();
            let decimal = scalar.to_string();
            let again = SecretKey::parse(&decimal).unwrap();
            assert_eq!(again.expose_scalar(), scalar);
            assert_ne!(decimal, "0");
        }
        Err(KeyError::NotANumber { position }) => {
            assert!(position < s.len());
            assert!(s.is_char_boundary(position));
        }
        Err(e) => {
            let msg = e.to_string();
            let t = s.trim();
            if t.len() > 8 {
                assert!(!msg.contains(t), "error echoes the input");
            }
        }
    }
});
