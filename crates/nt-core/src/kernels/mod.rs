//! Data kernels: sliding windows, z-score statistics, masks, OHLCV augmentation, the window gather of
//! constant-memory training and triple-barrier labels.
//!
//! Every kernel takes flat row-major buffers (what numpy hands over without a copy), validates shapes,
//! values and parameters up front (returning [`crate::Error`], never panicking on user input), and runs
//! in parallel over windows or rows with rayon. Random kernels seed one generator per row from
//! `(seed, row)` ([`rng`]), so their output does not depend on the number of threads.

pub mod augment;
pub mod barriers;
pub mod gather;
pub mod mask;
pub mod rng;
pub mod series;
pub mod stats;
pub mod windows;

pub use augment::{augment, augment_dataset, AugmentConfig};
pub use barriers::{triple_barrier, BarrierLabels, TripleBarrier, VerticalLabel};
pub use gather::{gather_shape, gather_windows, gather_windows_new};
pub use mask::{mask, masked_steps, MaskConfig, MaskStrategy};
pub use series::{Sample, SeriesView};
pub use stats::{zscore_stats, ZScore};
pub use windows::{num_windows, sliding_windows};
