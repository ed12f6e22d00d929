//! Where a model runs: the CPU, or WebGPU once the model's self-check there agrees with the CPU.
//! Every class (`Vae`, `Aae`, `Hvae`, `Vrae`) places its model the same way.

use vae_core::backend::OnWebGpu;
use wasm_bindgen::prelude::*;

use crate::options::BackendChoice;

/// The backend a model runs on, and for "auto" why it stayed on the CPU, if it did.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// "webgpu" or "cpu".
    pub backend: &'static str,
    pub fallback: Option<String>,
}

/// Moves a CPU model to the backend `choice` asks for.
pub(crate) async fn place<M: OnWebGpu>(
    model: M,
    choice: BackendChoice,
) -> Result<(M, Placement), JsError> {
    let cpu = |fallback| Placement {
        backend: "cpu",
        fallback,
    };
    if choice == BackendChoice::Cpu {
        return Ok((model, cpu(None)));
    }
    match to_webgpu(&model).await {
        Ok(gpu) => Ok((
            gpu,
            Placement {
                backend: "webgpu",
                fallback: None,
            },
        )),
        Err(reason) if choice == BackendChoice::Auto => Ok((model, cpu(Some(reason)))),
        Err(reason) => Err(JsError::new(&format!("WebGPU is not available: {reason}"))),
    }
}

/// The model on the WebGPU device, after its self-check against the CPU copy.
#[cfg(feature = "webgpu")]
async fn to_webgpu<M: OnWebGpu>(model: &M) -> Result<M, String> {
    crate::ctors::run_once(); // burn's WebGPU runtime registers its kernels in static constructors
    vae_core::backend::on_webgpu(model)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "webgpu"))]
async fn to_webgpu<M: OnWebGpu>(_model: &M) -> Result<M, String> {
    Err("this build of the module has no WebGPU backend (load the WebGPU build)".into())
}
