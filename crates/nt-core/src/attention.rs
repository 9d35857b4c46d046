//! Multi-head attention, numerically the same as `torch.nn.MultiheadAttention(batch_first=True)` with
//! equal query/key/value widths, no masks and no bias on keys/values beyond the projection biases.
//!
//! Parameters use PyTorch's names and layout: `in_proj_weight` `(3E, E)` (query, key and value rows
//! stacked in that order), `in_proj_bias` `(3E,)`, `out_proj.weight` `(E, E)`, `out_proj.bias` `(E,)`.
//! Per head `h` of width `d = E / heads`: `softmax(q_h k_hᵀ / sqrt(d)) v_h`, heads concatenated and passed
//! through `out_proj`. The attention weights returned are averaged over heads, as torch's default
//! `average_attn_weights=True`.
//!
//! Keys and values can be projected once ([`MultiHeadAttention::project_memory`]) and attended to by many
//! queries ([`MultiHeadAttention::attend`]): an autoregressive decoder projects its encoder outputs once
//! instead of once per step. The slices of `in_proj_weight` are taken at call time, never cached, so the
//! layer trains with candle's autograd (an optimizer updates the variables in place).

use std::collections::HashMap;

use candle_core::{Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};

use crate::error::{fmt_shape, Error, Result};
use crate::input::{check_finite, tensor_from, to_flat, FlatArray};

/// Multi-head attention with PyTorch's parameter layout.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    in_proj_weight: Tensor,
    in_proj_bias: Tensor,
    out_proj: Linear,
    embed_dim: usize,
    num_heads: usize,
}

/// Keys and values already projected and split into heads: `(B, heads, S, head_dim)` each.
#[derive(Debug, Clone)]
pub struct AttentionMemory {
    keys: Tensor,
    values: Tensor,
}

impl AttentionMemory {
    /// Number of key/value positions `S`.
    pub fn len(&self) -> Result<usize> {
        Ok(self.keys.dim(2)?)
    }

    /// Whether there are no key/value positions (never true for a memory built by
    /// [`MultiHeadAttention::project_memory`], which refuses empty sequences).
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

impl MultiHeadAttention {
    /// Loads `in_proj_weight`, `in_proj_bias` and `out_proj.{weight,bias}` from `vb` (the module's own
    /// prefix). `embed_dim` must be a positive multiple of `num_heads`, else a config error.
    pub fn new(embed_dim: usize, num_heads: usize, vb: VarBuilder) -> Result<Self> {
        if embed_dim == 0 || num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::Config(format!(
                "attention embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
            )));
        }
        let in_proj_weight = vb.get_with_hints(
            (3 * embed_dim, embed_dim),
            "in_proj_weight",
            candle_nn::init::DEFAULT_KAIMING_UNIFORM,
        )?;
        let in_proj_bias =
            vb.get_with_hints(3 * embed_dim, "in_proj_bias", candle_nn::Init::Const(0.))?;
        let out_proj = candle_nn::linear(embed_dim, embed_dim, vb.pp("out_proj"))?;
        Ok(Self {
            in_proj_weight,
            in_proj_bias,
            out_proj,
            embed_dim,
            num_heads,
        })
    }

    /// Width of queries, keys, values and outputs.
    pub fn embed_dim(&self) -> usize {
        self.embed_dim
    }

    /// Number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// Width of one head.
    pub fn head_dim(&self) -> usize {
        self.embed_dim / self.num_heads
    }

    /// Projects `x` `(B, L, E)` with rows `part * E .. (part + 1) * E` of the input projection
    /// (0 query, 1 key, 2 value) and splits heads: `(B, heads, L, head_dim)`.
    fn project(&self, x: &Tensor, part: usize) -> Result<Tensor> {
        let (b, l, e) = x.dims3()?;
        let w = self.in_proj_weight.narrow(0, part * e, e)?;
        let bias = self.in_proj_bias.narrow(0, part * e, e)?;
        let projected = x
            .reshape((b * l, e))?
            .matmul(&w.t()?)?
            .broadcast_add(&bias)?;
        Ok(projected
            .reshape((b, l, self.num_heads, self.head_dim()))?
            .transpose(1, 2)?
            .contiguous()?)
    }

    fn check(&self, what: &str, t: &Tensor, batch: Option<usize>) -> Result<(usize, usize)> {
        let expected = || match batch {
            Some(b) => format!("({b}, length >= 1, {})", self.embed_dim),
            None => format!("(batch, length >= 1, {})", self.embed_dim),
        };
        match *t.dims() {
            [b, l, e] if l > 0 && e == self.embed_dim && batch.is_none_or(|want| want == b) => {
                Ok((b, l))
            }
            _ => Err(Error::shape(what, expected(), fmt_shape(t.dims()))),
        }
    }

    /// Projects keys and values `(B, S, E)` once, for any number of later [`attend`](Self::attend) calls.
    pub fn project_memory(&self, key: &Tensor, value: &Tensor) -> Result<AttentionMemory> {
        let (b, s) = self.check("attention key", key, None)?;
        let (_, sv) = self.check("attention value", value, Some(b))?;
        if sv != s {
            return Err(Error::shape(
                "attention value",
                format!("({b}, {s}, {})", self.embed_dim),
                fmt_shape(value.dims()),
            ));
        }
        Ok(AttentionMemory {
            keys: self.project(key, 1)?,
            values: self.project(value, 2)?,
        })
    }

    /// Attends queries `(B, L, E)` to a projected memory. Returns the output `(B, L, E)` and the
    /// attention weights averaged over heads `(B, L, S)`.
    pub fn attend(&self, query: &Tensor, memory: &AttentionMemory) -> Result<(Tensor, Tensor)> {
        let batch = memory.keys.dim(0)?;
        let (b, l) = self.check("attention query", query, Some(batch))?;
        let scale = 1.0 / (self.head_dim() as f64).sqrt();
        // Scale the queries before the product, as torch does, so rounding matches.
        let q = (self.project(query, 0)? * scale)?;
        let scores = q.matmul(&memory.keys.t()?)?; // (B, heads, L, S)
                                                   // The composed softmax (not `softmax_last_dim`) because it has a backward pass.
        let weights = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let heads = weights.matmul(&memory.values)?; // (B, heads, L, d)
        let merged = heads.transpose(1, 2)?.reshape((b, l, self.embed_dim))?;
        let out = self.out_proj.forward(&merged)?;
        Ok((out, weights.mean(1)?))
    }

    /// Full attention of `query` `(B, L, E)` over `key`, `value` `(B, S, E)`: output `(B, L, E)` and
    /// head-averaged weights `(B, L, S)`, as `torch.nn.MultiheadAttention(batch_first=True)`.
    pub fn forward(
        &self,
        query: &Tensor,
        key: &Tensor,
        value: &Tensor,
    ) -> Result<(Tensor, Tensor)> {
        let memory = self.project_memory(key, value)?;
        self.attend(query, &memory)
    }
}

/// Runs a [`MultiHeadAttention`] given as PyTorch-named flat arrays (`in_proj_weight`, `in_proj_bias`,
/// `out_proj.weight`, `out_proj.bias`) on flat `(B, L, E)` query and `(B, S, E)` key/value arrays; returns
/// the output and the head-averaged weights as flat arrays. The entry point of the parity tests.
pub fn forward_arrays(
    weights: HashMap<String, FlatArray>,
    query: FlatArray,
    key: FlatArray,
    value: FlatArray,
    num_heads: usize,
) -> Result<(FlatArray, FlatArray)> {
    let mut tensors = HashMap::new();
    for (name, (values, dims)) in weights {
        let what = format!("tensor {name}");
        check_finite(&values, &dims, &what)?;
        tensors.insert(name, tensor_from(values, &dims, &what)?);
    }
    let embed_dim = match tensors.get("out_proj.weight").map(|t| t.dims().to_vec()) {
        Some(dims) if dims.len() == 2 => dims[1],
        Some(dims) => {
            return Err(Error::shape(
                "tensor out_proj.weight",
                "(E, E)",
                fmt_shape(&dims),
            ))
        }
        None => return Err(Error::Checkpoint("missing tensor `out_proj.weight`".into())),
    };
    let build = |vb| MultiHeadAttention::new(embed_dim, num_heads, vb);
    let budget = tensors.values().map(|t| t.elem_count()).sum();
    let spec = crate::checkpoint::param_spec_within(crate::checkpoint::load_budget(budget), build)?;
    crate::checkpoint::check_tensors(&spec, &tensors)?;
    let vb = VarBuilder::from_tensors(tensors, candle_core::DType::F32, &candle_core::Device::Cpu);
    let mha = MultiHeadAttention::new(embed_dim, num_heads, vb)?;
    let mut inputs = Vec::with_capacity(3);
    for (what, (values, dims)) in [
        ("attention query", query),
        ("attention key", key),
        ("attention value", value),
    ] {
        check_finite(&values, &dims, what)?;
        if dims.len() != 3 || dims[0] == 0 {
            return Err(Error::shape(
                what,
                format!("(batch >= 1, length >= 1, {embed_dim})"),
                fmt_shape(&dims),
            ));
        }
        inputs.push(tensor_from(values, &dims, what)?);
    }
    let (out, weights) = mha.forward(&inputs[0], &inputs[1], &inputs[2])?;
    Ok((to_flat(&out)?, to_flat(&weights)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    fn ramp(n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|k| ((k as f32) * 0.7).sin() * scale).collect()
    }

    fn weights(e: usize) -> HashMap<String, FlatArray> {
        HashMap::from([
            (
                "in_proj_weight".into(),
                (ramp(3 * e * e, 0.5), vec![3 * e, e]),
            ),
            ("in_proj_bias".into(), (ramp(3 * e, 0.1), vec![3 * e])),
            ("out_proj.weight".into(), (ramp(e * e, 0.4), vec![e, e])),
            ("out_proj.bias".into(), (ramp(e, 0.2), vec![e])),
        ])
    }

    #[test]
    fn weights_are_distributions_and_shapes_follow_torch() {
        let (e, b, l, s) = (8, 2, 3, 5);
        let q = (ramp(b * l * e, 1.0), vec![b, l, e]);
        let k = (ramp(b * s * e, 1.3), vec![b, s, e]);
        let (out, w) = forward_arrays(weights(e), q, k.clone(), k, 4).unwrap();
        assert_eq!(out.1, vec![b, l, e]);
        assert_eq!(w.1, vec![b, l, s]);
        for row in w.0.chunks(s) {
            let total: f32 = row.iter().sum();
            assert!((total - 1.0).abs() < 1e-5, "{total}");
            assert!(row.iter().all(|&p| p > 0.0));
        }
    }

    #[test]
    fn attend_on_projected_memory_equals_forward() {
        let e = 6;
        let vb = VarBuilder::from_tensors(
            weights(e)
                .into_iter()
                .map(|(n, (v, d))| (n, Tensor::from_vec(v, d, &Device::Cpu).unwrap()))
                .collect(),
            DType::F32,
            &Device::Cpu,
        );
        let mha = MultiHeadAttention::new(e, 3, vb).unwrap();
        let q = Tensor::from_vec(ramp(2 * 4 * e, 1.0), (2, 4, e), &Device::Cpu).unwrap();
        let kv = Tensor::from_vec(ramp(2 * 7 * e, 0.9), (2, 7, e), &Device::Cpu).unwrap();
        let (full, _) = mha.forward(&q, &kv, &kv).unwrap();
        let memory = mha.project_memory(&kv, &kv).unwrap();
        for t in 0..4 {
            let (step, _) = mha.attend(&q.narrow(1, t, 1).unwrap(), &memory).unwrap();
            let diff = (step - full.narrow(1, t, 1).unwrap())
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(diff < 1e-6, "step {t}: {diff}");
        }
    }

    #[test]
    fn bad_heads_and_shapes_are_errors() {
        let err = forward_arrays(
            weights(6),
            (vec![0.0; 6], vec![1, 1, 6]),
            (vec![0.0; 6], vec![1, 1, 6]),
            (vec![0.0; 6], vec![1, 1, 6]),
            4,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        let err = forward_arrays(
            weights(6),
            (vec![0.0; 6], vec![1, 1, 6]),
            (vec![0.0; 12], vec![1, 2, 6]),
            (vec![0.0; 18], vec![1, 3, 6]),
            2,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Shape { .. }), "{err}");
        let err = forward_arrays(
            weights(6),
            (vec![f32::NAN; 6], vec![1, 1, 6]),
            (vec![0.0; 6], vec![1, 1, 6]),
            (vec![0.0; 6], vec![1, 1, 6]),
            2,
        )
        .unwrap_err();
        assert!(matches!(err, Error::Data(_)), "{err}");
    }
}
