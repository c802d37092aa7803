//! Any text given back as a page token is refused or decoded; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sentlog::domain::page::{PageTokens, fingerprint};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let tokens = PageTokens::new(b"fuzzing secret, 32 bytes long...");
        let _ = tokens.decode(text, &fingerprint("filter"));
    }
});
