"""The HTML report in a real browser: headless Chromium over the Chrome DevTools protocol.

Each test writes a report with the command line, opens it as a ``file://`` URL, and checks that
every section and every plot is rendered (non-zero size), that the page logged no console error
or exception, that it requested nothing but the file itself (it opens offline), that the
disagreement filters work — and that without JavaScript every row is still there. It saves a
full-page screenshot and checks it is a PNG of a sensible size that is not blank.

The DevTools client is ``aiohttp``'s websocket client: aiohttp is already a judgecal dependency
(the simulated judge's server), so the browser tests need no package beyond Chromium itself
(selenium would add a package and a chromedriver of matching version; ``websockets`` and
``websocket-client`` are not installed here).

Without Chromium (``chromium``, ``chromium-browser``, ``google-chrome`` on PATH, or
``$JUDGECAL_CHROMIUM``) the tests skip — unless ``JUDGECAL_REQUIRE_BROWSER=1`` (CI), which turns
the skip into a failure. ``JUDGECAL_SCREENSHOT_DIR`` keeps a copy of every screenshot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from judgecal.cli import app
from judgecal.report.html import SECTIONS

runner = CliRunner()

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


def _chromium() -> str:
    found = os.environ.get("JUDGECAL_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    if found is None:
        reason = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("JUDGECAL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"JUDGECAL_REQUIRE_BROWSER=1, but {reason}")
        pytest.skip(reason)
    return found


class Browser:
    """A headless Chromium started for these tests (stopped by its own handle at the end)."""

    def __init__(self, exe: str):
        self.profile = Path(tempfile.mkdtemp(prefix="judgecal-chromium-"))
        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Chromium did not start (exit code {self.proc.returncode})")
            time.sleep(0.05)
        self.port = int(port_file.read_text().splitlines()[0])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url: str, *, javascript: bool = True, checks: str = "") -> dict[str, Any]:
        """Load ``url`` in a new tab; return console errors, requests, ``checks`` evaluated
        (a JS expression giving JSON-able data) and a full-page PNG screenshot."""
        return asyncio.run(self._open(url, javascript, checks))

    async def _open(self, url: str, javascript: bool, checks: str) -> dict[str, Any]:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            async with http.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as resp:
                target = await resp.json()
            try:
                async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    page = _Page(ws)
                    reader = asyncio.create_task(page.read())
                    try:
                        return await page.run(url, javascript, checks)
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
            finally:
                async with http.get(f"http://127.0.0.1:{self.port}/json/close/{target['id']}") as resp:
                    await resp.read()


class _Page:
    """The DevTools protocol on one tab: commands with ids, events collected."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.loaded = asyncio.Event()

    async def read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data:
                fut = self.waiting.pop(data["id"])
                if "error" in data:
                    fut.set_exception(RuntimeError(f"DevTools: {data['error']}"))
                else:
                    fut.set_result(data.get("result", {}))
            else:
                self.events.append(data)
                if data.get("method") == "Page.loadEventFired":
                    self.loaded.set()

    async def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return await asyncio.wait_for(fut, 60)

    async def run(self, url: str, javascript: bool, checks: str) -> dict[str, Any]:
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.call(f"{domain}.enable")
        await self.call(
            "Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False
        )
        if not javascript:
            await self.call("Emulation.setScriptExecutionDisabled", value=True)
        await self.call("Page.navigate", url=url)
        await asyncio.wait_for(self.loaded.wait(), 60)
        await asyncio.sleep(0.3)  # let the inline script and layout settle
        if not javascript:  # evaluate the checks anyway: the page's own scripts stay disabled
            await self.call("Emulation.setScriptExecutionDisabled", value=False)
        found = await self.call("Runtime.evaluate", expression=checks or "null", returnByValue=True)
        if "exceptionDetails" in found:
            raise AssertionError(f"the test's checks failed in the page: {found['exceptionDetails']}")
        metrics = await self.call("Page.getLayoutMetrics")
        size = metrics["cssContentSize"]
        shot = await self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        )
        errors = [
            e["params"]
            for e in self.events
            if e["method"] == "Runtime.exceptionThrown"
            or (e["method"] == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
            or (e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
        ]
        requests = [
            e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"
        ]
        return {
            "errors": errors,
            "requests": requests,
            "checks": found["result"].get("value"),
            "png": base64.b64decode(shot["data"]),
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(_chromium())
    try:
        yield b
    finally:
        b.stop()


# --------------------------------------------------------------------------------------------
# what a rendered report must show

CHECKS = """
(() => {
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
  const filters = document.getElementById('filters');
  const result = {
    sections, rows: rows.length, rowsShown: rows.filter(r => !r.hidden).length,
    filtersShown: !!filters && !filters.hidden, title: document.title,
    text: document.body.innerText,
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
})()
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


def _open_and_check(browser: Browser, html: Path, name: str) -> dict[str, Any]:
    assert html.exists() and html.stat().st_size > 10_000
    page = browser.open(html.resolve().as_uri(), checks=CHECKS)
    assert page["errors"] == [], page["errors"]
    assert page["requests"] == [html.resolve().as_uri()], "the report must not fetch anything"
    found = page["checks"]
    assert list(found["sections"]) == list(SECTIONS)
    for sid, sec in found["sections"].items():
        assert sec["visible"] and sec["size"][0] > 600 and sec["size"][1] > 40, (sid, sec)
        for kind, w, h in sec["plots"]:
            assert w > 200 and h > 60, (sid, kind, w, h)
    png = page["png"]
    shot = html.with_suffix(".png")
    shot.write_bytes(png)
    keep = os.environ.get("JUDGECAL_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"{name}.png")
    width, height = _png_size(png)
    assert 1200 <= width <= 1280 and height > 2000, (width, height)  # the page less its scroll bar
    assert 50_000 < len(png) < 40_000_000
    assert _png_is_not_blank(png)
    return found


def _plots(found: dict[str, Any], section: str) -> list[str]:
    return [kind for kind, _w, _h in found["sections"][section]["plots"]]


# --------------------------------------------------------------------------------------------
# the tests


@pytest.mark.slow
def test_validation_report_opens_offline_with_every_section(browser, tmp_path):
    html = tmp_path / "validation.html"
    result = runner.invoke(
        app, ["validate", "support-billing", "--judge", "sim/accurate", "--quiet", "--html", str(html)]
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


@pytest.mark.slow
def test_grade_run_report_with_score_calibration(browser, tmp_path):
    graded = runner.invoke(
        app,
        ["grade", "support-billing", "--judge", "sim/noisy", "--split", "all", "--samples", "3", "--json"],
    )
    assert graded.exit_code == 0, graded.output
    run_id = json.loads(graded.stdout)["run_id"]
    html = tmp_path / "grade.html"
    made = runner.invoke(app, ["report", run_id[:10], "--out", str(html)])
    assert made.exit_code == 0, made.output
    found = _open_and_check(browser, html, "grade-sim")
    assert _plots(found, "reliability") == ["reliability"]
    assert "no decision" in found["sections"]["decision"]["unavailable"][0]
    assert "No probes" in found["sections"]["probes"]["unavailable"][0]


@pytest.mark.slow
def test_comparison_report_side_by_side(browser, tmp_path):
    html = tmp_path / "compare.html"
    result = runner.invoke(
        app,
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


def test_without_javascript_every_row_is_shown(browser, tmp_path):
    from test_report_html import binary_report  # the unit tests' report object

    from judgecal.report import write

    html = tmp_path / "nojs.html"
    write(binary_report(), html, "html")
    page = browser.open(html.resolve().as_uri(), javascript=False, checks=CHECKS)
    found = page["checks"]
    assert page["errors"] == []
    assert found["rows"] == found["rowsShown"] > 0
    assert not found["filtersShown"]  # the filters need the script: without it they stay hidden


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
    graded = runner.invoke(
        app, ["grade", "support-billing", "--judge", "local/smollm2", "--split", "dev", "--json"]
    )
    assert graded.exit_code == 0, graded.output
    run_id = json.loads(graded.stdout)["run_id"]
    html = tmp_path / "local.html"
    made = runner.invoke(app, ["report", run_id, "--out", str(html)])
    assert made.exit_code == 0, made.output
    found = _open_and_check(browser, html, "grade-local")
    assert "local/smollm2" in found["title"]
    assert _plots(found, "confusion") == ["confusion"] and _plots(found, "slices") == ["slices"]
