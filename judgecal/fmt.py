"""How figures are written for people: shared by the terminal output (:mod:`judgecal.cli`) and
the reports (:mod:`judgecal.report`), so that a figure reads the same everywhere.

A library module with no judgecal imports: the reports use it without reaching into the CLI.

>>> fmt_estimate({"value": 0.8123, "lo": 0.75, "hi": 0.86}, True)
'81.2% [75.0%, 86.0%]'
>>> fmt_number(None), fmt_ms(12.4), fmt_cost(0.5)
('undefined', '12 ms', '$0.5000')
>>> fmt_value({"temperature": 0.0, "max_tokens": None, "stop": ["a", "b"]})
'temperature 0, max_tokens none, stop a, b'
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["fmt_cost", "fmt_estimate", "fmt_ms", "fmt_number", "fmt_value"]


def fmt_cost(cost: float | None) -> str:
    """USD with four decimals; None is a price litellm does not know."""
    return "unknown (model price not in litellm's cost map)" if cost is None else f"${cost:.4f}"


def fmt_ms(value: float | None) -> str:
    """Milliseconds, rounded; ``-`` when there is none."""
    return "-" if value is None else f"{value:.0f} ms"


def fmt_estimate(est: Any, pct: bool = False) -> str:
    """An estimate (an object or a dict with ``value``, ``lo``, ``hi``) as ``value [lo, hi]``:
    three decimals, or a percentage with one (``pct``); ``undefined`` for NaN/None, ``-`` for none."""
    if est is None:
        return "-"
    value, lo, hi = (
        (est.value, est.lo, est.hi) if hasattr(est, "value") else (est["value"], est["lo"], est["hi"])
    )
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "undefined"
    f = (lambda x: f"{100 * x:.1f}%") if pct else (lambda x: f"{x:.3f}")
    if lo is None or hi is None:
        return f(value)
    return f"{f(value)} [{f(lo)}, {f(hi)}]"


def fmt_number(value: float | None) -> str:
    """Three decimals; ``undefined`` for None or NaN."""
    return "undefined" if value is None or math.isnan(value) else f"{value:.3f}"


def fmt_value(value: Any, *, none: str = "none") -> str:
    """Any setting as text for a person, never a Python repr: ``none`` for None, ``yes``/``no``
    for booleans, numbers with ``:g``, lists joined with commas, mappings as ``key value`` pairs."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt_value(v, none=none)}" for k, v in value.items()) or none
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(fmt_value(v, none=none) for v in items) or none
    return str(value)
