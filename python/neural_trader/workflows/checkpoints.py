"""Reading back what ``train`` stored in a checkpoint: the model, its data spec (with its resolved input
columns), scaler, label scaler and splits."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import neural_trader as nt
from neural_trader.checkpoint import Checkpoint, naming_file
from neural_trader.data import DataSpec, Scaler, Series, Split
from neural_trader.data.times import SOURCE_TIME_ZONE
from neural_trader.errors import CheckpointError, ConfigError, DataError
from neural_trader.models import TwinModel
from neural_trader.workflows.metadata_checks import (
    NAIVE,
    as_utc,
    check_spec_agrees,
    periods_convention,
)


@dataclass
class TrainedModel:
    """A checkpoint written by ``train``, parsed.

    Attributes:
        path: the file. name: registry name. model: the torch twin (eval mode).
        spec: the data spec. scaler: the scaler (None for candle inputs).
        splits: ``{symbol: Split}`` it was trained with.
        periods: ``{symbol: {part: [first, last]}}`` window-end dates of each part (ISO strings).
        label_scaler: the standardisation of a regression label (None for other labels).
        time_convention: ``"naive"`` (trained on timestamps without a time zone) or ``"UTC"``.
    """

    path: Path
    name: str
    model: TwinModel
    spec: DataSpec
    scaler: Scaler | None
    splits: dict[str, Split]
    periods: dict[str, dict[str, list[str]]]
    label_scaler: Scaler | None = None
    time_convention: str = NAIVE

    def check_times(self, series: Series) -> None:
        """Checks that the bars of ``series`` follow the checkpoint's time convention: naive timestamps
        for a model trained on naive ones, timestamps with a time zone (compared in UTC) for one trained
        on those.

        Raises:
            DataError: naming both conventions and what to change.
        """
        aware = series.index.tz is not None
        if aware == (self.time_convention != NAIVE):
            return
        if aware:
            zone = series.bars.attrs.get(SOURCE_TIME_ZONE, str(series.index.tz))
            raise DataError(
                f"{series.symbol}: the bars carry a time zone ({zone}, read as UTC) but {self.path} was "
                "trained on timestamps without one: give the bars as the model was trained (local times "
                "without an offset), or retrain on these bars"
            )
        raise DataError(
            f"{series.symbol}: the bars have no time zone but {self.path} was trained on timestamps with "
            "one (kept as UTC): give the bars with their UTC offsets, as the model was trained, or retrain"
        )

    def label_units(self, value: np.ndarray) -> np.ndarray:
        """A regression head's standardised output in the label's own units."""
        if self.label_scaler is None:
            return np.asarray(value, dtype=np.float64)
        return np.asarray(value, dtype=np.float64) * self.label_scaler.std[0] + self.label_scaler.mean[0]

    def split_for(self, series: Series) -> Split:
        """The split of ``series``: by symbol name, or the only one when both sides have one series
        (a renamed file), checked against the rows.

        Raises:
            ConfigError: the checkpoint has no split for the symbol, or the split does not fit it.
            DataError: bars in another time convention than the checkpoint's (:meth:`check_times`).
        """
        self.check_times(series)
        split = self.splits.get(series.symbol)
        if split is None and len(self.splits) == 1:
            split = next(iter(self.splits.values()))
        if split is None:
            raise ConfigError(
                f"{self.path} was not trained on symbol {series.symbol!r} "
                f"(its symbols: {', '.join(self.splits)})"
            )
        try:
            split.check(n_rows=series.n_rows, horizon=self.spec.horizon, index=series.index)
        except ConfigError as exc:
            raise ConfigError(f"{series.symbol} is not the data {self.path} was trained on: {exc}") from None
        return split

    def part_of(self, symbol: str, dates: pd.DatetimeIndex) -> list[str]:
        """``train``/``val``/``test`` for window-end dates inside a part, ``after`` for dates past the
        test part (out of sample), ``other`` for the rest (embargo gaps, unknown symbols)."""
        periods = self.periods.get(symbol)
        if periods is None and len(self.periods) == 1:
            periods = next(iter(self.periods.values()))
        out = ["other"] * len(dates)
        if not periods:
            return out
        if (dates.tz is not None) != (self.time_convention != NAIVE):
            return out  # another time convention: check_times names it where it matters
        if dates.tz is not None:
            dates = dates.tz_convert("UTC")
        bounds = {p: tuple(as_utc(pair)) for p, pair in periods.items()}
        last = max(b for _, b in bounds.values())
        for i, d in enumerate(dates):
            for part, (a, b) in bounds.items():
                if a <= d <= b:
                    out[i] = part
                    break
            else:
                if d > last:
                    out[i] = "after"
        return out


def read_trained(path: str | os.PathLike) -> TrainedModel:
    """Loads a checkpoint written by ``train``.

    Raises:
        FileNotFoundError: no such file. CheckpointError: not a checkpoint, or one without the data spec
            that ``train`` stores (e.g. a pre-trained encoder or a model saved by hand).
    """
    path = Path(path)
    ck = Checkpoint.read(path)
    if "data" not in ck.extra or "splits" not in ck.extra:
        raise CheckpointError(
            f"{path}: no data spec or splits in the metadata: evaluate and predict read checkpoints "
            "written by `neural-trader train` (or the quickstart)"
        )
    if ck.model not in nt.MODELS:
        raise CheckpointError(f"{path}: unknown model {ck.model!r}")
    with naming_file(path):
        model = nt.MODELS[ck.model].from_checkpoint(ck)
    try:
        spec = DataSpec.from_json(ck.extra["data"])
        splits = {str(k): Split.from_json(json.dumps(v)) for k, v in _json_object(ck.extra["splits"]).items()}
        periods = _periods(_json_object(ck.extra.get("periods", "{}")))
        scaler = Scaler.from_dict(_json_object(ck.extra["scaler"])) if "scaler" in ck.extra else None
        label_scaler = (
            Scaler.from_dict(_json_object(ck.extra["label_scaler"])) if "label_scaler" in ck.extra else None
        )
        scaled = spec.scaled_columns
    except (ValueError, TypeError, RecursionError) as exc:  # JSONDecodeError and ConfigError included
        raise CheckpointError(f"{path}: unreadable training metadata: {exc}") from None
    check_spec_agrees(path, model, spec)
    convention = periods_convention(path, splits, periods)
    if not splits:
        raise CheckpointError(f"{path}: the training metadata holds no split")
    if scaled and scaler is None:
        raise CheckpointError(f"{path}: standardised inputs but no scaler in the training metadata")
    if scaler is not None:
        _check_scaler_columns(path, scaler, scaled)
    if spec.is_regression and label_scaler is None:
        raise CheckpointError(f"{path}: a regression label but no label_scaler in the training metadata")
    return TrainedModel(path, ck.model, model, spec, scaler, splits, periods, label_scaler, convention)


def _check_scaler_columns(path: Path, scaler: Scaler, scaled: tuple[str, ...]) -> None:
    """The scaler's column names must be the spec's standardised input columns, in order (values permuted
    under the right names cannot be told from the file: docs/guarantees.md)."""
    if scaler.columns == scaled:
        return
    for k, (held, wanted) in enumerate(zip(scaler.columns, scaled, strict=False)):
        if held != wanted:
            where = f"column {k} of the scaler is {held!r}, where the inputs have {wanted!r}"
            break
    else:
        where = f"the scaler has {len(scaler.columns)} columns, the inputs {len(scaled)}"
    raise CheckpointError(
        f"{path}: the scaler's columns are not the model's standardised inputs in order: {where}"
    )


def _json_object(text: str) -> dict:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _periods(value: dict) -> dict[str, dict[str, list[str]]]:
    """Checks ``{symbol: {part: [first, last]}}`` with ISO timestamps."""
    for symbol, parts in value.items():
        if not isinstance(parts, dict):
            raise ValueError(f"periods of {symbol!r} must be an object")
        for part, bounds in parts.items():
            if not (
                isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, str) for b in bounds)
            ):
                raise ValueError(f"period {symbol}/{part} must be two timestamps, got {bounds!r}")
            pd.Timestamp(bounds[0]), pd.Timestamp(bounds[1])
    return value
