//! Running a model on caller data: input checks, host ↔ device copies, and every read through
//! `into_data_async().await` (a synchronous read panics on WebGPU in the browser).

use burn::prelude::*;
use burn::tensor::activation::sigmoid;

use crate::error::{Result, VaeError};
use crate::loss::{Likelihood, negative_elbo_per_digit};
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

/// Reads a tensor back to the host as `f32`s.
pub async fn read(tensor: Tensor<2>) -> Result<Vec<f32>> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| VaeError::Backend(format!("{e:?}")))?;
    data.try_into_vec::<f32>()
        .map_err(|e| VaeError::Backend(format!("{e:?}")))
}

/// Reads a one-dimensional tensor back to the host.
pub async fn read1(tensor: Tensor<1>) -> Result<Vec<f32>> {
    let [n] = tensor.shape().dims();
    read(tensor.reshape([1, n])).await
}

/// Checks that `values` holds `n` rows of `width` finite numbers.
pub fn check_rows(what: &str, values: &[f32], n: usize, width: usize) -> Result<()> {
    if n == 0 {
        return Err(VaeError::InvalidInput(format!(
            "{what}: n must be at least 1"
        )));
    }
    if values.len() != n * width {
        return Err(VaeError::InvalidInput(format!(
            "{what}: expected {n} × {width} = {} numbers, got {}",
            n * width,
            values.len()
        )));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(VaeError::InvalidInput(format!(
            "{what}: value {i} is {} (not a finite number)",
            values[i]
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
    /// −ELBO per digit (β = 1), nats.
    pub negative_elbo: Vec<f32>,
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
    let negative_elbo = read1(negative_elbo_per_digit(&output, x, likelihood)).await?;
    let images = read(sigmoid(output.logits)).await?;
    let mu = read(output.mu).await?;
    let logvar = match output.logvar {
        Some(logvar) => Some(read(logvar).await?),
        None => None,
    };
    Ok(Reconstruction {
        encoded: Encoded { mu, logvar },
        images,
        negative_elbo,
    })
}

/// Decoded draws from q(z|x) for one digit: z_k = μ + σ ⊙ ε_k, the reparameterisation made
/// visible. Returns `(z, images)`: `k × latent` points and `k × 784` grey values. The plain
/// autoencoder has no σ, so all its draws are μ.
pub async fn posterior_draws(
    model: &Vae,
    pixels: &[f32],
    labels: Option<&[u8]>,
    k: usize,
    rng: &mut Rng,
) -> Result<(Vec<f32>, Vec<f32>)> {
    check_pixels(pixels, 1)?;
    if k == 0 || k > 1024 {
        return Err(VaeError::InvalidInput(format!(
            "draws: k must be between 1 and 1024, got {k}"
        )));
    }
    let device = model.fc1.weight.device();
    let latent = model.latent();
    let labels = labels_tensor(labels, 1, &device)?;
    let (mu, logvar) = model.encode(upload(pixels, 1, PIXELS, &device), labels.clone());
    let mu = mu.repeat_dim(0, k); // [k, latent]
    let z = match logvar {
        Some(logvar) => reparameterize(
            mu,
            logvar.repeat_dim(0, k),
            upload(&rng.normals(k * latent), k, latent, &device),
        ),
        None => mu,
    };
    let labels = labels.map(|l| l.repeat_dim(0, k));
    let images = read(model.decode(z.clone(), labels)).await?;
    Ok((read(z).await?, images))
}

/// −ELBO of each digit with z = μ (deterministic, so the anomaly score does not flicker).
pub async fn negative_elbo(
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
    read1(negative_elbo_per_digit(&output, x, likelihood)).await
}
