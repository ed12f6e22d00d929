//! What the `Aae` and `Hvae` classes share with each other: a model and its training session
//! behind an `Rc` (a promise keeps its own handle, so `free()` while a call is pending is safe),
//! the session taken out for one step at a time and put back with its new weights published.

use std::cell::RefCell;
use std::rc::Rc;

use vae_core::data::Digits;
use vae_core::session::{Session, StepReport};
use vae_core::training::{Steps, TrainConfig, Trains};
use wasm_bindgen::prelude::*;

use crate::args;
use crate::marshal::js_error;

struct State<M: Trains> {
    /// The weights inference uses, replaced after each step or load.
    model: M,
    /// `None` while a step or a test run has it, so a second concurrent one is refused.
    session: Option<Session<M>>,
}

pub(crate) struct Held<M: Trains> {
    state: RefCell<State<M>>,
}

impl<M: Trains + Clone> Held<M> {
    pub fn new(model: M, seed: u64) -> Rc<Self> {
        let session = Session::new(model, seed);
        Rc::new(Self {
            state: RefCell::new(State {
                model: session.model(),
                session: Some(session),
            }),
        })
    }

    pub fn model(&self) -> M {
        self.state.borrow().model.clone()
    }

    /// Training steps taken since creation.
    pub fn steps(&self) -> f64 {
        let state = self.state.borrow();
        state.session.as_ref().map_or(0.0, |s| s.steps() as f64)
    }

    /// Keeps the packed digits file inside the module; `seed` fixes the batch order. Returns the
    /// number of training digits.
    pub fn set_digits(&self, bytes: &[u8], seed: &JsValue) -> Result<usize, JsError> {
        let seed = args::seed("seed", seed)?;
        let digits = Digits::from_bytes(bytes).map_err(js_error)?;
        let mut state = self.state.borrow_mut();
        let session = state
            .session
            .as_mut()
            .ok_or_else(|| JsError::new("a training step is running; await it first"))?;
        session.set_digits(digits, seed).map_err(js_error)
    }

    /// The session, out of the state for one step or test run; [`Held::put`] brings it back.
    pub fn take(&self) -> Result<Session<M>, JsError> {
        self.state
            .borrow_mut()
            .session
            .take()
            .ok_or_else(|| JsError::new("a training step is already running; await it first"))
    }

    /// Puts the session back and publishes its weights to inference.
    pub fn put(&self, session: Session<M>) {
        let mut state = self.state.borrow_mut();
        state.model = session.model();
        state.session = Some(session);
    }

    /// One step of the session on its next batch; a rejected step has been rolled back.
    pub async fn step(
        &self,
        config: &TrainConfig,
    ) -> Result<StepReport<<M::Trainer as Steps>::Stats>, JsError> {
        let mut session = self.take()?;
        let result = session.step(config).await;
        self.put(session);
        result.map_err(js_error)
    }
}
