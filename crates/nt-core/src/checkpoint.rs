//! The neural_trader checkpoint: one safetensors file holding every tensor (float32, contiguous) and, in
//! its metadata, `format = "neural_trader"`, `format_version = "1"`, `model = <registry name>` and
//! `config = <JSON>`. The PyTorch twin writes and reads the same file.
//!
//! Loading validates the file against the parameters the model asks for (found by building the model
//! once on a recording backend), so a missing, extra or misshapen tensor is a [`Error::Checkpoint`] that
//! names it, before any model code runs.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::de::DeserializeOwned;

use crate::error::{fmt_shape, Error, Result};

/// Value of the `format` metadata key.
pub const FORMAT: &str = "neural_trader";
/// Value of the `format_version` metadata key understood by this build.
pub const FORMAT_VERSION: &str = "1";

/// A parsed checkpoint: the model's registry name, its JSON config and its tensors.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// Registry name of the model (`"bilstm_classifier"`, ...).
    pub model: String,
    /// The model config as JSON text.
    pub config: String,
    /// Every other metadata entry (scalers, training notes), kept as written.
    pub extra: BTreeMap<String, String>,
    /// Tensors by parameter name, float32 on the CPU.
    pub tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Parses a checkpoint from the bytes of a safetensors file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Checkpoint(format!("not a valid safetensors file: {e}")))?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::Checkpoint(format!("not a valid safetensors file: {e}")))?;
        let mut meta: BTreeMap<String, String> = header
            .metadata()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut take = |key: &str| {
            meta.remove(key).ok_or_else(|| {
                Error::Checkpoint(format!(
                    "metadata key `{key}` is missing: this safetensors file was not written by neural_trader"
                ))
            })
        };
        let format = take("format")?;
        if format != FORMAT {
            return Err(Error::Checkpoint(format!(
                "metadata `format` is {format:?}, expected {FORMAT:?}"
            )));
        }
        let version = take("format_version")?;
        if version != FORMAT_VERSION {
            return Err(Error::Checkpoint(format!(
                "format_version {version:?} is not supported (this build reads {FORMAT_VERSION:?})"
            )));
        }
        let model = take("model")?;
        let config = take("config")?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let tensor = tensor_from_view(&name, &view)?;
            tensors.insert(name, tensor);
        }
        Ok(Self {
            model,
            config,
            extra: meta,
            tensors,
        })
    }

    /// Reads and parses a checkpoint file. Only a regular file is read, and no more than its size: a
    /// directory, a FIFO (whose open would block forever) or a device such as `/dev/zero` (which never
    /// ends) is a checkpoint error.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_regular_file(path)?;
        Self::from_bytes(&bytes)
            .map_err(|e| Error::Checkpoint(format!("{}: {}", path.display(), strip_prefix(&e))))
    }

    /// Deserialises the JSON config into the model's config struct; a bad field is a config error.
    pub fn parse_config<C: DeserializeOwned>(&self) -> Result<C> {
        serde_json::from_str(&self.config).map_err(|e| {
            Error::Checkpoint(format!(
                "config of model `{}` is not valid: {e}",
                self.model
            ))
        })
    }

    /// A `VarBuilder` over the tensors, after checking them against the parameters that `build`
    /// requests: every missing, misshapen or unexpected tensor is reported by name in one error.
    pub fn var_builder<M>(
        &self,
        build: impl FnOnce(VarBuilder<'static>) -> Result<M>,
    ) -> Result<VarBuilder<'static>> {
        self.check_against(build)?;
        Ok(VarBuilder::from_tensors(
            self.tensors.clone(),
            DType::F32,
            &Device::Cpu,
        ))
    }

    /// Checks the tensors against the parameters that `build` requests (on a recording backend that
    /// allocates nothing): every missing, misshapen or unexpected tensor is reported by name in one
    /// error, and a config asking for far more parameters than the file holds stops early.
    pub fn check_against<M>(
        &self,
        build: impl FnOnce(VarBuilder<'static>) -> Result<M>,
    ) -> Result<()> {
        let spec = param_spec_within(load_budget(self.num_elements()), build)?;
        check_tensors(&spec, &self.tensors)
    }

    /// The row-major values of tensor `name`, which must have shape `dims`.
    pub fn values(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>> {
        tensor_values(&self.tensors, name, dims)
    }

    /// Total number of scalars in all tensors.
    pub fn num_elements(&self) -> usize {
        self.tensors.values().map(|t| t.elem_count()).sum()
    }

    /// Serialises to safetensors bytes with the neural_trader metadata.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut meta: HashMap<String, String> = self.extra.clone().into_iter().collect();
        meta.insert("format".into(), FORMAT.into());
        meta.insert("format_version".into(), FORMAT_VERSION.into());
        meta.insert("model".into(), self.model.clone());
        meta.insert("config".into(), self.config.clone());
        let mut data = Vec::with_capacity(self.tensors.len());
        for (name, t) in &self.tensors {
            let t = t.to_dtype(DType::F32)?.flatten_all()?;
            let values = t.to_vec1::<f32>()?;
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let shape = self.tensors[name].dims().to_vec();
            data.push((name.clone(), shape, bytes));
        }
        let views = data
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::Checkpoint(format!("tensor `{name}`: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::tensor::serialize(views, Some(meta))
            .map_err(|e| Error::Checkpoint(format!("cannot serialise: {e}")))
    }

    /// Writes the file atomically: a temporary file beside it, fsync, rename. A crash mid-save leaves
    /// the previous file intact.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes()?)
    }
}

/// Reads the whole of a regular file, refusing anything else before opening it (see
/// [`Checkpoint::read`]). The size is checked again on the open file, so a file swapped for a device
/// between the two checks is refused too; reading stops at the size seen then.
fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let not_regular = || {
        Error::Checkpoint(format!(
            "{} is not a regular file (a directory, FIFO or device is never a checkpoint)",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    let len = usize::try_from(meta.len())
        .map_err(|_| Error::Checkpoint(format!("{} is too large to read", path.display())))?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| {
        Error::Checkpoint(format!(
            "{}: cannot allocate {len} bytes to read it",
            path.display()
        ))
    })?;
    file.take(meta.len())
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Distinguishes the temporary files of concurrent saves within one process.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` through a temporary file in the same directory, fsync and rename. Each save
/// creates its own temporary file (process id and a counter, created exclusively), so concurrent saves
/// to one path, from threads or processes, never write into the same temporary file: the result is one
/// of the complete files.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Checkpoint(format!("{} is not a file path", path.display())))?;
    // The rename would replace a device, FIFO or directory entry (as root: `/dev/full` itself).
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            return Err(Error::Checkpoint(format!(
                "refusing to replace {}: it exists and is not a regular file",
                path.display()
            )));
        }
    }
    let (tmp, mut file) =
        create_temporary(&dir, &name.to_string_lossy()).map_err(|e| Error::io(path, e))?;
    let result = (|| {
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // Persist the rename itself; not every platform can open a directory, so this is best effort.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e: std::io::Error| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Creates `.{name}.tmp-{pid}-{n}` in `dir` with `create_new` (`O_EXCL`), trying the next `n` if a file
/// of that name is left over from a killed process whose id was reused.
fn create_temporary(
    dir: &Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let mut attempts = 0;
    loop {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempts < 64 => {
                attempts += 1
            }
            Err(e) => return Err(e),
        }
    }
}

fn strip_prefix(e: &Error) -> String {
    match e {
        Error::Checkpoint(m) => m.clone(),
        other => other.to_string(),
    }
}

fn tensor_from_view(name: &str, view: &TensorView<'_>) -> Result<Tensor> {
    if view.dtype() != Dtype::F32 {
        return Err(Error::Checkpoint(format!(
            "tensor `{name}` has dtype {:?}, expected F32",
            view.dtype()
        )));
    }
    let values: Vec<f32> = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Tensor::from_vec(values, view.shape(), &Device::Cpu)?)
}

/// The row-major values of `tensors[name]`, which must have shape `dims`: how the CPU backends read
/// their weights by name.
pub fn tensor_values(
    tensors: &HashMap<String, Tensor>,
    name: &str,
    dims: &[usize],
) -> Result<Vec<f32>> {
    let t = tensors.get(name).ok_or_else(|| {
        Error::Checkpoint(format!(
            "missing tensor `{name}` (expected shape {})",
            fmt_shape(dims)
        ))
    })?;
    if t.dims() != dims {
        return Err(Error::Checkpoint(format!(
            "tensor `{name}` has shape {}, expected {}",
            fmt_shape(t.dims()),
            fmt_shape(dims)
        )));
    }
    Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}

/// Parameter names and shapes a model requests, in request order.
pub type ParamSpec = Vec<(String, Vec<usize>)>;

/// Builds a model once on a backend that records every parameter request and hands out zeros.
pub fn param_spec<M>(build: impl FnOnce(VarBuilder<'static>) -> Result<M>) -> Result<ParamSpec> {
    param_spec_within(usize::MAX, build)
}

/// Like [`param_spec`], but stops with a checkpoint error as soon as the model asks for more than
/// `budget` parameters in all: a config read from a file cannot make the loader allocate more than the
/// file itself holds.
pub fn param_spec_within<M>(
    budget: usize,
    build: impl FnOnce(VarBuilder<'static>) -> Result<M>,
) -> Result<ParamSpec> {
    let recorder = Recorder {
        budget,
        ..Recorder::default()
    };
    let vb = VarBuilder::from_backend(Box::new(recorder.clone()), DType::F32, Device::Cpu);
    let built = build(vb);
    let state = recorder
        .state
        .lock()
        .map_err(|_| Error::Checkpoint("parameter recorder poisoned".into()))?;
    if state.exceeded {
        return Err(Error::Checkpoint(format!(
            "the config asks for more than {budget} parameters, far more than the file holds"
        )));
    }
    built?;
    Ok(state.seen.clone())
}

/// How many parameters a model built from a file holding `held` scalars may ask for before loading
/// stops: enough slack that a file missing a few tensors still gets a list of them by name, bounded so
/// that a hostile config cannot make the loader allocate much more than the file's own size.
pub fn load_budget(held: usize) -> usize {
    held.saturating_mul(2).saturating_add(1 << 20)
}

/// Compares tensors against a spec; one error lists every problem.
pub fn check_tensors(spec: &ParamSpec, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let mut problems = Vec::new();
    for (name, shape) in spec {
        match tensors.get(name) {
            None => problems.push(format!(
                "missing tensor `{name}` (expected shape {})",
                fmt_shape(shape)
            )),
            Some(t) if t.dims() != shape.as_slice() => problems.push(format!(
                "tensor `{name}` has shape {}, expected {}",
                fmt_shape(t.dims()),
                fmt_shape(shape)
            )),
            Some(_) => {}
        }
    }
    let mut extra: Vec<&String> = tensors
        .keys()
        .filter(|k| !spec.iter().any(|(n, _)| n == *k))
        .collect();
    extra.sort();
    for name in extra {
        problems.push(format!("unexpected tensor `{name}`"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Checkpoint(problems.join("; ")))
    }
}

/// Records parameter requests; shared so `param_spec` can read what the model asked for.
#[derive(Default, Clone)]
struct Recorder {
    budget: usize,
    state: std::sync::Arc<Mutex<RecorderState>>,
}

#[derive(Default)]
struct RecorderState {
    seen: ParamSpec,
    requested: usize,
    exceeded: bool,
}

impl SimpleBackend for Recorder {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| candle_core::Error::Msg("parameter recorder poisoned".into()))?;
        let count = s.dims().iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        state.requested = count
            .and_then(|c| c.checked_add(state.requested))
            .unwrap_or(usize::MAX);
        if state.requested > self.budget {
            state.exceeded = true;
            return Err(candle_core::Error::Msg(format!(
                "parameter `{name}` exceeds the file's size"
            )));
        }
        if !state.seen.iter().any(|(n, _)| n == name) {
            state.seen.push((name.to_string(), s.dims().to_vec()));
        }
        // A broadcast scalar: no memory of the parameter's size is allocated.
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        Err(candle_core::Error::CannotFindTensor { path: name.into() })
    }

    fn contains_tensor(&self, _: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("nt-core-ck-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn read_refuses_what_is_not_a_regular_file() {
        let dir = scratch("read");
        for path in [dir.as_path(), Path::new("/dev/zero")] {
            if !path.exists() {
                continue;
            }
            let err = Checkpoint::read(path).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        assert!(matches!(
            Checkpoint::read(dir.join("missing")),
            Err(Error::Io { .. })
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn write_refuses_to_replace_a_directory() {
        let dir = scratch("dir");
        let target = dir.join("model.safetensors");
        std::fs::create_dir(&target).unwrap();
        let err = write_atomic(&target, b"data").unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        assert!(target.is_dir());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn concurrent_saves_to_one_path_leave_one_complete_file() {
        let dir = scratch("concurrent");
        let target = dir.join("model.safetensors");
        let payloads: Vec<Vec<u8>> = (0..8u8).map(|k| vec![k; 1 << 16]).collect();
        for _ in 0..20 {
            std::thread::scope(|s| {
                for p in &payloads {
                    let target = &target;
                    s.spawn(move || write_atomic(target, p).unwrap());
                }
            });
            let got = std::fs::read(&target).unwrap();
            assert!(payloads.contains(&got), "a mix of saves");
            let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert_eq!(names.len(), 1, "temporary files left behind");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
