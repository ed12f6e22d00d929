//! The variational recurrent autoencoder (after Fabius & van Amersfoort, 2014) over windows of a
//! univariate time series.
//!
//! Encoder: a GRU reads x₁…x_T; its last state h_T gives μ and log σ² of q(z|x). Decoder: z sets
//! the decoder GRU's first state, h₀ = tanh(W z + b), and is its input at every step (so the code
//! is never forgotten over a long window); a linear layer reads each state h_t as the mean m_t of
//! p(x_t|z) = N(m_t, σ_x²), one σ_x learned for the whole series. The decoder never sees the
//! window it rebuilds, so it cannot copy an anomaly through: it can only redraw what the code
//! holds, and what normal windows taught it.
//!
//! −ELBO per window = Σ_t [(x_t − m_t)² / (2σ_x²) + ln σ_x + ½ ln 2π] + KL(q(z|x) ‖ N(0, I)), in
//! nats of that Gaussian on the standardised series (a density, so the figure may be negative).
//! The anomaly score of a window is that sum at z = μ: deterministic, and high where the window is
//! unlike the training data.
//!
//! Names are those of `crates/core/tests/fixtures/make_vrae_fixture.py`'s PyTorch module:
//! `encoder.*` and `decoder.*` are `nn.GRU`s (`weight_ih_l0 [3H, in]`, `weight_hh_l0 [3H, H]`,
//! `bias_ih_l0`, `bias_hh_l0`, gates stacked reset, update, new), then `enc_mu`, `enc_logvar`,
//! `dec_init`, `dec_out` as linear layers, and `log_sigma_x`.

use burn::module::Param;
use burn::nn::{Gru, GruConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::tanh;

use crate::hvae::Gaussian;
use crate::inference::{read, read1, upload};
use crate::loss::kl_per_dimension;
use crate::model::log_sigma_param;
use crate::rng::Rng;
use crate::series::{MAX_WINDOW, WINDOW};
use crate::weights::{
    Dtype, NamedTensor, Tensors, bad, check_shapes, finish_file, linear_from, linear_shapes,
    linear_tensors, log_sigma_from, matrix_dims, read_checked,
};

/// The architecture.
#[derive(Config, Debug, PartialEq)]
pub struct VraeConfig {
    /// 32 units per GRU: the shipped series' beat is a smooth shape that a small state holds, and
    /// the step cost grows with the square of this.
    #[config(default = 32)]
    pub hidden: usize,
    /// 8 dimensions for z: enough for where in the beat a window starts and its height, few enough
    /// that noise cannot be encoded (so it is not rebuilt, and scores high).
    #[config(default = 8)]
    pub latent: usize,
}

/// σ_x a new model starts from, on the standardised series (training learns it).
pub const INITIAL_SIGMA_X: f32 = 1.0;

impl VraeConfig {
    /// The largest hidden or latent size accepted: GRU cost grows with its square.
    pub const MAX_WIDTH: usize = 512;

    /// Checks sizes before any allocation.
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

    /// `(name, out, in)` of every linear layer.
    fn linears(&self) -> [(&'static str, usize, usize); 4] {
        let (h, l) = (self.hidden, self.latent);
        [
            ("enc_mu", l, h),
            ("enc_logvar", l, h),
            ("dec_init", h, l),
            ("dec_out", 1, h),
        ]
    }

    /// `(name, input size)` of the two GRUs.
    fn grus(&self) -> [(&'static str, usize); 2] {
        [("encoder", 1), ("decoder", self.latent)]
    }

    /// A freshly initialised model: GRU weights uniform in ±1/√H and linear layers as PyTorch
    /// initialises them.
    pub fn init(&self, device: &Device) -> Vrae {
        let bound = 1.0 / (self.hidden as f64).sqrt();
        let gru = |inputs: usize| {
            GruConfig::new(inputs, self.hidden, true)
                .with_initializer(Initializer::Uniform {
                    min: -bound,
                    max: bound,
                })
                .init(device)
        };
        let [enc_mu, enc_logvar, dec_init, dec_out] = self
            .linears()
            .map(|(_, out, inp)| LinearConfig::new(inp, out).init(device));
        Vrae {
            encoder: gru(1),
            enc_mu,
            enc_logvar,
            dec_init,
            decoder: gru(self.latent),
            dec_out,
            log_sigma_x: log_sigma_param(INITIAL_SIGMA_X, device),
        }
    }
}

#[derive(Module, Debug)]
pub struct Vrae {
    pub encoder: Gru,
    pub enc_mu: Linear,
    pub enc_logvar: Linear,
    pub dec_init: Linear,
    pub decoder: Gru,
    pub dec_out: Linear,
    /// ln σ_x of the Gaussian p(x_t|z).
    pub log_sigma_x: Param<Tensor<1>>,
}

/// Everything a forward pass computes.
#[derive(Debug, Clone)]
pub struct VraeOutput {
    /// q(z|x), `[batch, latent]`.
    pub q: Gaussian,
    /// The code decoded, `[batch, latent]`.
    pub z: Tensor<2>,
    /// The decoder's mean of each sample, `[batch, steps]`.
    pub mean: Tensor<2>,
    /// ln σ_x, `[1]`.
    pub log_sigma_x: Tensor<1>,
}

impl Vrae {
    pub fn config(&self) -> VraeConfig {
        let [hidden, latent] = self.enc_mu.weight.shape().dims();
        VraeConfig { hidden, latent }
    }

    pub fn device(&self) -> Device {
        self.enc_mu.weight.device()
    }

    /// q(z|x) from the encoder's last state. `x`: `[batch, steps]` → `[batch, latent]` twice.
    pub fn encode(&self, x: Tensor<2>) -> Gaussian {
        let [batch, steps] = x.shape().dims();
        let states = self.encoder.forward(x.reshape([batch, steps, 1]), None); // [batch, steps, hidden]
        let last = states.narrow(1, steps - 1, 1).flatten(1, 2); // [batch, hidden]
        Gaussian {
            mu: self.enc_mu.forward(last.clone()),
            logvar: self.enc_logvar.forward(last),
        }
    }

    /// The decoder's mean over `steps` samples. `z`: `[batch, latent]` → `[batch, steps]`.
    pub fn decode(&self, z: Tensor<2>, steps: usize) -> Tensor<2> {
        let h0 = tanh(self.dec_init.forward(z.clone())); // [batch, hidden]
        let inputs = z.unsqueeze_dim::<3>(1).repeat_dim(1, steps); // [batch, steps, latent]
        let states = self.decoder.forward(inputs, Some(h0)); // [batch, steps, hidden]
        self.dec_out.forward(states).flatten(1, 2) // [batch, steps]
    }

    /// Encodes, draws z = μ + σ ⊙ ε (z = μ when `eps` is `None`) and decodes.
    ///
    /// # Shapes
    /// - `x`: `[batch, steps]`; `eps`: `[batch, latent]`
    pub fn forward(&self, x: Tensor<2>, eps: Option<Tensor<2>>) -> VraeOutput {
        let [_, steps] = x.shape().dims();
        let q = self.encode(x);
        let z = q.draw(eps);
        VraeOutput {
            mean: self.decode(z.clone(), steps),
            q,
            z,
            log_sigma_x: self.log_sigma_x.val(),
        }
    }

    /// One forward pass with noise drawn from `rng`.
    pub fn forward_noisy(&self, x: Tensor<2>, rng: &mut Rng) -> VraeOutput {
        let [n, _] = x.shape().dims();
        let latent = self.config().latent;
        let eps = upload(&rng.normals(n * latent), n, latent, &x.device());
        self.forward(x, Some(eps))
    }
}

/// The two −ELBO terms per window, each `[batch]`, nats.
#[derive(Debug, Clone)]
pub struct VraeTerms {
    /// −log p(x|z) under N(mean, σ_x²).
    pub recon: Tensor<1>,
    /// KL(q(z|x) ‖ N(0, I)) in closed form.
    pub kl: Tensor<1>,
}

/// Σ_t (x_t − m_t)² / (2σ_x²) + T ln σ_x + (T/2) ln 2π per window.
///
/// # Shapes
/// `mean`, `x`: `[batch, steps]`, `log_sigma_x`: `[1]` → `[batch]`
pub fn gaussian_nll(mean: Tensor<2>, x: Tensor<2>, log_sigma_x: Tensor<1>) -> Tensor<1> {
    let [_, steps] = x.shape().dims();
    let squares = (x - mean).square().sum_dim(1).flatten(0, 1); // [batch]
    let precision = log_sigma_x.clone().mul_scalar(-2.0).exp().mul_scalar(0.5); // [1]
    let log_norm = log_sigma_x
        .mul_scalar(steps as f32)
        .add_scalar(0.5 * steps as f64 * std::f64::consts::TAU.ln()); // [1]
    squares * precision + log_norm
}

/// The −ELBO terms of `output` for the windows `x`.
pub fn terms(output: &VraeOutput, x: Tensor<2>) -> VraeTerms {
    VraeTerms {
        recon: gaussian_nll(output.mean.clone(), x, output.log_sigma_x.clone()),
        kl: kl_per_dimension(output.q.mu.clone(), output.q.logvar.clone())
            .sum_dim(1)
            .flatten(0, 1),
    }
}

/// Checks `values` holds `n` windows of `steps` finite samples (at most [`MAX_WINDOW`]).
pub fn check_windows(values: &[f32], n: usize, steps: usize) -> crate::Result<()> {
    if steps == 0 || steps > MAX_WINDOW {
        return Err(crate::VaeError::InvalidInput(format!(
            "a window must hold 1 to {MAX_WINDOW} samples, got {steps}"
        )));
    }
    crate::inference::check_rows("windows", values, n, steps)
}

/// Windows scored in one pass: 512 × 64 samples keep a pass's graph small.
const WINDOWS_PER_PASS: usize = 512;

/// What the model makes of `n` windows of `steps` samples (row after row): the anomaly score of
/// each (−log p(x|z) + KL at z = μ, nats) and its reconstruction (the decoder's mean at z = μ,
/// `[n, steps]`).
pub async fn score_windows(
    model: &Vrae,
    values: &[f32],
    n: usize,
    steps: usize,
) -> crate::Result<(Vec<f32>, Vec<f32>)> {
    check_windows(values, n, steps)?;
    let device = model.device();
    let (mut scores, mut means) = (Vec::with_capacity(n), Vec::with_capacity(n * steps));
    for chunk in values.chunks(WINDOWS_PER_PASS * steps) {
        let x = upload(chunk, chunk.len() / steps, steps, &device);
        let out = model.forward(x.clone(), None);
        let t = terms(&out, x);
        scores.extend(read1(t.recon + t.kl).await?);
        means.extend(read(out.mean).await?);
    }
    Ok((scores, means))
}

/// The decoder's mean over `steps` samples for `n` codes `z` (`[n, latent]`): `[n, steps]`.
pub async fn decode_codes(
    model: &Vrae,
    z: &[f32],
    n: usize,
    steps: usize,
) -> crate::Result<Vec<f32>> {
    let latent = model.config().latent;
    crate::inference::check_rows("z", z, n, latent)?;
    check_windows(&vec![0.0; steps], 1, steps)?;
    read(model.decode(upload(z, n, latent, &model.device()), steps)).await
}

/// Held-out figures, mean per window, nats: −ELBO from one draw of z, and its terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VraeScores {
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl: f64,
}

/// The mean −ELBO terms of `n` windows, one draw of z each.
pub async fn evaluate(
    model: &Vrae,
    values: &[f32],
    n: usize,
    steps: usize,
    rng: &mut Rng,
) -> crate::Result<VraeScores> {
    check_windows(values, n, steps)?;
    let device = model.device();
    let (mut recon, mut kl) = (0.0f64, 0.0f64);
    for chunk in values.chunks(WINDOWS_PER_PASS * steps) {
        let x = upload(chunk, chunk.len() / steps, steps, &device);
        let t = terms(&model.forward_noisy(x.clone(), rng), x);
        let sums = read1(Tensor::cat(vec![t.recon.sum(), t.kl.sum()], 0)).await?;
        recon += sums[0] as f64;
        kl += sums[1] as f64;
    }
    let (recon, kl) = (recon / n as f64, kl / n as f64);
    Ok(VraeScores {
        neg_elbo: recon + kl,
        recon,
        kl,
    })
}

/// The windows' length in a file's metadata (the model runs on any length; this is the one it
/// learned on).
pub const WINDOW_KEY: &str = "window";

/// Every tensor of a VRAE of this architecture, in PyTorch layout.
pub fn expected_shapes(config: &VraeConfig) -> Vec<(String, Vec<usize>)> {
    let h3 = 3 * config.hidden;
    let mut shapes = linear_shapes(&config.linears());
    for (name, inputs) in config.grus() {
        shapes.extend([
            (format!("{name}.weight_ih_l0"), vec![h3, inputs]),
            (format!("{name}.weight_hh_l0"), vec![h3, config.hidden]),
            (format!("{name}.bias_ih_l0"), vec![h3]),
            (format!("{name}.bias_hh_l0"), vec![h3]),
        ]);
    }
    shapes.push((crate::weights::LOG_SIGMA_X.into(), vec![1]));
    shapes
}

/// Reads the architecture off the shapes, then checks every tensor against it.
fn infer_config(shapes: &std::collections::BTreeMap<&str, &[usize]>) -> crate::Result<VraeConfig> {
    let [latent, hidden] = matrix_dims(shapes, "enc_mu.weight", "a recurrent VAE's")?;
    let config = VraeConfig { hidden, latent };
    config.validate().map_err(|e| bad(e.to_string()))?;
    let what = format!("a recurrent VAE with {hidden} GRU units and a {latent}-D code");
    check_shapes(
        shapes,
        &expected_shapes(&config),
        &what,
        "encoder.*, decoder.*, enc_*, dec_*",
    )?;
    Ok(config)
}

/// A VRAE from safetensors bytes, checked as [`crate::weights::read_safetensors`] checks a VAE.
pub fn read_vrae(bytes: &[u8], device: &Device) -> crate::Result<Vrae> {
    let (config, tensors, _) = read_checked(bytes, infer_config)?;
    let [enc_mu, enc_logvar, dec_init, dec_out] = config
        .linears()
        .map(|(name, _, _)| linear_from(&tensors, name, device));
    let mut model = config.init(device);
    gru_from(&mut model.encoder, &tensors, "encoder", device);
    gru_from(&mut model.decoder, &tensors, "decoder", device);
    Ok(Vrae {
        enc_mu,
        enc_logvar,
        dec_init,
        dec_out,
        log_sigma_x: log_sigma_from(&tensors, device),
        ..model
    })
}

/// PyTorch stacks a GRU's gates in this order; burn keeps one controller per gate.
fn gates_mut(gru: &mut Gru) -> [&mut burn::nn::GateController; 3] {
    [&mut gru.reset_gate, &mut gru.update_gate, &mut gru.new_gate]
}

fn gates(gru: &Gru) -> [&burn::nn::GateController; 3] {
    [&gru.reset_gate, &gru.update_gate, &gru.new_gate]
}

/// Gate `gate`'s block of PyTorch's stacked `{name}.weight_{part}_l0` and bias as a linear layer.
fn gate_linear(tensors: &Tensors, name: &str, part: &str, gate: usize, device: &Device) -> Linear {
    let w = &tensors[&format!("{name}.weight_{part}_l0")];
    let b = &tensors[&format!("{name}.bias_{part}_l0")];
    let (hidden, inputs) = (w.shape[0] / 3, w.shape[1]);
    let rows = w.values[gate * hidden * inputs..(gate + 1) * hidden * inputs].to_vec();
    // PyTorch's block is [out, in]; burn's Linear holds [in, out].
    let weight =
        Tensor::<2>::from_data(TensorData::new(rows, [hidden, inputs]), device).transpose();
    let bias = b.values[gate * hidden..(gate + 1) * hidden].to_vec();
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(bias, [hidden]),
            device,
        ))),
    }
}

fn gru_from(gru: &mut Gru, tensors: &Tensors, name: &str, device: &Device) {
    for (i, gate) in gates_mut(gru).into_iter().enumerate() {
        gate.input_transform = gate_linear(tensors, name, "ih", i, device);
        gate.hidden_transform = gate_linear(tensors, name, "hh", i, device);
    }
}

/// A GRU's tensors in PyTorch's stacked layout.
async fn gru_tensors(gru: &Gru, name: &str, out: &mut Tensors) -> crate::Result<()> {
    for (part, pick) in [("ih", 0), ("hh", 1)] {
        let mut pieces = Tensors::new();
        for (i, gate) in gates(gru).into_iter().enumerate() {
            let linear = if pick == 0 {
                &gate.input_transform
            } else {
                &gate.hidden_transform
            };
            linear_tensors(linear, &i.to_string(), &mut pieces).await?;
        }
        let (mut weight, mut bias, mut shape) = (Vec::new(), Vec::new(), vec![0, 0]);
        for i in 0..3 {
            let w = &pieces[&format!("{i}.weight")];
            shape = vec![shape[0] + w.shape[0], w.shape[1]];
            weight.extend_from_slice(&w.values);
            bias.extend_from_slice(&pieces[&format!("{i}.bias")].values);
        }
        out.insert(
            format!("{name}.bias_{part}_l0"),
            NamedTensor {
                shape: vec![shape[0]],
                values: bias,
            },
        );
        out.insert(
            format!("{name}.weight_{part}_l0"),
            NamedTensor {
                shape,
                values: weight,
            },
        );
    }
    Ok(())
}

/// Serialises a VRAE with the window length it learned on; `metadata` as for
/// [`crate::weights::write_safetensors`].
pub async fn write_vrae(
    model: &Vrae,
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> crate::Result<Vec<u8>> {
    let mut tensors = Tensors::new();
    for (layer, (name, _, _)) in [
        &model.enc_mu,
        &model.enc_logvar,
        &model.dec_init,
        &model.dec_out,
    ]
    .into_iter()
    .zip(model.config().linears())
    {
        linear_tensors(layer, name, &mut tensors).await?;
    }
    gru_tensors(&model.encoder, "encoder", &mut tensors).await?;
    gru_tensors(&model.decoder, "decoder", &mut tensors).await?;
    let window = WINDOW.to_string();
    let mut meta = vec![("likelihood", "gaussian"), (WINDOW_KEY, window.as_str())];
    meta.extend_from_slice(metadata);
    finish_file(tensors, Some(&model.log_sigma_x), "recurrent", dtype, &meta).await
}
