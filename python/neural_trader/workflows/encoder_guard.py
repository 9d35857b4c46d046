"""The pre-training leakage guard of ``train --pretrained-encoder``: an encoder pre-trained on bars of this
split's validation or test rows has looked at them (self-supervised, but still a look) before they are
predicted, so it is refused.

Bars are recognised by content (:mod:`neural_trader.data.fingerprint`: timestamps and closes), so the
same bars under another file name or symbol are caught; an encoder written by ``pretrain`` before
fingerprints existed is checked by symbol name and dates. An encoder with no provenance at all (saved
from the Python API) cannot be checked: ``train`` says so on one line of stderr and in the checkpoint's
``encoder_provenance`` metadata.
"""

from __future__ import annotations

import json
import os
import sys

import pandas as pd

from neural_trader.checkpoint import Checkpoint
from neural_trader.data import DataSpec, Series, Split
from neural_trader.data.fingerprint import overlap
from neural_trader.errors import CheckpointError, ConfigError

#: The metadata key of the fingerprints ``pretrain`` writes: ``{symbol: fingerprint}``.
FINGERPRINT_KEY = "pretrain_fingerprint"
_FIX = "pre-train on the training rows of the same split (pretrain --split FILE --fold K)"


def check_encoder(
    path: str | os.PathLike, spec: DataSpec, series: list[Series], splits: dict[str, Split]
) -> dict[str, str]:
    """Refuses an encoder of other inputs, or one pre-trained on bars of this split's validation or test
    rows; returns what was checked, for the checkpoint's ``encoder_provenance`` metadata.

    Raises:
        ConfigError: other inputs, or validation/test bars seen (naming the file, the symbol and the
            first such bar). CheckpointError: unreadable provenance metadata.

    Example:
        >>> check_encoder("enc.safetensors", spec, series, splits)        # doctest: +SKIP
        {'checked': 'by content (timestamps and closes of 1 symbol)'}
    """
    extra = Checkpoint.read(path).extra
    if "data" in extra:
        encoder_spec = DataSpec.from_json(extra["data"])
        if encoder_spec.input_columns != spec.input_columns:
            what = encoder_spec.describe_inputs()
            raise ConfigError(
                f"{path} was pre-trained on {what} inputs ({len(encoder_spec.input_columns)} columns), but "
                f"this model reads {spec.describe_inputs()} ({len(spec.input_columns)}): pass --inputs {what}"
            )
    if FINGERPRINT_KEY in extra:
        prints = _fingerprints(path, extra[FINGERPRINT_KEY])
        for s in series:
            val_from = splits[s.symbol].val[0]
            for symbol, fp in prints.items():
                try:
                    row = overlap(fp, s, val_from)
                except (ValueError, TypeError, KeyError) as exc:
                    raise CheckpointError(f"{path}: unreadable {FINGERPRINT_KEY} metadata: {exc}") from None
                if row is not None:
                    raise ConfigError(
                        f"{path} was pre-trained on bars past the start of this split's validation rows "
                        f"({s.index[val_from].date()}): {s.symbol} row {row} ({s.index[row].date()}) has the "
                        f"timestamp and close of a bar the encoder saw ({symbol}, {fp['first'][:10]} .. "
                        f"{fp['last'][:10]}), whatever the file's name: {_FIX}"
                    )
        return {"checked": f"by content (timestamps and closes of {len(prints)} symbol(s))"}
    if "pretrain_periods" in extra:
        _check_by_name(path, extra["pretrain_periods"], series, splits)
        return {"checked": "by symbol name and dates only (an encoder without a content fingerprint)"}
    note = (
        f"{path} carries no pre-training provenance (saved from the Python API?): nothing can check that "
        "it never saw this split's validation or test bars"
    )
    print(f"neural-trader: warning: {note}", file=sys.stderr)
    return {"checked": "no", "warning": note}


def _fingerprints(path: str | os.PathLike, text: str) -> dict[str, dict]:
    try:
        prints = json.loads(text)
        if not isinstance(prints, dict) or not all(isinstance(v, dict) for v in prints.values()):
            raise ValueError("expected {symbol: fingerprint}")
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"{path}: unreadable {FINGERPRINT_KEY} metadata: {exc}") from None
    return prints


def _check_by_name(
    path: str | os.PathLike, text: str, series: list[Series], splits: dict[str, Split]
) -> None:
    """The guard of encoders without a fingerprint: the last date seen per symbol name."""
    try:
        periods = json.loads(text)
        seen = {sym: pd.Timestamp(periods[sym][1]) for sym in periods} if isinstance(periods, dict) else None
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        seen = None
    if seen is None:
        raise CheckpointError(f"{path}: unreadable pretrain_periods metadata")
    for s in series:
        if s.symbol not in seen:
            continue
        seen_until = seen[s.symbol]
        val_from = s.index[splits[s.symbol].val[0]]
        try:
            late = seen_until >= val_from
        except TypeError:  # one side with a time zone, the other without: compare the dates
            late = seen_until.tz_localize(None) >= val_from.tz_localize(None)
        if late:
            raise ConfigError(
                f"{path} was pre-trained on {s.symbol} bars up to {seen_until.date()}, past the start of "
                f"this split's validation rows ({val_from.date()}): {_FIX}"
            )
