//! Batch 1 of a bidirectional stack on two threads: the calling thread runs the forward direction of
//! every layer, one helper thread of the pool the backward direction of every layer.
//!
//! Each direction of layer `l + 1` reads both directions' outputs of layer `l` at every step (the
//! backward one starts from the forward direction's last output), so the two threads meet once per
//! layer; they meet by spinning on the other's result, which is microseconds away when both run, rather
//! than through a pool's sleep and wake-up. A call wakes the helper once. If the helper has not started
//! by the time the forward direction of the first layer is done (a busy machine), the calling thread
//! claims its share and runs the rest itself: waiting on a thread that may not run soon would be worse
//! than the serial path. Every direction runs exactly the arithmetic of the serial path, so the result
//! has the same bits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use super::{side_by_side, CpuLstm, CpuOutput};
use crate::cpu_threads::{wait_for, with_helper};

/// What one direction of one layer leaves: its outputs `(T, H)` and its final `h` and `c` `(H,)`.
struct Direction {
    out: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

impl CpuLstm {
    /// [`CpuLstm::forward_with`] for one sample of a bidirectional stack, on two threads.
    pub(super) fn forward_lanes(
        &self,
        x: &[f32],
        steps: usize,
        init: Option<(&[f32], &[f32])>,
    ) -> CpuOutput {
        let (layers, hid) = (self.layers.len(), self.config.hidden_size);
        let done: Vec<[OnceLock<Direction>; 2]> = (0..layers)
            .map(|_| [OnceLock::new(), OnceLock::new()])
            .collect();
        // Direction `d` of layer `l`, once both directions of the layer below are done.
        let run = |l: usize, d: usize| {
            let below;
            let input = if l == 0 {
                x
            } else {
                let (fwd, bwd) = (wait_for(&done[l - 1][0]), wait_for(&done[l - 1][1]));
                below = side_by_side(&[&fwd.out, &bwd.out], steps, hid);
                below.as_slice()
            };
            let row = (2 * l + d) * hid..(2 * l + d + 1) * hid;
            let (mut h, mut c) = match init {
                Some((h0, c0)) => (h0[row.clone()].to_vec(), c0[row].to_vec()),
                None => (vec![0f32; hid], vec![0f32; hid]),
            };
            let out = self.layers[l].direction_single(d, input, steps, &mut h, &mut c, 1);
            let _ = done[l][d].set(Direction { out, h, c });
        };
        let claimed = AtomicBool::new(false);
        with_helper(
            || {
                if !claimed.swap(true, Ordering::AcqRel) {
                    (0..layers).for_each(|l| run(l, 1));
                }
            },
            || {
                run(0, 0);
                if claimed.swap(true, Ordering::AcqRel) {
                    (1..layers).for_each(|l| run(l, 0));
                } else {
                    // The helper has not started: its share is ours.
                    (0..layers).for_each(|l| {
                        if l > 0 {
                            run(l, 0);
                        }
                        run(l, 1);
                    });
                }
            },
        );
        // Both shares are done when `with_helper` returns; `wait_for` returns at once.
        let (mut h_n, mut c_n) = (
            Vec::with_capacity(2 * layers * hid),
            Vec::with_capacity(2 * layers * hid),
        );
        for pair in &done {
            for cell in pair {
                let direction = wait_for(cell);
                h_n.extend_from_slice(&direction.h);
                c_n.extend_from_slice(&direction.c);
            }
        }
        let top = &done[layers - 1];
        let output = side_by_side(
            &[&wait_for(&top[0]).out, &wait_for(&top[1]).out],
            steps,
            hid,
        );
        (output, h_n, c_n)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use candle_core::{Device, Tensor};

    use super::*;
    use crate::config::LstmConfig;
    use crate::cpu_threads::with_engine_pool;

    fn ramp(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|k| (((k * 7919 + seed * 104_729) % 997) as f32 / 997.0 - 0.5) * 0.8)
            .collect()
    }

    /// The two-thread path, with the helper (a pool) and without (the calling thread claims its share),
    /// gives the bits of the serial path, with and without an initial state.
    #[test]
    fn both_routes_give_the_serial_bits() {
        let config = LstmConfig {
            input_size: 3,
            hidden_size: 9,
            num_layers: 3,
            bidirectional: true,
        };
        let tensors: HashMap<String, Tensor> = config
            .param_spec("")
            .into_iter()
            .enumerate()
            .map(|(i, (name, dims))| {
                let n = dims.iter().product();
                (
                    name,
                    Tensor::from_vec(ramp(n, i), dims, &Device::Cpu).unwrap(),
                )
            })
            .collect();
        let lstm = CpuLstm::from_tensors(&tensors, "", config).unwrap();
        let steps = 11;
        let x = ramp(steps * 3, 99);
        let (h0, c0) = (ramp(6 * 9, 5), ramp(6 * 9, 6));
        let pool = Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        );
        for init in [None, Some((h0.as_slice(), c0.as_slice()))] {
            let serial = lstm.forward_with(&x, 1, steps, init, 1);
            assert_eq!(
                lstm.forward_lanes(&x, steps, init),
                serial,
                "claimed by the caller"
            );
            for _ in 0..20 {
                let helped = with_engine_pool(&pool, || lstm.forward_with(&x, 1, steps, init, 2));
                assert_eq!(helped, serial, "with a helper thread");
            }
        }
    }
}
