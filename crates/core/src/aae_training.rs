//! Training the adversarial autoencoder: each step runs Makhzani et al.'s two phases on one batch,
//! each with its own Adam (PyTorch's defaults, ε = 1e-8) so one phase's moments never steer
//! another's update:
//! 1. reconstruction: encoder and decoder take a step on −log p(x|z);
//! 2. regularisation: the discriminator takes a step on telling prior samples from the (updated)
//!    encoder's codes (at `lr` × [`TrainConfig::discriminator_lr_scale`]), then the encoder takes a
//!    step on fooling the updated discriminator.
//!
//! Divergence is handled as in [`crate::training::Trainer`]: a loss that is not finite, a
//! reconstruction error that jumps far above its running level, or an update that makes a weight
//! non-finite rolls the model and all three optimisers back to the last sound step. The
//! discriminator winning outright is not divergence (its losses stay finite) but it stalls the
//! regularisation; [`AaeStats::discriminator_wins`] tells the panel so.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::aae::{Aae, discriminator_loss, generator_loss, reconstruction};
use crate::data::Digits;
use crate::error::VaeError;
use crate::inference::{check_pixels, one_hot, read1, upload};
use crate::model::PIXELS;
use crate::rng::Rng;
use crate::training::{
    LEVEL_RATE, Levels, Steps, TrainConfig, Trains, adam, check_lr, finite_probe,
};

/// What one step measured; losses are batch means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AaeStats {
    /// −log p(x|z), Bernoulli, nats per digit, before the step's updates.
    pub recon: f32,
    /// The discriminator's loss (nats, the sum of its two cross-entropies) before its update.
    pub discriminator: f32,
    /// The generator's loss −log D(code) (nats) against the updated discriminator.
    pub generator: f32,
    /// Mean D (the probability "drawn from the prior") over the prior samples.
    pub d_real: f32,
    /// Mean D over the codes.
    pub d_fake: f32,
}

/// D above this on the prior samples and below 1 − this on the codes is the discriminator
/// winning outright: the generator's gradient has all but vanished.
pub const WIN_CONFIDENCE: f32 = 0.95;

impl AaeStats {
    /// Whether the discriminator tells prior samples from codes almost perfectly.
    pub fn discriminator_wins(&self) -> bool {
        self.d_real > WIN_CONFIDENCE && self.d_fake < 1.0 - WIN_CONFIDENCE
    }
}

/// The optimisers of the three updates: reconstruction, discriminator, generator.
type Optimisers = [ModuleOptimizer; 3];

/// An AAE with its optimisers, its noise source and its last good weights.
pub struct AaeTrainer {
    model: Aae,
    optims: Optimisers,
    last_good: (Aae, Optimisers),
    /// Running level of the reconstruction error; `None` until a step is accepted.
    recon_level: Option<f32>,
    rng: Rng,
    steps: u64,
}

impl AaeTrainer {
    /// Takes a model (on any device) and prepares it for training there; `seed` draws the prior
    /// samples.
    pub fn new(model: Aae, seed: u64) -> Self {
        let model = model.train();
        let optims = [adam(), adam(), adam()];
        Self {
            last_good: (model.clone(), optims.clone()),
            model,
            optims,
            recon_level: None,
            rng: Rng::new(seed),
            steps: 0,
        }
    }

    /// One step (both phases) on `n` digits with `config`'s learning rate and prior; `labels` are
    /// needed by a label-guided model and ignored otherwise.
    pub async fn step(
        &mut self,
        pixels: &[f32],
        n: usize,
        labels: Option<&[u8]>,
        config: &TrainConfig,
    ) -> crate::Result<AaeStats> {
        check_pixels(pixels, n)?;
        let lr = config.lr;
        check_lr(lr)?;
        let d_lr = lr * config.discriminator_lr_scale;
        if check_lr(d_lr).is_err() {
            return Err(VaeError::InvalidInput(format!(
                "the discriminator's learning rate (lr × its scale, {lr} × {}) must be in (0, 1], got {d_lr}",
                config.discriminator_lr_scale
            )));
        }
        let guided = self.model.label_guided;
        let latent = self.model.latent();
        config.prior.check(latent, guided)?;
        let device = self.model.device();
        let guide = match (guided, labels) {
            (true, None) => {
                return Err(VaeError::InvalidInput(
                    "a label-guided model trains on labelled digits: pass their labels".into(),
                ));
            }
            (true, labels) => labels,
            (false, _) => None,
        };
        let onehot = guide.map(|l| one_hot(l, n, &device)).transpose()?;
        let prior = config.prior.sample(n, latent, guide, &mut self.rng)?;
        let x = upload(pixels, n, PIXELS, &device);
        let start = (self.model.clone(), self.optims.clone());

        // Reconstruction phase: only the encoder and the decoder are in this loss's graph.
        let model = self.model.clone();
        let recon = reconstruction(model.decode_logits(model.encode(x.clone())), x.clone()).mean();
        let grads = GradientsParams::from_grads(recon.backward(), &model);
        let model = self.optims[0].step(lr, model, grads);

        // Regularisation phase, discriminator: the codes are detached, so only it learns.
        let real = model.discriminate(upload(&prior, n, latent, &device), onehot.clone());
        let fake = model.discriminate(model.encode(x.clone()).detach(), onehot.clone());
        let d_loss = discriminator_loss(real.clone(), fake.clone());
        let grads = GradientsParams::from_grads(d_loss.backward(), &model);
        let model = self.optims[1].step(d_lr, model, grads);

        // Regularisation phase, generator: the gradient reaches the discriminator too; only the
        // encoder's is used.
        let g_loss = generator_loss(model.discriminate(model.encode(x), onehot));
        let mut grads = g_loss.backward();
        let grads = GradientsParams::from_module(&mut grads, &model.encoder);
        self.model = self.optims[2].step(lr, model, grads);

        let values = read1(Tensor::cat(
            vec![
                recon,
                d_loss,
                g_loss,
                sigmoid(real).mean(),
                sigmoid(fake).mean(),
                finite_probe(&self.model.valid()),
            ],
            0,
        ))
        .await?;
        let stats = AaeStats {
            recon: values[0],
            discriminator: values[1],
            generator: values[2],
            d_real: values[3],
            d_fake: values[4],
        };
        let failure = if let Some(i) = values[..5].iter().position(|v| !v.is_finite()) {
            let what = [
                "reconstruction error",
                "discriminator's loss",
                "generator's loss",
            ];
            Some(format!("the {} became {}", what[i.min(2)], values[i]))
        } else if let Some(level) = self
            .recon_level
            .filter(|&l| Levels::exploded(l, stats.recon))
        {
            Some(format!(
                "the reconstruction error jumped to {:.3e} nats from a running level of {level:.1}",
                stats.recon
            ))
        } else if values[5] != 0.0 {
            Some("the update made some weights infinite or NaN".into())
        } else {
            None
        };
        if let Some(why) = failure {
            let (model, optims) = self.last_good.clone();
            self.model = model;
            self.optims = optims;
            return Err(VaeError::Diverged(format!(
                "{why} at step {}; the weights were rolled back to the last step whose losses were \
                 sound (try a smaller learning rate)",
                self.steps + 1
            )));
        }
        self.last_good = start;
        let level = self.recon_level.get_or_insert(stats.recon);
        *level += LEVEL_RATE * (stats.recon - *level);
        self.steps += 1;
        Ok(stats)
    }
}

impl Trains for Aae {
    type Trainer = AaeTrainer;
}

impl Steps for AaeTrainer {
    type Model = Aae;
    type Stats = AaeStats;

    fn create(model: Aae, seed: u64) -> Self {
        Self::new(model, seed)
    }

    fn model(&self) -> Aae {
        self.model.valid()
    }

    fn set_model(&mut self, model: Aae) {
        let seed = self.rng.next_u64();
        *self = Self::new(model, seed);
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    async fn step_on(
        &mut self,
        digits: &Digits,
        indices: &[usize],
        config: &TrainConfig,
    ) -> crate::Result<AaeStats> {
        let (pixels, labels) = digits.batch(indices);
        self.step(&pixels, indices.len(), Some(&labels), config)
            .await
    }

    fn headline(stats: &AaeStats) -> f32 {
        stats.recon
    }
}
