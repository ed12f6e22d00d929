//! The hand-written training loop (burn-train's `Learner` does not run on wasm): one step is
//! forward, loss, backward and an Adam update.
//!
//! Divergence is caught three ways, and each rolls the model back to the last weights whose own
//! loss was measured and found sound (finite, and not far above the run's recent level): a loss
//! that is not finite; a loss term that jumps far above its running level (an explosion that is
//! still finite, e.g. 8·10⁷ nats one step after 500); and weights that an update made non-finite.
//! So the model a caller can read, encode with or save never holds a NaN or an exploded state.

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::data::Digits;
use crate::error::VaeError;
use crate::inference::{check_pixels, one_hot, read, read1, upload};
use crate::loss::{Likelihood, loss, recon_plus_kl_per_digit};
use crate::model::{ModelKind, PIXELS, Vae};
use crate::rng::Rng;

/// How to train. The defaults are the recipe of pytorch/examples `vae/main.py`, which the
/// shipped weights follow so their quality can be compared with PyTorch's.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Adam step size 1e-3: fast and stable for this model.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// β = 1 is the VAE's ELBO; larger β trades reconstruction for a more factorised latent.
    #[config(default = 1.0)]
    pub beta: f32,
    /// Bernoulli, as in the literature for MNIST.
    #[config(default = "Likelihood::Bernoulli")]
    pub likelihood: Likelihood,
    /// 128 digits per step: the reference recipe's batch.
    #[config(default = 128)]
    pub batch_size: usize,
    /// 30 passes over the 9,000 training digits.
    #[config(default = 30)]
    pub epochs: usize,
    /// Seeds the initial weights' order of use, the batch order and the noise ε.
    #[config(default = 1)]
    pub seed: u64,
    /// Whether a Gaussian likelihood's σ_x is trained with the weights. Off by default so σ_x stays
    /// what the person chose; when on, σ_x² settles near the mean squared pixel error.
    #[config(default = false)]
    pub learn_sigma_x: bool,
}

/// Per-digit means of one step's loss, in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    pub loss: f32,
    pub recon: f32,
    pub kl: f32,
    /// σ_x of the Gaussian likelihood the step used (after the update when it is learned); `None`
    /// for the Bernoulli likelihood.
    pub sigma_x: Option<f32>,
}

/// Adam as PyTorch defines it (ε = 1e-8; burn's default is 1e-5).
pub fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// A loss term counts as exploded when it exceeds its running level by more than this many times
/// the level's size plus [`EXPLOSION_SLACK`]. Healthy runs never jump 10× in one step (the loss
/// falls from ~550 towards ~100 nats); a diverging learning rate jumps by 10³ and more.
pub const EXPLOSION_FACTOR: f32 = 10.0;
/// Nats added to the explosion threshold, so terms near zero (the KL of a switched-off latent
/// space, which may grow quickly when β is lowered) do not trip it.
pub const EXPLOSION_SLACK: f32 = 50.0;
/// Weight of the newest accepted step in the running level (an exponential moving average).
const LEVEL_RATE: f32 = 0.1;

/// Running levels of the reconstruction and KL terms (per digit, nats) of the accepted steps.
/// They are tracked apart from β, so moving the β slider mid-run is never mistaken for divergence.
#[derive(Debug, Clone, Copy)]
struct Levels {
    recon: f32,
    kl: f32,
}

impl Levels {
    fn exploded(level: f32, value: f32) -> bool {
        value - level > EXPLOSION_FACTOR * level.abs() + EXPLOSION_SLACK
    }

    /// Why `stats` is an explosion relative to these levels, if it is.
    fn explosion(&self, stats: &StepStats) -> Option<String> {
        let jumped = |what: &str, level: f32, value: f32| {
            Self::exploded(level, value).then(|| {
                format!("the {what} jumped to {value:.3e} nats from a running level of {level:.1}")
            })
        };
        jumped("reconstruction term", self.recon, stats.recon)
            .or_else(|| jumped("KL term", self.kl, stats.kl))
    }

    fn update(&mut self, stats: &StepStats) {
        self.recon += LEVEL_RATE * (stats.recon - self.recon);
        self.kl += LEVEL_RATE * (stats.kl - self.kl);
    }
}

/// A model with its optimiser state, its noise source and its last good weights.
pub struct Trainer {
    model: Vae,
    optim: ModuleOptimizer,
    last_good: (Vae, ModuleOptimizer),
    /// `None` until the first step is accepted.
    levels: Option<Levels>,
    rng: Rng,
    steps: u64,
}

impl Trainer {
    /// Takes a model (on any device) and prepares it for training on that device.
    pub fn new(model: Vae, seed: u64) -> Self {
        let model = model.train(); // gradient tracking on, on the model's own device
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

    /// The current weights, without gradient tracking: what inference uses.
    pub fn model(&self) -> Vae {
        self.model.valid()
    }

    /// Replaces the weights (a loaded file, say) and starts the optimiser afresh.
    pub fn set_model(&mut self, model: Vae) {
        let seed = self.rng.next_u64();
        *self = Self::new(model, seed);
    }

    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One step on `n` digits with `config`'s learning rate, β, likelihood and σ_x rule (its batch
    /// size, epochs and seed are not used here). Returns the loss terms measured before the update.
    pub async fn step(
        &mut self,
        pixels: &[f32],
        n: usize,
        labels: Option<&[u8]>,
        config: &TrainConfig,
    ) -> crate::Result<StepStats> {
        let (lr, beta, likelihood) = (config.lr, config.beta, config.likelihood);
        check_pixels(pixels, n)?;
        if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
            return Err(VaeError::InvalidInput(format!(
                "learning rate must be in (0, 1], got {lr}"
            )));
        }
        if !(beta.is_finite() && (0.0..=1000.0).contains(&beta)) {
            return Err(VaeError::InvalidInput(format!(
                "β must be in [0, 1000], got {beta}"
            )));
        }
        let device = self.model.fc1.weight.device();
        let labels = labels.map(|l| one_hot(l, n, &device)).transpose()?;
        let latent = self.model.latent();
        let x = upload(pixels, n, PIXELS, &device);
        let eps = (self.model.kind != ModelKind::Autoencoder)
            .then(|| upload(&self.rng.normals(n * latent), n, latent, &device));

        let mut output = self.model.forward(x.clone(), labels, eps);
        let learn_sigma = config.learn_sigma_x && likelihood == Likelihood::Gaussian;
        if !learn_sigma {
            // No gradient reaches σ_x, so Adam leaves it where it is.
            output.log_sigma_x = output.log_sigma_x.detach();
        }
        let terms = loss(&output, x, likelihood, beta);
        let values = read1(Tensor::cat(
            vec![terms.total.clone(), terms.recon.clone(), terms.kl.clone()],
            0,
        ))
        .await?;
        let mut stats = StepStats {
            loss: values[0],
            recon: values[1],
            kl: values[2],
            sigma_x: None,
        };
        let failure = if !values.iter().all(|v| v.is_finite()) {
            Some(format!("the loss became {}", stats.loss))
        } else {
            self.levels.and_then(|levels| levels.explosion(&stats))
        };
        if let Some(why) = failure {
            return Err(self.roll_back(&why));
        }
        // These weights' own loss is sound: they are the ones to come back to.
        self.last_good = (self.model.clone(), self.optim.clone());
        match &mut self.levels {
            Some(levels) => levels.update(&stats),
            None => {
                self.levels = Some(Levels {
                    recon: stats.recon,
                    kl: stats.kl,
                })
            }
        }
        let grads = GradientsParams::from_grads(terms.total.backward(), &self.model);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        // One read after the update: the finiteness probe and ln σ_x together.
        let model = self.model();
        let after = read1(Tensor::cat(
            vec![finite_probe(&model), model.log_sigma_x.val()],
            0,
        ))
        .await?;
        if after[0] != 0.0 {
            return Err(self.roll_back("the update made some weights infinite or NaN"));
        }
        if likelihood == Likelihood::Gaussian {
            stats.sigma_x = Some(after[1].exp());
        }
        self.steps += 1;
        Ok(stats)
    }

    /// Restores the last good weights and optimiser state; the error says why and from where.
    fn roll_back(&mut self, why: &str) -> VaeError {
        let (model, optim) = self.last_good.clone();
        self.model = model;
        self.optim = optim;
        VaeError::Diverged(format!(
            "{why} at step {}; the weights were rolled back to the last step whose loss was sound \
             (try a smaller learning rate)",
            self.steps + 1
        ))
    }

    /// One step on the digits at `indices` of `digits` (their labels go to a conditional model).
    pub async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
    ) -> crate::Result<StepStats> {
        let (pixels, labels) = digits.batch(indices);
        let labels = (self.model.kind == ModelKind::Conditional).then_some(labels.as_slice());
        self.step(&pixels, indices.len(), labels, config).await
    }
}

/// Largest disagreement [`step_disagreement`] accepts between two backends: the relative
/// difference of the loss, and of the Adam update as a whole (‖u − u_ref‖ / ‖u_ref‖). A working GPU
/// agrees to ~1e-5; elements whose gradient is ~0 may take Adam's ±lr step either way, which moves
/// the whole update by far less than this.
pub const STEP_CHECK_TOLERANCE: f32 = 1e-2;

/// How far one training step of `model` departs from the same step of `reference` (same weights,
/// same batch of eight synthetic digits, same noise, β = 1, lr = 1e-3): the larger of the loss's
/// and the update's relative difference. The start-up self-check runs it with `model` on WebGPU
/// and `reference` on the CPU.
pub async fn step_disagreement(model: &Vae, reference: &Vae) -> crate::Result<f32> {
    let n = 8;
    let pixels: Vec<f32> = (0..n * PIXELS)
        .map(|i| ((i * 53 + 7) % 97) as f32 / 96.0)
        .collect();
    let labels: Option<Vec<u8>> =
        (model.kind == ModelKind::Conditional).then(|| (0..n).map(|i| (i % 10) as u8).collect());
    let before = flat_weights(reference).await?;
    let mut results = Vec::new();
    for m in [model, reference] {
        let mut trainer = Trainer::new(m.clone(), 7);
        let stats = trainer
            .step(&pixels, n, labels.as_deref(), &TrainConfig::new())
            .await?;
        results.push((stats.loss, flat_weights(&trainer.model()).await?));
    }
    let [(loss, after), (ref_loss, ref_after)] = [results.remove(0), results.remove(0)];
    let loss_off = (loss - ref_loss).abs() / ref_loss.abs().max(1e-6);
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for ((a, r), b) in after.iter().zip(&ref_after).zip(&before) {
        diff += ((a - b) as f64 - (r - b) as f64).powi(2);
        norm += ((r - b) as f64).powi(2);
    }
    let update_off = (diff.sqrt() / norm.sqrt().max(1e-30)) as f32;
    let off = loss_off.max(update_off);
    Ok(if off.is_nan() { f32::INFINITY } else { off })
}

/// Every weight of `model`, layer by layer.
async fn flat_weights(model: &Vae) -> crate::Result<Vec<f32>> {
    let mut layers = vec![&model.fc1, &model.fc21, &model.fc3, &model.fc4];
    layers.extend(&model.fc22);
    let mut out = read1(model.log_sigma_x.val()).await?;
    for layer in layers {
        out.extend(read(layer.weight.val()).await?);
        if let Some(bias) = &layer.bias {
            out.extend(read1(bias.val()).await?);
        }
    }
    Ok(out)
}

/// Whether every weight of `model` is finite, with one read of one number: Σ 0·w is 0 exactly
/// when no w is infinite or NaN (0·∞ and 0·NaN are NaN), so no weight leaves the device.
pub async fn weights_are_finite(model: &Vae) -> crate::Result<bool> {
    Ok(read1(finite_probe(model)).await?[0] == 0.0)
}

/// Σ 0·w over every weight of `model`, on its device: `[1]`, 0 exactly when all are finite.
fn finite_probe(model: &Vae) -> Tensor<1> {
    let mut layers = vec![&model.fc1, &model.fc21, &model.fc3, &model.fc4];
    layers.extend(&model.fc22);
    let probes: Vec<Tensor<1>> = layers
        .into_iter()
        .flat_map(|layer| {
            let weight = layer.weight.val().mul_scalar(0.0).sum();
            let bias = layer.bias.as_ref().map(|b| b.val().mul_scalar(0.0).sum());
            std::iter::once(weight).chain(bias)
        })
        .chain([model.log_sigma_x.val().mul_scalar(0.0).sum()])
        .collect();
    Tensor::cat(probes, 0).sum()
}

/// Test-set figures, means per digit in nats of the likelihood (β = 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestScores {
    /// −ELBO estimated with one z drawn from q(z|x) per digit.
    pub neg_elbo: f64,
    /// −log p(x|z = μ) + KL: deterministic, not an ELBO (the autoencoder's reconstruction error).
    pub score_at_mean: f64,
}

/// The test-set figures of `model` on `indices`.
pub async fn evaluate(
    model: &Vae,
    digits: &Digits,
    indices: &[usize],
    likelihood: Likelihood,
    rng: &mut Rng,
) -> crate::Result<TestScores> {
    let device = model.fc1.weight.device();
    let latent = model.latent();
    let (mut neg_elbo, mut score_at_mean) = (0.0f64, 0.0f64);
    for batch in indices.chunks(500) {
        let n = batch.len();
        let (pixels, labels) = digits.batch(batch);
        let labels = (model.kind == ModelKind::Conditional)
            .then(|| one_hot(&labels, n, &device))
            .transpose()?;
        let x = upload(&pixels, n, PIXELS, &device);
        let eps = upload(&rng.normals(n * latent), n, latent, &device);
        let noisy = model.forward(x.clone(), labels.clone(), Some(eps));
        let exact = model.forward(x.clone(), labels, None);
        neg_elbo += read1(recon_plus_kl_per_digit(&noisy, x.clone(), likelihood))
            .await?
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
        score_at_mean += read1(recon_plus_kl_per_digit(&exact, x, likelihood))
            .await?
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
    }
    let n = indices.len() as f64;
    Ok(TestScores {
        neg_elbo: neg_elbo / n,
        score_at_mean: score_at_mean / n,
    })
}
