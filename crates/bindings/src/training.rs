//! Training a `Vae` in the tab: the core's session (digits kept inside the module, batches, epochs,
//! test figures) and single steps on pixels from JavaScript.

use js_sys::Promise;
use serde::Serialize;
use tsify::Tsify;
use vae_core::data::Digits;
use vae_core::inference::MAX_ROWS;
use vae_core::session::{Session, StepReport};
use vae_core::training::StepStats;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{js_error, to_js};
use crate::model::Vae;
use crate::options::StepOptions;
use crate::pending::settle;

/// One step's per-digit batch means in nats, measured before the update.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null)] // as `to_js` serialises `None`
pub struct StepResult {
    /// reconstruction + β·KL: what the step minimised.
    pub loss: f32,
    /// −log p(x|z) at the drawn z.
    pub recon: f32,
    /// KL(q(z|x) ‖ N(0, I)), closed form (0 for the plain autoencoder).
    pub kl: f32,
    /// The Gaussian likelihood's σ_x after the step; null for the Bernoulli likelihood.
    pub sigma_x: Option<f32>,
}

impl From<&StepStats> for StepResult {
    fn from(stats: &StepStats) -> Self {
        Self {
            loss: stats.loss,
            recon: stats.recon,
            kl: stats.kl,
            sigma_x: stats.sigma_x,
        }
    }
}

/// One step of the session: its figures and where it stands in the epoch.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct BatchResult {
    #[serde(flatten)]
    pub step: StepResult,
    /// Epochs finished once this step is taken.
    pub epoch: u32,
    /// Steps taken in the current epoch, this one included.
    pub step_in_epoch: u32,
    pub steps_per_epoch: u32,
    /// Whether this step finished an epoch.
    pub ends_epoch: bool,
}

impl From<&StepReport> for BatchResult {
    fn from(report: &StepReport) -> Self {
        Self {
            step: (&report.stats).into(),
            epoch: report.epoch as u32,
            step_in_epoch: report.step_in_epoch as u32,
            steps_per_epoch: report.steps_per_epoch as u32,
            ends_epoch: report.ends_epoch,
        }
    }
}

/// The test split's figures, means per digit in nats (β = 1).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct TestScores {
    /// −ELBO estimated with one z drawn from q(z|x) per digit.
    pub neg_elbo: f64,
    /// −log p(x|z = μ) + KL: deterministic, not an ELBO (the autoencoder's reconstruction error).
    pub score_at_mean: f64,
}

#[wasm_bindgen]
impl Vae {
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

    /// One Adam step on `n` digits. `options`: `{ lr = 1e-3, beta = 1, labels?, likelihood? }`.
    /// Resolves to the per-digit means `{ loss, recon, kl, sigmaX }` in nats, measured before the
    /// update. A loss that is not finite or explodes, or an update that makes a weight non-finite,
    /// rejects the promise and rolls the weights back to the last step whose loss was sound.
    #[wasm_bindgen(js_name = trainStep, unchecked_return_type = "Promise<StepResult>")]
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
    /// `{ loss, recon, kl, sigmaX, epoch, stepInEpoch, stepsPerEpoch, endsEpoch }` (per-digit means
    /// in nats, measured before the update; `epoch` counts finished epochs). Divergence rejects
    /// the promise and rolls the weights back, as for `trainStep`.
    #[wasm_bindgen(js_name = trainBatch, unchecked_return_type = "Promise<BatchResult>")]
    pub fn train_batch_js(
        &self,
        #[wasm_bindgen(unchecked_param_type = "TrainStepOptions | undefined")] options: JsValue,
    ) -> Promise {
        let this = self.handle();
        settle(async move { this.train_batch(options).await })
    }

    /// The test split's figures per digit (β = 1), `{ negElbo, scoreAtMean }`: −ELBO from one z
    /// drawn from q(z|x), and −log p(x|z = μ) + KL.
    #[wasm_bindgen(js_name = testScores, unchecked_return_type = "Promise<TestScores>")]
    pub fn test_scores_js(&self) -> Promise {
        let this = self.handle();
        settle(async move { this.test_scores().await })
    }
}

impl Vae {
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
        let options = StepOptions::parse(options, self.shared.likelihood)?;
        let mut session = self.take_session()?;
        let result = session
            .trainer()
            .step(&pixels, n, options.labels.as_deref(), options.config())
            .await;
        self.finish_session(session, result.as_ref().ok());
        to_js(&StepResult::from(&result.map_err(js_error)?))
    }

    /// One Adam step on the next batch of the training digits (see `setTrainingDigits`).
    /// `options`: `{ lr = 1e-3, beta = 1, batchSize = 128, likelihood? }`. Resolves to
    /// `{ loss, recon, kl, epoch, stepInEpoch, stepsPerEpoch, endsEpoch }` (per-digit means in nats,
    /// measured before the update; `epoch` counts finished epochs). A non-finite loss rejects the
    /// promise and rolls the weights back to the last good step.
    pub async fn train_batch(&self, options: JsValue) -> Result<JsValue, JsError> {
        let options = StepOptions::parse(options, self.shared.likelihood)?;
        let mut session = self.take_session()?;
        let result = session.step(options.config()).await;
        self.finish_session(session, result.as_ref().ok().map(|r| &r.stats));
        to_js(&BatchResult::from(&result.map_err(js_error)?))
    }

    /// See `testScores` above.
    pub async fn test_scores(&self) -> Result<JsValue, JsError> {
        let mut session = self.take_session()?;
        let result = session.evaluate(self.shared.likelihood).await;
        self.finish_session(session, None);
        let scores = result.map_err(js_error)?;
        to_js(&TestScores {
            neg_elbo: scores.neg_elbo,
            score_at_mean: scores.score_at_mean,
        })
    }
}
