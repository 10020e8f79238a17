"""DeepEval metric: a rubric's approved judge as a ``BaseMetric`` (``judgecal[deepeval]``).

::

    from deepeval import assert_test
    from deepeval.test_case import LLMTestCase
    from judgecal.adapters.deepeval_metric import JudgecalMetric

    def test_refund_reply():
        case = LLMTestCase(input=QUESTION, actual_output=my_bot(QUESTION))
        assert_test(case, [JudgecalMetric("support-billing")])

What the metric reports:

- ``score``: 1.0 (pass) or 0.0 (fail) for a binary rubric; for an ordinal rubric of levels
  1..k the level scaled to 0..1, ``(level - 1) / (k - 1)``;
- ``threshold``: by default the rubric's own pass point (0.5 for binary; the scaled
  ``pass_threshold`` for ordinal), so ``success`` is exactly the verdict's ``passed``. Setting
  another threshold departs from the pass rule the judge was validated with;
- ``reason``: the label, the failure modes, the judge's reasoning and the approval id;
  ``score_breakdown`` holds ``certificate_id``, ``approval_tier``, ``label``, ``status``,
  ``passed``, ``failure_modes`` and ``cached``; ``evaluation_model`` is the judge's model string;
- an ``invalid`` or ``error`` verdict sets ``error`` (score ``None``, ``success`` False): DeepEval
  shows it as an errored metric, never as a pass, and ``assert_test`` fails on it.

Refusal: the approval is looked up when the metric is constructed, and the grader checks
before every test case that its record is still the one in force (not revoked, not expired, no
newer record of the same judge, rubric, gold set and policy). Without a valid approval — at
construction or at any later test case — the metric *errors* on each test case with judgecal's
reason (``error`` = "judgecal refused to grade …", score ``None``, ``success`` False): DeepEval
lists the test case in its results as errored, ``assert_test`` fails on it, and no older
approval is used instead. ``allow_unapproved=True`` grades without approval. A *provisional*
record (too few labels to approve) is refused the same way unless ``allow_provisional=True``;
its reasons then say "PROVISIONAL approval" and ``score_breakdown`` has ``approval_tier:
"provisional"``. ``metric.refused`` holds the reason of a refusal at construction (else None).

Inputs: the rubric's ``input`` is the test case's ``input``, its ``output`` the
``actual_output``, any other input is read from the test case's ``metadata`` under its own name;
``inputs=`` (``test_case -> dict``) maps them otherwise. Pairwise rubrics are not supported.

DeepEval copies a metric for every test case by calling its constructor with the attributes it
finds; the copy receives ``grader=`` and reuses the same grader (no second lookup).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

try:
    from deepeval.metrics import BaseMetric
    from deepeval.test_case import LLMTestCase
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("judgecal's DeepEval metric needs deepeval: pip install 'judgecal[deepeval]'") from exc

from judgecal.approval import Grader, GraderVerdict, load_grader
from judgecal.errors import ConfigError, InputError, NotApprovedError

__all__ = ["JudgecalMetric", "case_inputs"]

InputsFn = Callable[[LLMTestCase], dict[str, str]]
"""Maps a DeepEval test case to the rubric's inputs."""


def case_inputs(rubric_inputs: Sequence[str], test_case: LLMTestCase) -> dict[str, str]:
    """The default mapping: ``input`` ← ``test_case.input``, ``output`` ←
    ``test_case.actual_output``, any other rubric input ← ``test_case.metadata[name]``."""
    extra = test_case.metadata or {}
    inputs: dict[str, str] = {}
    for name in rubric_inputs:
        if name == "input":
            inputs[name] = test_case.input
        elif name == "output":
            inputs[name] = test_case.actual_output or ""
        elif isinstance(extra.get(name), str):
            inputs[name] = extra[name]
        else:
            raise InputError(
                f"the rubric takes input {name!r}, which is neither 'input' nor 'output' and is not "
                "a text in the test case's metadata; pass inputs=(test_case) -> dict",
                field=f"metadata.{name}",
            )
    return inputs


class JudgecalMetric(BaseMetric):
    """``rubric``'s approved judge as a DeepEval metric (the approval in force; only
    ``judge``'s if given). See the module docstring for what it reports."""

    # BaseMetric's own fields, typed as deepeval types them: without the deepeval extra mypy sees
    # BaseMetric as Any and would otherwise infer their types from the first assignment
    threshold: float | None
    score: float | None
    score_breakdown: dict[str, Any]
    reason: str | None
    success: bool | None
    evaluation_model: str | None
    strict_mode: bool
    async_mode: bool

    def __init__(
        self,
        rubric: str | None = None,
        *,
        judge: str | None = None,
        allow_unapproved: bool = False,
        allow_provisional: bool = False,
        threshold: float | None = None,
        inputs: InputsFn | None = None,
        grader: Grader | None = None,
        api_base: str | None = None,
        async_mode: bool = True,
        strict_mode: bool = False,
        refused: str | None = None,
    ):
        from judgecal.rubric import Rubric, find_rubric  # noqa: PLC0415

        rubric_: Rubric
        if grader is None and refused is None:
            if rubric is None:
                raise ConfigError("JudgecalMetric needs a rubric name (or a grader)")
            try:
                grader = load_grader(
                    rubric,
                    judge=judge,
                    allow_unapproved=allow_unapproved,
                    allow_provisional=allow_provisional,
                    api_base=api_base,
                )
            except NotApprovedError as exc:
                # not raised here: the refusal is each test case's error, so DeepEval lists it
                refused = f"judgecal refused to grade with {rubric!r}: {exc}"
        if grader is not None:
            rubric_ = grader.rubric
        elif rubric is not None:
            rubric_ = find_rubric(rubric)
        else:
            raise ConfigError("JudgecalMetric needs a rubric name (or a grader)")
        if rubric_.scale.kind == "pairwise":
            if grader is not None:
                grader.close()
            raise ConfigError(
                f"rubric {rubric_.name!r} is pairwise (two outputs per item); a DeepEval test "
                "case has one actual_output — grade pairs with judgecal.approval.load_grader directly"
            )
        self.grader = grader
        self.refused = refused
        self.error: str | None = None
        self.rubric = rubric_.name
        self._rubric = rubric_
        self.inputs = inputs
        self.async_mode = async_mode
        self.strict_mode = strict_mode
        self.evaluation_model = grader.judge.model if grader is not None else (judge or "judgecal (refused)")
        self.threshold = self._pass_point() if threshold is None else threshold
        if strict_mode:
            self.threshold = 1.0

    def _pass_point(self) -> float:
        scale = self._rubric.scale
        if scale.kind == "ordinal" and scale.levels and scale.pass_threshold is not None:
            return self._scaled(scale.pass_threshold)
        return 0.5

    def _scaled(self, level: float) -> float:
        scale = self._rubric.scale
        if scale.kind == "ordinal" and scale.levels:
            return (level - 1) / (len(scale.levels) - 1)
        return level

    def _inputs(self, test_case: LLMTestCase) -> dict[str, str]:
        if self.inputs is not None:
            return self.inputs(test_case)
        return case_inputs(list(self._rubric.inputs), test_case)

    def _refuse(self, reason: str) -> None:
        self.score = None
        self.reason = None
        self.score_breakdown = {"status": "refused", "certificate_id": None, "approval_tier": None}
        self.error = reason
        self.success = False

    def _record(self, verdict: GraderVerdict) -> float | None:
        self.score_breakdown = {
            "certificate_id": verdict.certificate_id,
            "approval_tier": verdict.approval_tier,
            "label": verdict.label,
            "status": verdict.status,
            "passed": verdict.passed,
            "failure_modes": list(verdict.failure_modes),
            "cached": verdict.cached,
        }
        approval = f"approval {verdict.certificate_id}" if verdict.certificate_id else "WITHOUT approval"
        if verdict.approval_tier == "provisional":
            approval = f"PROVISIONAL {approval}, not an approval"
        if verdict.status != "ok" or verdict.score is None:
            self.score = None
            self.reason = None
            self.error = (
                f"judgecal: the judge {verdict.model} gave no usable verdict ({verdict.status}: "
                f"{verdict.error or 'no detail'}); not a score ({approval})"
            )
            self.success = False
            return None
        self.error = None
        self.score = self._scaled(verdict.score)
        modes = ", ".join(verdict.failure_modes) or "none"
        self.reason = (
            f"{verdict.label} by {verdict.model} ({approval}); failure modes: {modes}; "
            f"{verdict.reasoning or ''}".strip()
        )
        self.success = self.score >= (self.threshold or 0.0)
        return self.score

    def measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float | None:  # type: ignore[override]
        """Grade the test case (synchronously; not from inside a running event loop). A refusal
        is the metric's ``error``."""
        if self.grader is None:
            self._refuse(self.refused or "judgecal refused to grade")
            return None
        try:
            return self._record(self.grader.grade(self._inputs(test_case)))
        except NotApprovedError as exc:
            self._refuse(f"judgecal refused to grade with {self.rubric!r}: {exc}")
            return None

    async def a_measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float | None:  # type: ignore[override]
        """Grade the test case. A refusal is the metric's ``error``."""
        if self.grader is None:
            self._refuse(self.refused or "judgecal refused to grade")
            return None
        try:
            return self._record(await self.grader.agrade(self._inputs(test_case)))
        except NotApprovedError as exc:
            self._refuse(f"judgecal refused to grade with {self.rubric!r}: {exc}")
            return None

    def is_successful(self) -> bool:
        if self.error is not None or self.score is None:
            self.success = False
        else:
            self.success = self.score >= (self.threshold or 0.0)
        return bool(self.success)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return f"judgecal[{self.rubric}]"
