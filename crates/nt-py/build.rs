//! With the `cuda` feature, the extension links the CUDA runtime libraries (candle's kernels need
//! cudart, cuBLAS, cuRAND, NVRTC). Their PyPI wheels install into `site-packages/nvidia/cu13/lib`, beside
//! `site-packages/neural_trader/`: an `$ORIGIN`-relative run path finds them there, as PyTorch's CUDA
//! wheels find theirs, without `LD_LIBRARY_PATH`. The CPU build links nothing extra.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-rpath,$ORIGIN/../nvidia/cu13/lib");
    }
}
