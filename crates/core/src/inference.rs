//! Running a model on caller data: input checks, host ↔ device copies, and every read through
//! `into_data_async().await` (a synchronous read panics on WebGPU in the browser).

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::error::{Result, VaeError};
use crate::loss::{Likelihood, recon_plus_kl_per_digit};
use crate::model::{CLASSES, PIXELS, Vae, reparameterize};
use crate::rng::Rng;

/// The posterior q(z|x) of each digit.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// `n × latent` means.
    pub mu: Vec<f32>,
    /// `n × latent` log-variances; `None` for the plain autoencoder, which has no variance.
    pub logvar: Option<Vec<f32>>,
}

impl Encoded {
    /// Posterior standard deviations σ = exp(½ log σ²); `None` for the plain autoencoder.
    pub fn sigma(&self) -> Option<Vec<f32>> {
        self.logvar
            .as_ref()
            .map(|l| l.iter().map(|v| (0.5 * v).exp()).collect())
    }
}

/// Reads a tensor back to the host as `f32`s.
pub async fn read(tensor: Tensor<2>) -> Result<Vec<f32>> {
    #[cfg(feature = "wgpu")]
    let faulty = fault::on() && tensor.device() != crate::backend::cpu_device();
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| VaeError::Backend(format!("{e:?}")))?;
    #[allow(unused_mut)]
    let mut values = data
        .try_into_vec::<f32>()
        .map_err(|e| VaeError::Backend(format!("{e:?}")))?;
    #[cfg(feature = "wgpu")]
    if faulty {
        fault::corrupt(&mut values);
    }
    Ok(values)
}

/// A fault that can be switched on in the WebGPU path, for tests of the checks that guard against
/// a GPU computing wrong answers without an error (upstream, a kernel that fails validation on
/// wasm is skipped silently and the caller reads stale data: tracel-ai/cubecl#1641).
#[cfg(feature = "wgpu")]
pub mod fault {
    use std::sync::atomic::{AtomicBool, Ordering};

    static ON: AtomicBool = AtomicBool::new(false);

    /// While on, every tensor read back from a non-CPU device comes back 1% off.
    pub fn set(on: bool) {
        ON.store(on, Ordering::SeqCst);
    }

    pub fn on() -> bool {
        ON.load(Ordering::SeqCst)
    }

    pub(crate) fn corrupt(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v *= 1.01);
    }
}

/// Reads a one-dimensional tensor back to the host.
pub async fn read1(tensor: Tensor<1>) -> Result<Vec<f32>> {
    let [n] = tensor.shape().dims();
    read(tensor.reshape([1, n])).await
}

/// The most rows (digits or latent points) one call takes: all 10,000 shipped digits fit, and the
/// 784 floats of each row stay under 52 MB in all. Checked before anything is allocated.
pub const MAX_ROWS: usize = 16_384;

/// The most draws from q(z|x) one call decodes.
pub const MAX_DRAWS: usize = 1024;

/// The widest manifold grid (side × side decoded digits).
pub const MAX_MANIFOLD_SIDE: usize = 40;

/// Checks that `values` holds `n` rows of `width` finite numbers, `n` from 1 to [`MAX_ROWS`].
pub fn check_rows(what: &str, values: &[f32], n: usize, width: usize) -> Result<()> {
    if n == 0 || n > MAX_ROWS {
        return Err(VaeError::InvalidInput(format!(
            "{what}: n must be from 1 to {MAX_ROWS}, got {n}"
        )));
    }
    if width == 0 {
        return Err(VaeError::InvalidInput(format!(
            "{what}: the width of a row must be at least 1"
        )));
    }
    if n.checked_mul(width) != Some(values.len()) {
        return Err(VaeError::InvalidInput(format!(
            "{what}: expected {n} × {width} numbers, got {}",
            values.len()
        )));
    }
    check_finite(what, values)
}

/// Checks that every value is a finite number, naming the first that is not.
pub fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(VaeError::InvalidInput(format!(
            "{what}: value {i} is {} (not a finite number)",
            values[i]
        )));
    }
    Ok(())
}

/// Checks a number of draws from q(z|x): 1 to [`MAX_DRAWS`].
pub fn check_draws(k: usize) -> Result<()> {
    if k == 0 || k > MAX_DRAWS {
        return Err(VaeError::InvalidInput(format!(
            "draws: k must be between 1 and {MAX_DRAWS}, got {k}"
        )));
    }
    Ok(())
}

/// Checks grey images: `n × 784` values in [0, 1].
pub fn check_pixels(pixels: &[f32], n: usize) -> Result<()> {
    check_rows("pixels", pixels, n, PIXELS)?;
    if let Some(i) = pixels.iter().position(|&v| !(0.0..=1.0).contains(&v)) {
        return Err(VaeError::InvalidInput(format!(
            "pixels: value {i} is {}; grey values must lie in [0, 1]",
            pixels[i]
        )));
    }
    Ok(())
}

/// Turns labels into a `[n, 10]` one-hot tensor, checking them.
pub fn one_hot(labels: &[u8], n: usize, device: &Device) -> Result<Tensor<2>> {
    if labels.len() != n {
        return Err(VaeError::InvalidInput(format!(
            "labels: expected {n}, got {}",
            labels.len()
        )));
    }
    let mut hot = vec![0.0f32; n * CLASSES];
    for (row, &label) in labels.iter().enumerate() {
        if label as usize >= CLASSES {
            return Err(VaeError::InvalidInput(format!(
                "labels: {label} is not a digit 0–9"
            )));
        }
        hot[row * CLASSES + label as usize] = 1.0;
    }
    Ok(Tensor::from_data(
        TensorData::new(hot, [n, CLASSES]),
        device,
    ))
}

/// Host rows to a `[n, width]` tensor on `device`.
pub fn upload(values: &[f32], n: usize, width: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), [n, width]), device)
}

fn labels_tensor(labels: Option<&[u8]>, n: usize, device: &Device) -> Result<Option<Tensor<2>>> {
    labels.map(|l| one_hot(l, n, device)).transpose()
}

/// q(z|x) for `n` digits.
pub async fn encode(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
) -> Result<Encoded> {
    check_pixels(pixels, n)?;
    let device = model.fc1.weight.device();
    let labels = labels_tensor(labels, n, &device)?;
    let (mu, logvar) = model.encode(upload(pixels, n, PIXELS, &device), labels);
    let mu = read(mu).await?;
    let logvar = match logvar {
        Some(logvar) => Some(read(logvar).await?),
        None => None,
    };
    Ok(Encoded { mu, logvar })
}

/// The decoder's mean images for `n` latent points: `n × 784` grey values.
pub async fn decode(model: &Vae, z: &[f32], n: usize, labels: Option<&[u8]>) -> Result<Vec<f32>> {
    check_rows("z", z, n, model.latent())?;
    let device = model.fc1.weight.device();
    let labels = labels_tensor(labels, n, &device)?;
    read(model.decode(upload(z, n, model.latent(), &device), labels)).await
}

/// Everything the page shows for a drawing, from one deterministic pass (z = μ).
#[derive(Debug, Clone, PartialEq)]
pub struct Reconstruction {
    pub encoded: Encoded,
    /// `n × 784` decoder means at z = μ.
    pub images: Vec<f32>,
    /// −log p(x|z = μ) + KL per digit (β = 1), nats: the deterministic score, not an ELBO (for
    /// the autoencoder, the reconstruction error alone).
    pub score_at_mean: Vec<f32>,
}

/// Encode, decode at z = μ and score `n` digits in one forward pass.
pub async fn reconstruct(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
    likelihood: Likelihood,
) -> Result<Reconstruction> {
    check_pixels(pixels, n)?;
    let device = model.fc1.weight.device();
    let labels = labels_tensor(labels, n, &device)?;
    let x = upload(pixels, n, PIXELS, &device);
    let output = model.forward(x.clone(), labels, None);
    let score_at_mean = read1(recon_plus_kl_per_digit(&output, x, likelihood)).await?;
    let images = read(sigmoid(output.logits)).await?;
    let mu = read(output.mu).await?;
    let logvar = match output.logvar {
        Some(logvar) => Some(read(logvar).await?),
        None => None,
    };
    Ok(Reconstruction {
        encoded: Encoded { mu, logvar },
        images,
        score_at_mean,
    })
}

/// Decoded draws from q(z|x) = N(μ, σ²) for one digit whose posterior is already known (the
/// page has it from `reconstruct`, so the digit is not encoded twice): z_k = μ + σ ⊙ ε_k, the
/// reparameterisation made visible. Returns `(z, images)`: `k × latent` points and `k × 784` grey
/// values. Without log σ² (the plain autoencoder) every draw is μ.
pub async fn posterior_draws(
    model: &Vae,
    mu: &[f32],
    logvar: Option<&[f32]>,
    labels: Option<&[u8]>,
    k: usize,
    rng: &mut Rng,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let latent = model.latent();
    check_rows("mu", mu, 1, latent)?;
    if let Some(logvar) = logvar {
        check_rows("logvar", logvar, 1, latent)?;
    }
    check_draws(k)?;
    let device = model.fc1.weight.device();
    let labels = labels_tensor(labels, 1, &device)?.map(|l| l.repeat_dim(0, k));
    let mu = upload(mu, 1, latent, &device).repeat_dim(0, k); // [k, latent]
    let z = match logvar {
        Some(logvar) => {
            let logvar = upload(logvar, 1, latent, &device).repeat_dim(0, k);
            reparameterize(
                mu,
                logvar,
                upload(&rng.normals(k * latent), k, latent, &device),
            )
        }
        None => mu,
    };
    let images = read(model.decode(z.clone(), labels)).await?;
    Ok((read(z).await?, images))
}

/// −log p(x|z = μ) + KL of each digit (β = 1): [`Reconstruction::score_at_mean`] without the
/// images. Deterministic; not an ELBO.
pub async fn score_at_mean(
    model: &Vae,
    pixels: &[f32],
    n: usize,
    labels: Option<&[u8]>,
    likelihood: Likelihood,
) -> Result<Vec<f32>> {
    check_pixels(pixels, n)?;
    let device = model.fc1.weight.device();
    let labels = labels_tensor(labels, n, &device)?;
    let x = upload(pixels, n, PIXELS, &device);
    let output = model.forward(x.clone(), labels, None);
    read1(recon_plus_kl_per_digit(&output, x, likelihood)).await
}

/// The inverse of the standard normal CDF (Acklam's rational approximation, relative error below
/// 1.2e-9), for placing grid points by the prior's quantiles.
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.38357751867269e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The learned manifold of a 2-D latent space, as in Kingma & Welling's figure: a `side × side`
/// grid of z placed at the prior's quantiles (so it covers N(0, I) evenly in probability), decoded.
/// Row-major from the top-left: z₁ grows to the right, z₂ grows upwards. Returns `side² × 784`.
pub async fn manifold(model: &Vae, side: usize) -> Result<Vec<f32>> {
    if model.latent() != 2 {
        return Err(VaeError::InvalidInput(format!(
            "the manifold needs a 2-D latent space, not {}",
            model.latent()
        )));
    }
    if !(2..=MAX_MANIFOLD_SIDE).contains(&side) {
        return Err(VaeError::InvalidInput(format!(
            "manifold: side must be 2 to {MAX_MANIFOLD_SIDE}, got {side}"
        )));
    }
    let quantile = |i: usize| probit((i as f64 + 0.5) / side as f64) as f32;
    let mut z = Vec::with_capacity(side * side * 2);
    for row in 0..side {
        for col in 0..side {
            z.extend([quantile(col), quantile(side - 1 - row)]);
        }
    }
    let labels = (model.kind == crate::ModelKind::Conditional).then(|| vec![0u8; side * side]);
    decode(model, &z, side * side, labels.as_deref()).await
}

/// How far apart two models' outputs are on the same input: the largest relative difference
/// |a − b| / max(|b|, 1e-3) over μ, log σ² and the decoded image of a fixed pattern of `n` digits.
/// The page's self-check runs this between a model on a new backend and its copy on the CPU.
pub async fn disagreement(model: &Vae, reference: &Vae, n: usize) -> Result<f32> {
    let pixels: Vec<f32> = (0..n * PIXELS)
        .map(|i| ((i * 37 + 11) % 101) as f32 / 100.0)
        .collect();
    let labels: Option<Vec<u8>> = (model.kind == crate::ModelKind::Conditional)
        .then(|| (0..n).map(|i| (i % 10) as u8).collect());
    let likelihood = Likelihood::Bernoulli;
    let a = reconstruct(model, &pixels, n, labels.as_deref(), likelihood).await?;
    let b = reconstruct(reference, &pixels, n, labels.as_deref(), likelihood).await?;
    let pairs = [
        (a.encoded.mu, b.encoded.mu),
        (
            a.encoded.logvar.unwrap_or_default(),
            b.encoded.logvar.unwrap_or_default(),
        ),
        (a.images, b.images),
    ];
    let mut worst = 0.0f32;
    for (x, y) in &pairs {
        for (x, y) in x.iter().zip(y) {
            let d = (x - y).abs() / y.abs().max(1e-3);
            worst = if d.is_nan() {
                f32::INFINITY
            } else {
                worst.max(d)
            };
        }
    }
    Ok(worst)
}

#[cfg(test)]
mod tests {
    use super::probit;

    #[test]
    fn probit_inverts_the_normal_cdf() {
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_985),
            (0.025, -1.959_963_985),
            (0.8413447461, 1.0),
            (0.001, -3.090_232_306),
        ] {
            assert!(
                (probit(p) - z).abs() < 1e-6,
                "probit({p}) = {} not {z}",
                probit(p)
            );
        }
    }
}
