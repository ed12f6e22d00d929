//! The `Aae` class: an adversarial autoencoder (Makhzani et al. 2015) over `vae-core`'s, with its
//! prior. It runs on the CPU, or on WebGPU in the WebGPU build.

use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use vae_core::aae::{self, PRIOR_KEY, Prior};
use vae_core::aae_training::AaeStats;
use vae_core::inference::MAX_ROWS;
use vae_core::weights::Dtype;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::held::Held;
use crate::marshal::{floats, js_error, to_js};
use crate::options::{AaeOptions, FamilyCreate, FamilyStepOptions};
use crate::pending::settle;
use crate::placement::{Placement, place};

/// An adversarial autoencoder and the prior its codes are pushed towards.
#[wasm_bindgen]
pub struct Aae {
    held: Rc<Held<aae::Aae>>,
    prior: Prior,
    placement: Placement,
}

/// One step of `trainBatch`: the three losses (batch means, nats), how sure the discriminator is,
/// and where the step falls in the epochs.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AaeBatchResult {
    /// −log p(x|z), Bernoulli, nats per digit, before the step's updates.
    pub recon: f32,
    /// The discriminator's loss −log D(prior sample) − log(1 − D(code)) before its update.
    pub discriminator: f32,
    /// The encoder's (generator's) loss −log D(code) against the updated discriminator.
    pub generator: f32,
    /// Mean D, the probability "drawn from the prior", over the step's prior samples.
    pub d_real: f32,
    /// Mean D over the step's codes.
    pub d_fake: f32,
    /// D above 0.95 on the prior samples and below 0.05 on the codes: the discriminator has won
    /// outright and the encoder's gradient all but vanishes.
    pub discriminator_wins: bool,
    /// Epochs finished once this step is taken.
    pub epoch: u32,
    pub step_in_epoch: u32,
    pub steps_per_epoch: u32,
    pub ends_epoch: bool,
}

/// The test split's figures.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct AaeTestScores {
    /// −log p(x|z) at each digit's code, Bernoulli, nats per digit: a reconstruction error, not
    /// an ELBO (the AAE has no posterior to bound a likelihood with).
    pub recon: f64,
    /// Unbiased MMD² between the codes of the first 1,000 test digits and as many prior samples.
    pub mmd2: f64,
}

/// Test codes and prior samples compared by `testScores`' MMD².
const MMD_POINTS: usize = 1000;

impl Aae {
    /// The model (on the CPU) placed as `made.backend` asks, with its prior.
    async fn with_model(
        model: aae::Aae,
        prior: Prior,
        made: &FamilyCreate<impl Sized>,
    ) -> Result<Aae, JsError> {
        prior
            .check(model.latent(), model.label_guided)
            .map_err(js_error)?;
        let (model, placement) = place(model, made.backend).await?;
        Ok(Aae {
            held: Held::new(model, made.seed),
            prior,
            placement,
        })
    }

    fn handle(&self) -> Aae {
        Aae {
            held: Rc::clone(&self.held),
            prior: self.prior,
            placement: self.placement.clone(),
        }
    }

    /// A freshly initialised AAE (see the exported `create`).
    pub async fn create(options: JsValue) -> Result<Aae, JsError> {
        let (made, prior) = AaeOptions::parse(options)?;
        prior
            .check(made.config.latent, made.config.label_guided)
            .map_err(js_error)?;
        let device = vae_core::backend::cpu_device();
        device.seed(made.seed);
        Self::with_model(made.config.init(&device), prior, &made).await
    }

    /// An AAE read from a safetensors file (see the exported `fromSafetensors`).
    pub async fn from_safetensors(bytes: Vec<u8>, options: JsValue) -> Result<Aae, JsError> {
        let (made, prior) = AaeOptions::parse(options)?;
        let (model, named) =
            aae::read_aae_file(&bytes, &vae_core::backend::cpu_device()).map_err(js_error)?;
        Self::with_model(model, named.unwrap_or(prior), &made).await
    }
}

#[wasm_bindgen]
impl Aae {
    /// A freshly initialised AAE. Options (all optional): `prior` ("gaussian" | "ring" |
    /// "swissroll"), `labelGuided` (false), `latentDim` (2), `hidden` (400), `seed` (1), `backend`
    /// ("auto" | "webgpu" | "cpu", as for `Vae.create`). A prior the code cannot take (a 2-D shape
    /// for a wider code, label guidance with N(0, I)) is refused.
    #[wasm_bindgen(js_name = create, unchecked_return_type = "Promise<Aae>")]
    pub fn create_js(
        #[wasm_bindgen(unchecked_param_type = "AaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::create(options).await?.into()) })
    }

    /// An AAE read from a safetensors file (one `toSafetensors` or the `train` binary wrote, or
    /// PyTorch's module of `make_aae_fixture.py`). The file's sizes and label guidance win, and
    /// so does its prior if it names one; otherwise `options.prior` (default "gaussian").
    #[wasm_bindgen(js_name = fromSafetensors, unchecked_return_type = "Promise<Aae>")]
    pub fn from_safetensors_js(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "AaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::from_safetensors(bytes, options).await?.into()) })
    }

    /// The weights as safetensors (F32, the PyTorch module's names, the discriminator included so
    /// training can go on from the file; the prior in the metadata).
    #[wasm_bindgen(js_name = toSafetensors, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn to_safetensors(&self) -> Promise {
        let (model, prior) = (self.held.model(), self.prior);
        settle(async move {
            let bytes = aae::write_aae(&model, Dtype::F32, &[(PRIOR_KEY, prior.name())])
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

    /// "adversarial".
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        "adversarial".into()
    }

    #[wasm_bindgen(getter, unchecked_return_type = "Prior")]
    pub fn prior(&self) -> String {
        self.prior.name().into()
    }

    #[wasm_bindgen(getter, js_name = labelGuided)]
    pub fn label_guided(&self) -> bool {
        self.held.model().label_guided
    }

    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> usize {
        self.held.model().latent()
    }

    #[wasm_bindgen(getter)]
    pub fn hidden(&self) -> usize {
        self.held.model().config().hidden
    }

    /// Training steps taken since creation or loading.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> f64 {
        self.held.steps()
    }

    /// The codes of `n` digits (784 grey values each, 0–1), `n × latentDim` values.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn codes(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> Promise {
        let model = self.held.model();
        settle(async move {
            let n = args::count("n", &n, 1, MAX_ROWS)?;
            floats(aae::codes(&model, &pixels, n).await.map_err(js_error)?)
        })
    }

    /// The decoder's images (each pixel's Bernoulli probability) for `n` codes, `n × 784` values.
    #[wasm_bindgen(unchecked_return_type = "Promise<Float32Array>")]
    pub fn decode(
        &self,
        z: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> Promise {
        let model = self.held.model();
        settle(async move {
            let n = args::count("n", &n, 1, MAX_ROWS)?;
            floats(aae::decode_codes(&model, &z, n).await.map_err(js_error)?)
        })
    }

    /// `n` samples of the prior, `n × latentDim` values, reproducible from `seed`. A label-guided
    /// model's prior takes the digits' `labels` (n values 0–9): sample i comes from part labels[i].
    #[wasm_bindgen(js_name = priorSamples)]
    pub fn prior_samples(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let seed = args::seed("seed", &seed)?;
        let guide = labels.as_deref().filter(|_| self.label_guided());
        if self.label_guided() && guide.is_none() {
            return Err(args::invalid(
                "a label-guided prior is sampled per digit: pass n labels",
            ));
        }
        let mut rng = vae_core::rng::Rng::new(seed);
        self.prior
            .sample(n, self.latent_dim(), guide, &mut rng)
            .map_err(js_error)
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

    /// One step on the next batch of the training digits: the reconstruction phase, then the
    /// discriminator's update, then the encoder's against it, each with its own Adam. `options`:
    /// `{ lr = 1e-3, batchSize = 128 }`. A loss that is not finite or explodes, or an update that
    /// leaves a weight non-finite, rejects the promise and rolls the weights (and all three
    /// optimisers) back to the last sound step.
    #[wasm_bindgen(js_name = trainBatch, unchecked_return_type = "Promise<AaeBatchResult>")]
    pub fn train_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FamilyStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move {
            let config = FamilyStepOptions::parse(options)?.with_prior(this.prior);
            let report = this.held.step(&config).await?;
            let s: AaeStats = report.stats;
            to_js(&AaeBatchResult {
                recon: s.recon,
                discriminator: s.discriminator,
                generator: s.generator,
                d_real: s.d_real,
                d_fake: s.d_fake,
                discriminator_wins: s.discriminator_wins(),
                epoch: report.epoch as u32,
                step_in_epoch: report.step_in_epoch as u32,
                steps_per_epoch: report.steps_per_epoch as u32,
                ends_epoch: report.ends_epoch,
            })
        })
    }

    /// The test split's `{ recon, mmd2 }`: the reconstruction error in nats per digit, and the
    /// MMD² of the first 1,000 test codes against as many prior samples.
    #[wasm_bindgen(js_name = testScores, unchecked_return_type = "Promise<AaeTestScores>")]
    pub fn test_scores(&self) -> Promise {
        let this = self.handle();
        settle(async move {
            let mut session = this.held.take()?;
            let model = session.model();
            let result = match session.test_digits() {
                Ok((pixels, labels, n, rng)) => {
                    aae::evaluate(&model, &pixels, &labels, n, this.prior, MMD_POINTS, rng).await
                }
                Err(e) => Err(e),
            };
            this.held.put(session);
            let scores = result.map_err(js_error)?;
            to_js(&AaeTestScores {
                recon: scores.recon,
                mmd2: scores.mmd2,
            })
        })
    }
}

/// The unbiased MMD² (Gretton et al. 2012, a sum of Gaussian kernels with σ from 0.25 to 4)
/// between point sets `a` and `b` of `dims` coordinates each: near 0 when they come from one
/// distribution, larger the more theirs differ.
#[wasm_bindgen]
pub fn mmd2(
    a: Vec<f32>,
    b: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] dims: JsValue,
) -> Result<f64, JsError> {
    let dims = args::count("dims", &dims, 1, vae_core::VaeConfig::MAX_WIDTH)?;
    aae::mmd2(&a, &b, dims).map_err(js_error)
}
