//! Reading the option objects JavaScript passes. Unknown keys are ignored; a known key with a
//! value of the wrong type or range is an error that names it.

use js_sys::{Reflect, Uint8Array};
use vae_core::loss::{Likelihood, check_sigma_x};
use vae_core::training::TrainConfig;
use vae_core::{ModelKind, VaeConfig};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::args::{self, invalid};

fn field(options: &JsValue, key: &str) -> Option<JsValue> {
    if !options.is_object() {
        return None;
    }
    Reflect::get(options, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn number(options: &JsValue, key: &str) -> Result<Option<f64>, JsError> {
    match field(options, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(invalid(format!("option {key} must be a finite number"))),
        },
    }
}

fn whole(options: &JsValue, key: &str, min: f64, max: f64) -> Result<Option<f64>, JsError> {
    field(options, key)
        .map(|v| args::whole(&format!("option {key}"), &v, min, max))
        .transpose()
}

fn text(options: &JsValue, key: &str) -> Result<Option<String>, JsError> {
    match field(options, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| invalid(format!("option {key} must be a string"))),
    }
}

fn flag(options: &JsValue, key: &str) -> Result<Option<bool>, JsError> {
    match field(options, key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| invalid(format!("option {key} must be true or false"))),
    }
}

fn likelihood(options: &JsValue, default: Likelihood) -> Result<Likelihood, JsError> {
    match text(options, "likelihood")? {
        None => Ok(default),
        Some(name) => Likelihood::parse(&name).ok_or_else(|| {
            invalid(format!(
                "option likelihood must be \"bernoulli\" or \"gaussian\", got \"{name}\""
            ))
        }),
    }
}

/// Which backend a model should run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// WebGPU when this build has it and an adapter answers and passes the self-check; else the CPU.
    Auto,
    Cpu,
    /// WebGPU or an error.
    WebGpu,
}

pub struct CreateOptions {
    pub config: VaeConfig,
    pub seed: u64,
    pub likelihood: Likelihood,
    /// The Gaussian likelihood's σ_x, if given.
    pub sigma_x: Option<f32>,
    pub backend: BackendChoice,
}

impl CreateOptions {
    pub fn parse(options: &JsValue) -> Result<Self, JsError> {
        let max = VaeConfig::MAX_WIDTH as f64;
        let mut config = VaeConfig::new();
        if let Some(latent) = whole(options, "latentDim", 1.0, max)? {
            config.latent = latent as usize;
        }
        if let Some(hidden) = whole(options, "hidden", 1.0, max)? {
            config.hidden = hidden as usize;
        }
        if let Some(kind) = text(options, "kind")? {
            config.kind = ModelKind::parse(&kind).ok_or_else(|| {
                invalid(format!("option kind must be \"vae\", \"autoencoder\" or \"conditional\", got \"{kind}\""))
            })?;
        }
        let seed = whole(options, "seed", 0.0, args::MAX_SEED)?.unwrap_or(1.0) as u64;
        let backend = match text(options, "backend")?.as_deref() {
            None | Some("auto") => BackendChoice::Auto,
            Some("cpu") => BackendChoice::Cpu,
            Some("webgpu") => BackendChoice::WebGpu,
            Some(other) => {
                return Err(invalid(format!(
                    "option backend must be \"auto\", \"webgpu\" or \"cpu\", got \"{other}\""
                )));
            }
        };
        let sigma_x = number(options, "sigmaX")?.map(|s| s as f32);
        if let Some(sigma) = sigma_x {
            check_sigma_x(sigma).map_err(|e| invalid(format!("option sigmaX: {e}")))?;
        }
        Ok(Self {
            config,
            seed,
            likelihood: likelihood(options, Likelihood::Bernoulli)?,
            sigma_x,
            backend,
        })
    }
}

pub struct StepOptions {
    pub lr: f64,
    pub batch_size: usize,
    pub beta: f32,
    pub labels: Option<Vec<u8>>,
    pub likelihood: Likelihood,
    pub learn_sigma_x: bool,
}

impl StepOptions {
    pub fn parse(options: &JsValue, default_likelihood: Likelihood) -> Result<Self, JsError> {
        let labels = match field(options, "labels") {
            None => None,
            Some(v) => Some(
                v.dyn_into::<Uint8Array>()
                    .map_err(|_| invalid("option labels must be a Uint8Array"))?
                    .to_vec(),
            ),
        };
        Ok(Self {
            lr: number(options, "lr")?.unwrap_or(1e-3),
            batch_size: whole(options, "batchSize", 1.0, 4096.0)?.unwrap_or(128.0) as usize,
            beta: number(options, "beta")?.unwrap_or(1.0) as f32,
            labels,
            likelihood: likelihood(options, default_likelihood)?,
            learn_sigma_x: flag(options, "learnSigmaX")?.unwrap_or(false),
        })
    }

    /// The core's settings for one step (its batch size too; epochs and seed are not used).
    pub fn config(&self) -> TrainConfig {
        TrainConfig::new()
            .with_lr(self.lr)
            .with_beta(self.beta)
            .with_batch_size(self.batch_size)
            .with_likelihood(self.likelihood)
            .with_learn_sigma_x(self.learn_sigma_x)
    }
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
export interface VaeOptions {
  latentDim?: number;
  hidden?: number;
  kind?: "vae" | "autoencoder" | "conditional";
  likelihood?: "bernoulli" | "gaussian";
  /** The Gaussian likelihood's noise scale σ_x, 0.01 to 1 (default 0.1); a file's own wins. */
  sigmaX?: number;
  seed?: number;
  backend?: "auto" | "webgpu" | "cpu";
}
export interface TrainStepOptions {
  lr?: number;
  batchSize?: number;
  beta?: number;
  labels?: Uint8Array;
  likelihood?: "bernoulli" | "gaussian";
  /** Train the Gaussian likelihood's σ_x with the weights (default false: σ_x stays as set). */
  learnSigmaX?: boolean;
}
"#;
