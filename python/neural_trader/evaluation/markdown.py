"""Markdown rendering of a report document (the JSON of :func:`~neural_trader.evaluation.report_document`).

Rendering reads the document only, so the Markdown and the JSON can never disagree. The last line is the
verdict sentence.
"""

from __future__ import annotations

from typing import Any

from neural_trader.evaluation.classification import LABELS, METRICS, class_metric_label, class_metrics
from neural_trader.evaluation.tune_markdown import search_markdown, statistics_markdown

_EQUITY_COLUMNS = (
    ("total_return", "total return", "{:+.1%}"),
    ("annual_return", "annual return", "{:+.1%}"),
    ("annual_volatility", "annual volatility", "{:.1%}"),
    ("sharpe", "Sharpe", "{:.2f}"),
    ("max_drawdown", "max drawdown", "{:.1%}"),
    ("turnover", "turnover / bar", "{:.3f}"),
    ("long_share", "long", "{:.0%}"),
    ("short_share", "short", "{:.0%}"),
)


def _iv(d: dict[str, Any] | None, fmt: str = "{:.3f}") -> str:
    if not d or d.get("estimate") is None:
        return "n/a"
    if d.get("reliable") is False:
        return f"{fmt.format(d['estimate'])} (no interval)"
    low, high = d.get("low"), d.get("high")
    if low is None or high is None:
        return fmt.format(d["estimate"])
    return f"{fmt.format(d['estimate'])} [{fmt.format(low)}, {fmt.format(high)}]"


def _lead(d: dict[str, Any], fmt: str = "{:+.3f}") -> str:
    return _iv(d, fmt)


def _blocks(windows: int, blocks: float | None, boot: dict[str, Any]) -> str:
    """How many bootstrap blocks a section holds, and what follows when they are too few."""
    if blocks is None:
        return ""
    if blocks >= boot["min_blocks"]:
        return f", {blocks:.1f} bootstrap blocks"
    return (
        f", only {blocks:.1f} bootstrap blocks: no interval (an interval needs at least "
        f"{boot['min_blocks']:g} blocks of {boot['block_size']} windows)"
    )


def _blocks_rule(boot: dict[str, Any]) -> str:
    return (
        f"A figure marked *no interval* comes from fewer than {boot['min_blocks']:g} blocks of windows "
        f"(windows / {boot['block_size']}): its resamples would repeat nearly the same rows, so it is a "
        "point estimate only and cannot support a verdict."
    )


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _context(doc: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in doc.get("context", {}).items():
        if isinstance(value, (dict, list)):
            continue
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    return lines


def _shares(section: dict[str, Any]) -> str:
    """``up share 0.531`` for two classes, ``class shares down 0.30, flat 0.41, up 0.29`` for more."""
    if "up_share" in section:
        return f"up share {section['up_share']:.3f}"
    shares = section.get("class_shares", {})
    return "class shares " + ", ".join(f"{k} {v:.3f}" for k, v in shares.items())


def _classification(c: dict[str, Any]) -> list[str]:
    b = c["bootstrap"]
    classes = c.get("classes", ["down", "up"])
    if len(classes) == 2:
        title, chance = "## Direction classification", "Balanced accuracy is 0.5"
    else:
        title = f"## Classification: {len(classes)} classes ({', '.join(classes)})"
        chance = (
            f"Every metric is the {len(classes)}-class one (ROC-AUC: mean of one-vs-rest; Brier: summed "
            f"over the classes). Balanced accuracy is 1/{len(classes)}"
        )
    lines = [
        title,
        "",
        f"Label `{c['label']}`. Every figure is a point estimate with its {b['confidence']:.0%} moving-block "
        f"bootstrap interval ({b['n_resamples']} resamples, blocks of {b['block_size']} windows; the same "
        "resampled rows for every predictor). Baselines are fit on each fold's training windows only. "
        f"{chance} and MCC 0 for any constant prediction; plain accuracy is not. " + _blocks_rule(b),
    ]
    header = ["predictor", *[LABELS[m] for m in METRICS]]
    for section in c["sections"]:
        lines += [
            "",
            f"### {section['name']}: {section['windows']} windows, {section['first']} .. {section['last']}, "
            f"{_shares(section)}{_blocks(section['windows'], section.get('blocks'), b)}",
            "",
        ]
        if "one_class" in section:
            lines += [
                f"The windows hold one class only ({section['one_class']}): balanced accuracy, MCC and "
                "ROC-AUC are undefined there (n/a; a constant prediction of that class would score balanced "
                "accuracy 1.0), and no verdict is drawn from them.",
                "",
            ]
        rows = [[p, *[_iv(scores[m]) for m in METRICS]] for p, scores in section["scores"].items()]
        lines += _table(header, rows)
        per_class = class_metrics(len(classes))
        class_scores = section.get("class_scores", {})
        rows = [[p, *[_iv(class_scores.get(p, {}).get(m)) for m in per_class]] for p in section["scores"]]
        lines += ["", "Per class (0 when the predictor never calls that class):", ""]
        lines += _table(["predictor", *[class_metric_label(m, classes) for m in per_class]], rows)
    for name, why in c.get("not_fittable", {}).items():
        lines += ["", f"Baseline {name}: not fittable ({why}); left out of the tables and the verdict."]
    lines += ["", "### Lead of the model over the best baseline (paired intervals)", ""]
    rows = [[LABELS[m], d["baseline"], _lead(d)] for m, d in c["leads"].items()]
    lines += _table(["measure", "best baseline", "lead [95% CI]"], rows)
    for other in c.get("other_labels", []):
        lines += ["", *_classification(other), "", other["sentence"]]
    return lines


def _rule(band: float, classes: list[str]) -> str:
    if len(classes) > 2:
        margin = f" by more than {2 * band:g}" if band else ""
        return (
            f"Long when the predicted class is `{classes[-1]}`, short when it is `{classes[0]}`, flat "
            f"otherwise (the predicted class's probability must lead the runner-up's{margin})"
        )
    if band == 0:
        return "Long when P(up) > 0.5, short when P(up) < 0.5, flat at exactly 0.5"
    return f"Long when P(up) > {0.5 + band:g}, short when P(up) < {0.5 - band:g}, flat in between"


def _equity(e: dict[str, Any], figures: list[str], classes: list[str]) -> list[str]:
    lines = [
        "",
        "## Trading the predictions",
        "",
        f"{_rule(e['band'], classes)}; the position is held for the next bar; {e['cost_bps']:g} bp per unit "
        "traded. A sanity check, not a backtest (no slippage, sizing or borrow costs).",
    ]
    for symbol, s in e["symbols"].items():
        lines += ["", f"### {symbol}: {s['first']} .. {s['last']}", ""]
        rows = [
            [name.replace("_", " "), *[fmt.format(st[k]) for k, _, fmt in _EQUITY_COLUMNS]]
            for name, st in s["stats"].items()
        ]
        lines += _table(["strategy", *[label for _, label, _ in _EQUITY_COLUMNS]], rows)
    lines += [""] + [f"![equity curve]({f})" for f in figures if f.startswith("equity")]
    return lines


def _forecast(f: dict[str, Any]) -> list[str]:
    if f.get("kind") == "regression":
        lines = [
            "",
            f"## Regression: `{', '.join(f['targets'])}`, {f['horizon']} bars ahead",
            "",
            f"{f['windows']} test windows, {f['first']} .. {f['last']}"
            f"{_blocks(f['windows'], f.get('blocks'), f['bootstrap'])}; errors in the label's own units. "
            "Naive forecasts: zero, the training labels' mean, and persistence (the latest label already "
            "known at the window's close). IC: rank correlation with the label (information coefficient). "
            + _blocks_rule(f["bootstrap"]),
            "",
        ]
    else:
        lines = [
            "",
            f"## Forecast: {', '.join(f['targets'])}, {f['horizon']} steps ahead",
            "",
            f"{f['windows']} test windows, {f['first']} .. {f['last']}"
            f"{_blocks(f['windows'], f.get('blocks'), f['bootstrap'])}; errors in the target's own units, "
            f"averaged over steps; seasonal naive uses a season of {f['season']} bars. "
            + _blocks_rule(f["bootstrap"]),
            "",
        ]
    rows = [[k, _iv(f["mae"][k], "{:.4g}"), _iv(f["rmse"][k], "{:.4g}")] for k in f["mae"]]
    header = ["forecast", "MAE [95% CI]", "RMSE [95% CI]"]
    if "ic" in f:
        rows = [[*r, _iv(f["ic"].get(r[0]))] for r in rows]
        header.append("IC [95% CI]")
    lines += _table(header, rows)
    lines += [""]
    rows = [[m.upper(), d["baseline"], _lead(d, "{:+.4g}")] for m, d in f["leads"].items()]
    lines += _table(["error", "best naive forecast", "lead (its error - model's) [95% CI]"], rows)
    lines += ["", f["sentence"]]
    return lines


def _attention(a: dict[str, Any], figures: list[str]) -> list[str]:
    q, t = a["shape"]
    rows = "one row per forecast step" if a["queries"] == "forecast step" else "one query: the final state"
    lines = [
        "",
        f"## Where {a.get('model') or 'the model'} looks",
        "",
        f"Attention weights over the {t} bars of the window ({rows}), averaged over {a['windows']} test "
        f"windows. The last {a['recent_steps']} bars receive {a['recent_share']:.0%} of the attention "
        f"(uniform attention would give them {a['uniform_share']:.0%}).",
    ]
    lines += [""] + [f"![attention]({f})" for f in figures if f == "attention.png"]
    return lines


def _parity(p: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["", "## Native engine parity", ""]
    rows = [
        [
            name,
            f"{d['max_abs_diff']:.2e}",
            str(d["windows"]),
            f"{d['tolerance']:.0e}",
            "yes" if d["ok"] else "NO",
        ]
        for name, d in p.items()
    ]
    lines += _table(["model", "max abs diff, native vs torch", "windows", "tolerance", "within"], rows)
    return lines


def render_markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown, ending with the verdict sentence."""
    figures = doc.get("figures", [])
    lines = [f"# {doc['title']}", ""] + _context(doc)
    if "tuning" in doc:
        lines += [""] + search_markdown(doc["tuning"], figures)
    if "classification" in doc:
        lines += [""] + _classification(doc["classification"])
        lines += [""] + [f"![scores]({f})" for f in figures if f.startswith("scores")]
    if "equity" in doc:
        classes = doc.get("classification", {}).get("classes", ["down", "up"])
        lines += _equity(doc["equity"], figures, classes)
    if "forecast" in doc:
        lines += _forecast(doc["forecast"])
        lines += [""] + [f"![forecast]({f})" for f in figures if f == "forecast.png"]
    if "attention" in doc:
        lines += _attention(doc["attention"], figures)
    if "parity" in doc:
        lines += _parity(doc["parity"])
    if "tuning" in doc:
        lines += statistics_markdown(doc["tuning"])
    if "verdict" in doc:
        readings = [f"- {r}" for r in doc.get("readings", [])]
        lines += ["", "## Verdict", ""] + readings + ([""] if readings else []) + [doc["verdict"]]
    return "\n".join(lines) + "\n"
