//! The `Hvae` class: the hierarchical VAE with two stochastic layers, z₂ (2-D, the map) above z₁,
//! over `vae-core`'s. Bernoulli likelihood; it runs on the CPU, or on WebGPU in the WebGPU build.

use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use vae_core::hvae::{self, HvaeConfig};
use vae_core::inference::MAX_ROWS;
use vae_core::loss::Likelihood;
use vae_core::weights::Dtype;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::held::Held;
use crate::marshal::{floats, js_error, to_js};
use crate::options::{FamilyCreate, FamilyStepOptions, HvaeOptions};
use crate::pending::settle;
use crate::placement::{Placement, place};

/// A hierarchical VAE: z₂ ~ N(0, I) → p(z₁|z₂) → p(x|z₁), inferred x → q(z₁|x) → q(z₂|z₁).
#[wasm_bindgen]
pub struct Hvae {
    held: Rc<Held<hvae::Hvae>>,
    placement: Placement,
}

/// One step of `trainBatch`: the −ELBO's terms (batch means, nats per digit, measured before the
/// update) and where the step falls in the epochs.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HvaeBatchResult {
    /// What the step minimised: recon + the KL terms (with warm-up and free bits applied, it is
    /// not the −ELBO; the terms below always are its true parts).
    pub loss: f32,
    /// −log p(x|z₁), Bernoulli.
    pub recon: f32,
    /// The bottom layer's term, log q(z₁|x) − log p(z₁|z₂) at the drawn z₁, z₂.
    pub kl_bottom: f32,
    /// KL(q(z₂|z₁) ‖ N(0, I)), closed form at the drawn z₁.
    pub kl_top: f32,
    pub epoch: u32,
    pub step_in_epoch: u32,
    pub steps_per_epoch: u32,
    pub ends_epoch: bool,
}

/// The test split's figures, nats per digit from one draw of both layers, and each layer's
/// active units (Burda et al.'s 0.01 threshold on the variance of the posterior mean).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct HvaeTestScores {
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl_bottom: f64,
    pub kl_top: f64,
    pub active_bottom: u32,
    pub active_top: u32,
}

/// Draws of z₁ per digit behind the top layer's active-unit count, as the `train` binary uses.
const ACTIVE_DRAWS: usize = 10;

impl Hvae {
    /// The model (on the CPU) placed as `made.backend` asks.
    async fn with_model(
        model: hvae::Hvae,
        made: &FamilyCreate<impl Sized>,
    ) -> Result<Hvae, JsError> {
        let (model, placement) = place(model, made.backend).await?;
        Ok(Hvae {
            held: Held::new(model, made.seed),
            placement,
        })
    }

    /// A freshly initialised model (see the exported `create`).
    pub async fn create(options: JsValue) -> Result<Hvae, JsError> {
        let made = HvaeOptions::parse(options)?;
        let device = vae_core::backend::cpu_device();
        device.seed(made.seed);
        Self::with_model(made.config.init(&device), &made).await
    }

    /// A model read from a safetensors file (see the exported `fromSafetensors`).
    pub async fn from_safetensors(bytes: Vec<u8>, options: JsValue) -> Result<Hvae, JsError> {
        let made = HvaeOptions::parse(options)?;
        let model = hvae::read_hvae(&bytes, &vae_core::backend::cpu_device()).map_err(js_error)?;
        Self::with_model(model, &made).await
    }

    fn config(&self) -> HvaeConfig {
        self.held.model().config()
    }
}

#[wasm_bindgen]
impl Hvae {
    /// A freshly initialised model. Options (all optional): `latentDim` (z₁, 16), `latentTop`
    /// (z₂, 2), `hidden` (400), `hiddenTop` (128), `seed` (1), `backend` ("auto" | "webgpu" |
    /// "cpu", as for `Vae.create`).
    #[wasm_bindgen(js_name = create, unchecked_return_type = "Promise<Hvae>")]
    pub fn create_js(
        #[wasm_bindgen(unchecked_param_type = "HvaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::create(options).await?.into()) })
    }

    /// A model read from a safetensors file (one `toSafetensors` or the `train` binary wrote, or
    /// PyTorch's module of `make_hvae_fixture.py`); the file's sizes win. Options: `seed` (1),
    /// `backend`.
    #[wasm_bindgen(js_name = fromSafetensors, unchecked_return_type = "Promise<Hvae>")]
    pub fn from_safetensors_js(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "HvaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::from_safetensors(bytes, options).await?.into()) })
    }

    /// The weights as safetensors (F32, the PyTorch module's names).
    #[wasm_bindgen(js_name = toSafetensors, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn to_safetensors(&self) -> Promise {
        let model = self.held.model();
        settle(async move {
            let bytes = hvae::write_hvae(&model, Dtype::F32, &[("likelihood", "bernoulli")])
                .await
                .map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// The backend that runs this model: "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.placement.backend.into()
    }

    /// Why an "auto" model runs on the CPU, or null.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.placement.fallback.clone()
    }

    /// "hierarchical".
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        "hierarchical".into()
    }

    /// z₁'s dimensions.
    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> usize {
        self.config().latent
    }

    /// z₂'s dimensions.
    #[wasm_bindgen(getter, js_name = latentTop)]
    pub fn latent_top(&self) -> usize {
        self.config().latent_top
    }

    /// Training steps taken since creation or loading.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> f64 {
        self.held.steps()
    }

    /// Where `n` digits sit on the top layer's map: μ₂ at μ₁(x), `n × latentTop` values.
    #[wasm_bindgen(js_name = topCodes, unchecked_return_type = "Promise<Float32Array>")]
    pub fn top_codes(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> Promise {
        let model = self.held.model();
        settle(async move {
            let n = args::count("n", &n, 1, MAX_ROWS)?;
            floats(
                hvae::top_codes(&model, &pixels, n)
                    .await
                    .map_err(js_error)?,
            )
        })
    }

    /// Images generated top-down from `n` points z₂ (`n × latentTop` values): z₁ = μ_p(z₂) +
    /// σ_p(z₂) ⊙ ε₁ with `eps1` (`n × latentDim` standard-normal values), or z₁ = μ_p(z₂) without
    /// it; then the decoder's mean. `n × 784` values.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn generate(
        &self,
        z2: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        eps1: Option<Vec<f32>>,
    ) -> Promise {
        let model = self.held.model();
        settle(async move {
            let n = args::count("n", &n, 1, MAX_ROWS)?;
            let images = hvae::generate_images(&model, &z2, eps1.as_deref(), n).await;
            floats(images.map_err(js_error)?)
        })
    }

    /// Keeps the packed digits file (decompressed `digits.bin`) inside the module for
    /// `trainBatch` and `testScores`; `seed` fixes the batch order. Returns the number of training
    /// digits.
    #[wasm_bindgen(js_name = setTrainingDigits)]
    pub fn set_training_digits(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> Result<usize, JsError> {
        self.held.set_digits(&bytes, &seed)
    }

    /// One Adam step on the next batch of the training digits. `options`: `{ lr = 1e-3,
    /// batchSize = 128, warmupSteps = 0, freeBits = 0 }`. Divergence rejects the promise and
    /// rolls the weights back to the last sound step.
    #[wasm_bindgen(js_name = trainBatch, unchecked_return_type = "Promise<HvaeBatchResult>")]
    pub fn train_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FamilyStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let held = Rc::clone(&self.held);
        settle(async move {
            let config = FamilyStepOptions::parse(options)?.with_likelihood(Likelihood::Bernoulli);
            let report = held.step(&config).await?;
            let [kl_bottom, kl_top] = report.stats.kl_layers.unwrap_or_default();
            to_js(&HvaeBatchResult {
                loss: report.stats.loss,
                recon: report.stats.recon,
                kl_bottom,
                kl_top,
                epoch: report.epoch as u32,
                step_in_epoch: report.step_in_epoch as u32,
                steps_per_epoch: report.steps_per_epoch as u32,
                ends_epoch: report.ends_epoch,
            })
        })
    }

    /// The test split's `{ negElbo, recon, klBottom, klTop, activeBottom, activeTop }`.
    #[wasm_bindgen(js_name = testScores, unchecked_return_type = "Promise<HvaeTestScores>")]
    pub fn test_scores(&self) -> Promise {
        let held = Rc::clone(&self.held);
        settle(async move {
            let mut session = held.take()?;
            let model = session.model();
            let result = async {
                let (pixels, n, rng) = session.test_pixels()?;
                let scores = hvae::evaluate(&model, &pixels, n, Likelihood::Bernoulli, rng).await?;
                let active = hvae::active_units(&model, &pixels, n, ACTIVE_DRAWS, rng).await?;
                Ok::<_, vae_core::VaeError>((scores, active))
            }
            .await;
            held.put(session);
            let (s, (bottom, top)) = result.map_err(js_error)?;
            to_js(&HvaeTestScores {
                neg_elbo: s.neg_elbo,
                recon: s.recon,
                kl_bottom: s.kl_bottom,
                kl_top: s.kl_top,
                active_bottom: bottom as u32,
                active_top: top as u32,
            })
        })
    }
}
