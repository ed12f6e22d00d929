//! The option objects JavaScript passes: typed structs deserialised by serde-wasm-bindgen (through
//! [`crate::marshal::from_js`], so a bad value's error names its field), then checked for range.
//! Their TypeScript interfaces are generated from these structs by tsify. `undefined` or `null`
//! means every default; unknown keys are ignored; a key set to `null` counts as absent.

use serde::Deserialize;
use tsify::Tsify;
use vae_core::aae::{AaeConfig, Prior};
use vae_core::hvae::HvaeConfig;
use vae_core::loss::{Likelihood, check_sigma_x};
use vae_core::training::TrainConfig;
use vae_core::vrae::VraeConfig;
use vae_core::{ModelKind, VaeConfig};
use wasm_bindgen::prelude::*;

use crate::args::{self, invalid};
use crate::marshal::{from_js, uint8_array};

/// Which backend a model should run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Tsify)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// WebGPU when this build has it and an adapter answers and passes the self-check; else the CPU.
    #[default]
    Auto,
    /// WebGPU or an error.
    WebGpu,
    Cpu,
}

/// Options of `Vae.create` and `Vae.fromSafetensors` (a file's own sizes, kind and σ_x win).
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct VaeOptions {
    /// Latent dimensions (default 20).
    #[tsify(optional)]
    pub latent_dim: Option<u32>,
    /// Hidden units of the encoder's and decoder's one hidden layer (default 400).
    #[tsify(optional)]
    pub hidden: Option<u32>,
    /// Which model of the family (default "vae").
    #[tsify(optional)]
    pub kind: Option<ModelKind>,
    /// The decoder's p(x|z) (default "bernoulli").
    #[tsify(optional)]
    pub likelihood: Option<Likelihood>,
    /// The Gaussian likelihood's noise scale σ_x, 0.01 to 1 (default 0.1).
    #[tsify(optional)]
    pub sigma_x: Option<f32>,
    /// Draws the initial weights (default 1), so a seed gives the same model on every backend.
    #[tsify(optional)]
    pub seed: Option<u64>,
    /// Where the model runs (default "auto").
    #[tsify(optional)]
    pub backend: Option<BackendChoice>,
}

/// The checked settings of a new model.
pub struct CreateOptions {
    pub config: VaeConfig,
    pub seed: u64,
    pub likelihood: Likelihood,
    /// The Gaussian likelihood's σ_x, if given.
    pub sigma_x: Option<f32>,
    pub backend: BackendChoice,
}

impl CreateOptions {
    pub fn parse(options: JsValue) -> Result<Self, JsError> {
        let raw: VaeOptions = from_js("option", options)?;
        let max = VaeConfig::MAX_WIDTH;
        let mut config = VaeConfig::new();
        if let Some(latent) = width("latentDim", raw.latent_dim, max)? {
            config.latent = latent;
        }
        if let Some(hidden) = width("hidden", raw.hidden, max)? {
            config.hidden = hidden;
        }
        if let Some(kind) = raw.kind {
            config.kind = kind;
        }
        let seed = seed_option(raw.seed)?;
        if let Some(sigma) = raw.sigma_x {
            check_sigma_x(sigma).map_err(|e| invalid(format!("option sigmaX: {e}")))?;
        }
        Ok(Self {
            config,
            seed,
            likelihood: raw.likelihood.unwrap_or_default(),
            sigma_x: raw.sigma_x,
            backend: raw.backend.unwrap_or_default(),
        })
    }
}

/// Options of `trainStep` and `trainBatch`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TrainStepOptions {
    /// Adam's learning rate (default 1e-3), above 0 and at most 1.
    #[tsify(optional)]
    pub lr: Option<f64>,
    /// Digits per step of `trainBatch`, 1 to 4096 (default 128).
    #[tsify(optional)]
    pub batch_size: Option<u32>,
    /// The KL term's weight β (default 1: the ELBO; other values train a β-VAE), 0 to 1000.
    #[tsify(optional)]
    pub beta: Option<f32>,
    /// The digits' labels 0–9 (`trainStep` of a conditional model).
    #[serde(default, deserialize_with = "uint8_array")]
    #[tsify(optional, type = "Uint8Array")]
    pub labels: Option<Vec<u8>>,
    /// The likelihood of the loss (default: the model's).
    #[tsify(optional)]
    pub likelihood: Option<Likelihood>,
    /// Train the Gaussian likelihood's σ_x with the weights (default false: σ_x stays as set).
    #[tsify(optional)]
    pub learn_sigma_x: Option<bool>,
}

/// The checked settings of one step.
pub struct StepOptions {
    pub labels: Option<Vec<u8>>,
    config: TrainConfig,
}

impl StepOptions {
    pub fn parse(options: JsValue, default_likelihood: Likelihood) -> Result<Self, JsError> {
        let raw: TrainStepOptions = from_js("option", options)?;
        let beta = raw.beta.unwrap_or(1.0);
        finite("beta", beta as f64)?;
        let config = step_basics(raw.lr, raw.batch_size)?
            .with_beta(beta)
            .with_likelihood(raw.likelihood.unwrap_or(default_likelihood))
            .with_learn_sigma_x(raw.learn_sigma_x.unwrap_or(false));
        Ok(Self {
            labels: raw.labels,
            config,
        })
    }

    /// The core's settings for one step (its batch size too; epochs and seed are not used).
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
}

/// The seed option (default 1): a whole number JavaScript holds exactly.
fn seed_option(seed: Option<u64>) -> Result<u64, JsError> {
    let seed = seed.unwrap_or(1);
    if seed as f64 > args::MAX_SEED {
        return Err(invalid(format!(
            "option seed must be at most 2^53 - 1, got {seed}"
        )));
    }
    Ok(seed)
}

/// NaN and ±Infinity are numbers to serde; the ranges themselves are the core's to check.
fn finite(what: &str, value: f64) -> Result<(), JsError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(invalid(format!(
            "option {what} must be a finite number, got {value}"
        )))
    }
}

/// A step's learning rate (default 1e-3) and batch size (default 128, 1 to 4096), checked.
fn step_basics(lr: Option<f64>, batch_size: Option<u32>) -> Result<TrainConfig, JsError> {
    let lr = lr.unwrap_or(1e-3);
    finite("lr", lr)?;
    let batch_size = batch_size.unwrap_or(128);
    if !(1..=4096).contains(&batch_size) {
        return Err(invalid(format!(
            "option batchSize must be from 1 to 4096, got {batch_size}"
        )));
    }
    Ok(TrainConfig::new()
        .with_lr(lr)
        .with_batch_size(batch_size as usize))
}

/// A width option from 1 to `max`, if given.
fn width(what: &str, value: Option<u32>, max: usize) -> Result<Option<usize>, JsError> {
    match value {
        Some(v) if !(1..=max as u32).contains(&v) => Err(invalid(format!(
            "option {what} must be from 1 to {max}, got {v}"
        ))),
        v => Ok(v.map(|v| v as usize)),
    }
}

/// The checked settings of a new `Aae`, `Hvae` or `Vrae`.
pub struct FamilyCreate<C> {
    pub config: C,
    pub seed: u64,
    pub backend: BackendChoice,
}

impl<C> FamilyCreate<C> {
    fn new(config: C, seed: Option<u64>, backend: Option<BackendChoice>) -> Result<Self, JsError> {
        Ok(Self {
            config,
            seed: seed_option(seed)?,
            backend: backend.unwrap_or_default(),
        })
    }
}

/// Options of `Aae.create` and `Aae.fromSafetensors` (a file's sizes, label guidance and prior
/// win).
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AaeOptions {
    /// The shape the codes are pushed towards (default "gaussian", N(0, I)).
    #[tsify(optional)]
    pub prior: Option<Prior>,
    /// The discriminator also sees each digit's label, and digit y is pushed to part y of the
    /// prior (default false; needs the ring or the swiss roll).
    #[tsify(optional)]
    pub label_guided: Option<bool>,
    /// Code dimensions (default 2; the ring and the swiss roll are 2-D).
    #[tsify(optional)]
    pub latent_dim: Option<u32>,
    /// Hidden units of the encoder and the decoder (default 400).
    #[tsify(optional)]
    pub hidden: Option<u32>,
    /// Draws the initial weights and the prior samples of training (default 1).
    #[tsify(optional)]
    pub seed: Option<u64>,
    /// Where the model runs (default "auto": WebGPU when this build has it and the model's
    /// self-check there agrees with the CPU; else the CPU, and `fallbackReason` says why).
    #[tsify(optional)]
    pub backend: Option<BackendChoice>,
}

impl AaeOptions {
    pub fn parse(options: JsValue) -> Result<(FamilyCreate<AaeConfig>, Prior), JsError> {
        let raw: AaeOptions = from_js("option", options)?;
        let mut config = AaeConfig::new().with_label_guided(raw.label_guided.unwrap_or(false));
        let max = VaeConfig::MAX_WIDTH;
        if let Some(latent) = width("latentDim", raw.latent_dim, max)? {
            config.latent = latent;
        }
        if let Some(hidden) = width("hidden", raw.hidden, max)? {
            config.hidden = hidden;
        }
        config.validate().map_err(|e| invalid(e.to_string()))?;
        let prior = raw.prior.unwrap_or_default();
        Ok((FamilyCreate::new(config, raw.seed, raw.backend)?, prior))
    }
}

/// Options of `Hvae.create` and `Hvae.fromSafetensors` (a file's sizes win).
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HvaeOptions {
    /// z₁'s dimensions (default 16).
    #[tsify(optional)]
    pub latent_dim: Option<u32>,
    /// z₂'s dimensions (default 2, so it can be drawn on the map).
    #[tsify(optional)]
    pub latent_top: Option<u32>,
    /// Hidden units between the pixels and z₁ (default 400).
    #[tsify(optional)]
    pub hidden: Option<u32>,
    /// Hidden units between z₁ and z₂ (default 128).
    #[tsify(optional)]
    pub hidden_top: Option<u32>,
    /// Draws the initial weights and the noise of training (default 1).
    #[tsify(optional)]
    pub seed: Option<u64>,
    /// Where the model runs (default "auto": WebGPU when this build has it and the model's
    /// self-check there agrees with the CPU; else the CPU, and `fallbackReason` says why).
    #[tsify(optional)]
    pub backend: Option<BackendChoice>,
}

impl HvaeOptions {
    pub fn parse(options: JsValue) -> Result<FamilyCreate<HvaeConfig>, JsError> {
        let raw: HvaeOptions = from_js("option", options)?;
        let mut config = HvaeConfig::new();
        let max = VaeConfig::MAX_WIDTH;
        for (what, value, field) in [
            ("latentDim", raw.latent_dim, &mut config.latent),
            ("latentTop", raw.latent_top, &mut config.latent_top),
            ("hidden", raw.hidden, &mut config.hidden),
            ("hiddenTop", raw.hidden_top, &mut config.hidden_top),
        ] {
            if let Some(v) = width(what, value, max)? {
                *field = v;
            }
        }
        config.validate().map_err(|e| invalid(e.to_string()))?;
        FamilyCreate::new(config, raw.seed, raw.backend)
    }
}

/// Options of the `Aae`'s and the `Hvae`'s `trainBatch`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct FamilyStepOptions {
    /// Adam's learning rate for every update (default 1e-3), above 0 and at most 1.
    #[tsify(optional)]
    pub lr: Option<f64>,
    /// Digits per step, 1 to 4096 (default 128).
    #[tsify(optional)]
    pub batch_size: Option<u32>,
    /// The hierarchical VAE's KL warm-up: steps over which the KL weight rises from 0 to 1
    /// (default 0).
    #[tsify(optional)]
    pub warmup_steps: Option<u32>,
    /// The hierarchical VAE's free bits of z₂, nats per dimension, 0 to 100 (default 0).
    #[tsify(optional)]
    pub free_bits: Option<f32>,
    /// The adversarial autoencoder's discriminator learns at `lr` times this (default 1); `lr`
    /// times it must be in (0, 1].
    #[tsify(optional)]
    pub discriminator_lr_scale: Option<f64>,
}

impl FamilyStepOptions {
    /// The core's settings of one step (the core checks the ranges of lr and free bits).
    pub fn parse(options: JsValue) -> Result<TrainConfig, JsError> {
        let raw: FamilyStepOptions = from_js("option", options)?;
        let free_bits = raw.free_bits.unwrap_or(0.0);
        finite("freeBits", free_bits as f64)?;
        let scale = raw.discriminator_lr_scale.unwrap_or(1.0);
        finite("discriminatorLrScale", scale)?;
        Ok(step_basics(raw.lr, raw.batch_size)?
            .with_warmup_steps(raw.warmup_steps.unwrap_or(0) as u64)
            .with_free_bits(free_bits)
            .with_discriminator_lr_scale(scale))
    }
}

/// Options of `Vrae.create` and `Vrae.fromSafetensors` (a file's sizes win).
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct VraeOptions {
    /// GRU units of the encoder and of the decoder (default 32).
    #[tsify(optional)]
    pub hidden: Option<u32>,
    /// z's dimensions (default 8).
    #[tsify(optional)]
    pub latent_dim: Option<u32>,
    /// Draws the initial weights (default 1).
    #[tsify(optional)]
    pub seed: Option<u64>,
    /// Where the model runs (default "auto": WebGPU when this build has it and the model's
    /// self-check there agrees with the CPU; else the CPU, and `fallbackReason` says why).
    #[tsify(optional)]
    pub backend: Option<BackendChoice>,
}

/// Options of `Vrae.trainBatch`.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct VraeStepOptions {
    /// Adam's learning rate (default 1e-3), above 0 and at most 1.
    #[tsify(optional)]
    pub lr: Option<f64>,
    /// Windows per step, 1 to 4096 (default 64).
    #[tsify(optional)]
    pub batch_size: Option<u32>,
}

impl VraeOptions {
    pub fn parse(options: JsValue) -> Result<FamilyCreate<VraeConfig>, JsError> {
        let raw: VraeOptions = from_js("option", options)?;
        let mut config = VraeConfig::new();
        for (what, value, field) in [
            ("hidden", raw.hidden, &mut config.hidden),
            ("latentDim", raw.latent_dim, &mut config.latent),
        ] {
            if let Some(v) = width(what, value, VraeConfig::MAX_WIDTH)? {
                *field = v;
            }
        }
        FamilyCreate::new(config, raw.seed, raw.backend)
    }
}

impl VraeStepOptions {
    /// The learning rate and batch size of one step (the core checks the learning rate's range).
    pub fn parse(options: JsValue) -> Result<TrainConfig, JsError> {
        let raw: VraeStepOptions = from_js("option", options)?;
        step_basics(raw.lr, Some(raw.batch_size.unwrap_or(64)))
    }
}
