//! Any bytes given to the safetensors reader: it must return an error or a file whose tensors
//! match the architecture it names, never panic, and never allocate beyond what the bytes
//! themselves justify (libFuzzer's `-malloc_limit_mb`, set by `scripts/fuzz`, catches that).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vae_core::weights::{expected_shapes, read_safetensors};

fuzz_target!(|bytes: &[u8]| {
    let Ok(file) = read_safetensors(bytes) else {
        return;
    };
    let expected = expected_shapes(&file.config);
    assert_eq!(file.tensors.len(), expected.len(), "tensor count");
    for (name, shape) in expected {
        let tensor = &file.tensors[&name];
        assert_eq!(tensor.shape, shape, "{name}");
        assert_eq!(tensor.values.len(), shape.iter().product::<usize>(), "{name}");
        assert!(tensor.values.iter().all(|v| v.is_finite()), "{name} holds a non-finite value");
    }
});
