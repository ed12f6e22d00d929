//! The hand-written training loop (burn-train's `Learner` does not run on wasm): one step is
//! forward, loss, backward and an Adam update.
//!
//! Divergence is caught three ways, and each rolls the model back to the last weights whose own
//! loss was measured and found sound (finite, and not far above the run's recent level): a loss
//! that is not finite; a loss term that jumps far above its running level (an explosion that is
//! still finite, e.g. 8·10⁷ nats one step after 500); and weights that an update made non-finite.
//! So the model a caller can read, encode with or save never holds a NaN or an exploded state.

use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;

use crate::data::Digits;
use crate::error::VaeError;
use crate::inference::{check_pixels, one_hot, read1, upload};
use crate::loss::{Likelihood, LossTerms, loss, recon_plus_kl_per_digit};
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
    /// KL warm-up: over the first this many steps the KL's weight rises linearly from 0 to β, so
    /// the decoder learns to use the code before the KL pulls it towards the prior. 0 (none) is the
    /// reference recipe; the hierarchical VAE uses it to keep its top layer alive.
    #[config(default = 0)]
    pub warmup_steps: u64,
    /// Free bits (Kingma et al. 2016) of the hierarchical VAE's top layer: below this many nats
    /// per z₂ dimension (batch mean) its KL is not penalised, so the top layer is made to carry
    /// at least that much about each digit instead of leaving everything to z₁. 0 is the plain
    /// ELBO; the reported KL is always the true one. One-layer models ignore it.
    #[config(default = 0.0)]
    pub free_bits: f32,
    /// The adversarial autoencoder's prior: N(0, I), the VAE's, unless another shape is chosen.
    /// Other kinds ignore it.
    #[config(default = "crate::aae::Prior::Gaussian")]
    pub prior: crate::aae::Prior,
    /// The adversarial autoencoder's discriminator learns at `lr` times this. 1 puts it on an
    /// equal footing with the encoder, which keeps it from winning outright; a larger one lets it
    /// outpace the encoder (the instability the panel warns about). Other kinds ignore it.
    #[config(default = 1.0)]
    pub discriminator_lr_scale: f64,
}

impl TrainConfig {
    /// The KL weight at step `step` (0-based): β, ramped up over [`TrainConfig::warmup_steps`].
    pub fn beta_at(&self, step: u64) -> f32 {
        if step >= self.warmup_steps {
            self.beta
        } else {
            self.beta * (step + 1) as f32 / self.warmup_steps as f32
        }
    }
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
    /// A hierarchical model's KL split by layer, bottom (z₁) then top (z₂); they add up to `kl`.
    /// `None` for one-layer models.
    pub kl_layers: Option<[f32; 2]>,
}

/// What a model kind contributes to a training step: its loss on one batch. The trainer does the
/// rest (checks, rollback, the Adam update) the same way for every kind.
pub trait Trainable: Module {
    /// The device the weights live on.
    fn device(&self) -> Device;
    /// Whether a step needs the digits' labels (conditional models).
    fn wants_labels(&self) -> bool {
        false
    }
    /// The loss on `x` (`[batch, 784]`, with `labels` `[batch, 10]` one-hot when
    /// [`Trainable::wants_labels`]), drawing the noise it needs from `rng`. A Gaussian
    /// likelihood's σ_x receives a gradient only when `config.learn_sigma_x`.
    fn objective(
        &self,
        x: Tensor<2>,
        labels: Option<Tensor<2>>,
        rng: &mut Rng,
        config: &TrainConfig,
    ) -> Objective;
    /// ln σ_x of the Gaussian likelihood, `[1]`.
    fn log_sigma_x(&self) -> Tensor<1>;
}

/// One batch's loss: what is minimised and the terms it is made of, batch means in nats.
pub struct Objective {
    pub terms: LossTerms,
    /// A hierarchical model's KL of the bottom and top layer (they add up to `terms.kl`).
    pub kl_layers: Option<[Tensor<1>; 2]>,
}

impl Trainable for Vae {
    fn device(&self) -> Device {
        self.fc1.weight.device()
    }

    fn wants_labels(&self) -> bool {
        self.kind == ModelKind::Conditional
    }

    fn objective(
        &self,
        x: Tensor<2>,
        labels: Option<Tensor<2>>,
        rng: &mut Rng,
        config: &TrainConfig,
    ) -> Objective {
        let [n, _] = x.shape().dims();
        let latent = self.latent();
        let eps = (self.kind != ModelKind::Autoencoder)
            .then(|| upload(&rng.normals(n * latent), n, latent, &x.device()));
        let mut output = self.forward(x.clone(), labels, eps);
        if !learns_sigma_x(config) {
            // No gradient reaches σ_x, so Adam leaves it where it is.
            output.log_sigma_x = output.log_sigma_x.detach();
        }
        Objective {
            terms: loss(&output, x, config.likelihood, config.beta),
            kl_layers: None,
        }
    }

    fn log_sigma_x(&self) -> Tensor<1> {
        self.log_sigma_x.val()
    }
}

/// Whether a step trains the Gaussian likelihood's σ_x.
pub fn learns_sigma_x(config: &TrainConfig) -> bool {
    config.learn_sigma_x && config.likelihood == Likelihood::Gaussian
}

/// Refuses a learning rate outside (0, 1] before any step is taken.
pub fn check_lr(lr: f64) -> crate::Result<()> {
    if lr.is_finite() && lr > 0.0 && lr <= 1.0 {
        Ok(())
    } else {
        Err(VaeError::InvalidInput(format!(
            "learning rate must be in (0, 1], got {lr}"
        )))
    }
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
pub(crate) const LEVEL_RATE: f32 = 0.1;

/// Running levels of the reconstruction and KL terms (per digit, nats) of the accepted steps.
/// They are tracked apart from β, so moving the β slider mid-run is never mistaken for divergence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Levels {
    recon: f32,
    kl: f32,
}

impl Levels {
    pub(crate) fn exploded(level: f32, value: f32) -> bool {
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

/// The error of a step refused at `step` for `why`, its weights rolled back.
pub(crate) fn rolled_back(why: &str, step: u64) -> VaeError {
    VaeError::Diverged(format!(
        "{why} at step {step}; the weights were rolled back to the last step whose loss was sound \
         (try a smaller learning rate)"
    ))
}

/// A model with its optimiser state, its noise source and its last good weights.
pub struct Trainer<M: Trainable = Vae> {
    model: M,
    optim: ModuleOptimizer,
    last_good: (M, ModuleOptimizer),
    /// `None` until the first step is accepted.
    levels: Option<Levels>,
    rng: Rng,
    steps: u64,
}

impl<M: Trainable> Trainer<M> {
    /// Takes a model (on any device) and prepares it for training on that device.
    pub fn new(model: M, seed: u64) -> Self {
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
    pub fn model(&self) -> M {
        self.model.valid()
    }

    /// Replaces the weights (a loaded file, say) and starts the optimiser afresh.
    pub fn set_model(&mut self, model: M) {
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
        check_lr(lr)?;
        if !(beta.is_finite() && (0.0..=1000.0).contains(&beta)) {
            return Err(VaeError::InvalidInput(format!(
                "β must be in [0, 1000], got {beta}"
            )));
        }
        if !(config.free_bits.is_finite() && (0.0..=100.0).contains(&config.free_bits)) {
            return Err(VaeError::InvalidInput(format!(
                "free bits must be in [0, 100] nats per dimension, got {}",
                config.free_bits
            )));
        }
        let device = self.model.device();
        let labels = labels.map(|l| one_hot(l, n, &device)).transpose()?;
        let x = upload(pixels, n, PIXELS, &device);
        let config = &config.clone().with_beta(config.beta_at(self.steps));
        let Objective { terms, kl_layers } = self.model.objective(x, labels, &mut self.rng, config);
        let mut parts = vec![terms.total.clone(), terms.recon.clone(), terms.kl.clone()];
        parts.extend(kl_layers.into_iter().flatten());
        let values = read1(Tensor::cat(parts, 0)).await?;
        let mut stats = StepStats {
            loss: values[0],
            recon: values[1],
            kl: values[2],
            sigma_x: None,
            kl_layers: (values.len() == 5).then(|| [values[3], values[4]]),
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
            vec![finite_probe(&model), model.log_sigma_x()],
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
        rolled_back(why, self.steps + 1)
    }

    /// One step on the digits at `indices` of `digits` (their labels go to a conditional model).
    pub async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
    ) -> crate::Result<StepStats> {
        let (pixels, labels) = digits.batch(indices);
        let labels = self.model.wants_labels().then_some(labels.as_slice());
        self.step(&pixels, indices.len(), labels, config).await
    }
}

/// A trainer a [`crate::session::Session`] can drive: one step on chosen digits, and the model.
/// [`Trainer`] is it for every [`Trainable`] kind; the adversarial autoencoder, whose step has
/// phases of its own, has [`crate::aae_training::AaeTrainer`].
// The futures run on one thread (a browser tab's, or `pollster`'s), so no `Send` bound is needed.
#[allow(async_fn_in_trait)]
pub trait Steps {
    type Model;
    /// What one step reports.
    type Stats: Copy;
    /// Prepares `model` for training; `seed` draws the noise.
    fn create(model: Self::Model, seed: u64) -> Self;
    /// The current weights, without gradient tracking.
    fn model(&self) -> Self::Model;
    /// Replaces the weights and starts the optimisers afresh.
    fn set_model(&mut self, model: Self::Model);
    /// Steps taken.
    fn steps(&self) -> u64;
    /// One step on the digits at `indices` of `digits`.
    async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
    ) -> crate::Result<Self::Stats>;
    /// The loss a progress bar shows, nats per digit.
    fn headline(stats: &Self::Stats) -> f32;
}

/// The trainer of each model kind.
pub trait Trains: Sized {
    type Trainer: Steps<Model = Self>;
}

impl Trains for Vae {
    type Trainer = Trainer<Vae>;
}

impl Trains for crate::hvae::Hvae {
    type Trainer = Trainer<crate::hvae::Hvae>;
}

impl<M: Trainable> Steps for Trainer<M> {
    type Model = M;
    type Stats = StepStats;

    fn create(model: M, seed: u64) -> Self {
        Trainer::new(model, seed)
    }

    fn model(&self) -> M {
        Trainer::model(self)
    }

    fn set_model(&mut self, model: M) {
        Trainer::set_model(self, model)
    }

    fn steps(&self) -> u64 {
        Trainer::steps(self)
    }

    async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
    ) -> crate::Result<StepStats> {
        Trainer::step_on(self, digits, indices, config).await
    }

    fn headline(stats: &StepStats) -> f32 {
        stats.loss
    }
}

/// Whether every weight of `model` is finite, with one read of one number: Σ 0·w is 0 exactly
/// when no w is infinite or NaN (0·∞ and 0·NaN are NaN), so no weight leaves the device.
pub async fn weights_are_finite<M: Module>(model: &M) -> crate::Result<bool> {
    Ok(read1(finite_probe(model)).await?[0] == 0.0)
}

/// Σ 0·w over every parameter of `model`, on its device: `[1]`, 0 exactly when all are finite.
pub(crate) fn finite_probe<M: Module>(model: &M) -> Tensor<1> {
    struct Probe(Vec<Tensor<1>>);
    impl ModuleVisitor for Probe {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().mul_scalar(0.0).sum());
        }
    }
    let mut probe = Probe(Vec::new());
    model.visit(&mut probe);
    Tensor::cat(probe.0, 0).sum()
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
