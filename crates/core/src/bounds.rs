//! How well a model explains a digit, measured honestly. The number the views used to show —
//! reconstruction at z = μ plus the KL — is neither the ELBO (an expectation over q(z|x)) nor a
//! bound on anything. Here, from k draws z_j = μ + σ ⊙ ε_j of q(z|x), all in nats per digit:
//!
//! - the ELBO, E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I)), with the expectation estimated by the mean
//!   over the k draws and the KL in closed form;
//! - the importance-weighted estimate of log p(x) (Burda, Grosse & Salakhutdinov, 2016):
//!   log (1/k) Σ_j p(x|z_j) p(z_j) / q(z_j|x). Its expectation is a lower bound on log p(x) that
//!   tightens as k grows; with k = 1 it is the one-draw ELBO with the KL estimated by that draw;
//! - the floor: −log p(x|z) when the decoder reproduces x exactly. For a Bernoulli likelihood of
//!   grey targets that is their entropy, which no model can go below.
//!
//! Values cross as negatives (−ELBO, −log p(x)), the way losses are reported, and the per-draw
//! sums run in f64 on the host so a log-sum-exp of ~100-nat terms loses nothing to rounding.

use burn::prelude::*;

use crate::error::{Result, VaeError};
use crate::inference::{check_draws, check_finite, check_pixels, one_hot, read1, upload};
use crate::loss::{Likelihood, kl_per_dimension, reconstruction};
use crate::model::{PIXELS, Vae, reparameterize};
use crate::rng::Rng;

/// Rows (digit × draw) decoded in one pass: bounds the memory of one call to a few MB whatever
/// the number of digits, which are taken in chunks.
pub(crate) const ROWS_PER_PASS: usize = 2048;

/// The bounds of `n` digits from `draws` draws each.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Draws per digit.
    pub draws: usize,
    /// −ELBO per digit: mean over the draws of −log p(x|z_j), plus the closed-form KL.
    pub negative_elbo: Vec<f32>,
    /// The importance-weighted estimate of −log p(x) per digit.
    pub negative_log_likelihood: Vec<f32>,
}

/// −log p(x|z_j) and log p(z_j) − log q(z_j|x) of every draw, and the closed-form KL per digit.
struct Draws {
    recon: Vec<f32>,
    log_ratio: Vec<f32>,
    kl: Vec<f32>,
}

/// Repeats each row `k` times in place: row i becomes rows i·k … i·k + k − 1.
///
/// # Shapes
/// `[m, width]` → `[m·k, width]`
fn each_row_k_times(t: Tensor<2>, k: usize) -> Tensor<2> {
    let [m, width] = t.shape().dims();
    t.unsqueeze_dim::<3>(1) // [m, 1, width]
        .repeat_dim(1, k) // [m, k, width]
        .reshape([m * k, width])
}

/// One pass over `m` digits with the noise `eps` (`m·k × latent`, digit-major).
async fn draws(
    model: &Vae,
    pixels: &[f32],
    m: usize,
    labels: Option<&[u8]>,
    likelihood: Likelihood,
    eps: &[f32],
    k: usize,
) -> Result<Draws> {
    let device = model.fc1.weight.device();
    let latent = model.latent();
    let x = upload(pixels, m, PIXELS, &device); // [m, 784]
    let labels = labels.map(|l| one_hot(l, m, &device)).transpose()?; // [m, 10]
    let (mu, logvar) = model.encode(x.clone(), labels.clone()); // [m, latent] each
    let logvar = logvar.ok_or_else(|| {
        VaeError::InvalidInput(
            "a plain autoencoder has no q(z|x) and no prior, so it has no ELBO: \
             its score is the reconstruction error"
                .into(),
        )
    })?;
    let kl = kl_per_dimension(mu.clone(), logvar.clone())
        .sum_dim(1)
        .flatten(0, 1); // [m]
    let eps = upload(eps, m * k, latent, &device); // [m·k, latent]
    let logvar = each_row_k_times(logvar, k);
    let z = reparameterize(each_row_k_times(mu, k), logvar.clone(), eps.clone()); // [m·k, latent]
    let logits = model.decode_logits(z.clone(), labels.map(|l| each_row_k_times(l, k)));
    let recon = reconstruction(
        logits,
        each_row_k_times(x, k),
        likelihood,
        model.log_sigma_x.val(),
    ); // [m·k]
    // log N(z; 0, I) − log N(z; μ, σ²) = Σ_d ½(ε² + log σ² − z²): (z − μ)/σ is ε and the 2π
    // terms cancel.
    let log_ratio = (eps.square() + logvar - z.square())
        .sum_dim(1)
        .flatten(0, 1)
        .mul_scalar(0.5); // [m·k]
    Ok(Draws {
        recon: read1(recon).await?,
        log_ratio: read1(log_ratio).await?,
        kl: read1(kl).await?,
    })
}

/// The most noise numbers (digits × draws × latent) one call draws: 16 MB of f32.
pub const MAX_NOISE: usize = 1 << 22;

/// Checks a request before anything is allocated; returns how many noise numbers it needs.
fn check_request(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
    k: usize,
) -> Result<usize> {
    check_pixels(pixels, n)?;
    check_draws(k)?;
    if let Some(labels) = labels
        && labels.len() != n
    {
        return Err(VaeError::InvalidInput(format!(
            "labels: expected {n}, got {}",
            labels.len()
        )));
    }
    n.checked_mul(k)
        .and_then(|rows| rows.checked_mul(model.latent()))
        .filter(|&noise| noise <= MAX_NOISE)
        .ok_or_else(|| {
            VaeError::InvalidInput(format!(
                "{n} digits × {k} draws × {} latent dimensions is more noise than one call \
                 takes ({MAX_NOISE} numbers): score fewer digits at a time",
                model.latent()
            ))
        })
}

/// log (1/k) Σ_j e^{w_j}, computed stably in f64.
pub fn log_mean_exp(w: &[f64]) -> f64 {
    let top = w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !top.is_finite() {
        return top;
    }
    top + (w.iter().map(|v| (v - top).exp()).sum::<f64>() / w.len() as f64).ln()
}

/// The bounds of `n` digits with the given noise: `eps` holds `n · draws × latent` standard normal
/// numbers, digit-major (the draws of digit 0 first). [`bounds`] draws it from a seed.
pub async fn bounds_with_noise(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
    likelihood: Likelihood,
    eps: &[f32],
    draws_per_digit: usize,
) -> Result<Bounds> {
    let noise = check_request(model, pixels, n, labels, draws_per_digit)?;
    let k = draws_per_digit;
    let latent = model.latent();
    if eps.len() != noise {
        return Err(VaeError::InvalidInput(format!(
            "eps: expected {n} × {k} × {latent} numbers, got {}",
            eps.len()
        )));
    }
    check_finite("eps", eps)?;
    let per_pass = (ROWS_PER_PASS / k).max(1);
    let mut out = Bounds {
        draws: k,
        negative_elbo: Vec::with_capacity(n),
        negative_log_likelihood: Vec::with_capacity(n),
    };
    for start in (0..n).step_by(per_pass) {
        let m = per_pass.min(n - start);
        let d = draws(
            model,
            &pixels[start * PIXELS..(start + m) * PIXELS],
            m,
            labels.map(|l| &l[start..start + m]),
            likelihood,
            &eps[start * k * latent..(start + m) * k * latent],
            k,
        )
        .await?;
        for i in 0..m {
            let rows = i * k..(i + 1) * k;
            let recon = &d.recon[rows.clone()];
            let mean_recon = recon.iter().map(|&r| r as f64).sum::<f64>() / k as f64;
            out.negative_elbo.push((mean_recon + d.kl[i] as f64) as f32);
            let log_weights: Vec<f64> = recon
                .iter()
                .zip(&d.log_ratio[rows])
                .map(|(&r, &lr)| lr as f64 - r as f64)
                .collect();
            out.negative_log_likelihood
                .push(-log_mean_exp(&log_weights) as f32);
        }
    }
    Ok(out)
}

/// The bounds of `n` digits from `draws_per_digit` draws each, the noise drawn from `rng`.
pub async fn bounds(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
    likelihood: Likelihood,
    draws_per_digit: usize,
    rng: &mut Rng,
) -> Result<Bounds> {
    let noise = check_request(model, pixels, n, labels, draws_per_digit)?;
    let eps = rng.normals(noise);
    bounds_with_noise(model, pixels, n, labels, likelihood, &eps, draws_per_digit).await
}

/// The least −log p(x|z) any decoder can reach on each of `n` digits: for a Bernoulli likelihood
/// the entropy of the grey targets, Σ −[x ln x + (1 − x) ln(1 − x)] (0 for black-and-white
/// pixels); for the Gaussian one with noise scale `sigma_x` its constant (784/2)·ln(2πσ_x²)
/// (`sigma_x` is not used by the Bernoulli floor).
pub fn floor(pixels: &[f32], n: usize, likelihood: Likelihood, sigma_x: f32) -> Result<Vec<f32>> {
    check_pixels(pixels, n)?;
    let entropy = |x: f64| {
        let term = |p: f64| if p > 0.0 { -p * p.ln() } else { 0.0 };
        term(x) + term(1.0 - x)
    };
    Ok(pixels
        .chunks_exact(PIXELS)
        .map(|digit| match likelihood {
            Likelihood::Bernoulli => digit.iter().map(|&x| entropy(x as f64)).sum::<f64>() as f32,
            Likelihood::Gaussian => Likelihood::gaussian_constant(sigma_x as f64) as f32,
        })
        .collect())
}

/// The anomaly rank: the percentage (0 to 100) of `reference` scores (the test digits' −log p(x)
/// estimates, by the same estimator) strictly below `score`. 97 means "more unusual than 97% of
/// the test digits".
pub fn percent_below(score: f32, reference: &[f32]) -> Result<f64> {
    if reference.is_empty() {
        return Err(VaeError::InvalidInput(
            "reference: no scores to rank against".into(),
        ));
    }
    check_finite("score", &[score])?;
    check_finite("reference", reference)?;
    let below = reference.iter().filter(|&&r| r < score).count();
    Ok(100.0 * below as f64 / reference.len() as f64)
}
