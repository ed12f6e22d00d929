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
