"""Child process of :mod:`rel_harness`: runs the case ids read from stdin, one JSON line per case.

The address space is capped (``RLIMIT_AS``: what the interpreter uses after imports plus
``NT_REL_AS_EXTRA_MB``, default 4096; 0 for no cap), so an allocation too big for the machine fails at
once, in the case that made it, instead of swapping or waking the OOM killer: a Rust ``Vec`` that cannot
be allocated aborts the process, which the harness then reports as a crash. Before each case the peak
RSS is reset (``/proc/self/clear_refs``), so each result reports the memory that case alone took. A
watchdog ends the process when its RSS passes ``NT_REL_MAX_RSS_MB`` (default 3072): it shares the
machine.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
import traceback
import warnings


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


def _watchdog(limit_mb: int) -> None:
    """Ends the process if its RSS passes ``limit_mb``: a case that reads or allocates far more than any
    case should must not take the shared machine down with it (the harness reports a crash)."""
    while True:
        rss = _status_kb("VmRSS") / 1024
        if rss > limit_mb:
            _emit({"rss_abort": round(rss)})
            os._exit(86)
        time.sleep(0.05)


def main() -> int:
    ids = [line.strip() for line in sys.stdin if line.strip()]
    limit_mb = int(os.environ.get("NT_REL_MAX_RSS_MB", "3072"))
    threading.Thread(target=_watchdog, args=(limit_mb,), daemon=True).start()
    import rel_cases  # noqa: PLC0415 (after reading stdin: imports torch, slow)

    extra_mb = int(os.environ.get("NT_REL_AS_EXTRA_MB", "4096"))
    if extra_mb > 0:
        limit = (_status_kb("VmSize") + extra_mb * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    can_reset = _reset_peak()
    for cid in ids:
        case = rel_cases.CASES.get(cid)
        if case is None:
            _emit({"id": cid, "status": "error", "detail": "unknown case id"})
            continue
        _emit({"start": cid})
        if can_reset:
            _reset_peak()
        rss0 = _status_kb("VmRSS")
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = rel_cases.execute(case)
        result["secs"] = round(time.perf_counter() - t0, 4)
        peak = _status_kb("VmHWM") if can_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["rss_growth_mb"] = round(max(peak - rss0, 0) / 1024, 1)
        if case.max_rss_growth_mb is not None and result["rss_growth_mb"] > case.max_rss_growth_mb:
            result["status"] = "fail"
            result["detail"] = (
                f"peak RSS grew by {result['rss_growth_mb']} MB > {case.max_rss_growth_mb} MB; "
                + result.get("detail", "")
            )
        if caught:
            result["warnings"] = sorted({f"{w.category.__name__}: {w.message}"[:200] for w in caught})
        result["id"] = cid
        _emit(result)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:
        traceback.print_exc()
        sys.exit(3)
