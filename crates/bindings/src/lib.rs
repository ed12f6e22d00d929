//! The JavaScript face of the playground: the `Vae` class (and the `Aae`, `Hvae` and `Vrae` of the
//! family) over `vae-core`. No math lives here;
//! every method checks its arguments through the core and returns `Result<_, JsError>`, so bad
//! input rejects a promise with a message instead of panicking.

mod aae;
mod args;
mod ctors;
mod data;
mod held;
mod hvae;
mod inference;
mod latent;
mod marshal;
mod model;
mod options;
mod panic;
mod pending;
mod placement;
mod training;
mod vrae;

use wasm_bindgen::prelude::*;

pub use aae::{Aae, mmd2};
pub use data::{rgba_to_mnist, test_digits, to_mnist};
pub use hvae::Hvae;
pub use inference::{percent_below, reconstruction_floor};
pub use latent::{
    JsLatentWalk, JsProjection, kl_per_dimension, latent_arithmetic, standard_normal,
};
pub use model::Vae;
#[cfg(feature = "webgpu")]
pub use panic::debug_webgpu_fault;
pub use panic::{panic_message, panicked};
pub use pending::pending_count;
pub use vrae::Vrae;

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
