//! The hand-written training loop (burn-train's `Learner` does not run on wasm): one step is
//! forward, loss, backward and an Adam update. A step whose loss is not finite changes nothing
//! and rolls the model back to the last weights that gave a finite loss.

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::data::Digits;
use crate::error::VaeError;
use crate::inference::{check_pixels, one_hot, read1, upload};
use crate::loss::{Likelihood, loss, negative_elbo_per_digit};
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
}

/// Per-digit means of one step's loss, in nats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    pub loss: f32,
    pub recon: f32,
    pub kl: f32,
}

/// Adam as PyTorch defines it (ε = 1e-8; burn's default is 1e-5).
pub fn adam() -> ModuleOptimizer {
    AdamConfig::new().with_epsilon(1e-8).init()
}

/// A model with its optimiser state, its noise source and its last good weights.
pub struct Trainer {
    model: Vae,
    optim: ModuleOptimizer,
    last_good: (Vae, ModuleOptimizer),
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

    /// One step on `n` digits. Returns the loss terms measured before the update.
    pub async fn step(
        &mut self,
        pixels: &[f32],
        n: usize,
        labels: Option<&[u8]>,
        lr: f64,
        beta: f32,
        likelihood: Likelihood,
    ) -> crate::Result<StepStats> {
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

        let output = self.model.forward(x.clone(), labels, eps);
        let terms = loss(&output, x, likelihood, beta);
        let values = read1(Tensor::cat(
            vec![terms.total.clone(), terms.recon.clone(), terms.kl.clone()],
            0,
        ))
        .await?;
        let stats = StepStats {
            loss: values[0],
            recon: values[1],
            kl: values[2],
        };
        if !values.iter().all(|v| v.is_finite()) {
            let (model, optim) = self.last_good.clone();
            self.model = model;
            self.optim = optim;
            return Err(VaeError::Diverged(format!(
                "the loss became {} at step {}; the weights were rolled back to the last good step \
                 (try a smaller learning rate)",
                stats.loss,
                self.steps + 1
            )));
        }
        self.last_good = (self.model.clone(), self.optim.clone());
        let grads = GradientsParams::from_grads(terms.total.backward(), &self.model);
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.steps += 1;
        Ok(stats)
    }

    /// One step on the digits at `indices` of `digits` (their labels go to a conditional model).
    pub async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        lr: f64,
        beta: f32,
        likelihood: Likelihood,
    ) -> crate::Result<StepStats> {
        let (pixels, labels) = digits.batch(indices);
        let labels = (self.model.kind == ModelKind::Conditional).then_some(labels.as_slice());
        self.step(&pixels, indices.len(), labels, lr, beta, likelihood)
            .await
    }

    /// One pass over `indices` of `digits` in a shuffled order, batches as PyTorch's DataLoader
    /// makes them (the last one may be short). Calls `progress` after each step.
    pub async fn epoch(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
        mut progress: impl FnMut(usize, usize, &StepStats),
    ) -> crate::Result<StepStats> {
        let mut order = indices.to_vec();
        self.rng.shuffle(&mut order);
        let batches: Vec<&[usize]> = order.chunks(config.batch_size.max(1)).collect();
        let (mut sum, mut count) = ([0.0f64; 3], 0usize);
        for (i, batch) in batches.iter().enumerate() {
            let stats = self
                .step_on(digits, batch, config.lr, config.beta, config.likelihood)
                .await?;
            for (s, v) in sum.iter_mut().zip([stats.loss, stats.recon, stats.kl]) {
                *s += v as f64 * batch.len() as f64;
            }
            count += batch.len();
            progress(i + 1, batches.len(), &stats);
        }
        let mean = |s: f64| (s / count as f64) as f32;
        Ok(StepStats {
            loss: mean(sum[0]),
            recon: mean(sum[1]),
            kl: mean(sum[2]),
        })
    }
}

/// Test-set −ELBO per digit (β = 1): `(one z sample, z = μ)`.
pub async fn evaluate(
    model: &Vae,
    digits: &Digits,
    indices: &[usize],
    likelihood: Likelihood,
    rng: &mut Rng,
) -> crate::Result<(f64, f64)> {
    let device = model.fc1.weight.device();
    let latent = model.latent();
    let (mut sampled, mut at_mean) = (0.0f64, 0.0f64);
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
        sampled += read1(negative_elbo_per_digit(&noisy, x.clone(), likelihood))
            .await?
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
        at_mean += read1(negative_elbo_per_digit(&exact, x, likelihood))
            .await?
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>();
    }
    let n = indices.len() as f64;
    Ok((sampled / n, at_mean / n))
}
