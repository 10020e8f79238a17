"""What the human-ceiling statistics share: the label shapes, the result models' base, and reading
gold labels (``{item_id: {annotator: label}}``) into annotated items on a scale."""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict

from judgecal._model import Strict
from judgecal.calibrate.intervals import (
    Estimate,
)

Label = str | int | float
Level = Literal["nominal", "ordinal", "interval"]
Scoring = Literal["accuracy", "neg_rmse"]
InvalidPolicy = Literal["disagree", "exclude"]
GoldLabels = Mapping[Any, Mapping[str, Label | None]]
"""``{item_id: {annotator: label}}``; a ``None`` label means the annotator did not label the item."""
JudgeLabels = Mapping[Any, Label | None]
"""``{item_id: label}``; ``None`` is an invalid verdict. Items absent from the mapping were not judged."""


class _Result(Strict):
    """Base of the result models here: unknown keys rejected, field docstrings become descriptions."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


# --------------------------------------------------------------------------------------------
# input handling


class _Scale:
    """A validated scale: label → position code; interval scales also keep numeric values."""

    def __init__(self, scale_labels: Sequence[Label], level: str) -> None:
        if level not in ("nominal", "ordinal", "interval"):
            raise ValueError(f"unknown level {level!r}; use one of 'nominal', 'ordinal', 'interval'")
        labels = list(scale_labels)
        if not labels:
            raise ValueError("scale_labels is empty")
        codes: dict[Label, int] = {}
        for pos, label in enumerate(labels):
            if label is None or label in codes:
                raise ValueError(
                    f"scale_labels must be distinct and not None; problem at position {pos}: {label!r}"
                )
            codes[label] = pos
        if level == "interval" and not all(_is_number(v) for v in labels):
            raise ValueError(f"an interval scale needs numeric labels, got {labels!r}")
        self.labels = labels
        self.level = level
        self.codes = codes
        self.k = len(labels)

    def code(self, label: Label, where: str) -> int:
        try:
            return self.codes[label]
        except (KeyError, TypeError):
            raise ValueError(f"{where}: label {label!r} is not on the scale {self.labels!r}") from None

    @property
    def weights(self) -> Literal["quadratic"] | None:
        return None if self.level == "nominal" else "quadratic"


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not (isinstance(value, float) and math.isnan(value))


def _annotated(labels: GoldLabels) -> dict[Any, dict[str, Label]]:
    """Validate the outer shape and drop ``None`` labels."""
    if not isinstance(labels, Mapping):
        raise ValueError(
            f"labels must be a mapping {{item_id: {{annotator: label}}}}, got {type(labels).__name__}"
        )
    out: dict[Any, dict[str, Label]] = {}
    for item, by_annotator in labels.items():
        if not isinstance(by_annotator, Mapping):
            raise ValueError(
                f"item {item!r}: expected a mapping {{annotator: label}}, got {type(by_annotator).__name__}"
            )
        row: dict[str, Label] = {}
        for annotator, label in by_annotator.items():
            if not isinstance(annotator, str):
                raise ValueError(f"item {item!r}: annotator names must be strings, got {annotator!r}")
            if label is not None:
                row[annotator] = label
        out[item] = row
    return out


def _cluster_ids(items: Sequence[Any], clusters: Mapping[Any, Hashable] | None) -> np.ndarray | None:
    """Integer cluster id per item from ``clusters`` (item → prompt id, say); None without clusters."""
    if clusters is None:
        return None
    missing = [item for item in items if item not in clusters]
    if missing:
        raise ValueError(f"clusters has no entry for {len(missing)} item(s), e.g. {missing[:3]!r}")
    index: dict[Hashable, int] = {}
    return np.array([index.setdefault(clusters[item], len(index)) for item in items], dtype=np.int64)


def _empty_estimate(confidence: float, clustered: bool) -> Estimate:
    """The estimate of a statistic with no data: nan, no interval, n = 0."""
    return Estimate(
        value=math.nan,
        lo=None,
        hi=None,
        n=0,
        confidence=confidence,
        method="cluster_bootstrap" if clustered else "bootstrap",
        n_clusters=0 if clustered else None,
    )


def _check_common(confidence: float, n_resamples: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
