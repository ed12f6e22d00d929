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
#[cfg_attr(feature = "typescript", derive(tsify::Tsify))]
pub enum Likelihood {
    /// Bernoulli per pixel: binary cross-entropy on the grey values. The literature's choice for
    /// MNIST and the one the shipped weights use.
    #[default]
    Bernoulli,
    /// Gaussian per pixel with the model's noise scale σ_x (one number, [`crate::Vae::log_sigma_x`],
    /// chosen or learned): −log N(x; x̂, σ_x² I) = Σ (x − x̂)² / (2σ_x²) + (784/2)·ln(2πσ_x²). The
    /// constant is kept, so the figures are nats of a density; they cannot be compared with the
    /// Bernoulli model's nats, which are of a probability, and they go below zero when σ_x is small.
    Gaussian,
}

/// The σ_x a Gaussian model starts with unless told otherwise. On these digits a latent-20
/// model's reconstructions miss by about 0.1 per pixel (root mean square), so σ_x = 0.1 says what
/// the decoder can actually do: each squared error weighs 1/(2σ_x²) = 50 against the KL, and the
/// images come out sharp. σ_x = 1/√2, which turns the loss into a plain sum of squared errors,
/// weighs them 1 and lets the KL blur every image.
pub const DEFAULT_SIGMA_X: f32 = 0.1;

/// The σ_x a person may choose: 0.01 (the decoder would have to be right to a hundredth of a grey
/// level) to 1 (a whole grey range of noise).
pub const SIGMA_X_RANGE: (f32, f32) = (0.01, 1.0);

impl Likelihood {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "bernoulli" | "bce" => Some(Likelihood::Bernoulli),
            "gaussian" | "mse" => Some(Likelihood::Gaussian),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian => "gaussian",
        }
    }

    /// −log N(x; x̂, σ_x² I) where the decoder reproduces x exactly: (D/2)·ln(2πσ_x²), the same
    /// for every digit. The Bernoulli floor depends on x: see [`crate::bounds::floor`].
    pub fn gaussian_constant(sigma_x: f64) -> f64 {
        0.5 * PIXELS as f64 * (std::f64::consts::TAU * sigma_x * sigma_x).ln()
    }
}

/// Checks a chosen σ_x before it reaches a model.
pub fn check_sigma_x(sigma_x: f32) -> crate::Result<()> {
    let (low, high) = SIGMA_X_RANGE;
    if sigma_x.is_finite() && (low..=high).contains(&sigma_x) {
        Ok(())
    } else {
        Err(crate::VaeError::InvalidInput(format!(
            "σ_x must be between {low} and {high}, got {sigma_x}"
        )))
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

/// Squared error of `x` against the decoder mean `sigmoid(logits)`, per pixel.
pub fn squared_error(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    (sigmoid(logits) - x).square()
}

/// −log p(x|z) per digit, summed over pixels, in nats. `log_sigma_x` (one number) is the
/// Gaussian's log σ_x; the Bernoulli likelihood ignores it.
///
/// # Shapes
/// `logits`, `x`: `[batch, 784]`, `log_sigma_x`: `[1]` → `[batch]`
pub fn reconstruction(
    logits: Tensor<2>,
    x: Tensor<2>,
    likelihood: Likelihood,
    log_sigma_x: Tensor<1>,
) -> Tensor<1> {
    match likelihood {
        Likelihood::Bernoulli => bce_with_logits(logits, x).sum_dim(1).flatten(0, 1),
        Likelihood::Gaussian => {
            let squares = squared_error(logits, x).sum_dim(1).flatten(0, 1); // [batch]
            // Σ (x − x̂)² / (2σ²) + D·ln σ + (D/2)·ln 2π, with 1/(2σ²) = ½·e^(−2 ln σ).
            let precision = log_sigma_x.clone().mul_scalar(-2.0).exp().mul_scalar(0.5); // [1]
            let log_norm = log_sigma_x
                .mul_scalar(PIXELS as f32)
                .add_scalar(0.5 * PIXELS as f64 * std::f64::consts::TAU.ln()); // [1]
            squares * precision + log_norm
        }
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

/// −log p(x|z) + KL(q(z|x) ‖ N(0, I)) per digit (β = 1) at the z the output was decoded from:
/// `[batch]`. With z drawn from q(z|x) it is a one-draw estimate of −ELBO; at z = μ it is the
/// deterministic score the page shows beside the reconstruction, which is not an ELBO (the ELBO
/// averages over q). The autoencoder has no KL term, so its value is the reconstruction error.
pub fn recon_plus_kl_per_digit(
    output: &VaeOutput,
    x: Tensor<2>,
    likelihood: Likelihood,
) -> Tensor<1> {
    let recon = reconstruction(
        output.logits.clone(),
        x,
        likelihood,
        output.log_sigma_x.clone(),
    );
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
    let recon = reconstruction(
        output.logits.clone(),
        x,
        likelihood,
        output.log_sigma_x.clone(),
    )
    .mean();
    let kl = match &output.logvar {
        Some(logvar) => kl_per_dimension(output.mu.clone(), logvar.clone())
            .sum_dim(1)
            .mean(),
        None => Tensor::zeros([1], &recon.device()),
    };
    let total = recon.clone() + kl.clone().mul_scalar(beta);
    LossTerms { total, recon, kl }
}
