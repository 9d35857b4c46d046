#!/usr/bin/env bash
# Prints the crates whose features differ between the extension build (nt-py) and the test build
# (nt-core with dev-dependencies). Any line here makes CI compile candle twice: add the union of the
# features to crates/workspace-hack/Cargo.toml. Prints nothing and exits 0 when unified.
set -euo pipefail
cd "$(dirname "$0")/.."
tree() { cargo tree "$@" -f '{p} [{f}]' --prefix none 2>/dev/null | grep -v '(\*)' | sort -u; }
python3 - <(tree -p nt-py -e normal,build) <(tree -p nt-core -e normal,build,dev) <<'PY'
import re, sys
def load(path):
    out = {}
    for line in open(path):
        m = re.match(r"(\S+) (v\S+)(?: \(.*?\))?(?: \(proc-macro\))? \[(.*)\]", line.strip())
        if m:
            out.setdefault((m[1], m[2]), set()).update(filter(None, m[3].split(",")))
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = [(k, sorted(a[k] - b[k]), sorted(b[k] - a[k])) for k in sorted(set(a) & set(b)) if a[k] != b[k]]
for k, only_ext, only_test in diff:
    print(f"{k[0]} {k[1]}: extension-only {only_ext}, test-only {only_test}")
sys.exit(1 if diff else 0)
PY
