//! The variational autoencoder: an MLP encoder to (μ, log σ²), the reparameterisation
//! z = μ + σ⊙ε, and an MLP decoder back to pixel logits. The layer names follow
//! pytorch/examples `vae/main.py` (`fc1`, `fc21`, `fc22`, `fc3`, `fc4`) so its weights load as is.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use serde::{Deserialize, Serialize};

use crate::loss::DEFAULT_SIGMA_X;

/// Pixels in one 28×28 digit.
pub const PIXELS: usize = 784;
/// Digit classes, the width of a conditional model's one-hot label.
pub const CLASSES: usize = 10;

/// Which member of the family the module is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify))]
pub enum ModelKind {
    /// The variational autoencoder of Kingma & Welling: sampled z, KL to N(0, I).
    #[default]
    Vae,
    /// The plain autoencoder: z = μ, no log σ² head (`fc22`), no KL. The contrast case whose latent
    /// space has holes.
    Autoencoder,
    /// A conditional VAE: the one-hot label is appended to the encoder input (`fc1`) and the decoder
    /// input (`fc3`), after the pixels and after z respectively.
    Conditional,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Vae => "vae",
            ModelKind::Autoencoder => "autoencoder",
            ModelKind::Conditional => "conditional",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "vae" => Some(ModelKind::Vae),
            "autoencoder" | "ae" => Some(ModelKind::Autoencoder),
            "conditional" | "cvae" => Some(ModelKind::Conditional),
            _ => None,
        }
    }

    /// Columns of the label appended to the encoder and decoder inputs.
    pub fn label_width(self) -> usize {
        if self == ModelKind::Conditional {
            CLASSES
        } else {
            0
        }
    }
}

/// The architecture. Training settings live in [`crate::training::TrainConfig`].
#[derive(Config, Debug, PartialEq)]
pub struct VaeConfig {
    /// 400 hidden units: the size of pytorch/examples `vae/main.py`, so its weights fit, and small
    /// enough to train in a browser tab.
    #[config(default = 400)]
    pub hidden: usize,
    /// 20 latent dimensions reconstruct digits well; 2 is the size whose latent space can be drawn.
    #[config(default = 20)]
    pub latent: usize,
    /// The VAE unless asked otherwise.
    #[config(default = "ModelKind::Vae")]
    pub kind: ModelKind,
}

impl VaeConfig {
    /// Largest hidden or latent size accepted: beyond this a tab would run out of memory long
    /// before anything useful happens, and a typo like 40000 should be an error, not a freeze.
    pub const MAX_WIDTH: usize = 4096;

    /// Checks sizes before any allocation, so a bad request is an error rather than a panic.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, value) in [("hidden", self.hidden), ("latent", self.latent)] {
            if value == 0 || value > Self::MAX_WIDTH {
                return Err(crate::VaeError::InvalidInput(format!(
                    "{name} size must be between 1 and {}, got {value}",
                    Self::MAX_WIDTH
                )));
            }
        }
        Ok(())
    }

    /// A freshly initialised model. Linear layers start as PyTorch's do: U(−1/√fan_in, 1/√fan_in).
    pub fn init(&self, device: &Device) -> Vae {
        let label = self.kind.label_width();
        Vae {
            fc1: LinearConfig::new(PIXELS + label, self.hidden).init(device),
            fc21: LinearConfig::new(self.hidden, self.latent).init(device),
            fc22: (self.kind != ModelKind::Autoencoder)
                .then(|| LinearConfig::new(self.hidden, self.latent).init(device)),
            fc3: LinearConfig::new(self.latent + label, self.hidden).init(device),
            fc4: LinearConfig::new(self.hidden, PIXELS).init(device),
            log_sigma_x: log_sigma_param(DEFAULT_SIGMA_X, device),
            kind: self.kind,
        }
    }
}

#[derive(Module, Debug)]
pub struct Vae {
    /// Encoder hidden layer.
    pub fc1: Linear,
    /// μ head.
    pub fc21: Linear,
    /// log σ² head; absent in the plain autoencoder.
    pub fc22: Option<Linear>,
    /// Decoder hidden layer.
    pub fc3: Linear,
    /// Pixel logits.
    pub fc4: Linear,
    /// ln σ_x of a Gaussian likelihood (one number; the Bernoulli likelihood does not use it).
    /// Trained only when asked ([`crate::training::TrainConfig::learn_sigma_x`]).
    pub log_sigma_x: Param<Tensor<1>>,
    #[module(skip)]
    pub kind: ModelKind,
}

/// What a forward pass returns: everything the loss and the views need.
#[derive(Debug, Clone)]
pub struct VaeOutput {
    /// Decoder output before the sigmoid, `[batch, 784]`.
    pub logits: Tensor<2>,
    /// Posterior means, `[batch, latent]`.
    pub mu: Tensor<2>,
    /// Posterior log-variances, `[batch, latent]`; `None` for the plain autoencoder.
    pub logvar: Option<Tensor<2>>,
    /// ln σ_x of a Gaussian likelihood, `[1]`.
    pub log_sigma_x: Tensor<1>,
}

/// ln σ as a one-number parameter.
pub fn log_sigma_param(sigma_x: f32, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::from_floats([sigma_x.ln()], device))
}

impl Vae {
    pub fn config(&self) -> VaeConfig {
        let [_, hidden] = self.fc1.weight.shape().dims();
        let [_, latent] = self.fc21.weight.shape().dims();
        VaeConfig {
            hidden,
            latent,
            kind: self.kind,
        }
    }

    pub fn latent(&self) -> usize {
        self.config().latent
    }

    /// The same model with the Gaussian likelihood's σ_x set to `sigma_x`.
    pub fn with_sigma_x(mut self, sigma_x: f32) -> crate::Result<Self> {
        crate::loss::check_sigma_x(sigma_x)?;
        self.log_sigma_x = log_sigma_param(sigma_x, &self.fc1.weight.device());
        Ok(self)
    }

    /// The encoder q(z|x).
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`, grey values in [0, 1]
    /// - `labels`: `[batch, 10]` one-hot, conditional models only
    /// - returns μ and log σ², each `[batch, latent]` (log σ² is `None` for the autoencoder)
    pub fn encode(
        &self,
        x: Tensor<2>,
        labels: Option<Tensor<2>>,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let x = self.with_label(x, labels); // [batch, 784 (+10)]
        let h = relu(self.fc1.forward(x)); // [batch, hidden]
        let mu = self.fc21.forward(h.clone()); // [batch, latent]
        let logvar = self.fc22.as_ref().map(|fc22| fc22.forward(h)); // [batch, latent]
        (mu, logvar)
    }

    /// The decoder p(x|z), as logits (the Bernoulli parameters before the sigmoid).
    ///
    /// # Shapes
    /// - `z`: `[batch, latent]`, `labels`: `[batch, 10]` for conditional models
    /// - returns `[batch, 784]`
    pub fn decode_logits(&self, z: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        let z = self.with_label(z, labels); // [batch, latent (+10)]
        let h = relu(self.fc3.forward(z)); // [batch, hidden]
        self.fc4.forward(h) // [batch, 784]
    }

    /// The decoder's mean image, grey values in (0, 1). `[batch, latent]` → `[batch, 784]`.
    pub fn decode(&self, z: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        sigmoid(self.decode_logits(z, labels))
    }

    /// Encode, draw z = μ + exp(½ log σ²) ⊙ ε, decode. With `eps = None` the pass is deterministic
    /// (z = μ), which is what the views display.
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`, `eps`: `[batch, latent]` standard normal noise
    pub fn forward(
        &self,
        x: Tensor<2>,
        labels: Option<Tensor<2>>,
        eps: Option<Tensor<2>>,
    ) -> VaeOutput {
        let (mu, logvar) = self.encode(x, labels.clone());
        let z = match (&logvar, eps) {
            (Some(logvar), Some(eps)) => reparameterize(mu.clone(), logvar.clone(), eps),
            _ => mu.clone(),
        };
        let logits = self.decode_logits(z, labels);
        VaeOutput {
            logits,
            mu,
            logvar,
            log_sigma_x: self.log_sigma_x.val(),
        }
    }

    /// Appends the one-hot label for conditional models; other models take the input as it is.
    fn with_label(&self, x: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        match (self.kind, labels) {
            (ModelKind::Conditional, Some(labels)) => Tensor::cat(vec![x, labels], 1),
            (ModelKind::Conditional, None) => {
                // No label given: 0.1 for every class, so unlabelled use still runs. This is an
                // input the model never saw while training, not a mixture of its class models.
                let [batch, _] = x.shape().dims();
                let device = x.device();
                let uniform = Tensor::ones([batch, CLASSES], &device).div_scalar(CLASSES as f32);
                Tensor::cat(vec![x, uniform], 1)
            }
            _ => x,
        }
    }
}

/// The reparameterisation trick: z = μ + σ ⊙ ε with σ = exp(½ log σ²), so gradients flow to μ and
/// log σ² while the randomness sits in ε ~ N(0, I).
pub fn reparameterize(mu: Tensor<2>, logvar: Tensor<2>, eps: Tensor<2>) -> Tensor<2> {
    mu + logvar.mul_scalar(0.5).exp() * eps
}
