//! Training a `Vae` in the tab: the core's session (digits kept inside the module, batches, epochs,
//! test figures) and single steps on pixels from JavaScript.

use js_sys::{Object, Promise};
use vae_core::data::Digits;
use vae_core::inference::MAX_ROWS;
use vae_core::session::Session;
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::{js_error, set, stats_object};
use crate::model::Vae;
use crate::options::StepOptions;
use crate::pending::settle;

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
