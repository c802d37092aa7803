//! Any text read as a phone in any region: never a panic, and E.164 is a fixed point.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sentlog::domain::phone::{normalize, parse_region};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for region in ["FR", "GB", "US", "ES"] {
            let n = normalize(text, parse_region(region).unwrap());
            if n.parsed {
                assert_eq!(normalize(&n.stored, parse_region(region).unwrap()).stored, n.stored);
            }
        }
    }
});
