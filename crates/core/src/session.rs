//! One training run over the shipped digits: the trainer, the digits and their split, the
//! shuffled batches and the noise for the test figures. The native `train` binary and the browser
//! worker (through the bindings' `trainBatch`) both drive this, so a seed gives the same run in
//! both places (`tests/suite/session.rs` and the bindings' browser test compare their first losses).
//!
//! Seeds: the trainer's noise ε comes from the seed the session was made with; the batch order
//! from the seed given with the digits; the test figures' noise from that seed mixed with
//! [`EVAL_SEED_MIX`], so evaluating never changes the training run.

use crate::data::{Batches, Digits};
use crate::error::VaeError;
use crate::model::Vae;
use crate::rng::Rng;
use crate::training::{StepStats, Steps, TrainConfig, Trains, evaluate};

/// Mixed into the digits' seed for the noise of the test figures.
pub const EVAL_SEED_MIX: u64 = 0x7e57;

/// The digits a session trains on, their test split and the batch cursor.
struct SessionDigits {
    digits: Digits,
    batches: Batches,
    test: Vec<usize>,
    eval_rng: Rng,
}

/// A model in training. Steps on JavaScript's pixels ([`Session::trainer`]) need no digits; steps
/// on the shipped digits ([`Session::step`]) need [`Session::set_digits`] first.
pub struct Session<M: Trains = Vae> {
    trainer: M::Trainer,
    data: Option<SessionDigits>,
}

fn no_digits() -> VaeError {
    VaeError::InvalidInput("no training digits: call setTrainingDigits first".into())
}

/// One step of [`Session::step`]: the loss terms (measured before the update) and where the step
/// falls in the epochs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport<S = StepStats> {
    pub stats: S,
    /// Epochs finished once this step is taken.
    pub epoch: usize,
    /// Steps taken in the current epoch, this one included.
    pub step_in_epoch: usize,
    pub steps_per_epoch: usize,
    /// True when this step used the epoch's last batch.
    pub ends_epoch: bool,
}

/// Refuses a batch size outside 1 to [`crate::inference::MAX_ROWS`] before any step is taken.
pub fn check_batch_size(size: usize) -> crate::Result<()> {
    if size == 0 || size > crate::inference::MAX_ROWS {
        return Err(VaeError::InvalidInput(format!(
            "batch size must be between 1 and {}, got {size}",
            crate::inference::MAX_ROWS
        )));
    }
    Ok(())
}

impl<M: Trains> Session<M> {
    /// A session training `model` on its own device; `seed` draws the noise ε.
    pub fn new(model: M, seed: u64) -> Self {
        Self {
            trainer: M::Trainer::create(model, seed),
            data: None,
        }
    }

    /// Trains on `digits` from now on: their training split in an order shuffled from `seed`,
    /// reshuffled after each epoch. Returns the number of training digits.
    pub fn set_digits(&mut self, digits: Digits, seed: u64) -> crate::Result<usize> {
        let train = digits.train_indices();
        let count = train.len();
        self.data = Some(SessionDigits {
            batches: Batches::new(train, seed)?,
            test: digits.test_indices(),
            digits,
            eval_rng: Rng::new(seed ^ EVAL_SEED_MIX),
        });
        Ok(count)
    }

    /// The trainer, for steps on pixels that are not the session's digits.
    pub fn trainer(&mut self) -> &mut M::Trainer {
        &mut self.trainer
    }

    /// The current weights, without gradient tracking.
    pub fn model(&self) -> M {
        self.trainer.model()
    }

    /// Replaces the weights (a loaded file) and restarts the optimiser; the digits stay.
    pub fn set_model(&mut self, model: M) {
        self.trainer.set_model(model);
    }

    pub fn steps(&self) -> u64 {
        self.trainer.steps()
    }

    fn data(&mut self) -> crate::Result<&mut SessionDigits> {
        self.data.as_mut().ok_or_else(no_digits)
    }

    /// One training step on the next batch of `config.batch_size` training digits (the last batch of
    /// an epoch may be short). `config.epochs` and `config.seed` are not used here.
    pub async fn step(
        &mut self,
        config: &TrainConfig,
    ) -> crate::Result<StepReport<<M::Trainer as Steps>::Stats>> {
        let data = self.data.as_mut().ok_or_else(no_digits)?;
        let size = config.batch_size;
        check_batch_size(size)?;
        let batch = data.batches.next(size);
        let steps_per_epoch = data.batches.per_epoch(size);
        let stats = self
            .trainer
            .step_on(&data.digits, &batch.indices, config)
            .await?;
        Ok(StepReport {
            stats,
            epoch: batch.epoch,
            step_in_epoch: batch.step_in_epoch,
            steps_per_epoch,
            ends_epoch: batch.ends_epoch,
        })
    }

    /// Numbers of training and test digits (0, 0 before [`Session::set_digits`]).
    pub fn split_sizes(&self) -> (usize, usize) {
        self.data
            .as_ref()
            .map_or((0, 0), |d| (d.digits.len() - d.test.len(), d.test.len()))
    }

    /// The test digits' pixels, labels and number, with the noise source of the test figures.
    pub fn test_digits(&mut self) -> crate::Result<(Vec<f32>, Vec<u8>, usize, &mut Rng)> {
        let data = self.data()?;
        let (pixels, labels) = data.digits.batch(&data.test);
        Ok((pixels, labels, data.test.len(), &mut data.eval_rng))
    }

    /// The test digits' pixels and their number, with the noise source of the test figures.
    pub fn test_pixels(&mut self) -> crate::Result<(Vec<f32>, usize, &mut Rng)> {
        let data = self.data()?;
        let (pixels, _) = data.digits.batch(&data.test);
        Ok((pixels, data.test.len(), &mut data.eval_rng))
    }
}

impl Session<Vae> {
    /// The test split's figures under `likelihood` (β = 1): −ELBO from one z drawn from q(z|x) per
    /// digit, and the z = μ score.
    pub async fn evaluate(
        &mut self,
        likelihood: crate::loss::Likelihood,
    ) -> crate::Result<crate::training::TestScores> {
        let model = self.model();
        let data = self.data()?;
        evaluate(
            &model,
            &data.digits,
            &data.test,
            likelihood,
            &mut data.eval_rng,
        )
        .await
    }
}
