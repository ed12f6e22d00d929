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
