//! Weights as safetensors, with the names and layout of pytorch/examples `vae/main.py`:
//! `fc1.weight [hidden, 784]`, `fc1.bias [hidden]`, `fc21.*` (μ head), `fc22.*` (log σ² head),
//! `fc3.*`, `fc4.*`, PyTorch's `[out, in]` layout. A conditional model's `fc1` has 794 input
//! columns (784 pixels, then the one-hot label) and its `fc3` has `latent + 10` (z, then the
//! label). The plain autoencoder has no `fc22`.
//!
//! Reading checks the whole file (header, names, shapes, dtypes, offsets, finite values) before
//! any model is built, so a failed load leaves the caller's model as it was; and it checks the
//! header completely before decoding any tensor, so a hostile file costs no more memory than its
//! own size and a model of a valid size.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use half::{bf16, f16};
use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::error::{Result, VaeError};
use crate::inference::read;
use crate::inference::read1;
use crate::loss::DEFAULT_SIGMA_X;
use crate::model::{CLASSES, ModelKind, PIXELS, Vae, VaeConfig, log_sigma_param};

/// The tensor that holds a Gaussian model's ln σ_x.
pub const LOG_SIGMA_X: &str = "log_sigma_x";
/// ln σ_x a file may hold: σ_x from 1e-4 to 10 (a learned σ_x stays far inside; beyond these a
/// file is damaged or not ours).
const LOG_SIGMA_X_BOUNDS: (f32, f32) = (-4.0 * std::f32::consts::LN_10, std::f32::consts::LN_10);

/// The largest header accepted. Ours is under 1 KiB; the cap stops a hostile length field from
/// asking for gigabytes.
pub const MAX_HEADER: usize = 64 * 1024;

/// Element types the loader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
}

impl Dtype {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "F32" => Some(Dtype::F32),
            "F16" => Some(Dtype::F16),
            "BF16" => Some(Dtype::BF16),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
        }
    }

    fn size(self) -> usize {
        if self == Dtype::F32 { 4 } else { 2 }
    }

    fn decode(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        }
    }

    fn encode(self, values: &[f32], out: &mut Vec<u8>) {
        for &v in values {
            match self {
                Dtype::F32 => out.extend_from_slice(&v.to_le_bytes()),
                Dtype::F16 => out.extend_from_slice(&f16::from_f32(v).to_le_bytes()),
                Dtype::BF16 => out.extend_from_slice(&bf16::from_f32(v).to_le_bytes()),
            }
        }
    }
}

/// One named tensor of a weight file, decoded to `f32`, in PyTorch layout.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// A checked weight file: the architecture it describes and its tensors.
#[derive(Debug, Clone)]
pub struct WeightFile {
    pub config: VaeConfig,
    pub tensors: BTreeMap<String, NamedTensor>,
    /// The file's `__metadata__` strings (ours records the model kind and the likelihood).
    pub metadata: BTreeMap<String, String>,
}

pub(crate) fn bad(message: impl Into<String>) -> VaeError {
    VaeError::Weights(message.into())
}

/// One tensor's header entry, checked for internal consistency but not yet decoded.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    /// Byte range in the data section.
    begin: usize,
    end: usize,
}

/// The header's top-level entries in file order. serde_json's map would keep only the last of two
/// entries with the same name; a weight file that names a tensor twice is refused instead.
struct HeaderEntries(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for HeaderEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = HeaderEntries;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object with one entry per tensor")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<HeaderEntries, A::Error> {
                let mut entries: Vec<(String, Value)> = Vec::new();
                let mut seen = BTreeSet::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if !seen.insert(name.clone()) {
                        return Err(A::Error::custom(format!("{name} appears twice")));
                    }
                    entries.push((name, value));
                }
                Ok(HeaderEntries(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// Parses and checks a safetensors file; infers the architecture from the shapes.
///
/// Everything is checked before any tensor is decoded: the header, every entry's dtype, shape and
/// offsets (64-bit numbers that must fit this machine's sizes, never truncated), the names and
/// shapes against the architecture they imply, and that the tensors tile the data section exactly
/// (no overlap, no gap, no byte left over). Decoding can then allocate at most what a model of a
/// valid size needs.
pub fn read_safetensors(bytes: &[u8]) -> Result<WeightFile> {
    let (config, tensors, metadata) = read_checked(bytes, infer_config)?;
    Ok(WeightFile {
        config,
        tensors,
        metadata,
    })
}

/// A file's tensors by name, decoded to `f32`.
pub type Tensors = BTreeMap<String, NamedTensor>;

/// Reads a safetensors file whose names and shapes `architecture` accepts (it returns the
/// architecture they describe, or why they describe none), checking everything as
/// [`read_safetensors`] does before any tensor is decoded.
pub fn read_checked<C>(
    bytes: &[u8],
    architecture: impl FnOnce(&BTreeMap<&str, &[usize]>) -> Result<C>,
) -> Result<(C, Tensors, BTreeMap<String, String>)> {
    if bytes.len() < 8 {
        return Err(bad(format!(
            "the file is {} bytes, too short for a safetensors header",
            bytes.len()
        )));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header_len > MAX_HEADER as u64 {
        return Err(bad(format!(
            "the header claims {header_len} bytes; at most {MAX_HEADER} are accepted (is this a safetensors file?)"
        )));
    }
    let header_end = 8 + header_len as usize; // ≤ 8 + MAX_HEADER: no overflow
    if bytes.len() < header_end {
        return Err(bad(format!(
            "the file is truncated: the header needs {header_len} bytes but only {} follow",
            bytes.len() - 8
        )));
    }
    let HeaderEntries(header) = serde_json::from_slice(&bytes[8..header_end]).map_err(|e| {
        if e.is_data() {
            bad(format!("the header is not a safetensors header: {e}"))
        } else {
            bad(format!("the header is not valid JSON: {e}"))
        }
    })?;
    let data = &bytes[header_end..];

    let mut entries = Vec::new();
    let mut metadata = BTreeMap::new();
    for (name, entry) in &header {
        if name == "__metadata__" {
            if let Some(map) = entry.as_object() {
                for (k, v) in map {
                    metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
                }
            }
            continue;
        }
        entries.push(read_entry(name, entry)?);
    }
    let shapes: BTreeMap<&str, &[usize]> = entries
        .iter()
        .map(|e| (e.name.as_str(), e.shape.as_slice()))
        .collect();
    let config = architecture(&shapes)?;
    check_coverage(&mut entries, data.len())?;

    let mut tensors = BTreeMap::new();
    for entry in entries {
        let values = entry.dtype.decode(&data[entry.begin..entry.end]);
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "{}: element {i} is {} (weights must be finite)",
                entry.name, values[i]
            )));
        }
        if entry.name == LOG_SIGMA_X
            && !(LOG_SIGMA_X_BOUNDS.0..=LOG_SIGMA_X_BOUNDS.1).contains(&values[0])
        {
            return Err(bad(format!(
                "{LOG_SIGMA_X} is {}: σ_x = {} is not a pixel noise scale (it must be between {:.0e} and {})",
                values[0],
                values[0].exp(),
                LOG_SIGMA_X_BOUNDS.0.exp(),
                LOG_SIGMA_X_BOUNDS.1.exp().round()
            )));
        }
        tensors.insert(
            entry.name,
            NamedTensor {
                shape: entry.shape,
                values,
            },
        );
    }
    Ok((config, tensors, metadata))
}

/// A size from the header as this machine's `usize`, refusing what does not fit (on wasm32 a
/// 64-bit offset would otherwise wrap to a small, plausible one).
fn size(name: &str, what: &str, value: &Value) -> Result<usize> {
    let n = value.as_u64().ok_or_else(|| {
        bad(format!(
            "{name}: each {what} must be a whole number ≥ 0, got {value}"
        ))
    })?;
    usize::try_from(n).map_err(|_| bad(format!("{name}: the {what} {n} is too large")))
}

/// Reads one tensor's dtype, shape and byte range, and checks they agree with each other.
fn read_entry(name: &str, entry: &Value) -> Result<Entry> {
    let dtype_name = entry
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{name}: no dtype")))?;
    let dtype = Dtype::parse(dtype_name).ok_or_else(|| {
        bad(format!(
            "{name} has dtype {dtype_name}; only F32, F16 and BF16 are accepted"
        ))
    })?;
    let shape = entry
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("{name}: shape is missing or not a list of sizes")))?
        .iter()
        .map(|d| size(name, "shape size", d))
        .collect::<Result<Vec<usize>>>()?;
    let offsets = entry
        .get("data_offsets")
        .and_then(Value::as_array)
        .filter(|o| o.len() == 2)
        .ok_or_else(|| bad(format!("{name}: data_offsets must be [begin, end]")))?;
    let begin = size(name, "data offset", &offsets[0])?;
    let end = size(name, "data offset", &offsets[1])?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let expected = count.and_then(|c| c.checked_mul(dtype.size()));
    if begin > end || Some(end - begin) != expected {
        return Err(bad(format!(
            "{name}: offsets [{begin}, {end}] do not hold a {dtype_name} tensor of shape {shape:?}"
        )));
    }
    Ok(Entry {
        name: name.to_string(),
        dtype,
        shape,
        begin,
        end,
    })
}

/// The tensors must tile the data section: sorted by offset, each begins where the previous one
/// ended, the first at 0 and the last at the end. Summing sizes is not enough: an overlap and a gap
/// of the same size would pass.
fn check_coverage(entries: &mut [Entry], data_len: usize) -> Result<()> {
    entries.sort_by_key(|e| (e.begin, e.end));
    if let Some(last) = entries.iter().max_by_key(|e| e.end)
        && last.end > data_len
    {
        return Err(bad(format!(
            "the file is truncated: {} ends at byte {} of the data section, which has {data_len} bytes",
            last.name, last.end
        )));
    }
    let mut at = 0;
    let mut previous: Option<&str> = None;
    for entry in entries.iter() {
        if entry.begin < at {
            return Err(bad(format!(
                "{} (bytes {}..{}) overlaps {} in the data section",
                entry.name,
                entry.begin,
                entry.end,
                previous.unwrap_or("another tensor")
            )));
        }
        if entry.begin > at {
            return Err(bad(format!(
                "bytes {at}..{} of the data section belong to no tensor",
                entry.begin
            )));
        }
        at = entry.end;
        previous = Some(entry.name.as_str());
    }
    if at != data_len {
        return Err(bad(format!(
            "the data section has {data_len} bytes but the tensors cover {at} (truncated or padded file)"
        )));
    }
    Ok(())
}

fn shape_of<'a>(shapes: &BTreeMap<&str, &'a [usize]>, name: &str) -> Result<&'a [usize]> {
    shapes
        .get(name)
        .copied()
        .ok_or_else(|| bad(format!("the tensor {name} is missing")))
}

/// Reads hidden, latent and kind off the shapes, then checks every tensor against them.
fn infer_config(shapes: &BTreeMap<&str, &[usize]>) -> Result<VaeConfig> {
    let fc1 = shape_of(shapes, "fc1.weight")?;
    let fc21 = shape_of(shapes, "fc21.weight")?;
    if fc1.len() != 2 || fc21.len() != 2 {
        return Err(bad("fc1.weight and fc21.weight must be matrices"));
    }
    let (hidden, latent) = (fc1[0], fc21[0]);
    let kind = match (fc1[1], shapes.contains_key("fc22.weight")) {
        (n, true) if n == PIXELS + CLASSES => ModelKind::Conditional,
        (_, true) => ModelKind::Vae,
        (_, false) => ModelKind::Autoencoder,
    };
    let config = VaeConfig {
        hidden,
        latent,
        kind,
    };
    config.validate().map_err(|e| bad(e.to_string()))?;
    let what = format!("a {} with hidden {hidden} and latent {latent}", kind.name());
    check_shapes(
        shapes,
        &expected_shapes(&config),
        &what,
        "fc1, fc21, fc22, fc3, fc4",
    )?;
    Ok(config)
}

/// Checks that the file holds exactly the `expected` tensors (plus, optionally, [`LOG_SIGMA_X`])
/// with their shapes; `what` names the architecture and `layers` its layers in messages.
pub(crate) fn check_shapes(
    shapes: &BTreeMap<&str, &[usize]>,
    expected: &[(String, Vec<usize>)],
    what: &str,
    layers: &str,
) -> Result<()> {
    for (name, shape) in expected {
        let found = shape_of(shapes, name)?;
        if found != shape.as_slice() {
            return Err(bad(format!(
                "{name} has shape {found:?}; {what} needs {shape:?}"
            )));
        }
    }
    if let Some(shape) = shapes.get(LOG_SIGMA_X)
        && *shape != [1]
    {
        return Err(bad(format!(
            "{LOG_SIGMA_X} has shape {shape:?}; it must hold one number"
        )));
    }
    if let Some(extra) = shapes
        .keys()
        .find(|k| **k != LOG_SIGMA_X && !expected.iter().any(|(name, _)| name == *k))
    {
        return Err(bad(format!(
            "unexpected tensor {extra} (expected only {layers} and {LOG_SIGMA_X})"
        )));
    }
    Ok(())
}

/// The `[out, in]` shape of the matrix `name` in `shapes`; `whose` names the model a file missing
/// it was probably not written for ("a hierarchical VAE's").
pub(crate) fn matrix_dims(
    shapes: &BTreeMap<&str, &[usize]>,
    name: &str,
    whose: &str,
) -> Result<[usize; 2]> {
    match shapes.get(name) {
        Some([out, inp]) => Ok([*out, *inp]),
        Some(shape) => Err(bad(format!(
            "{name} has shape {shape:?}; it must be a matrix"
        ))),
        None => Err(bad(format!(
            "the tensor {name} is missing (is this {whose} file?)"
        ))),
    }
}

/// `(name, out, in)` of linear layers → their `.weight` `[out, in]` and `.bias` `[out]` shapes.
pub(crate) fn linear_shapes(layers: &[(&str, usize, usize)]) -> Vec<(String, Vec<usize>)> {
    layers
        .iter()
        .flat_map(|&(name, out, inp)| {
            [
                (format!("{name}.weight"), vec![out, inp]),
                (format!("{name}.bias"), vec![out]),
            ]
        })
        .collect()
}

/// Every tensor a model of this architecture has, in PyTorch layout.
pub fn expected_shapes(config: &VaeConfig) -> Vec<(String, Vec<usize>)> {
    let (h, l, c) = (config.hidden, config.latent, config.kind.label_width());
    let mut layers = vec![("fc1", h, PIXELS + c), ("fc21", l, h)];
    if config.kind != ModelKind::Autoencoder {
        layers.push(("fc22", l, h));
    }
    layers.extend([("fc3", h, l + c), ("fc4", PIXELS, h)]);
    linear_shapes(&layers)
}

/// The linear layer `name` of checked `tensors`, on `device`.
pub(crate) fn linear_from(tensors: &Tensors, name: &str, device: &Device) -> Linear {
    let w = &tensors[&format!("{name}.weight")];
    let b = &tensors[&format!("{name}.bias")];
    let (out, inp) = (w.shape[0], w.shape[1]);
    // PyTorch stores [out, in]; burn's Linear holds [in, out].
    let weight =
        Tensor::<2>::from_data(TensorData::new(w.values.clone(), [out, inp]), device).transpose();
    let bias = Tensor::<1>::from_data(TensorData::new(b.values.clone(), [out]), device);
    Linear {
        weight: Param::from_tensor(weight),
        bias: Some(Param::from_tensor(bias)),
    }
}

/// ln σ_x from checked `tensors`, or the default σ_x when the file has none.
pub(crate) fn log_sigma_from(tensors: &Tensors, device: &Device) -> Param<Tensor<1>> {
    match tensors.get(LOG_SIGMA_X) {
        Some(t) => Param::from_tensor(Tensor::from_data(
            TensorData::new(t.values.clone(), [1]),
            device,
        )),
        None => log_sigma_param(DEFAULT_SIGMA_X, device),
    }
}

impl WeightFile {
    /// Builds a model on `device` from the file's tensors.
    pub fn to_model(&self, device: &Device) -> Vae {
        let linear = |name: &str| linear_from(&self.tensors, name, device);
        Vae {
            fc1: linear("fc1"),
            fc21: linear("fc21"),
            fc22: (self.config.kind != ModelKind::Autoencoder).then(|| linear("fc22")),
            fc3: linear("fc3"),
            fc4: linear("fc4"),
            log_sigma_x: log_sigma_from(&self.tensors, device),
            kind: self.config.kind,
        }
    }
}

pub(crate) async fn linear_tensors(
    layer: &Linear,
    name: &str,
    out: &mut BTreeMap<String, NamedTensor>,
) -> Result<()> {
    let weight = layer.weight.val().transpose(); // [out, in]
    let [rows, cols] = weight.shape().dims();
    out.insert(
        format!("{name}.weight"),
        NamedTensor {
            shape: vec![rows, cols],
            values: read(weight).await?,
        },
    );
    let bias = match &layer.bias {
        Some(bias) => read(bias.val().reshape([1, rows])).await?,
        None => vec![0.0; rows],
    };
    out.insert(
        format!("{name}.bias"),
        NamedTensor {
            shape: vec![rows],
            values: bias,
        },
    );
    Ok(())
}

/// Serialises a model's weights. `metadata` adds strings to the header's `__metadata__`; when it
/// says `likelihood` = `gaussian`, the file also holds σ_x as the one-number tensor
/// [`LOG_SIGMA_X`] (PyTorch's reference keeps it as an `nn.Parameter` of that name).
pub async fn write_safetensors(
    model: &Vae,
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>> {
    let mut tensors = BTreeMap::new();
    linear_tensors(&model.fc1, "fc1", &mut tensors).await?;
    linear_tensors(&model.fc21, "fc21", &mut tensors).await?;
    if let Some(fc22) = &model.fc22 {
        linear_tensors(fc22, "fc22", &mut tensors).await?;
    }
    linear_tensors(&model.fc3, "fc3", &mut tensors).await?;
    linear_tensors(&model.fc4, "fc4", &mut tensors).await?;
    finish_file(
        tensors,
        Some(&model.log_sigma_x),
        model.kind.name(),
        dtype,
        metadata,
    )
    .await
}

/// The file of a model whose layers are in `tensors`: σ_x added for a Gaussian model that has one, every value
/// checked finite, the kind and `metadata` in the header.
pub(crate) async fn finish_file(
    mut tensors: Tensors,
    log_sigma_x: Option<&Param<Tensor<1>>>,
    kind: &str,
    dtype: Dtype,
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>> {
    if let Some(log_sigma_x) =
        log_sigma_x.filter(|_| metadata.contains(&("likelihood", "gaussian")))
    {
        tensors.insert(
            LOG_SIGMA_X.into(),
            NamedTensor {
                shape: vec![1],
                values: read1(log_sigma_x.val()).await?,
            },
        );
    }
    // A file with a NaN in it would not load again (the reader refuses non-finite values): say so
    // now, when the caller can still keep the weights it had.
    if let Some(name) = tensors
        .iter()
        .find_map(|(name, t)| t.values.iter().any(|v| !v.is_finite()).then_some(name))
    {
        return Err(VaeError::InvalidInput(format!(
            "cannot save these weights: {name} holds an infinite or NaN value"
        )));
    }
    let mut meta = Map::new();
    meta.insert("format".into(), json!("pt"));
    meta.insert("kind".into(), json!(kind));
    for (k, v) in metadata {
        meta.insert((*k).into(), json!(v));
    }
    Ok(encode_safetensors(&tensors, dtype, meta))
}

/// Lays out a safetensors file: 8-byte header length, JSON header padded to 8 bytes, data.
pub fn encode_safetensors(
    tensors: &BTreeMap<String, NamedTensor>,
    dtype: Dtype,
    metadata: Map<String, Value>,
) -> Vec<u8> {
    let mut header = Map::new();
    header.insert("__metadata__".into(), Value::Object(metadata));
    let mut data = Vec::new();
    for (name, tensor) in tensors {
        let begin = data.len();
        dtype.encode(&tensor.values, &mut data);
        header.insert(
            name.clone(),
            json!({ "dtype": dtype.name(), "shape": tensor.shape, "data_offsets": [begin, data.len()] }),
        );
    }
    let mut header = serde_json::to_vec(&Value::Object(header)).expect("a JSON map serialises");
    while !header.len().is_multiple_of(8) {
        header.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + data.len());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&data);
    out
}
