//! The hierarchical VAE with two stochastic layers.
//!
//! Generative model: z₂ ~ N(0, I) (2-D, so it can be drawn on the map), z₁ ~ p(z₁|z₂) =
//! N(μ_p(z₂), σ_p²(z₂)) (16-D), x ~ p(x|z₁). Inference runs bottom-up, x → q(z₁|x) → q(z₂|z₁),
//! the two-layer model of Burda et al. (2016, the IWAE paper). We take the bottom-up path because
//! each step of it is the one-layer VAE's encoder again, so the code a learner reads is the VAE
//! twice over; its known weakness is that the top layer may go unused (Sønderby et al. 2016): the
//! trainer's KL warm-up ([`TrainConfig::warmup_steps`]) counters it and the active-unit count
//! ([`active_units`]) makes it visible.
//!
//! −ELBO = E_q[−log p(x|z₁)] + E_q[log q(z₁|x) − log p(z₁|z₂)] + E_q[KL(q(z₂|z₁) ‖ N(0, I))].
//! The top term is the closed-form KL at the drawn z₁. The bottom term cannot be closed-form,
//! because z₂ is drawn from z₁; it is estimated with one draw, with the entropy of q(z₁|x) taken
//! exactly: ½ Σ [log σ_p² − log σ₁² − 1 + (z₁ − μ_p)² / σ_p²] (the ln 2π terms cancel).
//!
//! The layer names are those of `crates/core/tests/fixtures/make_hvae_fixture.py`'s PyTorch module:
//! `q1_fc`, `q1_mu`, `q1_logvar` (x → z₁), `q2_fc`, `q2_mu`, `q2_logvar` (z₁ → z₂), `p1_fc`,
//! `p1_mu`, `p1_logvar` (z₂ → z₁), `px_fc`, `px_out` (z₁ → pixel logits).

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use crate::inference::{read, read1, upload};
use crate::loss::{DEFAULT_SIGMA_X, Likelihood, LossTerms, kl_per_dimension, reconstruction};
use crate::model::{PIXELS, log_sigma_param, reparameterize};
use crate::rng::Rng;
use crate::training::{Objective, TrainConfig, Trainable, learns_sigma_x};
use crate::weights::{
    Dtype, Tensors, bad, check_shapes, finish_file, linear_from, linear_shapes, linear_tensors,
    log_sigma_from, matrix_dims, read_checked,
};

/// The architecture.
#[derive(Config, Debug, PartialEq)]
pub struct HvaeConfig {
    /// 400 hidden units between the pixels and z₁: the one-layer VAE's size, so the two can be
    /// compared layer for layer.
    #[config(default = 400)]
    pub hidden: usize,
    /// 16 dimensions for z₁, the layer of details: enough for stroke width, slant and style.
    #[config(default = 16)]
    pub latent: usize,
    /// 128 hidden units between z₁ and z₂: the mapping between two small codes needs few.
    #[config(default = 128)]
    pub hidden_top: usize,
    /// z₂ is 2-D so the top layer can be drawn and walked on the map.
    #[config(default = 2)]
    pub latent_top: usize,
}

impl HvaeConfig {
    /// Checks sizes before any allocation.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, value) in [
            ("hidden", self.hidden),
            ("latent", self.latent),
            ("hidden_top", self.hidden_top),
            ("latent_top", self.latent_top),
        ] {
            if value == 0 || value > crate::VaeConfig::MAX_WIDTH {
                return Err(crate::VaeError::InvalidInput(format!(
                    "{name} size must be between 1 and {}, got {value}",
                    crate::VaeConfig::MAX_WIDTH
                )));
            }
        }
        Ok(())
    }

    /// `(name, out, in)` of every linear layer.
    fn layers(&self) -> [(&'static str, usize, usize); 11] {
        let (h, l, ht, lt) = (self.hidden, self.latent, self.hidden_top, self.latent_top);
        [
            ("q1_fc", h, PIXELS),
            ("q1_mu", l, h),
            ("q1_logvar", l, h),
            ("q2_fc", ht, l),
            ("q2_mu", lt, ht),
            ("q2_logvar", lt, ht),
            ("p1_fc", ht, lt),
            ("p1_mu", l, ht),
            ("p1_logvar", l, ht),
            ("px_fc", h, l),
            ("px_out", PIXELS, h),
        ]
    }

    /// A freshly initialised model, linear layers initialised as PyTorch's.
    pub fn init(&self, device: &Device) -> Hvae {
        let layers = self
            .layers()
            .map(|(_, out, inp)| LinearConfig::new(inp, out).init(device));
        Hvae::from_layers(layers, log_sigma_param(DEFAULT_SIGMA_X, device))
    }
}

#[derive(Module, Debug)]
pub struct Hvae {
    pub q1_fc: Linear,
    pub q1_mu: Linear,
    pub q1_logvar: Linear,
    pub q2_fc: Linear,
    pub q2_mu: Linear,
    pub q2_logvar: Linear,
    pub p1_fc: Linear,
    pub p1_mu: Linear,
    pub p1_logvar: Linear,
    pub px_fc: Linear,
    pub px_out: Linear,
    /// ln σ_x of a Gaussian likelihood, as in [`crate::Vae`].
    pub log_sigma_x: Param<Tensor<1>>,
}

/// A Gaussian over one layer: mean and log-variance, each `[batch, size]`.
#[derive(Debug, Clone)]
pub struct Gaussian {
    pub mu: Tensor<2>,
    pub logvar: Tensor<2>,
}

impl Gaussian {
    /// A draw μ + σ ⊙ ε, or the mean when `eps` is `None`.
    pub fn draw(&self, eps: Option<Tensor<2>>) -> Tensor<2> {
        match eps {
            Some(eps) => reparameterize(self.mu.clone(), self.logvar.clone(), eps),
            None => self.mu.clone(),
        }
    }
}

/// Everything a forward pass computes.
#[derive(Debug, Clone)]
pub struct HvaeOutput {
    /// Pixel logits decoded from z₁, `[batch, 784]`.
    pub logits: Tensor<2>,
    /// q(z₁|x), `[batch, latent]`.
    pub q1: Gaussian,
    /// q(z₂|z₁) at the z₁ used, `[batch, latent_top]`.
    pub q2: Gaussian,
    /// p(z₁|z₂) at the z₂ used, `[batch, latent]`.
    pub p1: Gaussian,
    /// The z₁ decoded, `[batch, latent]`.
    pub z1: Tensor<2>,
    /// The z₂ the bottom layer's prior was evaluated at, `[batch, latent_top]`.
    pub z2: Tensor<2>,
    /// ln σ_x, `[1]`.
    pub log_sigma_x: Tensor<1>,
}

impl Hvae {
    /// A model from its linear layers in [`HvaeConfig`]'s order (q₁, q₂, p₁, pₓ) and ln σ_x.
    fn from_layers(layers: [Linear; 11], log_sigma_x: Param<Tensor<1>>) -> Self {
        let [
            q1_fc,
            q1_mu,
            q1_logvar,
            q2_fc,
            q2_mu,
            q2_logvar,
            p1_fc,
            p1_mu,
            p1_logvar,
            px_fc,
            px_out,
        ] = layers;
        Hvae {
            q1_fc,
            q1_mu,
            q1_logvar,
            q2_fc,
            q2_mu,
            q2_logvar,
            p1_fc,
            p1_mu,
            p1_logvar,
            px_fc,
            px_out,
            log_sigma_x,
        }
    }

    /// The same model with the Gaussian likelihood's σ_x set to `sigma_x`.
    pub fn with_sigma_x(mut self, sigma_x: f32) -> crate::Result<Self> {
        crate::loss::check_sigma_x(sigma_x)?;
        self.log_sigma_x = log_sigma_param(sigma_x, &self.q1_fc.weight.device());
        Ok(self)
    }

    /// The linear layers in [`HvaeConfig`]'s order.
    fn layers(&self) -> [&Linear; 11] {
        [
            &self.q1_fc,
            &self.q1_mu,
            &self.q1_logvar,
            &self.q2_fc,
            &self.q2_mu,
            &self.q2_logvar,
            &self.p1_fc,
            &self.p1_mu,
            &self.p1_logvar,
            &self.px_fc,
            &self.px_out,
        ]
    }

    pub fn config(&self) -> HvaeConfig {
        let dims = |l: &Linear| -> [usize; 2] { l.weight.shape().dims() };
        HvaeConfig {
            hidden: dims(&self.q1_fc)[1],
            latent: dims(&self.q1_mu)[1],
            hidden_top: dims(&self.q2_fc)[1],
            latent_top: dims(&self.q2_mu)[1],
        }
    }

    /// q(z₁|x). `x`: `[batch, 784]` → `[batch, latent]` twice.
    pub fn encode_bottom(&self, x: Tensor<2>) -> Gaussian {
        let h = relu(self.q1_fc.forward(x)); // [batch, hidden]
        Gaussian {
            mu: self.q1_mu.forward(h.clone()),
            logvar: self.q1_logvar.forward(h),
        }
    }

    /// q(z₂|z₁). `z1`: `[batch, latent]` → `[batch, latent_top]` twice.
    pub fn encode_top(&self, z1: Tensor<2>) -> Gaussian {
        let h = relu(self.q2_fc.forward(z1)); // [batch, hidden_top]
        Gaussian {
            mu: self.q2_mu.forward(h.clone()),
            logvar: self.q2_logvar.forward(h),
        }
    }

    /// The prior of the bottom layer, p(z₁|z₂). `z2`: `[batch, latent_top]` → `[batch, latent]`.
    pub fn prior_bottom(&self, z2: Tensor<2>) -> Gaussian {
        let h = relu(self.p1_fc.forward(z2)); // [batch, hidden_top]
        Gaussian {
            mu: self.p1_mu.forward(h.clone()),
            logvar: self.p1_logvar.forward(h),
        }
    }

    /// p(x|z₁) as logits. `z1`: `[batch, latent]` → `[batch, 784]`.
    pub fn decode_logits(&self, z1: Tensor<2>) -> Tensor<2> {
        let h = relu(self.px_fc.forward(z1)); // [batch, hidden]
        self.px_out.forward(h)
    }

    /// Images generated top-down: z₁ = μ_p(z₂) + σ_p(z₂) ⊙ ε₁ (or μ_p with `eps1` `None`), decoded
    /// to the decoder's mean. `z2`: `[batch, latent_top]`, `eps1`: `[batch, latent]` →
    /// `[batch, 784]` grey values.
    pub fn generate(&self, z2: Tensor<2>, eps1: Option<Tensor<2>>) -> Tensor<2> {
        let z1 = self.prior_bottom(z2).draw(eps1);
        sigmoid(self.decode_logits(z1))
    }

    /// The bottom-up pass: z₁ from q(z₁|x) with `eps1`, z₂ from q(z₂|z₁) with `eps2`, p(z₁|z₂),
    /// and the logits decoded from z₁. With no noise every draw is its mean.
    ///
    /// # Shapes
    /// - `x`: `[batch, 784]`; `eps1`: `[batch, latent]`; `eps2`: `[batch, latent_top]`
    pub fn forward(
        &self,
        x: Tensor<2>,
        eps1: Option<Tensor<2>>,
        eps2: Option<Tensor<2>>,
    ) -> HvaeOutput {
        let q1 = self.encode_bottom(x);
        let z1 = q1.draw(eps1); // [batch, latent]
        let q2 = self.encode_top(z1.clone());
        let z2 = q2.draw(eps2); // [batch, latent_top]
        let p1 = self.prior_bottom(z2.clone());
        HvaeOutput {
            logits: self.decode_logits(z1.clone()),
            q1,
            q2,
            p1,
            z1,
            z2,
            log_sigma_x: self.log_sigma_x.val(),
        }
    }

    /// One forward pass with noise drawn from `rng`.
    pub fn forward_noisy(&self, x: Tensor<2>, rng: &mut Rng) -> HvaeOutput {
        let [n, _] = x.shape().dims();
        let config = self.config();
        let device = x.device();
        let eps1 = upload(&rng.normals(n * config.latent), n, config.latent, &device);
        let eps2 = upload(
            &rng.normals(n * config.latent_top),
            n,
            config.latent_top,
            &device,
        );
        self.forward(x, Some(eps1), Some(eps2))
    }
}

/// The terms of −ELBO per digit, each `[batch]`, in nats.
#[derive(Debug, Clone)]
pub struct HvaeTerms {
    /// −log p(x|z₁).
    pub recon: Tensor<1>,
    /// log q(z₁|x) − log p(z₁|z₂) with the entropy of q(z₁|x) exact (one-draw estimate of the
    /// bottom layer's KL).
    pub kl_bottom: Tensor<1>,
    /// KL(q(z₂|z₁) ‖ N(0, I)) in closed form.
    pub kl_top: Tensor<1>,
}

/// The bottom layer's term per latent dimension: ½ [log σ_p² − log σ₁² − 1 + (z₁ − μ_p)² / σ_p²].
///
/// # Shapes
/// all `[batch, latent]` → `[batch, latent]`
pub fn kl_bottom_per_dimension(q1_logvar: Tensor<2>, z1: Tensor<2>, p1: &Gaussian) -> Tensor<2> {
    let squared = (z1 - p1.mu.clone()).square() * p1.logvar.clone().neg().exp();
    (p1.logvar.clone() - q1_logvar + squared)
        .sub_scalar(1.0)
        .mul_scalar(0.5)
}

/// The −ELBO terms of `output` for the digits `x`.
pub fn terms(output: &HvaeOutput, x: Tensor<2>, likelihood: Likelihood) -> HvaeTerms {
    let per_digit = |t: Tensor<2>| t.sum_dim(1).flatten(0, 1);
    HvaeTerms {
        recon: reconstruction(
            output.logits.clone(),
            x,
            likelihood,
            output.log_sigma_x.clone(),
        ),
        kl_bottom: per_digit(kl_bottom_per_dimension(
            output.q1.logvar.clone(),
            output.z1.clone(),
            &output.p1,
        )),
        kl_top: per_digit(kl_per_dimension(
            output.q2.mu.clone(),
            output.q2.logvar.clone(),
        )),
    }
}

impl Trainable for Hvae {
    fn device(&self) -> Device {
        self.q1_fc.weight.device()
    }

    fn objective(
        &self,
        x: Tensor<2>,
        _labels: Option<Tensor<2>>,
        rng: &mut Rng,
        config: &TrainConfig,
    ) -> Objective {
        let mut output = self.forward_noisy(x.clone(), rng);
        if !learns_sigma_x(config) {
            output.log_sigma_x = output.log_sigma_x.detach();
        }
        let t = terms(&output, x, config.likelihood);
        let (recon, bottom, top) = (t.recon.mean(), t.kl_bottom.mean(), t.kl_top.mean());
        // What is minimised: the top layer's KL per dimension (batch mean) is held at no less than
        // the free bits, so below them it has no gradient.
        let top_penalised = if config.free_bits > 0.0 {
            kl_per_dimension(output.q2.mu.clone(), output.q2.logvar.clone())
                .mean_dim(0)
                .clamp_min(config.free_bits)
                .sum()
        } else {
            top.clone()
        };
        let kl = bottom.clone() + top.clone();
        Objective {
            terms: LossTerms {
                total: recon.clone() + (bottom.clone() + top_penalised).mul_scalar(config.beta),
                recon,
                kl,
            },
            kl_layers: Some([bottom, top]),
        }
    }

    fn log_sigma_x(&self) -> Tensor<1> {
        self.log_sigma_x.val()
    }
}

/// Test-set figures per digit, nats: −ELBO from one draw of both layers, and its terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HvaeScores {
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl_bottom: f64,
    pub kl_top: f64,
}

/// The mean −ELBO terms of `pixels` (`n` digits), one draw of each layer per digit.
pub async fn evaluate(
    model: &Hvae,
    pixels: &[f32],
    n: usize,
    likelihood: Likelihood,
    rng: &mut Rng,
) -> crate::Result<HvaeScores> {
    crate::inference::check_pixels(pixels, n)?;
    let device = model.device();
    let mut sums = [0.0f64; 3];
    for (chunk, rows) in pixels.chunks(500 * PIXELS).map(|c| (c, c.len() / PIXELS)) {
        let x = upload(chunk, rows, PIXELS, &device);
        let t = terms(&model.forward_noisy(x.clone(), rng), x, likelihood);
        let parts = read1(Tensor::cat(
            vec![t.recon.sum(), t.kl_bottom.sum(), t.kl_top.sum()],
            0,
        ))
        .await?;
        for (sum, part) in sums.iter_mut().zip(parts) {
            *sum += part as f64;
        }
    }
    let [recon, kl_bottom, kl_top] = sums.map(|s| s / n as f64);
    Ok(HvaeScores {
        neg_elbo: recon + kl_bottom + kl_top,
        recon,
        kl_bottom,
        kl_top,
    })
}

/// Where `n` digits sit on the top layer's map: μ₂(μ₁(x)), the mean of q(z₂|z₁) at the mean of
/// q(z₁|x), `[n, latent_top]` row-major. It is deterministic (the map does not flicker), and not
/// E_q[z₂|x], which would average μ₂ over draws of z₁.
pub async fn top_codes(model: &Hvae, pixels: &[f32], n: usize) -> crate::Result<Vec<f32>> {
    crate::inference::check_pixels(pixels, n)?;
    let device = model.device();
    let mut out = Vec::with_capacity(n * model.config().latent_top);
    for chunk in pixels.chunks(crate::bounds::ROWS_PER_PASS * PIXELS) {
        let x = upload(chunk, chunk.len() / PIXELS, PIXELS, &device);
        out.extend(read(model.encode_top(model.encode_bottom(x).mu).mu).await?);
    }
    Ok(out)
}

/// Images generated top-down from `n` top codes `z2` (`[n, latent_top]`): z₁ = μ_p(z₂) + σ_p(z₂)
/// ⊙ ε₁ with `eps1` (`[n, latent]`), or z₁ = μ_p(z₂) when it is `None`; then the decoder's mean,
/// `n × 784` grey values.
pub async fn generate_images(
    model: &Hvae,
    z2: &[f32],
    eps1: Option<&[f32]>,
    n: usize,
) -> crate::Result<Vec<f32>> {
    let config = model.config();
    crate::inference::check_rows("z2", z2, n, config.latent_top)?;
    if let Some(eps1) = eps1 {
        crate::inference::check_rows("eps1", eps1, n, config.latent)?;
    }
    let device = model.device();
    let eps1 = eps1.map(|e| upload(e, n, config.latent, &device));
    read(model.generate(upload(z2, n, config.latent_top, &device), eps1)).await
}

/// The threshold of Burda et al. (2016): a latent unit is active when the variance over the data
/// of its posterior mean exceeds 0.01.
pub const ACTIVE_THRESHOLD: f32 = 0.01;

/// Active units of each layer on `pixels` (`n` digits): for z₁, dimensions whose E_q[z₁|x] = μ₁(x)
/// varies over the digits by more than [`ACTIVE_THRESHOLD`]; for z₂, the same of E_q[z₂|x],
/// estimated as the mean of μ₂(z₁) over `draws` draws of z₁ per digit. Returns (bottom, top).
pub async fn active_units(
    model: &Hvae,
    pixels: &[f32],
    n: usize,
    draws: usize,
    rng: &mut Rng,
) -> crate::Result<(usize, usize)> {
    crate::inference::check_pixels(pixels, n)?;
    let config = model.config();
    let device = model.device();
    let x = upload(pixels, n, PIXELS, &device);
    let q1 = model.encode_bottom(x);
    let mut top_mean = Tensor::<2>::zeros([n, config.latent_top], &device);
    for _ in 0..draws.max(1) {
        let eps = upload(&rng.normals(n * config.latent), n, config.latent, &device);
        top_mean = top_mean + model.encode_top(q1.draw(Some(eps))).mu;
    }
    let top_mean = top_mean.div_scalar(draws.max(1) as f32);
    let active = |means: Tensor<2>| async move {
        let variance = means.var(0); // [1, size]
        let values = read(variance).await?;
        Ok::<usize, crate::VaeError>(values.iter().filter(|&&v| v > ACTIVE_THRESHOLD).count())
    };
    Ok((active(q1.mu).await?, active(top_mean).await?))
}

/// Every tensor of an HVAE of this architecture, in PyTorch layout.
pub fn expected_shapes(config: &HvaeConfig) -> Vec<(String, Vec<usize>)> {
    linear_shapes(&config.layers())
}

/// Reads the architecture off the shapes, then checks every tensor against it.
fn infer_config(shapes: &std::collections::BTreeMap<&str, &[usize]>) -> crate::Result<HvaeConfig> {
    let dims = |name: &str| matrix_dims(shapes, name, "a hierarchical VAE's");
    let config = HvaeConfig {
        hidden: dims("q1_fc.weight")?[0],
        latent: dims("q1_mu.weight")?[0],
        hidden_top: dims("q2_fc.weight")?[0],
        latent_top: dims("q2_mu.weight")?[0],
    };
    config.validate().map_err(|e| bad(e.to_string()))?;
    let what = format!(
        "a hierarchical VAE with layers {}-{}-{} and {}-{}",
        PIXELS, config.hidden, config.latent, config.hidden_top, config.latent_top
    );
    check_shapes(
        shapes,
        &expected_shapes(&config),
        &what,
        "q1_*, q2_*, p1_*, px_*",
    )?;
    Ok(config)
}

/// An HVAE from safetensors bytes, checked as [`crate::weights::read_safetensors`] checks a VAE.
pub fn read_hvae(bytes: &[u8], device: &Device) -> crate::Result<Hvae> {
    let (config, tensors, _) = read_checked(bytes, infer_config)?;
    Ok(from_tensors(&config, &tensors, device))
}

fn from_tensors(config: &HvaeConfig, tensors: &Tensors, device: &Device) -> Hvae {
    let layers = config
        .layers()
        .map(|(name, _, _)| linear_from(tensors, name, device));
    Hvae::from_layers(layers, log_sigma_from(tensors, device))
}

/// Serialises an HVAE; `metadata` as for [`crate::weights::write_safetensors`].
pub async fn write_hvae(
    model: &Hvae,
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> crate::Result<Vec<u8>> {
    let mut tensors = Tensors::new();
    for (layer, (name, _, _)) in model.layers().into_iter().zip(model.config().layers()) {
        linear_tensors(layer, name, &mut tensors).await?;
    }
    finish_file(
        tensors,
        Some(&model.log_sigma_x),
        "hierarchical",
        dtype,
        metadata,
    )
    .await
}

/// log N(z; μ, σ²) summed over dimensions. All `[rows, size]` → `[rows]`.
fn log_normal(z: Tensor<2>, mu: Tensor<2>, logvar: Tensor<2>) -> Tensor<1> {
    let squared = (z - mu).square() * logvar.clone().neg().exp();
    (logvar + squared)
        .add_scalar(std::f64::consts::TAU.ln())
        .mul_scalar(-0.5)
        .sum_dim(1)
        .flatten(0, 1)
}

/// The importance-weighted estimate of −log p(x) per digit (Burda et al. 2016) from `k` draws of
/// (z₁, z₂) ~ q(z₁|x) q(z₂|z₁): −log (1/k) Σ p(x|z₁) p(z₁|z₂) p(z₂) / (q(z₁|x) q(z₂|z₁)). It is an
/// upper bound on −log p(x) that tightens as k grows; at k = 1 it is a one-draw −ELBO (with the
/// entropy of q(z₁|x) drawn rather than exact).
pub async fn negative_log_likelihood(
    model: &Hvae,
    pixels: &[f32],
    n: usize,
    k: usize,
    likelihood: Likelihood,
    rng: &mut Rng,
) -> crate::Result<Vec<f32>> {
    crate::inference::check_pixels(pixels, n)?;
    crate::inference::check_draws(k)?;
    let config = model.config();
    if n.saturating_mul(k)
        .saturating_mul(config.latent + config.latent_top)
        > crate::bounds::MAX_NOISE
    {
        return Err(crate::VaeError::InvalidInput(format!(
            "{n} digits × {k} draws is more noise than one call takes: score fewer digits at a time"
        )));
    }
    let device = model.device();
    let per_pass = (crate::bounds::ROWS_PER_PASS / k).max(1);
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(per_pass) {
        let m = per_pass.min(n - start);
        // Each digit repeated k times, digit-major: [m·k, 784].
        let mut repeated = Vec::with_capacity(m * k * PIXELS);
        for digit in pixels[start * PIXELS..(start + m) * PIXELS].chunks(PIXELS) {
            for _ in 0..k {
                repeated.extend_from_slice(digit);
            }
        }
        let x = upload(&repeated, m * k, PIXELS, &device);
        let o = model.forward_noisy(x.clone(), rng);
        let recon = reconstruction(o.logits, x, likelihood, o.log_sigma_x); // [m·k]
        let log_prior = log_normal(o.z1.clone(), o.p1.mu, o.p1.logvar)
            + log_normal(o.z2.clone(), o.z2.zeros_like(), o.z2.zeros_like());
        let log_posterior =
            log_normal(o.z1, o.q1.mu, o.q1.logvar) + log_normal(o.z2, o.q2.mu, o.q2.logvar);
        let w = read1(log_prior - log_posterior - recon).await?;
        for row in w.chunks(k) {
            let row: Vec<f64> = row.iter().map(|&v| v as f64).collect();
            out.push(-crate::bounds::log_mean_exp(&row) as f32);
        }
    }
    Ok(out)
}
