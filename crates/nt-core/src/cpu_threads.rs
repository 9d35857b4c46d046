//! How the CPU backends use an engine's threads.
//!
//! An engine runs a call on the calling thread itself, with its threads ([`EngineThreads`]: a rayon pool
//! and a warm helper thread) set as this thread's context ([`with_engine_threads`]); work that pays to
//! spread goes to them from there: the parts of a batch to the pool ([`for_each_index`], the calling
//! thread taking the first), the backward direction of a batch-1 BiLSTM to the helper
//! ([`spawn_detached`]: one job for the whole stack, which the call never waits for long). So a batch-1
//! call hands work over once, to a thread that is usually awake, instead of handing the call to a pool
//! thread and that thread waking another per layer: each wake-up costs tens of microseconds, hundreds
//! when the other core is idle on a virtual machine, and far more on a busy machine, which is what made
//! two-thread latency swing between runs. Called from inside a rayon pool (a worker thread), the same
//! functions use that pool as rayon does.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::cpu_helper::Helper;

/// An engine's threads: its rayon pool and, with two threads or more, a helper thread kept warm for
/// batch-1 calls (see `cpu_helper.rs`).
#[derive(Debug, Clone)]
pub(crate) struct EngineThreads {
    pool: Arc<ThreadPool>,
    helper: Option<Arc<Helper>>,
}

impl EngineThreads {
    /// A pool of `pool` threads (and a helper when there are two or more).
    pub(crate) fn new(pool: ThreadPool) -> Self {
        let helper = if pool.current_num_threads() > 1 {
            Helper::start()
        } else {
            None
        };
        Self {
            pool: Arc::new(pool),
            helper,
        }
    }

    /// The rayon pool.
    pub(crate) fn pool(&self) -> &ThreadPool {
        &self.pool
    }
}

thread_local! {
    /// The threads of the engine whose call this thread is running, if any.
    static ENGINE: RefCell<Option<EngineThreads>> = const { RefCell::new(None) };
}

/// Runs `work` on the calling thread with `threads` as the threads the CPU kernels spread work to.
pub(crate) fn with_engine_threads<R>(threads: &EngineThreads, work: impl FnOnce() -> R) -> R {
    /// Restores the previous context, also when `work` unwinds.
    struct Restore(Option<EngineThreads>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ENGINE.with(|e| *e.borrow_mut() = previous);
        }
    }
    let previous = ENGINE.with(|e| e.borrow_mut().replace(threads.clone()));
    let _restore = Restore(previous);
    work()
}

fn engine_pool() -> Option<Arc<ThreadPool>> {
    ENGINE.with(|e| e.borrow().as_ref().map(|t| Arc::clone(&t.pool)))
}

fn engine_helper() -> Option<Arc<Helper>> {
    ENGINE.with(|e| e.borrow().as_ref().and_then(|t| t.helper.clone()))
}

/// Threads the CPU path may use: those of the rayon pool it runs in, or of the engine whose call the
/// calling thread is running, or just the calling thread.
pub(crate) fn pool_threads() -> usize {
    if rayon::current_thread_index().is_some() {
        return rayon::current_num_threads();
    }
    ENGINE.with(|e| {
        e.borrow()
            .as_ref()
            .map_or(1, |t| t.pool.current_num_threads())
    })
}

/// `batch` rows in at most `threads` contiguous, nearly equal ranges of at least two rows each (rows of
/// a batch never interact, so each part can run a whole model on its own thread). Never a one-row part:
/// a single row would take the batch-1 kernels, whose sums run in another order, and the bits of a
/// result would then depend on the thread count. One range (the whole batch) when it cannot be split.
pub(crate) fn batch_parts(batch: usize, threads: usize) -> Vec<Range<usize>> {
    let parts = threads.min(batch / 2).max(1);
    (0..parts)
        .map(|i| i * batch / parts..(i + 1) * batch / parts)
        .collect()
}

/// Runs `f(i)` for every `i < n`, spread over the threads of the current pool: a parallel loop inside a
/// rayon pool; from an engine's calling thread, `i = 0` on that thread and one pool job for each other
/// `i`; serially without a pool. Callers pass `n` of about the thread count.
pub(crate) fn for_each_index(n: usize, f: impl Fn(usize) + Sync) {
    if n <= 1 || pool_threads() <= 1 {
        (0..n).for_each(f);
        return;
    }
    if rayon::current_thread_index().is_some() {
        (0..n).into_par_iter().for_each(&f);
        return;
    }
    match engine_pool() {
        Some(pool) => pool.in_place_scope(|scope| {
            let f = &f;
            for i in 1..n {
                scope.spawn(move |_| f(i));
            }
            f(0);
        }),
        None => (0..n).for_each(f),
    }
}

/// `f(i)` for every `i < n` as [`for_each_index`] runs them, results in order (each `Some`: every index
/// runs).
pub(crate) fn map_index<T: Send + Sync>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<Option<T>> {
    let cells: Vec<OnceLock<T>> = (0..n).map(|_| OnceLock::new()).collect();
    for_each_index(n, |i| {
        let _ = cells[i].set(f(i));
    });
    cells.into_iter().map(OnceLock::into_inner).collect()
}

/// Hands `job` to another thread without waiting for it: the engine's warm helper from an engine's
/// calling thread (or its pool when it has no helper), the rayon pool of a worker thread. `false` when
/// there is no thread to hand it to or the helper is taken (the job is then dropped). The caller must not
/// depend on the job running at all (see the batch-1 BiLSTM in `lstm_cpu/lanes.rs`): on a busy machine it
/// may start late, after the caller has done its work itself.
pub(crate) fn spawn_detached(job: impl FnOnce() + Send + 'static) -> bool {
    if rayon::current_thread_index().is_some() {
        rayon::spawn(job);
        return true;
    }
    if let Some(helper) = engine_helper() {
        return helper.submit(Box::new(job));
    }
    match engine_pool() {
        Some(pool) => {
            pool.spawn(job);
            true
        }
        None => false,
    }
}

/// `cell`'s value once another thread has set it, spinning for at most `budget` (the other thread is
/// usually microseconds away when it runs; when it does not, the caller goes on without it).
pub(crate) fn wait_briefly<T>(cell: &OnceLock<T>, budget: Duration) -> Option<&T> {
    let start = Instant::now();
    loop {
        if let Some(value) = cell.get() {
            return Some(value);
        }
        if start.elapsed() > budget {
            return None;
        }
        for _ in 0..32 {
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn engine(threads: usize) -> EngineThreads {
        EngineThreads::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn every_index_runs_once_on_every_route() {
        let e = engine(3);
        let count = |n: usize| {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for_each_index(n, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            hits.iter().all(|h| h.load(Ordering::Relaxed) == 1)
        };
        assert!(count(5)); // no pool: serial
        assert!(with_engine_threads(&e, || count(5) && pool_threads() == 3));
        assert!(e.pool().install(|| count(5)));
        assert_eq!(
            with_engine_threads(&e, || map_index(4, |i| i * i)),
            vec![Some(0), Some(1), Some(4), Some(9)]
        );
        assert_eq!(pool_threads(), 1, "the context is restored");
    }

    #[test]
    fn detached_jobs_run_on_the_threads_of_the_context() {
        let e = engine(2);
        assert!(!spawn_detached(|| {}), "no pool, no job");
        for route in 0..3 {
            let done = Arc::new(OnceLock::new());
            let cell = Arc::clone(&done);
            let spawned = match route {
                0 => with_engine_threads(&e, || {
                    spawn_detached(move || {
                        let _ = cell.set(1);
                    })
                }),
                1 => e.pool().install(|| {
                    spawn_detached(move || {
                        let _ = cell.set(2);
                    })
                }),
                // A one-thread engine has no helper: its pool takes the job.
                _ => with_engine_threads(&engine(1), || {
                    spawn_detached(move || {
                        let _ = cell.set(3);
                    })
                }),
            };
            assert!(spawned);
            while wait_briefly(&done, Duration::from_millis(10)).is_none() {}
            assert_eq!(done.get(), Some(&(route + 1)));
        }
        let never: OnceLock<u8> = OnceLock::new();
        assert!(wait_briefly(&never, Duration::from_micros(50)).is_none());
    }

    #[test]
    fn batch_parts_never_make_a_one_row_part() {
        for batch in 0..20 {
            for threads in 1..6 {
                let parts = batch_parts(batch, threads);
                assert!(parts.len() == 1 || parts.iter().all(|r| r.len() >= 2));
                assert_eq!(parts.iter().map(|r| r.len()).sum::<usize>(), batch);
            }
        }
    }
}
