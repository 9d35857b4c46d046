#!/usr/bin/env bash
# Compile-checks the `cuda` feature on a machine without a GPU, with nvcc and the CUDA libraries taken
# from PyPI wheels. Not part of CI (it downloads ~1 GB of wheels); run by hand and report the result.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=${CUDA_ENV:-/tmp/nt-cuda-env}
[ -x "$env_dir/bin/python" ] || python3 -m venv "$env_dir"
"$env_dir/bin/pip" install -q nvidia-cuda-nvcc-cu12 nvidia-cuda-runtime-cu12 nvidia-cublas-cu12 \
  nvidia-curand-cu12 nvidia-cuda-nvrtc-cu12
site=$("$env_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cuda="$site/nvidia/cuda_nvcc"
export PATH="$cuda/bin:$PATH"
export CUDA_ROOT="$cuda" CUDA_PATH="$cuda" CUDA_HOME="$cuda"
# Headers and libraries of the runtime, cuBLAS, cuRAND and NVRTC wheels, where the build scripts look.
for lib in cuda_runtime cublas curand cuda_nvrtc; do
  export CPATH="$site/nvidia/$lib/include:${CPATH:-}"
  export LIBRARY_PATH="$site/nvidia/$lib/lib:${LIBRARY_PATH:-}"
done
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
# A target dir of its own: the cuda feature changes candle's features, so nothing is shared with target/.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda-check}
nvcc --version | tail -1
cargo check --release --features cuda -p nt-core -p nt-py
echo "cuda feature: compile check passed (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP)"
