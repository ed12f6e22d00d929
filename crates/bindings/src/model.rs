//! The `Vae` class itself: creation, the weights file in and out, and what a model reports about
//! itself. Inference and training methods live in `inference.rs` and `training.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use vae_core::VaeConfig;
use vae_core::loss::{DEFAULT_SIGMA_X, Likelihood};
use vae_core::session::Session;
use vae_core::weights::{Dtype, LOG_SIGMA_X, WeightFile, read_safetensors, write_safetensors};
use wasm_bindgen::prelude::*;

use crate::marshal::js_error;
use crate::options::CreateOptions;
use crate::pending::settle;
use crate::placement::{Placement, place};

/// What a `Vae` holds. Never borrowed across an `.await`: methods copy out what they need first.
pub(crate) struct State {
    /// The weights inference uses (no gradient tracking). Replaced after each step or load.
    pub(crate) model: vae_core::Vae,
    /// The training session (the core's, as the native `train` binary uses it) with the digits
    /// kept in wasm memory for `trainBatch`/`testElbo`. `None` while a step or test runs, so a
    /// second concurrent one is refused.
    pub(crate) session: Option<Session>,
    /// The Gaussian likelihood's σ_x as the model holds it (kept here so reading it needs no
    /// device read): set on creation and load, updated by every step that learns it.
    pub(crate) sigma_x: f32,
}

/// A VAE on one backend. Create it with `await Vae.create({...})`.
///
/// The JS object holds one handle on a shared model; every async method takes a handle of its
/// own before it returns its promise, so `free()` while a call is pending succeeds at once and
/// the model lives on until that call has settled.
#[wasm_bindgen]
pub struct Vae {
    pub(crate) shared: Rc<Shared>,
}

/// What every handle on one model shares.
pub(crate) struct Shared {
    pub(crate) state: RefCell<State>,
    /// Where it runs, and why on the CPU although WebGPU was possible to ask for ("auto").
    pub(crate) placement: Placement,
    pub(crate) likelihood: Likelihood,
}

/// σ_x a weights file holds (the exponential of its `log_sigma_x`), if it holds one.
pub(crate) fn file_sigma_x(file: &WeightFile) -> Option<f32> {
    file.tensors.get(LOG_SIGMA_X).map(|t| t.values[0].exp())
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
        placement: Placement,
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
                placement,
                likelihood,
            }),
        }
    }

    /// Another handle on the same model, for a promise to keep while it runs.
    pub(crate) fn handle(&self) -> Vae {
        Vae {
            shared: Rc::clone(&self.shared),
        }
    }

    /// The backend that runs this model: "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.shared.placement.backend.into()
    }

    /// Why an "auto" model runs on the CPU (no WebGPU in this build, no adapter, a failed
    /// self-check), or null.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.shared.placement.fallback.clone()
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

    pub(crate) fn config(&self) -> VaeConfig {
        self.shared.state.borrow().model.config()
    }

    pub(crate) fn model(&self) -> vae_core::Vae {
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
        let options = CreateOptions::parse(options)?;
        let device = vae_core::backend::cpu_device();
        device.seed(options.seed);
        let sigma_x = options.sigma_x.unwrap_or(DEFAULT_SIGMA_X);
        let model = options
            .config
            .init(&device)
            .with_sigma_x(sigma_x)
            .map_err(js_error)?;
        let (model, placement) = place(model, options.backend).await?;
        Ok(Self::with_model(
            model,
            options.seed,
            (options.likelihood, sigma_x),
            placement,
        ))
    }

    /// Creates a model whose architecture is read from a safetensors file (a PyTorch
    /// `vae/main.py` checkpoint, or one this class wrote). Options as for `create`; their sizes are
    /// ignored in favour of the file's.
    pub async fn from_safetensors(bytes: Vec<u8>, options: JsValue) -> Result<Vae, JsError> {
        let options = CreateOptions::parse(options)?;
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
        let (model, placement) = place(model, options.backend).await?;
        Ok(Self::with_model(
            model,
            options.seed,
            (likelihood, sigma_x),
            placement,
        ))
    }

    /// The weights as a safetensors file (F32, PyTorch names and layout).
    pub async fn to_safetensors(&self) -> Result<Vec<u8>, JsError> {
        let model = self.model();
        write_safetensors(&model, Dtype::F32, &[("likelihood", &self.likelihood())])
            .await
            .map_err(js_error)
    }
}
