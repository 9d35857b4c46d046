#!/usr/bin/env bash
# Builds the installable distributions of neural_trader into dist/ (or $OUT_DIR):
#   * a CPU wheel: abi3 (CPython >= 3.10), tagged manylinux_2_28, linked with zig so it runs on any
#     glibc >= 2.28 (Debian 10+, Ubuntu 18.10+, RHEL 8+), then checked with auditwheel;
#   * a CUDA wheel from the same sources with `--features cuda`, its kernels compiled by nvcc 13.0 from
#     PyPI's CUDA wheels (the lent GPU machines run driver 580 = CUDA 13.0: a newer nvcc emits PTX that
#     driver may refuse), CUDA_COMPUTE_CAP (default 90: H100/H200);
#   * the sdist, which builds with `pip install neural_trader-*.tar.gz` where Rust is installed.
#
# Usage: scripts/build_wheels.sh [--cpu]      (--cpu: the CPU wheel and the sdist only)
# Tools (maturin, ziglang, auditwheel, the CUDA wheels) are installed into virtualenvs of their own under
# $WHEEL_TOOLS (default /tmp/nt-wheel-tools); each wheel kind has its own cargo target directory, because
# the zig linker and the cuda feature each change what candle is compiled with.
set -euo pipefail
cd "$(dirname "$0")/.."

cpu_only=0
for arg in "$@"; do
  case "$arg" in
    --cpu) cpu_only=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build_wheels: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

out=${OUT_DIR:-dist}
tools=${WHEEL_TOOLS:-/tmp/nt-wheel-tools}
mkdir -p "$out"

venv() {  # venv DIR PACKAGE...: a virtualenv holding exactly these packages
  local dir=$1; shift
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@"
}

venv "$tools/build" "maturin>=1.7,<2" "ziglang>=0.13" "auditwheel>=6"
export PATH="$tools/build/bin:$PATH"

echo "== CPU wheel (abi3, manylinux_2_28, zig)"
CARGO_TARGET_DIR=${CARGO_TARGET_DIR_CPU:-target/wheel-cpu} \
  maturin build --release --zig --compatibility manylinux_2_28 --out "$out"
cpu_wheel=$(ls -t "$out"/neural_trader-*-abi3-manylinux_2_28_x86_64.whl | head -1)
auditwheel show "$cpu_wheel" | tee "$out/auditwheel-cpu.txt"
grep -q '"manylinux_2_28_x86_64"' "$out/auditwheel-cpu.txt" || {
  echo "build_wheels: $cpu_wheel is not manylinux_2_28 compliant" >&2
  exit 1
}

echo "== sdist"
maturin sdist --out "$out"

if [ "$cpu_only" = 1 ]; then
  ls -la "$out"
  exit 0
fi

echo "== CUDA wheel (--features cuda, nvcc 13.0 from PyPI, CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90})"
# The versions that the cuda-toolkit==13.0.2 meta-package pins.
venv "$tools/cuda13.0" nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-cccl==13.0.85 \
  nvidia-cublas==13.1.0.3 nvidia-curand==10.4.0.35
site=$("$tools/cuda13.0/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cuda="$site/nvidia/cu13"
for f in bin/nvcc nvvm/bin/cicc include/cuda_runtime.h; do
  [ -e "$cuda/$f" ] || { echo "build_wheels: $cuda/$f missing from the CUDA wheels" >&2; exit 1; }
done
# Link directory: candle links the CUDA libraries dynamically (-lcudart -lcublas -lcurand -lnvrtc and the
# driver's -lcuda). The wheels hold only versioned files (libcudart.so.13) and no driver, so lib64/ gets
# unversioned links to them and a stub libcuda.so (SONAME libcuda.so.1) defining the driver entry points
# that cudarc declares: at run time the real driver is loaded in its place. cudarc's build script already
# searches <root>/lib64.
rm -rf "$cuda/lib64"
mkdir -p "$cuda/lib64"
for lib in cudart cublas cublasLt curand nvrtc; do
  versioned=$(cd "$cuda/lib" && ls "lib$lib.so."[0-9]* | head -1)
  ln -sf "../lib/$versioned" "$cuda/lib64/lib$lib.so"
done
cargo fetch --quiet
cudarc_version=$(sed -n '/^name = "cudarc"$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
cudarc_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"cudarc-$cudarc_version" | head -1)
grep -ho 'fn cu[A-Z][A-Za-z0-9_]*' "$cudarc_src/src/driver/sys/mod.rs" | sed 's/^fn //' | sort -u |
  awk '{print "void " $1 "(void) {}"}' > "$tools/cuda_driver_stub.c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib64/libcuda.so" "$tools/cuda_driver_stub.c"
(
  export PATH="$cuda/bin:$PATH" CUDA_ROOT="$cuda" CUDA_PATH="$cuda" CUDA_HOME="$cuda" NVCC="$cuda/bin/nvcc"
  export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR_CUDA:-target/wheel-cuda}
  nvcc --version | tail -1
  # No zig here: candle-kernels links a static libmoe.a through `-lmoe`, which zig's linker only looks
  # up as a shared library. The wheel keeps the plain linux_x86_64 tag: it needs glibc 2.34 and the CUDA
  # libraries below, which no manylinux policy lists. The extension finds cudart/cuBLAS/cuRAND in
  # site-packages/nvidia/cu13/lib (crates/nt-py/build.rs sets that run path): install them with
  # `pip install nvidia-cuda-runtime nvidia-cublas nvidia-curand` (CUDA 13), as PyTorch's cu130 wheels do.
  maturin build --release --features cuda --auditwheel skip --out "$out/cuda"
)
cuda_wheel=$(ls -t "$out"/cuda/neural_trader-*.whl | head -1)
auditwheel show "$cuda_wheel" | tee "$out/auditwheel-cuda.txt" || true
ls -la "$out" "$out/cuda"
