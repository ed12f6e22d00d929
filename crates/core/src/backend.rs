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

/// A copy of `model` (on the CPU) on the WebGPU device, once it agrees with the CPU: for the VAE
/// first one encode/decode of four digits within [`SELF_CHECK_TOLERANCE`]; for every kind one
/// training step (losses and updated weights, from the same weights, batch and noise) within
/// [`crate::self_check::STEP_CHECK_TOLERANCE`]. The error says why WebGPU is not used.
#[cfg(feature = "wgpu")]
pub async fn on_webgpu<M: OnWebGpu>(model: &M) -> crate::Result<M> {
    let device = webgpu_device().await?;
    let gpu = model.clone().to_device(&device);
    if let Some(why) = gpu.forward_check(model).await? {
        return Err(crate::VaeError::Backend(why));
    }
    match crate::self_check::step_check(&gpu, model).await? {
        Some(why) => Err(crate::VaeError::Backend(why)),
        None => Ok(gpu),
    }
}

/// A model kind that can be moved to WebGPU: its training step can be checked there, and it may
/// add a check of its inference.
#[allow(async_fn_in_trait)]
pub trait OnWebGpu: crate::self_check::SelfCheck {
    /// Why `self`'s inference disagrees with `reference`'s (the same weights on the CPU), if it
    /// does. Only the VAE has its own; the training step covers the other kinds' forward pass.
    async fn forward_check(&self, _reference: &Self) -> crate::Result<Option<String>> {
        Ok(None)
    }
}

impl OnWebGpu for crate::Vae {
    async fn forward_check(&self, reference: &Self) -> crate::Result<Option<String>> {
        let off = crate::inference::disagreement(self, reference, 4).await?;
        Ok((off > SELF_CHECK_TOLERANCE).then(|| {
            format!("WebGPU's self-check disagreed with the CPU (relative difference {off:.1e})")
        }))
    }
}

impl OnWebGpu for crate::aae::Aae {}
impl OnWebGpu for crate::hvae::Hvae {}
impl OnWebGpu for crate::vrae::Vrae {}
