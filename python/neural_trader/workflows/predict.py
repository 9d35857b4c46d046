"""``neural-trader predict``: a trained model's outputs for every window of the given bars, as a table.

Every window whose last bar is in the data gets a row, including the latest bars whose future is not
known yet (that is what a prediction is for). The ``part`` column says whether the window ends inside the
model's training, validation or test period (``after``: later than its test period, truly out of sample),
so in-sample rows are never mistaken for forecasts. Forecasts are given in the target's own units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neural_trader import native
from neural_trader.data import Series, make_windows
from neural_trader.errors import ConfigError
from neural_trader.models import MODELS, served_models
from neural_trader.workflows.build import check_finite_outputs, native_outputs, torch_outputs
from neural_trader.workflows.checkpoints import TrainedModel


def predict(
    trained: TrainedModel,
    series: list[Series],
    *,
    use_native: bool = False,
    device: str = "cpu",
) -> pd.DataFrame:
    """One row per window: ``timestamp``, ``symbol``, ``part``, then the outputs.

    Classifiers: ``p_<class>`` for each class (``p_down``, ``p_up``; ``p_down``, ``p_flat``, ``p_up`` for
    triple-barrier labels; ``p_<value>`` for your classes) and ``predicted`` (the class's label value:
    0/1 for direction, -1/0/1 for triple barrier, your value). Regression labels: ``predicted``, in the
    label's units. ``trend_attention`` adds ``trend``; with several horizons every column is per horizon
    (``p_up_7``, ``predicted_7``, ``trend_7``, ``p_up_30``, ...). ``lstm_attention``: ``<target>_t+<k>``
    for every step.

    Raises:
        ConfigError: ``use_native`` with a model the Rust engine does not serve.
        CheckpointError: outputs that are NaN or infinite (e.g. NaN weights): never a class from them.
        DataError: a column the model reads is missing from the bars, or bars with a time zone for a
            model trained without one (or the reverse).
    """
    spec = trained.spec
    engine = None
    if use_native:
        if not MODELS[trained.name].served():
            raise ConfigError(
                f"{trained.name} is not served by the native engine (served: {', '.join(served_models())}); "
                "leave out --native to predict with PyTorch"
            )
        engine = native.load(trained.path)
    frames = []
    for s in series:
        trained.check_times(s)
        w = make_windows(s, spec, trained.scaler, labelled=False)
        out = (
            native_outputs(engine, w.x, spec)
            if engine is not None
            else torch_outputs(trained.model, w.x, spec, device=device)
        )
        dates = pd.DatetimeIndex(w.dates)
        check_finite_outputs(out, trained.path, dates, trained.model)
        frame = pd.DataFrame(
            {"timestamp": dates, "symbol": s.symbol, "part": trained.part_of(s.symbol, dates)}
        )
        heads = [k.removeprefix("proba_") for k in out if k.startswith("proba_")]
        for suffix in [f"_{h}" for h in heads] or [""]:
            p = out[f"proba{suffix}"] if f"proba{suffix}" in out else None
            if p is None:
                continue
            names = spec.class_names() if len(spec.class_names()) == p.shape[1] else range(p.shape[1])
            for k, name in enumerate(names):
                frame[f"p_{name}{suffix}"] = p[:, k]
            values = spec.class_values() if len(spec.class_values()) == p.shape[1] else range(p.shape[1])
            frame[f"predicted{suffix}"] = np.asarray(values)[p.argmax(axis=1)]
            if f"trend{suffix}" in out:
                frame[f"trend{suffix}"] = out[f"trend{suffix}"]
        if "value" in out:
            frame["predicted"] = trained.label_units(out["value"])
        if "forecast" in out:
            mean, std = trained.scaler.arrays()
            idx = [trained.scaler.columns.index(t) for t in spec.targets]
            values = out["forecast"] * std[idx] + mean[idx]
            for k in range(values.shape[1]):
                for j, t in enumerate(spec.targets):
                    frame[f"{t}_t+{k + 1}"] = values[:, k, j]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
