//! The VAE playground's core: model, loss, training step, inference, weights I/O and data.
//! Generic Rust over burn; the backend is chosen at run time by the `Device` a caller passes.

pub mod aae;
pub mod aae_training;
pub mod backend;
pub mod bounds;
pub mod data;
pub mod error;
pub mod hvae;
pub mod inference;
pub mod latent;
pub mod loss;
pub mod model;
pub mod preprocess;
pub mod rng;
pub mod self_check;
pub mod series;
pub mod session;
pub mod training;
pub mod vrae;
pub mod vrae_training;
pub mod walk;
pub mod weights;

pub use error::{Result, VaeError};
pub use model::{ModelKind, Vae, VaeConfig};
