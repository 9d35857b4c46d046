#!/usr/bin/env bash
# Every test, Rust and Python, plus the lints. Uses the active virtualenv, or makes ./.venv.
# The extension is compiled once, in release; `cargo test --release` reuses those artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[test]"

echo "== lint"
cargo fmt --all --check
cargo clippy --release --workspace --all-targets -- -D warnings
ruff check python tests
ruff format --check python tests

echo "== cargo test"
cargo test --release -p nt-core

echo "== pytest"
python -m pytest
