"""Purged k-fold and combinatorial purged cross-validation against a brute-force reference written plainly
here (every training sample checked against every test span and every embargo), on random label spans:
fixed horizons, triple-barrier-like spans of variable length, long spans, and panels with repeated t0."""

from __future__ import annotations

import doctest
import importlib
import json
from itertools import combinations
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_trader.data.cv import (
    MAX_SPLITS,
    PurgedCV,
    backtest_paths,
    combinatorial_purged_cv,
    purged_kfold,
    purged_train,
)
from neural_trader.errors import ConfigError, DataError, ShapeError


def reference_split(t0, t1, n_groups, test_groups, embargo):
    """Train and test sample lists of one split, by the definition and nothing cleverer."""
    n = len(t0)
    groups = [list(g) for g in np.array_split(np.arange(n), n_groups)]
    test = [i for g in test_groups for i in groups[g]]
    last_end = {g: max(t1[j] for j in groups[g]) for g in test_groups}
    train = []
    for i in range(n):
        if i in test:
            continue
        if any(t0[i] <= t1[j] and t0[j] <= t1[i] for j in test):
            continue  # purged: the closed spans share a row
        if any(last_end[g] < t0[i] <= last_end[g] + embargo for g in test_groups):
            continue  # embargoed
        train.append(i)
    return train, sorted(test)


def random_spans(rng, n, kind):
    """``(t0, t1)`` of ``n`` samples of one of several shapes."""
    if kind == "panel":  # several symbols on one calendar: repeated t0, gaps
        t0 = np.sort(rng.integers(0, n // 2, n))
    elif kind == "gaps":
        t0 = np.cumsum(rng.integers(1, 4, n))
    else:
        t0 = np.arange(n) + 3
    if kind == "fixed":
        t1 = t0 + 5
    elif kind == "barrier":  # the first barrier hit anywhere within a vertical barrier of 20 rows
        t1 = t0 + np.where(rng.random(n) < 0.3, 20, rng.integers(0, 21, n))
    elif kind == "long":  # a few labels that live a third of the sample
        t1 = t0 + np.where(rng.random(n) < 0.1, n // 3, rng.integers(0, 4, n))
    else:
        t1 = t0 + rng.integers(0, 8, n)
    return t0, t1


KINDS = ["fixed", "barrier", "long", "panel", "gaps"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("n_groups", "n_test_groups"), [(2, 1), (5, 1), (6, 2), (5, 3)])
def test_splits_match_the_brute_force_reference(kind, n_groups, n_test_groups):
    for seed in range(6):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(60, 120))
        t0, t1 = random_spans(rng, n, kind)
        embargo = int(rng.integers(0, 6))
        try:
            cv = combinatorial_purged_cv(t0, t1, n_groups, n_test_groups, embargo=embargo)
        except DataError as exc:
            # Only allowed when the reference also leaves some split without training samples.
            assert "keeps no training sample" in str(exc)
            assert any(
                not reference_split(t0, t1, n_groups, c, embargo)[0]
                for c in combinations(range(n_groups), n_test_groups)
            )
            continue
        assert len(cv) == comb(n_groups, n_test_groups)
        for split, choice in zip(cv.splits, combinations(range(n_groups), n_test_groups), strict=True):
            train, test = reference_split(t0, t1, n_groups, choice, embargo)
            assert split.test_groups == choice
            assert split.train.tolist() == train, (kind, seed, choice)
            assert split.test.tolist() == test
            assert split.n_train + split.n_test + split.n_purged + split.n_embargoed == n


def test_purged_kfold_is_the_reference_with_one_test_group():
    rng = np.random.default_rng(7)
    t0, t1 = random_spans(rng, 200, "barrier")
    cv = purged_kfold(t0, t1, n_splits=5, embargo=4)
    assert cv.kind == "purged_kfold" and cv.n_paths == 1 and cv.paths.tolist() == [[0, 1, 2, 3, 4]]
    pairs = list(cv)
    assert len(pairs) == 5
    for g, (train, test) in enumerate(pairs):
        ref_train, ref_test = reference_split(t0, t1, 5, (g,), 4)
        assert train.tolist() == ref_train and test.tolist() == ref_test
        assert train.dtype == np.int64 and test.dtype == np.int64


def test_triple_barrier_ends_purge_more_than_a_fixed_horizon_would():
    # A label that really lives 30 rows must be purged even if the nominal horizon is 5.
    t0 = np.arange(100)
    t1 = t0 + 5
    t1[30] = 60  # a barrier hit late: this label reads into the third group (rows 40..59)
    nominal = combinatorial_purged_cv(t0, t0 + 5, 5, 1).splits[2].train
    actual = combinatorial_purged_cv(t0, t1, 5, 1).splits[2].train
    assert 30 in nominal and 30 not in actual


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 25)), min_size=8, max_size=70),
    st.integers(2, 6),
    st.integers(1, 3),
    st.integers(0, 8),
)
def test_no_training_span_meets_a_test_span_nor_starts_in_an_embargo(steps_and_lives, n_groups, k, embargo):
    k = 1 + (k - 1) % (n_groups - 1)
    if len(steps_and_lives) < n_groups:
        return
    t0 = np.cumsum([s for s, _ in steps_and_lives])
    t1 = t0 + np.array([life for _, life in steps_and_lives])
    try:
        cv = combinatorial_purged_cv(t0, t1, n_groups, k, embargo=embargo)
    except DataError:
        return  # some split keeps no training sample; the reference test checks this case
    for split in cv.splits:
        train, test = split.train, split.test
        assert not np.intersect1d(train, test).size
        for i in train:
            assert not ((t0[i] <= t1[test]) & (t0[test] <= t1[i])).any()
            for g in split.test_groups:
                last_end = t1[cv.groups[g, 0] : cv.groups[g, 1]].max()
                assert not last_end < t0[i] <= last_end + embargo
        assert split.train.tolist() == reference_split(t0, t1, n_groups, split.test_groups, embargo)[0]


@pytest.mark.parametrize(("n_groups", "k"), [(2, 1), (4, 2), (6, 2), (6, 3), (8, 4), (10, 3)])
def test_paths_cover_every_group_once_and_use_every_prediction_once(n_groups, k):
    paths = backtest_paths(n_groups, k)
    choices = list(combinations(range(n_groups), k))
    assert (
        paths.shape == (k * comb(n_groups, k) // n_groups, n_groups) == (comb(n_groups - 1, k - 1), n_groups)
    )
    used = set()
    for row in paths:
        for g, s in enumerate(row.tolist()):
            assert g in choices[s]  # group g of this path comes from a split that tests g
            used.add((s, g))
    # Every (split, test group) prediction appears on exactly one path.
    assert used == {(s, g) for s, c in enumerate(choices) for g in c}
    assert len(used) == paths.size


def test_path_assignment_is_the_one_of_afml_figure_12_1():
    # N = 6, k = 2: path 1 takes groups 1 and 2 from split 1, then groups 3..6 from splits 2..5.
    paths = backtest_paths(6, 2)
    assert paths[0].tolist() == [0, 0, 1, 2, 3, 4]
    assert paths[-1].tolist() == [4, 8, 11, 13, 14, 14]


def test_path_values_rebuild_each_path_from_the_splits_predictions():
    rng = np.random.default_rng(3)
    t0, t1 = random_spans(rng, 90, "barrier")
    cv = combinatorial_purged_cv(t0, t1, 6, 2, embargo=2)
    # Each split "predicts" sample i as 1000 * split + i, so the path tells which split it came from.
    preds = [np.stack([1000.0 * s + test, -test], axis=1) for s, (_, test) in enumerate(cv)]
    paths = cv.path_values(preds)
    assert paths.shape == (cv.n_paths, 90, 2)
    for p in range(cv.n_paths):
        for g, (start, stop) in enumerate(cv.groups.tolist()):
            expected = 1000.0 * cv.paths[p, g] + np.arange(start, stop)
            np.testing.assert_array_equal(paths[p, start:stop, 0], expected)
        np.testing.assert_array_equal(paths[p, :, 1], -np.arange(90))
    with pytest.raises(ShapeError, match="one array per split"):
        cv.path_values(preds[:-1])
    with pytest.raises(ShapeError, match=r"per_split\[3\]"):
        cv.path_values([*preds[:3], preds[3][1:], *preds[4:]])


def test_splits_are_deterministic_and_round_trip_through_json():
    rng = np.random.default_rng(11)
    t0, t1 = random_spans(rng, 150, "long")
    a = combinatorial_purged_cv(t0, t1, 6, 2, embargo=3)
    b = combinatorial_purged_cv(t0.copy(), t1.copy(), 6, 2, embargo=3)
    assert a.to_json() == b.to_json() and a == b
    doc = json.loads(a.to_json())
    assert doc["format"] == "neural_trader.purged_cv" and doc["kind"] == "combinatorial_purged"
    back = PurgedCV.from_json(a.to_json())
    assert back == a
    for (tr_a, te_a), (tr_b, te_b) in zip(a, back, strict=True):
        assert tr_a.tolist() == tr_b.tolist() and te_a.tolist() == te_b.tolist()
    a.check(t0, t1)
    moved = t1.copy()
    moved[5] += 1
    with pytest.raises(ConfigError, match="other label spans"):
        a.check(t0, moved)


def _tampered(doc, edit):
    doc = json.loads(json.dumps(doc))
    edit(doc)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["splits"][0]["train"].insert(0, [0, 1]), "ascending, disjoint|trains on test"),
        (lambda d: d["splits"][0]["train"].append([1000, 1001]), "inside"),
        (lambda d: d["splits"][2].update(test=[[0, 5]]), "not exactly its groups"),
        (lambda d: d["splits"][1].update(n_purged=d["splits"][1]["n_purged"] + 1), "add up"),
        (lambda d: d["splits"][1].update(test_groups=[0, 1]), "must test groups"),
        (lambda d: d["paths"][0].reverse(), "path assignment"),
        (lambda d: d["splits"].pop(), "make 15 splits"),
        (lambda d: d.update(groups=[[0, 10]] + d["groups"][1:]), "tile"),
        (lambda d: d.update(embargo=-1), "embargo"),
        (lambda d: d.update(kind="purged_kfold"), "kind"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.pop("paths"), "lacks field 'paths'"),
        (lambda d: d.update(spans_sha256="x"), "hex"),
        (lambda d: d["splits"][0].update(train="all"), "integers"),
    ],
)
def test_a_tampered_document_is_refused(edit, match):
    t0 = np.arange(120)
    doc = combinatorial_purged_cv(t0, t0 + 4, 6, 2, embargo=2).to_dict()
    with pytest.raises(ConfigError, match=match):
        PurgedCV.from_json(_tampered(doc, edit))


def test_a_hostile_document_is_refused_without_huge_work():
    t0 = np.arange(120)
    doc = combinatorial_purged_cv(t0, t0 + 4, 2, 1).to_dict()
    big = 10**15  # a mask of this many samples would not fit in memory
    doc.update(n_samples=big, groups=[[0, big // 2], [big // 2, big]])
    doc["splits"][0].update(test=[[0, big // 2]], train=[[big // 2, big]], n_purged=0, n_embargoed=0)
    doc["splits"][1].update(test=[[big // 2, big]], train=[[0, big // 2 + 1]], n_purged=0, n_embargoed=0)
    with pytest.raises(ConfigError, match="split 1 trains on test samples"):
        PurgedCV.from_json(json.dumps(doc))
    many = dict(doc, groups=[[i, i + 1] for i in range(40)], n_samples=40, n_test_groups=20)
    with pytest.raises(ConfigError, match="more than 1000"):
        PurgedCV.from_json(json.dumps(many))


@pytest.mark.parametrize("text", ["", "[1, 2]", '{"format": "neural_trader.split"}', "{" * 100_000])
def test_not_a_document_is_a_config_error(text):
    with pytest.raises(ConfigError):
        PurgedCV.from_json(text)


@pytest.mark.parametrize(
    ("t0", "t1", "kwargs", "error", "match"),
    [
        ([0, 1, 2, 3], [1, 0, 3, 4], {}, DataError, r"t1\[1\] = 0 < t0\[1\] = 1"),
        ([0, 2, 1, 3], [1, 2, 3, 4], {}, DataError, r"not in time order: t0\[2\] = 1"),
        ([-1, 0, 1, 2], [0, 1, 2, 3], {}, DataError, r"t0\[0\] = -1 is negative"),
        ([0, 1.5, 2, 3], [1, 2, 3, 4], {}, DataError, r"t0\[1\] = 1.5 is not an integer"),
        ([0, 1, 2, 3], [1, np.nan, 3, 4], {}, DataError, r"t1\[1\] = nan"),
        (["a", "b"], [1, 2], {}, DataError, "integer row indices"),
        ([True, False], [1, 2], {}, DataError, "integer row indices"),
        ([0, 1, 2], [1, 2], {}, ShapeError, "one length"),
        ([[0, 1]], [[1, 2]], {}, ShapeError, "1-D"),
        ([], [], {}, DataError, "empty"),
        ([0, 1, 2], [0, 1, 2], {"n_groups": 4, "n_test_groups": 1}, DataError, "3 samples are too few"),
        ([0, 1, 2, 3], [0, 1, 2, 3], {"n_groups": 1, "n_test_groups": 1}, ConfigError, "n_groups"),
        ([0, 1, 2, 3], [0, 1, 2, 3], {"n_groups": 2, "n_test_groups": 2}, ConfigError, "n_test_groups"),
        ([0, 1, 2, 3], [0, 1, 2, 3], {"n_groups": 2, "n_test_groups": 0}, ConfigError, "n_test_groups"),
        ([0, 1, 2, 3], [0, 1, 2, 3], {"n_groups": 2.0}, ConfigError, "n_groups"),
        (
            [0, 1, 2, 3],
            [0, 1, 2, 3],
            {"n_groups": 2, "n_test_groups": 1, "embargo": -1},
            ConfigError,
            "embargo",
        ),
        (
            [0, 1, 2, 3],
            [0, 1, 2, 3],
            {"n_groups": 2, "n_test_groups": 1, "embargo": True},
            ConfigError,
            "embargo",
        ),
        ([0, 1, 2, 3], [3, 3, 3, 3], {"n_groups": 2, "n_test_groups": 1}, DataError, "keeps no training"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_value(t0, t1, kwargs, error, match):
    kwargs = {"n_groups": 2, "n_test_groups": 1, **kwargs}
    with pytest.raises(error, match=match):
        combinatorial_purged_cv(t0, t1, **kwargs)


def test_too_many_splits_are_refused_before_any_work():
    t0 = np.arange(100)
    with pytest.raises(ConfigError, match=f"more than {MAX_SPLITS}"):
        combinatorial_purged_cv(t0, t0, n_groups=16, n_test_groups=8)
    assert len(combinatorial_purged_cv(t0, t0, n_groups=12, n_test_groups=6)) == 924


def test_integral_floats_are_accepted_as_rows():
    t0 = np.arange(40)
    a = combinatorial_purged_cv(t0, t0 + 3, 4, 2, embargo=1)
    b = combinatorial_purged_cv(t0.astype(float), (t0 + 3).astype(np.float32), 4, 2, embargo=1)
    assert a == b


def test_purged_train_matches_the_reference_on_arbitrary_train_and_test_sets():
    for seed in range(30):
        rng = np.random.default_rng(100 + seed)
        n = 80
        t0, t1 = random_spans(rng, n, KINDS[seed % len(KINDS)])
        test = np.sort(rng.choice(n, int(rng.integers(1, 20)), replace=False))
        train = np.setdiff1d(np.arange(n), test)[rng.random(n - len(test)) < 0.8]
        embargo = int(rng.integers(0, 5))
        blocks = np.split(test, np.flatnonzero(np.diff(test) != 1) + 1)
        expected = [
            i
            for i in train.tolist()
            if not any(t0[i] <= t1[j] and t0[j] <= t1[i] for j in test)
            and not any(max(t1[b]) < t0[i] <= max(t1[b]) + embargo for b in blocks)
        ]
        assert purged_train(t0, t1, train, test, embargo=embargo).tolist() == expected
    with pytest.raises(DataError, match=r"test indices must lie in \[0, 80\)"):
        purged_train(t0, t1, train, np.array([80]))
    with pytest.raises(ShapeError, match="train"):
        purged_train(t0, t1, train.astype(float), test)


@pytest.mark.parametrize("name", ["spans", "groups", "purged_cv", "purging"])
def test_docstring_examples(name):
    module = importlib.import_module(f"neural_trader.data.cv.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
