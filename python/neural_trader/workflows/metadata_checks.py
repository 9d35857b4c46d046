"""The checks that a trained checkpoint's metadata agrees with itself: the data spec with the model's class
and config, the split periods with one another. :func:`~neural_trader.workflows.read_trained` runs them at
load, so a file whose parts disagree is refused with one :class:`~neural_trader.errors.CheckpointError`
naming the disagreement, never at the first forward pass inside torch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from neural_trader.data import DataSpec, Series, Split
from neural_trader.data.times import SOURCE_TIME_ZONE
from neural_trader.errors import CheckpointError, ConfigError
from neural_trader.models import TwinModel

#: The two time conventions of a checkpoint's periods (and of bars, see ``data/io.py``).
NAIVE, UTC = "naive", "UTC"


def check_spec_agrees(path: Path, model: TwinModel, spec: DataSpec) -> None:
    """Checks that the data spec describes what ``model`` reads and predicts.

    Raises:
        CheckpointError: another task, another number of input columns, classes, forecast targets,
            steps or horizons than the model's config.

    Example:
        >>> check_spec_agrees(Path("m.safetensors"), model, DataSpec(task="forecast"))  # doctest: +SKIP
        CheckpointError: m.safetensors: bilstm_classifier learns the direction task, but its data spec's
        task is 'forecast'
    """
    name, config = model.registry_name, model.config
    if model.task != spec.task:
        raise CheckpointError(
            f"{path}: {name} learns the {model.task} task, but its data spec's task is {spec.task!r}"
        )
    try:
        columns, num_classes = spec.input_columns, spec.num_classes
    except ConfigError as exc:
        raise CheckpointError(f"{path}: the data spec is not resolved: {exc}") from None
    expected = {"input_size": len(columns)}
    what = {"input_size": f"{len(columns)} input columns ({spec.describe_inputs()})"}
    if hasattr(config, "num_classes"):
        expected["num_classes"] = num_classes
        what["num_classes"] = f"{num_classes} classes ({spec.label} label; 0 = regression)"
    if hasattr(config, "output_size"):
        expected["output_size"] = len(spec.targets)
        what["output_size"] = f"{len(spec.targets)} forecast targets {spec.targets}"
    if spec.task == "forecast" and hasattr(config, "horizon"):
        expected["horizon"] = spec.horizon
        what["horizon"] = f"{spec.horizon} forecast steps"
    if hasattr(config, "horizons"):
        expected["horizons"] = list(spec.horizons or [spec.horizon])
        what["horizons"] = f"trend horizons {expected['horizons']}"
    if hasattr(config, "target_indices") and spec.task == "forecast":
        try:
            expected["target_indices"] = spec.target_indices()
        except ValueError:
            raise CheckpointError(
                f"{path}: the data spec forecasts {spec.targets}, which are not all among its input "
                f"columns {list(columns)}"
            ) from None
        what["target_indices"] = f"targets {spec.targets} at input columns {expected['target_indices']}"
    for field, value in expected.items():
        held = getattr(config, field)
        if held != value:
            raise CheckpointError(
                f"{path}: the model config says {field} = {held!r}, but its data spec yields {what[field]}"
            )


def periods_convention(path: Path, splits: dict[str, Split], periods: dict[str, dict[str, list[str]]]) -> str:
    """The time convention of a checkpoint's timestamps: ``"naive"`` or ``"UTC"`` (every timestamp of the
    split ranges and periods carries an offset, read as UTC).

    Raises:
        CheckpointError: naive and offset timestamps mixed in one file.
    """
    stamps = [t for s in splits.values() for t in (s.time_range or ())]
    stamps += [t for parts in periods.values() for bounds in parts.values() for t in bounds]
    aware = {text: pd.Timestamp(text).tzinfo is not None for text in stamps}
    if not aware:
        return NAIVE
    if all(aware.values()):
        return UTC
    if not any(aware.values()):
        return NAIVE
    naive = next(t for t, a in aware.items() if not a)
    offset = next(t for t, a in aware.items() if a)
    raise CheckpointError(
        f"{path}: its split periods mix timestamps with and without a time zone ({naive!r}, {offset!r})"
    )


def time_record(series: Iterable[Series]) -> dict[str, object]:
    """What ``train`` records of the bars' time (the checkpoint's ``time`` metadata): the convention
    (``"UTC"``: the bars carried a time zone or offsets, converted to UTC at load; ``"naive"``) and, for
    each symbol with one, the source time zone.

    Example:
        >>> time_record(series)                                          # doctest: +SKIP
        {'convention': 'UTC', 'source_time_zone': {'spy': 'UTC offsets -04:00, -05:00'}}
    """
    series = list(series)
    aware = any(s.index.tz is not None for s in series)
    zones = {s.symbol: s.bars.attrs.get(SOURCE_TIME_ZONE, str(s.index.tz)) for s in series if s.index.tz}
    return {"convention": UTC if aware else NAIVE, "source_time_zone": zones}


def as_utc(stamps: Iterable[str]) -> list[pd.Timestamp]:
    """Timestamps (ISO strings) as UTC when they carry an offset, unchanged when naive."""
    out = []
    for text in stamps:
        stamp = pd.Timestamp(text)
        out.append(stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp)
    return out
