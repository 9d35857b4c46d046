"""Markdown of the ``tuning`` part of a report document (``neural-trader tune``): the search, every trial's
validation scores, and the overfitting statistics. Reads the JSON document only, like
:mod:`~neural_trader.evaluation.markdown`."""

from __future__ import annotations

from typing import Any


def _num(x: Any, fmt: str = "{:.3f}") -> str:
    return "n/a" if x is None else fmt.format(x)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()) or "-"


def search_markdown(t: dict[str, Any], figures: list[str]) -> list[str]:
    """The search: rows, splits, how many trials, and every trial's validation scores."""
    cv = t["cv"]
    metric = t.get("metric_label", t["metric"])
    kind = "purged k-fold" if cv["kind"] == "purged_kfold" else "combinatorial purged cross-validation"
    dev, test = cv["development_rows"], cv["test_rows"]
    lines = [
        "## The search",
        "",
        f"**{t['trials']} trials** ({t['search']}) of {', '.join(t['models'])}, selected by the mean "
        f"validation {metric} over the backtest paths. Validation: {kind} of the {cv['development_windows']} "
        f"windows of development rows [{dev[0]}, {dev[1]}), {cv['n_groups']} groups"
        + (f", {cv['n_test_groups']} tested per split" if cv["n_test_groups"] > 1 else "")
        + f", {cv['splits']} splits, {cv['paths']} backtest path{'s' if cv['paths'] > 1 else ''}, "
        f"purged by label span and embargoed {cv['embargo']} rows. The test rows [{test[0]}, {test[1]}) "
        "were read once, after the choice, for the chosen configuration only.",
        "",
    ]
    rows = []
    for r in t["results"]:
        paths = [v for v in r["path_scores"] if v is not None]
        spread = f"[{min(paths):.3f}, {max(paths):.3f}]" if len(paths) > 1 else ""
        mark = " **chosen**" if r["trial"] == t["chosen"] else ""
        rows.append(
            [
                f"{r['trial']}{mark}",
                r["model"],
                _params(r["params"]),
                f"{_num(r['score'])} {spread}".strip(),
                _num(r["sharpe"], "{:+.3f}"),
            ]
        )
    scores = f"validation {metric} (mean [min, max] over paths)"
    header = ["trial", "model", "settings", scores, "Sharpe / bar"]
    lines += _table(header, rows)
    lines += [""] + [f"![trials]({f})" for f in figures if f == "trials.png"]
    return lines


def statistics_markdown(t: dict[str, Any]) -> list[str]:
    """DSR, PBO and the path spread, with their figures, problems and readings."""
    o = t["overfitting"]
    d, p, s = o["dsr"], o["pbo"], o["path_spread"]
    lines = [
        "",
        "## Overfitting statistics",
        "",
        f"The rule: {t['rule']}. A figure with problems is *unreliable* and never supports skill.",
        "",
    ]
    sharpe, luck = _num(d["sharpe"], "{:+.4f}"), _num(d["expected_max_sharpe"], "{:.4f}")
    moments = f"skew {_num(d['skew'], '{:.2f}')}, kurtosis {_num(d['kurtosis'], '{:.2f}')}"
    rows = [
        [
            "deflated Sharpe ratio (test returns)",
            _num(d["probability"], "{:.3f}"),
            f"SR {sharpe} / bar vs {luck} from luck; {d['n_obs']} returns, {moments}",
            d["assessment"],
        ]
    ]
    if p is not None:
        rows.append(
            [
                "probability of backtest overfitting",
                _num(p["pbo"], "{:.3f}"),
                f"CSCV over {p['n_rows']} bars in {p['n_blocks']} blocks, {p['n_combinations']} splits; "
                f"degradation slope {_num(p['degradation_slope'], '{:.2f}')}, "
                f"P(loss) {_num(p['probability_of_loss'], '{:.2f}')}",
                p["assessment"],
            ]
        )
    if s is not None:
        rows.append(
            [
                f"{s['metric']} across paths",
                _num(s["mean"], "{:.3f}"),
                f"{s['n_paths']} paths, std {_num(s['std'], '{:.3f}')}, {_num(s['min'], '{:.3f}')} .. "
                f"{_num(s['max'], '{:.3f}')}, {s['share_above']:.0%} above {s['threshold']:g}",
                "reliable" if s["reliable"] else "unreliable",
            ]
        )
    lines += _table(["figure", "value", "from", "reading"], rows)
    return lines
