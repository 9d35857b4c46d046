//! How the CPU backends use an engine's threads.
//!
//! An engine runs a call on the calling thread itself, with its own thread pool set as this thread's
//! context ([`with_engine_pool`]); work that pays to spread goes to the pool from there: the parts of a
//! batch ([`for_each_index`], the calling thread taking the first), and the backward direction of a
//! batch-1 BiLSTM ([`spawn_detached`]: one helper thread for the whole stack, which the call never
//! waits for). So a batch-1 call wakes at
//! most one pool thread once, instead of handing the call to a pool thread and that thread waking another
//! per layer: each wake-up costs tens of microseconds, and far more on a busy machine, which is what made
//! two-thread latency swing between runs. Called from inside a rayon pool (a worker thread), the same
//! functions use that pool as rayon does.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rayon::ThreadPool;

thread_local! {
    /// The pool of the engine whose call this thread is running, if any.
    static ENGINE_POOL: RefCell<Option<Arc<ThreadPool>>> = const { RefCell::new(None) };
}

/// Runs `work` on the calling thread with `pool` as the pool the CPU kernels spread work to.
pub(crate) fn with_engine_pool<R>(pool: &Arc<ThreadPool>, work: impl FnOnce() -> R) -> R {
    /// Restores the previous context, also when `work` unwinds.
    struct Restore(Option<Arc<ThreadPool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ENGINE_POOL.with(|p| *p.borrow_mut() = previous);
        }
    }
    let previous = ENGINE_POOL.with(|p| p.borrow_mut().replace(Arc::clone(pool)));
    let _restore = Restore(previous);
    work()
}

fn engine_pool() -> Option<Arc<ThreadPool>> {
    ENGINE_POOL.with(|p| p.borrow().clone())
}

/// Threads the CPU path may use: those of the rayon pool it runs in, or of the engine whose call the
/// calling thread is running, or just the calling thread.
pub(crate) fn pool_threads() -> usize {
    if rayon::current_thread_index().is_some() {
        return rayon::current_num_threads();
    }
    ENGINE_POOL.with(|p| {
        p.borrow()
            .as_ref()
            .map_or(1, |pool| pool.current_num_threads())
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

/// Hands `job` to a thread of the current pool (the rayon pool of a worker thread, or the engine's pool
/// of the call this thread runs) without waiting for it: `false` when there is no pool to hand it to.
/// The caller must not depend on the job running at all (see the batch-1 BiLSTM in `lstm_cpu/lanes.rs`):
/// on a busy machine it may start late, after the caller has done its work itself.
pub(crate) fn spawn_detached(job: impl FnOnce() + Send + 'static) -> bool {
    if rayon::current_thread_index().is_some() {
        rayon::spawn(job);
        return true;
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

    fn pool(threads: usize) -> Arc<ThreadPool> {
        Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap(),
        )
    }

    #[test]
    fn every_index_runs_once_on_every_route() {
        let p = pool(3);
        let count = |n: usize| {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            for_each_index(n, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            hits.iter().all(|h| h.load(Ordering::Relaxed) == 1)
        };
        assert!(count(5)); // no pool: serial
        assert!(with_engine_pool(&p, || count(5) && pool_threads() == 3));
        assert!(p.install(|| count(5)));
        assert_eq!(
            with_engine_pool(&p, || map_index(4, |i| i * i)),
            vec![Some(0), Some(1), Some(4), Some(9)]
        );
        assert_eq!(pool_threads(), 1, "the context is restored");
    }

    #[test]
    fn detached_jobs_run_in_the_pool_of_the_context() {
        let p = pool(2);
        assert!(!spawn_detached(|| {}), "no pool, no job");
        for route in 0..2 {
            let done = Arc::new(OnceLock::new());
            let cell = Arc::clone(&done);
            let spawned = match route {
                0 => with_engine_pool(&p, || {
                    spawn_detached(move || {
                        let _ = cell.set(1);
                    })
                }),
                _ => p.install(|| {
                    spawn_detached(move || {
                        let _ = cell.set(2);
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
