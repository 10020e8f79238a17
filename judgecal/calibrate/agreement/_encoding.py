"""Input handling shared by every agreement statistic: validating label arrays and encoding them
as category codes (``labels=`` fixes the categories and their order), and confusion matrices."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence, Sized
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
Weights: TypeAlias = Literal["linear", "quadratic"]
Level: TypeAlias = Literal["nominal", "ordinal", "interval"]
Setup: TypeAlias = Literal["with_ties", "without_ties"]

_WEIGHTS = (None, "linear", "quadratic")
_LEVELS = ("nominal", "ordinal", "interval")
_SETUPS = ("with_ties", "without_ties")
NAN = float("nan")


# --------------------------------------------------------------------------------------------
# Input handling


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_list(values: Any, name: str) -> list[Any]:
    """A 1-D sequence of labels as a list of Python objects (numpy scalars become Python ones)."""
    if isinstance(values, str | bytes):
        raise ValueError(f"{name} must be a sequence of labels, not a single {type(values).__name__}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got an array of shape {values.shape}")
        return values.tolist()
    try:
        return list(values)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of labels, got {type(values).__name__}") from None


def _check_lengths(seqs: Mapping[str, Sized]) -> int:
    lengths = {name: len(seq) for name, seq in seqs.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise ValueError(f"the arrays must have one value per item, but {shown} items")
    return next(iter(lengths.values()), 0)


def _check_no_missing(seq: Sequence[Any], name: str) -> None:
    for i, value in enumerate(seq):
        if _is_missing(value):
            raise ValueError(
                f"{name}[{i}] is missing ({value!r}): every item needs a label here; drop the item or map "
                "it to a label of its own (e.g. 'invalid') first"
            )


def _categories(labels: Sequence[Hashable] | None, observed: list[Any]) -> list[Hashable]:
    """The category list: ``labels`` validated, or the sorted union of the observed values."""
    if labels is None:
        try:
            seen = set(observed)
        except TypeError as exc:
            raise ValueError(f"labels must be hashable values: {exc}") from None
        try:
            return sorted(seen)
        except TypeError:
            kinds = sorted({type(v).__name__ for v in seen})
            raise ValueError(
                f"the observed labels mix types that cannot be sorted ({', '.join(kinds)}); "
                "pass labels=[...] to give the categories and their order"
            ) from None
    if isinstance(labels, str | bytes):
        raise ValueError(f"labels must be a sequence of labels, not a single {type(labels).__name__}")
    cats = list(labels)
    for lab in cats:
        if _is_missing(lab):
            raise ValueError(f"labels must not contain a missing value ({lab!r})")
    try:
        unique = set(cats)
    except TypeError as exc:
        raise ValueError(f"labels must be hashable values: {exc}") from None
    if len(unique) != len(cats):
        dups = sorted({repr(x) for x in cats if sum(1 for y in cats if y == x) > 1})
        raise ValueError(f"labels must be distinct, but {', '.join(dups)} occur more than once")
    return cats


def _codes(seq: list[Any], index: dict[Hashable, int], name: str) -> IntArray:
    try:
        return np.fromiter((index[v] for v in seq), dtype=np.int64, count=len(seq))
    except (KeyError, TypeError):
        for i, value in enumerate(seq):
            try:
                index[value]
            except (KeyError, TypeError):
                raise ValueError(
                    f"{name}[{i}] = {value!r} is not one of the labels {list(index)!r}"
                ) from None
        raise  # pragma: no cover - unreachable: the loop finds the culprit


def _encode(seqs: dict[str, Any], labels: Sequence[Hashable] | None) -> tuple[list[IntArray], list[Hashable]]:
    lists = {name: _as_list(values, name) for name, values in seqs.items()}
    _check_lengths(lists)
    for name, seq in lists.items():
        _check_no_missing(seq, name)
    observed = [v for seq in lists.values() for v in seq] if labels is None else []
    cats = _categories(labels, observed)
    index = {lab: i for i, lab in enumerate(cats)}
    return [_codes(seq, index, name) for name, seq in lists.items()], cats


def encode_labels(
    *arrays: Any, labels: Sequence[Hashable] | None = None
) -> tuple[list[IntArray], list[Hashable]]:
    """Map label arrays to integer codes ``0..k-1`` over one shared category list.

    The categories are ``labels`` (validated: distinct, no missing value) or the sorted union of the
    values in ``arrays``. Returns the code arrays (``int64``) and the category list, so that
    ``codes[i][j]`` is the position of ``arrays[i][j]`` in it. This is the encoding every
    two-rater statistic here uses; the bootstrap uses it to resample integer codes.

    Raises ``ValueError`` if the arrays differ in length, hold a missing value (``None``/``NaN``),
    or hold a value outside ``labels``.

    >>> codes, cats = encode_labels(["pass", "fail"], ["pass", "pass"])
    >>> cats, [c.tolist() for c in codes]
    (['fail', 'pass'], [[1, 0], [1, 1]])
    >>> encode_labels([3, 1], labels=[1, 2, 3])[0][0].tolist()
    [2, 0]
    """
    return _encode({f"arrays[{i}]": x for i, x in enumerate(arrays)}, labels)


def _confusion_from_codes(ca: IntArray, cb: IntArray, k: int) -> IntArray:
    return np.bincount(ca * k + cb, minlength=k * k).reshape(k, k).astype(np.int64)


def _confusion(
    a: Any, b: Any, labels: Sequence[Hashable] | None, names: tuple[str, str] = ("a", "b")
) -> tuple[IntArray, list[Hashable]]:
    (ca, cb), cats = _encode({names[0]: a, names[1]: b}, labels)
    return _confusion_from_codes(ca, cb, len(cats)), cats
