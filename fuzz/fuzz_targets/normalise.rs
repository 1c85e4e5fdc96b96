//! The address normaliser: never panics, and normalising is idempotent (a normalised address
//! parses to itself, with the same match key), so no spelling can slip past the list.
#![no_main]

use dnc_relay::address::{smtp_path, Address, Target};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    if let Ok(addr) = Address::parse(input) {
        let again = Address::parse(addr.as_str()).expect("a normalised address parses");
        assert_eq!(again, addr, "normalisation is idempotent");
        let _ = addr.domains().count();
        let _ = addr.untagged_local(Some('+'));
        let _ = smtp_path(input);
    }
    if let Ok(target) = Target::parse(input) {
        let shown = target.to_string();
        let again = Target::parse(&shown).expect("a normalised target parses");
        assert_eq!(again.match_key(), target.match_key(), "match keys are stable");
    }
});
