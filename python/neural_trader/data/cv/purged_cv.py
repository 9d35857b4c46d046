"""The splits of a purged cross-validation and the backtest paths they form, as a JSON document.

A document (format ``neural_trader.purged_cv``, version 1) records sample ranges, not sample lists, so it
stays small for a million samples::

    {"format": "neural_trader.purged_cv", "version": 1, "kind": "combinatorial_purged",
     "n_samples": 1000, "n_groups": 6, "n_test_groups": 2, "embargo": 5,
     "groups": [[0, 167], [167, 334], ...],
     "splits": [{"test_groups": [0, 1], "test": [[0, 334]], "train": [[341, 1000]],
                 "n_purged": 5, "n_embargoed": 2}, ...],
     "paths": [[0, 0, 1, 2, 3, 4], ...],
     "spans_sha256": "..."}

``train`` and ``test`` are lists of half-open sample ranges ``[start, stop)``; ``paths[p][g]`` is the split
whose prediction of group ``g`` path ``p`` uses. Loading checks every invariant (ranges inside the
samples, train and test disjoint, test = the split's groups, the counts adding up, AFML's path
assignment), so a hand-edited file cannot smuggle a test sample into training.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neural_trader.data.cv.groups import backtest_paths, check_group_counts, integer_param, split_choices
from neural_trader.data.cv.spans import label_spans, spans_digest
from neural_trader.errors import ConfigError, ShapeError

PURGED_CV_FORMAT, PURGED_CV_VERSION = "neural_trader.purged_cv", 1


@dataclass(frozen=True, eq=False)
class PurgedSplit:
    """One split: the test groups, and the training samples left after purging and the embargo.

    Attributes:
        test_groups: the groups tested, ascending.
        train_runs: ``(R, 2)`` int64 sample ranges ``[start, stop)`` of the training samples.
        test_runs: ``(Q, 2)`` int64 sample ranges of the test samples.
        n_purged: samples of the training groups dropped because their label span overlaps a test span.
        n_embargoed: further samples dropped because they start within the embargo after a test block.
    """

    test_groups: tuple[int, ...]
    train_runs: np.ndarray
    test_runs: np.ndarray
    n_purged: int
    n_embargoed: int

    @property
    def train(self) -> np.ndarray:
        """Training sample indices, ascending (int64)."""
        return _indices(self.train_runs)

    @property
    def test(self) -> np.ndarray:
        """Test sample indices, ascending (int64)."""
        return _indices(self.test_runs)

    @property
    def n_train(self) -> int:
        return int((self.train_runs[:, 1] - self.train_runs[:, 0]).sum())

    @property
    def n_test(self) -> int:
        return int((self.test_runs[:, 1] - self.test_runs[:, 0]).sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "test_groups": list(self.test_groups),
            "test": self.test_runs.tolist(),
            "train": self.train_runs.tolist(),
            "n_purged": self.n_purged,
            "n_embargoed": self.n_embargoed,
        }


@dataclass(frozen=True, eq=False)
class PurgedCV:
    """Purged k-fold or combinatorial purged cross-validation: splits and backtest paths.

    Iterating yields ``(train, test)`` index arrays, one pair per split, as scikit-learn's splitters do.

    Attributes:
        n_samples: samples indexed (``len(t0)``).
        groups: ``(N, 2)`` int64 sample ranges ``[start, stop)`` of the contiguous groups.
        n_test_groups: ``k``, test groups per split (1 for purged k-fold).
        embargo: rows after each test block's last label end in which no training sample may start.
        splits: the ``C(N, k)`` splits, in lexicographic order of their test groups.
        paths: ``(phi, N)`` int64; ``paths[p, g]`` is the split that predicts group ``g`` on path ``p``.
        spans_sha256: digest of ``(t0, t1)`` (:func:`~neural_trader.data.cv.spans.spans_digest`).

    Example:
        >>> from neural_trader.data.cv import combinatorial_purged_cv
        >>> cv = combinatorial_purged_cv(np.arange(60), np.arange(60) + 3, 6, 2, embargo=2)
        >>> len(cv), cv.n_paths, PurgedCV.from_json(cv.to_json()) == cv
        (15, 5, True)
    """

    n_samples: int
    groups: np.ndarray
    n_test_groups: int
    embargo: int
    splits: tuple[PurgedSplit, ...]
    paths: np.ndarray
    spans_sha256: str

    def __post_init__(self) -> None:
        _check_cv(self)

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def n_paths(self) -> int:
        return len(self.paths)

    @property
    def kind(self) -> str:
        """``"purged_kfold"`` (one test group per split) or ``"combinatorial_purged"``."""
        return "purged_kfold" if self.n_test_groups == 1 else "combinatorial_purged"

    def __len__(self) -> int:
        return len(self.splits)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for split in self.splits:
            yield split.train, split.test

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PurgedCV) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside: compare, never hash

    def path_values(self, per_split: Sequence[np.ndarray]) -> np.ndarray:
        """Assembles each backtest path from the splits' out-of-sample values.

        Args:
            per_split: one array per split, aligned with that split's ``test`` indices (first axis),
                e.g. the model's predictions or per-sample returns on its test samples.

        Returns:
            ``(n_paths, n_samples, ...)``: row ``p`` holds, for every sample, the value from the split
            that predicts the sample's group on path ``p``.

        Raises:
            ShapeError: not one array per split, or an array not aligned with its split's test samples.

        Example:
            >>> from neural_trader.data.cv import combinatorial_purged_cv
            >>> cv = combinatorial_purged_cv(np.arange(12), np.arange(12), n_groups=4, n_test_groups=2)
            >>> preds = [10.0 * test for train, test in cv]   # stands for model(train).predict(test)
            >>> paths = cv.path_values(preds)
            >>> paths.shape, bool((paths == 10.0 * np.arange(12)).all())
            ((3, 12), True)
        """
        if len(per_split) != len(self.splits):
            raise ShapeError(f"need one array per split ({len(self.splits)}), got {len(per_split)}")
        arrays = [np.asarray(a) for a in per_split]
        tail = arrays[0].shape[1:]
        for s, (a, split) in enumerate(zip(arrays, self.splits, strict=True)):
            if a.ndim == 0 or a.shape[0] != split.n_test or a.shape[1:] != tail:
                raise ShapeError(
                    f"per_split[{s}] has shape {a.shape}; split {s} tests {split.n_test} samples, "
                    f"so expected shape {(split.n_test, *tail)}"
                )
        out = np.empty((self.n_paths, self.n_samples, *tail), dtype=np.result_type(*arrays))
        for p, row in enumerate(self.paths):
            for g, s in enumerate(row.tolist()):
                split = self.splits[s]
                # The split's test array lists its groups in order; group g starts after the earlier ones.
                offset = sum(int(np.diff(self.groups[h])[0]) for h in split.test_groups if h < g)
                start, stop = self.groups[g].tolist()
                out[p, start:stop] = arrays[s][offset : offset + stop - start]
        return out

    def check(self, t0: np.ndarray, t1: np.ndarray) -> None:
        """Checks that these splits were made for the label spans ``(t0, t1)``.

        Raises:
            ConfigError: other spans (another series, other labels, another horizon).
        """
        t0, t1 = label_spans(t0, t1)
        if len(t0) != self.n_samples or spans_digest(t0, t1) != self.spans_sha256:
            raise ConfigError(
                f"these splits were made for other label spans ({self.n_samples} samples, digest "
                f"{self.spans_sha256[:12]}...), not these ({len(t0)} samples, "
                f"digest {spans_digest(t0, t1)[:12]}...)"
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (see the module docstring)."""
        return {
            "format": PURGED_CV_FORMAT,
            "version": PURGED_CV_VERSION,
            "kind": self.kind,
            "n_samples": self.n_samples,
            "n_groups": self.n_groups,
            "n_test_groups": self.n_test_groups,
            "embargo": self.embargo,
            "groups": self.groups.tolist(),
            "splits": [s.to_dict() for s in self.splits],
            "paths": self.paths.tolist(),
            "spans_sha256": self.spans_sha256,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, doc: object) -> PurgedCV:
        """Parses and validates a document written by :meth:`to_dict`.

        Raises:
            ConfigError: another format or version, a missing or ill-typed field, or splits that break
                an invariant (see the module docstring).
        """
        if not isinstance(doc, dict) or doc.get("format") != PURGED_CV_FORMAT:
            raise ConfigError(
                f"not a purged cross-validation document (expected format {PURGED_CV_FORMAT!r})"
            )
        if doc.get("version") != PURGED_CV_VERSION:
            raise ConfigError(f"unsupported purged_cv version {doc.get('version')!r}")
        fields = ("n_samples", "n_test_groups", "embargo", "groups", "splits", "paths", "spans_sha256")
        missing = [f for f in fields if f not in doc]
        if missing:
            raise ConfigError(f"purged_cv document lacks field {missing[0]!r}")
        if not isinstance(doc["splits"], list):
            raise ConfigError("purged_cv 'splits' must be a list")
        splits = []
        for s, d in enumerate(doc["splits"]):
            if not isinstance(d, dict) or any(k not in d for k in ("test_groups", "test", "train")):
                raise ConfigError(f"purged_cv split {s} must have 'test_groups', 'test' and 'train'")
            if not isinstance(d["test_groups"], list):
                raise ConfigError(f"purged_cv split {s} 'test_groups' must be a list")
            splits.append(
                PurgedSplit(
                    test_groups=tuple(d["test_groups"]),
                    train_runs=_runs_array(f"split {s} train", d["train"]),
                    test_runs=_runs_array(f"split {s} test", d["test"]),
                    n_purged=d.get("n_purged"),
                    n_embargoed=d.get("n_embargoed"),
                )
            )
        cv = cls(
            n_samples=doc["n_samples"],
            groups=_runs_array("groups", doc["groups"]),
            n_test_groups=doc["n_test_groups"],
            embargo=doc["embargo"],
            splits=tuple(splits),
            paths=_int_matrix("paths", doc["paths"]),
            spans_sha256=doc["spans_sha256"],
        )
        for name in ("kind", "n_groups"):
            if name in doc and doc[name] != getattr(cv, name):
                raise ConfigError(
                    f"purged_cv {name} {doc[name]!r} contradicts its splits ({getattr(cv, name)!r})"
                )
        return cv

    @classmethod
    def from_json(cls, text: str) -> PurgedCV:
        """Parses :meth:`to_json` output; see :meth:`from_dict` for the checks."""
        try:
            doc = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise ConfigError(f"purged_cv JSON cannot be parsed: {exc}") from exc
        return cls.from_dict(doc)


def _indices(runs: np.ndarray) -> np.ndarray:
    if len(runs) == 0:
        return np.empty(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs.tolist()])


def _int_matrix(name: str, value: object) -> np.ndarray:
    try:
        a = np.asarray(value)
    except (ValueError, TypeError):
        raise ConfigError(f"purged_cv {name} must be a matrix of integers") from None
    if a.ndim != 2 or a.dtype.kind not in "iu":
        raise ConfigError(f"purged_cv {name} must be a matrix of integers, got {value!r:.80}")
    return a.astype(np.int64)


def _runs_array(name: str, value: object) -> np.ndarray:
    if isinstance(value, list) and not value:
        return np.empty((0, 2), dtype=np.int64)
    a = _int_matrix(name, value)
    if a.shape[1] != 2:
        raise ConfigError(f"purged_cv {name} must be a list of [start, stop] ranges")
    return a


def _check_cv(cv: PurgedCV) -> None:
    """Every invariant of a :class:`PurgedCV`; ConfigError naming the first broken one."""
    n = integer_param("n_samples", cv.n_samples, minimum=2)
    groups = cv.groups
    if not isinstance(groups, np.ndarray) or groups.ndim != 2 or groups.shape[1] != 2:
        raise ConfigError("groups must be an (N, 2) array of [start, stop) sample ranges")
    n_groups, k = check_group_counts(len(groups), cv.n_test_groups)  # also bounds C(N, k)
    if groups[0, 0] != 0 or groups[-1, 1] != n or (groups[1:, 0] != groups[:-1, 1]).any():
        raise ConfigError(f"groups must tile samples [0, {n}) contiguously, got {groups.tolist()!r:.120}")
    if (groups[:, 1] <= groups[:, 0]).any():
        raise ConfigError("every group must hold at least one sample")
    integer_param("embargo", cv.embargo, minimum=0)
    if not isinstance(cv.spans_sha256, str) or not re.fullmatch(r"[0-9a-f]{64}", cv.spans_sha256):
        raise ConfigError(f"spans_sha256 must be 64 hex digits, got {cv.spans_sha256!r:.80}")
    choices = split_choices(n_groups, k)
    if len(cv.splits) != len(choices):
        raise ConfigError(f"{n_groups} groups, {k} tested, make {len(choices)} splits, not {len(cv.splits)}")
    for s, (split, choice) in enumerate(zip(cv.splits, choices, strict=True)):
        if split.test_groups != choice:
            raise ConfigError(f"split {s} must test groups {list(choice)}, got {list(split.test_groups)}")
        _check_split(s, split, groups, n)
    paths = cv.paths
    if not isinstance(paths, np.ndarray) or not np.array_equal(paths, backtest_paths(n_groups, k)):
        raise ConfigError("paths do not follow the path assignment of AFML ch. 12 for these groups")


def _check_split(s: int, split: PurgedSplit, groups: np.ndarray, n: int) -> None:
    # Checked on the ranges themselves, never on an n-sample mask: a document's n_samples may be huge.
    for name in ("n_purged", "n_embargoed"):
        integer_param(f"split {s} {name}", getattr(split, name), minimum=0)
    test = _checked_runs(f"split {s} test", split.test_runs, n)
    if not np.array_equal(test, _merged(groups[list(split.test_groups)])):
        raise ConfigError(f"split {s} test samples are not exactly its groups {list(split.test_groups)}")
    train = _checked_runs(f"split {s} train", split.train_runs, n)
    if len(train) == 0:
        raise ConfigError(f"split {s} has no training samples")
    # The first test range ending after a training range starts must start at or after it ends.
    k = np.searchsorted(test[:, 1], train[:, 0], side="right")
    hit = (k < len(test)) & (test[np.minimum(k, len(test) - 1), 0] < train[:, 1])
    if hit.any():
        a, b = train[int(np.argmax(hit))].tolist()
        raise ConfigError(f"split {s} trains on test samples (training range [{a}, {b}))")
    n_train, n_test = (int((r[:, 1] - r[:, 0]).sum()) for r in (train, test))
    if n_train + n_test + split.n_purged + split.n_embargoed != n:
        raise ConfigError(f"split {s}: train, test, purged and embargoed samples do not add up to {n}")


def _checked_runs(name: str, runs: np.ndarray, n: int) -> np.ndarray:
    if not isinstance(runs, np.ndarray) or runs.ndim != 2 or runs.shape[1] != 2:
        raise ConfigError(f"{name} must be (R, 2) sample ranges")
    starts, stops = runs[:, 0], runs[:, 1]
    if len(runs) and (
        (starts < 0).any() or (stops > n).any() or (stops <= starts).any() or (starts[1:] < stops[:-1]).any()
    ):
        raise ConfigError(f"{name} ranges must be ascending, disjoint, non-empty and inside [0, {n})")
    return runs


def _merged(runs: np.ndarray) -> np.ndarray:
    """Ascending disjoint ranges with touching neighbours joined, as the splits store them."""
    out: list[list[int]] = []
    for a, b in runs.tolist():
        if out and out[-1][1] == a:
            out[-1][1] = b
        else:
            out.append([a, b])
    return np.array(out, dtype=np.int64).reshape(-1, 2)
