//! The JavaScript face of the playground: one `Vae` class over `vae-core`. No math lives here;
//! every method checks its arguments through the core and returns `Result<_, JsError>`, so bad
//! input rejects a promise with a message instead of panicking.

mod args;
mod ctors;
mod options;
mod panic;
mod pending;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Promise, Reflect};
use vae_core::bounds;
use vae_core::data::Digits;
use vae_core::inference::{self, MAX_ROWS};
use vae_core::loss::{DEFAULT_SIGMA_X, Likelihood};
use vae_core::session::Session;
use vae_core::weights::{Dtype, LOG_SIGMA_X, WeightFile, read_safetensors, write_safetensors};
use vae_core::{VaeConfig, VaeError};
use wasm_bindgen::prelude::*;

#[cfg(feature = "webgpu")]
pub use panic::debug_webgpu_fault;
pub use panic::{panic_message, panicked};
pub use pending::pending_count;

use options::{BackendChoice, CreateOptions, StepOptions};
use pending::settle;

/// What a `Vae` holds. Never borrowed across an `.await`: methods copy out what they need first.
struct State {
    /// The weights inference uses (no gradient tracking). Replaced after each step or load.
    model: vae_core::Vae,
    /// The training session (the core's, as the native `train` binary uses it) with the digits
    /// kept in wasm memory for `trainBatch`/`testElbo`. `None` while a step or test runs, so a
    /// second concurrent one is refused.
    session: Option<Session>,
    /// The Gaussian likelihood's σ_x as the model holds it (kept here so reading it needs no
    /// device read): set on creation and load, updated by every step that learns it.
    sigma_x: f32,
}

/// A VAE on one backend. Create it with `await Vae.create({...})`.
///
/// The JS object holds one handle on a shared model; every async method takes a handle of its
/// own before it returns its promise, so `free()` while a call is pending succeeds at once and
/// the model lives on until that call has settled.
#[wasm_bindgen]
pub struct Vae {
    shared: Rc<Shared>,
}

/// What every handle on one model shares.
struct Shared {
    state: RefCell<State>,
    backend: &'static str,
    /// Why the model runs on the CPU although WebGPU was possible to ask for ("auto").
    fallback: Option<String>,
    likelihood: Likelihood,
}

/// A float vector as the Float32Array a promise resolves to.
fn floats(values: Vec<f32>) -> Result<JsValue, JsError> {
    Ok(Float32Array::from(values.as_slice()).into())
}

fn js_error(e: VaeError) -> JsError {
    JsError::new(&e.to_string())
}

fn set(object: &Object, key: &str, value: &JsValue) -> Result<(), JsError> {
    Reflect::set(object, &key.into(), value)
        .map_err(|_| JsError::new("could not build the result object"))?;
    Ok(())
}

/// `{ mu, logvar, sigma }` as a JS object; `logvar` and `sigma` are null for the plain autoencoder.
fn encoded_object(encoded: &inference::Encoded) -> Result<Object, JsError> {
    let out = Object::new();
    set(
        &out,
        "mu",
        &Float32Array::from(encoded.mu.as_slice()).into(),
    )?;
    let logvar = encoded
        .logvar
        .as_ref()
        .map_or(JsValue::NULL, |l| Float32Array::from(l.as_slice()).into());
    set(&out, "logvar", &logvar)?;
    let sigma = encoded
        .sigma()
        .map_or(JsValue::NULL, |s| Float32Array::from(s.as_slice()).into());
    set(&out, "sigma", &sigma)?;
    Ok(out)
}

/// `{ loss, recon, kl, sigmaX }` of one training step (`sigmaX` null for the Bernoulli likelihood).
fn stats_object(stats: &vae_core::training::StepStats) -> Result<Object, JsError> {
    let out = Object::new();
    set(&out, "loss", &stats.loss.into())?;
    set(&out, "recon", &stats.recon.into())?;
    set(&out, "kl", &stats.kl.into())?;
    set(
        &out,
        "sigmaX",
        &stats.sigma_x.map_or(JsValue::NULL, JsValue::from),
    )?;
    Ok(out)
}

/// σ_x a weights file holds (the exponential of its `log_sigma_x`), if it holds one.
fn file_sigma_x(file: &WeightFile) -> Option<f32> {
    file.tensors.get(LOG_SIGMA_X).map(|t| t.values[0].exp())
}

/// Moves a CPU model to the backend `choice` asks for. Returns the model, the backend's name, and
/// for "auto" the reason it stayed on the CPU, if it did.
async fn place(
    model: vae_core::Vae,
    choice: BackendChoice,
) -> Result<(vae_core::Vae, &'static str, Option<String>), JsError> {
    if choice == BackendChoice::Cpu {
        return Ok((model, "cpu", None));
    }
    match to_webgpu(&model).await {
        Ok(gpu) => Ok((gpu, "webgpu", None)),
        Err(reason) if choice == BackendChoice::Auto => Ok((model, "cpu", Some(reason))),
        Err(reason) => Err(JsError::new(&format!("WebGPU is not available: {reason}"))),
    }
}

/// The model on the WebGPU device, after its self-check against the CPU copy.
#[cfg(feature = "webgpu")]
async fn to_webgpu(model: &vae_core::Vae) -> Result<vae_core::Vae, String> {
    ctors::run_once(); // burn's WebGPU runtime registers its kernels in static constructors
    vae_core::backend::on_webgpu(model)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "webgpu"))]
async fn to_webgpu(_model: &vae_core::Vae) -> Result<vae_core::Vae, String> {
    Err("this build of the module has no WebGPU backend (load the WebGPU build)".into())
}

#[wasm_bindgen]
impl Vae {
    /// Creates a freshly initialised model. Options (all optional): `latentDim` (20), `hidden`
    /// (400), `kind` ("vae" | "autoencoder" | "conditional"), `likelihood` ("bernoulli" |
    /// "gaussian"), `seed` (1), `backend` ("auto": WebGPU if this build has it, an adapter answers
    /// and a self-check agrees with the CPU, else the CPU — `fallbackReason` says why; "webgpu":
    /// WebGPU or an error; "cpu"). The initial weights are drawn on the CPU from `seed`, so a seed
    /// gives the same model on every backend.
    #[wasm_bindgen(js_name = create, unchecked_return_type = "Promise<Vae>")]
    pub fn create_js(
        #[wasm_bindgen(unchecked_param_type = "VaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::create(options).await?.into()) })
    }

    /// Creates a model whose architecture is read from a safetensors file (a PyTorch
    /// `vae/main.py` checkpoint, or one this class wrote). Options as for `create`; their sizes are
    /// ignored in favour of the file's.
    #[wasm_bindgen(js_name = fromSafetensors, unchecked_return_type = "Promise<Vae>")]
    pub fn from_safetensors_js(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "VaeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::from_safetensors(bytes, options).await?.into()) })
    }

    fn with_model(
        model: vae_core::Vae,
        seed: u64,
        (likelihood, sigma_x): (Likelihood, f32),
        backend: &'static str,
        fallback: Option<String>,
    ) -> Vae {
        let session = Session::new(model, seed);
        let state = State {
            model: session.model(),
            session: Some(session),
            sigma_x,
        };
        Vae {
            shared: Rc::new(Shared {
                state: RefCell::new(state),
                backend,
                fallback,
                likelihood,
            }),
        }
    }

    /// Another handle on the same model, for a promise to keep while it runs.
    fn handle(&self) -> Vae {
        Vae {
            shared: Rc::clone(&self.shared),
        }
    }

    /// The backend that runs this model: "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.shared.backend.into()
    }

    /// Why an "auto" model runs on the CPU (no WebGPU in this build, no adapter, a failed
    /// self-check), or null.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.shared.fallback.clone()
    }

    /// Whether this build of the module holds the WebGPU backend.
    #[wasm_bindgen(getter, js_name = hasWebGpu)]
    pub fn has_webgpu() -> bool {
        vae_core::backend::HAS_WEBGPU
    }

    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> usize {
        self.config().latent
    }

    #[wasm_bindgen(getter)]
    pub fn hidden(&self) -> usize {
        self.config().hidden
    }

    /// "vae", "autoencoder" or "conditional".
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        self.config().kind.name().into()
    }

    /// "bernoulli" or "gaussian": the likelihood trainStep and negativeElbo use by default.
    #[wasm_bindgen(getter)]
    pub fn likelihood(&self) -> String {
        format!("{:?}", self.shared.likelihood).to_lowercase()
    }

    /// σ_x of the Gaussian likelihood: the noise scale of −log N(x; x̂, σ_x² I). A Bernoulli model
    /// keeps one too (0.1 unless set) but does not use it.
    #[wasm_bindgen(getter, js_name = sigmaX)]
    pub fn sigma_x(&self) -> f32 {
        self.shared.state.borrow().sigma_x
    }

    fn config(&self) -> VaeConfig {
        self.shared.state.borrow().model.config()
    }

    fn model(&self) -> vae_core::Vae {
        self.shared.state.borrow().model.clone()
    }

    /// Replaces the weights with a safetensors file of the same architecture. On any problem
    /// it throws an Error naming it, and the model is unchanged.
    #[wasm_bindgen(js_name = loadSafetensors)]
    pub fn load_safetensors(&self, bytes: Vec<u8>) -> Result<(), JsError> {
        let file = read_safetensors(&bytes).map_err(js_error)?;
        let current = self.config();
        if file.config != current {
            return Err(JsError::new(&format!(
                "cannot load weights: the file holds a {} with hidden {} and latent {}, but this model \
                 is a {} with hidden {} and latent {} (use Vae.fromSafetensors to take the file's shape)",
                file.config.kind.name(),
                file.config.hidden,
                file.config.latent,
                current.kind.name(),
                current.hidden,
                current.latent
            )));
        }
        let mut state = self.shared.state.borrow_mut();
        let device = state.model.fc1.weight.device();
        let session = state
            .session
            .as_mut()
            .ok_or_else(|| JsError::new("a training step is running"))?;
        session.set_model(file.to_model(&device));
        state.model = session.model();
        state.sigma_x = file_sigma_x(&file).unwrap_or(DEFAULT_SIGMA_X);
        Ok(())
    }

    /// Keeps the packed digits file (decompressed `digits.bin`) inside the module for
    /// `trainBatch` and `testElbo`, so no batch is copied from JavaScript. `seed` fixes the batch
    /// order. Returns the number of training digits.
    #[wasm_bindgen(js_name = setTrainingDigits)]
    pub fn set_training_digits(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> Result<usize, JsError> {
        let seed = args::seed("seed", &seed)?;
        let digits = Digits::from_bytes(&bytes).map_err(js_error)?;
        self.shared
            .state
            .borrow_mut()
            .session
            .as_mut()
            .ok_or_else(|| JsError::new("a training step is running; await it first"))?
            .set_digits(digits, seed)
            .map_err(js_error)
    }

    /// Takes the session out of the state for one step or test run; `finish_session` puts it back.
    fn take_session(&self) -> Result<Session, JsError> {
        self.shared
            .state
            .borrow_mut()
            .session
            .take()
            .ok_or_else(|| JsError::new("a training step is already running; await it first"))
    }

    /// Puts the session back and publishes its current weights (and σ_x, if a step reported it)
    /// to inference.
    fn finish_session(&self, session: Session, stats: Option<&vae_core::training::StepStats>) {
        let mut state = self.shared.state.borrow_mut();
        state.model = session.model();
        state.session = Some(session);
        if let Some(sigma_x) = stats.and_then(|s| s.sigma_x) {
            state.sigma_x = sigma_x;
        }
    }

    /// Training steps taken since creation or the last load.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> f64 {
        self.shared
            .state
            .borrow()
            .session
            .as_ref()
            .map_or(0.0, |t| t.steps() as f64)
    }

    /// The weights as a safetensors file (F32, PyTorch names and layout). Rejects, saving
    /// nothing, if a weight is not finite.
    #[wasm_bindgen(js_name = toSafetensors, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn to_safetensors_js(&self) -> Promise {
        let this = self.handle();
        settle(async move {
            let bytes = this.to_safetensors().await?;
            Ok(js_sys::Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// q(z|x) of `n` digits (`pixels`: n×784 grey values in [0, 1]). Resolves to
    /// `{ mu, logvar, sigma }`, each n×latentDim; `logvar` and `sigma` are null for the plain
    /// autoencoder. `labels` (n digits 0–9) is used by conditional models.
    #[wasm_bindgen(
        js_name = encode,
        unchecked_return_type = "Promise<{ mu: Float32Array, logvar: Float32Array | null, sigma: Float32Array | null }>"
    )]
    pub fn encode_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.encode(pixels, n, labels).await })
    }

    /// The decoder's mean images of `n` latent points (`z`: n×latentDim): n×784 grey values.
    #[wasm_bindgen(js_name = decode, unchecked_return_type = "Promise<Float32Array>")]
    pub fn decode_js(
        &self,
        z: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.decode(z, n, labels).await?) })
    }

    /// One deterministic pass (z = μ) over `n` digits: what the page shows for a drawing.
    /// Resolves to `{ mu, logvar, sigma, recon, negElbo }` (recon n×784; negElbo n, nats).
    #[wasm_bindgen(
        js_name = reconstruct,
        unchecked_return_type = "Promise<{ mu: Float32Array, logvar: Float32Array | null, sigma: Float32Array | null, recon: Float32Array, negElbo: Float32Array }>"
    )]
    pub fn reconstruct_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.reconstruct(pixels, n, labels).await })
    }

    /// `k` decoded draws z = μ + σ ⊙ ε from q(z|x) = N(μ, σ²) of one digit, given its `mu` and
    /// `logvar` (latentDim values each, as `encode`/`reconstruct` return them; null logvar = no
    /// spread), reproducible from `seed`. Resolves to
    /// `{ z: Float32Array (k×latentDim), images: Float32Array (k×784) }`.
    #[wasm_bindgen(
        js_name = posteriorDraws,
        unchecked_return_type = "Promise<{ z: Float32Array, images: Float32Array }>"
    )]
    pub fn posterior_draws_js(
        &self,
        mu: Vec<f32>,
        logvar: Option<Vec<f32>>,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.posterior_draws(mu, logvar, k, seed, labels).await })
    }

    /// How well the model explains `n` digits, from `k` draws of q(z|x) each (reproducible from
    /// `seed`), in nats per digit of the model's likelihood. Resolves to `{ draws, negElbo,
    /// negLogLikelihood, floor }`: −ELBO (mean over the draws of −log p(x|z), plus the closed-form
    /// KL), the importance-weighted estimate of −log p(x), and −log p(x|z) of a perfect decoder.
    /// Rejects for the plain autoencoder, which has no ELBO.
    #[wasm_bindgen(
        js_name = bounds,
        unchecked_return_type = "Promise<{ draws: number, negElbo: Float32Array, negLogLikelihood: Float32Array, floor: Float32Array }>"
    )]
    pub fn bounds_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] k: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.bounds(pixels, n, k, seed, labels).await })
    }

    /// The decoded manifold of a latent-2 model: a `side × side` grid of z at the prior's
    /// quantiles (Kingma & Welling's figure), row-major from the top-left; `side² × 784` values.
    #[wasm_bindgen(js_name = manifold, unchecked_return_type = "Promise<Float32Array>")]
    pub fn manifold_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] side: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.manifold(side).await?) })
    }

    /// −ELBO of each digit in nats (z = μ, β = 1): the anomaly score.
    #[wasm_bindgen(js_name = negativeElbo, unchecked_return_type = "Promise<Float32Array>")]
    pub fn negative_elbo_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Promise {
        let this = self.handle();
        settle(async move { floats(this.negative_elbo(pixels, n, labels).await?) })
    }

    /// One Adam step on `n` digits. `options`: `{ lr = 1e-3, beta = 1, labels?, likelihood? }`.
    /// Resolves to the per-digit means `{ loss, recon, kl }` in nats, measured before the update.
    /// A loss that is not finite or explodes, or an update that makes a weight non-finite, rejects
    /// the promise and rolls the weights back to the last step whose loss was sound.
    #[wasm_bindgen(
        js_name = trainStep,
        unchecked_return_type = "Promise<{ loss: number, recon: number, kl: number }>"
    )]
    pub fn train_step_js(
        &self,
        pixels: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "TrainStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.train_step(pixels, n, options).await })
    }

    /// One Adam step on the next batch of the training digits (see `setTrainingDigits`).
    /// `options`: `{ lr = 1e-3, beta = 1, batchSize = 128, likelihood? }`. Resolves to
    /// `{ loss, recon, kl, epoch, stepInEpoch, stepsPerEpoch, endsEpoch }` (per-digit means in nats,
    /// measured before the update; `epoch` counts finished epochs). Divergence rejects the promise
    /// and rolls the weights back, as for `trainStep`.
    #[wasm_bindgen(
        js_name = trainBatch,
        unchecked_return_type = "Promise<{ loss: number, recon: number, kl: number, epoch: number, stepInEpoch: number, stepsPerEpoch: number, endsEpoch: boolean }>"
    )]
    pub fn train_batch_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrainStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.train_batch(options).await })
    }

    /// −ELBO per digit of the test split (β = 1), `{ sampled, atMean }`: with one z drawn from
    /// q(z|x), and with z = μ.
    #[wasm_bindgen(
        js_name = testElbo,
        unchecked_return_type = "Promise<{ sampled: number, atMean: number }>"
    )]
    pub fn test_elbo_js(&self) -> Promise {
        let this = self.handle();
        settle(async move { this.test_elbo().await })
    }
}

/// The async methods as Rust sees them (the wasm-bindgen tests call these); JavaScript gets
/// each as a promise from the exported wrapper of the same JS name above.
impl Vae {
    /// Creates a freshly initialised model. Options (all optional): `latentDim` (20), `hidden`
    /// (400), `kind` ("vae" | "autoencoder" | "conditional"), `likelihood` ("bernoulli" |
    /// "gaussian"), `seed` (1), `backend` ("auto": WebGPU if this build has it, an adapter answers
    /// and a self-check agrees with the CPU, else the CPU — `fallbackReason` says why; "webgpu":
    /// WebGPU or an error; "cpu"). The initial weights are drawn on the CPU from `seed`, so a seed
    /// gives the same model on every backend.
    pub async fn create(options: JsValue) -> Result<Vae, JsError> {
        let options = CreateOptions::parse(&options)?;
        let device = vae_core::backend::cpu_device();
        device.seed(options.seed);
        let sigma_x = options.sigma_x.unwrap_or(DEFAULT_SIGMA_X);
        let model = options
            .config
            .init(&device)
            .with_sigma_x(sigma_x)
            .map_err(js_error)?;
        let (model, backend, fallback) = place(model, options.backend).await?;
        Ok(Self::with_model(
            model,
            options.seed,
            (options.likelihood, sigma_x),
            backend,
            fallback,
        ))
    }

    /// Creates a model whose architecture is read from a safetensors file (a PyTorch
    /// `vae/main.py` checkpoint, or one this class wrote). Options as for `create`; their sizes are
    /// ignored in favour of the file's.
    pub async fn from_safetensors(bytes: Vec<u8>, options: JsValue) -> Result<Vae, JsError> {
        let options = CreateOptions::parse(&options)?;
        let file = read_safetensors(&bytes).map_err(js_error)?;
        let likelihood = file
            .metadata
            .get("likelihood")
            .and_then(|l| Likelihood::parse(l))
            .unwrap_or(options.likelihood);
        // σ_x: the file's if it holds one, else the option's, else the default.
        let sigma_x = file_sigma_x(&file)
            .or(options.sigma_x)
            .unwrap_or(DEFAULT_SIGMA_X);
        let mut model = file.to_model(&vae_core::backend::cpu_device());
        if file_sigma_x(&file).is_none() {
            model = model.with_sigma_x(sigma_x).map_err(js_error)?;
        }
        let (model, backend, fallback) = place(model, options.backend).await?;
        Ok(Self::with_model(
            model,
            options.seed,
            (likelihood, sigma_x),
            backend,
            fallback,
        ))
    }

    /// The weights as a safetensors file (F32, PyTorch names and layout).
    pub async fn to_safetensors(&self) -> Result<Vec<u8>, JsError> {
        let model = self.model();
        write_safetensors(&model, Dtype::F32, &[("likelihood", &self.likelihood())])
            .await
            .map_err(js_error)
    }

    /// q(z|x) of `n` digits (`pixels`: n×784 grey values in [0, 1]). Resolves to
    /// `{ mu, logvar }`, each n×latentDim; `logvar` is null for the plain autoencoder.
    /// `labels` (n digits 0–9) is used by conditional models.
    pub async fn encode(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        let encoded = inference::encode(&model, &pixels, n, labels.as_deref())
            .await
            .map_err(js_error)?;
        Ok(encoded_object(&encoded)?.into())
    }

    /// The decoder's mean images of `n` latent points (`z`: n×latentDim): n×784 grey values.
    pub async fn decode(
        &self,
        z: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        inference::decode(&model, &z, n, labels.as_deref())
            .await
            .map_err(js_error)
    }

    /// One deterministic pass (z = μ) over `n` digits: what the page shows for a drawing.
    /// Resolves to `{ mu, logvar, recon, negElbo }` (recon n×784; negElbo n, nats).
    pub async fn reconstruct(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        let result = inference::reconstruct(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            self.shared.likelihood,
        )
        .await
        .map_err(js_error)?;
        let out = encoded_object(&result.encoded)?;
        set(
            &out,
            "recon",
            &Float32Array::from(result.images.as_slice()).into(),
        )?;
        set(
            &out,
            "negElbo",
            &Float32Array::from(result.negative_elbo.as_slice()).into(),
        )?;
        Ok(out.into())
    }

    /// `k` decoded draws z = μ + σ ⊙ ε from q(z|x) = N(μ, σ²) of one digit, given its `mu` and
    /// `logvar` (latentDim values each, as `encode`/`reconstruct` return them; null logvar = no
    /// spread), reproducible from `seed`. Resolves to
    /// `{ z: Float32Array (k×latentDim), images: Float32Array (k×784) }`.
    pub async fn posterior_draws(
        &self,
        mu: Vec<f32>,
        logvar: Option<Vec<f32>>,
        k: JsValue,
        seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let k = args::count("k", &k, 1, inference::MAX_DRAWS)?;
        let mut rng = vae_core::rng::Rng::new(args::seed("seed", &seed)?);
        let model = self.model();
        let (z, images) = inference::posterior_draws(
            &model,
            &mu,
            logvar.as_deref(),
            labels.as_deref(),
            k,
            &mut rng,
        )
        .await
        .map_err(js_error)?;
        let out = Object::new();
        set(&out, "z", &Float32Array::from(z.as_slice()).into())?;
        set(
            &out,
            "images",
            &Float32Array::from(images.as_slice()).into(),
        )?;
        Ok(out.into())
    }

    /// See `bounds` above.
    pub async fn bounds(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        k: JsValue,
        seed: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let k = args::count("k", &k, 1, inference::MAX_DRAWS)?;
        let mut rng = vae_core::rng::Rng::new(args::seed("seed", &seed)?);
        let likelihood = self.shared.likelihood;
        let model = self.model();
        let result = bounds::bounds(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            likelihood,
            k,
            &mut rng,
        )
        .await
        .map_err(js_error)?;
        let floor = bounds::floor(&pixels, n, likelihood, self.sigma_x()).map_err(js_error)?;
        let out = Object::new();
        set(&out, "draws", &(result.draws as f64).into())?;
        for (key, values) in [
            ("negElbo", &result.negative_elbo),
            ("negLogLikelihood", &result.negative_log_likelihood),
            ("floor", &floor),
        ] {
            set(&out, key, &Float32Array::from(values.as_slice()).into())?;
        }
        Ok(out.into())
    }

    /// The decoded manifold of a latent-2 model: a `side × side` grid of z at the prior's
    /// quantiles (Kingma & Welling's figure), row-major from the top-left; `side² × 784` values.
    pub async fn manifold(&self, side: JsValue) -> Result<Vec<f32>, JsError> {
        let side = args::count("side", &side, 2, inference::MAX_MANIFOLD_SIDE)?;
        let model = self.model();
        inference::manifold(&model, side).await.map_err(js_error)
    }

    /// −ELBO of each digit in nats (z = μ, β = 1): the anomaly score.
    pub async fn negative_elbo(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        labels: Option<Vec<u8>>,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let model = self.model();
        inference::negative_elbo(
            &model,
            &pixels,
            n,
            labels.as_deref(),
            self.shared.likelihood,
        )
        .await
        .map_err(js_error)
    }

    /// One Adam step on `n` digits. `options`: `{ lr = 1e-3, beta = 1, labels?, likelihood? }`.
    /// Resolves to the per-digit means `{ loss, recon, kl }` in nats, measured before the update.
    /// A non-finite loss rejects the promise and rolls the weights back to the last good step.
    pub async fn train_step(
        &self,
        pixels: Vec<f32>,
        n: JsValue,
        options: JsValue,
    ) -> Result<JsValue, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        let options = StepOptions::parse(&options, self.shared.likelihood)?;
        let mut session = self.take_session()?;
        let result = session
            .trainer()
            .step(&pixels, n, options.labels.as_deref(), &options.config())
            .await;
        self.finish_session(session, result.as_ref().ok());
        let out = stats_object(&result.map_err(js_error)?)?;
        Ok(out.into())
    }

    /// One Adam step on the next batch of the training digits (see `setTrainingDigits`).
    /// `options`: `{ lr = 1e-3, beta = 1, batchSize = 128, likelihood? }`. Resolves to
    /// `{ loss, recon, kl, epoch, stepInEpoch, stepsPerEpoch, endsEpoch }` (per-digit means in nats,
    /// measured before the update; `epoch` counts finished epochs). A non-finite loss rejects the
    /// promise and rolls the weights back to the last good step.
    pub async fn train_batch(&self, options: JsValue) -> Result<JsValue, JsError> {
        let options = StepOptions::parse(&options, self.shared.likelihood)?;
        let mut session = self.take_session()?;
        let result = session.step(&options.config()).await;
        self.finish_session(session, result.as_ref().ok().map(|r| &r.stats));
        let report = result.map_err(js_error)?;
        let out = stats_object(&report.stats)?;
        set(&out, "epoch", &(report.epoch as f64).into())?;
        set(&out, "stepInEpoch", &(report.step_in_epoch as f64).into())?;
        set(
            &out,
            "stepsPerEpoch",
            &(report.steps_per_epoch as f64).into(),
        )?;
        set(&out, "endsEpoch", &report.ends_epoch.into())?;
        Ok(out.into())
    }

    /// −ELBO per digit of the test split (β = 1), `{ sampled, atMean }`: with one z drawn from
    /// q(z|x), and with z = μ.
    pub async fn test_elbo(&self) -> Result<JsValue, JsError> {
        let mut session = self.take_session()?;
        let result = session.evaluate(self.shared.likelihood).await;
        self.finish_session(session, None);
        let (sampled, at_mean) = result.map_err(js_error)?;
        let out = Object::new();
        set(&out, "sampled", &sampled.into())?;
        set(&out, "atMean", &at_mean.into())?;
        Ok(out.into())
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

/// Bytes of this module instance's WebAssembly memory. Wasm memory grows and never shrinks, so
/// this is the high-water mark of what the module has needed: a leak shows as a figure that keeps
/// rising (the soak benchmark, `bench/soak.mjs`, watches it).
#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .unchecked_into::<js_sys::WebAssembly::Memory>()
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// MNIST-style preprocessing of a drawing (`grey`: width×height values in [0, 1], ink = 1):
/// scaled to fit 20×20, centred by centre of mass in 28×28. Returns 784 grey values.
#[wasm_bindgen(js_name = toMnist)]
pub fn to_mnist(
    grey: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (width, height) = image_size(&width, &height)?;
    vae_core::preprocess::to_mnist(&grey, width, height).map_err(js_error)
}

/// A drawing's width and height, each from 1 to the core's largest side.
fn image_size(width: &JsValue, height: &JsValue) -> Result<(usize, usize), JsError> {
    let max = vae_core::preprocess::MAX_SIDE;
    Ok((
        args::count("width", width, 1, max)?,
        args::count("height", height, 1, max)?,
    ))
}

/// [`to_mnist`] from a canvas's RGBA bytes (`getImageData().data`), the alpha channel being the ink.
#[wasm_bindgen(js_name = rgbaToMnist)]
pub fn rgba_to_mnist(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | Uint8ClampedArray")] rgba: Vec<u8>,
    #[wasm_bindgen(unchecked_param_type = "number")] width: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] height: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (width, height) = image_size(&width, &height)?;
    vae_core::preprocess::rgba_to_mnist(&rgba, width, height).map_err(js_error)
}

/// `n` draws from N(0, 1), reproducible from `seed`: latent points from the prior.
#[wasm_bindgen(js_name = standardNormal)]
pub fn standard_normal(
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
) -> Result<Vec<f32>, JsError> {
    let n = args::count("n", &n, 1, 1 << 24)?; // 64 MB of floats
    let seed = args::seed("seed", &seed)?;
    Ok(vae_core::rng::Rng::new(seed).normals(n))
}

/// Reads the packed digits file (already decompressed) and returns the test split
/// (index % 10 == 0) as `{ pixels: Float32Array (n×784), labels: Uint8Array, count }`.
#[wasm_bindgen(js_name = testDigits, unchecked_return_type = "{ pixels: Float32Array, labels: Uint8Array, count: number }")]
pub fn test_digits(bytes: Vec<u8>) -> Result<JsValue, JsError> {
    let digits = vae_core::data::Digits::from_bytes(&bytes).map_err(js_error)?;
    let (pixels, labels) = digits.batch(&digits.test_indices());
    let out = Object::new();
    set(
        &out,
        "pixels",
        &Float32Array::from(pixels.as_slice()).into(),
    )?;
    set(
        &out,
        "labels",
        &js_sys::Uint8Array::from(labels.as_slice()).into(),
    )?;
    set(&out, "count", &(labels.len() as f64).into())?;
    Ok(out.into())
}

/// An animated walk through latent space; the page decodes `advance`'s point each frame.
/// −log p(x|z) of a decoder that reproduces each of `n` digits exactly, in nats, under
/// `likelihood` ("bernoulli": the entropy of the grey pixels; "gaussian": its constant
/// (784/2)·ln(2πσ_x²), `sigmaX` 0.1 unless given).
#[wasm_bindgen(js_name = reconstructionFloor)]
pub fn reconstruction_floor(
    pixels: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "\"bernoulli\" | \"gaussian\"")] likelihood: String,
    #[wasm_bindgen(js_name = sigmaX)] sigma_x: Option<f32>,
) -> Result<Vec<f32>, JsError> {
    let n = args::count("n", &n, 1, MAX_ROWS)?;
    let sigma_x = sigma_x.unwrap_or(DEFAULT_SIGMA_X);
    vae_core::loss::check_sigma_x(sigma_x).map_err(js_error)?;
    let likelihood = Likelihood::parse(&likelihood).ok_or_else(|| {
        JsError::new(&format!(
            "likelihood must be \"bernoulli\" or \"gaussian\", got \"{likelihood}\""
        ))
    })?;
    bounds::floor(&pixels, n, likelihood, sigma_x).map_err(js_error)
}

#[wasm_bindgen(js_name = LatentWalk)]
pub struct JsLatentWalk {
    walk: vae_core::walk::LatentWalk,
}

#[wasm_bindgen(js_class = LatentWalk)]
impl JsLatentWalk {
    /// `path`: "circle" (radius 1.5 in the plane of `plane`'s two directions — e.g. a
    /// projection's `axes`, 2×latentDim values — or else of the first two dimensions, the other
    /// directions holding one prior draw), "random" (a smooth wander near the prior) or "between"
    /// (a spherical morph back and forth from `from` to `to`, latentDim values each).
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "\"circle\" | \"random\" | \"between\"")]
        path: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] latent: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
        from: Option<Vec<f32>>,
        to: Option<Vec<f32>>,
        plane: Option<Vec<f32>>,
    ) -> Result<JsLatentWalk, JsError> {
        use vae_core::walk::{LatentWalk, WalkPath};
        let path = path
            .as_string()
            .ok_or_else(|| args::invalid("walk path must be a string"))?;
        let latent = args::count("latent", &latent, 1, VaeConfig::MAX_WIDTH)?;
        let seed = args::seed("seed", &seed)?;
        let plane = match plane {
            Some(plane) if plane.len() == 2 * latent => {
                let (u, v) = plane.split_at(latent);
                Some([u.to_vec(), v.to_vec()])
            }
            Some(plane) => {
                return Err(args::invalid(format!(
                    "walk: plane must be 2 × {latent} numbers, got {}",
                    plane.len()
                )));
            }
            None => None,
        };
        let path = WalkPath::parse(&path, from, to, plane).map_err(js_error)?;
        Ok(Self {
            walk: LatentWalk::new(path, latent, seed).map_err(js_error)?,
        })
    }

    /// Moves on by `seconds × speed` and returns the new point (latentDim values).
    pub fn advance(&mut self, seconds: f64, speed: f64) -> Result<Vec<f32>, JsError> {
        Ok(self
            .walk
            .advance(seconds, speed)
            .map_err(js_error)?
            .to_vec())
    }

    /// The current point.
    #[wasm_bindgen(getter)]
    pub fn z(&self) -> Vec<f32> {
        self.walk.z().to_vec()
    }
}

/// Latent arithmetic z(a) − z(b) + z(c), each latentDim values.
#[wasm_bindgen(js_name = latentArithmetic)]
pub fn latent_arithmetic(a: Vec<f32>, b: Vec<f32>, c: Vec<f32>) -> Result<Vec<f32>, JsError> {
    vae_core::latent::arithmetic(&a, &b, &c).map_err(js_error)
}

/// Mean KL(q(z|x) ‖ N(0, 1)) of each latent dimension over `n` digits, from their `mu` and
/// `logvar` (n×dim each): `dim` values in nats. Near-zero dimensions are switched off.
#[wasm_bindgen(js_name = klPerDimension)]
pub fn kl_per_dimension(
    mu: Vec<f32>,
    logvar: Vec<f32>,
    #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
) -> Result<Vec<f32>, JsError> {
    let (n, dim) = rows_and_width(&n, &dim)?;
    vae_core::latent::mean_kl_per_dimension(&mu, &logvar, n, dim).map_err(js_error)
}

/// `n` rows of `dim` latent values: n from 1 to MAX_ROWS, dim from 1 to the widest latent space.
fn rows_and_width(n: &JsValue, dim: &JsValue) -> Result<(usize, usize), JsError> {
    Ok((
        args::count("n", n, 1, MAX_ROWS)?,
        args::count("dim", dim, 1, VaeConfig::MAX_WIDTH)?,
    ))
}

/// A flat view of a latent space for the map: the identity for 2-D, else the plane of the first
/// two principal components of the points it is built from.
#[wasm_bindgen(js_name = Projection)]
pub struct JsProjection {
    projection: vae_core::latent::Projection,
    /// The points it was made from and their map coordinates, for `liftNear`.
    points: Vec<f32>,
    coords: Vec<f32>,
}

#[wasm_bindgen(js_class = Projection)]
impl JsProjection {
    /// From `n` latent points (`points`: n×dim), e.g. the test digits' μ.
    #[wasm_bindgen(constructor)]
    pub fn new(
        points: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] dim: JsValue,
    ) -> Result<JsProjection, JsError> {
        let (n, dim) = rows_and_width(&n, &dim)?;
        let projection = vae_core::latent::Projection::pca(&points, n, dim).map_err(js_error)?;
        let coords = projection.project(&points, n).map_err(js_error)?;
        Ok(Self {
            projection,
            points,
            coords,
        })
    }

    /// Map coordinates (n×2) of `n` latent points.
    pub fn project(
        &self,
        points: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
    ) -> Result<Vec<f32>, JsError> {
        let n = args::count("n", &n, 1, MAX_ROWS)?;
        self.projection.project(&points, n).map_err(js_error)
    }

    /// The latent point (dim values) at map coordinates (x, y), the directions off the map at
    /// the points' mean.
    pub fn lift(&self, x: f32, y: f32) -> Result<Vec<f32>, JsError> {
        self.projection.lift(x, y).map_err(js_error)
    }

    /// The latent point (dim values) under map coordinates (x, y): on the map at (x, y), off it
    /// as the points drawn nearest there (a kernel-weighted mean), so it decodes what the map
    /// shows under the cursor. The same as `lift` in 2-D.
    #[wasm_bindgen(js_name = liftNear)]
    pub fn lift_near(&self, x: f32, y: f32) -> Result<Vec<f32>, JsError> {
        let n = self.coords.len() / 2;
        self.projection
            .lift_near(x, y, &self.points, &self.coords, n)
            .map_err(js_error)
    }

    /// The map's two axes in latent space, 2×dim values (orthonormal; the identity in 2-D).
    #[wasm_bindgen(getter)]
    pub fn axes(&self) -> Vec<f32> {
        self.projection.axes.concat()
    }

    /// Share of the variance along each map axis: `[first, second]`.
    #[wasm_bindgen(getter)]
    pub fn explained(&self) -> Vec<f32> {
        self.projection.explained.to_vec()
    }

    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.projection.dim()
    }
}
