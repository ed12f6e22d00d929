//! The one error type of the core crate. Every message is written for the person using the page:
//! it says what was wrong and, where it helps, what was expected.

use std::fmt;

/// Why a core operation refused its input or could not finish.
#[derive(Debug, Clone, PartialEq)]
pub enum VaeError {
    /// Caller-supplied numbers had the wrong length, were empty, or were not finite.
    InvalidInput(String),
    /// A weight file could not be read or does not fit the model.
    Weights(String),
    /// Training produced a loss that is not a finite number; the weights were rolled back.
    Diverged(String),
    /// The backend failed while running or reading a tensor.
    Backend(String),
    /// A data file is malformed.
    Data(String),
}

impl fmt::Display for VaeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VaeError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            VaeError::Weights(m) => write!(f, "cannot load weights: {m}"),
            VaeError::Diverged(m) => write!(f, "training diverged: {m}"),
            VaeError::Backend(m) => write!(f, "backend error: {m}"),
            VaeError::Data(m) => write!(f, "bad data file: {m}"),
        }
    }
}

impl std::error::Error for VaeError {}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, VaeError>;
