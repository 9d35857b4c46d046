"""Coverage-guided fuzzing of the checkpoint loaders with atheris (libFuzzer for Python).

Usage: ``python rel_atheris.py CORPUS_DIR -runs=N [libFuzzer flags]``. The corpus is seeded with valid
checkpoints of every registered model; each input goes through ``nt.native.from_bytes``,
``nt.Checkpoint.from_bytes`` and the PyTorch twin's ``from_checkpoint``. A typed ``NeuralTraderError`` is
the expected outcome of a bad input; any other exception is reported by atheris as a crash (with the
input saved by libFuzzer), and so is a hard crash of the process. The Python code is instrumented for
coverage; the Rust extension is not (its own fuzzers are ``crates/nt-core/tests/fuzz_*.rs``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["neural_trader"]):
    import neural_trader as nt
    from neural_trader.errors import NeuralTraderError


def test_one_input(data: bytes) -> None:
    try:
        nt.native.from_bytes(data, threads=1)
    except NeuralTraderError:
        pass
    try:
        ck = nt.Checkpoint.from_bytes(data)
        cls = nt.MODELS.get(ck.model)
        if cls is not None:
            cls.from_checkpoint(ck)
    except NeuralTraderError:
        pass


def seed_corpus(folder: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from rel_cases_checkpoints import models

    folder.mkdir(parents=True, exist_ok=True)
    for name, model in models().items():
        (folder / f"{name}.safetensors").write_bytes(model.to_checkpoint().to_bytes())


def main() -> None:
    corpus = Path(sys.argv[1])
    seed_corpus(corpus)
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[2:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
