//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::prelude::*;
use vae_core::backend::cpu_device;

/// Runs a future to completion: on the CPU every tensor read resolves at once.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

pub fn device() -> Device {
    cpu_device()
}

/// A model whose initial values come from burn's generator seeded with `seed`, the same on every
/// run. The generator is the device's, shared by the tests a binary runs in parallel, and burn
/// draws a parameter's values when it is first used: every test that initialises a model goes
/// through here, and the read inside the lock draws them all before another test can draw.
pub fn seeded_init<M: burn::module::Module>(seed: u64, init: impl FnOnce(&Device) -> M) -> M {
    static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = GENERATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let device = device();
    device.seed(seed);
    let model = init(&device);
    assert!(block_on(vae_core::training::weights_are_finite(&model)).unwrap());
    model
}

/// A path from the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

pub fn assert_close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let scale = w.abs().max(1.0);
        assert!(
            (g - w).abs() <= tolerance * scale,
            "{what}[{i}]: got {g}, want {w} (tolerance {tolerance} × {scale})"
        );
    }
}

/// A JSON array of numbers (a fixture's field) as `f32`s.
pub fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// A training step's settings: learning rate, β and likelihood (σ_x fixed).
pub fn config(
    lr: f64,
    beta: f32,
    likelihood: vae_core::loss::Likelihood,
) -> vae_core::training::TrainConfig {
    vae_core::training::TrainConfig::new()
        .with_lr(lr)
        .with_beta(beta)
        .with_likelihood(likelihood)
}
