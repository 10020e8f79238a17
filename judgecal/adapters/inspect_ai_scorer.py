"""Inspect AI scorer: a rubric's approved judge scores each sample (``judgecal[inspect]``).

::

    from inspect_ai import Task, task
    from inspect_ai.solver import generate
    from judgecal.adapters.inspect_ai_scorer import judgecal_scorer

    @task
    def support():
        return Task(dataset=..., solver=generate(), scorer=judgecal_scorer("support-billing"))

What a sample's :class:`~inspect_ai.scorer.Score` says:

- a verdict that passes is ``CORRECT``, one that fails ``INCORRECT`` (``accuracy`` is the pass
  rate); ``answer`` is the judge's label, ``explanation`` its reasoning, and ``metadata`` holds
  ``certificate_id``, ``approval_tier``, ``label``, ``status``, ``passed``, ``judge_score`` (the
  ordinal score), ``failure_modes``, ``judge``, ``rubric`` and ``cached``;
- an ``invalid`` or ``error`` verdict (the judge gave no usable answer) is *unscored*:
  ``Score.unscored(reason="grader_failed")``, a NaN value that Inspect's metrics and reducers
  leave out — it is never a pass and never a fail, as in judgecal's own reports;
- an empty completion is ``INCORRECT`` with reason ``no_response`` without calling the judge
  (there is nothing to grade, and the rubric's inputs must be non-empty text).

Refusal: ``judgecal_scorer(...)`` looks up the approval when it is called — when the task is
built, before any sample runs — and raises :class:`~judgecal.errors.NotApprovedError` with
judgecal's reason, unless ``allow_unapproved=True`` (then ``judge`` is required). A
*provisional* record (too few labels to approve) is refused the same way unless
``allow_provisional=True``; each score's metadata then says ``approval_tier: "provisional"``.
Before each sample the grader checks that its record is still the one in force (not revoked,
not expired, no newer record of the same judge, rubric, gold set and policy); once it is not,
scoring raises ``NotApprovedError`` with the reason, which Inspect records as the sample's
error (and, by default, ends the eval with status ``error``) — never a score, and never an
older approval instead.

Inputs: the rubric's ``input`` is the sample's input text, its ``output`` the model's
completion, and any other rubric input is read from the sample's metadata under its own name;
pass ``inputs=`` (``(state, target) -> dict``) to map them otherwise. Pairwise rubrics compare
two outputs, which an Inspect sample does not have: use the grader directly for those.

Provider keys come from the environment (as for every judgecal command), never from the
scorer's arguments, which Inspect writes into the eval log.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

try:
    from inspect_ai.scorer import CORRECT, INCORRECT, Score, Scorer, Target, accuracy, scorer, stderr
    from inspect_ai.solver import TaskState
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "judgecal's Inspect AI scorer needs inspect-ai: pip install 'judgecal[inspect]'"
    ) from exc

from judgecal.approval import Grader, GraderVerdict, load_grader
from judgecal.errors import ConfigError, InputError, NotApprovedError

__all__ = ["judgecal_scorer", "sample_inputs"]

InputsFn = Callable[[TaskState, Target], dict[str, str]]
"""Maps a sample (its state after solving, and its target) to the rubric's inputs."""


def sample_inputs(rubric_inputs: Sequence[str], state: TaskState) -> dict[str, str]:
    """The default mapping: ``input`` ← the sample's input text, ``output`` ← the completion,
    any other rubric input ← ``state.metadata[name]``."""
    inputs: dict[str, str] = {}
    for name in rubric_inputs:
        if name == "input":
            inputs[name] = state.input_text
        elif name == "output":
            inputs[name] = state.output.completion
        elif isinstance(state.metadata.get(name), str):
            inputs[name] = state.metadata[name]
        else:
            raise InputError(
                f"the rubric takes input {name!r}, which is neither 'input' nor 'output' and is not "
                "a text in the sample's metadata; pass inputs=(state, target) -> dict to map it",
                field=f"sample {state.sample_id}.metadata.{name}",
            )
    return inputs


def _metadata(verdict: GraderVerdict) -> dict[str, Any]:
    return {
        "certificate_id": verdict.certificate_id,
        "approval_tier": verdict.approval_tier,
        "label": verdict.label,
        "status": verdict.status,
        "passed": verdict.passed,
        "judge_score": verdict.score,
        "failure_modes": list(verdict.failure_modes),
        "judge": verdict.model,
        "rubric": verdict.rubric,
        "cached": verdict.cached,
        "error": verdict.error,
    }


def verdict_score(verdict: GraderVerdict) -> Score:
    """A judgecal verdict as an Inspect score (see the module docstring)."""
    if verdict.status != "ok" or verdict.passed is None:
        return Score.unscored(
            reason="grader_failed",
            explanation=f"judgecal: the judge gave no usable verdict ({verdict.status}: "
            f"{verdict.error or 'no detail'}); not scored",
            metadata=_metadata(verdict),
        )
    return Score(
        value=CORRECT if verdict.passed else INCORRECT,
        answer=str(verdict.label),
        explanation=verdict.reasoning,
        metadata=_metadata(verdict),
    )


@scorer(metrics=[accuracy(), stderr()])
def judgecal_scorer(
    rubric: str,
    *,
    judge: str | None = None,
    allow_unapproved: bool = False,
    allow_provisional: bool = False,
    inputs: InputsFn | None = None,
    api_base: str | None = None,
) -> Scorer:
    """Score each sample with ``rubric``'s approved judge (the approval in force; only
    ``judge``'s if given).

    Raises :class:`~judgecal.errors.NotApprovedError` at once when there is no valid approval,
    unless ``allow_unapproved=True``; ``allow_provisional=True`` also accepts a provisional record
    (its scores' metadata say so). ``api_base``: an OpenAI-compatible endpoint for the judge
    (as ``judgecal grade --api-base``).
    """
    grader = load_grader(
        rubric,
        judge=judge,
        allow_unapproved=allow_unapproved,
        allow_provisional=allow_provisional,
        api_base=api_base,
    )
    if grader.rubric.scale.kind == "pairwise":
        grader.close()
        raise ConfigError(
            f"rubric {rubric!r} is pairwise (two outputs per item); an Inspect sample has one "
            "output — grade pairs with judgecal.approval.load_grader directly"
        )
    rubric_inputs = list(grader.rubric.inputs)

    async def score(state: TaskState, target: Target) -> Score:
        item = inputs(state, target) if inputs is not None else sample_inputs(rubric_inputs, state)
        if "output" in rubric_inputs and not str(item.get("output", "")).strip():
            return Score(
                value=INCORRECT,
                reason="no_response",
                explanation="the model gave no output; nothing for the judge to grade",
                metadata={
                    "certificate_id": grader.certificate_id,
                    "approval_tier": grader.approval_tier,
                    "status": "no_response",
                },
            )
        try:
            verdict = await grader.agrade(item)
        except NotApprovedError as exc:
            raise NotApprovedError(f"judgecal refused to score sample {state.sample_id}: {exc}") from None
        return verdict_score(verdict)

    _close_with(score, grader)
    return score


def _close_with(owner: object, grader: Grader) -> None:
    # the grader (and, for sim/ judges, the simulated judge it starts) lives as long as the scorer
    weakref.finalize(owner, grader.close)
