//! The negative ELBO: reconstruction − E[log p(x|z)] plus β · KL(q(z|x) ‖ N(0, I)).
//! Every term is in nats per digit: summed over pixels (or latent dimensions), averaged over the
//! batch, the way `vae/main.py` reports it.

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use serde::{Deserialize, Serialize};

use crate::model::{PIXELS, VaeOutput};

/// The decoder's output distribution p(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Bernoulli per pixel: binary cross-entropy on the grey values. The literature's choice for
    /// MNIST and the one the shipped weights use.
    #[default]
    Bernoulli,
    /// Gaussian per pixel with σ_x = 1/√2 (the variance for which −log N is exactly the squared
    /// error plus a constant): −log N(x; x̂, ½I) = Σ (x − x̂)² + (784/2)·ln(2π·½). The constant is
    /// kept, so the figures are nats of a density; they cannot be compared with the Bernoulli
    /// model's nats, which are of a probability.
    Gaussian,
}

/// σ_x² of [`Likelihood::Gaussian`].
pub const GAUSSIAN_VARIANCE: f64 = 0.5;

impl Likelihood {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "bernoulli" | "bce" => Some(Likelihood::Bernoulli),
            "gaussian" | "mse" => Some(Likelihood::Gaussian),
            _ => None,
        }
    }

    /// −log p(x|z) where the decoder reproduces x exactly: for a Gaussian, (D/2)·ln(2πσ_x²) =
    /// 392·ln π ≈ 448.7 nats whatever x is. The Bernoulli floor depends on x: see
    /// [`crate::bounds::floor`].
    pub fn gaussian_constant() -> f64 {
        0.5 * PIXELS as f64 * (std::f64::consts::TAU * GAUSSIAN_VARIANCE).ln()
    }
}

/// The three numbers of a loss, each a one-element tensor so they can stay on the device.
#[derive(Debug, Clone)]
pub struct LossTerms {
    /// recon + β · kl: what the optimiser minimises.
    pub total: Tensor<1>,
    /// Reconstruction term, nats per digit.
    pub recon: Tensor<1>,
    /// KL term (before β), nats per digit.
    pub kl: Tensor<1>,
}

/// Binary cross-entropy of grey targets `x` against `sigmoid(logits)`, per pixel, computed from
/// the logits as max(l, 0) − x·l + log(1 + e^−|l|) so it never takes the log of 0.
///
/// # Shapes
/// `logits`, `x`: `[batch, 784]` → `[batch, 784]`
pub fn bce_with_logits(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    let softplus = relu(logits.clone()) + logits.clone().abs().neg().exp().log1p();
    softplus - x * logits
}

/// Squared error of `x` against the decoder mean `sigmoid(logits)`, per pixel; the per-pixel
/// −log N(x; x̂, ½) less its constant ½·ln π.
pub fn squared_error(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    (sigmoid(logits) - x).square()
}

/// −log p(x|z) per digit, summed over pixels, in nats. `[batch, 784]` → `[batch]`.
pub fn reconstruction(logits: Tensor<2>, x: Tensor<2>, likelihood: Likelihood) -> Tensor<1> {
    match likelihood {
        Likelihood::Bernoulli => bce_with_logits(logits, x).sum_dim(1).flatten(0, 1),
        Likelihood::Gaussian => squared_error(logits, x)
            .sum_dim(1)
            .flatten(0, 1)
            .add_scalar(Likelihood::gaussian_constant()),
    }
}

/// Closed-form KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension: ½(σ² + μ² − 1 − log σ²).
///
/// # Shapes
/// `mu`, `logvar`: `[batch, latent]` → `[batch, latent]`
pub fn kl_per_dimension(mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<2> {
    (logvar.clone().exp() + mu.square() - logvar)
        .sub_scalar(1.0)
        .mul_scalar(0.5)
}

/// −ELBO per digit (β = 1), the anomaly score: `[batch]`. The autoencoder has no KL term.
pub fn negative_elbo_per_digit(
    output: &VaeOutput,
    x: Tensor<2>,
    likelihood: Likelihood,
) -> Tensor<1> {
    let recon = reconstruction(output.logits.clone(), x, likelihood);
    match &output.logvar {
        Some(logvar) => {
            recon
                + kl_per_dimension(output.mu.clone(), logvar.clone())
                    .sum_dim(1)
                    .flatten(0, 1)
        }
        None => recon,
    }
}

/// The training loss: batch means of reconstruction and KL, and their β-weighted sum.
pub fn loss(output: &VaeOutput, x: Tensor<2>, likelihood: Likelihood, beta: f32) -> LossTerms {
    let recon = reconstruction(output.logits.clone(), x, likelihood).mean();
    let kl = match &output.logvar {
        Some(logvar) => kl_per_dimension(output.mu.clone(), logvar.clone())
            .sum_dim(1)
            .mean(),
        None => Tensor::zeros([1], &recon.device()),
    };
    let total = recon.clone() + kl.clone().mul_scalar(beta);
    LossTerms { total, recon, kl }
}
