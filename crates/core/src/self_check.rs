//! Whether a copy of a model on another backend (in the browser: WebGPU) can stand in for the
//! CPU's. A GPU can compute wrong answers without raising an error (a kernel skipped, stale data
//! read), so before a model is handed over on WebGPU it takes one training step there and on the
//! CPU from the same weights, batch and noise, and the two must agree.

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;

use crate::aae::{Aae, Prior};
use crate::aae_training::AaeTrainer;
use crate::hvae::Hvae;
use crate::inference::read1;
use crate::model::{ModelKind, PIXELS, Vae};
use crate::training::{Steps, TrainConfig, Trainer};
use crate::vrae::Vrae;
use crate::vrae_training::VraeTrainer;

/// Largest disagreement [`step_disagreement`] accepts between two backends: the relative
/// difference of each loss, and of the Adam update as a whole (‖u − u_ref‖ / ‖u_ref‖). A working GPU
/// agrees to ~1e-5; elements whose gradient is ~0 may take Adam's ±lr step either way, which moves
/// the whole update by far less than this.
pub const STEP_CHECK_TOLERANCE: f32 = 1e-2;

/// Seed of the noise the checking step draws (the same on both sides).
const CHECK_SEED: u64 = 7;

/// Digits in the checking step's batch.
const CHECK_DIGITS: usize = 8;

/// A model kind whose training step can be compared across backends.
// The futures run on one thread (a browser tab's, or `pollster`'s), so no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait SelfCheck: Module + Clone {
    /// One training step from these weights on a fixed batch with fixed noise (Adam, lr 1e-3):
    /// the losses it measured and the weights it left.
    async fn check_step(&self) -> crate::Result<(Vec<f32>, Vec<f32>)>;
}

/// How far one training step of `model` departs from the same step of `reference` (same
/// weights, batch and noise): the largest relative difference of a loss, or of the update. The
/// start-up self-check runs it with `model` on WebGPU and `reference` on the CPU. Not a number
/// counts as infinitely far.
pub async fn step_disagreement<M: SelfCheck>(model: &M, reference: &M) -> crate::Result<f32> {
    let before = flat_weights(reference).await?;
    let (losses, after) = model.check_step().await?;
    let (ref_losses, ref_after) = reference.check_step().await?;
    let mut off = 0.0f32;
    for (a, r) in losses.iter().zip(&ref_losses) {
        off = off.max((a - r).abs() / r.abs().max(1e-6));
    }
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for ((a, r), b) in after.iter().zip(&ref_after).zip(&before) {
        diff += ((a - b) as f64 - (r - b) as f64).powi(2);
        norm += ((r - b) as f64).powi(2);
    }
    off = off.max((diff.sqrt() / norm.sqrt().max(1e-30)) as f32);
    let sizes_differ = losses.len() != ref_losses.len() || after.len() != ref_after.len();
    Ok(if off.is_nan() || sizes_differ {
        f32::INFINITY
    } else {
        off
    })
}

/// Why `model` (the weights of `reference` on another backend) cannot stand in for `reference`,
/// in words, or `None` when one training step agrees within [`STEP_CHECK_TOLERANCE`].
pub async fn step_check<M: SelfCheck>(model: &M, reference: &M) -> crate::Result<Option<String>> {
    let off = step_disagreement(model, reference).await?;
    Ok((off > STEP_CHECK_TOLERANCE).then(|| {
        format!("WebGPU's training self-check disagreed with the CPU (one step's loss or update off by {off:.1e})")
    }))
}

/// Every parameter of `model`, in the order the module visits them, in one read.
pub async fn flat_weights<M: Module>(model: &M) -> crate::Result<Vec<f32>> {
    struct Flatten(Vec<Tensor<1>>);
    impl ModuleVisitor for Flatten {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().flatten(0, D - 1));
        }
    }
    let mut visitor = Flatten(Vec::new());
    model.visit(&mut visitor);
    if visitor.0.is_empty() {
        return Ok(Vec::new());
    }
    read1(Tensor::cat(visitor.0, 0)).await
}

/// `n` synthetic digits: a fixed pattern of greys in [0, 1].
fn check_pixels(n: usize) -> Vec<f32> {
    (0..n * PIXELS)
        .map(|i| ((i * 53 + 7) % 97) as f32 / 96.0)
        .collect()
}

/// Digit labels 0, 1, 2, … for `n` digits.
fn check_labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

impl SelfCheck for Vae {
    async fn check_step(&self) -> crate::Result<(Vec<f32>, Vec<f32>)> {
        let labels = (self.kind == ModelKind::Conditional).then(|| check_labels(CHECK_DIGITS));
        let mut trainer = Trainer::new(self.clone(), CHECK_SEED);
        let pixels = check_pixels(CHECK_DIGITS);
        let stats = trainer
            .step(
                &pixels,
                CHECK_DIGITS,
                labels.as_deref(),
                &TrainConfig::new(),
            )
            .await?;
        Ok((vec![stats.loss], flat_weights(&trainer.model()).await?))
    }
}

impl SelfCheck for Hvae {
    async fn check_step(&self) -> crate::Result<(Vec<f32>, Vec<f32>)> {
        let mut trainer = Trainer::new(self.clone(), CHECK_SEED);
        let pixels = check_pixels(CHECK_DIGITS);
        let stats = trainer
            .step(&pixels, CHECK_DIGITS, None, &TrainConfig::new())
            .await?;
        let mut losses = vec![stats.loss, stats.recon];
        losses.extend(stats.kl_layers.into_iter().flatten());
        Ok((losses, flat_weights(&trainer.model()).await?))
    }
}

impl SelfCheck for Aae {
    /// Both phases of one step, against the ring prior when the model is label-guided (N(0, I)
    /// cannot be), else N(0, I); all three losses compared.
    async fn check_step(&self) -> crate::Result<(Vec<f32>, Vec<f32>)> {
        let prior = if self.label_guided {
            Prior::Ring
        } else {
            Prior::Gaussian
        };
        let config = TrainConfig::new().with_prior(prior);
        let mut trainer = AaeTrainer::new(self.clone(), CHECK_SEED);
        let pixels = check_pixels(CHECK_DIGITS);
        let labels = check_labels(CHECK_DIGITS);
        let stats = trainer
            .step(&pixels, CHECK_DIGITS, Some(&labels), &config)
            .await?;
        let losses = vec![stats.recon, stats.discriminator, stats.generator];
        Ok((losses, flat_weights(&trainer.model()).await?))
    }
}

impl SelfCheck for Vrae {
    /// Four windows of 16 samples of two sines.
    async fn check_step(&self) -> crate::Result<(Vec<f32>, Vec<f32>)> {
        let (n, steps) = (4, 16);
        let values: Vec<f32> = (0..n * steps)
            .map(|i| (i as f32 * 0.4).sin() + 0.5 * (i as f32 * 1.3).cos())
            .collect();
        let mut trainer = VraeTrainer::new(self.clone(), CHECK_SEED);
        let stats = trainer.step(&values, n, steps, 1e-3).await?;
        let losses = vec![stats.loss, stats.recon, stats.kl];
        Ok((losses, flat_weights(&trainer.model()).await?))
    }
}
