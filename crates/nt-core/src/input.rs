//! Validation of arrays handed to the engine: rank, width, finiteness. Errors name the first bad value.

use candle_core::{Device, Tensor};

use crate::error::{fmt_shape, Error, Result};

/// Checks that `values` shaped `dims` is a `(B, T, width)` batch of finite numbers and makes a tensor.
/// `B = 0` is allowed (the caller returns an empty result); `T` must be at least 1.
pub fn sequence_batch(values: &[f32], dims: &[usize], width: usize, what: &str) -> Result<Tensor> {
    let [b, t, f] = check_sequence_batch(values, dims, width, what)?;
    Ok(Tensor::from_slice(values, (b, t, f), &Device::Cpu)?)
}

/// The checks of [`sequence_batch`] without making a tensor: returns `[B, T, width]`.
pub fn check_sequence_batch(
    values: &[f32],
    dims: &[usize],
    width: usize,
    what: &str,
) -> Result<[usize; 3]> {
    let dims = check_sequence_shape(values, dims, width, what)?;
    check_finite(values, &dims, what)?;
    Ok(dims)
}

/// The shape checks of [`check_sequence_batch`] alone (rank, width, `T >= 1`, element count), for a
/// caller that reads the values later (the engine checks finiteness after allocating its outputs, so a
/// huge memory-mapped input whose output cannot fit is refused before it is read).
pub fn check_sequence_shape(
    values: &[f32],
    dims: &[usize],
    width: usize,
    what: &str,
) -> Result<[usize; 3]> {
    let expected = || format!("(batch, time >= 1, {width})");
    let [b, t, f] = *dims else {
        return Err(Error::shape(what, expected(), fmt_shape(dims)));
    };
    if f != width || t == 0 {
        return Err(Error::shape(what, expected(), fmt_shape(dims)));
    }
    b.checked_mul(t)
        .and_then(|n| n.checked_mul(f))
        .filter(|&n| n == values.len())
        .ok_or_else(|| {
            Error::shape(
                what,
                format!("{} elements for {}", values.len(), fmt_shape(dims)),
                fmt_shape(dims),
            )
        })?;
    Ok([b, t, f])
}

/// Rejects NaN and Inf, naming the index of the first one.
pub fn check_finite(values: &[f32], dims: &[usize], what: &str) -> Result<()> {
    let Some(pos) = values.iter().position(|v| !v.is_finite()) else {
        return Ok(());
    };
    let mut index = vec![0; dims.len()];
    let mut rest = pos;
    for (slot, &d) in index.iter_mut().zip(dims).rev() {
        if d > 0 {
            *slot = rest % d;
            rest /= d;
        }
    }
    Err(Error::Data(format!(
        "{what} contains {} at index {}",
        values[pos],
        fmt_shape(&index)
    )))
}

/// Row-major values with their shape: the form arrays take across the Python boundary.
pub type FlatArray = (Vec<f32>, Vec<usize>);

/// A tensor of `dims` from row-major values, after checking that the element count matches.
pub fn tensor_from(values: Vec<f32>, dims: &[usize], what: &str) -> Result<Tensor> {
    let count = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(values.len()) {
        return Err(Error::shape(
            what,
            format!("{} elements", values.len()),
            fmt_shape(dims),
        ));
    }
    Ok(Tensor::from_vec(values, dims, &Device::Cpu)?)
}

/// Row-major values and shape of a tensor.
pub fn to_flat(t: &Tensor) -> Result<FlatArray> {
    Ok((t.flatten_all()?.to_vec1::<f32>()?, t.dims().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_first_non_finite_index() {
        let mut v = vec![0.0f32; 2 * 3 * 4];
        v[13] = f32::NAN; // 13 = 1 * 12 + 0 * 4 + 1
        let err = check_finite(&v, &[2, 3, 4], "x").unwrap_err().to_string();
        assert!(err.contains("NaN at index (1, 0, 1)"), "{err}");
    }

    #[test]
    fn rejects_wrong_width_and_rank() {
        let v = vec![0.0f32; 6];
        assert!(matches!(
            sequence_batch(&v, &[1, 2, 3], 4, "x"),
            Err(Error::Shape { .. })
        ));
        assert!(matches!(
            sequence_batch(&v, &[6], 1, "x"),
            Err(Error::Shape { .. })
        ));
        assert!(sequence_batch(&v, &[1, 2, 3], 3, "x").is_ok());
    }
}
