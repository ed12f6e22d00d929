//! Which CPU backend a build uses. Both burn-flex (the default, burn's pure-Rust CPU backend)
//! and the deprecated burn-ndarray can be compiled in, so a benchmark can compare them.

use burn::prelude::Device;

/// The CPU backends this build holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuBackend {
    Flex,
    NdArray,
}

impl CpuBackend {
    /// Every CPU backend compiled into this build, the preferred one first.
    pub fn available() -> Vec<CpuBackend> {
        [
            (cfg!(feature = "flex"), CpuBackend::Flex),
            (cfg!(feature = "ndarray"), CpuBackend::NdArray),
        ]
        .into_iter()
        .filter_map(|(enabled, backend)| enabled.then_some(backend))
        .collect()
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "flex" => Some(CpuBackend::Flex),
            "ndarray" => Some(CpuBackend::NdArray),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CpuBackend::Flex => "flex",
            CpuBackend::NdArray => "ndarray",
        }
    }

    /// The device, or `None` when this build does not contain the backend.
    pub fn device(self) -> Option<Device> {
        match self {
            #[cfg(feature = "flex")]
            CpuBackend::Flex => Some(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            CpuBackend::NdArray => Some(Device::ndarray()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// The default CPU device of this build.
pub fn cpu_device() -> Device {
    CpuBackend::available()
        .first()
        .and_then(|b| b.device())
        .expect("vae-core needs the `flex` or `ndarray` feature")
}

/// The WebGPU (wgpu) device, started once per thread and then shared: burn's wgpu runtime can be
/// initialised only once. In the browser this asks `navigator.gpu` for an adapter and a device,
/// which is why it is async (a synchronous start panics on wasm).
#[cfg(feature = "wgpu")]
pub async fn webgpu_device() -> crate::Result<Device> {
    thread_local! {
        static DEVICE: std::cell::RefCell<Option<Device>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(device) = DEVICE.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .init_async()
        .await
        .map_err(|e| crate::VaeError::Backend(format!("WebGPU could not start: {e}")))?;
    DEVICE.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// Whether this build holds the WebGPU backend.
pub const HAS_WEBGPU: bool = cfg!(feature = "wgpu");

/// Largest relative difference the WebGPU self-check accepts against the CPU: a broken driver is
/// off by far more, a working one agrees to ~1e-6.
pub const SELF_CHECK_TOLERANCE: f32 = 1e-3;

/// A copy of `model` (on the CPU) on the WebGPU device, once it agrees with the CPU: one
/// encode/decode of four digits within [`SELF_CHECK_TOLERANCE`], and one training step (loss and
/// updated weights, from the same weights, batch and noise) within
/// [`crate::training::STEP_CHECK_TOLERANCE`]. The error says why WebGPU is not used.
#[cfg(feature = "wgpu")]
pub async fn on_webgpu(model: &crate::Vae) -> crate::Result<crate::Vae> {
    use burn::module::Module;
    let device = webgpu_device().await?;
    let gpu = model.clone().to_device(&device);
    let off = crate::inference::disagreement(&gpu, model, 4).await?;
    if off > SELF_CHECK_TOLERANCE {
        return Err(crate::VaeError::Backend(format!(
            "WebGPU's self-check disagreed with the CPU (relative difference {off:.1e})"
        )));
    }
    let off = crate::training::step_disagreement(&gpu, model).await?;
    if off > crate::training::STEP_CHECK_TOLERANCE {
        return Err(crate::VaeError::Backend(format!(
            "WebGPU's training self-check disagreed with the CPU (one step's loss or update off by {off:.1e})"
        )));
    }
    Ok(gpu)
}
