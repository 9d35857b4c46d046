//! A helper thread kept warm for an engine's batch-1 calls.
//!
//! A batch-1 BiLSTM call hands the backward direction to another thread (see `lstm_cpu/lanes.rs`). A
//! sleeping pool thread takes tens of microseconds to wake, and on a virtual machine whose other core is
//! idle (halted) often hundreds, more than the call can wait: the call then runs serially, so latency
//! swung between about 0.9 and 1.8 ms from round to round. This thread instead spins for a short window
//! after each job, so the next call of a stream of calls finds it awake within a microsecond; only after
//! the window with no job does it sleep. ONNX Runtime's pool spins after work for the same reason. The
//! spin costs at most [`SPIN`] of one core per call; a one-thread engine has no helper.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the helper stays awake, spinning, after a job (or after it starts).
const SPIN: Duration = Duration::from_micros(300);

type Job = Box<dyn FnOnce() + Send>;

/// The thread's end of the helper.
#[derive(Default)]
struct Shared {
    /// The job waiting to run, if any.
    slot: Mutex<Slot>,
    wake: Condvar,
    /// Whether a job is in the slot: read while spinning, without the lock.
    pending: AtomicBool,
}

#[derive(Default)]
struct Slot {
    job: Option<Job>,
    /// The thread is waiting on the condvar (the submitter must notify it).
    parked: bool,
    /// The engine is gone: the thread ends.
    closed: bool,
}

/// A helper thread for one engine (shared by its clones); the thread ends when the last handle drops.
pub(crate) struct Helper {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Helper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Helper")
    }
}

impl Helper {
    /// Starts the thread; `None` if the system refuses a thread (the engine then works without it).
    pub(crate) fn start() -> Option<Arc<Self>> {
        let shared = Arc::new(Shared::default());
        let thread_side = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("nt-engine-helper".into())
            .spawn(move || run(&thread_side))
            .ok()?;
        Some(Arc::new(Self { shared }))
    }

    /// Gives `job` to the thread; `false` (and the job is dropped) when another job is already waiting,
    /// so a caller never queues behind another call.
    pub(crate) fn submit(&self, job: Job) -> bool {
        let Ok(mut slot) = self.shared.slot.lock() else {
            return false;
        };
        if slot.job.is_some() || slot.closed {
            return false;
        }
        slot.job = Some(job);
        self.shared.pending.store(true, Ordering::Release);
        if slot.parked {
            self.shared.wake.notify_one();
        }
        true
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.shared.slot.lock() {
            slot.closed = true;
            slot.job = None;
        }
        self.shared.wake.notify_one();
    }
}

/// The thread: run jobs, spin for [`SPIN`] after each, sleep when none comes.
fn run(shared: &Shared) {
    loop {
        let awake_until = Instant::now() + SPIN;
        let mut spins = 0u32;
        while !shared.pending.load(Ordering::Acquire) {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(64) && Instant::now() > awake_until {
                break;
            }
        }
        let Ok(mut slot) = shared.slot.lock() else {
            return;
        };
        while slot.job.is_none() && !slot.closed {
            slot.parked = true;
            slot = match shared.wake.wait(slot) {
                Ok(slot) => slot,
                Err(_) => return,
            };
            slot.parked = false;
        }
        if slot.closed {
            return;
        }
        let job = slot.job.take();
        shared.pending.store(false, Ordering::Release);
        drop(slot);
        if let Some(job) = job {
            job();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_awake_or_after_sleeping_and_a_busy_slot_refuses() {
        let helper = Helper::start().unwrap();
        let (tx, rx) = mpsc::channel();
        for pause in [0, 2_000] {
            std::thread::sleep(Duration::from_micros(pause)); // past the spin window: asleep
            let tx = tx.clone();
            assert!(helper.submit(Box::new(move || tx.send(pause).unwrap())));
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), pause);
        }
        // A job that blocks the thread, one waiting in the slot, and a third refused.
        let (block_tx, block_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel();
        assert!(helper.submit(Box::new(move || {
            started_tx.send(()).unwrap();
            block_rx.recv().unwrap();
        })));
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let tx2 = tx.clone();
        assert!(helper.submit(Box::new(move || tx2.send(1).unwrap())));
        assert!(!helper.submit(Box::new(|| {})));
        block_tx.send(()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        drop(helper); // the thread ends; nothing to observe but that this returns
    }
}
