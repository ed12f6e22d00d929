//! The `Vrae` class: the variational recurrent autoencoder over windows of a time series, over
//! `vae-core`'s. It runs on the CPU, or on WebGPU in the WebGPU build.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use vae_core::inference::MAX_ROWS;
use vae_core::series::{MAX_WINDOW, Series, WINDOW};
use vae_core::vrae;
use vae_core::vrae_training::{VraeSession, anomaly_figures};
use vae_core::weights::Dtype;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{f32_array, js_error, to_js, u8_array};
use crate::options::{FamilyCreate, VraeOptions, VraeStepOptions};
use crate::pending::settle;
use crate::placement::{Placement, place};

struct State {
    /// The weights inference uses, replaced after each step or load.
    model: vrae::Vrae,
    /// The training session once a series is set; `None` also while a step has it.
    session: Option<VraeSession>,
    /// Whether a series was set (so a missing session means "busy", not "no series").
    has_series: bool,
}

/// A variational recurrent autoencoder: a GRU reads a window into q(z|x); z starts a GRU that
/// redraws the window.
#[wasm_bindgen]
pub struct Vrae {
    state: Rc<RefCell<State>>,
    placement: Placement,
}

/// What `setSeries` found in the file.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SeriesInfo {
    /// Samples in the series.
    pub length: u32,
    /// The first held-out sample; the model trains on windows before it.
    pub train_end: u32,
    /// Samples per window.
    pub window: u32,
    /// Training windows (one per start).
    pub train_windows: u32,
    /// Mean and standard deviation of the training part: the model sees (x − mean) / sd.
    pub mean: f32,
    pub sd: f32,
    /// The series as recorded.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub values: Vec<f32>,
    /// 1 where a sample is labelled anomalous.
    #[serde(serialize_with = "u8_array")]
    #[tsify(type = "Uint8Array")]
    pub labels: Vec<u8>,
}

/// One step of `trainBatch`: the −ELBO's terms (batch means, nats per window of the Gaussian on
/// the standardised series, measured before the update), σ_x after it, and where the step falls in
/// the epochs.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct VraeBatchResult {
    pub loss: f32,
    pub recon: f32,
    pub kl: f32,
    pub sigma_x: f32,
    pub epoch: u32,
    pub step_in_epoch: u32,
    pub steps_per_epoch: u32,
    pub ends_epoch: bool,
}

/// The held-out part scored: each window's anomaly score, whether it overlaps the labelled
/// anomaly, the figures of how well the scores tell the two apart, the held-out −ELBO (one draw of
/// z, mean per window) and the model's reconstruction of the held-out samples.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct SeriesAnalysis {
    /// First sample of each scored window.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub starts: Vec<f32>,
    /// −log p(x|z) + KL at z = μ per window, nats.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub scores: Vec<f32>,
    /// 1 where the window overlaps the labelled anomaly.
    #[serde(serialize_with = "u8_array")]
    #[tsify(type = "Uint8Array")]
    pub anomalous: Vec<u8>,
    /// Area under the ROC curve of the scores, anomalous against normal windows.
    pub auc: f64,
    /// The 99th percentile of the normal windows' scores.
    pub normal_p99: f32,
    /// The median score of the anomalous windows.
    pub anomalous_median: f32,
    /// Held-out −ELBO and its terms, nats per window, one draw of z.
    pub neg_elbo: f64,
    pub recon: f64,
    pub kl: f64,
    /// The decoder's mean at z = μ for back-to-back windows from the first held-out sample, in the
    /// series' own units; NaN before it and in the last partial window.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub reconstruction: Vec<f32>,
}

/// Windows scored by `scoreWindows`: each one's anomaly score and its reconstruction.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct WindowScores {
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub scores: Vec<f32>,
    /// The decoder's mean at z = μ, `n × steps`, standardised like the input.
    #[serde(serialize_with = "f32_array")]
    #[tsify(type = "Float32Array")]
    pub means: Vec<f32>,
}

impl Vrae {
    /// The model (on the CPU) placed as `made.backend` asks.
    async fn with_model(
        model: vrae::Vrae,
        made: &FamilyCreate<impl Sized>,
    ) -> Result<Vrae, JsError> {
        let (model, placement) = place(model, made.backend).await?;
        Ok(Vrae {
            state: Rc::new(RefCell::new(State {
                model,
                session: None,
                has_series: false,
            })),
            placement,
        })
    }

    /// A freshly initialised model (see the exported `create`).
    pub async fn create(options: JsValue) -> Result<Vrae, JsError> {
        let made = VraeOptions::parse(options)?;
        let device = vae_core::backend::cpu_device();
        device.seed(made.seed);
        Self::with_model(made.config.init(&device), &made).await
    }

    /// A model read from a safetensors file (see the exported `fromSafetensors`).
    pub async fn from_safetensors(bytes: Vec<u8>, options: JsValue) -> Result<Vrae, JsError> {
        let made = VraeOptions::parse(options)?;
        let model = vrae::read_vrae(&bytes, &vae_core::backend::cpu_device()).map_err(js_error)?;
        Self::with_model(model, &made).await
    }

    fn model(&self) -> vrae::Vrae {
        self.state.borrow().model.clone()
    }

    /// The session, out of the state for one call; [`Vrae::put`] brings it back.
    fn take(state: &RefCell<State>) -> Result<VraeSession, JsError> {
        let mut s = state.borrow_mut();
        let has_series = s.has_series;
        s.session.take().ok_or_else(|| {
            JsError::new(if has_series {
                "a training step is already running; await it first"
            } else {
                "no series to train on: call setSeries first"
            })
        })
    }

    fn put(state: &RefCell<State>, session: VraeSession) {
        let mut s = state.borrow_mut();
        s.model = session.model();
        s.session = Some(session);
    }
}

#[wasm_bindgen]
impl Vrae {
    /// A freshly initialised model. Options (all optional): `hidden` (32), `latentDim` (8),
    /// `seed` (1), `backend` ("auto" | "webgpu" | "cpu", as for `Vae.create`).
    #[wasm_bindgen(js_name = create, unchecked_return_type = "Promise<Vrae>")]
    pub fn create_js(
        #[wasm_bindgen(unchecked_param_type = "VraeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::create(options).await?.into()) })
    }

    /// A model read from a safetensors file (one `toSafetensors` or the `train-series` binary
    /// wrote, or PyTorch's module of `make_vrae_fixture.py`). Options: `backend`.
    #[wasm_bindgen(js_name = fromSafetensors, unchecked_return_type = "Promise<Vrae>")]
    pub fn from_safetensors_js(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "VraeOptions | undefined")] options: JsValue,
    ) -> Promise {
        settle(async move { Ok(Self::from_safetensors(bytes, options).await?.into()) })
    }

    /// The weights as safetensors (F32, the PyTorch module's names).
    #[wasm_bindgen(js_name = toSafetensors, unchecked_return_type = "Promise<Uint8Array>")]
    pub fn to_safetensors(&self) -> Promise {
        let model = self.model();
        settle(async move {
            let bytes = vrae::write_vrae(&model, Dtype::F32, &[])
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

    /// "recurrent".
    #[wasm_bindgen(getter)]
    pub fn kind(&self) -> String {
        "recurrent".into()
    }

    #[wasm_bindgen(getter, js_name = latentDim)]
    pub fn latent_dim(&self) -> usize {
        self.model().config().latent
    }

    /// Samples per training window.
    #[wasm_bindgen(getter)]
    pub fn window(&self) -> usize {
        WINDOW
    }

    /// Training steps taken since creation, loading or the last `setSeries`.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> f64 {
        self.state
            .borrow()
            .session
            .as_ref()
            .map_or(0.0, |s| s.steps() as f64)
    }

    /// Keeps the packed series file (`series.bin`) inside the module for `trainBatch` and
    /// `analyse`; `seed` draws the order of the training windows and the noise of training.
    /// Restarts the optimiser.
    #[wasm_bindgen(js_name = setSeries, unchecked_return_type = "SeriesInfo")]
    pub fn set_series(
        &self,
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_param_type = "number")] seed: JsValue,
    ) -> Result<JsValue, JsError> {
        let seed = args::seed("seed", &seed)?;
        let series = Series::from_bytes(&bytes).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        if state.has_series && state.session.is_none() {
            return Err(JsError::new("a training step is running; await it first"));
        }
        let (mean, sd) = series.scale();
        let info = SeriesInfo {
            length: series.len() as u32,
            train_end: series.train_end() as u32,
            window: WINDOW as u32,
            train_windows: series.train_starts().len() as u32,
            mean,
            sd,
            values: series.values().to_vec(),
            labels: series.labels().to_vec(),
        };
        let session = VraeSession::new(state.model.clone(), series, seed).map_err(js_error)?;
        state.session = Some(session);
        state.has_series = true;
        to_js(&info)
    }

    /// One Adam step on the next batch of training windows. `options`: `{ lr = 1e-3,
    /// batchSize = 64 }`. Divergence rejects the promise and rolls the weights back to the last
    /// sound step.
    #[wasm_bindgen(js_name = trainBatch, unchecked_return_type = "Promise<VraeBatchResult>")]
    pub fn train_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "VraeStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let state = Rc::clone(&self.state);
        settle(async move {
            let config = VraeStepOptions::parse(options)?;
            let mut session = Self::take(&state)?;
            let result = session.step(config.batch_size, config.lr).await;
            Self::put(&state, session);
            let report = result.map_err(js_error)?;
            to_js(&VraeBatchResult {
                loss: report.stats.loss,
                recon: report.stats.recon,
                kl: report.stats.kl,
                sigma_x: report.stats.sigma_x,
                epoch: report.epoch as u32,
                step_in_epoch: report.step_in_epoch as u32,
                steps_per_epoch: report.steps_per_epoch as u32,
                ends_epoch: report.ends_epoch,
            })
        })
    }

    /// Scores the held-out windows `stride` samples apart (1 to 1024) and reconstructs the
    /// held-out part: see `SeriesAnalysis`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SeriesAnalysis>")]
    pub fn analyse(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] stride: JsValue,
    ) -> Promise {
        let state = Rc::clone(&self.state);
        settle(async move {
            let stride = args::count("stride", &stride, 1, MAX_WINDOW)?;
            let mut session = Self::take(&state)?;
            let result = analyse(&mut session, stride).await;
            Self::put(&state, session);
            to_js(&result.map_err(js_error)?)
        })
    }

    /// Scores `n` windows of `steps` standardised samples (row after row; 1 to 1024 samples, so a
    /// drawn series of any length up to that): see `WindowScores`.
    #[wasm_bindgen(js_name = scoreWindows, unchecked_return_type = "Promise<WindowScores>")]
    pub fn score_windows(
        &self,
        values: Vec<f32>,
        #[wasm_bindgen(unchecked_param_type = "number")] n: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number")] steps: JsValue,
    ) -> Promise {
        let model = self.model();
        settle(async move {
            let n = args::count("n", &n, 1, MAX_ROWS)?;
            let steps = args::count("steps", &steps, 1, MAX_WINDOW)?;
            let (scores, means) = vrae::score_windows(&model, &values, n, steps)
                .await
                .map_err(js_error)?;
            to_js(&WindowScores { scores, means })
        })
    }
}

async fn analyse(session: &mut VraeSession, stride: usize) -> vae_core::Result<SeriesAnalysis> {
    let model = session.model();
    let series = session.series().clone();
    let figures = anomaly_figures(&model, &series, stride).await?;
    let held_out = session.evaluate(stride).await?;
    // Back-to-back windows over the held-out part, decoded at z = μ, in the series' units.
    let (mean, sd) = series.scale();
    let starts: Vec<usize> = series.held_out_starts(WINDOW);
    let standardised = series.standardised();
    let values = vae_core::series::windows(&standardised, &starts);
    let (_, means) = vrae::score_windows(&model, &values, starts.len(), WINDOW).await?;
    let mut reconstruction = vec![f32::NAN; series.len()];
    for (i, &s) in starts.iter().enumerate() {
        for t in 0..WINDOW {
            reconstruction[s + t] = means[i * WINDOW + t] * sd + mean;
        }
    }
    Ok(SeriesAnalysis {
        starts: figures.starts.iter().map(|&s| s as f32).collect(),
        scores: figures.scores,
        anomalous: figures.anomalous.iter().map(|&a| a as u8).collect(),
        auc: figures.auc,
        normal_p99: figures.normal_p99,
        anomalous_median: figures.anomalous_median,
        neg_elbo: held_out.neg_elbo,
        recon: held_out.recon,
        kl: held_out.kl,
        reconstruction,
    })
}
