#!/usr/bin/env bash
# One command for a GPU machine: put the CUDA build of the extension in place, run the GPU test suite,
# time the recipe's masked pre-training workload and the engine-vs-cuDNN benchmark on the device, and
# write everything into one JSON ($OUT_DIR/gpu_check.json, default runs/gpu_check).
#
# Usage: scripts/gpu_check.sh [CUDA_WHEEL]
#   CUDA_WHEEL: a wheel built by `scripts/build_wheels.sh` (dist/cuda/neural_trader-*.whl, the default when
#   present). Without one, the extension is built here with `--features cuda` for the GPU found
#   (CUDA_COMPUTE_CAP from nvidia-smi), which needs Rust and nvcc. The lent GPU machines have no Rust:
#   build the wheel where Rust is, carry it, and pass it here.
#
# Every step runs even when an earlier one fails; each one's exit status is in the JSON, and the script
# exits non-zero if any failed. Sized for one 10-minute run on a 16-core machine.
set -uo pipefail
cd "$(dirname "$0")/.."

out=${OUT_DIR:-runs/gpu_check}
mkdir -p "$out"
python=${PYTHON:-python3}
status=0
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, records its exit status
  local name=$1; shift
  echo "== $name"
  "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "$rc" > "$out/$name.rc"
  tail -n 15 "$out/$name.log"
  [ "$rc" = 0 ] || status=1
}

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi finds none); nothing to check" >&2
  exit 2
fi
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader \
  | tee "$out/gpu.txt"
cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d ' .')

wheel=${1:-$(ls -t dist/cuda/neural_trader-*.whl 2>/dev/null | head -1)}
site="$out/site"
if [ -n "$wheel" ]; then
  echo "== install $wheel"
  rm -rf "$site"
  "$python" -m pip install -q --no-deps --no-compile --target "$site" "$wheel" || exit 1
  export PYTHONPATH="$PWD/$site${PYTHONPATH:+:$PYTHONPATH}"
elif command -v cargo >/dev/null && command -v nvcc >/dev/null; then
  echo "== build the extension with --features cuda (CUDA_COMPUTE_CAP=$cap)"
  CUDA_COMPUTE_CAP=$cap cargo build --release --features cuda -p nt-py || exit 1
  cp target/release/lib_core.so python/neural_trader/_core.abi3.so
  export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
else
  echo "gpu_check: no CUDA wheel given and no Rust/nvcc to build one (see scripts/build_wheels.sh)" >&2
  exit 2
fi
# The extension links cudart, cuBLAS and cuRAND (CUDA 13): PyTorch's cu13 wheels ship them.
nvidia_lib=$("$python" -c 'import os, nvidia; print(os.path.join(os.path.dirname(nvidia.__path__[0]), "nvidia", "cu13", "lib"))' 2>/dev/null)
[ -n "$nvidia_lib" ] && export LD_LIBRARY_PATH="$nvidia_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

step engine "$python" -c 'import neural_trader as nt; print(nt.__file__); print("cuda_available", nt.native.cuda_available()); assert nt.native.cuda_available()'
step gpu_tests "$python" -m pytest -m gpu tests/gpu -q -rs -p no:cacheprovider --junitxml "$out/gpu_tests.xml"
step pretrain_workload "$python" -m neural_trader.cli bench --only pretrain --device cuda --steps 20 \
  --val-batches 5 --json "$out/pretrain_workload.json"
step bench "$python" -m neural_trader.cli bench --only models --device cuda --json "$out/bench.json"

"$python" - "$out" <<'PY'
import json, sys, xml.etree.ElementTree as ET
from pathlib import Path
out = Path(sys.argv[1])
def load(name):
    p = out / name
    return json.loads(p.read_text()) if p.exists() else None
result = {"gpu": (out / "gpu.txt").read_text().strip(), "steps": {}}
for rc in sorted(out.glob("*.rc")):
    result["steps"][rc.stem] = int(rc.read_text())
xml = out / "gpu_tests.xml"
if xml.exists():
    suite = ET.parse(xml).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    result["gpu_tests"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    result["gpu_tests"]["failed"] = [
        f"{c.get('classname')}::{c.get('name')}" for c in suite.iter("testcase")
        if c.find("failure") is not None or c.find("error") is not None
    ]
result["pretrain_workload"] = load("pretrain_workload.json")
result["bench"] = load("bench.json")
(out / "gpu_check.json").write_text(json.dumps(result, indent=2))
print(f"written {out / 'gpu_check.json'}")
PY
exit $status
