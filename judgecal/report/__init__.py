"""Reports people would rather look at than read: HTML (one self-contained file), a bounded
Markdown summary for pull requests, and JSON (the whole report object) for CI.

``build`` functions in :mod:`judgecal.report.model` turn stored data into a :class:`Report`;
:func:`render` formats it. Nothing here computes a statistic: every figure comes from the
calibration report, the decision, the probe report or the comparison it holds.
"""

from __future__ import annotations

from typing import Literal

from judgecal.report.model import Report

__all__ = ["Format", "Report", "render", "write"]

Format = Literal["html", "md", "json"]


def render(report: Report, fmt: Format = "html") -> str:
    """The report as HTML, Markdown (``md``) or JSON."""
    if fmt == "html":
        from judgecal.report.html import render_html  # noqa: PLC0415

        return render_html(report)
    if fmt == "md":
        from judgecal.report.markdown import render_markdown  # noqa: PLC0415

        return render_markdown(report)
    if fmt == "json":
        return report.model_dump_json(indent=2) + "\n"
    raise ValueError(f"format must be html, md or json, not {fmt!r}")


def write(report: Report, path: str | object, fmt: Format = "html") -> int:
    """Render and write atomically (a temp file renamed into place); returns the bytes written."""
    from judgecal._files import write_atomic  # noqa: PLC0415

    return write_atomic(str(path), render(report, fmt))
