"""pytest plugin: a rubric's approved judge as a grader in a test suite (``judgecal[pytest]``).

Registered on the ``pytest11`` entry point, so pytest loads it wherever judgecal is installed.
Loading it imports only pytest: judgecal's grading machinery (and litellm) is imported the
first time a test asks for a grader, and a session that never does is unaffected.

::

    from judgecal.adapters.pytest_plugin import assert_passes

    def test_refund_reply(judgecal_grader):
        grader = judgecal_grader("support-billing")      # the approval in force, or the test fails
        verdict = grader.grade({"input": QUESTION, "output": my_bot(QUESTION)})
        assert_passes(verdict)                           # AssertionError with the judge's reasons

- ``judgecal_grader`` (session scope) is a factory: ``judgecal_grader(rubric, judge=None)``
  returns a :class:`~judgecal.approval.Grader`, one per (rubric, judge) for the session, closed
  when the session ends. Without a valid approval the *test fails* with judgecal's reason
  (none, rejected, revoked, stale, expired) — it is never skipped, because a suite that silently
  stops grading looks exactly like one that passes. The grader checks before every grading call
  that its record is still the one in force: after a revoke, or a newer rejected validation of
  the same judge, rubric, gold set and policy, every later ``factory(...)`` call and every
  ``grade`` fails the test with the reason (``NotApprovedError``); no older approval is used.
- ``--judgecal-allow-unapproved`` (with ``--judgecal-judge MODEL``) uses a judge without
  approval. It is a command-line flag only, not an ini setting, so the bypass cannot sit
  unnoticed in a config file; the terminal summary names every grader used and says which ran
  without approval.
- ``--judgecal-allow-provisional`` also accepts a *provisional* record (point estimates that
  meet the policy on too few labels: not an approval); without it such a record fails the test
  like an unapproved one. Command-line only, for the same reason; the summary marks those
  graders PROVISIONAL and every verdict says ``approval_tier="provisional"``.
- ``--judgecal-judge MODEL`` (ini ``judgecal_judge``) picks that model's approval.
- :func:`assert_passes`: a failing verdict is an ``AssertionError``; an ``invalid`` or ``error``
  verdict fails the test with its own message (it is not a pass, and not the output's fault).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from judgecal.approval import Grader, GraderVerdict

__all__ = ["GraderFactory", "assert_passes"]

_USED = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("judgecal", "judgecal graders (docs/adapters.md)")
    group.addoption(
        "--judgecal-judge",
        metavar="MODEL",
        default=None,
        help="judge model for the judgecal_grader fixture: picks that model's approval, and is the "
        "judge used with --judgecal-allow-unapproved (ini: judgecal_judge)",
    )
    group.addoption(
        "--judgecal-allow-unapproved",
        action="store_true",
        default=False,
        help="let judgecal_grader use a judge without a valid approval (needs a judge); "
        "the summary says which graders ran without approval",
    )
    group.addoption(
        "--judgecal-allow-provisional",
        action="store_true",
        default=False,
        help="let judgecal_grader use a provisional approval (too few labels to approve); "
        "the summary and every verdict say so",
    )
    parser.addini("judgecal_judge", "default for --judgecal-judge", default="")


class GraderFactory:
    """``factory(rubric, judge=None) -> Grader``: what the ``judgecal_grader`` fixture yields."""

    def __init__(
        self, *, judge: str | None, allow_unapproved: bool, used: list[str], allow_provisional: bool = False
    ):
        self.judge = judge
        self.allow_unapproved = allow_unapproved
        self.allow_provisional = allow_provisional
        self._used = used
        self._graders: dict[tuple[str, str | None], Grader] = {}

    def __call__(self, rubric: str, *, judge: str | None = None) -> Grader:
        """The grader for ``rubric`` (and ``judge``, else the session's ``--judgecal-judge``).

        Fails the calling test, with judgecal's reason, when there is no valid approval."""
        __tracebackhide__ = True
        from judgecal.errors import JudgecalError, NotApprovedError  # noqa: PLC0415

        key = (rubric, judge or self.judge)
        if key in self._graders:
            refused = None
            try:
                self._graders[key].check_in_force()
            except NotApprovedError as exc:
                refused = f"judgecal refused to grade with {rubric!r}: {exc}"
            if refused is not None:  # failed outside the handler: the reason, not a chained traceback
                pytest.fail(refused, pytrace=False)
        else:
            from judgecal.approval import load_grader  # noqa: PLC0415

            try:
                grader = load_grader(
                    rubric,
                    judge=key[1],
                    allow_unapproved=self.allow_unapproved,
                    allow_provisional=self.allow_provisional,
                )
            except NotApprovedError as exc:
                pytest.fail(f"judgecal refused to grade with {rubric!r}: {exc}", pytrace=False)
            except JudgecalError as exc:
                pytest.fail(f"judgecal could not load a grader for {rubric!r}: {exc}", pytrace=False)
            self._graders[key] = grader
            self._used.append(_describe(grader))
        return self._graders[key]

    def close(self) -> None:
        """Close every grader handed out (stops simulated judges)."""
        for grader in self._graders.values():
            grader.close()
        self._graders.clear()


def _describe(grader: Grader) -> str:
    cert = grader.certificate
    if cert is None:
        return (
            f"{grader.rubric.name}: judge {grader.judge.model} WITHOUT approval (--judgecal-allow-unapproved)"
        )
    if cert.tier == "provisional":
        return (
            f"{grader.rubric.name}: judge {cert.model}, PROVISIONAL record {cert.id[:12]} "
            f"({cert.created_at:%Y-%m-%d}; not an approval: --judgecal-allow-provisional)"
        )
    return (
        f"{grader.rubric.name}: judge {cert.model}, approval {cert.id[:12]} "
        f"({cert.decision.tier}, {cert.created_at:%Y-%m-%d})"
    )


@pytest.fixture(scope="session")
def judgecal_grader(pytestconfig: pytest.Config) -> Iterator[GraderFactory]:
    """Factory of approved graders: ``judgecal_grader("support-billing").grade({...})``."""
    judge = pytestconfig.getoption("judgecal_judge") or pytestconfig.getini("judgecal_judge") or None
    factory = GraderFactory(
        judge=judge,
        allow_unapproved=bool(pytestconfig.getoption("judgecal_allow_unapproved")),
        allow_provisional=bool(pytestconfig.getoption("judgecal_allow_provisional")),
        used=pytestconfig.stash.setdefault(_USED, []),
    )
    yield factory
    factory.close()


def assert_passes(verdict: GraderVerdict) -> GraderVerdict:
    """Return ``verdict`` if it passed; otherwise fail the test saying why.

    A failed verdict raises ``AssertionError`` with the label, failure modes and the judge's
    reasoning; an ``invalid`` or ``error`` verdict fails the test with a message of its own
    (the judge gave no usable answer: never a pass). A pairwise verdict has no pass/fail
    (``TypeError``): compare ``verdict.label``.
    """
    __tracebackhide__ = True
    if verdict.status != "ok":
        pytest.fail(
            f"judgecal: the judge {verdict.model} gave no usable verdict ({verdict.status}: "
            f"{verdict.error or 'no detail'}); an {verdict.status} verdict is never a pass",
            pytrace=False,
        )
    if verdict.passed is None:
        raise TypeError(
            f"rubric {verdict.rubric!r} has no pass/fail (its verdict is {verdict.label!r}); "
            "compare verdict.label instead"
        )
    if not verdict.passed:
        approval = f"approval {verdict.certificate_id[:12]}" if verdict.certificate_id else "no approval"
        modes = ", ".join(verdict.failure_modes) or "none cited"
        raise AssertionError(
            f"judge {verdict.model} ({approval}) graded the output {verdict.label!r} under "
            f"{verdict.rubric!r}; failure modes: {modes}; reasoning: {verdict.reasoning or '-'}"
        )
    return verdict


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    used = config.stash.get(_USED, [])
    if used:
        terminalreporter.section("judgecal graders")
        for line in used:
            terminalreporter.write_line(line)
