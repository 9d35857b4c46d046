//! Where the engine computes: the one parser of device strings and the one place that opens a device.
//!
//! - `"cpu"`: the CPU backends (`models/*_cpu.rs`), the default.
//! - `"cuda"`, `"cuda:N"`: the candle structs on CUDA device `N` (0 for `"cuda"`), wrapped by
//!   [`crate::served_candle::CandleBackend`]. Needs a build with the `cuda` feature and a GPU.
//! - `"cpu:candle"`: the same candle path on the CPU. A testing aid: it lets a machine without a GPU run,
//!   and hold to parity, the exact code that serves on CUDA. It is slower than `"cpu"`; never serve with it.
//!
//! Anything else, a build without CUDA, or a device that is not there is a [`Error::Config`] that says
//! which, and what to do about it.

use candle_core::Device;

use crate::error::{Error, Result};

/// What a build without the `cuda` feature says when asked for CUDA.
pub const NO_CUDA_BUILD: &str = "this build has no CUDA support: install the CUDA wheel \
     (scripts/build_wheels.sh) or build with --features cuda";

/// How and where a served model computes.
#[derive(Debug, Clone)]
pub enum Placement {
    /// The CPU backends (the fast kernels).
    Cpu,
    /// The candle structs on a device: CUDA, or the CPU as a testing aid (`"cpu:candle"`).
    Candle(Device),
}

impl Placement {
    /// Parses a device string (`"cpu" | "cuda" | "cuda:N" | "cpu:candle"`) and opens the device.
    ///
    /// ```
    /// use nt_core::device::Placement;
    /// assert_eq!(Placement::parse("cpu").unwrap().name(), "cpu");
    /// assert!(Placement::parse("gpu").unwrap_err().to_string().contains("\"gpu\""));
    /// ```
    pub fn parse(device: &str) -> Result<Self> {
        match device {
            "cpu" => Ok(Self::Cpu),
            "cpu:candle" => Ok(Self::Candle(Device::Cpu)),
            "cuda" => open_cuda(0).map(Self::Candle),
            _ => match device.strip_prefix("cuda:").map(ordinal) {
                Some(Some(n)) => open_cuda(n).map(Self::Candle),
                _ => Err(Error::Config(format!(
                    "device must be \"cpu\", \"cuda\" or \"cuda:N\" (or \"cpu:candle\", a testing aid), \
                     got {device:?}"
                ))),
            },
        }
    }

    /// The placement for a candle device: the CPU backends on the CPU, the candle structs elsewhere.
    pub fn for_device(device: &Device) -> Self {
        match device {
            Device::Cpu => Self::Cpu,
            other => Self::Candle(other.clone()),
        }
    }

    /// The device string this placement parses from (`"cpu"`, `"cpu:candle"`, `"cuda:0"`).
    pub fn name(&self) -> String {
        match self {
            Self::Cpu => "cpu".into(),
            Self::Candle(Device::Cpu) => "cpu:candle".into(),
            Self::Candle(device) => match device.location() {
                candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
                other => format!("{other:?}").to_lowercase(),
            },
        }
    }
}

/// `N` of `cuda:N`: decimal digits only (no sign, no spaces).
fn ordinal(digits: &str) -> Option<usize> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether this build has CUDA and CUDA device 0 opens.
pub fn cuda_available() -> bool {
    open_cuda(0).is_ok()
}

/// Opens CUDA device `n`, or says why not: no CUDA in this build, no usable driver or GPU, no device `n`.
fn open_cuda(n: usize) -> Result<Device> {
    if !candle_core::utils::cuda_is_available() {
        return Err(Error::Config(NO_CUDA_BUILD.into()));
    }
    let count = cuda_device_count()?;
    if n >= count {
        return Err(Error::Config(format!(
            "no CUDA device {n} (\"cuda:{n}\"): this machine has {count}"
        )));
    }
    Device::new_cuda(n).map_err(|e| Error::Config(format!("cannot open CUDA device {n}: {e}")))
}

/// CUDA devices the driver sees; no driver or no GPU is a config error.
#[cfg(feature = "cuda")]
fn cuda_device_count() -> Result<usize> {
    use candle_core::cuda_backend::cudarc::driver::CudaContext;
    CudaContext::device_count()
        .map(|n| usize::try_from(n).unwrap_or(0))
        .map_err(|e| {
            Error::Config(format!(
                "no CUDA device: the CUDA driver finds no usable GPU on this machine ({e})"
            ))
        })
}

#[cfg(not(feature = "cuda"))]
fn cuda_device_count() -> Result<usize> {
    Err(Error::Config(NO_CUDA_BUILD.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_strings_parse_and_name_themselves() {
        for name in ["cpu", "cpu:candle"] {
            assert_eq!(Placement::parse(name).unwrap().name(), name);
        }
        assert!(matches!(
            Placement::for_device(&Device::Cpu),
            Placement::Cpu
        ));
    }

    #[test]
    fn anything_else_is_a_config_error_naming_it() {
        for bad in [
            "",
            "CPU",
            "gpu",
            "cuda:",
            "cuda:-1",
            "cuda:+1",
            "cuda: 1",
            "cuda:1x",
            "cuda0",
            " cpu",
            "cuda:99999999999999999999999",
        ] {
            match Placement::parse(bad) {
                Err(Error::Config(m)) => assert!(m.contains(&format!("{bad:?}")), "{m}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_build_without_it_says_what_to_install() {
        assert!(!cuda_available());
        for name in ["cuda", "cuda:0", "cuda:3"] {
            match Placement::parse(name) {
                Err(Error::Config(m)) => {
                    assert!(m.contains("no CUDA support"), "{m}");
                    assert!(m.contains("--features cuda"), "{m}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
