"""The registry of reliability cases: a hostile input, the call that receives it, and what must happen.

A case passes when its call raises one of the allowed exception classes (``raises``) or, with
``raises=None``, returns a value that ``check`` accepts (documented correct handling, e.g. float64 input
converted to float32 gives the same output as float32 input). Anything else fails: another exception,
a return where an error was due, a failed check. Crashes and hangs are seen by :mod:`rel_harness`.

Cases are registered by the ``rel_cases_*`` modules imported at the bottom; ``slow`` cases only run in
the exhaustive variant (``pytest -m slow``).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    """One hostile input and its expected outcome."""

    id: str
    run: Callable[[], Any]
    raises: tuple[type[BaseException], ...] | None
    check: Callable[[Any], None] | None = None
    slow: bool = False
    group: str = "inputs"
    # Bound on the growth of the peak RSS while the case runs (hostile sizes must not allocate).
    max_rss_growth_mb: float | None = None
    # A substring the exception message must contain (the error names the problem).
    match: str | None = None
    # Address-space headroom (MB) of the child that runs the case; 0 = no limit (see rel_runner).
    as_extra_mb: int = 4096
    # A known defect, reported to its owner: the case must still fail (the test says when it is fixed).
    known_issue: str | None = None


CASES: dict[str, Case] = {}


def add(
    cid: str,
    run: Callable[[], Any],
    raises: type[BaseException] | tuple[type[BaseException], ...] | None = None,
    check: Callable[[Any], None] | None = None,
    *,
    slow: bool = False,
    group: str = "inputs",
    max_rss_growth_mb: float | None = None,
    match: str | None = None,
    as_extra_mb: int = 4096,
    known_issue: str | None = None,
) -> None:
    """Registers a case; ids must be unique."""
    if cid in CASES:
        raise KeyError(f"duplicate case id {cid}")
    if isinstance(raises, type):
        raises = (raises,)
    CASES[cid] = Case(
        cid, run, raises, check, slow, group, max_rss_growth_mb, match, as_extra_mb, known_issue
    )


def execute(case: Case) -> dict:
    """Runs one case and judges it; returns the JSON-ready result."""
    try:
        value = case.run()
    except BaseException as e:  # noqa: BLE001 (SystemExit and friends are outcomes too)
        if isinstance(e, KeyboardInterrupt):
            raise
        outcome = f"raised {type(e).__module__}.{type(e).__qualname__}"
        msg = str(e)[:400]
        if case.raises is not None and isinstance(e, case.raises):
            if case.match is not None and case.match not in str(e):
                return {
                    "status": "fail",
                    "outcome": outcome,
                    "detail": f"message lacks {case.match!r}: {msg}",
                }
            return {"status": "pass", "outcome": outcome, "detail": msg}
        return {
            "status": "fail",
            "outcome": outcome,
            "detail": msg,
            "traceback": traceback.format_exc()[-1500:],
        }
    if case.raises is not None:
        names = "/".join(c.__name__ for c in case.raises)
        return {"status": "fail", "outcome": "returned", "detail": f"expected {names}, got {_brief(value)}"}
    if case.check is not None:
        try:
            case.check(value)
        except Exception as e:  # noqa: BLE001
            return {
                "status": "fail",
                "outcome": "returned",
                "detail": f"check failed: {type(e).__name__}: {e}",
            }
    return {"status": "pass", "outcome": "returned", "detail": _brief(value)}


def _brief(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"{type(value).__name__} shape {tuple(shape)} dtype {getattr(value, 'dtype', '?')}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_brief(v) for v in value) + ")"
    return repr(value)[:200]


def ids(*, slow: bool = False, group: str | None = None) -> list[str]:
    """Case ids of the default run (``slow=False``) or of the exhaustive one (every case)."""
    return [c.id for c in CASES.values() if (slow or not c.slow) and (group is None or c.group == group)]


# Registration: each module adds its cases on import.
import rel_cases_arrays  # noqa: E402,F401
import rel_cases_checkpoints  # noqa: E402,F401
import rel_cases_cli  # noqa: E402,F401
import rel_cases_data  # noqa: E402,F401
import rel_cases_fuzz  # noqa: E402,F401
import rel_cases_gather  # noqa: E402,F401
import rel_cases_scalars  # noqa: E402,F401
