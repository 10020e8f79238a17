"""The labelling web app in a real browser: Debian's headless Chromium driven by Playwright, the
app served by uvicorn on loopback (:class:`~judgecal.service.server.ServerThread`).

Two annotators label at the same time with the keyboard only (each in a browser context of its
own, their submissions in flight together); every answer is read back from the store. A refresh
and a server restart resume at the next unanswered item; one annotator can neither read nor
overwrite the other's items; a page whose item changed is refused as stale; the export of what
was labelled calibrates a simulated judge to exactly the figures of the same gold set written by
hand. At a phone's width (390 px) and a laptop's (1366 px) no page scrolls sideways and the
choice buttons are on screen; the screenshots go to ``$JUDGECAL_SCREENSHOT_DIR`` (else the test's
temporary folder).

The browser comes from the report's browser tests (``test_report_browser``): the same Chromium,
the same flags, and the same skip — a failure under ``JUDGECAL_REQUIRE_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_report_browser import _png_is_not_blank, _png_size
from test_report_browser import browser as browser  # the module-scoped Chromium fixture

from judgecal.gold import GoldItem, find_gold, load_gold
from judgecal.labels.app import create_label_app
from judgecal.labels.export import export_lines, write_jsonl
from judgecal.labels.queue import items_from_gold
from judgecal.labels.store import LabelStore
from judgecal.rubric import find_rubric
from judgecal.service.server import ServerThread

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}

NOTE = "unsure? zap, pass"
"""Typed into the note: its letters are shortcuts (u, s, z, p) that must not fire there."""


# --------------------------------------------------------------------------------------------
# queues


@dataclass
class Queued:
    """A queue in the test's store, its tokens and what made it."""

    store: Any
    rubric: Any
    queue: Any
    tokens: dict[str, str]
    source: list[GoldItem]

    @property
    def labels(self) -> LabelStore:
        return LabelStore(self.store)

    def app(self) -> Any:
        return create_label_app(self.store, self.queue.name, self.rubric)

    def mine(self, name: str) -> list[Any]:
        return self.queue.items_for(name)

    def stored(self, name: str) -> dict[str, tuple[str, str | None, list[str], str | None]]:
        return {
            lab.item_id: (lab.status, lab.label, lab.failure_modes, lab.note)
            for lab in self.labels.labels(self.queue, annotator=name)
        }


def _queue(
    store: Any,
    rubric_name: str,
    n: int,
    annotators: Sequence[str],
    *,
    overlap: float,
    name: str = "q",
) -> Queued:
    """The first ``n`` items of the bundled gold set, their old labels removed: whatever the
    export holds, the annotators of this test gave."""
    rubric = find_rubric(rubric_name)
    source = [it.model_copy(update={"labels": {}}) for it in find_gold(rubric_name, rubric).items[:n]]
    items = items_from_gold(source, list(annotators), overlap=overlap, seed=3)
    queue, tokens = LabelStore(store).create_queue(
        name=name,
        rubric=rubric,
        items=items,
        annotators=list(annotators),
        source=f"gold:{rubric_name}",
        overlap=overlap,
    )
    return Queued(store, rubric, queue, tokens, source)


@pytest.fixture
def billing_queue(store: Any) -> Queued:
    """12 support-billing items; ann and bob share half of them and label three each alone."""
    q = _queue(store, "support-billing", 12, ["ann", "bob"], overlap=0.5)
    assert q.rubric.scale.labels == ["pass", "fail"]  # keys 1/p answer pass, 2/f fail
    assert [m.id for m in q.rubric.failure_modes][:5] == [
        "promised_refund",
        "pretended_account_access",
        "missing_escalation",
        "no_next_step",
        "wrong_information",
    ]  # shift+1 .. shift+5
    return q


@pytest.fixture
def served(billing_queue: Queued) -> Iterator[tuple[Queued, str]]:
    with ServerThread(billing_queue.app()) as url:
        yield billing_queue, url


# --------------------------------------------------------------------------------------------
# a person at a browser


class Person:
    """One person's browser context and page, with the script errors and CSP violations it
    logged (neither may happen) and what it requested (only the app: no CDN)."""

    def __init__(self, browser: Any, url: str, *, viewport: dict[str, int] = LAPTOP):
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.origin = "/".join(url.split("/")[:3]) + "/"
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        self.response = self.page.goto(url, wait_until="load")

    def shown(self) -> str | None:
        """The item on the page; None on any other page."""
        found = self.page.locator("#item-id")
        return found.inner_text() if found.count() else None

    def state(self) -> dict[str, Any]:
        """What the keyboard changed on the page so far."""
        return self.page.evaluate(
            """() => ({
              unsure: document.getElementById('unsure').checked,
              modes: Array.from(document.querySelectorAll('input[name=failure_modes]:checked'))
                .map(b => b.value),
              note: document.getElementById('note').value,
              focused: document.activeElement ? document.activeElement.id : null,
            })"""
        )

    def keys(self, keys: Sequence[str | tuple[str, str]]) -> None:
        """Keys that stay on the page: a key name, or ``("type", text)`` typed character by
        character."""
        for key in keys:
            if isinstance(key, tuple):
                self.page.keyboard.type(key[1])
            else:
                self.page.keyboard.press(key)

    def close(self) -> None:
        assert self.problems == [], self.problems
        assert all(u.startswith(self.origin) for u in self.requests), self.requests
        self.context.close()


def _together(presses: Sequence[tuple[Person, str]]) -> list[Any]:
    """Press one key on each page, then wait for every page's navigation: the submissions are in
    flight at the server together. Returns each navigation's final response."""
    with ExitStack() as stack:
        waits = [stack.enter_context(p.page.expect_navigation(wait_until="load")) for p, _ in presses]
        for person, key in presses:
            person.page.keyboard.press(key)
    return [w.value for w in waits]


Answer = tuple[str, str | None, list[str], str | None]
"""What the store should hold for one item: status, label, failure modes, note."""


@dataclass
class Step:
    """One submission by keyboard: the item (index into the person's queue) on screen, the keys
    (the last one leaves the page), and the answer stored for that item (None: not this one)."""

    item: int
    keys: list[str | tuple[str, str]]
    answer: Answer | None = None
    then_shows: int | None = None
    """The item shown afterwards, when it is not simply the next one (undo)."""


@dataclass
class Script:
    person: Person
    items: list[Any]
    steps: list[Step]

    def expected(self) -> dict[str, Answer]:
        out: dict[str, Answer] = {}
        for s in self.steps:
            if s.answer is not None:
                out[self.items[s.item].id] = s.answer
        return out


def _run_together(scripts: Sequence[Script], check: Any = None) -> None:
    """Round by round: each person types the keys that stay on the page, the page is checked
    against the answer the step will give, then every person's last key is pressed together."""
    rounds = max(len(s.steps) for s in scripts)
    for r in range(rounds):
        going = [(s, s.steps[r]) for s in scripts if r < len(s.steps)]
        for script, step in going:
            assert script.person.shown() == script.items[step.item].id, (r, step)
            script.person.keys(step.keys[:-1])
            if step.answer is not None:
                status, _label, modes, note = step.answer
                state = script.person.state()
                assert state["unsure"] == (status == "unsure"), (r, step, state)
                assert state["modes"] == modes and state["note"] == (note or ""), (r, step, state)
                assert state["focused"] != "note", "Esc leaves the note"
        responses = _together([(s.person, str(step.keys[-1])) for s, step in going])
        for (script, step), response in zip(going, responses, strict=True):
            assert response is not None and response.status == 200, (r, step)
            if check is not None:
                check(r, script, step)


# --------------------------------------------------------------------------------------------
# 1. two annotators at once, keyboard only


def _ann_steps() -> list[Step]:
    return [
        Step(0, ["p"], ("labelled", "pass", [], None)),
        Step(
            1,
            ["Shift+Digit1", "Shift+Digit3", "Shift+Digit5", "Shift+Digit5", "2"],
            ("labelled", "fail", ["promised_refund", "missing_escalation"], None),
        ),
        Step(2, ["s"], ("skipped", None, [], None)),
        Step(3, ["u", "f"], ("unsure", "fail", [], None)),
        Step(4, ["n", ("type", NOTE), "Escape", "1"], ("labelled", "pass", [], NOTE)),
        Step(5, ["f"]),  # answered, then taken back:
        Step(6, ["z"], then_shows=5),
        Step(5, ["u", "u", "Shift+Digit2", "p"], ("labelled", "pass", ["pretended_account_access"], None)),
        Step(6, ["2"], ("labelled", "fail", [], None)),
        Step(7, ["1"], ("labelled", "pass", [], None)),
        Step(8, ["f"], ("labelled", "fail", [], None)),
    ]


def _bob_steps() -> list[Step]:
    return [
        Step(0, ["2"], ("labelled", "fail", [], None)),
        Step(1, ["u", "Shift+Digit4", "p"], ("unsure", "pass", ["no_next_step"], None)),
        Step(2, ["1"], ("labelled", "pass", [], None)),
        Step(3, ["s"], ("skipped", None, [], None)),
        Step(4, ["Shift+Digit9", "f"], ("labelled", "fail", ["followed_injection"], None)),
        Step(5, ["p"], ("labelled", "pass", [], None)),
        Step(6, ["n", ("type", "second look"), "Escape", "u", "2"], ("unsure", "fail", [], "second look")),
        Step(7, ["1"], ("labelled", "pass", [], None)),
        Step(8, ["1"], ("labelled", "pass", [], None)),
    ]


@pytest.mark.slow
def test_two_annotators_label_at_once_with_the_keyboard(browser: Any, served: tuple[Queued, str]) -> None:
    q, url = served
    ann = Person(browser, f"{url}/a/{q.tokens['ann']}")
    bob = Person(browser, f"{url}/a/{q.tokens['bob']}")
    assert len(q.mine("ann")) == len(q.mine("bob")) == 9
    scripts = [Script(ann, q.mine("ann"), _ann_steps()), Script(bob, q.mine("bob"), _bob_steps())]

    def check(r: int, script: Script, step: Step) -> None:
        if step.then_shows is not None:
            # the undo took back the last answer and shows that item again, unanswered
            undone = script.items[step.then_shows]
            assert script.person.shown() == undone.id
            assert script.person.page.locator("#current").count() == 0
            assert undone.id not in q.stored("ann")
            assert script.person.page.url.endswith(f"?item={undone.id}")

    _run_together(scripts, check)
    for person, name in ((ann, "ann"), (bob, "bob")):
        assert person.page.locator("#done").is_visible()
        assert "9 of 9" in person.page.locator("#done").inner_text()
        assert q.stored(name) == next(s for s in scripts if s.person is person).expected()
        person.close()
    assert len(q.labels.labels(q.queue)) == 18


# --------------------------------------------------------------------------------------------
# 2. a refresh and a server restart resume where the person stopped


@pytest.mark.slow
def test_a_refresh_and_a_server_restart_resume_at_the_next_item(browser: Any, billing_queue: Queued) -> None:
    q = billing_queue
    mine = q.mine("ann")
    with ServerThread(q.app()) as url:
        link = f"{url}/a/{q.tokens['ann']}"
        ann = Person(browser, link)
        for key in ("p", "f"):
            _together([(ann, key)])
        ann.keys(["u", "Shift+Digit1"])  # not submitted: a refresh forgets it
        ann.page.reload(wait_until="load")
        assert ann.shown() == mine[2].id
        assert ann.state()["unsure"] is False and ann.state()["modes"] == []
        assert ann.page.locator("#progress-text").inner_text() == f"2 / {len(mine)} answered"
    port = int(url.rsplit(":", 1)[1])
    # a new server, a new app, the same store (and the same port: the link is unchanged)
    with ServerThread(q.app(), port=port) as again:
        assert again == url
        assert ann.shown() == mine[2].id  # the page the old server rendered still submits
        _together([(ann, "1")])
        assert ann.shown() == mine[3].id
        other = Person(browser, link)  # the same link, opened afresh
        assert other.shown() == mine[3].id
        assert other.page.locator("#progress-text").inner_text() == f"3 / {len(mine)} answered"
        other.close()
        ann.close()
    assert q.stored("ann") == {
        mine[0].id: ("labelled", "pass", [], None),
        mine[1].id: ("labelled", "fail", [], None),
        mine[2].id: ("labelled", "pass", [], None),
    }


# --------------------------------------------------------------------------------------------
# 3. one annotator cannot read or overwrite the other's labels


@pytest.mark.slow
def test_an_annotator_cannot_read_or_overwrite_anothers_labels(
    browser: Any, served: tuple[Queued, str]
) -> None:
    q, url = served
    only_bob = [it for it in q.queue.items if it.assigned == ["bob"]]
    shared = [it for it in q.queue.items if len(it.assigned) == 2]
    assert only_bob and shared
    bob = Person(browser, f"{url}/a/{q.tokens['bob']}")
    shared_ids = {it.id for it in shared}
    for _ in q.mine("bob"):  # bob answers all his items: fail where shared, else pass
        if bob.shown() == shared[0].id:
            bob.keys(["n", ("type", "bob-private-note"), "Escape"])
        _together([(bob, "f" if bob.shown() in shared_ids else "p")])
    assert q.stored("bob")[shared[0].id] == ("labelled", "fail", [], "bob-private-note")
    before = q.labels.labels(q.queue, annotator="bob")
    assert len(before) == len(q.mine("bob"))

    ann = Person(browser, f"{url}/a/{q.tokens['ann']}")
    # reading bob's item by its id: the error page, without the item
    secret = only_bob[0]
    response = ann.page.goto(f"{url}/a/{q.tokens['ann']}?item={secret.id}", wait_until="load")
    assert response is not None and response.status == 404
    text = ann.page.locator("body").inner_text()
    assert "Not available" in text and "not in ann's queue" in text and "nothing was stored" not in text
    assert secret.inputs["output"][:40] not in ann.page.content()
    assert secret.inputs["input"][:40] not in ann.page.content()
    # a shared item: ann's page does not show bob's label or note
    response = ann.page.goto(f"{url}/a/{q.tokens['ann']}?item={shared[0].id}", wait_until="load")
    assert response is not None and response.status == 200
    page = ann.page.content()
    assert "bob" not in page and "private-note" not in page and "your answer" not in page
    assert ann.page.locator('button.choice[aria-pressed="true"]').count() == 0
    state = ann.state()
    assert (state["unsure"], state["modes"], state["note"]) == (False, [], "")
    # a crafted form: ann's own page, its item swapped for bob's, submitted by the keyboard
    ann.page.goto(f"{url}/a/{q.tokens['ann']}", wait_until="load")
    ann.page.evaluate(
        """([id, hash]) => {
          document.querySelector('input[name=item_id]').value = id;
          document.querySelector('input[name=item_hash]').value = hash;
        }""",
        [secret.id, secret.item_hash],
    )
    (refused,) = _together([(ann, "2")])
    assert refused is not None and refused.status == 404
    assert "not in ann's queue" in ann.page.locator("#error").inner_text()
    # the same form sent from outside the page, with ann's token and with a guessed one
    form = {
        "item_id": secret.id,
        "item_hash": secret.item_hash,
        "rubric_hash": q.queue.rubric_hash,
        "label": "pass",
    }
    r = ann.page.request.post(f"{url}/a/{q.tokens['ann']}/label", form=form, max_redirects=0)
    assert r.status == 404 and "Not stored" in r.text() and secret.inputs["output"][:40] not in r.text()
    r = ann.page.request.post(f"{url}/a/{q.tokens['ann']}x/label", form=form, max_redirects=0)
    assert r.status == 403
    assert q.labels.labels(q.queue, annotator="bob") == before  # unchanged, to the microsecond
    assert q.stored("ann") == {}
    # ann's own answer for the shared item sits beside bob's, never over it
    ann.page.goto(f"{url}/a/{q.tokens['ann']}?item={shared[0].id}", wait_until="load")
    _together([(ann, "p")])
    assert q.labels.labels(q.queue, annotator="bob") == before
    both = {(lab.annotator, lab.label) for lab in q.labels.labels(q.queue) if lab.item_id == shared[0].id}
    assert both == {("ann", "pass"), ("bob", "fail")}
    ann.close()
    bob.close()


# --------------------------------------------------------------------------------------------
# 4. a page whose item changed is stale


@pytest.mark.slow
def test_a_key_on_a_page_whose_item_changed_is_refused(browser: Any, served: tuple[Queued, str]) -> None:
    q, url = served
    ann = Person(browser, f"{url}/a/{q.tokens['ann']}")
    item = q.mine("ann")[0]
    assert ann.shown() == item.id
    changed = [
        it.model_copy(update={"item_hash": "f" * 64}) if it.id == item.id else it for it in q.queue.items
    ]
    q.labels.update_items(q.queue, changed)
    (response,) = _together([(ann, "p")])
    assert response is not None and response.status == 409
    text = ann.page.locator("#error").inner_text()
    assert "changed since this page was shown" in text and "nothing was stored" in text
    assert q.labels.labels(q.queue) == []
    # the way back shows the new version, which stores
    with ann.page.expect_navigation(wait_until="load"):
        ann.page.locator("#error a.button").click()
    assert ann.shown() == item.id
    _together([(ann, "f")])
    (stored,) = q.labels.labels(q.queue)
    assert (stored.item_id, stored.label, stored.item_hash) == (item.id, "fail", "f" * 64)
    ann.close()


# --------------------------------------------------------------------------------------------
# 5. the export calibrates like the same gold set written by hand

KEY_LABEL = {"1": "pass", "p": "pass", "2": "fail", "f": "fail"}
"""The binary keys, written out here rather than read from the app."""

ANN_KEYS = ["p", "f", "1", "p", "2", "p", "f", "1", "p", "p", "f", "p", "s", "u f", "1", "f", "p", "2"]
BOB_KEYS = ["p", "f", "2", "p", "2", "1", "p", "f", "p", "u p", "f", "p", "1", "f", "p", "s", "2", "p"]
"""One entry per item of each person's queue, in order: a key, ``s`` to skip, ``u k`` unsure."""


def _grade_and_calibrate(rubric: Any, gold_path: Path, store: Any) -> Any:
    """``sim/noisy`` graded on the file and calibrated (every item), in a thread of its own:
    Playwright's sync API keeps an event loop running in this one. The noisy judge (right 60% of
    the time) makes mistakes on a dozen items, so κ, TPR and TNR are not all a degenerate 1."""
    from judgecal.calibrate.inputs import input_from_run
    from judgecal.calibrate.report import build_report
    from judgecal.judge import grade
    from judgecal.judge_types import JudgeConfig

    def run() -> Any:
        gold = load_gold(gold_path, rubric)
        result = grade(rubric, gold, JudgeConfig(model="sim/noisy"), store=store, split="all")
        assert result.status == "completed" and result.n_items == len(gold.items)
        # every item, not only the test split: a label wrong anywhere must change a figure
        return build_report(input_from_run(store, result.run_id), split="all", n_resamples=500, seed=0)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


@pytest.mark.slow
def test_the_export_calibrates_like_the_same_gold_set_written_by_hand(
    browser: Any, store: Any, tmp_path: Path
) -> None:
    q = _queue(store, "support-billing", 24, ["ann", "bob"], overlap=0.5)
    assert len(q.mine("ann")) == len(ANN_KEYS) and len(q.mine("bob")) == len(BOB_KEYS)
    with ServerThread(q.app()) as url:
        people = {n: Person(browser, f"{url}/a/{q.tokens[n]}") for n in ("ann", "bob")}
        for ka, kb in zip(ANN_KEYS, BOB_KEYS, strict=True):
            presses = []
            for name, keys in (("ann", ka), ("bob", kb)):
                *before, last = keys.split()
                people[name].keys(before)
                presses.append((people[name], last))
            _together(presses)
        for person in people.values():
            assert person.page.locator("#done").is_visible()
            person.close()
    exported = write_jsonl(export_lines(q.queue, q.labels.labels(q.queue))[0], tmp_path / "exported.jsonl")

    # the same gold set by hand: the source's items, the labels the keys above gave
    by_id = {
        name: {it.id: k for it, k in zip(q.mine(name), keys, strict=True)}
        for name, keys in (("ann", ANN_KEYS), ("bob", BOB_KEYS))
    }
    hand_lines = []
    for src in q.source:
        labels = {
            name: KEY_LABEL[keys[src.id]]
            for name, keys in by_id.items()
            if src.id in keys and keys[src.id] in KEY_LABEL  # not skipped, not unsure
        }
        if labels:
            hand_lines.append(
                json.dumps(
                    {
                        "id": src.id,
                        "inputs": dict(src.inputs),
                        "metadata": dict(src.metadata),
                        "labels": labels,
                    }
                )
            )
    hand = tmp_path / "by-hand.jsonl"
    hand.write_text("\n".join(hand_lines) + "\n", encoding="utf-8")
    got = load_gold(exported, q.rubric)
    want = load_gold(hand, q.rubric)
    assert [(it.id, it.labels) for it in got.items] == [(it.id, it.labels) for it in want.items]
    assert got.splits == want.splits

    from_export = _grade_and_calibrate(q.rubric, exported, store)
    from_hand = _grade_and_calibrate(q.rubric, hand, store)
    assert from_export.source != from_hand.source  # two runs, two files
    assert from_export.counts == from_hand.counts and from_export.counts["with_majority"] > 0
    for treatment in ("invalid_as_disagreement", "invalid_excluded"):
        a, b = from_export.agreement[treatment], from_hand.agreement[treatment]
        assert a.n == b.n > 0
        assert a.cohen_kappa == b.cohen_kappa
        assert a.cohen_kappa.lo is not None and a.cohen_kappa.hi is not None
        assert a.cohen_kappa.lo < a.cohen_kappa.value < a.cohen_kappa.hi  # an interval, not a point
        assert a.tpr == b.tpr and a.tnr == b.tnr and a.tpr is not None and a.tnr is not None
        assert a.tpr.n + a.tnr.n == a.n and (a.tpr.value, a.tnr.value) != (1.0, 1.0)
        assert a.model_dump(mode="json") == b.model_dump(mode="json")
    assert from_export.ceiling == from_hand.ceiling
    assert from_export.corrected_pass_rate == from_hand.corrected_pass_rate


# --------------------------------------------------------------------------------------------
# 6. the pages at a phone's width and a laptop's

LAYOUT = """
() => {
  const choices = Array.from(document.querySelectorAll('button.choice')).map(b => {
    const r = b.getBoundingClientRect();
    return {label: b.value, left: r.left, right: r.right, width: r.width, height: r.height};
  });
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth, choices};
}
"""


def _shots() -> Path | None:
    value = os.environ.get("JUDGECAL_SCREENSHOT_DIR")
    return Path(value) if value else None


def _check_page(person: Person, name: str, folder: Path, *, choices: int) -> dict[str, Any]:
    """No sideways scroll, every choice button on screen, and a full-page screenshot."""
    page = person.page
    width = page.viewport_size["width"]
    layout = page.evaluate(LAYOUT)
    assert layout["scrollWidth"] <= width + 1, (name, layout)
    assert len(layout["choices"]) == choices, (name, layout)
    for c in layout["choices"]:
        assert c["width"] > 0 and c["height"] > 0 and c["left"] >= 0 and c["right"] <= width, (name, c)
    for button in page.locator("button.choice").all():
        assert button.is_visible()
    png = page.screenshot(full_page=True)
    assert _png_size(png)[0] == width and _png_is_not_blank(png)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.png").write_bytes(png)
    return layout


@pytest.mark.slow
def test_pages_fit_a_phone_and_a_laptop(browser: Any, served: tuple[Queued, str], tmp_path: Path) -> None:
    q, url = served
    folder = _shots() or tmp_path / "shots"
    # a few labels first, so that the coordinator's tables have rows
    ann = Person(browser, f"{url}/a/{q.tokens['ann']}")
    bob = Person(browser, f"{url}/a/{q.tokens['bob']}")
    for ka, kb in (("p", "f"), ("f", "f"), ("p", "p"), ("s", "1")):
        _together([(ann, ka), (bob, kb)])
    ann.close()
    bob.close()
    for viewport in (PHONE, LAPTOP):
        w = viewport["width"]
        person = Person(browser, f"{url}/a/{q.tokens['ann']}", viewport=viewport)
        assert person.shown() is not None and person.page.locator("input[name=failure_modes]").count() == 9
        _check_page(person, f"labels-item-billing-{w}", folder, choices=2)
        admin = Person(browser, f"{url}/admin/{q.tokens['admin']}", viewport=viewport)
        assert admin.page.locator("#progress tbody tr").count() == 2
        assert admin.page.locator("#pairs tbody tr").count() == 1
        _check_page(admin, f"labels-admin-{w}", folder, choices=0)
        admin.close()
        # the error page
        person.page.goto(f"{url}/a/{q.tokens['ann']}?item=no-such-item", wait_until="load")
        assert person.page.locator("#error").is_visible()
        _check_page(person, f"labels-error-{w}", folder, choices=0)
        person.close()


@pytest.mark.slow
def test_the_pairwise_item_page_fits_a_phone(browser: Any, store: Any, tmp_path: Path) -> None:
    q = _queue(store, "pairwise-preference", 3, ["ann"], overlap=0.0, name="pairs")
    folder = _shots() or tmp_path / "shots"
    with ServerThread(q.app()) as url:
        person = Person(browser, f"{url}/a/{q.tokens['ann']}", viewport=PHONE)
        assert person.shown() == q.queue.items[0].id
        for name in ("input", "output_a", "output_b"):
            assert person.page.locator(f'pre[data-input="{name}"]').is_visible()
        layout = _check_page(person, "labels-item-pairwise-390", folder, choices=3)
        assert [c["label"] for c in layout["choices"]] == ["A", "B", "tie"]
        for key in ("a", "b", "t"):
            _together([(person, key)])
        assert person.page.locator("#done").is_visible()
        _check_page(person, "labels-done-390", folder, choices=0)
        person.close()
    assert [lab.label for lab in q.labels.labels(q.queue)] == ["A", "B", "tie"]
