#!/usr/bin/env bash
# Compile-checks the `cuda` feature on a machine without a GPU, with nvcc and the CUDA libraries taken
# from PyPI wheels. Not part of CI (it downloads ~1 GB of wheels); run by hand and report the result.
#
# Why CUDA 13 and not the *-cu12 wheels: no nvidia-cuda-nvcc-cu12 release (12.0.76 .. 12.9.86) ships the
# nvcc driver, only ptxas, nvvm and headers. The CUDA 13 wheels (unsuffixed names) ship bin/nvcc, and they
# all install into one tree, site-packages/nvidia/cu13/{bin,include,lib,nvvm}, laid out like a toolkit.
# The versions are those that the cuda-toolkit==13.4.3 meta-package pins; 13.4 is the newest CUDA that
# cudarc 0.19.10 (candle 0.11's) knows (13.5 panics with "Unsupported cuda toolkit version").
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=${CUDA_ENV:-/tmp/nt-cuda13.4-env}
[ -x "$env_dir/bin/python" ] || python3 -m venv "$env_dir"
"$env_dir/bin/pip" install -q --disable-pip-version-check \
  nvidia-cuda-nvcc==13.4.92 nvidia-cuda-crt==13.4.92 nvidia-nvvm==13.4.92 \
  nvidia-cuda-runtime==13.4.92 nvidia-cuda-nvrtc==13.4.92 nvidia-cuda-cccl==13.3.4.3.1 \
  nvidia-cublas==13.8.0.4 nvidia-curand==10.4.4.72
site=$("$env_dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cuda="$site/nvidia/cu13"
for f in bin/nvcc nvvm/bin/cicc include/cuda_runtime.h include/crt/host_config.h; do
  [ -e "$cuda/$f" ] || { echo "cuda_check: $cuda/$f missing from the wheels" >&2; exit 1; }
done
# Some tools look for lib64/ (cudaforge derives <root>/lib64, cudarc also tries lib/); the wheels have lib/.
[ -e "$cuda/lib64" ] || ln -s lib "$cuda/lib64"
export PATH="$cuda/bin:$PATH"
export CUDA_ROOT="$cuda" CUDA_PATH="$cuda" CUDA_HOME="$cuda" NVCC="$cuda/bin/nvcc"
export LIBRARY_PATH="$cuda/lib:${LIBRARY_PATH:-}"
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
# A target dir of its own: the cuda feature changes candle's features, so nothing is shared with target/.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda-check}
nvcc --version | tail -1
cargo check --release --features cuda -p nt-core -p nt-py
echo "cuda feature: compile check passed (CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP, CUDA $(nvcc --version | sed -n 's/.*release \([0-9.]*\),.*/\1/p'))"
