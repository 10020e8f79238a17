"""What every importer shares: the label and path types, and reading JSON, JSON-array and JSONL
records with the line (and array index) each starts at, for messages that say where."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from judgecal.errors import GoldError

Label = str | int
ScaleKind = Literal["binary", "ordinal", "pairwise"]
Order = Literal["ab", "ba"]
StrPath = str | PathLike[str]

EMPTY_TEXT = "(empty)"
"""Stands in for an empty or blank input text (gold items need non-empty inputs); the item's
``metadata.empty_inputs`` lists which inputs were empty in the source."""

_PAIRWISE: list[Label] = ["A", "B", "tie"]


# --------------------------------------------------------------------------------------------
# Reading records with their line numbers


class _Where:
    """Where a record is: file, 1-based line where it starts, index in a JSON array."""

    def __init__(self, path: Path, line: int, index: int | None = None):
        self.path, self.line, self.index = path, line, index

    def __str__(self) -> str:
        suffix = f" (record {self.index})" if self.index is not None else ""
        return f"{self.path}:{self.line}{suffix}"

    def error(self, message: str, field: str | None = None) -> GoldError:
        return GoldError(message, location=str(self), field=field)


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GoldError(f"cannot read file ({exc.strerror})", location=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GoldError(f"not UTF-8 text (byte {exc.start})", location=str(path)) from None


_WS = re.compile(r"[ \t\n\r]*")


def _json_array(path: Path, text: str) -> Iterator[tuple[_Where, Any]]:
    """The elements of a top-level JSON array, each with the line it starts on."""
    decoder = json.JSONDecoder()
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    line, counted = 1, 0

    def where(at: int, index: int | None) -> _Where:
        nonlocal line, counted
        line += text.count("\n", counted, at)
        counted = at
        return _Where(path, line, index)

    if text[pos : pos + 1] != "[":
        raise where(pos, None).error("expected a JSON array of records")
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    index = 0
    if text[pos : pos + 1] == "]":
        return
    while True:
        here = where(pos, index)
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _Where(path, exc.lineno, index).error(
                f"not valid JSON: {exc.msg} (column {exc.colno})"
            ) from None
        yield here, value
        index += 1
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        sep = text[pos : pos + 1]
        if sep == "]":
            if text[pos + 1 :].strip():
                raise where(pos + 1, None).error("unexpected text after the JSON array")
            return
        if sep != ",":
            raise where(pos, None).error("expected ',' or ']' between records")
        pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]


def _jsonl(path: Path, text: str) -> Iterator[tuple[_Where, Any]]:
    """One JSON value per line; blank lines and lines starting with ``//`` are skipped."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        here = _Where(path, lineno, None)
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise here.error(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
        yield here, value


def _records(path: Path) -> Iterator[tuple[_Where, dict[str, Any]]]:
    """The records of a JSON array or JSONL file, each checked to be an object."""
    text = _read_text(path)
    stripped = text.lstrip()
    rows = _json_array(path, text) if stripped.startswith("[") else _jsonl(path, text)
    for where, value in rows:
        if not isinstance(value, dict):
            raise where.error(f"a record must be a JSON object, not {type(value).__name__}")
        yield where, value


def _first_record(path: Path) -> dict[str, Any] | None:
    try:
        first = next(_records(path), None)
    except GoldError:
        return None
    return None if first is None else first[1]


# --------------------------------------------------------------------------------------------
# Small helpers


def _text(value: object, where: _Where, field: str, *, coerce: bool = False) -> str:
    """A text field. ``coerce`` turns JSON booleans and numbers into text (``true`` -> ``"True"``)."""
    if isinstance(value, str):
        return value
    if coerce and isinstance(value, bool | int | float):
        return str(value)
    if value is None:
        raise where.error("required field is missing", field)
    raise where.error(f"must be text, not {type(value).__name__}", field)


def _inputs(texts: dict[str, str], metadata: dict[str, Any]) -> dict[str, str]:
    """Inputs for a GoldItem: empty texts become :data:`EMPTY_TEXT`, noted in metadata."""
    empty = [k for k, v in texts.items() if not v.strip()]
    if empty:
        metadata["empty_inputs"] = empty
    return {k: (EMPTY_TEXT if k in empty else v) for k, v in texts.items()}


def _prompt_id(text: str) -> str:
    """A stable id for an instruction: items that share it form one cluster for the bootstrap."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _split_pair(key: str) -> tuple[str, str] | None:
    parts = key.split("_")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
