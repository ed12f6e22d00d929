//! The adversarial autoencoder of Makhzani et al. (2015): a deterministic encoder x → z, a decoder
//! z → pixel logits, and a discriminator on codes. Instead of a KL term, the discriminator learns to
//! tell samples of a chosen prior p(z) ("real") from the encoder's codes ("fake"), and the encoder,
//! playing the generator, learns to fool it; so the codes of the data come to fill the prior's
//! shape, whatever that shape is.
//!
//! One training step has the paper's two phases:
//! - reconstruction: encoder and decoder minimise −log p(x|z), Bernoulli, nats per digit;
//! - regularisation: the discriminator minimises −log D(z_prior) − log(1 − D(z_code)), then the
//!   encoder minimises the non-saturating generator loss −log D(z_code).
//!
//! In the label-guided variant (the paper's §2.3) the discriminator also sees the digit's one-hot
//! label, and a digit of class y is matched to part y of the prior (a ring component, a stretch
//! of the swiss roll): the "ten Gaussian modes" picture made literal.
//!
//! The layer names are those of `crates/core/tests/fixtures/make_aae_fixture.py`'s PyTorch module:
//! `encoder.fc`, `encoder.z`, `decoder.fc`, `decoder.out`, `discriminator.fc1`, `discriminator.fc2`,
//! `discriminator.out`.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};
use serde::{Deserialize, Serialize};

use crate::error::VaeError;
use crate::inference::{read, upload};
use crate::loss::bce_with_logits;
use crate::model::{CLASSES, PIXELS};
use crate::rng::Rng;
use crate::weights::{
    Dtype, Tensors, bad, check_shapes, finish_file, linear_from, linear_shapes, linear_tensors,
    matrix_dims, read_checked,
};

/// The architecture.
#[derive(Config, Debug, PartialEq)]
pub struct AaeConfig {
    /// 400 hidden units in the encoder and the decoder: the VAE's size, so their maps compare.
    #[config(default = 400)]
    pub hidden: usize,
    /// A 2-D code, so the map shows it whole and the ring and swiss-roll priors apply.
    #[config(default = 2)]
    pub latent: usize,
    /// 128 units in each of the discriminator's two hidden layers: enough to tell a 2-D shape
    /// apart, small beside the autoencoder so the two phases stay in step.
    #[config(default = 128)]
    pub hidden_disc: usize,
    /// Whether the discriminator sees the label (the label-guided variant). Off: the plain AAE.
    #[config(default = false)]
    pub label_guided: bool,
}

impl AaeConfig {
    /// Checks sizes before any allocation.
    pub fn validate(&self) -> crate::Result<()> {
        for (name, value) in [
            ("hidden", self.hidden),
            ("latent", self.latent),
            ("hidden_disc", self.hidden_disc),
        ] {
            if value == 0 || value > crate::VaeConfig::MAX_WIDTH {
                return Err(VaeError::InvalidInput(format!(
                    "{name} size must be between 1 and {}, got {value}",
                    crate::VaeConfig::MAX_WIDTH
                )));
            }
        }
        Ok(())
    }

    /// `(name, out, in)` of every linear layer.
    fn layers(&self) -> [(&'static str, usize, usize); 7] {
        let (h, l, d) = (self.hidden, self.latent, self.hidden_disc);
        let label = if self.label_guided { CLASSES } else { 0 };
        [
            ("encoder.fc", h, PIXELS),
            ("encoder.z", l, h),
            ("decoder.fc", h, l),
            ("decoder.out", PIXELS, h),
            ("discriminator.fc1", d, l + label),
            ("discriminator.fc2", d, d),
            ("discriminator.out", 1, d),
        ]
    }

    /// A freshly initialised model, linear layers initialised as PyTorch's.
    pub fn init(&self, device: &Device) -> Aae {
        Aae::from_layers(
            self.layers()
                .map(|(_, out, inp)| LinearConfig::new(inp, out).init(device)),
            self.label_guided,
        )
    }
}

/// x → z.
#[derive(Module, Debug)]
pub struct Encoder {
    pub fc: Linear,
    pub z: Linear,
}

/// z → pixel logits.
#[derive(Module, Debug)]
pub struct Decoder {
    pub fc: Linear,
    pub out: Linear,
}

/// (z, label) → the logit of "z was drawn from the prior".
#[derive(Module, Debug)]
pub struct Discriminator {
    pub fc1: Linear,
    pub fc2: Linear,
    pub out: Linear,
}

#[derive(Module, Debug)]
pub struct Aae {
    pub encoder: Encoder,
    pub decoder: Decoder,
    pub discriminator: Discriminator,
    /// Whether the discriminator takes the one-hot label after the code.
    #[module(skip)]
    pub label_guided: bool,
}

impl Aae {
    /// A model from its linear layers in [`AaeConfig`]'s order.
    fn from_layers(layers: [Linear; 7], label_guided: bool) -> Self {
        let [enc_fc, enc_z, dec_fc, dec_out, fc1, fc2, out] = layers;
        Aae {
            encoder: Encoder {
                fc: enc_fc,
                z: enc_z,
            },
            decoder: Decoder {
                fc: dec_fc,
                out: dec_out,
            },
            discriminator: Discriminator { fc1, fc2, out },
            label_guided,
        }
    }

    /// The linear layers in [`AaeConfig`]'s order.
    fn layers(&self) -> [&Linear; 7] {
        [
            &self.encoder.fc,
            &self.encoder.z,
            &self.decoder.fc,
            &self.decoder.out,
            &self.discriminator.fc1,
            &self.discriminator.fc2,
            &self.discriminator.out,
        ]
    }

    pub fn config(&self) -> AaeConfig {
        let dims = |l: &Linear| -> [usize; 2] { l.weight.shape().dims() };
        AaeConfig {
            hidden: dims(&self.encoder.fc)[1],
            latent: dims(&self.encoder.z)[1],
            hidden_disc: dims(&self.discriminator.fc1)[1],
            label_guided: self.label_guided,
        }
    }

    pub fn latent(&self) -> usize {
        self.encoder.z.weight.shape().dims::<2>()[1]
    }

    pub fn device(&self) -> Device {
        self.encoder.fc.weight.device()
    }

    /// The code of each digit. `x`: `[batch, 784]` → `[batch, latent]`.
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.encoder.fc.forward(x)); // [batch, hidden]
        self.encoder.z.forward(h)
    }

    /// Pixel logits. `z`: `[batch, latent]` → `[batch, 784]`.
    pub fn decode_logits(&self, z: Tensor<2>) -> Tensor<2> {
        let h = relu(self.decoder.fc.forward(z)); // [batch, hidden]
        self.decoder.out.forward(h)
    }

    /// Grey values decoded from codes. `z`: `[batch, latent]` → `[batch, 784]`.
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        sigmoid(self.decode_logits(z))
    }

    /// The discriminator's logit that each code came from the prior.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent]`; `labels`: `[batch, 10]` one-hot, used only when label-guided
    /// - returns `[batch]`
    ///
    /// # Panics
    /// When the model is label-guided and `labels` is `None` (the trainer refuses that first).
    pub fn discriminate(&self, z: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<1> {
        let input = match labels.filter(|_| self.label_guided) {
            Some(labels) => Tensor::cat(vec![z, labels], 1), // [batch, latent + 10]
            None => z,
        };
        let d = &self.discriminator;
        let h = relu(d.fc2.forward(relu(d.fc1.forward(input)))); // [batch, hidden_disc]
        d.out.forward(h).flatten(0, 1) // [batch]
    }
}

/// −log p(x|z) per digit under the Bernoulli likelihood, in nats.
///
/// # Shapes
/// `logits`, `x`: `[batch, 784]` → `[batch]`
pub fn reconstruction(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    bce_with_logits(logits, x).sum_dim(1).flatten(0, 1)
}

/// ln(1 + eˡ), computed without overflow. `[n]` → `[n]`.
fn softplus(l: Tensor<1>) -> Tensor<1> {
    relu(l.clone()) + l.abs().neg().exp().log1p()
}

/// The discriminator's loss: the mean of −log D over prior samples plus the mean of
/// −log(1 − D) over codes, D = sigmoid(logit). `[n]`, `[m]` → `[1]`.
pub fn discriminator_loss(real_logits: Tensor<1>, fake_logits: Tensor<1>) -> Tensor<1> {
    softplus(real_logits.neg()).mean() + softplus(fake_logits).mean()
}

/// The encoder's loss as the generator: the mean of −log D over codes (non-saturating). `[n]` → `[1]`.
pub fn generator_loss(fake_logits: Tensor<1>) -> Tensor<1> {
    softplus(fake_logits.neg()).mean()
}

/// The distribution the codes are pushed towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "typescript", derive(tsify::Tsify))]
#[serde(rename_all = "lowercase")]
pub enum Prior {
    /// N(0, I), the VAE's prior, in any number of dimensions.
    #[default]
    Gaussian,
    /// Ten 2-D Gaussians (σ = [`RING_SIGMA`]) evenly spaced on a circle of radius
    /// [`RING_RADIUS`]; label-guided, digit y goes to the component at angle 2πy/10.
    Ring,
    /// A 2-D spiral: t ~ U(0, 1), radius 1 + 3t, angle 3πt, plus N(0, [`ROLL_NOISE`]²) noise;
    /// label-guided, digit y takes t in [y/10, (y+1)/10).
    SwissRoll,
}

/// Radius of the ring prior's circle of centres.
pub const RING_RADIUS: f32 = 4.0;
/// σ of each ring component: neighbours' centres are 2.5 apart, five σ.
pub const RING_SIGMA: f32 = 0.5;
/// σ of the noise around the swiss roll's curve: the arms are 2 apart.
pub const ROLL_NOISE: f32 = 0.15;

impl Prior {
    pub const ALL: [Prior; 3] = [Prior::Gaussian, Prior::Ring, Prior::SwissRoll];

    pub fn name(self) -> &'static str {
        match self {
            Prior::Gaussian => "gaussian",
            Prior::Ring => "ring",
            Prior::SwissRoll => "swissroll",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Checks that this prior can be drawn in `latent` dimensions, labelled or not.
    pub fn check(self, latent: usize, label_guided: bool) -> crate::Result<()> {
        if self != Prior::Gaussian && latent != 2 {
            return Err(VaeError::InvalidInput(format!(
                "the {} prior is 2-D; this model's code has {latent} dimensions",
                self.name()
            )));
        }
        if self == Prior::Gaussian && label_guided {
            return Err(VaeError::InvalidInput(
                "a label-guided model needs a prior with one part per digit: the ring or the swiss roll".into(),
            ));
        }
        Ok(())
    }

    /// `n` samples, `[n, latent]` row-major; with `labels`, sample i comes from the part of the
    /// prior that belongs to digit `labels[i]`.
    pub fn sample(
        self,
        n: usize,
        latent: usize,
        labels: Option<&[u8]>,
        rng: &mut Rng,
    ) -> crate::Result<Vec<f32>> {
        self.check(latent, labels.is_some())?;
        if let Some(labels) = labels {
            if labels.len() != n {
                return Err(VaeError::InvalidInput(format!(
                    "labels: expected {n}, got {}",
                    labels.len()
                )));
            }
            if let Some(l) = labels.iter().find(|&&l| l as usize >= CLASSES) {
                return Err(VaeError::InvalidInput(format!(
                    "labels: {l} is not a digit 0–9"
                )));
            }
        }
        let mut out = Vec::with_capacity(n * latent);
        for i in 0..n {
            let label = labels.map(|l| l[i] as f32);
            match self {
                Prior::Gaussian => out.extend(rng.normals(latent)),
                Prior::Ring => {
                    let k = label.unwrap_or_else(|| rng.below(CLASSES) as f32);
                    let angle = std::f32::consts::TAU * k / CLASSES as f32;
                    out.push(RING_RADIUS * angle.cos() + RING_SIGMA * rng.normal());
                    out.push(RING_RADIUS * angle.sin() + RING_SIGMA * rng.normal());
                }
                Prior::SwissRoll => {
                    let u = rng.uniform() as f32;
                    let t = label.map_or(u, |y| (y + u) / CLASSES as f32);
                    let (r, angle) = (1.0 + 3.0 * t, 3.0 * std::f32::consts::PI * t);
                    out.push(r * angle.cos() + ROLL_NOISE * rng.normal());
                    out.push(r * angle.sin() + ROLL_NOISE * rng.normal());
                }
            }
        }
        Ok(out)
    }
}

/// Bandwidths σ of the Gaussian kernels [`mmd2`] sums: from a quarter of a ring component's
/// spread to the size of the whole prior, so both a wrong shape and a wrong scale show.
pub const MMD_BANDWIDTHS: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];

/// The most points per set [`mmd2`] takes: 4,096² kernel sums are about a second in the tab.
pub const MMD_MAX_POINTS: usize = 4096;

/// The unbiased estimate of MMD² (Gretton et al. 2012) between the point sets `a` and `b`
/// (`dims` numbers per point, at least two points each), with the kernel
/// k(u, v) = Σ_σ exp(−‖u − v‖² / 2σ²) over [`MMD_BANDWIDTHS`]. Its expectation is 0 exactly when
/// the two sets come from the same distribution; an estimate may dip just below 0.
pub fn mmd2(a: &[f32], b: &[f32], dims: usize) -> crate::Result<f64> {
    fn points<'a>(what: &str, v: &'a [f32], dims: usize) -> crate::Result<Vec<&'a [f32]>> {
        if dims == 0 || !v.len().is_multiple_of(dims) || v.len() / dims < 2 {
            return Err(VaeError::InvalidInput(format!(
                "{what}: {} numbers are not two or more points of {dims} dimensions",
                v.len()
            )));
        }
        if v.len() / dims > MMD_MAX_POINTS {
            return Err(VaeError::InvalidInput(format!(
                "{what}: {} points; the MMD² compares at most {MMD_MAX_POINTS} per set (its work grows with the square)",
                v.len() / dims
            )));
        }
        crate::inference::check_finite(what, v)?;
        Ok(v.chunks(dims).collect())
    }
    let (a, b) = (points("codes", a, dims)?, points("prior samples", b, dims)?);
    let kernel = |u: &[f32], v: &[f32]| {
        let d2: f64 = u
            .iter()
            .zip(v)
            .map(|(p, q)| (*p as f64 - *q as f64).powi(2))
            .sum();
        MMD_BANDWIDTHS
            .iter()
            .map(|s| (-d2 / (2.0 * s * s)).exp())
            .sum::<f64>()
    };
    let within = |set: &[&[f32]]| {
        let mut sum = 0.0;
        for i in 0..set.len() {
            for j in i + 1..set.len() {
                sum += kernel(set[i], set[j]);
            }
        }
        2.0 * sum / (set.len() * (set.len() - 1)) as f64
    };
    let mut across = 0.0;
    for u in &a {
        for v in &b {
            across += kernel(u, v);
        }
    }
    Ok(within(&a) + within(&b) - 2.0 * across / (a.len() * b.len()) as f64)
}

/// The codes of `n` digits, `[n, latent]` row-major.
pub async fn codes(model: &Aae, pixels: &[f32], n: usize) -> crate::Result<Vec<f32>> {
    crate::inference::check_pixels(pixels, n)?;
    let device = model.device();
    let mut out = Vec::with_capacity(n * model.latent());
    for chunk in pixels.chunks(crate::bounds::ROWS_PER_PASS * PIXELS) {
        let rows = chunk.len() / PIXELS;
        out.extend(read(model.encode(upload(chunk, rows, PIXELS, &device))).await?);
    }
    Ok(out)
}

/// The decoder's mean images (Bernoulli: each pixel's probability) for `n` codes `z`, `[n,
/// latent]` row-major: `n × 784` grey values.
pub async fn decode_codes(model: &Aae, z: &[f32], n: usize) -> crate::Result<Vec<f32>> {
    let latent = model.latent();
    crate::inference::check_rows("z", z, n, latent)?;
    let device = model.device();
    let mut out = Vec::with_capacity(n * PIXELS);
    for chunk in z.chunks(crate::bounds::ROWS_PER_PASS * latent) {
        let rows = chunk.len() / latent;
        out.extend(read(model.decode(upload(chunk, rows, latent, &device))).await?);
    }
    Ok(out)
}

/// Test-set figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AaeScores {
    /// −log p(x|z) at the digit's code, Bernoulli, nats per digit. Not an ELBO: the AAE has no
    /// posterior to bound a likelihood with.
    pub recon: f64,
    /// Unbiased MMD² between the codes and as many prior samples ([`mmd2`]).
    pub mmd2: f64,
}

/// The reconstruction error of `n` digits and the MMD² between the codes of (at most) the first
/// `mmd_points` of them and as many samples of `prior` (from the digits' own parts when the model
/// is label-guided).
pub async fn evaluate(
    model: &Aae,
    pixels: &[f32],
    labels: &[u8],
    n: usize,
    prior: Prior,
    mmd_points: usize,
    rng: &mut Rng,
) -> crate::Result<AaeScores> {
    crate::inference::check_pixels(pixels, n)?;
    if labels.len() != n {
        return Err(VaeError::InvalidInput(format!(
            "labels: expected {n}, got {}",
            labels.len()
        )));
    }
    let device = model.device();
    let mut recon = 0.0f64;
    for chunk in pixels.chunks(crate::bounds::ROWS_PER_PASS * PIXELS) {
        let x = upload(chunk, chunk.len() / PIXELS, PIXELS, &device);
        let r = reconstruction(model.decode_logits(model.encode(x.clone())), x).sum();
        recon += crate::inference::read1(r).await?[0] as f64;
    }
    let m = mmd_points.min(n);
    let latent = model.latent();
    let z = codes(model, &pixels[..m * PIXELS], m).await?;
    let guide = model.label_guided.then(|| &labels[..m]);
    let samples = prior.sample(m, latent, guide, rng)?;
    Ok(AaeScores {
        recon: recon / n as f64,
        mmd2: mmd2(&z, &samples, latent)?,
    })
}

/// Every tensor of an AAE of this architecture, in PyTorch layout.
pub fn expected_shapes(config: &AaeConfig) -> Vec<(String, Vec<usize>)> {
    linear_shapes(&config.layers())
}

/// Reads the architecture off the shapes, then checks every tensor against it.
fn infer_config(shapes: &std::collections::BTreeMap<&str, &[usize]>) -> crate::Result<AaeConfig> {
    let dims = |name: &str| matrix_dims(shapes, name, "an adversarial autoencoder's");
    let [hidden, _] = dims("encoder.fc.weight")?;
    let [latent, _] = dims("encoder.z.weight")?;
    let [hidden_disc, disc_in] = dims("discriminator.fc1.weight")?;
    let config = AaeConfig {
        hidden,
        latent,
        hidden_disc,
        label_guided: disc_in == latent + CLASSES,
    };
    config.validate().map_err(|e| bad(e.to_string()))?;
    let what = format!(
        "an adversarial autoencoder {PIXELS}-{hidden}-{latent} with a {}discriminator of {hidden_disc} units",
        if config.label_guided {
            "label-guided "
        } else {
            ""
        }
    );
    check_shapes(
        shapes,
        &expected_shapes(&config),
        &what,
        "encoder.*, decoder.*, discriminator.*",
    )?;
    Ok(config)
}

/// An AAE from safetensors bytes, checked as [`crate::weights::read_safetensors`] checks a VAE.
pub fn read_aae(bytes: &[u8], device: &Device) -> crate::Result<Aae> {
    read_aae_file(bytes, device).map(|(model, _)| model)
}

/// The metadata key of the prior a file's model was trained towards ([`PRIOR_KEY`] = its
/// [`Prior::name`]), written by [`write_aae`]'s callers so a loaded model is shown and trained on
/// with the right shape.
pub const PRIOR_KEY: &str = "prior";

/// An AAE and the prior its file names, if it names one. A prior the model cannot take (a 2-D
/// shape for a wider code, or a label-guided model with N(0, I)) is refused with why.
pub fn read_aae_file(bytes: &[u8], device: &Device) -> crate::Result<(Aae, Option<Prior>)> {
    let (config, tensors, metadata) = read_checked(bytes, infer_config)?;
    let prior = match metadata.get(PRIOR_KEY) {
        None => None,
        Some(name) => {
            let prior = Prior::parse(name).ok_or_else(|| {
                bad(format!(
                    "the file's prior \"{name}\" is not one of {}",
                    Prior::ALL.map(Prior::name).join(", ")
                ))
            })?;
            prior.check(config.latent, config.label_guided)?;
            Some(prior)
        }
    };
    Ok((from_tensors(&config, &tensors, device), prior))
}

fn from_tensors(config: &AaeConfig, tensors: &Tensors, device: &Device) -> Aae {
    Aae::from_layers(
        config
            .layers()
            .map(|(name, _, _)| linear_from(tensors, name, device)),
        config.label_guided,
    )
}

/// Serialises an AAE, discriminator included (so training can go on from the file).
pub async fn write_aae(
    model: &Aae,
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> crate::Result<Vec<u8>> {
    let mut tensors = Tensors::new();
    for (layer, (name, _, _)) in model.layers().into_iter().zip(model.config().layers()) {
        linear_tensors(layer, name, &mut tensors).await?;
    }
    finish_file(tensors, None, "adversarial", dtype, metadata).await
}
