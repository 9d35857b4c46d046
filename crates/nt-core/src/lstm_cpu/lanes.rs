//! Batch 1 of a bidirectional stack on two threads: the calling thread runs the forward direction of
//! every layer, one helper thread of the pool the backward direction of every layer.
//!
//! Each direction of layer `l + 1` reads both directions' outputs of layer `l` at every step (the
//! backward one starts from the forward direction's last output), so the two threads meet once per
//! layer. A call wakes the helper once (not once per layer), and the calling thread never waits long for
//! it: after its own direction of a layer, it gives a running helper a few tens of microseconds to
//! finish the other one (which it does when both run), and otherwise (or when the helper has not
//! started) computes it too, the first result to arrive being kept (the other computation stops at its
//! next check). The helper is detached: a call returns as soon as its results are in, even if the helper
//! was never scheduled. So on a busy machine the latency falls back to about the serial path's, instead
//! of waiting for a descheduled thread's next time slice. Every direction runs exactly the arithmetic of
//! the serial path, so the result has the same bits whoever computed it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{side_by_side, CpuLayer, CpuLstm, CpuOutput};
use crate::cpu_threads::{spawn_detached, wait_briefly};

/// How long the calling thread waits for the helper's direction of a layer before computing it itself:
/// when both threads run, the helper finishes within microseconds of the caller.
const PATIENCE: Duration = Duration::from_micros(40);

/// What one direction of one layer leaves: its outputs `(T, H)` and its final `h` and `c` `(H,)`.
struct Direction {
    out: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
}

/// One batch-1 call, shared by the calling thread and the helper (which may outlive the call).
struct Call {
    layers: Arc<Vec<CpuLayer>>,
    x: Vec<f32>,
    /// `(h_0, c_0)`, `(layers * 2, H)` each.
    init: Option<(Vec<f32>, Vec<f32>)>,
    steps: usize,
    hidden: usize,
    /// `done[l][d]`: direction `d` of layer `l`, set once by whoever finished it first.
    done: Vec<[OnceLock<Direction>; 2]>,
    /// Set when the helper starts: until then there is nothing to wait for.
    started: AtomicBool,
}

impl Call {
    /// Direction `d` of layer `l` from the finished layer below, unless `done[l][d]` gets set meanwhile.
    fn run(&self, l: usize, d: usize) {
        let (steps, hid) = (self.steps, self.hidden);
        let below;
        let input = if l == 0 {
            self.x.as_slice()
        } else {
            let (Some(fwd), Some(bwd)) = (self.done[l - 1][0].get(), self.done[l - 1][1].get())
            else {
                return; // not reachable: both callers check the layer below first
            };
            below = side_by_side(&[&fwd.out, &bwd.out], steps, hid);
            below.as_slice()
        };
        let row = (2 * l + d) * hid..(2 * l + d + 1) * hid;
        let (mut h, mut c) = match &self.init {
            Some((h0, c0)) => (h0[row.clone()].to_vec(), c0[row].to_vec()),
            None => (vec![0f32; hid], vec![0f32; hid]),
        };
        let cell = &self.done[l][d];
        let stop = || cell.get().is_some();
        if let Some(out) =
            self.layers[l].direction_until(d, input, steps, (&mut h, &mut c), 1, &stop)
        {
            let _ = cell.set(Direction { out, h, c });
        }
    }

    /// The helper's share: the backward direction of each layer, as soon as the layer below is done;
    /// it stops when the calling thread has finished without it.
    fn help(&self) {
        self.started.store(true, Ordering::Release);
        let layers = self.done.len();
        for l in 0..layers {
            let mut spins = 0u32;
            loop {
                if self.done[layers - 1][1].get().is_some() {
                    return; // the call is complete
                }
                let below_done = l == 0
                    || (self.done[l - 1][0].get().is_some() && self.done[l - 1][1].get().is_some());
                if below_done {
                    break;
                }
                // The calling thread is usually microseconds away; if it is not running, give way.
                if spins < 1 << 12 {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
            if self.done[l][1].get().is_none() {
                self.run(l, 1);
            }
        }
    }
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
        let call = Arc::new(Call {
            layers: Arc::clone(&self.layers),
            x: x.to_vec(),
            init: init.map(|(h, c)| (h.to_vec(), c.to_vec())),
            steps,
            hidden: hid,
            done: (0..layers)
                .map(|_| [OnceLock::new(), OnceLock::new()])
                .collect(),
            started: AtomicBool::new(false),
        });
        let helper = Arc::clone(&call);
        let helped = spawn_detached(move || helper.help());
        for l in 0..layers {
            call.run(l, 0);
            let running = helped && call.started.load(Ordering::Acquire);
            let waited = running && wait_briefly(&call.done[l][1], PATIENCE).is_some();
            if !waited {
                call.run(l, 1); // stops early if the helper's result arrives meanwhile
            }
        }
        let (mut h_n, mut c_n) = (
            Vec::with_capacity(2 * layers * hid),
            Vec::with_capacity(2 * layers * hid),
        );
        let mut top: [&[f32]; 2] = [&[], &[]];
        for pair in &call.done {
            for (d, cell) in pair.iter().enumerate() {
                // Set: the loop above ran every direction that was not done already.
                let Some(direction) = cell.get() else {
                    continue;
                };
                h_n.extend_from_slice(&direction.h);
                c_n.extend_from_slice(&direction.c);
                top[d] = &direction.out;
            }
        }
        (side_by_side(&top, steps, hid), h_n, c_n)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{Device, Tensor};

    use super::*;
    use crate::config::LstmConfig;
    use crate::cpu_threads::{with_engine_threads, EngineThreads};

    fn ramp(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|k| (((k * 7919 + seed * 104_729) % 997) as f32 / 997.0 - 0.5) * 0.8)
            .collect()
    }

    /// The two-thread path, with a helper (a pool) and without (the calling thread does it all), gives
    /// the bits of the serial path, with and without an initial state.
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
        let engine = EngineThreads::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap(),
        );
        for init in [None, Some((h0.as_slice(), c0.as_slice()))] {
            let serial = lstm.forward_with(&x, 1, steps, init, 1);
            assert_eq!(lstm.forward_lanes(&x, steps, init), serial, "no helper");
            for _ in 0..50 {
                let helped =
                    with_engine_threads(&engine, || lstm.forward_with(&x, 1, steps, init, 2));
                assert_eq!(helped, serial, "with a helper thread");
            }
        }
    }
}
