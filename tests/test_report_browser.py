"""The HTML report in a real browser: Debian's headless Chromium driven by Playwright for Python.

Each test writes a report with the command line, opens it as a ``file://`` URL, and checks that
every section and every plot is rendered (non-zero size), that the page logged no console error
or exception, that it requested nothing but the file itself (it opens offline), that the
disagreement filters work — and that without JavaScript every row is still there. It saves a
full-page screenshot and checks it is a PNG of a sensible size that is not blank.

At a phone's width (390 px) and a laptop's (1366 px) the page must not scroll sideways (wide
tables and plots scroll inside their own box), and the plots' smallest text must stay readable
(9 px or more). The item browser is exercised as a person would: filters, sorting, a permalink,
and the CSV/JSONL export of the rows shown (the download is intercepted and read back).

Playwright is the ``browser`` extra (``pip install -e ".[browser]"``); it drives the Chromium on
PATH (``chromium``, ``chromium-browser``, ``google-chrome``, or ``$JUDGECAL_CHROMIUM``) — never
``playwright install``. Without either the tests skip, unless ``JUDGECAL_REQUIRE_BROWSER=1`` (CI),
which turns the skip into a failure. ``JUDGECAL_SCREENSHOT_DIR`` keeps a copy of every screenshot.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.report.html import SECTIONS

runner = CliRunner()


def _invoke(args: list[str]) -> Any:
    """The command line, in a thread of its own: Playwright's sync API keeps an event loop running
    in this one, and judgecal's commands start theirs with ``asyncio.run``."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(runner.invoke, app, args).result()


MIN_FONT_PX = 9.0
"""The smallest rendered plot text allowed at 390 px."""


def _need(reason: str) -> None:
    if os.environ.get("JUDGECAL_REQUIRE_BROWSER") == "1":
        pytest.fail(f"JUDGECAL_REQUIRE_BROWSER=1, but {reason}")
    pytest.skip(reason)


def _chromium() -> str:
    found = os.environ.get("JUDGECAL_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    if found is None:
        _need("Chromium is not installed (apt-get install chromium)")
    return str(found)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need('playwright is not installed (pip install -e ".[browser]")')
    exe = _chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Opened:
    """One page of a report in its own context, with what it logged and requested."""

    def __init__(self, browser: Any, url: str, *, width: int = 1280, javascript: bool = True):
        self.context = browser.new_context(
            viewport={"width": width, "height": 900}, java_script_enabled=javascript, accept_downloads=True
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(m.text) if m.type in ("error", "assert") else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()


# --------------------------------------------------------------------------------------------
# what a rendered report must show

CHECKS = """
() => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
  const sections = {};
  for (const s of document.querySelectorAll('section[data-section]')) {
    const style = getComputedStyle(s);
    sections[s.id] = {
      size: box(s),
      visible: style.display !== 'none' && style.visibility !== 'hidden',
      heading: s.querySelector('h2') ? s.querySelector('h2').textContent : null,
      plots: Array.from(s.querySelectorAll('svg[data-plot]')).map(p => [p.dataset.plot, ...box(p)]),
      unavailable: Array.from(s.querySelectorAll('.unavailable')).map(p => p.textContent),
    };
  }
  const rows = Array.from(document.querySelectorAll('#disagreement-table tbody tr'));
  const items = Array.from(document.querySelectorAll('#item-table tbody tr'));
  const filters = document.getElementById('filters');
  const result = {
    sections, rows: rows.length, rowsShown: rows.filter(r => !r.hidden).length,
    items: items.length, itemsShown: items.filter(r => !r.hidden).length,
    filtersShown: !!filters && !filters.hidden,
    itemFiltersShown: !!document.getElementById('item-filters') &&
      !document.getElementById('item-filters').hidden,
    title: document.title, text: document.body.innerText,
  };
  if (filters && !filters.hidden && rows.length) {
    const sel = filters.querySelector('select[data-key="judge"]');
    const value = rows[0].dataset.judge;
    sel.value = value; sel.dispatchEvent(new Event('change', {bubbles: true}));
    result.filter = {value, expected: rows.filter(r => r.dataset.judge === value).length,
                     shown: rows.filter(r => !r.hidden).length,
                     counter: document.getElementById('shown-count').textContent};
    sel.value = '*'; sel.dispatchEvent(new Event('change', {bubbles: true}));
  }
  return result;
}
"""

LAYOUT = """
() => {
  const sizes = [];
  for (const t of document.querySelectorAll('svg[data-plot] text')) {
    const svg = t.ownerSVGElement, r = t.getBoundingClientRect();
    if (!r.height || !t.textContent.trim()) continue;
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    sizes.push([parseFloat(getComputedStyle(t).fontSize) * scale, svg.dataset.plot, t.textContent]);
  }
  sizes.sort((a, b) => a[0] - b[0]);
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          smallest: sizes.slice(0, 3), texts: sizes.length};
}
"""


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _png_is_not_blank(png: bytes) -> bool:
    """Decompress the image data: a blank page has only a handful of distinct byte values."""
    pos, data = 8, b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        if kind == b"IDAT":
            data += png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    return len(set(raw[:4_000_000])) > 64


def _keep(png: bytes, html: Path, name: str) -> None:
    shot = html.parent / f"{name}.png"
    shot.write_bytes(png)
    keep = os.environ.get("JUDGECAL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"{name}.png")


def _check_widths(browser: Any, html: Path, name: str) -> dict[int, dict[str, Any]]:
    """At 390 and 1366 px: no sideways page scroll, readable plot text, a screenshot of each."""
    out = {}
    for width in (390, 1366):
        opened = Opened(browser, html.resolve().as_uri(), width=width)
        try:
            layout = opened.page.evaluate(LAYOUT)
            assert layout["scrollWidth"] <= width, (width, layout)
            if width == 390:
                smallest = layout["smallest"][0][0] if layout["smallest"] else MIN_FONT_PX
                assert smallest >= MIN_FONT_PX - 0.05, layout["smallest"]
            png = opened.page.screenshot(full_page=True)
            assert _png_size(png)[0] == width and _png_is_not_blank(png)
            _keep(png, html, f"{name}-{width}")
            assert opened.errors == [], opened.errors
            out[width] = layout
        finally:
            opened.close()
    return out


def _open_and_check(browser: Any, html: Path, name: str) -> dict[str, Any]:
    assert html.exists() and html.stat().st_size > 10_000
    opened = Opened(browser, html.resolve().as_uri())
    try:
        found = opened.page.evaluate(CHECKS)
        png = opened.page.screenshot(full_page=True)
        assert opened.errors == [], opened.errors
        assert opened.requests == [html.resolve().as_uri()], "the report must not fetch anything"
    finally:
        opened.close()
    assert list(found["sections"]) == list(SECTIONS)
    for sid, sec in found["sections"].items():
        assert sec["visible"] and sec["size"][0] > 600 and sec["size"][1] > 40, (sid, sec)
        for kind, w, h in sec["plots"]:
            assert w > 200 and h > 60, (sid, kind, w, h)
    _keep(png, html, name)
    width, height = _png_size(png)
    assert width == 1280 and height > 2000, (width, height)
    assert 50_000 < len(png) < 40_000_000
    assert _png_is_not_blank(png)
    assert found["items"] == found["itemsShown"] > 0 and found["itemFiltersShown"]
    found["layout"] = _check_widths(browser, html, name)
    return found


def _plots(found: dict[str, Any], section: str) -> list[str]:
    return [kind for kind, _w, _h in found["sections"][section]["plots"]]


# --------------------------------------------------------------------------------------------
# the item browser, used as a person would


def _visible_ids(page: Any) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('#item-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => JSON.parse(r.dataset.json).item_id)"
    )


def _exercise_item_browser(browser: Any, html: Path) -> None:
    url = html.resolve().as_uri()
    opened = Opened(browser, url, width=390)
    page = opened.page
    try:
        every = _visible_ids(page)
        # filter: the disagreeing items only (one judge: "disagrees"; several: any value)
        agree = page.locator('#item-filters select[data-key="agree"]')
        values = [v for v in agree.locator("option").evaluate_all("os => os.map(o => o.value)") if v != "*"]
        value = next((v for v in values if v in ("disagrees", "none agrees")), values[-1])
        agree.select_option(value)
        expected = page.evaluate(
            "v => Array.from(document.querySelectorAll('#item-table tbody tr'))"
            ".filter(r => r.dataset.agree === v).map(r => JSON.parse(r.dataset.json).item_id)",
            value,
        )
        shown = _visible_ids(page)
        assert shown == expected and 0 < len(shown) < len(every)
        assert page.locator("#items-shown").inner_text() == str(len(shown))
        # export: the rows shown, as CSV and as JSONL, made in the page (no request)
        with page.expect_download() as dl:
            page.locator('#item-filters button[data-export="csv"]').click()
        rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
        assert dl.value.suggested_filename.endswith(".csv")
        assert [r["item_id"] for r in rows] == shown
        with page.expect_download() as dl:
            page.locator('#item-filters button[data-export="jsonl"]').click()
        lines = [json.loads(x) for x in Path(dl.value.path()).read_text(encoding="utf-8").splitlines()]
        assert [x["item_id"] for x in lines] == shown
        records = page.evaluate(
            "() => Array.from(document.querySelectorAll('#item-table tbody tr'))"
            ".filter(r => !r.hidden).map(r => JSON.parse(r.dataset.json))"
        )
        assert lines == records
        for row, rec in zip(rows, records, strict=True):
            assert row["human_majority"] == rec["human_majority"] and row["slice"] == (rec["slice"] or "")
        # sorting: by item id, then reversed
        agree.select_option("*")
        heading = page.locator("#item-table thead th").first
        heading.locator("button").click()
        assert heading.get_attribute("aria-sort") == "ascending"
        ascending = _visible_ids(page)
        assert sorted(ascending) == sorted(every) and ascending == sorted(
            ascending, key=lambda s: [int(t) if t.isdigit() else t.lower() for t in _chunks(s)]
        )
        heading.locator("button").click()
        assert heading.get_attribute("aria-sort") == "descending" and _visible_ids(page) == ascending[::-1]
        # permalink: an item hidden by a filter is shown and highlighted when its anchor is opened
        hidden_id = page.evaluate(
            "() => Array.from(document.querySelectorAll('#item-table tbody tr'))"
            ".find(r => r.dataset.agree !== '" + values[0] + "').id"
        )
        agree.select_option(values[0])
        assert page.locator(f"#{hidden_id}").is_hidden()
        page.evaluate("id => { location.hash = id; }", hidden_id)
        page.wait_for_function(
            "id => document.getElementById(id).classList.contains('target')", arg=hidden_id
        )
        assert page.locator(f"#{hidden_id}").is_visible()
        assert opened.errors == [], opened.errors
        assert all(u.startswith(("file:", "blob:")) for u in opened.requests), opened.requests
    finally:
        opened.close()
    # opened straight from a permalink
    first = every[len(every) // 2]
    anchor = "item-" + "_".join(first.split())
    opened = Opened(browser, f"{url}#{anchor}", width=1366)
    try:
        opened.page.wait_for_function(
            "id => document.getElementById(id).classList.contains('target')", arg=anchor
        )
        assert opened.page.locator(f"#{anchor}").is_visible()
        box = opened.page.locator(f"#{anchor}").bounding_box()
        assert box is not None and -2 <= box["y"] <= 900 - box["height"]  # in view
    finally:
        opened.close()


def _chunks(s: str) -> list[str]:
    import re

    return re.findall(r"\d+|\D+", s)


# --------------------------------------------------------------------------------------------
# the tests


@pytest.mark.slow
def test_validation_report_opens_offline_with_every_section(browser, tmp_path):
    html = tmp_path / "validation.html"
    result = _invoke(
        ["validate", "support-billing", "--judge", "sim/accurate", "--quiet", "--html", str(html)]
    )
    assert result.exit_code == 1, result.output  # inconclusive on the bundled 77 items
    found = _open_and_check(browser, html, "validation")
    assert "INCONCLUSIVE" in found["text"]
    assert _plots(found, "agreement") == ["ceiling"]
    assert _plots(found, "confusion") == ["confusion"]
    assert _plots(found, "probes") == ["probes"]
    assert _plots(found, "slices") == ["slices"]
    # binary verdicts with one sample: no score to calibrate, and the page says so
    assert _plots(found, "reliability") == []
    assert "Not available" in found["sections"]["reliability"]["unavailable"][0]
    assert found["rows"] == found["rowsShown"] > 0 and found["filtersShown"]
    f = found["filter"]
    assert f["shown"] == f["expected"] == int(f["counter"]) <= found["rows"]
    _exercise_item_browser(browser, html)


@pytest.mark.slow
def test_grade_run_report_with_score_calibration(browser, tmp_path):
    graded = _invoke(
        ["grade", "support-billing", "--judge", "sim/noisy", "--split", "all", "--samples", "3", "--json"],
    )
    assert graded.exit_code == 0, graded.output
    run_id = json.loads(graded.stdout)["run_id"]
    html = tmp_path / "grade.html"
    made = _invoke(["report", run_id[:10], "--out", str(html)])
    assert made.exit_code == 0, made.output
    found = _open_and_check(browser, html, "grade-sim")
    assert _plots(found, "reliability") == ["reliability"]
    assert "no decision" in found["sections"]["decision"]["unavailable"][0]
    assert "No probes" in found["sections"]["probes"]["unavailable"][0]


@pytest.mark.slow
def test_comparison_report_side_by_side(browser, tmp_path):
    html = tmp_path / "compare.html"
    result = _invoke(
        [
            "compare",
            "support-billing",
            "-j",
            "sim/accurate",
            "-j",
            "sim/noisy",
            "--quiet",
            "--html",
            str(html),
        ],
    )
    assert result.exit_code == 0, result.output
    found = _open_and_check(browser, html, "compare")
    assert _plots(found, "decision") == ["compare"]
    assert _plots(found, "confusion") == ["confusion", "confusion"]
    assert _plots(found, "slices") == ["slices", "slices"]
    # the per-item view: each judge's verdict beside the human label, one row per item
    opened = Opened(browser, html.resolve().as_uri())
    try:
        heads = opened.page.locator("#item-table thead th").all_inner_texts()
        assert "sim/accurate said" in heads and "sim/noisy said" in heads
        both = opened.page.evaluate(
            "() => Array.from(document.querySelectorAll('#item-table tbody tr'))"
            ".every(r => r.dataset.v0 !== undefined && r.dataset.v1 !== undefined)"
        )
        assert both
    finally:
        opened.close()
    _exercise_item_browser(browser, html)


def test_without_javascript_every_row_is_shown(browser, tmp_path):
    from test_report_html import binary_report  # the unit tests' report object

    from judgecal.report import write

    html = tmp_path / "nojs.html"
    write(binary_report(), html, "html")
    opened = Opened(browser, html.resolve().as_uri(), javascript=False)
    try:
        found = opened.page.evaluate(CHECKS)
        assert opened.errors == []
    finally:
        opened.close()
    assert found["rows"] == found["rowsShown"] > 0
    assert found["items"] == found["itemsShown"] > found["rows"]  # agreeing items too
    assert not found["filtersShown"] and not found["itemFiltersShown"]  # the controls need the script
    _check_widths(browser, html, "nojs-report")


@pytest.mark.slow
@pytest.mark.local
def test_grade_run_of_the_local_judge(browser, tmp_path):
    import importlib.util

    from judgecal.local import LOCAL_MODELS, locate_model

    def need(reason: str) -> None:
        if os.environ.get("JUDGECAL_REQUIRE_LOCAL") == "1":
            pytest.fail(f"JUDGECAL_REQUIRE_LOCAL=1, but {reason}")
        pytest.skip(reason)

    if importlib.util.find_spec("xllamacpp") is None:
        need("xllamacpp is not installed (pip install 'judgecal[local]')")
    if locate_model(LOCAL_MODELS["smollm2"]) is None:
        need("the smollm2 model is not installed: set JUDGECAL_MODELS_DIR, `judgecal models install smollm2`")
    graded = _invoke(["grade", "support-billing", "--judge", "local/smollm2", "--split", "dev", "--json"])
    assert graded.exit_code == 0, graded.output
    run_id = json.loads(graded.stdout)["run_id"]
    html = tmp_path / "local.html"
    made = _invoke(["report", run_id, "--out", str(html)])
    assert made.exit_code == 0, made.output
    found = _open_and_check(browser, html, "grade-local")
    assert "local/smollm2" in found["title"]
    assert _plots(found, "confusion") == ["confusion"] and _plots(found, "slices") == ["slices"]
