"""What ``tune`` searches: a grid of configurations of one or more model families, and how one
configuration is fit on training windows and predicts.

**A plain seeded random search over a grid**, not an adaptive optimiser (Optuna's TPE and the like). Every
configuration of the grid is equally likely and drawn without replacement, so the trials are independent
draws from one stated set: the number of trials is exactly what the deflated Sharpe ratio and the
probability of backtest overfitting must be told, the search is reproducible from its seed, and no
dependency is added. When the grid has no more points than trials, every point is tried (a grid search).

A family is a trainable classifier of the registry (``bilstm_classifier``, ...: sizes from
:class:`~neural_trader.models.ModelOptions`, optimisation from the trainer) or a baseline (``logreg``,
``rf``, ``momentum``, ``majority``: the settings of its constructor). Neural configurations train for
their ``epochs`` (a searched option) without early stopping: an early-stopping split inside each
training set would need its own purging, and a fixed budget keeps every trial comparable.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from neural_trader.data import DataSpec, Scaler
from neural_trader.errors import ConfigError
from neural_trader.models import BASELINES, ModelOptions
from neural_trader.training import Trainer, TrainerConfig
from neural_trader.workflows.build import build_model, make_task, torch_outputs, trainable
from neural_trader.workflows.evaluate import make_baseline

#: What a neural configuration may set besides the ModelOptions sizes.
TRAINING_PARAMS: tuple[str, ...] = ("epochs", "batch_size", "lr", "weight_decay", "class_weights")
#: The default grid of a neural family (36 points): small sizes and budgets, since every point is
#: trained once per split.
NEURAL_SPACE: dict[str, list[Any]] = {
    "hidden_size": [16, 32, 64],
    "num_layers": [1, 2],
    "dropout": [0.0, 0.2],
    "lr": [3e-4, 1e-3, 3e-3],
    "epochs": [3],
    "batch_size": [64],
}
#: The default grid of each baseline family (settings of its constructor).
BASELINE_SPACES: dict[str, dict[str, list[Any]]] = {
    "logreg": {"C": [0.001, 0.01, 0.1, 1.0, 10.0], "last_steps": [1, 2, 5, 10, 20]},
    "rf": {"max_depth": [2, 3, 5], "min_samples_leaf": [20, 50, 100]},
    "momentum": {"lookback": [1, 2, 3, 5, 10, 20, 40]},
    "majority": {},
}


@dataclass(frozen=True)
class Candidate:
    """One configuration: a model family and its settings.

    Example:
        >>> Candidate("logreg", {"C": 0.1, "last_steps": 5}).label()
        'logreg C=0.1 last_steps=5'
    """

    model: str
    params: dict[str, Any]

    def label(self) -> str:
        """``model k=v ...``, the way the report lists it."""
        settings = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.params.items()]
        return " ".join([self.model, *settings])

    def fit_predict(
        self,
        spec: DataSpec,
        scaler: Scaler | None,
        train: tuple[np.ndarray, np.ndarray],
        x_test: np.ndarray,
        *,
        seed: int = 0,
        device: str = "cpu",
    ) -> np.ndarray:
        """Fits on training windows ``train = (x, y)`` (``y``: label rows) and returns the class
        probabilities ``(N, C)`` of the windows ``x_test``."""
        x, y = train
        if self.model in BASELINES:
            model = make_baseline(self.model, spec, scaler, seed, **self.params)
            return model.fit(x, y[:, 0].astype(np.int64)).predict_proba(x_test)
        fitted = fit_neural(self.model, spec, self.params, x, y, seed=seed, device=device)
        return torch_outputs(fitted, x_test, spec, device=device)["proba"]


def fit_neural(
    name: str, spec: DataSpec, params: dict[str, Any], x: np.ndarray, y: np.ndarray, *, seed: int, device: str
) -> torch.nn.Module:
    """A registry model trained on ``(x, y)`` for ``params["epochs"]`` epochs (no early stopping)."""
    sizes = {k: v for k, v in params.items() if k in _model_fields()}
    training = {k: v for k, v in params.items() if k in TRAINING_PARAMS}
    model = build_model(name, spec, ModelOptions(**sizes))
    task = make_task(name, spec, y, class_weights=bool(training.get("class_weights", True)))
    epochs = int(training.get("epochs", 3))
    batch = int(training.get("batch_size", 64))
    config = TrainerConfig(
        epochs=epochs,
        lr=float(training.get("lr", 1e-3)),
        weight_decay=float(training.get("weight_decay", 0.01)),
        patience=epochs,  # never stops early: the trial trains for its budget
        seed=seed,
        out_dir=None,
        progress=False,
        device=device,
    )
    generator = torch.Generator().manual_seed(seed)
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = DataLoader(data, batch_size=batch, shuffle=True, generator=generator)
    # The loop evaluates a loader after every epoch; the last training batch serves (nothing is chosen by it).
    tail = TensorDataset(torch.from_numpy(x[-batch:]), torch.from_numpy(y[-batch:]))
    Trainer(model, task, config).fit(loader, DataLoader(tail, batch_size=batch))
    return model


def search_space(models: tuple[str, ...], overrides: dict[str, list[Any]] | None = None) -> list[Candidate]:
    """Every configuration of the grid: each family's default grid with ``overrides`` applied (a setting a
    family has replaces its default list; each override must apply to at least one family).

    Raises:
        ConfigError: an unknown or untrainable model, a model of another task than ``direction``, or an
            override no chosen family has.

    Example:
        >>> len(search_space(("logreg", "momentum"))), len(search_space(("logreg",), {"C": [0.1, 1.0]}))
        (32, 10)
    """
    overrides = dict(overrides or {})
    if not models:
        raise ConfigError("tune needs at least one model family (--model)")
    used: set[str] = set()
    points: list[Candidate] = []
    for name in dict.fromkeys(models):
        grid, accepted = _family_grid(name)
        for key, values in overrides.items():
            if key in accepted:
                if not isinstance(values, list) or not values:
                    raise ConfigError(f"--param {key} needs at least one value")
                grid[key] = list(dict.fromkeys(values))
                used.add(key)
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            points.append(Candidate(name, dict(zip(keys, combo, strict=True))))
    unused = [k for k in overrides if k not in used]
    if unused:
        raise ConfigError(
            f"--param {unused[0]} is not a setting of {', '.join(dict.fromkeys(models))}; "
            f"settings: {', '.join(sorted(_settings(models)))}"
        )
    return points


def draw(points: list[Candidate], n_trials: int, seed: int) -> list[Candidate]:
    """``n_trials`` distinct points drawn uniformly (seeded), or every point when the grid is smaller.

    Example:
        >>> pts = search_space(("logreg",))
        >>> [c.label() for c in draw(pts, 2, seed=0)] == [c.label() for c in draw(pts, 2, seed=0)]
        True
    """
    if n_trials >= len(points):
        return list(points)
    picks = np.random.default_rng(seed).choice(len(points), size=n_trials, replace=False)
    return [points[int(i)] for i in picks]


def _family_grid(name: str) -> tuple[dict[str, list[Any]], set[str]]:
    """The default grid of family ``name`` and every setting it accepts."""
    if name in BASELINES:
        accepted = set(inspect.signature(BASELINES[name].__init__).parameters) - {"self"}
        return {k: list(v) for k, v in BASELINE_SPACES.get(name, {}).items()}, accepted
    tasks = trainable()
    if name not in tasks:
        raise ConfigError(
            f"unknown model {name!r} for tune; trainable models: {', '.join(tasks)}; "
            f"baselines: {', '.join(BASELINES)}"
        )
    if tasks[name] != "direction":
        raise ConfigError(
            f"tune scores direction classifiers by trading their calls; {name} learns the {tasks[name]} task"
        )
    return {k: list(v) for k, v in NEURAL_SPACE.items()}, _model_fields() | set(TRAINING_PARAMS)


def _settings(models: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for name in models:
        out |= _family_grid(name)[1]
    return out


def _model_fields() -> set[str]:
    return {f.name for f in fields(ModelOptions)}
