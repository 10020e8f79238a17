"""The rubric data model: a rubric's scale, criteria, failure modes and examples, validated.

The bottom of the rubric -> verdict -> prompt layering: :mod:`judgecal.verdict` builds the answer
schema from a :class:`Rubric`, :mod:`judgecal.prompt` renders one, and :mod:`judgecal.rubric`
loads one from its folder (checking its template by rendering it), so the model lives here, where
it imports none of them. Import these names from :mod:`judgecal.rubric`.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from judgecal._model import Strict

__all__ = ["Criterion", "Example", "FailureMode", "InputName", "Label", "Rubric", "Scale"]

InputName = Literal["input", "output", "reference", "output_a", "output_b"]
Label = str | int
_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Scale(Strict):
    """What a verdict can say."""

    kind: Literal["binary", "ordinal", "pairwise"]
    """``binary`` (pass/fail), ``ordinal`` (1..k) or ``pairwise`` (A/B, optionally tie)."""
    levels: dict[int, str] | None = None
    """Ordinal only: a described anchor for every level 1..k."""
    pass_threshold: int | None = None
    """Ordinal only: scores at or above it count as a pass."""
    allow_tie: bool = False
    """Pairwise only: whether ``tie`` is an allowed verdict."""

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if self.kind == "ordinal":
            if not self.levels:
                raise ValueError("an ordinal scale needs 'levels' (1..k, each with an anchor)")
            keys = sorted(self.levels)
            if keys != list(range(1, len(keys) + 1)) or len(keys) < 2:
                raise ValueError(f"levels must be numbered 1..k without gaps (k >= 2), got {keys}")
            if self.pass_threshold is None or not 1 <= self.pass_threshold <= len(keys):
                raise ValueError(f"an ordinal scale needs 'pass_threshold' within 1..{len(keys)}")
            if any(not str(v).strip() for v in self.levels.values()):
                raise ValueError("every level needs a non-empty anchor description")
        else:
            if self.levels is not None or self.pass_threshold is not None:
                raise ValueError(f"'levels' and 'pass_threshold' apply to ordinal scales, not {self.kind}")
        if self.allow_tie and self.kind != "pairwise":
            raise ValueError("'allow_tie' applies to pairwise scales only")
        return self

    @property
    def labels(self) -> list[Label]:
        """The verdicts this scale allows, in order."""
        if self.kind == "binary":
            return ["pass", "fail"]
        if self.kind == "ordinal":
            assert self.levels is not None
            return list(range(1, len(self.levels) + 1))
        return ["A", "B", "tie"] if self.allow_tie else ["A", "B"]

    def normalise(self, value: object) -> Label | None:
        """Map a raw label (``"Pass"``, ``"4"``, ``4.0``, ``"[[A]]"``) onto the scale, or None."""
        if isinstance(value, bool):
            return None
        if self.kind == "ordinal":
            if isinstance(value, int | float) and float(value).is_integer():
                n = int(value)
            elif isinstance(value, str) and value.strip().lstrip("[").rstrip("]").strip().isdigit():
                n = int(value.strip().lstrip("[").rstrip("]"))
            else:
                return None
            return n if n in self.labels else None
        if not isinstance(value, str):
            return None
        text = value.strip().strip("[]").strip().lower()
        if self.kind == "binary":
            return text if text in ("pass", "fail") else None
        mapping = {"a": "A", "b": "B", "tie": "tie"} if self.allow_tie else {"a": "A", "b": "B"}
        return mapping.get(text)

    def passed(self, label: Label) -> bool | None:
        """Whether a label counts as a pass (None for pairwise scales)."""
        if self.kind == "binary":
            return label == "pass"
        if self.kind == "ordinal":
            assert self.pass_threshold is not None
            return int(label) >= self.pass_threshold
        return None


class Criterion(Strict):
    """One thing the judge checks."""

    id: str = Field(pattern=_ID_PATTERN)
    """A snake_case identifier, unique in the rubric."""
    description: str = Field(min_length=1)
    """What the judge checks, in a sentence or two."""


class FailureMode(Strict):
    """A named way an output can fail; verdicts cite these ids."""

    id: str = Field(pattern=_ID_PATTERN)
    """A snake_case identifier, unique in the rubric."""
    description: str = Field(min_length=1)
    """What the failure looks like."""


class Example(Strict):
    """A few-shot example, rendered into the prompt before the item."""

    inputs: dict[InputName, str]
    """The example's inputs, keyed like the item's."""
    verdict: Label
    """The verdict the judge should give, a label of the scale."""
    reasoning: str = Field(min_length=1)
    """Why."""
    failure_modes: list[str] = Field(default_factory=list)
    """Failure-mode ids the example shows."""


class Rubric(Strict):
    """A validated rubric. Load one with :func:`load_rubric`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    """The rubric's name; equals its folder name."""
    version: str = Field(min_length=1)
    """Free-form version, shown in reports."""
    description: str = Field(min_length=1)
    """One paragraph for humans (and the judge)."""
    scale: Scale
    """What a verdict can say."""
    inputs: list[InputName] = Field(min_length=1)
    """The item fields the prompt needs."""
    criteria: list[Criterion] = Field(min_length=1)
    """What the judge checks, in order."""
    pass_rule: str | None = None
    """When an output passes (required for binary and ordinal scales)."""
    failure_modes: list[FailureMode] = Field(default_factory=list)
    """The vocabulary of failure modes a verdict may cite."""
    examples: list[Example] = Field(default_factory=list)
    """Optional few-shot examples."""
    template: str = "prompt.j2"
    """The prompt template file, relative to the rubric folder."""

    _dir: Path = PrivateAttr(default=Path("."))
    _rubric_hash: str = PrivateAttr(default="")
    _template_hash: str = PrivateAttr(default="")
    _template_source: str = PrivateAttr(default="")

    @field_validator("inputs")
    @classmethod
    def _unique_inputs(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("inputs are listed twice")
        return v

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        for what, entries in (("criteria", self.criteria), ("failure_modes", self.failure_modes)):
            ids = [e.id for e in entries]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{what} ids must be unique; repeated: {', '.join(dupes)}")
        if self.scale.kind == "pairwise":
            if not {"output_a", "output_b"} <= set(self.inputs) or "output" in self.inputs:
                raise ValueError("a pairwise rubric needs inputs output_a and output_b (not output)")
        else:
            if "output" not in self.inputs or {"output_a", "output_b"} & set(self.inputs):
                raise ValueError(f"a {self.scale.kind} rubric needs input 'output' (not output_a/_b)")
            if not self.pass_rule:
                raise ValueError(f"a {self.scale.kind} rubric needs a 'pass_rule'")
        modes = {m.id for m in self.failure_modes}
        for i, ex in enumerate(self.examples):
            if set(ex.inputs) != set(self.inputs):
                raise ValueError(
                    f"examples[{i}] must give exactly the inputs {self.inputs}, got {sorted(ex.inputs)}"
                )
            if self.scale.normalise(ex.verdict) != ex.verdict:
                raise ValueError(f"examples[{i}].verdict {ex.verdict!r} is not one of {self.scale.labels}")
            unknown = [m for m in ex.failure_modes if m not in modes]
            if unknown:
                raise ValueError(f"examples[{i}] cites unknown failure modes {unknown}")
        return self

    @property
    def directory(self) -> Path:
        """The rubric's folder."""
        return self._dir

    @property
    def rubric_hash(self) -> str:
        """SHA-256 of ``rubric.yaml``'s bytes."""
        return self._rubric_hash

    @property
    def template_hash(self) -> str:
        """SHA-256 of the prompt template's bytes."""
        return self._template_hash

    @property
    def template_source(self) -> str:
        """The prompt template's text."""
        return self._template_source

    @cached_property
    def failure_mode_ids(self) -> list[str]:
        return [m.id for m in self.failure_modes]
