"""No code is ever loaded from a file: the package source has no pickle, no ``torch.load``, no
``numpy.load(allow_pickle=True)`` and nothing else that unpickles or executes what a file holds.

The scan reads the code (tokens and the syntax tree), not comments or docstrings, so the package may
still say "no pickle" in prose. The scanner is tested on snippets first, so it cannot pass by finding
nothing.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "neural_trader"

# Modules whose whole purpose is loading code or pickles from bytes.
BANNED_MODULES = {
    "pickle",
    "_pickle",
    "cPickle",
    "cloudpickle",
    "dill",
    "joblib",
    "marshal",
    "shelve",
    "jsonpickle",
}
# Calls (dotted, after import aliases are resolved) that unpickle or execute a file's content.
BANNED_CALLS = {
    "torch.load",
    "torch.jit.load",
    "torch.package.PackageImporter",
    "torch.serialization.load",
    "pandas.read_pickle",
    "numpy.load",
    "eval",
    "exec",
}
# Identifiers that only appear around pickle-based loading.
BANNED_NAMES = {"weights_only", "allow_pickle", "read_pickle", "to_pickle", "Unpickler", "__reduce__"}


def violations(source: str, filename: str = "<snippet>") -> list[str]:
    """Every banned use in ``source``, as ``file:line: what``."""
    found: list[str] = []
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        if tok.type == tokenize.NAME and (tok.string in BANNED_NAMES or "pickle" in tok.string.lower()):
            found.append(f"{filename}:{tok.start[0]}: name `{tok.string}`")
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                if a.name.split(".")[0] in BANNED_MODULES:
                    found.append(f"{filename}:{node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in BANNED_MODULES:
                found.append(f"{filename}:{node.lineno}: from {node.module} import ...")
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func, aliases)
            if name in BANNED_CALLS or name.replace("np.", "numpy.", 1) in BANNED_CALLS:
                found.append(f"{filename}:{node.lineno}: call {name}()")
            for kw in node.keywords:
                if kw.arg in ("allow_pickle", "weights_only"):
                    found.append(f"{filename}:{node.lineno}: keyword {kw.arg}=")
            if name in ("getattr", "importlib.import_module", "__import__") and node.args:
                first = node.args[-1] if name == "getattr" else node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    if first.value.split(".")[0] in BANNED_MODULES or first.value in ("load", "loads"):
                        found.append(f"{filename}:{node.lineno}: dynamic {name}({first.value!r})")
    return found


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(aliases.get(node.id, node.id))
    else:  # a call's or subscript's attribute, e.g. `model(...).eval()`: never a banned module function
        parts.append("<expr>")
    return ".".join(reversed(parts))


@pytest.mark.parametrize(
    "snippet",
    [
        "import pickle",
        "import pickle as p",
        "from pickle import loads",
        "import torch\ntorch.load('m.pt')",
        "import torch as T\nT.load(f)",
        "from torch import load\nload(f)",
        "import torch\ntorch.load(f, weights_only=True)",
        "import numpy as np\nnp.load('x.npy', allow_pickle=True)",
        "import numpy\nnumpy.load('x.npy')",
        "import pandas as pd\npd.read_pickle('x')",
        "import importlib\nimportlib.import_module('pickle')",
        "import torch\ntorch.jit.load('m.pt')",
        "eval(open('cfg').read())",
        "import joblib\njoblib.load('m')",
        "class A:\n    def __reduce__(self):\n        return (A, ())",
    ],
)
def test_scanner_catches(snippet: str) -> None:
    assert violations(snippet), f"scanner missed: {snippet!r}"


@pytest.mark.parametrize(
    "snippet",
    [
        '"""No pickle anywhere: torch.load is never used."""',
        "# pickle is never imported",
        "from safetensors.torch import load as st_load\nst_load(data)",
        "import json\njson.loads(text)",
        "import torch\ntorch.save",
        "model = make().eval()",
    ],
)
def test_scanner_allows_prose_and_safe_loaders(snippet: str) -> None:
    assert violations(snippet) == []


def test_package_source_loads_no_code_from_files() -> None:
    files = sorted(PACKAGE.rglob("*.py")) + sorted(PACKAGE.rglob("*.pyi"))
    assert len(files) > 20, f"package not found at {PACKAGE}"
    found = [v for f in files for v in violations(f.read_text(encoding="utf-8"), str(f.relative_to(PACKAGE)))]
    assert not found, "code that can load pickles or code from a file:\n" + "\n".join(found)
