"""Split files of the CLI: one :class:`~neural_trader.data.Split` (``neural_trader.split``) or a list of
walk-forward folds (``neural_trader.walk_forward``), and the splits a command uses for each symbol.

A walk-forward file::

    {"format": "neural_trader.walk_forward", "version": 1, "mode": "expanding", "horizon": 5,
     "folds": [<split document>, ...]}

Folds are numbered from 1 in messages and in ``--fold``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from neural_trader.data import Series, Split, chronological_split, walk_forward_splits
from neural_trader.data.cv import PURGED_CV_FORMAT
from neural_trader.errors import ConfigError
from neural_trader.files import read_regular_file

WALK_FORWARD_FORMAT = "neural_trader.walk_forward"


def walk_forward(
    series: Series,
    *,
    horizon: int,
    n_folds: int = 3,
    mode: str = "expanding",
    test_size: int | None = None,
    val_size: int | None = None,
    embargo: int | None = None,
) -> list[Split]:
    """Walk-forward folds over the rows of ``series`` (:func:`~neural_trader.data.walk_forward_splits`)."""
    return walk_forward_splits(
        series.n_rows,
        horizon=horizon,
        n_folds=n_folds,
        mode=mode,
        test_size=test_size,
        val_size=val_size,
        embargo=embargo,
        index=series.index,
    )


def walk_forward_json(folds: list[Split], *, mode: str, horizon: int) -> str:
    """The folds as a walk-forward document."""
    doc = {
        "format": WALK_FORWARD_FORMAT,
        "version": 1,
        "mode": mode,
        "horizon": horizon,
        "folds": [json.loads(f.to_json()) for f in folds],
    }
    return json.dumps(doc, indent=2) + "\n"


def read_split_file(path: str | os.PathLike) -> list[Split]:
    """The splits of a split or walk-forward file (one split: a list of one).

    Raises:
        FileNotFoundError: no such file. ConfigError: not a split document, or invalid ranges.
    """
    try:
        text = read_regular_file(path, what="split file").decode("utf-8")
        doc: Any = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(f"{path}: not a JSON split file: {exc}") from None
    if isinstance(doc, dict) and doc.get("format") == PURGED_CV_FORMAT:
        raise ConfigError(
            f"{path} is a purged cross-validation file (splits --kind purged-kfold|cpcv): "
            "`neural-trader tune --split` reads it; train and evaluate take walk-forward or split files"
        )
    if isinstance(doc, dict) and doc.get("format") == WALK_FORWARD_FORMAT:
        folds = doc.get("folds")
        if not isinstance(folds, list) or not folds:
            raise ConfigError(f"{path}: a walk-forward file needs a non-empty list 'folds'")
        try:
            return [Split.from_json(json.dumps(f)) for f in folds]
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    try:
        return [Split.from_json(text)]
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def choose_splits(
    series: list[Series],
    *,
    horizon: int,
    split_file: str | os.PathLike | None = None,
    fold: int | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
) -> tuple[dict[str, Split], str]:
    """The split of every symbol, and a few words saying where it came from.

    Without ``split_file``: a chronological split of each symbol's rows by ``fractions`` with an embargo
    of ``horizon`` rows. With it (one symbol only): its split, or fold ``fold`` (1-based, default the
    last) of a walk-forward file, checked against the rows and the horizon.

    Raises:
        ConfigError: a split file with several symbols, a fold out of range, or a split that does not
            fit the data (other length or dates, embargo below the horizon).
    """
    if split_file is None:
        if fold is not None:
            raise ConfigError("--fold needs --split (a walk-forward file)")
        splits = {
            s.symbol: chronological_split(s.n_rows, horizon=horizon, fractions=fractions, index=s.index)
            for s in series
        }
        return splits, "chronological {:.0%}/{:.0%}/{:.0%} split".format(*fractions)
    if len(series) != 1:
        raise ConfigError(
            "a split file indexes the rows of one series; with a folder of several symbols, leave out "
            "--split (each symbol is split chronologically)"
        )
    folds = read_split_file(split_file)
    k = len(folds) if fold is None else fold
    if not 1 <= k <= len(folds):
        raise ConfigError(f"--fold must be in 1..{len(folds)} for {split_file}, got {fold}")
    split = folds[k - 1]
    s = series[0]
    try:
        split.check(n_rows=s.n_rows, horizon=horizon, index=s.index)
    except ConfigError as exc:
        raise ConfigError(f"{split_file} does not fit {s.symbol}: {exc}") from None
    where = f"fold {k} of {len(folds)} from {split_file}" if len(folds) > 1 else f"split from {split_file}"
    return {s.symbol: split}, where
