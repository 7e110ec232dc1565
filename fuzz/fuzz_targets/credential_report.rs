//! Any bytes, as a CSV report or as the JSON envelope: parse errors are fine, panics are not.
#![no_main]

use std::io::Cursor;

use castellan_sources::aws_credential_report::{COLUMNS, open_csv, open_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = open_csv("fuzz.csv", Cursor::new(data.to_vec())) {
        for row in reader {
            let _ = row;
        }
    }
    // With a valid header in front, the fuzzer reaches the row parser at once.
    let mut with_header = COLUMNS.join(",").into_bytes();
    with_header.push(b'\n');
    with_header.extend_from_slice(data);
    if let Ok(reader) = open_csv("fuzz.csv", Cursor::new(with_header)) {
        for row in reader {
            let _ = row;
        }
    }
    if let Ok(reader) = open_json("fuzz.json", data) {
        for row in reader {
            let _ = row;
        }
    }
});
