//! Training the recurrent VAE on windows of the series' normal part, and its anomaly figures on
//! the held-out part.
//!
//! The step is the VAE's: Adam (PyTorch's settings) on the batch mean of −ELBO with one draw of z,
//! σ_x learned with the weights. As with the other trainers, a step whose loss is not finite or
//! jumps far above its running level is refused and the weights and optimiser go back to the last
//! sound step, so a too-large learning rate costs nothing.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::data::Batches;
use crate::error::VaeError;
use crate::inference::{read1, upload};
use crate::rng::Rng;
use crate::series::{Series, WINDOW, percentile, roc_auc, windows};
use crate::session::{EVAL_SEED_MIX, StepReport};
use crate::training::{Levels, adam, check_lr, finite_probe, rolled_back};
use crate::vrae::{Vrae, VraeScores, check_windows, evaluate, score_windows, terms};

/// What one step reports: the batch means before the update, nats per window, and σ_x after it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VraeStats {
    pub loss: f32,
    pub recon: f32,
    pub kl: f32,
    pub sigma_x: f32,
}

/// A recurrent VAE with its optimiser, noise source and last sound weights.
pub struct VraeTrainer {
    model: Vrae,
    optim: ModuleOptimizer,
    last_good: (Vrae, ModuleOptimizer),
    /// Running (reconstruction, KL) levels of accepted steps; `None` before the first.
    levels: Option<(f32, f32)>,
    rng: Rng,
    steps: u64,
}

impl VraeTrainer {
    pub fn new(model: Vrae, seed: u64) -> Self {
        let model = model.train();
        let optim = adam();
        Self {
            last_good: (model.clone(), optim.clone()),
            model,
            optim,
            levels: None,
            rng: Rng::new(seed),
            steps: 0,
        }
    }

    /// The current weights, without gradient tracking.
    pub fn model(&self) -> Vrae {
        self.model.valid()
    }

    /// Replaces the weights and starts the optimiser afresh.
    pub fn set_model(&mut self, model: Vrae) {
        let seed = self.rng.next_u64();
        *self = Self::new(model, seed);
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One step on `n` windows of `steps` standardised samples, row after row.
    pub async fn step(
        &mut self,
        values: &[f32],
        n: usize,
        steps: usize,
        lr: f64,
    ) -> crate::Result<VraeStats> {
        check_windows(values, n, steps)?;
        check_lr(lr)?;
        let x = upload(values, n, steps, &self.model.device());
        let t = terms(&self.model.forward_noisy(x.clone(), &mut self.rng), x);
        let (recon, kl) = (t.recon.mean(), t.kl.mean());
        let loss = recon.clone() + kl.clone();
        let values = read1(Tensor::cat(vec![loss.clone(), recon, kl], 0)).await?;
        let [loss_value, recon_value, kl_value] = [values[0], values[1], values[2]];
        let failure = if !values.iter().all(|v| v.is_finite()) {
            Some(format!("the loss became {loss_value}"))
        } else {
            self.levels.and_then(|(r, k)| {
                if Levels::exploded(r, recon_value) {
                    Some(format!(
                        "the reconstruction term jumped to {recon_value:.3e} nats from a running level of {r:.1}"
                    ))
                } else if Levels::exploded(k, kl_value) {
                    Some(format!(
                        "the KL term jumped to {kl_value:.3e} nats from a running level of {k:.1}"
                    ))
                } else {
                    None
                }
            })
        };
        if let Some(why) = failure {
            return Err(self.roll_back(&why));
        }
        self.last_good = (self.model.clone(), self.optim.clone());
        self.levels = Some(match self.levels {
            Some((r, k)) => (
                r + crate::training::LEVEL_RATE * (recon_value - r),
                k + crate::training::LEVEL_RATE * (kl_value - k),
            ),
            None => (recon_value, kl_value),
        });
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        let model = self.model();
        let after = read1(Tensor::cat(
            vec![finite_probe(&model), model.log_sigma_x.val()],
            0,
        ))
        .await?;
        if after[0] != 0.0 {
            return Err(self.roll_back("the update made some weights infinite or NaN"));
        }
        self.steps += 1;
        Ok(VraeStats {
            loss: loss_value,
            recon: recon_value,
            kl: kl_value,
            sigma_x: after[1].exp(),
        })
    }

    fn roll_back(&mut self, why: &str) -> VaeError {
        let (model, optim) = self.last_good.clone();
        self.model = model;
        self.optim = optim;
        rolled_back(why, self.steps + 1)
    }
}

/// How well the scores of held-out windows tell the labelled anomaly from normal behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyFigures {
    /// The start of each held-out window scored.
    pub starts: Vec<usize>,
    /// Each window's anomaly score (−log p(x|z) + KL at z = μ, nats).
    pub scores: Vec<f32>,
    /// Whether each window overlaps the labelled anomaly.
    pub anomalous: Vec<bool>,
    /// The area under the ROC curve of the scores for anomalous against normal windows.
    pub auc: f64,
    /// The 99th percentile of the normal windows' scores.
    pub normal_p99: f32,
    /// The median score of the anomalous windows.
    pub anomalous_median: f32,
}

/// Scores the held-out windows of `series`, `stride` samples apart.
pub async fn anomaly_figures(
    model: &Vrae,
    series: &Series,
    stride: usize,
) -> crate::Result<AnomalyFigures> {
    let starts = series.held_out_starts(stride);
    let values = windows(&series.standardised(), &starts);
    let (scores, _) = score_windows(model, &values, starts.len(), WINDOW).await?;
    let anomalous: Vec<bool> = starts
        .iter()
        .map(|&s| series.window_is_anomalous(s))
        .collect();
    let pick = |want: bool| -> Vec<f32> {
        scores
            .iter()
            .zip(&anomalous)
            .filter(|(_, a)| **a == want)
            .map(|(s, _)| *s)
            .collect()
    };
    let no_class = || VaeError::Data("the held-out part needs normal and anomalous windows".into());
    Ok(AnomalyFigures {
        auc: roc_auc(&scores, &anomalous).ok_or_else(no_class)?,
        normal_p99: percentile(&pick(false), 99.0).ok_or_else(no_class)?,
        anomalous_median: percentile(&pick(true), 50.0).ok_or_else(no_class)?,
        starts,
        scores,
        anomalous,
    })
}

/// A recurrent VAE in training on the normal part of a series.
pub struct VraeSession {
    trainer: VraeTrainer,
    series: Series,
    standardised: Vec<f32>,
    batches: Batches,
    eval_rng: Rng,
}

impl VraeSession {
    /// Trains `model` on windows of `series`' training part, in an order shuffled from `seed`
    /// (which also draws the noise).
    pub fn new(model: Vrae, series: Series, seed: u64) -> crate::Result<Self> {
        Ok(Self {
            trainer: VraeTrainer::new(model, seed),
            standardised: series.standardised(),
            batches: Batches::new(series.train_starts(), seed)?,
            eval_rng: Rng::new(seed ^ EVAL_SEED_MIX),
            series,
        })
    }

    pub fn model(&self) -> Vrae {
        self.trainer.model()
    }

    pub fn set_model(&mut self, model: Vrae) {
        self.trainer.set_model(model)
    }

    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    pub fn series(&self) -> &Series {
        &self.series
    }

    /// One step on the next `batch_size` training windows.
    pub async fn step(
        &mut self,
        batch_size: usize,
        lr: f64,
    ) -> crate::Result<StepReport<VraeStats>> {
        crate::session::check_batch_size(batch_size)?;
        let batch = self.batches.next(batch_size);
        let steps_per_epoch = self.batches.per_epoch(batch_size);
        let values = windows(&self.standardised, &batch.indices);
        let stats = self
            .trainer
            .step(&values, batch.indices.len(), WINDOW, lr)
            .await?;
        Ok(StepReport {
            stats,
            epoch: batch.epoch,
            step_in_epoch: batch.step_in_epoch,
            steps_per_epoch,
            ends_epoch: batch.ends_epoch,
        })
    }

    /// Mean −ELBO terms of the held-out windows, `stride` apart, one draw of z each.
    pub async fn evaluate(&mut self, stride: usize) -> crate::Result<VraeScores> {
        let starts = self.series.held_out_starts(stride);
        let values = windows(&self.standardised, &starts);
        let model = self.trainer.model();
        evaluate(&model, &values, starts.len(), WINDOW, &mut self.eval_rng).await
    }
}
