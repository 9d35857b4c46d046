//! How the CPU backends use an engine's threads.
//!
//! An engine runs a call on the calling thread itself, with its own thread pool set as this thread's
//! context ([`with_engine_pool`]); work that pays to spread goes to the pool from there: the parts of a
//! batch ([`for_each_index`], the calling thread taking the first), and the backward direction of a
//! batch-1 BiLSTM ([`with_helper`]: one helper thread for the whole stack). So a batch-1 call wakes at
//! most one pool thread once, instead of handing the call to a pool thread and that thread waking another
//! per layer: each wake-up costs tens of microseconds, and far more on a busy machine, which is what made
//! two-thread latency swing between runs. Called from inside a rayon pool (a worker thread), the same
//! functions use that pool as rayon does.

use std::cell::RefCell;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

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

/// Runs `local` on the calling thread and offers `helper` to one thread of the current pool, returning
/// when both are done. `helper` runs once, on a pool thread or (with no pool, or once `local` is done) on
/// the calling thread; the two may share work through a claim (see the batch-1 BiLSTM), so that the
/// calling thread never waits on a helper that has not started.
pub(crate) fn with_helper(helper: impl FnOnce() + Send, local: impl FnOnce()) {
    if rayon::current_thread_index().is_some() {
        rayon::in_place_scope(|scope| {
            scope.spawn(|_| helper());
            local();
        });
        return;
    }
    match engine_pool() {
        Some(pool) => pool.in_place_scope(|scope| {
            scope.spawn(|_| helper());
            local();
        }),
        None => {
            local();
            helper();
        }
    }
}

/// Waits for `cell` to be set by a thread that is running (never one that may not have started):
/// spinning first, since the other thread is usually microseconds away, then yielding the core.
pub(crate) fn wait_for<T>(cell: &OnceLock<T>) -> &T {
    let mut spins = 0u32;
    loop {
        if let Some(value) = cell.get() {
            return value;
        }
        if spins < 1 << 12 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
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
    fn the_helper_runs_once_beside_the_local_work() {
        let p = pool(2);
        for route in 0..3 {
            let (helper, local) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let run = || {
                with_helper(
                    || {
                        helper.fetch_add(1, Ordering::Relaxed);
                    },
                    || {
                        local.fetch_add(1, Ordering::Relaxed);
                    },
                )
            };
            match route {
                0 => run(),
                1 => with_engine_pool(&p, run),
                _ => p.install(run),
            }
            assert_eq!(
                (helper.into_inner(), local.into_inner()),
                (1, 1),
                "route {route}"
            );
        }
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
