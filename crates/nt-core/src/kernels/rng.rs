//! Counter-based random numbers for the kernels: one SplitMix64 generator per row (or window), seeded
//! from `(seed, domain, index)` by hashing.
//!
//! Why not one shared generator: rows are processed in parallel by rayon, in an order that depends on
//! the thread count and on scheduling. Deriving each row's generator from its index alone makes the
//! output a pure function of `(seed, row)`, so the same seed gives the same masks on 1 thread or 64.
//! SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014) is
//! tiny, passes BigCrush, and its finaliser [`mix64`] is a good 64-bit hash for seeding.

/// Domain tag of the mask kernel, so masks and augmentations drawn with the same seed are independent.
pub const DOMAIN_MASK: u64 = 0x6d61_736b_0000_0001;
/// Domain tag of the augmentation kernel.
pub const DOMAIN_AUGMENT: u64 = 0x6175_676d_0000_0002;

const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijective 64-bit mixer (every input bit affects every output bit).
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A SplitMix64 generator: 64 bits of state, one add and one [`mix64`] per draw.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// Generator whose first output is `mix64(seed + GOLDEN_GAMMA)`, as in the reference implementation.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The generator of stream `index` in `domain` under `seed`. Distinct `(seed, domain, index)` give
    /// unrelated starting points in the 2^64-long sequence, so streams do not overlap in practice.
    pub fn for_stream(seed: u64, domain: u64, index: u64) -> Self {
        let key = mix64(seed ^ mix64(domain));
        Self::new(mix64(key ^ mix64(index.wrapping_add(GOLDEN_GAMMA))))
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)` (`lo` when `lo == hi`).
    #[inline]
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform integer in `[0, n)`, without modulo bias (Lemire's multiply-shift with rejection).
    /// Returns 0 when `n == 0`, so callers never divide by zero.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    /// Uniform index in `[0, n)` as `usize`.
    #[inline]
    pub fn below_usize(&mut self, n: usize) -> usize {
        // usize is at most 64 bits on every supported target, so both conversions are lossless.
        self.below(n as u64) as usize
    }

    /// Two independent standard normal draws (Box-Muller), from two uniform draws.
    #[inline]
    pub fn normal_pair(&mut self) -> (f64, f64) {
        let u1 = 1.0 - self.next_f64(); // in (0, 1], so ln is finite
        let u2 = self.next_f64();
        let r = (-2.0 * u1.ln()).sqrt();
        let (sin, cos) = (std::f64::consts::TAU * u2).sin_cos();
        (r * cos, r * sin)
    }

    /// One standard normal draw (the first of [`normal_pair`](Self::normal_pair); the generator keeps
    /// no cached second value, so its state stays a single u64).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        self.normal_pair().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_splitmix64() {
        // First outputs of the reference C implementation (https://prng.di.unimi.it/splitmix64.c)
        // seeded with 1234567.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = SplitMix64::new(7);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            let k = rng.below(7) as usize;
            counts[k] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut rng = SplitMix64::for_stream(3, DOMAIN_AUGMENT, 9);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "var {var}");
    }

    #[test]
    fn normal_pair_is_uncorrelated() {
        let mut rng = SplitMix64::new(5);
        let n = 100_000;
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for _ in 0..n {
            let (a, b) = rng.normal_pair();
            sab += a * b;
            saa += a * a;
            sbb += b * b;
        }
        assert!((sab / n as f64).abs() < 0.01);
        assert!((saa / n as f64 - 1.0).abs() < 0.02 && (sbb / n as f64 - 1.0).abs() < 0.02);
    }

    #[test]
    fn streams_differ() {
        let a = SplitMix64::for_stream(0, DOMAIN_MASK, 0).next_u64();
        let b = SplitMix64::for_stream(0, DOMAIN_MASK, 1).next_u64();
        let c = SplitMix64::for_stream(1, DOMAIN_MASK, 0).next_u64();
        let d = SplitMix64::for_stream(0, DOMAIN_AUGMENT, 0).next_u64();
        assert!(a != b && a != c && a != d && b != c);
    }
}
