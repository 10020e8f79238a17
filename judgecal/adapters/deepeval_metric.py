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

Refusal: the approval is looked up when the metric is constructed; without a valid one the
constructor raises :class:`~judgecal.errors.NotApprovedError` with judgecal's reason (in a
``deepeval test run`` file, the test fails with it), unless ``allow_unapproved=True``. A
*provisional* record (too few labels to approve) is refused the same way unless
``allow_provisional=True``; its reasons then say "PROVISIONAL approval" and ``score_breakdown``
has ``approval_tier: "provisional"``.

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
from judgecal.errors import ConfigError, InputError

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
    """``rubric``'s approved judge as a DeepEval metric (the newest valid approval; only
    ``judge``'s if given). See the module docstring for what it reports."""

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
    ):
        if grader is None:
            if rubric is None:
                raise ConfigError("JudgecalMetric needs a rubric name (or a grader)")
            grader = load_grader(
                rubric,
                judge=judge,
                allow_unapproved=allow_unapproved,
                allow_provisional=allow_provisional,
                api_base=api_base,
            )
        scale = grader.rubric.scale
        if scale.kind == "pairwise":
            raise ConfigError(
                f"rubric {grader.rubric.name!r} is pairwise (two outputs per item); a DeepEval test "
                "case has one actual_output — grade pairs with judgecal.approval.load_grader directly"
            )
        self.grader = grader
        self.error: str | None = None
        self.rubric = grader.rubric.name
        self.inputs = inputs
        self.async_mode = async_mode
        self.strict_mode = strict_mode
        self.evaluation_model = grader.judge.model
        self.threshold = self._pass_point() if threshold is None else threshold
        if strict_mode:
            self.threshold = 1.0

    def _pass_point(self) -> float:
        scale = self.grader.rubric.scale
        if scale.kind == "ordinal" and scale.levels and scale.pass_threshold is not None:
            return self._scaled(scale.pass_threshold)
        return 0.5

    def _scaled(self, level: float) -> float:
        scale = self.grader.rubric.scale
        if scale.kind == "ordinal" and scale.levels:
            return (level - 1) / (len(scale.levels) - 1)
        return level

    def _inputs(self, test_case: LLMTestCase) -> dict[str, str]:
        if self.inputs is not None:
            return self.inputs(test_case)
        return case_inputs(list(self.grader.rubric.inputs), test_case)

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
        """Grade the test case (synchronously; not from inside a running event loop)."""
        return self._record(self.grader.grade(self._inputs(test_case)))

    async def a_measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float | None:  # type: ignore[override]
        """Grade the test case."""
        return self._record(await self.grader.agrade(self._inputs(test_case)))

    def is_successful(self) -> bool:
        if self.error is not None or self.score is None:
            self.success = False
        else:
            self.success = self.score >= (self.threshold or 0.0)
        return bool(self.success)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return f"judgecal[{self.rubric}]"
