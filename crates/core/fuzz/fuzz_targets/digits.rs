//! Any bytes given to the digits reader: an error, or digits whose every batch can be read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vae_core::data::Digits;

fuzz_target!(|bytes: &[u8]| {
    let Ok(digits) = Digits::from_bytes(bytes) else {
        return;
    };
    let all: Vec<usize> = (0..digits.len()).collect();
    let (pixels, labels) = digits.batch(&all);
    assert_eq!(pixels.len(), labels.len() * 784);
    assert!(labels.iter().all(|&l| l < 10));
    assert!(pixels.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(Digits::from_bytes(&digits.to_bytes()).as_ref(), Ok(&digits));
});
