//! Static constructors, run exactly once.
//!
//! burn's WebGPU runtime (cubecl) registers its kernels with the `inventory` crate, whose
//! constructors wasm-ld gathers into the synthetic `__wasm_call_ctors`. When no exported function
//! calls it, wasm-ld treats the module as a "command" and wraps *every* export in a call to it, so
//! each `trainBatch`, `encode`, … re-ran all the constructors: in the WebGPU build that was ~13% of
//! a training step on the CPU side (measured with Chromium's profiler). Calling it once ourselves,
//! from the start function and before WebGPU starts, makes wasm-ld leave the exports alone.

#[cfg(target_family = "wasm")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Runs the module's static constructors the first time it is called; later calls do nothing.
pub fn run_once() {
    #[cfg(target_family = "wasm")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: the linker-synthesised constructor list, run once per instance before anything
        // that depends on it (the start function runs before any other export).
        ONCE.call_once(|| unsafe { __wasm_call_ctors() });
    }
}
